"""Ops that move entries without computing: broadcast_to, expand_dims, squeeze, count.

They mostly appear inside gradients: the VJP of a reduction broadcasts the
upstream gradient back, and the VJP of a broadcast sums it back (``sum_to``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import ShapeError
from ..graph import Expr, Op, const, render_shape
from ..notation import ATOM, LOWEST, MUL, Notation
from ..shapes import Shape, broadcast, check_shape, dim_names, fmt, normalize_axis
from . import _scalar, register

# ---------------------------------------------------------------- broadcast_to


def _broadcast_to_shape(shapes: tuple[Shape, ...], *, shape: Shape) -> Shape:
    (xs,) = shapes
    try:
        ok = len(xs) <= len(shape) and broadcast("broadcast_to", xs, shape) == shape
    except ShapeError:
        ok = False
    if not ok:
        raise ShapeError(
            f"broadcast_to: cannot broadcast shape {fmt(xs)} to {fmt(shape)}",
            op="broadcast_to", shapes=(xs, shape),
        )
    return shape


def _broadcast_to_norm(args: tuple[Expr, ...], attrs: dict[str, Any]) -> dict[str, Any]:
    return {"shape": check_shape(dim_names(attrs["shape"]), what="broadcast_to")}


def _broadcast_to_simplify(x: Expr, *, shape: Shape) -> Expr | None:
    if x.shape == shape:
        return x
    if x.op is broadcast_to_op:  # broadcast_to(broadcast_to(x, s1), s2) = broadcast_to(x, s2)
        return broadcast_to_op(x.args[0], shape=shape)
    return None


# Stretching changes no entry, so it prints as its argument (with the argument's
# precedence), except that a scalar stretched to a tensor is a multiple of ones.
_TRANSPARENT = Notation("{0}", ATOM, LOWEST, transparent=True)


def _broadcast_to_latex(node: Expr) -> Notation:
    """``\\mathbf{1}``, ``\\mathbf{0}``, ``c \\mathbf{1}`` for a stretched scalar; else transparent."""
    x = node.args[0]
    if x.shape != ():
        return _TRANSPARENT
    if x.is_const and x.weak and not isinstance(x.value, bool) and x.value in (0, 1):
        return Notation(r"\mathbf{{1}}" if x.value == 1 else r"\mathbf{{0}}", ATOM)
    return Notation(r"{0} \mathbf{{1}}", MUL, MUL)


def shape_text(shape: Shape) -> str:
    """A shape as ``sb.parse`` reads it: ``3``, ``(3, n)``, ``()`` (symbolic sizes bare)."""
    dims = [str(d) for d in shape]
    if len(dims) == 1:
        return dims[0]
    return "(" + ", ".join(dims) + ("," if len(dims) == 1 else "") + ")"


def _broadcast_to_text(node: Expr) -> Notation:
    """``ones(3)`` / ``zeros((n, 2))`` / ``full(3, 0.5)`` for a stretched Python float
    (NumPy's names, and the same node when parsed back); else ``broadcast_to(x, shape=…)``."""
    x = node.args[0]
    shp = shape_text(node.kw["shape"])
    if x.is_const and x.weak and isinstance(x.value, float) and x.value in (0.0, 1.0) \
            and str(x.value) in ("0.0", "1.0"):
        name = "ones" if x.value == 1.0 else "zeros"
        return Notation(lambda a, kw: f"{name}({shp})", ATOM)
    if x.is_const and x.weak and isinstance(x.value, float) and x.value == x.value:
        # NumPy's full: sb.full(s, c) builds this very node
        return Notation(lambda a, kw: f"full({shp}, {a[0]})", ATOM)
    return Notation(lambda a, kw: f"broadcast_to({a[0]}, shape={shp})", ATOM)


def _broadcast_to_vjp(g: Expr, out: Expr, x: Expr, *, shape: Shape) -> tuple[Expr]:
    """y = broadcast_to(x, s); x̄ = sum of ȳ over the stretched axes (``sum_to``)."""
    return (sum_to(g, x.shape),)


def _broadcast_to_xp(args: list[str], kw: dict[str, Any]) -> str:
    """``xp.broadcast_to`` needs an array: a Python number becomes one of the node's dtype."""
    node = kw["_node"]
    x = args[0]
    if node.args[0].shape == ():  # (a Python number at run time, or a 0-d array)
        x = f"xp.asarray({x}, dtype=xp.{node.dtype}, device=_dev)"
    return f"xp.broadcast_to({x}, {render_shape(kw['shape'], kw['_dims'])})"


broadcast_to_op = register(Op(
    "broadcast_to", 1, _broadcast_to_shape,
    numpy="np.broadcast_to({0}, {shape})",
    forms={"xp": lambda args, kw: _broadcast_to_xp(args, kw)},
    normalize=_broadcast_to_norm, simplify=_broadcast_to_simplify, vjp=_broadcast_to_vjp,
    # tangents carry trailing batch axes (symback.higher): they ride along unstretched
    jvp=lambda ts, out, x, *, shape: broadcast_to_op(ts[0], shape=shape + ts[0].shape[x.ndim:]),
    view=True, scalarize=lambda a, kw: np.broadcast_to(a[0], kw["shape"]),
    # a stretched Python number is a float64 array, a stretched True/False a bool one
    dtype=lambda args, **kw: ("float64" if args[0].weak and args[0].dtype != "bool"
                              else args[0].dtype),
    text=Notation("broadcast_to({0}, shape={shape})", ATOM, LOWEST, _broadcast_to_text),
    latex=Notation("{0}", ATOM, LOWEST, _broadcast_to_latex),
    doc="y = x stretched to shape s (NumPy broadcasting, a view);  x̄ = ȳ summed over the stretched axes",
))

# ---------------------------------------------------------------- expand_dims / squeeze


def _axes_norm(op: str, out_ndim: bool) -> Any:
    def norm(args: tuple[Expr, ...], attrs: dict[str, Any]) -> dict[str, Any]:
        nd = args[0].ndim + (len(_as_tuple(attrs["axis"])) if out_ndim else 0)
        return {"axis": normalize_axis(op, attrs["axis"], nd)}
    return norm


def _as_tuple(a: Any) -> tuple[Any, ...]:
    return tuple(a) if isinstance(a, (tuple, list)) else (a,)


def _expand_dims_shape(shapes: tuple[Shape, ...], *, axis: tuple[int, ...]) -> Shape:
    (xs,) = shapes
    out: list[Any] = list(xs)
    for a in axis:
        out.insert(a, 1)
    return tuple(out)


expand_dims = register(Op(
    "expand_dims", 1, _expand_dims_shape,
    numpy="np.expand_dims({0}, {axis})",
    # the standard's expand_dims takes one axis: new axes by indexing instead
    forms={"xp": lambda args, kw: args[0] + "[" + ", ".join(
        "None" if i in kw["axis"] else ":" for i in range(kw["_node"].ndim)) + "]"},
    normalize=_axes_norm("expand_dims", True),
    simplify=lambda x, *, axis: x if not axis else None,
    vjp=lambda g, out, x, *, axis: (squeeze(g, axis=axis),),
    jvp=lambda ts, out, x, *, axis: expand_dims(ts[0], axis=axis),
    view=True, scalarize=lambda a, kw: a[0].reshape(kw["_node"].shape),
    dtype=lambda args, **kw: args[0].dtype,
    text=Notation("expand_dims({0}, axis={axis})"),
    latex=_TRANSPARENT,
    doc="y = x with axes of length 1 inserted;  x̄ = ȳ squeezed",
))


def _squeeze_shape(shapes: tuple[Shape, ...], *, axis: tuple[int, ...]) -> Shape:
    (xs,) = shapes
    for a in axis:
        if xs[a] != 1:
            raise ShapeError(
                f"squeeze: axis {a} of shape {fmt(xs)} has length {xs[a]}, not 1",
                op="squeeze", shapes=(xs,),
            )
    return tuple(d for i, d in enumerate(xs) if i not in axis)


squeeze = register(Op(
    "squeeze", 1, _squeeze_shape,
    numpy="np.squeeze({0}, {axis})",
    normalize=_axes_norm("squeeze", False),
    simplify=lambda x, *, axis: x if not axis else None,
    vjp=lambda g, out, x, *, axis: (expand_dims(g, axis=axis),),
    jvp=lambda ts, out, x, *, axis: squeeze(ts[0], axis=axis),
    view=True, scalarize=lambda a, kw: _scalar.obj(a[0].reshape(kw["_node"].shape)),
    dtype=lambda args, **kw: args[0].dtype,
    text=Notation("squeeze({0}, axis={axis})"),
    latex=_TRANSPARENT,
    doc="y = x with axes of length 1 dropped;  x̄ = ȳ with them re-inserted",
))

# ---------------------------------------------------------------- count


def _count_numpy(args: list[str], attrs: dict[str, Any]) -> str:
    dims = attrs.get("_dims") or (lambda d: d)
    return "float(" + " * ".join(str(d) if isinstance(d, int) else dims(d)
                                 for d in attrs["dims"]) + ")"


def _count_text(args: list[str], attrs: dict[str, Any]) -> str:
    return " * ".join(str(d) for d in attrs["dims"]) if len(attrs["dims"]) == 1 else \
        "(" + " * ".join(str(d) for d in attrs["dims"]) + ")"


def _count_latex(node: Expr) -> Notation:
    """The number itself and the dimension names: ``m``, ``3 m n`` (a product)."""
    from ..notation import dim_latex

    dims = node.kw["dims"]
    num = 1
    for d in dims:
        if isinstance(d, int):
            num *= d
    parts = ([str(num)] if num != 1 else []) + [dim_latex(d) for d in dims
                                                 if not isinstance(d, int)]
    text = " ".join(parts) or "1"
    return Notation(lambda a, kw: text, ATOM if len(parts) <= 1 else MUL)


count = register(Op(
    "count", 0, lambda shapes, **kw: (), numpy=_count_numpy, fold=False,
    dtype=lambda args, **kw: "float64", weak=True,  # a Python float at run time
    text=Notation(_count_text), latex=Notation(lambda a, kw: " ".join(str(d) for d in kw["dims"]), ATOM, LOWEST,
                                               _count_latex),
    doc="The number of entries spanned by dimensions some of which are symbolic (n, or n*m).",
))


def count_of(dims: Shape) -> Expr:
    """The product of ``dims`` as a node: a constant when every dimension is an int."""
    sym = tuple(d for d in dims if isinstance(d, str))
    num = 1
    for d in dims:
        if isinstance(d, int):
            num *= d
    if not sym:
        return const(float(num))
    return count(dims=tuple(sorted(sym, key=str)) + ((num,) if num != 1 else ()))


# ---------------------------------------------------------------- sum_to


def sum_to(g: Expr, shape: Shape) -> Expr:
    """Fit a cotangent to an argument's shape: sum over broadcast axes, or stretch.

    This is the one place where gradients of broadcasting are reduced
    (the reverse pass calls it for every cotangent whose shape differs).
    """
    from .reduce import sum_ as _sum

    if g.shape == shape:
        return g
    lead = len(g.shape) - len(shape)
    try:
        fits = lead >= 0 and broadcast("sum_to", shape, g.shape) == g.shape
    except ShapeError:
        fits = False
    if not fits:
        return broadcast_to_op(g, shape=shape)
    lead_axes = tuple(range(lead))
    one_axes = tuple(lead + i for i, d in enumerate(shape) if d == 1 and g.shape[lead + i] != 1)
    if lead_axes:
        g = _sum(g, axis=lead_axes)
    if one_axes:
        g = _sum(g, axis=tuple(a - lead for a in one_axes), keepdims=True)
    return g
