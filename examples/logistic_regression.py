"""Logistic regression (seed E2) on scikit-learn's breast-cancer data, with compiled gradients.

The model is z = X w + b, a = σ(z), and the loss the mean binary
cross-entropy −(y log a + (1 − y) log(1 − a)), written in its equal, stable
form softplus(z) − y z. symback derives ∂L/∂z = a − y (printed below) and the
gradients for w and b from that loss alone; one compiled NumPy function
returns the loss and both gradients, and plain gradient descent trains it.
The data is standardised with the training split's statistics and 25% is held
out for testing.

Run:  python examples/logistic_regression.py              (a second or so)
      python examples/logistic_regression.py --long       (10x the epochs)
Needs scikit-learn (pip install ".[examples]").
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np

import symback as sb


def build_loss(n_features: int, l2: float):
    """Mean binary cross-entropy of σ(X w + b) over a batch of any size n, plus (l2/2)|w|²."""
    X = sb.matrix("X", "n", n_features)
    y = sb.vector("y", "n")
    w = sb.vector("w", n_features)
    b = sb.symbols("b")
    z = X @ w + b
    loss = sb.mean(sb.softplus(z) - y * z) + (l2 / 2) * sb.sum(w**2)
    return loss, z, (w, b), (X, y)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=300, help="gradient-descent steps")
    parser.add_argument("--long", action="store_true", help="train 10x longer")
    parser.add_argument("--lr", type=float, default=0.5, help="learning rate")
    parser.add_argument("--l2", type=float, default=1e-3, help="L2 penalty on w")
    parser.add_argument("--seed", type=int, default=0, help="seed of the train/test split")
    parser.add_argument("--limit", type=int, default=None,
                        help="use only the first LIMIT samples (smoke tests)")
    args = parser.parse_args(argv)
    epochs = args.epochs * (10 if args.long else 1)

    from sklearn.datasets import load_breast_cancer
    from sklearn.model_selection import train_test_split

    t0 = time.perf_counter()
    data = load_breast_cancer()
    Xall, yall = data.data[: args.limit], data.target[: args.limit].astype(float)
    Xtr, Xte, ytr, yte = train_test_split(Xall, yall, test_size=0.25, random_state=args.seed,
                                          stratify=yall)
    mu, sd = Xtr.mean(axis=0), Xtr.std(axis=0)
    sd[sd == 0] = 1.0
    Xtr, Xte = (Xtr - mu) / sd, (Xte - mu) / sd

    # Seed E2, one sample: the derivative through the sigmoid simplifies to a - y.
    zs, ys = sb.symbols("z y")
    print("one sample:  L = softplus(z) - y z  (= -(y log a + (1 - y) log(1 - a)), a = σ(z))")
    print("             dL/dz =", sb.grad(sb.softplus(zs) - ys * zs, zs), "  (that is, a - y)")

    loss, z, params, batch = build_loss(Xtr.shape[1], args.l2)
    print("batch:       J =", loss)
    print("             dJ/dz =", sb.grad(loss, z), "  ((a - y) / n)")
    dw, db = sb.grad(loss, list(params))
    print("             dJ/dw =", dw)
    print("             dJ/db =", db)
    step = sb.value_and_grad(loss, list(params), args=[*params, *batch])
    predict = sb.lambdify([params[0], params[1], batch[0]], sb.sigmoid(z))

    w, b = np.zeros(Xtr.shape[1]), 0.0
    for epoch in range(epochs):
        value, (gw, gb) = step(w, b, Xtr, ytr)
        w, b = w - args.lr * gw, b - args.lr * float(gb)
        if epoch % max(1, epochs // 5) == 0 or epoch == epochs - 1:
            print(f"  epoch {epoch:5d}  loss {float(value):.5f}")

    def accuracy(X: np.ndarray, y: np.ndarray) -> float:
        return float(np.mean((predict(w, b, X) > 0.5) == (y > 0.5)))

    train_acc, test_acc = accuracy(Xtr, ytr), accuracy(Xte, yte)
    print(f"train accuracy {train_acc:.4f} ({len(ytr)} samples), "
          f"test accuracy {test_acc:.4f} ({len(yte)} held out)")
    print(f"wall-clock {time.perf_counter() - t0:.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
