"""Neural-network layers as functions, following ``torch.nn.functional``'s names and arguments.

Every layer is either a **fused op** with hand-written derivatives (``conv``, ``max_pool``: see
:mod:`symback.ops.conv`; ``layer_norm``'s normalisation: :mod:`symback.ops.layernorm`) or a
**composition** of symback ops (everything else). Either way its gradient is an ordinary
symbolic expression (a fused op's derivative is written in symback ops): printable,
compilable and differentiable again. Each docstring says which, with the formula.

Shapes follow PyTorch: images are ``(N, C, *spatial)``, convolution weights
``(C_out, C_in/groups, *kernel)``, sequences ``(..., L, E)``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any, Sequence

import numpy as np

from .errors import ShapeError, SymbackError
from .graph import Expr, as_expr
from .shapes import fmt

__all__ = ["conv", "conv1d", "conv2d", "conv3d", "max_pool", "avg_pool", "layer_norm",
           "batch_norm", "embedding", "dropout", "gelu", "silu", "leaky_relu", "elu",
           "cross_entropy", "scaled_dot_product_attention", "multi_head_attention", "linear"]


def _sb() -> Any:
    import symback

    return symback


def conv(x: Any, w: Any, b: Any = None, stride: Any = 1, padding: Any = 0, dilation: Any = 1,
         groups: int = 1) -> Expr:
    r"""N-d cross-correlation, as ``torch.nn.functional.conv{1,2,3}d`` (fused op).

    ``x`` is ``(N, C_in, *S)``, ``w`` is ``(C_out, C_in/groups, *K)``, ``b`` is ``(C_out,)``:

    .. math:: y_{n f o} = b_f + \sum_{c, k} w_{f c k}\, x^{pad}_{n, c, s \odot o + d \odot k}

    ``padding`` is an int, a tuple, ``(lo, hi)`` pairs, ``"valid"`` or ``"same"`` (stride 1).
    Derivatives: ∂/∂x is the transposed convolution of ȳ with w (``conv_dx``), ∂/∂w the
    correlation of x with ȳ (``conv_dw``); both are ops of their own, so every order works.
    The generated code uses an ``as_strided`` im2col view and one batched matmul.

    >>> import symback as sb
    >>> x = sb.tensor("x", ("n", 1, 8, 8)); w = sb.tensor("w", (4, 1, 3, 3))
    >>> sb.nn.conv(x, w, padding=1).shape
    ('n', 4, 8, 8)
    """
    from .ops.conv import conv_op

    x, w = as_expr(x), as_expr(w)
    y = conv_op(x, w, stride=stride, padding=padding, dilation=dilation, groups=groups)
    if b is None:
        return y
    b = as_expr(b)
    if b.shape != (w.shape[0],):
        raise ShapeError(f"conv: the bias b {fmt(b.shape)} must have shape ({w.shape[0]},) "
                         f"(one entry per output channel)", op="conv", shapes=(b.shape,))
    return y + _sb().reshape(b, (w.shape[0],) + (1,) * (x.ndim - 2))


def conv1d(x: Any, w: Any, b: Any = None, stride: Any = 1, padding: Any = 0,
           dilation: Any = 1, groups: int = 1) -> Expr:
    """:func:`conv` on ``(N, C, L)`` inputs (checks the rank)."""
    return _ranked(1, x, w, b, stride, padding, dilation, groups)


def conv2d(x: Any, w: Any, b: Any = None, stride: Any = 1, padding: Any = 0,
           dilation: Any = 1, groups: int = 1) -> Expr:
    """:func:`conv` on ``(N, C, H, W)`` inputs (checks the rank)."""
    return _ranked(2, x, w, b, stride, padding, dilation, groups)


def conv3d(x: Any, w: Any, b: Any = None, stride: Any = 1, padding: Any = 0,
           dilation: Any = 1, groups: int = 1) -> Expr:
    """:func:`conv` on ``(N, C, D, H, W)`` inputs (checks the rank)."""
    return _ranked(3, x, w, b, stride, padding, dilation, groups)


def _ranked(nd: int, x: Any, w: Any, *rest: Any) -> Expr:
    x = as_expr(x)
    if x.ndim != nd + 2:
        raise ShapeError(f"conv{nd}d: x must have {nd + 2} dimensions (N, C, …), got "
                         f"{fmt(x.shape)}", op=f"conv{nd}d", shapes=(x.shape,))
    return conv(x, w, *rest)


def max_pool(x: Any, kernel_size: Any, stride: Any = None, padding: Any = 0) -> Expr:
    r"""The maximum of each window, as ``torch.nn.functional.max_pool{1,2,3}d`` (fused op).

    ``stride`` defaults to ``kernel_size``; padding counts as −∞. Derivative: ȳ is routed to
    the first maximum of each window (PyTorch's rule at ties); through the positions it is 0.
    """
    from .ops.conv import max_pool as _max_pool

    return _max_pool(as_expr(x), kernel_size, stride, padding)


def avg_pool(x: Any, kernel_size: Any, stride: Any = None, padding: Any = 0) -> Expr:
    r"""The mean of each window, as ``torch.nn.functional.avg_pool{1,2,3}d`` with
    ``count_include_pad=True`` (composition: a grouped convolution with a constant kernel
    1/|K| per channel, so its derivatives are the convolution's).
    """
    from .ops.conv import _tuple

    x = as_expr(x)
    nd = x.ndim - 2
    if nd < 1 or not isinstance(x.shape[1], int):
        raise ShapeError(f"avg_pool: x must be (N, C, *spatial) with an int C, got "
                         f"{fmt(x.shape)}", op="avg_pool", shapes=(x.shape,))
    k = _tuple("avg_pool", "kernel_size", kernel_size, nd, 1)
    stride = k if stride is None else stride
    import numpy as np

    c = x.shape[1]
    kernel = np.full((c, 1) + k, 1.0 / math.prod(k), dtype=np.dtype(x.dtype)
                     if x.dtype in ("float32", "float64") else np.float64)
    return conv(x, kernel, stride=stride, padding=padding, groups=c)


def linear(x: Any, weight: Any, bias: Any = None) -> Expr:
    """y = x Wᵀ + b, as ``torch.nn.functional.linear`` (composition)."""
    x, weight = as_expr(x), as_expr(weight)
    y = x @ weight.T
    return y if bias is None else y + as_expr(bias)


def _size(d: Any) -> Any:
    """One entry of a ``normalized_shape`` as a shape entry (an int or a size name), or None.
    A size name read by the parser (``nn.layer_norm(x, m)``) is a scalar symbol, a number
    a constant."""
    if isinstance(d, Expr):
        if d.is_symbol and d.shape == ():
            return d.name
        d = d.value if d.is_const and d.shape == () and d.dtype == "int64" else None
    if isinstance(d, (bool, np.bool_)):
        return None
    if isinstance(d, (int, np.integer)):
        return int(d)
    return d if isinstance(d, str) else None


def _sizes(normalized_shape: Any) -> tuple[Any, ...] | None:
    """``normalized_shape`` (one size or a sequence of them) as a tuple of shape entries;
    None if it is neither."""
    one = _size(normalized_shape)
    if one is not None:
        return (one,)
    if isinstance(normalized_shape, Expr) or not isinstance(normalized_shape, Iterable):
        return None
    out = tuple(_size(d) for d in normalized_shape)
    return None if any(d is None for d in out) else out


def layer_norm(x: Any, normalized_shape: Any, weight: Any = None, bias: Any = None,
               eps: float = 1e-5) -> Expr:
    r"""Layer normalisation over the last ``len(normalized_shape)`` axes, as
    ``torch.nn.functional.layer_norm`` (fused op ``layer_norm`` for the normalisation, then
    the affine part γ, β as ordinary ops).

    .. math:: y = \hat{x} \odot \gamma + \beta,\quad
       \hat{x} = \operatorname{LN}(x) = \frac{x - \mu}{\sigma},\quad
       \mu = \operatorname{mean}(x),\ \sigma = \sqrt{\operatorname{var}(x) + \epsilon}

    (mean and biased variance over the normalised axes, as PyTorch). The input gradient is
    the op's hand-written derivative, the textbook ``(ĝ − mean(ĝ) − x̂ ⊙ mean(ĝ ⊙ x̂)) / σ``
    with ĝ = ȳ ⊙ γ, written in symback ops: it prints with x̂ and σ (name them with
    ``names=``) and differentiates again. See :mod:`symback.ops.layernorm`.

    >>> import symback as sb
    >>> x = sb.matrix("x", "n", "m")
    >>> sb.latex(sb.nn.layer_norm(x, "m"))
    '\\operatorname{LN}(x)'
    """
    from .ops.layernorm import layer_norm_op

    x = as_expr(x)
    ns = _sizes(normalized_shape)
    if ns is None:
        raise ShapeError(f"layer_norm: normalized_shape must be a size or a sequence of sizes "
                         f"(ints or size names), got {normalized_shape!r}", op="layer_norm",
                         shapes=(x.shape,))
    if not ns or tuple(x.shape[x.ndim - len(ns):]) != ns or len(ns) > x.ndim:
        raise ShapeError(f"layer_norm: normalized_shape {ns} must be the trailing dimensions "
                         f"of x {fmt(x.shape)}", op="layer_norm", shapes=(x.shape,))
    y = layer_norm_op(x, axis=tuple(range(x.ndim - len(ns), x.ndim)), eps=eps)
    if weight is not None:
        y = y * as_expr(weight)
    if bias is not None:
        y = y + as_expr(bias)
    return y


def batch_norm(x: Any, weight: Any = None, bias: Any = None, eps: float = 1e-5) -> Expr:
    r"""Batch normalisation with training-mode statistics (composition): each channel
    (axis 1) is normalised by the mean and biased variance over the batch and spatial axes,
    then scaled by γ and shifted by β (shape ``(C,)``)."""
    sb = _sb()
    x = as_expr(x)
    if x.ndim < 2:
        raise ShapeError(f"batch_norm: x must be (N, C, …), got {fmt(x.shape)}",
                         op="batch_norm", shapes=(x.shape,))
    axes = (0,) + tuple(range(2, x.ndim))
    mu = sb.mean(x, axis=axes, keepdims=True)
    xc = x - mu
    var = sb.mean(xc * xc, axis=axes, keepdims=True)
    y = xc / sb.sqrt(var + eps)
    bshape = (x.shape[1],) + (1,) * (x.ndim - 2)
    if weight is not None:
        y = y * sb.reshape(as_expr(weight), bshape)
    if bias is not None:
        y = y + sb.reshape(as_expr(bias), bshape)
    return y


def dropout(x: Any, mask: Any, p: float = 0.5) -> Expr:
    """Inverted dropout with a given 0/1 ``mask`` (an input, so the graph stays
    deterministic): y = x ⊙ mask / (1 − p) (composition)."""
    if not 0 <= p < 1:
        raise SymbackError(f"dropout: p must be in [0, 1), not {p!r}")
    return as_expr(x) * as_expr(mask) * (1.0 / (1.0 - p))


def gelu(x: Any, approximate: str = "none") -> Expr:
    r"""GELU (composition). ``"none"``: x Φ(x) = x (½ + ½ erf(x/√2));
    ``"tanh"``: ½ x (1 + tanh(√(2/π) (x + 0.044715 x³))), as PyTorch.

    The erf form is written x ⊙ (½ + ½ erf(x/√2)) rather than ½ x ⊙ (1 + erf(x/√2)) (the
    same numbers: halving is exact): its gradient, Φ(x) ȳ + x ȳ e^{-x²/2}/√(2π), then
    takes two passes over the array fewer (the constants meet in one factor)."""
    sb = _sb()
    x = as_expr(x)
    if approximate == "tanh":
        return 0.5 * x * (1.0 + sb.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x * x * x)))
    if approximate != "none":
        raise SymbackError(f"gelu: approximate must be 'none' or 'tanh', not {approximate!r}")
    special = getattr(sb, "special", None)
    if special is None or not hasattr(special, "erf"):  # pragma: no cover - older layouts
        raise SymbackError("gelu: the erf form needs sb.special.erf; use approximate='tanh'")
    return x * (0.5 + 0.5 * special.erf(x * (1.0 / math.sqrt(2.0))))


def silu(x: Any) -> Expr:
    """SiLU (swish): x σ(x) (composition; σ is the stable sigmoid)."""
    x = as_expr(x)
    return x * _sb().sigmoid(x)


def leaky_relu(x: Any, negative_slope: float = 0.01) -> Expr:
    """x where x > 0, else negative_slope · x (composition; the slope side at 0, as PyTorch)."""
    x = as_expr(x)
    return _sb().where(x > 0, x, negative_slope * x)


def elu(x: Any, alpha: float = 1.0) -> Expr:
    """x where x > 0, else α (eˣ − 1) (composition; expm1 of min(x, 0), so no overflow)."""
    sb = _sb()
    x = as_expr(x)
    return sb.where(x > 0, x, alpha * sb.expm1(sb.minimum(x, 0.0)))


def embedding(ids: Any, weight: Any) -> Expr:
    """Rows of ``weight`` picked by integer ``ids`` (composition: integer-array indexing,
    whose derivative is a scatter-add into the rows)."""
    weight = as_expr(weight)
    return weight[ids]


def cross_entropy(logits: Any, ids: Any) -> Expr:
    r"""Mean softmax cross-entropy of ``logits`` (N, K) against integer labels ``ids`` (N,)
    (composition): −mean_n log_softmax(logits)[n, ids_n]. Its gradient is the textbook
    (softmax(logits) − onehot(ids)) / N."""
    sb = _sb()
    logits = as_expr(logits)
    if logits.ndim != 2:
        raise ShapeError(f"cross_entropy: logits must be (N, K), got {fmt(logits.shape)}",
                         op="cross_entropy", shapes=(logits.shape,))
    ids = as_expr(ids)
    lp = sb.log_softmax(logits, axis=-1)
    picked = sb.take_along_axis(lp, sb.expand_dims(ids, 1), axis=1)
    return -sb.mean(picked)


def scaled_dot_product_attention(q: Any, k: Any, v: Any, attn_mask: Any = None,
                                 is_causal: bool = False) -> Expr:
    r"""softmax(q kᵀ / √E + mask) v over the last two axes, batched over leading ones
    (composition), as ``torch.nn.functional.scaled_dot_product_attention``.

    ``attn_mask``: a boolean (True = keep) or additive float mask; ``is_causal``: position i
    attends to j ≤ i only.
    """
    sb = _sb()
    q, k, v = as_expr(q), as_expr(k), as_expr(v)
    e = q.shape[-1]
    if isinstance(e, int):
        scores = (q @ sb.swapaxes(k, -1, -2)) * (1.0 / math.sqrt(e))
    else:  # a symbolic width d: the scale is the count node 1/√d (prints as \sqrt{d})
        from .ops.structural import count_of

        scores = (q @ sb.swapaxes(k, -1, -2)) / sb.sqrt(count_of((e,)))
    if is_causal:
        lq, lk = q.shape[-2], k.shape[-2]
        if not (isinstance(lq, int) and isinstance(lk, int)):
            raise ShapeError("scaled_dot_product_attention: is_causal needs int sequence "
                             "lengths", op="scaled_dot_product_attention")
        import numpy as np

        keep = np.tril(np.ones((lq, lk), dtype=bool))
        scores = sb.where(sb.const(keep), scores, -np.inf)
    if attn_mask is not None:
        m = as_expr(attn_mask)
        scores = sb.where(m, scores, float("-inf")) if m.dtype == "bool" else scores + m
    return sb.softmax(scores, axis=-1) @ v


def multi_head_attention(x: Any, w_q: Any, w_k: Any, w_v: Any, w_o: Any, num_heads: int,
                         is_causal: bool = False) -> Expr:
    """Self-attention with ``num_heads`` heads (composition): x (…, L, E) is projected by
    w_q, w_k, w_v (E, E), split into heads of E/h, attended, merged and projected by w_o."""
    sb = _sb()
    x = as_expr(x)
    *lead, length, e = x.shape
    if not isinstance(e, int) or e % num_heads:
        raise ShapeError(f"multi_head_attention: E = {e} must be an int divisible by "
                         f"num_heads = {num_heads}", op="multi_head_attention")
    hd = e // num_heads

    def heads(t: Expr) -> Expr:
        t = sb.reshape(t, tuple(lead) + (length, num_heads, hd))
        return sb.swapaxes(t, -2, -3)  # (…, h, L, hd)

    q, k, v = heads(x @ as_expr(w_q)), heads(x @ as_expr(w_k)), heads(x @ as_expr(w_v))
    o = scaled_dot_product_attention(q, k, v, is_causal=is_causal)
    o = sb.reshape(sb.swapaxes(o, -2, -3), tuple(lead) + (length, e))
    return o @ as_expr(w_o)
