"""Seed E8: a linear model trained by SGD with gradient-norm clipping, symback next to PyTorch.

x = [1, 2, 3, 4], y = [2, 4, 6, 8], model ŷ = w x + b, loss = mean((ŷ − y)²),
SGD with learning rate 0.01, the gradient's norm clipped at 1.0
(PyTorch's clip_grad_norm_: g ← g · min(1, 1 / (‖g‖ + 1e-6))), 100 epochs.
symback derives ∂loss/∂w and ∂loss/∂b from the loss alone. The same loop runs
in hand-written NumPy and, when PyTorch is installed, in PyTorch (float64,
nn.Linear, nn.MSELoss, clip_grad_norm_, optim.SGD), all from the same start;
the loss curves and parameters must agree to 1e-12. Exits 1 if they do not.

Run:  python examples/linear_model_torch_parity.py             (under a second, plus torch's import)
      python examples/linear_model_torch_parity.py --epochs 1000
PyTorch is optional: pip install torch==2.13.0
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np

import symback as sb

X_DATA = np.array([1.0, 2.0, 3.0, 4.0])
Y_DATA = np.array([2.0, 4.0, 6.0, 8.0])
LR, MAX_NORM, EPS = 0.01, 1.0, 1e-6


def clip_scale(norm: float) -> float:
    """PyTorch's clip_grad_norm_ factor: min(1, max_norm / (‖g‖ + 1e-6))."""
    return min(1.0, MAX_NORM / (norm + EPS))


def train_symback(w: float, b: float, epochs: int) -> tuple[list[float], float, float]:
    ws, bs = sb.symbols("w b")
    x, y = sb.vector("x", "n"), sb.vector("y", "n")
    loss = sb.mean((ws * x + bs - y) ** 2)
    gw_expr, gb_expr = sb.grad(loss, [ws, bs])
    print("loss     =", loss)
    print("dloss/dw =", gw_expr)
    print("dloss/db =", gb_expr)
    step = sb.value_and_grad(loss, [ws, bs], args=[ws, bs, x, y])
    curve = []
    for _ in range(epochs):
        value, (gw, gb) = step(w, b, X_DATA, Y_DATA)
        gw, gb = float(gw), float(gb)
        s = clip_scale(float(np.sqrt(gw * gw + gb * gb)))
        w, b = w - LR * (gw * s), b - LR * (gb * s)
        curve.append(float(value))
    return curve, w, b


def train_numpy(w: float, b: float, epochs: int) -> tuple[list[float], float, float]:
    """The same loop with the gradient written by hand: 2 mean(r x), 2 mean(r), r = ŷ − y."""
    curve = []
    for _ in range(epochs):
        r = w * X_DATA + b - Y_DATA
        gw, gb = float(2 * np.mean(r * X_DATA)), float(2 * np.mean(r))
        s = clip_scale(float(np.sqrt(gw * gw + gb * gb)))
        w, b = w - LR * (gw * s), b - LR * (gb * s)
        curve.append(float(np.mean(r**2)))
    return curve, w, b


def train_torch(w: float, b: float, epochs: int) -> tuple[list[float], float, float] | None:
    try:
        import torch
    except ImportError:
        return None
    torch.set_default_dtype(torch.float64)
    model = torch.nn.Linear(1, 1)
    with torch.no_grad():
        model.weight.fill_(w)
        model.bias.fill_(b)
    x = torch.tensor(X_DATA).reshape(-1, 1)
    y = torch.tensor(Y_DATA).reshape(-1, 1)
    opt = torch.optim.SGD(model.parameters(), lr=LR)
    loss_fn = torch.nn.MSELoss()
    curve = []
    for _ in range(epochs):
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), MAX_NORM)
        opt.step()
        curve.append(loss.item())
    return curve, model.weight.item(), model.bias.item()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=100)
    parser.add_argument("--long", action="store_true", help="1000 epochs")
    parser.add_argument("--w0", type=float, default=0.5, help="initial w")
    parser.add_argument("--b0", type=float, default=-0.3, help="initial b")
    parser.add_argument("--no-torch", action="store_true", help="skip PyTorch even if installed")
    args = parser.parse_args(argv)
    epochs = 1000 if args.long else args.epochs
    t0 = time.perf_counter()
    ref_name, ref = "hand-written NumPy", train_numpy(args.w0, args.b0, epochs)
    curve, w, b = train_symback(args.w0, args.b0, epochs)
    results = [(ref_name, ref)]
    torch_run = None if args.no_torch else train_torch(args.w0, args.b0, epochs)
    if torch_run is not None:
        results.append(("PyTorch " + __import__("torch").__version__, torch_run))
    else:
        print("(PyTorch is not installed: comparing with hand-written NumPy only)")
    print(f"\n{'epoch':>6} {'symback loss':>22}" + "".join(f" {n:>24}" for n, _ in results))
    for k in sorted({0, 1, 2, epochs // 2, epochs - 1}):
        print(f"{k:6d} {curve[k]:22.15f}" + "".join(f" {r[0][k]:24.15f}" for _, r in results))
    ok = True
    for name, (rc, rw, rb) in results:
        diff = max(float(np.max(np.abs(np.array(curve) - rc))), abs(w - rw), abs(b - rb))
        good = diff <= 1e-12
        ok &= good
        print(f"symback vs {name}: largest difference over the loss curve and (w, b) = "
              f"{diff:.2e}  {'ok (<= 1e-12)' if good else 'MISMATCH'}")
    print(f"after {epochs} epochs: w = {w:.12f}, b = {b:.12f}, loss = {curve[-1]:.12f}")
    print(f"wall-clock {time.perf_counter() - t0:.2f} s")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
