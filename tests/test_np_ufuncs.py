"""NumPy's elementwise functions (symback/ops/ufuncs.py) against central differences and autograd.

Every function: value, gradient, JVP, HVP, float32 (tests/crosscheck.py) at several shapes,
size-1 and broadcast dimensions included; then the conventions at kinks, one by one, and
the error messages.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from crosscheck import crosscheck
from gradcheck import numeric_grad

import symback as sb

# the references are written with autograd.numpy (a test extra): without it, skip
anp = pytest.importorskip("autograd.numpy")

SHAPES1 = [(), (1,), (3,), (2, 3)]
SHAPES2 = [((3,), (3,)), ((2, 1), (1, 3)), ((), (2, 2)), ((1,), (3,))]


def _rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


def _u(rng: np.random.Generator, shape: tuple, lo: float, hi: float) -> np.ndarray:
    return rng.uniform(lo, hi, size=shape)


def _away(rng: np.random.Generator, shape: tuple, lo: float = 0.15, hi: float = 2.0) -> np.ndarray:
    return rng.uniform(lo, hi, size=shape) * rng.choice([-1.0, 1.0], size=shape)


# name, symback function, autograd reference, sampler
UNARY = [
    ("arcsin", sb.arcsin, anp.arcsin, lambda r, s: _u(r, s, -0.9, 0.9)),
    ("arccos", sb.arccos, anp.arccos, lambda r, s: _u(r, s, -0.9, 0.9)),
    ("arctan", sb.arctan, anp.arctan, lambda r, s: _u(r, s, -3, 3)),
    ("sinh", sb.sinh, anp.sinh, lambda r, s: _u(r, s, -2, 2)),
    ("cosh", sb.cosh, anp.cosh, lambda r, s: _u(r, s, -2, 2)),
    ("arcsinh", sb.arcsinh, anp.arcsinh, lambda r, s: _u(r, s, -3, 3)),
    ("arccosh", sb.arccosh, anp.arccosh, lambda r, s: _u(r, s, 1.2, 4)),
    ("arctanh", sb.arctanh, anp.arctanh, lambda r, s: _u(r, s, -0.9, 0.9)),
    ("log2", sb.log2, anp.log2, lambda r, s: _u(r, s, 0.3, 4)),
    ("log10", sb.log10, anp.log10, lambda r, s: _u(r, s, 0.3, 4)),
    ("exp2", sb.exp2, anp.exp2, lambda r, s: _u(r, s, -2, 2)),
    ("square", sb.square, anp.square, lambda r, s: _u(r, s, -2, 2)),
    ("reciprocal", sb.reciprocal, anp.reciprocal, lambda r, s: _away(r, s, 0.4)),
    ("fabs", sb.fabs, anp.fabs, _away),
    ("sinc", sb.sinc, anp.sinc, lambda r, s: _u(r, s, -2, 2)),
    ("deg2rad", sb.deg2rad, anp.deg2rad, lambda r, s: _u(r, s, -90, 90)),
    ("rad2deg", sb.rad2deg, anp.rad2deg, lambda r, s: _u(r, s, -2, 2)),
    ("radians", sb.radians, anp.radians, lambda r, s: _u(r, s, -90, 90)),
    ("degrees", sb.degrees, anp.degrees, lambda r, s: _u(r, s, -2, 2)),
    ("nan_to_num", sb.nan_to_num, anp.nan_to_num, lambda r, s: _u(r, s, -2, 2)),
    ("clip", lambda x: sb.clip(x, -0.5, 0.7), lambda x: anp.clip(x, -0.5, 0.7),
     lambda r, s: np.where(np.abs(_u(r, s, -1, 1) + 0.5) < 0.1, 0.1, _u(r, s, -1, 1))),
]


@pytest.mark.parametrize("shape", SHAPES1, ids=str)
@pytest.mark.parametrize("name,fn,ref,sample", UNARY, ids=[u[0] for u in UNARY])
def test_unary_crosscheck(name, fn, ref, sample, shape) -> None:
    x = sample(_rng(hash(name) % 1000), shape)
    if name == "clip":  # keep entries off the bounds (the kinks are tested below)
        x = np.where(np.abs(x + 0.5) < 0.05, 0.0, x)
        x = np.where(np.abs(x - 0.7) < 0.05, 0.0, x)
    crosscheck(fn, ref, [x], what=name)


def _hypot_ref(a, b):  # autograd's own hypot rule
    return anp.hypot(a, b)


BINARY = [
    ("arctan2", sb.arctan2, anp.arctan2, lambda r, s: _away(r, s, 0.3)),
    ("hypot", sb.hypot, _hypot_ref, lambda r, s: _away(r, s, 0.3)),
    ("logaddexp", sb.logaddexp, anp.logaddexp, lambda r, s: _u(r, s, -3, 3)),
    ("logaddexp2", sb.logaddexp2, anp.logaddexp2, lambda r, s: _u(r, s, -3, 3)),
    ("power", sb.power, anp.power, lambda r, s: _u(r, s, 0.4, 2)),
]


@pytest.mark.parametrize("shapes", SHAPES2, ids=str)
@pytest.mark.parametrize("name,fn,ref,sample", BINARY, ids=[b[0] for b in BINARY])
def test_binary_crosscheck(name, fn, ref, sample, shapes) -> None:
    rng = _rng(hash(name) % 1000)
    crosscheck(fn, ref, [sample(rng, shapes[0]), sample(rng, shapes[1])], what=name)


@pytest.mark.parametrize("shapes", SHAPES2, ids=str)
@pytest.mark.parametrize("name", ["mod", "remainder", "%"])
def test_mod_crosscheck_away_from_jumps(name, shapes) -> None:
    rng = _rng(3)
    a = rng.uniform(-5, 5, size=shapes[0])
    b = rng.uniform(0.7, 1.9, size=shapes[1]) * rng.choice([-1.0, 1.0], size=shapes[1])
    q = np.asarray(a / b)
    a = np.where(np.abs(q - np.round(q)) < 0.05, a + 0.2 * np.abs(b), a)  # off the jumps
    fn = (lambda x, y: x % y) if name == "%" else getattr(sb, name)
    crosscheck(fn, anp.mod, [a, b], what=name, second=False)


@pytest.mark.parametrize("shapes", SHAPES2, ids=str)
@pytest.mark.parametrize("name", ["fmax", "fmin"])
def test_fmax_fmin_crosscheck(name, shapes) -> None:
    rng = _rng(5)
    a = rng.normal(size=shapes[0])
    b = rng.normal(size=shapes[1])
    bb = np.broadcast_to(b, np.broadcast_shapes(a.shape, b.shape))
    if np.min(np.abs(np.broadcast_to(a, bb.shape) - bb), initial=1.0) < 0.05:
        b = b + 0.3
    crosscheck(getattr(sb, name), getattr(anp, name), [a, b], what=name)


def test_clip_bounds_as_arguments() -> None:
    """Symbolic bounds get the gradient where they are active (x outside)."""
    rng = _rng(7)
    x = rng.uniform(-2, 2, size=(2, 3))
    lo = np.full((3,), -0.5) + rng.uniform(-0.2, 0.2, size=3)
    hi = np.full((2, 1), 0.6)
    for _ in range(3):
        x = np.where(np.abs(x - lo) < 0.05, x + 0.11, x)
        x = np.where(np.abs(x - hi) < 0.05, x + 0.11, x)
    crosscheck(sb.clip, lambda a, b, c: anp.minimum(anp.maximum(a, b), c), [x, lo, hi],
               what="clip(x, lo, hi)")


# ---------------------------------------------------------------- kink conventions


def _grad(expr_fn, *vals):
    syms = [sb.tensor(f"a{i}", np.shape(v)) for i, v in enumerate(vals)]
    y = expr_fn(*syms)
    loss = sb.sum(y)
    return sb.lambdify(syms, sb.grad(loss, syms))(*[np.asarray(v, float) for v in vals])


@pytest.mark.parametrize("name", ["floor", "ceil", "round", "sign"])
def test_steps_have_derivative_zero(name) -> None:
    x = np.array([-1.5, -0.5, 0.0, 0.5, 1.0, 2.5])
    (g,) = _grad(getattr(sb, name), x)
    assert np.array_equal(g, np.zeros_like(x))
    f = sb.lambdify([sb.tensor("a0", (6,))], getattr(sb, name)(sb.tensor("a0", (6,))))
    np.testing.assert_array_equal(f(x), getattr(np, name)(x))  # halves to even for round


def test_round_decimals() -> None:
    x = sb.vector("x", 3)
    y = sb.round(x, decimals=2)
    v = np.array([1.23456, -2.5551, 0.125])
    np.testing.assert_array_equal(sb.lambdify([x], y)(v), np.round(v, 2))
    assert sb.parse(str(y), {"x": (3,)}) is y
    with pytest.raises(sb.SymbackError, match="round: decimals"):
        sb.round(x, decimals=1.5)


def test_clip_convention_at_the_bounds() -> None:
    """x̄ = ȳ for lo ≤ x ≤ hi, the bounds included; 0 strictly outside."""
    x = np.array([-1.0, -0.5, 0.0, 0.7, 1.0])
    (g,) = _grad(lambda a: sb.clip(a, -0.5, 0.7), x)
    np.testing.assert_array_equal(g, [0.0, 1.0, 1.0, 1.0, 0.0])
    # one-sided clips (None) and bounds that cross (lo > hi: NumPy gives hi, hi gets ȳ)
    (g,) = _grad(lambda a: sb.clip(a, None, 0.0), x)
    np.testing.assert_array_equal(g, [1.0, 1.0, 1.0, 0.0, 0.0])
    gx, glo, ghi = _grad(sb.clip, x, np.full(5, 0.5), np.full(5, -0.5))
    np.testing.assert_array_equal(gx, np.zeros(5))
    np.testing.assert_array_equal(glo, np.zeros(5))
    np.testing.assert_array_equal(ghi, np.ones(5))
    with pytest.raises(sb.SymbackError, match="clip: a_min and a_max are both None"):
        sb.clip(sb.vector("x", 3))


def test_fabs_like_abs_at_zero() -> None:
    (g,) = _grad(sb.fabs, np.array([-2.0, 0.0, 3.0]))
    np.testing.assert_array_equal(g, [-1.0, 0.0, 1.0])


def test_fmax_fmin_nan_and_ties() -> None:
    """NaN loses to a number (value and gradient); ties split ȳ in halves."""
    a = np.array([1.0, np.nan, 2.0, np.nan, 3.0])
    b = np.array([0.0, 5.0, np.nan, np.nan, 3.0])
    xs, ys = sb.tensor("a0", (5,)), sb.tensor("a1", (5,))
    np.testing.assert_array_equal(sb.lambdify([xs, ys], sb.fmax(xs, ys))(a, b), np.fmax(a, b))
    ga, gb = _grad(sb.fmax, a, b)
    np.testing.assert_array_equal(ga, [1.0, 0.0, 1.0, 1.0, 0.5])
    np.testing.assert_array_equal(gb, [0.0, 1.0, 0.0, 0.0, 0.5])
    ga, gb = _grad(sb.fmin, a, b)
    np.testing.assert_array_equal(ga, [0.0, 0.0, 1.0, 1.0, 0.5])
    np.testing.assert_array_equal(gb, [1.0, 1.0, 0.0, 0.0, 0.5])


def test_hypot_gradient_zero_at_origin_and_no_overflow() -> None:
    ga, gb = _grad(sb.hypot, np.array([0.0, 3.0, 1e200]), np.array([0.0, 4.0, 1e200]))
    np.testing.assert_allclose(ga, [0.0, 0.6, math.sqrt(0.5)])
    np.testing.assert_allclose(gb, [0.0, 0.8, math.sqrt(0.5)])
    (g,) = _grad(sb.arcsinh, np.array([1e200, -1e200]))  # 1/√(1+x²) with no x² overflow
    np.testing.assert_allclose(g, [1e-200, 1e-200])


def test_logaddexp_stable_gradient() -> None:
    ga, gb = _grad(sb.logaddexp, np.array([1000.0, -1000.0]), np.array([1000.0, 0.0]))
    np.testing.assert_allclose(ga, [0.5, 0.0])
    np.testing.assert_allclose(gb, [0.5, 1.0])


def test_nan_to_num_gradient_only_where_finite() -> None:
    x = np.array([np.nan, np.inf, -np.inf, 1.5])
    s = sb.tensor("a0", (4,))
    y = sb.nan_to_num(s, nan=1.0, posinf=9.0)
    np.testing.assert_array_equal(sb.lambdify([s], y)(x), np.nan_to_num(x, nan=1.0, posinf=9.0))
    (g,) = _grad(lambda a: sb.nan_to_num(a), x)
    np.testing.assert_array_equal(g, [0.0, 0.0, 0.0, 1.0])
    assert sb.parse(str(y), {"a0": (4,)}) is y


def test_sinc_derivatives_through_zero() -> None:
    """sinc is smooth at 0: the gradient and the second derivative are finite and right."""
    x = np.array([0.0, 1e-9, 1e-3, 0.00999, 0.0101, 0.5])
    (g,) = _grad(sb.sinc, x)
    want = np.array([numeric_grad(lambda v: float(np.sinc(v[0])), [np.array([v])], 0, 1e-5)[0]
                     for v in x])
    np.testing.assert_allclose(g, want, atol=1e-8)
    s = sb.tensor("a0", (6,))
    h = sb.hvp(sb.sum(sb.sinc(s)), s, sb.const(np.ones(6)))
    hv = sb.lambdify([s], h)(x)
    assert abs(hv[0] - (-math.pi ** 2 / 3)) < 1e-9  # sinc''(0) = -π²/3
    gfun = sb.lambdify([s], sb.grad(sb.sum(sb.sinc(s)), [s])[0])
    fd = (gfun(x + 1e-6) - gfun(x - 1e-6)) / 2e-6
    np.testing.assert_allclose(hv, fd, rtol=1e-5, atol=1e-5)


# ---------------------------------------------------------------- printing, parsing, errors


@pytest.mark.parametrize("build,latex", [
    (sb.arcsin, r"\arcsin(x)"), (sb.sinh, r"\sinh(x)"), (sb.log2, r"\log_2 x"),
    (sb.log10, r"\log_{10} x"), (sb.floor, r"\lfloor x \rfloor"),
    (sb.ceil, r"\lceil x \rceil"), (sb.exp2, "2^{x}"),
    (lambda x: sb.hypot(x, x * 2), r"\sqrt{x^{2} + (2 x)^{2}}"),
    (lambda x: x % 3, r"x \bmod 3"),
])
def test_latex_textbook_forms(build, latex) -> None:
    assert sb.latex(build(sb.symbols("x"))) == latex


def test_every_function_prints_text_that_parses_back() -> None:
    x, y = sb.symbols("x y")
    exprs = [sb.arcsin(x), sb.arctan2(x, y), sb.hypot(x, y), sb.logaddexp(x, y),
             sb.logaddexp2(x, y), x % y, sb.fmax(x, y), sb.fmin(x, y), sb.clip(x, 0.0, y),
             sb.sinc(x), sb.floor(x) + sb.ceil(y), sb.arccosh(x) * sb.arctanh(y),
             sb.log10(x) - sb.exp2(y), sb.cosh(x) / sb.sinh(y), sb.arccos(x) + sb.arcsinh(y)]
    for e in exprs:
        assert sb.parse(sb.to_text(e, exact=True)) is e, sb.to_text(e, exact=True)
    assert sb.parse("square(x) + reciprocal(y) + power(x, y) + fabs(x)") is \
        x ** 2 + 1.0 / y + x ** y + abs(x)
    assert sb.parse("deg2rad(x)") is sb.radians(x)


def test_mod_operator_binds_as_python() -> None:
    x, y = sb.symbols("x y")
    assert sb.parse("x % y * 2") is (x % y) * 2
    assert sb.parse("2 % x") is 2 % x
    assert str(x * (y % x)) == "x * (y % x)"


def test_domain_values_as_numpy() -> None:
    """Outside the domain the value is NumPy's NaN (no exception from the scalar path)."""
    x = sb.symbols("x")
    f = sb.lambdify([x], sb.arcsin(x) + sb.arccosh(x))
    with np.errstate(invalid="ignore"):
        assert np.isnan(f(2.0))


