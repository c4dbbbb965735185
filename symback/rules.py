"""The rewrite rule tables: ``CANONICAL`` (algebra), ``STABILIZE`` (numerics), ``LOWER`` (speed).

Each rule is a pattern (:class:`~symback.rewrite.P`, ``Var``, ``Lit``) and a
function of the bound nodes that builds the replacement, or returns ``None``
to decline; the engine is :func:`symback.rewrite.rewrite`. Every rule states
its maths in one comment. Constant folding needs no rule: rebuilding a node
whose arguments became constants folds it (``Op.__call__``), and the ops'
``simplify`` identities (``x·1 → x``, ``c₁(c₂x) → (c₁c₂)x``, ...) apply to
every node a rule builds.

* ``CANONICAL``: identities that hold for every real input (in floating point
  they change only rounding, or remove an overflow of an intermediate); it
  gathers constant factors so they fold, pushes negations and scalings out of
  products and reductions, reduces a gradient that reaches a broadcast value
  along several paths once, and folds transposes into matrix products.
* ``STABILIZE`` replaces forms that overflow or lose digits by their stable
  twins. ``value_and_grad`` applies it to the loss *before* differentiating
  (so the gradients come from the stable forms too).
* ``LOWER``: equal forms that run faster, for the compiled graph only.

:func:`optimize` (all three) is what ``lambdify`` compiles; measured in
benchmarks/run.py, and applied there rather than in ``grad``, so what users
print stays as the reverse pass built it. Identities that fail for some inputs
(``exp(log x) → x`` for x < 0, ``√(x²) → x``, ``x − x → 0`` for inf) are not rules.
"""

from __future__ import annotations

from operator import attrgetter

from typing import Any, Sequence

from .graph import Expr, broadcast_to
from .ops.elementwise import add, div, expm1, log1p, mul, neg, sigmoid, softplus, sub
from .ops.contract import matmul
from .ops.linalg import logdet
from .ops.shape import reshape_op, transpose
from .ops.reduce import log_softmax, logsumexp, mean, softmax, sum_
from .ops.structural import count_of
from .rewrite import Lit, P, Rule, RuleSet, Var, rewrite


def _number(e: Expr) -> bool:
    """A scalar number constant: a Python number (weak: it never changes a dtype) or a 0-d
    float array (as the reverse pass makes of a number in a float32 graph)."""
    if not e.is_const or e.shape != ():
        return False
    if e.weak:
        return not isinstance(e.value, bool)
    return e.dtype in ("float64", "float32")


_op_of = attrgetter("op")
_number.only_ops = ("const",)  # type: ignore[attr-defined]  # (see rewrite.Var)


def _fit(out: Expr, node: Expr) -> Expr | None:
    """``out`` at ``node``'s shape (stretched if a broadcast constant was absorbed)."""
    if out.shape == node.shape:
        return out
    try:
        return broadcast_to(out, node.shape)
    except Exception:  # cannot stretch: decline the rewrite
        return None


def _reduced_dims(x: Expr, axis: tuple[int, ...] | None) -> tuple[Any, ...]:
    return tuple(d for i, d in enumerate(x.shape) if axis is None or i in axis)


def _same_reduction(a: Expr, b: Expr) -> bool:
    return a.kw == b.kw and a.args[0].shape == b.args[0].shape


# --------------------------------------------------------------------------- CANONICAL

