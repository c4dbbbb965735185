"""Forward mode and higher derivatives: ``jvp``, ``jacobian``, ``hessian``, ``hvp``.

Forward mode pushes a *tangent* through the graph, from ``x`` to ``y``. A tangent
may carry trailing *batch* axes B: for ``jacobian(y, x)`` the tangent of a node
u has shape ``u.shape + x.shape`` (B = x.shape) and is seeded with the identity
``∂x/∂x = I``, so every tangent is ∂u/∂x itself, built as a matrix expression:

    J_{f(u)} = f'(u)[..., None] ⊙ J_u   (elementwise f; f' read off the op's VJP)
    J_{A u}  = A J_u,   J_{Σ u} = Σ over u's axes of J_u,   J_{uᵀ} = J_u permuted, …

so the result's graph size does not depend on n: ``hessian(x @ A @ x, x)`` is
the node ``A.T + A``. Elementwise ops need no forward rule (their Jacobian is
diagonal, so the VJP evaluated at a cotangent of ones gives the derivative);
every other op carries ``Op.jvp(tangents, out, *args, **attrs)``: one tangent per
argument (``None`` for zero), each of shape ``arg.shape + B``, returning the
tangent of ``out`` (shape ``out.shape + B``). A small rule table
(:data:`MATRIX_RULES`, applied with :func:`symback.rewrite.rewrite`) tidies the
results (``A I → A``, ``v[:, None] ⊙ I → diag(v)``, ``Aᵀ(cB) → c AᵀB``, …).

Conventions: ``jacobian(y, x)`` has shape ``y.shape + x.shape`` with
J[i…, j…] = ∂yᵢ/∂xⱼ (numerator layout, as ``jax.jacobian`` and
``torch.autograd.functional.jacobian``; ∂(Ax)/∂x = A). SymPy's
``Matrix.jacobian`` agrees for column vectors, but SymPy's matrix-calculus
``diff(y, X)`` of a vector by a vector uses the transposed layout.
``hessian(y, x)`` (y a scalar) has shape ``x.shape + x.shape``.
"""

from __future__ import annotations

from typing import Any, Sequence

from .autodiff import _restore, grad, stable_form
from .errors import ShapeError, SymbackError
from .graph import Expr, as_expr, const, ones, toposort
from .ops.elementwise import add, exp, mul, sub
from .ops.contract import matmul, outer
from .ops.linalg import diag_op, eye, eye_op, inv_op
from .ops.shape import transpose
from .ops.reduce import logsumexp, softmax, sum_
from .ops.structural import broadcast_to_op, expand_dims
from .rewrite import P, Rule, RuleSet, Var, rewrite
from .shapes import fmt

__all__ = ["jvp", "jacobian", "hessian", "hvp", "forward", "MATRIX_RULES", "MATRIX_PRETTY",
           "simplify_matrix", "pretty_matrix"]


# --------------------------------------------------------------------------- forward pass


def _batch(e: Expr, nb: int) -> Expr:
    """``e`` lined up against a tangent with ``nb`` trailing batch axes."""
    if nb == 0 or e.ndim == 0:
        return e
    if e.op is broadcast_to_op and e.args[0].ndim == 0:  # a stretched scalar stays a scalar
        return e.args[0]
    return expand_dims(e, axis=tuple(range(e.ndim, e.ndim + nb)))


def _elementwise_jvp(node: Expr, ts: Sequence[Expr | None], nb: int) -> Expr | None:
    """ẏ = Σᵢ ∂f/∂aᵢ ⊙ ȧᵢ for an elementwise f.

    Its Jacobian is diagonal, so the VJP at a cotangent of ones returns exactly the
    partial derivatives ∂f/∂aᵢ (entry by entry, broadcast to y's shape).
    """
    op = node.op
    assert op.vjp is not None
    parts = op.vjp(ones(node.shape), node, *node.args, **node.kw)
    total: Expr | None = None
    for t, d in zip(ts, parts):
        if t is None or d is None:
            continue
        term = mul(_batch(as_expr(d), nb), t)
        total = term if total is None else add(total, term)
    return total


def _tangent(node: Expr, ts: list[Expr | None], nb: int) -> Expr | None:
    op = node.op
    if op.jvp is not None:
        return op.jvp(tuple(ts), node, *node.args, **node.kw)
    if op.elementwise and op.vjp is not None:
        return _elementwise_jvp(node, ts, nb)
    if op.nondifferentiable or op.vjp is None:
        raise SymbackError(f"jvp: the op '{op.name}' has no derivative, but {node} lies "
                           "between x and y")
    raise SymbackError(f"jvp: the op '{op.name}' has no forward rule (Op.jvp); "
                       "use sb.grad / sb.vjp (reverse mode) for this expression")


