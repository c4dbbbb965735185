"""The stable kernels of :mod:`symback.numeric`, written once against an array-API namespace.

:func:`helpers` builds them for one namespace ``xp`` (``array_api_compat.torch``,
``jax.numpy``, ``array_api_compat.cupy``): the code generator of
:mod:`symback.arrayapi` puts them in the generated function's namespace under the same
names the NumPy forms call (``sigmoid``, ``logsumexp``, ...). Each keeps the dtype of its
argument (Python-number constants are weak in every array-API library) and none
overflows at ±1000. Keyed by helper name, as :data:`symback.numeric.HELPERS` is.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any


def helpers(xp: Any, backend: str) -> dict[str, Callable[..., Any]]:
    """The helpers for namespace ``xp``; ``backend`` picks the scatter (JAX arrays are
    immutable: ``.at[index].set``)."""

    def sigmoid(x):
        """σ(x) = 1 / (1 + e^{-|x|}) for x ≥ 0, e^{-|x|} / (1 + e^{-|x|}) below: no overflow."""
        e = xp.exp(-xp.abs(x))
        r = 1.0 / (1.0 + e)
        return xp.where(x >= 0, r, e * r)

    def softplus(x):
        """log(1 + e^{x}) = max(x, 0) + log1p(e^{-|x|})."""
        return xp.maximum(x, 0.0) + xp.log1p(xp.exp(-xp.abs(x)))

    def logsumexp(x, axis=None, keepdims=False):
        """log Σ e^{x} over axis, shifted by the (finite) maximum."""
        m = xp.max(x, axis=axis, keepdims=True)
        m = xp.where(xp.isfinite(m), m, xp.zeros_like(m))
        s = xp.log(xp.sum(xp.exp(x - m), axis=axis, keepdims=True)) + m
        if keepdims:
            return s
        return xp.squeeze(s, axis=axis) if axis is not None else xp.reshape(s, ())

    def softmax(x, axis=-1):
        """e^{x - m} / Σ e^{x - m}, m the maximum over axis."""
        e = xp.exp(x - xp.max(x, axis=axis, keepdims=True))
        return e / xp.sum(e, axis=axis, keepdims=True)

    def log_softmax(x, axis=-1):
        """(x - m) - log Σ e^{x - m}, m the (finite) maximum over axis."""
        m = xp.max(x, axis=axis, keepdims=True)
        s = x - xp.where(xp.isfinite(m), m, xp.zeros_like(m))
        return s - xp.log(xp.sum(xp.exp(s), axis=axis, keepdims=True))

    def logdet(x):
        """log det x via slogdet: -inf where det x = 0, NaN where det x < 0."""
        sign, logabs = xp.linalg.slogdet(x)
        out = xp.where(sign > 0, logabs, xp.full_like(logabs, float("nan")))
        return xp.where(sign == 0, xp.full_like(logabs, float("-inf")), out)

    def index_scatter(g, shape, index):
        """Zeros of ``shape`` with ``g`` written at ``index`` (the adjoint of ``x[index]``);
        a slice with a negative step writes into the flipped zeros, flipped back."""
        g = xp.asarray(g)
        out = xp.zeros(shape, dtype=g.dtype, device=_device(g))
        if backend == "jax":
            return out.at[index].set(g)
        dims, index = _flip_negative_steps(shape, index)
        out[index] = g
        return xp.flip(out, axis=dims) if dims else out

    def getitem(x, index):
        """``x[index]`` where ``index`` may hold slices with a negative step (which PyTorch
        does not index with): those axes are flipped and sliced with the positive step."""
        dims, index = _flip_negative_steps(tuple(x.shape), index)
        return (xp.flip(x, axis=dims) if dims else x)[index]

    def logit(p):
        """log(p / (1 - p)) as log p - log1p(-p): accurate near 0 and near 1."""
        return xp.log(p) - xp.log1p(-p)

    def _accumulate(out, index, v):
        """``out[index] += v`` with repeated positions adding up (a new array on JAX)."""
        if backend == "jax":
            return out.at[index].add(v)
        if backend == "torch":
            return out.index_put_(index if isinstance(index, tuple) else (index,), v,
                                  accumulate=True)
        import cupyx

        cupyx.scatter_add(out, index, v)
        return out

    def _wrap(idx, n):
        """Negative indices counted from the end (as NumPy); int64 for every library."""
        idx = xp.astype(xp.asarray(idx), xp.int64)
        return xp.where(idx < 0, idx + n, idx)

    def take(x, idx, axis):
        """np.take(x, idx, axis): y[…, j…, …] = x[…, idx[j…], …] for an int array idx."""
        idx = xp.asarray(idx)
        flat = _wrap(xp.reshape(idx, (-1,)), x.shape[axis])
        y = xp.take(x, flat, axis=axis)
        return xp.reshape(y, tuple(x.shape[:axis]) + tuple(idx.shape)
                          + tuple(x.shape[axis + 1:]))

    def scatter_add(v, idx, axis, size):
        """Zeros with v added along axis at idx (length size): the adjoint of take."""
        idx = xp.asarray(idx)
        flat = _wrap(xp.reshape(idx, (-1,)), size)
        lead, rest = tuple(v.shape[:axis]), tuple(v.shape[axis + idx.ndim:])
        v = xp.reshape(v, lead + (flat.shape[0],) + rest)
        out = xp.zeros(lead + (int(size),) + rest, dtype=v.dtype, device=_device(v))
        grid = tuple(xp.reshape(xp.arange(n, device=_device(v)),
                                (1,) * d + (n,) + (1,) * (v.ndim - d - 1))
                     for d, n in enumerate(v.shape))
        index = grid[:axis] + (xp.reshape(flat, (1,) * axis + (-1,) + (1,) * len(rest)),) \
            + grid[axis + 1:]
        return _accumulate(out, index, v)

    def _along(x_shape, idx, axis):
        """idx broadcast against an array of shape x_shape outside axis."""
        shape = [e if d == axis or d_ == 1 else d_ if e == 1 else e
                 for d, (d_, e) in enumerate(zip(x_shape, idx.shape))]
        return xp.broadcast_to(idx, tuple(shape))

    def take_along_axis(x, idx, axis):
        """np.take_along_axis: y[…, j, …] = x[…, idx[…, j, …], …], idx broadcasting."""
        idx = _along(tuple(x.shape), _wrap(idx, x.shape[axis]), axis)
        shape = list(idx.shape)
        shape[axis] = x.shape[axis]
        return xp.take_along_axis(xp.broadcast_to(x, tuple(shape)), idx, axis=axis)

    def scatter_add_along(v, idx, axis, shape):
        """Zeros of shape with v added at idx along axis in every 1-d slice (the adjoint of
        take_along_axis; axes that broadcast are summed back to length 1)."""
        shape = tuple(int(n) for n in shape)
        idx = xp.broadcast_to(_wrap(idx, shape[axis]), tuple(v.shape))
        big = list(v.shape)
        big[axis] = shape[axis]
        out = xp.zeros(tuple(big), dtype=v.dtype, device=_device(v))
        nd = v.ndim
        index = tuple(idx if d == axis else xp.reshape(
            xp.arange(n, device=_device(v)), (1,) * d + (n,) + (1,) * (nd - d - 1))
            for d, n in enumerate(v.shape))
        out = _accumulate(out, index, v)
        red = tuple(d for d in range(nd) if shape[d] == 1 and big[d] != 1)
        return xp.sum(out, axis=red, keepdims=True) if red else out

    # ------------------------------------------------------------ pooling (any namespace)

    def _set(out, index, v, add=False):
        if backend == "jax":
            return out.at[index].add(v) if add else out.at[index].set(v)
        if add:
            out[index] += v
        else:
            out[index] = v
        return out

    def _pool_views(x, k, stride, padding, fill):
        """The windows of x (padded with ``fill``) stacked on a last axis: (N, C, *out, Πk),
        offsets in C order as numeric's pool_views."""
        nd = len(k)
        if any(lo or hi for lo, hi in padding):
            shape = tuple(x.shape[:2]) + tuple(x.shape[2 + i] + padding[i][0] + padding[i][1]
                                               for i in range(nd))
            full = xp.full(shape, fill, dtype=x.dtype, device=_device(x))
            x = _set(full, (slice(None), slice(None)) + tuple(
                slice(padding[i][0], padding[i][0] + x.shape[2 + i]) for i in range(nd)), x)
        s = x.shape[2:]
        out = tuple((s[i] - k[i]) // stride[i] + 1 for i in range(nd))
        return xp.stack([x[(slice(None), slice(None)) + tuple(
            slice(kk[i], kk[i] + stride[i] * (out[i] - 1) + 1, stride[i]) for i in range(nd))]
            for kk in itertools.product(*(range(d) for d in k))], axis=-1)

    def max_pool_index(x, k, stride, padding):
        """Flat index (within the window) of each window's first maximum; padding is -inf."""
        return xp.astype(xp.argmax(_pool_views(x, k, stride, padding, float("-inf")), axis=-1),
                         xp.int64)

    def max_pool_gather(c, idx, k, stride, padding):
        """c read at the window positions idx (max_pool(x) is x read at its own indices)."""
        views = _pool_views(c, k, stride, padding, 0.0)
        return xp.take_along_axis(views, xp.astype(idx, xp.int64)[..., None], axis=-1)[..., 0]

    def max_pool_dx(g, idx, k, stride, padding, s):
        """Each window's cotangent g added at window position idx of an input of spatial
        shape s (zero elsewhere): one masked add per kernel offset into a strided slice."""
        nd = len(k)
        out = tuple(g.shape[2:])
        padded = tuple(s[i] + padding[i][0] + padding[i][1] for i in range(nd))
        dx = xp.zeros(tuple(g.shape[:2]) + padded, dtype=g.dtype, device=_device(g))
        zero = xp.zeros_like(g)
        for j, kj in enumerate(itertools.product(*(range(d) for d in k))):
            sl = (slice(None), slice(None)) + tuple(
                slice(kj[i], kj[i] + stride[i] * (out[i] - 1) + 1, stride[i]) for i in range(nd))
            dx = _set(dx, sl, xp.where(idx == j, g, zero), add=True)
        crop = (slice(None), slice(None)) + tuple(
            slice(padding[i][0], padding[i][0] + s[i]) for i in range(nd))
        return dx[crop]

    found = [sigmoid, softplus, logsumexp, softmax, log_softmax, logdet, index_scatter, getitem,
             logit, take, scatter_add, take_along_axis, scatter_add_along, max_pool_index,
             max_pool_gather, max_pool_dx]
    found += _convolutions(xp, backend)
    return {f.__name__: f for f in found}


def _convolutions(xp: Any, backend: str) -> list[Callable[..., Any]]:
    """conv_nd, conv_dx, conv_dw (numeric's names and arguments) on the library's own
    convolution: ``torch.nn.functional.conv{n}d`` with ``torch.nn.grad.conv{n}d_input`` /
    ``_weight``, or ``jax.lax.conv_general_dilated`` and its VJP. ``padding`` is (lo, hi)
    per spatial axis: uneven padding pads first (torch) or is passed as is (JAX). None on
    other libraries (compiling a convolution there names the op and the backend)."""
    if backend == "torch":
        import torch
        import torch.nn.functional as F

        def _even(padding):
            return all(lo == hi for lo, hi in padding)

        def _pad(x, padding):
            flat = [p for lo_hi in reversed(padding) for p in lo_hi]
            return F.pad(x, flat)

        def conv_nd(x, w, stride, padding, dilation, groups):
            """y = conv(x, w) by torch.nn.functional.conv{n}d."""
            fn = getattr(F, f"conv{len(stride)}d")
            if _even(padding):
                return fn(x, w, None, stride, tuple(lo for lo, _ in padding), dilation, groups)
            return fn(_pad(x, padding), w, None, stride, 0, dilation, groups)

        def conv_dx(g, w, s, stride, padding, dilation, groups):
            """∂⟨g, conv(x, w)⟩/∂x by torch.nn.grad.conv{n}d_input (uneven padding: the
            padded input's gradient, cropped)."""
            fn = getattr(torch.nn.grad, f"conv{len(stride)}d_input")
            lead = (g.shape[0], w.shape[1] * groups)
            if _even(padding):
                return fn(lead + tuple(s), w, g, stride, tuple(lo for lo, _ in padding),
                          dilation, groups)
            padded = tuple(s[i] + lo + hi for i, (lo, hi) in enumerate(padding))
            dx = fn(lead + padded, w, g, stride, 0, dilation, groups)
            return dx[(slice(None), slice(None)) + tuple(
                slice(lo, lo + s[i]) for i, (lo, _) in enumerate(padding))]

        def conv_dw(x, g, k, stride, padding, dilation, groups):
            """∂⟨g, conv(x, w)⟩/∂w by torch.nn.grad.conv{n}d_weight."""
            fn = getattr(torch.nn.grad, f"conv{len(stride)}d_weight")
            shape = (g.shape[1], x.shape[1] // groups) + tuple(k)
            if _even(padding):
                return fn(x, shape, g, stride, tuple(lo for lo, _ in padding), dilation, groups)
            return fn(_pad(x, padding), shape, g, stride, 0, dilation, groups)

        return [conv_nd, conv_dx, conv_dw]
    if backend == "jax":
        import jax

        def conv_nd(x, w, stride, padding, dilation, groups):
            """y = conv(x, w) by jax.lax.conv_general_dilated (NC…, OI…; full precision)."""
            return jax.lax.conv_general_dilated(
                x, w, tuple(stride), [tuple(p) for p in padding], rhs_dilation=tuple(dilation),
                feature_group_count=groups, precision=jax.lax.Precision.HIGHEST)

        def conv_dx(g, w, s, stride, padding, dilation, groups):
            """∂⟨g, conv(x, w)⟩/∂x: the VJP of the (linear) convolution in x."""
            x0 = xp.zeros((g.shape[0], w.shape[1] * groups) + tuple(s), dtype=g.dtype)
            _, vjp = jax.vjp(lambda x: conv_nd(x, w, stride, padding, dilation, groups), x0)
            return vjp(g)[0]

        def conv_dw(x, g, k, stride, padding, dilation, groups):
            """∂⟨g, conv(x, w)⟩/∂w: the VJP of the convolution in w."""
            w0 = xp.zeros((g.shape[1], x.shape[1] // groups) + tuple(k), dtype=g.dtype)
            _, vjp = jax.vjp(lambda w: conv_nd(x, w, stride, padding, dilation, groups), w0)
            return vjp(g)[0]

        return [conv_nd, conv_dx, conv_dw]
    return []


def _device(x: Any) -> Any:
    import array_api_compat

    return array_api_compat.device(x)


def _flip_negative_steps(shape: tuple[int, ...], index: Any) -> tuple[tuple[int, ...], Any]:
    """The axes to flip and the index over the flipped array that selects what ``index``
    (ints, slices, None) selects: entry i of an axis of length n is entry n - 1 - i of the
    flipped axis, so ``a:b:-s`` becomes a slice with step s."""
    if not isinstance(index, tuple):
        index = (index,)
    dims: list[int] = []
    out: list[Any] = []
    d = 0
    for e in index:
        if e is None:
            out.append(e)
            continue
        if isinstance(e, slice) and e.step is not None and e.step < 0:
            n = int(shape[d])
            r = range(n)[e]
            out.append(slice(n - 1 - r[0], n - r[-1], -e.step) if len(r) else slice(0, 0))
            dims.append(d)
        else:
            out.append(e)
        d += 1
    return tuple(dims), tuple(out)
