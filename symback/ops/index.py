"""Indexing: ``x[i, 1:3, None, ...]`` (getitem) and its adjoint, index_scatter.

An index with integer arrays or a constant mask (NumPy's advanced indexing) is a gather:
see :mod:`symback.ops.gather`, which installs itself as ``getitem``'s ``advanced`` handler.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import ShapeError, SymbackError
from ..graph import Expr, Op
from ..notation import ATOM, POSTFIX, Notation
from ..shapes import Dim, Shape, check_shape, dim_names, fmt
from . import _scalar, register
from ._common import _is_int, _same_dtype, _shape_src

# ---------------------------------------------------------------- indexing

# A normalised index is a tuple of entries: ("i", k) an int, ("s", start, stop, step) a
# slice (None parts as in Python), ("n",) a new axis. Ellipsis is expanded, trailing
# full slices dropped, so equal selections intern to one node.
Index = tuple[tuple[Any, ...], ...]
_FULL = ("s", None, None, None)


def _canonical(index: Any) -> bool:
    return isinstance(index, tuple) and all(
        isinstance(e, tuple) and e and e[0] in ("i", "s", "n") for e in index)


def _raw_entries(index: Any) -> list[Any]:
    items = list(index) if isinstance(index, tuple) else [index]
    out: list[Any] = []
    for it in items:
        if it is None or it is Ellipsis:
            out.append(it)
        elif _is_int(it):
            out.append(("i", int(it)))
        elif isinstance(it, slice):
            parts = []
            for p in (it.start, it.stop, it.step):
                if p is not None and not _is_int(p):
                    raise SymbackError(f"index: slice bounds must be constant ints, got {it!r}")
                parts.append(None if p is None else int(p))
            if parts[2] == 0:
                raise SymbackError("index: slice step cannot be zero")
            out.append(("s", *parts))
        elif _is_array_entry(it):
            raise _Advanced("index: an integer array or boolean mask (advanced indexing)")
        else:
            what = "an expression" if isinstance(it, Expr) else type(it).__name__
            raise SymbackError(
                f"index: only constant ints, slices, None and ... are supported, got {what}; "
                "use sb.where or a product with a constant mask for a data-dependent selection")
    return out


def _getitem_norm(args: tuple[Expr, ...], attrs: dict[str, Any]) -> dict[str, Any]:
    index = attrs["index"]
    xs = args[0].shape
    entries = list(index) if _canonical(index) else _raw_entries(index)
    entries = [("n",) if e is None else e for e in entries]
    ellipses = [i for i, e in enumerate(entries) if e is Ellipsis]
    if len(ellipses) > 1:
        raise SymbackError("index: an index can only have a single ellipsis ('...')")
    used = sum(1 for e in entries if e is not Ellipsis and e[0] != "n")
    if used > len(xs):
        raise ShapeError(f"index: too many indices ({used}) for shape {fmt(xs)}",
                         op="getitem", shapes=(xs,))
    if ellipses:
        i = ellipses[0]
        entries = entries[:i] + [_FULL] * (len(xs) - used) + entries[i + 1:]
    out: list[tuple[Any, ...]] = []
    axis = 0
    for e in entries:
        if e[0] == "n":
            out.append(e)
            continue
        d = xs[axis]
        if e[0] == "i":
            k = e[1]
            if isinstance(d, int):
                if not -d <= k < d:
                    raise ShapeError(f"index: {k} is out of bounds for axis {axis} with size {d}",
                                     op="getitem", shapes=(xs,))
                k = k % d
            out.append(("i", k))
        else:
            _, start, stop, step = e
            if step == 1:
                step = None
            if (step is None or step > 0) and start == 0:
                start = None
            if isinstance(d, int) and (step is None or step > 0) and stop is not None \
                    and stop >= d:
                stop = None
            out.append(("s", start, stop, step))
        axis += 1
    while out and out[-1] == _FULL:
        out.pop()
    return {"index": tuple(out)}


def _getitem_shape(shapes: tuple[Shape, ...], *, index: Index) -> Shape:
    xs = shapes[0]
    out: list[Dim] = []
    axis = 0
    for e in index:
        if e[0] == "n":
            out.append(1)
            continue
        d = xs[axis]
        axis += 1
        if e[0] == "i":
            continue
        _, start, stop, step = e
        if isinstance(d, int):
            out.append(len(range(*slice(start, stop, step).indices(d))))
        elif start is None and stop is None and step in (None, -1):
            out.append(d)
        else:
            raise ShapeError(f"index: slicing the symbolic dimension {d!r} of {fmt(xs)} with "
                             "bounds gives an unknown length (give int sizes)",
                             op="getitem", shapes=(xs,))
    return tuple(out) + xs[axis:]


def index_source(index: Index) -> str:
    """The index as Python source, e.g. ``0, 1:3, None`` (``()`` when empty)."""
    parts = []
    for e in index:
        if e[0] == "n":
            parts.append("None")
        elif e[0] == "i":
            parts.append(str(e[1]))
        else:
            _, a, b, c = e
            s = f"{'' if a is None else a}:{'' if b is None else b}"
            parts.append(s + (f":{c}" if c is not None else ""))
    if not parts:
        return "()"
    return ", ".join(parts) + ("," if len(parts) == 1 and index[0][0] == "n" else "")


def index_tuple(index: Index) -> tuple[Any, ...]:
    """The normalised index as a NumPy index (ints, slices and None)."""
    return tuple(e[1] if e[0] == "i" else None if e[0] == "n" else slice(*e[1:])
                 for e in index)


def _getitem_scalarize(args: list[np.ndarray], kw: dict[str, Any]) -> np.ndarray:
    """The selected entries (the same basic index on the object array)."""
    return _scalar.obj(args[0][index_tuple(kw["index"])])


def _scatter_scalarize(args: list[np.ndarray], kw: dict[str, Any]) -> np.ndarray:
    """Zeros (the constant 0.0) with the values' entries written at the index."""
    out = _scalar.zeros(kw["shape"])
    x = args[0]
    # (a 0-d array assigned to one entry would be stored as the entry itself)
    out[index_tuple(kw["index"])] = x[()] if x.ndim == 0 else x
    return out


