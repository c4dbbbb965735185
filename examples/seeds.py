"""The seed examples E1-E8, each derived by symback from its loss alone, printed and checked.

Every number is compared with the reference values of the five tutorial texts
(corrected where the texts slipped, e.g. E1's dJ/dc = 12); the script exits
with status 1 if any check fails. Needs only NumPy.

Run:  python examples/seeds.py            (about a second)
      python examples/seeds.py --long     (E5 and E8 trained longer, E6 at digits' size)
"""

from __future__ import annotations

import argparse
import sys

import numpy as np

import symback as sb

FAILURES: list[str] = []


def check(label: str, got, want, tol: float = 1e-8) -> None:
    """Print one comparison and remember a mismatch."""
    got_a, want_a = np.asarray(got, dtype=float), np.asarray(want, dtype=float)
    ok = got_a.shape == want_a.shape and np.allclose(got_a, want_a, rtol=tol, atol=tol)
    shown = (np.array2string(got_a, precision=8, separator=", ", max_line_width=10**6)
             .replace("\n", "") if got_a.ndim else f"{got_a:.8f}")
    print(f"    {'ok ' if ok else 'BAD'} {label} = {shown}" + ("" if ok else f"   (expected {want})"))
    if not ok:
        FAILURES.append(label)


def show(label: str, e) -> None:
    """A formula as text, and as LaTeX where the printer is available."""
    print(f"  {label} = {e}")
    try:
        print(f"  {' ' * len(label)}   LaTeX: {sb.latex(e)}")
    except (NotImplementedError, ImportError):  # the LaTeX printer is still being written
        pass
    except Exception as exc:  # noqa: BLE001 - a printing fault must not hide the numbers
        print(f"  {' ' * len(label)}   (sb.latex failed: {type(exc).__name__}: {exc})")


def header(title: str) -> None:
    print("\n" + title + "\n" + "-" * len(title))


# ---------------------------------------------------------------------------------------- E1
def e1() -> None:
    header("E1  J = 3(a + b c): the chain rule on a graph (Ng)")
    a, b, c = sb.symbols("a b c")
    u = b * c
    v = a + u
    J = 3 * v
    grads = sb.grad(J, [v, u, a, b, c])
    for name, g in zip(["dJ/dv", "dJ/du", "dJ/da", "dJ/db", "dJ/dc"], grads):
        show(name, g)
    try:
        print(sb.explain(J, [a, b, c]))
    except (NotImplementedError, ImportError):
        pass
    f = sb.lambdify([a, b, c], [u, v, J, *grads])
    for at, want in [((5.0, 3.0, 2.0), (6, 11, 33, 3, 3, 3, 6, 9)),
                     ((7.0, 4.0, 2.0), (8, 15, 45, 3, 3, 3, 6, 12))]:  # the text prints 9: a slip
        print(f"  at (a, b, c) = {at}:")
        check("(u, v, J, dJ/dv, dJ/du, dJ/da, dJ/db, dJ/dc)", [float(x) for x in f(*at)], want)


# ---------------------------------------------------------------------------------------- E2
def e2() -> None:
    header("E2  Logistic regression, one sample and vectorised (Ng)")
    w1, w2, b, x1, x2, y = sb.symbols("w1 w2 b x1 x2 y")
    z = w1 * x1 + w2 * x2 + b
    a = sb.sigmoid(z)
    L = -(y * sb.log(a) + (1 - y) * sb.log(1 - a))
    dz, dw1, dw2, db = sb.grad(L, [z, w1, w2, b])
    show("L", L)
    show("dL/dz", dz)
    # The same loss written in its stable form: -(y log σ(z) + (1-y) log(1-σ(z))) = softplus(z) - y z.
    L_stable = sb.softplus(z) - y * z
    dz_stable = sb.grad(L_stable, z)
    show("dL/dz from softplus(z) - y z", dz_stable)
    f = sb.lambdify([w1, w2, b, x1, x2, y], [L, L_stable, dz, dz_stable, dw1, dw2, db, a])
    rng = np.random.default_rng(2)
    worst = 0.0
    for _ in range(20):
        vals = [*rng.standard_normal(5), float(rng.integers(0, 2))]
        Lv, Ls, dzv, dzs, dw1v, dw2v, dbv, av = (float(t) for t in f(*vals))
        err = max(abs(Lv - Ls), abs(dzv - (av - vals[5])), abs(dzs - (av - vals[5])),
                  abs(dw1v - vals[3] * (av - vals[5])), abs(dw2v - vals[4] * (av - vals[5])),
                  abs(dbv - (av - vals[5])))
        worst = max(worst, err)
    print("  at 20 random points, both forms: dL/dz = a - y, dL/dw1 = x1 (a - y), "
          "dL/dw2 = x2 (a - y), dL/db = a - y")
    check("largest difference", worst, 0.0, tol=1e-12)

    n, m = 3, 5
    W = sb.matrix("W", n, 1)
    X = sb.matrix("X", n, m)
    Y = sb.matrix("Y", 1, m)
    bb = sb.symbols("bb")
    Z = W.T @ X + bb
    A = sb.sigmoid(Z)
    J = sb.mean(sb.softplus(Z) - Y * Z)  # mean binary cross-entropy of A = σ(Z)
    dW, dbb = sb.grad(J, [W, bb])
    show("dJ/dW", dW)
    fv = sb.lambdify([W, bb, X, Y], [A, dW, dbb])
    Wv, Xv = rng.standard_normal((n, 1)), rng.standard_normal((n, m))
    Yv, bv = rng.integers(0, 2, (1, m)).astype(float), 0.3
    Av, dWv, dbv = fv(Wv, bv, Xv, Yv)
    dZ = Av - Yv
    print("  vectorised, W (3, 1), X (3, 5): dW = (1/m) X dZ^T, db = (1/m) sum(dZ), dZ = A - Y")
    check("dW", dWv.ravel(), (Xv @ dZ.T / m).ravel(), tol=1e-12)
    check("db", dbv, dZ.sum() / m, tol=1e-12)


