#!/usr/bin/env python
"""symback beside SymPy and the peers on the workloads W2–W5, in one process; ratios printed.

    python benchmarks/run.py                 # the full run (several minutes)
    python benchmarks/run.py --quick         # tiny sizes, seconds (the CI smoke test)
    python benchmarks/run.py --no-peers      # symback, hand-written NumPy and SymPy only
    python benchmarks/run.py --peers jax,torch --out /tmp/bench

What is measured (workloads in workloads.py, peers in peers.py):
* build: symbols → graph → gradient → callable → first value (median of repeats);
  the growth exponent of symback's build between the two sizes of W2 and of W3;
* graph sizes: forward nodes, nodes needed for the gradient (as built, and as compiled
  after the CANONICAL and STABILIZE rule tables), and their ratio;
* evaluation of f and of the gradient at one point and over 10,000 points (W2, W3);
* the MLP value-and-gradient step (W4, float64 and float32, two batch sizes) and the
  logistic regression step (W5), beside hand-written NumPy backprop, with the peak
  memory of one step (tracemalloc) of the hand-written and the generated code.

Every gradient is checked against the hand-derived NumPy gradient before it is timed;
a failed check stops the run. Timings are medians over interleaved rounds (timing.py)
of wall-clock and CPU time; every framework uses one compute thread (``--threads``).
Results go to ``<out>/bench-<time>.json`` and ``<out>/bench-<time>.md`` (and
``latest.json`` / ``latest.md``); ``<out>`` defaults to benchmarks/results/.
"""

from __future__ import annotations

import argparse
import os
import sys


def _early_threads(argv: list[str]) -> str:
    """The thread count, read before NumPy, JAX or PyTorch start their thread pools."""
    for i, a in enumerate(argv):
        if a == "--threads" and i + 1 < len(argv):
            return argv[i + 1]
        if a.startswith("--threads="):
            return a.split("=", 1)[1]
    return "1"


_THREADS = _early_threads(sys.argv[1:])
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = _THREADS
if _THREADS == "1":
    os.environ.setdefault(
        "XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1")
os.environ.setdefault("JAX_PLATFORMS", "cpu")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import gc  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import platform  # noqa: E402
import subprocess  # noqa: E402
import time  # noqa: E402
import traceback  # noqa: E402
from typing import Any, Callable  # noqa: E402

import numpy as np  # noqa: E402

import peers as pr  # noqa: E402
import symback as sb  # noqa: E402
import timing as tm  # noqa: E402
import workloads as wl  # noqa: E402
from symback.graph import toposort  # noqa: E402
from symback.rules import optimize  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))

FULL = {
    "w2_build": [1000, 10000], "w2_eval": 1000, "w2_sympy_diff": [10, 20, 40, 80],
    "w3_build": [1000, 10000], "w3_eval": 1000, "w3_sympy_diff": [2, 3, 4, 5, 6],
    "points": 10_000, "build_repeats": 5, "w4_batches": [64, 1797], "hidden": 256,
    "rounds": 41, "target": 0.003, "sympy_cap_s": 60.0, "memory_n": 10_000,
}
QUICK = {
    "w2_build": [10, 30], "w2_eval": 10, "w2_sympy_diff": [5],
    "w3_build": [5, 15], "w3_eval": 5, "w3_sympy_diff": [2],
    "points": 100, "build_repeats": 1, "w4_batches": [8, 16], "hidden": 16,
    "rounds": 3, "target": 0.0005, "sympy_cap_s": 5.0, "memory_n": 30,
}


# --------------------------------------------------------------------------- helpers


def to_numpy(x: Any) -> Any:
    """Peers' results (tensors, CasADi DMs, lists, tuples) as NumPy arrays."""
    if isinstance(x, (list, tuple)):
        return [to_numpy(v) for v in x]
    if hasattr(x, "detach"):
        return x.detach().cpu().numpy()
    if type(x).__module__.startswith("casadi"):
        return np.array(x.full() if hasattr(x, "full") else x)
    return np.asarray(x)


def flat_grad(x: Any, n_out: int) -> np.ndarray:
    """A gradient (list of arrays, one array, one row per point ...) as an array of shape
    (n_out, points...) for comparison with the reference."""
    x = to_numpy(x)
    if isinstance(x, list):
        parts = [np.asarray(v, dtype=np.float64) for v in x]
        if len(parts) == 1:
            return flat_grad(parts[0], n_out)
        return np.stack([np.broadcast_to(p, np.broadcast_shapes(*[q.shape for q in parts]))
                         for p in parts])
    a = np.asarray(x, dtype=np.float64)
    a = np.squeeze(a)
    if a.ndim == 2 and a.shape[0] != n_out and a.shape[1] == n_out:
        a = a.T
    if a.ndim == 0:
        a = a.reshape(1)
    return a


class Run:
    """Collects results, checks and notes; prints progress."""

    def __init__(self, quick: bool) -> None:
        self.quick = quick
        self.data: dict[str, Any] = {"checks": [], "notes": [], "skipped": {}}

    def log(self, msg: str) -> None:
        print(msg, flush=True)

    def note(self, msg: str) -> None:
        self.data["notes"].append(msg)
        self.log("  note: " + msg)

    def check(self, name: str, got: Any, want: Any, rtol: float = 1e-9,
              atol: float = 1e-12) -> None:
        rel = wl.check_close(name, got, want, rtol, atol)
        self.data["checks"].append({"name": name, "max_rel_err": rel, "ok": True})


def fit_exponent(n1: float, t1: float, n2: float, t2: float) -> float:
    """The exponent k of t ∝ n^k through two points."""
    return math.log(t2 / t1) / math.log(n2 / n1)


def calibrate() -> float:
    """CPU seconds of a fixed 10^6-step Python loop: the machine's speed right now."""
    c0 = time.process_time()
    s = 0
    for i in range(1_000_000):
        s += i
    return time.process_time() - c0


