"""NumPy's elementwise functions beyond the core arithmetic (issue 11, the NumPy surface).

Each op states its maths: forward form, VJP (written in symback ops, so every order
works), and the convention where the function has a kink or a jump. The core
arithmetic (``add`` … ``pow``, ``exp``, ``log``, ``sin`` …) lives in
:mod:`symback.ops.elementwise`; this module adds the rest of NumPy's real ufuncs.

Conventions at kinks and jumps (also in the README table):

* ``floor``, ``ceil``, ``round``, ``sign``: derivative 0 everywhere (the jumps have none);
* ``clip(x, lo, hi)``: x̄ = ȳ where lo ≤ x ≤ hi (the bounds included, as PyTorch's
  ``clamp``), the bound that is active gets ȳ where x is strictly outside;
* ``fabs``: as ``abs`` (abs'(0) = 0);
* ``fmax``/``fmin``: NaN handling as NumPy (a NaN loses to a number); at ties each
  argument gets ȳ/2 (as ``maximum``); where the other argument is NaN the number gets ȳ;
* ``hypot(a, b)``: gradient 0 at a = b = 0 (not NaN; the minimum-norm subgradient);
* ``mod``/``remainder``: ā = ȳ, b̄ = -ȳ ⊙ floor(a / b) (the jumps where a/b is an integer
  have no derivative; the right-hand limit is used);
* ``nan_to_num``: x̄ = ȳ where x is finite, 0 where it was replaced;
* ``sinc``: smooth everywhere; near 0 its derivative is a Taylor polynomial (no 0/0).
"""

from __future__ import annotations

import math
from typing import Any

from ..errors import SymbackError
from ..graph import Expr
from ..notation import ATOM, MUL, POW, Notation, infix
from ._common import _sp
from .elementwise import (abs_, add, cos, div, elementwise, equal, exp, greater, less,
                          less_equal, mul, neg, pow_, sqrt, sub, where)

_LN2 = math.log(2.0)
_LN10 = math.log(10.0)


# ---------------------------------------------------------------- helpers


def _fn(cmd: str) -> Notation:
    """``\\arcsin(x)``: a function applied entry by entry (braces escaped for format)."""
    return Notation(cmd.replace("{", "{{").replace("}", "}}") + "({0})", ATOM)


def _sympy1(name: str) -> Any:
    """The SymPy function ``name`` applied to a scalar, entry by entry to a matrix."""
    def conv(a: Any) -> Any:
        import sympy

        fn = getattr(sympy, name)
        if isinstance(a, (sympy.MatrixBase, sympy.MatrixExpr)):
            return a.applyfunc(fn)
        return fn(a)
    return conv


def _sympy2(build: Any) -> Any:
    """A binary SymPy form for scalars (``None``, no form, for matrices)."""
    def conv(a: Any, b: Any) -> Any:
        import sympy

        if isinstance(a, (sympy.MatrixBase, sympy.MatrixExpr)) or isinstance(
                b, (sympy.MatrixBase, sympy.MatrixExpr)):
            return None
        return build(sympy, a, b)
    return conv


def _own(call: str) -> dict[str, str]:
    """Forms for a NumPy function PyTorch and JAX both have under NumPy's name and
    arguments (``torch.sinc``, ``jnp.sinc``) but the array-API standard lacks. PyTorch's
    binary ones take tensors only (``torch.fmax(2.0, x)`` raises): their arguments go
    through ``torch.as_tensor`` (a tensor unchanged; a number a 0-d tensor, which does not
    change the other argument's dtype)."""
    tcall = call
    if "{1}" in call:
        tcall = call.replace("{0}", "torch.as_tensor({0})").replace("{1}", "torch.as_tensor({1})")
    return {"torch": "torch." + tcall, "jax": "jnp." + call}


def _unary(name: str, np_name: str, vjp: Any, latex: Notation, doc: str,
           scalar: str | None = None, sympy: Any = None, forms: Any = None) -> Any:
    return elementwise(
        name, 1, f"np.{np_name}({{0}})", vjp, forms=forms or {},
        numpy_out=f"np.{np_name}({{0}}, {{out}})", scalar=scalar,
        latex=latex, sympy=sympy, doc=doc,
    )


