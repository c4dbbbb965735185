"""Reductions and normalisations over axes: sum, mean, logsumexp, softmax, log_softmax.

``axis`` is an int, a tuple of ints or None (all axes), as in NumPy; it is
normalised to a sorted tuple of non-negative axes so equal reductions intern
to one node. softmax, log_softmax and logsumexp are primitives with stable
NumPy forms (max-shifted) and their own VJPs.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from .. import numeric
from ..numeric import ones_column
from ..graph import Expr, Op
from ..notation import ATOM, JUXT, MUL, POW, Notation
from ..shapes import Shape, check_flag, normalize_axis, reduced
from . import _scalar, register
from .elementwise import abs_, div, exp, less, log, maximum, mul, sub, where
from .structural import broadcast_to_op, count_of, expand_dims


def _axis_norm(op: str, default: Any) -> Any:
    def norm(args: tuple[Expr, ...], attrs: dict[str, Any]) -> dict[str, Any]:
        out = {"axis": normalize_axis(op, attrs.get("axis", default), args[0].ndim)}
        if "keepdims" in attrs or default is None:
            out["keepdims"] = check_flag(op, "keepdims", attrs.get("keepdims", False))
        return out
    return norm


def _reduce_shape(shapes: tuple[Shape, ...], *, axis: tuple[int, ...] | None,
                  keepdims: bool) -> Shape:
    return reduced(shapes[0], axis, keepdims)


def _fn_text(name: str, skip_last: bool = False) -> Notation:
    """``name(x, axis=1, keepdims=True)``; with ``skip_last``, the default last axis is not
    written (``softmax(X @ W)``: the same node when parsed back)."""
    def render(args: list[str], kw: dict[str, Any]) -> str:
        extra = ""
        if kw.get("axis") is not None:
            ax = kw["axis"]
            extra += f", axis={ax[0] if len(ax) == 1 else ax}"
        if kw.get("keepdims"):
            extra += ", keepdims=True"
        return f"{name}({args[0]}{extra})"

    def last_axis(node: Expr) -> Notation:
        if node.kw.get("axis") == (node.args[0].ndim - 1,):
            return Notation(lambda args, kw: f"{name}({args[0]})")
        return plain

    plain = Notation(render)
    return Notation(render, select=last_axis) if skip_last else plain


def _axis_latex(node: Expr, skip_last: bool = False) -> str:
    """A subscript naming the reduced axes (``_{\\text{axis } 1}``); empty for all axes."""
    axis = node.kw.get("axis")
    nd = node.args[0].ndim
    if axis is None or len(axis) == nd or (skip_last and axis == (nd - 1,)):
        return ""
    word = "axis" if len(axis) == 1 else "axes"
    return r"_{\text{" + word + " " + ", ".join(str(a) for a in axis) + "}}"


def _fn_latex(cmd: str, skip_last: bool = False) -> Notation:
    """``\\operatorname{softmax}(U)``, the reduced axes as a subscript unless they are all
    axes (or, with ``skip_last``, the last axis: softmax is row-wise by default)."""
    def select(node: Expr) -> Notation:
        sub = _axis_latex(node, skip_last)
        return Notation(lambda a, kw: f"{cmd}{sub}({a[0]})", ATOM)
    return Notation(cmd.replace("{", "{{").replace("}", "}}") + "({0})", ATOM, select=select)


def _sum_latex(node: Expr) -> Notation:
    """Σ of every entry: ``\\sum X``; column sums of a matrix ``\\mathbf{1}^{T} G``;
    row sums ``G \\mathbf{1}`` (the bias-gradient forms); other axes as a subscript.

    Partial sums are tensors and bind looser than ⊙ (MUL - 1), so ``A \\odot (G \\mathbf{1})``
    keeps its parentheses; the sum of all entries is a scalar, which only ever meets
    juxtaposition, where ``\\lambda \\sum W^{2}`` needs none."""
    x = node.args[0]
    axis = node.kw["axis"]
    if x.ndim == 2 and axis == (0,):
        return Notation(lambda a, kw: r"\mathbf{1}^{" + kw.get("_T", "T") + "} " + a[0],
                        MUL - 1, JUXT + 1)
    if x.ndim == 2 and axis == (1,):
        return Notation(r"{0} \mathbf{{1}}", MUL - 1, JUXT)
    sub = _axis_latex(node)
    return Notation(lambda a, kw: rf"\sum{sub} {a[0]}", MUL if not sub else MUL - 1, POW)


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
    from .contract import matmul

    nb = t.ndim - x.ndim
    if x.ndim == 1 and not keepdims and nb <= 1:
        return matmul(p, t)  # pᵀ ṫ
    return sum_(mul(_batch(p, nb), t), axis=_red_axes(x, axis), keepdims=keepdims)


def _one_axis(template: str) -> Callable[[list[str], dict[str, Any]], str | None]:
    """A library kernel that takes one axis (``torch.softmax(x, dim)``); None (the generic
    form) for several axes."""
    def render(args: list[str], kw: dict[str, Any]) -> str | None:
        ax = kw["axis"]
        if ax is None or len(ax) != 1:
            return None
        return template.format(*args, axis=ax[0])
    return render


_SUM: list[Op] = []
_MEAN: list[Op] = []


def _np(template: str) -> Callable[[list[str], dict[str, Any]], str]:
    """A NumPy template whose ``axis`` is written in NumPy's fastest form: an int for a
    single axis (a 1-tuple costs NumPy's reductions ~1.5 µs more per call)."""
    def render(args: list[str], kw: dict[str, Any]) -> str:
        fields = {k: repr(v) for k, v in kw.items() if not k.startswith("_")}
        ax = kw.get("axis")
        if isinstance(ax, tuple) and len(ax) == 1:
            fields["axis"] = repr(ax[0])
        if "_out" in kw:
            fields["out"] = kw["_out"]
        return template.format(*args, **fields)
    render.__doc__ = template
    return render

# ---------------------------------------------------------------- sum / mean


def sum_lead(x, k, keepdims, out=None):
    """Σ over the first ``k`` axes of x (``np.add.reduce(x, axis=(0, …, k−1), keepdims)``,
    into ``out`` if given).

    For a C-contiguous float32/float64 array of 64 entries or more with axes left over, the
    M = ∏ shape[:k] rows of the (M, N) view are summed as ONE BLAS product 1ᵀ X with a
    vector of ones (a bias's, γ's or β's gradient, Σ over batch and time): NumPy's
    reduction over leading axes walks the rows one ufunc call each (2-4x slower at
    512 × 48, 15x at 100000 × 3). The product reassociates the sums: BLAS accumulates in
    its own blocked order, which changes the last bits but not the error bound of the
    row-by-row sum NumPy does over leading axes (≤ (M − 1) ε Σ|x| per entry). Anything
    else (ints, views, a sum over every axis, which NumPy sums pairwise): np.add.reduce."""
    if (x.__class__ is np.ndarray and x.dtype.char in "fd" and 0 < k < x.ndim
            and x.size >= 64 and x.flags.c_contiguous):
        m = 1
        for d in x.shape[:k]:
            m *= d
        if m > 1:
            rest = x.shape[k:]
            ones = ones_column(m, x.dtype).T
            shape = (1,) * k + rest if keepdims else rest
            if out is None:
                return np.matmul(ones, x.reshape(m, -1)).reshape(shape)
            if out.dtype == x.dtype and out.flags.c_contiguous and out.shape == shape:
                np.matmul(ones, x.reshape(m, -1), out=out.reshape(1, -1))
                return out
    return np.add.reduce(x, axis=tuple(range(k)), keepdims=keepdims, out=out)


numeric.HELPERS["sum_lead"] = sum_lead
numeric.DEPENDS["sum_lead"] = ("ones_column",)

_SUM_OUT = _np("np.add.reduce({0}, axis={axis}, keepdims={keepdims}, out={out})")
_SUM_LAST_OUT = _np("sum_last_into({0}, {axis}, {keepdims}, {out})")
_SUM_NP = _np("np.add.reduce({0}, axis={axis}, keepdims={keepdims})")


def _leading(ax: Any) -> int:
    """k when ``ax`` is the leading axes (0, …, k−1), else 0."""
    return len(ax) if isinstance(ax, tuple) and ax == tuple(range(len(ax))) else 0


def _sum_numpy(args: list[str], kw: dict[str, Any]) -> str:
    """Over leading axes through ``sum_lead`` (one BLAS product with ones), any other
    through ``np.add.reduce`` (np.sum without its Python wrapper: 2 µs less per call)."""
    k = _leading(kw.get("axis"))
    if k:
        return f"sum_lead({args[0]}, {k}, {kw['keepdims']!r})"
    return _SUM_NP(args, kw)


def _sum_out(args: list[str], kw: dict[str, Any]) -> str:
    """Into a buffer: over leading axes through ``sum_lead``; over one (other) axis through
    ``sum_last_into`` (a BLAS product with ones when that axis is the last and short); any
    other through ``np.add.reduce``."""
    ax = kw.get("axis")
    k = _leading(ax)
    if k:
        return f"sum_lead({args[0]}, {k}, {kw['keepdims']!r}, {kw['_out']})"
    one = isinstance(ax, int) or (isinstance(ax, tuple) and len(ax) == 1)
    return (_SUM_LAST_OUT if one else _SUM_OUT)(args, kw)


sum_ = register(Op(
    "sum", 1, _reduce_shape,
    numpy=_sum_numpy,
    forms={"xp": _np("xp.sum({0}, axis={axis}, keepdims={keepdims})")},
    numpy_out=_sum_out, helpers=("sum_last_into", "sum_lead"),
    normalize=_axis_norm("sum", None),
    vjp=lambda g, out, x, *, axis, keepdims: (unreduce(g, x, axis, keepdims),),
    jvp=_reduce_jvp(_SUM),
    # added left to right (NumPy's pairwise float sum may differ in the last bits)
    scalarize=lambda a, kw: _scalar.sum_axes(a[0], kw["axis"], kw["keepdims"]),
    text=_fn_text("sum"), latex=Notation(r"\sum {0}", MUL, POW, _sum_latex),
    doc="y = Σ_axis x;  x̄ = ȳ broadcast back over axis",
))
_SUM.append(sum_)


def _mean_vjp(g: Expr, out: Expr, x: Expr, *, axis: tuple[int, ...] | None,
              keepdims: bool) -> tuple[Expr]:
    """y = (1/N) Σ_axis x, N the number of entries reduced;  x̄ = (ȳ / N) broadcast back."""
    from .elementwise import div

    return (unreduce(div(g, count_of(_reduced_axes(x, axis))), x, axis, keepdims),)


def _mean_scalarize(args: list[Any], kw: dict[str, Any]) -> Any:
    """The sum (left to right) of the reduced entries divided by their number."""
    x = args[0]
    s = _scalar.sum_axes(x, kw["axis"], kw["keepdims"])
    n = x.size // s.size if s.size else 0
    return _scalar.apply(lambda e: e / float(n), s)


mean = register(Op(
    "mean", 1, _reduce_shape,
    numpy=_np("np.mean({0}, axis={axis}, keepdims={keepdims})"),
    numpy_out=_np("np.mean({0}, axis={axis}, keepdims={keepdims}, out={out})"),
    normalize=_axis_norm("mean", None), vjp=_mean_vjp, jvp=_reduce_jvp(_MEAN),
    scalarize=_mean_scalarize,
    text=_fn_text("mean"), latex=_fn_latex(r"\operatorname{mean}"),
    doc="y = (1/N) Σ_axis x;  x̄ = (ȳ / N) broadcast back over axis (N may be symbolic)",
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


def _shift(x: Any, axis: tuple[int, ...] | None, finite: bool) -> Any:
    """Scalar forms: the maximum over ``axis`` (kept as axes of length 1), taken left to
    right; with ``finite``, a non-finite maximum replaced by 0 (as the NumPy helpers do)."""
    m = _scalar.fold_axes(x, axis, True, maximum, None)
    if finite:
        m = _scalar.apply(lambda v: where(less(abs_(v), float("inf")), v, 0.0), m)
    return m


def _lse_scalarize(args: list[Any], kw: dict[str, Any]) -> Any:
    """m + log Σ_axis e^{x - m}, m the (finite) maximum; the sum left to right."""
    x, axis = args[0], kw["axis"]
    m = _shift(x, axis, True)
    s = _scalar.sum_axes(_scalar.apply(lambda v, c: exp(sub(v, c)), x, m), axis, True)
    out = _scalar.apply(lambda t, c: log(t) + c, s, m)
    return out if kw["keepdims"] else out.reshape(kw["_node"].shape)


def _softmax_scalarize(args: list[Any], kw: dict[str, Any]) -> Any:
    """e^{x - m} / Σ_axis e^{x - m}, m the maximum; the sum left to right."""
    x, axis = args[0], kw["axis"]
    e = _scalar.apply(lambda v, c: exp(sub(v, c)), x, _shift(x, axis, False))
    return _scalar.apply(div, e, _scalar.sum_axes(e, axis, True))


def _log_softmax_scalarize(args: list[Any], kw: dict[str, Any]) -> Any:
    """(x - m) - log Σ_axis e^{x - m}, m the (finite) maximum; the sum left to right."""
    x, axis = args[0], kw["axis"]
    s = _scalar.apply(sub, x, _shift(x, axis, True))
    t = _scalar.sum_axes(_scalar.apply(exp, s), axis, True)
    return _scalar.apply(lambda v, c: sub(v, log(c)), s, t)


logsumexp = register(Op(
    "logsumexp", 1, _reduce_shape,
    numpy=_np("logsumexp({0}, axis={axis}, keepdims={keepdims})"), helpers=("logsumexp",),
    normalize=_axis_norm("logsumexp", None), vjp=_lse_vjp, jvp=_lse_jvp,
    scalarize=_lse_scalarize,
    text=_fn_text("logsumexp"),
    latex=_fn_latex(r"\operatorname{logsumexp}"),
    doc="y = log Σ_axis exp(x) (max-shifted, no overflow);  x̄ = ȳ ⊙ exp(x - y) = ȳ ⊙ softmax(x)",
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
    numpy=_np("softmax({0}, axis={axis})"), helpers=("softmax", "softmax_into"),
    numpy_out=_np("softmax_into({0}, {axis}, {out})"),
    forms={"torch": _one_axis("torch.softmax({0}, {axis})"),
           "jax": _np("jax.nn.softmax({0}, axis={axis})")},
    normalize=_axis_norm("softmax", -1), vjp=_softmax_vjp, jvp=_softmax_jvp,
    scalarize=_softmax_scalarize,
    text=_fn_text("softmax", skip_last=True),
    latex=_fn_latex(r"\operatorname{softmax}", skip_last=True),
    doc="y = e^x / Σ_axis e^x (max-shifted; axis=-1);  x̄ = y ⊙ (ȳ - Σ_axis ȳ ⊙ y)",
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
    numpy=_np("log_softmax({0}, axis={axis})"), helpers=("log_softmax", "log_softmax_into"),
    forms={"torch": _one_axis("torch.log_softmax({0}, {axis})"),
           "jax": _np("jax.nn.log_softmax({0}, axis={axis})")},
    numpy_out=_np("log_softmax_into({0}, {axis}, {out})"),
    normalize=_axis_norm("log_softmax", -1), vjp=_log_softmax_vjp, jvp=_log_softmax_jvp,
    scalarize=_log_softmax_scalarize,
    text=_fn_text("log_softmax", skip_last=True),
    latex=_fn_latex(r"\operatorname{log\,softmax}", skip_last=True),
    doc="y = x - logsumexp(x) (stable; axis=-1);  x̄ = ȳ - e^y ⊙ Σ_axis ȳ",
))


# ---------------------------------------------------------------- NumPy-style signatures


def sum(x: Any, axis: Any = None, keepdims: bool = False) -> Expr:  # noqa: A001
    """Σ of x over ``axis`` (None: every entry); a list or tuple of expressions is stacked
    first, as NumPy makes one array of it (``sum([a, b], axis=0)`` = a + b)."""
    if isinstance(x, (list, tuple)):
        from .stats import stack_list

        x = stack_list("sum", x)
    return sum_(x, axis=axis, keepdims=keepdims)


def mean_fn(x: Any, axis: Any = None, keepdims: bool = False) -> Expr:
    """Mean of x over ``axis`` (None: every entry); a list or tuple is stacked first (NumPy)."""
    if isinstance(x, (list, tuple)):
        from .stats import stack_list

        x = stack_list("mean", x)
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
