"""sb.explain: the chain rule step by step, checked against the seed tables E1, E2, E3 and E7.

The numbers come from ../shared/reference/seed-examples.md (E1 by hand, E7 the
TensorFlow GradientTape values) or from central differences of NumPy losses,
never from symback itself.
"""

from __future__ import annotations

import numpy as np
import pytest
from gradcheck import assert_close, numeric_grad

import symback as sb
from symback.autodiff import backprop


def sig(x):
    return 1.0 / (1.0 + np.exp(-x))


def e1():
    a, b, c = sb.symbols("a b c")
    return (a, b, c), 3 * (a + b * c)


def entry(expl, label):
    found = [e for e in expl.entries if e.label == label]
    assert len(found) == 1, f"no single entry {label}: {[e.label for e in expl.entries]}"
    return found[0]


def test_e1_table_at_5_3_2():
    (a, b, c), J = e1()
    ex = sb.explain(J, [a, b, c], at={"a": 5, "b": 3, "c": 2}, output="J")
    assert [(f.name, f.text, float(f.value)) for f in ex.forward] == [
        ("u", "b * c", 6.0), ("v", "a + u", 11.0), ("J", "3 * v", 33.0)]
    want = {"dJ/dJ": 1, "dJ/dv": 3, "dJ/du": 3, "dJ/da": 3, "dJ/db": 6, "dJ/dc": 9}
    assert {e.label: float(e.value) for e in ex.entries} == want
    text = str(ex)
    assert "dJ/db = dJ/du · du/db = 3 · c = 3 · 2 = 6" in text
    assert "dJ/da = dJ/dv · dv/da = 3 · 1 = 3" in text
    assert "gradients have the shape of their variable" in text


def test_e1_table_at_7_4_2_gives_dJ_dc_12():
    (a, b, c), J = e1()
    ex = sb.explain(J, [a, b, c], at={a: 7, b: 4, c: 2}, output="J")
    assert float(entry(ex, "dJ/dc").value) == 12.0  # the source text's 9 is a slip
    assert float(entry(ex, "dJ/db").value) == 6.0
    assert float(entry(ex, "dJ/da").value) == 3.0
    assert [float(f.value) for f in ex.forward] == [8.0, 15.0, 45.0]
    assert "dJ/dc = dJ/du · du/dc = 3 · b = 3 · 4 = 12" in str(ex)


def test_entries_follow_the_reverse_pass_order():
    (a, b, c), J = e1()
    ex = sb.explain(J, [a, b, c], output="J")
    steps = backprop(J, [a, b, c]).steps
    assert [e.node for e in ex.entries] == [s.node for s in steps]
    assert [e.label for e in ex.entries] == ["dJ/dJ", "dJ/dv", "dJ/du", "dJ/dc", "dJ/db",
                                             "dJ/da"]


def test_e1_latex_and_markdown(golden):
    (a, b, c), J = e1()
    ex = sb.explain(J, [a, b, c], at={"a": 5, "b": 3, "c": 2}, output="J")
    tex = ex.latex()
    assert tex.startswith(r"\begin{aligned}") and tex.endswith(r"\end{aligned}")
    assert (r"\frac{\partial J}{\partial b} &= \frac{\partial J}{\partial u} "
            r"\frac{\partial u}{\partial b} = 3 \cdot c = 3 \cdot 2 = 6") in tex
    golden("explain/e1_at_5_3_2.tex", tex)
    md = ex.markdown()
    assert "| step | entry | chain rule | expression | value | shape |" in md
    assert md.count("\n| ") >= 3 + 6
    golden("explain/e1_at_5_3_2.md", md)
    golden("explain/e1_at_5_3_2.txt", str(ex))


def test_e2_dz_simplifies_to_a_minus_y():
    z, y = sb.symbols("z y")
    a = sb.sigmoid(z)
    L = -(y * sb.log(a) + (1 - y) * sb.log(1 - a))
    ex = sb.explain(L, z, names={a: "a"}, at={"z": 0.4, "y": 1.0})
    dz = entry(ex, "dL/dz")
    assert dz.total_text == "a - y"
    assert "dL/dz = dL/da · da/dz" in str(ex)
    assert abs(float(dz.value) - (sig(0.4) - 1.0)) < 1e-12


