"""The worked examples E1–E8 of ../shared/reference/seed-examples.md.

Each gradient is derived by symback from the loss alone and compared with the
reference numbers or with the hand-written backward pass the source texts give
(with their slips corrected, as noted in the reference).
"""

from __future__ import annotations

import numpy as np
import pytest
from gradcheck import check_grad

import symback as sb


def sig(x):
    return 1.0 / (1.0 + np.exp(-x))


def test_e1_scalar_chain_rule_at_both_points():
    a, b, c = sb.symbols("a b c")
    J = 3 * (a + b * c)
    f = sb.lambdify([a, b, c], [J, *sb.grad(J, [a, b, c])])
    assert [float(v) for v in f(5.0, 3.0, 2.0)] == [33.0, 3.0, 6.0, 9.0]
    # the source text prints 9 for dJ/dc here; the right value is 3 b = 12
    assert [float(v) for v in f(7.0, 4.0, 2.0)] == [45.0, 3.0, 6.0, 12.0]


def test_e2_logistic_single_sample_dz_is_a_minus_y():
    w1, w2, b, x1, x2, y = sb.symbols("w1 w2 b x1 x2 y")
    z = w1 * x1 + w2 * x2 + b
    a = sb.sigmoid(z)
    L = -(y * sb.log(a) + (1 - y) * sb.log(1 - a))
    dz, dw1, dw2, db = sb.grad(L, [z, w1, w2, b])
    args = [w1, w2, b, x1, x2, y]
    f = sb.lambdify(args, [dz, dw1, dw2, db])
    rng = np.random.default_rng(0)
    for _ in range(5):
        vals = rng.normal(size=6)
        vals[5] = float(rng.integers(0, 2))
        av = sig(vals[0] * vals[3] + vals[1] * vals[4] + vals[2])
        got = [float(v) for v in f(*vals)]
        want = [av - vals[5], vals[3] * (av - vals[5]), vals[4] * (av - vals[5]), av - vals[5]]
        assert np.allclose(got, want, rtol=1e-10, atol=1e-12)


def test_e2_vectorised():
    n, m = 4, 7
    W = sb.matrix("W", n, 1)
    X = sb.matrix("X", n, m)
    b = sb.symbols("b")
    Y = sb.matrix("Y", 1, m)
    A = sb.sigmoid(W.T @ X + b)
    J = sb.mean(-(Y * sb.log(A) + (1 - Y) * sb.log(1 - A)))
    dW, db = sb.grad(J, [W, b])
    rng = np.random.default_rng(1)
    Wv, Xv, bv = rng.normal(size=(n, 1)), rng.normal(size=(n, m)), 0.3
    Yv = rng.integers(0, 2, size=(1, m)).astype(float)
    got_dW, got_db = sb.lambdify([W, X, b, Y], [dW, db])(Wv, Xv, bv, Yv)
    dZ = sig(Wv.T @ Xv + bv) - Yv
    assert np.allclose(got_dW, Xv @ dZ.T / m, rtol=1e-10)
    assert np.isclose(float(got_db), dZ.sum() / m, rtol=1e-10)


def test_e3_matrix_function_with_activation_reference_numbers():
    X = sb.matrix("X", 3, 3)
    W = sb.matrix("W", 3, 2)
    L = sb.sum(sb.sigmoid(X @ W))
    f = sb.lambdify([X, W], [L, *sb.grad(L, [X, W])])
    np.random.seed(190204)
    Xv = np.random.randn(3, 3)
    Wv = np.random.randn(3, 2)
    Lv, dX, dW = f(Xv, Wv)
    assert np.isclose(float(Lv), 2.37549510, atol=5e-9)
    assert np.allclose(dX[0], [0.24888872, -0.37478060, 0.01121963], atol=5e-9)
    S = sig(Xv @ Wv)
    assert np.allclose(dX, (S * (1 - S)) @ Wv.T, rtol=1e-12)  # a matrix product, not ⊙
    assert np.allclose(dW, Xv.T @ (S * (1 - S)), rtol=1e-12)
    # the text's nudge check: L moves by about 0.001 * dL/dX[0, 0]
    Xn = Xv.copy()
    Xn[0, 0] += 0.001
    moved = float(f(Xn, Wv)[0]) - float(Lv)
    assert np.isclose(moved, 0.001 * dX[0, 0], rtol=1e-2)


