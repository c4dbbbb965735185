"""Training steps of the issue-13 models: symback beside PyTorch eager, torch.compile and JAX.

Rows (each in float64 and float32):

* **CNN** of ``examples/cnn_digits.py`` (conv 3×3 'same' → ReLU → 2×2 max pool, twice,
  then a linear layer; softmax cross-entropy + λ Σ weights²), batch 64 and 1,797 (all of
  scikit-learn's digits), loss and all six parameter gradients per step;
* **transformer block**: one pre-norm block of ``examples/char_transformer.py``
  (h + MHA(LN h), then + W₂ GELU(W₁ LN h), causal, 4 heads, d = 48, 16 × 32 tokens), the loss
  ⟨block(h), C⟩ / (B·L) for a fixed C, with the gradients of all ten parameters. It is
  skipped, with the reason, when this checkout lacks an op the block needs.

Every candidate is written the way its users write it: symback's ``value_and_grad`` of the
model's loss (as the example trains it); PyTorch with ``torch.nn.functional`` and
``loss.backward()`` (eager; ``--compile`` adds ``torch.compile`` of the loss, backward by
AOTAutograd); JAX ``jit(value_and_grad)`` when JAX is installed.

Before anything is timed, each candidate's loss and gradients are compared with PyTorch
eager's: to 1e-10 (relative to the largest entry) in float64, 1e-4 in float32. A candidate
that fails is reported and not timed (a failure of symback stops the run).

Timing: one compute thread per framework (OpenBLAS/OMP/MKL set to 1 here, before NumPy is
imported; ``torch.set_num_threads(1)``; XLA's Eigen pool off), all candidates in one process,
alternating in short interleaved rounds; each figure is the median over rounds of the CPU
time of one call (this process's CPU time varies far less than wall time on a shared
machine; both are in the JSON). Ratios are symback ÷ peer from the same run.

Run:  python benchmarks/models.py                    (a few minutes on 2 shared cores)
      python benchmarks/models.py --compile          (adds torch.compile; its first call
                                                      compiles for a minute or more)
      python benchmarks/models.py --quick            (seconds: small batches, few rounds)
Writes benchmarks/results/models.md and models.json (git-ignored).
"""

from __future__ import annotations

import os
import sys

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"
os.environ.setdefault("XLA_FLAGS",
                      "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1")
os.environ.setdefault("JAX_PLATFORMS", "cpu")
HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(ROOT, "examples"))

import argparse
import json
import math
import platform
import subprocess
import time
import traceback
from collections.abc import Callable
from typing import Any

import numpy as np
import timing as tm

import symback as sb

LAM = 1e-4
BLOCK = {"batch": 16, "length": 32, "d": 48, "heads": 4}


# --------------------------------------------------------------------------- optional peers


def load_torch() -> Any:
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(1)
    return torch


def load_jax() -> Any:
    try:
        import jax
    except ImportError:
        return None
    jax.config.update("jax_enable_x64", True)  # float64 rows; float32 arrays stay float32
    return jax


# --------------------------------------------------------------------------- CNN


def cnn_data(n: int, dtype: str) -> tuple[np.ndarray, np.ndarray]:
    """n digits images (N, 1, 8, 8) scaled to [0, 1] and their labels (random if
    scikit-learn is missing: the timing does not depend on the values)."""
    try:
        from sklearn.datasets import load_digits

        X, y = load_digits(return_X_y=True)
        idx = np.resize(np.arange(len(X)), n)
        X, y = X[idx] / 16.0, y[idx]
    except ImportError:
        rng = np.random.default_rng(1)
        X, y = rng.random((n, 64)), rng.integers(0, 10, n)
    return X.reshape(n, 1, 8, 8).astype(dtype), y.astype(np.int64)


def cnn_params(dtype: str) -> list[np.ndarray]:
    from cnn_digits import build_cnn, init_params

    _, _, params, _ = build_cnn(LAM, dtype)
    vals = init_params(params, np.random.default_rng(0), dtype)
    rng = np.random.default_rng(5)  # nonzero biases, so their gradients are tested too
    return [v + (0.1 * rng.standard_normal(v.shape)).astype(dtype) if v.ndim == 1 else v
            for v in vals]


