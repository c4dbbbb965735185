"""Plain text reads like the LaTeX, and every printed text parses back.

``str(expr)`` goes through the display rules ``sb.latex`` uses (PRETTY), so
gradients print as people write them; ``sb.to_text(e, exact=True)`` prints the
graph node for node. Property tests over random DAGs (tests/strategies.py,
which has an entry for every registered op): the exact text parses back to the
same node, and the display text parses back to an expression with the same
values (compared at the case's random points, where the original is finite;
references are the original graph's values, computed by the compiled graph).
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given
from readme_blocks import promised, python_blocks, run_block, section
from strategies import OPS, SIZES, dags, fuzz_settings, random_case

import symback as sb
from symback.graph import toposort


def _values(e: sb.Expr, case) -> np.ndarray:  # type: ignore[no-untyped-def]
    """``e`` at the case's point; the leaves, plus symbolic sizes read as scalar symbols."""
    env = dict(zip((s.name for s in case.leaves), case.values))
    env.update({d: np.asarray(float(v)) for d, v in SIZES.items()})
    syms = list(case.leaves) + [s for s in sb.free_symbols(e) if s not in case.leaves]
    f = sb.lambdify(syms, e, check=False)
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        out = f(*[env[s.name] for s in syms])
        return np.broadcast_to(np.asarray(out, dtype=np.float64), _concrete(e.shape))


def _concrete(shape: tuple) -> tuple:
    return tuple(SIZES[d] if isinstance(d, str) else d for d in shape)


def _check_case(case) -> None:  # type: ignore[no-untyped-def]
    if case.dtype != "float64":
        return
    shapes = {s.name: s.shape for s in case.leaves}
    for o in case.outputs:
        exact = sb.to_text(o, exact=True)
        assert sb.parse(exact, shapes) is o, exact
        shown = str(o)
        back = sb.parse(shown, shapes)
        assert back.shape == o.shape, (shown, back.shape, o.shape)
        want = _values(o, case)
        got = _values(back, case)
        ok = np.isfinite(want)
        np.testing.assert_allclose(got[ok], want[ok], rtol=1e-7, atol=1e-9,
                                   err_msg=f"{shown}\n{exact}")


@fuzz_settings(ci=80, long=3000)
@given(dags())
def test_printed_text_parses_back_to_an_equal_expression(case) -> None:  # type: ignore
    _check_case(case)


@pytest.mark.parametrize("name", sorted(OPS))
def test_round_trip_of_every_registered_op(name: str) -> None:
    """Each op of the fuzz table (which has an entry for every registered op), built on
    random operands, and the gradient of its sum: printed both ways and parsed back."""
    from strategies import FuzzCase, GraphBuilder, RngChooser, _Decline

    built = 0
    for seed in range(60):
        b = GraphBuilder(RngChooser(np.random.default_rng(seed)), seed)
        b.leaf()
        for _ in range(seed % 3):
            b.step()
        try:
            node = OPS[name].build(b)
        except _Decline:
            continue
        if not isinstance(node, sb.Expr) or node.dtype == "bool" or not b.ok(node, 1e4) \
                or all(n.op.name != name for n in toposort([node])):
            continue
        outs = [node]
        if sb.free_symbols(node):
            outs.append(sb.grad(sb.sum(node), b.leaves[0]))
        _check_case(FuzzCase(list(b.leaves), list(b.values), outs, "float64"))
        built += 1
        if built >= 3:
            break
    assert built, f"could not build {name} on random operands"


# ----------------------------------------------------------------- the cases


def test_gradient_of_sum_prints_ones() -> None:
    x = sb.vector("x", 3)
    g = sb.grad(sb.sum(x), x)
    assert str(g) == "ones(3)"
    assert sb.to_text(g, exact=True) == "ones(3)"
    assert sb.parse("ones(3)") is g