def forward(ys: Sequence[Expr], seeds: dict[Expr, Expr], batch: tuple[Any, ...] = ()
            ) -> list[Expr | None]:
    """Push the tangents ``seeds`` (node → tangent of shape node.shape + batch) to ``ys``.

    Returns one tangent per y (``None`` where y does not depend on any seeded node).
    Only nodes between the seeds and ``ys`` are visited; each op's rule runs once.
    """
    nb = len(batch)
    tan: dict[Expr, Expr] = {}
    for node in toposort(list(ys)):
        if node in seeds:
            tan[node] = seeds[node]
            continue
        if not node.args:
            continue
        ts = [tan.get(a) for a in node.args]
        if all(t is None for t in ts):
            continue
        t = _tangent(node, ts, nb)
        if t is None:
            continue
        t = as_expr(t)
        want = node.shape + tuple(batch)
        if t.shape != want:
            try:
                t = broadcast_to_op(t, shape=want)
            except ShapeError:
                raise SymbackError(f"jvp: the forward rule of '{node.op.name}' returned shape "
                                   f"{fmt(t.shape)}, expected {fmt(want)}") from None
        tan[node] = t
    return [tan.get(y) for y in ys]


def _identity(shape: tuple[Any, ...]) -> Expr:
    """The identity tensor I of shape ``shape + shape`` (I[i…, j…] = δᵢⱼ): ∂x/∂x."""
    k = len(shape)
    if k == 1:
        return eye(shape[0])
    out: Expr | None = None
    for i, d in enumerate(shape):
        axes = tuple(a for a in range(2 * k) if a not in (i, k + i))
        e = expand_dims(eye(d), axis=axes)
        out = e if out is None else mul(out, e)
    assert out is not None
    return out


def _one(y: Any) -> Expr:
    return as_expr(y)


def _wrt_list(x: Any, what: str) -> tuple[list[Expr], bool]:
    if isinstance(x, Expr):
        return [x], True
    if isinstance(x, (list, tuple)) and all(isinstance(w, Expr) for w in x):
        return list(x), False
    raise SymbackError(f"{what}: x must be an expression or a list of expressions")


# --------------------------------------------------------------------------- public API


def jvp(y: Any, x: Any, v: Any) -> Expr:
    """The Jacobian-vector product ∂y/∂x · v (forward mode), with y's shape.

    ``x`` is one expression (``v`` of its shape) or a list (``v`` a list of the same
    length): then the result is Σᵢ ∂y/∂xᵢ · vᵢ. The result is an ordinary ``Expr``.

    >>> import symback as sb
    >>> x = sb.vector("x", 3); v = sb.vector("v", 3)
    >>> d = sb.jvp(sb.sum(x * x), x, v)  # ∂(Σ xᵢ²)/∂x · v = 2 x · v
    >>> float(sb.lambdify([x, v], d)([1.0, 2.0, 3.0], [1.0, 0.0, 1.0]))
    8.0
    """
    y = _one(y)
    xs, single = _wrt_list(x, "jvp")
    vs = [v] if single else list(v)
    if len(vs) != len(xs):
        raise SymbackError(f"jvp: {len(xs)} inputs but {len(vs)} tangents")
    (y,), xs, back = stable_form([y], xs)  # forward mode on the stable form too
    seeds: dict[Expr, Expr] = {}
    for w, t in zip(xs, vs):
        t = as_expr(t)
        if t.shape != w.shape:
            try:
                t = broadcast_to_op(t, shape=w.shape)
            except ShapeError:
                raise ShapeError(f"jvp: the tangent has shape {fmt(t.shape)} but x has shape "
                                 f"{fmt(w.shape)}", op="jvp", shapes=(t.shape, w.shape)) from None
        seeds[w] = t
    (out,) = forward([y], seeds)
    if out is None:
        return broadcast_to_op(const(0.0), shape=y.shape) if y.shape else const(0.0)
    return _restore([out], back)[0]


