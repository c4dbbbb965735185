"""The new reductions (symback/ops/stats.py) against central differences and autograd.

max/min/amax/amin, prod, var, std, cumsum, cumprod, ptp, average, and sum/mean of lists,
at several shapes (size-1 axes included) and axis/keepdims choices; then the conventions:
ties in max split evenly, prod and cumprod at zeros (first and second derivatives, no NaN),
std at zero variance.
"""

from __future__ import annotations

from functools import reduce

import numpy as np
import pytest
from crosscheck import crosscheck
from op_specs import distinct
from readme_blocks import promised, python_blocks, run_block, section

import symback as sb

# the references are written with autograd.numpy (a test extra): without it, skip
anp = pytest.importorskip("autograd.numpy")

CASES = [((4,), None, False), ((1,), 0, False), ((2, 3), 1, False), ((2, 3), 0, True),
         ((2, 3), None, True), ((3, 1, 2), (0, 2), False), ((2, 3), -1, True)]


def _ag_prod(x, axis=None, keepdims=False):
    """A product autograd differentiates without dividing (a chain of multiplications)."""
    nd = x.ndim
    x = anp.moveaxis(x, axis, 0) if isinstance(axis, int) else anp.reshape(x, (-1,))
    out = reduce(lambda a, b: a * b, [x[i] for i in range(x.shape[0])])
    if keepdims:
        out = anp.expand_dims(out, axis) if axis is not None else anp.reshape(out, (1,) * nd)
    return out


@pytest.mark.parametrize("shape,axis,keep", CASES, ids=str)
@pytest.mark.parametrize("name", ["max", "min", "amax", "amin", "ptp"])
def test_extremes_crosscheck(name, shape, axis, keep) -> None:
    x = distinct(np.random.default_rng(len(name)), shape)  # no ties in max/min
    if name == "ptp":
        ref = lambda a: anp.max(a, axis=axis, keepdims=keep) - anp.min(a, axis=axis, keepdims=keep)  # noqa: E731
    else:
        ref = lambda a: getattr(anp, name)(a, axis=axis, keepdims=keep)  # noqa: E731
    crosscheck(lambda a: getattr(sb, name)(a, axis=axis, keepdims=keep), ref, [x],
               what=f"{name}{axis}")


@pytest.mark.parametrize("shape,axis,keep", CASES, ids=str)
@pytest.mark.parametrize("name", ["var", "std"])
@pytest.mark.parametrize("ddof", [0, 1])
def test_moments_crosscheck(name, ddof, shape, axis, keep) -> None:
    x = np.random.default_rng(1).normal(size=shape)
    n = int(np.prod([shape[a] for a in ((axis,) if isinstance(axis, int) else axis or
                                         range(len(shape)))]))
    if n - ddof <= 0 or n == 1:
        pytest.skip("no spread along a length-1 axis")
    crosscheck(lambda a: getattr(sb, name)(a, axis=axis, ddof=ddof, keepdims=keep),
               lambda a: getattr(anp, name)(a, axis=axis, ddof=ddof, keepdims=keep), [x],
               what=f"{name}{axis}")


@pytest.mark.parametrize("shape,axis,keep", CASES, ids=str)
def test_prod_crosscheck(shape, axis, keep) -> None:
    x = np.random.default_rng(2).uniform(0.5, 1.5, size=shape)
    x = x * np.random.default_rng(3).choice([-1.0, 1.0], size=shape)
    if isinstance(axis, tuple):
        ref = lambda a: _ag_prod(_ag_prod(a, 2, keep), 0, keep)  # noqa: E731
    else:
        ref = lambda a: _ag_prod(a, axis if axis is None or axis >= 0 else a.ndim + axis, keep)  # noqa: E731
    crosscheck(lambda a: sb.prod(a, axis=axis, keepdims=keep), ref, [x], what=f"prod{axis}")


def _ag_cumprod(x, axis):
    x = anp.moveaxis(x, axis, 0)
    outs = [x[0]]
    for i in range(1, x.shape[0]):
        outs.append(outs[-1] * x[i])
    return anp.moveaxis(anp.stack(outs), 0, axis)


@pytest.mark.parametrize("shape,axis", [((4,), 0), ((1,), 0), ((2, 3), 1), ((3, 2), 0),
                                        ((2, 3, 2), 1), ((2, 3), -1)], ids=str)
