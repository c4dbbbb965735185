"""The vectorised code's memory-saving representation (symback.vectorize): each grouped
node's place as one int, the plan released before compiling, and the many scalar
arguments' names and dtypes written as two strings. Results are checked against the
hand-derived Rosenbrock gradient and bit for bit against the per-node code."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

import symback as sb
from symback import codegen, vectorize

N = 300  # (above the cost model's threshold: W2 vectorises from n ~ 200 on)


def rosenbrock(n: int):
    xs = list(sb.symbols([f"x{i}" for i in range(n)]))
    f = 0
    for i in range(n - 1):
        f = f + 100 * (xs[i + 1] - xs[i] ** 2) ** 2 + (1 - xs[i]) ** 2
    return xs, f


def grad_ref(x: np.ndarray) -> np.ndarray:
    """∂f/∂x_i = 400 x_i (x_i² − x_{i+1}) + 2 (x_i − 1) [i < n−1] + 200 (x_i − x_{i−1}²) [i > 0]."""
    g = np.zeros_like(x)
    g[:-1] += 400.0 * x[:-1] * (x[:-1] ** 2 - x[1:]) + 2.0 * (x[:-1] - 1.0)
    g[1:] += 200.0 * (x[1:] - x[:-1] ** 2)
    return g


@pytest.fixture(scope="module")
def w2():
    xs, f = rosenbrock(N)
    return xs, sb.grad(f, xs)


def test_place_of_every_grouped_node_and_argument(w2):
    xs, g = w2
    p = vectorize.plan(xs, g, None, True, False, False)
    assert p is not None and p.groups
    for i, a in enumerate(xs):
        assert vectorize._place(p.where[a]) == (-1, i)
    for k, members in enumerate(p.groups):
        for i, m in enumerate(members):
            assert vectorize._place(p.where[m]) == (k, i)
    assert len(p.where) == len(xs) + sum(map(len, p.groups))


@pytest.mark.parametrize("check", [True, False])
def test_plan_released_after_compiling_and_results_right(w2, check):
    xs, g = w2
    p = vectorize.plan(xs, g, None, check, False, False)
    fn = vectorize.compile_vectorized(p, xs, g, g, False, check, "<test-vecmem>")
    assert fn is not None and "_v0 = " in fn.source
    assert p.where == {} and p.groups == [] and p.levels == [] and p.order == []
    x = np.linspace(-1.2, 1.3, N)
    got = np.array([float(v) for v in fn(*x)])
    np.testing.assert_allclose(got, grad_ref(x), rtol=1e-12, atol=1e-12)
    per_node = sb.lambdify(xs, g, backend_options={"vectorize": False})
    want = np.array([float(v) for v in per_node(*x)])
    assert np.array_equal(got.view(np.int64), want.view(np.int64))


def test_scalar_specs_written_as_two_strings(w2):
    xs, g = w2
    fn = sb.lambdify(xs, g)
    assert "_v0 = " in fn.source
    spec_line = next(line for line in fn.source.splitlines()
                     if line.startswith("_SCALAR_SPECS"))
    assert spec_line.startswith("_SCALAR_SPECS = tuple(zip(")
    assert "('x0', 'float64')" not in fn.source
    assert spec_line + "\n" == codegen._scalar_specs_source(xs).splitlines(True)[0]
    # the specs still name the argument that is wrong, with its dtype
    x = [0.5] * N
    x[17] = "a"
    with pytest.raises(sb.SymbackError, match="x17"):
        fn(*x)
    x[17] = 2  # an int: converted to float64 as the per-node code does
    np.testing.assert_allclose([float(v) for v in fn(*x)],
                               grad_ref(np.array(x, dtype=float)), rtol=1e-12)


@pytest.fixture(scope="module")
def w2_many():
    xs, f = rosenbrock(vectorize.STAR_ARGS + 50)
    return xs, sb.grad(f, xs)


@pytest.mark.parametrize("check", [True, False])
def test_many_arguments_taken_as_one_tuple(w2_many, check):
    xs, g = w2_many
    n = len(xs)
    fn = sb.lambdify(xs, g, check=check)
    src = fn.source
    assert "_v0 = " in src and "def _symback_fn(*_s):" in src
    assert "_s = (x0, " not in src
    x = np.linspace(-1.1, 1.4, n)
    got = np.array([float(v) for v in fn(*x)])
    np.testing.assert_allclose(got, grad_ref(x), rtol=1e-12, atol=1e-12)
    per_node = sb.lambdify(xs, g, check=check, backend_options={"vectorize": False})
    want = np.array([float(v) for v in per_node(*x)])
    assert np.array_equal(got.view(np.int64), want.view(np.int64))
    # the standalone source checks the count as a signature would
    ns: dict = {}
    exec(src, ns)  # noqa: S102 - symback's own generated source
    np.testing.assert_array_equal([float(v) for v in ns["_symback_fn"](*x)], got)
    with pytest.raises(TypeError, match=f"takes {n} positional arguments but {n - 1}"):
        ns["_symback_fn"](*x[:-1])
    with pytest.raises(sb.SymbackError, match=f"takes {n} argument"):
        fn(*x[:-1])
    again = pickle.loads(pickle.dumps(fn))
    np.testing.assert_array_equal([float(v) for v in again(*x)], got)


def test_many_arguments_points_mode(w2_many):
    xs, g = w2_many
    n = len(xs)
    fn = sb.lambdify(xs, g, check=False)
    pts = np.linspace(-1.0, 1.0, 3 * n).reshape(n, 3)
    got = np.array(fn(*pts))
    np.testing.assert_allclose(got, grad_ref(pts), rtol=1e-12, atol=1e-12)
    many = np.linspace(-1.0, 1.0, n * 300).reshape(n, 300)  # (the per-node code's points)
    np.testing.assert_allclose(np.array(fn(*many)), grad_ref(many), rtol=1e-12, atol=1e-12)
