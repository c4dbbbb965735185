"""The Goodfellow 6.5.7 network on scikit-learn's digits, trained with symback's compiled gradients.

    H = relu(X W1 [+ b1]),   U = H W2 [+ b2],
    J = mean over the batch of −Σ_k Y_k log softmax(U)_k  +  λ (Σ W1² + Σ W2²).

The loss is written once; symback derives ∇W1 J and ∇W2 J (printed below),
and one generated NumPy function returns J and every gradient for a batch of
any size (X has the symbolic size "n", so batches of 64 and the last partial
batch use the same compiled function). Minibatch SGD with momentum, or Adam,
is a few lines here. A progress bar shows loss and accuracy; the loss and
accuracy curves go to examples/output/mlp_digits.png.

Run:  python examples/mlp_digits.py                 (about 10 s on 2 cores)
      python examples/mlp_digits.py --long          (more epochs, hidden 256)
      python examples/mlp_digits.py --biases --optimizer momentum --float32
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

OUTPUT = Path(__file__).resolve().parent / "output"


def build_mlp(hidden: int, lam: float, biases: bool = False, dtype: str = "float64",
              n_in: int = 64, n_out: int = 10):
    """The loss J, the logits U, the parameter symbols and the data symbols (X, Y)."""
    X = sb.matrix("X", "n", n_in, dtype=dtype)
    Y = sb.matrix("Y", "n", n_out, dtype=dtype)  # one-hot labels
    W1 = sb.matrix("W1", n_in, hidden, dtype=dtype)
    W2 = sb.matrix("W2", hidden, n_out, dtype=dtype)
    params = [W1, W2]
    Z1 = X @ W1
    if biases:
        b1, b2 = sb.vector("b1", hidden, dtype=dtype), sb.vector("b2", n_out, dtype=dtype)
        params += [b1, b2]
        Z1 = Z1 + b1
    U = sb.relu(Z1) @ W2
    if biases:
        U = U + b2
    J = -sb.mean(sb.sum(Y * sb.log_softmax(U), axis=1)) + lam * (sb.sum(W1**2) + sb.sum(W2**2))
    return J, U, params, [X, Y]


def init_params(params, rng: np.random.Generator, dtype) -> list[np.ndarray]:
    """He initialisation, N(0, 2 / fan-in), for weights (a matrix's fan-in is its rows, a
    convolution kernel's its input channels times its window); zeros for biases (vectors)."""
    out = []
    for p in params:
        if len(p.shape) == 1:
            out.append(np.zeros(p.shape))
        else:
            fan_in = int(np.prod(p.shape[1:])) if len(p.shape) > 2 else p.shape[0]
            out.append(rng.standard_normal(p.shape) * np.sqrt(2.0 / fan_in))
    return [a.astype(dtype) for a in out]


class Momentum:
    """SGD with (heavy-ball) momentum: v ← μ v − η g;  p ← p + v."""

    def __init__(self, params, lr: float = 0.05, mu: float = 0.9) -> None:
        self.lr, self.mu = lr, mu
        self.v = [np.zeros_like(p) for p in params]

    def step(self, params, grads) -> None:
        for p, g, v in zip(params, grads, self.v):
            v *= self.mu
            v -= self.lr * g
            p += v


class Adam:
    """Adam (Kingma and Ba): bias-corrected first and second moments of the gradient."""

    def __init__(self, params, lr: float = 1e-3, b1: float = 0.9, b2: float = 0.999,
                 eps: float = 1e-8) -> None:
        self.lr, self.b1, self.b2, self.eps, self.t = lr, b1, b2, eps, 0
        self.m = [np.zeros_like(p) for p in params]
        self.s = [np.zeros_like(p) for p in params]

    def step(self, params, grads) -> None:
        self.t += 1
        c1, c2 = 1 - self.b1**self.t, 1 - self.b2**self.t
        for p, g, m, s in zip(params, grads, self.m, self.s):
            m += (1 - self.b1) * (g - m)
            s += (1 - self.b2) * (g * g - s)
            p -= (self.lr / c1) * m / (np.sqrt(s / c2) + self.eps)


def progress(iterable, enabled: bool, **kw):
    """A tqdm progress bar when tqdm is installed (and wanted), else the plain iterable."""
    if enabled:
        try:
            from tqdm import tqdm

            return tqdm(iterable, **kw)
        except ImportError:
            pass
    return iterable


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=None, help="epochs (default 40, long 150)")
    parser.add_argument("--long", action="store_true", help="more epochs and hidden 256")
    parser.add_argument("--hidden", type=int, default=None, help="hidden units (default 128)")
    parser.add_argument("--batch", type=int, default=64, help="minibatch size")
    parser.add_argument("--optimizer", choices=["adam", "momentum"], default="adam")
    parser.add_argument("--lr", type=float, default=None, help="default 2e-3 (adam), 0.05")
    parser.add_argument("--lam", type=float, default=1e-4, help="weight decay λ")
    parser.add_argument("--biases", action="store_true", help="add b1 and b2")
    parser.add_argument("--float32", action="store_true", help="train in float32")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--limit", type=int, default=None, help="use the first LIMIT samples")
    parser.add_argument("--plot", default=str(OUTPUT / "mlp_digits.png"),
                        help="where to write the curves ('' for none)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument("--blas-threads", type=int, default=1,
                        help="BLAS threads (default 1: minibatch matmuls are too small to gain "
                             "from more, and on a busy 2-core machine they make steps 10x slower)")
    args = parser.parse_args(argv)
    epochs = args.epochs if args.epochs is not None else (150 if args.long else 40)
    hidden = args.hidden if args.hidden is not None else (256 if args.long else 128)
    lr = args.lr if args.lr is not None else (2e-3 if args.optimizer == "adam" else 0.05)
    dtype = np.float32 if args.float32 else np.float64

    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split
    from threadpoolctl import threadpool_limits  # comes with scikit-learn

    threadpool_limits(args.blas_threads)  # after the imports, so every BLAS they load obeys
    t0 = time.perf_counter()
    digits = load_digits()
    Xall, labels = digits.data[: args.limit], digits.target[: args.limit]
    Xtr, Xte, ltr, lte = train_test_split(Xall, labels, test_size=0.25, random_state=args.seed,
                                          stratify=labels if args.limit is None else None)
    mu, sd = Xtr.mean(axis=0), Xtr.std(axis=0)
    sd[sd == 0] = 1.0
    Xtr, Xte = ((Xtr - mu) / sd).astype(dtype), ((Xte - mu) / sd).astype(dtype)
    Ytr = np.eye(10, dtype=dtype)[ltr]  # one-hot; the test set is scored from its labels

    J, U, params, data = build_mlp(hidden, args.lam, args.biases, np.dtype(dtype).name)
    grads = sb.grad(J, params)
    print("J      =", J)
    print("∇W2 J  =", grads[1])
    step = sb.value_and_grad(J, params, args=params + data)  # (value, [gradients]), any n
    logits = sb.lambdify(params + [data[0]], U)

    rng = np.random.default_rng(args.seed)
    ps = init_params(params, rng, dtype)
    opt = Adam(ps, lr) if args.optimizer == "adam" else Momentum(ps, lr)

    def evaluate(X: np.ndarray, labels: np.ndarray) -> tuple[float, float]:
        u = logits(*ps, X)
        u = u - u.max(axis=1, keepdims=True)
        logp = u - np.log(np.exp(u).sum(axis=1, keepdims=True))
        return float(-logp[np.arange(len(labels)), labels].mean()), float(
            np.mean(u.argmax(axis=1) == labels))

    history: dict[str, list[float]] = {"loss": [], "test_loss": [], "train_acc": [],
                                       "test_acc": []}
    bar = progress(range(epochs), not args.no_progress, desc="training", unit="epoch")
    for _ in bar:
        order = rng.permutation(len(Xtr))
        total = 0.0
        for lo in range(0, len(order), args.batch):  # the last batch may be partial
            idx = order[lo: lo + args.batch]
            value, g = step(*ps, Xtr[idx], Ytr[idx])
            opt.step(ps, g)
            total += float(value) * len(idx)
        _, train_acc = evaluate(Xtr, ltr)
        test_loss, test_acc = evaluate(Xte, lte)
        history["loss"].append(total / len(Xtr))
        history["test_loss"].append(test_loss)
        history["train_acc"].append(train_acc)
        history["test_acc"].append(test_acc)
        if hasattr(bar, "set_postfix"):
            bar.set_postfix(loss=f"{total / len(Xtr):.4f}", train=f"{train_acc:.3f}",
                            test=f"{test_acc:.3f}")
    print(f"hidden {hidden}, {args.optimizer}, {epochs} epochs, batch {args.batch}, "
          f"{'biases, ' if args.biases else ''}{np.dtype(dtype).name}; "
          f"gradient dtype {g[0].dtype}")
    print(f"final loss {history['loss'][-1]:.4f}; train accuracy {history['train_acc'][-1]:.4f}"
          f" ({len(Xtr)}), test accuracy {history['test_acc'][-1]:.4f} ({len(Xte)} held out)")
    if args.plot:
        try:
            save_curves(history, args.plot, "Goodfellow 6.5.7 MLP on digits, gradients by symback")
            print(f"curves written to {args.plot}")
        except ImportError:
            print("matplotlib is not installed: no plot (pip install matplotlib)")
    print(f"wall-clock {time.perf_counter() - t0:.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
