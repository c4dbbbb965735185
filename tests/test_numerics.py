"""Numerics at the extremes, the NaN/inf policy, ``check_finite``, and gradients at kinks.

* The stable forms (sigmoid, softplus, logsumexp, softmax, log_softmax, and
  log σ(x), log(1 − σ(x)) after STABILIZE) hold at ±1000 and ±1e-300 in float64
  and float32: values and gradients agree with 50-digit mpmath references,
  keep their dtype, and raise no overflow / invalid / divide warning (NumPy's
  default ignores underflow to 0, which is the right answer there).
* The policy of the README ("NaN and infinity"): NaN propagates, ±inf gives the
  limits where they exist, −inf entries of a softmax row are masked-out entries.
* ``lambdify(..., check_finite=True)`` names the first node (op and formula) or
  argument that holds a NaN or an infinity.
* Gradients through maximum, minimum, relu, abs and where never turn finite
  forward values into NaN, also exactly at kinks and ties; the where trap
  (an unselected branch that is NaN) is documented and the double-where idiom
  is tested.
"""

from __future__ import annotations

import warnings
from typing import Any, Callable

import mpmath
import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from reference_interpreter import evaluate
from strategies import fuzz_settings

import symback as sb

mpmath.mp.dps = 50

DTYPES = ["float64", "float32"]
EPS = {"float64": np.finfo(np.float64).eps, "float32": np.finfo(np.float32).eps}
TINY = {"float64": 1e-300, "float32": 1e-37}
EXTREMES = [1000.0, -1000.0, 1e-300, -1e-300, 0.0, 30.0, -30.0, 700.0, -745.0]


class strict:
    """Overflow, invalid operations, division by zero and any warning become errors."""

    def __enter__(self) -> None:
        self._err = np.errstate(over="raise", invalid="raise", divide="raise", under="ignore")
        self._err.__enter__()
        self._warn = warnings.catch_warnings()
        self._warn.__enter__()
        warnings.simplefilter("error")

    def __exit__(self, *exc: Any) -> None:
        self._warn.__exit__(*exc)
        self._err.__exit__(*exc)


# --------------------------------------------------------------------------- references


def _mp(v: float) -> Any:
    return mpmath.mpf(float(v))


def mp_sigmoid(v: float) -> Any:
    return 1 / (1 + mpmath.exp(-_mp(v)))


def mp_softplus(v: float) -> Any:
    return mpmath.log1p(mpmath.exp(_mp(v)))


def mp_lse(vs: np.ndarray) -> Any:
    return mpmath.log(mpmath.fsum(mpmath.exp(_mp(v)) for v in vs))


# name -> (builder on a vector, elementwise mp value, elementwise mp derivative)
ELEMENTWISE: dict[str, tuple[Callable[[sb.Expr], sb.Expr], Callable[[float], Any],
                             Callable[[float], Any]]] = {
    "sigmoid": (sb.sigmoid, mp_sigmoid, lambda v: mp_sigmoid(v) * mp_sigmoid(-v)),
    "softplus": (sb.softplus, mp_softplus, mp_sigmoid),
    "log_sigmoid": (lambda x: sb.log(sb.sigmoid(x)), lambda v: -mp_softplus(-v),
                    lambda v: mp_sigmoid(-v)),
    "log_one_minus_sigmoid": (lambda x: sb.log(1.0 - sb.sigmoid(x)),
                              lambda v: -mp_softplus(v), lambda v: -mp_sigmoid(v)),
    "tanh": (sb.tanh, lambda v: mpmath.tanh(_mp(v)), lambda v: 1 - mpmath.tanh(_mp(v)) ** 2),
}