def test_cumsum_cumprod_crosscheck(shape, axis) -> None:
    x = np.random.default_rng(4).uniform(-1.5, 1.5, size=shape)
    crosscheck(lambda a: sb.cumsum(a, axis=axis), lambda a: anp.cumsum(a, axis=axis), [x],
               what="cumsum")
    crosscheck(lambda a: sb.cumprod(a, axis=axis), lambda a: _ag_cumprod(a, axis), [x],
               what="cumprod")


def test_cumsum_cumprod_flatten_when_axis_is_none() -> None:
    x = np.random.default_rng(5).uniform(-1.5, 1.5, size=(2, 3))
    crosscheck(sb.cumsum, lambda a: anp.cumsum(a), [x], what="cumsum(None)")
    crosscheck(sb.cumprod, lambda a: _ag_cumprod(anp.reshape(a, (-1,)), 0), [x],
               what="cumprod(None)")


@pytest.mark.parametrize("shape,axis,wshape", [((4,), None, (4,)), ((2, 3), 1, (3,)),
                                               ((2, 3), 0, (2,)), ((2, 3), None, (2, 3)),
                                               ((2, 3), (0, 1), (2, 3))], ids=str)
def test_average_crosscheck(shape, axis, wshape) -> None:
    rng = np.random.default_rng(6)
    x = rng.normal(size=shape)
    w = rng.uniform(0.5, 2.0, size=wshape)

    def ref(a, ww):
        if ww.shape != a.shape:
            ax = axis
            ww = anp.reshape(ww, tuple(ww.shape[0] if i == ax else 1 for i in range(a.ndim)))
            ww = ww * anp.ones(a.shape)
        return anp.sum(a * ww, axis=axis) / anp.sum(ww, axis=axis)
    crosscheck(lambda a, ww: sb.average(a, axis=axis, weights=ww), ref, [x, w],
               what="average")
    np.testing.assert_allclose(
        sb.lambdify([], sb.average(sb.const(x), axis=axis, weights=sb.const(w)))(),
        np.average(x, axis=axis, weights=w))


def test_sum_and_mean_of_a_list_stack_as_numpy() -> None:
    a, b = sb.vector("a", 3), sb.vector("b", 3)
    va, vb = np.array([1.0, 2.0, 3.0]), np.array([-1.0, 0.5, 4.0])
    for fn, npfn in ((sb.sum, np.sum), (sb.mean, np.mean)):
        for axis in (None, 0, 1):
            y = fn([a, 2.0 * b], axis=axis)
            np.testing.assert_allclose(sb.lambdify([a, b], y)(va, vb),
                                       npfn([va, 2.0 * vb], axis=axis))
    crosscheck(lambda p, q: sb.mean((p, q * p), axis=0), lambda p, q: anp.mean(
        anp.stack([p, q * p]), axis=0), [va, vb], what="mean of a tuple")
    with pytest.raises(sb.ShapeError, match="sum: the list's entries have different shapes"):
        sb.sum([a, sb.vector("c", 2)])
    with pytest.raises(sb.SymbackError, match="an empty list"):
        sb.sum([])


# ---------------------------------------------------------------- conventions


def _grad(fn, x):
    s = sb.tensor("x", x.shape)
    return sb.lambdify([s], sb.grad(sb.sum(fn(s)), [s])[0])(x)


def test_max_min_ties_split_evenly() -> None:
    x = np.array([[1.0, 3.0, 3.0], [2.0, 2.0, 2.0]])
    np.testing.assert_allclose(_grad(lambda s: sb.max(s, axis=1), x),
                               [[0, 0.5, 0.5], [1 / 3, 1 / 3, 1 / 3]])
    np.testing.assert_allclose(_grad(lambda s: sb.min(s), x),
                               [[1.0, 0, 0], [0, 0, 0]])
    np.testing.assert_allclose(_grad(lambda s: sb.min(s, axis=0), x),
                               [[1.0, 0, 0], [0, 1.0, 1.0]])
    # the same convention as the elementwise maximum at a tie of two
    a = np.array([2.0, 2.0])
    np.testing.assert_allclose(_grad(lambda s: sb.max(s), a), [0.5, 0.5])


