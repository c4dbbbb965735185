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
  backward), and symback's gradient for the HVP/gradient cost ratio.
Ratios are from this one run (absolute times drift between processes). Float64 throughout.
"""

from __future__ import annotations

import argparse
import statistics
import time
from typing import Any, Callable

import numpy as np

import symback as sb
from symback.graph import count_nodes


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


def _problem(name: str, n: int, rng: np.random.Generator) -> dict[str, Any]:
    if name == "xᵀAx":
        A = sb.matrix("A", n, n)
        x = sb.vector("x", n)
        return {"loss": x @ A @ x, "wrt": x, "args": [A, x],
                "vals": [rng.normal(size=(n, n)), rng.normal(size=n)],
                "np_f": lambda A_, x_, lib: x_ @ A_ @ x_}
    X = sb.matrix("X", 2 * n, n)
    w = sb.vector("w", n)
    y = sb.vector("y", 2 * n)
    z = X @ w
    return {"loss": sb.sum(sb.softplus(z) - y * z), "wrt": w, "args": [X, y, w],
            "vals": [rng.normal(size=(2 * n, n)) / np.sqrt(n),
                     (rng.uniform(size=2 * n) > 0.5).astype(float), rng.normal(size=n)],
            "np_f": None}


def _symback(p: dict[str, Any]) -> dict[str, Any]:
    t0 = time.perf_counter()
    H = sb.hessian(p["loss"], p["wrt"])
    f = sb.lambdify(p["args"], H)
    H0 = f(*p["vals"])
    build = time.perf_counter() - t0
    ev = _median_time(lambda: f(*p["vals"]))
    v = sb.vector("v", p["wrt"].shape[0])
    g = sb.grad(p["loss"], p["wrt"])
    hv_f = sb.hvp(p["loss"], p["wrt"], v)
    hv_r = sb.hvp(p["loss"], p["wrt"], v, mode="reverse")
    fg = sb.lambdify(p["args"], g)
    fh = sb.lambdify(p["args"] + [v], hv_f)
    vv = np.random.default_rng(1).normal(size=v.shape)
    hv_val = fh(*p["vals"], vv)
    assert np.allclose(hv_val, H0 @ vv, rtol=1e-8, atol=1e-8)
    return {"H": H0, "nodes": count_nodes(H), "build": build, "eval": ev,
            "grad_nodes": count_nodes(g), "hvp_nodes": count_nodes(hv_f),
            "hvp_rev_nodes": count_nodes(hv_r),
            "grad_eval": _median_time(lambda: fg(*p["vals"])),
            "hvp_eval": _median_time(lambda: fh(*p["vals"], vv)), "v": vv, "hv": hv_val}


def _jax(name: str, p: dict[str, Any]) -> dict[str, Any] | None:
    try:
        import jax
        import jax.numpy as jnp
    except ImportError:
        return None
    jax.config.update("jax_enable_x64", True)
    if name == "xᵀAx":
        A, x = (jnp.asarray(v) for v in p["vals"])
        fn = jax.jit(jax.hessian(lambda x_: x_ @ A @ x_))
        arg = x
    else:
        X, y, w = (jnp.asarray(v) for v in p["vals"])

        def loss(w_: Any) -> Any:
            z = X @ w_
            return jnp.sum(jax.nn.softplus(z) - y * z)
        fn = jax.jit(jax.hessian(loss))
        arg = w
    t0 = time.perf_counter()
    H = np.asarray(fn(arg).block_until_ready())
    build = time.perf_counter() - t0
    ev = _median_time(lambda: fn(arg).block_until_ready())
    return {"H": H, "build": build, "eval": ev}


def _torch_hvp(name: str, p: dict[str, Any], v: np.ndarray) -> dict[str, Any] | None:
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(max(1, torch.get_num_threads()))
    vals = [torch.tensor(a, dtype=torch.float64) for a in p["vals"]]
    vt = torch.tensor(v, dtype=torch.float64)
    if name == "xᵀAx":
        A, x0 = vals

        def loss(x_: Any) -> Any:
            return x_ @ A @ x_
    else:
        X, y, x0 = vals

        def loss(x_: Any) -> Any:
            z = X @ x_
            return torch.sum(torch.nn.functional.softplus(z) - y * z)

    def hvp() -> Any:
        x = x0.detach().requires_grad_(True)
        (g,) = torch.autograd.grad(loss(x), x, create_graph=True)
        (hv,) = torch.autograd.grad(g @ vt, x)
        return hv

    out = hvp().numpy()
    return {"hv": out, "eval": _median_time(hvp)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[10, 100, 1000])
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    rows = []
    hvp_rows = []
    for name in ("xᵀAx", "logistic"):
        for n in args.sizes:
            p = _problem(name, n, rng)
            s = _symback(p)
            j = _jax(name, p)
            t = _torch_hvp(name, p, s["v"])
            if j is not None:
                assert np.allclose(j["H"], s["H"], rtol=1e-8, atol=1e-8), "JAX disagrees"
            if t is not None:
                assert np.allclose(t["hv"], s["hv"], rtol=1e-8, atol=1e-8), "torch disagrees"
            ms = 1e3
            rows.append(
                f"| {name} | {n} | {s['nodes']} | {s['build'] * ms:.1f} | {s['eval'] * ms:.3f} | "
                + (f"{j['build'] * ms:.1f} | {j['eval'] * ms:.3f} | {j['eval'] / s['eval']:.2f} |"
                   if j else "– | – | – |"))
            hvp_rows.append(
                f"| {name} | {n} | {s['grad_nodes']} | {s['hvp_nodes']} | {s['hvp_rev_nodes']} | "
                f"{s['grad_eval'] * ms:.3f} | {s['hvp_eval'] * ms:.3f} | "
                f"{s['hvp_eval'] / s['grad_eval']:.2f} | "
                + (f"{t['eval'] * ms:.3f} | {t['eval'] / s['hvp_eval']:.2f} |" if t else "– | – |"))
    print("### Hessians (times in ms; ratio = JAX eval / symback eval)\n")
    print("| problem | n | symback nodes | symback build | symback eval | JAX build | JAX eval "
          "| ratio |")
    print("|---|---|---|---|---|---|---|---|")
    print("\n".join(rows))
    print("\n### HVPs (times in ms; nodes of the gradient and of the forward / reverse HVP graphs)\n")
    print("| problem | n | grad nodes | HVP nodes (fwd) | HVP nodes (rev) | symback grad | "
          "symback HVP | HVP / grad | torch HVP | torch / symback |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    print("\n".join(hvp_rows))


if __name__ == "__main__":
    main()