def assert_matches(got: np.ndarray, want: list[Any], dtype: str, what: str,
                   absolute: bool = False, cond: float = 1.0) -> None:
    """Entrywise within 8 ulps of the mpmath value (``absolute``: 8 ulps of the largest entry).

    Gradients are compared absolutely: σ'(x) = σ(x)(1 − σ(x)) loses relative accuracy in
    the far tail (x = 30: 1e-3 relative, 1e-16 absolute), which no training step sees.
    ``cond`` widens the bound by the problem's conditioning: logsumexp's VJP e^{x − lse}
    carries lse's rounding (one ulp of |lse| ≈ 1000) into the exponent.
    """
    got = np.asarray(got)
    assert str(got.dtype) == dtype, f"{what}: dtype {got.dtype}, expected {dtype}"
    assert np.all(np.isfinite(got)), f"{what}: not finite: {got}"
    w = np.array([float(v) for v in want], dtype=np.float64).reshape(got.shape)
    scale = np.max(np.abs(w), initial=0.0) if absolute else np.abs(w)
    tol = 8 * EPS[dtype] * cond * scale + TINY[dtype]
    bad = np.abs(got.astype(np.float64) - w) > tol
    assert not np.any(bad), f"{what}: got {got[bad]}, expected {w[bad]} (mpmath)"


# --------------------------------------------------------------------------- extremes


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", sorted(ELEMENTWISE))
def test_stable_elementwise_at_extremes(name: str, dtype: str) -> None:
    build, f, df = ELEMENTWISE[name]
    vals = np.array(EXTREMES, dtype=dtype)
    x = sb.vector("x", len(vals), dtype=dtype)
    y = build(x)
    w = np.linspace(0.5, 1.5, len(vals)).astype(dtype)
    with strict():
        value = sb.lambdify([x], y)(vals)
        _, (g,) = sb.value_and_grad(sb.sum(y * sb.const(w)), x)(vals)
    assert_matches(value, [f(v) for v in vals], dtype, f"{name} value")
    assert_matches(g, [float(wi) * df(v) for wi, v in zip(w, vals)], dtype, f"{name} gradient",
                   absolute=True)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("row", [
    [1000.0, -1000.0, 1e-300, 0.0],
    [1000.0, 1000.0, 999.0, -1e-300],
    [-1000.0, -1000.0, -1001.0, -1e3],
    [1e-300, -1e-300, 0.0, 1e-300],
], ids=["mixed", "big", "very-negative", "tiny"])
def test_stable_reductions_at_extremes(row: list[float], dtype: str) -> None:
    vals = np.array([row, row[::-1]], dtype=dtype)
    x = sb.matrix("x", 2, 4, dtype=dtype)
    w = np.array([[1.0, -2.0, 0.5, 3.0], [0.25, 1.0, -1.0, 2.0]], dtype=dtype)
    lse_want = [mp_lse(r) for r in vals]
    sm_want = [[mpmath.exp(_mp(v) - l) for v in r] for r, l in zip(vals, lse_want)]
    cases = {
        "logsumexp": (sb.logsumexp(x, axis=1), lse_want),
        "softmax": (sb.softmax(x), [v for r in sm_want for v in r]),
        "log_softmax": (sb.log_softmax(x),
                        [_mp(v) - l for r, l in zip(vals, lse_want) for v in r]),
    }
    for name, (y, want) in cases.items():
        with strict():
            got = sb.lambdify([x], y)(vals)
        assert_matches(got, want, dtype, f"{name} value")
    # gradients: d/dx Σ W ⊙ log_softmax(x) = W - softmax(x) Σ_row W
    with strict():
        _, (g,) = sb.value_and_grad(sb.sum(sb.log_softmax(x) * sb.const(w)), x)(vals)
        _, (h,) = sb.value_and_grad(sb.sum(sb.logsumexp(x, axis=1) * sb.const(w[:, 0])), x)(vals)
    want_g = [_mp(w[i, j]) - sm_want[i][j] * mpmath.fsum(_mp(v) for v in w[i])
              for i in range(2) for j in range(4)]
    cond = max(1.0, float(np.max(np.abs(vals))))
    assert_matches(g, want_g, dtype, "log_softmax gradient", absolute=True, cond=cond)
    want_h = [_mp(w[i, 0]) * sm_want[i][j] for i in range(2) for j in range(4)]
    assert_matches(h, want_h, dtype, "logsumexp gradient", absolute=True, cond=cond)