def machine() -> dict[str, Any]:
    info: dict[str, Any] = {"python": platform.python_version(), "numpy": np.__version__,
                            "nproc": os.cpu_count(), "platform": platform.platform(),
                            "threads_per_framework": int(_THREADS)}
    try:
        lscpu = subprocess.run(["lscpu"], capture_output=True, text=True, timeout=5).stdout
        info["lscpu"] = "\n".join(lscpu.splitlines()[:20])
        for line in lscpu.splitlines():
            if line.startswith("Model name"):
                info["cpu"] = line.split(":", 1)[1].strip()
    except Exception:  # noqa: BLE001 - informational only
        pass
    try:
        info["load_average"] = os.getloadavg()
    except OSError:
        pass
    # calibration: a fixed pure-Python loop and a fixed NumPy loop, so that runs on
    # machines of different speed (or load) can be compared
    w0, c0 = time.perf_counter(), time.process_time()
    s = 0
    for i in range(1_000_000):
        s += i
    info["calib_python_loop_1e6_s"] = {"wall": time.perf_counter() - w0,
                                       "cpu": time.process_time() - c0}
    a = np.random.default_rng(0).standard_normal(1_000_000)
    w0, c0 = time.perf_counter(), time.process_time()
    for _ in range(20):
        np.exp(a)
    info["calib_numpy_exp_1e6_x20_s"] = {"wall": time.perf_counter() - w0,
                                         "cpu": time.process_time() - c0}
    return info


# --------------------------------------------------------------------------- W2 / W3


def build_symback_scalar(kind: str, n: int, backend: str = "numpy",
                         options: dict[str, Any] | None = None
                         ) -> tuple[Any, float, float, dict[str, Any]]:
    """One build of W2 (n) or W3 (depth n): symbols → gradient → callable → first value
    (``backend="llvm"``: the native compile included, as in SymEngine's figure)."""
    gc.collect()
    w0, c0 = time.perf_counter(), time.process_time()
    args, f = wl.w2_symback(n) if kind == "w2" else wl.w3_symback(n)
    w1, c1 = time.perf_counter(), time.process_time()
    grads = sb.grad(f, args)
    w2, c2 = time.perf_counter(), time.process_time()
    fn = sb.lambdify(args, grads, backend=backend, backend_options=options)
    w3, c3 = time.perf_counter(), time.process_time()
    val = fn(*([0.5] * len(args))) if backend == "numpy" else fn.call_packed(
        np.full(len(args), 0.5))
    w4, c4 = time.perf_counter(), time.process_time()
    phases = {"graph": (w1 - w0, c1 - c0), "grad": (w2 - w1, c2 - c1),
              "lambdify": (w3 - w2, c3 - c2), "first_value": (w4 - w3, c4 - c3)}
    return (args, f, grads, fn, val), w4 - w0, c4 - c0, phases


