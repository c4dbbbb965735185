"""Compiled functions under threads; pickling of compiled functions and of expressions.

* Several threads calling one compiled function at once get the same results
  as serial calls (the generated code keeps per-thread buffers).
* ``CompiledFunction`` and ``value_and_grad`` results survive ``pickle`` and
  ``cloudpickle`` (the source is recompiled on load).
* Expressions pickle as flat node lists and re-intern on load:
  ``pickle.loads(pickle.dumps(e)) is e`` in one process, for graphs of any
  depth, and the same structure in a fresh process.
"""

from __future__ import annotations

import copy
import pickle
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import cloudpickle
import numpy as np
import pytest
from strategies import random_case

import symback as sb

PICKLERS = [pytest.param(pickle, id="pickle"), pytest.param(cloudpickle, id="cloudpickle")]


def _mlp() -> tuple[sb.Expr, list[sb.Expr]]:
    X = sb.matrix("X", "n", 4)
    W1 = sb.matrix("W1", 4, 8)
    W2 = sb.matrix("W2", 8, 3)
    H = sb.relu(X @ W1)
    loss = sb.mean(sb.logsumexp(H @ W2, axis=1)) + 1e-3 * sb.sum(W1 * W1)
    return loss, [X, W1, W2]


def test_threads_share_one_compiled_function() -> None:
    loss, (X, W1, W2) = _mlp()
    f = sb.value_and_grad(loss, [W1, W2], args=[X, W1, W2])
    rng = np.random.default_rng(0)
    inputs = [(rng.normal(size=(n, 4)), rng.normal(size=(4, 8)), rng.normal(size=(8, 3)))
              for n in (5, 9, 5, 17, 9, 33, 5, 2) * 8]
    serial = [f(*a) for a in inputs]
    with ThreadPoolExecutor(max_workers=8) as pool:
        parallel = list(pool.map(lambda a: f(*a), inputs))
    for (v1, g1), (v2, g2) in zip(serial, parallel):
        assert np.array_equal(v1, v2)
        for a, b in zip(g1, g2):
            assert np.array_equal(a, b)


def test_threads_results_are_fresh_arrays() -> None:
    """Outputs never alias a buffer another call (or thread) will overwrite."""
    x = sb.vector("x", 64)
    f = sb.lambdify([x], [sb.exp(x) * 2.0, sb.sin(x) + x])
    a = f(np.zeros(64))
    b = f(np.ones(64))
    assert np.all(a[0] == 2.0) and np.all(a[1] == 0.0)
    assert not np.shares_memory(a[0], b[0])


def test_threads_building_graphs_concurrently_interns_once() -> None:
    """Interning under threads: the same expression built in 8 threads is one node."""
    def build(_: int) -> sb.Expr:
        x = sb.vector("x", 3)
        y = x
        for k in range(200):
            y = sb.sin(y) * (k % 7) + x
        return sb.sum(y)

    with ThreadPoolExecutor(max_workers=8) as pool:
        nodes = list(pool.map(build, range(16)))
    assert all(n is nodes[0] for n in nodes)


@pytest.mark.parametrize("mod", PICKLERS)
def test_pickle_compiled_function(mod) -> None:  # type: ignore[no-untyped-def]
    loss, (X, W1, W2) = _mlp()
    f = sb.value_and_grad(loss, [W1, W2], args=[X, W1, W2])
    g = mod.loads(mod.dumps(f))
    rng = np.random.default_rng(1)
    a = (rng.normal(size=(6, 4)), rng.normal(size=(4, 8)), rng.normal(size=(8, 3)))
    (v1, g1), (v2, g2) = f(*a), g(*a)
    assert v1 == v2 and all(np.array_equal(p, q) for p, q in zip(g1, g2))
    assert g.source == f.source


