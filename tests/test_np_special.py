"""sb.special (symback/ops/special.py) against central differences and autograd.scipy."""

from __future__ import annotations

import math
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from crosscheck import crosscheck

import symback as sb

ssp = pytest.importorskip("scipy.special")
# the references are written with autograd (a test extra): without it, skip
anp = pytest.importorskip("autograd.numpy")
asp = pytest.importorskip("autograd.scipy.special")

SHAPES1 = [(), (1,), (3,), (2, 3)]
SHAPES2 = [((3,), (3,)), ((2, 1), (1, 3)), ((), (2, 2))]


def _u(seed: int, shape: tuple, lo: float, hi: float) -> np.ndarray:
    return np.random.default_rng(seed).uniform(lo, hi, size=shape)


UNARY = [
    ("erf", sb.special.erf, asp.erf, -2.0, 2.0),
    ("erfc", sb.special.erfc, asp.erfc, -2.0, 2.0),
    ("gammaln", sb.special.gammaln, asp.gammaln, 0.3, 5.0),
    ("digamma", sb.special.digamma, asp.digamma, 0.3, 5.0),
    ("expit", sb.special.expit, asp.expit, -4.0, 4.0),
    ("logit", sb.special.logit, asp.logit, 0.05, 0.95),
]


@pytest.mark.parametrize("shape", SHAPES1, ids=str)
@pytest.mark.parametrize("name,fn,ref,lo,hi", UNARY, ids=[u[0] for u in UNARY])
def test_unary_crosscheck(name, fn, ref, lo, hi, shape) -> None:
    crosscheck(fn, ref, [_u(len(name), shape, lo, hi)], what=name)


@pytest.mark.parametrize("n", [0, 1, 2, 3])
def test_polygamma_every_order(n) -> None:
    crosscheck(lambda x: sb.special.polygamma(n, x), lambda x: asp.polygamma(n, x),
               [_u(n, (3,), 0.5, 4.0)], what=f"polygamma({n})")


def _xlogy_ref(x, y):
    return x * anp.log(y)


def _xlog1py_ref(x, y):
    return x * anp.log1p(y)


@pytest.mark.parametrize("shapes", SHAPES2, ids=str)
@pytest.mark.parametrize("name,ref", [("xlogy", _xlogy_ref), ("xlog1py", _xlog1py_ref)])
def test_xlogy_crosscheck(name, ref, shapes) -> None:
    x = _u(1, shapes[0], -2.0, 2.0)
    y = _u(2, shapes[1], 0.2, 3.0)
    crosscheck(getattr(sb.special, name), ref, [x, y], what=name)


def test_values_are_scipys() -> None:
    x = sb.vector("x", 5)
    v = np.array([-3.0, -0.5, 0.0, 0.7, 6.0])
    p = np.abs(v) + 0.5
    fns = {"erf": ssp.erf, "erfc": ssp.erfc}
    for name, ref in fns.items():
        np.testing.assert_allclose(sb.lambdify([x], getattr(sb.special, name)(x))(v), ref(v),
                                   rtol=1e-15)
    np.testing.assert_allclose(sb.lambdify([x], sb.special.gammaln(x))(p), ssp.gammaln(p))
    y = sb.vector("y", 5)
    np.testing.assert_array_equal(
        sb.lambdify([x, y], sb.special.xlogy(x, y))(np.array([0.0, 0, 1, 2, 0]),
                                                   np.array([0.0, 1, 2, 0, 3])),
        ssp.xlogy(np.array([0.0, 0, 1, 2, 0]), np.array([0.0, 1, 2, 0, 3])))


def test_xlogy_convention_at_x_zero() -> None:
    """ȳ = x / y is 0 where x = 0, even at y = 0 (no NaN); x̄ = log y."""
    x, y = sb.vector("x", 2), sb.vector("y", 2)
    gx, gy = sb.lambdify([x, y], sb.grad(sb.sum(sb.special.xlogy(x, y)), [x, y]))(
        np.array([0.0, 0.0]), np.array([0.0, 2.0]))
    np.testing.assert_array_equal(gy, [0.0, 0.0])
    np.testing.assert_allclose(gx, [-np.inf, math.log(2.0)])


def test_logit_is_the_inverse_of_expit_and_stable() -> None:
    p = sb.vector("p", 3)
    f = sb.lambdify([p], sb.special.logit(p))
    v = np.array([1e-12, 0.5, 1 - 1e-12])
    np.testing.assert_allclose(f(v), ssp.logit(v), rtol=1e-9)
    x = sb.vector("x", 3)
    g = sb.lambdify([x], sb.special.logit(sb.special.expit(x)))
    np.testing.assert_allclose(g(np.array([-3.0, 0.0, 3.0])), [-3.0, 0.0, 3.0], atol=1e-12)


def test_float32_stays_float32() -> None:
    x = sb.vector("x", 3, dtype="float32")
    for fn in (sb.special.erf, sb.special.gammaln, sb.special.digamma,
               lambda x: sb.special.polygamma(2, x)):
        f = sb.value_and_grad(sb.sum(fn(x)), x)
        v, (g,) = f(np.array([0.5, 1.0, 2.0], dtype=np.float32))
        assert v.dtype == np.float32 and g.dtype == np.float32


def test_printing_and_namespace() -> None:
    import types

    assert isinstance(sb.special, types.ModuleType)
    x = sb.symbols("x")
    assert sb.latex(sb.special.erf(x)) == r"\operatorname{erf}(x)"
    assert sb.latex(sb.special.gammaln(x)) == r"\log\Gamma(x)"
    assert sb.latex(sb.special.digamma(x)) == r"\psi(x)"
    assert sb.latex(sb.special.polygamma(1, x)) == r"\psi'(x)"
    assert sb.latex(sb.special.polygamma(3, x)) == r"\psi^{(3)}(x)"
    assert str(sb.special.polygamma(2, x)) == "special.polygamma(2, x)"
    assert str(sb.special.erf(x)) == "special.erf(x)"
    # the derivative chain gammaln → digamma → polygamma(1) → polygamma(2)
    d = sb.grad(sb.grad(sb.grad(sb.special.gammaln(x), x), x), x)
    assert "polygamma(2, x)" in str(d)


def test_sympy_forms() -> None:
    sympy = pytest.importorskip("sympy")
    x = sb.symbols("x")
    assert sb.to_sympy(sb.special.erf(x)) == sympy.erf(sympy.Symbol("x", real=True)) or \
        str(sb.to_sympy(sb.special.erf(x))) == "erf(x)"
    assert str(sb.to_sympy(sb.special.polygamma(2, x))) == "polygamma(2, x)"


def test_polygamma_order_errors() -> None:
    x = sb.symbols("x")
    for bad in (-1, 1.5, True):
        with pytest.raises(sb.SymbackError, match="polygamma: the order n"):
            sb.special.polygamma(bad, x)


def test_missing_scipy_is_a_clear_error(tmp_path) -> None:
    """With SciPy hidden, building works and compiling names the function and the fix."""
    code = textwrap.dedent("""
        import sys
        sys.modules["scipy"] = None
        sys.modules["scipy.special"] = None
        import symback as sb
        x = sb.symbols("x")
        y = sb.special.erf(x)           # building and differentiating need no SciPy
        g = sb.grad(y, x)
        print(sb.lambdify([x], sb.special.logit(x))(0.5))  # logit needs NumPy only
        try:
            sb.lambdify([x], y)
        except sb.SymbackError as e:
            print("ERR", e)
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    assert "ERR special.erf: computing it needs SciPy" in out.stdout
    assert "pip install scipy" in out.stdout