def scalar_builds(run: Run, kind: str, cfg: dict[str, Any]) -> None:
    """W2 (Rosenbrock) or W3 (deep chain): symback's builds and graph sizes (run before
    any peer is imported, so that no framework's objects burden the garbage collector)."""
    title = "W2 Rosenbrock" if kind == "w2" else "W3 deep chain"
    run.log(f"\n== {title}: symback builds")
    out: dict[str, Any] = {"build": {}, "sizes": {}, "eval": {}}
    run.data[kind] = out
    sizes = cfg[f"{kind}_build"]
    # ---- symback builds (median of repeats), graph sizes
    for n in sizes:
        reps = cfg["build_repeats"]
        walls, cpus, phases_all = [], [], []
        built = None
        for _ in range(reps):
            built = None  # the previous build must be gone: interning would reuse its nodes
            built, w, c, phases = build_symback_scalar(kind, n)
            walls.append(w)
            cpus.append(c)
            phases_all.append(phases)
        args, f, grads, fn, val = built
        ref = (wl.w2_grad_hand(np.full(n, 0.5)) if kind == "w2"
               else np.array(wl.w3_grad_hand(0.5, 0.5, n)))
        run.check(f"{kind} n={n} symback first value", flat_grad(val, len(args)), ref)
        order_f = toposort([f])
        fwd = len(order_f)
        raw = len(toposort(grads))
        compiled = len(toposort(optimize(grads)))
        out["sizes"][n] = {"forward_nodes": fwd, "gradient_nodes": raw,
                           "gradient_nodes_compiled": compiled,
                           "ratio": raw / fwd, "ratio_compiled": compiled / fwd}
        i_med = int(np.argsort(cpus)[len(cpus) // 2])
        out["build"][n] = {"symback": {"wall_s": float(np.median(walls)),
                                       "cpu_s": float(np.median(cpus)),
                                       "runs_wall_s": walls, "runs_cpu_s": cpus,
                                       "phases": phases_all[i_med]}}
        run.log(f"  symback build n={n}: wall {np.median(walls):.3f} s, cpu "
                f"{np.median(cpus):.3f} s; nodes forward {fwd}, gradient {raw} "
                f"(compiled {compiled}), ratio {raw / fwd:.2f}")
        del built, args, f, grads, fn, val
    if len(sizes) >= 2:
        a, b = sizes[0], sizes[-1]
        ba, bb = out["build"][a]["symback"], out["build"][b]["symback"]
        out["build_exponent"] = {
            "wall": fit_exponent(a, ba["wall_s"], b, bb["wall_s"]),
            "cpu": fit_exponent(a, ba["cpu_s"], b, bb["cpu_s"]), "between": [a, b]}
        run.log(f"  build growth exponent n={a}..{b}: {out['build_exponent']['cpu']:.2f} (cpu), "
                f"{out['build_exponent']['wall']:.2f} (wall)")


def scalar_workload(run: Run, kind: str, cfg: dict[str, Any], peers: list[str]) -> None:
    """W2 or W3 beside SymPy and the peers: SymPy's builds, evaluation."""
    title = "W2 Rosenbrock" if kind == "w2" else "W3 deep chain"
    run.log(f"\n== {title}: beside SymPy and the peers")
    out = run.data.setdefault(kind, {"build": {}, "sizes": {}, "eval": {}})
    # ---- SymPy's own diff at capped sizes (its build time grows fast)
    spent = 0.0
    for n in (cfg[f"{kind}_sympy_diff"] if "sympy" in cfg["parts"] else ()):
        if spent > cfg["sympy_cap_s"]:
            run.note(f"SymPy {kind} build stopped before n={n}: {spent:.0f} s spent (cap)")
            break
        try:
            if kind == "w2":
                built = pr.sympy_w2_full_diff(n)
            else:
                built = pr.sympy_w3(n, (0.5, 0.5), (np.full(3, 0.5), np.full(3, 0.5)))
        except Exception as e:  # noqa: BLE001
            run.note(f"SymPy {kind} build n={n} failed: {e!r:.100}")
            break
        spent += built.build_wall
        sym = build_symback_scalar(kind, n)
        out["build"].setdefault(n, {})["sympy"] = {"wall_s": built.build_wall,
                                                   "cpu_s": built.build_cpu}
        out["build"][n].setdefault("symback", {"wall_s": sym[1], "cpu_s": sym[2]})
        run.log(f"  sympy diff build n={n}: {built.build_wall:.3f} s (symback {sym[1]:.4f} s)")
    if "eval" not in cfg["parts"]:
        return
    # ---- evaluation at one size
    n = cfg[f"{kind}_eval"]
    P = cfg["points"]
    rng = np.random.default_rng(7)
    built, *_ = build_symback_scalar(kind, n)
    args, f, grads, fn, _ = built
    g1 = sb.lambdify(args, grads)                  # checked call (Python floats)
    gv = sb.lambdify(args, grads, check=False)     # vectorised: scalar symbols get arrays
    f1 = sb.lambdify(args, f)
    fvec = sb.lambdify(args, f, check=False)
    if kind == "w2":
        point = rng.uniform(-1.5, 1.5, n)
        points = rng.uniform(-1.5, 1.5, (n, P))
        p1 = [float(v) for v in point]
        pts = list(points)
        ref1, refp = wl.w2_grad_hand(point), wl.w2_grad_hand(points)
        hand = {"grad_1": lambda: wl.w2_grad_hand(point), "f_1": lambda: wl.w2_f_hand(point),
                "grad_10k": lambda: wl.w2_grad_hand(points),
                "f_10k": lambda: wl.w2_f_hand(points)}
    else:
        point = (0.7, 0.3)
        points = (rng.uniform(-1, 1, P), rng.uniform(-1, 1, P))
        p1 = list(point)
        pts = list(points)
        ref1 = np.array(wl.w3_grad_hand(point[0], point[1], n))
        refp = np.array(wl.w3_grad_hand(points[0], points[1], n))
        hand = {"grad_1": lambda: wl.w3_grad_hand(point[0], point[1], n),
                "f_1": lambda: wl.w3_f_hand(point[0], point[1], n),
                "grad_10k": lambda: wl.w3_grad_hand(points[0], points[1], n),
                "f_10k": lambda: wl.w3_f_hand(points[0], points[1], n)}
    cands: dict[str, dict[str, Callable[[], Any]]] = {
        "symback": {"grad_1": lambda: g1(*p1), "f_1": lambda: f1(*p1),
                    "grad_10k": lambda: gv(*pts), "f_10k": lambda: fvec(*pts)},
        # like SymPy's lambdify: no argument checks, outputs as computed
        "symback (check=False)": {"grad_1": lambda: gv(*p1), "f_1": lambda: fvec(*p1)},
        "numpy (hand)": hand,
    }
    builds: dict[str, Any] = {}
    if "llvm" in cfg.get("backends", ()):
        # the native backend, called as the README recommends: all arguments in one array
        # (call_packed) for W2's 1,000 symbols, Python floats / arrays for W3's two
        build_symback_scalar(kind, 3, "llvm")  # LLVM's one-time start, as peers' imports
        lb, lw, lc, _ = build_symback_scalar(kind, n, "llvm")
        out["build"].setdefault(n, {})["symback (llvm)"] = {"wall_s": lw, "cpu_s": lc}
        gl = lb[3]
        fl = sb.lambdify(args, f, backend="llvm")
        if kind == "w2":
            pt1, ptsn = np.ascontiguousarray(point), np.ascontiguousarray(points)
            cands["symback (llvm)"] = {
                "grad_1": lambda: gl.call_packed(pt1), "f_1": lambda: fl.call_packed(pt1),
                "grad_10k": lambda: gl.call_packed(ptsn), "f_10k": lambda: fl.call_packed(ptsn)}
            # arithmetic-bound: LLVM's -O2 (slower to compile) runs it ~2x faster
            lb2, lw2, lc2, _ = build_symback_scalar(kind, n, "llvm", {"opt": 2})
            out["build"][n]["symback (llvm, opt=2)"] = {"wall_s": lw2, "cpu_s": lc2}
            g2 = lb2[3]
            f2 = sb.lambdify(args, f, backend="llvm", backend_options={"opt": 2})
            cands["symback (llvm, opt=2)"] = {
                "grad_1": lambda: g2.call_packed(pt1), "f_1": lambda: f2.call_packed(pt1),
                "grad_10k": lambda: g2.call_packed(ptsn), "f_10k": lambda: f2.call_packed(ptsn)}
        else:
            cands["symback (llvm)"] = {
                "grad_1": lambda: gl(*p1), "f_1": lambda: fl(*p1),
                "grad_10k": lambda: gl(*pts), "f_10k": lambda: fl(*pts)}
    if kind == "w2":
        # Rosenbrock on one vector symbol, as JAX and CasADi users write it (NumPy backend)
        xv = sb.vector("x", n)
        fv_ = sb.sum(100 * (xv[1:] - xv[:-1] ** 2) ** 2 + (1 - xv[:-1]) ** 2)
        w0, c0 = time.perf_counter(), time.process_time()
        gvx = sb.lambdify([xv], sb.grad(fv_, [xv])[0])
        gvx(point)
        out["build"].setdefault(n, {})["symback (vector x)"] = {
            "wall_s": time.perf_counter() - w0, "cpu_s": time.process_time() - c0}
        fvx = sb.lambdify([xv], fv_)
        cands["symback (vector x)"] = {"grad_1": lambda: gvx(point), "f_1": lambda: fvx(point)}
        if "llvm" in cfg.get("backends", ()):
            # the same vector form on the native backend (scalarised entry by entry), -O2;
            # points as a trailing axis: points[:, p] is point p, as x's array of points
            w0, c0 = time.perf_counter(), time.process_time()
            glx = sb.lambdify([xv], sb.grad(fv_, [xv])[0], backend="llvm", opt=2)
            glx(point)
            out["build"][n]["symback (vector x, llvm opt=2)"] = {
                "wall_s": time.perf_counter() - w0, "cpu_s": time.process_time() - c0}
            flx = sb.lambdify([xv], fv_, backend="llvm", opt=2)
            ptsx = np.ascontiguousarray(points)
            cands["symback (vector x, llvm opt=2)"] = {
                "grad_1": lambda: glx(point), "f_1": lambda: flx(point),
                "grad_10k": lambda: glx(ptsx), "f_10k": lambda: flx(ptsx)}
    # SymPy on the same gradient (W2: diff of the terms holding each symbol; W3: only
    # possible at small depth, so it is compared there, below)
    if kind == "w2":
        try:
            sp = pr.sympy_w2_sparse(n, point, points)
            cands["sympy"] = sp.fns
            builds["sympy (sparse diff)"] = sp
        except Exception as e:  # noqa: BLE001
            run.note(f"SymPy W2 eval failed: {e!r:.100}")
    for peer in peers:
        if peer == "sympy" or not hasattr(pr, f"{peer}_{kind}"):
            continue
        try:
            built_p = getattr(pr, f"{peer}_{kind}")(n, point, points)
            cands[peer] = built_p.fns
            builds[peer] = built_p
        except Exception as e:  # noqa: BLE001
            run.note(f"{peer} {kind} failed: {e!r:.160}")
            run.data["skipped"][f"{peer} {kind}"] = repr(e)[:300]
    # checks before timing
    for name, fns in list(cands.items()):
        try:
            run.check(f"{kind} {name} grad at one point", flat_grad(fns["grad_1"](), len(ref1)),
                      ref1, rtol=1e-9)
            if "grad_10k" in fns:
                run.check(f"{kind} {name} grad at {P} points",
                          flat_grad(fns["grad_10k"](), len(ref1)), refp, rtol=1e-9)
        except AssertionError:
            if name == "symback":
                raise
            run.note(f"{name} {kind}: gradient check failed, not timed: "
                     f"{traceback.format_exc(limit=1).splitlines()[-1]}")
            del cands[name]
    for name, b in builds.items():
        out["build"].setdefault(n, {})[name] = {"wall_s": b.build_wall, "cpu_s": b.build_cpu,
                                               "note": b.note}
    res: dict[str, dict[str, Any]] = {}
    for mode in ("grad_1", "f_1", "grad_10k", "f_10k"):
        t = tm.interleaved({k: v[mode] for k, v in cands.items() if mode in v},
                           rounds=cfg["rounds"], target=cfg["target"])
        for k, v in t.items():
            res.setdefault(k, {})[mode] = v.as_dict()
    out["eval"] = {"n": n, "points": P, "results": res}
    for k, r in res.items():
        line = ", ".join(f"{m} {r[m]['cpu_s'] * 1e6:.1f} us" for m in r)
        run.log(f"  eval {k}: {line}")
    # W3 beside SymPy at a depth SymPy can differentiate
    if kind == "w3":
        small = [d for d in cfg["w3_sympy_diff"] if d in out["build"]
                 and "sympy" in out["build"][d]]
        if small:
            d = small[-1]
            sp = pr.sympy_w3(d, point, points)
            bs, *_ = build_symback_scalar("w3", d)
            a3, f3, gr3, _, _ = bs
            sg1, sgv = sb.lambdify(a3, gr3), sb.lambdify(a3, gr3, check=False)
            r1 = np.array(wl.w3_grad_hand(point[0], point[1], d))
            rp = np.array(wl.w3_grad_hand(points[0], points[1], d))
            run.check(f"w3 d={d} sympy grad", flat_grad(sp.fns["grad_1"](), 2), r1)
            run.check(f"w3 d={d} sympy grad points", flat_grad(sp.fns["grad_10k"](), 2), rp)
            run.check(f"w3 d={d} symback grad", flat_grad(sg1(*p1), 2), r1)
            run.check(f"w3 d={d} symback unchecked grad", flat_grad(sgv(*p1), 2), r1)
            small_c = {"symback": {"grad_1": lambda: sg1(*p1), "grad_10k": lambda: sgv(*pts)},
                       "symback (check=False)": {"grad_1": lambda: sgv(*p1),
                                                 "grad_10k": lambda: sgv(*pts)},
                       "sympy": sp.fns}
            sm: dict[str, Any] = {}
            for mode in ("grad_1", "grad_10k"):
                t = tm.interleaved({k: v[mode] for k, v in small_c.items()},
                                   rounds=cfg["rounds"], target=cfg["target"])
                for k, v in t.items():
                    sm.setdefault(k, {})[mode] = v.as_dict()
            out["eval_vs_sympy_small"] = {"depth": d, "results": sm}
            run.log(f"  beside SymPy at d={d}: " + ", ".join(
                f"{k} grad_1 {v['grad_1']['cpu_s'] * 1e6:.1f} us, grad_10k "
                f"{v['grad_10k']['cpu_s'] * 1e3:.2f} ms" for k, v in sm.items()))


def build_memory(run: Run, cfg: dict[str, Any], peers: list[str]) -> None:
    """Peak memory of one build at n = d = cfg["memory_n"], each in a fresh process
    (build_memory.py), symback's forms and CasADi's."""
    import subprocess as sp

    n = cfg["memory_n"]
    run.log(f"\n== peak build memory at {n} (fresh processes)")
    impls = ["symback", "symback-vector"]
    if "llvm" in cfg["backends"]:
        impls.append("symback-llvm")
    if "casadi" in peers:
        impls.append("casadi")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [os.path.dirname(HERE), os.environ.get("PYTHONPATH", "")]))
    res: dict[str, dict[str, Any]] = {}
    for kind in ("w2", "w3"):
        for impl in impls:
            if impl == "symback-vector" and kind != "w2":
                continue
            p = sp.run([sys.executable, os.path.join(HERE, "build_memory.py"), impl, kind,
                        str(n)], capture_output=True, text=True, env=env, timeout=900)
            try:
                v = json.loads(p.stdout.strip().splitlines()[-1])["peak_growth_bytes"]
            except Exception:  # noqa: BLE001
                run.note(f"build memory {impl} {kind} failed: {p.stderr[-200:]!r}")
                continue
            name = {"symback": "symback", "symback-llvm": "symback (llvm)",
                    "symback-vector": "symback (vector x)", "casadi": "casadi"}[impl]
            res.setdefault(kind, {})[name] = v
            run.log(f"  {kind} {name}: {v / 1e6:.1f} MB")
    run.data["build_memory"] = res


