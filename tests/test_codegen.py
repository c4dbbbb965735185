"""The code generator: one evaluation per node, call-time checks, source and tracebacks."""

from __future__ import annotations

import linecache
import traceback
import warnings

import numpy as np
import pytest

import symback as sb


def test_each_node_evaluated_once():
    x = sb.vector("x", 3)
    s = sb.sin(x)
    f = sb.lambdify([x], [sb.sum(s * s), sb.sum(s), s])
    assert f.source.count("np.sin(") == 1


def test_source_runs_on_its_own():
    x = sb.vector("x", 4)
    f = sb.lambdify([x], sb.sum(sb.sigmoid(x) + sb.softplus(x)))
    ns = {"np": np, "_as_array": lambda a, n: np.asarray(a, dtype=float),
          "_shape_error": None}
    exec(f.source, ns)  # noqa: S102 - our own generated text
    v = np.array([-1.0, 0.0, 2.0, 5.0])
    assert np.isclose(ns["_symback_fn"](v), f(v))


def test_traceback_points_at_generated_line():
    x = sb.vector("x", 2)
    f = sb.lambdify([x], sb.sum(x))
    assert linecache.getline(f.filename, 1)
    bad = sb.lambdify([x], sb.sum(sb.log(x)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with np.errstate(all="raise"):
            with pytest.raises(FloatingPointError) as e:
                bad(np.array([-1.0, 1.0]))
    text = "".join(traceback.format_exception(e.value))
    assert "np.log(" in text  # the generated line itself is shown


def test_argument_count_and_shapes_checked():
    X = sb.matrix("X", "n", 3)
    y = sb.vector("y", "n")
    f = sb.lambdify([X, y], sb.sum(X @ np.ones(3) - y))
    with pytest.raises(sb.SymbackError, match="takes 2 argument"):
        f(np.ones((4, 3)))
    with pytest.raises(sb.ShapeError, match=r"argument X: expected shape \(n, 3\)"):
        f(np.ones((4, 2)), np.ones(4))
    with pytest.raises(sb.ShapeError, match=r"argument y: expected shape \(n,\) \(with n = 4\)"):
        f(np.ones((4, 3)), np.ones(5))
    assert float(f(np.ones((4, 3)), np.ones(4))) == 8.0
    assert float(f(np.ones((9, 3)), np.ones(9))) == 18.0  # any batch size, same function


def test_bad_dtype_is_a_clear_error():
    x = sb.vector("x", 2)
    f = sb.lambdify([x], sb.sum(x))
    with pytest.raises(sb.SymbackError, match="argument x"):
        f(np.array(["a", "b"]))
    assert float(f([1, 2])) == 3.0  # ints are fine


def test_constant_outputs_have_full_shape_and_are_writable():
    X = sb.matrix("X", 2, 3)
    f = sb.lambdify([X], [sb.grad(sb.sum(X), X), sb.grad(sb.sum(X * 0.0 + 1.0), X), X])
    g, z, same = f(np.zeros((2, 3)))
    assert g.shape == (2, 3) and np.all(g == 1.0)
    assert z.shape == (2, 3) and np.all(z == 0.0)
    g[0, 0] = 5.0  # writable
    inp = np.zeros((2, 3))
    out = f(inp)[2]
    out[0, 0] = 1.0
    assert inp[0, 0] == 0.0  # outputs never alias inputs


def test_missing_argument_is_named():
    x, y = sb.symbols("x y")
    with pytest.raises(sb.SymbackError, match="depend on y"):
        sb.lambdify([x], x * y)


def test_stable_forms_do_not_overflow():
    x = sb.vector("x", 4)
    outs = [sb.sigmoid(x), sb.softplus(x), sb.logsumexp(x), sb.log_softmax(x), sb.softmax(x)]
    f = sb.lambdify([x], outs + sb.grad(sb.sum(sb.softplus(x)) + sb.logsumexp(x), [x]))
    v = np.array([-1000.0, -1.0, 1.0, 1000.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(over="raise", invalid="raise", divide="raise"):
            res = f(v)
    for r in res:
        assert np.all(np.isfinite(r))
    assert np.allclose(res[0], [0.0, 1 / (1 + np.e), 1 / (1 + np.exp(-1)), 1.0])
    assert np.isclose(res[2], 1000.0)


def test_symbol_names_that_clash_with_generated_names():
    names = ["np", "t0", "sigmoid", "lambda_", "print", "float"]
    syms = [sb.symbols(n) for n in names]
    e = syms[0]
    for s in syms[1:]:
        e = e * 2.0 + sb.sigmoid(s)
    f = sb.lambdify(syms, e)
    vals = [0.1 * (i + 1) for i in range(len(syms))]
    want = vals[0]
    for v in vals[1:]:
        want = want * 2.0 + 1 / (1 + np.exp(-v))
    assert np.isclose(float(f(*vals)), want)


def test_value_and_grad_default_args_in_name_order():
    b, a = sb.symbols("b a")
    f = sb.value_and_grad(a * a * b, [a, b])
    assert [s.name for s in f.args] == ["a", "b"]
    v, (ga, gb) = f(3.0, 2.0)
    assert float(v) == 18.0 and float(ga) == 12.0 and float(gb) == 9.0


def test_float32_end_to_end():
    X = sb.matrix("X", "n", 3, dtype="float32")
    w = sb.vector("w", 3, dtype="float32")
    L = sb.mean(sb.log_softmax(sb.tanh(X * w), axis=1))
    f = sb.value_and_grad(L, [X, w], args=[X, w])
    v, (gX, gw) = f(np.ones((5, 3), np.float32), np.ones(3, np.float32))
    assert v.dtype == gX.dtype == gw.dtype == np.float32


def test_source_with_nonfinite_constants_runs_on_its_own():
    """``.source`` is self-contained when a constant is ±inf or NaN (repr writes the bare
    names ``inf``/``nan``, which exec could not resolve); values against NumPy written by hand."""
    x = sb.vector("x", 3)
    k = np.array([np.inf, -np.inf, np.nan])
    f = sb.lambdify([x], sb.maximum(x, -np.inf) + sb.where(x > 0, x, k))
    ns: dict = {}
    exec(f.source, ns)
    v = np.array([1.0, -2.0, -3.0])
    want = np.maximum(v, -np.inf) + np.where(v > 0, v, k)
    np.testing.assert_array_equal(ns["_symback_fn"](v), want)
    np.testing.assert_array_equal(f(v), want)
