"""The reverse pass: grad-table semantics, broadcasting, higher order, and sympy.diff agreement."""

from __future__ import annotations

import numpy as np
import pytest
import sympy
from gradcheck import assert_close, check_grad, numeric_grad
from hypothesis import given
from hypothesis import strategies as st

import symback as sb
from symback.autodiff import backprop
from symback.graph import Op, toposort
from symback.ops.elementwise import _ew_shape
from symback.printing.precedence import Notation


def test_scalar_chain_rule_seed_e1():
    a, b, c = sb.symbols("a b c")
    J = 3 * (a + b * c)
    f = sb.lambdify([a, b, c], sb.grad(J, [a, b, c]))
    assert [float(v) for v in f(5.0, 3.0, 2.0)] == [3.0, 6.0, 9.0]
    assert [float(v) for v in f(7.0, 4.0, 2.0)] == [3.0, 6.0, 12.0]


def test_gradient_has_shape_of_wrt_and_zeros_for_unused():
    X = sb.matrix("X", 3, 2)
    w = sb.vector("w", 2)
    unused = sb.matrix("U", 4, 4)
    L = sb.sum(sb.tanh(X @ w))
    gX, gw, gU = sb.grad(L, [X, w, unused])
    assert gX.shape == (3, 2) and gw.shape == (2,) and gU.shape == (4, 4)
    out = sb.lambdify([X, w, unused], gU)(np.ones((3, 2)), np.ones(2), np.ones((4, 4)))
    assert out.shape == (4, 4) and not out.any()


def test_non_scalar_y_points_to_jacobian():
    x = sb.vector("x", 3)
    with pytest.raises(sb.SymbackError, match="jacobian"):
        sb.grad(sb.exp(x), x)


def test_gradients_share_forward_nodes():
    X = sb.matrix("X", 3, 3)
    W = sb.matrix("W", 3, 2)
    N = X @ W
    S = sb.sigmoid(N)
    L = sb.sum(S)
    gW = sb.grad(L, W)
    nodes = set(toposort([gW]))
    assert S in nodes and N not in nodes or S in nodes  # σ' reuses S = σ(N), not a new σ
    assert sum(1 for n in nodes if n.op.name == "sigmoid") == 1


def test_each_vjp_called_once_per_node():
    """The grad table sums contributions before one VJP call per node (dynamic programming)."""
    x = sb.symbols("x")
    u = sb.sin(x)
    y = u * u + u * 3.0 + sb.exp(u)  # u has three consumers
    bp = backprop(y, [x])
    visited = [s.node for s in bp.steps]
    assert len(visited) == len(set(visited))
    step_u = next(s for s in bp.steps if s.node is u)
    assert len(step_u.contributions) == 4  # u*u twice, 3u once, exp(u) once


def test_only_nodes_between_y_and_wrt_are_visited():
    x, y = sb.symbols("x y")
    big = sb.exp(sb.sin(y) * sb.cos(y))
    L = x * big
    bp = backprop(L, [x])
    assert {s.node for s in bp.steps} == {L, x}


def test_broadcast_gradients_are_summed_back():
    X = sb.matrix("X", 4, 3)
    b = sb.vector("b", 3)
    c = sb.matrix("c", 4, 1)
    L = sb.sum(sb.tanh(X + b) * c)
    rng = np.random.default_rng(0)
    vals = [rng.normal(size=(4, 3)), rng.normal(size=3), rng.normal(size=(4, 1))]
    grads = sb.lambdify([X, b, c], sb.grad(L, [X, b, c]))(*vals)
    ref = lambda X, b, c: float(np.sum(np.tanh(X + b) * c))  # noqa: E731
    check_grad(ref, grads, vals)


def test_grad_of_grad_mixed_partials():
    x, y = sb.symbols("x y")
    f = sb.sin(x * y) + x ** 3 * y
    dxy = sb.grad(sb.grad(f, x), y)
    xs, ys = sympy.symbols("x y")
    ref = sympy.diff(sympy.sin(xs * ys) + xs ** 3 * ys, xs, ys)
    got = float(sb.lambdify([x, y], dxy)(0.7, -1.3))
    assert np.isclose(got, float(ref.subs({xs: 0.7, ys: -1.3})), rtol=1e-12)


def test_wrong_rule_is_caught_by_the_checker():
    """The gradient checker must reject a deliberately wrong derivative rule."""
    bad_exp = Op("bad_exp", 1, _ew_shape("bad_exp"), numpy="np.exp({0})",
                 vjp=lambda g, out, a: (g * out * 1.01,), elementwise=True,
                 text=Notation("bad_exp({0})"))  # not registered: invisible to other tests
    x = sb.vector("x", 3)
    L = sb.sum(bad_exp(x))
    vals = [np.array([0.1, 0.2, 0.3])]
    g = sb.lambdify([x], sb.grad(L, x))(*vals)
    with pytest.raises(AssertionError, match="mismatch"):
        check_grad(lambda v: float(np.sum(np.exp(v))), [g], vals)
    good = sb.lambdify([x], sb.grad(sb.sum(sb.exp(x)), x))(*vals)
    check_grad(lambda v: float(np.sum(np.exp(v))), [good], vals)


