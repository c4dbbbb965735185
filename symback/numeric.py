"""Numerically stable NumPy kernels used by the generated code.

Their source is inlined at the top of every generated function that uses
them, so ``.source`` runs on its own. None of them overflows or warns at
±1000, and each keeps float32 inputs in float32.
"""

from __future__ import annotations

import numpy as np


def sigmoid(x):
    """σ(x) = 1 / (1 + e^{-x}), via e^{-|x|} so no exp overflows."""
    x = np.asarray(x)
    e = np.exp(-np.abs(x))
    r = 1.0 / (1.0 + e)
    return np.where(x >= 0, r, e * r)


def softplus(x):
    """log(1 + e^{x}) = max(x, 0) + log1p(e^{-|x|})."""
    x = np.asarray(x)
    return np.maximum(x, 0.0) + np.log1p(np.exp(-np.abs(x)))


def logsumexp(x, axis=None, keepdims=False):
    """log Σ e^{x} over axis, shifted by the maximum (a row of -inf gives -inf)."""
    x = np.asarray(x)
    m = np.max(x, axis=axis, keepdims=True)
    m = np.where(np.isfinite(m), m, 0.0)
    with np.errstate(divide="ignore"):
        s = np.log(np.sum(np.exp(x - m), axis=axis, keepdims=True)) + m
    if keepdims:
        return s
    return np.squeeze(s, axis=axis) if axis is not None else s.reshape(())


def softmax(x, axis=-1):
    """e^{x} / Σ e^{x} over axis, shifted by the maximum."""
    x = np.asarray(x)
    e = np.exp(x - np.max(x, axis=axis, keepdims=True))
    return e / np.sum(e, axis=axis, keepdims=True)


def log_softmax(x, axis=-1):
    """x - logsumexp(x, axis, keepdims=True), as (x - m) - log Σ e^{x - m} with m the maximum.

    The shift by m is exact, so entries near the maximum keep full relative accuracy
    (x - logsumexp(x) loses the digits of m: 1e-13 relative error at x ≈ 1000).
    """
    x = np.asarray(x)
    m = np.maximum.reduce(x, axis=axis, keepdims=True)  # np.max without its Python wrapper
    if np.logical_and.reduce(np.isfinite(m), axis=None):  # Σ e^{x - m} ≥ 1: no log(0)
        s = x - m
        return s - np.log(np.add.reduce(np.exp(s), axis=axis, keepdims=True))
    s = x - np.where(np.isfinite(m), m, 0)
    with np.errstate(divide="ignore"):
        return s - np.log(np.add.reduce(np.exp(s), axis=axis, keepdims=True))


def _row_max(x):
    """max over the last axis, keepdims, by halving (NumPy's reduction over a short
    contiguous axis pays per row: 2-4x slower on attention scores (…, L, L), L ≈ 32)."""
    n = x.shape[-1]
    y = x
    while n > 1:
        h = n // 2
        z = np.maximum(y[..., :h], y[..., h:2 * h])
        if n % 2:
            np.maximum(z[..., :1], y[..., 2 * h:], out=z[..., :1])
        y, n = z, h
    return y


