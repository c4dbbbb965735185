"""Regression tests for session 9's reliability fixes (issue 7).

* ``where`` takes a boolean condition only (api.md: "``where(cond, a, b)`` with a
  comparison ``cond``"); a float condition is an error naming ``where`` and the dtype,
  from Python and from the parser.
* bool-typed attributes (``keepdims``) are True/False only; bad axes give clear errors.
* the command line reports NaN/inf results in one line instead of NumPy's RuntimeWarnings.
* σ′ keeps its relative accuracy far out (STABILIZE ``1 − σ(x) → σ(−x)``), checked
  against mpmath.
* compiled functions return ``np.ndarray`` (0-d for scalar outputs) of the declared dtype.
"""

from __future__ import annotations

import warnings

import mpmath
import numpy as np
import pytest

import symback as sb
from symback.cli import main

# ---------------------------------------------------------------- 1. where's condition


def test_where_rejects_a_float_condition_naming_where_and_the_dtype() -> None:
    x, a, b = sb.symbols("x a b")
    for cond in (x, 1.0, sb.exp(x), sb.where(x > 0, 1.0, 0.0)):
        with pytest.raises(sb.SymbackError, match=r"where: .*boolean.*float64"):
            sb.where(cond, a, b)
    x32 = sb.symbols("x32", dtype="float32")
    with pytest.raises(sb.SymbackError, match="float32"):
        sb.where(x32, a, b)


def test_where_accepts_boolean_conditions() -> None:
    x, a, b = sb.symbols("x a b")
    f = sb.lambdify([x, a, b], sb.where(x > 0, a, b))
    assert f(1.0, 2.0, 3.0) == 2.0 and f(-1.0, 2.0, 3.0) == 3.0
    assert sb.where(True, a, b).dtype == "float64"
    mask = sb.where(np.array([True, False]), a, b)
    assert mask.shape == (2,)
    # a where of booleans is boolean, so it can be a condition (logic as choices, as
    # from_sympy builds And/Or/Not)
    both = sb.where(x > 0, a > 0, False)
    assert both.dtype == "bool"
    g = sb.lambdify([x, a, b], sb.where(both, a, b))
    assert g(1.0, 2.0, 3.0) == 2.0 and g(1.0, -2.0, 3.0) == 3.0 and g(-1.0, 2.0, 3.0) == 3.0


def test_where_float_condition_from_text_is_a_parse_error() -> None:
    for text in ("where(x, 1, 2)", "where(exp(x) * 2, 1, 2)", "where(1.5, x, 2)"):
        with pytest.raises(sb.ParseError, match=r"where.*boolean.*float64") as err:
            sb.parse(text)
        assert err.value.position == 0
    assert str(sb.parse("where(x > 0, 1, 2)")) == "where(x > 0, 1, 2)"


def test_from_sympy_logic_still_builds_boolean_conditions() -> None:
    sympy = pytest.importorskip("sympy")
    x, y = sympy.symbols("x y")
    e = sympy.Piecewise((x, sympy.And(x > 0, y > 0)), (y, sympy.Or(x < -1, sympy.Not(y > 2))),
                        (0, True))
    s = sb.from_sympy(e)
    xs, ys = sorted(sb.free_symbols(s), key=lambda t: t.name)
    f = sb.lambdify([xs, ys], s)
    for xv, yv in [(1.0, 2.0), (-2.0, 3.0), (-0.5, 3.0), (-0.5, 1.0), (1.0, -1.0)]:
        want = float(e.subs({x: xv, y: yv}))
        assert f(xv, yv) == want, (xv, yv)


# ---------------------------------------------------------------- 2. flags and axes


@pytest.mark.parametrize("fn", [sb.sum, sb.mean, sb.logsumexp])
@pytest.mark.parametrize("bad", ["yes", 1, 0, None, 1.0])
def test_keepdims_must_be_a_bool(fn, bad) -> None:  # type: ignore[no-untyped-def]
    X = sb.matrix("X", 3, 4)
    name = fn.__name__.replace("_fn", "")
    with pytest.raises(sb.SymbackError, match=rf"{name}: keepdims={bad!r} must be True or False"):
        fn(X, axis=1, keepdims=bad)


