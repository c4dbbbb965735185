"""Matrix functions (``numpy.linalg``'s names): trace, det, logdet, inv, solve (stacks of
matrices too), diag, and the plain functions diagonal, trace with offset/axes, diag(v, k),
matrix_power, and the pinv op. Norms live in :mod:`symback.ops.norm`, decompositions in
:mod:`symback.ops.decomp`, triangular solves in :mod:`symback.ops.triangular`; reshaping,
stacking, indexing and contractions in their own modules.

Each op is one :class:`~symback.graph.Op` record: its shape rule (``ShapeError``
at build time, e.g. for the determinant of a non-square matrix), its NumPy form
(stable ones: ``slogdet`` for ``logdet``, ``np.linalg.solve`` rather than an
inverse), its VJP written in symback ops (so second derivatives come free), a
batched forward rule ``jvp`` (see :mod:`symback.higher`), text and LaTeX
notations, and a ``sympy`` constructor where SymPy has a counterpart.

Conventions: every input is an unstructured matrix (∂ log det Σ = Σ⁻ᵀ, not the
symmetric-matrix formula). The ``sympy`` field is a function of the SymPy forms of
the arguments (vectors as n×1 matrices) and the op's attributes as keywords.
"""

from __future__ import annotations

from typing import Any

from ..errors import ShapeError, SymbackError
from ..graph import Expr, Op, as_expr, zeros
from ..notation import MUL, POSTFIX, Notation
from ..shapes import Shape, broadcast, check_flag, fmt
from . import _scalar, register
from ._common import _fn, _same_dtype, _sp, _square, _trailing
from .contract import lead_tangent, matmul, mT, outer, solve_tangent, tensordot_op, trail_tangent
from .einsum import einsum_op
from .creation import eye, eye_op  # noqa: F401 (sb.ops.linalg.eye stays importable)
from .elementwise import mul, neg
from .index import getitem, index_scatter
from .reduce import sum_
from .shape import transpose
from .shape import transpose as _transpose_op  # inv's attribute `transpose` shadows the name
from .structural import expand_dims, squeeze

# ---------------------------------------------------------------- trace


def _trace_shape(shapes: tuple[Shape, ...]) -> Shape:
    xs = shapes[0]
    if len(xs) < 2 or xs[0] != xs[1]:
        raise ShapeError(f"trace: expects a square matrix, got shape {fmt(xs)}",
                         op="trace", shapes=shapes)
    return xs[2:]


def _trace_vjp(g: Expr, out: Expr, x: Expr) -> tuple[Expr]:
    """y = tr X = Σᵢ Xᵢᵢ;  X̄ = ȳ I  (trailing axes, as np.trace has them, ride along)."""
    n = x.shape[0]
    i = eye(n, g.dtype)
    if g.ndim == 0:
        return (mul(g, i),)
    return (mul(expand_dims(g, axis=(0, 1)), _trailing(i, g.ndim)),)


trace_op = register(Op(
    "trace", 1, _trace_shape, numpy="np.trace({0})", vjp=_trace_vjp,
    forms={"xp": "xp.linalg.trace({0})"},
    jvp=lambda ts, out, x: trace_op(ts[0]),
    # the diagonal entries added left to right
    scalarize=lambda a, kw: _scalar.sum_axes(a[0].diagonal(0, 0, 1), (a[0].ndim - 2,)),
    simplify=lambda x: trace_op(x.args[0]) if x.op is transpose and x.ndim == 2 else None,
    text=Notation("trace({0})"), latex=_fn(r"\operatorname{tr}"),
    sympy=lambda x: _sp().Trace(x),
    doc="y = tr X = Σᵢ Xᵢᵢ (X square; extra trailing axes are kept, as in np.trace);  "
        "X̄ = ȳ I;  ∂tr(AX)/∂X = Aᵀ.",
))


def trace(x: Any) -> Expr:
    """tr X, the sum of the diagonal of a square matrix (``ShapeError`` if not square)."""
    return trace_op(x)


# ---------------------------------------------------------------- inverse


def _inv_norm(args: tuple[Expr, ...], attrs: dict[str, Any]) -> dict[str, Any]:
    return {"transpose": check_flag("inv", "transpose", attrs.get("transpose", False))}


