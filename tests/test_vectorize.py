"""The vectorised NumPy code (symback.vectorize) for scalar graphs that repeat a formula.

Gradients are checked against formulas derived by hand here; every vectorised result is
compared bit for bit with the per-node code (``backend_options={"vectorize": False}``),
which the vectorisation must not change. No timing (benchmarks/vectorize_bench.py).
"""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from strategies import fuzz_settings

import symback as sb
from symback import codegen, vectorize

OFF = {"vectorize": False}


def rosenbrock(n: int, dtype: str = "float64"):
    xs = list(sb.symbols([f"x{i}" for i in range(n)], dtype=dtype))
    f = 0
    for i in range(n - 1):
        f = f + 100 * (xs[i + 1] - xs[i] ** 2) ** 2 + (1 - xs[i]) ** 2
    return xs, f


def rosenbrock_grad_ref(x: np.ndarray) -> np.ndarray:
    """∂f/∂x_i = 400 x_i (x_i² − x_{i+1}) + 2 (x_i − 1) [i < n−1] + 200 (x_i − x_{i−1}²) [i > 0],
    for x of shape (n,) or (n, points)."""
    g = np.zeros_like(x)
    g[:-1] += 400.0 * x[:-1] * (x[:-1] ** 2 - x[1:]) + 2.0 * (x[:-1] - 1.0)
    g[1:] += 200.0 * (x[1:] - x[:-1] ** 2)
    return g


def rosenbrock_ref(x: np.ndarray) -> np.ndarray:
    return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2, axis=0)


def vectorised(fn) -> bool:
    return "_v0 = " in fn.source


def body(fn) -> list[str]:
    src = fn.source
    return src[src.index("def _symback_fn("):].splitlines()[1:]


def bits(a) -> np.ndarray:
    """Bit patterns (every NaN as one pattern), to compare results exactly (-0.0 != 0.0)."""
    a = np.array(a, dtype=np.asarray(a).dtype if np.asarray(a).dtype.kind == "f" else float)
    a = np.where(np.isnan(a), np.nan, a).astype(a.dtype)
    return a.view(np.int64 if a.dtype.itemsize == 8 else np.int32)


def assert_same_bits(got, want) -> None:
    got_l = list(got) if isinstance(got, (list, tuple)) else [got]
    want_l = list(want) if isinstance(want, (list, tuple)) else [want]
    assert len(got_l) == len(want_l)
    for g, w in zip(got_l, want_l):
        assert np.shape(g) == np.shape(w)
        np.testing.assert_array_equal(bits(g), bits(w))


# --------------------------------------------------------------------------- W2


@pytest.fixture(scope="module")
def w2():
    xs, f = rosenbrock(400)
    return xs, f, sb.grad(f, xs)


def test_w2_gradient_matches_hand_formula_and_is_vectorised(w2):
    xs, _f, g = w2
    fn = sb.lambdify(xs, g)
    assert vectorised(fn)
    x = np.random.default_rng(0).uniform(-1.5, 1.5, len(xs))
    got = fn(*x.tolist())
    assert all(isinstance(v, np.ndarray) and v.shape == () and v.dtype == np.float64
               for v in got)
    np.testing.assert_allclose(np.array(got), rosenbrock_grad_ref(x), rtol=1e-12, atol=1e-9)


def test_w2_same_bits_as_per_node_code(w2):
    xs, f, g = w2
    x = np.random.default_rng(1).uniform(-1.5, 1.5, len(xs)).tolist()
    for outs in (g, f, [f, *g]):
        on, off = sb.lambdify(xs, outs), sb.lambdify(xs, outs, backend_options=OFF)
        assert vectorised(on) and not vectorised(off)
        assert_same_bits(on(*x), off(*x))
    vg = sb.value_and_grad(f, xs, args=xs)
    vg_off = sb.value_and_grad(f, xs, args=xs, backend_options=OFF)
    (v1, g1), (v0, g0) = vg(*x), vg_off(*x)
    assert_same_bits(v1, v0)
    assert_same_bits(g1, g0)
    np.testing.assert_allclose(v1, rosenbrock_ref(np.array(x)), rtol=1e-12)


def test_w2_points_mode_same_bits_and_hand_formula(w2):
    xs, f, g = w2
    P = np.random.default_rng(2).uniform(-1.5, 1.5, (len(xs), 37))
    on = sb.lambdify(xs, g, check=False)
    off = sb.lambdify(xs, g, check=False, backend_options=OFF)
    assert vectorised(on)
    got = on(*P)
    assert_same_bits(got, off(*P))
    np.testing.assert_allclose(np.array(got), rosenbrock_grad_ref(P), rtol=1e-12, atol=1e-9)
    # one point through the unchecked function: floats, as the per-node code returns
    one = on(*P[:, 0].tolist())
    assert all(isinstance(v, float) for v in one)
    assert_same_bits(one, off(*P[:, 0].tolist()))
    # points of several dimensions
    P3 = P.reshape(len(xs), 37, 1)[:, :6, :] * np.ones((1, 1, 3))
    assert_same_bits(on(*P3), off(*P3))
    # the value: a sum written term by term, one accumulate (same order, same bits)
    fv = sb.lambdify(xs, f, check=False)
    assert "accumulate" in fv.source
    assert_same_bits(fv(*P), sb.lambdify(xs, f, check=False, backend_options=OFF)(*P))


