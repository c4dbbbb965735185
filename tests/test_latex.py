"""LaTeX in matrix notation: golden files for the seed examples E1–E8 and for matrix identities.

Every printed expression is also checked by value, independently of symback:
the gradient itself against central differences of a NumPy loss written by hand
(tests/gradcheck.py), and the *display form* that was printed (the PRETTY copy)
against the same reference, so the printed formula is known to be the right one.
Golden files live in tests/golden/latex/; ``pytest --update-golden`` rewrites them
for review as a diff.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest
from gradcheck import assert_close, numeric_grad

import symback as sb
from symback.printing.latex import display_form, latex_name, number_latex

# --------------------------------------------------------------------------- NumPy references


def sig(x):
    return 1.0 / (1.0 + np.exp(-x))


def softmax_rows(u):
    e = np.exp(u - u.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def logsumexp_np(x, axis=None):
    return np.log(np.sum(np.exp(x), axis=axis))


@dataclass
class Case:
    """One printed expression, its golden file, and an independent check of its value.

    ``ref(*values)`` is the expected value of ``expr`` (a gradient: central differences
    of a hand-written NumPy loss; a loss: the NumPy loss itself).
    """

    name: str
    expr: Any
    args: list[Any]
    values: list[np.ndarray]
    ref: Callable[..., Any]
    options: dict[str, Any] = field(default_factory=dict)


def fd(loss: Callable[..., float], i: int) -> Callable[..., np.ndarray]:
    """∂loss/∂args[i] by central differences (tests/gradcheck.py)."""
    return lambda *v: numeric_grad(loss, v, i)


RNG = np.random.default_rng(20240611)


def normal(*shape: int) -> np.ndarray:
    return RNG.normal(size=shape)


def onehot(m: int, k: int) -> np.ndarray:
    y = np.zeros((m, k))
    y[np.arange(m), RNG.integers(0, k, size=m)] = 1.0
    return y


# --------------------------------------------------------------------------- the seed examples


def seed_cases() -> list[Case]:
    cases: list[Case] = []
    add = cases.append

    # E1: J = 3 (a + b c)
    a, b, c = sb.symbols("a b c")
    J = 3 * (a + b * c)
    v1 = [np.array(5.0), np.array(3.0), np.array(2.0)]

    def j_np(a_, b_, c_):
        return 3 * (a_ + b_ * c_)
    add(Case("e1_J", J, [a, b, c], v1, j_np))
    for i, (w, nm) in enumerate(zip([a, b, c], "abc")):
        add(Case(f"e1_dJ_d{nm}", sb.grad(J, w), [a, b, c], v1, fd(j_np, i)))

    # E2: logistic regression, one sample; dz with z a symbol, dw1 with z named
    z, y = sb.symbols("z y")
    A = sb.sigmoid(z)
    L = -(y * sb.log(A) + (1 - y) * sb.log(1 - A))
    vz = [np.array(0.7), np.array(1.0)]

    def l_np(z_, y_):
        a_ = sig(z_)
        return -(y_ * np.log(a_) + (1 - y_) * np.log(1 - a_))
    add(Case("e2_L", L, [z, y], vz, l_np))
    add(Case("e2_dL_dz", sb.grad(L, z), [z, y], vz, fd(l_np, 0)))
    w1, w2, x1, x2, bb = sb.symbols("w1 w2 x1 x2 b")
    zz = w1 * x1 + w2 * x2 + bb
    Az = sb.sigmoid(zz)
    Lz = -(y * sb.log(Az) + (1 - y) * sb.log(1 - Az))
    vw = [np.array(x) for x in (0.3, -0.8, 1.5, 0.4, 0.1, 0.0)]

    def lz_np(w1_, w2_, x1_, x2_, b_, y_):
        return l_np(w1_ * x1_ + w2_ * x2_ + b_, y_)
    args = [w1, w2, x1, x2, bb, y]
    add(Case("e2_dL_dw1", sb.grad(Lz, w1), args, vw, fd(lz_np, 0)))
    add(Case("e2_dL_dw1_where", sb.grad(Lz, w1), args, vw, fd(lz_np, 0), {"names": {zz: "z"}}))
    add(Case("e2_dL_db", sb.grad(Lz, bb), args, vw, fd(lz_np, 4)))

    # E2 vectorised: W (n, 1), X (n, m), Z = W^T X + b, J = mean L
    W = sb.matrix("W", "n", 1)
    X = sb.matrix("X", "n", "m")
    Y = sb.matrix("Y", 1, "m")
    Z = W.T @ X + bb
    AZ = sb.sigmoid(Z)
    Jv = sb.mean(-(Y * sb.log(AZ) + (1 - Y) * sb.log(1 - AZ)))
    vv = [normal(3, 1), normal(3, 5), np.array(0.2), RNG.integers(0, 2, (1, 5)).astype(float)]

    def jv_np(W_, X_, b_, Y_):
        A_ = sig(W_.T @ X_ + b_)
        return np.mean(-(Y_ * np.log(A_) + (1 - Y_) * np.log(1 - A_)))
    args = [W, X, bb, Y]
    add(Case("e2v_dW", sb.grad(Jv, W), args, vv, fd(jv_np, 0), {"names": {Z: "Z"}}))
    add(Case("e2v_db", sb.grad(Jv, bb), args, vv, fd(jv_np, 2), {"names": {Z: "Z"}}))

    # E3: N = X W, S = sigma(N), L = sum S
    X3 = sb.matrix("X", 3, 3)
    W3 = sb.matrix("W", 3, 2)
    N3 = X3 @ W3
    L3 = sb.sum(sb.sigmoid(N3))
    np.random.seed(190204)
    v3 = [np.random.randn(3, 3), np.random.randn(3, 2)]

    def l3_np(X_, W_):
        return np.sum(sig(X_ @ W_))
    add(Case("e3_L", L3, [X3, W3], v3, l3_np))
    add(Case("e3_dL_dX", sb.grad(L3, X3), [X3, W3], v3, fd(l3_np, 0)))
    add(Case("e3_dL_dW", sb.grad(L3, W3), [X3, W3], v3, fd(l3_np, 1)))
    add(Case("e3_dL_dW_where", sb.grad(L3, W3), [X3, W3], v3, fd(l3_np, 1),
             {"names": {N3: "N", sb.sigmoid(N3): "S"}}))

    # E4: linear regression, L = 1/2 sum (y - N)^2 and the mean
    X4 = sb.matrix("X", "m", "n")
    W4 = sb.matrix("W", "n", 1)
    y4 = sb.matrix("y", "m", 1)
    N4 = X4 @ W4 + bb
    L4 = 0.5 * sb.sum((y4 - N4) ** 2)
    L4m = sb.mean((y4 - N4) ** 2)
    v4 = [normal(6, 3), normal(3, 1), normal(6, 1), np.array(0.4)]

    def l4_np(X_, W_, y_, b_):
        return 0.5 * np.sum((y_ - (X_ @ W_ + b_)) ** 2)

    def l4m_np(X_, W_, y_, b_):
        return np.mean((y_ - (X_ @ W_ + b_)) ** 2)
    args = [X4, W4, y4, bb]
    add(Case("e4_L", L4, args, v4, l4_np))
    add(Case("e4_dL_dW", sb.grad(L4, W4), args, v4, fd(l4_np, 1)))
    add(Case("e4_dL_dW_where", sb.grad(L4, W4), args, v4, fd(l4_np, 1), {"names": {N4: "N"}}))
    add(Case("e4_dL_db", sb.grad(L4, bb), args, v4, fd(l4_np, 3)))
    add(Case("e4_mean_dL_dW", sb.grad(L4m, W4), args, v4, fd(l4m_np, 1)))

    # E5: two-layer sigmoid network, mean squared error
    x5 = sb.matrix("x", 1, 2)
    y5 = sb.matrix("y", 1, 1)
    W1 = sb.matrix("W1", 2, 3)
    b1 = sb.matrix("b1", 1, 3)
    W2 = sb.matrix("W2", 3, 1)
    b2 = sb.matrix("b2", 1, 1)
    H5 = sb.sigmoid(x5 @ W1 + b1)
    yh5 = sb.sigmoid(H5 @ W2 + b2)
    L5 = sb.mean((yh5 - y5) ** 2)
    v5 = [np.array([[0.5, 0.3]]), np.array([[0.8]]), normal(2, 3), normal(1, 3), normal(3, 1),
          normal(1, 1)]

    def l5_np(x_, y_, W1_, b1_, W2_, b2_):
        H_ = sig(x_ @ W1_ + b1_)
        return np.mean((sig(H_ @ W2_ + b2_) - y_) ** 2)
    args = [x5, y5, W1, b1, W2, b2]
    names5 = {"names": {H5: "H", yh5: "y_hat"}}
    add(Case("e5_dL_dW1", sb.grad(L5, W1), args, v5, fd(l5_np, 2), names5))
    add(Case("e5_dL_db1", sb.grad(L5, b1), args, v5, fd(l5_np, 3), names5))
    add(Case("e5_dL_dW2", sb.grad(L5, W2), args, v5, fd(l5_np, 4), names5))
    add(Case("e5_dL_db2", sb.grad(L5, b2), args, v5, fd(l5_np, 5), names5))

    # E6: ReLU MLP, softmax cross-entropy (mean over the batch) and weight decay
    X6 = sb.matrix("X", "m", "d")
    W61 = sb.matrix("W1", "d", "h")
    W62 = sb.matrix("W2", "h", "k")
    Y6 = sb.matrix("Y", "m", "k")
    lam = sb.symbols("lambda")
    H6 = sb.relu(X6 @ W61)
    U6 = H6 @ W62
    J6 = -sb.mean(sb.sum(Y6 * sb.log_softmax(U6), axis=1)) \
        + lam * (sb.sum(W61 ** 2) + sb.sum(W62 ** 2))
    v6 = [normal(5, 4), normal(4, 3), normal(3, 2), onehot(5, 2), np.array(0.1)]

    def j6_np(X_, W1_, W2_, Y_, lam_):
        U_ = np.maximum(X_ @ W1_, 0.0) @ W2_
        logp = U_ - logsumexp_np(U_, axis=1)[:, None]
        return -np.mean(np.sum(Y_ * logp, axis=1)) + lam_ * (np.sum(W1_ ** 2) + np.sum(W2_ ** 2))
    args = [X6, W61, W62, Y6, lam]
    names6 = {H6: "H", U6: "U"}
    add(Case("e6_J", J6, args, v6, j6_np))
    add(Case("e6_dJ_dW1", sb.grad(J6, W61), args, v6, fd(j6_np, 1),
             {"names": names6, "onehot": [Y6]}))
    add(Case("e6_dJ_dW2", sb.grad(J6, W62), args, v6, fd(j6_np, 2),
             {"names": names6, "onehot": [Y6]}))
    add(Case("e6_dJ_dW2_no_onehot", sb.grad(J6, W62), args, v6, fd(j6_np, 2),
             {"names": names6}))
    U = sb.matrix("U", "m", "k")
    Jce = -sb.mean(sb.sum(Y6 * sb.log_softmax(U), axis=1))
    vce = [normal(5, 3), onehot(5, 3)]

    def jce_np(U_, Y_):
        return -np.mean(np.sum(Y_ * (U_ - logsumexp_np(U_, axis=1)[:, None]), axis=1))
    add(Case("e6_dJ_dU", sb.grad(Jce, U), [U, Y6], vce, fd(jce_np, 0), {"onehot": [Y6]}))
    add(Case("e6_dJ_dU_no_onehot", sb.grad(Jce, U), [U, Y6], vce, fd(jce_np, 0)))

    # E7: single neuron, squared error
    W7 = sb.matrix("W", 1, 2)
    X7 = sb.matrix("X", 2, 1)
    th = sb.symbols("theta")
    v7 = sb.sum(W7 * X7.T) + th
    L7 = (sb.sigmoid(v7) - y) ** 2
    val7 = [np.array([[-1.0, -1.5]]), np.array([[-3.0], [2.0]]), np.array(0.5), np.array(2.0)]

    def l7_np(W_, X_, t_, y_):
        return (sig(np.sum(W_ * X_.T) + t_) - y_) ** 2
    args = [W7, X7, th, y]
    add(Case("e7_L", L7, args, val7, l7_np))
    names7 = {"names": {v7: "v", sb.sigmoid(v7): "y_hat"}}
    add(Case("e7_dL_dW", sb.grad(L7, W7), args, val7, fd(l7_np, 0), names7))
    add(Case("e7_dL_dX", sb.grad(L7, X7), args, val7, fd(l7_np, 1), names7))
    add(Case("e7_dL_dtheta", sb.grad(L7, th), args, val7, fd(l7_np, 2), names7))
    add(Case("e7_dL_dW_plain", sb.grad(L7, W7), args, val7, fd(l7_np, 0)))

    # E8: linear model y = w x + b, mean squared error
    w8 = sb.symbols("w")
    x8 = sb.vector("x", "n")
    y8 = sb.vector("y", "n")
    L8 = sb.mean((w8 * x8 + bb - y8) ** 2)
    val8 = [np.array(0.3), np.array(0.1), np.array([1.0, 2, 3, 4]), np.array([2.0, 4, 6, 8])]

    def l8_np(w_, b_, x_, y_):
        return np.mean((w_ * x_ + b_ - y_) ** 2)
    args = [w8, bb, x8, y8]
    add(Case("e8_L", L8, args, val8, l8_np))
    add(Case("e8_dL_dw", sb.grad(L8, w8), args, val8, fd(l8_np, 0)))
    add(Case("e8_dL_db", sb.grad(L8, bb), args, val8, fd(l8_np, 1)))
    return cases


# --------------------------------------------------------------------------- matrix identities


def identity_cases() -> list[Case]:
    cases: list[Case] = []
    add = cases.append
    x = sb.vector("x", "n")
    a = sb.vector("a", "n")
    A = sb.matrix("A", "n", "n")
    vn = [normal(4), normal(4), normal(4, 4)]

    # d/dx a^T x = a
    add(Case("id_grad_a_dot_x", sb.grad(a @ x, x), [x, a, A], vn,
             fd(lambda x_, a_, A_: a_ @ x_, 0)))
    # d/dx x^T A x = (A + A^T) x
    add(Case("id_grad_quadratic_form", sb.grad(x @ A @ x, x), [x, a, A], vn,
             fd(lambda x_, a_, A_: x_ @ A_ @ x_, 0)))
    # d/dx x^T x = 2 x
    add(Case("id_grad_squared_norm", sb.grad(x @ x, x), [x, a, A], vn,
             fd(lambda x_, a_, A_: x_ @ x_, 0)))
    # d/dx logsumexp(x) = softmax(x)
    add(Case("id_grad_logsumexp", sb.grad(sb.logsumexp(x), x), [x, a, A], vn,
             fd(lambda x_, a_, A_: logsumexp_np(x_), 0)))
    # d/dx sum softplus(x) = sigma(x)
    add(Case("id_grad_softplus", sb.grad(sb.sum(sb.softplus(x)), x), [x, a, A], vn,
             fd(lambda x_, a_, A_: np.sum(np.log1p(np.exp(x_))), 0)))
    # d/dx sum exp(A x) = A^T exp(A x)
    add(Case("id_grad_sum_exp_Ax", sb.grad(sb.sum(sb.exp(A @ x)), x), [x, a, A], vn,
             fd(lambda x_, a_, A_: np.sum(np.exp(A_ @ x_)), 0)))

    X = sb.matrix("X", "m", "n")
    W = sb.matrix("W", "n", "k")
    Y = sb.matrix("Y", "m", "k")
    vm = [normal(5, 3), normal(3, 2), normal(5, 2)]
    # d/dW ||X W - Y||_F^2 = 2 X^T (X W - Y)
    add(Case("id_grad_least_squares", sb.grad(sb.sum((X @ W - Y) ** 2), W), [X, W, Y], vm,
             fd(lambda X_, W_, Y_: np.sum((X_ @ W_ - Y_) ** 2), 1)))
    # d/dW sum tanh(X W) = X^T (1 - tanh^2(X W))
    add(Case("id_grad_tanh_layer", sb.grad(sb.sum(sb.tanh(X @ W)), W), [X, W, Y], vm,
             fd(lambda X_, W_, Y_: np.sum(np.tanh(X_ @ W_)), 1)))
    # d/dW 1/2 ||W||^2 = W
    add(Case("id_grad_half_frobenius", sb.grad(0.5 * sb.sum(W ** 2), W), [X, W, Y], vm,
             fd(lambda X_, W_, Y_: 0.5 * np.sum(W_ ** 2), 1)))

    b = sb.vector("b", "k")
    vb = [normal(5, 3), normal(3, 2), normal(2)]
    # bias gradient: d/db sum relu(X W + b) = 1^T 1[X W + b > 0]
    add(Case("id_grad_bias_relu", sb.grad(sb.sum(sb.relu(X @ W + b)), b), [X, W, b], vb,
             fd(lambda X_, W_, b_: np.sum(np.maximum(X_ @ W_ + b_, 0.0)), 2)))

    u = sb.vector("u", "m")
    v = sb.vector("v", "n")
    M = sb.matrix("M", "m", "n")
    vuv = [normal(3), normal(4), normal(3, 4)]
    # d/dM u^T M v = u v^T
    add(Case("id_grad_bilinear", sb.grad(u @ M @ v, M), [u, v, M], vuv,
             fd(lambda u_, v_, M_: u_ @ M_ @ v_, 2)))
    # d/dM ||M v - u||^2 = 2 (M v - u) v^T
    add(Case("id_grad_residual_outer", sb.grad(sb.sum((M @ v - u) ** 2), M), [u, v, M], vuv,
             fd(lambda u_, v_, M_: np.sum((M_ @ v_ - u_) ** 2), 2)))

    P = sb.matrix("P", "p", "m")
    Q = sb.matrix("Q", "n", "q")
    vpq = [normal(2, 3), normal(3, 4), normal(4, 2)]
    # d/dM sum(P M Q) = P^T 1 Q^T
    add(Case("id_grad_sum_PMQ", sb.grad(sb.sum(P @ M @ Q), M), [P, M, Q], vpq,
             fd(lambda P_, M_, Q_: np.sum(P_ @ M_ @ Q_), 1)))

    B = sb.matrix("B", "n", "n")
    Xs = sb.matrix("X", "n", "k")
    vq = [normal(4, 4), normal(4, 3)]
    # d/dX sum(X ⊙ (B X)) = d/dX tr(X^T B X) = (B + B^T) X
    add(Case("id_grad_trace_quadratic", sb.grad(sb.sum(Xs * (B @ Xs)), Xs), [B, Xs], vq,
             fd(lambda B_, X_: np.sum(X_ * (B_ @ X_)), 1)))
    return cases


CASES = seed_cases() + identity_cases()
IDS = [c.name for c in CASES]


def test_every_seed_example_has_a_golden_case():
    for k in range(1, 9):
        assert any(c.name.startswith(f"e{k}_") for c in CASES), f"no LaTeX case for E{k}"
    assert sum(c.name.startswith("id_") for c in CASES) >= 10


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_golden_latex(case, golden):
    golden(f"latex/{case.name}.tex", sb.latex(case.expr, **case.options))


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_printed_formula_has_the_right_value(case):
    """The expression and the display copy that was printed both equal the NumPy reference."""
    want = case.ref(*case.values)
    got = sb.lambdify(case.args, case.expr)(*case.values)
    assert_close(got, want, rtol=1e-5, atol=1e-7, what=f"{case.name} (graph)")
    hot = case.options.get("onehot", ())
    shown = display_form(case.expr, onehot=hot)
    got_shown = sb.lambdify(case.args, shown)(*case.values)
    assert_close(np.broadcast_to(got_shown, np.shape(want)), want, rtol=1e-5, atol=1e-7,
                 what=f"{case.name} (printed form)")


# --------------------------------------------------------------------------- the brief's exact forms


def test_forms_people_write():
    """The forms of the issue, independent of the golden files."""
    z, y = sb.symbols("z y")
    a = sb.sigmoid(z)
    L = -(y * sb.log(a) + (1 - y) * sb.log(1 - a))
    assert sb.latex(sb.grad(L, z)) == r"\sigma(z) - y"
    X, W = sb.matrix("X", 3, 3), sb.matrix("W", 3, 2)
    L3 = sb.sum(sb.sigmoid(X @ W))
    assert sb.latex(sb.grad(L3, W)) == r"X^{T} (\sigma(X W) \odot (1 - \sigma(X W)))"
    Xm, w, yv = sb.matrix("X", "m", "n"), sb.vector("w", "n"), sb.vector("y", "m")
    assert sb.latex(sb.grad(sb.sum((Xm @ w - yv) ** 2), w)) == r"2 X^{T} (X w - y)"
    lam = sb.symbols("lambda")
    assert sb.latex(sb.grad(lam * sb.sum(W ** 2), W)) == r"2 \lambda W"
    U, Y = sb.matrix("U", "m", "k"), sb.matrix("Y", "m", "k")
    ce = sb.mean(sb.logsumexp(U, axis=1) - sb.sum(Y * U, axis=1))
    assert sb.latex(sb.grad(ce, U)) == r"\frac{\operatorname{softmax}(U) - Y}{m}"
    relu_grad = sb.grad(sb.sum(sb.relu(X @ W)), W)
    assert r"\mathbb{1}[X W > 0]" in sb.latex(relu_grad)


def test_sigma_prime_and_where_block():
    X, W = sb.matrix("X", 3, 3), sb.matrix("W", 3, 2)
    N = X @ W
    g = sb.grad(sb.sum(sb.sigmoid(N)), X)
    assert sb.latex(g) == r"(\sigma(X W) \odot (1 - \sigma(X W))) W^{T}"
    out = sb.latex(g, where=True)
    assert out.startswith(r"\begin{aligned}") and out.endswith(r"\end{aligned}")
    assert r"(T_{1} \odot (1 - T_{1})) W^{T}" in out and r"T_{1} = \sigma(X W)" in out
    named = sb.latex(g, names={N: "N", sb.sigmoid(N): "S"})
    assert r"N = X W" in named and r"S = \sigma(N)" in named
    assert r"(S \odot (1 - S)) W^{T}" in named


# --------------------------------------------------------------------------- the printer


def test_parentheses_from_precedence():
    a, b, c, x = sb.symbols("a b c x")
    L = sb.latex
    assert L((a + b) * c, simplify=False) == "(a + b) c"
    assert L(a - (b - c), simplify=False) == "a - (b - c)"
    assert L((a - b) - c, simplify=False) == "a - b - c"
    assert L(x ** (a + b), simplify=False) == "x^{a + b}"
    assert L((x ** a) ** b, simplify=False) == "(x^{a})^{b}"
    assert L(-(a + b), simplify=False) == "-(a + b)"
    assert L(a / (b * c), simplify=False) == r"\frac{a}{b c}"
    assert L(-2 * x, simplify=False) == "-2 x"
    assert L(a + -2 * x, simplify=False) == "a + (-2 x)"
    assert L(a + -2 * x) == "a - 2 x"
    assert L(0.5 * x, simplify=False) == r"\frac{1}{2} x"
    assert L(x * 1e-3, simplify=False) == r"0.001 x"
    assert L(x * 1e-8, simplify=False) == r"10^{-8} x"
    A, B, C = (sb.matrix(n, 2, 2) for n in "ABC")
    assert L(A / (B * C), simplify=False) == r"A \oslash (B \odot C)"
    assert L((A * B) @ C, simplify=False) == r"(A \odot B) C"
    assert L(A @ B * C, simplify=False) == r"A B \odot C"
    assert L((A + B).T, simplify=False) == r"(A + B)^{T}"
    assert L(A.T @ B, transpose=r"\top") == r"A^{\top} B"
    assert L(sb.exp(A) * sb.log(B), simplify=False) == r"\exp(A) \odot \log(B)"
    assert L(sb.sum(A, axis=0), simplify=False) == r"\mathbf{1}^{T} A"
    assert L(sb.sum(A, axis=1), simplify=False) == r"A \mathbf{1}"
    assert L(sb.sum(A * B), simplify=False) == r"\sum (A \odot B)"
    assert L(A * sb.sum(B, axis=1, keepdims=True), simplify=False) == r"A \odot (B \mathbf{1})"
    assert L(sb.softmax(A), simplify=False) == r"\operatorname{softmax}(A)"
    assert L(sb.softmax(A, axis=0), simplify=False) == \
        r"\operatorname{softmax}_{\text{axis 0}}(A)"


def test_scalar_factors_juxtapose_tensor_factors_use_odot():
    s = sb.symbols("s")
    A, B = sb.matrix("A", 2, 2), sb.matrix("B", 2, 2)
    assert sb.latex(s * A, simplify=False) == "s A"
    assert sb.latex(A * B, simplify=False) == r"A \odot B"
    assert sb.latex(A / s, simplify=False) == r"\frac{A}{s}"
    assert sb.latex(A / B, simplify=False) == r"A \oslash B"
    assert sb.latex(s * 3, simplify=False) == "3 s"


def test_symbol_names():
    assert latex_name("W1") == "W_{1}"
    assert latex_name("W_1") == "W_{1}"
    assert latex_name("theta") == r"\theta"
    assert latex_name("lambda") == r"\lambda"
    assert latex_name("Theta") == r"\Theta"
    assert latex_name("alpha2") == r"\alpha_{2}"
    assert latex_name("y_hat") == r"\hat{y}"
    assert latex_name("W_hat_1") == r"\hat{W}_{1}"
    assert latex_name("b_out") == r"b_{\mathit{out}}"
    assert latex_name("loss") == r"\mathit{loss}"
    assert latex_name("x") == "x"
    assert number_latex(2.0) == "2" and number_latex(-0.25) == r"-\frac{1}{4}"
    m = sb.matrix("X", "n_samples", 3)
    assert sb.latex(sb.mean(m)) == r"\operatorname{mean}(X)"
    assert sb.latex(sb.grad(sb.mean(m), m)) == r"\frac{1}{3 n_{\mathit{samples}}} \mathbf{1}"


def test_symbolic_count_prints_as_dimension_name():
    x = sb.vector("x", "n")
    assert sb.latex(sb.grad(sb.mean(x), x)) == r"\frac{1}{n} \mathbf{1}"


def test_display_never_changes_the_compiled_graph():
    X, W = sb.matrix("X", 3, 3), sb.matrix("W", 3, 2)
    z, y = sb.symbols("z y")
    a = sb.sigmoid(z)
    g = sb.grad(-(y * sb.log(a) + (1 - y) * sb.log(1 - a)), z)
    before = str(g)
    nodes = sb.toposort([g])
    sb.latex(g)
    sb.latex(g, where=True)
    assert str(g) == before and sb.toposort([g]) == nodes
    assert display_form(g) is not g  # a different graph is printed, g stays compiled as is
    f = sb.lambdify([z, y], g)
    assert abs(float(f(0.3, 1.0)) - (sig(0.3) - 1.0)) < 1e-12
    del X, W


def test_repr_latex_for_jupyter():
    X, W = sb.matrix("X", 3, 3), sb.matrix("W", 3, 2)
    r = sb.grad(sb.sum(sb.sigmoid(X @ W)), W)._repr_latex_()
    assert r == r"$\displaystyle X^{T} (\sigma(X W) \odot (1 - \sigma(X W)))$"


def test_deep_graph_prints_without_recursion():
    x = sb.symbols("x")
    e = x
    for k in range(3000):
        e = sb.sin(e) + k % 3
    out = sb.latex(e)
    assert out.count(r"\sin(") == 3000
    out_raw = sb.latex(e, simplify=False)
    assert out_raw.count(r"\sin(") == 3000


def test_bad_names_option():
    x = sb.symbols("x")
    with pytest.raises(sb.SymbackError):
        sb.latex(sb.sin(x), names={sb.sin(x): ""})


# --------------------------------------------------------------------------- PRETTY is sound


from hypothesis import assume, given  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_SYMS = {"a": (), "b": (), "u": (3,), "A": (2, 3), "B": (2, 3)}


def _leaf():
    return st.one_of(st.sampled_from(sorted(_SYMS)).map(lambda n: sb.tensor(n, _SYMS[n])),
                     st.sampled_from([1, 2, 0.5, -1.0, 3.0]).map(sb.as_expr))


def _node(children):
    two = st.tuples(children, children)
    return st.one_of(
        two.map(lambda p: p[0] + p[1]), two.map(lambda p: p[0] - p[1]),
        two.map(lambda p: p[0] * p[1]),
        two.map(lambda p: p[0] / (2.0 + sb.sigmoid(p[1]))),  # a denominator away from 0
        two.map(lambda p: p[0] / (p[1] * p[1] + 1.0)),
        two.map(lambda p: (p[0] * p[1]) / (p[1] * p[1] + 0.5)),
        children.map(lambda x: -x), children.map(lambda x: x ** 2),
        children.map(sb.sigmoid), children.map(lambda x: sb.exp(sb.tanh(x))),
        children.map(lambda x: sb.log(1.0 + x * x)), children.map(sb.sum),
    )


@given(st.recursive(_leaf(), _node, max_leaves=12))
def test_pretty_preserves_values(e):
    """The display copy equals the expression (and so does every gradient's display copy)."""
    syms = [sb.tensor(n, s) for n, s in sorted(_SYMS.items())]
    rng = np.random.default_rng(7)
    vals = [rng.uniform(0.3, 1.7, size=s) * rng.choice([-1, 1], size=s) for _, s in
            sorted(_SYMS.items())]
    exprs = [e]
    if e.shape == ():
        exprs += sb.grad(e, syms)
    shown = display_form(exprs)
    f = sb.lambdify(syms, exprs)
    g = sb.lambdify(syms, shown)
    with np.errstate(all="ignore"):
        want, got = f(*vals), g(*vals)
    for w, h, x in zip(want, got, exprs):
        w = np.asarray(w)
        assume(np.all(np.isfinite(w)) and np.max(np.abs(w), initial=0) < 1e8)
        scale = 1.0 + np.max(np.abs(w), initial=0)
        assert np.allclose(np.broadcast_to(h, w.shape), w, rtol=1e-7, atol=1e-9 * scale), \
            f"PRETTY changed the value of {x}\n  into {display_form(x)}"


def test_regression_power_of_a_superscripted_base_gets_parentheses():
    """X^{T}^{2} is a LaTeX error (double superscript): the base must be parenthesised."""
    X = sb.matrix("X", 3, 3)
    assert sb.latex(X.T ** 2) == "(X^{T})^{2}"
    assert sb.latex(sb.inv(X) ** 2) == "(X^{-1})^{2}"
    assert sb.latex(sb.matrix("W1", 2, 2) ** 2) == "W_{1}^{2}"


def test_regression_latex_of_a_huge_shared_graph_is_cut_not_exhausted():
    """A 50,000-node shared chain prints as a tree 2^k long: latex streams and cuts it."""
    x = sb.symbols("x")
    e = x
    for k in range(20_000):
        e = sb.sin(e) + 0.5 * e if k % 2 else sb.tanh(e) * 1.01
    s = sb.latex(e, limit=5_000)
    assert s.endswith(r"\dots") and len(s) < 5_100
    assert sb.latex(sb.sin(x) + 0.5 * x, limit=5_000) == sb.latex(sb.sin(x) + 0.5 * x, limit=None)


def test_where_with_a_nonzero_else_branch_prints():
    """The template braces of \\operatorname{where} were not escaped: KeyError 'where'."""
    x, y = sb.symbols("x y")
    assert sb.latex(sb.where(x > y, x, y)) == r"\operatorname{where}(x > y, x, y)"
