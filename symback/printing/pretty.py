"""PRETTY: the display simplification, a rule set for printing gradients as people write them.

Applied by ``sb.latex`` (and ``explain``) to a *copy* of an expression: results
are only ever printed, never fed back into ``grad`` or ``lambdify``. Some rules
hold only where the original is defined (``x / x → 1``, ``exp(log x) → x``),
which is fine for reading a formula and is why PRETTY is not a graph rewrite.

The rules (one line of maths each) are plain :class:`~symback.rewrite.Rule`
patterns, plus one algebraic rule, :func:`collect`, which treats a tree of
elementwise ``+ − ⊙ ⊘`` and integer powers as a sum of products over opaque
atoms: it multiplies out, cancels equal factors in numerators and denominators,
collects like terms and factors out what all terms share, and keeps the result
only when it is smaller. That is what turns the logistic loss's
``(−y ⊘ a + (1 − y) ⊘ (1 − a)) ⊙ a ⊙ (1 − a)`` into ``a − y``.
"""

from __future__ import annotations

from collections.abc import Iterable
from fractions import Fraction

from ..graph import Expr, as_expr, broadcast_to, const, zeros
from ..ops.elementwise import add, div, mul, neg, pow_, sub, where
from ..ops.elementwise import is_zero as _is_zero
from ..ops.contract import matmul, outer
from ..ops.linalg import diag_op, eye_op, inv_op
from ..ops.shape import transpose
from ..ops.reduce import log_softmax, logsumexp, mean, softmax, sum_
from ..ops.structural import broadcast_to_op, expand_dims
from ..rewrite import P, Rule, RuleSet, Var

# --------------------------------------------------------------------------- helpers


def _scalar(e: Expr) -> bool:
    return e.shape == ()


def _number(e: Expr) -> bool:
    """A Python-number constant (not a bool, not NaN)."""
    return e.is_const and e.weak and not isinstance(e.value, bool) and e.value == e.value


S = Var("s", _scalar)
A = Var("a")
B = Var("b")
X = Var("x")


def _float_const(c: Expr) -> Expr | None:
    """2 → 2.0: ``1 - a`` written by a user and ``1.0 - a`` built by a VJP are one node."""
    if c.weak and isinstance(c.value, int) and not isinstance(c.value, bool):
        return const(float(c.value))
    return None


def _rank(e: Expr) -> int:
    """Order of factors in a product: numbers, scalar symbols, other scalars, tensors."""
    if _number(e):
        return 0
    if e.shape != ():
        return 9
    return 1 if not e.args else 2


def _swap(a: Expr, b: Expr) -> Expr | None:
    """b ⊙ a when b comes first in the order of :func:`_rank` (x₁ (a − y), λ W)."""
    return mul(b, a) if _rank(b) < _rank(a) else None


def _neg_coefficient_add(a: Expr, b: Expr) -> Expr | None:
    """a + (−c) x → a − c x (c a number)."""
    if b.op is mul and _number(b.args[0]) and b.args[0].value < 0:
        return sub(a, mul(-b.args[0].value, b.args[1]))
    return None


def _neg_coefficient_sub(a: Expr, b: Expr) -> Expr | None:
    """a − (−c) x → a + c x (c a number)."""
    if b.op is mul and _number(b.args[0]) and b.args[0].value < 0:
        return add(a, mul(-b.args[0].value, b.args[1]))
    return None


def _front(x: Expr, c: Expr, b: Expr) -> Expr | None:
    """x ⊙ (c ⊙ b) → c ⊙ (x ⊙ b): numbers to the front (2 λ W, not λ (2 W))."""
    if not _number(c) or _number(x):
        return None
    return mul(c, mul(x, b))


