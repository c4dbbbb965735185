"""The stable kernels of :mod:`symback.numeric`, written once against an array-API namespace.

:func:`helpers` builds them for one namespace ``xp`` (``array_api_compat.torch``,
``jax.numpy``, ``array_api_compat.cupy``): the code generator of
:mod:`symback.arrayapi` puts them in the generated function's namespace under the same
names the NumPy forms call (``sigmoid``, ``logsumexp``, ...). Each keeps the dtype of its
argument (Python-number constants are weak in every array-API library) and none
overflows at ±1000. Keyed by helper name, as :data:`symback.numeric.HELPERS` is.
"""

from __future__ import annotations

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

    return {f.__name__: f for f in (sigmoid, softplus, logsumexp, softmax, log_softmax,
                                    logdet, index_scatter, getitem, logit)}


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