def test_hessian_of_half_squared_norm_prints_eye() -> None:
    x = sb.vector("x", "n")
    h = sb.hessian(x @ x / 2, x)
    assert str(h) == "eye(n)"
    assert sb.parse(str(h), {"x": ("n",)}) is sb.parse("eye(n)")


def test_softmax_cross_entropy_gradient_reads_like_the_latex() -> None:
    X, Y, W = sb.matrix("X", "n", 4), sb.matrix("Y", "n", 3), sb.matrix("W", 4, 3)
    J = -sb.mean(sb.sum(Y * sb.log_softmax(X @ W), axis=1))
    g = sb.grad(J, W)
    assert str(g) == ("X.T @ (softmax(X @ W) * sum(Y, axis=1, keepdims=True) - Y) / n")
    assert sb.to_text(g, onehot=[Y]) == "X.T @ (softmax(X @ W) - Y) / n"
    back = sb.parse(str(g), {"X": ("n", 4), "Y": ("n", 3), "W": (4, 3)})
    rng = np.random.default_rng(0)
    xv, yv, wv = rng.standard_normal((5, 4)), np.eye(3)[[0, 2, 1, 1, 0]], rng.standard_normal((4, 3))
    ref = xv.T @ (np.exp(xv @ wv) / np.exp(xv @ wv).sum(1, keepdims=True) - yv) / 5  # by hand
    np.testing.assert_allclose(sb.lambdify([X, Y, W], g)(xv, yv, wv), ref, rtol=1e-12)
    n = sb.symbols("n")
    np.testing.assert_allclose(sb.lambdify([X, Y, W, n], back)(xv, yv, wv, 5.0), ref, rtol=1e-12)


def test_logistic_loss_gradient_prints_sigmoid_minus_y() -> None:
    z, y = sb.symbols("z y")
    a = sb.sigmoid(z)
    assert str(sb.grad(-(y * sb.log(a) + (1 - y) * sb.log(1 - a)), z)) == "sigmoid(z) - y"


def test_exact_text_is_the_graph_node_for_node() -> None:
    z = sb.symbols("z")
    e = -(1.0 / sb.sigmoid(z)) * (sb.sigmoid(z) * (1 - sb.sigmoid(z)))
    exact = sb.to_text(e, exact=True)
    assert sb.parse(exact) is e
    assert str(e) != exact  # the display cancels
    assert repr(e) == str(e)


@pytest.mark.parametrize("text, shapes", [
    ("zeros((2, n))", {}), ("ones(n)", {}), ("eye(3) @ A", {"A": (3, 3)}),
    ("broadcast_to(x, shape=(n, 3))", {}), ("expand_dims(v, axis=(1,))", {"v": (3,)}),
    ("squeeze(expand_dims(v, axis=(0,)), axis=(0,))", {"v": (3,)}),
    ("array([[1.0, 2.0], [3.0, 4.0]]) @ A", {"A": (2, 2)}),
])
def test_shape_functions_parse(text: str, shapes: dict) -> None:
    e = sb.parse(text, shapes)
    assert sb.parse(sb.to_text(e, exact=True), shapes) is e


# ----------------------------------------------------------------- the README's side by side


def test_readme_plain_text_and_latex_block_prints_what_it_says() -> None:
    code = python_blocks(section("### Plain text and LaTeX, side by side"))[0]
    printed = run_block(code, "side-by-side")
    expected = promised(code)
    assert len(expected) >= 12
    for line in expected:
        assert line in printed, (line, printed)


def test_exact_text_prints_array_constants_to_full_precision():
    """Found by the long text fuzz: a constant array was printed with NumPy's 8 digits, so
    parse(to_text(e, exact=True)) built a different constant."""
    x = sb.matrix("x0", 2, 2)
    c = np.array([[1.2310837812345678, 1.555413851], [1.081755341, 2.2017109412]])
    e = sb.special.xlogy(x[0], c)
    text = sb.to_text(e, exact=True)
    assert "1.2310837812345679" in text
    assert sb.parse(text, {"x0": (2, 2)}) is e