def _unary_linear(op_name: str) -> list[Rule]:
    """f(s ⊙ a) = s ⊙ f(a), f(−a) = −f(a), f(a ⊘ s) = f(a) ⊘ s for a linear f and scalar s
    (transpose, sum, mean): constant factors of a gradient move to the front."""
    def keep(node: Expr, inner: Expr) -> Expr:
        return node.op(inner, **node.kw)

    return [
        Rule(P(op_name, P("mul", S, A), bind="n"), lambda n, s, a: mul(s, keep(n, a)),
             f"{op_name}(s a) = s {op_name}(a)"),
        Rule(P(op_name, P("mul", A, S), bind="n"), lambda n, s, a: mul(s, keep(n, a)),
             f"{op_name}(a s) = s {op_name}(a)"),
        Rule(P(op_name, P("neg", A), bind="n"), lambda n, a: neg(keep(n, a)),
             f"{op_name}(-a) = -{op_name}(a)"),
        Rule(P(op_name, P("div", A, S), bind="n"), lambda n, s, a: div(keep(n, a), s),
             f"{op_name}(a / s) = {op_name}(a) / s"),
    ]


def _transpose_product(n: Expr, a: Expr, b: Expr) -> Expr | None:
    """(A B)^T = B^T A^T when that removes a transpose: (G X^T)^T = X G^T."""
    if a.ndim != 2 or b.ndim != 2 or n.kw["axes"] != (1, 0):
        return None
    if a.op is not transpose and b.op is not transpose:
        return None
    return matmul(transpose(b), transpose(a))


def flip_sign(e: Expr) -> Expr | None:
    """−e written without a new minus sign, by swapping a difference in a linear
    position (−A (a − b) = A (b − a)); ``None`` if there is no such difference."""
    path: list[tuple[Expr, int]] = []
    node = e
    while True:
        if node.op is sub:
            new = sub(node.args[1], node.args[0])
            break
        if node.op is neg:
            new = node.args[0]
            break
        if node.op in (matmul, mul):
            i = 1
        elif node.op in (div, transpose, sum_, mean):
            i = 0
        else:
            return None
        path.append((node, i))
        node = node.args[i]
    for parent, i in reversed(path):
        args = list(parent.args)
        args[i] = new
        new = parent.op(*args, **parent.kw)
    return new


def _absorb_sign(c: Expr, x: Expr) -> Expr | None:
    """(−c) x = c (−x) with the minus absorbed by a difference inside x (2 X^T (X w − y))."""
    if not _number(c) or c.value >= 0:
        return None
    flipped = flip_sign(x)
    return None if flipped is None else mul(-c.value, flipped)


def _coefficient_over(c: Expr, a: Expr, s: Expr) -> Expr | None:
    """c (A / s) = (c / s) A for a number c and a tensor A: \\frac{2}{m} X^{T} (X w − y)."""
    if not _number(c) or a.shape == ():
        return None
    return mul(div(c, s), a)


def _scalar_front(s: Expr, a: Expr, b: Expr) -> Expr | None:
    """(s A) ⊙ B = s (A ⊙ B) for a scalar s in a tensor product (2/n Σ (…) ⊙ x)."""
    if _number(s) or (a.shape == () and b.shape == ()):
        return None
    return mul(s, mul(a, b))


def _merge_right(a: Expr, b: Expr, x: Expr) -> Expr | None:
    """A X + B X = (A + B) X; with a vector x, A x + xᵀ B = (A + Bᵀ) x."""
    return matmul(add(a, b), x)


def _merge_row(a: Expr, x: Expr, b: Expr) -> Expr | None:
    """A x + xᵀ B = (A + Bᵀ) x for a vector x (∇ xᵀ A x = (A + Aᵀ) x)."""
    if x.ndim != 1 or a.ndim != 2 or b.ndim != 2:
        return None
    return matmul(add(a, transpose(b)), x)


def column_form(e: Expr) -> Expr:
    """A vector-valued result written with column vectors: xᵀ A (NumPy's ``x @ A``) → Aᵀ x.

    Applied to the result's outer sums and scalar multiples only, where the
    row/column orientation of a vector is free (a gradient of a vector is a vector);
    inside an expression ``x^{T} A y`` is the natural reading.
    """
    if e.ndim != 1:
        return e
    memo: dict[Expr, Expr] = {}
    stack = [e]
    while stack:
        n = stack[-1]
        if n in memo:
            stack.pop()
            continue
        spine = n.ndim == 1 and (n.op in (add, sub, neg) or (
            n.op in (mul, div) and any(a.shape == () for a in n.args)))
        kids = [a for a in n.args if a.ndim == 1 and a not in memo] if spine else []
        if kids:
            stack.extend(kids)
            continue
        stack.pop()
        if spine:
            memo[n] = n.op(*[memo.get(a, a) for a in n.args], **n.kw)
        elif n.op is matmul and n.args[0].ndim == 1 and n.args[1].ndim == 2:
            memo[n] = matmul(transpose(n.args[1]), n.args[0])
        else:
            memo[n] = n
    return memo[e]