def _inv_shape(shapes: tuple[Shape, ...], *, transpose: bool) -> Shape:
    if len(shapes[0]) > 2 and not transpose:  # a stack of matrices
        _square("inv", (shapes[0][-2:],))
        return shapes[0]
    _square("inv", shapes)
    return shapes[0]


def _inv_simplify(x: Expr, *, transpose: bool) -> Expr | None:
    if x.op is inv_op:  # (X⁻¹)⁻¹ = X, (X⁻ᵀ)⁻¹ = Xᵀ, ((X⁻¹)⁻¹)ᵀ = Xᵀ, ((X⁻ᵀ)⁻¹)ᵀ = X
        flip = x.kw["transpose"] != transpose
        return transpose_2d(x.args[0]) if flip else x.args[0]
    if x.op is _transpose_op and x.ndim == 2:  # (Xᵀ)⁻¹ = X⁻ᵀ and (Xᵀ)⁻ᵀ = X⁻¹
        return inv_op(x.args[0], transpose=not transpose)
    return None


def transpose_2d(x: Expr) -> Expr:
    """Xᵀ of a matrix."""
    return transpose(x, axes=None)


def _inv_vjp(g: Expr, out: Expr, x: Expr, *, transpose: bool) -> tuple[Expr]:
    """Y = X⁻¹: X̄ = −X⁻ᵀ Ȳ X⁻ᵀ.   Y = X⁻ᵀ: X̄ = −Y Ȳᵀ Y."""
    if x.ndim > 2:
        it = mT(out)
        return (neg(matmul(matmul(it, g), it)),)
    if transpose:
        return (neg(matmul(matmul(out, transpose_2d(g)), out)),)
    it = inv_op(x, transpose=True)
    return (neg(matmul(matmul(it, g), it)),)


def _inv_jvp(ts: tuple[Expr | None, ...], out: Expr, x: Expr, *, transpose: bool) -> Expr:
    """Y = X⁻¹: Ẏ = −Y Ẋ Y.   Y = X⁻ᵀ: Ẏ = −Y Ẋᵀ Y (each batch slice of Ẋ)."""
    (t,) = ts
    if x.ndim > 2:
        lt = lead_tangent(t, x, x.ndim)
        return trail_tangent(neg(matmul(matmul(out, lt), out)), t.ndim - x.ndim)
    nb = t.ndim - 2
    if transpose:
        t = transpose_fn_axes(t, (1, 0) + tuple(range(2, 2 + nb)))
    if nb == 0:
        return neg(matmul(matmul(out, t), out))
    left = tensordot_op(out, t, axes=((1,), (0,)))  # (n, n, B...)
    right = tensordot_op(left, out, axes=((1,), (0,)))  # (n, B..., n)
    return neg(transpose_fn_axes(right, (0, 2 + nb - 1) + tuple(range(1, 1 + nb))))


def transpose_fn_axes(x: Expr, axes: tuple[int, ...]) -> Expr:
    """x with its axes permuted."""
    return transpose(x, axes=axes)


def _inv_text(args: list[str], kw: dict[str, Any]) -> str:
    return f"inv(transpose({args[0]}))" if kw["transpose"] else f"inv({args[0]})"


def _inv_latex(args: list[str], kw: dict[str, Any]) -> str:
    return args[0] + ("^{-T}" if kw["transpose"] else "^{-1}")


def _inv_sympy(x: Any, *, transpose: bool) -> Any:
    inv = _sp().Inverse(x)
    return inv.T if transpose else inv


inv_op = register(Op(
    "inv", 1, _inv_shape,
    numpy=lambda args, kw: f"np.linalg.inv({args[0]}.T)" if kw["transpose"]
    else f"np.linalg.inv({args[0]})",
    normalize=_inv_norm, simplify=_inv_simplify, vjp=_inv_vjp, jvp=_inv_jvp,
    text=Notation(_inv_text),
    # below POSTFIX so that (X^{-1})^{T} gets its parentheses; X^{T} inside gets them too
    latex=Notation(_inv_latex, POSTFIX - 1, POSTFIX + 1),
    sympy=_inv_sympy,
    doc="Y = X⁻¹ (or X⁻ᵀ = (X⁻¹)ᵀ with transpose=True), X square;  dY = −Y dX Y;  "
        "X̄ = −X⁻ᵀ Ȳ X⁻ᵀ.",
))