def test_e4_linear_regression_dw_is_xt_times_residual():
    X = sb.matrix("X", 6, 3)
    W = sb.matrix("W", 3, 1)
    b = sb.vector("b", 1)
    y = sb.matrix("y", 6, 1)
    N = X @ W + b
    L = 0.5 * sb.sum((y - N) ** 2)
    dW, db = sb.grad(L, [W, b])
    rng = np.random.default_rng(2)
    Xv, Wv, bv, yv = (rng.normal(size=s) for s in [(6, 3), (3, 1), (1,), (6, 1)])
    gW, gb = sb.lambdify([X, W, b, y], [dW, db])(Xv, Wv, bv, yv)
    Nv = Xv @ Wv + bv
    assert np.allclose(gW, Xv.T @ (Nv - yv), rtol=1e-12)
    assert np.allclose(gb, (Nv - yv).sum(axis=0), rtol=1e-12)


def test_e5_two_layer_network_matches_hand_written_backprop_and_training():
    x = sb.matrix("x", 1, 2)
    y = sb.matrix("y", 1, 1)
    W1, b1 = sb.matrix("W1", 2, 3), sb.vector("b1", 3)
    W2, b2 = sb.matrix("W2", 3, 1), sb.vector("b2", 1)
    H = sb.sigmoid(x @ W1 + b1)
    yhat = sb.sigmoid(H @ W2 + b2)
    loss = sb.mean((yhat - y) ** 2)
    params = [W1, b1, W2, b2]
    step = sb.value_and_grad(loss, params, args=[x, y, *params])
    rng = np.random.default_rng(3)
    xv, yv = np.array([[0.5, 0.3]]), np.array([[0.8]])
    P = [rng.normal(size=(2, 3)), rng.normal(size=3), rng.normal(size=(3, 1)), rng.normal(size=1)]
    Q = [p.copy() for p in P]
    for _ in range(10):  # plain gradient descent, lr 0.01, symback vs the texts' backward
        _, grads = step(xv, yv, *P)
        Hv = sig(xv @ Q[0] + Q[1])
        out = sig(Hv @ Q[2] + Q[3])
        d_out = 2 * (out - yv) * out * (1 - out)
        dW2 = Hv.T @ d_out
        db2 = d_out.sum(axis=0)
        dH = (d_out @ Q[2].T) * Hv * (1 - Hv)
        dW1 = xv.T @ dH
        db1 = dH.sum(axis=0)
        for g, h in zip(grads, [dW1, db1, dW2, db2]):
            assert np.allclose(g, h, rtol=1e-12, atol=1e-15)
        P = [p - 0.01 * g for p, g in zip(P, grads)]
        Q = [q - 0.01 * h for q, h in zip(Q, [dW1, db1, dW2, db2])]
    for p, q in zip(P, Q):
        assert np.allclose(p, q, rtol=1e-12)


def test_e6_mlp_relu_cross_entropy_weight_decay():
    m, d, h, k, lam = 8, 5, 6, 4, 1e-2
    X = sb.matrix("X", "m", d)
    Y = sb.matrix("Y", "m", k)
    W1, W2 = sb.matrix("W1", d, h), sb.matrix("W2", h, k)
    H = sb.relu(X @ W1)
    U = H @ W2
    ce = -sb.mean(sb.sum(Y * sb.log_softmax(U, axis=1), axis=1))
    J = ce + lam * (sb.sum(W1 ** 2) + sb.sum(W2 ** 2))
    f = sb.lambdify([X, Y, W1, W2], [J, *sb.grad(J, [W1, W2])])
    rng = np.random.default_rng(4)
    Xv, W1v, W2v = rng.normal(size=(m, d)), rng.normal(size=(d, h)), rng.normal(size=(h, k))
    Yv = np.eye(k)[rng.integers(0, k, size=m)]
    Jv, g1, g2 = f(Xv, Yv, W1v, W2v)
    # Goodfellow 6.5.7 by hand
    A = Xv @ W1v
    Hv = np.maximum(A, 0)
    Uv = Hv @ W2v
    P = np.exp(Uv - Uv.max(1, keepdims=True))
    P /= P.sum(1, keepdims=True)
    J_ref = -np.mean(np.sum(Yv * np.log(P), 1)) + lam * ((W1v ** 2).sum() + (W2v ** 2).sum())
    G = (P - Yv) / m
    dW2 = Hv.T @ G + 2 * lam * W2v
    Gp = (G @ W2v.T) * (A > 0)
    dW1 = Xv.T @ Gp + 2 * lam * W1v
    assert np.isclose(float(Jv), J_ref, rtol=1e-12)
    assert np.allclose(g1, dW1, rtol=1e-10, atol=1e-14)
    assert np.allclose(g2, dW2, rtol=1e-10, atol=1e-14)