def test_e3_tensor_entries_have_shapes_and_values():
    X, W = sb.matrix("X", 3, 3), sb.matrix("W", 3, 2)
    N = X @ W
    S = sb.sigmoid(N)
    L = sb.sum(S)
    np.random.seed(190204)
    Xv, Wv = np.random.randn(3, 3), np.random.randn(3, 2)
    ex = sb.explain(L, [X, W], at={"X": Xv, "W": Wv}, names={N: "N", S: "S"})
    assert abs(float(ex.forward[-1].value) - 2.37549510) < 1e-8
    dX = entry(ex, "dL/dX")
    assert dX.shape == (3, 3)
    assert_close(dX.value[0], [0.24888872, -0.37478060, 0.01121963], rtol=0, atol=1e-8)
    dN = entry(ex, "dL/dN")
    assert dN.terms[0].chain_text == "dL/dS * (S * (1 - S))"
    assert dN.total_latex == r"S \odot (1 - S)"
    assert entry(ex, "dL/dW").terms[0].chain_latex == r"X^{T} \frac{\partial L}{\partial N}"

    def loss(Xa, Wa):
        return np.sum(sig(Xa @ Wa))
    assert_close(entry(ex, "dL/dW").value, numeric_grad(loss, [Xv, Wv], 1))
    assert r"\quad (3 \times 2)" in ex.latex()
    assert "[3×3]" in str(ex)


def test_e7_single_neuron_numbers():
    W, X = sb.matrix("W", 1, 2), sb.matrix("X", 2, 1)
    theta, y = sb.symbols("theta y")
    e = W * X.T
    v = sb.sum(e) + theta
    yhat = sb.sigmoid(v)
    eps = yhat - y
    L = eps ** 2
    ex = sb.explain(L, [W, X, theta], names={e: "e", v: "v", yhat: "y_hat", eps: "epsilon"},
                    at={"W": [[-1.0, -1.5]], "X": [[-3.0], [2.0]], "theta": 0.5, "y": 2.0})
    fwd = {f.name: f.value for f in ex.forward}
    assert abs(float(fwd["v"]) - 0.5) < 1e-12
    assert abs(float(fwd["y_hat"]) - 0.62245933) < 1e-8
    assert abs(float(fwd["epsilon"]) + 1.37754067) < 1e-8
    assert abs(float(fwd["L"]) - 1.89761829) < 1e-8
    assert abs(float(entry(ex, "dL/depsilon").value) + 2.75508134) < 1e-8
    assert_close(entry(ex, "dL/dW").value, [[1.94236303, -1.29490868]], rtol=0, atol=1e-8)
    assert_close(entry(ex, "dL/dX").value, [[0.64745434], [0.97118151]], rtol=0, atol=1e-8)
    assert abs(float(entry(ex, "dL/dtheta").value) + 0.64745434) < 1e-8


def test_default_names_and_tensor_names():
    x, y = sb.symbols("x y")
    ex = sb.explain(sb.sin(x * y) + x, [x, y])
    assert [f.name for f in ex.forward] == ["u", "v", "L"]
    A = sb.matrix("A", 2, 2)
    ex2 = sb.explain(sb.sum(sb.exp(A @ A)), A)
    assert [f.name for f in ex2.forward] == ["U", "V", "L"]
    assert ex2.output == "L"


def test_errors_are_clear():
    x, y = sb.symbols("x y")
    with pytest.raises(sb.SymbackError, match="at= has no value for y"):
        sb.explain(x * y, x, at={"x": 1.0})
    with pytest.raises(sb.SymbackError, match="scalar"):
        sb.explain(sb.vector("v", 3) * x, x)


def test_reading_gradients_example_runs(capsys):
    """examples/reading_gradients.py (the README's section) prints what the README shows."""
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parent.parent / "examples" / "reading_gradients.py"
    spec = importlib.util.spec_from_file_location("_example_reading_gradients", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.main([]) == 0
    out = capsys.readouterr().out
    assert r"E2  dL/dz = \sigma(z) - y" in out
    assert r"E3  dL/dW = X^{T} (\sigma(X W) \odot (1 - \sigma(X W)))" in out
    assert r"\frac{1}{m} H^{T} (\operatorname{softmax}(U) - Y) + 2 \lambda W_{2}" in out
    assert "| 4 | $\\frac{\\partial J}{\\partial c}$" in out and "| $12$ |" in out
    assert "flowchart TD" in out