@pytest.mark.parametrize("dtype", DTYPES)
def test_binary_cross_entropy_at_extreme_logits(dtype: str) -> None:
    """The classic: −[t log σ(z) + (1 − t) log(1 − σ(z))] with |z| = 1000 is finite, exact."""
    z = sb.vector("z", 4, dtype=dtype)
    t = sb.vector("t", 4, dtype=dtype)
    loss = -sb.sum(t * sb.log(sb.sigmoid(z)) + (1.0 - t) * sb.log(1.0 - sb.sigmoid(z)))
    zs = np.array([1000.0, -1000.0, 1000.0, -1000.0], dtype=dtype)
    ts = np.array([1.0, 0.0, 0.0, 1.0], dtype=dtype)
    with strict():
        v, (gz,) = sb.value_and_grad(loss, z, args=[z, t])(zs, ts)
    assert float(v) == 2000.0 and v.dtype == dtype
    assert np.array_equal(gz, np.array([0.0, 0.0, 1.0, -1.0], dtype=dtype))


# --------------------------------------------------------------------------- NaN / inf policy


def test_policy_nan_propagates_without_raising() -> None:
    x = sb.vector("x", 3)
    y = sb.sigmoid(x) * 2.0 + sb.exp(x)
    f = sb.value_and_grad(sb.sum(y), x)
    with np.errstate(all="ignore"):
        v, (g,) = f(np.array([np.nan, 0.0, 1.0]))
    assert np.isnan(v)
    assert np.isnan(g[0]) and np.all(np.isfinite(g[1:]))
    vals = sb.lambdify([x], y)(np.array([np.nan, 0.0, 1.0]))
    assert np.isnan(vals[0]) and np.all(np.isfinite(vals[1:]))


@pytest.mark.parametrize("dtype", DTYPES)
def test_policy_infinities_give_the_limits(dtype: str) -> None:
    inf = np.inf
    x = sb.vector("x", 2, dtype=dtype)
    vals = np.array([-inf, inf], dtype=dtype)
    limits = {
        "sigmoid": (sb.sigmoid, [0.0, 1.0], [0.0, 0.0]),
        "softplus": (sb.softplus, [0.0, inf], [0.0, 1.0]),
        "tanh": (sb.tanh, [-1.0, 1.0], [0.0, 0.0]),
        "log_sigmoid": (lambda e: sb.log(sb.sigmoid(e)), [-inf, 0.0], [1.0, 0.0]),
        "log_one_minus_sigmoid": (lambda e: sb.log(1.0 - sb.sigmoid(e)), [0.0, -inf],
                                  [0.0, -1.0]),
    }
    for name, (fn, want, dwant) in limits.items():
        with strict():
            got = sb.lambdify([x], fn(x))(vals)
            _, (g,) = sb.value_and_grad(sb.sum(fn(x)), x)(vals)
        assert np.array_equal(got, np.array(want, dtype=dtype)), (name, got)
        assert np.array_equal(g, np.array(dwant, dtype=dtype)), (name, "gradient", g)


def test_policy_minus_inf_entries_are_masked_in_softmax() -> None:
    """−inf logits (masked entries) get weight 0 and gradient 0, with no warning."""
    x = sb.matrix("x", 2, 3)
    v = np.array([[-np.inf, 0.0, 1.0], [2.0, -np.inf, -np.inf]])
    w = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    with strict():
        sm = sb.lambdify([x], sb.softmax(x))(v)
        lse = sb.lambdify([x], sb.logsumexp(x, axis=1))(v)
        _, (g,) = sb.value_and_grad(sb.sum(sb.softmax(x) * sb.const(w)), x)(v)
    e = np.exp(1.0)
    assert np.allclose(sm, [[0.0, 1 / (1 + e), e / (1 + e)], [1.0, 0.0, 0.0]])
    assert np.allclose(lse, [np.log1p(e), 2.0])
    assert g[0, 0] == 0.0 and np.all(g[1] == 0.0) and np.all(np.isfinite(g))