def _restretch(n: Expr, x: Expr) -> Expr | None:
    """A reshaping view of a stretched scalar is the scalar stretched to the new shape."""
    return broadcast_to(x, n.shape) if x.shape == () else None


def _onehot_sum(labels: frozenset[Expr]):  # type: ignore[no-untyped-def]
    def build(n: Expr, y: Expr) -> Expr | None:
        axis = n.kw["axis"]
        if y not in labels or axis is None or axis != (y.ndim - 1,):
            return None
        return broadcast_to(1.0, n.shape) if n.shape else const(1.0)
    return build


def _lse_softmax(n: Expr, x: Expr, m: Expr) -> Expr | None:
    """exp(x − logsumexp(x, axis)) = softmax(x, axis) (the lse and log-softmax VJPs)."""
    lse = m.args[0] if m.op in (expand_dims, broadcast_to_op) else m
    while lse.op in (expand_dims, broadcast_to_op):
        lse = lse.args[0]
    if lse.op is not logsumexp or lse.args[0] is not x:
        return None
    axis = lse.kw["axis"]
    if axis is None:  # over every entry: a softmax only for a vector (no row-wise reading)
        if x.ndim != 1:
            return None
        axis = 0
    return softmax(x, axis=axis)


def onehot_rules(labels: Iterable[Expr]) -> RuleSet:
    """Σ_j Y_ij = 1 for the given label tensors (one-hot rows): a display assumption the
    user states with ``latex(..., onehot=[Y])``; it is not true of every tensor."""
    labs = frozenset(as_expr(y) for y in labels)
    return RuleSet("ONEHOT", (
        Rule(P("sum", Var("y"), bind="n"), _onehot_sum(labs), "one-hot rows sum to 1"),
    ))


# --------------------------------------------------------------------------- collect

#: Give up (decline) on elementwise trees with more operator nodes or terms than this.
MAX_NODES = 48
MAX_TERMS = 48

Term = tuple[Fraction, dict[Expr, int]]


def _int_power(n: Expr) -> int | None:
    """k when ``n`` is ``a ** k`` with a small integer k (a power the algebra can use)."""
    if n.op is not pow_:
        return None
    k = n.args[1]
    if not _number(k) or float(k.value) != int(k.value) or abs(int(k.value)) > 4:
        return None
    return int(k.value)


def _is_arith(n: Expr) -> bool:
    return n.op in (add, sub, neg, mul, div) or _int_power(n) is not None


def _layer(root: Expr) -> list[Expr] | None:
    """The elementwise-arithmetic layer under ``root`` (operators and their atoms),
    arguments first; ``None`` if it has more than :data:`MAX_NODES` operators."""
    order: list[Expr] = []
    seen = {root}
    stack: list[tuple[Expr, int]] = [(root, 0)]
    ops = 0
    while stack:
        n, i = stack[-1]
        if i == 0 and _is_arith(n):
            ops += 1
            if ops > MAX_NODES:
                return None
        if _is_arith(n) and i < len(n.args):
            stack[-1] = (n, i + 1)
            child = n.args[i]
            if child not in seen:
                seen.add(child)
                stack.append((child, 0))
            continue
        stack.pop()
        order.append(n)
    return order


def _atom(n: Expr) -> list[Term]:
    if _number(n):
        v = Fraction(n.value)
        return [(v, {})] if v else []
    return [(Fraction(1), {n: 1})]


def _product(ta: list[Term], tb: list[Term]) -> list[Term] | None:
    if len(ta) * len(tb) > MAX_TERMS:
        return None
    out: list[Term] = []
    for ca, fa in ta:
        for cb, fb in tb:
            f = dict(fa)
            for k, p in fb.items():
                q = f.get(k, 0) + p
                if q:
                    f[k] = q
                else:
                    f.pop(k, None)
            out.append((ca * cb, f))
    return out


