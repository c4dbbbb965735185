"""Reductions and normalisations over axes: sum, mean, logsumexp, softmax, log_softmax.

``axis`` is an int, a tuple of ints or None (all axes), as in NumPy; it is
normalised to a sorted tuple of non-negative axes so equal reductions intern
to one node. softmax, log_softmax and logsumexp are primitives with stable
NumPy forms (max-shifted) and their own VJPs.
"""

from __future__ import annotations

from typing import Any

from ..graph import Expr, Op
from ..printing.precedence import ATOM, Notation
from ..shapes import Shape, normalize_axis, reduced
from . import register
from .elementwise import exp, mul, sub
from .structural import broadcast_to_op, count_of, expand_dims


def _axis_norm(op: str, default: Any) -> Any:
    def norm(args: tuple[Expr, ...], attrs: dict[str, Any]) -> dict[str, Any]:
        out = {"axis": normalize_axis(op, attrs.get("axis", default), args[0].ndim)}
        if "keepdims" in attrs or default is None:
            out["keepdims"] = bool(attrs.get("keepdims", False))
        return out
    return norm


def _reduce_shape(shapes: tuple[Shape, ...], *, axis: tuple[int, ...] | None,
                  keepdims: bool) -> Shape:
    return reduced(shapes[0], axis, keepdims)


def _fn_text(name: str) -> Notation:
    def render(args: list[str], kw: dict[str, Any]) -> str:
        extra = ""
        if kw.get("axis") is not None:
            ax = kw["axis"]
            extra += f", axis={ax[0] if len(ax) == 1 else ax}"
        if kw.get("keepdims"):
            extra += ", keepdims=True"
        return f"{name}({args[0]}{extra})"
    return Notation(render)


def unreduce(g: Expr, x: Expr, axis: tuple[int, ...] | None, keepdims: bool) -> Expr:
    """Stretch ``g``, the result of reducing ``x`` over ``axis``, back to ``x``'s shape."""
    if not keepdims and axis is not None:
        g = expand_dims(g, axis=axis)
    return broadcast_to_op(g, shape=x.shape)


def _reduced_axes(x: Expr, axis: tuple[int, ...] | None) -> Shape:
    return tuple(d for i, d in enumerate(x.shape) if axis is None or i in axis)


def _red_axes(x: Expr, axis: tuple[int, ...] | None) -> tuple[int, ...]:
    return tuple(range(x.ndim)) if axis is None else axis


def _batch(e: Expr, nb: int) -> Expr:
    """``e`` with ``nb`` trailing axes of length 1, to meet a tangent's batch axes."""
    return expand_dims(e, axis=tuple(range(e.ndim, e.ndim + nb))) if nb else e


def _reduce_jvp(op: Any) -> Any:
    """ẏ = the same reduction of ẋ over the same axes; a tangent's trailing batch axes
    (symback.higher) are kept."""
    def jvp(ts: tuple[Expr, ...], out: Expr, x: Expr, *, axis: tuple[int, ...] | None,
            keepdims: bool) -> Expr:
        (t,) = ts
        if x.ndim == 0:
            return t
        if t.ndim == x.ndim:
            return op[0](t, axis=axis, keepdims=keepdims)
        return op[0](t, axis=_red_axes(x, axis), keepdims=keepdims)
    return jvp


def _contract(p: Expr, t: Expr, x: Expr, axis: tuple[int, ...] | None, keepdims: bool) -> Expr:
    """Σ_axis p ⊙ ṫ for a tangent ṫ with trailing batch axes (p has x's shape)."""
    from .linalg import matmul

    nb = t.ndim - x.ndim
    if x.ndim == 1 and not keepdims and nb <= 1:
        return matmul(p, t)  # pᵀ ṫ
    return sum_(mul(_batch(p, nb), t), axis=_red_axes(x, axis), keepdims=keepdims)


_SUM: list[Op] = []
_MEAN: list[Op] = []

# ---------------------------------------------------------------- sum / mean

sum_ = register(Op(
    "sum", 1, _reduce_shape,
    numpy="np.sum({0}, axis={axis}, keepdims={keepdims})",
    normalize=_axis_norm("sum", None),
    vjp=lambda g, out, x, *, axis, keepdims: (unreduce(g, x, axis, keepdims),),
    jvp=_reduce_jvp(_SUM),
    text=_fn_text("sum"), latex=Notation(r"\sum {0}", ATOM, ATOM),
    doc="y = Σ_axis x;  x̄ = ȳ broadcast back over axis",
))
_SUM.append(sum_)


def _mean_vjp(g: Expr, out: Expr, x: Expr, *, axis: tuple[int, ...] | None,
              keepdims: bool) -> tuple[Expr]:
    """y = (1/N) Σ_axis x, N the number of entries reduced;  x̄ = (ȳ / N) broadcast back."""
    from .elementwise import div

    return (unreduce(div(g, count_of(_reduced_axes(x, axis))), x, axis, keepdims),)


mean = register(Op(
    "mean", 1, _reduce_shape,
    numpy="np.mean({0}, axis={axis}, keepdims={keepdims})",
    normalize=_axis_norm("mean", None), vjp=_mean_vjp, jvp=_reduce_jvp(_MEAN),
    text=_fn_text("mean"), latex=Notation(r"\operatorname{mean}\left({0}\right)", ATOM),
    doc="y = mean of x over axis",
))
_MEAN.append(mean)

# ---------------------------------------------------------------- logsumexp / softmax