def test_prod_at_zeros_first_and_second_derivatives() -> None:
    """One zero: its entry gets the product of the others (not NaN). Hessian by hand:
    ∂²Π/∂x_i∂x_j = Π_{k≠i,j} x_k (zero on the diagonal)."""
    for x in (np.array([2.0, 0.0, 3.0, -1.5]), np.array([0.0, 0.0, 3.0, 2.0]),
              np.array([0.0, 1.0, 3.0, 2.0])):
        g = _grad(lambda s: sb.prod(s), x)
        want = np.array([np.prod(np.delete(x, i)) for i in range(4)])
        np.testing.assert_array_equal(g, want)
        s = sb.tensor("x", (4,))
        H = sb.lambdify([s], sb.hessian(sb.prod(s), s))(x)
        Hw = np.array([[0.0 if i == j else np.prod(np.delete(x, [i, j])) for j in range(4)]
                       for i in range(4)])
        np.testing.assert_allclose(H, Hw, atol=0)


def test_cumprod_at_zeros() -> None:
    x = np.array([2.0, 0.0, 3.0, -1.5])
    g = _grad(lambda s: sb.cumprod(s), x)
    # ∂Σ_i y_i / ∂x_j = Σ_{i≥j} Π_{k≤i, k≠j} x_k, by hand
    want = [sum(np.prod(np.delete(x[:i + 1], j)) for i in range(j, 4)) for j in range(4)]
    np.testing.assert_allclose(g, want)
    s = sb.tensor("x", (4,))
    H = sb.lambdify([s], sb.hessian(sb.sum(sb.cumprod(s)), s))(x)
    assert np.all(np.isfinite(H))
    np.testing.assert_allclose(H, H.T)
    # H[0, 2] = Σ_{i≥2} Π_{k≤i, k∉{0,2}} x_k = x1 + x1 x3 = 0
    np.testing.assert_allclose(H[0, 1], 1 + 3.0 + 3.0 * -1.5)


def test_std_gradient_zero_at_zero_variance() -> None:
    x = np.array([[1.5, 1.5, 1.5], [1.0, 2.0, 4.0]])
    g = _grad(lambda s: sb.std(s, axis=1), x)
    np.testing.assert_array_equal(g[0], [0.0, 0.0, 0.0])
    assert np.all(np.isfinite(g))
    g = _grad(lambda s: sb.var(s, axis=1), x)
    np.testing.assert_array_equal(g[0], [0.0, 0.0, 0.0])


# ---------------------------------------------------------------- printing, parsing, errors


def test_latex_textbook_forms() -> None:
    X = sb.tensor("X", (2, 3))
    x = sb.vector("x", 4)
    assert sb.latex(sb.max(X, axis=1)) == r"\max_{j} X_{ij}"
    assert sb.latex(sb.min(x)) == r"\min_{i} x_{i}"
    assert sb.latex(sb.prod(x)) == r"\prod_{i} x_{i}"
    assert sb.latex(sb.var(X, axis=0)) == r"\operatorname{var}_{i} X_{ij}"
    assert sb.latex(sb.std(x, ddof=1)) == r"\operatorname{std}_{i}^{(\text{ddof}=1)} x_{i}"
    assert sb.latex(sb.cumsum(X, axis=1)) == r"\sum_{k \leq j} X_{ik}"
    assert sb.latex(sb.cumprod(x + 1)) == r"\prod_{j \leq i} {(x + 1)}_{j}"


def test_text_parses_back() -> None:
    X = sb.tensor("X", (2, 3))
    shapes = {"X": (2, 3)}
    for e in (sb.max(X, axis=1), sb.min(X, axis=0, keepdims=True), sb.prod(X),
              sb.var(X, axis=1, ddof=1), sb.std(X, keepdims=True), sb.cumsum(X, axis=1),
              sb.cumprod(X, axis=0), sb.ptp(X, axis=1), sb.amax(X) + sb.amin(X)):
        assert sb.parse(str(e), shapes) is e, str(e)


