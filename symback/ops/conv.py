"""Convolution and pooling as in deep-learning frameworks (N-d cross-correlation).

``conv(x, w)`` for ``x`` of shape ``(N, C, *S)`` and ``w`` of shape ``(F, C/G, *K)``:

    y[n, f, o] = Σ_{c ∈ group(f)} Σ_k w[f, c, k] · x_pad[n, c, s ⊙ o + d ⊙ k]

with stride ``s``, dilation ``d``, ``G = groups`` and ``x_pad`` the input padded with zeros
(``padding`` as ``(lo, hi)`` pairs per spatial axis). The convolution is bilinear, so its
two adjoints close the algebra and every order of derivative is written in these three ops:

* ``conv_dx(g, w)`` = ∂⟨g, conv(x, w)⟩/∂x  (the "transposed convolution" of g with w),
* ``conv_dw(x, g)`` = ∂⟨g, conv(x, w)⟩/∂w  (the correlation of x with g),

and ``⟨c, conv_dx(g, w)⟩ = ⟨conv(c, w), g⟩``, ``⟨c, conv_dw(x, g)⟩ = ⟨g, conv(x, c)⟩`` give
their VJPs. The generated code views the padded input through ``as_strided`` windows
(im2col) and makes one batched ``matmul`` per call; the input gradient scatters the columns
back with one strided add per kernel offset (a loop over the K offsets, never over data).

Max pooling: ``i = max_pool_index(x)`` holds each window's first maximum (integers, PyTorch's
convention at ties) and ``max_pool(x) = max_pool_gather(x, i)`` reads x there. The gather is
linear in its first argument, with adjoint ``max_pool_dx(g, i)`` (g added at the positions),
whose adjoint is the gather again; the positions are locally constant in x, so nothing flows
through i. One index node serves the forward value and every derivative.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .. import numeric
from ..errors import ShapeError, SymbackError
from ..graph import Expr, Op
from ..notation import ATOM, Notation
from ..shapes import Shape, fmt
from . import register
from .elementwise import add

# ---------------------------------------------------------------- kernels (inlined into .source)


def conv_windows(x, k, stride, padding, dilation):
    """The im2col view of x (N, C, *S) in channels-last memory: shape (N, *out, *k, C),
    read-only. x is copied once into a zero-padded (N, *S_pad, C) array (a view of x itself
    when it is channels-last already and unpadded), so a window's (k_last, C) entries are
    adjacent in memory and the column copy runs over long contiguous rows."""
    nd = len(k)
    xt = np.moveaxis(x, 1, -1)
    if any(lo or hi for lo, hi in padding):
        s = tuple(x.shape[2 + i] + padding[i][0] + padding[i][1] for i in range(nd))
        xp = np.zeros((x.shape[0],) + s + (x.shape[1],), dtype=x.dtype)
        xp[(slice(None),) + tuple(slice(padding[i][0], padding[i][0] + x.shape[2 + i])
                                  for i in range(nd))] = xt
    elif x.shape[1] > 1:
        xp = np.ascontiguousarray(xt)
    else:
        xp = xt
    s = xp.shape[1:1 + nd]
    out = tuple((s[i] - dilation[i] * (k[i] - 1) - 1) // stride[i] + 1 for i in range(nd))
    st = xp.strides
    strides = (st[0],) + tuple(st[1 + i] * stride[i] for i in range(nd)) \
        + tuple(st[1 + i] * dilation[i] for i in range(nd)) + (st[-1],)
    return np.lib.stride_tricks.as_strided(xp, (xp.shape[0],) + out + tuple(k) + (xp.shape[-1],),
                                           strides, writeable=False)


def conv_windows_cf(x, k, stride, padding, dilation):
    """The windows of x (N, C, *S) zero-padded in its own channels-first layout: a view of
    shape (N, C, *k, *out), so each (sample, channel, offset) row runs along the output's
    last axis in memory."""
    nd = len(k)
    if any(lo or hi for lo, hi in padding):
        x = np.pad(x, ((0, 0), (0, 0)) + tuple(padding))
    s = x.shape[2:]
    out = tuple((s[i] - dilation[i] * (k[i] - 1) - 1) // stride[i] + 1 for i in range(nd))
    st = x.strides
    strides = st[:2] + tuple(st[2 + i] * dilation[i] for i in range(nd)) \
        + tuple(st[2 + i] * stride[i] for i in range(nd))
    return np.lib.stride_tricks.as_strided(x, x.shape[:2] + tuple(k) + out, strides,
                                           writeable=False)


def conv_rows_first(c, k, f):
    """Whether the columns of a convolution are few (C/G · Π k ≤ F/G, as a first layer's):
    then a per-sample product in channels-first layout beats channels-last im2col, whose
    output would need a transposing pass over the larger (N, F, *out)."""
    m = c
    for d in k:
        m *= d
    return m <= f


def conv_cols(x, k, stride, padding, dilation, groups):
    """im2col: (G, N·Π out, Π k · C/G) columns of the windows of x (kernel offsets outer,
    channels inner), and the output's spatial shape."""
    win = conv_windows(x, k, stride, padding, dilation)
    nd = len(k)
    n = win.shape[0]
    out = win.shape[1:1 + nd]
    m = n
    for d in out:
        m *= d
    if groups == 1:
        return win.reshape(1, m, -1), out
    win = win.reshape(win.shape[:-1] + (groups, -1))
    perm = (1 + 2 * nd,) + tuple(range(1 + 2 * nd)) + (2 + 2 * nd,)
    return win.transpose(perm).reshape(groups, m, -1), out


def conv_wmat(w, groups):
    """w (F, C/G, *k) as (G, F/G, Π k · C/G), matching the column order of conv_cols."""
    f = w.shape[0]
    wt = np.moveaxis(w, 1, -1)
    return np.ascontiguousarray(wt).reshape(groups, f // groups, -1)


def conv_gmat(g, groups):
    """g (N, F, *out) as (G, N·Π out, F/G): one channels-last copy."""
    n, f = g.shape[:2]
    nd = g.ndim - 2
    gm = g.reshape((n, groups, f // groups) + g.shape[2:])
    gm = gm.transpose((1, 0) + tuple(range(3, 3 + nd)) + (2,))
    return gm.reshape(groups, -1, f // groups)


def conv_nd(x, w, stride, padding, dilation, groups):
    """y = conv(x, w): (N, F, *out) by one matmul of the im2col columns with the weights.

    Few columns (C/G · Π k ≤ F/G): columns (N, G, C/G · Π k, Π out) and a product per sample
    and group, whose result is y in its own layout. Otherwise channels-last columns
    (G, N · Π out, Π k · C/G) and one product, returned as a channels-last array viewed as
    (N, F, *out) (no copy)."""
    k = w.shape[2:]
    nd = len(k)
    f = w.shape[0]
    n = x.shape[0]
    if conv_rows_first(w.shape[1], k, f // groups):
        win = conv_windows_cf(x, k, stride, padding, dilation)
        out = win.shape[2 + nd:]
        cols = win.reshape(n, groups, w[0].size, -1)  # C/G · Π k rows per sample and group
        y = np.matmul(w.reshape(groups, f // groups, -1), cols)  # (N, G, F/G, Π out)
        return y.reshape((n, f) + out)
    cols, out = conv_cols(x, k, stride, padding, dilation, groups)
    y = np.matmul(cols, conv_wmat(w, groups).transpose(0, 2, 1))  # (G, N·out, F/G)
    y = y.reshape((groups, n) + out + (f // groups,))
    y = y.transpose((1, 0, 2 + nd) + tuple(range(2, 2 + nd)))
    return y.reshape((n, f) + out)


def conv_dw(x, g, k, stride, padding, dilation, groups):
    """∂⟨g, conv(x, w)⟩/∂w: (F, C/G, *k) as a matmul gᵀ · cols. Few columns (as conv_nd
    decides): per sample and group, g (F/G, Π out) times the channels-first columns
    (C/G · Π k, Π out) transposed, summed over the samples; else one product over
    channels-last columns (G, N · Π out, Π k · C/G)."""
    f = g.shape[1]
    nd = len(k)
    n, c = x.shape[:2]
    cg = c // groups
    if conv_rows_first(cg, k, f // groups):
        # one product per sample and group on g in its own layout (no transposing copy of
        # the large g), summed over the samples
        win = conv_windows_cf(x, k, stride, padding, dilation)  # (N, C, *k, *out)
        rows, m = cg, 1
        for d in k:
            rows *= d
        for d in win.shape[2 + nd:]:
            m *= d
        cols = win.reshape(n, groups, rows, m)  # (N, G, C/G · Π k, Π out)
        gt = g.reshape(n, groups, f // groups, m)  # (N, G, F/G, Π out)
        dw = np.add.reduce(np.matmul(gt, cols.transpose(0, 1, 3, 2)), axis=0)
        return dw.reshape((f, cg) + tuple(k))
    cols, _ = conv_cols(x, k, stride, padding, dilation, groups)
    dw = np.matmul(conv_gmat(g, groups).transpose(0, 2, 1), cols)  # (G, F/G, Π k · C/G)
    dw = dw.reshape((f,) + tuple(k) + (cg,))
    return np.ascontiguousarray(np.moveaxis(dw, -1, 1))


def conv_dx(g, w, s, stride, padding, dilation, groups):
    """∂⟨g, conv(x, w)⟩/∂x for x of spatial shape s (col2im): one batched matmul gives, per
    kernel offset, the contiguous block g · w[:, :, offset] (N · Π out, C/G), added into a
    channels-last array of x's own (unpadded) shape through one strided view per offset,
    clipped to the outputs whose window entry at that offset lies inside x (entries in the
    padding are dropped, never written). An offset whose block covers all of x (stride 1,
    usually the kernel's centre under "same" padding) is copied in first, so the array needs
    no zero fill; returned viewed as (N, C, *s)."""
    k = w.shape[2:]
    nd = len(k)
    n, f = g.shape[:2]
    out = g.shape[2:]
    cg = w.shape[1]
    wk = np.moveaxis(w.reshape((groups, f // groups, cg) + tuple(k)), (0, 1, 2),
                     (nd, nd + 1, nd + 2))  # (*k, G, F/G, C/G)
    wk = np.ascontiguousarray(wk).reshape((-1, groups, f // groups, cg))
    cols = np.matmul(conv_gmat(g, groups), wk)  # (Π k, G, N · Π out, C/G)
    parts = []  # (offset index, slices into the outputs, slices into x) per offset that hits x
    cover = None
    for j, kk in enumerate(np.ndindex(*k)):
        src, dst = [], []
        for i in range(nd):
            # output o reads x at q = kk·d + stride·o − lo; keep 0 <= q < s
            base = kk[i] * dilation[i] - padding[i][0]
            o0 = max(0, -(base // stride[i]))
            o1 = min(out[i], -((base - s[i]) // stride[i]))
            if o1 <= o0:
                break
            src.append(slice(o0, o1))
            dst.append(slice(base + stride[i] * o0, base + stride[i] * (o1 - 1) + 1, stride[i]))
        else:
            parts.append((j, tuple(src), tuple(dst)))
            if cover is None and all(stride[i] == 1 and dst[i].stop - dst[i].start == s[i]
                                     for i in range(nd)):
                cover = len(parts) - 1
    dt = np.result_type(g, w)
    if cover is None:
        dx = np.zeros((n,) + tuple(s) + (groups, cg), dtype=dt)
    else:
        dx = np.empty((n,) + tuple(s) + (groups, cg), dtype=dt)
        parts.insert(0, parts.pop(cover))
    for m, (j, src, dst) in enumerate(parts):
        blk = cols[j].reshape((groups, n) + out + (cg,))
        blk = blk[(slice(None), slice(None)) + src]
        if groups == 1:
            d, b = dx[(slice(None),) + dst + (0,)], blk[0]  # (N, *o, C)
        else:
            d, b = dx[(slice(None),) + dst], np.moveaxis(blk, 0, -2)  # (N, *o, G, C/G)
        if m == 0 and cover is not None:
            np.copyto(d, b)
        else:
            np.add(d, b, out=d)
    return np.moveaxis(dx.reshape((n,) + tuple(s) + (groups * cg,)), -1, 1)


def pool_views(x, k, stride, padding, fill):
    """One strided view (N, *out, C) of x (N, C, *s) (padded with ``fill``) per kernel offset,
    in the window's C order. The channel axis goes last so that the elementwise passes over
    the views run their inner loops along C (or along N·C when x is channels-last) rather
    than along the short strided output rows."""
    nd = len(k)
    if any(lo or hi for lo, hi in padding):
        x = np.pad(x, ((0, 0), (0, 0)) + tuple(padding), constant_values=fill)
    s = x.shape[2:]
    out = tuple((s[i] - k[i]) // stride[i] + 1 for i in range(nd))
    return [np.moveaxis(x[(slice(None), slice(None)) + tuple(
        slice(kk[i], kk[i] + stride[i] * (out[i] - 1) + 1, stride[i]) for i in range(nd))], 1, -1)
        for kk in np.ndindex(*k)]


def pool_bits(a):
    """a's entries as same-sized signed integers (a view), or None for other dtypes: a masked
    select then becomes ``bits * mask`` (0 or the exact pattern), with no branch per entry."""
    ints = {2: np.int16, 4: np.int32, 8: np.int64}.get(a.dtype.itemsize)
    return a.view(ints) if a.dtype.kind == "f" and ints is not None else None


def pool_small_index(idx, k):
    """The window positions in the narrowest integer type that holds them (int8 for windows
    of up to 127 entries): the per-offset comparisons then read an eighth of the bytes."""
    kk = 1
    for d in k:
        kk *= d
    t = np.int8 if kk <= 127 else (np.int16 if kk <= 32767 else np.int64)
    return idx if idx.dtype == t else idx.astype(t)


def max_pool_index(x, k, stride, padding):
    """Flat index (within the window) of each window's first maximum; padding is -inf.

    A running maximum over the kernel offsets (one strided view each): offset j takes over
    where it is strictly greater than all before it, so ties keep the first, and as j grows
    the index is max(index, j · [greater]) (kept in a small integer type, int64 at the end).
    A NaN (which ``argmax`` counts as the maximum) or an infinity sends the input to the
    exact ``argmax`` over the stacked views."""
    views = pool_views(x, k, stride, padding, -np.inf)
    best = views[0].copy()
    idx = pool_small_index(np.zeros(best.shape, dtype=np.int8), k)
    one = np.ones((), dtype=idx.dtype)
    for j in range(1, len(views)):
        np.maximum(idx, np.multiply(np.greater(views[j], best), one * j), out=idx)
        np.maximum(best, views[j], out=best)
    t = float(np.add.reduce(best, axis=None))
    if t - t != 0:  # inf or NaN somewhere (or an overflowing sum): argmax decides
        return np.moveaxis(np.argmax(np.stack(views, axis=-1), axis=-1), -1, 1)
    return np.moveaxis(idx.astype(np.int64), -1, 1)  # channels-last memory, (N, C, *out)


def max_pool_gather(c, idx, k, stride, padding):
    """c read at the window positions ``idx`` (max_pool(x) is x read at its own indices):
    the sum over offsets j of c's bit patterns masked by [idx = j] (one term is nonzero)."""
    views = pool_views(c, k, stride, padding, 0)  # (N, *out, C) each
    idx = pool_small_index(np.moveaxis(idx, 1, -1), k)
    out = views[0].copy()
    ob = pool_bits(out)
    if ob is None:
        for j in range(1, len(views)):
            out = np.where(np.equal(idx, j), views[j], out)
        return np.moveaxis(out, -1, 1)
    np.multiply(ob, np.equal(idx, 0), out=ob)
    for j in range(1, len(views)):
        np.add(ob, np.multiply(pool_bits(views[j]), np.equal(idx, j)), out=ob)
    return np.moveaxis(out, -1, 1)  # channels-last memory viewed as (N, C, *out)


def max_pool_dx(g, idx, k, stride, padding, s):
    """Each window's cotangent g added at window position ``idx`` of an input of spatial
    shape s: one masked write per kernel offset into a strided view (bit pattern times the
    mask, as ``where(idx = j, g, 0)``), an add where windows overlap."""
    nd = len(k)
    n, c = g.shape[:2]
    out = g.shape[2:]
    padded = tuple(s[i] + padding[i][0] + padding[i][1] for i in range(nd))
    tile = all(stride[i] >= k[i] for i in range(nd))
    exact = all(stride[i] == k[i] and padded[i] == out[i] * k[i] for i in range(nd))
    gb = pool_bits(g)
    # windows that tile the input exactly write every entry: no zero fill needed
    dx = (np.empty if exact and gb is not None else np.zeros)((n, c) + padded, dtype=g.dtype)
    # the passes run in (N, *out, C) order, as max_pool_index and max_pool_gather's
    g = np.ascontiguousarray(np.moveaxis(g, 1, -1))  # read once per offset: one copy at most
    idx = pool_small_index(np.moveaxis(idx, 1, -1), k)
    gb = pool_bits(g)
    for j, kj in enumerate(np.ndindex(*k)):
        sl = tuple(slice(kj[i], kj[i] + stride[i] * (out[i] - 1) + 1, stride[i])
                   for i in range(nd))
        dst = np.moveaxis(dx[(slice(None), slice(None)) + sl], 1, -1)
        if gb is None:
            dst += np.where(np.equal(idx, j), g, 0)
        elif tile:  # each input position is in one window at most
            np.multiply(gb, np.equal(idx, j), out=pool_bits(dst))
        else:
            dst += np.multiply(gb, np.equal(idx, j)).view(g.dtype)
    if any(lo or hi for lo, hi in padding):
        crop = tuple(slice(padding[i][0], padding[i][0] + s[i]) for i in range(nd))
        dx = dx[(slice(None), slice(None)) + crop]
    return dx


for _fn in (conv_windows, conv_windows_cf, conv_rows_first, conv_cols, conv_wmat, conv_gmat, conv_nd, conv_dw, conv_dx,
            pool_views, pool_bits, pool_small_index, max_pool_index, max_pool_gather, max_pool_dx):
    numeric.HELPERS[_fn.__name__] = _fn
numeric.DEPENDS.update({
    "conv_cols": ("conv_windows",),
    "conv_nd": ("conv_cols", "conv_wmat", "conv_windows_cf", "conv_rows_first"),
    "conv_dw": ("conv_cols", "conv_gmat", "conv_windows_cf", "conv_rows_first"),
    "conv_dx": ("conv_gmat",),
    "max_pool_index": ("pool_views", "pool_small_index"),
    "max_pool_gather": ("pool_views", "pool_bits", "pool_small_index"),
    "max_pool_dx": ("pool_bits", "pool_small_index"),
})

# ---------------------------------------------------------------- attributes


def _tuple(name: str, what: str, v: Any, nd: int, lo: int) -> tuple[int, ...]:
    vals = (v,) * nd if isinstance(v, (int, np.integer)) and not isinstance(v, bool) else v
    try:
        vals = tuple(vals)
    except TypeError:
        raise SymbackError(f"{name}: {what} must be an int or a tuple of {nd} ints, "
                           f"not {v!r}") from None
    if len(vals) != nd or not all(isinstance(a, (int, np.integer)) and not isinstance(a, bool)
                                  and a >= lo for a in vals):
        raise SymbackError(f"{name}: {what} must be an int ≥ {lo} or a tuple of {nd} such ints, "
                           f"not {v!r}")
    return tuple(int(a) for a in vals)


def _int_dims(name: str, shape: Shape, what: str) -> tuple[int, ...]:
    if not all(isinstance(d, int) for d in shape):
        raise ShapeError(f"{name}: the {what} dimensions must be ints (only the batch size may be "
                         f"symbolic), got {fmt(shape)}", op=name, shapes=(shape,))
    return tuple(shape)  # type: ignore[return-value]


def normalize_padding(name: str, padding: Any, k: tuple[int, ...], stride: tuple[int, ...],
                      dilation: tuple[int, ...]) -> tuple[tuple[int, int], ...]:
    """``padding`` as ``(lo, hi)`` per spatial axis: an int, a tuple, pairs, "valid" or "same".

    "same" (stride 1 only, as in PyTorch) pads d·(k − 1) in total, the extra one at the end.
    """
    nd = len(k)
    if isinstance(padding, str):
        if padding == "valid":
            return ((0, 0),) * nd
        if padding == "same":
            if any(s != 1 for s in stride):
                raise SymbackError(f"{name}: padding='same' needs stride 1 (as in PyTorch), "
                                   f"got stride {stride}")
            tot = [dilation[i] * (k[i] - 1) for i in range(nd)]
            return tuple((t // 2, t - t // 2) for t in tot)
        raise SymbackError(f"{name}: padding must be an int, a tuple, 'same' or 'valid', "
                           f"not {padding!r}")
    if isinstance(padding, (tuple, list)) and padding and all(
            isinstance(p, (tuple, list)) for p in padding):
        pairs = tuple(_tuple(name, "each padding pair", p, 2, 0) for p in padding)
        if len(pairs) != nd:
            raise SymbackError(f"{name}: padding needs {nd} (lo, hi) pairs, got {padding!r}")
        return pairs  # type: ignore[return-value]
    p = _tuple(name, "padding", padding, nd, 0)
    return tuple((a, a) for a in p)


def _out_dims(name: str, s: tuple[int, ...], k: tuple[int, ...], stride: tuple[int, ...],
              padding: tuple[tuple[int, int], ...], dilation: tuple[int, ...]) -> tuple[int, ...]:
    out = []
    for i in range(len(k)):
        span = dilation[i] * (k[i] - 1) + 1
        size = s[i] + padding[i][0] + padding[i][1]
        if size < span:
            raise ShapeError(f"{name}: the (padded) input size {size} along spatial axis {i} is "
                             f"smaller than the kernel's span {span}", op=name)
        out.append((size - span) // stride[i] + 1)
    return tuple(out)


def _conv_attrs(args: tuple[Expr, ...], attrs: dict[str, Any], x_at: int, w_at: int | None,
                name: str) -> dict[str, Any]:
    x = args[x_at]
    k = attrs.get("k") or _int_dims(name, args[w_at].shape[2:], "kernel")  # type: ignore[index]
    nd = len(k)
    stride = _tuple(name, "stride", attrs.get("stride", 1), nd, 1)
    dilation = _tuple(name, "dilation", attrs.get("dilation", 1), nd, 1)
    padding = attrs.get("padding", 0)
    if not (isinstance(padding, tuple) and all(isinstance(p, tuple) for p in padding)
            and len(padding) == nd):
        padding = normalize_padding(name, padding, k, stride, dilation)
    groups = attrs.get("groups", 1)
    if not isinstance(groups, (int, np.integer)) or isinstance(groups, bool) or groups < 1:
        raise SymbackError(f"{name}: groups must be a positive int, not {groups!r}")
    out = {"stride": stride, "padding": padding, "dilation": dilation, "groups": int(groups)}
    for extra in ("k", "s"):
        if extra in attrs:
            out[extra] = tuple(int(a) for a in attrs[extra])
    del x
    return out


def _conv_shape(shapes: tuple[Shape, ...], *, stride: Any, padding: Any, dilation: Any,
                groups: int) -> Shape:
    xs, ws = shapes
    nd = len(ws) - 2
    if nd < 1 or len(xs) != nd + 2:
        raise ShapeError(f"conv: x {fmt(xs)} must be (N, C, *spatial) and w {fmt(ws)} "
                         f"(C_out, C_in/groups, *kernel) with the same number of spatial axes",
                         op="conv", shapes=shapes)
    s = _int_dims("conv", xs[1:], "channel and spatial")
    wd = _int_dims("conv", ws, "weight")
    if s[0] % groups or wd[0] % groups or s[0] // groups != wd[1]:
        raise ShapeError(f"conv: x {fmt(xs)} has {s[0]} channels, w {fmt(ws)} expects "
                         f"{wd[1]} per group with groups={groups} (C_in = groups · w.shape[1], "
                         f"and groups must divide C_out = {wd[0]})", op="conv", shapes=shapes)
    out = _out_dims("conv", s[1:], wd[2:], stride, padding, dilation)
    return (xs[0], wd[0]) + out


def _conv_numpy(args: list[str], kw: dict[str, Any]) -> str:
    return (f"conv_nd({args[0]}, {args[1]}, {kw['stride']}, {kw['padding']}, {kw['dilation']}, "
            f"{kw['groups']})")


def _kw(node_kw: dict[str, Any]) -> dict[str, Any]:
    return {k: node_kw[k] for k in ("stride", "padding", "dilation", "groups")}


def _conv_vjp(g: Expr, out: Expr, x: Expr, w: Expr, **kw: Any) -> tuple[Expr, Expr]:
    """x̄ = conv_dx(ȳ, w),  w̄ = conv_dw(x, ȳ)."""
    s = tuple(x.shape[2:])
    k = tuple(w.shape[2:])
    return conv_dx_op(g, w, s=s, **_kw(kw)), conv_dw_op(x, g, k=k, **_kw(kw))


def _bilinear_jvp(fa: Any, fb: Any) -> Any:
    """ẏ = f(ȧ, b) + f(a, ḃ) for a bilinear f (tangents without batch axes)."""
    def jvp(ts: tuple[Expr | None, ...], out: Expr, a: Expr, b: Expr, **kw: Any) -> Expr | None:
        ta, tb = ts
        for t, arg in ((ta, a), (tb, b)):
            if t is not None and t.ndim != arg.ndim:
                raise SymbackError(f"{out.op.name}: forward mode with batched tangents (a "
                                   "Jacobian) is not supported; use sb.grad / sb.vjp / sb.hvp")
        terms = []
        if ta is not None:
            terms.append(fa(ta, b, **kw))
        if tb is not None:
            terms.append(fb(a, tb, **kw))
        if not terms:
            return None
        return terms[0] if len(terms) == 1 else add(terms[0], terms[1])
    return jvp


def _conv_latex(args: list[str], kw: dict[str, Any]) -> str:
    return rf"\operatorname{{conv}}({args[0]}, {args[1]})"


conv_op = register(Op(
    "conv", 2, _conv_shape, numpy=_conv_numpy, helpers=("conv_nd",),
    normalize=lambda args, attrs: _conv_attrs(args, attrs, 0, 1, "conv"),
    vjp=_conv_vjp,
    jvp=_bilinear_jvp(lambda a, b, **kw: conv_op(a, b, **_kw(kw)),
                      lambda a, b, **kw: conv_op(a, b, **_kw(kw))),
    text=Notation(lambda a, kw: f"nn.conv({a[0]}, {a[1]}, stride={kw['stride']}, "
                  f"padding={kw['padding']}, dilation={kw['dilation']}, groups={kw['groups']})"),
    latex=Notation(_conv_latex, ATOM),
    doc="y = conv(x, w): y[n,f,o] = Σ_{c,k} w[f,c,k] x_pad[n,c,s⊙o + d⊙k];  "
        "x̄ = conv_dx(ȳ, w) (transposed convolution), w̄ = conv_dw(x, ȳ)",
))


def _dx_shape(shapes: tuple[Shape, ...], *, s: tuple[int, ...], stride: Any, padding: Any,
              dilation: Any, groups: int) -> Shape:
    gs, ws = shapes
    return (gs[0], ws[1] * groups) + tuple(s)


def _dx_vjp(c: Expr, out: Expr, g: Expr, w: Expr, **kw: Any) -> tuple[Expr, Expr]:
    """⟨c, conv_dx(g, w)⟩ = ⟨conv(c, w), g⟩:  ḡ = conv(c, w),  w̄ = conv_dw(c, g)."""
    return conv_op(c, w, **_kw(kw)), conv_dw_op(c, g, k=tuple(w.shape[2:]), **_kw(kw))


conv_dx_op = register(Op(
    "conv_dx", 2, _dx_shape,
    numpy=lambda a, kw: (f"conv_dx({a[0]}, {a[1]}, {kw['s']}, {kw['stride']}, {kw['padding']}, "
                         f"{kw['dilation']}, {kw['groups']})"),
    helpers=("conv_dx",),
    normalize=lambda args, attrs: _conv_attrs(args, attrs, 0, 1, "conv_dx"),
    vjp=_dx_vjp,
    jvp=_bilinear_jvp(lambda a, b, **kw: conv_dx_op(a, b, **kw),
                      lambda a, b, **kw: conv_dx_op(a, b, **kw)),
    latex=Notation(lambda a, kw: rf"\operatorname{{conv}}({a[0]}, \operatorname{{rot180}}({a[1]}))",
                   ATOM),
    doc="x̄ = conv_dx(g, w) = ∂⟨g, conv(x, w)⟩/∂x (a transposed convolution: the im2col "
        "columns g·w added back; printed as the textbook conv(G, rot180(W)), the convolution "
        "with the kernel flipped in space and its channel axes swapped);  ḡ = conv(c, w), w̄ = conv_dw(c, g)",
))


def _dw_shape(shapes: tuple[Shape, ...], *, k: tuple[int, ...], stride: Any, padding: Any,
              dilation: Any, groups: int) -> Shape:
    xs, gs = shapes
    c = xs[1]
    if not isinstance(c, int):
        raise ShapeError(f"conv_dw: channels must be an int, got {fmt(xs)}", op="conv_dw")
    return (gs[1], c // groups) + tuple(k)


def _dw_vjp(c: Expr, out: Expr, x: Expr, g: Expr, **kw: Any) -> tuple[Expr, Expr]:
    """⟨c, conv_dw(x, g)⟩ = ⟨g, conv(x, c)⟩:  x̄ = conv_dx(g, c),  ḡ = conv(x, c)."""
    return (conv_dx_op(g, c, s=tuple(x.shape[2:]), **_kw(kw)), conv_op(x, c, **_kw(kw)))


conv_dw_op = register(Op(
    "conv_dw", 2, _dw_shape,
    numpy=lambda a, kw: (f"conv_dw({a[0]}, {a[1]}, {kw['k']}, {kw['stride']}, {kw['padding']}, "
                         f"{kw['dilation']}, {kw['groups']})"),
    helpers=("conv_dw",),
    normalize=lambda args, attrs: _conv_attrs(args, attrs, 0, None, "conv_dw"),
    vjp=_dw_vjp,
    jvp=_bilinear_jvp(lambda a, b, **kw: conv_dw_op(a, b, **kw),
                      lambda a, b, **kw: conv_dw_op(a, b, **kw)),
    latex=Notation(lambda a, kw: rf"\operatorname{{conv}}({a[0]}, {a[1]})", ATOM),
    doc="w̄ = conv_dw(x, g) = ∂⟨g, conv(x, w)⟩/∂w (x correlated with g);  "
        "x̄ = conv_dx(g, c), ḡ = conv(x, c)",
))

# ---------------------------------------------------------------- max pooling


def _pool_attrs(name: str, xs: Shape, attrs: dict[str, Any]) -> dict[str, Any]:
    nd = len(xs) - 2
    if nd < 1:
        raise ShapeError(f"{name}: x must be (N, C, *spatial), got {fmt(xs)}", op=name,
                         shapes=(xs,))
    k = _tuple(name, "kernel_size", attrs["k"], nd, 1)
    stride = attrs.get("stride")
    stride = k if stride is None else _tuple(name, "stride", stride, nd, 1)
    padding = attrs.get("padding", 0)
    if not (isinstance(padding, tuple) and all(isinstance(p, tuple) for p in padding)):
        padding = normalize_padding(name, padding, k, stride, (1,) * nd)
    for i in range(nd):
        if 2 * max(padding[i]) > k[i]:
            raise SymbackError(f"{name}: padding {padding[i]} must be at most half the kernel "
                               f"size {k[i]} (as in PyTorch)")
    out = {"k": k, "stride": stride, "padding": padding}
    if "s" in attrs:
        out["s"] = tuple(int(a) for a in attrs["s"])
    return out


def _pool_shape(shapes: tuple[Shape, ...], *, k: Any, stride: Any, padding: Any) -> Shape:
    xs = shapes[0]
    s = _int_dims("max_pool", xs[2:], "spatial")
    return tuple(xs[:2]) + _out_dims("max_pool", s, k, stride, padding, (1,) * len(k))


def _pool_src(fn: str, n: int, extra: str = "") -> Any:
    def src(a: list[str], kw: dict[str, Any]) -> str:
        tail = f", {kw[extra]}" if extra else ""
        return f"{fn}({', '.join(a[:n])}, {kw['k']}, {kw['stride']}, {kw['padding']}{tail})"
    return src


def _pkw(kw: dict[str, Any]) -> dict[str, Any]:
    return {k: kw[k] for k in ("k", "stride", "padding")}


def _pool_norm(name: str, at: int) -> Any:
    return lambda args, attrs: _pool_attrs(name, args[at].shape if at >= 0 else
                                           (None, None) + tuple(attrs["s"]), attrs)


max_pool_index_op = register(Op(
    "max_pool_index", 1, _pool_shape, numpy=_pool_src("max_pool_index", 1),
    helpers=("max_pool_index",), normalize=_pool_norm("max_pool_index", 0),
    dtype=lambda args, **kw: "int64",
    # integer positions, locally constant in x: derivative zero (as comparisons)
    vjp=lambda g, out, x, **kw: (None,), jvp=lambda ts, out, x, **kw: None,
    latex=Notation(lambda a, kw: rf"\operatorname{{argmax}}_{{\text{{window}}}}({a[0]})", ATOM),
    doc="i = the position of each window's first maximum of x (integers; derivative zero)",
))


def _gather_shape(shapes: tuple[Shape, ...], *, k: Any, stride: Any, padding: Any) -> Shape:
    cs, js = shapes
    if tuple(cs[:2]) != tuple(js[:2]) or _pool_shape((cs,), k=k, stride=stride,
                                                     padding=padding) != tuple(js):
        raise ShapeError(f"max_pool_gather: c {fmt(cs)} and the window indices {fmt(js)} do not "
                         f"fit", op="max_pool_gather", shapes=shapes)
    return tuple(js)


max_pool_gather_op = register(Op(
    "max_pool_gather", 2, _gather_shape, numpy=_pool_src("max_pool_gather", 2),
    helpers=("max_pool_gather",), normalize=_pool_norm("max_pool_gather", 0),
    dtype=lambda args, **kw: args[0].dtype,
    vjp=lambda g, out, c, i, **kw: (max_pool_dx_op(g, i, s=tuple(c.shape[2:]), **_pkw(kw)),
                                    None),
    jvp=lambda ts, out, c, i, **kw: (max_pool_gather_op(ts[0], i, **_pkw(kw))
                                     if ts[0] is not None and ts[0].ndim == c.ndim else None),
    text=Notation(lambda a, kw: f"nn.max_pool({a[0]}, {kw['k']}, stride={kw['stride']}, "
                  f"padding={kw['padding']})"),
    latex=Notation(lambda a, kw: rf"\operatorname{{maxpool}}({a[0]})", ATOM),
    doc="y = c read at each window's first maximum (max_pool(x) is x read at argmax x);  "
        "c̄ = max_pool_dx(ȳ, i), and nothing through the integer positions i",
))


max_pool_dx_op = register(Op(
    "max_pool_dx", 2, lambda shapes, *, k, stride, padding, s: tuple(shapes[0][:2]) + tuple(s),
    numpy=_pool_src("max_pool_dx", 2, "s"), helpers=("max_pool_dx",),
    normalize=_pool_norm("max_pool_dx", -1), dtype=lambda args, **kw: args[0].dtype,
    vjp=lambda c, out, g, i, **kw: (max_pool_gather_op(c, i, **_pkw(kw)), None),
    jvp=lambda ts, out, g, i, **kw: (max_pool_dx_op(ts[0], i, s=kw["s"], **_pkw(kw))
                                     if ts[0] is not None and ts[0].ndim == g.ndim else None),
    latex=Notation(lambda a, kw: rf"\operatorname{{maxpool}}^{{T}}({a[0]})", ATOM),
    doc="x̄ = max_pool_dx(g, i): each window's g added at its position i (zero elsewhere);  "
        "ḡ = max_pool_gather(c, i)",
))


def max_pool(x: Expr, kernel_size: Any, stride: Any = None, padding: Any = 0) -> Expr:
    """max_pool(x) = x read at the first maximum of each window: one index node shared by the
    forward value and every derivative."""
    i = max_pool_index_op(x, k=kernel_size, stride=stride, padding=padding)
    return max_pool_gather_op(x, i, **{k: v for k, v in i.kw.items()})


def conv_output_size(s: int, k: int, stride: int = 1, padding: int = 0,
                     dilation: int = 1) -> int:
    """⌊(s + 2p − d(k − 1) − 1)/stride⌋ + 1, the framework formula (for docs and tests)."""
    return math.floor((s + 2 * padding - dilation * (k - 1) - 1) / stride) + 1