def test_e7_single_neuron_reference_numbers():
    W = sb.matrix("W", 1, 2)
    X = sb.matrix("X", 2, 1)
    theta, y = sb.symbols("theta y")
    v = W @ X + theta
    yhat = sb.sigmoid(v)
    eps = yhat - y
    L = sb.sum(eps ** 2)
    outs = [sb.sum(v), sb.sum(yhat), sb.sum(eps), L, sb.grad(L, eps), *sb.grad(L, [W, X, theta])]
    f = sb.lambdify([W, X, theta, y], outs)
    vv, yh, e, Lv, dE, dW, dX, dT = f(np.array([[-1.0, -1.5]]), np.array([[-3.0], [2.0]]), 0.5, 2.0)
    assert np.isclose(float(vv), 0.5)
    assert np.isclose(float(yh), 0.62245933, atol=5e-9)
    assert np.isclose(float(e), -1.37754067, atol=5e-9)
    assert np.allclose(dE, [[-2.75508134]], atol=5e-9)
    assert np.isclose(float(Lv), 1.89761829, atol=5e-9)
    assert np.allclose(dW, [[1.94236303, -1.29490868]], atol=5e-9)
    assert np.allclose(dX, [[0.64745434], [0.97118151]], atol=5e-9)
    assert np.isclose(float(dT), -0.64745434, atol=5e-9)


def test_e7_small_cases():
    x = sb.symbols("x")
    assert float(sb.lambdify([x], sb.grad(x ** 2, x))(3.0)) == 6.0
    xm = sb.matrix("x", 1, 3)
    w = sb.matrix("w", 3, 2)
    b = sb.vector("b", 2)
    loss = sb.mean((xm @ w + b) ** 2)
    rng = np.random.default_rng(5)
    vals = [np.array([[1.0, 2.0, 3.0]]), rng.normal(size=(3, 2)), rng.normal(size=2)]
    grads = sb.lambdify([xm, w, b], sb.grad(loss, [w, b]))(*vals)
    check_grad(lambda wv, bv: float(np.mean((vals[0] @ wv + bv) ** 2)), grads, vals[1:])


@pytest.mark.parametrize("epochs", [100])
def test_e8_linear_model_training_matches_hand_written_loop(epochs):
    w, b = sb.symbols("w b")
    x = sb.vector("x", "n")
    y = sb.vector("y", "n")
    loss = sb.mean((w * x + b - y) ** 2)
    step = sb.value_and_grad(loss, [w, b], args=[w, b, x, y])
    xv, yv = np.array([1.0, 2.0, 3.0, 4.0]), np.array([2.0, 4.0, 6.0, 8.0])
    ws, bs = 0.1, -0.2
    wr, br = 0.1, -0.2
    for _ in range(epochs):
        L, (gw, gb) = step(ws, bs, xv, yv)
        gw, gb = float(gw), float(gb)
        norm = np.hypot(gw, gb)
        if norm > 1.0:  # gradient-norm clipping at 1.0
            gw, gb = gw / norm, gb / norm
        ws, bs = ws - 0.01 * gw, bs - 0.01 * gb
        r = wr * xv + br - yv
        L_ref = np.mean(r ** 2)
        hw, hb = np.mean(2 * r * xv), np.mean(2 * r)
        hn = np.hypot(hw, hb)
        if hn > 1.0:
            hw, hb = hw / hn, hb / hn
        wr, br = wr - 0.01 * hw, br - 0.01 * hb
        assert abs(float(L) - L_ref) <= 1e-12 * max(1.0, L_ref)
    assert abs(ws - wr) < 1e-12 and abs(bs - br) < 1e-12
