"""Gathers and their adjoints: ``take``, ``take_along_axis``, ``scatter_add``,
``scatter_add_along``; ``argsort``/``argpartition`` and ``sort``/``partition`` by the
permutation; integer-array and constant-mask indexing (``x[idx]``, ``x[:, idx]``, ``x[mask]``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import ShapeError, SymbackError
from ..graph import CONST, Expr, Op
from ..notation import ATOM, LOWEST, POSTFIX, Notation
from ..shapes import Dim, Shape, check_shape, dim_names, fmt
from . import _scalar, register
from ._common import _dim_src, _is_int, _same_dtype, _shape_src
from .index import _Advanced, getitem, getitem_op

# ---------------------------------------------------------------- gather / scatter-add
#
# Two general gathers and their adjoints carry every integer-array selection of the NumPy
# surface: ``take`` (NumPy's take along one axis: x[idx], x[:, idx], embeddings, repeat,
# pad's edge and reflect modes) and ``take_along_axis`` (a per-slice gather: sort and
# partition by a permutation computed in the generated code). Their adjoints scatter-add
# the cotangent back (repeated indices accumulate); each pair is the other's VJP, so every
# order of derivative stays inside these four ops.


def _int_index(name: str, idx: Any) -> Expr:
    """``idx`` as an int64 node: a constant int array or an int-typed expression."""
    from ..graph import as_expr

    if isinstance(idx, (list, tuple)):
        idx = np.asarray(idx)
        if idx.size == 0:
            idx = idx.astype(np.int64)
    e = as_expr(idx)
    if e.dtype == "bool":
        raise SymbackError(f"{name}: indices must be integers, not booleans (for a mask, "
                           "index with x[mask])")
    if not e.dtype.startswith("int"):
        raise SymbackError(f"{name}: indices must be integers, got dtype {e.dtype}")
    return e


def _dims_text(dims: Any) -> str:
    """Sizes as the parser reads them: ``5``, ``n``, ``(2, n)`` (names unquoted)."""
    if isinstance(dims, tuple):
        return fmt(dims)
    return str(dims)


def _axis_of(name: str, axis: Any, ndim: int) -> int:
    if isinstance(axis, bool) or not _is_int(axis):
        raise ShapeError(f"{name}: axis={axis!r} is not an int", op=name)
    a = int(axis) + (ndim if int(axis) < 0 else 0)
    if not 0 <= a < ndim:
        raise ShapeError(f"{name}: axis {axis} is out of range for an argument with {ndim} "
                         "dimension(s)", op=name)
    return a


def _check_const_bounds(name: str, idx: Expr, size: Dim) -> None:
    """Constant indices outside ``[-size, size)`` are an error now, not at run time."""
    if idx.op is CONST and isinstance(size, int):
        v = np.asarray(idx.value)
        if v.size and (v.min() < -size or v.max() >= size):
            bad = int(v.min()) if v.min() < -size else int(v.max())
            raise ShapeError(f"{name}: index {bad} is out of bounds for an axis of size {size}",
                             op=name)


def _take_norm(args: tuple[Expr, ...], attrs: dict[str, Any]) -> dict[str, Any]:
    x, idx = args
    if x.ndim == 0:
        raise ShapeError("take: cannot index a 0-d expression along an axis", op="take")
    axis = _axis_of("take", attrs.get("axis", 0), x.ndim)
    _int_index("take", idx)
    _check_const_bounds("take", idx, x.shape[axis])
    return {"axis": axis}


def _take_shape(shapes: tuple[Shape, ...], *, axis: int) -> Shape:
    xs, ids = shapes
    return xs[:axis] + ids + xs[axis + 1:]


def _take_text(args: list[str], kw: dict[str, Any]) -> str:
    return f"take({args[0]}, {args[1]}, axis={kw['axis']})"


def _take_latex(args: list[str], kw: dict[str, Any]) -> str:
    """``E_{i}`` for rows (axis 0), ``X_{:, i}`` for columns: the index as a subscript."""
    return f"{args[0]}_{{{':, ' * kw['axis']}{args[1]}}}"


def _listed(idx: Expr) -> str | None:
    """A short constant 1-d index written out, ``[3, 1, 3]`` (else None: print the node)."""
    if idx.op is CONST and np.ndim(idx.value) == 1 and np.size(idx.value) <= 8:
        return "[" + ", ".join(str(int(v)) for v in idx.value) + "]"
    return None


def _take_latex_select(node: Expr) -> Notation:
    """``E_{[3, 1, 3]}`` for a short constant index."""
    listed = _listed(node.args[1])
    if listed is None:
        return Notation(_take_latex, POSTFIX, (POSTFIX, LOWEST))
    return Notation(lambda a, kw: f"{a[0]}_{{{':, ' * kw['axis']}{listed}}}", POSTFIX,
                    (POSTFIX, LOWEST))


def _scatter_latex(node: Expr) -> Notation:
    """``\\operatorname{scatter}_{i}(v)`` (the index written out when short and constant)."""
    listed = _listed(node.args[1])
    return Notation(lambda a, kw: r"\operatorname{scatter}_{" + (listed or a[1]) + r"}\left("
                    + a[0] + r"\right)", ATOM)


def _take_simplify(x: Expr, idx: Expr, *, axis: int) -> Expr | None:
    """A single constant index is basic indexing: ``take(x, 2, axis=1)`` is ``x[:, 2]``."""
    if idx.op is CONST and idx.ndim == 0:
        return getitem(x, (slice(None),) * axis + (int(idx.value),))
    return None


def _take_vjp(g: Expr, out: Expr, x: Expr, idx: Expr, *, axis: int) -> tuple[Any, ...]:
    """y = take(x, i, axis);  x̄ = scatter_add(ȳ, i, axis, size=x.shape[axis]) (repeats add)."""
    return (scatter_add_op(g, idx, axis=axis, size=x.shape[axis]), None)


take_op = register(Op(
    "take", 2, _take_shape,
    numpy=lambda a, kw: f"np.take({a[0]}, {a[1]}, axis={kw['axis']})",
    # the standard's take wants 1-d, non-negative indices: numeric_xp's take reshapes, wraps
    forms={"xp": lambda a, kw: f"take({a[0]}, {a[1]}, {kw['axis']})"},
    normalize=_take_norm, vjp=_take_vjp, simplify=_take_simplify,
    scalarize=lambda a, kw: _scalar.take(a[0], a[1], kw["axis"]),  # constant indices
    jvp=lambda ts, out, x, idx, *, axis: None if ts[0] is None
    else take_op(ts[0], idx, axis=axis),
    dtype=_same_dtype,
    text=Notation(_take_text), latex=Notation(_take_latex, POSTFIX, (POSTFIX, LOWEST), select=_take_latex_select),
    doc="y = take(x, i, axis): y[…, j…, …] = x[…, i[j…], …] (a gather with an int array i; "
        "negative entries count from the end);  x̄ = scatter_add(ȳ, i, axis): ȳ added back "
        "at the rows it was taken from (repeated indices accumulate).",
))


def _scatter_add_norm(args: tuple[Expr, ...], attrs: dict[str, Any]) -> dict[str, Any]:
    g, idx = args
    _int_index("scatter_add", idx)
    nd = g.ndim - idx.ndim + 1
    if nd < 1:
        raise ShapeError(f"scatter_add: values of shape {fmt(g.shape)} are too small for "
                         f"indices of shape {fmt(idx.shape)}", op="scatter_add")
    axis = _axis_of("scatter_add", attrs.get("axis", 0), nd)
    (size,) = check_shape((dim_names(attrs["size"]),), what="scatter_add")
    _check_const_bounds("scatter_add", idx, size)
    return {"axis": axis, "size": size}


def _scatter_add_shape(shapes: tuple[Shape, ...], *, axis: int, size: Dim) -> Shape:
    gs, ids = shapes
    k = len(ids)
    if gs[axis:axis + k] != ids:
        raise ShapeError(f"scatter_add: values of shape {fmt(gs)} do not hold indices of shape "
                         f"{fmt(ids)} at axis {axis}", op="scatter_add", shapes=shapes)
    return gs[:axis] + (size,) + gs[axis + k:]


def _scatter_add_src(a: list[str], kw: dict[str, Any]) -> str:
    """The helper call; numeric.py and numeric_xp.py define it under one name."""
    return f"scatter_add({a[0]}, {a[1]}, {kw['axis']}, {_dim_src(kw['size'], kw)})"


scatter_add_op = register(Op(
    "scatter_add", 2, _scatter_add_shape, numpy=_scatter_add_src,
    helpers=("scatter_add",), normalize=_scatter_add_norm, forms={"xp": _scatter_add_src},
    scalarize=lambda a, kw: _scalar.scatter_add(a[0], a[1], kw["axis"], kw["size"]),
    vjp=lambda g, out, v, idx, *, axis, size: (take_op(g, idx, axis=axis), None),
    jvp=lambda ts, out, v, idx, *, axis, size: None if ts[0] is None
    else scatter_add_op(ts[0], idx, axis=axis, size=size),
    dtype=_same_dtype,
    text=Notation(lambda a, kw: f"scatter_add({a[0]}, {a[1]}, axis={kw['axis']}, "
                  f"size={_dims_text(kw['size'])})"),
    latex=Notation(r"\operatorname{{scatter}}({0})", ATOM, select=_scatter_latex),
    doc="y = zeros with y[…, i[j…], …] += v[…, j…, …] (np.add.at along axis; a bincount in "
        "the generated code): the adjoint of take;  v̄ = take(ȳ, i, axis).",
))


def take(a: Any, indices: Any, axis: Any = None, mode: str = "raise") -> Expr:
    """NumPy's ``take(a, indices, axis=None, mode='raise')``: entries of ``a`` at ``indices``.

    ``y[…, j…, …] = a[…, indices[j…], …]`` along ``axis`` (``None``: of the flattened
    ``a``); ``indices`` is a constant int array (bounds checked now, negatives count from
    the end) or an int-typed expression (``sb.tensor("i", (5,), dtype="int64")``).
    ``mode='wrap'`` or ``'clip'`` adjusts constant indices when the node is built.
    Derivative: the cotangent scatter-added back, repeated indices accumulating
    (``scatter_add``, an ``np.add.at``). A registered op (``take``).

    >>> import symback as sb
    >>> E = sb.tensor("E", (10, 4))
    >>> sb.take(E, [3, 1, 3], axis=0).shape
    (3, 4)
    """
    from ..graph import as_expr

    x = as_expr(a)
    if axis is None:
        from .shape import reshape

        x, axis = (reshape(x, (-1,)) if x.ndim != 1 else x), 0
    idx = _int_index("take", indices)
    if mode != "raise":
        if mode not in ("wrap", "clip"):
            raise SymbackError(f"take: mode={mode!r} is not 'raise', 'wrap' or 'clip'")
        size = x.shape[_axis_of("take", axis, x.ndim)]
        if idx.op is not CONST or not isinstance(size, int) or size == 0:
            raise SymbackError(f"take: mode={mode!r} needs constant indices and an int axis "
                               "size (the indices are adjusted when the node is built)")
        v = np.asarray(idx.value)
        from ..graph import const

        idx = const(v % size if mode == "wrap" else np.clip(v, 0, size - 1))
    return take_op(x, idx, axis=axis)


def scatter_add(values: Any, indices: Any, axis: int, size: Dim) -> Expr:
    """Zeros with ``values`` added at ``indices`` along ``axis`` (length ``size``): the
    adjoint of :func:`take` (``np.add.at``)."""
    return scatter_add_op(values, _int_index("scatter_add", indices), axis=axis, size=size)


# --- take_along_axis and its adjoint

def _along_shape(name: str, xs: Shape, ids: Shape, axis: int) -> Shape:
    if len(xs) != len(ids):
        raise ShapeError(f"{name}: indices of shape {fmt(ids)} need as many dimensions as "
                         f"the array's {fmt(xs)}", op=name, shapes=(xs, ids))
    out: list[Dim] = []
    for i, (d, e) in enumerate(zip(xs, ids)):
        if i == axis:
            out.append(e)
        elif d == e or e == 1:
            out.append(d)
        elif d == 1:
            out.append(e)
        else:
            raise ShapeError(f"{name}: shapes {fmt(xs)} and indices {fmt(ids)} do not "
                             f"broadcast outside axis {axis}", op=name, shapes=(xs, ids))
    return tuple(out)


def _tala_norm(args: tuple[Expr, ...], attrs: dict[str, Any]) -> dict[str, Any]:
    x, idx = args
    if x.ndim == 0:
        raise ShapeError("take_along_axis: needs an array of at least one dimension",
                         op="take_along_axis")
    axis = _axis_of("take_along_axis", attrs.get("axis", -1), x.ndim)
    _int_index("take_along_axis", idx)
    _check_const_bounds("take_along_axis", idx, x.shape[axis])
    return {"axis": axis}


def _trailing_idx(idx: Expr, nb: int) -> Expr:
    from .structural import expand_dims

    return expand_dims(idx, axis=tuple(range(idx.ndim, idx.ndim + nb))) if nb else idx


take_along_axis_op = register(Op(
    "take_along_axis", 2,
    lambda shapes, *, axis: _along_shape("take_along_axis", shapes[0], shapes[1], axis),
    numpy=lambda a, kw: f"np.take_along_axis({a[0]}, {a[1]}, axis={kw['axis']})",
    # numeric_xp's take_along_axis: negative indices wrapped, broadcasting made explicit
    forms={"xp": lambda a, kw: f"take_along_axis({a[0]}, {a[1]}, {kw['axis']})"},
    normalize=_tala_norm,
    vjp=lambda g, out, x, idx, *, axis: (
        scatter_add_along_op(g, idx, axis=axis, shape=x.shape), None),
    jvp=lambda ts, out, x, idx, *, axis: None if ts[0] is None else take_along_axis_op(
        ts[0], _trailing_idx(idx, ts[0].ndim - x.ndim), axis=axis),
    dtype=_same_dtype,
    text=Notation("take_along_axis({0}, {1}, axis={axis})"),
    latex=Notation(r"\operatorname{{gather}}({0})", ATOM, select=lambda node: Notation(
        lambda a, kw: r"\operatorname{gather}_{" + (_listed(node.args[1]) or a[1])
        + r"}\left(" + a[0] + r"\right)", ATOM)),
    doc="y = take_along_axis(x, i, axis): y[…, j, …] = x[…, i[…, j, …], …] (one gather per "
        "1-d slice along axis; i broadcasts against x elsewhere);  x̄ = ȳ scatter-added "
        "back to the entries it came from.",
))


def _saa_norm(args: tuple[Expr, ...], attrs: dict[str, Any]) -> dict[str, Any]:
    g, idx = args
    shape = check_shape(dim_names(attrs["shape"]), what="scatter_add_along")
    axis = _axis_of("scatter_add_along", attrs.get("axis", -1), len(shape))
    _int_index("scatter_add_along", idx)
    _check_const_bounds("scatter_add_along", idx, shape[axis])
    return {"axis": axis, "shape": shape}


def _saa_shape(shapes: tuple[Shape, ...], *, axis: int, shape: Shape) -> Shape:
    gs, ids = shapes
    want = _along_shape("scatter_add_along", shape, ids, axis)
    if gs != want:
        raise ShapeError(f"scatter_add_along: values of shape {fmt(gs)}, expected {fmt(want)}",
                         op="scatter_add_along", shapes=shapes)
    return shape


def _saa_src(a: list[str], kw: dict[str, Any]) -> str:
    """The helper call; numeric.py and numeric_xp.py define it under one name."""
    return f"scatter_add_along({a[0]}, {a[1]}, {kw['axis']}, {_shape_src(kw['shape'], kw)})"


scatter_add_along_op = register(Op(
    "scatter_add_along", 2, _saa_shape, numpy=_saa_src,
    helpers=("scatter_add_along",), normalize=_saa_norm, forms={"xp": _saa_src},
    vjp=lambda g, out, v, idx, *, axis, shape: (take_along_axis_op(g, idx, axis=axis), None),
    jvp=lambda ts, out, v, idx, *, axis, shape: None if ts[0] is None
    else scatter_add_along_op(ts[0], _trailing_idx(idx, ts[0].ndim - v.ndim), axis=axis,
                              shape=shape + ts[0].shape[v.ndim:]),
    dtype=_same_dtype,
    text=Notation(lambda a, kw: f"scatter_add_along({a[0]}, {a[1]}, axis={kw['axis']}, "
                  f"shape={_dims_text(kw['shape'])})"),
    latex=Notation(r"\operatorname{{scatter}}({0})", ATOM, select=_scatter_latex),
    doc="y = zeros(shape) with y[…, i[…, j, …], …] += v[…, j, …] along axis (the adjoint "
        "of take_along_axis; broadcast axes summed);  v̄ = take_along_axis(ȳ, i, axis).",
))


def take_along_axis(arr: Any, indices: Any, axis: Any = -1) -> Expr:
    """NumPy's ``take_along_axis(arr, indices, axis)``: a gather in every 1-d slice.

    ``y[…, j, …] = arr[…, indices[…, j, …], …]``; ``indices`` has ``arr``'s number of
    dimensions and broadcasts against it outside ``axis`` (``axis=None``: both flattened).
    Derivative: the cotangent scatter-added back (``scatter_add_along``). A registered op.

    >>> import symback as sb
    >>> import numpy as np
    >>> x = sb.tensor("x", (2, 3))
    >>> sb.take_along_axis(x, np.array([[2], [0]]), axis=1).shape
    (2, 1)
    """
    from ..graph import as_expr

    x = as_expr(arr)
    idx = _int_index("take_along_axis", indices)
    if axis is None:
        from .shape import reshape

        x, axis = reshape(x, (-1,)), 0
        if idx.ndim != 1:
            raise ShapeError("take_along_axis: with axis=None the indices must be 1-d",
                             op="take_along_axis")
    return take_along_axis_op(x, idx, axis=axis)


# --- argsort / argpartition: int results, derivative zero (piecewise constant)

def _argsort_norm(args: tuple[Expr, ...], attrs: dict[str, Any]) -> dict[str, Any]:
    x = args[0]
    if x.ndim == 0:
        raise ShapeError("argsort: needs an array of at least one dimension", op="argsort")
    out = {"axis": _axis_of("argsort", attrs.get("axis", -1), x.ndim)}
    if "kth" in attrs:
        kth = attrs["kth"]
        ks = tuple(kth) if isinstance(kth, (tuple, list)) else (kth,)
        size = x.shape[out["axis"]]
        norm = []
        for k in ks:
            if not _is_int(k):
                raise SymbackError(f"argpartition: kth={kth!r} must be an int or ints")
            k = int(k)
            if isinstance(size, int):
                if not -size <= k < size:
                    raise ShapeError(f"argpartition: kth {k} is out of bounds for an axis of "
                                     f"size {size}", op="argpartition")
                k %= size
            elif k < 0:
                raise ShapeError(f"argpartition: a negative kth needs an int axis size, not "
                                 f"{size!r}", op="argpartition")
            norm.append(k)
        out["kth"] = norm[0] if len(norm) == 1 and not isinstance(kth, (tuple, list)) \
            else tuple(norm)
    return out


_INT = lambda args, **kw: "int64"  # noqa: E731

argsort_op = register(Op(
    "argsort", 1, lambda shapes, *, axis: shapes[0],
    numpy=lambda a, kw: f"np.argsort({a[0]}, axis={kw['axis']}, kind='stable')",
    forms={"xp": "xp.argsort({0}, axis={axis}, stable=True)"},
    normalize=_argsort_norm, dtype=_INT,
    vjp=lambda g, out, x, *, axis: (None,), jvp=lambda ts, out, x, *, axis: None,
    text=Notation("argsort({0}, axis={axis})"),
    latex=Notation(r"\operatorname{{argsort}}({0})", ATOM),
    doc="y = the indices that sort x along axis (stable: ties keep their order; int64). "
        "Piecewise constant: derivative zero.",
))

argpartition_op = register(Op(
    "argpartition", 1, lambda shapes, *, kth, axis: shapes[0],
    numpy=lambda a, kw: f"np.argpartition({a[0]}, {kw['kth']!r}, axis={kw['axis']})",
    # a full (stable) sort is a valid partition around every kth; torch has no argpartition
    forms={"xp": "xp.argsort({0}, axis={axis}, stable=True)"},
    normalize=_argsort_norm, dtype=_INT,
    vjp=lambda g, out, x, *, kth, axis: (None,), jvp=lambda ts, out, x, *, kth, axis: None,
    text=Notation("argpartition({0}, {kth!r}, axis={axis})"),
    latex=Notation(r"\operatorname{{argpartition}}_{{{kth}}}({0})", ATOM),
    doc="y = indices that partition x along axis around its kth smallest entry (int64). "
        "Piecewise constant: derivative zero.",
))


def _no_order(name: str, order: Any) -> None:
    if order is not None:
        raise SymbackError(f"{name}: order= (structured arrays) is not supported")


def argsort(a: Any, axis: Any = -1, kind: Any = None, order: Any = None) -> Expr:
    """NumPy's ``argsort(a, axis=-1, kind=None, order=None)`` (``axis=None`` sorts the
    flattened array). The sort is always stable (``kind`` is accepted and ignored: every kind
    gives the same values). An int64 node with derivative zero (a registered op).

    >>> import symback as sb
    >>> sb.argsort(sb.vector("x", 3)).dtype
    'int64'
    """
    from ..graph import as_expr

    _no_order("argsort", order)
    x = as_expr(a)
    if axis is None:
        from .shape import reshape

        x, axis = reshape(x, (-1,)), 0
    return argsort_op(x, axis=axis)


def argpartition(a: Any, kth: Any, axis: Any = -1, kind: str = "introselect",
                 order: Any = None) -> Expr:
    """NumPy's ``argpartition(a, kth, axis=-1)``: an int64 node with derivative zero.

    >>> import symback as sb
    >>> sb.argpartition(sb.vector("x", 4), 1).dtype
    'int64'
    """
    from ..graph import as_expr

    _no_order("argpartition", order)
    x = as_expr(a)
    if axis is None:
        from .shape import reshape

        x, axis = reshape(x, (-1,)), 0
    return argpartition_op(x, kth=kth, axis=axis)


def sort(a: Any, axis: Any = -1, kind: Any = None, order: Any = None) -> Expr:
    """NumPy's ``sort(a, axis=-1)`` (values; ``axis=None``: of the flattened array).

    ``kind`` is accepted and ignored: the permutation is always the stable one.
    Composed as ``take_along_axis(a, argsort(a, axis), axis)``: the permutation is computed
    in the generated code, so the derivative is the permutation's: ``ā`` = the cotangent
    scatter-added back to where each entry came from. At ties (equal entries) the stable
    order decides which entry gets which cotangent (any choice is a valid subgradient).

    >>> import symback as sb
    >>> print(sb.sort(sb.tensor("x", (4,))))
    take_along_axis(x, argsort(x, axis=0), axis=0)
    """
    from ..graph import as_expr

    _no_order("sort", order)
    x = as_expr(a)
    if axis is None:
        from .shape import reshape

        x, axis = reshape(x, (-1,)), 0
    idx = argsort_op(x, axis=axis)
    return take_along_axis_op(x, idx, axis=idx.kw["axis"])


def partition(a: Any, kth: Any, axis: Any = -1, kind: str = "introselect",
              order: Any = None) -> Expr:
    """NumPy's ``partition(a, kth, axis=-1)``: values, the kth smallest in its sorted place,
    smaller ones before it and larger ones after (in no stated order).

    Composed as ``take_along_axis(a, argpartition(a, kth, axis), axis)``; derivative by the
    permutation, as for :func:`sort`.

    >>> import symback as sb
    >>> sb.partition(sb.vector("x", 4), 1).shape
    (4,)
    """
    idx = argpartition(a, kth, axis, order=order)
    return take_along_axis_op(idx.args[0], idx, axis=idx.kw["axis"])


# ---------------------------------------------------------------- integer-array and mask indexing


def advanced_getitem(x: Any, index: Any) -> Expr:
    """``x[index]`` where the index holds integer arrays or boolean masks (NumPy's advanced
    indexing), composed of basic indexing, ``transpose``, ``reshape`` and one ``take``.

    * Integer arrays: constant (lists, NumPy arrays: bounds checked now) or one int-typed
      expression. Several arrays broadcast together and are folded into one flat index
      (``np.ravel_multi_index``) over their merged axes; as in NumPy, when the array
      indices (ints count as arrays here) are not side by side the selected axes go first.
    * Boolean masks must be constants: a mask is its ``nonzero()`` index arrays. A mask that
      is an expression would give a shape that depends on values: ``SymbackError``.

    The derivative is ``take``'s: the cotangent scatter-added back (repeats accumulate).
    """
    from ..graph import as_expr
    from .shape import reshape, transpose

    x = as_expr(x)
    items = list(index) if isinstance(index, tuple) else [index]
    # expand masks into their nonzero() int arrays, each standing for len(mask.shape) axes
    entries: list[Any] = []
    for it in items:
        if isinstance(it, Expr):
            if it.dtype == "bool":
                if it.op is not CONST:
                    raise SymbackError(
                        "index: a boolean mask that is an expression gives a shape that "
                        "depends on its values; use sb.where(mask, x, 0) (same shape) or a "
                        "constant NumPy mask")
                it = np.asarray(it.value)
            elif it.op is CONST:
                it = np.asarray(it.value)
        if isinstance(it, (list, np.ndarray, bool, np.bool_)):
            arr = np.asarray(it)
            if arr.dtype.kind == "b":
                if arr.ndim == 0:
                    raise SymbackError("index: a 0-d boolean index is not supported")
                for k, nz in enumerate(np.nonzero(arr)):
                    entries.append(("m", nz.astype(np.int64), arr.shape, k))
                continue
            if arr.size == 0:
                arr = arr.astype(np.int64)
            if arr.dtype.kind not in "iu":
                raise SymbackError(f"index: an index array must hold ints or bools, got "
                                   f"dtype {arr.dtype}")
            entries.append(("a", arr.astype(np.int64)))
        elif isinstance(it, Expr):
            if not it.dtype.startswith("int"):
                raise SymbackError(f"index: an index expression must be int-typed, got dtype "
                                   f"{it.dtype} (sb.tensor(name, shape, dtype='int64'))")
            entries.append(("e", it))
        else:
            entries.append(it)
    # the basic part: every array entry (and, as NumPy counts them, every int) becomes ':'
    n_used = sum(1 for e in entries if e is not None and e is not Ellipsis)
    if n_used > x.ndim:
        raise ShapeError(f"index: too many indices ({n_used}) for shape {fmt(x.shape)}",
                         op="getitem", shapes=(x.shape,))
    flat: list[Any] = []
    for e in entries:
        if e is Ellipsis:
            flat.extend([slice(None)] * (x.ndim - n_used))
        else:
            flat.append(e)
    if Ellipsis not in entries:
        flat.extend([slice(None)] * (x.ndim - n_used))
    basic: list[Any] = []
    adv: list[tuple[int, Any]] = []  # (axis of the basic result, entry)
    pos = 0
    for e in flat:
        if e is None:
            basic.append(None)
            pos += 1
        elif isinstance(e, tuple) or _is_int(e):
            adv.append((pos, ("a", np.asarray(int(e), dtype=np.int64)) if _is_int(e) else e))
            basic.append(slice(None))
            pos += 1
        else:
            basic.append(e)
            pos += 1
    y = getitem(x, tuple(basic))
    axes = [p for p, _ in adv]
    adjacent = axes == list(range(axes[0], axes[0] + len(axes)))
    symbolic = [e for _, e in adv if e[0] == "e"]
    if symbolic:
        if len(symbolic) > 1 or any(e[0] != "e" and e[1].ndim for _, e in adv):
            raise SymbackError("index: an int-typed expression index can be combined only with "
                               "ints and slices (one array index per selection)")
        # ints apply first (basic indexing), then one take along the expression's axis
        p = next(q for q, e in adv if e[0] == "e")
        ints = {q: int(e[1]) for q, e in adv if e[0] != "e"}
        y = getitem(y, tuple(ints.get(q, slice(None)) for q in range(y.ndim)))
        p2 = p - sum(1 for q in ints if q < p)
        idx = symbolic[0][1]
        out = take_op(y, idx, axis=p2)
        if not adjacent and p2 != 0:  # NumPy puts the selected axes first
            k = idx.ndim
            perm = tuple(range(p2, p2 + k)) + tuple(i for i in range(out.ndim)
                                                    if not p2 <= i < p2 + k)
            out = transpose(out, axes=perm)
        return out
    # constant arrays: bounds-check, broadcast, fold into one flat index over merged axes
    arrays = []
    for q, e in adv:
        size = y.shape[q]
        a = e[1]
        if e[0] == "m":
            shp = e[2]
            if y.shape[q] != shp[e[3]]:
                raise ShapeError(f"index: a boolean mask of shape {fmt(shp)} does not match "
                                 f"the indexed axes of {fmt(x.shape)}", op="getitem",
                                 shapes=(x.shape, shp))
        if not isinstance(size, int):
            if len(adv) == 1 and not (a.size and a.min() < 0):
                arrays.append(a)
                continue
            raise ShapeError(f"index: an index array along the symbolic dimension {size!r} "
                             "needs an int size (or use a single array)", op="getitem",
                             shapes=(x.shape,))
        if a.size and (a.min() < -size or a.max() >= size):
            bad = int(a.min()) if a.min() < -size else int(a.max())
            raise ShapeError(f"index: index {bad} is out of bounds for axis {q} with size "
                             f"{size}", op="getitem", shapes=(x.shape,))
        arrays.append(a % size if a.size else a)
    try:
        arrays = list(np.broadcast_arrays(*arrays))
    except ValueError:
        raise ShapeError("index: the index arrays do not broadcast together: "
                         + ", ".join(fmt(a.shape) for a in arrays), op="getitem") from None
    k = len(axes)
    start = axes[0] if adjacent else 0
    if not adjacent:
        perm = tuple(axes) + tuple(i for i in range(y.ndim) if i not in axes)
        y = transpose(y, axes=perm)
    if k > 1:
        sizes = tuple(y.shape[start:start + k])
        flat_idx = np.ravel_multi_index(tuple(arrays), sizes)
        n = 1
        for s in sizes:
            n *= s
        y = reshape(y, y.shape[:start] + (n,) + y.shape[start + k:])
    else:
        flat_idx = arrays[0]
    from ..graph import const

    return take_op(y, const(np.array(flat_idx, dtype=np.int64, order="C")), axis=start)


# Expr.__getitem__ tries basic indexing (getitem) first; an index with arrays comes here.


getitem_op.extra.update(advanced=advanced_getitem, signal=_Advanced)