def jacobian(y: Any, x: Any, *, simplify: bool = True) -> Any:
    """∂y/∂x with shape ``y.shape + x.shape``: J[i…, j…] = ∂yᵢ/∂xⱼ (numerator layout).

    Built as a matrix expression by forward mode with the identity as the tangent of
    ``x``, so its graph does not grow with the sizes (∂(A x)/∂x is the node A). A
    scalar ``y`` gives the gradient (reverse mode); a scalar ``x`` one forward sweep.
    ``x`` may be a list (one Jacobian each). ``simplify`` applies :data:`MATRIX_RULES`.
    SymPy's matrix ``diff`` of a vector by a vector is the transpose of this.

    >>> import symback as sb
    >>> A = sb.matrix("A", 3, 3); x = sb.vector("x", 3)
    >>> sb.jacobian(A @ sb.tanh(x), x)
    A @ diag(1 - tanh(x) ** 2)
    """
    y = _one(y)
    xs, single = _wrt_list(x, "jacobian")
    out = []
    for w in xs:
        if y.shape == ():
            j = grad(y, w)
        elif w.shape == ():
            j = jvp(y, w, 1.0)
        else:
            (ys,), (ws,), back = stable_form([y], [w])
            (j,) = forward([ys], {ws: _identity(w.shape)}, w.shape)
            if j is None:
                j = broadcast_to_op(const(0.0), shape=y.shape + w.shape)
            else:
                j = _restore([j], back)[0]
        out.append(simplify_matrix(j) if simplify else j)
    return out[0] if single else out


def hessian(y: Any, x: Any, *, simplify: bool = True) -> Any:
    """The Hessian ∂²y/∂x∂x of a scalar ``y``, shape ``x.shape + x.shape``.

    The Jacobian of the gradient (forward over reverse), as a matrix expression:
    ``hessian(x @ A @ x, x)`` is ``A.T + A``, the Hessian of ‖Xw − y‖² is ``2 XᵀX``.

    >>> import symback as sb
    >>> A = sb.matrix("A", 4, 4); x = sb.vector("x", 4)
    >>> sb.hessian(x @ A @ x, x)
    A.T + A
    """
    y = _one(y)
    if y.shape != ():
        raise SymbackError(f"hessian: y must be a scalar, but it has shape {fmt(y.shape)}; "
                           "use sb.jacobian(sb.jacobian(y, x), x)")
    xs, single = _wrt_list(x, "hessian")
    grads = grad(y, list(xs))  # one stable form and one reverse pass for every x
    out = [jacobian(g, w, simplify=simplify) for g, w in zip(grads, xs)]
    return out[0] if single else out


def hvp(y: Any, x: Any, v: Any, *, mode: str = "forward") -> Expr:
    """The Hessian-vector product (∂²y/∂x∂x) v of a scalar ``y``, without forming the Hessian.

    ``mode="forward"`` (default): forward over reverse, ``jvp(grad(y, x), x, v)``.
    ``mode="reverse"``: reverse over reverse, ``grad(⟨grad(y, x), v⟩, x)``.
    Either costs a small multiple of the gradient (see benchmarks/bench_hessian.py).

    Math: Hv = (∂²y/∂x∂x) v = ∂/∂x ⟨∇y(x), v⟩.

    >>> import numpy as np
    >>> import symback as sb
    >>> x, v = sb.vector("x", 2), sb.vector("v", 2)
    >>> y = sb.sum(x ** 3)  # H = diag(6 x)
    >>> sb.lambdify([x, v], sb.hvp(y, x, v))(np.array([1.0, 2.0]), np.array([1.0, 1.0]))
    array([ 6., 12.])
    """
    y = _one(y)
    if y.shape != ():
        raise SymbackError(f"hvp: y must be a scalar, but it has shape {fmt(y.shape)}")
    if not isinstance(x, Expr):
        raise SymbackError("hvp: x must be one expression")
    v = as_expr(v)
    if v.shape != x.shape:
        raise ShapeError(f"hvp: v has shape {fmt(v.shape)} but x has shape {fmt(x.shape)}",
                         op="hvp", shapes=(v.shape, x.shape))
    g = grad(y, x)
    if mode == "forward":
        return jvp(g, x, v)
    if mode == "reverse":
        return grad(sum_(mul(g, v), axis=None), x)
    raise SymbackError(f"hvp: mode must be 'forward' or 'reverse', not {mode!r}")


# --------------------------------------------------------------------------- rule tables


def _vec(e: Expr) -> bool:
    return e.ndim == 1


def _scalar(e: Expr) -> bool:
    return e.shape == ()


def _col(name: str) -> P:
    """v[:, None] for a vector v (bound to ``name``)."""
    return P(expand_dims, Var(name, _vec), attrs={"axis": (1,)})


def _rows_of(w: Expr) -> bool:
    """A vector broadcast along rows (w or broadcast_to(w, (n, m)))."""
    return w.ndim == 1 or (w.op is broadcast_to_op and w.args[0].ndim == 1 and w.ndim == 2)


def _row_vector(w: Expr) -> Expr:
    return w.args[0] if w.op is broadcast_to_op else w


def _collapsible(e: Expr) -> bool:
    return e.op is eye_op or _rows_of(e)