def test_points_mixed_with_floats_broadcast(w2):
    xs, _f, g = w2
    P = list(np.random.default_rng(3).uniform(-1.5, 1.5, (len(xs), 11)))
    P[5] = 0.25           # one float among arrays of points
    P[9] = 1              # an int: taken as a float
    on = sb.lambdify(xs, g, check=False)
    off = sb.lambdify(xs, g, check=False, backend_options=OFF)
    got, want = on(*P), off(*P)
    for a, b in zip(got, want):
        assert a.shape == (11,)
        np.testing.assert_array_equal(bits(a), bits(np.broadcast_to(b, (11,))))
    x = np.array(np.broadcast_arrays(*[np.asarray(v, float) for v in P]))
    np.testing.assert_allclose(np.array(got), rosenbrock_grad_ref(x), rtol=1e-12, atol=1e-9)


def test_w2_few_statements():
    xs, f = rosenbrock(1000)
    fn = sb.lambdify(xs, sb.grad(f, xs))
    lines = body(fn)
    assert len(lines) < 30, "\n".join(lines)
    # per node: ~2,000 lines
    assert len(body(sb.lambdify(xs, sb.grad(f, xs), backend_options=OFF))) > 1500
    x = np.linspace(-1, 1, 1000)
    np.testing.assert_allclose(np.array(fn(*x.tolist())), rosenbrock_grad_ref(x),
                               rtol=1e-12, atol=1e-9)


def test_float32_symbols():
    """float32 symbols: computed in float32 from float32 arguments, bit for bit as per node.
    (The per-node code leaves Python-float arguments uncast, so they meet float32
    constants folded from the graph in float32 (NumPy's weak Python scalars) but float64
    values elsewhere; a graph with such constants (W2's −400, 200) stays per-node, as the
    probe finds that an array of float64 would not give the same bits.)"""
    n = 300
    xs = list(sb.symbols([f"z{i}" for i in range(n)], dtype="float32"))
    steps = [("b", 1, 0, 1), ("b", 2, 3, 2)]  # (x_i - x_{i+1}) x_{i+2}
    terms = [instantiate(steps, xs, i) for i in range(n)]
    total = terms[0]
    for t in terms[1:]:
        total = total + t
    outs = [total, *sb.grad(total, xs)]
    on, off = sb.lambdify(xs, outs), sb.lambdify(xs, outs, backend_options=OFF)
    assert vectorised(on)
    x = np.random.default_rng(4).uniform(-1.5, 1.5, n).astype(np.float32)
    args = list(x)  # NumPy float32 scalars: computed in float32
    got = on(*args)
    assert all(v.dtype == np.float32 for v in got)
    assert_same_bits(got, off(*args))
    x64 = x.astype(float)
    x1, x2 = np.roll(x64, -1), np.roll(x64, -2)
    # ∂/∂x_j of Σ_i (x_i − x_{i+1}) x_{i+2}: x_{j+2} − x_{j+1} + (x_{j−2} − x_{j−1})
    want_g = x2 - x1 + np.roll(x64 - x1, 2)
    np.testing.assert_allclose(np.array(got[1:], dtype=float), want_g, rtol=1e-5, atol=1e-5)
    # Python floats for float32 symbols, as the per-node code: float64 inside, float32 out
    assert_same_bits(on(*x.tolist()), off(*x.tolist()))
    P = np.random.default_rng(5).uniform(-1.5, 1.5, (n, 9)).astype(np.float32)
    on_p = sb.lambdify(xs, outs, check=False)
    got_p = on_p(*P)
    assert got_p[0].dtype == np.float32
    assert_same_bits(got_p, sb.lambdify(xs, outs, check=False, backend_options=OFF)(*P))
    # W2 in float32: float32 constants, per node (see above), and still right
    xs2, f2 = rosenbrock(300, "float32")
    g2 = sb.lambdify(xs2, sb.grad(f2, xs2))
    assert not vectorised(g2)


