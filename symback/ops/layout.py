"""NumPy's shape and structure functions, composed of a few general ops.

Nothing here registers an op: every function is a composition of ``transpose``,
``reshape``, ``broadcast_to``, ``expand_dims``/``squeeze``, ``concatenate``, basic indexing
(``getitem``) and the gathers of :mod:`symback.ops.index` (``take``), so each one's
derivative, printing and code come from those ops. Each docstring says which ops it uses.
Sizes along the axes these functions cut or join must be ints (a symbolic size would make
the result's shape unknown); other axes may be symbolic.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from ..errors import ShapeError, SymbackError
from ..graph import Expr, as_expr, broadcast_to as _broadcast_to, const
from ..shapes import Dim, Shape, check_shape, fmt
from ._common import _is_int
from .index import getitem, take_op
from .shape import concatenate_op, reshape_op, transpose
from .structural import expand_dims as _expand_dims_op
from .structural import squeeze as _squeeze_op

__all__ = [
    "ravel", "squeeze", "expand_dims", "moveaxis", "swapaxes", "rollaxis", "flip", "flipud",
    "fliplr", "rot90", "roll", "repeat", "tile", "broadcast_to", "atleast_1d", "atleast_2d",
    "atleast_3d", "append", "vstack", "hstack", "dstack", "column_stack", "split",
    "array_split", "hsplit", "vsplit", "dsplit", "pad", "diff", "select",
]


def _axis(name: str, axis: Any, ndim: int) -> int:
    """One axis, negative counted from the end; ``ShapeError`` naming ``name`` if out of range."""
    if isinstance(axis, bool) or not _is_int(axis):
        raise ShapeError(f"{name}: axis={axis!r} is not an int", op=name)
    a = int(axis) + (ndim if int(axis) < 0 else 0)
    if not 0 <= a < ndim:
        raise ShapeError(f"{name}: axis {axis} is out of range for an array with {ndim} "
                         "dimension(s)", op=name)
    return a


def _axes(name: str, axis: Any, ndim: int) -> list[int]:
    items = list(axis) if isinstance(axis, (tuple, list)) else [axis]
    out = [_axis(name, a, ndim) for a in items]
    if len(set(out)) != len(out):
        raise ShapeError(f"{name}: repeated axis in {axis!r}", op=name)
    return out


def _int_size(name: str, x: Expr, axis: int) -> int:
    d = x.shape[axis]
    if not isinstance(d, int):
        raise ShapeError(f"{name}: axis {axis} of {fmt(x.shape)} has the symbolic size {d!r}; "
                         "this needs an int size", op=name, shapes=(x.shape,))
    return d


def _slice_along(x: Expr, axis: int, sl: slice) -> Expr:
    return getitem(x, (slice(None),) * axis + (sl,))


def _concat(xs: Sequence[Expr], axis: int) -> Expr:
    return xs[0] if len(xs) == 1 else concatenate_op(*xs, axis=axis)


# ---------------------------------------------------------------- reshaping


def ravel(a: Any) -> Expr:
    """NumPy's ``ravel(a)``: the entries in C order as a 1-d array (``reshape(a, (-1,))``).

    >>> import symback as sb
    >>> x = sb.tensor("x", (2, 3))
    >>> print(sb.ravel(x))
    reshape(x, (6,))
    """
    x = as_expr(a)
    return x if x.ndim == 1 else reshape_op(x, shape=(-1,))


def squeeze(a: Any, axis: Any = None) -> Expr:
    """NumPy's ``squeeze(a, axis=None)``: drop axes of length 1 (``None``: every such axis).

    The ``squeeze`` op (a view); derivative: ``expand_dims`` of the cotangent.

    >>> import symback as sb
    >>> x = sb.tensor("x", (1, 3, 1))
    >>> sb.squeeze(x).shape
    (3,)
    """
    x = as_expr(a)
    if axis is None:
        axis = tuple(i for i, d in enumerate(x.shape) if d == 1)
    return _squeeze_op(x, axis=axis)


def expand_dims(a: Any, axis: Any) -> Expr:
    """NumPy's ``expand_dims(a, axis)``: insert axes of length 1 at ``axis`` (int or tuple,
    positions in the result). The ``expand_dims`` op; derivative: ``squeeze``.

    >>> import symback as sb
    >>> x = sb.tensor("x", (3,))
    >>> sb.expand_dims(x, 0).shape
    (1, 3)
    """
    return _expand_dims_op(a, axis=axis)


def moveaxis(a: Any, source: Any, destination: Any) -> Expr:
    """NumPy's ``moveaxis(a, source, destination)``: a ``transpose`` that moves the axes
    ``source`` to the positions ``destination``, the others keeping their order.

    >>> import symback as sb
    >>> x = sb.tensor("x", (2, 3, 4))
    >>> print(sb.moveaxis(x, 0, -1))
    transpose(x, axes=(1, 2, 0))
    """
    x = as_expr(a)
    src = _axes("moveaxis", source, x.ndim)
    dst = _axes("moveaxis", destination, x.ndim)
    if len(src) != len(dst):
        raise SymbackError("moveaxis: source and destination need the same number of axes")
    order = [i for i in range(x.ndim) if i not in src]
    for d, s in sorted(zip(dst, src)):
        order.insert(d, s)
    return transpose(x, axes=tuple(order))


def swapaxes(a: Any, axis1: Any, axis2: Any) -> Expr:
    """NumPy's ``swapaxes(a, axis1, axis2)``: a ``transpose`` exchanging two axes.

    >>> import symback as sb
    >>> x = sb.tensor("x", (2, 3, 4))
    >>> sb.swapaxes(x, 0, 2).shape
    (4, 3, 2)
    """
    x = as_expr(a)
    i, j = _axis("swapaxes", axis1, x.ndim), _axis("swapaxes", axis2, x.ndim)
    perm = list(range(x.ndim))
    perm[i], perm[j] = perm[j], perm[i]
    return transpose(x, axes=tuple(perm))


def rollaxis(a: Any, axis: Any, start: int = 0) -> Expr:
    """NumPy's ``rollaxis(a, axis, start=0)``: ``axis`` moved to lie before ``start`` (a
    ``transpose``).

    >>> import symback as sb
    >>> x = sb.tensor("x", (2, 3, 4))
    >>> sb.rollaxis(x, 2).shape
    (4, 2, 3)
    """
    x = as_expr(a)
    ax = _axis("rollaxis", axis, x.ndim)
    if isinstance(start, bool) or not _is_int(start):
        raise ShapeError(f"rollaxis: start={start!r} is not an int", op="rollaxis")
    s = int(start) + (x.ndim if start < 0 else 0)
    if not 0 <= s <= x.ndim:
        raise ShapeError(f"rollaxis: start {start} is out of range for {x.ndim} dimension(s)",
                         op="rollaxis")
    if ax < s:
        s -= 1
    order = [i for i in range(x.ndim) if i != ax]
    order.insert(s, ax)
    return transpose(x, axes=tuple(order))


def broadcast_to(array: Any, shape: Any) -> Expr:
    """NumPy's ``broadcast_to(array, shape)``: the ``broadcast_to`` op (a view); derivative:
    the cotangent summed over the stretched axes.

    >>> import symback as sb
    >>> x = sb.tensor("x", (3,))
    >>> sb.broadcast_to(x, (2, 3)).shape
    (2, 3)
    """
    if isinstance(shape, (int, str)) and not isinstance(shape, bool):
        shape = (shape,)
    return _broadcast_to(as_expr(array), check_shape(shape, what="broadcast_to"))


def atleast_1d(*arys: Any) -> Any:
    """NumPy's ``atleast_1d``: 0-d becomes shape (1,) (``reshape``); one array or a list.

    >>> import symback as sb
    >>> sb.atleast_1d(sb.symbols("a")).shape
    (1,)
    """
    out = [reshape_op(as_expr(a), shape=(1,)) if as_expr(a).ndim == 0 else as_expr(a)
           for a in arys]
    return out[0] if len(out) == 1 else out


def atleast_2d(*arys: Any) -> Any:
    """NumPy's ``atleast_2d``: (N,) becomes (1, N), 0-d (1, 1) (``expand_dims``).

    >>> import symback as sb
    >>> sb.atleast_2d(sb.tensor("x", (3,))).shape
    (1, 3)
    """
    out = []
    for a in arys:
        x = as_expr(a)
        out.append(_expand_dims_op(x, axis=tuple(range(2 - x.ndim))) if x.ndim < 2 else x)
    return out[0] if len(out) == 1 else out


def atleast_3d(*arys: Any) -> Any:
    """NumPy's ``atleast_3d``: (N,) becomes (1, N, 1), (M, N) becomes (M, N, 1), 0-d
    (1, 1, 1) (``expand_dims``).

    >>> import symback as sb
    >>> sb.atleast_3d(sb.tensor("x", (3,))).shape
    (1, 3, 1)
    """
    out = []
    for a in arys:
        x = as_expr(a)
        if x.ndim == 0:
            x = _expand_dims_op(x, axis=(0, 1, 2))
        elif x.ndim == 1:
            x = _expand_dims_op(x, axis=(0, 2))
        elif x.ndim == 2:
            x = _expand_dims_op(x, axis=(2,))
        out.append(x)
    return out[0] if len(out) == 1 else out


# ---------------------------------------------------------------- reordering


def flip(m: Any, axis: Any = None) -> Expr:
    """NumPy's ``flip(m, axis=None)``: entries reversed along ``axis`` (``None``: all axes).

    Basic indexing with step -1 (``m[::-1]``, a view); derivative: the cotangent flipped back.

    >>> import symback as sb
    >>> x = sb.tensor("x", (2, 3))
    >>> print(sb.flip(x, 1))
    x[:, ::-1]
    """
    x = as_expr(m)
    axes = range(x.ndim) if axis is None else _axes("flip", axis, x.ndim)
    index = [slice(None)] * x.ndim
    for a in axes:
        index[a] = slice(None, None, -1)
    return getitem(x, tuple(index))


def flipud(m: Any) -> Expr:
    """NumPy's ``flipud(m)``: ``flip(m, 0)`` (rows upside down).

    >>> import symback as sb
    >>> print(sb.flipud(sb.tensor("x", (3,))))
    x[::-1]
    """
    x = as_expr(m)
    if x.ndim < 1:
        raise ShapeError("flipud: needs an array of at least one dimension", op="flipud")
    return flip(x, 0)


def fliplr(m: Any) -> Expr:
    """NumPy's ``fliplr(m)``: ``flip(m, 1)`` (columns left to right).

    >>> import symback as sb
    >>> print(sb.fliplr(sb.tensor("x", (2, 3))))
    x[:, ::-1]
    """
    x = as_expr(m)
    if x.ndim < 2:
        raise ShapeError(f"fliplr: needs an array of at least two dimensions, got "
                         f"{fmt(x.shape)}", op="fliplr")
    return flip(x, 1)


def rot90(m: Any, k: int = 1, axes: Any = (0, 1)) -> Expr:
    """NumPy's ``rot90(m, k=1, axes=(0, 1))``: rotate by 90° ``k`` times, from the first
    axis towards the second (``flip`` and ``transpose``).

    >>> import symback as sb
    >>> x = sb.tensor("x", (2, 3))
    >>> print(sb.rot90(x))
    x[:, ::-1].T
    """
    x = as_expr(m)
    if len(tuple(axes)) != 2:
        raise SymbackError("rot90: axes must be two axes")
    a0, a1 = _axes("rot90", axes, x.ndim)
    if isinstance(k, bool) or not _is_int(k):
        raise SymbackError(f"rot90: k={k!r} is not an int")
    k = int(k) % 4
    if k == 0:
        return x
    if k == 2:
        return flip(flip(x, a0), a1)
    perm = list(range(x.ndim))
    perm[a0], perm[a1] = perm[a1], perm[a0]
    if k == 1:
        return transpose(flip(x, a1), axes=tuple(perm))
    return flip(transpose(x, axes=tuple(perm)), a1)


def roll(a: Any, shift: Any, axis: Any = None) -> Expr:
    """NumPy's ``roll(a, shift, axis=None)``: entries shifted cyclically by ``shift`` along
    ``axis`` (``None``: of the flattened array, shape restored). Two slices joined by
    ``concatenate``; derivative: the cotangent rolled back.

    >>> import symback as sb
    >>> x = sb.tensor("x", (4,))
    >>> print(sb.roll(x, 1))
    concatenate([x[3:], x[:3]], axis=0)
    """
    x = as_expr(a)
    if axis is None:
        return reshape_op(roll(ravel(x), shift, 0), shape=x.shape) if x.ndim != 1 \
            else roll(x, shift, 0)
    shifts = list(shift) if isinstance(shift, (tuple, list)) else [shift]
    axes = list(axis) if isinstance(axis, (tuple, list)) else [axis]
    if len(shifts) == 1 and len(axes) > 1:
        shifts = shifts * len(axes)
    if len(axes) == 1 and len(shifts) > 1:
        axes = axes * len(shifts)
    if len(shifts) != len(axes):
        raise SymbackError("roll: shift and axis must have the same length")
    for s, ax in zip(shifts, axes):
        if isinstance(s, bool) or not _is_int(s):
            raise SymbackError(f"roll: shift={s!r} is not an int")
        ax = _axis("roll", ax, x.ndim)
        n = _int_size("roll", x, ax)
        s = int(s) % n if n else 0
        if s:
            x = _concat([_slice_along(x, ax, slice(n - s, None)),
                         _slice_along(x, ax, slice(None, n - s))], ax)
    return x


# ---------------------------------------------------------------- repeating


def repeat(a: Any, repeats: Any, axis: Any = None) -> Expr:
    """NumPy's ``repeat(a, repeats, axis=None)``: each entry repeated (``None``: of the
    flattened array).

    An int ``repeats``: ``expand_dims``, ``broadcast_to`` and ``reshape`` (derivative: the
    cotangent summed over the copies); a list of counts: one ``take`` with the constant
    index ``np.repeat(arange(n), repeats)`` (derivative: scatter-add).

    >>> import symback as sb
    >>> x = sb.tensor("x", (2, 3))
    >>> sb.repeat(x, 2, axis=0).shape
    (4, 3)
    """
    x = as_expr(a)
    if axis is None:
        x, axis = ravel(x), 0
    ax = _axis("repeat", axis, x.ndim)
    if _is_int(repeats) and not isinstance(repeats, bool):
        r = int(repeats)
        if r < 0:
            raise SymbackError(f"repeat: repeats={r} is negative")
        if r == 1:
            return x
        d = x.shape[ax]
        if not isinstance(d, int):
            raise ShapeError(f"repeat: axis {ax} of {fmt(x.shape)} has a symbolic size",
                             op="repeat", shapes=(x.shape,))
        e = _expand_dims_op(x, axis=(ax + 1,))
        e = _broadcast_to(e, x.shape[:ax + 1] + (r,) + x.shape[ax + 1:])
        return reshape_op(e, shape=x.shape[:ax] + (d * r,) + x.shape[ax + 1:])
    reps = np.asarray(repeats)
    if reps.dtype.kind not in "iu" or reps.ndim != 1:
        raise SymbackError("repeat: repeats must be an int or a 1-d list of ints")
    n = _int_size("repeat", x, ax)
    if reps.size == 1:
        return repeat(x, int(reps[0]), ax)
    if reps.size != n or (reps < 0).any():
        raise ShapeError(f"repeat: {reps.size} counts for an axis of size {n} (need {n}, "
                         "each ≥ 0)", op="repeat")
    return take_op(x, const(np.repeat(np.arange(n, dtype=np.int64), reps)), axis=ax)


def tile(A: Any, reps: Any) -> Expr:
    """NumPy's ``tile(A, reps)``: ``A`` repeated ``reps[i]`` times along each axis (shapes
    padded with leading 1s to the same length). ``expand_dims``, ``broadcast_to`` and
    ``reshape``; derivative: the cotangent summed over the copies.

    >>> import symback as sb
    >>> x = sb.tensor("x", (2, 3))
    >>> sb.tile(x, (2, 2)).shape
    (4, 6)
    """
    x = as_expr(A)
    rs = [reps] if _is_int(reps) else list(reps)
    if any(isinstance(r, bool) or not _is_int(r) or r < 0 for r in rs):
        raise SymbackError(f"tile: reps={reps!r} must be non-negative ints")
    nd = max(len(rs), x.ndim)
    rs = [1] * (nd - len(rs)) + [int(r) for r in rs]
    if x.ndim < nd:
        x = reshape_op(x, shape=(1,) * (nd - x.ndim) + x.shape)
    if all(r == 1 for r in rs):
        return x
    wide = _expand_dims_op(x, axis=tuple(2 * i for i in range(nd)))
    big = _broadcast_to(wide, tuple(v for r, d in zip(rs, x.shape) for v in (r, d)))
    out: list[Dim] = []
    for r, d in zip(rs, x.shape):
        if r == 1:
            out.append(d)
        elif isinstance(d, int):
            out.append(r * d)
        else:
            raise ShapeError(f"tile: repeating the symbolic size {d!r} of {fmt(x.shape)} gives "
                             "an unknown size", op="tile", shapes=(x.shape,))
    return reshape_op(big, shape=tuple(out))


# ---------------------------------------------------------------- joining


def _seq(name: str, tup: Any) -> list[Expr]:
    if isinstance(tup, Expr) or not isinstance(tup, (list, tuple)) or not tup:
        raise SymbackError(f"{name}: expects a non-empty list or tuple of arrays")
    return [as_expr(t) for t in tup]


def append(arr: Any, values: Any, axis: Any = None) -> Expr:
    """NumPy's ``append(arr, values, axis=None)``: ``concatenate`` (``None``: of both
    flattened).

    >>> import symback as sb
    >>> x = sb.tensor("x", (2, 2))
    >>> sb.append(x, sb.tensor("y", (3,))).shape
    (7,)
    """
    x, v = as_expr(arr), as_expr(values)
    if axis is None:
        return concatenate_op(ravel(x), ravel(v), axis=0)
    return concatenate_op(x, v, axis=axis)


def vstack(tup: Any) -> Expr:
    """NumPy's ``vstack(tup)``: rows on top of each other (``atleast_2d``, ``concatenate``
    along axis 0).

    >>> import symback as sb
    >>> a, b = sb.tensor("a", (3,)), sb.tensor("b", (2, 3))
    >>> sb.vstack([a, b]).shape
    (3, 3)
    """
    xs = [atleast_2d(x) for x in _seq("vstack", tup)]
    return _concat(xs, 0)


def hstack(tup: Any) -> Expr:
    """NumPy's ``hstack(tup)``: side by side (``concatenate`` along axis 1; axis 0 for 1-d).

    >>> import symback as sb
    >>> a, b = sb.tensor("a", (2,)), sb.tensor("b", (3,))
    >>> sb.hstack([a, b]).shape
    (5,)
    """
    xs = [atleast_1d(x) for x in _seq("hstack", tup)]
    return _concat(xs, 0 if xs[0].ndim == 1 else 1)


def dstack(tup: Any) -> Expr:
    """NumPy's ``dstack(tup)``: along the third axis (``atleast_3d``, ``concatenate``).

    >>> import symback as sb
    >>> a = sb.tensor("a", (2, 3))
    >>> sb.dstack([a, a]).shape
    (2, 3, 2)
    """
    xs = [atleast_3d(x) for x in _seq("dstack", tup)]
    return _concat(xs, 2)


def column_stack(tup: Any) -> Expr:
    """NumPy's ``column_stack(tup)``: 1-d arrays as columns, 2-d as they are
    (``expand_dims``, ``concatenate`` along axis 1).

    >>> import symback as sb
    >>> a, b = sb.tensor("a", (3,)), sb.tensor("b", (3, 2))
    >>> sb.column_stack([a, b]).shape
    (3, 3)
    """
    xs = []
    for x in _seq("column_stack", tup):
        xs.append(_expand_dims_op(x, axis=(1,)) if x.ndim < 2 else x)
        if x.ndim == 0:
            raise ShapeError("column_stack: 0-d arrays cannot be columns", op="column_stack")
    return _concat(xs, 1)


# ---------------------------------------------------------------- splitting


def array_split(ary: Any, indices_or_sections: Any, axis: int = 0) -> list[Expr]:
    """NumPy's ``array_split``: a list of slices (basic indexing, views) along ``axis``; an
    int ``N`` gives N parts, the first ``size % N`` one longer; a list gives split points.

    >>> import symback as sb
    >>> x = sb.tensor("x", (7,))
    >>> [p.shape for p in sb.array_split(x, 3)]
    [(3,), (2,), (2,)]
    """
    x = as_expr(ary)
    ax = _axis("array_split", axis, x.ndim)
    n = _int_size("array_split", x, ax)
    ios = indices_or_sections
    if _is_int(ios) and not isinstance(ios, bool):
        k = int(ios)
        if k <= 0:
            raise SymbackError("array_split: the number of sections must be > 0")
        each, extra = divmod(n, k)
        sizes = [each + 1] * extra + [each] * (k - extra)
        points = list(np.cumsum([0] + sizes))
    else:
        cuts = [int(c) for c in ios]
        points = [0] + cuts + [n]
    return [_slice_along(x, ax, slice(int(a), int(b))) for a, b in zip(points, points[1:])]


def split(ary: Any, indices_or_sections: Any, axis: int = 0) -> list[Expr]:
    """NumPy's ``split``: as :func:`array_split`, but an int must divide the axis evenly.

    >>> import symback as sb
    >>> x = sb.tensor("x", (6, 2))
    >>> [str(p) for p in sb.split(x, [2])]
    ['x[:2]', 'x[2:]']
    """
    x = as_expr(ary)
    ax = _axis("split", axis, x.ndim)
    if _is_int(indices_or_sections) and not isinstance(indices_or_sections, bool):
        n = _int_size("split", x, ax)
        k = int(indices_or_sections)
        if k <= 0 or n % k:
            raise ShapeError(f"split: an axis of size {n} does not split into {k} equal parts",
                             op="split", shapes=(x.shape,))
    return array_split(x, indices_or_sections, ax)


def hsplit(ary: Any, indices_or_sections: Any) -> list[Expr]:
    """NumPy's ``hsplit``: :func:`split` along axis 1 (axis 0 for 1-d arrays).

    >>> import symback as sb
    >>> x = sb.tensor("x", (2, 4))
    >>> [p.shape for p in sb.hsplit(x, 2)]
    [(2, 2), (2, 2)]
    """
    x = as_expr(ary)
    if x.ndim == 0:
        raise ShapeError("hsplit: needs an array of at least one dimension", op="hsplit")
    return split(x, indices_or_sections, 1 if x.ndim > 1 else 0)


def vsplit(ary: Any, indices_or_sections: Any) -> list[Expr]:
    """NumPy's ``vsplit``: :func:`split` along axis 0 (arrays of at least 2 dimensions).

    >>> import symback as sb
    >>> x = sb.tensor("x", (4, 2))
    >>> [p.shape for p in sb.vsplit(x, 2)]
    [(2, 2), (2, 2)]
    """
    x = as_expr(ary)
    if x.ndim < 2:
        raise ShapeError("vsplit: needs an array of at least two dimensions", op="vsplit")
    return split(x, indices_or_sections, 0)


def dsplit(ary: Any, indices_or_sections: Any) -> list[Expr]:
    """NumPy's ``dsplit``: :func:`split` along axis 2 (arrays of at least 3 dimensions).

    >>> import symback as sb
    >>> x = sb.tensor("x", (1, 2, 4))
    >>> [p.shape for p in sb.dsplit(x, 2)]
    [(1, 2, 2), (1, 2, 2)]
    """
    x = as_expr(ary)
    if x.ndim < 3:
        raise ShapeError("dsplit: needs an array of at least three dimensions", op="dsplit")
    return split(x, indices_or_sections, 2)


# ---------------------------------------------------------------- padding and differences


def _pad_widths(x: Expr, pad_width: Any) -> list[tuple[int, int]]:
    pw = np.asarray(pad_width)
    if pw.dtype.kind not in "iu" or (pw < 0).any():
        raise SymbackError(f"pad: pad_width={pad_width!r} must be non-negative ints")
    try:
        pw = np.broadcast_to(pw.reshape(-1, 2) if pw.size == 2 and pw.ndim == 1 else pw,
                             (x.ndim, 2))
    except ValueError:
        raise ShapeError(f"pad: pad_width={pad_width!r} does not fit {x.ndim} dimension(s)",
                         op="pad") from None
    return [(int(b), int(a)) for b, a in pw]


def pad(array: Any, pad_width: Any, mode: str = "constant", **kwargs: Any) -> Expr:
    """NumPy's ``pad(array, pad_width, mode='constant', ...)`` for modes ``constant``
    (``constant_values``, default 0), ``edge`` and ``reflect``.

    ``constant``: ``concatenate`` with blocks of the constant (``broadcast_to``); derivative:
    the middle slice of the cotangent. ``edge`` and ``reflect``: one ``take`` per padded
    axis with the constant index ``np.pad(arange(n), width, mode)``; derivative: the
    cotangent scatter-added back (edge entries collect the padding's share).

    >>> import symback as sb
    >>> x = sb.tensor("x", (3,))
    >>> print(sb.pad(x, (2, 1), mode="edge"))
    take(x, array([0, 0, 0, 1, 2, 2]), axis=0)
    """
    x = as_expr(array)
    widths = _pad_widths(x, pad_width)
    if mode == "constant":
        extra = set(kwargs) - {"constant_values"}
        if extra:
            raise SymbackError(f"pad: unexpected argument(s) {sorted(extra)} for mode 'constant'")
        cv = np.asarray(kwargs.get("constant_values", 0), dtype=np.float64)
        try:
            cv = np.broadcast_to(cv.reshape(-1, 2) if cv.size == 2 and cv.ndim == 1 else cv,
                                 (x.ndim, 2))
        except ValueError:
            raise SymbackError("pad: constant_values does not fit the array's dimensions") \
                from None
        dt = np.float32 if x.dtype == "float32" else np.float64
        for ax, (b, a) in enumerate(widths):
            if not (a or b):
                continue
            parts = []
            for w, c in ((b, cv[ax, 0]), (None, None), (a, cv[ax, 1])):
                if w is None:
                    parts.append(x)
                elif w:
                    shp = x.shape[:ax] + (w,) + x.shape[ax + 1:]
                    parts.append(_broadcast_to(const(np.asarray(c, dtype=dt)), shp))
            x = concatenate_op(*parts, axis=ax)
        return x
    if mode not in ("edge", "reflect"):
        raise SymbackError(f"pad: mode {mode!r} is not supported (constant, edge, reflect)")
    if kwargs:
        raise SymbackError(f"pad: unexpected argument(s) {sorted(kwargs)} for mode {mode!r}")
    for ax, (b, a) in enumerate(widths):
        if not (a or b):
            continue
        n = _int_size("pad", x, ax)
        if n == 0 or (mode == "reflect" and n == 1 and (a or b)):
            raise ShapeError(f"pad: cannot pad an axis of size {n} in mode {mode!r}", op="pad")
        idx = np.pad(np.arange(n, dtype=np.int64), (b, a), mode=mode)
        x = take_op(x, const(idx), axis=ax)
    return x


def diff(a: Any, n: int = 1, axis: int = -1, prepend: Any = None, append: Any = None) -> Expr:
    """NumPy's ``diff(a, n=1, axis=-1, prepend=None, append=None)``: ``n``-th forward
    differences ``a[1:] - a[:-1]`` along ``axis`` (basic indexing and ``sub``;
    ``prepend``/``append`` joined first with ``concatenate``).

    >>> import symback as sb
    >>> x = sb.tensor("x", (4,))
    >>> print(sb.diff(x))
    x[1:] - x[:-1]
    """
    x = as_expr(a)
    if isinstance(n, bool) or not _is_int(n) or n < 0:
        raise SymbackError(f"diff: order n={n!r} must be a non-negative int")
    ax = _axis("diff", axis, x.ndim)
    parts = []
    for v, where in ((prepend, 0), (None, 1), (append, 2)):
        if where == 1:
            parts.append(x)
        elif v is not None:
            e = as_expr(v)
            if e.ndim == 0:
                e = _broadcast_to(e, x.shape[:ax] + (1,) + x.shape[ax + 1:])
            parts.append(e)
    x = _concat(parts, ax)
    for _ in range(int(n)):
        size = _int_size("diff", x, ax)
        if size == 0:
            break
        x = _slice_along(x, ax, slice(1, None)) - _slice_along(x, ax, slice(None, -1))
    return x


def select(condlist: Any, choicelist: Any, default: Any = 0) -> Expr:
    """NumPy's ``select(condlist, choicelist, default=0)``: where the first true condition
    picks its choice, else ``default``. Nested ``where`` (derivative: each choice's
    cotangent masked by where it was picked).

    >>> import symback as sb
    >>> x = sb.tensor("x", (3,))
    >>> print(sb.select([x > 1.0], [x], 0.0))
    where(x > 1.0, x, 0.0)
    """
    from .elementwise import where

    conds = list(condlist)
    choices = list(choicelist)
    if len(conds) != len(choices):
        raise SymbackError(f"select: {len(conds)} conditions but {len(choices)} choices")
    if not conds:
        raise SymbackError("select: needs at least one condition")
    out = as_expr(default)
    for c, v in zip(reversed(conds), reversed(choices)):
        ce = as_expr(c)
        if ce.dtype != "bool":
            raise SymbackError(f"select: conditions must be boolean, got dtype {ce.dtype}")
        out = where(ce, v, out)
    return out
