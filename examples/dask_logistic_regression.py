"""Logistic regression with L-BFGS-B on data larger than any one worker's memory (Dask).

The data set is generated lazily by ``dask.array.random`` (chunk by chunk, never whole),
the loss and its gradient are compiled once by symback for ``backend="dask"``, and every
evaluation of the gradient runs the compiled NumPy function on one chunk of rows at a time
on a ``dask.distributed`` cluster, summed by Dask's tree reduction:

    L(w, b) = mean_i [softplus(x_i·w + b) - y_i (x_i·w + b)] + λ/2 |w|²

By default (CI) it starts a LocalCluster of 2 worker processes on 127.0.0.1 with a memory
limit per worker below the size of the data, fits, and then fits the same data held in
memory with the NumPy backend: both optima agree to 1e-8. ``--n`` sets the number of rows
(``--n 100000000`` is 12.8 GB at d = 16), ``--scheduler tcp://...`` uses a cluster of
yours, ``--no-check`` skips the in-memory fit (which needs the data to fit in memory).
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np
from scipy.optimize import minimize

import symback as sb

LAM = 1e-3


def model(d: int) -> tuple[sb.Expr, list[sb.Expr], list[sb.Expr]]:
    """The loss over parameters (w, b) and data (X: n×d, y: n)."""
    w, b = sb.vector("w", d), sb.symbols("b")
    X, y = sb.matrix("X", "n", d), sb.vector("y", "n")
    z = X @ w + b
    loss = sb.mean(sb.softplus(z) - y * z) + LAM / 2 * sb.sum(w * w)
    return loss, [w, b], [X, y]


def lazy_data(n: int, d: int, chunk: int, seed: int = 0):
    """X ~ N(0, 1), y ~ Bernoulli(σ(X w* + 0.5)): lazy dask arrays, chunked by rows."""
    import dask.array as da

    rng = da.random.default_rng(seed)
    X = rng.standard_normal((n, d), chunks=(chunk, d))
    w_true = np.linspace(-1.0, 1.0, d)
    p = 1.0 / (1.0 + da.exp(-(X @ w_true + 0.5)))
    y = (rng.uniform(size=n, chunks=chunk) < p).astype(np.float64)
    return X, y


def fit(f: sb.FlatValueAndGrad, theta0: np.ndarray, *data) -> tuple[np.ndarray, int]:
    res = minimize(f, theta0, args=data, jac=True, method="L-BFGS-B",
                   options={"maxiter": 200, "ftol": 0.0, "gtol": 1e-10})
    return res.x, res.nfev


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=1_200_000, help="rows (default 1.2M: 164 MB)")
    ap.add_argument("--d", type=int, default=16, help="features")
    ap.add_argument("--chunk", type=int, default=25_000, help="rows per chunk")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--memory-limit", default="150MB", help="per worker (LocalCluster)")
    ap.add_argument("--scheduler", default=None, help="address of an existing cluster")
    ap.add_argument("--no-check", action="store_true", help="skip the in-memory NumPy fit")
    args = ap.parse_args(argv)
    import dask

    # the workers' own memory (Python, NumPy, Dask: ~100 MB) is most of a small limit: pause
    # a worker only near it (the data itself never is on a worker: one chunk at a time)
    dask.config.set({"distributed.worker.memory.pause": 0.9,
                     "distributed.worker.memory.target": False,
                     "distributed.worker.memory.spill": False})

    from dask.distributed import Client, LocalCluster

    loss, params, data = model(args.d)
    f = sb.flat_value_and_grad(loss, params, data=data, backend="dask")
    X, y = lazy_data(args.n, args.d, args.chunk)
    size_mb = (X.nbytes + y.nbytes) / 1e6
    theta0 = np.zeros(f.size)
    cluster = None
    if args.scheduler:
        client = Client(args.scheduler)
    else:
        cluster = LocalCluster(n_workers=args.workers, threads_per_worker=1, processes=True,
                               host="127.0.0.1", dashboard_address=None,
                               memory_limit=args.memory_limit)
        client = Client(cluster)
    try:
        limit = min(w["memory_limit"] for w in client.scheduler_info()["workers"].values())
        print(f"data {size_mb:.0f} MB in {X.numblocks[0]} chunks of {args.chunk} rows; "
              f"{len(client.scheduler_info()['workers'])} workers, memory limit "
              f"{limit / 1e6:.0f} MB each")
        t0 = time.perf_counter()
        theta, nfev = fit(f, theta0, X, y)
        t_dask = time.perf_counter() - t0
        value, g = f(theta, X, y)
        print(f"dask:  loss {value:.10f}, |grad| {np.linalg.norm(g):.2e}, {nfev} evaluations, "
              f"{t_dask:.1f} s")
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
    if args.no_check:
        return 0
    Xn, yn = X.compute(), y.compute()  # the same data, in memory, on the NumPy backend
    f_np = sb.flat_value_and_grad(loss, params, data=data)
    theta_np, _ = fit(f_np, theta0, Xn, yn)
    diff = float(np.max(np.abs(theta - theta_np)))
    print(f"numpy: loss {f_np(theta_np, Xn, yn)[0]:.10f}; max |θ_dask - θ_numpy| = {diff:.1e}")
    if not diff <= 1e-8:
        print("the optima differ by more than 1e-8", file=sys.stderr)
        return 1
    print("same optimum to 1e-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