def cnn_symback(dtype: str) -> Callable[..., Any]:
    from cnn_digits import build_cnn

    J, _, params, (X, Y) = build_cnn(LAM, dtype)
    step = sb.value_and_grad(J, params, args=params + [X, Y])
    eye = np.eye(10, dtype=dtype)

    def run(vals: list[np.ndarray], x: np.ndarray, y: np.ndarray) -> Callable[[], Any]:
        onehot = eye[y]
        return lambda: step(*vals, x, onehot)
    return run


def cnn_torch_loss(torch: Any) -> Callable[..., Any]:
    F = torch.nn.functional

    def loss(K1, b1, K2, b2, W3, b3, x, y):
        h = F.max_pool2d(F.relu(F.conv2d(x, K1, b1, padding="same")), 2)
        h = F.max_pool2d(F.relu(F.conv2d(h, K2, b2, padding="same")), 2)
        u = h.flatten(1) @ W3 + b3
        return F.cross_entropy(u, y) + LAM * ((K1 ** 2).sum() + (K2 ** 2).sum()
                                              + (W3 ** 2).sum())
    return loss


def torch_runner(torch: Any, loss_fn: Callable[..., Any]) -> Callable[..., Any]:
    """A training step as PyTorch users write it: forward, loss.backward(), read .grad."""
    def run(vals: list[np.ndarray], *data: np.ndarray) -> Callable[[], Any]:
        ps = [torch.tensor(v, requires_grad=True) for v in vals]
        ds = [torch.from_numpy(np.ascontiguousarray(d)) for d in data]

        def step() -> Any:
            for p in ps:
                p.grad = None  # optimizer.zero_grad(set_to_none=True)
            loss = loss_fn(*ps, *ds)
            loss.backward()
            return loss.detach(), [p.grad for p in ps]
        return step
    return run


def cnn_jax_loss(jax: Any) -> Callable[..., Any]:
    jnp, lax = jax.numpy, jax.lax

    def pool(h):
        return lax.reduce_window(h, -jnp.inf, lax.max, (1, 1, 2, 2), (1, 1, 2, 2), "VALID")

    def loss(params, x, y):
        K1, b1, K2, b2, W3, b3 = params
        dn = ("NCHW", "OIHW", "NCHW")
        h = lax.conv_general_dilated(x, K1, (1, 1), "SAME", dimension_numbers=dn)
        h = pool(jax.nn.relu(h + b1[:, None, None]))
        h = lax.conv_general_dilated(h, K2, (1, 1), "SAME", dimension_numbers=dn)
        h = pool(jax.nn.relu(h + b2[:, None, None]))
        u = h.reshape(h.shape[0], -1) @ W3 + b3
        lp = jax.nn.log_softmax(u)
        ce = -jnp.mean(jnp.take_along_axis(lp, y[:, None], axis=1))
        return ce + LAM * (jnp.sum(K1 ** 2) + jnp.sum(K2 ** 2) + jnp.sum(W3 ** 2))
    return loss


def jax_runner(jax: Any, loss_fn: Callable[..., Any]) -> Callable[..., Any]:
    f = jax.jit(jax.value_and_grad(loss_fn))

    def run(vals: list[np.ndarray], *data: np.ndarray) -> Callable[[], Any]:
        ps = [jax.numpy.asarray(v) for v in vals]
        ds = [jax.numpy.asarray(d) for d in data]

        def step() -> Any:
            v, g = f(ps, *ds)
            v.block_until_ready()
            for a in g:
                a.block_until_ready()
            return v, g
        return step
    return run


# --------------------------------------------------------------------------- transformer block