# ---------------------------------------------------------------------------------------- E3
def e3() -> None:
    header("E3  L = sum(sigmoid(X W)) (Weidman)")
    X = sb.matrix("X", 3, 3)
    W = sb.matrix("W", 3, 2)
    L = sb.sum(sb.sigmoid(X @ W))
    dX, dW = sb.grad(L, [X, W])
    show("dL/dX", dX)
    show("dL/dW", dW)
    step = sb.value_and_grad(L, [X, W], args=[X, W])
    np.random.seed(190204)
    Xv = np.random.randn(3, 3)
    Wv = np.random.randn(3, 2)
    value, (gX, gW) = step(Xv, Wv)
    check("L", float(value), 2.37549510)
    check("dL/dX[0]", gX[0], [0.24888872, -0.37478060, 0.01121963])
    S = 1 / (1 + np.exp(-Xv @ Wv))
    check("dL/dX - (S (1 - S)) W^T (a matrix product)", np.abs(gX - (S * (1 - S)) @ Wv.T).max(), 0.0)
    check("dL/dW - X^T (S (1 - S))", np.abs(gW - Xv.T @ (S * (1 - S))).max(), 0.0)
    X2 = Xv.copy()
    X2[0, 0] += 0.001
    moved = float(step(X2, Wv)[0]) - float(value)
    print(f"  nudging X[0, 0] by 0.001 moves L by {moved:.8f}; 0.001 * dL/dX[0, 0] = "
          f"{0.001 * gX[0, 0]:.8f}")
    check("(L moved) / 0.001", moved / 0.001, gX[0, 0], tol=1e-3)


# ---------------------------------------------------------------------------------------- E4
def e4() -> None:
    header("E4  Linear regression, L = 1/2 sum((y - (X W + b))^2) (Weidman)")
    X = sb.matrix("X", "n", 3)
    y = sb.matrix("y", "n", 1)
    W = sb.matrix("W", 3, 1)
    b = sb.symbols("b")
    N = X @ W + b
    L = 0.5 * sb.sum((y - N) ** 2)
    dW, db = sb.grad(L, [W, b])
    show("dL/dW", dW)
    show("dL/db", db)
    rng = np.random.default_rng(4)
    Xv, yv, Wv, bv = (rng.standard_normal((6, 3)), rng.standard_normal((6, 1)),
                      rng.standard_normal((3, 1)), 0.7)
    _, (gW, gb) = sb.value_and_grad(L, [W, b], args=[X, y, W, b])(Xv, yv, Wv, bv)
    Nv = Xv @ Wv + bv
    check("dL/dW - X^T (N - y)", np.abs(gW - Xv.T @ (Nv - yv)).max(), 0.0, tol=1e-12)
    check("dL/db - sum(N - y)", float(gb) - float(np.sum(Nv - yv)), 0.0, tol=1e-12)