def inv(x: Any) -> Expr:
    """X⁻¹ of a square matrix or of each matrix of a stack (..., n, n) (``ShapeError`` if not
    square). ``inv(X).T`` prints as X^{-T}.  dY = −Y dX Y, X̄ = −X⁻ᵀ Ȳ X⁻ᵀ."""
    return inv_op(x)


def inv_nd(x: Expr) -> Expr:
    """X⁻¹ per matrix of a stack (the plain inverse for a matrix)."""
    return inv_op(x)


def _inv_t(x: Expr) -> Expr:
    """X⁻ᵀ per matrix (the inv node with transpose=True for a plain matrix)."""
    return inv_op(x, transpose=True) if x.ndim == 2 else mT(inv_op(x))


def _tr_inv_prod(x: Expr, t: Expr) -> Expr:
    """tr(X⁻¹ Ẋ) per matrix of a stack, for a tangent with trailing batch axes."""
    b = "abcdefgh"[:x.ndim - 2]
    e = "UVWXYZ"[:t.ndim - x.ndim]
    return einsum_op(inv_op(x), t, subscripts=f"{b}ij,{b}ji{e}->{b}{e}")


def _mat_g(g: Expr) -> Expr:
    """A per-matrix scalar cotangent (batch shape) lined up against (..., n, n)."""
    return expand_dims(g, axis=(g.ndim, g.ndim + 1)) if g.ndim else g


# ---------------------------------------------------------------- det / logdet


def _frobenius(a: Expr, t: Expr) -> Expr:
    """Σᵢⱼ aᵢⱼ tᵢⱼ… = tr(aᵀ t) for each batch slice of a tangent t (shape a.shape + B)."""
    return tensordot_op(a, t, axes=((0, 1), (0, 1)))


def _det_vjp(g: Expr, out: Expr, x: Expr) -> tuple[Expr]:
    """y = det X;  X̄ = ȳ · det X · X⁻ᵀ (Jacobi's formula)."""
    if x.ndim > 2:
        return (mul(_mat_g(mul(g, out)), _inv_t(x)),)
    return (mul(mul(g, out), inv_op(x, transpose=True)),)


def _scalar_of_square(name: str) -> Any:
    def rule(shapes: tuple[Shape, ...]) -> Shape:
        _square(name, (shapes[0][-2:],) if len(shapes[0]) > 2 else shapes)
        return shapes[0][:-2]
    return rule


det_op = register(Op(
    "det", 1, _scalar_of_square("det"),
    numpy="np.linalg.det({0})", vjp=_det_vjp,
    jvp=lambda ts, out, x: mul(out, _frobenius(inv_op(x, transpose=True), ts[0])) if x.ndim == 2
    else mul(_trailing(out, ts[0].ndim - x.ndim), _tr_inv_prod(x, ts[0])),
    simplify=lambda x: det_op(x.args[0]) if x.op is transpose and x.ndim == 2 else None,
    text=Notation("det({0})"), latex=_fn(r"\det"),
    sympy=lambda x: _sp().Determinant(x),
    doc="y = det X (X square);  dy = det X · tr(X⁻¹ dX);  X̄ = ȳ det X · X⁻ᵀ.",
))


def det(x: Any) -> Expr:
    """det X of a square matrix (``ShapeError`` if not square)."""
    return det_op(x)


logdet_op = register(Op(
    "logdet", 1, _scalar_of_square("logdet"),
    numpy="logdet({0})", helpers=("logdet",),
    vjp=lambda g, out, x: (mul(_mat_g(g), _inv_t(x)),),
    jvp=lambda ts, out, x: _frobenius(inv_op(x, transpose=True), ts[0]) if x.ndim == 2
    else _tr_inv_prod(x, ts[0]),
    simplify=lambda x: logdet_op(x.args[0]) if x.op is transpose and x.ndim == 2 else None,
    text=Notation("logdet({0})"), latex=_fn(r"\log\det"),
    sympy=lambda x: _sp().log(_sp().Determinant(x)),
    doc="y = log det X, computed with slogdet (no overflow); NaN where det X < 0 and "
        "-inf where det X = 0;  dy = tr(X⁻¹ dX);  X̄ = ȳ X⁻ᵀ.",
))


