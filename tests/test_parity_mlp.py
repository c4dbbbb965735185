"""The Goodfellow 6.5.7 MLP: symback's compiled gradients against hand-written NumPy backprop.

Random data with the shapes of scikit-learn's digits (n × 64 inputs, 10
classes), so no download and no scikit-learn. The reference forward/backward
below is written out by hand from the formulas (seed E6), not by symback.
"""

from __future__ import annotations

import numpy as np
import pytest

import symback as sb

D, K, HID, LAM = 64, 10, 32, 1e-3


def build(dtype: str = "float64", biases: bool = False):
    """J = mean softmax cross-entropy of relu(X W1 [+ b1]) W2 [+ b2] + λ(ΣW1² + ΣW2²)."""
    X = sb.matrix("X", "n", D, dtype=dtype)
    Y = sb.matrix("Y", "n", K, dtype=dtype)
    W1 = sb.matrix("W1", D, HID, dtype=dtype)
    W2 = sb.matrix("W2", HID, K, dtype=dtype)
    params = [W1, W2]
    Z1 = X @ W1
    if biases:
        b1 = sb.vector("b1", HID, dtype=dtype)
        Z1 = Z1 + b1
    U = sb.relu(Z1) @ W2
    if biases:
        b2 = sb.vector("b2", K, dtype=dtype)
        U = U + b2
        params += [b1, b2]
    J = -sb.mean(sb.sum(Y * sb.log_softmax(U), axis=1)) + LAM * (sb.sum(W1**2) + sb.sum(W2**2))
    return J, params, [X, Y]


def numpy_value_and_grad(params, X, Y):
    """Hand-written forward and backward pass (Goodfellow et al. 6.5.7)."""
    W1, W2 = params[0], params[1]
    b1 = params[2] if len(params) > 2 else None
    b2 = params[3] if len(params) > 2 else None
    n = X.shape[0]
    Z1 = X @ W1 + (b1 if b1 is not None else 0)
    H = np.maximum(Z1, 0)
    U = H @ W2 + (b2 if b2 is not None else 0)
    m = U.max(axis=1, keepdims=True)
    lse = m + np.log(np.exp(U - m).sum(axis=1, keepdims=True))
    logp = U - lse
    J = -(Y * logp).sum() / n + LAM * ((W1**2).sum() + (W2**2).sum())
    G = (np.exp(logp) - Y) / n  # ∇_U J (each row of Y sums to 1)
    dW2 = H.T @ G + 2 * LAM * W2
    dZ1 = (G @ W2.T) * (Z1 > 0)
    dW1 = X.T @ dZ1 + 2 * LAM * W1
    grads = [dW1, dW2]
    if b1 is not None:
        grads += [dZ1.sum(axis=0), G.sum(axis=0)]
    return J, grads


def data(n: int, rng: np.random.Generator, dtype=np.float64):
    X = rng.standard_normal((n, D)).astype(dtype)
    Y = np.eye(K, dtype=dtype)[rng.integers(0, K, n)]
    return X, Y


def init(rng: np.random.Generator, biases: bool, dtype=np.float64):
    ps = [rng.standard_normal((D, HID)) / np.sqrt(D), rng.standard_normal((HID, K)) / np.sqrt(HID)]
    if biases:
        ps += [0.1 * rng.standard_normal(HID), 0.1 * rng.standard_normal(K)]
    return [p.astype(dtype) for p in ps]


@pytest.mark.parametrize("biases", [False, True])
def test_twenty_sgd_steps_match_numpy_backprop_float64(biases):
    J, params, dat = build("float64", biases)
    step = sb.value_and_grad(J, params, args=params + dat)
    rng = np.random.default_rng(0)
    X, Y = data(300, rng)
    ps_sb = init(rng, biases)
    ps_np = [p.copy() for p in ps_sb]
    lr = 0.5
    batches = [(0, 64), (64, 128), (128, 192), (192, 256), (256, 300)]  # the last is partial
    for k in range(20):
        lo, hi = batches[k % len(batches)]
        v_sb, g_sb = step(*ps_sb, X[lo:hi], Y[lo:hi])
        v_np, g_np = numpy_value_and_grad(ps_np, X[lo:hi], Y[lo:hi])
        assert abs(float(v_sb) - v_np) <= 1e-12 * max(1.0, abs(v_np))
        for a, b in zip(g_sb, g_np):
            assert a.shape == b.shape
            np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)
        ps_sb = [p - lr * g for p, g in zip(ps_sb, g_sb)]
        ps_np = [p - lr * g for p, g in zip(ps_np, g_np)]
    for a, b in zip(ps_sb, ps_np):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)
    # training moved the parameters: the comparison above was not of constants
    assert not np.allclose(ps_sb[0], init(np.random.default_rng(0), biases)[0])