CANONICAL = RuleSet("canonical", (
    # (c·x)·(d·y) → (c·d)·(x·y): two constant factors meet and fold (3 products → 2).
    # Only where constants meet: moving a lone constant outward would rebuild every node
    # above it for no saving
    Rule(P("mul", P("mul", Var("c", _number), Var("x")), P("mul", Var("d", _number), Var("y"))),
         lambda c, x, d, y: mul(mul(c, d), mul(x, y)), "mul-const-both"),
    # c₁·(c₂·x) → (c₁c₂)·x: the product of the constants folds
    Rule(P("mul", Var("c", _number), P("mul", Var("d", _number), Var("x"))),
         lambda c, d, x: mul(mul(c, d), x), "mul-const-fold"),
    # (−x)·y → −(x·y), so a sum with it becomes a subtraction
    Rule(P("mul", P("neg", Var("x")), Var("y")), lambda x, y: neg(mul(x, y)), "mul-neg-left"),
    # x·(−y) → −(x·y)
    Rule(P("mul", Var("x"), P("neg", Var("y"))), lambda x, y: neg(mul(x, y)), "mul-neg-right"),
    # (−x)/y → −(x/y)
    Rule(P("div", P("neg", Var("x")), Var("y")), lambda x, y: neg(div(x, y)), "div-neg"),
    # c·a + c·b → c·(a + b): one scaling instead of two
    Rule(P("add", P("mul", Var("c", _number), Var("a")), P("mul", Var("c"), Var("b"))),
         lambda c, a, b: mul(c, add(a, b)), "factor-add"),
    # c·a − c·b → c·(a − b)
    Rule(P("sub", P("mul", Var("c", _number), Var("a")), P("mul", Var("c"), Var("b"))),
         lambda c, a, b: mul(c, sub(a, b)), "factor-sub"),
    # Σ c·x → c·Σ x (c a number): scale after reducing, on fewer entries
    Rule(P("sum", P("mul", Var("c", _number), Var("x")), bind="s"),
         lambda c, x, s: mul(c, sum_(x, **s.kw)), "sum-const"),
    # mean(c·x) → c·mean(x)
    Rule(P("mean", P("mul", Var("c", _number), Var("x")), bind="s"),
         lambda c, x, s: mul(c, mean(x, **s.kw)), "mean-const"),
    # Σ(−x) → −Σ x
    Rule(P("sum", P("neg", Var("x")), bind="s"), lambda x, s: neg(sum_(x, **s.kw)), "sum-neg"),
    # Σ a + Σ b → Σ(a + b) over the same axes: a gradient reaching a broadcast value along
    # two paths is reduced once
    Rule(P("add", P("sum", Var("a"), bind="s"), P("sum", Var("b"), bind="t")),
         lambda a, b, s, t: sum_(add(a, b), **s.kw) if _same_reduction(s, t) else None,
         "sum-add"),
    # Σ a − Σ b → Σ(a − b) over the same axes
    Rule(P("sub", P("sum", Var("a"), bind="s"), P("sum", Var("b"), bind="t")),
         lambda a, b, s, t: sum_(sub(a, b), **s.kw) if _same_reduction(s, t) else None,
         "sum-sub"),
    # (A B)ᵀ → Bᵀ Aᵀ (2-D): BLAS reads transposed operands in place, a transposed
    # product would be copied when used
    Rule(P("transpose", P("matmul", Var("a"), Var("b"))),
         lambda a, b: matmul(transpose(b), transpose(a)) if a.ndim == 2 and b.ndim == 2
         else None, "transpose-matmul"),
    # log(exp x) → x
    Rule(P("log", P("exp", Var("x"))), lambda x: x, "log-exp"),
    # mean(x) → Σ x / N (N the number of entries reduced): one reduction, no np.mean wrapper
    Rule(P("mean", Var("x"), bind="s"),
         lambda x, s: div(sum_(x, **s.kw), count_of(_reduced_dims(x, s.kw["axis"]))),
         "mean-sum"),
))

# --------------------------------------------------------------------------- STABILIZE


def _softmax_of(x: Expr, s: Expr) -> Expr | None:
    """softmax(x, axis) for e^x / Σ e^x summed over one axis with keepdims (or a vector's
    only axis); ``None`` for sums that are not one softmax's denominator."""
    axis = s.kw["axis"]
    if axis is None:
        return softmax(x, axis=0) if x.ndim == 1 else None
    if len(axis) != 1 or not s.kw["keepdims"]:
        return None
    return softmax(x, axis=axis[0])