# ---------------------------------------------------------------- inverse trig and hyperbolic


def _one_minus_sq(x: Expr) -> Expr:
    """1 - x² as (1 - x)(1 + x): accurate near |x| = 1, where 1 - x² cancels."""
    return mul(sub(1.0, x), add(1.0, x))


arcsin = _unary(
    "arcsin", "arcsin", lambda g, out, x: (div(g, sqrt(_one_minus_sq(x))),),
    _fn(r"\arcsin"), "y = arcsin x (−1 ≤ x ≤ 1);  x̄ = ȳ ⊘ √((1 - x)(1 + x))",
    scalar="_m.asin({0})", sympy=_sympy1("asin"),
)
arccos = _unary(
    "arccos", "arccos", lambda g, out, x: (neg(div(g, sqrt(_one_minus_sq(x)))),),
    _fn(r"\arccos"), "y = arccos x (−1 ≤ x ≤ 1);  x̄ = -ȳ ⊘ √((1 - x)(1 + x))",
    scalar="_m.acos({0})", sympy=_sympy1("acos"),
)
arctan = _unary(
    "arctan", "arctan", lambda g, out, x: (div(g, add(1.0, mul(x, x))),),
    _fn(r"\arctan"), "y = arctan x;  x̄ = ȳ ⊘ (1 + x²)",
    scalar="_m.atan({0})", sympy=_sympy1("atan"),
)
sinh = _unary(
    "sinh", "sinh", lambda g, out, x: (mul(g, cosh(x)),),
    _fn(r"\sinh"), "y = sinh x;  x̄ = ȳ ⊙ cosh x",
    scalar="_m.sinh({0})", sympy=_sympy1("sinh"),
)
cosh = _unary(
    "cosh", "cosh", lambda g, out, x: (mul(g, sinh(x)),),
    _fn(r"\cosh"), "y = cosh x;  x̄ = ȳ ⊙ sinh x",
    scalar="_m.cosh({0})", sympy=_sympy1("cosh"),
)
arcsinh = _unary(
    "arcsinh", "arcsinh", lambda g, out, x: (div(g, hypot(x, 1.0)),),
    _fn(r"\operatorname{arsinh}"),
    "y = arsinh x;  x̄ = ȳ ⊘ √(1 + x²) (written hypot(x, 1): no overflow for large x)",
    scalar="_m.asinh({0})", sympy=_sympy1("asinh"),
)
arccosh = _unary(
    "arccosh", "arccosh", lambda g, out, x: (div(g, mul(sqrt(sub(x, 1.0)), sqrt(add(x, 1.0)))),),
    _fn(r"\operatorname{arcosh}"),
    "y = arcosh x (x ≥ 1);  x̄ = ȳ ⊘ (√(x - 1) √(x + 1)) (no overflow for large x)",
    scalar="_m.acosh({0})", sympy=_sympy1("acosh"),
)
arctanh = _unary(
    "arctanh", "arctanh", lambda g, out, x: (div(g, _one_minus_sq(x)),),
    _fn(r"\operatorname{artanh}"), "y = artanh x (−1 < x < 1);  x̄ = ȳ ⊘ ((1 - x)(1 + x))",
    scalar="_m.atanh({0})", sympy=_sympy1("atanh"),
)

# ---------------------------------------------------------------- logs and exponentials


def _log_base(b: int) -> Any:
    import sympy

    return lambda a: (a.applyfunc(lambda e: sympy.log(e, b))
                      if isinstance(a, (sympy.MatrixBase, sympy.MatrixExpr)) else sympy.log(a, b))


log2 = _unary(
    "log2", "log2", lambda g, out, x: (div(g, mul(_LN2, x)),),
    # binds like a sum: (\log_2 x) y is parenthesised in a product
    Notation(r"\log_2 {0}", MUL - 1, POW), "y = log₂ x;  x̄ = ȳ ⊘ (x ln 2)",
    scalar="_m.log2({0})", sympy=lambda a: _log_base(2)(a),
)
log10 = _unary(
    "log10", "log10", lambda g, out, x: (div(g, mul(_LN10, x)),),
    Notation(r"\log_{{10}} {0}", MUL - 1, POW), "y = log₁₀ x;  x̄ = ȳ ⊘ (x ln 10)",
    scalar="_m.log10({0})", sympy=lambda a: _log_base(10)(a),
)
exp2 = _unary(
    "exp2", "exp2", lambda g, out, x: (mul(g, mul(_LN2, out)),),
    Notation("2^{{{0}}}", POW, 0), "y = 2^x;  x̄ = ȳ ⊙ y ln 2 (reuses y)",
    sympy=lambda a: _sympy1("exp")(a * _sp().log(2)),
    forms=_own("exp2({0})"),
)