def softmax_into(x, axis, out, _floor={}):  # noqa: B006 - e^{-705} as np.exp computes it
    """softmax(x, axis) written into ``out`` (the generated code's reused buffer).

    Over the last axis of a float32/float64 array, e^{x - M} / Σ e^{x - M} with ONE shift,
    M = max x over the whole array (a row maximum costs ~100 µs on attention scores
    (…, 32, 32)): the row sums, one BLAS product with a vector of ones, are checked
    afterwards; if a row's sum is below e^{-20} (its maximum is far below M, so its small
    entries could lose digits to underflow), or M is not finite, the rows are shifted by
    their own maxima (found by halving) instead. In float64, x - M is floored at -705
    before the exponential and e^{-705} taken off after it: NumPy's float64 exp is ~3x
    slower on the -inf of a causal mask (and on results below 2^-1022); entries of
    e^{x - M} under e^{-660} change by at most e^{-705} (masked ones are exactly 0)."""
    if (x.__class__ is np.ndarray and x.ndim >= 2 and axis in (-1, x.ndim - 1, (x.ndim - 1,))
            and x.dtype == out.dtype and x.dtype.kind == "f" and x.shape[-1] > 1):
        ones = ones_column(x.shape[-1], x.dtype)
        if x.dtype in (np.float32, np.float64) and not np.may_share_memory(x, out):
            m = np.maximum.reduce(x, axis=None)
            if m - m == 0:  # finite
                with np.errstate(over="ignore"):  # x - M below -max (a row near -max while
                    np.subtract(x, m, out=out)  # M is near +max): -inf, the fallback's case
                if x.dtype == np.float64:
                    e = _floor.get("e")
                    if e is None:  # the value np.exp's vector loop gives, to cancel exactly
                        e = _floor["e"] = float(np.exp(np.full(64, -705.0))[0])
                    np.maximum(out, -705.0, out=out)  # NaN stays NaN
                    np.exp(out, out=out)
                    np.subtract(out, e, out=out)
                else:
                    np.exp(out, out=out)
                s = np.matmul(out, ones)
                if np.minimum.reduce(s, axis=None) >= 2.061153622438558e-09:  # e^{-20}
                    return np.divide(out, s, out=out)
        np.subtract(x, _row_max(x), out=out)
        np.exp(out, out=out)
        s = np.matmul(out, ones)
        return np.divide(out, s, out=out)
    np.copyto(out, softmax(x, axis=axis))
    return out


def ones_column(n, dtype, _cache={}):  # noqa: B006 - the columns, kept across calls
    """A cached (n, 1) column of ones of ``dtype`` (never written to): with it a BLAS
    product sums rows (X 1) or, transposed, leading axes (1ᵀ X) in one call, where NumPy's
    reduction pays per row."""
    key = (n, dtype)
    c = _cache.get(key)
    if c is None:
        if len(_cache) > 64:
            _cache.clear()
        c = _cache[key] = np.ones((n, 1), dtype=dtype)
    return c


def row_moments(rows, n):
    """For a C-contiguous (M, n) float array: (rows − their means, Σ over each row of the
    centred squares) as an (M, n) and an (M, 1) array; two passes, each row sum one BLAS
    product with a column of ones (a layer norm's statistics, a variance over short rows)."""
    ones = ones_column(n, rows.dtype)
    xc = rows - np.matmul(rows, ones) * (1.0 / n)
    return xc, np.matmul(np.square(xc), ones)


def sum_last_into(x, axis, keepdims, out):
    """Σ over one axis written into ``out``; over the last axis of a float array with short
    rows (a layer norm's statistics, softmax's row sums in a gradient) as one BLAS product
    with a column of ones: NumPy's reduction pays per row there (~5x slower at 32-64)."""
    n = x.shape[-1] if x.__class__ is np.ndarray and x.ndim >= 2 else 0
    if (1 < n <= 256 and axis == x.ndim - 1 and x.dtype == out.dtype and x.dtype.kind == "f"
            and out.flags.c_contiguous):
        np.matmul(x, ones_column(n, x.dtype), out.reshape(x.shape[:-1] + (1,)))
        return out
    return np.add.reduce(x, axis=axis, keepdims=keepdims, out=out)


def matmul_into(a, b, out):
    """a @ b written into ``out``. A stack times one non-contiguous matrix (ȳ Wᵀ in a
    gradient) or times a stack of transposed ones (Q Kᵀ in attention: column-major views)
    multiplies by a contiguous copy of b: OpenBLAS is up to 2x slower on the transposed
    operand there, and the copy is one pass over b (a transposed *first* operand is left
    as it is: copying it costs more than it saves)."""
    if (a.ndim > 2 and b.__class__ is np.ndarray and b.ndim >= 2 and not b.flags.c_contiguous
            and (b.ndim == 2 or (b.strides[-2] == b.itemsize and b.shape[-2] > 1))):
        b = np.ascontiguousarray(b)
    return np.matmul(a, b, out)


