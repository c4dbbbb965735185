#!/usr/bin/env python
"""W2 on scalar symbols with and without the vectorised NumPy code (symback.vectorize):

    python benchmarks/vectorize_bench.py [--sizes 1000,10000] [--points 10000] [--peers]

For each n: the build (symbols -> gradient -> lambdify -> first value, median of
``--repeats``, the modes alternating), the one-point gradient (checked call, Python
floats and ``check=False``) and the ``--points``-point gradient (``check=False``, one
array of points per symbol), each as the median of ``--rounds`` interleaved rounds, with ``vectorize`` on (the default) and off
(``backend_options={"vectorize": False}``). ``--peers`` adds SymEngine's ``Lambdify``
(LLVM backend, as benchmarks/peers.py builds it). Results are checked against the
hand-derived gradient first. Prints one JSON object.

W3 (a deep chain: nothing repeats) is timed the same way with ``--w3 D``: the cost model
must leave it as it was.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from typing import Any, Callable

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import numpy as np  # noqa: E402

import symback as sb  # noqa: E402
import workloads as wl  # noqa: E402


def _opts(vec: bool | None) -> dict[str, Any]:
    return {} if vec is None else {"backend_options": {"vectorize": vec}}


def build(kind: str, n: int, vec: bool | None) -> tuple[float, Any, list[Any]]:
    t0 = time.perf_counter()
    args, f = wl.w2_symback(n) if kind == "w2" else wl.w3_symback(n)
    g = sb.grad(f, args)
    fn = sb.lambdify(args, g, **_opts(vec))
    fn(*([0.5] * len(args)))
    return time.perf_counter() - t0, fn, args


def batch_size(fn: Callable[[], Any], target: float = 0.02) -> int:
    """How many calls take about ``target`` seconds."""
    fn()
    k = 1
    while True:
        t0 = time.perf_counter()
        for _ in range(k):
            fn()
        t = time.perf_counter() - t0
        if t > target / 4:
            return max(1, int(k * target / max(t, 1e-9)))
        k *= 4


def interleaved(calls: dict[str, Callable[[], Any]], rounds: int) -> dict[str, float]:
    """Seconds per call of each candidate: the median over ``rounds`` rounds, each round
    timing one batch of every candidate in turn (so a load change hits all alike)."""
    sizes = {k: batch_size(c) for k, c in calls.items()}
    runs: dict[str, list[float]] = {k: [] for k in calls}
    for _ in range(rounds):
        for k, c in calls.items():
            m = sizes[k]
            t0 = time.perf_counter()
            for _ in range(m):
                c()
            runs[k].append((time.perf_counter() - t0) / m)
    return {k: statistics.median(v) for k, v in runs.items()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", default="1000,10000")
    ap.add_argument("--points", type=int, default=10_000)
    ap.add_argument("--repeats", type=int, default=3, help="builds per mode (median)")
    ap.add_argument("--rounds", type=int, default=15, help="timing rounds (median)")
    ap.add_argument("--peers", action="store_true")
    ap.add_argument("--peers-max", type=int, default=1000,
                    help="SymEngine only up to this size (its W2 build grows as n^2)")
    ap.add_argument("--w3", type=int, default=0, help="also W3 at this depth")
    ap.add_argument("--modes", default="on,off", help="on,off (off: per-node code)")
    a = ap.parse_args()
    rng = np.random.default_rng(7)
    out: dict[str, Any] = {"numpy": np.__version__}
    has_switch = True
    try:
        sb.lambdify(sb.symbols("q"), sb.symbols("q") * 2.0, backend_options={"vectorize": True})
    except sb.SymbackError:
        has_switch = False  # a symback without symback.vectorize (the baseline)
    modes = {m: (m == "on") for m in a.modes.split(",")} if has_switch else {"base": None}
    jobs = [("w2", int(s)) for s in a.sizes.split(",") if s] + ([("w3", a.w3)] if a.w3 else [])
    for kind, n in jobs:
        res: dict[str, Any] = {}
        if kind == "w2":
            point = rng.uniform(-1.5, 1.5, n)
            points = rng.uniform(-1.5, 1.5, (n, a.points))
            ref1, refp = wl.w2_grad_hand(point), wl.w2_grad_hand(points)
        else:
            point = np.array([0.7, 0.3])
            points = rng.uniform(-1, 1, (2, a.points))
            ref1 = np.array(wl.w3_grad_hand(point[0], point[1], n))
            refp = np.array(wl.w3_grad_hand(points[0], points[1], n))
        p1, pts = [float(v) for v in point], list(points)
        calls: dict[str, Callable[[], Any]] = {}
        times: dict[str, list[float]] = {m: [] for m in modes}
        fns: dict[str, Any] = {}
        for _ in range(a.repeats):  # builds alternate between the modes
            for m, vec in modes.items():
                t, fns[m], args = build(kind, n, vec)
                times[m].append(t)
        for m, vec in modes.items():
            fn = fns[m]
            gv = sb.lambdify(args, sb.grad(*(wl.w2_symback(n) if kind == "w2"
                                              else wl.w3_symback(n))[::-1]), check=False,
                             **_opts(vec))
            np.testing.assert_allclose(np.array(fn(*p1), dtype=float), ref1, rtol=1e-9)
            np.testing.assert_allclose(np.array(gv(*pts)), refp, rtol=1e-9, atol=1e-9)
            res[m] = {"build_s": statistics.median(times[m]), "builds_s": times[m],
                      "lines": fn.source.count("\n")}
            calls[f"{m} grad_1"] = (lambda fn=fn, p1=p1: fn(*p1))
            calls[f"{m} grad_1_unchecked"] = (lambda gv=gv, p1=p1: gv(*p1))
            calls[f"{m} grad_{a.points}"] = (lambda gv=gv, pts=pts: gv(*pts))
        if a.peers and n <= a.peers_max:
            import peers as pr

            b = (pr.symengine_w2(n, point, points) if kind == "w2"
                 else pr.symengine_w3(n, (0.7, 0.3), (points[0], points[1])))
            res["symengine"] = {"build_s": b.build_wall}
            calls["symengine grad_1"] = b.fns["grad_1"]
            calls[f"symengine grad_{a.points}"] = b.fns["grad_10k"]
        for name, v in interleaved(calls, a.rounds).items():
            who, what = name.split(" ")
            res.setdefault(who, {})[what + "_s"] = v
        out[f"{kind} n={n}"] = res
        print(json.dumps({f"{kind} n={n}": res}), flush=True)
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