def test_policy_all_minus_inf_row() -> None:
    """logsumexp of a row of −inf is −inf (log 0); softmax of it is undefined: NaN."""
    x = sb.vector("x", 3)
    v = np.full(3, -np.inf)
    with strict():
        assert sb.lambdify([x], sb.logsumexp(x))(v) == -np.inf
    with np.errstate(all="ignore"):
        assert np.all(np.isnan(sb.lambdify([x], sb.softmax(x))(v)))


# --------------------------------------------------------------------------- check_finite


def test_check_finite_names_the_first_bad_node() -> None:
    x = sb.vector("x", 3)
    y = sb.sum(sb.exp(sb.log(x) * 3.0) + x)
    f = sb.lambdify([x], y, check_finite=True)
    assert float(f(np.array([1.0, 2.0, 3.0]))) == pytest.approx(1 + 8 + 27 + 6)
    with np.errstate(all="ignore"), pytest.raises(sb.SymbackError) as info:
        f(np.array([1.0, -2.0, 3.0]))
    msg = str(info.value)
    assert "check_finite" in msg and "log" in msg and "log(x)" in msg and "NaN" in msg
    assert "index (1,)" in msg
    assert "exp" not in msg.split("log(x)")[0]  # the first bad node is log, not a later one


def test_check_finite_overflow_and_arguments() -> None:
    x = sb.vector("x", 2)
    f = sb.lambdify([x], sb.exp(x * 2.0) + 1.0, check_finite=True)
    with np.errstate(all="ignore"), pytest.raises(sb.SymbackError, match=r"exp.*\+inf"):
        f(np.array([1.0, 400.0]))
    with pytest.raises(sb.SymbackError, match="argument x contains NaN"):
        f(np.array([np.nan, 1.0]))
    with pytest.raises(sb.SymbackError, match="argument x contains -inf"):
        f(np.array([0.0, -np.inf]))


def test_check_finite_in_gradients_and_float32() -> None:
    x = sb.vector("x", 3, dtype="float32")
    f = sb.value_and_grad(sb.sum(sb.sqrt(x)), x, check_finite=True)
    v, (g,) = f(np.array([1.0, 4.0, 9.0], dtype=np.float32))
    assert v.dtype == np.float32 and g.dtype == np.float32
    with np.errstate(all="ignore"), pytest.raises(sb.SymbackError, match="inf"):
        f(np.array([1.0, 0.0, 9.0], dtype=np.float32))  # d√x/dx at 0


def test_check_finite_message_is_bounded_for_huge_formulas() -> None:
    x = sb.vector("x", 2)
    y = x
    for k in range(3000):
        y = sb.sin(y) + 0.001 * k
    f = sb.lambdify([x], sb.log(y - 10.0), check_finite=True)
    with np.errstate(all="ignore"), pytest.raises(sb.SymbackError) as info:
        f(np.zeros(2))
    assert len(str(info.value)) < 600


def test_check_finite_does_not_change_values() -> None:
    x = sb.matrix("x", 3, 4)
    y = sb.sum(sb.log_softmax(x * 2.0) * sb.sigmoid(x)) + sb.sum(sb.relu(x) ** 2)
    rng = np.random.default_rng(0)
    v = rng.normal(size=(3, 4))
    plain = sb.value_and_grad(y, x)(v)
    checked = sb.value_and_grad(y, x, check_finite=True)(v)
    assert plain[0] == checked[0] and np.array_equal(plain[1][0], checked[1][0])