# ---------------------------------------------------------------- rounding (derivative zero)


def _zero_vjp(g: Expr, out: Expr, x: Expr, **kw: Any) -> tuple[None]:
    return (None,)


floor = _unary(
    "floor", "floor", _zero_vjp, Notation(r"\lfloor {0} \rfloor", ATOM),
    "y = ⌊x⌋ (the largest integer ≤ x, as a float);  derivative 0 (the jumps have none)",
    sympy=_sympy1("floor"),
)
ceil = _unary(
    "ceil", "ceil", _zero_vjp, Notation(r"\lceil {0} \rceil", ATOM),
    "y = ⌈x⌉ (the smallest integer ≥ x, as a float);  derivative 0",
    sympy=_sympy1("ceiling"),
)


def _round_norm(args: tuple[Expr, ...], attrs: dict[str, Any]) -> dict[str, Any]:
    d = attrs.get("decimals", 0)
    if isinstance(d, bool) or not isinstance(d, int):
        raise SymbackError(f"round: decimals must be an int, got {d!r}")
    return {"decimals": d}


def _round_text(args: list[str], kw: dict[str, Any]) -> str:
    d = kw.get("decimals", 0)
    return f"round({args[0]})" if d == 0 else f"round({args[0]}, decimals={d})"


def _round_latex(args: list[str], kw: dict[str, Any]) -> str:
    d = kw.get("decimals", 0)
    if d == 0:
        return rf"\lfloor {args[0]} \rceil"
    return rf"\operatorname{{round}}_{{{d}}}({args[0]})"


round_op = elementwise(
    "round", 1, "np.round({0}, {decimals})", _zero_vjp,
    numpy_out="np.round({0}, {decimals}, {out})", normalize=_round_norm,
    # both round halves to even, as NumPy
    forms={"torch": "torch.round({0}, decimals={decimals})", "jax": "jnp.round({0}, {decimals})"},
    text=Notation(_round_text), latex=Notation(_round_latex, ATOM),
    doc="y = x rounded to `decimals` digits, halves to even (as NumPy);  derivative 0",
)


def round(x: Any, decimals: int = 0) -> Expr:  # noqa: A001 - NumPy's name
    """``np.round(x, decimals)``: halves to even, as NumPy. Derivative 0 (a step function).

    >>> import symback as sb
    >>> sb.round(sb.symbols("x"))
    round(x)
    """
    return round_op(x, decimals=decimals)


around = round

# ---------------------------------------------------------------- sinc

# Taylor coefficients of sinc'(x) = Σ_{k≥1} (-1)^k 2k π^{2k} x^{2k-1} / (2k+1)!, |x| < _SINC_SMALL
_SINC_SMALL = 1e-2
_SINC_D = [(-1) ** k * 2 * k * math.pi ** (2 * k) / math.factorial(2 * k + 1) for k in (1, 2, 3, 4)]


def _sinc_vjp(g: Expr, out: Expr, x: Expr) -> tuple[Expr]:
    """sinc'(x) = (cos πx - sinc x) / x away from 0; near 0 (|x| < 10⁻²) its Taylor
    polynomial -π²x/3 + π⁴x³/30 - π⁶x⁵/840 + π⁸x⁷/45360 (error < 10⁻¹⁵). The division
    sees x replaced by 1 near 0, so no 0/0 reaches any order of derivative."""
    small = less(abs_(x), _SINC_SMALL)
    xs = where(small, 1.0, x)
    far = div(sub(cos(mul(math.pi, xs)), sinc(xs)), xs)
    x2 = mul(x, x)
    c1, c2, c3, c4 = _SINC_D
    near = mul(x, add(c1, mul(x2, add(c2, mul(x2, add(c3, mul(c4, x2)))))))
    return (mul(g, where(small, near, far)),)


