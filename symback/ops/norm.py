"""Norms (``numpy.linalg.norm``, ``vector_norm``, ``matrix_norm``): one registered op,
``vector_norm`` (‖x‖_p over any axes; p = 2 over two axes is the Frobenius norm), and the
matrix norms built from it, ``sum`` and ``svd``.

Conventions: the gradient at x = 0 is zero (not NaN); the ±inf norms split the gradient
evenly between tied extreme entries (as ``maximum`` does); ord 1 uses sign(x) (0 at 0).
"""

from __future__ import annotations

from typing import Any

from ..errors import ShapeError, SymbackError
from ..graph import Expr, Op, as_expr
from ..notation import ATOM, Notation
from ..shapes import Shape, check_flag, fmt
from . import register
from .elementwise import mul
from .reduce import sum_
from .shape import transpose
from .structural import expand_dims


# ---------------------------------------------------------------- norms


def _ord_of(name: str, ord: Any) -> float:
    if isinstance(ord, Expr) and ord.is_const and ord.weak:  # the parser's numbers
        ord = ord.value
    if isinstance(ord, bool) or not isinstance(ord, (int, float)):
        raise SymbackError(f"{name}: ord must be a number, inf or -inf here, got {ord!r}")
    o = float(ord)
    if o == 0 or o != o:
        raise SymbackError(f"{name}: ord={ord!r} is not supported (ord=0 counts nonzeros: "
                           "no derivative)")
    return o


def _vnorm_norm(args: tuple[Expr, ...], attrs: dict[str, Any]) -> dict[str, Any]:
    from ..shapes import normalize_axis

    x = args[0]
    o = _ord_of("vector_norm", attrs.get("ord", 2.0))
    axis = normalize_axis("vector_norm", attrs.get("axis"), x.ndim)
    if axis is None:
        axis = tuple(range(x.ndim))
    kd = check_flag("vector_norm", "keepdims", attrs.get("keepdims", False))
    return {"ord": o, "axis": axis, "keepdims": kd}


def _vnorm_shape(shapes: tuple[Shape, ...], *, ord: float, axis: tuple[int, ...],
                 keepdims: bool) -> Shape:
    xs = shapes[0]
    if keepdims:
        return tuple(1 if i in axis else d for i, d in enumerate(xs))
    return tuple(d for i, d in enumerate(xs) if i not in axis)


def _ord_src(o: float) -> str:
    if o == float("inf"):
        return "np.inf"
    if o == -float("inf"):
        return "-np.inf"
    return repr(int(o)) if o == int(o) else repr(o)


def _vnorm_numpy(args: list[str], kw: dict[str, Any]) -> str:
    x, o, axis, kd = args[0], kw["ord"], kw["axis"], kw["keepdims"]
    if len(axis) == 1:
        return f"np.linalg.norm({x}, ord={_ord_src(o)}, axis={axis[0]}, keepdims={kd})"
    if o == 2.0 and len(axis) == 2:
        return f"np.linalg.norm({x}, ord='fro', axis={axis}, keepdims={kd})"
    if o == 2.0:
        return f"np.sqrt(np.add.reduce(np.square({x}), axis={axis}, keepdims={kd}))"
    return f"np.linalg.norm(np.reshape({x}, (-1,)), ord={_ord_src(o)})"


def _vnorm_xp(args: list[str], kw: dict[str, Any]) -> str:
    """The standard's vector_norm: over the axes (a Frobenius norm for ord 2), or of the
    flattened array for another ord over several axes (as the NumPy form)."""
    x, o, axis, kd = args[0], kw["ord"], kw["axis"], kw["keepdims"]
    src = _ord_src(o).replace("np.", "xp.")
    if len(axis) == 1 or o == 2.0:
        return f"xp.linalg.vector_norm({x}, axis={axis}, keepdims={kd}, ord={src})"
    return f"xp.linalg.vector_norm(xp.reshape({x}, (-1,)), ord={src})"


_TINY = 1.1754943508222875e-38  # np.finfo(np.float32).tiny