def _scale_rows(v: Expr, m: Expr) -> Expr | None:
    """v[:, None] ⊙ M in closed form when M is I (diag v) or a row vector w (v wᵀ)."""
    if m.op is eye_op:
        return diag_op(v)
    if _rows_of(m):
        return outer(v, _row_vector(m))
    return None


def _distribute(v: Expr, a: Expr, b: Expr, combine: Any) -> Expr | None:
    """v[:, None] ⊙ (A ± B) → diag(v) ± v wᵀ …: only when both terms collapse (no growth)."""
    if not (_collapsible(a) and _collapsible(b)):
        return None
    col = expand_dims(v, axis=(1,))
    return combine(mul(col, a), mul(col, b))


def _is_lse_of(x: Expr, m: Expr) -> Expr | None:
    """softmax(x) if m is logsumexp(x) stretched back over its axes (e^{x − lse x} = softmax)."""
    if m.op is broadcast_to_op:
        m = m.args[0]
    inner = m
    if inner.op is expand_dims:
        inner = inner.args[0]
    if inner.op is not logsumexp or inner.args[0] is not x:
        return None
    axis = inner.kw["axis"]
    if m.op is expand_dims and (inner.kw["keepdims"] or m.kw["axis"] != axis):
        return None
    if m.op is not expand_dims and axis is not None and not inner.kw["keepdims"]:
        return None
    if axis is None:
        return softmax(x, axis=-1 if x.ndim == 1 else None)
    return softmax(x, axis=axis)


MATRIX_RULES = RuleSet("matrix", (
    Rule(P(transpose, P(eye_op, bind="i")), lambda i: i, "Iᵀ → I"),
    Rule(P(transpose, P(inv_op, Var("x"), bind="y")),
         lambda x, y: inv_op(x, transpose=not y.kw["transpose"]) if x.ndim == 2 else None,
         "(X⁻¹)ᵀ → X⁻ᵀ"),
    Rule(P(mul, _col("v"), Var("m")), lambda v, m: _scale_rows(v, m),
         "v[:, None] ⊙ I → diag(v);  v[:, None] ⊙ w → v wᵀ"),
    Rule(P(mul, P(eye_op, bind="m"), _col("v")), lambda v, m: diag_op(v), "I ⊙ v[:, None] → diag(v)"),
    Rule(P(mul, _col("v"), P(sub, Var("a"), Var("b"))),
         lambda v, a, b: _distribute(v, a, b, sub), "v[:, None] ⊙ (A − B), split"),
    Rule(P(mul, _col("v"), P(add, Var("a"), Var("b"))),
         lambda v, a, b: _distribute(v, a, b, add), "v[:, None] ⊙ (A + B), split"),
    Rule(P(matmul, Var("a"), P(mul, Var("c", _scalar), Var("b"))),
         lambda a, c, b: mul(c, matmul(a, b)), "A (c B) → c (A B)"),
    Rule(P(matmul, P(mul, Var("c", _scalar), Var("a")), Var("b")),
         lambda a, c, b: mul(c, matmul(a, b)), "(c A) B → c (A B)"),
    Rule(P(matmul, Var("a"), P(mul, Var("b"), Var("c", _scalar))),
         lambda a, c, b: mul(c, matmul(a, b)), "A (B c) → c (A B)"),
    Rule(P(exp, P(sub, Var("x"), Var("m"))),
         lambda x, m: _is_lse_of(x, m), "e^{x − logsumexp x} → softmax x"),
))
"""Always-sound identities that put Jacobians and Hessians in closed matrix form."""


def _diag_left(v: Expr, m: Expr) -> Expr | None:
    return matmul(diag_op(v), m) if m.ndim == 2 and m.op is not eye_op else None


MATRIX_PRETTY = RuleSet("matrix_pretty", (
    Rule(P(mul, _col("v"), Var("m")), _diag_left, "v[:, None] ⊙ M → diag(v) M"),
    Rule(P(matmul, Var("a"), P(matmul, Var("b"), Var("c"))),
         lambda a, b, c: matmul(matmul(a, b), c) if a.ndim == 2 and b.ndim == 2 else None,
         "A (B C) → (A B) C"),
))
"""Display-only forms (``diag(v) M`` costs O(n²) more than ``v[:, None] ⊙ M``)."""


def simplify_matrix(e: Expr) -> Expr:
    """``e`` rewritten with :data:`MATRIX_RULES` (values unchanged)."""
    return rewrite(e, MATRIX_RULES)


def pretty_matrix(e: Expr) -> Expr:
    """``e`` in the form a matrix-calculus text prints (``Xᵀ diag(s) X``); for display."""
    return rewrite(rewrite(e, MATRIX_RULES), MATRIX_PRETTY)
