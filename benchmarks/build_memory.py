#!/usr/bin/env python
"""Peak memory of one build, measured in a fresh process (so every framework's C/C++
allocations count, which tracemalloc would not see):

    python benchmarks/build_memory.py IMPL KIND N

IMPL: ``symback`` (scalar symbols, NumPy backend), ``symback-llvm`` (scalar symbols,
native backend), ``symback-vector`` (W2 on one vector symbol) or ``casadi`` (SX, as its
documentation writes it: W2 on one vector symbol, W3 by the same loop). KIND: w2 or w3.
Prints one JSON line: the peak resident set size grown during the build (symbols →
gradient → callable → first value), after the imports and a tiny warm-up build.
"""

from __future__ import annotations

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))


def build(impl: str, kind: str, n: int) -> None:
    import numpy as np

    if impl.startswith("symback"):
        import symback as sb
        import workloads as wl

        if impl == "symback-vector":
            x = sb.vector("x", n)
            f = sb.sum(100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)
            sb.lambdify([x], sb.grad(f, [x])[0])(np.full(n, 0.5))
            return
        args, f = wl.w2_symback(n) if kind == "w2" else wl.w3_symback(n)
        backend = "llvm" if impl == "symback-llvm" else "numpy"
        fn = sb.lambdify(args, sb.grad(f, args), backend=backend)
        fn(*([0.5] * len(args)))
        return
    import casadi as ca

    if kind == "w2":
        x = ca.SX.sym("x", n)
        f = ca.sum1(100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)
        ca.Function("g", [x], [ca.gradient(f, x)])(np.full(n, 0.5))
    else:
        x, y = ca.SX.sym("x"), ca.SX.sym("y")
        z = x
        for _ in range(n):
            z = ca.sin(z) * z + ca.cos(z) * y
        xy = ca.vertcat(x, y)
        ca.Function("g", [xy], [ca.gradient(z, xy)])(np.array([0.5, 0.5]))


def peak_rss() -> int:
    """This process's peak resident set size in bytes (VmHWM: unlike getrusage's ru_maxrss,
    which Linux carries over from the parent across fork and exec, it starts afresh with
    the new program)."""
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    import resource  # (not Linux: the rusage figure)

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def main() -> int:
    impl, kind, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    if impl == "symback-vector" and kind != "w2":
        print(json.dumps({"skipped": "the vector form is W2's"}))
        return 0
    build(impl, kind, 5)  # imports, lazy initialisation (LLVM, CasADi's plugins)
    before = peak_rss()
    build(impl, kind, n)
    after = peak_rss()
    print(json.dumps({"impl": impl, "kind": kind, "n": n, "peak_growth_bytes": after - before}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
