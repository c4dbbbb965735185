"""The peers, each written the way its users write it, for W2–W5.

Every builder returns a :class:`Built`: the build time (symbols or tracing →
gradient → callable → first value) and callables to time. SymPy is a
dependency of symback and always runs (at sizes capped so that the run ends);
SymEngine, CasADi, JAX, PyTorch and PyTensor run when installed (``pip install
symback[bench]``) and are skipped with a note otherwise. Each framework is held
to one compute thread, like NumPy here (see run.py).
"""

from __future__ import annotations

import importlib
import importlib.metadata
import importlib.util
import time
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

import workloads as wl

PEERS = ("sympy", "symengine", "casadi", "jax", "torch", "pytensor")


@dataclass
class Built:
    """A peer's compiled workload: build time, and named callables to check and time."""

    name: str
    build_wall: float
    build_cpu: float
    fns: dict[str, Callable[[], Any]] = field(default_factory=dict)
    note: str = ""


def available(name: str) -> tuple[bool, str]:
    """Is the peer installed? (and its version, or why not). Nothing is imported here:
    importing a framework fills the heap with objects that every garbage collection then
    walks, which would slow down whatever is timed next (symback's builds first)."""
    if importlib.util.find_spec(name) is None:
        return False, "not installed"
    try:
        return True, importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return True, "?"


def _timed(build: Callable[[], Any]) -> tuple[Any, float, float]:
    w0, c0 = time.perf_counter(), time.process_time()
    out = build()
    return out, time.perf_counter() - w0, time.process_time() - c0


# --------------------------------------------------------------------------- SymPy


def sympy_w2_full_diff(n: int) -> Built:
    """SymPy as its users write it: f, then ``diff`` by every symbol, ``lambdify(cse=True)``."""
    import sympy

    def build() -> Any:
        xs = sympy.symbols(f"x0:{n}")
        f = sum(100 * (xs[i + 1] - xs[i] ** 2) ** 2 + (1 - xs[i]) ** 2 for i in range(n - 1))
        grads = [sympy.diff(f, x) for x in xs]
        fn = sympy.lambdify(xs, grads, cse=True)
        fn(*([0.5] * n))
        return fn

    fn, w, c = _timed(build)
    return Built("sympy", w, c)


def sympy_w2_sparse(n: int, point: np.ndarray, points: np.ndarray) -> Built:
    """SymPy's ``diff`` of only the terms that hold each symbol (the sparsity found by
    hand, which plain ``diff`` of the sum does not exploit), then ``lambdify(cse=True)``:
    the gradient expressions every evaluation comparison uses."""
    import sympy

    def build() -> Any:
        xs = sympy.symbols(f"x0:{n}")
        terms = [100 * (xs[i + 1] - xs[i] ** 2) ** 2 + (1 - xs[i]) ** 2 for i in range(n - 1)]
        f = sympy.Add(*terms)
        grads = []
        for i in range(n):
            near = [terms[j] for j in (i - 1, i) if 0 <= j < n - 1]
            grads.append(sympy.Add(*[sympy.diff(t, xs[i]) for t in near]))
        g = sympy.lambdify(xs, grads, cse=True)
        fv = sympy.lambdify(xs, f, cse=True)
        g(*point)
        return g, fv

    (g, fv), w, c = _timed(build)
    p1 = [float(v) for v in point]
    pts = list(points)
    return Built("sympy", w, c, {
        "grad_1": lambda: g(*p1), "f_1": lambda: fv(*p1),
        "grad_10k": lambda: g(*pts), "f_10k": lambda: fv(*pts)},
        note="gradient by diff of the terms holding each symbol")


def sympy_w3(d: int, point: tuple[float, float], points: tuple[np.ndarray, np.ndarray]
             ) -> Built:
    """SymPy's ``diff`` of the chain (the expression swells exponentially), lambdify(cse=True)."""
    import sympy

    def build() -> Any:
        x, y = sympy.symbols("x y")
        z = x
        for _ in range(d):
            z = sympy.sin(z) * z + sympy.cos(z) * y
        grads = [sympy.diff(z, x), sympy.diff(z, y)]
        g = sympy.lambdify([x, y], grads, cse=True)
        fv = sympy.lambdify([x, y], z, cse=True)
        g(*point)
        return g, fv

    (g, fv), w, c = _timed(build)
    return Built("sympy", w, c, {
        "grad_1": lambda: g(*point), "f_1": lambda: fv(*point),
        "grad_10k": lambda: g(*points), "f_10k": lambda: fv(*points)})


