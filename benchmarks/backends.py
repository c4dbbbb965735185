"""Backends against each library's own autograd, and Dask against the NumPy backend.

    python benchmarks/backends.py [--quick] [--json FILE]

All ratios come from one run, in one process, in interleaved rounds (benchmarks/timing.py):

* W4 (the MLP step of benchmarks/workloads.py, float64 and float32, batch 64 and 1,797):
  ``sb.value_and_grad(..., backend="torch")`` against PyTorch's eager autograd step
  (forward, ``torch.autograd.grad``), floor ≤ 1.1×; ``backend="jax"`` against
  ``jax.jit(jax.value_and_grad(...))``, floor ≤ 1.1×. Every candidate's value and gradients
  are checked against the hand-written NumPy backprop first.
* Dask: the logistic-regression gradient over in-memory data (persisted on the workers)
  on a LocalCluster of one worker, against the NumPy backend on the same data in this
  process: throughput ratio, floor ≥ 0.7×; then 2 workers against 1 on data 10× the
  chunk size: 2 must be faster.

One compute thread everywhere (BLAS, torch, XLA's CPU client is told so too): the numbers
are per core, and the machine's other load lands on every candidate alike.
"""

from __future__ import annotations

import os

for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_v, "1")
os.environ.setdefault("XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false "
                      "intra_op_parallelism_threads=1")

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import timing as tm
import workloads as wl

import symback as sb

TORCH_FLOOR, JAX_FLOOR, DASK_FLOOR = 1.1, 1.1, 0.7


def _check(label: str, got: Any, want: Any, tol: float) -> None:
    got = np.asarray(got.detach() if hasattr(got, "detach") else got)
    if not np.allclose(got, want, rtol=tol, atol=tol):
        raise AssertionError(f"{label}: differs from the hand-written backprop "
                             f"(max |diff| {np.max(np.abs(got - want)):.2e})")


def w4(quick: bool) -> list[dict[str, Any]]:
    import jax
    import torch

    jax.config.update("jax_enable_x64", True)
    torch.set_num_threads(1)
    rows = []
    batches = (64, 1797)
    for dtype in ("float64", "float32"):
        for batch in batches:
            data = wl.w4_data(batch, dtype, quick=quick)
            args, J, wrt = wl.w4_symback(batch, dtype)
            vals = (data["X"], data["Y"], data["W1"], data["W2"])
            ref = wl.MLPHand()(*vals)
            tol = 1e-9 if dtype == "float64" else 2e-4

            # --- torch
            tX, tY, tW1, tW2 = (torch.tensor(v) for v in vals)
            pW1, pW2 = tW1.clone().requires_grad_(), tW2.clone().requires_grad_()

            def torch_eager() -> Any:
                J_ = wl.w4_loss_torch(torch, tX, tY, pW1, pW2)
                return J_.detach(), torch.autograd.grad(J_, [pW1, pW2])

            f_torch = sb.value_and_grad(J, wrt, args=args, backend="torch")
            sb_torch = lambda: f_torch(tX, tY, tW1, tW2)

            # --- jax
            jX, jY, jW1, jW2 = (jax.device_put(v) for v in vals)

            vg = jax.jit(jax.value_and_grad(lambda *a: wl.w4_loss_jax(jax, *a), argnums=(0, 1)))
            jax_jit = lambda: jax.block_until_ready(vg(jW1, jW2, jX, jY))
            f_jax = sb.value_and_grad(J, wrt, args=args, backend="jax")
            sb_jax = lambda: jax.block_until_ready(f_jax(jX, jY, jW1, jW2))

            for label, fn in (("torch eager", torch_eager), ("symback torch", sb_torch),
                              ("jax.jit", jax_jit), ("symback jax", sb_jax)):
                v, (g1, g2) = fn()
                _check(f"{dtype} {batch} {label} value", v, ref[0], tol)
                _check(f"{dtype} {batch} {label} dW1", g1, ref[1], tol)
                _check(f"{dtype} {batch} {label} dW2", g2, ref[2], tol)
            if str(np.asarray(f_torch(tX, tY, tW1, tW2)[1][0]).dtype) != dtype:
                raise AssertionError("symback torch changed the dtype")
            t = tm.interleaved({"torch eager": torch_eager, "symback torch": sb_torch,
                                "jax.jit": jax_jit, "symback jax": sb_jax},
                               rounds=9 if quick else 31, target=0.01)
            row = {"dtype": dtype, "batch": batch,
                   **{k: v.as_dict() for k, v in t.items()},
                   "torch_ratio": t["symback torch"].cpu / t["torch eager"].cpu,
                   "jax_ratio": t["symback jax"].cpu / t["jax.jit"].cpu,
                   "torch_ratio_wall": t["symback torch"].wall / t["torch eager"].wall,
                   "jax_ratio_wall": t["symback jax"].wall / t["jax.jit"].wall}
            print(f"W4 {dtype:7s} batch {batch:5d}: torch eager {t['torch eager'].cpu * 1e6:8.0f} µs"
                  f"  symback torch {t['symback torch'].cpu * 1e6:8.0f} µs  "
                  f"ratio {row['torch_ratio']:.2f}x | jax.jit {t['jax.jit'].cpu * 1e6:8.0f} µs  "
                  f"symback jax {t['symback jax'].cpu * 1e6:8.0f} µs  ratio {row['jax_ratio']:.2f}x",
                  flush=True)
            rows.append(row)
    return rows