def test_op_without_derivative_is_an_error_naming_it():
    nodiff = Op("floorish", 1, _ew_shape("floorish"), numpy="np.floor({0})", vjp=None,
                nondifferentiable=True, elementwise=True)
    x = sb.symbols("x")
    with pytest.raises(sb.SymbackError, match="floorish"):
        sb.grad(nodiff(x) * x, x)


def test_kink_conventions():
    x, y = sb.symbols("x y")
    at0 = sb.lambdify([x], [sb.grad(sb.relu(x), x), sb.grad(sb.abs(x), x)])(0.0)
    assert [float(v) for v in at0] == [0.0, 0.0]
    tie = sb.lambdify([x, y], sb.grad(sb.maximum(x, y), [x, y]))(1.0, 1.0)
    assert [float(v) for v in tie] == [0.5, 0.5]
    tie = sb.lambdify([x, y], sb.grad(sb.minimum(x, y), [x, y]))(2.0, 2.0)
    assert [float(v) for v in tie] == [0.5, 0.5]


def test_masked_gradient_stays_finite():
    """where() routes the upstream gradient, so a huge value in the other branch cannot leak."""
    x = sb.vector("x", 3)
    L = sb.sum(sb.where(x > 0, x * 2.0, sb.exp(x * 1000.0) * 0.0 + 1.0))
    g = sb.lambdify([x], sb.grad(L, x))(np.array([-1.0, 2.0, 3.0]))
    assert np.all(np.isfinite(g)) and list(g) == [0.0, 2.0, 2.0]


def test_vjp_of_nonscalar():
    x = sb.vector("x", 3)
    u = sb.vector("u", 3)
    y = sb.sin(x) * 2.0
    g = sb.vjp(y, x, u)
    xv, uv = np.array([0.1, 0.5, -0.3]), np.array([1.0, -2.0, 0.5])
    got = sb.lambdify([x, u], g)(xv, uv)
    assert_close(got, uv * 2 * np.cos(xv), rtol=1e-12)


# ---------------------------------------------------------------- against sympy.diff

_UNARY = [
    ("sin", sb.sin, sympy.sin), ("cos", sb.cos, sympy.cos), ("tanh", sb.tanh, sympy.tanh),
    ("exp", lambda e: sb.exp(e * 0.3), lambda e: sympy.exp(e * sympy.Float(0.3))),
    ("sigmoid", sb.sigmoid, lambda e: 1 / (1 + sympy.exp(-e))),
    ("softplus", sb.softplus, lambda e: sympy.log(1 + sympy.exp(e))),
    ("sqrt1", lambda e: sb.sqrt(e * e + 1.0), lambda e: sympy.sqrt(e * e + 1)),
    ("log1", lambda e: sb.log(e * e + 1.0), lambda e: sympy.log(e * e + 1)),
    ("neg", lambda e: -e, lambda e: -e),
]
_BINARY = [
    ("add", lambda a, b: a + b, lambda a, b: a + b),
    ("sub", lambda a, b: a - b, lambda a, b: a - b),
    ("mul", lambda a, b: a * b, lambda a, b: a * b),
    ("div", lambda a, b: a / (b * b + 1.0), lambda a, b: a / (b * b + 1)),
    ("pow", lambda a, b: (a * a + 1.0) ** (b * 0.5), lambda a, b: (a * a + 1) ** (b / 2)),
]


@st.composite
def recipes(draw):
    """A random DAG as a list of steps over earlier nodes (so nodes are shared)."""
    n_steps = draw(st.integers(1, 12))
    steps = []
    for k in range(n_steps):
        avail = 3 + k
        if draw(st.booleans()):
            steps.append(("u", draw(st.integers(0, len(_UNARY) - 1)), draw(st.integers(0, avail - 1))))
        else:
            steps.append(("b", draw(st.integers(0, len(_BINARY) - 1)),
                          draw(st.integers(0, avail - 1)), draw(st.integers(0, avail - 1))))
    return steps


def _build(steps, leaves, unary_idx, binary_idx):
    nodes = list(leaves)
    for s in steps:
        if s[0] == "u":
            nodes.append(_UNARY[s[1]][unary_idx](nodes[s[2]]))
        else:
            nodes.append(_BINARY[s[1]][binary_idx](nodes[s[2]], nodes[s[3]]))
    return nodes[-1]


@given(recipes(), st.lists(st.floats(-1.5, 1.5), min_size=3, max_size=3))
def test_random_expressions_match_sympy_diff(steps, point):
    xs = sb.symbols("x y z")
    ss = sympy.symbols("x y z")
    e = _build(steps, xs, 1, 1)
    se = _build(steps, ss, 2, 2)
    grads = sb.grad(e, list(xs))
    got = sb.lambdify(list(xs), [e, *grads])(*point)
    subs = dict(zip(ss, point))
    want_val = float(se.evalf(subs=subs))
    assert np.isclose(float(got[0]), want_val, rtol=1e-9, atol=1e-12)
    for g, s in zip(got[1:], ss):
        want = float(sympy.diff(se, s).evalf(subs=subs))
        assert np.isclose(float(g), want, rtol=1e-8, atol=1e-10), (str(e), s)


def test_numeric_grad_helper_is_right():
    f = lambda v: float(np.sum(v ** 3))  # noqa: E731
    v = np.array([1.0, -2.0])
    assert np.allclose(numeric_grad(f, [v], 0), 3 * v ** 2, rtol=1e-8)