def block_symback(dtype: str) -> tuple[Callable[..., Any] | None, str]:
    """The block's step, or None and the reason (an op this checkout lacks)."""
    B, L, d, H = BLOCK["batch"], BLOCK["length"], BLOCK["d"], BLOCK["heads"]
    try:
        h = sb.tensor("h", (B, L, d), dtype=dtype)
        C = sb.tensor("C", (B, L, d), dtype=dtype)
        wq, wk, wv, wo = (sb.matrix(n, d, d, dtype=dtype) for n in ("Q", "K", "V", "O"))
        w1, w2 = sb.matrix("A", d, 4 * d, dtype=dtype), sb.matrix("B", 4 * d, d, dtype=dtype)
        g1, b1, g2, b2 = (sb.vector(n, d, dtype=dtype)
                          for n in ("gamma_a", "beta_a", "gamma_m", "beta_m"))
        a = sb.nn.layer_norm(h, d, g1, b1)
        h1 = h + sb.nn.multi_head_attention(a, wq, wk, wv, wo, H, is_causal=True)
        m = sb.nn.layer_norm(h1, d, g2, b2)
        out = h1 + sb.nn.gelu(m @ w1) @ w2
        J = sb.sum(out * C) * (1.0 / (B * L))
        params = [wq, wk, wv, wo, w1, w2, g1, b1, g2, b2]
        step = sb.value_and_grad(J, params, args=params + [h, C])
    except Exception as e:  # noqa: BLE001 - reported, the row is skipped
        return None, f"{type(e).__name__}: {str(e).splitlines()[0][:160]}"

    def run(vals: list[np.ndarray], hv: np.ndarray, cv: np.ndarray) -> Callable[[], Any]:
        return lambda: step(*vals, hv, cv)
    return run, ""


def block_values(dtype: str) -> tuple[list[np.ndarray], np.ndarray, np.ndarray]:
    B, L, d = BLOCK["batch"], BLOCK["length"], BLOCK["d"]
    rng = np.random.default_rng(3)
    shapes = [(d, d)] * 4 + [(d, 4 * d), (4 * d, d)]
    vals = [rng.standard_normal(s) / math.sqrt(s[0]) for s in shapes]
    vals += [1 + 0.1 * rng.standard_normal(d), 0.1 * rng.standard_normal(d),
             1 + 0.1 * rng.standard_normal(d), 0.1 * rng.standard_normal(d)]
    return ([v.astype(dtype) for v in vals], rng.standard_normal((B, L, d)).astype(dtype),
            rng.standard_normal((B, L, d)).astype(dtype))