# ---------------------------------------------------------------------------------------- E5
def e5(steps: int) -> None:
    header("E5  Two-layer sigmoid network, gradient descent (Weidman)")
    x = sb.matrix("x", 1, 2)
    y = sb.matrix("y", 1, 1)
    W1, b1 = sb.matrix("W1", 2, 3), sb.vector("b1", 3)
    W2, b2 = sb.matrix("W2", 3, 1), sb.vector("b2", 1)
    H = sb.sigmoid(x @ W1 + b1)
    yhat = sb.sigmoid(H @ W2 + b2)
    L = sb.mean((yhat - y) ** 2)
    params = [W1, b1, W2, b2]
    show("dL/dW2", sb.grad(L, W2))
    step = sb.value_and_grad(L, params, args=[*params, x, y])
    xv, yv = np.array([[0.5, 0.3]]), np.array([[0.8]])
    rng = np.random.default_rng(5)
    ps = [rng.standard_normal((2, 3)), rng.standard_normal(3), rng.standard_normal((3, 1)),
          rng.standard_normal(1)]
    hand = [p.copy() for p in ps]
    worst = 0.0
    first = last = 0.0
    for k in range(steps):
        value, grads = step(*ps, xv, yv)
        # the texts' hand-written backward
        hW1, hb1, hW2, hb2 = hand
        Hh = 1 / (1 + np.exp(-(xv @ hW1 + hb1)))
        out = 1 / (1 + np.exp(-(Hh @ hW2 + hb2)))
        d_out = 2 * (out - yv) * out * (1 - out)
        dH = d_out @ hW2.T * Hh * (1 - Hh)
        hgrads = [xv.T @ dH, dH.sum(axis=0), Hh.T @ d_out, d_out.sum(axis=0)]
        worst = max(worst, max(np.abs(g - h).max() for g, h in zip(grads, hgrads)))
        ps = [p - 0.01 * g for p, g in zip(ps, grads)]
        hand = [p - 0.01 * g for p, g in zip(hand, hgrads)]
        first = float(value) if k == 0 else first
        last = float(value)
    print(f"  {steps} steps at learning rate 0.01: loss {first:.8f} -> {last:.8f}")
    check("largest gradient difference from the hand-written backward", worst, 0.0, tol=1e-14)
    if last >= first:
        FAILURES.append("E5 loss did not decrease")


# ---------------------------------------------------------------------------------------- E6
def e6(n: int, hidden: int) -> None:
    header("E6  MLP: relu, softmax cross-entropy, weight decay (Goodfellow et al. 6.5.7)")
    lam = 1e-3
    X = sb.matrix("X", "n", 64)
    Y = sb.matrix("Y", "n", 10)
    W1, W2 = sb.matrix("W1", 64, hidden), sb.matrix("W2", hidden, 10)
    U = sb.relu(X @ W1) @ W2
    J = -sb.mean(sb.sum(Y * sb.log_softmax(U), axis=1)) + lam * (sb.sum(W1**2) + sb.sum(W2**2))
    dW1, dW2 = sb.grad(J, [W1, W2])
    show("J", J)
    show("dJ/dW2", dW2)
    decay = lam * (sb.sum(W1**2) + sb.sum(W2**2))
    show("d(weight decay)/dW1", sb.grad(decay, W1))
    rng = np.random.default_rng(6)
    Xv = rng.standard_normal((n, 64))
    Yv = np.eye(10)[rng.integers(0, 10, n)]
    W1v, W2v = rng.standard_normal((64, hidden)) / 8, rng.standard_normal((hidden, 10)) / 8
    _, (g1, g2) = sb.value_and_grad(J, [W1, W2], args=[W1, W2, X, Y])(W1v, W2v, Xv, Yv)
    Z1 = Xv @ W1v
    Hv = np.maximum(Z1, 0)
    Uv = Hv @ W2v
    P = np.exp(Uv - Uv.max(1, keepdims=True))
    P /= P.sum(1, keepdims=True)
    G = (P - Yv) / n  # softmax minus one-hot, over the batch size
    Gp = (G @ W2v.T) * (Z1 > 0)  # relu zeroes the entries where X W1 < 0
    check("dJ/dW2 - (H^T G + 2 lam W2)", np.abs(g2 - (Hv.T @ G + 2 * lam * W2v)).max(), 0.0,
          tol=1e-12)
    check("dJ/dW1 - (X^T G' + 2 lam W1)", np.abs(g1 - (Xv.T @ Gp + 2 * lam * W1v)).max(), 0.0,
          tol=1e-12)
    ddW1 = sb.grad(sb.sum(dW1 * dW1), W1)  # the gradient is a graph: differentiate it again
    print(f"  the gradient is itself a graph: d/dW1 of sum(dJ/dW1^2) has shape {ddW1.shape}")