def logdet(x: Any) -> Expr:
    """log det X, stable (``np.linalg.slogdet``); NaN where det X < 0."""
    return logdet_op(x)


# ---------------------------------------------------------------- solve


def _solve_shape(shapes: tuple[Shape, ...]) -> Shape:
    a, b = shapes
    if len(a) > 2 or len(b) > 2:  # stacks (NumPy 2: a 1-D b is one vector for every matrix)
        _square("solve", (a[-2:],), "a square matrix A in solve(A, b)")
        n = a[-1]
        if (len(b) == 1 and b[0] != n) or (len(b) >= 2 and b[-2] != n):
            raise ShapeError(f"solve: A {fmt(a)} and b {fmt(b)} do not fit (b must be (n,) or "
                             f"(..., n, k) with n = {n})", op="solve", shapes=shapes)
        if len(b) == 1:
            return a[:-1]
        return broadcast("solve", a[:-2], b[:-2]) + b[-2:]
    n = _square("solve", (a, b), "a square matrix A in solve(A, b)")
    if not 1 <= len(b) <= 2 or b[0] != n:
        raise ShapeError(
            f"solve: A {fmt(a)} and b {fmt(b)} do not fit (b must be (n,) or (n, k) with "
            f"n = {n})", op="solve", shapes=shapes)
    return b


def _solve_vjp(g: Expr, out: Expr, a: Expr, b: Expr) -> tuple[Expr, Expr]:
    """x = A⁻¹ b;  b̄ = A⁻ᵀ x̄ (one more solve), Ā = −b̄ xᵀ."""
    if a.ndim > 2 or b.ndim > 2:
        if b.ndim == 1:  # one vector per matrix: solve with columns, not a matrix of rows
            gb = squeeze(solve_op(mT(a), expand_dims(g, axis=(g.ndim,))), axis=(g.ndim,))
        else:
            gb = solve_op(mT(a), g)
        if b.ndim == 1:
            return neg(mul(expand_dims(gb, axis=(gb.ndim,)),
                           expand_dims(out, axis=(out.ndim - 1,)))), gb
        return neg(matmul(gb, mT(out))), gb
    gb = solve_op(transpose_2d(a), g)
    ga = neg(outer(gb, out)) if b.ndim == 1 else neg(matmul(gb, transpose_2d(out)))
    return ga, gb


def _solve_jvp(ts: tuple[Expr | None, ...], out: Expr, a: Expr, b: Expr) -> Expr:
    """ẋ = A⁻¹ (ḃ − Ȧ x), batch slice by batch slice."""
    ta, tb = ts
    if a.ndim > 2 or b.ndim > 2:
        return _solve_jvp_nd(ta, tb, out, a, b)
    nb = (ta.ndim - 2) if ta is not None else (tb.ndim - b.ndim)  # type: ignore[union-attr]
    rhs = tb
    if ta is not None:
        ax = tensordot_op(ta, out, axes=((1,), (0,)))  # (n, B..., k...)
        if b.ndim == 2:
            ax = transpose_fn_axes(ax, (0, ax.ndim - 1) + tuple(range(1, 1 + nb)))
        rhs = neg(ax) if rhs is None else rhs - ax
    if rhs is None:  # no tangent at all (the forward pass never asks for this)
        return zeros(out.shape)
    if rhs.ndim <= 2:
        return solve_op(a, rhs)
    return tensordot_op(inv_op(a), rhs, axes=((1,), (0,)))


def _solve_jvp_nd(ta: Expr | None, tb: Expr | None, out: Expr, a: Expr, b: Expr) -> Expr:
    """Stacks: ẋ = solve(A, ḃ − Ȧ x), the batch axes of the tangents moved to the front."""
    return solve_tangent(ta, tb, out, a, b, lambda m: m, lambda r: solve_op(a, r))