def log_softmax_into(x, axis, out):
    """log_softmax(x, axis) written into ``out`` (the generated code's reused buffer)."""
    m = np.maximum.reduce(x, axis=axis, keepdims=True)
    t = float(np.add.reduce(m, axis=None))  # finite iff every maximum is (one call, not two)
    if t - t != 0:  # a row of -inf, an inf or a NaN (or a sum that overflows: also right)
        np.copyto(out, log_softmax(x, axis=axis))
        return out
    np.subtract(x, m, out=out)
    s = np.add.reduce(np.exp(out), axis=axis, keepdims=True)  # ≥ 1: log never sees 0
    return np.subtract(out, np.log(s, out=s), out=out)


def where_into(c, a, b, out):
    """where(c, a, b) written into ``out`` (the shape and dtype of the result).

    For ``b = +0`` (a masked gradient such as relu's) the bit pattern of ``a``, read as
    integers, is multiplied by the mask (0 or 1): NumPy's ``where`` branches per entry and
    is several times slower on the random masks of a network; the product is branch-free,
    needs no temporary, and keeps ``a`` bit for bit (inf, NaN, -0) where ``c`` holds and
    +0 elsewhere, exactly as ``where`` does.
    """
    if (b.__class__ in (float, int) and b == 0 and repr(b)[0] != "-"  # +0, not -0.0
            and a.__class__ is np.ndarray and c.__class__ is np.ndarray
            and c.dtype == np.bool_ and a.dtype == out.dtype and out.dtype.kind == "f"):
        ints = np.int64 if out.itemsize == 8 else (np.int32 if out.itemsize == 4 else np.int16)
        np.multiply(a.view(ints), c, out=out.view(ints))
        return out
    if (a.__class__ is np.ndarray and c.__class__ is np.ndarray and c.dtype == np.bool_
            and a.dtype == out.dtype and a.shape == out.shape and np.ndim(b) == 0
            and out.dtype.kind == "f"):
        # a scalar fill (a mask's -inf): a as it is, then b where c fails, no temporary
        if a is not out:
            np.copyto(out, a)
        np.copyto(out, b, where=np.logical_not(c))
        return out
    np.copyto(out, np.where(c, a, b))
    return out


def logdet(x):
    """log det x via slogdet (no overflow); -inf where det x = 0, NaN where det x < 0."""
    sign, logabs = np.linalg.slogdet(x)
    out = np.where(sign > 0, logabs, np.nan)  # Python-number fills keep float32 float32
    return np.where(sign == 0, -np.inf, out)


def index_scatter(g, shape, index):
    """Zeros of ``shape`` with ``g`` written at ``index``: the adjoint of ``x[index]``."""
    g = np.asarray(g)
    out = np.zeros(shape, dtype=g.dtype if g.dtype.kind == "f" else np.float64)
    out[index] = g
    return out


# SciPy's special functions, for the ops of symback.special. SciPy is optional: each helper
# imports it when first called (the op checks it is installed when the code is generated).


def scipy_erf(x):
    """erf(x) = (2/√π) ∫₀ˣ e^{-t²} dt (scipy.special.erf; keeps float32)."""
    from scipy.special import erf
    return erf(x)


def scipy_erfc(x):
    """erfc(x) = 1 - erf(x), accurate where erf(x) is near 1 (scipy.special.erfc)."""
    from scipy.special import erfc
    return erfc(x)


def scipy_gammaln(x):
    """log |Γ(x)| (scipy.special.gammaln)."""
    from scipy.special import gammaln
    return gammaln(x)


def scipy_digamma(x):
    """ψ(x) = Γ'(x) / Γ(x) (scipy.special.digamma)."""
    from scipy.special import digamma
    return digamma(x)


def scipy_polygamma(n, x):
    """ψ⁽ⁿ⁾(x), the n-th derivative of ψ (scipy.special.polygamma), in x's float dtype."""
    from scipy.special import polygamma
    x = np.asarray(x)
    dt = x.dtype if x.dtype.kind == "f" else np.float64
    return np.asarray(polygamma(n, x), dtype=dt)[()]


