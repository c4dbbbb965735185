"""Hessians and HVPs: symback's closed matrix forms beside jax.hessian and a PyTorch HVP.

Run on demand (not part of the tests):

    python benchmarks/bench_hessian.py            # n = 10, 100, 1000
    python benchmarks/bench_hessian.py --sizes 10 100

Problems: f(x) = xᵀAx (Hessian A + Aᵀ) and the logistic loss
L(w) = Σ softplus(Xw) − y ⊙ Xw with X of shape (2n, n) (Hessian Xᵀ diag(σ(1−σ)) X).

* build: symbols → symbolic Hessian → compiled function → first value (symback);
  ``jax.jit(jax.hessian(f))`` traced, compiled and first value (JAX).
* eval: median time of one Hessian evaluation afterwards.
* HVP: one Hessian-vector product (symback's compiled ``sb.hvp``; PyTorch's double
  backward), and symback's gradient for the HVP / gradient cost ratio.

Each framework runs in its own process (same data, from one seed) with the same thread
count (``--threads``, default 1): PyTorch's and XLA's worker threads otherwise spin next
to NumPy's BLAS threads and slow it down many times over on a small shared machine. Results are cross-checked (H u and H v agree to
1e-8). Ratios are from one run; absolute times drift between processes. Float64.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from typing import Any, Callable

import numpy as np

PROBLEMS = ("xᵀAx", "logistic")


def _median_time(fn: Callable[[], Any], budget: float = 0.3, min_runs: int = 3,
                 max_runs: int = 200) -> float:
    times: list[float] = []
    start = time.perf_counter()
    while len(times) < min_runs or (time.perf_counter() - start < budget
                                    and len(times) < max_runs):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def _data(name: str, n: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng([PROBLEMS.index(name), n])
    u = rng.normal(size=n)
    v = rng.normal(size=n)
    if name == "xᵀAx":
        return {"A": rng.normal(size=(n, n)), "x": rng.normal(size=n), "u": u, "v": v}
    return {"X": rng.normal(size=(2 * n, n)) / np.sqrt(n),
            "y": (rng.uniform(size=2 * n) > 0.5).astype(float), "w": rng.normal(size=n),
            "u": u, "v": v}


# --------------------------------------------------------------------------- workers


def _symback(name: str, n: int) -> dict[str, Any]:
    import symback as sb
    from symback.graph import count_nodes

    d = _data(name, n)
    t0 = time.perf_counter()
    if name == "xᵀAx":
        A, x = sb.matrix("A", n, n), sb.vector("x", n)
        loss, wrt, args, vals = x @ A @ x, x, [A, x], [d["A"], d["x"]]
    else:
        X, y, w = sb.matrix("X", 2 * n, n), sb.vector("y", 2 * n), sb.vector("w", n)
        z = X @ w
        loss, wrt, args, vals = sb.sum(sb.softplus(z) - y * z), w, [X, y, w], [d["X"], d["y"],
                                                                                d["w"]]
    H = sb.hessian(loss, wrt)
    f = sb.lambdify(args, H)
    Hv = f(*vals)
    build = time.perf_counter() - t0
    v = sb.vector("v", n)
    g = sb.grad(loss, wrt)
    hv_f = sb.hvp(loss, wrt, v)
    hv_r = sb.hvp(loss, wrt, v, mode="reverse")
    fg = sb.lambdify(args, g)
    fh = sb.lambdify(args + [v], hv_f)
    return {"nodes": count_nodes(H), "build": build, "eval": _median_time(lambda: f(*vals)),
            "Hu": (Hv @ d["u"]).tolist(), "hv": fh(*vals, d["v"]).tolist(),
            "grad_nodes": count_nodes(g), "hvp_nodes": count_nodes(hv_f),
            "hvp_rev_nodes": count_nodes(hv_r),
            "grad_eval": _median_time(lambda: fg(*vals)),
            "hvp_eval": _median_time(lambda: fh(*vals, d["v"]))}


def _jax(name: str, n: int) -> dict[str, Any]:
    import jax
    import jax.numpy as jnp

    jax.config.update("jax_enable_x64", True)
    d = {k: jnp.asarray(v) for k, v in _data(name, n).items()}
    if name == "xᵀAx":
        fn = jax.jit(jax.hessian(lambda x_: x_ @ d["A"] @ x_))
        arg = d["x"]
    else:
        def loss(w_: Any) -> Any:
            z = d["X"] @ w_
            return jnp.sum(jax.nn.softplus(z) - d["y"] * z)
        fn = jax.jit(jax.hessian(loss))
        arg = d["w"]
    t0 = time.perf_counter()
    H = np.asarray(fn(arg).block_until_ready())
    build = time.perf_counter() - t0
    return {"build": build, "eval": _median_time(lambda: fn(arg).block_until_ready()),
            "Hu": (H @ np.asarray(d["u"])).tolist()}


def _torch(name: str, n: int) -> dict[str, Any]:
    import torch

    torch.set_num_threads(int(os.environ.get("BENCH_THREADS", "1")))
    d = {k: torch.tensor(v, dtype=torch.float64) for k, v in _data(name, n).items()}
    if name == "xᵀAx":
        x0 = d["x"]

        def loss(x_: Any) -> Any:
            return x_ @ d["A"] @ x_
    else:
        x0 = d["w"]

        def loss(x_: Any) -> Any:
            z = d["X"] @ x_
            return torch.sum(torch.nn.functional.softplus(z) - d["y"] * z)

    def hvp() -> Any:
        x = x0.detach().requires_grad_(True)
        (g,) = torch.autograd.grad(loss(x), x, create_graph=True)
        (hv,) = torch.autograd.grad(g @ d["v"], x)
        return hv

    return {"hv": hvp().numpy().tolist(), "eval": _median_time(hvp)}


WORKERS = {"symback": _symback, "jax": _jax, "torch": _torch}


def _env(threads: int) -> dict[str, str]:
    """Every framework gets the same number of BLAS / OpenMP / XLA threads."""
    env = dict(os.environ)
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        env[var] = str(threads)
    if threads == 1:
        env["XLA_FLAGS"] = (env.get("XLA_FLAGS", "") + " --xla_cpu_multi_thread_eigen=false"
                            " intra_op_parallelism_threads=1").strip()
    env["BENCH_THREADS"] = str(threads)
    return env


def _run(worker: str, name: str, n: int, threads: int) -> dict[str, Any] | None:
    proc = subprocess.run([sys.executable, __file__, "--worker", worker, name, str(n)],
                          capture_output=True, text=True, env=_env(threads))
    if proc.returncode == 3:
        return None  # not installed
    if proc.returncode != 0:
        raise RuntimeError(f"{worker} {name} n={n} failed:\n{proc.stderr}")
    return json.loads(proc.stdout)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[10, 100, 1000])
    ap.add_argument("--threads", type=int, default=1,
                    help="BLAS/OpenMP/XLA threads for every framework (default 1: the "
                         "timings stay stable on a shared machine)")
    ap.add_argument("--worker", nargs=3, metavar=("FRAMEWORK", "PROBLEM", "N"),
                    help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        fw, name, n = args.worker
        try:
            out = WORKERS[fw](name, int(n))
        except ImportError:
            sys.exit(3)
        print(json.dumps(out))
        return
    rows, hvp_rows = [], []
    ms = 1e3
    for name in PROBLEMS:
        for n in args.sizes:
            s = _run("symback", name, n, args.threads)
            j = _run("jax", name, n, args.threads)
            t = _run("torch", name, n, args.threads)
            assert s is not None
            if j is not None:
                assert np.allclose(j["Hu"], s["Hu"], rtol=1e-8, atol=1e-8), "JAX disagrees"
            if t is not None:
                assert np.allclose(t["hv"], s["hv"], rtol=1e-8, atol=1e-8), "torch disagrees"
            rows.append(
                f"| {name} | {n} | {s['nodes']} | {s['build'] * ms:.1f} | {s['eval'] * ms:.3f} | "
                + (f"{j['build'] * ms:.0f} | {j['eval'] * ms:.3f} | {j['eval'] / s['eval']:.1f} |"
                   if j else "– | – | – |"))
            hvp_rows.append(
                f"| {name} | {n} | {s['grad_nodes']} | {s['hvp_nodes']} | {s['hvp_rev_nodes']} | "
                f"{s['grad_eval'] * ms:.3f} | {s['hvp_eval'] * ms:.3f} | "
                f"{s['hvp_eval'] / s['grad_eval']:.2f} | "
                + (f"{t['eval'] * ms:.3f} | {t['eval'] / s['hvp_eval']:.1f} |" if t else "– | – |"))
    print("### Hessians (ms; ratio = JAX eval / symback eval)\n")
    print("| problem | n | symback nodes | symback build | symback eval | JAX build | JAX eval "
          "| ratio |")
    print("|---|---|---|---|---|---|---|---|")
    print("\n".join(rows))
    print("\n### HVPs (ms; graph sizes of the gradient and of the forward / reverse HVP)\n")
    print("| problem | n | grad nodes | HVP nodes (fwd) | HVP nodes (rev) | symback grad | "
          "symback HVP | HVP / grad | torch HVP | torch / symback |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    print("\n".join(hvp_rows))


if __name__ == "__main__":
    main()