# --------------------------------------------------------------------------- W4 / W5


def peer_steps(run: Run, peers: list[str], workload: str, label: str,
               make: Callable[[Any], Any], ref: Any, names: tuple[str, str, str],
               tol: dict[str, float]) -> tuple[dict[str, Callable[[], Any]],
                                               dict[str, tuple[float, float]]]:
    """The installed peers' training steps for W4 or W5 (``peers.<peer>_<workload>``, built
    by ``make``): each one's value and two gradients checked against the hand-derived
    ``ref`` before it may be timed. Returns the timing candidates and the build times; a
    peer that fails is noted and skipped."""
    cands: dict[str, Callable[[], Any]] = {}
    builds: dict[str, tuple[float, float]] = {}
    for peer in peers:
        fn = getattr(pr, f"{peer}_{workload}", None)
        if fn is None:
            continue
        try:
            b = make(fn)
            res = to_numpy(b.fns["step"]())
            got = (res[0], res[1], res[2]) if len(res) == 3 else (res[0], res[1][0], res[1][1])
            for name, g, r in zip(names, got, ref):
                run.check(f"{label} {peer} {name}", g, r, **tol)
            cands[peer] = b.fns["step"]
            builds[peer] = (b.build_wall, b.build_cpu)
        except Exception as e:  # noqa: BLE001
            run.note(f"{peer} {label} failed: {e!r:.160}")
            run.data["skipped"][f"{peer} {label}"] = repr(e)[:300]
    return cands, builds


