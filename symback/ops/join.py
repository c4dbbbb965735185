"""NumPy's joining, splitting, padding and differencing functions, composed of ops.

As in :mod:`symback.ops.layout`, nothing here registers an op: ``concatenate``, basic
indexing (``getitem``), ``broadcast_to``, ``take`` and ``where`` carry everything, and each
docstring says which. Sizes along the joined, split or padded axis must be ints.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import ShapeError, SymbackError
from ..graph import Expr, as_expr, const
from ..graph import broadcast_to as _broadcast_to
from ._common import _is_int
from .gather import take_op
from .layout import (_axis, _concat, _int_size, _slice_along, atleast_1d, atleast_2d,
                     atleast_3d, ravel)
from .shape import concatenate_op
from .structural import expand_dims as _expand_dims_op

__all__ = ["append", "vstack", "hstack", "dstack", "column_stack", "split", "array_split",
           "hsplit", "vsplit", "dsplit", "pad", "diff", "select"]


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
        if x.ndim == 0:
            raise ShapeError("column_stack: 0-d arrays cannot be columns", op="column_stack")
        xs.append(_expand_dims_op(x, axis=(1,)) if x.ndim < 2 else x)
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
    where(x > 1, x, 0)
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