def block_torch_loss(torch: Any) -> Callable[..., Any]:
    F = torch.nn.functional
    H = BLOCK["heads"]

    def loss(wq, wk, wv, wo, w1, w2, g1, b1, g2, b2, h, C):
        B, L, d = h.shape
        a = F.layer_norm(h, (d,), g1, b1)

        def heads(t):
            return t.reshape(B, L, H, d // H).transpose(1, 2)
        o = F.scaled_dot_product_attention(heads(a @ wq), heads(a @ wk), heads(a @ wv),
                                           is_causal=True)
        h1 = h + o.transpose(1, 2).reshape(B, L, d) @ wo
        m = F.layer_norm(h1, (d,), g2, b2)
        out = h1 + F.gelu(m @ w1) @ w2
        return (out * C).sum() / (B * L)
    return loss


def block_jax_loss(jax: Any) -> Callable[..., Any]:
    jnp = jax.numpy
    H = BLOCK["heads"]

    def ln(x, g, b):
        mu = x.mean(-1, keepdims=True)
        var = ((x - mu) ** 2).mean(-1, keepdims=True)
        return (x - mu) / jnp.sqrt(var + 1e-5) * g + b

    def loss(params, h, C):
        wq, wk, wv, wo, w1, w2, g1, b1, g2, b2 = params
        B, L, d = h.shape
        a = ln(h, g1, b1)

        def heads(t):
            return t.reshape(B, L, H, d // H).transpose(0, 2, 1, 3)
        q, k, v = heads(a @ wq), heads(a @ wk), heads(a @ wv)
        s = q @ k.transpose(0, 1, 3, 2) / math.sqrt(d // H)
        s = jnp.where(jnp.tril(jnp.ones((L, L), bool)), s, -jnp.inf)
        o = jax.nn.softmax(s, axis=-1) @ v
        h1 = h + o.transpose(0, 2, 1, 3).reshape(B, L, d) @ wo
        out = h1 + jax.nn.gelu(ln(h1, g2, b2) @ w1, approximate=False) @ w2
        return (out * C).sum() / (B * L)
    return loss


# --------------------------------------------------------------------------- checks


def as_np(a: Any) -> np.ndarray:
    if hasattr(a, "detach"):
        a = a.detach().numpy()
    return np.asarray(a, dtype=np.float64)


def compare(got: Any, want: Any, tol: float) -> float:
    """The largest error of loss and gradients relative to the largest entry of each."""
    gv, gg = got
    wv, wg = want
    errs = [abs(float(as_np(gv)) - float(as_np(wv))) / max(1.0, abs(float(as_np(wv))))]
    for a, b in zip(gg, wg):
        a, b = as_np(a), as_np(b)
        if a.shape != b.shape:
            return math.inf
        errs.append(float(np.max(np.abs(a - b))) / max(1.0, float(np.max(np.abs(b)))))
    return max(errs)


# --------------------------------------------------------------------------- the run


def machine() -> dict[str, Any]:
    info: dict[str, Any] = {"python": platform.python_version(), "numpy": np.__version__,
                            "symback": getattr(sb, "__version__", "?"),
                            "nproc": os.cpu_count(), "platform": platform.platform()}
    try:
        for line in subprocess.run(["lscpu"], capture_output=True, text=True,
                                   timeout=5).stdout.splitlines():
            if line.startswith("Model name"):
                info["cpu"] = line.split(":", 1)[1].strip()
    except Exception:  # noqa: BLE001 - informational
        pass
    try:
        info["load_average"] = [round(x, 1) for x in os.getloadavg()]
    except OSError:
        pass
    try:
        cfg = np.show_config(mode="dicts")  # type: ignore[call-arg]
        info["blas"] = "{} {}".format(cfg["Build Dependencies"]["blas"]["name"],
                                      cfg["Build Dependencies"]["blas"].get("version", ""))
    except Exception:  # noqa: BLE001
        pass
    return info


def run_row(label: str, dtype: str, batch: int, cands: dict[str, Callable[[], Any]],
            ref: str | None, args: argparse.Namespace, log: Callable[[str], None]
            ) -> dict[str, Any]:
    """Check every candidate against the reference, then time the ones that passed."""
    tol = 1e-10 if dtype == "float64" else 1e-4
    row: dict[str, Any] = {"model": label, "dtype": dtype, "batch": batch, "checks": {},
                           "cpu_s": {}, "wall_s": {}, "failed": {}}
    want = cands[ref]() if ref else None
    ok = {}
    for name, fn in cands.items():
        try:
            t0 = time.perf_counter()
            got = fn()
            row.setdefault("first_call_s", {})[name] = time.perf_counter() - t0
            err = compare(got, want, tol) if want is not None and name != ref else 0.0
        except Exception as e:  # noqa: BLE001
            row["failed"][name] = f"{type(e).__name__}: {str(e).splitlines()[0][:120]}"
            log(f"  {name}: FAILED {row['failed'][name]}")
            continue
        row["checks"][name] = err
        if name != ref and want is not None:
            log(f"  {name}: loss and gradients vs {ref}: max relative error {err:.2e} "
                f"(tolerance {tol:g})")
        if err <= tol:
            ok[name] = fn
        else:
            row["failed"][name] = f"gradient check failed ({err:.2e} > {tol:g})"
    if "symback" in row["failed"]:
        raise SystemExit(f"symback's {label} {dtype} step disagrees with PyTorch: "
                         f"{row['failed']['symback']}")
    times = tm.interleaved(ok, rounds=args.rounds, target=args.target, budget=args.budget)
    for name, t in times.items():
        row["cpu_s"][name] = t.cpu
        row["wall_s"][name] = t.wall
        row.setdefault("rounds", {})[name] = len(t.rounds_cpu)
    log("  " + "  ".join(f"{k} {v * 1e3:.2f} ms" for k, v in row["cpu_s"].items()))
    return row


def fmt_ms(s: float | None) -> str:
    if s is None:
        return "—"
    return f"{s * 1e3:.3g}" if s < 1 else f"{s * 1e3:,.0f}"


def verdict(row: dict[str, Any]) -> tuple[str, str, str]:
    """(symback ÷ eager, the fastest peer and symback against it, the floor's verdict)."""
    t = row["cpu_s"]
    if "symback" not in t:
        return "—", "—", "—"
    s = t["symback"]
    eager = t.get("torch eager")
    r_eager = f"{s / eager:.2f}" if eager else "—"
    peers = {k: v for k, v in t.items() if k != "symback"}
    if not peers:
        return r_eager, "—", "—"
    best = min(peers, key=peers.get)  # type: ignore[arg-type]
    r = s / peers[best]
    how = (f"{best}: symback {r:.2f}× slower" if r > 1.005 else
           f"{best}: symback {1 / r:.2f}× faster" if r < 0.995 else f"{best}: even")
    floor = 2.0 if row["model"] == "CNN" else 1.3
    met = "—" if not eager else ("met" if s / eager <= floor else "**NOT met**")
    return r_eager, how, f"≤ {floor:g}× eager: {met}"


def markdown(rows: list[dict[str, Any]], skipped: list[str], info: dict[str, Any],
             command: str, peers: list[str]) -> str:
    lines = ["## Models: training steps beside PyTorch and JAX", "",
             f"`{command}` — CPU ms per step (median of interleaved rounds, one thread per "
             "framework); ratios from the same run.", "",
             "Machine: {cpu}, {nproc} cores (shared; load average {load}), Python {py}, "
             "NumPy {np} ({blas}), {peers}.".format(
                 cpu=info.get("cpu", "?"), nproc=info.get("nproc"),
                 load=info.get("load_average"), py=info["python"], np=info["numpy"],
                 blas=info.get("blas", "?"), peers=", ".join(peers) or "no peers"), ""]
    cols = ["symback", "torch eager", "torch.compile", "JAX jit"]
    lines.append("| model | dtype | batch | " + " | ".join(cols) + " | symback ÷ eager | "
                 "fastest peer | floor |")
    lines.append("|---|---|---:|" + "---:|" * len(cols) + "---:|---|---|")
    for row in rows:
        cells = []
        for c in cols:
            if c in row["cpu_s"]:
                cells.append(fmt_ms(row["cpu_s"][c]))
            elif c in row["failed"]:
                cells.append("failed")
            else:
                cells.append("—")
        r, best, floor = verdict(row)
        lines.append(f"| {row['model']} | {row['dtype']} | {row['batch']:,} | "
                     + " | ".join(cells) + f" | {r} | {best} | {floor} |")
    for s in skipped:
        lines.append("")
        lines.append(f"Skipped: {s}")
    checks = [f"{row['model']} {row['dtype']} {row['batch']}: " + ", ".join(
        f"{k} {v:.1e}" for k, v in row["checks"].items() if k != "torch eager")
        for row in rows if row["dtype"] == "float64"]
    if checks:
        lines += ["", "Loss and gradients vs PyTorch eager before timing (max relative error; "
                  "float64 tolerance 1e-10): " + "; ".join(checks) + "."]
    fails = [f"{row['model']} {row['dtype']} {row['batch']} {k}: {v}"
             for row in rows for k, v in row["failed"].items()]
    if fails:
        lines += ["", "Not timed: " + "; ".join(fails) + "."]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small batches, few rounds")
    parser.add_argument("--compile", action="store_true", help="add torch.compile (slow start)")
    parser.add_argument("--no-jax", action="store_true")
    parser.add_argument("--models", default="cnn,block", help="comma list: cnn, block")
    parser.add_argument("--dtypes", default="float64,float32")
    parser.add_argument("--batches", default=None, help="CNN batch sizes (default 64,1797)")
    parser.add_argument("--rounds", type=int, default=None)
    parser.add_argument("--target", type=float, default=0.02, help="seconds per round")
    parser.add_argument("--budget", type=float, default=None, help="seconds per row")
    parser.add_argument("--out", default=os.path.join(HERE, "results"))
    args = parser.parse_args(argv)
    args.rounds = args.rounds or (3 if args.quick else 21)
    args.budget = args.budget or (2.0 if args.quick else 30.0)
    batches = [int(b) for b in (args.batches or ("8,16" if args.quick else "64,1797"))
               .split(",")]
    command = "python benchmarks/models.py " + " ".join(argv if argv is not None
                                                       else sys.argv[1:])
    torch, jax = load_torch(), (None if args.no_jax else load_jax())
    peers = []
    if torch is not None:
        peers.append(f"PyTorch {torch.__version__} (1 thread)")
    if jax is not None:
        peers.append(f"JAX {jax.__version__}")
    if torch is None:
        print("PyTorch is not installed: no reference to check against (pip install "
              "torch==2.13.0); symback is timed alone.")
    info = machine()
    print(f"{info.get('cpu', '?')}, {info['nproc']} cores, load {info.get('load_average')}; "
          + (", ".join(peers) or "no peers"))
    rows: list[dict[str, Any]] = []
    skipped: list[str] = []
    models = args.models.split(",")
    for dtype in args.dtypes.split(","):
        if "cnn" in models:
            sym = cnn_symback(dtype)
            t_loss = cnn_torch_loss(torch) if torch is not None else None
            t_comp = torch.compile(t_loss) if (torch is not None and args.compile) else None
            j_run = jax_runner(jax, cnn_jax_loss(jax)) if jax is not None else None
            vals = cnn_params(dtype)
            for n in batches:
                x, y = cnn_data(n, dtype)
                print(f"CNN {dtype} batch {n}")
                cands: dict[str, Callable[[], Any]] = {"symback": sym(vals, x, y)}
                if t_loss is not None:
                    cands["torch eager"] = torch_runner(torch, t_loss)(vals, x, y)
                if t_comp is not None:
                    cands["torch.compile"] = torch_runner(torch, t_comp)(vals, x, y)
                if j_run is not None:
                    cands["JAX jit"] = j_run(vals, x, y)
                rows.append(run_row("CNN", dtype, n, cands,
                                    "torch eager" if t_loss is not None else None, args, print))
        if "block" in models:
            B, L = BLOCK["batch"], BLOCK["length"]
            sym_b, why = block_symback(dtype)
            if sym_b is None:
                msg = (f"transformer block: this checkout lacks an op the block needs "
                       f"({why}); the rows run once the NumPy-surface ops are merged.")
                print(f"{dtype}: {msg}")
                if msg not in skipped:
                    skipped.append(msg)
                continue
            vals, hv, cv = block_values(dtype)
            print(f"transformer block {dtype} {B}×{L}")
            cands = {"symback": sym_b(vals, hv, cv)}
            if torch is not None:
                t_loss = block_torch_loss(torch)
                cands["torch eager"] = torch_runner(torch, t_loss)(vals, hv, cv)
                if args.compile:
                    cands["torch.compile"] = torch_runner(torch, torch.compile(t_loss))(
                        vals, hv, cv)
            if jax is not None:
                cands["JAX jit"] = jax_runner(jax, block_jax_loss(jax))(vals, hv, cv)
            rows.append(run_row("transformer block", dtype, B * L, cands,
                                "torch eager" if torch is not None else None, args, print))
    md = markdown(rows, skipped, info, command, peers)
    print()
    print(md)
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "models.md"), "w") as f:
        f.write(md)
    with open(os.path.join(args.out, "models.json"), "w") as f:
        json.dump({"machine": info, "command": command, "rows": rows, "skipped": skipped},
                  f, indent=1, default=str)
    return 0


if __name__ == "__main__":
    try:
        raise SystemExit(main())
    except SystemExit:
        raise
    except Exception:  # pragma: no cover - a crash is printed plainly
        traceback.print_exc()
        raise SystemExit(1)