solve_op = register(Op(
    "solve", 2, _solve_shape, numpy="np.linalg.solve({0}, {1})",
    vjp=_solve_vjp, jvp=_solve_jvp,
    text=Notation("solve({0}, {1})"),
    latex=Notation("{0}^{{-1}} {1}", MUL, (POSTFIX + 1, MUL + 1)),
    sympy=lambda a, b: _sp().MatMul(_sp().Inverse(a), b),
    doc="x = A⁻¹ b by np.linalg.solve (no explicit inverse), b (n,) or (n, k);  "
        "b̄ = A⁻ᵀ x̄, Ā = −b̄ xᵀ.",
))


def solve(a: Any, b: Any) -> Expr:
    """x = A⁻¹ b, solved (``np.linalg.solve``), never through an explicit inverse."""
    return solve_op(a, b)


# ---------------------------------------------------------------- diag


def _diag_shape(shapes: tuple[Shape, ...]) -> Shape:
    xs = shapes[0]
    if len(xs) == 1:
        return (xs[0], xs[0])
    if len(xs) == 2:
        n, m = xs
        if n == m:
            return (n,)
        if isinstance(n, int) and isinstance(m, int):
            return (min(n, m),)
        raise ShapeError(f"diag: the diagonal of a {fmt(xs)} matrix has an unknown length "
                         "(give int sizes or a square matrix)", op="diag", shapes=shapes)
    raise ShapeError(f"diag: expects a vector or a matrix, got shape {fmt(xs)}",
                     op="diag", shapes=shapes)


def _diag_vjp(g: Expr, out: Expr, x: Expr) -> tuple[Expr]:
    """v → diag(v): v̄ = diag(Ȳ).   X → diag(X): X̄ = diag(ȳ), padded with zeros if not square."""
    if x.ndim == 1:
        return (diag_op(g),)
    d = diag_op(g)
    if d.shape != x.shape:
        k = g.shape[0]
        return (index_scatter(d, shape=x.shape, index=((slice(0, k)), slice(0, k))),)
    return (d,)


def _diag_jvp(ts: tuple[Expr | None, ...], out: Expr, x: Expr) -> Expr:
    """Linear: the same op on each batch slice of the tangent (via I and broadcasting)."""
    (t,) = ts
    nb = t.ndim - x.ndim
    if nb == 0:
        return diag_op(t)
    if x.ndim == 1:  # Ẏ[i, j, …] = δᵢⱼ ṫ[i, …]
        return mul(_trailing(eye(x.shape[0], t.dtype), nb), expand_dims(t, axis=(1,)))
    k = out.shape[0]
    if x.shape != (k, k):
        t = getitem(t, index=(slice(0, k), slice(0, k)))
    return sum_(mul(_trailing(eye(k, t.dtype), nb), t), axis=(1,))


diag_op = register(Op(
    "diag", 1, _diag_shape, numpy="np.diag({0})", vjp=_diag_vjp, jvp=_diag_jvp, view=True,
    # not in the standard; each library's diag goes both ways, as np.diag does
    forms={"torch": "torch.diag({0})", "jax": "jnp.diag({0})", "cupy": "cupy.diag({0})"},
    dtype=_same_dtype, scalarize=lambda a, kw: _scalar.diag(a[0]),
    text=Notation("diag({0})"), latex=_fn(r"\operatorname{diag}"),
    sympy=lambda x: _sp().DiagMatrix(x) if x.shape[1] == 1 else _sp().DiagonalOf(x),
    doc="NumPy's diag: a vector v gives the matrix diag(v) (vᵢ on the diagonal); a matrix "
        "gives its diagonal.  Adjoint pair: v̄ = diag(Ȳ), X̄ = diag(ȳ).",
))


def diag(x: Any) -> Expr:
    """NumPy's ``diag``: vector → diagonal matrix, matrix → its diagonal."""
    return diag_op(x)




# ---------------------------------------------------------------- trace, diagonal, diag(v, k)