def test_keepdims_accepts_python_and_numpy_bools_and_numpy_integer_axes() -> None:
    X = sb.matrix("X", 3, 4)
    assert sb.sum(X, axis=1, keepdims=True).shape == (3, 1)
    assert sb.sum(X, axis=1, keepdims=np.True_).shape == (3, 1)
    assert sb.mean(X, axis=0, keepdims=np.False_).shape == (4,)
    assert X.sum(axis=(np.int64(1),)).shape == (3,)
    assert sb.sum(X, axis=np.int32(0)).shape == (4,)


def test_keepdims_from_text_must_be_a_bool() -> None:
    with pytest.raises(sb.ParseError, match="keepdims=1 must be True or False"):
        sb.parse("sum(X, axis=1, keepdims=1)", {"X": (3, 4)})
    assert sb.parse("sum(X, axis=1, keepdims=True)", {"X": (3, 4)}).shape == (3, 1)


@pytest.mark.parametrize("call, words", [
    (lambda X: sb.sum(X, axis=2), ["sum", "axis 2", "out of range", "2 dimension"]),
    (lambda X: sb.mean(X, axis=-3), ["mean", "axis -3", "out of range"]),
    (lambda X: sb.logsumexp(X, axis=1.0), ["logsumexp", "axis=1.0", "not an int"]),
    (lambda X: sb.sum(X, axis="0"), ["sum", "axis='0'"]),
    (lambda X: sb.sum(X, axis=(0, 0)), ["sum", "repeated"]),
    (lambda X: sb.sum(X, axis=True), ["sum", "bool"]),
    (lambda X: sb.softmax(X, axis=5), ["softmax", "axis 5", "out of range"]),
    (lambda X: sb.log_softmax(X, axis=(0.5,)), ["log_softmax", "not an int"]),
])
def test_bad_axes_give_shape_errors_naming_the_op(call, words) -> None:  # type: ignore[no-untyped-def]
    X = sb.matrix("X", 3, 4)
    with pytest.raises(sb.ShapeError) as err:
        call(X)
    for w in words:
        assert w in str(err.value), (w, str(err.value))


# ---------------------------------------------------------------- 3. the CLI and NaN/inf


def _run_cli(capsys, argv):  # type: ignore[no-untyped-def]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        rc = main(argv)
    out, err = capsys.readouterr()
    assert not [w for w in caught if issubclass(w.category, RuntimeWarning)], \
        [str(w.message) for w in caught]
    return rc, out, err


def test_cli_reports_a_nan_value_in_one_line(capsys) -> None:  # type: ignore[no-untyped-def]
    rc, out, err = _run_cli(capsys, ["grad", "log(x)", "--wrt", "x", "--at", "x=-1"])
    assert rc == 0
    assert out == "L = log(x) = nan\ndL/dx = 1 / x = -1\n"
    assert err == "symback: warning: not finite at x=-1: L = nan\n"
    assert "RuntimeWarning" not in err


def test_cli_reports_non_finite_tensor_entries(capsys) -> None:  # type: ignore[no-untyped-def]
    rc, out, err = _run_cli(capsys, ["grad", "sum(log(v))", "--wrt", "v", "--shape", "v=3",
                                     "--at", "v=1,0,-1"])
    assert rc == 0 and "inf" in out
    assert err.count("\n") == 1 and err.startswith("symback: warning: not finite at v=")
    assert "L = nan" in err and "dL/dv has 1 of 3 entries NaN or inf" in err


def test_cli_explain_nan_is_one_line(capsys) -> None:  # type: ignore[no-untyped-def]
    rc, out, err = _run_cli(capsys, ["explain", "log(x)", "--wrt", "x", "--at", "x=-1"])
    assert rc == 0 and "nan" in out
    assert err.count("\n") == 1 and err.startswith("symback: warning:")
    assert "invalid value encountered in log" in err


def test_cli_finite_results_print_no_warning(capsys) -> None:  # type: ignore[no-untyped-def]
    rc, out, err = _run_cli(capsys, ["grad", "log(x)", "--wrt", "x", "--at", "x=2"])
    assert rc == 0 and err == ""
    rc, out, err = _run_cli(capsys, ["grad", "log(x)", "--wrt", "x", "--at", "x=-1",
                                     "--format", "json"])
    assert rc == 0 and '"value": "nan"' in out and err.count("\n") == 1


# ---------------------------------------------------------------- 4. σ′ far out


