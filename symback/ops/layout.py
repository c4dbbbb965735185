"""NumPy's reshaping, reordering and repeating functions, composed of a few general ops
(joining, splitting and padding: :mod:`symback.ops.join`).

Nothing here registers an op: every function is a composition of ``transpose``,
``reshape``, ``broadcast_to``, ``expand_dims``/``squeeze``, ``concatenate``, basic indexing
(``getitem``) and the gathers of :mod:`symback.ops.gather` (``take``), so each one's
derivative, printing and code come from those ops. Each docstring says which ops it uses.
Sizes along the axes these functions cut or join must be ints (a symbolic size would make
the result's shape unknown); other axes may be symbolic.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from ..errors import ShapeError, SymbackError
from ..graph import Expr, as_expr, broadcast_to as _broadcast_to, const
from ..shapes import Dim, check_shape, dim_names, fmt
from ._common import _is_int
from .gather import take_op
from .index import getitem
from .shape import concatenate_op, reshape_op, transpose
from .structural import expand_dims as _expand_dims_op
from .structural import squeeze as _squeeze_op

__all__ = [
    "ravel", "squeeze", "expand_dims", "moveaxis", "swapaxes", "rollaxis", "flip", "flipud",
    "fliplr", "rot90", "roll", "repeat", "tile", "broadcast_to", "atleast_1d", "atleast_2d",
    "atleast_3d",
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
    if isinstance(shape, (int, str, Expr)) and not isinstance(shape, bool):
        shape = (shape,)
    return _broadcast_to(as_expr(array), check_shape(dim_names(shape), what="broadcast_to"))


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