def _vnorm_local(x: Expr, y: Expr, o: float) -> Expr:
    """∂‖x‖/∂x with y = ‖x‖ broadcast to x's shape; 0 where ‖x‖ = 0 (not NaN)."""
    from .elementwise import abs_, div, maximum, pow_, sign

    if o == 1.0:
        return sign(x)
    # ‖x‖ bounded below by the smallest normal float32: x / ‖x‖ is 0 / tiny = 0 at x = 0,
    # and the same as x / ‖x‖ elsewhere (no comparison node, no NaN ever computed)
    safe = maximum(y, _TINY)
    if o == 2.0:
        return div(x, safe)
    # sign(x) (|x| / ‖x‖)^{p−1}: 0 at x = 0 for p > 1 (for p < 1 the derivative at a zero
    # entry is infinite: NaN there)
    return mul(sign(x), pow_(div(abs_(x), safe), o - 1.0))


def _vnorm_d(x: Expr, out: Expr, ord: float, axis: tuple[int, ...], keepdims: bool) -> Expr:
    from .reduce import unreduce

    y = unreduce(out, x, axis, keepdims)
    if ord in (float("inf"), -float("inf")):  # ties: split evenly between the extreme entries
        from .elementwise import abs_, div, equal, sign, where

        hit = where(equal(abs_(x), y), 1.0, 0.0)
        count = unreduce(sum_(hit, axis=axis, keepdims=keepdims), x, axis, keepdims)
        return div(mul(sign(x), hit), count)
    return _vnorm_local(x, y, ord)


def _vnorm_vjp(g: Expr, out: Expr, x: Expr, *, ord: float, axis: tuple[int, ...],
               keepdims: bool) -> tuple[Expr]:
    """x̄ = ȳ ∂‖x‖/∂x: x/‖x‖ (ord 2), sign x (ord 1), sign x on the largest |xᵢ| split
    evenly (±inf), sign x |x|^{p−1}/‖x‖^{p−1} (p); zero where ‖x‖ = 0."""
    from .reduce import unreduce

    return (mul(unreduce(g, x, axis, keepdims), _vnorm_d(x, out, ord, axis, keepdims)),)


def _vnorm_jvp(ts: tuple[Expr | None, ...], out: Expr, x: Expr, *, ord: float,
               axis: tuple[int, ...], keepdims: bool) -> Expr:
    from .reduce import _contract

    return _contract(_vnorm_d(x, out, ord, axis, keepdims), ts[0], x, axis, keepdims)


def _ord_latex(o: float, nax: int) -> str:
    if o == 2.0:
        return "F" if nax == 2 else "2"
    if o == float("inf"):
        return r"\infty"
    if o == -float("inf"):
        return r"-\infty"
    return str(int(o)) if o == int(o) else repr(o)


vector_norm_op = register(Op(
    "vector_norm", 1, _vnorm_shape, numpy=_vnorm_numpy, normalize=_vnorm_norm,
    forms={"xp": _vnorm_xp},
    vjp=_vnorm_vjp, jvp=_vnorm_jvp,
    text=Notation(lambda a, kw: f"linalg.vector_norm({a[0]}, ord="
                  f"{_ord_src(kw['ord']).replace('np.', '')}, axis={kw['axis']}, "
                  f"keepdims={kw['keepdims']})"),
    latex=Notation(lambda a, kw: rf"\left\|{a[0]}\right\|_"
                   rf"{{{_ord_latex(kw['ord'], len(kw['axis']))}}}",
                   ATOM),
    doc="y = ‖x‖_p over the given axes (NumPy 2's vector_norm: p = 2 Euclidean/Frobenius, 1, "
        "±inf, any p ≠ 0);  x̄ = ȳ ∂‖x‖/∂x (x/‖x‖ for p = 2), zero where ‖x‖ = 0; ties of "
        "the ±inf norms share the gradient evenly.",
))


def vector_norm(x: Any, axis: Any = None, keepdims: bool = False, ord: Any = 2) -> Expr:
    """NumPy 2's ``linalg.vector_norm``: (Σ abs(xᵢ)^ord)^(1/ord) over ``axis`` (all axes by
    default; several allowed), ord 2, 1, inf (max abs(xᵢ)), -inf (min abs(xᵢ)) or any p ≠ 0.

    Derivative: x/‖x‖₂ for ord 2, sign(x) for ord 1, sign(x) on the extreme entries for
    ±inf (ties split evenly), sign(x)abs(x)^{p−1}/‖x‖^{p−1} otherwise; at x = 0 it is zero
    (not NaN).

    >>> import symback as sb
    >>> sb.latex(sb.linalg.vector_norm(sb.tensor("x", (3,))))
    '\\\\left\\\\|x\\\\right\\\\|_{2}'
    """
    return vector_norm_op(x, ord=ord, axis=axis, keepdims=keepdims)