def mlp_workload(run: Run, cfg: dict[str, Any], peers: list[str]) -> None:
    run.log("\n== W4 MLP step")
    out: dict[str, Any] = {}
    run.data["w4"] = out
    hidden = cfg["hidden"]
    for dtype in ("float64", "float32"):
        for batch in cfg["w4_batches"]:
            key = f"{dtype} batch {batch}"
            data = wl.w4_data(batch, dtype, quick=run.quick, hidden=hidden)
            args, J, wrt = wl.w4_symback(batch, dtype, hidden)
            w0, c0 = time.perf_counter(), time.process_time()
            step_sb = sb.value_and_grad(J, wrt, args=args)
            vals = (data["X"], data["Y"], data["W1"], data["W2"])
            first = step_sb(*vals)
            build = (time.perf_counter() - w0, time.process_time() - c0)
            hand = wl.MLPHand()
            ref = hand(*vals)
            tol = 1e-9 if dtype == "float64" else 2e-4
            run.check(f"w4 {key} symback value", first[0], ref[0], rtol=tol, atol=tol)
            run.check(f"w4 {key} symback dW1", first[1][0], ref[1], rtol=tol, atol=tol)
            run.check(f"w4 {key} symback dW2", first[1][1], ref[2], rtol=tol, atol=tol)
            if dtype == "float32" and not (first[1][0].dtype == np.float32
                                           and first[1][1].dtype == np.float32):
                raise AssertionError("w4 float32: symback's gradients are not float32")
            cands: dict[str, Callable[[], Any]] = {
                "numpy (hand)": lambda: hand(*vals), "symback": lambda: step_sb(*vals)}
            builds = {"symback": build}
            peer_cands, peer_builds = peer_steps(
                run, peers, "w4", f"w4 {key}", lambda fn: fn(data, dtype), ref,
                ("value", "dW1", "dW2"), {"rtol": tol, "atol": tol})
            cands.update(peer_cands)
            builds.update(peer_builds)
            t = tm.interleaved(cands, rounds=cfg["rounds"], target=cfg["target"])
            # peak memory of one step: cold (first call of a fresh function: its buffers
            # are allocated in it) and warm (buffers kept between calls not counted)
            fresh_sb = sb.value_and_grad(J, wrt, args=args)
            mem = {"numpy (hand)": {"cold": tm.peak_memory(lambda: wl.MLPHand()(*vals), False),
                                    "warm": tm.peak_memory(lambda: hand(*vals), True)},
                   "symback": {"cold": tm.peak_memory(lambda: fresh_sb(*vals), False),
                               "warm": tm.peak_memory(lambda: step_sb(*vals), True)}}
            out[key] = {"times": {k: v.as_dict() for k, v in t.items()},
                        "build": {k: {"wall_s": v[0], "cpu_s": v[1]} for k, v in builds.items()},
                        "peak_memory_bytes": mem}
            h = t["numpy (hand)"]
            run.log(f"  {key}: " + ", ".join(
                f"{k} {v.cpu * 1e3:.3f} ms ({v.cpu / h.cpu:.2f}x)" for k, v in t.items())
                + f"; peak memory cold {mem['symback']['cold'] / mem['numpy (hand)']['cold']:.2f}x"
                  f" of hand")


def logistic_workload(run: Run, cfg: dict[str, Any], peers: list[str]) -> None:
    run.log("\n== W5 logistic regression")
    data = wl.w5_data(quick=run.quick)
    X, y, w, b = data["X"], data["y"], data["w"], data["b"]
    args, L, wrt = wl.w5_symback(*X.shape)
    w0, c0 = time.perf_counter(), time.process_time()
    step_sb = sb.value_and_grad(L, wrt, args=args)
    first = step_sb(X, y, w, b)
    build = (time.perf_counter() - w0, time.process_time() - c0)
    ref = wl.w5_hand(X, y, w, b)
    for i, (g, r) in enumerate(zip([first[0], *first[1]], ref)):
        run.check(f"w5 symback output {i}", g, r)
    cands: dict[str, Callable[[], Any]] = {"numpy (hand)": lambda: wl.w5_hand(X, y, w, b),
                                            "symback": lambda: step_sb(X, y, w, b)}
    builds = {"symback": build}
    peer_cands, peer_builds = peer_steps(run, peers, "w5", "w5", lambda fn: fn(data), ref,
                                         ("value", "dw", "db"), {})
    cands.update(peer_cands)
    builds.update(peer_builds)
    t = tm.interleaved(cands, rounds=cfg["rounds"], target=cfg["target"])
    run.data["w5"] = {"times": {k: v.as_dict() for k, v in t.items()},
                      "build": {k: {"wall_s": v[0], "cpu_s": v[1]} for k, v in builds.items()},
                      "shape": list(X.shape)}
    h = t["numpy (hand)"]
    run.log("  " + ", ".join(f"{k} {v.cpu * 1e6:.1f} us ({v.cpu / h.cpu:.2f}x)"
                             for k, v in t.items()))


# --------------------------------------------------------------------------- floors