def _sigmoid_prime_mp(t: float) -> mpmath.mpf:
    """σ′(t) = e^{−|t|} / (1 + e^{−|t|})² (σ′ is even), in 60-digit arithmetic."""
    with mpmath.workdps(60):
        e = mpmath.exp(-abs(mpmath.mpf(t)))
        return e / (1 + e) ** 2


def _rel_err(got: np.ndarray, ts: list[float]) -> list[float]:
    out = []
    for g, t in zip(np.asarray(got, dtype=np.float64), ts):
        want = _sigmoid_prime_mp(t)
        out.append(float(abs(mpmath.mpf(float(g)) - want) / want))
    return out


@pytest.mark.parametrize("how", ["value_and_grad", "lambdify(grad)"])
def test_sigmoid_gradient_keeps_relative_accuracy_far_out(how) -> None:  # type: ignore[no-untyped-def]
    for dtype, ts, tol in (("float64", [30.0, 40.0, 100.0, 700.0, -30.0, -700.0, 0.0, 1e-3],
                            1e-12),
                           ("float32", [20.0, 50.0, -20.0, -50.0, 0.5], 1e-5)):
        x = sb.tensor("x", (len(ts),), dtype=dtype)
        L = sb.sum(sb.sigmoid(x))
        if how == "value_and_grad":
            _, (g,) = sb.value_and_grad(L, [x])(np.array(ts, dtype=dtype))
        else:
            g = sb.lambdify([x], sb.grad(L, x))(np.array(ts, dtype=dtype))
        assert g.dtype == dtype
        errs = _rel_err(g, ts)
        assert max(errs) < tol, (dtype, dict(zip(ts, errs)))


def test_sigmoid_gradient_through_a_network_far_out() -> None:
    # σ(w x) with the product large: the chain rule meets σ′ through the rule, too
    w, x = sb.symbols("w x")
    f = sb.value_and_grad(sb.sigmoid(w * x), [w])
    for xv in (40.0, 300.0):
        _, (g,) = f(1.0, xv)
        want = xv * _sigmoid_prime_mp(xv)
        assert abs(float(g) - want) / want < 1e-12


def test_log_sigmoid_and_softplus_gradients_far_out() -> None:
    """d/dx log σ(x) = σ(−x), d/dx softplus(x) = σ(x), d/dx log(1 − σ(x)) = −σ(x)."""
    ts = [30.0, 40.0, 100.0, 700.0, -30.0, -700.0]
    v = sb.vector("v", len(ts))
    t = np.array(ts)

    def sig(s: float) -> mpmath.mpf:
        with mpmath.workdps(60):
            return 1 / (1 + mpmath.exp(-mpmath.mpf(s)))

    for loss, ref in ((sb.sum(sb.log(sb.sigmoid(v))), lambda s: sig(-s)),
                      (sb.sum(sb.softplus(v)), sig),
                      (sb.sum(sb.log(1 - sb.sigmoid(v))), lambda s: -sig(s))):
        with np.errstate(all="raise"):
            _, (g,) = sb.value_and_grad(loss, [v])(t)
        for gi, s in zip(g, ts):
            want = ref(s)
            assert abs(float(gi) - want) <= 1e-12 * abs(want), (str(loss), s, gi)
    # 1/(1 − σ) · σ(1 − σ), compiled from the unstabilised gradient: finite where 1 − σ
    # used to round to 0 (x = 700; from about 745 on σ(−x) itself underflows)
    g = sb.lambdify([v], sb.grad(sb.sum(sb.log(1 - sb.sigmoid(v))), v))
    with np.errstate(all="raise"):
        np.testing.assert_allclose(g(np.array([30.0, 40.0, 100.0, 700.0, 0.0, -5.0])),
                                   -1.0 / (1.0 + np.exp(-np.array([30.0, 40.0, 100.0, 700.0,
                                                                   0.0, -5.0]))),
                                   rtol=1e-12)


def test_printed_sigmoid_derivative_is_unchanged() -> None:
    # the rule applies to what is compiled only; the reverse pass's form is what users read
    x = sb.symbols("x")
    assert str(sb.grad(sb.sigmoid(x), x)) == "sigmoid(x) * (1 - sigmoid(x))"
    assert sb.to_text(sb.grad(sb.sigmoid(x), x), exact=True) == "sigmoid(x) * (1.0 - sigmoid(x))"


# ---------------------------------------------------------------- 5. outputs are ndarrays


def _assert_0d(v, dtype) -> None:  # type: ignore[no-untyped-def]
    assert isinstance(v, np.ndarray), type(v)
    assert v.shape == () and v.dtype == dtype, (v.shape, v.dtype)