def matrix_norm(x: Any, ord: Any = "fro", keepdims: bool = False, axis: Any = (-2, -1)
                ) -> Expr:
    """NumPy 2's ``linalg.matrix_norm`` over the last two axes (or ``axis``): 'fro'
    (√Σ xᵢⱼ²), 'nuc' (Σ σᵢ), 2 / -2 (largest / smallest singular value), 1 / -1 (max / min
    column sum of abs(x)), inf / -inf (max / min row sum of abs(x)). A plain function over
    ``vector_norm``, ``svd`` and ``sum``; the 2 and 'nuc' norms assume distinct singular
    values (``svd``'s derivative).

    >>> import symback as sb
    >>> print(sb.latex(sb.linalg.matrix_norm(sb.tensor("X", (2, 3)))))
    \\left\\|X\\right\\|_{F}
    """
    from ..shapes import normalize_axis
    from .decomp import svdvals
    from .elementwise import abs_

    e = as_expr(x)
    ax = tuple(normalize_axis("matrix_norm", (a,), e.ndim)[0] for a in axis)
    if len(ax) != 2 or ax[0] == ax[1]:
        raise SymbackError(f"matrix_norm: axis must name two different axes, got {axis!r}")
    if ord == "fro":
        return vector_norm_op(e, ord=2.0, axis=ax, keepdims=keepdims)
    rest = tuple(i for i in range(e.ndim) if i not in ax)
    m = transpose(e, axes=rest + ax) if rest + ax != tuple(range(e.ndim)) else e
    inf = float("inf")
    if ord == "nuc":
        r = sum_(svdvals(m), axis=(m.ndim - 2,))
    elif ord in (2, -2):
        r = vector_norm_op(svdvals(m), ord=inf if ord == 2 else -inf, axis=(m.ndim - 2,))
    elif ord in (1, -1):
        r = vector_norm_op(sum_(abs_(m), axis=(m.ndim - 2,)), ord=inf if ord == 1 else -inf,
                           axis=(m.ndim - 2,))
    elif ord in (inf, -inf):
        r = vector_norm_op(sum_(abs_(m), axis=(m.ndim - 1,)), ord=ord, axis=(m.ndim - 2,))
    else:
        raise SymbackError(f"matrix_norm: ord={ord!r} is not one of 'fro', 'nuc', 1, -1, 2, "
                           "-2, inf, -inf")
    if keepdims:
        r = expand_dims(r, axis=tuple(sorted(ax)))
    return r


def norm(x: Any, ord: Any = None, axis: Any = None, keepdims: bool = False) -> Expr:  # noqa: A002
    """NumPy's ``linalg.norm``: a vector norm (``ord`` 2, 1, inf, -inf, p) over one axis,
    a matrix norm ('fro', 'nuc', 1, -1, 2, -2, inf, -inf) over two axes; with ``axis=None``
    the 2-norm of everything (``ord=None``), or the vector / matrix norm of a 1-D / 2-D x.

    LaTeX: ``\\|x\\|_2``, ``\\|X\\|_F``. The gradient at x = 0 is zero, not NaN.

    >>> import numpy as np, symback as sb
    >>> x = sb.tensor("x", (3,))
    >>> float(sb.lambdify([x], sb.linalg.norm(x))(np.array([3.0, 4.0, 0.0])))
    5.0
    """
    e = as_expr(x)
    if axis is None:
        if ord is None:
            return vector_norm_op(e, ord=2.0, axis=None, keepdims=keepdims)
        if e.ndim == 1:
            return vector_norm_op(e, ord=ord, axis=(0,), keepdims=keepdims)
        if e.ndim == 2:
            return matrix_norm(e, ord=ord, keepdims=keepdims, axis=(0, 1))
        raise ShapeError(f"norm: ord={ord!r} with axis=None needs a 1-D or 2-D x, got shape "
                         f"{fmt(e.shape)}", op="norm", shapes=(e.shape,))
    if isinstance(axis, (tuple, list)) and len(axis) == 2:
        return matrix_norm(e, ord="fro" if ord is None else ord, keepdims=keepdims,
                           axis=tuple(axis))
    if isinstance(axis, (tuple, list)):
        if len(axis) != 1:
            raise SymbackError(f"norm: axis must be an int or a pair, got {axis!r}")
        axis = axis[0]
    return vector_norm_op(e, ord=2.0 if ord is None else ord, axis=(axis,), keepdims=keepdims)