# --------------------------------------------------------------------------- kinks


def _grad_at(build: Callable[[sb.Expr], sb.Expr], value: float) -> float:
    x = sb.symbols("x")
    _, (g,) = sb.value_and_grad(build(x), x)(value)
    return float(g)


def test_kink_conventions_exactly_at_the_kink() -> None:
    with strict():
        assert _grad_at(sb.relu, 0.0) == 0.0
        assert _grad_at(sb.abs, 0.0) == 0.0
        assert _grad_at(lambda x: sb.maximum(x, 0.0), 0.0) == 0.5
        assert _grad_at(lambda x: sb.minimum(x, 0.0), 0.0) == 0.5
        assert _grad_at(lambda x: sb.maximum(x, 2.0 * x), 0.0) == 1.5  # ½·1 + ½·2
        assert _grad_at(lambda x: sb.where(x > 0.0, x * x, -x), 0.0) == -1.0


def test_regression_abs_grad_masks_infinite_cotangent_at_zero() -> None:
    """√|x| at 0: the cotangent reaching abs is +inf; abs'(0) = 0 must mask it (was ∞·0 = NaN).

    relu already masked (√relu(x) had gradient 0 at 0); abs used ȳ ⊙ sign(x).
    """
    with np.errstate(divide="ignore", invalid="ignore"):  # d√u/du = ∞ at 0, then masked
        assert _grad_at(lambda x: sb.sqrt(sb.abs(x)), 0.0) == 0.0
        assert _grad_at(lambda x: sb.sqrt(sb.relu(x)), 0.0) == 0.0
        assert _grad_at(lambda x: sb.sqrt(sb.abs(x)), -4.0) == -0.25
        g = _grad_at(lambda x: sb.sqrt(sb.maximum(x, 0.0)), 0.0)
    assert not np.isnan(g)  # a tie passes half of an infinite cotangent: +inf, never NaN


def test_where_trap_is_documented_and_double_where_works() -> None:
    """where(x > 0, √x, 0) at x = −1: the unselected √x is NaN, so its VJP (0 ⊘ NaN) is NaN,
    as in JAX. check_finite finds the √ node; the double-where idiom gives a clean 0."""
    x = sb.symbols("x")
    trap = sb.where(x > 0.0, sb.sqrt(x), 0.0)
    with np.errstate(invalid="ignore"):
        v, (g,) = sb.value_and_grad(trap, x)(-1.0)
    assert float(v) == 0.0 and np.isnan(g)  # the documented behaviour
    with np.errstate(invalid="ignore"), pytest.raises(sb.SymbackError, match="sqrt"):
        sb.value_and_grad(trap, x, check_finite=True)(-1.0)
    safe = sb.where(x > 0.0, sb.sqrt(sb.where(x > 0.0, x, 1.0)), 0.0)
    with strict():
        for at, want in ((-1.0, 0.0), (4.0, 0.25)):
            v, (g,) = sb.value_and_grad(safe, x)(at)
            assert float(g) == want


# The masking ops at their kinks, composed with ops whose derivatives are finite
# everywhere: whenever every forward value is finite, every gradient entry is finite.
_SMOOTH = [sb.sin, sb.tanh, sb.sigmoid, sb.softplus, lambda e: e * e, lambda e: -e,
           lambda e: 0.5 * e + 1.0]
_KINKED = [sb.relu, sb.abs, lambda e: sb.sqrt(sb.relu(e)), lambda e: sb.sqrt(sb.abs(e))]