def _cross_entropy_rules() -> tuple[Rule, ...]:
    """y log σ(z) + (1 − y) log(1 − σ(z)) → y z − softplus(z), in every argument order.

    The pattern is the binary cross-entropy after its logs were stabilised (the rules
    run bottom-up): y·(−softplus(−z)) + (1 − y)·(−softplus(z)). The replacement is
    the same value with one softplus instead of two, whose gradient is y − σ(z).
    """
    y, z = Var("y"), Var("z")
    log_p = P("neg", P("softplus", P("neg", z)))       # log σ(z), stabilised
    log_1mp = P("neg", P("softplus", z))               # log(1 − σ(z)), stabilised
    one_minus_y = P("sub", Lit(1.0), y)
    firsts = (P("mul", y, log_p), P("mul", log_p, y))
    seconds = (P("mul", one_minus_y, log_1mp), P("mul", log_1mp, one_minus_y))
    rules = []
    for a in firsts:
        for b in seconds:
            for pair in ((a, b), (b, a)):
                rules.append(Rule(P("add", *pair, bind="n"),
                                  lambda y, z, n: _fit(sub(mul(y, z), softplus(z)), n),
                                  "binary-cross-entropy"))
    return tuple(rules)


STABILIZE = RuleSet("stabilize", (
    # log σ(x) → −softplus(−x): no log(0) when σ underflows (x ≪ 0)
    Rule(P("log", P("sigmoid", Var("x"))), lambda x: neg(softplus(neg(x))), "log-sigmoid"),
    # log(1 − σ(x)) → −softplus(x): no log(0) when σ rounds to 1 (x ≫ 0)
    Rule(P("log", P("sub", Lit(1.0), P("sigmoid", Var("x"))), bind="n"),
         lambda x, n: _fit(neg(softplus(x)), n), "log-one-minus-sigmoid"),
    # 1 − σ(x) → σ(−x): the same value, with its relative accuracy where σ(x) → 1 (x ≳ 30;
    # 1 − σ rounds to 0 from x ≈ 37 in float64, 17 in float32). σ′ = σ(x)(1 − σ(x)) is built
    # this way by the reverse pass and becomes σ(x)σ(−x) ≈ e^{−x}, not 0. (Before the log
    # rules: log(1 − σ(x)) still ends as −softplus(x), through log σ(−x).)
    Rule(P("sub", Lit(1.0), P("sigmoid", Var("x")), bind="n"),
         lambda x, n: _fit(sigmoid(neg(x)), n), "one-minus-sigmoid"),
    # 1 / (1 + e^{−x}) → σ(x): a sigmoid written out overflows e^{−x} for x ≪ 0, and its
    # derivative e^{−x}/(1 + e^{−x})² is then ∞/∞
    Rule(P("div", Lit(1.0), P("add", Lit(1.0), P("exp", P("neg", Var("x")))), bind="n"),
         lambda x, n: _fit(sigmoid(x), n), "sigmoid"),
    # 1 / (1 + e^{x}) → σ(−x)
    Rule(P("div", Lit(1.0), P("add", Lit(1.0), P("exp", Var("x"))), bind="n"),
         lambda x, n: _fit(sigmoid(neg(x)), n), "sigmoid-neg"),
    # e^x / Σ_axis e^x → softmax(x, axis): a softmax written out overflows at x = 1000
    # (∞/∞); over one axis with keepdims, or over the whole of a vector
    Rule(P("div", P("exp", Var("x")), P("sum", P("exp", Var("x")), bind="s")),
         lambda x, s: _softmax_of(x, s), "softmax"),
    # log det X → logdet X: slogdet, no overflow of det X (200 × 200, 100 I + noise), and
    # the gradient is X⁻ᵀ itself, not (1/det X) · det X · X⁻ᵀ (∞/∞ when det overflows);
    # logdet has log's meaning at det X ≤ 0 too (NaN, −inf)
    Rule(P("log", P("det", Var("x"))), lambda x: logdet(x), "log-det"),
    # log softmax(x) → log_softmax(x): x − logsumexp(x), no log(0) for small probabilities
    Rule(P("log", P("softmax", Var("x"), bind="s")),
         lambda x, s: log_softmax(x, axis=s.kw["axis"]), "log-softmax"),
    # log Σ exp(x) → logsumexp(x): max-shifted, no overflow
    Rule(P("log", P("sum", P("exp", Var("x")), bind="s")),
         lambda x, s: logsumexp(x, **s.kw), "log-sum-exp"),
    # log(1 + x) → log1p(x): keeps the digits of a small x
    Rule(P("log", P("add", Lit(1.0), Var("x")), bind="n"),
         lambda x, n: _fit(log1p(x), n), "log1p-left"),
    # log(x + 1) → log1p(x)
    Rule(P("log", P("add", Var("x"), Lit(1.0)), bind="n"),
         lambda x, n: _fit(log1p(x), n), "log1p-right"),
    # log(1 − x) → log1p(−x)
    Rule(P("log", P("sub", Lit(1.0), Var("x")), bind="n"),
         lambda x, n: _fit(log1p(neg(x)), n), "log1p-sub"),
    # log1p(exp x) → softplus(x): no overflow of exp for a large x (log(1 + e^x) reaches
    # here through the log1p rules)
    Rule(P("log1p", P("exp", Var("x"))), lambda x: softplus(x), "softplus"),
    # exp(x) − 1 → expm1(x): keeps the digits of a small x
    Rule(P("sub", P("exp", Var("x")), Lit(1.0), bind="n"),
         lambda x, n: _fit(expm1(x), n), "expm1"),
) + _cross_entropy_rules())
# y log σ(z) + (1 − y) log(1 − σ(z)) → y z − softplus(z) is the last group (see above)