# --------------------------------------------------------------------------- SymEngine


def symengine_w2(n: int, point: np.ndarray, points: np.ndarray) -> Built:
    import symengine as se

    def build() -> Any:
        xs = se.symbols(f"x0:{n}")
        f = se.Add(*[100 * (xs[i + 1] - xs[i] ** 2) ** 2 + (1 - xs[i]) ** 2
                     for i in range(n - 1)])
        grads = [se.diff(f, x) for x in xs]
        g = se.Lambdify(xs, grads, backend="llvm", cse=True)
        fv = se.Lambdify(xs, [f], backend="llvm", cse=True)
        g(point)
        return g, fv

    (g, fv), w, c = _timed(build)
    pts_t = np.ascontiguousarray(points.T)  # one row per point
    return Built("symengine", w, c, {
        "grad_1": lambda: g(point), "f_1": lambda: fv(point),
        "grad_10k": lambda: g(pts_t), "f_10k": lambda: fv(pts_t)}, note="LLVM backend")


def symengine_w3(d: int, point: tuple[float, float], points: tuple[np.ndarray, np.ndarray]
                 ) -> Built:
    import symengine as se

    def build() -> Any:
        x, y = se.symbols("x y")
        z = x
        for _ in range(d):
            z = se.sin(z) * z + se.cos(z) * y
        g = se.Lambdify([x, y], [se.diff(z, x), se.diff(z, y)], backend="llvm", cse=True)
        fv = se.Lambdify([x, y], [z], backend="llvm", cse=True)
        g(np.array(point))
        return g, fv

    (g, fv), w, c = _timed(build)
    p1 = np.array(point)
    pts = np.ascontiguousarray(np.stack(points, axis=1))
    return Built("symengine", w, c, {
        "grad_1": lambda: g(p1), "f_1": lambda: fv(p1),
        "grad_10k": lambda: g(pts), "f_10k": lambda: fv(pts)}, note="LLVM backend")


# --------------------------------------------------------------------------- CasADi


def casadi_w2(n: int, point: np.ndarray, points: np.ndarray) -> Built:
    """As CasADi's documentation writes Rosenbrock: one vector symbol and slices of it
    (not one ``x[i]`` element at a time, which builds n small graphs and is ~20x slower)."""
    import casadi as ca

    def build() -> Any:
        x = ca.SX.sym("x", n)
        f = ca.sum1(100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)
        g = ca.Function("g", [x], [ca.gradient(f, x)])
        fv = ca.Function("f", [x], [f])
        g(point)
        return g, fv

    (g, fv), w, c = _timed(build)
    # the batch functions for the points are made outside the build time (at n = 1,000,
    # map(10,000) takes ~1.8 s, more than the build)
    gm, fm = g.map(points.shape[1]), fv.map(points.shape[1])
    return Built("casadi", w, c, {
        "grad_1": lambda: g(point), "f_1": lambda: fv(point),
        "grad_10k": lambda: gm(points), "f_10k": lambda: fm(points)},
        note="SX, vector symbol with slices; SX virtual machine; 10k points by Function.map")


def casadi_w3(d: int, point: tuple[float, float], points: tuple[np.ndarray, np.ndarray]
              ) -> Built:
    import casadi as ca

    def build() -> Any:
        x, y = ca.SX.sym("x"), ca.SX.sym("y")
        z = x
        for _ in range(d):
            z = ca.sin(z) * z + ca.cos(z) * y
        xy = ca.vertcat(x, y)
        g = ca.Function("g", [xy], [ca.gradient(z, xy)])
        fv = ca.Function("f", [xy], [z])
        g(np.array(point))
        return g, fv

    (g, fv), w, c = _timed(build)
    gm, fm = g.map(points[0].size), fv.map(points[0].size)  # (not in the build time)
    p1 = np.array(point)
    pts = np.stack(points)
    return Built("casadi", w, c, {
        "grad_1": lambda: g(p1), "f_1": lambda: fv(p1),
        "grad_10k": lambda: gm(pts), "f_10k": lambda: fm(pts)},
        note="SX virtual machine; 10k points by Function.map")


# --------------------------------------------------------------------------- JAX


def _jax() -> Any:
    import jax

    jax.config.update("jax_enable_x64", True)
    return jax