sinc = elementwise(
    "sinc", 1, "np.sinc({0})", _sinc_vjp, forms=_own("sinc({0})"),
    latex=_fn(r"\operatorname{sinc}"),
    sympy=lambda a: _sympy1("sinc")(a * _sp().pi),
    doc="y = sin(πx) / (πx), y(0) = 1 (NumPy's normalised sinc);  "
        "x̄ = ȳ ⊙ (cos πx - y) / x, and its Taylor polynomial near 0",
)

# ---------------------------------------------------------------- clip


def _clip_vjp(g: Expr, out: Expr, x: Expr, lo: Expr, hi: Expr) -> tuple[Any, Any, Any]:
    """y = min(max(x, lo), hi) (NumPy's definition, also where lo > hi: then y = hi);
    x̄ = ȳ where lo ≤ x ≤ hi (bounds included), lō = ȳ where x < lo ≤ hi,
    hī = ȳ where max(x, lo) > hi."""
    gx = where(less_equal(lo, x), where(less_equal(x, hi), g, 0.0), 0.0)
    glo = None if lo.is_const else where(less(x, lo), where(less_equal(lo, hi), g, 0.0), 0.0)
    ghi = None if hi.is_const else where(greater(x, hi), g, where(greater(lo, hi), g, 0.0))
    return gx, glo, ghi


def _clip_text(args: list[str], kw: dict[str, Any]) -> str:
    return f"clip({args[0]}, {args[1]}, {args[2]})"


clip_op = elementwise(
    "clip", 3, "np.clip({0}, {1}, {2})", _clip_vjp,
    numpy_out="np.clip({0}, {1}, {2}, out={out})",
    text=Notation(_clip_text), latex=Notation(r"\operatorname{{clip}}({0}, {1}, {2})", ATOM),
    sympy=lambda x, lo, hi: None if hasattr(x, "shape") else _sp().Min(_sp().Max(x, lo), hi),
    doc="y = min(max(x, lo), hi);  x̄ = ȳ where lo ≤ x ≤ hi (bounds included), "
        "lō = ȳ where x < lo, hī = ȳ where x > hi",
)


def clip(a: Any, a_min: Any = None, a_max: Any = None) -> Expr:
    """``np.clip(a, a_min, a_max)``: ``min(max(a, a_min), a_max)``, broadcasting.

    ``None`` for a bound means none (−∞ or +∞). Derivative: ā = ȳ where
    a_min ≤ a ≤ a_max (the bounds included, as PyTorch's ``clamp``), and the bound
    that is active gets ȳ where ``a`` is strictly outside.

    >>> import symback as sb
    >>> sb.clip(sb.symbols("x"), 0.0, 1.0)
    clip(x, 0, 1)
    """
    if a_min is None and a_max is None:
        raise SymbackError("clip: a_min and a_max are both None (give at least one bound)")
    lo = -math.inf if a_min is None else a_min
    hi = math.inf if a_max is None else a_max
    return clip_op(a, lo, hi)


# ---------------------------------------------------------------- nan_to_num