def diagonal(a: Any, offset: int = 0, axis1: int = 0, axis2: int = 1) -> Expr:
    """NumPy's ``diagonal``: the entries a[…, i, i + offset, …] of axes ``axis1``/``axis2``,
    as a new last axis. A plain function (a transpose, a slice, an einsum ``ii->i``);
    linear, its gradient puts ȳ back on that diagonal.

    >>> import symback as sb
    >>> sb.diagonal(sb.tensor("T", (2, 3, 4)), offset=1, axis1=1, axis2=2).shape
    (2, 3)
    """
    from ..shapes import normalize_axis
    from .einsum import einsum_op as _ein

    x = as_expr(a)
    if x.ndim < 2:
        raise ShapeError(f"diagonal: needs at least 2 dimensions, got shape {fmt(x.shape)}",
                         op="diagonal", shapes=(x.shape,))
    ax = normalize_axis("diagonal", (axis1,), x.ndim)[0], normalize_axis(
        "diagonal", (axis2,), x.ndim)[0]
    if ax[0] == ax[1]:
        raise SymbackError("diagonal: axis1 and axis2 cannot be the same")
    if x.ndim == 2 and offset == 0 and ax == (0, 1) and x.shape[0] == x.shape[1]:
        return diag_op(x)
    rest = tuple(i for i in range(x.ndim) if i not in ax)
    x = transpose(x, axes=rest + ax) if rest + ax != tuple(range(x.ndim)) else x
    p, q = x.shape[-2:]
    if offset or p != q:
        if not (isinstance(p, int) and isinstance(q, int)):
            raise ShapeError(f"diagonal: an offset or a non-square block needs int sizes, got "
                             f"{fmt(x.shape)}", op="diagonal", shapes=(x.shape,))
        r0, c0 = (0, offset) if offset >= 0 else (-offset, 0)
        k = max(0, min(p - r0, q - c0))
        x = getitem(x, index=(Ellipsis, slice(r0, r0 + k), slice(c0, c0 + k)))
    b = "abcdefgh"[:x.ndim - 2]
    return _ein(x, subscripts=f"{b}ii->{b}i")


def trace_fn(a: Any, offset: int = 0, axis1: int = 0, axis2: int = 1) -> Expr:
    """NumPy's ``trace``: Σᵢ a[…, i, i + offset, …] over axes ``axis1``/``axis2`` (the
    others kept). Today's ``trace`` node for the plain case (tr X of a square matrix,
    trailing axes kept; unlike NumPy it refuses a non-square matrix at the defaults, as
    symback always has); otherwise the sum of ``diagonal``. X̄ = ȳ I (shifted by offset)."""
    x = as_expr(a)
    if offset == 0 and axis1 in (0, -x.ndim) and axis2 in (1, 1 - x.ndim):
        return trace_op(x)  # (as before issue 11: a non-square matrix is a ShapeError here)
    return sum_(diagonal(x, offset, axis1, axis2), axis=(x.ndim - 2,))


def diag_fn(v: Any, k: int = 0) -> Expr:
    """NumPy's ``diag(v, k)``: a vector gives the matrix with v on the k-th diagonal (k > 0
    above, k < 0 below); a matrix gives its k-th diagonal. Adjoint pair: v̄ = diag(Ȳ, k)."""
    x = as_expr(v)
    if k == 0 or x.ndim != 1:
        if x.ndim == 2 and k != 0:
            return diagonal(x, offset=k)
        return diag_op(x)
    n = x.shape[0]
    if not isinstance(n, int):
        raise ShapeError(f"diag: k={k} needs an int size, got shape {fmt(x.shape)}",
                         op="diag", shapes=(x.shape,))
    m = n + abs(k)
    idx = (slice(0, n), slice(k, k + n)) if k > 0 else (slice(-k, -k + n), slice(0, n))
    return index_scatter(diag_op(x), shape=(m, m), index=idx)


# ---------------------------------------------------------------- matrix_power, pinv


def matrix_power(a: Any, n: int) -> Expr:
    """NumPy's ``linalg.matrix_power``: Aⁿ by repeated squaring (n ≥ 0; n < 0 uses A⁻¹);
    A⁰ = I. A plain function of ``@`` and ``inv`` (their derivatives).

    >>> import symback as sb
    >>> A = sb.tensor("A", (2, 2))
    >>> str(sb.linalg.matrix_power(A, 3))
    'A @ (A @ A)'
    """
    from ._common import _is_int

    x = as_expr(a)
    if not _is_int(n):
        raise SymbackError(f"matrix_power: n must be an int, got {n!r}")
    if x.ndim < 2 or x.shape[-1] != x.shape[-2]:
        raise ShapeError(f"matrix_power: expects a square matrix (or a stack), got shape "
                         f"{fmt(x.shape)}", op="matrix_power", shapes=(x.shape,))
    n = int(n)
    if n == 0:
        from ..graph import broadcast_to

        return broadcast_to(eye(x.shape[-1], x.dtype), x.shape)
    if n < 0:
        x, n = inv_op(x), -n
    result: Expr | None = None
    base = x
    while n:
        if n & 1:
            result = base if result is None else matmul(result, base)
        n >>= 1
        if n:
            base = matmul(base, base)
    assert result is not None
    return result