def test_checked_call_converts_arguments_as_per_node():
    """Ints and float32 scalars for float64 symbols are converted before any node reads
    them (a single node reading an argument sees it in float64, as per node)."""
    n = 300
    xs = list(sb.symbols([f"a{i}" for i in range(n)]))
    # each term groups, and a few nodes read the arguments alone (singles)
    outs = [xs[i] * xs[(i + 1) % n] - xs[(i + 2) % n] for i in range(n)]
    outs += [xs[0] * 0.1 + xs[5] / 3.0, xs[7] * xs[7] * 1e-3]
    on, off = sb.lambdify(xs, outs), sb.lambdify(xs, outs, backend_options=OFF)
    assert vectorised(on)
    x = list(np.random.default_rng(8).uniform(-1, 1, n))
    x[0], x[5], x[7] = np.float32(0.1), 3, np.float32(1.7)
    assert_same_bits(on(*x), off(*x))
    want = np.float64(np.float32(0.1)) * 0.1 + 3.0 / 3.0
    assert float(on(*x)[n]) == want


def test_checked_call_errors_name_the_argument(w2):
    xs, _f, g = w2
    fn = sb.lambdify(xs, g)
    x = [0.5] * len(xs)
    x[7] = np.array([1.0, 2.0])
    with pytest.raises(sb.ShapeError, match="x7"):
        fn(*x)
    x[7] = "a"
    with pytest.raises(sb.SymbackError, match="x7"):
        fn(*x)
    x[7] = 2  # an int, and a NumPy scalar: converted as by the per-node code
    x[8] = np.float32(0.25)
    assert_same_bits(fn(*x), sb.lambdify(xs, g, backend_options=OFF)(*x))


def test_source_runs_on_its_own_and_pickles(w2):
    xs, _f, g = w2
    fn = sb.lambdify(xs, g, check=False)
    ns: dict = {}
    exec(fn.source, ns)  # noqa: S102 - symback's own generated source
    P = np.random.default_rng(6).uniform(-1, 1, (len(xs), 4))
    assert_same_bits(ns["_symback_fn"](*P), fn(*P))
    again = pickle.loads(pickle.dumps(fn))
    assert_same_bits(again(*P), fn(*P))
    # many points: the function hands them to the per-node code (compiled on first use);
    # the standalone source and an unpickled copy have none and go block by block
    many = np.random.default_rng(7).uniform(-1, 1, (len(xs), vectorize.PER_NODE_POINTS + 345))
    want = sb.lambdify(xs, g, check=False, backend_options=OFF)(*many)
    assert_same_bits(fn(*many), want)
    assert_same_bits(ns["_symback_fn"](*many), want)
    assert_same_bits(pickle.loads(pickle.dumps(fn))(*many), want)
    np.testing.assert_allclose(np.array(want), rosenbrock_grad_ref(many), rtol=1e-12, atol=1e-9)
    # the checked function's source too, with its argument checks
    checked = sb.lambdify(xs, g)
    ns2: dict = {}
    exec(checked.source, ns2)  # noqa: S102
    x = P[:, 0].tolist()
    assert_same_bits(ns2["_symback_fn"](*x), checked(*x))
    x[3] = np.ones(2)
    with pytest.raises(sb.ShapeError, match="x3"):
        ns2["_symback_fn"](*x)


def test_many_points_from_several_threads_at_once(w2):
    """The per-node code for many points is compiled on first use, once, whatever the
    number of threads calling at that moment."""
    import threading

    xs, _f, g = w2
    fn = sb.lambdify(xs, g, check=False)
    many = np.random.default_rng(10).uniform(-1, 1, (len(xs), vectorize.PER_NODE_POINTS + 1))
    want = rosenbrock_grad_ref(many)
    errors: list[BaseException] = []

    def work() -> None:
        try:
            np.testing.assert_allclose(np.array(fn(*many)), want, rtol=1e-12, atol=1e-9)
        except BaseException as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors


# --------------------------------------------------------------------------- cost model


def test_cost_model_leaves_other_graphs_alone():
    # a deep chain (W3): two or three nodes per level, nothing to group
    x, y = sb.symbols("x y")
    z = x
    for _ in range(300):
        z = sb.sin(z) * z + sb.cos(z) * y
    assert not vectorised(sb.lambdify([x, y], sb.grad(z, [x, y])))
    # small graphs
    xs, f = rosenbrock(20)
    assert not vectorised(sb.lambdify(xs, sb.grad(f, xs)))
    # tensor arguments
    v = sb.vector("v", 500)
    assert not vectorised(sb.lambdify([v], sb.grad(sb.sum(sb.sin(v) * v), [v])[0]))
    # check_finite: per node
    xs, f = rosenbrock(400)
    assert not vectorised(sb.lambdify(xs, sb.grad(f, xs), check_finite=True))


def test_backend_options_are_checked():
    x = sb.symbols("x")
    with pytest.raises(sb.SymbackError, match="vectorize"):
        sb.lambdify([x], x * 2.0, backend_options={"vectorise": False})