def _ntn_norm(args: tuple[Expr, ...], attrs: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for k in ("nan", "posinf", "neginf"):
        v = attrs.get(k, 0.0 if k == "nan" else None)
        if v is not None:
            if isinstance(v, bool) or not isinstance(v, (int, float)):
                raise SymbackError(f"nan_to_num: {k} must be a number or None, got {v!r}")
            v = float(v)
        out[k] = v
    return out


def _ntn_text(args: list[str], kw: dict[str, Any]) -> str:
    extra = "".join(f", {k}={kw[k]!r}" for k in ("nan", "posinf", "neginf")
                    if kw.get(k) is not None and not (k == "nan" and kw[k] == 0.0))
    return f"nan_to_num({args[0]}{extra})"


def _ntn_vjp(g: Expr, out: Expr, x: Expr, **kw: Any) -> tuple[Expr]:
    """x̄ = ȳ where x is finite (|x| < inf: false at ±inf and NaN, with no warning), else 0."""
    return (where(less(abs_(x), math.inf), g, 0.0),)


nan_to_num_op = elementwise(
    "nan_to_num", 1, "np.nan_to_num({0}, nan={nan}, posinf={posinf}, neginf={neginf})",
    _ntn_vjp, normalize=_ntn_norm, text=Notation(_ntn_text),
    forms=_own("nan_to_num({0}, nan={nan}, posinf={posinf}, neginf={neginf})"),
    latex=_fn(r"\operatorname{nan\_to\_num}"),
    doc="y = x with NaN, +inf, -inf replaced by numbers;  x̄ = ȳ where x is finite, else 0",
)


def nan_to_num(x: Any, copy: bool = True, nan: float = 0.0, posinf: float | None = None,
               neginf: float | None = None) -> Expr:
    """``np.nan_to_num(x, nan=0.0, posinf=None, neginf=None)``: NaN and ±inf replaced
    (``None``: the largest finite number of the dtype). Derivative: ȳ where x is
    finite, 0 where an entry was replaced.

    >>> import symback as sb
    >>> sb.nan_to_num(sb.symbols("x"), nan=1.0)
    nan_to_num(x, nan=1.0)
    """
    return nan_to_num_op(x, nan=nan, posinf=posinf, neginf=neginf)


# ---------------------------------------------------------------- binary


def _arctan2_vjp(g: Expr, out: Expr, y: Expr, x: Expr) -> tuple[Expr, Expr]:
    """ȳ_y = ȳ x / (x² + y²), ȳ_x = -ȳ y / (x² + y²) (undefined at the origin, as NumPy's
    value is a convention there)."""
    r2 = add(mul(x, x), mul(y, y))
    return div(mul(g, x), r2), neg(div(mul(g, y), r2))


arctan2 = elementwise(
    "arctan2", 2, "np.arctan2({0}, {1})", _arctan2_vjp,
    numpy_out="np.arctan2({0}, {1}, {out})", scalar="_m.atan2({0}, {1})",
    latex=Notation(r"\operatorname{atan2}({0}, {1})", ATOM),
    sympy=_sympy2(lambda sp, a, b: sp.atan2(a, b)),
    doc="z = atan2(y, x), the angle of (x, y) in (-π, π];  "
        "ȳ = z̄ x / (x² + y²),  x̄ = -z̄ y / (x² + y²)",
)


def _hypot_vjp(g: Expr, out: Expr, a: Expr, b: Expr) -> tuple[Expr, Expr]:
    """ā = ȳ a / h, b̄ = ȳ b / h; at a = b = 0 the gradient is 0 (h replaced by 1 there)."""
    safe = where(equal(out, 0.0), 1.0, out)
    return mul(g, div(a, safe)), mul(g, div(b, safe))


hypot = elementwise(
    "hypot", 2, "np.hypot({0}, {1})", _hypot_vjp,
    numpy_out="np.hypot({0}, {1}, {out})", scalar="_m.hypot({0}, {1})",
    latex=Notation(r"\sqrt{{{0}^{{2}} + {1}^{{2}}}}", ATOM, POW + 1),
    sympy=_sympy2(lambda sp, a, b: sp.sqrt(a ** 2 + b ** 2)),
    doc="h = √(a² + b²) without overflow;  ā = h̄ a / h, b̄ = h̄ b / h (0 at a = b = 0)",
)


logaddexp = elementwise(
    "logaddexp", 2, "np.logaddexp({0}, {1})",
    lambda g, out, a, b: (mul(g, exp(sub(a, out))), mul(g, exp(sub(b, out)))),
    numpy_out="np.logaddexp({0}, {1}, {out})",
    latex=Notation(r"\log(e^{{{0}}} + e^{{{1}}})", ATOM),
    sympy=_sympy2(lambda sp, a, b: sp.log(sp.exp(a) + sp.exp(b))),
    doc="y = log(eᵃ + eᵇ) (NumPy's stable form);  ā = ȳ e^{a - y}, b̄ = ȳ e^{b - y} "
        "(the exponents are ≤ 0: no overflow)",
)
logaddexp2 = elementwise(
    "logaddexp2", 2, "np.logaddexp2({0}, {1})",
    lambda g, out, a, b: (mul(g, exp2(sub(a, out))), mul(g, exp2(sub(b, out)))),
    numpy_out="np.logaddexp2({0}, {1}, {out})", forms=_own("logaddexp2({0}, {1})"),
    latex=Notation(r"\log_2(2^{{{0}}} + 2^{{{1}}})", ATOM),
    sympy=_sympy2(lambda sp, a, b: sp.log(2 ** a + 2 ** b, 2)),
    doc="y = log₂(2ᵃ + 2ᵇ) (stable);  ā = ȳ 2^{a - y}, b̄ = ȳ 2^{b - y}",
)


def _mod_vjp(g: Expr, out: Expr, a: Expr, b: Expr) -> tuple[Expr, Any]:
    """y = a - b ⌊a / b⌋;  ā = ȳ, b̄ = -ȳ ⌊a / b⌋ (away from the jumps)."""
    return g, None if b.is_const else neg(mul(g, floor(div(a, b))))


mod = elementwise(
    "mod", 2, "np.mod({0}, {1})", _mod_vjp,
    numpy_out="np.mod({0}, {1}, {out})",
    forms={"xp": "xp.remainder({0}, {1})"},  # the standard's remainder: the sign of b
    text=infix(" % ", MUL), latex=infix(r" \bmod ", MUL),
    sympy=_sympy2(lambda sp, a, b: sp.Mod(a, b)),
    doc="y = a mod b = a - b ⌊a / b⌋ (the sign of b, as Python's % and np.mod);  "
        "ā = ȳ, b̄ = -ȳ ⌊a / b⌋ (the jumps at a/b ∈ ℤ have no derivative)",
)
remainder = mod


def _fminmax_vjp(better: Any) -> Any:
    def vjp(g: Expr, out: Expr, a: Expr, b: Expr) -> tuple[Expr, Expr]:
        half = mul(0.5, g)
        # a wins where it is better, or where b is NaN (b == b false); ties split
        ga = where(better(a, b), g, where(equal(a, b), half, where(equal(b, b), 0.0, g)))
        # b wins where it is better, or where a is NaN and b is not (both NaN: a keeps it)
        gb = where(better(b, a), g, where(equal(a, b), half,
                                          where(equal(a, a), 0.0, where(equal(b, b), g, 0.0))))
        return ga, gb
    return vjp


fmax = elementwise(
    "fmax", 2, "np.fmax({0}, {1})", _fminmax_vjp(greater),
    numpy_out="np.fmax({0}, {1}, {out})", forms=_own("fmax({0}, {1})"),
    latex=Notation(r"\max({0}, {1})", ATOM),
    sympy=_sympy2(lambda sp, a, b: sp.Max(a, b)),
    doc="y = max(a, b), a NaN losing to a number (np.fmax);  ā = ȳ where a > b or b is NaN, "
        "b̄ = ȳ where b > a or a is NaN; at ties each gets ȳ/2",
)
fmin = elementwise(
    "fmin", 2, "np.fmin({0}, {1})", _fminmax_vjp(less),
    numpy_out="np.fmin({0}, {1}, {out})", forms=_own("fmin({0}, {1})"),
    latex=Notation(r"\min({0}, {1})", ATOM),
    sympy=_sympy2(lambda sp, a, b: sp.Min(a, b)),
    doc="y = min(a, b), a NaN losing to a number (np.fmin);  ā = ȳ where a < b or b is NaN, "
        "b̄ = ȳ where b < a or a is NaN; at ties each gets ȳ/2",
)

# ---------------------------------------------------------------- composed (plain functions)


def square(x: Any) -> Expr:
    """``np.square(x)`` = x ** 2 (composed: the ``pow`` op, printed x^{2}).

    >>> import symback as sb
    >>> x = sb.symbols("x")
    >>> sb.square(x)
    x ** 2
    """
    return pow_(x, 2)


def reciprocal(x: Any) -> Expr:
    """``np.reciprocal(x)`` = 1 / x (composed: the ``div`` op).

    >>> import symback as sb
    >>> x = sb.symbols("x")
    >>> sb.reciprocal(x)
    1 / x
    """
    return div(1.0, x)


def power(x1: Any, x2: Any) -> Expr:
    """``np.power(x1, x2)`` = x1 ** x2 (the ``pow`` op).

    >>> import symback as sb
    >>> x = sb.symbols("x")
    >>> sb.power(x, 3)
    x ** 3
    """
    return pow_(x1, x2)


def fabs(x: Any) -> Expr:
    """``np.fabs(x)`` = abs(x) (the ``abs`` op; abs'(0) = 0).

    >>> import symback as sb
    >>> x = sb.symbols("x")
    >>> sb.fabs(x)
    abs(x)
    """
    return abs_(x)


def deg2rad(x: Any) -> Expr:
    """``np.deg2rad(x)`` = x π / 180 (composed: a product with a constant).

    >>> import symback as sb
    >>> x = sb.symbols("x")
    >>> sb.deg2rad(x)
    0.017453292519943295 * x
    """
    return mul(math.pi / 180.0, x)


def rad2deg(x: Any) -> Expr:
    """``np.rad2deg(x)`` = x 180 / π (composed: a product with a constant).

    >>> import symback as sb
    >>> x = sb.symbols("x")
    >>> sb.rad2deg(x)
    57.29577951308232 * x
    """
    return mul(180.0 / math.pi, x)


radians = deg2rad
degrees = rad2deg

#: the public names of this module, for symback/__init__.py and the parser's table
NAMES = ("arcsin", "arccos", "arctan", "sinh", "cosh", "arcsinh", "arccosh", "arctanh",
         "log2", "log10", "exp2", "square", "reciprocal", "power", "fabs", "clip", "floor",
         "ceil", "round", "around", "sinc", "deg2rad", "rad2deg", "radians", "degrees",
         "nan_to_num", "arctan2", "hypot", "logaddexp", "logaddexp2", "mod", "remainder",
         "fmax", "fmin")


# ---------------------------------------------------------------- public, documented functions


def _documented(op: Any, example: str, printed: str | None = None) -> Any:
    """The public function for an op: NumPy's signature, the op's maths as its docstring,
    and a doctest (the op itself stays reachable as ``fn.op``)."""
    name = op.name
    args = ["x"] if op.arity == 1 else ["x1", "x2"]

    if op.arity == 1:
        def fn(x: Any) -> Expr:  # the signature help() shows
            return op(x)
    else:
        def fn(x1: Any, x2: Any) -> Expr:  # type: ignore[misc]
            return op(x1, x2)
    fn.__name__ = fn.__qualname__ = name
    fn.__module__ = __name__
    shown = printed or example
    fn.__doc__ = (f"``np.{name}({', '.join(args)})``, elementwise with broadcasting (the "
                  f"``{name}`` op).\n\n    {op.doc}\n\n    >>> import symback as sb\n"
                  f"    >>> x, y = sb.symbols('x y')\n    >>> sb.{example}\n    {shown}\n")
    fn.op = op  # type: ignore[attr-defined]
    return fn


arcsin = _documented(arcsin, "arcsin(x)")
arccos = _documented(arccos, "arccos(x)")
arctan = _documented(arctan, "arctan(x)")
sinh = _documented(sinh, "sinh(x)")
cosh = _documented(cosh, "cosh(x)")
arcsinh = _documented(arcsinh, "arcsinh(x)")
arccosh = _documented(arccosh, "arccosh(x)")
arctanh = _documented(arctanh, "arctanh(x)")
log2 = _documented(log2, "log2(x)")
log10 = _documented(log10, "log10(x)")
exp2 = _documented(exp2, "exp2(x)")
floor = _documented(floor, "floor(x)")
ceil = _documented(ceil, "ceil(x)")
sinc = _documented(sinc, "sinc(x)")
arctan2 = _documented(arctan2, "arctan2(x, y)")
hypot = _documented(hypot, "hypot(x, y)")
logaddexp = _documented(logaddexp, "logaddexp(x, y)")
logaddexp2 = _documented(logaddexp2, "logaddexp2(x, y)")
fmax = _documented(fmax, "fmax(x, y)")
fmin = _documented(fmin, "fmin(x, y)")
mod = _documented(mod, "mod(x, y)", "x % y")
remainder = mod
