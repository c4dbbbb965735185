"""The rule tables CANONICAL, STABILIZE and LOWER (symback/rules.py).

For every rule: it fires on its pattern and the pattern is gone afterwards,
the rewritten graph has the same values on random inputs (and, for the
guarded/domain-sensitive rules, on inputs outside the domain: NaN stays NaN,
-inf stays -inf), and a near miss leaves the graph untouched. A table-level
test makes sure no rule goes untested. Values are compared between the graph
before and after the rewrite, and for the stabilising rules also against
closed forms computed independently in NumPy.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
import pytest

import symback as sb
from symback import rules
from symback.graph import toposort
from symback.rewrite import RuleSet, match, rewrite

x, y, z = sb.symbols("x y z")
V = sb.vector("v", 4)
W = sb.vector("w", 4)
A = sb.matrix("A", 3, 4)
B = sb.matrix("B", 4, 2)
C = sb.matrix("C", 3, 2)
G = sb.matrix("G", 64, 64)
M = sb.matrix("M", 3, 3)
X1, X2, X3, X4 = (sb.matrix(n, 3, 4) for n in ("X1", "X2", "X3", "X4"))
S1, S2 = sb.tensor("S1", (16, 32, 5)), sb.tensor("S2", (16, 32, 3))


@dataclass
class Case:
    rule: str
    table: str
    build: Callable[[], sb.Expr]
    near_miss: Callable[[], sb.Expr]
    domain: tuple[float, float] = (-2.0, 2.0)
    invalid: tuple[float, ...] = ()  # inputs outside the rule's domain, compared too


CASES = [
    # CANONICAL
    Case("mul-const-both", "CANONICAL", lambda: (2.0 * x) * (3.0 * y), lambda: (2.0 * x) * y),
    Case("mul-const-fold", "CANONICAL", lambda: sb.const(np.float64(2.0)) * (3.0 * x),
         lambda: sb.const(np.float64(2.0)) * (z * x)),
    Case("mul-neg-left", "CANONICAL", lambda: (-x) * y, lambda: sb.exp(x) * y),
    Case("mul-neg-right", "CANONICAL", lambda: x * (-sb.sin(y)), lambda: x * sb.sin(y)),
    Case("div-neg", "CANONICAL", lambda: (-x) / y, lambda: x / y, domain=(0.5, 2.0)),
    Case("factor-add", "CANONICAL", lambda: 3.0 * sb.sin(x) + 3.0 * y,
         lambda: 3.0 * sb.sin(x) + 2.0 * y),
    Case("factor-sub", "CANONICAL", lambda: 3.0 * sb.sin(x) - 3.0 * y,
         lambda: 3.0 * sb.sin(x) - 2.0 * y),
    Case("sum-const", "CANONICAL", lambda: sb.sum(2.0 * sb.exp(V)), lambda: sb.sum(W * sb.exp(V))),
    Case("mean-const", "CANONICAL", lambda: sb.mean(2.0 * sb.exp(V), axis=0),
         lambda: sb.mean(W * sb.exp(V), axis=0)),
    Case("sum-neg", "CANONICAL", lambda: sb.sum(-sb.exp(V)), lambda: sb.sum(sb.exp(-V))),
    Case("sum-add", "CANONICAL", lambda: sb.sum(A, axis=0) + sb.sum(sb.exp(A), axis=0),
         lambda: sb.sum(A, axis=0) + sb.sum(sb.exp(A.T), axis=1)),
    Case("sum-sub", "CANONICAL", lambda: sb.sum(A, axis=1) - sb.sum(sb.exp(A), axis=1),
         lambda: sb.sum(A, axis=1) - sb.sum(sb.exp(C), axis=1)),
    Case("transpose-matmul", "CANONICAL", lambda: sb.sum((A @ B).T * 1.5),
         lambda: sb.sum((A @ B) * 1.5)),
    Case("log-exp", "CANONICAL", lambda: sb.log(sb.exp(x)) * y, lambda: sb.exp(sb.log(x)) * y,
         domain=(0.1, 3.0)),
    Case("mean-sum", "CANONICAL", lambda: sb.mean(sb.exp(A), axis=1),
         lambda: sb.sum(sb.exp(A), axis=1)),
    # STABILIZE
    Case("log-sigmoid", "STABILIZE", lambda: sb.log(sb.sigmoid(x)), lambda: sb.log(sb.tanh(x)),
         domain=(-5, 5), invalid=(np.nan,)),
    Case("log-one-minus-sigmoid", "STABILIZE", lambda: sb.log(1 - sb.sigmoid(x)),
         lambda: sb.log(2 - sb.sigmoid(x)), domain=(-5, 5), invalid=(np.nan,)),
    Case("one-minus-sigmoid", "STABILIZE", lambda: (1 - sb.sigmoid(x)) * y,
         lambda: (2 - sb.sigmoid(x)) * y, domain=(-5, 5), invalid=(np.nan, np.inf, -np.inf)),
    Case("log-softmax", "STABILIZE", lambda: sb.sum(sb.log(sb.softmax(A, axis=1))),
         lambda: sb.sum(sb.log(sb.sigmoid(A)))),
    Case("sigmoid", "STABILIZE", lambda: 1 / (1 + sb.exp(-x)), lambda: 1 / (2 + sb.exp(-x)),
         domain=(-5, 5), invalid=(np.nan,)),
    Case("sigmoid-neg", "STABILIZE", lambda: 1.0 / (1.0 + sb.exp(x)),
         lambda: 2.0 / (1.0 + sb.exp(x)), domain=(-5, 5), invalid=(np.nan,)),
    Case("softmax", "STABILIZE", lambda: sb.exp(A) / sb.sum(sb.exp(A), axis=1, keepdims=True),
         lambda: sb.exp(A) / sb.sum(sb.exp(A), axis=1, keepdims=True) ** 2),
    Case("log-det", "STABILIZE", lambda: sb.log(sb.det(M)), lambda: sb.log(sb.trace(M))),
    Case("log-sum-exp", "STABILIZE", lambda: sb.log(sb.sum(sb.exp(V))),
         lambda: sb.log(sb.sum(sb.exp(V) + 1.0))),
    Case("log1p-left", "STABILIZE", lambda: sb.log(1 + x), lambda: sb.log(2 + x),
         domain=(-0.9, 2.0), invalid=(-1.0, -3.0, np.nan, np.inf)),
    Case("log1p-right", "STABILIZE", lambda: sb.log(x + 1), lambda: sb.log(x + 2),
         domain=(-0.9, 2.0), invalid=(-1.0, -3.0, np.nan, np.inf)),
    Case("log1p-sub", "STABILIZE", lambda: sb.log(1 - x), lambda: sb.log(2 - x),
         domain=(-2.0, 0.9), invalid=(1.0, 3.0, np.nan, -np.inf)),
    Case("softplus", "STABILIZE", lambda: sb.log1p(sb.exp(x)), lambda: sb.log1p(sb.sin(x)),
         domain=(-3.0, 3.0), invalid=(np.nan, -np.inf)),
    Case("expm1", "STABILIZE", lambda: sb.exp(x) - 1, lambda: sb.exp(x) - 2,
         invalid=(np.nan, np.inf, -np.inf)),
    # the rules run bottom-up, so this one sees the logs already stabilised
    Case("binary-cross-entropy", "STABILIZE",
         lambda: y * -sb.softplus(-x) + (1 - y) * -sb.softplus(x),
         lambda: y * -sb.softplus(-x) + (1 - z) * -sb.softplus(x),
         domain=(0.05, 0.95)),
    # LOWER
    Case("sum-of-squares", "LOWER", lambda: sb.sum(G ** 2), lambda: sb.sum(G ** 2, axis=0)),
    # near miss: a sum over one axis is not a dot
    Case("sum-of-products", "LOWER", lambda: sb.sum(G * sb.exp(G)),
         lambda: sb.sum(A * sb.exp(A), axis=0)),
    # near miss: no factor common to both products
    Case("factor-common-product", "LOWER",
         lambda: X1 * sb.sin(X2) + 0.5 * ((X3 * X1) * sb.exp(X4)),
         lambda: X1 * sb.sin(X2) + 0.5 * ((X3 * X2) * sb.exp(X4))),
    # near miss: the common factor broadcasts (a vector), so g ⊙ (…) is not one pass fewer
    Case("factor-common-product-sub", "LOWER",
         lambda: X1 * sb.sin(X2) - 0.5 * ((X3 * X1) * sb.exp(X4)),
         lambda: V * sb.sin(X2) - 0.5 * ((X3 * V) * sb.exp(X4))),
    # near miss: products over 64 rows already
    Case("regroup-rows", "LOWER",
         lambda: sb.sum(sb.swapaxes(S1, -1, -2) @ S2, axis=0),
         lambda: sb.sum(sb.swapaxes(sb.reshape(S1, (8, 64, 5)), -1, -2)
                        @ sb.reshape(S2, (8, 64, 3)), axis=0)),
]


def _table(name: str) -> RuleSet:
    return getattr(rules, name)


def _rule(case: Case) -> Any:
    found = [r for r in _table(case.table) if r.name == case.rule]
    assert found, f"no rule named {case.rule} in {case.table}"
    return found


def _matches_anywhere(rule_list: list[Any], e: sb.Expr) -> bool:
    return any(match(r.pattern, n) is not None and r.build(**match(r.pattern, n)) is not None
               for n in toposort([e]) for r in rule_list)


def _values(e: sb.Expr, lo: float, hi: float, extra: tuple[float, ...] = ()) -> tuple[Any, Any]:
    syms = sb.free_symbols(e)
    rng = np.random.default_rng(3)
    vals = []
    for s in syms:
        shape = tuple(s.shape)
        v = rng.uniform(lo, hi, shape)
        if extra and shape == ():
            v = np.array(list(rng.uniform(lo, hi, 6)) + list(extra))
        vals.append(v)
    return syms, vals


def _eval(e: sb.Expr, syms: list[sb.Expr], vals: list[Any]) -> Any:
    f = sb.lambdify(syms, e, check=False, rewrite=False)
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        return f(*vals)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.rule)
def test_rule_fires_and_pattern_is_gone(case: Case) -> None:
    rule_list = _rule(case)
    e = case.build()
    assert _matches_anywhere(rule_list, e), "the pattern is not in the test expression"
    out = rewrite(e, rule_list)
    assert out is not e
    assert not _matches_anywhere(rule_list, out), "the pattern is still there after the rewrite"
    # the whole table reaches a fixed point without this pattern either
    full = rewrite(e, _table(case.table))
    assert not _matches_anywhere(rule_list, full)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.rule)
def test_rule_keeps_values(case: Case) -> None:
    e = case.build()
    out = rewrite(e, _table(case.table))
    syms, vals = _values(e, *case.domain, extra=case.invalid)
    syms_out = sb.free_symbols(out)
    assert {s.name for s in syms_out} <= {s.name for s in syms}
    want = _eval(e, syms, vals)
    got = _eval(out, syms, vals)
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12, equal_nan=True)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.rule)
def test_rule_near_miss_does_not_fire(case: Case) -> None:
    e = case.near_miss()
    assert rewrite(e, _rule(case)) is e


def test_every_rule_is_tested() -> None:
    tested = {(c.table, c.rule) for c in CASES}
    for table in ("CANONICAL", "STABILIZE", "LOWER"):
        for r in _table(table):
            assert (table, r.name) in tested, f"{table} rule {r.name} has no test case"
            assert r.name, "every rule has a name"


def test_every_rule_has_a_math_comment() -> None:
    import inspect

    src = inspect.getsource(rules)
    for table in ("CANONICAL", "STABILIZE", "LOWER"):
        for r in _table(table):
            # the rule's line is preceded by a comment line stating its maths
            i = src.index(f'"{r.name}"')
            before = src[:i].rsplit("Rule(", 1)[0].rstrip().splitlines()[-1].strip()
            assert before.startswith("#") or r.name == "binary-cross-entropy", r.name


# ---------------------------------------------------------------- what the stable forms buy


def _stable(e: sb.Expr, args: list[sb.Expr]) -> Any:
    return sb.lambdify(args, e, check=False)  # rewrite=True: STABILIZE applies


def test_log_sigmoid_is_finite_far_out() -> None:
    t = np.array([-800.0, -40.0, 0.0, 40.0, 800.0])
    f = _stable(sb.log(sb.sigmoid(x)), [x])
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        got = f(t)
    want = -np.logaddexp(0.0, -t)  # log σ(t) = −log(1 + e^{−t}), NumPy's own stable form
    np.testing.assert_allclose(got, want, rtol=1e-14)
    g = _stable(sb.log(1 - sb.sigmoid(x)), [x])
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        np.testing.assert_allclose(g(t), -np.logaddexp(0.0, t), rtol=1e-14)


def test_log_one_plus_exp_is_softplus() -> None:
    f = _stable(sb.log(1 + sb.exp(x)), [x])
    t = np.array([-800.0, -1.0, 0.0, 30.0, 800.0])
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        np.testing.assert_allclose(f(t), np.logaddexp(0.0, t), rtol=1e-14)


def test_log1p_and_expm1_keep_small_digits() -> None:
    t = np.array([1e-18, 1e-10, -1e-12])
    np.testing.assert_array_equal(_stable(sb.log(1 + x), [x])(t), np.log1p(t))
    np.testing.assert_array_equal(_stable(sb.exp(x) - 1, [x])(t), np.expm1(t))
    # without the rules, the digits are gone (the test can fail)
    raw = sb.lambdify([x], sb.log(1 + x), check=False, rewrite=False)(t)
    assert raw[0] == 0.0


def test_log_softmax_far_out() -> None:
    X = sb.matrix("X", 2, 3)
    f = _stable(sb.log(sb.softmax(X, axis=1)), [X])
    v = np.array([[0.0, -1000.0, 1000.0], [1.0, 2.0, 3.0]])
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        got = f(v)
    m = v.max(axis=1, keepdims=True)
    want = (v - m) - np.log(np.exp(v - m).sum(axis=1, keepdims=True))
    np.testing.assert_allclose(got, want, rtol=1e-14)


def test_value_and_grad_differentiates_the_stable_form() -> None:
    # binary cross-entropy: the gradient is σ(z) − y, finite even where σ saturates
    z = sb.vector("z", 4)
    yv = sb.vector("y", 4)
    p = sb.sigmoid(z)
    L = -sb.sum(yv * sb.log(p) + (1 - yv) * sb.log(1 - p))
    f = sb.value_and_grad(L, [z], args=[z, yv])
    zz = np.array([-800.0, -3.0, 2.0, 800.0])
    yy = np.array([1.0, 0.0, 1.0, 0.0])
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        v, (g,) = f(zz, yy)
    sig = np.exp(-np.logaddexp(0.0, -zz))
    np.testing.assert_allclose(g, sig - yy, rtol=1e-12, atol=1e-300)
    want = np.sum(np.logaddexp(0.0, zz) - yy * zz)
    np.testing.assert_allclose(v, want, rtol=1e-12)
    # the compiled graph holds one softplus and one sigmoid, not two of each
    assert f.source.count("softplus(") <= 2 and "np.log(" not in f.source.split("def _symback_fn")[1]


def test_rewrite_is_iterative_on_deep_graphs() -> None:
    e = x
    for _ in range(20_000):
        e = 2.0 * (e * y)
    out = rewrite(e, rules.CANONICAL + rules.STABILIZE + rules.LOWER)
    assert len(toposort([out])) <= len(toposort([e])) + 2


def test_canonical_gathers_constants_in_gradients() -> None:
    # what value_and_grad compiles: the loss (3 sin x)(5 cos y) and its gradient
    f = (3.0 * sb.sin(x)) * (5.0 * sb.cos(y)) + 100 * (y - x ** 2) ** 2
    g = sb.grad(f, x)
    before = len(toposort([f, g]))
    after = len(toposort(rules.optimize([f, g])))
    assert after < before
    assert np.isclose(float(sb.lambdify([x, y], g)(0.7, 0.2)),
                      15 * np.cos(0.7) * np.cos(0.2) - 400 * 0.7 * (0.2 - 0.49))
    f = 100 * (y - x ** 2) ** 2
    g = sb.grad(f, x)
    fn = sb.lambdify([x, y], g)
    assert np.isclose(float(fn(0.7, 0.2)), -400 * 0.7 * (0.2 - 0.49))


def test_gelu_gradient_takes_one_product_fewer() -> None:
    """x̄ = ȳ ⊙ (Φ(x) + x φ(x)) for GELU (exact form): the compiled gradient, after
    factor-common-product, against the closed form with SciPy's erf, and one array
    product fewer than without the rule."""
    erf = pytest.importorskip("scipy.special").erf

    X = sb.matrix("X", 5, 7)
    Y = sb.matrix("Y", 5, 7)
    J = sb.sum(sb.nn.gelu(X) * Y)
    g = sb.grad(J, X)
    full = rules.optimize([g])[0]
    without = rewrite([g], rules.CANONICAL + rules.STABILIZE + RuleSet(
        "rest", tuple(r for r in rules.LOWER if not r.name.startswith("factor-common"))))[0]

    def products(e: sb.Expr) -> int:
        return sum(1 for n in toposort([e]) if n.op.name == "mul" and n.shape == (5, 7))

    assert products(full) == products(without) - 1
    rng = np.random.default_rng(4)
    xv, yv = rng.standard_normal((5, 7)) * 2, rng.standard_normal((5, 7))
    got = sb.lambdify([X, Y], g)(xv, yv)
    want = yv * (0.5 * (1 + erf(xv / np.sqrt(2))) + xv * np.exp(-xv * xv / 2) / np.sqrt(2 * np.pi))
    np.testing.assert_allclose(got, want, rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize("shape", [(16, 32), (3, 8), (2, 3, 16), (5, 48), (7, 10)])
def test_regroup_rows_weight_gradient(shape) -> None:
    """W̄ = Σ over batch and rows of xᵀ ȳ for y = x W (x (…, L, k)): the compiled gradient
    (products regrouped into ≥ 64 rows, or one product over all rows) against an einsum."""
    k, n = 6, 4
    X = sb.tensor("X", shape + (k,))
    W = sb.matrix("W", k, n)
    C = sb.tensor("C", shape + (n,))
    J = sb.sum(sb.tanh(X @ W) * C)
    f = sb.value_and_grad(J, [W], args=[X, W, C])
    rng = np.random.default_rng(7)
    xv, wv, cv = (rng.standard_normal(shape + (k,)), rng.standard_normal((k, n)),
                  rng.standard_normal(shape + (n,)))
    _, (dw,) = f(xv, wv, cv)
    t = np.tanh(xv @ wv)
    want = xv.reshape(-1, k).T @ (cv * (1 - t * t)).reshape(-1, n)
    np.testing.assert_allclose(dw, want, rtol=1e-12, atol=1e-13)
    # no product over the original short rows is left in what is compiled
    opt = rules.optimize([sb.grad(J, W)])[0]
    rows = int(np.prod(shape))
    short = [m for m in toposort([opt]) if m.op.name == "matmul" and m.args[0].ndim >= 3
             and m.args[0].op.name == "transpose" and m.args[0].shape[-1] < min(64, rows)]
    assert not short


def test_regroup_rows_leaves_views_alone() -> None:
    """A transposed (or sliced) input would be copied by the regrouping reshape: no rewrite."""
    T = sb.tensor("T", (32, 16, 5))
    a = sb.transpose(T, (1, 0, 2))
    e = sb.sum(sb.swapaxes(a, -1, -2) @ S2, axis=0)
    rule = [r for r in rules.LOWER if r.name == "regroup-rows"]
    assert rewrite(e, rule) is e
    e2 = sb.sum(sb.swapaxes(S1, -1, -2) @ S2, axis=0)
    assert rewrite(e2, rule) is not e2