def jax_w2(n: int, point: np.ndarray, points: np.ndarray) -> Built:
    jax = _jax()
    jnp = jax.numpy

    def f(x: Any) -> Any:
        return jnp.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)

    def build() -> Any:
        g = jax.jit(jax.grad(f))
        gv = jax.jit(jax.vmap(jax.grad(f), in_axes=1, out_axes=1))
        fv = jax.jit(f)
        fvv = jax.jit(jax.vmap(f, in_axes=1))
        g(point).block_until_ready()
        return g, gv, fv, fvv

    (g, gv, fv, fvv), w, c = _timed(build)
    for fn, arg in ((gv, points), (fv, point), (fvv, points)):
        fn(arg).block_until_ready()  # compile outside the timings
    return Built("jax", w, c, {
        "grad_1": lambda: g(point).block_until_ready(),
        "f_1": lambda: fv(point).block_until_ready(),
        "grad_10k": lambda: gv(points).block_until_ready(),
        "f_10k": lambda: fvv(points).block_until_ready()},
        note="vectorised over x (jnp), jit; 10k points by vmap")


def jax_w3(d: int, point: tuple[float, float], points: tuple[np.ndarray, np.ndarray]
           ) -> Built:
    jax = _jax()
    jnp = jax.numpy

    def f(x: Any, y: Any) -> Any:
        return jax.lax.fori_loop(0, d, lambda k, z: jnp.sin(z) * z + jnp.cos(z) * y, x)

    def build() -> Any:
        g = jax.jit(jax.grad(f, argnums=(0, 1)))
        gv = jax.jit(jax.vmap(jax.grad(f, argnums=(0, 1))))
        fv = jax.jit(f)
        fvv = jax.jit(jax.vmap(f))
        jax.block_until_ready(g(*point))
        return g, gv, fv, fvv

    (g, gv, fv, fvv), w, c = _timed(build)
    for fn, arg in ((gv, points), (fv, point), (fvv, points)):
        jax.block_until_ready(fn(*arg))
    return Built("jax", w, c, {
        "grad_1": lambda: jax.block_until_ready(g(*point)),
        "f_1": lambda: jax.block_until_ready(fv(*point)),
        "grad_10k": lambda: jax.block_until_ready(gv(*points)),
        "f_10k": lambda: jax.block_until_ready(fvv(*points))},
        note="lax.fori_loop (not unrolled), jit; 10k points by vmap")


def jax_w4(data: dict[str, np.ndarray], dtype: str) -> Built:
    jax = _jax()
    jnp = jax.numpy

    def loss(W1: Any, W2: Any, X: Any, Y: Any) -> Any:
        return wl.w4_loss_jax(jax, W1, W2, X, Y)

    args = [jnp.asarray(data[k]) for k in ("W1", "W2", "X", "Y")]

    def build() -> Any:
        step = jax.jit(jax.value_and_grad(loss, argnums=(0, 1)))
        jax.block_until_ready(step(*args))
        return step

    step, w, c = _timed(build)

    def run() -> Any:
        v, (g1, g2) = step(*args)
        return jax.block_until_ready((v, g1, g2))

    return Built("jax", w, c, {"step": run}, note="jit(value_and_grad)")


def jax_w5(data: dict[str, Any]) -> Built:
    jax = _jax()
    jnp = jax.numpy
    X, y = jnp.asarray(data["X"]), jnp.asarray(data["y"])

    def loss(w: Any, b: Any) -> Any:
        z = X @ w + b
        return jnp.mean(jax.nn.softplus(z) - y * z)

    w0, b0 = jnp.asarray(data["w"]), jnp.asarray(data["b"])

    def build() -> Any:
        step = jax.jit(jax.value_and_grad(loss, argnums=(0, 1)))
        jax.block_until_ready(step(w0, b0))
        return step

    step, w, c = _timed(build)
    return Built("jax", w, c, {"step": lambda: jax.block_until_ready(step(w0, b0))},
                 note="jit(value_and_grad), logits form")


# --------------------------------------------------------------------------- PyTorch


def _torch() -> Any:
    import os

    import torch

    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))
    return torch


def torch_w2(n: int, point: np.ndarray, points: np.ndarray) -> Built:
    torch = _torch()

    def f(x: Any) -> Any:
        return torch.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2, dim=0)

    def grad(a: np.ndarray) -> Any:
        x = torch.from_numpy(a).requires_grad_(True)
        f(x).sum().backward()
        return x.grad

    t1, tn = torch.from_numpy(point), torch.from_numpy(points)

    def build() -> Any:
        return grad(point)

    _, w, c = _timed(build)
    return Built("torch", w, c, {
        "grad_1": lambda: grad(point), "grad_10k": lambda: grad(points),
        "f_1": lambda: f(t1), "f_10k": lambda: f(tn)}, note="eager autograd, vectorised")