def scipy_xlogy(x, y):
    """x log y, 0 where x = 0 (scipy.special.xlogy)."""
    from scipy.special import xlogy
    return xlogy(x, y)


def scipy_xlog1py(x, y):
    """x log(1 + y), 0 where x = 0 (scipy.special.xlog1py)."""
    from scipy.special import xlog1py
    return xlog1py(x, y)


def logit(p):
    """log(p / (1 - p)) as log p - log1p(-p): accurate for p near 0 and near 1."""
    p = np.asarray(p)
    with np.errstate(divide="ignore"):
        return (np.log(p) - np.log1p(-p))[()]


HELPERS = {f.__name__: f for f in (sigmoid, softplus, logsumexp, softmax, log_softmax, logdet,
                                   index_scatter, where_into, log_softmax_into, softmax_into,
                                   _row_max, matmul_into, sum_last_into, ones_column,
                                   row_moments, scipy_erf,
                                   scipy_erfc, scipy_gammaln, scipy_digamma, scipy_polygamma,
                                   scipy_xlogy, scipy_xlog1py, logit)}

# helper -> helpers it calls (inlined too)
DEPENDS = {"log_softmax": ("logsumexp",), "log_softmax_into": ("log_softmax",),
           "softmax_into": ("softmax", "_row_max", "ones_column"), "sum_last_into": ("ones_column",),
           "row_moments": ("ones_column",)}


# --------------------------------------------------------------------------- gathers' adjoints
# (issue 11, np-shape): one bincount each, which sums repeated indices in C


def scatter_add(v, idx, axis, size):
    """Zeros with ``v`` added along ``axis`` at ``idx`` (length ``size``): the adjoint of
    ``np.take(x, idx, axis)``, as one ``np.bincount`` over flat positions."""
    v = np.asarray(v)
    idx = np.asarray(idx)
    dt = v.dtype if v.dtype.kind == "f" else np.dtype(np.float64)
    lead, rest = v.shape[:axis], v.shape[axis + idx.ndim:]
    nl, nr = int(np.prod(lead, dtype=np.int64)), int(np.prod(rest, dtype=np.int64))
    flat = idx.reshape(-1)
    if flat.size and flat.min() < 0:
        flat = np.where(flat < 0, flat + size, flat)
    if nl == 1 and nr == 1:
        pos = flat
    else:
        pos = ((np.arange(nl)[:, None, None] * size + flat[None, :, None]) * nr
               + np.arange(nr)[None, None, :])
    out = np.bincount(pos.reshape(-1), weights=v.reshape(-1).astype(np.float64, copy=False),
                      minlength=nl * size * nr)
    return out.astype(dt, copy=False).reshape(lead + (size,) + rest)


def scatter_add_along(v, idx, axis, shape):
    """Zeros of ``shape`` with ``v`` added at ``idx`` along ``axis`` in every 1-d slice: the
    adjoint of ``np.take_along_axis`` (broadcast axes of ``shape`` summed), one bincount."""
    v = np.asarray(v)
    idx = np.asarray(idx)
    dt = v.dtype if v.dtype.kind == "f" else np.dtype(np.float64)
    shape = tuple(shape)
    strides = [1] * len(shape)
    for i in range(len(shape) - 2, -1, -1):
        strides[i] = strides[i + 1] * shape[i + 1]
    size = shape[axis]
    i = np.where(idx < 0, idx + size, idx) if idx.size and idx.min() < 0 else idx
    pos = i * strides[axis]
    for d, n in enumerate(shape):
        if d != axis and n != 1:
            grid = np.arange(n).reshape((1,) * d + (n,) + (1,) * (len(shape) - d - 1))
            pos = pos + grid * strides[d]
    pos = np.broadcast_to(pos, v.shape)
    total = int(np.prod(shape, dtype=np.int64))
    out = np.bincount(pos.reshape(-1), weights=v.reshape(-1).astype(np.float64, copy=False),
                      minlength=total)
    return out.astype(dt, copy=False).reshape(shape)


HELPERS.update({f.__name__: f for f in (scatter_add, scatter_add_along)})
