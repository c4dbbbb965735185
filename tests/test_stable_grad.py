"""The reverse pass differentiates the stable form (symback.autodiff.stable_form).

``sb.grad`` (and vjp, jacobian, hessian, hvp) rewrite the forward graph with
``CANONICAL`` and ``STABILIZE`` before the reverse pass, so the gradient is
derived from ``−softplus(−x)`` rather than ``log σ(x)``. Every case runs under
``np.errstate(over="raise", invalid="raise", divide="raise")``: an overflow,
a 0·∞ or a division by zero in the generated code fails the test. References
are hand-derived closed forms evaluated stably in NumPy (``np.logaddexp``,
``np.linalg.inv``), never symback.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
import pytest

import symback as sb
from symback import rules

RAISE = dict(over="raise", invalid="raise", divide="raise")


def _sigmoid(x: Any) -> Any:
    """σ(x) = exp(−log(1 + e^{−x})), with no overflow at ±1000."""
    return np.exp(-np.logaddexp(0.0, -np.asarray(x, dtype=float)))


def _softmax(v: np.ndarray) -> np.ndarray:
    e = np.exp(v - v.max())
    return e / e.sum()


def _value_and_grad(f: sb.Expr, args: list[sb.Expr], wrt: sb.Expr, *vals: Any) -> tuple[Any, Any]:
    g = sb.grad(f, wrt)
    fn = sb.lambdify(args, [f, g])
    with np.errstate(**RAISE):
        v, gv = fn(*vals)
    return v, gv


# ----------------------------------------------------------------- the cases


x = sb.vector("x", 5)
XS = np.array([-1000.0, -40.0, 0.0, 40.0, 1000.0])


def test_grad_of_sum_log_sigmoid_at_minus_1000() -> None:
    f = sb.sum(sb.log(sb.sigmoid(x)))
    v, g = _value_and_grad(f, [x], x, XS)
    np.testing.assert_allclose(g, _sigmoid(-XS), rtol=1e-12)  # d log σ = 1 − σ = σ(−x)
    np.testing.assert_allclose(v, np.sum(-np.logaddexp(0.0, -XS)), rtol=1e-12)
    assert "sigmoid(-x)" in str(sb.grad(f, x))  # printed: the stable form that runs


def test_grad_of_log_one_minus_sigmoid_at_plus_1000() -> None:
    f = sb.sum(sb.log(1 - sb.sigmoid(x)))
    v, g = _value_and_grad(f, [x], x, XS)
    np.testing.assert_allclose(g, -_sigmoid(XS), rtol=1e-12)
    np.testing.assert_allclose(v, np.sum(-np.logaddexp(0.0, XS)), rtol=1e-12)


def test_grad_of_log_det_when_det_overflows() -> None:
    n = 200
    X = sb.matrix("X", n, n)
    rng = np.random.default_rng(0)
    xv = 100.0 * np.eye(n) + rng.standard_normal((n, n))
    with np.errstate(over="ignore"):
        assert not np.isfinite(np.linalg.det(xv))  # the determinant itself overflows
    g = sb.grad(sb.log(sb.det(X)), X)
    text = sb.to_text(g, exact=True)
    assert "det" not in text and "inv" in text, text  # X⁻ᵀ, not (1/det X)·det X·X⁻ᵀ
    with np.errstate(**RAISE):
        got = sb.lambdify([X], g)(xv)
    np.testing.assert_allclose(got, np.linalg.inv(xv).T, rtol=1e-10, atol=1e-14)
    assert sb.latex(g) == "X^{-T}"


def test_grad_of_zero_to_the_y() -> None:
    y = sb.symbols("y")
    g = sb.grad(sb.const(0.0) ** y, y)
    with np.errstate(**RAISE):
        assert float(sb.lambdify([y], g)(0.5)) == 0.0
        assert float(sb.lambdify([y], g)(3.0)) == 0.0


def test_logistic_loss_gradient_is_the_stable_form() -> None:
    z, y = sb.symbols("z y")
    a = sb.sigmoid(z)
    g = sb.grad(-(y * sb.log(a) + (1 - y) * sb.log(1 - a)), z)
    assert sb.to_text(g, exact=True) == "sigmoid(z) - y"
    f = sb.lambdify([z, y], g)
    with np.errstate(**RAISE):
        for zv in (-1000.0, -30.0, 0.5, 30.0, 1000.0):
            for yv in (0.0, 0.3, 1.0):
                assert float(f(zv, yv)) == pytest.approx(float(_sigmoid(zv)) - yv, abs=1e-15)


def test_wrt_an_inner_node_survives_the_rewrite() -> None:
    """∂/∂s log s at s = σ(x): the rewrite must not fold the wrt node away."""
    s = sb.sigmoid(x)
    g = sb.grad(sb.sum(sb.log(s)), s)
    fn = sb.lambdify([x], g)
    np.testing.assert_allclose(fn(np.array([-1.0, 0.0, 1.0, 2.0, 3.0])),
                               1.0 / _sigmoid(np.array([-1.0, 0.0, 1.0, 2.0, 3.0])))


def test_wrt_nodes_one_under_another_are_differentiated_as_written() -> None:
    """wrt = [σ(x), x]: x lies under the other wrt node, so no placeholder can stand for
    σ(x); ∂/∂s Σ log s = 1/s and the total ∂/∂x Σ log σ(x) = σ(−x), by hand."""
    s = sb.sigmoid(x)
    gs, gx = sb.grad(sb.sum(sb.log(s)), [s, x])
    pts = np.array([-3.0, -1.0, 0.0, 1.0, 2.0])
    np.testing.assert_allclose(sb.lambdify([x], gs)(pts), 1.0 / _sigmoid(pts), rtol=1e-12)
    np.testing.assert_allclose(sb.lambdify([x], gx)(pts), _sigmoid(-pts), rtol=1e-12)


def test_higher_order_and_vjp_use_the_stable_form_too() -> None:
    v = sb.vector("v", 5)
    f = sb.sum(sb.log(sb.sigmoid(x)))
    h = sb.hvp(f, x, v)        # d²/dx² log σ(x) = −σ(x)σ(−x)
    with np.errstate(**RAISE):
        got = sb.lambdify([x, v], h)(XS, np.ones(5))
    np.testing.assert_allclose(got, -_sigmoid(XS) * _sigmoid(-XS), rtol=1e-12, atol=1e-300)
    j = sb.vjp(sb.log(sb.sigmoid(x)), x, v)
    with np.errstate(**RAISE):
        got = sb.lambdify([x, v], j)(XS, np.ones(5))
    np.testing.assert_allclose(got, _sigmoid(-XS), rtol=1e-12)


# ----------------------------------------------------------------- every STABILIZE rule


s_, t_ = sb.symbols("s t")
V = sb.vector("v", 3)
Yv = sb.vector("yv", 3)
Mx = sb.matrix("M", 200, 200)
_M = 100.0 * np.eye(200) + np.random.default_rng(1).standard_normal((200, 200))


def _scalar_case(f: Callable[[sb.Expr], sb.Expr], value: Callable[[Any], Any],
                 deriv: Callable[[Any], Any], points: tuple[float, ...]) -> Any:
    return ([s_], f(s_), s_, [np.array(p) for p in points], value, deriv)


#: rule → (args, f, wrt, points, reference value, reference gradient), at extreme inputs.
SWEEP: dict[str, Any] = {
    "log-sigmoid": _scalar_case(lambda s: sb.log(sb.sigmoid(s)), lambda s: -np.logaddexp(0, -s),
                                lambda s: _sigmoid(-s), (-1000.0, -40.0, 40.0, 1000.0)),
    "log-one-minus-sigmoid": _scalar_case(lambda s: sb.log(1 - sb.sigmoid(s)),
                                          lambda s: -np.logaddexp(0, s), lambda s: -_sigmoid(s),
                                          (-1000.0, -40.0, 40.0, 1000.0)),
    # σ′ = σ(x)(1 − σ(x)) = σ(x)σ(−x): ≈ e^{−40} at 40, where 1 − σ(40) rounds to 0
    "one-minus-sigmoid": _scalar_case(lambda s: 1 - sb.sigmoid(s), lambda s: _sigmoid(-s),
                                      lambda s: -_sigmoid(s) * _sigmoid(-s), (-40.0, 0.0, 40.0)),
    "sigmoid": _scalar_case(lambda s: 1 / (1 + sb.exp(-s)), _sigmoid,
                            lambda s: _sigmoid(s) * _sigmoid(-s), (-1000.0, -40.0, 40.0, 1000.0)),
    "sigmoid-neg": _scalar_case(lambda s: 1 / (1 + sb.exp(s)), lambda s: _sigmoid(-s),
                                lambda s: -_sigmoid(s) * _sigmoid(-s), (-1000.0, 0.0, 1000.0)),
    "softmax": ([V, Yv], sb.sum(Yv * (sb.exp(V) / sb.sum(sb.exp(V)))), V,
                [np.array([1000.0, 999.0, -1000.0]), np.array([0.0, 1.0, 0.0])],
                lambda v, y: np.sum(y * _softmax(v)),
                lambda v, y: _softmax(v) * (y - np.sum(y * _softmax(v)))),
    "log-det": ([Mx], sb.log(sb.det(Mx)), Mx, [_M], lambda m: np.linalg.slogdet(m)[1],
                lambda m: np.linalg.inv(m).T),
    "log-softmax": ([V, Yv], sb.sum(Yv * sb.log(sb.softmax(V))), V,
                    [np.array([1000.0, 0.0, -1000.0]), np.array([0.0, 1.0, 0.0])],
                    lambda v, y: np.sum(y * (v - v.max() - np.log(np.sum(np.exp(v - v.max()))))),
                    lambda v, y: y - _softmax(v) * y.sum()),
    "log-sum-exp": ([V], sb.log(sb.sum(sb.exp(V))), V, [np.array([1000.0, 999.0, -1000.0])],
                    lambda v: v.max() + np.log(np.sum(np.exp(v - v.max()))), _softmax),
    "log1p-left": _scalar_case(lambda s: sb.log(1 + s), np.log1p, lambda s: 1 / (1 + s),
                               (1e-20, -0.5, 1e300)),
    "log1p-right": _scalar_case(lambda s: sb.log(s + 1), np.log1p, lambda s: 1 / (1 + s),
                                (1e-20, -0.5, 1e300)),
    "log1p-sub": _scalar_case(lambda s: sb.log(1 - s), lambda s: np.log1p(-s),
                              lambda s: -1 / (1 - s), (1e-20, 0.5, -1e300)),
    "softplus": _scalar_case(lambda s: sb.log1p(sb.exp(s)), lambda s: np.logaddexp(0, s),
                             _sigmoid, (-1000.0, 0.0, 1000.0)),
    "expm1": _scalar_case(lambda s: sb.exp(s) - 1, np.expm1, np.exp, (1e-20, -1000.0, 1.0)),
    "binary-cross-entropy": ([s_, t_], t_ * sb.log(sb.sigmoid(s_))
                             + (1 - t_) * sb.log(1 - sb.sigmoid(s_)), s_,
                             [np.array(1000.0), np.array(0.25)],
                             lambda z, y: y * -np.logaddexp(0, -z) + (1 - y) * -np.logaddexp(0, z),
                             lambda z, y: y - _sigmoid(z)),
}


def test_the_sweep_covers_every_stabilize_rule() -> None:
    assert {r.name for r in rules.STABILIZE} <= set(SWEEP)


@pytest.mark.parametrize("rule", sorted(SWEEP))
def test_stabilize_rule_at_extreme_inputs(rule: str) -> None:
    args, f, wrt, points, value, deriv = SWEEP[rule]
    if args == [s_]:  # one scalar at several points: one call each
        for p in points:
            v, g = _value_and_grad(f, args, wrt, p)
            np.testing.assert_allclose(v, value(p), rtol=1e-12, atol=0)
            np.testing.assert_allclose(g, deriv(p), rtol=1e-12, atol=0)
        return
    v, g = _value_and_grad(f, args, wrt, *points)
    np.testing.assert_allclose(v, value(*points), rtol=1e-10)
    np.testing.assert_allclose(g, deriv(*points), rtol=1e-10, atol=1e-14)


def test_forward_mode_jacobian_uses_the_stable_form() -> None:
    """jacobian of a vector y (forward mode): ∂ log σ(x)/∂x = diag(σ(−x)), finite at −1000."""
    J = sb.jacobian(sb.log(sb.sigmoid(x)), x)
    with np.errstate(**RAISE):
        got = sb.lambdify([x], J)(XS)
    np.testing.assert_allclose(got, np.diag(_sigmoid(-XS)), rtol=1e-12)
    v = sb.vector("v", 5)
    with np.errstate(**RAISE):
        got = sb.lambdify([x, v], sb.jvp(sb.log(1 - sb.sigmoid(x)), x, v))(XS, np.ones(5))
    np.testing.assert_allclose(got, -_sigmoid(XS), rtol=1e-12)