def _negate(t: list[Term]) -> list[Term]:
    return [(-c, f) for c, f in t]


def _has_denominator(t: list[Term]) -> bool:
    return any(p < 0 for _, f in t for p in f.values())


def _terms(root: Expr, expand: bool) -> list[Term] | None:
    """``root`` as a list of terms c · Π atomᵖ.

    With ``expand=False`` a sum that appears as a factor stays one factor (so that
    it can cancel against the same sum in a denominator) unless it carries a
    denominator itself; with ``expand=True`` every product is multiplied out.
    Sums in denominators always stay factors. ``None``: too large.
    """
    order = _layer(root)
    if order is None:
        return None
    memo: dict[Expr, list[Term]] = {}

    def factor(x: Expr) -> list[Term]:
        t = memo[x]
        if len(t) > 1 and not expand and not _has_denominator(t):
            return [(Fraction(1), {x: 1})]
        return t

    for n in order:
        if n in memo:
            continue
        if not _is_arith(n):
            memo[n] = _atom(n)
            continue
        a = n.args[0]
        out: list[Term] | None
        if n.op is add:
            out = memo[a] + memo[n.args[1]]
        elif n.op is sub:
            out = memo[a] + _negate(memo[n.args[1]])
        elif n.op is neg:
            out = _negate(memo[a])
        elif n.op is mul:
            out = _product(factor(a), factor(n.args[1]))
        elif n.op is div:
            out = _product(factor(a), _inverse(n.args[1], memo[n.args[1]]))
        else:
            k = _int_power(n)
            assert k is not None
            out = _power(a, memo[a], k, expand)
        if out is None or len(out) > MAX_TERMS:
            return None
        memo[n] = out
    return memo[root]


def _inverse(b: Expr, tb: list[Term]) -> list[Term]:
    if len(tb) == 1 and tb[0][0]:
        c, f = tb[0]
        return [(1 / c, {k: -p for k, p in f.items()})]
    return [(Fraction(1), {b: -1})]


def _power(a: Expr, ta: list[Term], k: int, expand: bool) -> list[Term] | None:
    if len(ta) == 1 and (ta[0][0] or k > 0):
        c, f = ta[0]
        return [(c ** k, {x: p * k for x, p in f.items()})]
    if expand and 0 < k <= 3:
        out: list[Term] | None = [(Fraction(1), {})]
        for _ in range(k):
            out = _product(out, ta) if out is not None else None
        return out
    return [(Fraction(1), {a: k})]


def _collect(terms: list[Term]) -> list[Term]:
    """Add up like terms (same factors), keeping the order of first appearance."""
    acc: dict[frozenset[tuple[Expr, int]], list[object]] = {}
    for c, f in terms:
        key = frozenset(f.items())
        if key in acc:
            acc[key][0] = acc[key][0] + c  # type: ignore[operator]
        else:
            acc[key] = [c, f]
    return [(c, f) for c, f in acc.values() if c]  # type: ignore[misc]


def _expand_sum_factors(terms: list[Term]) -> list[Term] | None:
    """Multiply out the sums left as factors (after cancellation)."""
    out: list[Term] = []
    for c, f in terms:
        cur: list[Term] | None = [(c, {k: p for k, p in f.items() if p < 0 or not _is_arith(k)})]
        for k, p in f.items():
            if p > 0 and _is_arith(k):
                tk = _terms(k, expand=True)
                if tk is None or cur is None:
                    return None
                for _ in range(p):
                    cur = _product(cur, tk) if cur is not None else None
        if cur is None:
            return None
        out.extend(cur)
        if len(out) > MAX_TERMS:
            return None
    return out


def _weight(e: Expr) -> tuple[int, int]:
    """Size of the printed elementwise tree (operators and atom occurrences, repeats
    counted; numbers are free, so x + x is heavier than 2 x), then the number of minus
    signs: smaller is simpler."""
    total = 0
    minus = 0
    stack = [e]
    seen = 0
    while stack:
        n = stack.pop()
        seen += 1
        if not _number(n):
            total += 1
        if n.op is neg or (_number(n) and n.value < 0):
            minus += 1
        if _is_arith(n) or n.op is broadcast_to_op:
            stack.extend(n.args)
        if seen > 10 * MAX_NODES:
            break
    return total, minus


