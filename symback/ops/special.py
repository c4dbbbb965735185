"""Special functions with scipy.special's names and meanings (public as ``sb.special``).

``erf erfc gammaln digamma polygamma xlogy xlog1py`` compute through SciPy, which is
optional: it is imported only when code for one of these ops is generated (or a constant
is folded), and a missing SciPy is a :class:`~symback.errors.SymbackError` naming the
function (``pip install scipy``, or the ``symback[special]`` extra). ``expit`` is
``sigmoid``; ``logit`` needs NumPy only. erf of a float32/float64 array of 1,024 entries or
more is computed without SciPy, from a table of Taylor coefficients (:func:`erf_taylor`:
SciPy's erf costs ~11 ns an entry, in float64 even for float32).

Derivatives, written in symback ops so every order works:

* erf'(x) = 2/√π e^{-x²},  erfc' = -erf';
* gammaln'(x) = ψ(x) (digamma),  ψ'(x) = ψ⁽¹⁾(x),  (ψ⁽ⁿ⁾)' = ψ⁽ⁿ⁺¹⁾: ``polygamma(n, x)``
  is one op with the order ``n`` an int attribute, so every order is available;
* xlogy(x, y) = x log y (0 where x = 0):  x̄ = ȳ log y,  ȳ_y = ȳ x / y, and 0 where x = 0
  (also at y = 0); xlog1py likewise with log1p(y) and 1 + y;
* logit(p) = log(p / (1 - p)):  p̄ = ȳ / (p (1 - p)).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .. import numeric
from ..errors import SymbackError
from ..graph import Expr
from ..notation import ATOM, MUL, Notation
from .elementwise import add, div, elementwise, equal, exp, log, log1p, mul, neg, sigmoid, sub
from .elementwise import where

_TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)


def _need_scipy(name: str) -> None:
    """Raise a clear error when SciPy, needed to compute ``name``, is missing."""
    try:
        import scipy.special  # noqa: F401
    except ImportError as e:
        raise SymbackError(
            f"special.{name}: computing it needs SciPy (scipy.special.{name}), which is not "
            "installed; pip install scipy (or the symback[special] extra)") from e


def _scipy_form(name: str, arity: int) -> Any:
    """The NumPy form ``scipy_<name>(...)`` (a symback.numeric helper), SciPy checked first."""
    def render(args: list[str], kw: dict[str, Any]) -> str:
        _need_scipy(name)
        return f"scipy_{name}(" + ", ".join(args[:arity]) + ")"
    render.__doc__ = f"scipy_{name}(...)"
    return render


def _sympy_fn(name: str) -> Any:
    def conv(*args: Any, **kw: Any) -> Any:
        import sympy

        if any(isinstance(a, (sympy.MatrixBase, sympy.MatrixExpr)) for a in args):
            if len(args) == 1:
                return args[0].applyfunc(getattr(sympy, name))
            return None
        return getattr(sympy, name)(*args)
    return conv


def _text(name: str, arity: int = 1) -> Notation:
    return Notation(f"special.{name}(" + ", ".join(f"{{{i}}}" for i in range(arity)) + ")")


def _latex(cmd: str) -> Notation:
    return Notation(cmd.replace("{", "{{").replace("}", "}}") + "({0})", ATOM)


# ---------------------------------------------------------------- erf's NumPy form
# scipy.special.erf costs ~11 ns an entry (float32 is computed in float64): a GELU MLP spent
# a third of its training step there. For float32/float64 arrays the generated code uses
# erf_taylor below: a table of Taylor coefficients on a grid, one gather per coefficient and
# Horner's rule, in chunks that stay in the L2 cache (~2x faster in float64, ~4x in float32).


def erf_coefs(dtype, _cache={}):  # noqa: B006 - the tables, built once per dtype
    """erf_taylor's table: for grid points x₀ = j/H on [-X, X], the Taylor coefficients
    c_k = erf⁽ᵏ⁾(x₀) / (k! Hᵏ), k < K (float64; float32: see below), as a (K, 2XH + 1) array
    of ``dtype`` (with H, X).

    erf⁽ᵏ⁾(x₀) = (2/√π) (-1)ᵏ⁻¹ Hₖ₋₁(x₀) e^{-x₀²} (Hermite polynomials, H₀ = 1, H₁ = 2x,
    Hₙ₊₁ = 2x Hₙ - 2n Hₙ₋₁).  float64: H = 256, K = 6 on [-6, 6] (erf(6) rounds to 1): the
    Taylor remainder is below 3e-18 for |x - x₀| ≤ 1/512, and relative to erf(x) near 0
    (x₀ = 0 keeps the x⁵ term) below 1e-18.  float32: H = 1024, K = 3 on [-4, 4] (erf(4)
    rounds to 1 in float32), and instead of Taylor's, the quadratic through erf at
    d = H(x - x₀) = 0, ±a (a = √3/4, Chebyshev points: a quarter of Taylor's remainder), its
    d² coefficient taken with c₀ as rounded to float32 (so c₀'s rounding, a whole ulp of
    erf(x) where the cell crosses a power of two, is met at ±a: a third of it left at
    ±½); at x₀ = 0, c₁ = (2/√π)(1 - 1/(24H²))/H, the best single factor for erf(x)/x on
    |x| ≤ 1/(2H) (4e-8 relative; Taylor's 2/√π is 8e-8 off at the cell's edge). Measured:
    within 1.4 float32 ulp of mpmath near 0 (2.3 with Taylor's coefficients)."""
    key = np.dtype(dtype)
    hit = _cache.get(key)
    if hit is not None:
        return hit
    import math

    H, K, X = (256, 6, 6) if key == np.float64 else (1024, 3, 4)
    x0 = np.arange(-X * H, X * H + 1) / H
    T = np.empty((K, x0.size))
    T[0] = [math.erf(v) for v in x0]
    g = (2.0 / math.sqrt(math.pi)) * np.exp(-x0 * x0)
    h_prev, h = np.zeros_like(x0), np.ones_like(x0)  # H_{-1} (unused), H_0
    for k in range(1, K):
        T[k] = g * (-1.0) ** (k - 1) * h / (math.factorial(k) * float(H) ** k)
        h_prev, h = h, 2.0 * x0 * h - 2.0 * (k - 1) * h_prev
    if K == 3:  # float32: interpolate at the Chebyshev points d = 0, ±a instead (no cost)
        a = math.sqrt(3.0) / 4.0
        fp = np.array([math.erf(v + a / H) for v in x0])
        fm = np.array([math.erf(v - a / H) for v in x0])
        T[1] = (fp - fm) / (2.0 * a)
        c0 = T[0].astype(np.float32)  # rounded as stored: c2 then takes up that rounding
        T[2] = (fp + fm - 2.0 * c0) / (2.0 * a * a)  # at ±a (a third of it left at ±½)
        T[1][X * H] = 2.0 / math.sqrt(math.pi) * (1.0 - 1.0 / (24.0 * H * H)) / H
    hit = _cache[key] = (T.astype(key), H, X)
    return hit


def erf_taylor(x, out=None, _scratch={}):  # noqa: B006 - per-thread scratch
    """erf(x) = (2/√π) ∫₀ˣ e^{-t²} dt (into ``out`` if given; ``out`` may be ``x``).

    float32/float64 arrays of 1024 entries or more: x is clipped to [-X, X], scaled by H
    (exact: a power of two), u = xH = j + d with j = rint(u), |d| ≤ ½, and
    erf(x) = Σₖ cₖ[j] dᵏ by Horner's rule (table :func:`erf_coefs`), chunk by chunk; within
    1.3 ulp (float64) and 1.4 ulp (float32) of the exact value in our tests (mpmath),
    float32 computed in float32; ±inf → ±1, NaN kept, erf(-0) = +0. An ``out`` that
    overlaps x only in part is written through a fresh array (as NumPy's ufuncs do).
    Anything else: scipy.special.erf."""
    n = x.size if x.__class__ is np.ndarray else 0
    if n < 1024 or x.dtype not in (np.float32, np.float64):
        from scipy.special import erf
        if out is None:
            return erf(x)
        np.copyto(out, erf(x))
        return out
    T, H, X = erf_coefs(x.dtype)
    K, off = T.shape[0], X * H
    # out is written chunk by chunk: out = x is safe (each chunk is read first), but an out
    # that starts elsewhere in a contiguous x's memory would overwrite entries not read yet
    ahead = (out is not None and x.flags.c_contiguous and np.may_share_memory(x, out)
             and x.ctypes.data != out.ctypes.data)
    res = out if (out is not None and out.flags.c_contiguous and out.dtype == x.dtype
                  and out.shape == x.shape and not ahead) else np.empty(x.shape, x.dtype)
    xf, rf = x.reshape(-1), res.reshape(-1)
    step = 131072 // x.itemsize  # four chunk-sized scratch arrays stay in L2
    m = min(step, n)
    from threading import get_ident
    key = (get_ident(), x.dtype)  # scratch kept per thread: 128 KB arrays made at
    # every call are fresh pages from the OS, zeroed each time (~25% of the float32 cost)
    w = _scratch.get(key)
    if w is None:
        if len(_scratch) > 64:
            _scratch.clear()
        w = _scratch[key] = (np.empty(step, x.dtype), np.empty(step, x.dtype),
                             np.empty(step, x.dtype), np.empty(step, np.intp))
    u, r, c, j = w[0][:m], w[1][:m], w[2][:m], w[3][:m]
    for s in range(0, n, step):
        e = min(s + step, n)
        if e - s < m:
            m = e - s
            u, r, c, j = u[:m], r[:m], c[:m], j[:m]
        p = rf[s:e]
        np.clip(xf[s:e], -X, X, out=u)  # NaN stays NaN
        np.multiply(u, H, out=u)
        np.rint(u, out=r)
        np.subtract(u, r, out=u)  # d, exact
        with np.errstate(invalid="ignore"):  # NaN's index: any (clipped); d is NaN
            np.add(r, off, out=j, casting="unsafe")
        T[K - 1].take(j, out=p, mode="clip")
        np.multiply(p, u, out=p)
        for k in range(K - 2, 0, -1):
            T[k].take(j, out=c, mode="clip")
            np.add(p, c, out=p)
            np.multiply(p, u, out=p)
        T[0].take(j, out=c, mode="clip")
        np.add(p, c, out=p)
    if out is not None and res is not out:
        np.copyto(out, res)
        return out
    return res


for _fn in (erf_coefs, erf_taylor):
    numeric.HELPERS[_fn.__name__] = _fn
numeric.DEPENDS["erf_taylor"] = ("erf_coefs",)


def _erf_form(args: list[str], kw: dict[str, Any]) -> str:
    _need_scipy("erf")
    out = kw.get("_out")
    return f"erf_taylor({args[0]}, {out})" if out else f"erf_taylor({args[0]})"


erf_op = elementwise(
    "erf", 1, _erf_form,
    lambda g, out, x: (mul(g, mul(_TWO_OVER_SQRT_PI, exp(neg(mul(x, x))))),),
    forms={"torch": "torch.special.erf({0})", "jax": "jax.scipy.special.erf({0})"},
    numpy_out=_erf_form, helpers=("erf_taylor",), text=_text("erf"), latex=_latex(r"\operatorname{erf}"),
    sympy=_sympy_fn("erf"),
    doc="y = erf x = (2/√π) ∫₀ˣ e^{-t²} dt;  x̄ = ȳ ⊙ (2/√π) e^{-x²}",
)
erfc_op = elementwise(
    "erfc", 1, _scipy_form("erfc", 1),
    lambda g, out, x: (neg(mul(g, mul(_TWO_OVER_SQRT_PI, exp(neg(mul(x, x)))))),),
    forms={"torch": "torch.special.erfc({0})", "jax": "jax.scipy.special.erfc({0})"},
    helpers=("scipy_erfc",), text=_text("erfc"), latex=_latex(r"\operatorname{erfc}"),
    sympy=_sympy_fn("erfc"),
    doc="y = erfc x = 1 - erf x (accurate in the tail);  x̄ = -ȳ ⊙ (2/√π) e^{-x²}",
)


def _polygamma_norm(args: tuple[Expr, ...], attrs: dict[str, Any]) -> dict[str, Any]:
    n = attrs.get("n")
    if isinstance(n, bool) or not isinstance(n, int) or n < 0:
        raise SymbackError(f"special.polygamma: the order n must be an int ≥ 0, got {n!r}")
    return {"n": n}


def _polygamma_numpy(args: list[str], kw: dict[str, Any]) -> str:
    _need_scipy("polygamma")
    return f"scipy_polygamma({kw['n']}, {args[0]})"


def _polygamma_torch(args: list[str], kw: dict[str, Any]) -> str:
    """ψ⁽ⁿ⁾(x) = (-1)ⁿ⁺¹ n! ζ(n + 1, x) for n ≥ 1 (as SciPy computes it), through
    torch.special.zeta: torch.special.polygamma(1, x) is only accurate to ~5e-10."""
    n = kw["n"]
    if n == 0:
        return f"torch.special.digamma({args[0]})"
    c = (-1.0) ** (n + 1) * math.factorial(n)
    return f"({c!r} * torch.special.zeta({float(n + 1)!r}, {args[0]}))"


def _polygamma_latex(args: list[str], kw: dict[str, Any]) -> str:
    n = kw["n"]
    if n == 0:
        return rf"\psi({args[0]})"
    primes = {1: "'", 2: "''"}.get(n, f"^{{({n})}}")
    return rf"\psi{primes}({args[0]})"


polygamma_op = elementwise(
    "polygamma", 1, _polygamma_numpy,
    lambda g, out, x, *, n: (mul(g, polygamma_op(x, n=n + 1)),),
    helpers=("scipy_polygamma",), normalize=_polygamma_norm,
    forms={"torch": _polygamma_torch, "jax": "jax.scipy.special.polygamma({n}, {0})"},
    text=Notation(lambda a, kw: f"special.polygamma({kw['n']}, {a[0]})"),
    latex=Notation(_polygamma_latex, ATOM),
    sympy=lambda x, *, n: _sympy_fn("polygamma")(n, x) if not hasattr(x, "shape") else None,
    doc="y = ψ⁽ⁿ⁾(x), the n-th derivative of the digamma function (n an int attribute);  "
        "x̄ = ȳ ⊙ ψ⁽ⁿ⁺¹⁾(x)",
)

digamma_op = elementwise(
    "digamma", 1, _scipy_form("digamma", 1),
    lambda g, out, x: (mul(g, polygamma_op(x, n=1)),),
    forms={"torch": "torch.special.digamma({0})", "jax": "jax.scipy.special.digamma({0})"},
    helpers=("scipy_digamma",), text=_text("digamma"), latex=_latex(r"\psi"),
    sympy=_sympy_fn("digamma"),
    doc="y = ψ(x) = Γ'(x)/Γ(x);  x̄ = ȳ ⊙ ψ⁽¹⁾(x) (polygamma(1, x))",
)
gammaln_op = elementwise(
    "gammaln", 1, _scipy_form("gammaln", 1),
    lambda g, out, x: (mul(g, digamma_op(x)),),
    forms={"torch": "torch.special.gammaln({0})", "jax": "jax.scipy.special.gammaln({0})"},
    helpers=("scipy_gammaln",), text=_text("gammaln"), latex=_latex(r"\log\Gamma"),
    sympy=_sympy_fn("loggamma"),
    doc="y = log |Γ(x)|;  x̄ = ȳ ⊙ ψ(x)",
)


def _xlog_vjp(logf: Any, shift: float) -> Any:
    def vjp(g: Expr, out: Expr, x: Expr, y: Expr) -> tuple[Any, Any]:
        zero = equal(x, 0.0)
        gx = None if x.is_const else mul(g, logf(y))
        # x / (y + shift), and exactly 0 where x = 0 (y replaced there: no 0/0 at y = -shift)
        ys = where(zero, 1.0, add(y, shift) if shift else y)
        gy = None if y.is_const else where(zero, 0.0, mul(g, div(x, ys)))
        return gx, gy
    return vjp


xlogy_op = elementwise(
    "xlogy", 2, _scipy_form("xlogy", 2), _xlog_vjp(log, 0.0),
    forms={"torch": "torch.special.xlogy({0}, {1})",
           "jax": "jax.scipy.special.xlogy({0}, {1})"},
    helpers=("scipy_xlogy",), text=_text("xlogy", 2),
    latex=Notation(r"{0} \log {1}", MUL, (MUL, ATOM)),
    sympy=lambda x, y: None if hasattr(x, "shape") or hasattr(y, "shape") else
    x * _sympy_fn("log")(y),
    doc="z = x log y, 0 where x = 0;  x̄ = z̄ log y,  ȳ = z̄ x / y (0 where x = 0)",
)
xlog1py_op = elementwise(
    "xlog1py", 2, _scipy_form("xlog1py", 2), _xlog_vjp(log1p, 1.0),
    forms={"torch": "torch.special.xlog1py({0}, {1})",
           "jax": "jax.scipy.special.xlog1py({0}, {1})"},
    helpers=("scipy_xlog1py",), text=_text("xlog1py", 2),
    latex=Notation(r"{0} \log(1 + {1})", MUL, (MUL, 0)),
    sympy=lambda x, y: None if hasattr(x, "shape") or hasattr(y, "shape") else
    x * _sympy_fn("log")(1 + y),
    doc="z = x log(1 + y), 0 where x = 0;  x̄ = z̄ log1p(y),  ȳ = z̄ x / (1 + y) (0 where x = 0)",
)

logit_op = elementwise(
    "logit", 1, "logit({0})", lambda g, out, p: (div(g, mul(p, sub(1.0, p))),),
    helpers=("logit",), text=_text("logit"), latex=_latex(r"\operatorname{logit}"),
    sympy=lambda p: None if hasattr(p, "shape") else _sympy_fn("log")(p / (1 - p)),
    doc="y = log(p / (1 - p)) (the inverse of expit = σ);  p̄ = ȳ ⊘ (p (1 - p))",
)


# ---------------------------------------------------------------- scipy.special's signatures


def erf(x: Any) -> Expr:
    """``scipy.special.erf(x)`` = (2/√π) ∫₀ˣ e^{-t²} dt; derivative (2/√π) e^{-x²}.

    >>> import symback as sb
    >>> sb.special.erf(sb.symbols("x"))
    special.erf(x)
    """
    return erf_op(x)


def erfc(x: Any) -> Expr:
    """``scipy.special.erfc(x)`` = 1 - erf(x), accurate for large x; derivative -(2/√π) e^{-x²}.

    >>> import symback as sb
    >>> x, y = sb.symbols("x y")
    >>> sb.special.erfc(x)
    special.erfc(x)
    """
    return erfc_op(x)


def gammaln(x: Any) -> Expr:
    """``scipy.special.gammaln(x)`` = log |Γ(x)|; derivative ψ(x) (``digamma``).

    >>> import symback as sb
    >>> x, y = sb.symbols("x y")
    >>> sb.grad(sb.special.gammaln(x), x)
    special.digamma(x)
    """
    return gammaln_op(x)


def digamma(x: Any) -> Expr:
    """``scipy.special.digamma(x)`` = ψ(x) = Γ'(x)/Γ(x); derivative ``polygamma(1, x)``.

    >>> import symback as sb
    >>> x, y = sb.symbols("x y")
    >>> sb.grad(sb.special.digamma(x), x)
    special.polygamma(1, x)
    """
    return digamma_op(x)


psi = digamma


def polygamma(n: int, x: Any) -> Expr:
    """``scipy.special.polygamma(n, x)`` = ψ⁽ⁿ⁾(x), ``n`` a constant int ≥ 0 (ψ⁽⁰⁾ = ψ);
    derivative ``polygamma(n + 1, x)``.

    >>> import symback as sb
    >>> x, y = sb.symbols("x y")
    >>> sb.grad(sb.special.polygamma(2, x), x)
    special.polygamma(3, x)
    """
    return polygamma_op(x, n=n)


def xlogy(x: Any, y: Any) -> Expr:
    """``scipy.special.xlogy(x, y)`` = x log y, and 0 where x = 0 (even at y = 0).

    Derivatives: x̄ = z̄ log y; ȳ = z̄ x / y, taken as 0 where x = 0.

    >>> import symback as sb
    >>> x, y = sb.symbols("x y")
    >>> sb.special.xlogy(x, y)
    special.xlogy(x, y)
    """
    return xlogy_op(x, y)


def xlog1py(x: Any, y: Any) -> Expr:
    """``scipy.special.xlog1py(x, y)`` = x log(1 + y), and 0 where x = 0.

    Derivatives: x̄ = z̄ log1p(y); ȳ = z̄ x / (1 + y), taken as 0 where x = 0.

    >>> import symback as sb
    >>> x, y = sb.symbols("x y")
    >>> sb.special.xlog1py(x, y)
    special.xlog1py(x, y)
    """
    return xlog1py_op(x, y)


def expit(x: Any) -> Expr:
    """``scipy.special.expit(x)`` = 1 / (1 + e^{-x}): the ``sigmoid`` op (stable form).

    >>> import symback as sb
    >>> x, y = sb.symbols("x y")
    >>> sb.special.expit(x)
    sigmoid(x)
    """
    return sigmoid(x)


def logit(p: Any) -> Expr:
    """``scipy.special.logit(p)`` = log(p / (1 - p)), computed as log p - log1p(-p);
    derivative 1 / (p (1 - p)). Needs no SciPy.

    >>> import symback as sb
    >>> x, y = sb.symbols("x y")
    >>> sb.special.logit(x)
    special.logit(x)
    """
    return logit_op(p)


NAMES = ("erf", "erfc", "gammaln", "digamma", "psi", "polygamma", "xlogy", "xlog1py", "expit",
         "logit")