def _median_time(fn: Callable[[], Any], reps: int) -> float:
    times = []
    for _ in range(reps):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def dask_bench(quick: bool) -> dict[str, Any]:
    import dask.array as da
    from dask.distributed import Client, LocalCluster

    d = 32
    chunk = 100_000 if quick else 200_000
    n = 10 * chunk  # data 10x the chunk size
    w, b = sb.vector("w", d), sb.symbols("b")
    X, y = sb.matrix("X", "n", d), sb.vector("y", "n")
    z = X @ w + b
    loss = sb.mean(sb.softplus(z) - y * z)
    args = [w, b, X, y]
    # the data is made on the workers (dask.array.random) and kept there; the NumPy backend
    # gets the same numbers in this process
    X_lazy = da.random.default_rng(0).standard_normal((n, d), chunks=(chunk, d))
    y_lazy = (da.random.default_rng(1).uniform(size=n, chunks=chunk) < 0.5).astype(np.float64)
    Xn, yn = X_lazy.compute(scheduler="sync"), y_lazy.compute(scheduler="sync")
    w0, b0 = np.random.default_rng(2).standard_normal(d) * 0.1, 0.1
    f_np = sb.value_and_grad(loss, [w, b], args=args)
    f_dask = sb.value_and_grad(loss, [w, b], args=args, backend="dask")
    ref = f_np(w0, b0, Xn, yn)
    reps = 5 if quick else 11
    out: dict[str, Any] = {"rows": n, "chunk": chunk, "d": d}
    times: dict[int, float] = {}
    for workers in (1, 2):
        with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                          host="127.0.0.1", dashboard_address=None) as cluster, \
                Client(cluster) as client:
            Xd, yd = client.persist([X_lazy, y_lazy])
            got = f_dask(w0, b0, Xd, yd)
            if not (np.allclose(got[0], ref[0], rtol=1e-12)
                    and all(np.allclose(g, r, rtol=1e-10, atol=1e-14)
                            for g, r in zip(got[1], ref[1]))):
                raise AssertionError("dask differs from the NumPy backend")
            # interleaved: NumPy, dask, NumPy, dask, ...
            t_np, t_da = [], []
            for _ in range(reps):
                t_np.append(_median_time(lambda: f_np(w0, b0, Xn, yn), 1))
                t_da.append(_median_time(lambda: f_dask(w0, b0, Xd, yd), 1))
            times[workers] = statistics.median(t_da)
            out[f"numpy_s_with_{workers}"] = statistics.median(t_np)
            out[f"dask_{workers}_worker_s"] = times[workers]
    out["throughput_ratio_1_worker"] = out["numpy_s_with_1"] / times[1]
    out["speedup_2_over_1"] = times[1] / times[2]
    print(f"Dask logistic gradient, {n} rows x {d}, chunks of {chunk}: NumPy backend "
          f"{out['numpy_s_with_1'] * 1e3:.1f} ms, dask 1 worker {times[1] * 1e3:.1f} ms "
          f"(throughput {out['throughput_ratio_1_worker']:.2f}x), 2 workers "
          f"{times[2] * 1e3:.1f} ms (speed-up {out['speedup_2_over_1']:.2f}x over 1)", flush=True)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer rounds, smaller data")
    ap.add_argument("--json", default=None, help="write the numbers here")
    ap.add_argument("--only", choices=["w4", "dask"], default=None)
    a = ap.parse_args(argv)
    res: dict[str, Any] = {}
    if a.only in (None, "w4"):
        res["w4"] = w4(a.quick)
    if a.only in (None, "dask"):
        res["dask"] = dask_bench(a.quick)
    fails = []
    for r in res.get("w4", []):
        if r["torch_ratio"] > TORCH_FLOOR:
            fails.append(f"W4 {r['dtype']} {r['batch']}: torch {r['torch_ratio']:.2f}x > 1.1x")
        if r["jax_ratio"] > JAX_FLOOR:
            fails.append(f"W4 {r['dtype']} {r['batch']}: jax {r['jax_ratio']:.2f}x > 1.1x")
    if "dask" in res:
        if res["dask"]["throughput_ratio_1_worker"] < DASK_FLOOR:
            fails.append(f"dask 1 worker {res['dask']['throughput_ratio_1_worker']:.2f}x < 0.7x")
        if res["dask"]["speedup_2_over_1"] <= 1.0:
            fails.append(f"dask 2 workers not faster ({res['dask']['speedup_2_over_1']:.2f}x)")
    res["floors_missed"] = fails
    if a.json:
        Path(a.json).write_text(json.dumps(res, indent=1))
    print("floors: " + ("all held" if not fails else "MISSED: " + "; ".join(fails)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
