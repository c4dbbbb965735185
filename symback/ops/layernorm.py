"""Layer normalisation as one fused op: ``layer_norm(x)`` standardises x over its trailing axes.

With μ the mean and var the biased variance of x over the normalised (trailing) axes,

    x̂ = layer_norm(x) = (x − μ) / σ,   σ = √(var(x) + ε),

and the textbook input gradient (row means over the normalised axes)

    x̄ = (ḡ − mean(ḡ) − x̂ ⊙ mean(ḡ ⊙ x̂)) / σ,

written in symback ops (mean, var, sqrt and the op's own output x̂), so every order of
derivative works and a printed gradient reads as in the literature: σ is the node a user
builds as ``sb.sqrt(sb.var(x, axis=-1, keepdims=True) + eps)`` and x̂ is
``sb.nn.layer_norm(x, m)``, so ``names=`` finds both. The Jacobian (I − 11ᵀ/N − x̂x̂ᵀ/N)/σ
(N entries per row) is symmetric, so a forward-mode tangent is the same formula applied to ẋ.

The affine part (γ, β) stays outside the op (``sb.nn.layer_norm`` multiplies and adds), so
its derivatives are the ordinary ones: γ̄ = Σ_rows ȳ ⊙ x̂, β̄ = Σ_rows ȳ, ḡ = ȳ ⊙ γ.

The NumPy form is one helper (the centred rows computed once and divided in place); PyTorch
calls ``torch.nn.functional.layer_norm``; other array-API libraries (JAX) compute the same
two passes inline.
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np

from .. import numeric
from ..numeric import row_moments
from ..errors import ShapeError, SymbackError
from ..graph import Expr, Op
from ..notation import ATOM, Notation
from ..shapes import Shape, fmt, normalize_axis
from . import register
from .elementwise import add, div, mul, sqrt, sub
from .reduce import mean
from .structural import expand_dims


def layer_norm(x, k, eps):
    """(x − μ) / √(σ² + ε) over the last ``k`` axes (μ the mean, σ² the biased variance),
    two passes. Rows of a float array up to 256 long sum as one BLAS product with a vector
    of ones (NumPy's reduction pays per row there), and the rows are scaled by 1/σ, a
    multiplication (a broadcast division costs twice as much)."""
    n = 1
    for d in x.shape[x.ndim - k:]:
        n *= d
    if n == 0:  # empty rows: nothing to normalise (and no 1/n)
        return np.zeros(x.shape, x.dtype if x.dtype.kind == "f" else np.float64)
    if x.__class__ is np.ndarray and x.dtype.kind == "f" and 1 < n <= 256 \
            and x.flags.c_contiguous:
        xc, s = row_moments(x.reshape(-1, n), n)
    else:
        axes = tuple(range(x.ndim - k, x.ndim))
        xc = x - np.add.reduce(x, axis=axes, keepdims=True) * (1.0 / n)
        s = np.add.reduce(np.square(xc), axis=axes, keepdims=True)
    s *= 1.0 / n
    s += eps
    np.sqrt(s, out=s)
    np.divide(1.0, s, out=s)
    xc *= s
    return xc.reshape(x.shape)


numeric.HELPERS["layer_norm"] = layer_norm
numeric.DEPENDS["layer_norm"] = ("row_moments",)


def _norm(args: tuple[Expr, ...], attrs: dict[str, Any]) -> dict[str, Any]:
    """Canonical attributes: ``axis`` the sorted trailing axes, ``eps`` a float ≥ 0."""
    x = args[0]
    axis = normalize_axis("layer_norm", attrs.get("axis", -1), x.ndim)
    if not axis or axis != tuple(range(x.ndim - len(axis), x.ndim)):
        raise ShapeError(f"layer_norm: the normalised axes {attrs.get('axis')!r} must be the "
                         f"trailing axes of x {fmt(x.shape)}", op="layer_norm",
                         shapes=(x.shape,))
    eps = attrs.get("eps", 1e-5)
    if isinstance(eps, Expr) and eps.is_const and eps.weak:  # the parser's numbers
        eps = eps.value
    if isinstance(eps, (bool, np.bool_)) or not isinstance(eps, numbers.Real) \
            or not eps >= 0 or eps == float("inf"):
        raise SymbackError(f"layer_norm: eps must be a finite number ≥ 0, got {eps!r}")
    return {"axis": axis, "eps": float(eps)}


def _shape(shapes: tuple[Shape, ...], *, axis: tuple[int, ...], eps: float) -> Shape:
    return shapes[0]


def _dtype(args: tuple[Expr, ...], **kw: Any) -> str:
    return args[0].dtype if args[0].dtype in ("float32", "float64") else "float64"


def _numpy(args: list[str], kw: dict[str, Any]) -> str:
    return f"layer_norm({args[0]}, {len(kw['axis'])}, {kw['eps']!r})"


def _xp(args: list[str], kw: dict[str, Any]) -> str:
    """The two passes inline over the array-API namespace (JAX, CuPy)."""
    ax = tuple(range(-len(kw["axis"]), 0))
    return (f"(lambda c: c / xp.sqrt(xp.mean(c * c, axis={ax}, keepdims=True) + {kw['eps']!r}))"
            f"({args[0]} - xp.mean({args[0]}, axis={ax}, keepdims=True))")


def _torch(args: list[str], kw: dict[str, Any]) -> str:
    """``torch.nn.functional.layer_norm``; an integer or bool input is converted to float64
    first (the op's dtype rule; PyTorch has no integer layer-norm kernel)."""
    k = len(kw["axis"])
    node = kw.get("_node")
    x = args[0]
    if node is not None and node.args[0].dtype not in ("float32", "float64"):
        x = f"{x}.to(torch.float64)"
    return f"torch.nn.functional.layer_norm({x}, {args[0]}.shape[-{k}:], eps={kw['eps']!r})"


def _scalarize(args: list[Any], kw: dict[str, Any]) -> Any:
    """Entry by entry (backend="llvm"): c = x − μ, then c ⊙ 1/√(Σ c² / N + ε), as the NumPy
    helper (two passes; the sums left to right)."""
    from . import _scalar

    axis, eps = kw["axis"], kw["eps"]
    c, n = _scalar.centred(args[0], axis)
    v = _scalar.sum_squares(c, axis, True)
    r = _scalar.apply(lambda s: div(1.0, sqrt(add(div(s, float(n)), eps))), v)
    return _scalar.apply(mul, c, r)


def sigma_of(x: Expr, axis: tuple[int, ...], eps: float) -> Expr:
    """σ = √(var(x) + ε) over ``axis`` (kept; the biased variance), as PyTorch's documentation
    and a user write it (``sb.sqrt(sb.var(x, axis=-1, keepdims=True) + eps)``)."""
    from .stats import var_op

    return sqrt(add(var_op(x, axis=axis, keepdims=True, ddof=0), eps))


def _apply(t: Expr, xh: Expr, sigma: Expr, axis: tuple[int, ...]) -> Expr:
    """(t − mean(t) − x̂ ⊙ mean(t ⊙ x̂)) / σ: the (symmetric) Jacobian applied to t, whose
    trailing axes past x̂'s are batch axes (a forward-mode tangent's)."""
    nb = t.ndim - xh.ndim
    if nb:
        batch = tuple(range(xh.ndim, xh.ndim + nb))
        xh, sigma = expand_dims(xh, axis=batch), expand_dims(sigma, axis=batch)
    tm = mean(t, axis=axis, keepdims=True)
    txm = mean(mul(t, xh), axis=axis, keepdims=True)
    # 1/σ times the rows (prints as ⊘ σ): one small division and a broadcast product
    return mul(div(1.0, sigma), sub(sub(t, tm), mul(xh, txm)))


def _vjp(g: Expr, out: Expr, x: Expr, *, axis: tuple[int, ...], eps: float) -> tuple[Expr]:
    """x̄ = (ḡ − mean(ḡ) − x̂ ⊙ mean(ḡ ⊙ x̂)) / σ, x̂ the op's output."""
    sigma = sigma_of(x, axis, eps)
    return (_apply(g, out, sigma, axis),)


def _jvp(ts: tuple[Expr | None, ...], out: Expr, x: Expr, *, axis: tuple[int, ...],
         eps: float) -> Expr | None:
    """ẋ̂ = (ẋ − mean(ẋ) − x̂ ⊙ mean(ẋ ⊙ x̂)) / σ (the Jacobian is symmetric)."""
    (t,) = ts
    if t is None:
        return None
    sigma = sigma_of(x, axis, eps)
    return _apply(t, out, sigma, axis)


def _dims_text(shape: Shape) -> str:
    dims = [str(d) for d in shape]
    return dims[0] if len(dims) == 1 else f"({', '.join(dims)})"


def _text(node: Expr) -> Notation:
    """``nn.layer_norm(x, m, eps=1e-05)``: what sb.nn.layer_norm reads back to this node."""
    x = node.args[0]
    ns = _dims_text(tuple(x.shape[a] for a in node.kw["axis"]))
    eps = node.kw["eps"]
    extra = "" if eps == 1e-5 else f", eps={eps!r}"
    return Notation(lambda a, kw: f"nn.layer_norm({a[0]}, {ns}{extra})")


layer_norm_op = register(Op(
    "layer_norm", 1, _shape, numpy=_numpy, helpers=("layer_norm",), normalize=_norm,
    dtype=_dtype,
    forms={"torch": _torch, "xp": _xp},
    vjp=_vjp, jvp=_jvp, scalarize=_scalarize,
    text=Notation(lambda a, kw: f"nn.layer_norm({a[0]}, eps={kw['eps']!r})", select=_text),
    latex=Notation(lambda a, kw: rf"\operatorname{{LN}}({a[0]})", ATOM),
    doc="x̂ = (x − μ)/σ over the trailing axes, μ = mean(x), σ = √(mean((x − μ)²) + ε) "
        "(biased variance, as PyTorch);  x̄ = (ḡ − mean(ḡ) − x̂ ⊙ mean(ḡ ⊙ x̂)) / σ",
))