# --------------------------------------------------------------------------- LOWER


def _sized(e: Expr) -> bool:
    """An array (not a scalar): np.vdot beats a product and a sum from 3 entries on
    (1.2 µs against 3.0 µs here; 4 µs against 15 µs at 1,797 × 10)."""
    return e.ndim >= 1


def _dot_all(a: Expr, b: Expr) -> Expr:
    """Σ a⊙b as the dot product of the flattened arrays (np.vdot: no reshape, no temporary)."""
    from .ops.contract import vdot

    return vdot(a, b)


def _sum_of_squares(x: Expr) -> Expr:
    return _dot_all(x, x)


def _product_factors(e: Expr, limit: int = 6) -> list[Expr] | None:
    """The factors of a chain of products (``mul`` nodes, walked iteratively), left to
    right; ``None`` for a longer chain than ``limit``."""
    out: list[Expr] = []
    stack = [e]
    while stack:
        n = stack.pop()
        if n.op is mul:
            stack.extend(reversed(n.args))
        else:
            out.append(n)
        if len(out) + len(stack) > limit:
            return None
    return out


def _factor_out(g: Expr, a: Expr, chain: Expr, node: Expr, combine: Any) -> Expr | None:
    """g ⊙ a ± (… ⊙ g ⊙ …) → g ⊙ (a ± (…)), g an array of the result's shape and dtype
    appearing as a factor of ``chain`` (a product of three factors or more); else None."""
    if g.shape != node.shape or g.dtype != node.dtype or g.ndim == 0 or g.is_const:
        return None
    if a.shape != node.shape or chain.shape != node.shape:
        return None
    fs = _product_factors(chain)
    if fs is None or len(fs) < 3 or not any(f is g for f in fs):
        return None
    i = next(i for i, f in enumerate(fs) if f is g)
    rest = fs[:i] + fs[i + 1:]
    r = rest[0]
    for f in rest[1:]:
        r = mul(r, f)
    if r.shape != node.shape:
        return None
    return mul(g, combine(a, r))


