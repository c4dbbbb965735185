"""Matrix functions (``numpy.linalg``'s names): eye, trace, det, logdet, inv, solve, diag.
Reshaping, stacking, indexing and contractions live in their own modules.

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

from ..errors import ShapeError
from ..graph import Expr, Op, zeros
from ..notation import MUL, POSTFIX, Notation
from ..shapes import Shape, check_flag, fmt
from . import register
from ._common import _fn, _same_dtype, _sp, _square, _trailing
from .contract import matmul, outer, tensordot_op
from .creation import eye, eye_op  # noqa: F401 (sb.ops.linalg.eye stays importable)
from .elementwise import mul, neg
from .index import getitem, index_scatter
from .reduce import sum_
from .shape import transpose
from .shape import transpose as _transpose_op  # inv's attribute `transpose` shadows the name
from .structural import expand_dims

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
    if g.ndim == 0:
        return (mul(g, eye(n)),)
    return (mul(expand_dims(g, axis=(0, 1)), _trailing(eye(n), g.ndim)),)


trace_op = register(Op(
    "trace", 1, _trace_shape, numpy="np.trace({0})", vjp=_trace_vjp,
    forms={"xp": "xp.linalg.trace({0})"},
    jvp=lambda ts, out, x: trace_op(ts[0]),
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
    if transpose:
        return (neg(matmul(matmul(out, transpose_2d(g)), out)),)
    it = inv_op(x, transpose=True)
    return (neg(matmul(matmul(it, g), it)),)


def _inv_jvp(ts: tuple[Expr | None, ...], out: Expr, x: Expr, *, transpose: bool) -> Expr:
    """Y = X⁻¹: Ẏ = −Y Ẋ Y.   Y = X⁻ᵀ: Ẏ = −Y Ẋᵀ Y (each batch slice of Ẋ)."""
    (t,) = ts
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
    """X⁻¹ of a square matrix (``ShapeError`` if not square). ``inv(X).T`` prints as X^{-T}."""
    return inv_op(x)


# ---------------------------------------------------------------- det / logdet


def _frobenius(a: Expr, t: Expr) -> Expr:
    """Σᵢⱼ aᵢⱼ tᵢⱼ… = tr(aᵀ t) for each batch slice of a tangent t (shape a.shape + B)."""
    return tensordot_op(a, t, axes=((0, 1), (0, 1)))


def _det_vjp(g: Expr, out: Expr, x: Expr) -> tuple[Expr]:
    """y = det X;  X̄ = ȳ · det X · X⁻ᵀ (Jacobi's formula)."""
    return (mul(mul(g, out), inv_op(x, transpose=True)),)


def _scalar_of_square(name: str) -> Any:
    def rule(shapes: tuple[Shape, ...]) -> Shape:
        _square(name, shapes)
        return ()
    return rule


det_op = register(Op(
    "det", 1, _scalar_of_square("det"),
    numpy="np.linalg.det({0})", vjp=_det_vjp,
    jvp=lambda ts, out, x: mul(out, _frobenius(inv_op(x, transpose=True), ts[0])),
    simplify=lambda x: det_op(x.args[0]) if x.op is transpose else None,
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
    vjp=lambda g, out, x: (mul(g, inv_op(x, transpose=True)),),
    jvp=lambda ts, out, x: _frobenius(inv_op(x, transpose=True), ts[0]),
    simplify=lambda x: logdet_op(x.args[0]) if x.op is transpose else None,
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
    n = _square("solve", (a, b), "a square matrix A in solve(A, b)")
    if not 1 <= len(b) <= 2 or b[0] != n:
        raise ShapeError(
            f"solve: A {fmt(a)} and b {fmt(b)} do not fit (b must be (n,) or (n, k) with "
            f"n = {n})", op="solve", shapes=shapes)
    return b


def _solve_vjp(g: Expr, out: Expr, a: Expr, b: Expr) -> tuple[Expr, Expr]:
    """x = A⁻¹ b;  b̄ = A⁻ᵀ x̄ (one more solve), Ā = −b̄ xᵀ."""
    gb = solve_op(transpose_2d(a), g)
    ga = neg(outer(gb, out)) if b.ndim == 1 else neg(matmul(gb, transpose_2d(out)))
    return ga, gb


def _solve_jvp(ts: tuple[Expr | None, ...], out: Expr, a: Expr, b: Expr) -> Expr:
    """ẋ = A⁻¹ (ḃ − Ȧ x), batch slice by batch slice."""
    ta, tb = ts
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
        return mul(_trailing(eye(x.shape[0]), nb), expand_dims(t, axis=(1,)))
    k = out.shape[0]
    if x.shape != (k, k):
        t = getitem(t, index=(slice(0, k), slice(0, k)))
    return sum_(mul(_trailing(eye(k), nb), t), axis=(1,))


diag_op = register(Op(
    "diag", 1, _diag_shape, numpy="np.diag({0})", vjp=_diag_vjp, jvp=_diag_jvp, view=True,
    # not in the standard; each library's diag goes both ways, as np.diag does
    forms={"torch": "torch.diag({0})", "jax": "jnp.diag({0})", "cupy": "cupy.diag({0})"},
    dtype=_same_dtype,
    text=Notation("diag({0})"), latex=_fn(r"\operatorname{diag}"),
    sympy=lambda x: _sp().DiagMatrix(x) if x.shape[1] == 1 else _sp().DiagonalOf(x),
    doc="NumPy's diag: a vector v gives the matrix diag(v) (vᵢ on the diagonal); a matrix "
        "gives its diagonal.  Adjoint pair: v̄ = diag(Ȳ), X̄ = diag(ȳ).",
))


def diag(x: Any) -> Expr:
    """NumPy's ``diag``: vector → diagonal matrix, matrix → its diagonal."""
    return diag_op(x)