def _pinv_shape(shapes: tuple[Shape, ...]) -> Shape:
    s = shapes[0]
    if len(s) < 2:
        raise ShapeError(f"pinv: expects a matrix (or a stack), got shape {fmt(s)}",
                         op="pinv", shapes=shapes)
    return s[:-2] + (s[-1], s[-2])


def _pinv_vjp(g: Expr, out: Expr, x: Expr) -> tuple[Expr]:
    """A⁺ (constant rank):  Ā = −A⁺ᵀ Ḡ A⁺ᵀ + (I − A A⁺) Ḡᵀ A⁺ A⁺ᵀ + A⁺ᵀ A⁺ Ḡᵀ (I − A⁺ A)."""
    p, pt, gt = out, mT(out), mT(g)
    t1 = neg(matmul(matmul(pt, g), pt))
    q = matmul(gt, matmul(p, pt))
    t2 = q - matmul(x, matmul(p, q))
    r = matmul(matmul(pt, p), gt)
    t3 = r - matmul(matmul(r, p), x)
    return (t1 + t2 + t3,)


def _pinv_jvp(ts: tuple[Expr | None, ...], out: Expr, x: Expr) -> Expr:
    """dA⁺ = −A⁺ dA A⁺ + A⁺ A⁺ᵀ dAᵀ (I − A A⁺) + (I − A⁺ A) dAᵀ A⁺ᵀ A⁺."""
    t = ts[0]
    nb = t.ndim - x.ndim
    d = lead_tangent(t, x, x.ndim)
    p, pt, dt = out, mT(out), mT(d)
    t1 = neg(matmul(matmul(p, d), p))
    u = matmul(matmul(p, pt), dt)
    t2 = u - matmul(matmul(u, x), p)
    v = matmul(dt, matmul(pt, p))
    t3 = v - matmul(p, matmul(x, v))
    return trail_tangent(t1 + t2 + t3, nb)


pinv_op = register(Op(
    "pinv", 1, _pinv_shape, numpy="np.linalg.pinv({0})", vjp=_pinv_vjp, jvp=_pinv_jvp,
    text=Notation("linalg.pinv({0})"), latex=Notation("{0}^{{+}}", POSTFIX, POSTFIX + 1),
    doc="A⁺, the Moore–Penrose pseudo-inverse (SVD, NumPy's rcond);  derivative for "
        "constant rank (Golub–Pereyra): dA⁺ = −A⁺ dA A⁺ + A⁺A⁺ᵀ dAᵀ (I − AA⁺) + "
        "(I − A⁺A) dAᵀ A⁺ᵀA⁺.",
))


def pinv(a: Any) -> Expr:
    """NumPy's ``linalg.pinv``: the Moore–Penrose pseudo-inverse A⁺ (a stack too). The
    derivative holds where the rank is locally constant (e.g. full rank).

    >>> import symback as sb
    >>> sb.latex(sb.linalg.pinv(sb.tensor("A", (4, 3))))
    'A^{+}'
    """
    return pinv_op(a)


def linalg_trace(x: Any, offset: int = 0) -> Expr:
    """NumPy 2's ``linalg.trace``: the trace of each matrix over the *last* two axes."""
    e = as_expr(x)
    if e.ndim == 2 and offset == 0:
        return trace_op(e)
    return trace_fn(e, offset, -2, -1)


def linalg_diagonal(x: Any, offset: int = 0) -> Expr:
    """NumPy 2's ``linalg.diagonal``: the diagonals over the *last* two axes."""
    return diagonal(x, offset, -2, -1)
