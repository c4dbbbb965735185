"""The W4 MLP step on a CUDA GPU: symback's torch and CuPy backends beside PyTorch's autograd.

    python benchmarks/gpu.py [--rounds 50]

Without a CUDA device (or without torch) it says so and exits with status 0 having run
nothing; CuPy is timed only when it is installed. Each candidate's value and gradients are
checked against the hand-written NumPy backprop (benchmarks/workloads.py) before timing.
(The CNN and transformer steps join here once symback has those layers.)
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import workloads as wl

import symback as sb


def _time(fn: Callable[[], Any], sync: Callable[[], None], rounds: int) -> float:
    fn()
    sync()
    times = []
    for _ in range(rounds):
        t = time.perf_counter()
        for _ in range(10):
            fn()
        sync()
        times.append((time.perf_counter() - t) / 10)
    return statistics.median(times)


def _to_np(x: Any) -> np.ndarray:
    if hasattr(x, "detach"):
        return x.detach().cpu().numpy()
    if hasattr(x, "get"):
        return x.get()
    return np.asarray(x)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=50)
    a = ap.parse_args(argv)
    try:
        import torch
    except ImportError:
        print("benchmarks/gpu.py: torch is not installed (pip install \".[torch]\"); "
              "nothing was run")
        return 0
    if not torch.cuda.is_available():
        print("benchmarks/gpu.py: no CUDA device on this machine; nothing was run "
              "(run it where a GPU is available)")
        return 0
    try:
        import cupy
    except ImportError:
        cupy = None
    dev = torch.device("cuda")
    sync = torch.cuda.synchronize
    print(f"device: {torch.cuda.get_device_name(0)}; torch {torch.__version__}"
          + (f"; cupy {cupy.__version__}" if cupy else "; cupy not installed"))
    for dtype in ("float32", "float64"):
        for batch in (64, 1797):
            data = wl.w4_data(batch, dtype)
            args, J, wrt = wl.w4_symback(batch, dtype)
            vals = (data["X"], data["Y"], data["W1"], data["W2"])
            ref = wl.MLPHand()(*vals)
            tol = 1e-9 if dtype == "float64" else 2e-4
            tX, tY, tW1, tW2 = (torch.tensor(v, device=dev) for v in vals)
            pW1, pW2 = tW1.clone().requires_grad_(), tW2.clone().requires_grad_()

            def eager() -> Any:
                L = wl.w4_loss_torch(torch, tX, tY, pW1, pW2)
                return L.detach(), torch.autograd.grad(L, [pW1, pW2])

            f = sb.value_and_grad(J, wrt, args=args, backend="torch")
            cands: dict[str, Callable[[], Any]] = {
                "torch autograd": eager, "symback torch": lambda: f(tX, tY, tW1, tW2)}
            if cupy is not None:
                cX, cY, cW1, cW2 = (cupy.asarray(v) for v in vals)
                fc = sb.value_and_grad(J, wrt, args=args, backend="cupy")
                cands["symback cupy"] = lambda: fc(cX, cY, cW1, cW2)
            line = [f"W4 {dtype} batch {batch}:"]
            base = None
            for name, fn in cands.items():
                v, (g1, g2) = fn()
                for got, want in ((v, ref[0]), (g1, ref[1]), (g2, ref[2])):
                    if not np.allclose(_to_np(got), want, rtol=tol, atol=tol):
                        raise AssertionError(f"{name} {dtype} {batch}: wrong gradient")
                s = (lambda: (sync(), cupy.cuda.Device().synchronize())) if cupy else sync
                t = _time(fn, s, a.rounds)
                base = base or t
                line.append(f"{name} {t * 1e6:.0f} µs ({t / base:.2f}x)")
            print("  ".join(line), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