def _factor_add(x: Expr, y: Expr, n: Expr) -> Expr | None:
    """x + y with x = g ⊙ a and g a factor of the product y (or the other way round)."""
    for left, right in ((x, y), (y, x)):
        if left.op is mul:
            for g, a in ((left.args[0], left.args[1]), (left.args[1], left.args[0])):
                out = _factor_out(g, a, right, n, add)
                if out is not None:
                    return out
    return None


def _factor_sub(x: Expr, y: Expr, n: Expr) -> Expr | None:
    """x − y with x = g ⊙ a and g a factor of the product y."""
    if x.op is mul:
        for g, a in ((x.args[0], x.args[1]), (x.args[1], x.args[0])):
            out = _factor_out(g, a, y, n, sub)
            if out is not None:
                return out
    return None


#: Rows per product when a sum of batched products Σ_b A_bᵀ G_b is regrouped (see
#: _regroup_rows): products over fewer rows are dominated by writing their (k, n) partials.
_MIN_ROWS = 64


def _reshapes_in_place(x: Expr) -> bool:
    """NumPy reshapes x without a copy: x is not a view of another array (a transpose, a
    slice, a broadcast), or it is a reshape's copy of a transpose (shared, see reshape's
    simplify)."""
    if not x.op.view:
        return True
    return x.op is reshape_op and (not x.args[0].op.view or x.args[0].op is transpose)


def _regroup_rows(a: Expr, g: Expr, t: Expr, s: Expr) -> Expr | None:
    """Σ_b A_bᵀ G_b (a weight's gradient in a batched layer: A (…, L, k), G (…, L, n), the
    sum over every batch axis) with L < 64 rows per product → the same sum over groups of
    m ≥ 64 consecutive rows (m a multiple of L dividing the row count R; one product
    Aᵀ G over all R rows when no such m < R exists)."""
    n = a.ndim
    if n < 3 or g.ndim != n or a.shape[:-1] != g.shape[:-1]:
        return None
    if not (_reshapes_in_place(a) and _reshapes_in_place(g)):
        return None
    if t.kw["axes"] != tuple(range(n - 2)) + (n - 1, n - 2):
        return None
    if s.kw["keepdims"] or s.kw["axis"] != tuple(range(n - 2)):
        return None
    if not all(isinstance(d, int) for d in a.shape + g.shape):
        return None
    rows, k, m_cols = a.shape[-2], a.shape[-1], g.shape[-1]
    if rows >= _MIN_ROWS or rows == 0:
        return None
    total = 1
    for d in a.shape[:-1]:
        total *= d
    m = rows
    while m < _MIN_ROWS or total % m:
        m += rows
        if m >= total:
            m = total
            break
    if m == total:
        return matmul(transpose(reshape_op(a, shape=(total, k))),
                      reshape_op(g, shape=(total, m_cols)))
    groups = total // m
    ar = reshape_op(a, shape=(groups, m, k))
    gr = reshape_op(g, shape=(groups, m, m_cols))
    return sum_(matmul(transpose(ar, axes=(0, 2, 1)), gr), axis=(0,))