# ---------------------------------------------------------------------------------------- E7
def e7() -> None:
    header("E7  Single neuron with squared error (GradientTape notes)")
    W = sb.matrix("W", 1, 2)
    X = sb.matrix("X", 2, 1)
    theta, y = sb.symbols("theta y")
    v = sb.sum(W @ X) + theta
    yhat = sb.sigmoid(v)
    eps = yhat - y
    L = eps**2
    dW, dX, dtheta, deps = sb.grad(L, [W, X, theta, eps])
    show("dL/dW", dW)
    f = sb.lambdify([W, X, theta, y], [v, yhat, eps, deps, L, dW, dX, dtheta])
    out = f(np.array([[-1.0, -1.5]]), np.array([[-3.0], [2.0]]), 0.5, 2.0)
    for label, got, want in zip(
            ["v", "yhat", "eps", "dL/deps", "L", "dL/dW", "dL/dX", "dL/dtheta"], out,
            [0.5, 0.62245933, -1.37754067, -2.75508134, 1.89761829, [[1.94236303, -1.29490868]],
             [[0.64745434], [0.97118151]], -0.64745434]):
        check(label, got, want)
    x = sb.symbols("x")
    check("d(x^2)/dx at x = 3", float(sb.lambdify([x], sb.grad(x**2, x))(3.0)), 6.0)
    xm, w, b = sb.matrix("xm", 1, 3), sb.matrix("w", 3, 2), sb.vector("b", 2)
    yy = xm @ w + b
    loss = sb.mean(yy**2)
    wv = np.array([[0.1, -0.2], [0.3, 0.4], [-0.5, 0.6]])
    xv = np.array([[1.0, 2.0, 3.0]])
    _, (gw, gb) = sb.value_and_grad(loss, [w, b], args=[xm, w, b])(xv, wv, np.zeros(2))
    yv = xv @ wv
    check("y = x @ w + b, loss = mean(y^2): dloss/dw", gw, xv.T @ (2 * yv / yv.size))
    check("dloss/db", gb, (2 * yv / yv.size).sum(axis=0))


# ---------------------------------------------------------------------------------------- E8
def e8(epochs: int) -> None:
    header("E8  Linear model, SGD with gradient-norm clipping (PyTorch notes)")
    w, b = sb.symbols("w b")
    x, y = sb.vector("x", "n"), sb.vector("y", "n")
    loss = sb.mean((w * x + b - y) ** 2)
    dw, db = sb.grad(loss, [w, b])
    show("dloss/dw", dw)
    show("dloss/db", db)
    step = sb.value_and_grad(loss, [w, b], args=[w, b, x, y])
    xv, yv = np.array([1.0, 2.0, 3.0, 4.0]), np.array([2.0, 4.0, 6.0, 8.0])
    ws = wh = 0.5
    bs = bh = -0.3
    curve_sb, curve_np = [], []
    for _ in range(epochs):
        value, (gw, gb) = step(ws, bs, xv, yv)
        scale = min(1.0, 1.0 / (np.hypot(float(gw), float(gb)) + 1e-6))  # clip the norm at 1
        ws, bs = ws - 0.01 * scale * float(gw), bs - 0.01 * scale * float(gb)
        curve_sb.append(float(value))
        r = wh * xv + bh - yv  # hand-written NumPy
        hw, hb = 2 * np.mean(r * xv), 2 * np.mean(r)
        curve_np.append(float(np.mean(r**2)))
        scale = min(1.0, 1.0 / (np.hypot(hw, hb) + 1e-6))
        wh, bh = wh - 0.01 * scale * hw, bh - 0.01 * scale * hb
    print(f"  {epochs} epochs: loss {curve_sb[0]:.6f} -> {curve_sb[-1]:.6f}, w = {ws:.6f}, "
          f"b = {bs:.6f}")
    check("largest loss-curve difference from hand-written NumPy",
          np.max(np.abs(np.array(curve_sb) - curve_np)), 0.0, tol=1e-12)
    print("  (examples/linear_model_torch_parity.py runs the same loop in PyTorch)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--long", action="store_true", help="train E5/E8 longer, E6 bigger")
    args = parser.parse_args(argv)
    e1()
    e2()
    e3()
    e4()
    e5(steps=1000 if args.long else 20)
    e6(n=1797 if args.long else 32, hidden=256 if args.long else 16)
    e7()
    e8(epochs=1000 if args.long else 100)
    print()
    if FAILURES:
        print(f"{len(FAILURES)} check(s) FAILED: " + "; ".join(FAILURES))
        return 1
    print("every check passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