def _product_of(factors: list[Expr]) -> Expr | None:
    """f₁ ⊙ (f₂ ⊙ (…)), nested to the right so that numbers stay in front."""
    out: Expr | None = None
    for f in reversed(factors):
        out = f if out is None else mul(f, out)
    return out


def _ordered(f: dict[Expr, int], order: dict[Expr, int], sign: int) -> list[Expr]:
    """Factors with power of the given sign, as powers, scalars first then by appearance."""
    items = [(k, p) for k, p in f.items() if (p > 0) == (sign > 0)]
    items.sort(key=lambda kp: (kp[0].shape != (), order.get(kp[0], 1 << 30)))
    return [k if abs(p) == 1 else pow_(k, float(abs(p))) for k, p in items]


def _term_expr(c: Fraction, f: dict[Expr, int], order: dict[Expr, int]) -> Expr:
    """c · Π numerator factors ⊘ Π denominator factors, with c > 0."""
    num = _ordered(f, order, +1)
    den = _ordered(f, order, -1)
    body = _product_of(num)
    if c != 1 or body is None:
        body = const(float(c)) if body is None else mul(float(c), body)
    if den:
        body = div(body, _product_of(den))  # type: ignore[arg-type]
    return body


def _sum_expr(terms: list[Term], order: dict[Expr, int]) -> Expr:
    """Positive terms first (σ(z) − y, softmax(U) − Y), each group in order of appearance."""
    pos = [t for t in terms if t[0] > 0]
    negs = [t for t in terms if t[0] < 0]
    out: Expr | None = None
    for c, f in pos + negs:
        e = _term_expr(abs(c), f, order)
        if out is None:
            out = e if c > 0 else neg(e)
        else:
            out = add(out, e) if c > 0 else sub(out, e)
    assert out is not None
    return out


def _rebuild(terms: list[Term], order: dict[Expr, int], shape: tuple) -> Expr:
    """The terms as an expression, with what every term shares factored out in front."""
    if not terms:
        return zeros(shape)
    if len(terms) == 1:
        c, f = terms[0]
        e = _term_expr(abs(c), f, order)
        return e if c > 0 else neg(e)
    common: dict[Expr, int] = {}
    for k in terms[0][1]:
        ps = [f.get(k, 0) for _, f in terms]
        if all(p > 0 for p in ps):
            common[k] = min(ps)
        elif all(p < 0 for p in ps):
            common[k] = max(ps)
    mags = {abs(c) for c, _ in terms}
    g = mags.pop() if len(mags) == 1 else Fraction(1)
    sign = -1 if all(c < 0 for c, _ in terms) else 1
    scale = g * sign
    inner_terms = [(c / scale, {k: p - common.get(k, 0) for k, p in f.items()
                                if p != common.get(k, 0)}) for c, f in terms]
    inner = _sum_expr(inner_terms, order)
    front = _ordered(common, order, +1)
    body = _product_of(front + [inner])
    if g != 1:
        body = mul(float(g), body)  # type: ignore[arg-type]
    den = _ordered(common, order, -1)
    if den:
        body = div(body, _product_of(den))  # type: ignore[arg-type]
    return neg(body) if sign < 0 else body  # type: ignore[arg-type]


def collect(e: Expr) -> Expr | None:
    """Multiply out, cancel, collect like terms and factor; keep the result if it is smaller.

    Three candidates: sums kept as factors (so they cancel against equal
    denominators), the same with the remaining sums multiplied out afterwards,
    and everything multiplied out. ``None`` (decline) unless one is smaller.
    """
    if not _is_arith(e) or e.op is neg:
        return None
    order_list = _layer(e)
    if order_list is None:
        return None
    order = {n: i for i, n in enumerate(order_list)}
    before = _weight(e)
    best: Expr | None = None
    best_w = before
    lazy = _terms(e, expand=False)
    candidates: list[list[Term] | None] = []
    if lazy is not None:
        candidates.append(_collect(lazy))
        more = _expand_sum_factors(lazy)
        candidates.append(_collect(more) if more is not None else None)
    full = _terms(e, expand=True)
    candidates.append(_collect(full) if full is not None else None)
    for terms in candidates:
        if terms is None:
            continue
        out = _rebuild(terms, order, e.shape)
        if out.shape != e.shape:
            out = broadcast_to(out, e.shape)
        w = _weight(out)
        if w < best_w:
            best, best_w = out, w
    return best