def test_probe_accepts_exact_arithmetic():
    add = (sb.symbols("p") + sb.symbols("q")).op
    assert vectorize._exact(add, {}, (None, None), "float64")
    assert vectorize._exact_accumulate(add, {}, "add", "float64")


# --------------------------------------------------------------------------- random graphs

UNARY = [sb.sin, sb.cos, sb.exp, sb.tanh, sb.log, sb.sqrt, sb.log1p, sb.expm1, sb.abs,
         sb.sigmoid, sb.softplus, sb.arctan, lambda a: -a, lambda a: a ** 2,
         lambda a: a ** 3, lambda a: a ** 0.5]
BINARY = [lambda a, b: a + b, lambda a, b: a - b, lambda a, b: a * b, lambda a, b: a / b,
          sb.maximum, sb.minimum, lambda a, b: 2.5 * a - b, lambda a, b: a * b + 1.0,
          lambda a, b: sb.where(a > b, a * b, a - b)]  # (a boolean node among floats)


@st.composite
def templates(draw):
    """A small formula over three neighbouring variables (x_i, x_{i+1}, x_{i+2}) as a
    list of steps; every step reads earlier values."""
    steps = []
    for _ in range(draw(st.integers(2, 7))):
        k = 3 + len(steps)
        if draw(st.booleans()):
            steps.append(("u", draw(st.integers(0, len(UNARY) - 1)),
                          draw(st.integers(0, k - 1))))
        else:
            steps.append(("b", draw(st.integers(0, len(BINARY) - 1)),
                          draw(st.integers(0, k - 1)), draw(st.integers(0, k - 1))))
    return steps


def instantiate(steps, xs, i):
    vals = [xs[i], xs[(i + 1) % len(xs)], xs[(i + 2) % len(xs)]]
    for s in steps:
        vals.append(UNARY[s[1]](vals[s[2]]) if s[0] == "u"
                    else BINARY[s[1]](vals[s[2]], vals[s[3]]))
    return vals[-1]


@fuzz_settings(40, 400)  # (derandomised in CI; SYMBACK_LONG=1: 400 random examples)
@given(templates(), templates(), st.integers(300, 600), st.sampled_from(["grad", "terms", "sum"]),
       st.sampled_from(["float64", "float64", "float32"]))
def test_random_repeated_graphs_same_bits(t1, t2, n, what, dtype):
    xs = list(sb.symbols([f"y{i}" for i in range(n)], dtype=dtype))
    terms = [instantiate(t1 if i % 3 else t2, xs, i) for i in range(n)]
    if what == "terms":
        outs = terms
    else:
        total = terms[0]
        for t in terms[1:]:
            total = total + t
        outs = [total] if what == "sum" else [total, *sb.grad(total, xs)]
    outs = [o for o in outs if not o.is_const and not o.is_symbol] or [sb.sin(xs[0])]
    rng = np.random.default_rng(n)
    point = rng.uniform(-2, 2, n).astype(dtype)
    points = rng.uniform(-2, 2, (n, 5)).astype(dtype)
    # float32: NumPy float32 scalars (Python floats would be computed in float64 per node)
    one = point.tolist() if dtype == "float64" else list(point)
    pays, small = vectorize._PAYS, codegen._SCALAR_MATH_NODES
    with np.errstate(all="ignore"):
        for check in (True, False):
            # the cost model overruled (so that every groupable node is grouped here), and
            # no math-module version (which small graphs get and vectorize leaves alone):
            # the per-node NumPy code against the vectorised one
            vectorize._PAYS, codegen._SCALAR_MATH_NODES = 1e9, 0
            try:
                on = sb.lambdify(xs, outs, check=check)
                off = sb.lambdify(xs, outs, check=check, backend_options=OFF)
            finally:
                vectorize._PAYS, codegen._SCALAR_MATH_NODES = pays, small
            assert_same_bits(on(*one), off(*one))
            SEEN.append(vectorised(on))
            if not check:
                assert_same_bits(on(*points), off(*points))


SEEN: list[bool] = []


def test_random_graphs_do_vectorise():
    """The property test above is about something: such graphs are vectorised."""
    xs = list(sb.symbols([f"y{i}" for i in range(600)]))
    steps = [("b", 2, 0, 1), ("b", 1, 3, 2), ("b", 2, 4, 0)]  # (x_i x_{i+1} - x_{i+2}) x_i
    outs = [instantiate(steps, xs, i) for i in range(600)]
    fn = sb.lambdify(xs, outs)
    assert vectorised(fn)
    x = np.random.default_rng(9).uniform(-2, 2, 600)
    want = (x * np.roll(x, -1) - np.roll(x, -2)) * x
    np.testing.assert_allclose(np.array(fn(*x.tolist())), want, rtol=1e-14)
    if SEEN:  # (after the property test, in file order) most of its graphs vectorised
        assert sum(SEEN) >= 2 * len(SEEN) // 3, SEEN