# Forms that are equal but cheaper to run, applied only to the graph that is compiled
# (never to what users print or differentiate).
LOWER = RuleSet("lower", (
    # Σ_b A_bᵀ G_b → Σ_groups A_gᵀ G_g (the same Σ_r a_r g_rᵀ over every row r, grouped
    # into products of ≥ 64 rows; reassociated): with short sequences (L = 32) each product
    # writes a (k, n) partial for few rows; the transformer block's step is ~6% faster
    # (OpenBLAS, float32 and float64). Not for inputs NumPy would copy to reshape
    Rule(P("sum", P("matmul", P("transpose", Var("a"), bind="t"), Var("g")), bind="s"),
         _regroup_rows, "regroup-rows"),
    # g⊙a + c⊙(g⊙b)⊙e → g⊙(a + c⊙b⊙e) (distributivity; the products are reassociated, a
    # last-bit change): one pass over the array fewer, as where the reverse pass adds the
    # two paths of a product rule (GELU's Φ(x) ȳ + (ȳ x) e^{−x²/2}/√(2π)); never more
    # passes when a product it drops is used elsewhere too
    Rule(P("add", Var("x"), Var("y"), bind="n"), _factor_add, "factor-common-product"),
    # g⊙a − c⊙(g⊙b)⊙e → g⊙(a − c⊙b⊙e) (the same, for a difference)
    Rule(P("sub", Var("x"), Var("y"), bind="n"), _factor_sub, "factor-common-product-sub"),
    # Σ x² (every entry of an array x) → vec(x)·vec(x): one BLAS dot reads x once,
    # where the square writes a temporary and the sum reads it again
    Rule(P("sum", P("pow", Var("x", _sized), Lit(2.0)), bind="s"),
         lambda x, s: _sum_of_squares(x) if s.kw["axis"] is None and not s.kw["keepdims"]
         else None, "sum-of-squares"),
    # Σ a⊙b (a, b of one shape) → vec(a)·vec(b): the dot reads both once, no product
    # is written (the cross-entropy's Σ Y ⊙ log P, and Σ x⊙x)
    Rule(P("sum", P("mul", Var("a", _sized), Var("b", _sized)), bind="s"),
         lambda a, b, s: _dot_all(a, b) if s.kw["axis"] is None and not s.kw["keepdims"]
         and a.shape == b.shape and a.dtype == b.dtype else None, "sum-of-products"),
))


def optimize(outs: Sequence[Expr], order: Sequence[Expr] | None = None) -> list[Expr]:
    """What ``lambdify`` compiles: ``outs`` rewritten by ``CANONICAL + STABILIZE + LOWER``
    (``order``: ``toposort(outs)``, if the caller has it)."""
    return list(rewrite(list(outs), _OPTIMIZE, order=order))


def stabilize(y: Any) -> Any:
    """``y`` with the ``STABILIZE`` rules applied (before differentiating it)."""
    return rewrite(y, STABILIZE)


_OPTIMIZE = CANONICAL + STABILIZE + LOWER
_DIFFERENTIATE = CANONICAL + STABILIZE


def differentiable_form(ys: Sequence[Expr]) -> list[Expr]:
    """What ``grad``/``vjp``/``jacobian``/``hessian``/``hvp`` differentiate (see
    :func:`symback.autodiff.stable_form`): ``STABILIZE`` alone first (its patterns, such
    as the binary cross-entropy's, are written over the user's form, before ``CANONICAL``
    moves negations out of products), then ``CANONICAL + STABILIZE`` to a fixed point."""
    return _differentiable_form(ys)[0]


def _differentiable_form(ys: Sequence[Expr]) -> tuple[list[Expr], list[Expr] | None]:
    """:func:`differentiable_form`, and the toposort of its result when no rule changed
    the graph (the reverse pass then need not sort it again), else ``None``."""
    from .graph import toposort

    roots = list(ys)
    order: list[Expr] | None = toposort(roots)
    if any(op.name in _STABILIZE_FIRST for op in set(map(_op_of, order))):  # (ops, in C)
        roots = list(rewrite(roots, STABILIZE, order=order))
        order = None
    out = list(rewrite(roots, _DIFFERENTIATE, order=order))
    if order is not None and any(a is not b for a, b in zip(out, roots)):
        order = None
    return out, order


#: Ops without which the first, STABILIZE-only pass finds nothing that the combined pass
#: would not (its patterns that CANONICAL could break all contain a log or a softplus).
_STABILIZE_FIRST = frozenset({"log", "log1p", "softplus"})  # one table (its index is built per rewrite)