def floors(run: Run, cfg: dict[str, Any]) -> list[dict[str, Any]]:
    """The issue's floors, each with the measured value (CPU time unless noted)."""
    d = run.data
    rows: list[dict[str, Any]] = []

    def add(name: str, value: float, limit: float, unit: str, how: str = "") -> None:
        rows.append({"floor": name, "value": value, "limit": limit, "unit": unit,
                     "holds": bool(value <= limit), "how": how})

    for kind, label in (("w2", "W2 build"), ("w3", "W3 build")):
        sizes = cfg[f"{kind}_build"]
        limits = {sizes[0]: 0.5, sizes[-1]: 5.0}
        for n in sizes:
            b = d[kind]["build"][n]["symback"]
            add(f"{label} n={n}", b["cpu_s"], limits[n], "s",
                f"wall {b['wall_s']:.3f} s; fastest of {len(b.get('runs_cpu_s', [0]))} "
                f"{min(b.get('runs_cpu_s', [b['cpu_s']])):.3f} s")
        for n in sizes:
            add(f"{kind.upper()} gradient nodes / forward nodes (n={n})",
                d[kind]["sizes"][n]["ratio"], 4.0, "x",
                f"compiled {d[kind]['sizes'][n]['ratio_compiled']:.2f}x")
        r = d[kind]["eval"]["results"]
        sbr = r["symback"]
        add(f"{kind.upper()} grad / f over {d[kind]['eval']['points']} points",
            sbr["grad_10k"]["cpu_s"] / sbr["f_10k"]["cpu_s"], 3.0, "x")
        sym = r.get("sympy") or (d[kind].get("eval_vs_sympy_small") or {}).get(
            "results", {}).get("sympy")
        if sym is not None:
            res = r if "sympy" in r else d[kind]["eval_vs_sympy_small"]["results"]
            where = "" if "sympy" in r else (
                f"at depth {d[kind]['eval_vs_sympy_small']['depth']} (SymPy's limit); ")
            for mode in ("grad_1", "grad_10k"):
                # like for like: SymPy's lambdify checks no argument and converts no output
                mine = res.get("symback (check=False)", {}).get(mode) or res["symback"][mode]
                checked = res["symback"][mode]["cpu_s"] / sym[mode]["cpu_s"]
                add(f"{kind.upper()} {mode} symback / SymPy lambdify(cse=True)",
                    mine["cpu_s"] / sym[mode]["cpu_s"], 1.0, "x",
                    f"{where}check=False; with checks {checked:.2f}x")
    # issue 15: symback beside SymEngine (LLVM), JAX and CasADi
    for kind in ("w2", "w3"):
        r = d[kind]["eval"]["results"]
        n = d[kind]["eval"]["n"]
        forms = ["symback (llvm)"] + (["symback (llvm, opt=2)", "symback (vector x)",
                                       "symback (vector x, llvm opt=2)"]
                                      if kind == "w2" else [])
        for form in forms:
            for mode, peers_ in (("grad_1", ("symengine",)), ("grad_10k", ("symengine", "jax"))):
                if form not in r or mode not in r[form]:
                    continue
                for peer in peers_:
                    if peer in r and mode in r[peer]:
                        add(f"{kind.upper()} n={n} {mode} {form} / {peer}",
                            r[form][mode]["cpu_s"] / r[peer][mode]["cpu_s"], 1.0, "x")
        b = d[kind]["build"].get(n, {})
        if "casadi" in b:
            for form in ("symback", "symback (llvm)", "symback (llvm, opt=2)",
                         "symback (vector x)", "symback (vector x, llvm opt=2)"):
                if form in b:
                    add(f"{kind.upper()} build n={n} {form} / CasADi (wall)",
                        b[form]["wall_s"] / b["casadi"]["wall_s"], 1.0, "x")
    for kind, m in d.get("build_memory", {}).items():
        cas = m.get("casadi")
        for form, v in m.items():
            if form != "casadi" and cas and v is not None:
                add(f"{kind.upper()} peak build memory at {cfg['memory_n']}: {form} / CasADi",
                    v / max(cas, 1), 4.0, "x", f"{v / 1e6:.0f} MB vs {cas / 1e6:.0f} MB")
    for key, v in d.get("w4", {}).items():
        t = v["times"]
        add(f"W4 {key} symback / hand NumPy", t["symback"]["cpu_s"] / t["numpy (hand)"]["cpu_s"],
            1.1, "x")
        m = v["peak_memory_bytes"]
        add(f"W4 {key} peak memory symback / hand (cold)",
            m["symback"]["cold"] / max(m["numpy (hand)"]["cold"], 1), 1.2, "x",
            f"warm {m['symback']['warm'] / max(m['numpy (hand)']['warm'], 1):.2f}x")
    if "w5" in d:
        t = d["w5"]["times"]
        add("W5 symback / hand NumPy", t["symback"]["cpu_s"] / t["numpy (hand)"]["cpu_s"], 1.3, "x")
    return rows


# --------------------------------------------------------------------------- report


def _fmt_t(s: float | None) -> str:
    if s is None:
        return "–"
    if s >= 1:
        return f"{s:.2f} s"
    if s >= 1e-3:
        return f"{s * 1e3:.2f} ms"
    return f"{s * 1e6:.1f} µs"


_NOT_PEERS = ("numpy (hand)",)


def fastest_rows(d: dict[str, Any]) -> list[dict[str, Any]]:
    """For every build and evaluation row: symback's fastest form, the fastest peer (hand
    NumPy is a reference, not a peer), and symback's time over the peer's (> 1: a loss)."""
    rows: list[dict[str, Any]] = []

    def add(what: str, entries: dict[str, float]) -> None:
        mine = {k: v for k, v in entries.items() if k.startswith("symback") and v}
        peers = {k: v for k, v in entries.items()
                 if not k.startswith("symback") and k not in _NOT_PEERS and v}
        if not mine or not peers:
            return
        s_name = min(mine, key=mine.get)
        p_name = min(peers, key=peers.get)
        rows.append({"row": what, "symback": s_name, "symback_s": mine[s_name],
                     "peer": p_name, "peer_s": peers[p_name],
                     "ratio": mine[s_name] / peers[p_name]})

    for kind in ("w2", "w3"):
        if kind not in d or not d[kind].get("eval"):
            continue
        for n, row in sorted(d[kind]["build"].items(), key=lambda kv: int(kv[0])):
            add(f"{kind.upper()} build n={n} (wall)", {k: v.get("wall_s") for k, v in row.items()})
        e = d[kind]["eval"]
        for mode, label in (("grad_1", "gradient, 1 point"), ("f_1", "f, 1 point"),
                            ("grad_10k", f"gradient, {e['points']} points"),
                            ("f_10k", f"f, {e['points']} points")):
            add(f"{kind.upper()} {label} (n={e['n']})",
                {k: r.get(mode, {}).get("cpu_s") for k, r in e["results"].items()})
    for key, v in d.get("w4", {}).items():
        add(f"W4 step {key}", {k: x["cpu_s"] for k, x in v["times"].items()})
    if "w5" in d:
        add("W5 step", {k: x["cpu_s"] for k, x in d["w5"]["times"].items()})
    return rows