@pytest.mark.parametrize("check", [True])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_scalar_outputs_are_0d_arrays(check, dtype) -> None:  # type: ignore[no-untyped-def]
    a, b = sb.symbols("a b", dtype=dtype)
    V = sb.tensor("V", (3,), dtype=dtype)
    np_dt = np.dtype(dtype)
    av, bv, Vv = np_dt.type(2.0), np_dt.type(3.0), np.arange(3.0, dtype=dtype)
    # one output, several, with a leaf and a constant among them, a reduction of a tensor
    _assert_0d(sb.lambdify([a, b], a * b, check=check)(av, bv), np_dt)
    outs = sb.lambdify([a, b, V], [a * b, sb.exp(a), a, sb.sum(V), sb.const(np_dt.type(1.5))],
                       check=check)(av, bv, Vv)
    assert isinstance(outs, tuple) and len(outs) == 5
    for o in outs:
        _assert_0d(o, np_dt)
    assert float(outs[0]) == 6.0 and float(outs[3]) == 3.0
    # value_and_grad: the value and each scalar gradient
    val, grads = sb.value_and_grad(a * b + sb.sum(V * a), [a, b], args=[a, b, V],
                                   check=check)(av, bv, Vv)
    _assert_0d(val, np_dt)
    for g in grads:
        _assert_0d(g, np_dt)
    assert float(grads[0]) == 3.0 + 3.0 and float(grads[1]) == 2.0


@pytest.mark.parametrize("check", [True])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_many_scalar_outputs_are_0d_arrays(check, dtype) -> None:  # type: ignore[no-untyped-def]
    """> 8 scalar outputs take one array split into 0-d views (W2's gradient)."""
    n = 12
    xs = sb.symbols(" ".join(f"x{i}" for i in range(n)), dtype=dtype)
    L = sum(100.0 * (xs[i + 1] - xs[i] ** 2) ** 2 + (1.0 - xs[i]) ** 2 for i in range(n - 1))
    gs = sb.grad(L, list(xs))
    pt = np.linspace(-1.0, 1.5, n).astype(dtype)
    want = np.zeros(n)
    p = pt.astype(np.float64)
    want[:-1] += -400.0 * p[:-1] * (p[1:] - p[:-1] ** 2) - 2.0 * (1.0 - p[:-1])
    want[1:] += 200.0 * (p[1:] - p[:-1] ** 2)
    rtol = 1e-12 if dtype == "float64" else 1e-4
    got = sb.lambdify(list(xs), gs + [xs[0]], check=check)(*pt)
    assert isinstance(got, tuple) and len(got) == n + 1
    for g in got:
        _assert_0d(g, np.dtype(dtype))
    np.testing.assert_allclose(np.array(got[:n], dtype=np.float64), want, rtol=rtol, atol=1e-4)
    got[0][...] = 99.0  # each is its own entry: writing one changes no other
    assert float(got[1]) != 99.0 and float(got[n]) == pt[0]
    val, grads = sb.value_and_grad(L, list(xs), args=list(xs), check=check)(*pt)
    _assert_0d(val, np.dtype(dtype))
    assert isinstance(grads, list) and len(grads) == n
    for g in grads:
        _assert_0d(g, np.dtype(dtype))
    np.testing.assert_allclose(np.array(grads, dtype=np.float64), want, rtol=rtol, atol=1e-4)


@pytest.mark.parametrize("n", [3, 12])  # one statement each, and more than 8 outputs
def test_unchecked_scalar_outputs_are_as_computed(n: int) -> None:
    """check=False is SymPy's contract: a computed scalar comes back as computed (a float
    for float arguments), while leaves and constants are 0-d array copies."""
    xs = sb.symbols(" ".join(f"x{i}" for i in range(n)))
    L = sum(100.0 * (xs[i + 1] - xs[i] ** 2) ** 2 + (1.0 - xs[i]) ** 2 for i in range(n - 1))
    gs = sb.grad(L, list(xs))
    p = np.linspace(-1.0, 1.5, n)
    want = np.zeros(n)
    want[:-1] += -400.0 * p[:-1] * (p[1:] - p[:-1] ** 2) - 2.0 * (1.0 - p[:-1])
    want[1:] += 200.0 * (p[1:] - p[:-1] ** 2)
    got = sb.lambdify(list(xs), gs + [xs[0], sb.const(2.5)], check=False)(*map(float, p))
    assert all(type(g) is float for g in got[:n])
    np.testing.assert_allclose(got[:n], want, rtol=1e-12)
    assert isinstance(got[n], np.ndarray) and float(got[n]) == p[0]
    assert isinstance(got[n + 1], np.ndarray) and float(got[n + 1]) == 2.5
    val, grads = sb.value_and_grad(L, list(xs), args=list(xs), check=False)(*map(float, p))
    assert type(val) is float and all(type(g) is float for g in grads)


