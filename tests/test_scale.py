"""Scale: a 100,000-node graph builds, differentiates, compiles and runs; printing stays bounded.

CI runs the 100,000-node graph once (module fixture) and checks the numbers
against a plain NumPy loop, then the printers that offer truncation:
``str``/``repr`` (cut at a limit), ``to_text(limit=...)``, ``to_dot``/
``to_mermaid`` with ``max_nodes``; ``str`` of an exponentially shared DAG (a
tree of 2^80 leaves) returns at once. ``to_sympy(evaluate=False)`` converts a
deep scalar chain iteratively.

The one-million-node measurement runs outside CI::

    python tests/test_scale.py 1000000

and prints the time and peak memory (max RSS) of each phase.
"""

from __future__ import annotations

import resource
import sys
import time
from typing import Any

import numpy as np
import pytest

import symback as sb
from symback.printing.text import to_text


def chain(n_nodes: int) -> tuple[sb.Expr, sb.Expr]:
    """A deep vector graph of about ``n_nodes`` nodes: y ← tanh(y) and y ← 0.5 sin(y) + x."""
    x = sb.vector("x", 3)
    y = x
    for i in range(n_nodes // 2):
        y = sb.sin(y) * 0.5 + x if i % 2 else sb.tanh(y)
    return x, sb.sum(y)


def chain_numpy(n_nodes: int, xv: np.ndarray) -> tuple[float, np.ndarray]:
    """The same function and its gradient by hand (forward-mode over the 3 inputs)."""
    y = xv.copy()
    dy = np.ones(3)  # dy_i/dx_i (the chain is elementwise)
    for i in range(n_nodes // 2):
        if i % 2:
            y, dy = np.sin(y) * 0.5 + xv, np.cos(y) * 0.5 * dy + 1.0
        else:
            y, dy = np.tanh(y), (1.0 - np.tanh(y) ** 2) * dy
    return float(np.sum(y)), dy


N = 100_000


@pytest.fixture(scope="module")
def big() -> dict[str, Any]:
    x, L = chain(N)
    g = sb.grad(L, x)
    return {"x": x, "L": L, "g": g}


def test_scale_100k_build_grad_compile_run(big: dict[str, Any]) -> None:
    x, L, g = big["x"], big["L"], big["g"]
    assert len(sb.toposort([L])) > N
    total = len(sb.toposort([L, g]))
    assert total < 4 * N, f"the gradient graph has {total} nodes for {N} forward nodes"
    f = sb.lambdify([x], [L, g])
    xv = np.array([0.3, -1.2, 2.0])
    v, gv = f(xv)
    want_v, want_g = chain_numpy(N, xv)
    assert np.isclose(v, want_v, rtol=1e-10)
    assert np.allclose(gv, want_g, rtol=1e-8, atol=1e-12)


def test_scale_100k_printing_is_bounded(big: dict[str, Any]) -> None:
    L, g = big["L"], big["g"]
    s = str(L)
    assert len(s) < 25_000 and "cut" in s
    assert len(repr(g)) < 5_000
    assert len(to_text(g, limit=500)) < 700
    dot = sb.to_dot(L, g, max_nodes=300)
    assert dot.count("->") < 1_000
    mer = sb.to_mermaid(g, max_nodes=300)
    assert len(mer.splitlines()) < 1_000


def test_scale_str_of_an_exponentially_shared_dag() -> None:
    """e ← e·e + z eighty times: 161 nodes, a tree of 2^80 leaves; printing stops early."""
    z = sb.symbols("z")
    e = z
    for _ in range(80):
        e = e * e + z
    assert len(sb.toposort([e])) < 200
    exact = sb.to_text(e, exact=True)
    assert "cut" in exact and len(exact) < 25_000
    assert len(str(e)) < 25_000  # the display writes e·e as e ** 2: no blow-up at all
    assert len(repr(e)) < 5_000
    assert len(sb.to_dot(e)) < 100_000  # the graph, not the tree
    f = sb.value_and_grad(e, z)
    v, (gz,) = f(0.0)
    assert float(v) == 0.0 and float(gz) == 1.0  # e(z) = z + O(z²)


def test_scale_to_sympy_deep_scalar_chain_is_iterative() -> None:
    x = sb.symbols("x")
    y = x
    for i in range(3000):
        y = sb.sin(y) * 0.5 + x if i % 2 else sb.tanh(y)
    s = sb.to_sympy(y, evaluate=False)
    assert s is not None


def test_scale_deep_graph_through_rewrites_and_value_and_grad() -> None:
    """value_and_grad (STABILIZE before grad, CANONICAL + STABILIZE before codegen) on 10k nodes."""
    x, L = chain(10_000)
    f = sb.value_and_grad(L, x)
    xv = np.array([0.1, 0.2, -0.3])
    v, (gv,) = f(xv)
    want_v, want_g = chain_numpy(10_000, xv)
    assert np.isclose(v, want_v) and np.allclose(gv, want_g)


def test_chunked_code_generation_equals_one_function(monkeypatch) -> None:  # type: ignore
    """Huge graphs compile as chunk functions passing live values; with chunks of 3 lines,
    random graphs (and check_finite, float32, symbolic sizes) give the one-function results."""
    from strategies import random_case

    import symback.codegen as codegen

    rng = np.random.default_rng(21)
    cases = [random_case(rng, dtype=dt) for dt in ("float64", "float32") for _ in range(25)]
    for case in cases:
        L = sb.sum(case.outputs[-1])
        exprs = [*case.outputs, *sb.grad(L, case.leaves)]
        whole = sb.lambdify(case.leaves, exprs)(*case.values)
        monkeypatch.setattr(codegen, "_CHUNK_LINES", 3)
        f = sb.lambdify(case.leaves, exprs)
        g = sb.lambdify(case.leaves, exprs, check_finite=True)
        monkeypatch.undo()
        body = f.source.split("def _symback_fn", 1)[1].splitlines()[1:]
        assert "_symback_chunk_" in f.source or len(body) <= 3  # (3 lines fit one chunk)
        for a, b, c in zip(whole, f(*case.values), g(*case.values)):
            assert a.dtype == b.dtype and np.array_equal(a, b, equal_nan=True), case
            assert np.array_equal(a, c, equal_nan=True), case


# --------------------------------------------------------------------------- 1M, outside CI


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def main(n: int) -> None:
    """Time and peak memory of each phase for an ``n``-node chain."""
    sys.setrecursionlimit(1000)  # prove nothing recurses
    t0 = time.perf_counter()
    x, L = chain(n)
    t1 = time.perf_counter()
    print(f"build   {t1 - t0:8.1f} s  {len(sb.toposort([L])):>9,} nodes  max RSS {_rss_mb():8.0f} MB",
          flush=True)
    g = sb.grad(L, x)
    t2 = time.perf_counter()
    print(f"grad    {t2 - t1:8.1f} s  {len(sb.toposort([L, g])):>9,} nodes  max RSS {_rss_mb():8.0f} MB",
          flush=True)
    f = sb.lambdify([x], [L, g])
    t3 = time.perf_counter()
    print(f"compile {t3 - t2:8.1f} s  {len(f.source):>9,} chars  max RSS {_rss_mb():8.0f} MB",
          flush=True)
    xv = np.array([0.3, -1.2, 2.0])
    v, gv = f(xv)
    t4 = time.perf_counter()
    want_v, want_g = chain_numpy(n, xv)
    ok = np.isclose(v, want_v) and np.allclose(gv, want_g)
    print(f"run     {t4 - t3:8.1f} s  value {float(v):.6f}  matches NumPy: {ok}  "
          f"max RSS {_rss_mb():8.0f} MB", flush=True)
    t5 = time.perf_counter()
    s = str(L)
    print(f"str     {time.perf_counter() - t5:8.2f} s  {len(s):,} chars", flush=True)
    print(f"total   {time.perf_counter() - t0:8.1f} s", flush=True)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000)