def _lse_vjp(g: Expr, out: Expr, x: Expr, *, axis: tuple[int, ...] | None,
             keepdims: bool) -> tuple[Expr]:
    """y = log Σ_axis e^x;  x̄ = ȳ ⊙ e^{x - y} = ȳ ⊙ softmax(x), broadcast over axis."""
    return (mul(unreduce(g, x, axis, keepdims), exp(sub(x, unreduce(out, x, axis, keepdims)))),)


def _lse_jvp(ts: tuple[Expr, ...], out: Expr, x: Expr, *, axis: tuple[int, ...] | None,
             keepdims: bool) -> Expr:
    """ẏ = Σ_axis softmax(x) ⊙ ẋ, softmax(x) = e^{x - y} (the node the VJP builds too)."""
    (t,) = ts
    if x.ndim == 0:
        return t
    p = exp(sub(x, unreduce(out, x, axis, keepdims)))
    return _contract(p, t, x, axis, keepdims)


logsumexp = register(Op(
    "logsumexp", 1, _reduce_shape,
    numpy="logsumexp({0}, axis={axis}, keepdims={keepdims})", helpers=("logsumexp",),
    normalize=_axis_norm("logsumexp", None), vjp=_lse_vjp, jvp=_lse_jvp,
    text=_fn_text("logsumexp"),
    latex=Notation(r"\operatorname{logsumexp}\left({0}\right)", ATOM),
    doc="y = log Σ_axis exp(x), computed max-shifted (no overflow)",
))


def _softmax_vjp(g: Expr, out: Expr, x: Expr, *, axis: tuple[int, ...]) -> tuple[Expr]:
    """y = softmax(x);  x̄ = y ⊙ (ȳ - Σ_axis(ȳ ⊙ y)) (reuses y)."""
    s = sum_(mul(g, out), axis=axis, keepdims=True)
    return (mul(out, sub(g, s)),)


def _softmax_jvp(ts: tuple[Expr, ...], out: Expr, x: Expr, *,
                 axis: tuple[int, ...] | None) -> Expr:
    """ẏ = y ⊙ (ẋ - Σ_axis y ⊙ ẋ)  (for a vector x: (diag(y) - y yᵀ) ẋ)."""
    (t,) = ts
    nb = t.ndim - x.ndim
    keep = x.ndim != 1 or nb > 1
    s = _contract(out, t, x, axis, keepdims=keep)
    return mul(_batch(out, nb), sub(t, s))


softmax = register(Op(
    "softmax", 1, lambda shapes, *, axis: shapes[0],
    numpy="softmax({0}, axis={axis})", helpers=("softmax",),
    normalize=_axis_norm("softmax", -1), vjp=_softmax_vjp, jvp=_softmax_jvp,
    text=_fn_text("softmax"),
    latex=Notation(r"\operatorname{softmax}\left({0}\right)", ATOM),
    doc="y = e^x / Σ_axis e^x (max-shifted); axis defaults to -1",
))


def _log_softmax_vjp(g: Expr, out: Expr, x: Expr, *, axis: tuple[int, ...]) -> tuple[Expr]:
    """y = x - logsumexp(x);  x̄ = ȳ - e^y ⊙ Σ_axis ȳ (e^y = softmax(x), from y)."""
    return (sub(g, mul(exp(out), sum_(g, axis=axis, keepdims=True))),)


def _log_softmax_jvp(ts: tuple[Expr, ...], out: Expr, x: Expr, *,
                     axis: tuple[int, ...] | None) -> Expr:
    """ẏ = ẋ - Σ_axis softmax(x) ⊙ ẋ, with softmax(x) = e^y."""
    (t,) = ts
    nb = t.ndim - x.ndim
    keep = x.ndim != 1 or nb > 1
    return sub(t, _contract(exp(out), t, x, axis, keepdims=keep))


log_softmax = register(Op(
    "log_softmax", 1, lambda shapes, *, axis: shapes[0],
    numpy="log_softmax({0}, axis={axis})", helpers=("log_softmax",),
    normalize=_axis_norm("log_softmax", -1), vjp=_log_softmax_vjp, jvp=_log_softmax_jvp,
    text=_fn_text("log_softmax"),
    latex=Notation(r"\operatorname{log\,softmax}\left({0}\right)", ATOM),
    doc="y = x - logsumexp(x, axis, keepdims) (stable); axis defaults to -1",
))


# ---------------------------------------------------------------- NumPy-style signatures


def sum(x: Any, axis: Any = None, keepdims: bool = False) -> Expr:  # noqa: A001
    """Σ of x over ``axis`` (None: every entry)."""
    return sum_(x, axis=axis, keepdims=keepdims)


def mean_fn(x: Any, axis: Any = None, keepdims: bool = False) -> Expr:
    """Mean of x over ``axis`` (None: every entry)."""
    return mean(x, axis=axis, keepdims=keepdims)


def logsumexp_fn(x: Any, axis: Any = None, keepdims: bool = False) -> Expr:
    """log Σ exp(x) over ``axis``, stable."""
    return logsumexp(x, axis=axis, keepdims=keepdims)


def softmax_fn(x: Any, axis: Any = -1) -> Expr:
    """softmax over ``axis`` (default the last)."""
    return softmax(x, axis=axis)


def log_softmax_fn(x: Any, axis: Any = -1) -> Expr:
    """log softmax over ``axis`` (default the last), stable."""
    return log_softmax(x, axis=axis)
