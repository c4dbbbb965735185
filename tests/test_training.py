"""sb.flat_value_and_grad: packing parameter tensors into one vector, and SciPy's optimizers.

The gradient is checked against finite differences and a hand-derived formula;
the optimum against ``np.linalg.lstsq``.
"""

from __future__ import annotations

import numpy as np
import pytest

import symback as sb


def least_squares():
    """L = ½ Σ (X W + b - Y)² over a (n × 3) X, W (3 × 2), b (2,): several parameter tensors."""
    X = sb.matrix("X", "n", 3)
    Y = sb.matrix("Y", "n", 2)
    W = sb.matrix("W", 3, 2)
    b = sb.vector("b", 2)
    L = 0.5 * sb.sum((X @ W + b - Y) ** 2)
    return L, [W, b], [X, Y]


def problem(n=40, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, 3))
    Y = X @ rng.standard_normal((3, 2)) + rng.standard_normal(2) + 0.1 * rng.standard_normal((n, 2))
    return X, Y


def test_pack_unpack_round_trip():
    L, params, data = least_squares()
    f = sb.flat_value_and_grad(L, params, data=data)
    assert f.size == 3 * 2 + 2
    rng = np.random.default_rng(1)
    W, b = rng.standard_normal((3, 2)), rng.standard_normal(2)
    theta = f.pack([W, b])
    assert theta.shape == (8,) and theta.dtype == np.float64
    np.testing.assert_array_equal(theta, np.concatenate([W.ravel(), b]))
    W2, b2 = f.unpack(theta)
    np.testing.assert_array_equal(W2, W)
    np.testing.assert_array_equal(b2, b)
    assert np.shares_memory(W2, theta)  # views: no copy per call
    np.testing.assert_array_equal(f.pack({"b": b, params[0]: W}), theta)  # by name or symbol
    np.testing.assert_array_equal(f.pack(f.unpack(theta)), theta)
    assert set(f.unpack_dict(theta)) == {"W", "b"}


def test_value_and_flat_gradient_match_formula_and_finite_differences():
    L, params, data = least_squares()
    f = sb.flat_value_and_grad(L, params, data=data)
    X, Y = problem()
    rng = np.random.default_rng(2)
    theta = rng.standard_normal(f.size)
    value, g = f(theta, X, Y)
    assert isinstance(value, float) and g.shape == theta.shape
    W, b = theta[:6].reshape(3, 2), theta[6:]
    R = X @ W + b - Y
    assert np.isclose(value, 0.5 * np.sum(R**2), rtol=1e-13)
    np.testing.assert_allclose(g, np.concatenate([(X.T @ R).ravel(), R.sum(axis=0)]),
                               rtol=1e-12)
    eps = 1e-6
    fd = np.array([(f(theta + eps * e, X, Y)[0] - f(theta - eps * e, X, Y)[0]) / (2 * eps)
                   for e in np.eye(f.size)])
    np.testing.assert_allclose(g, fd, rtol=1e-6, atol=1e-6)


def test_data_defaults_to_the_other_free_symbols_by_name():
    L, params, _ = least_squares()
    f = sb.flat_value_and_grad(L, params)
    assert [d.name for d in f.data] == ["X", "Y"]
    X, Y = problem(7)
    v1, g1 = f(np.ones(8), X, Y)
    v2, g2 = sb.flat_value_and_grad(L, params, data=[X_ for X_ in f.data])(np.ones(8), X, Y)
    assert v1 == v2 and np.array_equal(g1, g2)


def test_batches_of_any_size_one_compiled_function():
    L, params, data = least_squares()
    f = sb.flat_value_and_grad(L, params, data=data)
    compiled = f.compiled
    X, Y = problem(1797)
    theta = np.full(f.size, 0.3)
    for lo, hi in [(0, 64), (64, 128), (1792, 1797), (0, 1797)]:
        v, _ = f(theta, X[lo:hi], Y[lo:hi])
        R = X[lo:hi] @ theta[:6].reshape(3, 2) + theta[6:] - Y[lo:hi]
        assert np.isclose(v, 0.5 * np.sum(R**2), rtol=1e-12)
    assert f.compiled is compiled


def test_errors_are_clear():
    L, params, data = least_squares()
    f = sb.flat_value_and_grad(L, params, data=data)
    X, Y = problem(5)
    with pytest.raises(sb.ShapeError, match="theta must be a 1-D array of 8"):
        f(np.zeros(7), X, Y)
    with pytest.raises(sb.SymbackError, match="expected 2 data argument"):
        f(np.zeros(8), X)
    with pytest.raises(sb.ShapeError, match="parameter W expects shape"):
        f.pack([np.zeros((2, 3)), np.zeros(2)])
    with pytest.raises(sb.SymbackError, match="no value for b"):
        f.pack({"W": np.zeros((3, 2))})
    with pytest.raises(sb.SymbackError, match="expected 2 values"):
        f.pack([np.zeros((3, 2))])
    with pytest.raises(sb.ShapeError, match="dimension to be a number"):
        sb.flat_value_and_grad(L, [data[0]], data=[data[1], *params])
    with pytest.raises(sb.SymbackError, match="scalar"):
        sb.flat_value_and_grad(data[0] @ params[0], params, data=data)
    with pytest.raises(sb.SymbackError, match="not a symbol"):
        sb.flat_value_and_grad(L, [params[0] * 2], data=data)
    with pytest.raises(sb.SymbackError, match="not among args"):
        sb.flat_value_and_grad(L, params, data=[data[0]])


def test_lbfgsb_reaches_the_least_squares_optimum():
    scipy_optimize = pytest.importorskip("scipy.optimize")
    L, params, data = least_squares()
    f = sb.flat_value_and_grad(L, params, data=data)
    X, Y = problem(50, seed=3)
    res = scipy_optimize.minimize(f, np.zeros(f.size), args=(X, Y), jac=True,
                                  method="L-BFGS-B", options={"gtol": 1e-12, "ftol": 1e-15})
    assert res.success, res.message
    W, b = f.unpack(res.x)
    A = np.hstack([X, np.ones((len(X), 1))])  # the same problem solved directly
    coef, *_ = np.linalg.lstsq(A, Y, rcond=None)
    np.testing.assert_allclose(W, coef[:3], atol=1e-6)
    np.testing.assert_allclose(b, coef[3], atol=1e-6)
    assert np.max(np.abs(f(res.x, X, Y)[1])) < 1e-5


def test_scalar_parameters_and_float32_values():
    w, c = sb.symbols("w c")
    x = sb.vector("x", "n")
    f = sb.flat_value_and_grad(sb.sum((w * x - c) ** 2), [w, c], data=[x])
    theta = f.pack([2.0, 1.0])
    assert theta.tolist() == [2.0, 1.0]
    v, g = f(theta, np.array([1.0, 2.0]))
    # residuals r = (1, 3): L = 10, dL/dw = 2 Σ r x = 14, dL/dc = -2 Σ r = -8
    assert v == 10.0 and g.tolist() == [14.0, -8.0]
    t32 = f.pack([2.0, 1.0], dtype=np.float32)
    assert t32.dtype == np.float32


def test_docstring_example_runs():
    import doctest

    import symback.training

    result = doctest.testmod(symback.training)
    assert result.attempted >= 1 and result.failed == 0