def markdown(run: Run, cfg: dict[str, Any], command: str) -> str:
    d = run.data
    m = d["machine"]
    lines = [f"# symback benchmarks ({'quick' if run.quick else 'full'} run)", "",
             f"Command: `{command}`  ",
             f"Machine: {m.get('cpu', '?')}, nproc {m['nproc']}, Python {m['python']}, "
             f"NumPy {m['numpy']}; {m['threads_per_framework']} compute thread per framework; "
             f"load average at start {tuple(round(x, 1) for x in m.get('load_average', ()))}  ",
             f"Calibration: a 10⁶-step Python loop took {m['calib_python_loop_1e6_s']['cpu']:.3f} s "
             f"CPU, 20 × np.exp of 10⁶ floats {m['calib_numpy_exp_1e6_x20_s']['cpu']:.3f} s CPU.  ",
             "The same loop before each part (the machine is shared, its speed varies): "
             + ", ".join(f"{k} {v:.3f} s" for k, v in
                         d.get("calibration_python_loop_1e6_cpu_s", {}).items()) + ".  ",
             f"Versions: {', '.join(f'{k} {v}' for k, v in d['versions'].items())}", "",
             "Times are medians over interleaved rounds, CPU time of this process (wall time "
             "in the JSON). Ratios are against the first column named in each table.", ""]
    # builds
    lines += ["## Build: symbols → gradient → callable → first value", "",
              "| workload | size | symback (cpu) | symback (wall) | others (wall) |",
              "|---|---|---|---|---|"]
    scalar_kinds = [k for k in ("w2", "w3") if k in d and d[k].get("eval")]  # (--only)
    for kind, label in (("w2", "W2 Rosenbrock"), ("w3", "W3 deep chain")):
        if kind not in scalar_kinds:
            continue
        for n, row in sorted(d[kind]["build"].items(), key=lambda kv: int(kv[0])):
            s = row.get("symback", {})
            others = ", ".join(f"{k} {_fmt_t(v['wall_s'])}" for k, v in row.items()
                               if k != "symback")
            lines.append(f"| {label} | {n} | {_fmt_t(s.get('cpu_s'))} | {_fmt_t(s.get('wall_s'))} "
                         f"| {others or '–'} |")
        if "build_exponent" in d[kind]:
            e = d[kind]["build_exponent"]
            lines.append(f"| {label} | growth exponent {e['between'][0]}→{e['between'][1]} | "
                         f"{e['cpu']:.2f} | {e['wall']:.2f} | |")
    lines += ["", "## Graph sizes (nodes)", "",
              "| workload | size | forward | gradient (as built) | ratio | gradient (compiled) "
              "| ratio |", "|---|---|---|---|---|---|---|"]
    for kind in scalar_kinds:
        for n, s in d[kind]["sizes"].items():
            lines.append(f"| {kind.upper()} | {n} | {s['forward_nodes']} | {s['gradient_nodes']} | "
                         f"{s['ratio']:.2f} | {s['gradient_nodes_compiled']} | "
                         f"{s['ratio_compiled']:.2f} |")
    for kind in scalar_kinds:
        e = d[kind]["eval"]
        res = e["results"]
        lines += ["", f"## {kind.upper()} evaluation (size {e['n']}, {e['points']} points)", "",
                  "| | grad, 1 point | f, 1 point | grad, points | f, points | grad/f (points) "
                  "| grad vs symback (1 pt / points) |", "|---|---|---|---|---|---|---|"]
        base = res["symback"]
        for k, r in res.items():
            g1, f1 = r.get("grad_1", {}).get("cpu_s"), r.get("f_1", {}).get("cpu_s")
            gp, fp = r.get("grad_10k", {}).get("cpu_s"), r.get("f_10k", {}).get("cpu_s")
            ratio = f"{gp / fp:.2f}" if gp and fp else "–"
            vs = (f"{g1 / base['grad_1']['cpu_s']:.2f}x / {gp / base['grad_10k']['cpu_s']:.2f}x"
                  if g1 and gp else "–")
            lines.append(f"| {k} | {_fmt_t(g1)} | {_fmt_t(f1)} | {_fmt_t(gp)} | {_fmt_t(fp)} | "
                         f"{ratio} | {vs} |")
        if kind == "w3" and "eval_vs_sympy_small" in d["w3"]:
            sm = d["w3"]["eval_vs_sympy_small"]
            r = sm["results"]
            lines.append(f"| (depth {sm['depth']}) symback | {_fmt_t(r['symback']['grad_1']['cpu_s'])}"
                         f" | | {_fmt_t(r['symback']['grad_10k']['cpu_s'])} | | | |")
            lines.append(f"| (depth {sm['depth']}) sympy | {_fmt_t(r['sympy']['grad_1']['cpu_s'])} "
                         f"| | {_fmt_t(r['sympy']['grad_10k']['cpu_s'])} | | | "
                         f"{r['sympy']['grad_1']['cpu_s'] / r['symback']['grad_1']['cpu_s']:.2f}x / "
                         f"{r['sympy']['grad_10k']['cpu_s'] / r['symback']['grad_10k']['cpu_s']:.2f}x |")
    if "w4" in d:
        lines += ["", "## W4 MLP value and gradient (one step)", "",
                  "| config | hand NumPy | symback | ratio | peers (ratio to hand) | peak memory "
                  "symback / hand (cold, warm) |", "|---|---|---|---|---|---|"]
        for key, v in d["w4"].items():
            t = v["times"]
            h = t["numpy (hand)"]["cpu_s"]
            s = t["symback"]["cpu_s"]
            others = ", ".join(f"{k} {_fmt_t(x['cpu_s'])} ({x['cpu_s'] / h:.2f}x)"
                               for k, x in t.items() if k not in ("numpy (hand)", "symback"))
            mm = v["peak_memory_bytes"]
            mem = (f"{mm['symback']['cold'] / 1e6:.2f} / {mm['numpy (hand)']['cold'] / 1e6:.2f} MB "
                   f"({mm['symback']['cold'] / max(mm['numpy (hand)']['cold'], 1):.2f}x), "
                   f"{mm['symback']['warm'] / max(mm['numpy (hand)']['warm'], 1):.2f}x")
            lines.append(f"| {key} | {_fmt_t(h)} | {_fmt_t(s)} | {s / h:.2f}x | {others or '–'} "
                         f"| {mem} |")
    if "w5" in d:
        t = d["w5"]["times"]
        h = t["numpy (hand)"]["cpu_s"]
        lines += ["", f"## W5 logistic regression (value and gradient, {d['w5']['shape']})", "",
                  "| | time | ratio to hand NumPy |", "|---|---|---|"]
        for k, x in t.items():
            lines.append(f"| {k} | {_fmt_t(x['cpu_s'])} | {x['cpu_s'] / h:.2f}x |")
    if d.get("build_memory"):
        lines += ["", f"## Peak memory of one build at n = d = {cfg['memory_n']} (fresh process, "
                  "resident set growth)", "", "| workload | " + " | ".join(
                      sorted({k for v in d["build_memory"].values() for k in v})) + " |"]
        cols = sorted({k for v in d["build_memory"].values() for k in v})
        lines.append("|---|" + "---|" * len(cols))
        for kind, v in d["build_memory"].items():
            lines.append(f"| {kind.upper()} | " + " | ".join(
                f"{v[c] / 1e6:.1f} MB" if c in v else "–" for c in cols) + " |")
    fr = fastest_rows(d)
    if fr:
        lines += ["", "## symback beside the fastest peer, row by row", "",
                  "Each row: symback's fastest form, the fastest peer (hand-written NumPy is "
                  "the reference, not a peer) and symback's time over the peer's "
                  "(below 1: symback is faster; above 1: it loses).", "",
                  "| row | symback | fastest peer | symback / peer |", "|---|---|---|---|"]
        for r in fr:
            verdict = "" if r["ratio"] <= 1.0 else " (**loses**)"
            lines.append(f"| {r['row']} | {r['symback']} {_fmt_t(r['symback_s'])} | "
                         f"{r['peer']} {_fmt_t(r['peer_s'])} | {r['ratio']:.2f}x{verdict} |")
    lines += ["", "## Floors", "", "| floor | measured | limit | holds | |", "|---|---|---|---|---|"]
    for r in d["floors"]:
        lines.append(f"| {r['floor']} | {r['value']:.3f} {r['unit']} | ≤ {r['limit']} {r['unit']} | "
                     f"{'yes' if r['holds'] else '**no**'} | {r['how']} |")
    lines += ["", f"Gradient checks passed: {len(d['checks'])} (all implementations, before "
              "timing, against hand-derived NumPy)."]
    if d["notes"]:
        lines += ["", "Notes:"] + [f"- {n}" for n in d["notes"]]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="tiny sizes (seconds; CI smoke test)")
    ap.add_argument("--no-peers", action="store_true", help="skip the optional peers")
    ap.add_argument("--peers", default=",".join(pr.PEERS[1:]),
                    help="comma-separated optional peers (default: all installed)")
    ap.add_argument("--out", default=os.path.join(HERE, "results"), help="output directory")
    ap.add_argument("--threads", default=_THREADS, help="compute threads per framework")
    ap.add_argument("--only", default="w2,w3,w4,w5", help="workloads to run")
    ap.add_argument("--parts", default="builds,sympy,eval,memory",
                    help="W2/W3 parts: builds (symback's at two sizes), sympy (SymPy's diff at "
                         "small sizes), eval (evaluation beside the peers, with their builds)")
    ap.add_argument("--backends", default="numpy,llvm",
                    help="symback backends for W2/W3 (llvm: when llvmlite is installed)")
    ns = ap.parse_args(argv)
    cfg = dict(QUICK if ns.quick else FULL)
    cfg["parts"] = ns.parts.split(",")
    cfg["backends"] = [b for b in ns.backends.split(",")
                       if b != "llvm" or pr.available("llvmlite")[0]]
    run = Run(ns.quick)
    command = "python benchmarks/run.py " + " ".join(argv if argv is not None else sys.argv[1:])
    run.data["command"] = command.strip()
    run.data["machine"] = machine()
    versions = {"symback": sb.__version__, "numpy": np.__version__}
    ok, v = pr.available("sympy")
    versions["sympy"] = v
    peers: list[str] = []
    if not ns.no_peers:
        for p in [p.strip() for p in ns.peers.split(",") if p.strip()]:
            ok, v = pr.available(p)
            if ok:
                peers.append(p)
                versions[p] = v
            else:
                run.note(f"{p} not installed ({v}); skipped")
                run.data["skipped"][p] = v
    run.data["versions"] = versions
    run.data["config"] = cfg
    run.log(f"symback benchmarks ({'quick' if ns.quick else 'full'}); peers: "
            f"{', '.join(['sympy'] + peers)}; {ns.threads} thread(s)")
    only = set(ns.only.split(","))
    t0 = time.perf_counter()
    cal = run.data["calibration_python_loop_1e6_cpu_s"] = {}
    for kind in ("w2", "w3"):
        if kind in only and "builds" in cfg["parts"]:
            cal[f"{kind} builds"] = calibrate()
            scalar_builds(run, kind, cfg)
    for kind in ("w2", "w3"):
        if kind in only and ("eval" in cfg["parts"] or "sympy" in cfg["parts"]):
            cal[f"{kind} evaluation"] = calibrate()
            scalar_workload(run, kind, cfg, peers)
    if "memory" in cfg["parts"] and ({"w2", "w3"} & only):
        build_memory(run, cfg, peers)
    if "w4" in only:
        cal["w4"] = calibrate()
        mlp_workload(run, cfg, peers)
    if "w5" in only:
        cal["w5"] = calibrate()
        logistic_workload(run, cfg, peers)
    cal["end"] = calibrate()
    run.data["floors"] = (floors(run, cfg) if only >= {"w2", "w3", "w4", "w5"}
                          and set(cfg["parts"]) >= {"builds", "sympy", "eval"} else [])
    run.data["elapsed_s"] = time.perf_counter() - t0
    run.data["all_checks_ok"] = all(c["ok"] for c in run.data["checks"])
    os.makedirs(ns.out, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    md = markdown(run, cfg, run.data["command"])
    for name in (f"bench-{stamp}", "latest"):
        with open(os.path.join(ns.out, name + ".json"), "w") as fh:
            json.dump(run.data, fh, indent=1, default=str)
        with open(os.path.join(ns.out, name + ".md"), "w") as fh:
            fh.write(md)
    run.log("\n" + md)
    run.log(f"written: {os.path.join(ns.out, 'latest.md')} and .json "
            f"({run.data['elapsed_s']:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