@st.composite
def _kinky(draw: Any) -> tuple[sb.Expr, list[sb.Expr], list[np.ndarray]]:
    xs = [sb.vector(f"k{i}", 3) for i in range(2)]
    pool: list[sb.Expr] = list(xs)
    for _ in range(draw(st.integers(1, 8))):
        kind = draw(st.integers(0, 5))
        a = pool[draw(st.integers(0, len(pool) - 1))]
        b = pool[draw(st.integers(0, len(pool) - 1))]
        if kind == 0:
            node = _SMOOTH[draw(st.integers(0, len(_SMOOTH) - 1))](a)
        elif kind == 1:
            node = _KINKED[draw(st.integers(0, len(_KINKED) - 1))](a)
        elif kind == 2:
            node = (sb.maximum if draw(st.booleans()) else sb.minimum)(a, b)
        elif kind == 3:
            c = pool[draw(st.integers(0, len(pool) - 1))]
            node = sb.where(a > b, c, a * b)
        elif kind == 4:
            node = a + b if draw(st.booleans()) else a * b
        else:
            node = sb.sum(a) * b
        pool.append(node)
    grid = (0.0, -1.0, 1.0, 0.0, 0.5)
    vals = [np.array([grid[draw(st.integers(0, 4))] for _ in range(3)]) for _ in xs]
    return pool[-1], xs, vals


@fuzz_settings(ci=60, long=1500)
@given(_kinky())
def test_fuzz_kinks_never_give_nan_gradients(item: tuple[Any, Any, Any]) -> None:
    y, xs, vals = item
    assume(y.dtype != "bool" and sb.free_symbols(y))
    with np.errstate(all="ignore"):
        cache: dict[sb.Expr, np.ndarray] = {}
        evaluate([y], dict(zip(xs, vals)), cache)
        assume(all(np.all(np.isfinite(v)) for v in cache.values() if v.dtype.kind == "f"))
        _, grads = sb.value_and_grad(sb.sum(y), xs, args=xs)(*vals)
    for g in grads:
        assert not np.any(np.isnan(g)), f"NaN gradient of {y} at {vals}"


def test_regression_constant_folding_is_ieee() -> None:
    """Constants fold before build-time identities, with NumPy's IEEE answers.

    Found by the hostile-text fuzzing: ``parse("0/0")`` gave 0.0 (the identity 0 / x → 0
    fired on a constant x = 0), ``1/0`` and ``0**-1`` stayed unfolded and raised
    ZeroDivisionError when compiled, and ``(-8)**(1/3)`` folded to a complex number.
    """
    cases = {"0/0": np.nan, "1/0": np.inf, "0**-1": np.inf,
             "0*inf": np.nan, "inf-inf": np.nan, "0*nan": np.nan, "2**-1": 0.5, "3/2": 1.5}
    with pytest.raises(sb.ParseError, match="not a real number"):
        sb.parse("(-8)**(1/3)")  # a complex number: an error, not a silent NaN (issue 12)
    x = sb.symbols("x")
    for text, want in cases.items():
        e = sb.parse(text)
        assert e.is_const, f"{text} did not fold: {e}"
        got = float(e.value)
        assert got == want or (np.isnan(got) and np.isnan(want)), (text, got)
        f = sb.lambdify([x], e + 0.0 * x)  # compiled: the same answer, no exception
        with np.errstate(all="ignore"):
            v = float(f(1.0))
        assert v == want or (np.isnan(v) and np.isnan(want)), (text, v)
    assert sb.parse("0/x") is sb.parse("x*0")  # identities still apply to symbols


@pytest.mark.parametrize("dtype", DTYPES)
def test_regression_log_softmax_keeps_relative_accuracy_near_the_max(dtype: str) -> None:
    """log_softmax([1000, 1000, 999, 0]): computed as x − logsumexp(x) it lost the digits of
    1000 (1e-13 relative in float64, 40 ulps in float32); (x − m) − log Σ e^{x − m} keeps them."""
    vals = np.array([1000.0, 1000.0, 999.0, 0.0], dtype=dtype)
    x = sb.vector("x", 4, dtype=dtype)
    got = sb.lambdify([x], sb.log_softmax(x))(vals)
    lse = mp_lse(vals)
    assert_matches(got, [_mp(v) - lse for v in vals], dtype, "log_softmax")