def test_errors_name_the_function() -> None:
    X = sb.tensor("X", (2, 3))
    with pytest.raises(sb.ShapeError, match="max"):
        sb.max(X, axis=2)
    with pytest.raises(sb.SymbackError, match="var: ddof must be a number"):
        sb.var(X, ddof="1")
    with pytest.raises(sb.SymbackError, match="cumsum: axis must be an int"):
        sb.cumsum(X, axis=(0, 1))
    with pytest.raises(sb.SymbackError, match="std: dtype"):
        sb.std(X, dtype="float32")
    with pytest.raises(sb.SymbackError, match="prod: out= is not supported"):
        sb.prod(X, out=X)
    # NumPy's positional order: prod(a, axis, dtype, out, keepdims)
    assert sb.prod(X, 0, None, None, True).shape == (1, 3)
    assert sb.var(X, 1, None, None, 1) is sb.var(X, axis=1, ddof=1)
    with pytest.raises(sb.ShapeError, match="max: zero-size axis"):
        sb.max(sb.tensor("E", (0, 3)), axis=0)
    n = sb.tensor("N", ("n",))
    with pytest.raises(sb.SymbackError, match="prod: the derivative along axis 0 needs an int"):
        sb.grad(sb.prod(n), n)
    with pytest.raises(sb.SymbackError, match="cumsum: axis=None flattens"):
        sb.cumsum(sb.tensor("M", ("n", 2)))


def test_symbolic_sizes() -> None:
    """max, var, std and cumsum work with symbolic sizes (prod's derivative needs an int)."""
    n = sb.tensor("N", ("n", 2))
    for fn, ref in ((lambda s: sb.max(s, axis=0), lambda v: np.max(v, axis=0)),
                    (lambda s: sb.var(s, axis=0, ddof=1), lambda v: np.var(v, axis=0, ddof=1)),
                    (lambda s: sb.cumsum(s, axis=0), lambda v: np.cumsum(v, axis=0))):
        y = fn(n)
        v = np.random.default_rng(0).normal(size=(5, 2))
        np.testing.assert_allclose(sb.lambdify([n], y)(v), ref(v))
        sb.lambdify([n], sb.grad(sb.sum(y), n))(v)


def test_readme_numpy_surface_block_runs_and_prints_what_it_says() -> None:
    code = next(c for c in python_blocks(section("## The NumPy surface")) if "sb.max(" in c)
    printed = run_block(code, "numpy-surface")
    expected = promised(code)
    assert len(expected) == 2
    for line in expected:
        assert line in printed, (line, printed)


@pytest.mark.parametrize("name,build,ref", [
    ("max", lambda x: sb.max(x, axis=1), lambda v: np.max(v, axis=1)),
    ("min_keep", lambda x: sb.min(x, axis=0, keepdims=True), lambda v: np.min(v, 0, keepdims=True)),
    ("prod", lambda x: sb.prod(x, axis=1), lambda v: np.prod(v, axis=1)),
    ("prod_all", lambda x: sb.prod(x), lambda v: np.prod(v)),
    ("var", lambda x: sb.var(x, axis=0, ddof=1), lambda v: np.var(v, axis=0, ddof=1)),
    ("std", lambda x: sb.std(x, axis=1, keepdims=True), lambda v: np.std(v, 1, keepdims=True)),
    ("cumsum", lambda x: sb.cumsum(x, axis=1), lambda v: np.cumsum(v, axis=1)),
    ("cumprod", lambda x: sb.cumprod(x, axis=0), lambda v: np.cumprod(v, axis=0)),
])
def test_jacobians_with_batched_tangents(name, build, ref) -> None:
    """sb.jacobian pushes a batch of tangents (trailing axes) through each op's jvp rule."""
    v = np.random.default_rng(8).uniform(0.5, 1.5, size=(3, 4)) * np.array([1, -1, 1, -1])
    x = sb.tensor("x", (3, 4))
    jac = sb.lambdify([x], sb.jacobian(build(x), x))(v)
    out = np.asarray(ref(v))
    fd = np.zeros(out.shape + v.shape)
    for idx in np.ndindex(*v.shape):
        h = 1e-6
        p, m = v.copy(), v.copy()
        p[idx] += h
        m[idx] -= h
        fd[(...,) + idx] = (np.asarray(ref(p)) - np.asarray(ref(m))) / (2 * h)
    np.testing.assert_allclose(jac, fd, rtol=1e-6, atol=1e-7, err_msg=name)