def _index_latex(index: Index) -> str:
    return index_source(index).replace("None", r"\mathrm{new}").rstrip(",")


def _negative_step(kw: dict[str, Any]) -> bool:
    """Whether the index holds a slice with a negative step."""
    return any(e[0] not in ("n", "i") and e[3] is not None and e[3] < 0 for e in kw["index"])


getitem_op = register(Op(
    "getitem", 1, _getitem_shape,
    numpy=lambda args, kw: f"{args[0]}[{index_source(kw['index'])}]",
    # PyTorch has no negative-step slices: those go through numeric_xp's getitem (a flip)
    forms={"torch": lambda args, kw: f"getitem({args[0]}, _s[{index_source(kw['index'])}])"
           if _negative_step(kw) else f"{args[0]}[{index_source(kw['index'])}]"},
    normalize=_getitem_norm,
    simplify=lambda x, *, index: x if not index else None,
    vjp=lambda g, out, x, *, index: (index_scatter(g, shape=x.shape, index=index),),
    jvp=lambda ts, out, x, *, index: getitem_op(ts[0], index=index),
    view=True, dtype=_same_dtype, scalarize=_getitem_scalarize,
    text=Notation(lambda a, kw: f"{a[0]}[{index_source(kw['index'])}]", POSTFIX, POSTFIX),
    latex=Notation(lambda a, kw: f"{a[0]}_{{{_index_latex(kw['index'])}}}", POSTFIX, POSTFIX),
    sympy=lambda x, *, index: x[tuple(e[1] for e in index)]
    if len(index) == 2 and all(e[0] == "i" for e in index) else None,
    doc="y = x[index] with constant ints, slices and None (NumPy basic indexing);  "
        "x̄ = zeros of x's shape with ȳ written at index.",
))


def getitem(x: Any, index: Any) -> Expr:
    """``x[index]``: basic indexing (constant ints, slices, ``None``, ``...``) as the op
    ``getitem``; an index with int arrays or a constant mask through :func:`advanced_getitem`."""
    try:
        return getitem_op(x, index=index)
    except _Advanced:
        return getitem_op.extra["advanced"](x, index)  # type: ignore[no-any-return]


def _scatter_norm(args: tuple[Expr, ...], attrs: dict[str, Any]) -> dict[str, Any]:
    shape = check_shape(dim_names(attrs["shape"]), what="index_scatter")
    probe = _getitem_norm((_ShapeOnly(shape),), {"index": attrs["index"]})  # type: ignore
    return {"shape": shape, "index": probe["index"]}


class _ShapeOnly:
    """Stands in for an argument when only its shape matters (index normalisation)."""

    def __init__(self, shape: Shape) -> None:
        self.shape = shape


def _scatter_shape(shapes: tuple[Shape, ...], *, shape: Shape, index: Index) -> Shape:
    want = _getitem_shape((shape,), index=index)
    if shapes[0] != want:
        raise ShapeError(f"index_scatter: the values have shape {fmt(shapes[0])} but "
                         f"index {index_source(index)} of {fmt(shape)} selects {fmt(want)}",
                         op="index_scatter", shapes=(shapes[0], want))
    return shape


index_scatter_op = register(Op(
    "index_scatter", 1, _scatter_shape,
    numpy=lambda args, kw: (f"index_scatter({args[0]}, {_shape_src(kw['shape'], kw)}, "
                            f"np.s_[{index_source(kw['index'])}])"),
    helpers=("index_scatter",), normalize=_scatter_norm,
    forms={"xp": lambda args, kw: (f"index_scatter({args[0]}, {_shape_src(kw['shape'], kw)}, "
                                   f"_s[{index_source(kw['index'])}])")},
    vjp=lambda g, out, x, *, shape, index: (getitem_op(g, index=index),),
    jvp=lambda ts, out, x, *, shape, index: index_scatter_op(
        ts[0], shape=shape + ts[0].shape[x.ndim:], index=index),
    dtype=_same_dtype, scalarize=_scatter_scalarize,
    # s_[...] as NumPy's np.s_ (the parser reads it as an index, only as an argument)
    text=Notation(lambda a, kw: f"index_scatter({a[0]}, shape={fmt(kw['shape'])}, "
                  f"index=s_[{index_source(kw['index'])}])"),
    latex=Notation(lambda a, kw: r"\operatorname{embed}_{" + _index_latex(kw["index"])
                   + r"}\left(" + a[0] + r"\right)", ATOM),
    doc="y = zeros(shape) with y[index] = x: the adjoint (transpose) of indexing;  "
        "x̄ = ȳ[index].",
))


def index_scatter(x: Any, shape: Shape, index: Any) -> Expr:
    """Zeros of ``shape`` with ``x`` written at ``index`` (the VJP of indexing)."""
    return index_scatter_op(x, shape=shape, index=index)


# ---------------------------------------------------------------- integer-array and mask indexing


class _Advanced(SymbackError):
    """Raised by getitem's normalisation for an index with arrays (handled by Expr[...])."""


def _is_array_entry(it: Any) -> bool:
    return isinstance(it, (list, np.ndarray, Expr)) or (
        isinstance(it, np.generic) and it.dtype.kind == "b") or isinstance(it, (bool, np.bool_))