def test_sympy_forms_and_back_with_sympys_derivative() -> None:
    """to_sympy gives SymPy's function; SymPy's diff of it (an independent derivative)
    agrees with symback's gradient; from_sympy maps it back to the op."""
    sympy = pytest.importorskip("sympy")
    x, y = sb.symbols("x y")
    point = {"x": 0.37, "y": 1.3}
    cases = [sb.arcsin(x), sb.arccos(x), sb.arctan(x) * y, sb.sinh(x) + sb.cosh(y),
             sb.arcsinh(x), sb.arccosh(y), sb.arctanh(x), sb.log2(y), sb.log10(y), sb.exp2(x),
             sb.sinc(x), sb.arctan2(x, y), sb.hypot(x, y), sb.logaddexp(x, y),
             sb.logaddexp2(x, y), sb.special.erf(x), sb.special.erfc(y),
             sb.special.gammaln(y), sb.special.digamma(y), sb.special.polygamma(2, y),
             sb.special.xlogy(x, y), sb.special.xlog1py(x, y), sb.special.logit(x)]
    for e in cases:
        s = sb.to_sympy(e)
        syms = {str(v): v for v in s.free_symbols}
        subs = {syms[k]: v for k, v in point.items() if k in syms}
        want = [float(sympy.diff(s, syms[k]).subs(subs).evalf()) if k in syms else 0.0
                for k in ("x", "y")]
        got = sb.lambdify([x, y], sb.grad(e, [x, y]))(point["x"], point["y"])
        np.testing.assert_allclose(np.array(got, dtype=float), want, rtol=1e-9, err_msg=str(e))
        back = sb.from_sympy(s)
        np.testing.assert_allclose(
            float(sb.lambdify([x, y], back + 0.0 * x + 0.0 * y)(point["x"], point["y"])),
            float(sb.lambdify([x, y], e + 0.0 * x + 0.0 * y)(point["x"], point["y"])),
            rtol=1e-12, err_msg=str(e))
    assert sb.from_sympy(sb.to_sympy(sb.arcsin(x))) is sb.arcsin(x)
    assert sb.from_sympy(sb.to_sympy(sb.special.polygamma(3, x))) is sb.special.polygamma(3, x)
    assert sb.from_sympy(sb.to_sympy(sb.sinc(x))) is sb.sinc(x)
    assert sb.from_sympy(sb.to_sympy(x % y)) is x % y


def test_docstring_examples_run() -> None:
    """Every new public function's docstring example (doctest) prints what it says."""
    import doctest

    import symback.ops.special
    import symback.ops.stats
    import symback.ops.ufuncs
    import symback.special

    for mod in (symback.ops.ufuncs, symback.ops.stats, symback.ops.special, symback.special):
        result = doctest.testmod(mod, verbose=False)
        assert result.failed == 0, mod.__name__
        assert result.attempted > 0, mod.__name__
    names = ("arcsin arccos arctan sinh cosh arcsinh arccosh arctanh log2 log10 exp2 square "
             "reciprocal power fabs clip floor ceil round sinc deg2rad rad2deg nan_to_num "
             "arctan2 hypot logaddexp logaddexp2 mod fmax fmin max min prod var std cumsum "
             "cumprod average ptp").split()
    for n in names:
        assert ">>>" in (getattr(sb, n).__doc__ or ""), n
    for n in sb.special.__all__:
        assert ">>>" in (getattr(sb.special, n).__doc__ or ""), n
