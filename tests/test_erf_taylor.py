"""erf's NumPy form for large float arrays (symback.ops.special.erf_taylor): a table of
Taylor coefficients instead of scipy.special.erf. Checked against mpmath (exact values),
SciPy, and the hand-derived derivative (2/√π) e^{-x²}; float32 stays float32."""

from __future__ import annotations

import math

import numpy as np
import pytest

import symback as sb

pytest.importorskip("scipy")
mpmath = pytest.importorskip("mpmath")

from scipy.special import erf as scipy_erf  # noqa: E402

from symback.ops.special import erf_coefs, erf_taylor  # noqa: E402


def _exact(xs: np.ndarray) -> np.ndarray:
    """erf at each point, from mpmath at 50 digits, rounded once to float64."""
    with mpmath.workdps(50):
        return np.array([float(mpmath.erf(mpmath.mpf(float(v)))) for v in xs])


def _points(dtype: type, n: int = 4096, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    tiny = 1e-300 if dtype == np.float64 else 1e-37
    parts = [rng.uniform(-7, 7, n // 2), rng.standard_normal(n // 4),
             np.copysign(np.geomspace(tiny, 7, n - n // 2 - n // 4), rng.standard_normal(
                 n - n // 2 - n // 4))]
    return np.concatenate(parts).astype(dtype)


@pytest.mark.parametrize("dtype,ulps", [(np.float64, 2.0), (np.float32, 2.0)])
def test_values_against_mpmath(dtype: type, ulps: float) -> None:
    x = _points(dtype)
    got = erf_taylor(x)
    assert got.dtype == dtype
    want = _exact(x.astype(np.float64))
    err = np.abs(got.astype(np.float64) - want) / np.abs(want)
    assert err.max() <= ulps * np.finfo(dtype).eps, (err.max(), x[np.argmax(err)])


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_grid_points_and_cell_edges(dtype: type) -> None:
    """x on the table's grid (d = 0) and half-way between (|d| = ½, the largest remainder)."""
    _, H, _ = erf_coefs(dtype)
    j = np.arange(-7 * H, 7 * H + 1)
    x = np.concatenate([j / H, (j + 0.5) / H]).astype(dtype)
    want = scipy_erf(x.astype(np.float64))
    got = erf_taylor(x)
    assert got.dtype == dtype
    tol = 3 * np.finfo(dtype).eps * np.maximum(np.abs(want), np.finfo(dtype).tiny)
    assert np.all(np.abs(got.astype(np.float64) - want) <= tol)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_special_values(dtype: type) -> None:
    big = 1e300 if dtype == np.float64 else 1e38
    edge = 6.5 if dtype == np.float64 else 4.5  # past the table: erf rounds to ±1 there
    x = np.resize(np.array([0.0, np.inf, -np.inf, np.nan, big, -big, edge, -edge, 1e-30],
                           dtype=dtype), 2048)
    with np.errstate(over="raise", invalid="raise", divide="raise"):  # no warnings: NaN, inf, huge
        got = erf_taylor(x)
    assert got.dtype == dtype
    np.testing.assert_array_equal(got[:8], np.array([0.0, 1, -1, np.nan, 1, -1, 1, -1],
                                                    dtype=dtype))
    assert got[8] == pytest.approx(2 / math.sqrt(math.pi) * 1e-30, rel=1e-6)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_out_aliasing_and_layouts(dtype: type) -> None:
    rng = np.random.default_rng(1)
    a = (2 * rng.standard_normal((70, 100))).astype(dtype)  # 7,000 entries: a short last chunk
    want = scipy_erf(a.astype(np.float64))
    tol = 3 * np.finfo(dtype).eps
    b = a.copy()
    assert erf_taylor(b, b) is b  # written over its argument, as the generated code does
    np.testing.assert_allclose(b, want, rtol=tol, atol=0)
    o = np.empty((100, 70), dtype).T  # a non-contiguous out
    assert erf_taylor(a, o) is o
    np.testing.assert_array_equal(o, b)
    np.testing.assert_array_equal(erf_taylor(a.T), b.T)  # a non-contiguous argument
    np.testing.assert_array_equal(erf_taylor(a[:, ::2]), b[:, ::2])
    big = (3 * rng.standard_normal(300_000)).astype(dtype)  # several chunks
    np.testing.assert_allclose(erf_taylor(big), scipy_erf(big.astype(np.float64)),
                               rtol=tol, atol=tol)


def test_small_and_other_inputs_use_scipy() -> None:
    x = np.linspace(-3, 3, 100)
    np.testing.assert_array_equal(erf_taylor(x), scipy_erf(x))
    ints = np.arange(-2000, 2000) // 500
    got = erf_taylor(ints)
    assert got.dtype == np.float64
    np.testing.assert_array_equal(got, scipy_erf(ints))
    assert erf_taylor(0.5) == scipy_erf(0.5)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_compiled_erf_and_gradient(dtype: str) -> None:
    """The generated code (buffers on: written into a pooled buffer) against mpmath for
    the value and the hand-derived derivative (2/√π) e^{-x²} for the gradient."""
    x = sb.tensor("x", (48, 64), dtype=dtype)
    J = sb.sum(sb.special.erf(x) * x)
    step = sb.value_and_grad(J, [x], args=[x])
    assert "erf_taylor" in step.source
    xv = (1.5 * np.random.default_rng(2).standard_normal((48, 64))).astype(dtype)
    val, (g,) = step(xv)
    assert g.dtype == np.dtype(dtype)
    xd = xv.astype(np.float64)
    e = _exact(xd.ravel()).reshape(xd.shape)
    tol = 1e-13 if dtype == "float64" else 1e-5
    assert float(val) == pytest.approx(float(np.sum(e * xd)), rel=tol)
    want = e + xd * 2 / math.sqrt(math.pi) * np.exp(-xd * xd)
    np.testing.assert_allclose(g, want, rtol=tol, atol=tol)
    f = sb.lambdify([x], sb.special.erf(x) + 1.0)
    np.testing.assert_allclose(f(xv), e + 1.0, rtol=0, atol=2 * np.finfo(dtype).eps)


def test_gelu_gradient_finite_differences() -> None:
    """GELU (erf form) through the table: J = Σ gelu(x)², ∂J/∂x = 2 gelu(x) gelu'(x), with
    gelu' from central differences of the compiled gelu, entry by entry."""
    x = sb.tensor("x", (32, 40))
    y = sb.nn.gelu(x)
    step = sb.value_and_grad(sb.sum(y ** 2), [x], args=[x])
    f = sb.lambdify([x], y)
    xv = np.random.default_rng(3).standard_normal((32, 40))
    _, (g,) = step(xv)
    h = 1e-5
    fd = (f(xv + h) - f(xv - h)) / (2 * h)
    np.testing.assert_allclose(g, 2 * f(xv) * fd, rtol=1e-8, atol=1e-9)


def test_threads_share_no_scratch() -> None:
    """Each thread has its own scratch arrays: concurrent calls give the serial results."""
    import threading

    x = np.random.default_rng(5).standard_normal((6, 100_000))
    want = [erf_taylor(r) for r in x]
    got: list[np.ndarray | None] = [None] * len(x)

    def run(i: int) -> None:
        for _ in range(5):
            got[i] = erf_taylor(x[i])

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(x))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for a, b in zip(got, want):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_out_overlapping_the_argument_in_part(dtype: type) -> None:
    """``out`` one entry ahead of x in the same buffer (several chunks): every entry is erf
    of the argument as it was before the call, as NumPy's ufuncs give (SciPy reference)."""
    buf = np.linspace(-3, 3, 300_001).astype(dtype)
    want = scipy_erf(buf.astype(np.float64))
    tol = 3 * np.finfo(dtype).eps
    b = buf.copy()
    got = erf_taylor(b[:-1], b[1:])
    np.testing.assert_allclose(got, want[:-1], rtol=tol, atol=tol)
    b = buf.copy()
    got = erf_taylor(b[1:], b[:-1])
    np.testing.assert_allclose(got, want[1:], rtol=tol, atol=tol)


def test_float32_near_zero_within_two_ulp() -> None:
    """float32 on the first cells of the table, |x| ≤ 4/H, where erf(x) ≈ (2/√π) x and a
    left-out x³ term weighs most relative to the value, and where erf(x) crosses powers of
    two (the rounding of the cell's c₀ is a whole ulp of the result there): within 1.5
    float32 ulp of mpmath's value (ulp of the exact value rounded to float32; Taylor's
    coefficients gave 2.3)."""
    _, H, _ = erf_coefs(np.float32)
    x = np.linspace(-4 / H, 4 / H, 8193).astype(np.float32)
    got = erf_taylor(x).astype(np.float64)
    with mpmath.workdps(40):
        exact = [mpmath.erf(mpmath.mpf(float(v))) for v in x]
    ulp = np.array([np.spacing(np.float32(abs(float(e)))) if e != 0
                    else np.finfo(np.float32).smallest_subnormal for e in exact], np.float64)
    err = np.array([float(abs(mpmath.mpf(float(g)) - e)) for g, e in zip(got, exact)]) / ulp
    assert err.max() <= 1.5, (err.max(), x[np.argmax(err)])
