"""Huge graphs through explain, to_sympy and the graph pictures: they return (cut, named
or with a clear error) instead of hanging; small graphs keep their numbers.

Values are checked against central differences of NumPy functions or against
NumPy evaluations of SymPy's own definitions, never against symback alone.
"""

from __future__ import annotations

import numpy as np
import pytest
from gradcheck import assert_close, numeric_grad

import symback as sb


def tanh_mul(levels: int, n: int = 5) -> tuple[sb.Expr, sb.Expr]:
    """e ← tanh(e) ⊙ e, ``levels`` times: a shared DAG whose tree doubles per level."""
    v = sb.vector("v", n)
    e = v
    for _ in range(levels):
        e = sb.tanh(e) * e
    return v, sb.sum(e)


def tanh_mul_numpy(levels: int, v: np.ndarray) -> float:
    e = v.copy()
    for _ in range(levels):
        e = np.tanh(e) * e
    return float(np.sum(e))


def vector_chain(n_nodes: int, n: int = 3) -> tuple[sb.Expr, sb.Expr]:
    """y ← tanh(y) and y ← 0.5 sin(y) + v alternately (about ``n_nodes`` nodes)."""
    v = sb.vector("v", n)
    y = v
    for i in range(n_nodes // 2):
        y = sb.sin(y) * 0.5 + v if i % 2 else sb.tanh(y)
    return v, sb.sum(y)


def vector_chain_numpy(n_nodes: int, v: np.ndarray) -> float:
    y = v.copy()
    for i in range(n_nodes // 2):
        y = np.sin(y) * 0.5 + v if i % 2 else np.tanh(y)
    return float(np.sum(y))


# --------------------------------------------------------------------------- explain


def test_explain_exponential_tree_names_steps_instead_of_unfolding():
    v, L = tanh_mul(30)  # the tree has ~2^30 leaves
    ex = sb.explain(L, v)
    text = str(ex)
    assert len(text) < 50_000
    # The gradient of v is written in terms of earlier grad-table entries.
    last = ex.entries[-1]
    assert last.label == "dL/dv"
    assert "dL/d" in last.total_text and len(last.total_text) < 200
    assert ex.latex().endswith(r"\end{aligned}")


def test_explain_tanh_mul_1000_levels_is_cut_with_a_marker():
    v, L = tanh_mul(1000)
    ex = sb.explain(L, v)
    text = str(ex)
    assert ex.entries_cut is not None and ex.forward_cut is not None
    assert f"... ({ex.entries_cut[1]} more steps)" in text
    assert f"... ({ex.forward_cut[1]} more forward nodes)" in text
    assert ex.entries[-1].label == "dL/dv"  # the gradient itself is still shown
    assert len(ex.entries) == sb.explain.__kwdefaults__["max_steps"] + 1
    assert r"\text{... (" in ex.latex()
    assert "more steps" in ex.markdown()


def test_explain_long_scalar_chain_values_match_finite_differences():
    x = sb.symbols("x")
    e = x
    for i in range(1000):
        e = sb.sin(e) if i % 2 else e * 1.5 + x

    def f(xv: np.ndarray) -> float:
        t = float(xv)
        out = t
        for i in range(1000):
            out = np.sin(out) if i % 2 else out * 1.5 + t
        return float(out)

    ex = sb.explain(e, x, at={"x": 0.3}, max_steps=10)
    assert "... (" in str(ex) and "more steps)" in str(ex)
    got = ex.entries[-1]
    assert got.label == "dL/dx"
    assert_close(np.asarray(got.value), numeric_grad(f, [np.array(0.3)], 0), rtol=1e-5)
    assert_close(np.asarray(ex.forward[-1].value), np.asarray(f(np.array(0.3))), rtol=1e-9)


def test_explain_node_with_many_consumers_counts_its_terms():
    v, L = vector_chain(2_000)
    ex = sb.explain(L, v, max_steps=20)
    last = ex.entries[-1]
    assert last.label == "dL/dv"
    assert any("more terms)" in t.chain_text for t in last.terms)
    assert "more terms)" in str(ex)


def test_explain_small_graph_numbers_unchanged_with_and_without_truncation():
    v, L = tanh_mul(3)
    at = np.array([0.3, -0.2, 0.5, 0.1, -0.4])
    full = sb.explain(L, v, at={"v": at})
    assert full.entries_cut is None and full.forward_cut is None
    assert "more steps" not in str(full)
    want = numeric_grad(lambda a: tanh_mul_numpy(3, a), [at], 0)
    assert_close(np.asarray(full.entries[-1].value), want, rtol=1e-6)
    # max_steps=None is the full table; a small max_steps keeps the gradient line.
    assert str(sb.explain(L, v, at={"v": at}, max_steps=None)) == str(full)
    cut = sb.explain(L, v, at={"v": at}, max_steps=3)
    assert cut.entries[-1].label == "dL/dv"
    assert_close(np.asarray(cut.entries[-1].value), want, rtol=1e-6)
    assert "... (" in str(cut)


def test_explain_medium_graph_named_form_values_match_finite_differences():
    # Above the size where each line is simplified on its own (in names).
    v, L = tanh_mul(40)
    at = np.array([0.3, -0.2, 0.5, 0.1, -0.4])
    ex = sb.explain(L, v, at={"v": at}, max_steps=None)
    want = numeric_grad(lambda a: tanh_mul_numpy(40, a), [at], 0)
    assert_close(np.asarray(ex.entries[-1].value), want, rtol=1e-5)
    assert "dL/dv = dL/dV" in str(ex) or "dL/dv = dL/d" in str(ex)


# --------------------------------------------------------------------------- to_sympy


def test_to_sympy_big_matrix_graph_raises_a_clear_error():
    _, L = vector_chain(1_000)
    with pytest.raises(sb.SymbackError, match=r"max_nodes=40.*cse=True"):
        sb.to_sympy(L)


def test_to_sympy_cse_converts_big_graphs_with_named_intermediates():
    _, L = vector_chain(2_000)
    reps, _ = sb.to_sympy(L, cse=True)
    assert len(reps) > 1_000
    assert str(reps[0][0]) == "cse0"


def test_to_sympy_cse_definitions_evaluate_to_the_numpy_value():
    import sympy

    _, L = vector_chain(12)
    reps, root = sb.to_sympy(L, cse=True)
    at = np.array([0.3, -0.7, 1.1])
    env = {sympy.MatrixSymbol("v", 3, 1): sympy.Matrix(at.reshape(3, 1))}
    for name, definition in reps:
        env[name] = definition.xreplace(env).doit()
    # The root is Σ of the last named vector (SymPy writes it as a trace).
    last = reps[-1][0]
    assert last in root.free_symbols
    value = float(sum(np.asarray(env[last], dtype=float).ravel()))
    assert value == pytest.approx(vector_chain_numpy(12, at), rel=1e-12)
    # Without cse, the same small vector graph converts in one piece to the same numbers.
    y = L.args[0]
    whole = sb.to_sympy(y).xreplace(
        {sympy.MatrixSymbol("v", 3, 1): sympy.Matrix(at.reshape(3, 1))}).doit()
    assert float(sum(np.asarray(whole, dtype=float).ravel())) == pytest.approx(value, rel=1e-12)


def test_to_sympy_cse_names_shared_scalars_and_raising_the_limit_is_allowed():
    x = sb.symbols("x")
    s = sb.sin(x)
    e = s * s + s
    reps, _ = sb.to_sympy(e, cse=True)
    assert [str(n) for n, _ in reps] == ["cse0"] and str(reps[0][1]) == "sin(x)"
    _, L = vector_chain(44)  # just above the default limit
    with pytest.raises(sb.SymbackError, match="max_nodes=40"):
        sb.to_sympy(L)
    _, L = vector_chain(12)
    with pytest.raises(sb.SymbackError, match="max_nodes=5"):
        sb.to_sympy(L, max_nodes=5)
    assert str(sb.to_sympy(L, max_nodes=None)) == str(sb.to_sympy(L))


# --------------------------------------------------------------------------- pictures, str


def test_to_dot_and_mermaid_of_a_big_gradient_graph_are_cut():
    v, L = vector_chain(20_000)
    g = sb.grad(L, v)
    dot = sb.to_dot(L, g, max_nodes=500)
    assert "more nodes" in dot and dot.count("->") < 2_000
    mer = sb.to_mermaid(L, g, max_nodes=500)
    assert len(mer) < 200_000
    assert "cut at" in str(g) and len(str(g)) < 30_000
    assert sb.latex(g).endswith(r"\dots")


def test_explain_deep_residual_matmul_net_gradient_matches_finite_differences():
    # 16 residual layers (about 50 nodes: each line simplified on its own, in names).
    X = sb.tensor("X", (4, 3))
    W = sb.tensor("W", (3, 3))
    h = X
    for _ in range(16):
        h = sb.tanh(h @ W) + h
    L = sb.sum(h * h)

    def f(Xv: np.ndarray, Wv: np.ndarray) -> float:
        hv = Xv
        for _ in range(16):
            hv = np.tanh(hv @ Wv) + hv
        return float(np.sum(hv * hv))

    rng = np.random.default_rng(0)
    Xv, Wv = rng.normal(size=(4, 3)), rng.normal(size=(3, 3)) * 0.3
    ex = sb.explain(L, [W], at={"X": Xv, "W": Wv}, max_steps=8)
    last = ex.entries[-1]
    assert last.label == "dL/dW" and last.shape == (3, 3)
    assert "@ dL/d" in last.total_text  # in the earlier entries' names
    assert_close(np.asarray(last.value), numeric_grad(f, [Xv, Wv], 1), rtol=1e-5)
    assert_close(np.asarray(ex.forward[-1].value), np.asarray(f(Xv, Wv)), rtol=1e-12)


def test_explain_max_steps_must_be_a_positive_int():
    v, L = tanh_mul(2)
    with pytest.raises(sb.SymbackError, match="max_steps"):
        sb.explain(L, v, max_steps=0)