@pytest.mark.parametrize("mod", PICKLERS)
def test_pickle_lambdify_with_constants_and_check_finite(mod) -> None:  # type: ignore
    x = sb.vector("x", 3)
    f = sb.lambdify([x], sb.log(x) * np.array([1.0, 2.0, 3.0]), check_finite=True)
    g = mod.loads(mod.dumps(f))
    assert np.allclose(g(np.ones(3) * np.e), [1.0, 2.0, 3.0])
    with pytest.raises(sb.SymbackError, match="log"), np.errstate(invalid="ignore"):
        g(np.array([1.0, -1.0, 1.0]))


@pytest.mark.parametrize("mod", PICKLERS)
def test_pickle_expression_reinterns(mod) -> None:  # type: ignore[no-untyped-def]
    loss, params = _mlp()
    grads = sb.grad(loss, params)
    for e in [loss, *grads, *params, sb.const(np.arange(3.0)), sb.const(-0.0), sb.const(2)]:
        assert mod.loads(mod.dumps(e)) is e
    assert mod.loads(mod.dumps([loss, grads])) == [loss, grads]
    assert copy.deepcopy(loss) is loss and copy.copy(loss) is loss


def test_pickle_random_graphs_reintern() -> None:
    rng = np.random.default_rng(5)
    for _ in range(40):
        case = random_case(rng)
        for o in case.outputs:
            assert pickle.loads(pickle.dumps(o)) is o


def test_pickle_deep_graph_is_iterative() -> None:
    """20,000 levels: far past Python's recursion limit (pickle itself would recurse)."""
    x = sb.vector("x", 2)
    y = x
    for k in range(20_000):
        y = sb.sin(y) if k % 2 else y * 1.5
    assert pickle.loads(pickle.dumps(y)) is y


def test_pickle_op_by_name() -> None:
    from symback.ops import REGISTRY

    for op in REGISTRY.values():
        assert pickle.loads(pickle.dumps(op)) is op


def test_pickle_loads_in_a_fresh_process(tmp_path: Path) -> None:
    """A pickled expression and compiled function work in another interpreter."""
    x = sb.vector("x", 3)
    y = sb.sum(sb.softplus(x) * np.array([1.0, -2.0, 0.5]))
    f = sb.value_and_grad(y, x)
    path = tmp_path / "payload.pkl"
    path.write_bytes(pickle.dumps((y, f)))
    code = (
        "import pickle, sys, numpy as np\n"
        "import symback as sb\n"
        f"y, f = pickle.loads(open({str(path)!r}, 'rb').read())\n"
        "v, (g,) = f(np.array([0.5, -1.0, 2.0]))\n"
        "x = sb.vector('x', 3)\n"
        "same = sb.sum(sb.softplus(x) * np.array([1.0, -2.0, 0.5]))\n"
        "print(same is y, repr(float(v)), repr(g.tolist()))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    same, v, g = out.stdout.split(maxsplit=2)
    want_v, (want_g,) = f(np.array([0.5, -1.0, 2.0]))
    assert same == "True"
    assert float(v) == float(want_v)
    assert eval(g) == want_g.tolist()  # noqa: S307 - our own repr of a list of floats


def test_threads_building_one_graph_get_the_same_nodes() -> None:
    """Interning under contention: threads that build and differentiate the same formula at
    once get identical node objects (the table's second look happens under its lock)."""
    import threading
    from typing import Any

    def rosenbrock() -> tuple[Any, tuple[Any, ...]]:
        xs = sb.symbols([f"r{i}" for i in range(120)])
        f: Any = 0
        for i in range(119):
            f = f + 100 * (xs[i + 1] - xs[i] ** 2) ** 2 + (1 - xs[i]) ** 2
        return f, tuple(sb.grad(f, list(xs)))

    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as possible
    try:
        for _ in range(3):
            out: list[Any] = [None] * 6
            threads = [threading.Thread(target=lambda i=i: out.__setitem__(i, rosenbrock()))
                       for i in range(6)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            f0, g0 = out[0]
            for f, g in out[1:]:
                assert f is f0
                assert all(a is b for a, b in zip(g, g0))
    finally:
        sys.setswitchinterval(old)
