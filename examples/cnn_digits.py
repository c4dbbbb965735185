"""A small CNN on scikit-learn's 8×8 digits, trained with symback's compiled gradients.

    H1 = maxpool(relu(conv(X, K1) + b1))      16 channels, 3×3, 'same' padding, 8×8 → 4×4
    H2 = maxpool(relu(conv(H1, K2) + b2))     32 channels, 3×3, 'same' padding, 4×4 → 2×2
    U  = flatten(H2) W3 + b3                  128 → 10 logits
    J  = mean over the batch of −Σ_k Y_k log softmax(U)_k  +  λ (Σ K1² + Σ K2² + Σ W3²)

The loss is written once with ``sb.nn``; symback derives every gradient (the weight
gradient of the first convolution is printed in LaTeX), and one generated NumPy function
returns J and all gradients for a batch of any size (the batch size is the symbolic "n").
Adam on minibatches of 64; a progress bar shows loss and accuracy; the curves go to
examples/output/cnn_digits.png.

Run:  python examples/cnn_digits.py            (about 10-20 s on 2 cores)
      python examples/cnn_digits.py --long     (more epochs)
Needs scikit-learn, matplotlib and tqdm (pip install ".[examples]").
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

import symback as sb

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _plotting import save_curves  # (shared with the other examples)
from mlp_digits import Adam, init_params, progress  # (shared with the MLP)

OUTPUT = Path(__file__).resolve().parent / "output"


def build_cnn(lam: float, dtype: str = "float64", c1: int = 16, c2: int = 32):
    """The loss J, the logits U, the parameter symbols and the data symbols (X, Y)."""
    X = sb.tensor("X", ("n", 1, 8, 8), dtype=dtype)
    Y = sb.matrix("Y", "n", 10, dtype=dtype)  # one-hot labels
    K1 = sb.tensor("K1", (c1, 1, 3, 3), dtype=dtype)
    b1 = sb.vector("b1", c1, dtype=dtype)
    K2 = sb.tensor("K2", (c2, c1, 3, 3), dtype=dtype)
    b2 = sb.vector("b2", c2, dtype=dtype)
    W3 = sb.matrix("W3", c2 * 4, 10, dtype=dtype)
    b3 = sb.vector("b3", 10, dtype=dtype)
    H1 = sb.nn.max_pool(sb.relu(sb.nn.conv(X, K1, b1, padding="same")), 2)
    H2 = sb.nn.max_pool(sb.relu(sb.nn.conv(H1, K2, b2, padding="same")), 2)
    U = sb.reshape(H2, ("n", c2 * 4)) @ W3 + b3
    J = -sb.mean(sb.sum(Y * sb.log_softmax(U), axis=1)) \
        + lam * (sb.sum(K1 ** 2) + sb.sum(K2 ** 2) + sb.sum(W3 ** 2))
    return J, U, [K1, b1, K2, b2, W3, b3], [X, Y]


def load_digits(dtype, limit: int | None = None):
    from sklearn.datasets import load_digits as _load
    from sklearn.model_selection import train_test_split

    X, y = _load(return_X_y=True)
    if limit:
        X, y = X[:limit], y[:limit]
    X = (X / 16.0).reshape(-1, 1, 8, 8).astype(dtype)
    Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.25, random_state=0, stratify=y
                                          if limit is None else None)
    return Xtr, Xte, ytr, yte


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=None, help="epochs (default 25, long 60)")
    parser.add_argument("--long", action="store_true", help="more epochs")
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--lam", type=float, default=1e-4)
    parser.add_argument("--float32", action="store_true")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--limit", type=int, default=None, help="use the first LIMIT samples")
    parser.add_argument("--plot", default=str(OUTPUT / "cnn_digits.png"))
    parser.add_argument("--no-progress", action="store_true")
    parser.add_argument("--quiet", action="store_true", help="no formula printout")
    args = parser.parse_args(argv)
    epochs = args.epochs or (60 if args.long else 25)
    dtype = np.float32 if args.float32 else np.float64
    try:
        Xtr, Xte, ytr, yte = load_digits(dtype, args.limit)
    except ImportError:
        print("cnn_digits needs scikit-learn: pip install '.[examples]'", file=sys.stderr)
        return 2
    Ytr = np.eye(10, dtype=dtype)[ytr]

    t0 = time.perf_counter()
    J, U, params, (X, Y) = build_cnn(args.lam, "float32" if args.float32 else "float64")
    step = sb.value_and_grad(J, params, args=params + [X, Y])
    logits = sb.lambdify(params + [X], U)
    t_build = time.perf_counter() - t0
    if not args.quiet:
        g1 = sb.grad(J, params[0])
        print("∂J/∂K1 (the first convolution's weight gradient):")
        print("  ", sb.latex(g1)[:400])
    print(f"graph, gradients and compiled step in {t_build:.2f} s "
          f"({len(Xtr)} training / {len(Xte)} held-out images)")

    rng = np.random.default_rng(args.seed)
    values = init_params(params, rng, dtype)
    opt = Adam(values, lr=args.lr)
    history: dict[str, list[float]] = {"loss": [], "train_acc": [], "test_acc": []}
    bar = progress(range(epochs), not args.no_progress, desc="epochs", unit="ep")
    for _ in bar:
        order = rng.permutation(len(Xtr))
        total = 0.0
        for s in range(0, len(order), args.batch):
            idx = order[s:s + args.batch]
            loss, grads = step(*values, Xtr[idx], Ytr[idx])
            opt.step(values, grads)
            total += float(loss) * len(idx)
        history["loss"].append(total / len(Xtr))
        history["train_acc"].append(float(np.mean(
            np.argmax(logits(*values, Xtr), axis=1) == ytr)))
        history["test_acc"].append(float(np.mean(
            np.argmax(logits(*values, Xte), axis=1) == yte)))
        if hasattr(bar, "set_postfix"):
            bar.set_postfix(loss=f"{history['loss'][-1]:.4f}",
                            test=f"{history['test_acc'][-1]:.4f}")
    t_train = time.perf_counter() - t0 - t_build
    print(f"trained {epochs} epochs in {t_train:.1f} s; final loss {history['loss'][-1]:.4f}, "
          f"train accuracy {history['train_acc'][-1]:.4f}, "
          f"held-out accuracy {history['test_acc'][-1]:.4f}")
    if args.plot:
        try:
            save_curves(history, args.plot, "CNN on digits, gradients by symback (sb.nn.conv, max_pool)",
                        held_out="held-out")
            print(f"curves written to {args.plot}")
        except ImportError:
            print("(matplotlib not installed: no plot)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