def test_unchecked_many_outputs_over_arrays_of_points() -> None:
    """check=False with arrays of points: each output is that output's array of points,
    also when some outputs are constants (returned as 0-d arrays)."""
    n = 10
    xs = sb.symbols(" ".join(f"x{i}" for i in range(n)))
    L = sum(xs[i] ** 2 for i in range(n - 1)) + 3.0 * xs[n - 1]  # last gradient: the constant 3
    f = sb.lambdify(list(xs), sb.grad(L, list(xs)), check=False)
    pts = [np.linspace(0.0, 1.0, 5) + i for i in range(n)]
    got = f(*pts)
    for i in range(n - 1):
        np.testing.assert_array_equal(got[i], 2.0 * pts[i])
    assert isinstance(got[n - 1], np.ndarray) and float(got[n - 1]) == 3.0
    # all arrays of points (no constant): the arrays as computed
    f2 = sb.lambdify(list(xs), sb.grad(sum(x ** 2 for x in xs), list(xs)), check=False)
    got2 = f2(*pts)
    for i in range(n):
        np.testing.assert_array_equal(got2[i], 2.0 * pts[i])
    # a leaf output is a copy, never the caller's array
    f3 = sb.lambdify(list(xs), list(xs), check=False)
    out = f3(*pts)
    assert all(o is not p and np.array_equal(o, p) for o, p in zip(out, pts))


def test_regression_broadcast_true_is_a_boolean_condition() -> None:
    """Found by the long fuzz run (rule sets on a relu of a constant-folded graph): a
    stretched Python ``True`` was labelled float64, so ``where`` refused it as a condition."""
    from symback.graph import broadcast_to, const

    c = broadcast_to(const(True), (1, 2))
    assert c.dtype == "bool"
    x = sb.matrix("x", 1, 2)
    e = sb.where(c, x, 0.0)
    v = np.array([[1.5, -2.0]])
    np.testing.assert_array_equal(sb.lambdify([x], e)(v), v)
    assert broadcast_to(const(2.5), (3,)).dtype == "float64"  # numbers stay float64


@pytest.mark.parametrize("check", [True, False])
def test_regression_python_floats_follow_ieee_not_python(check: bool) -> None:
    """Python floats are computed with Python's arithmetic (fast), which raised
    ZeroDivisionError for 1.0 / 0.0, OverflowError for 1e200 ** 3.0, and gave a complex
    number for (-8.0) ** (1/3). Compiled functions follow IEEE, as NumPy does."""
    x, y = sb.symbols("x y")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        div = sb.lambdify([x, y], x / y, check=check)
        assert float(div(1.0, 0.0)) == np.inf and float(div(-1.0, 0.0)) == -np.inf
        assert np.isnan(float(div(0.0, 0.0)))
        assert float(div(1, 0)) == np.inf  # Python ints too
        cube = sb.lambdify([x], x ** 3.0, check=check)
        assert float(cube(1e200)) == np.inf
        root = sb.lambdify([x, y], x ** y, check=check)(-8.0, 1.0 / 3.0)
        assert not np.iscomplexobj(root) and np.isnan(float(root))
        assert np.isnan(float(sb.lambdify([x], x ** 0.5, check=check)(-4.0)))
        # a gradient through a division by zero: IEEE values, no exception
        val, (gx, gy) = sb.value_and_grad(x / y, [x, y], args=[x, y], check=check)(1.0, 0.0)
        assert (float(val), float(gx), float(gy)) == (np.inf, np.inf, -np.inf)  # -x/y²
    # ordinary values are unchanged, and still computed as Python floats without checks
    assert sb.lambdify([x, y], x / y, check=check)(3.0, 4.0) == 0.75
    assert float(sb.lambdify([x, y], x ** y, check=check)(2.0, 0.5)) == pytest.approx(2 ** 0.5)