# --------------------------------------------------------------------------- the rule set

def _diag_times(v: Expr, m: Expr) -> Expr | None:
    """v[:, None] ⊙ M as diag(v) M (display only: the product costs O(n²) more)."""
    if m.shape[0] != v.shape[0] or m.op is eye_op:
        return None
    return matmul(diag_op(v), m)


_RULES: list[Rule] = [
    Rule(P("const", bind="c"), _float_const, "integer constants print as their float"),
    # numbers and scalar symbols in front; negations outwards
    Rule(P("mul", A, B), _swap, "a b = b a: numbers, then scalar symbols, then the rest"),
    Rule(P("mul", X, P("mul", Var("c"), B)), _front, "x (c b) = c (x b) for a number c"),
    Rule(P("mul", P("mul", Var("c", _number), A), B), lambda c, a, b: mul(c, mul(a, b)),
         "(c a) b = c (a b) for a number c"),
    Rule(P("mul", P("neg", A), B), lambda a, b: neg(mul(a, b)), "(-a) b = -(a b)"),
    Rule(P("mul", A, P("neg", B)), lambda a, b: neg(mul(a, b)), "a (-b) = -(a b)"),
    Rule(P("mul", X, X), lambda x: pow_(x, 2.0), "x x = x^2"),
    Rule(P("mul", P("mul", S, A), B), _scalar_front, "(s A) B = s (A B) for a scalar s"),
    Rule(P("mul", Var("a", lambda a: a.shape != ()), P("mul", S, B)),
         lambda a, s, b: _scalar_front(s, a, b), "A (s B) = s (A B) for a scalar s"),
    Rule(P("mul", Var("c"), X), _absorb_sign, "(-c) x = c (-x), the minus absorbed"),
    Rule(P("neg", X), lambda x: flip_sign(x), "-x = x with a difference swapped"),
    Rule(P("mul", Var("c"), P("div", A, S)), _coefficient_over, "c (A / s) = (c / s) A"),
    Rule(P("div", P("neg", A), B), lambda a, b: neg(div(a, b)), "(-a) / b = -(a / b)"),
    Rule(P("add", A, B), _neg_coefficient_add, "a + (-c) x = a - c x"),
    Rule(P("sub", A, B), _neg_coefficient_sub, "a - (-c) x = a + c x"),
    # scalar factors out of matrix products, transposes and sums: 2 X^T (X w - y)
    Rule(P("matmul", P("mul", S, A), B), lambda s, a, b: mul(s, matmul(a, b)),
         "(s A) B = s (A B)"),
    Rule(P("matmul", P("mul", A, S), B), lambda s, a, b: mul(s, matmul(a, b)),
         "(A s) B = s (A B)"),
    Rule(P("matmul", A, P("mul", S, B)), lambda s, a, b: mul(s, matmul(a, b)),
         "A (s B) = s (A B)"),
    Rule(P("matmul", A, P("mul", B, S)), lambda s, a, b: mul(s, matmul(a, b)),
         "A (B s) = s (A B)"),
    Rule(P("outer", P("mul", S, A), B), lambda s, a, b: mul(s, outer(a, b)),
         "(s a) b^T = s (a b^T)"),
    Rule(P("outer", A, P("mul", S, B)), lambda s, a, b: mul(s, outer(a, b)),
         "a (s b)^T = s (a b^T)"),
    Rule(P("matmul", P("neg", A), B), lambda a, b: neg(matmul(a, b)), "(-A) B = -(A B)"),
    Rule(P("matmul", A, P("neg", B)), lambda a, b: neg(matmul(a, b)), "A (-B) = -(A B)"),
    Rule(P("matmul", P("div", A, S), B), lambda s, a, b: div(matmul(a, b), s),
         "(A / s) B = (A B) / s"),
    Rule(P("matmul", A, P("div", B, S)), lambda s, a, b: div(matmul(a, b), s),
         "A (B / s) = (A B) / s"),
    Rule(P("add", P("matmul", A, X), P("matmul", B, X)), _merge_right, "A X + B X = (A + B) X"),
    Rule(P("add", P("matmul", X, A), P("matmul", X, B)), lambda x, a, b: matmul(x, add(a, b)),
         "X A + X B = X (A + B)"),
    Rule(P("add", P("matmul", A, X), P("matmul", X, B)), _merge_row,
         "A x + x^T B = (A + B^T) x"),
    Rule(P("add", P("matmul", X, B), P("matmul", A, X)), _merge_row,
         "x^T B + A x = (A + B^T) x"),
    Rule(P("where", Var("c"), P("mul", S, A), Var("z", lambda z: _is_zero(z))),
         lambda c, s, a, z: mul(s, where(c, a, z)), "1[c] (s a) = s 1[c] a"),
    Rule(P("where", Var("c"), P("div", A, S), Var("z", lambda z: _is_zero(z))),
         lambda c, s, a, z: div(where(c, a, z), s), "1[c] (a / s) = 1[c] a / s"),
    Rule(P("where", Var("c"), P("neg", A), Var("z", lambda z: _is_zero(z))),
         lambda c, a, z: neg(where(c, a, z)), "1[c] (-a) = -1[c] a"),
    Rule(P("transpose", P("matmul", A, B), bind="n"), _transpose_product,
         "(A B)^T = B^T A^T when a transpose cancels"),
    *_unary_linear("transpose"),
    *_unary_linear("sum"),
    *_unary_linear("mean"),
    # stretched scalars stay stretched scalars (the mean's 1/m reaches its use)
    Rule(P("expand_dims", P("broadcast_to", X), bind="n"), _restretch,
         "expand_dims(broadcast(x)) = broadcast(x)"),
    Rule(P("squeeze", P("broadcast_to", X), bind="n"), _restretch,
         "squeeze(broadcast(x)) = broadcast(x)"),
    Rule(P("transpose", P("broadcast_to", X), bind="n"), _restretch,
         "broadcast(x)^T = broadcast(x)"),
    # named functions instead of their expansions
    Rule(P("exp", P("log_softmax", X, bind="n")), lambda n, x: softmax(x, axis=n.kw["axis"]),
         "exp(log_softmax(x)) = softmax(x)"),
    Rule(P("exp", P("sub", X, Var("m"), bind="n")), _lse_softmax,
         "exp(x - logsumexp(x)) = softmax(x)"),
    Rule(P("exp", P("log", X)), lambda x: x, "exp(log x) = x (where log x is defined)"),
    Rule(P("log", P("exp", X)), lambda x: x, "log(exp x) = x"),
    Rule(P("log", P("softmax", X, bind="n")), lambda n, x: log_softmax(x, axis=n.kw["axis"]),
         "log(softmax(x)) = log_softmax(x)"),
    # matrix calculus (Jacobians and Hessians from symback.higher)
    Rule(P("mul", P("expand_dims", Var("v", lambda v: v.ndim == 1), attrs={"axis": (1,)}),
           Var("m", lambda m: m.ndim == 2)), _diag_times,
         "v[:, None] ⊙ M = diag(v) M (row scaling)"),
    Rule(P("matmul", A, P("matmul", P("diag", Var("v")), B)),
         lambda a, v, b: matmul(matmul(a, diag_op(v)), b), "A (diag(v) M) = A diag(v) M"),
    Rule(P("transpose", P("inv", X, bind="n")),
         lambda n, x: inv_op(x, transpose=not n.kw["transpose"]), "(X^{-1})^T = X^{-T}"),
]

# The algebra runs on every elementwise operator node (after the pattern rules there).
_ALGEBRA = [Rule(P(name, Var("_0"), Var("_1"), bind="e"), lambda e, **_: collect(e),
                 f"collect ({name})")
            for name in ("add", "sub", "mul", "div", "pow")]

#: The display rule set (``sb.latex(expr, simplify=True)``). Never applied to the
#: graph that gets compiled.
PRETTY = RuleSet("PRETTY", tuple(_RULES + _ALGEBRA))

__all__ = ["PRETTY", "collect", "onehot_rules"]
