"""Time the core pipeline on a deep scalar chain (build, grad, compile, evaluate).

Run: python benchmarks/core_chain.py [--depth 10000]
The chain alternates tanh(e) * 1.01 and sin(e) + 0.5 e, so every level uses
its argument twice (a DAG whose tree form doubles per level).
"""

from __future__ import annotations

import argparse
import resource
import time

import symback as sb
from symback.graph import toposort


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--depth", type=int, default=10_000)
    depth = ap.parse_args().depth
    t0 = time.perf_counter()
    x = sb.symbols("x")
    e = x
    for k in range(depth):
        e = sb.sin(e) + 0.5 * e if k % 2 else sb.tanh(e) * 1.01
    t1 = time.perf_counter()
    g = sb.grad(e, x)
    t2 = time.perf_counter()
    f = sb.lambdify([x], [e, g])
    t3 = time.perf_counter()
    f(0.3)
    t4 = time.perf_counter()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux: KiB
    fwd = len(toposort([e]))
    both = len(toposort([e, g]))
    print(f"depth {depth}: forward nodes {fwd}, forward+gradient nodes {both} "
          f"(gradient adds {both - fwd}, {((both - fwd) / fwd):.2f}x)")
    print(f"build {t1 - t0:.2f} s, grad {t2 - t1:.2f} s, lambdify {t3 - t2:.2f} s, "
          f"first call {1e3 * (t4 - t3):.1f} ms, peak RSS {peak / 2**20:.0f} MiB")


if __name__ == "__main__":
    main()