def torch_w3(d: int, point: tuple[float, float], points: tuple[np.ndarray, np.ndarray]
             ) -> Built:
    torch = _torch()

    def f(x: Any, y: Any) -> Any:
        z = x
        for _ in range(d):
            z = torch.sin(z) * z + torch.cos(z) * y
        return z

    def grad(x0: Any, y0: Any) -> Any:
        x = torch.as_tensor(x0, dtype=torch.float64).requires_grad_(True)
        y = torch.as_tensor(y0, dtype=torch.float64).requires_grad_(True)
        f(x, y).sum().backward()
        return x.grad, y.grad

    p1 = tuple(torch.tensor(v, dtype=torch.float64) for v in point)
    pn = tuple(torch.from_numpy(v) for v in points)
    _, w, c = _timed(lambda: grad(*point))
    return Built("torch", w, c, {
        "grad_1": lambda: grad(*point), "grad_10k": lambda: grad(*points),
        "f_1": lambda: f(*p1), "f_10k": lambda: f(*pn)}, note="eager autograd")


def torch_w4(data: dict[str, np.ndarray], dtype: str) -> Built:
    torch = _torch()

    X, Y = torch.from_numpy(data["X"]), torch.from_numpy(data["Y"])
    W1 = torch.from_numpy(data["W1"].copy()).requires_grad_(True)
    W2 = torch.from_numpy(data["W2"].copy()).requires_grad_(True)

    def step() -> Any:
        W1.grad = None
        W2.grad = None
        J = wl.w4_loss_torch(torch, X, Y, W1, W2)
        J.backward()
        return J, W1.grad, W2.grad

    _, w, c = _timed(step)
    return Built("torch", w, c, {"step": step}, note="eager autograd")


def torch_w5(data: dict[str, Any]) -> Built:
    torch = _torch()

    X, y = torch.from_numpy(data["X"]), torch.from_numpy(data["y"])
    w = torch.from_numpy(data["w"].copy()).requires_grad_(True)
    b = torch.tensor(float(data["b"]), dtype=torch.float64, requires_grad=True)

    def step() -> Any:
        w.grad = None
        b.grad = None
        z = X @ w + b
        L = torch.nn.functional.binary_cross_entropy_with_logits(z, y)
        L.backward()
        return L, w.grad, b.grad

    _, wt, c = _timed(step)
    return Built("torch", wt, c, {"step": step}, note="eager autograd, BCE with logits")


# --------------------------------------------------------------------------- PyTensor


def pytensor_w4(data: dict[str, np.ndarray], dtype: str) -> Built:
    import pytensor
    import pytensor.tensor as pt

    B = data["X"].shape[0]
    X, Y = pt.matrix("X", dtype=dtype), pt.matrix("Y", dtype=dtype)
    W1, W2 = pt.matrix("W1", dtype=dtype), pt.matrix("W2", dtype=dtype)

    def build() -> Any:
        U = pt.maximum(X @ W1, 0) @ W2
        J = (-pt.sum(Y * pt.special.log_softmax(U, axis=1)) / B
             + wl.LAM * (pt.sum(W1 ** 2) + pt.sum(W2 ** 2)))
        fn = pytensor.function([X, Y, W1, W2], [J, *pytensor.grad(J, [W1, W2])])
        fn(data["X"], data["Y"], data["W1"], data["W2"])
        return fn

    fn, w, c = _timed(build)
    args = (data["X"], data["Y"], data["W1"], data["W2"])
    return Built("pytensor", w, c, {"step": lambda: fn(*args)},
                 note=f"mode {pytensor.config.mode}")


def pytensor_w5(data: dict[str, Any]) -> Built:
    import pytensor
    import pytensor.tensor as pt

    X, y, w = pt.matrix("X"), pt.vector("y"), pt.vector("w")
    b = pt.scalar("b")

    def build() -> Any:
        p = pt.sigmoid(X @ w + b)
        L = -pt.mean(y * pt.log(p) + (1 - y) * pt.log(1 - p))
        fn = pytensor.function([X, y, w, b], [L, *pytensor.grad(L, [w, b])])
        fn(data["X"], data["y"], data["w"], data["b"])
        return fn

    fn, wt, c = _timed(build)
    args = (data["X"], data["y"], data["w"], np.float64(data["b"]))
    return Built("pytensor", wt, c, {"step": lambda: fn(*args)},
                 note=f"mode {pytensor.config.mode}")
