"""Compiled functions in a SymPy user's hands (issue 12 point 5): keyword and dict
arguments, a ShapeError that says how to evaluate at many points, a self-contained
``.source``, ``float``/``int`` of constants, ``np.asarray`` refused, value_and_grad's
argument order, and the SymPy round trip keeping the user's symbols."""

from __future__ import annotations

import numpy as np
import pytest
import sympy

import symback as sb

X = sb.matrix("X", 3, 2)
W = sb.vector("W", 2)
x, y = sb.symbols("x y")


def _ref(xv: np.ndarray, wv: np.ndarray) -> float:
    return float(np.sum(np.tanh(xv @ wv)))  # by hand


def test_keyword_and_dict_arguments() -> None:
    f = sb.lambdify([X, W], sb.sum(sb.tanh(X @ W)))
    rng = np.random.default_rng(0)
    xv, wv = rng.standard_normal((3, 2)), rng.standard_normal(2)
    assert float(f(X=xv, W=wv)) == pytest.approx(_ref(xv, wv))
    assert float(f(W=wv, X=xv)) == pytest.approx(_ref(xv, wv))
    assert float(f({"X": xv, "W": wv})) == pytest.approx(_ref(xv, wv))
    with pytest.raises(sb.SymbackError, match="no value for W"):
        f(X=xv)
    with pytest.raises(sb.SymbackError, match="unknown argument.*Z"):
        f(X=xv, W=wv, Z=1.0)
    with pytest.raises(sb.SymbackError, match="positionally or by name"):
        f(xv, W=wv)


def test_array_of_points_for_a_scalar_symbol_says_what_to_do() -> None:
    f = sb.lambdify([x], sb.sin(x) * 2)
    with pytest.raises(sb.ShapeError, match=r"check=False"):
        f(np.linspace(0, 1, 5))
    pts = np.linspace(0, 1, 5)
    np.testing.assert_allclose(sb.lambdify([x], sb.sin(x) * 2, check=False)(pts), 2 * np.sin(pts))


@pytest.mark.parametrize("check_finite", [False, True])
def test_source_is_self_contained(check_finite: bool) -> None:
    const = sb.const(np.array([0.5, -1.0]))
    f = sb.lambdify([X, W], [sb.sum(sb.sigmoid(X @ W)), sb.softplus(X @ (W * const))],
                    check_finite=check_finite)
    src = f.source
    assert src.splitlines()[1] == "import numpy as np"
    ns: dict = {}
    exec(src, ns)  # noqa: S102 - the generated text of our own graph
    rng = np.random.default_rng(1)
    xv, wv = rng.standard_normal((3, 2)), rng.standard_normal(2)
    if check_finite:
        return  # the labels of the checks are graph nodes: defined, not run standalone
    fn = ns.get("_symback_call") or ns["_symback_fn"]
    a, b = fn(xv, wv)
    np.testing.assert_allclose(a, np.sum(1 / (1 + np.exp(-(xv @ wv)))), rtol=1e-12)
    np.testing.assert_allclose(b, np.logaddexp(0, xv @ (wv * np.array([0.5, -1.0]))),
                               rtol=1e-12)


def test_scalar_source_is_self_contained() -> None:
    f = sb.lambdify([x, y], sb.exp(x) * y)
    ns: dict = {}
    exec(f.source, ns)  # noqa: S102
    fn = ns.get("_symback_call") or ns["_symback_fn"]
    assert float(fn(0.5, 2.0)) == pytest.approx(2 * np.exp(0.5))
    with pytest.raises(sb.ShapeError):
        fn(np.ones(3), 2.0)


def test_float_and_int_of_constants() -> None:
    assert float(sb.const(2.0) * 3) == 6.0
    assert int(sb.const(7)) == 7
    assert float(sb.parse("2 ** 0.5")) == pytest.approx(2 ** 0.5)
    with pytest.raises(TypeError, match="depends on x"):
        float(x + 1)
    with pytest.raises(TypeError, match="shape"):
        float(W)


def test_np_asarray_of_an_expression_is_a_clear_type_error() -> None:
    with pytest.raises(TypeError, match="sb.lambdify"):
        np.asarray(x + 1)
    with pytest.raises(TypeError, match="sb.lambdify"):
        np.array([x, y])


def test_value_and_grad_argument_order_is_shown_and_dicts_work() -> None:
    J = sb.sum((X @ W) ** 2)
    step = sb.value_and_grad(J, [W])
    assert step.arg_names == ("W", "X")  # name order
    assert repr(step) == "<symback value_and_grad (W, X) -> (value, [d/dW])>"
    rng = np.random.default_rng(2)
    xv, wv = rng.standard_normal((3, 2)), rng.standard_normal(2)
    v1, (g1,) = step(wv, xv)
    v2, (g2,) = step(X=xv, W=wv)
    v3, (g3,) = step({"X": xv, "W": wv})
    for v, g in ((v1, g1), (v2, g2), (v3, g3)):
        assert float(v) == pytest.approx(np.sum((xv @ wv) ** 2))
        np.testing.assert_allclose(g, 2 * xv.T @ (xv @ wv), rtol=1e-12)
    step2 = sb.value_and_grad(J, [W], args={"X": X, "W": W})
    assert step2.arg_names == ("X", "W")
    assert "args" in sb.value_and_grad.__doc__ and "name order" in sb.value_and_grad.__doc__


def test_sympy_round_trip_gives_back_the_users_symbols() -> None:
    a, b = sympy.symbols("a b")  # no assumptions
    e = sympy.log(1 + sympy.exp(a)) / a + b ** 2
    back = sb.to_sympy(sb.from_sympy(e))
    assert back - e == 0
    assert back.free_symbols == {a, b}
    assert sb.to_sympy(sb.symbols("q")).is_real  # made by symback: real