@pytest.mark.parametrize("n", [64, 1797, 5, 1])
def test_one_compiled_function_takes_any_batch_size(n):
    J, params, dat = build("float64")
    step = sb.value_and_grad(J, params, args=params + dat)
    rng = np.random.default_rng(n)
    ps = init(rng, False)
    X, Y = data(n, rng)
    v, g = step(*ps, X, Y)
    v_np, g_np = numpy_value_and_grad(ps, X, Y)
    assert np.isclose(v, v_np, rtol=1e-12)
    for a, b in zip(g, g_np):
        np.testing.assert_allclose(a, b, rtol=1e-11, atol=1e-14)


def test_mismatched_batch_sizes_are_a_shape_error():
    J, params, dat = build("float64")
    step = sb.value_and_grad(J, params, args=params + dat)
    rng = np.random.default_rng(1)
    ps = init(rng, False)
    X, _ = data(64, rng)
    _, Y = data(63, rng)
    with pytest.raises(sb.ShapeError, match="Y"):
        step(*ps, X, Y)


@pytest.mark.parametrize("biases", [False, True])
def test_float32_stays_float32_end_to_end(biases):
    J, params, dat = build("float32", biases)
    grads = sb.grad(J, params)
    assert J.dtype == "float32"
    assert [g.dtype for g in grads] == ["float32"] * len(params)  # the graph says float32
    step = sb.value_and_grad(J, params, args=params + dat)
    rng = np.random.default_rng(2)
    for n in (64, 37):
        ps32 = init(rng, biases, np.float32)
        X32, Y32 = data(n, rng, np.float32)
        v, g = step(*ps32, X32, Y32)
        assert v.dtype == np.float32  # and so does every array it returns
        assert [a.dtype for a in g] == [np.float32] * len(params)
        v64, g64 = numpy_value_and_grad([p.astype(np.float64) for p in ps32],
                                        X32.astype(np.float64), Y32.astype(np.float64))
        assert abs(float(v) - v64) <= 1e-5 * max(1.0, abs(v64))
        for a, b in zip(g, g64):
            np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("size", [4, "n"])
def test_mean_gradient_keeps_float32(size):
    """Regression: the VJP of a mean broadcast the Python-number cotangent (and, for a
    symbolic size, divided by a float64 ``count``), turning float32 gradients into float64."""
    x = sb.vector("x", size, dtype="float32")
    for y in (sb.mean(x), -sb.mean(x * x), sb.sum(x) / 2.0, 3.0 * sb.mean(sb.exp(x))):
        g = sb.grad(y, x)
        assert g.dtype == "float32", str(g)
        f = sb.lambdify([x], g)
        out = f(np.arange(4, dtype=np.float32))
        assert out.dtype == np.float32, f.source
    gy = sb.lambdify([x], sb.grad(sb.mean(x), x))(np.ones(4, np.float32))
    np.testing.assert_allclose(gy, np.full(4, 0.25, np.float32))


def test_symbolic_size_count_is_compiled():
    """Regression: the generated code skipped zero-argument computed nodes such as
    ``count`` (float(n) for a symbolic n), so any mean over a batch of size "n" failed to
    compile (KeyError)."""
    x = sb.vector("x", "n")
    f = sb.lambdify([x], [sb.grad(sb.mean(x), x), sb.grad(sb.mean(x * x), x)])
    g1, g2 = f(np.arange(4.0))
    np.testing.assert_array_equal(g1, np.full(4, 0.25))
    np.testing.assert_array_equal(g2, np.arange(4.0) / 2)
    g1, _ = f(np.arange(5.0))  # the same function, another size
    np.testing.assert_array_equal(g1, np.full(5, 0.2))
