"""backend="llvm" on tensors of small static shapes (scalarised entry by entry, see
symback.native.scalarize): gradients against hand-derived NumPy formulas and central
differences of plain NumPy functions, values against NumPy itself and the NumPy backend,
errors, output shapes and points as trailing axes. Skipped without llvmlite (``native``)."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from _fd import numeric_jacobian

import symback as sb
from symback import native

pytest.importorskip("llvmlite")

RTOL = 1e-13


def close(got, want, rtol=RTOL, atol=1e-13):
    np.testing.assert_allclose(np.asarray(got), np.asarray(want), rtol=rtol, atol=atol)


# --------------------------------------------------------------- W2 on one vector symbol


def w2_vector(n):
    x = sb.vector("x", n)
    return x, sb.sum(100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)


def w2_grad_by_hand(x):
    """∂/∂x of Σᵢ 100 (x_{i+1} - x_i²)² + (1 - x_i)²: entry i gets
    -400 x_i (x_{i+1} - x_i²) - 2 (1 - x_i) from term i (i < n-1) and
    200 (x_i - x_{i-1}²) from term i-1 (i > 0)."""
    g = np.zeros_like(x)
    d = x[1:] - x[:-1] ** 2
    g[:-1] += -400.0 * x[:-1] * d - 2.0 * (1.0 - x[:-1])
    g[1:] += 200.0 * d
    return g


@pytest.mark.parametrize("opt", [0, 2])
def test_w2_vector_form_gradient_matches_the_hand_formula(opt):
    x, f = w2_vector(1000)
    g = sb.lambdify([x], sb.grad(f, [x])[0], backend="llvm", opt=opt)
    pt = np.random.default_rng(0).uniform(-1.5, 1.5, 1000)
    got = g(pt)
    assert isinstance(got, np.ndarray) and got.shape == (1000,)
    close(got, w2_grad_by_hand(pt))
    packed = g.call_packed(pt)  # one row per entry of x
    assert packed.shape == (1000,)
    close(packed, w2_grad_by_hand(pt))
    # points as trailing axes: 13 points (not a multiple of a SIMD width)
    pts = np.random.default_rng(1).uniform(-1.5, 1.5, (1000, 13))
    many = g(pts)
    assert many.shape == (1000, 13)
    for p in (0, 5, 12):
        close(many[:, p], w2_grad_by_hand(pts[:, p]))
    close(g.call_packed(pts), many)


def test_w2_vector_value_and_gradient_small():
    x, f = w2_vector(6)
    vg = sb.value_and_grad(f, [x], backend="llvm")
    pt = np.array([0.3, -1.2, 0.8, 1.1, -0.4, 0.9])
    val, (gx,) = vg(pt)
    want = np.sum(100 * (pt[1:] - pt[:-1] ** 2) ** 2 + (1 - pt[:-1]) ** 2)
    assert val.shape == () and gx.shape == (6,)
    close(val, want)
    close(gx, w2_grad_by_hand(pt))


# --------------------------------------------------------------- small tensor expressions

A = np.array([[0.5, -1.0, 2.0], [1.5, 0.25, -0.75]])  # a constant 2x3 matrix
XD = np.random.default_rng(7).normal(size=(5, 3))  # data of a small MLP
YD = np.random.default_rng(8).normal(size=5)


def _log_softmax0(m):
    return m - np.log(np.sum(np.exp(m), axis=0, keepdims=True))


def _softmax1(m):
    e = np.exp(m)
    return e / e.sum(axis=1, keepdims=True)


def _layer_norm_ref(x, k, eps):
    """(x − μ) / √(σ² + ε) over the last k axes (μ the mean, σ² the biased variance)."""
    ax = tuple(range(-k, 0))
    c = x - x.mean(axis=ax, keepdims=True)
    return c / np.sqrt((c * c).mean(axis=ax, keepdims=True) + eps)


def _cases():
    """(name, build(symbols) -> scalar expression, numpy function, symbol shapes)."""
    return [
        ("slices", lambda x: sb.sum(sb.sin(x[1:]) * x[:-1] + x[0] * x[-1]),
         lambda x: np.sum(np.sin(x[1:]) * x[:-1] + x[0] * x[-1]), [(5,)]),
        ("strided and reversed slices", lambda x: sb.sum(x[::2] * x[::-1][::2]),
         lambda x: np.sum(x[::2] * x[::-1][::2]), [(7,)]),
        ("sums over axes", lambda m: sb.sum(sb.exp(sb.sum(m, axis=0)) * sb.sum(m * m, axis=0))
         + sb.sum(sb.tanh(sb.sum(m, axis=1, keepdims=True) * m)),
         lambda m: np.sum(np.exp(m.sum(0)) * (m * m).sum(0))
         + np.sum(np.tanh(m.sum(1, keepdims=True) * m)), [(3, 4)]),
        ("matmul with a 2x3 matrix", lambda v: sb.sum(sb.tanh(A @ v) ** 2) + (A @ v)[1],
         lambda v: np.sum(np.tanh(A @ v) ** 2) + (A @ v)[1], [(3,)]),
        ("matrix times matrix, transpose", lambda w: sb.sum(sb.sin(A @ w.T) * (A @ w.T)),
         lambda w: np.sum(np.sin(A @ w.T) * (A @ w.T)), [(4, 3)]),
        ("broadcasting", lambda m, b: sb.sum(sb.log(1 + (m - b) ** 2)) + sb.mean(m * b),
         lambda m, b: np.sum(np.log(1 + (m - b) ** 2)) + np.mean(m * b), [(2, 3), (3,)]),
        ("reshape, stack, concatenate",
         lambda v: sb.sum(sb.reshape(v, (2, 3)) @ sb.stack([v[:3], v[3:]], axis=1))
         + sb.sum(sb.concatenate([v, v[:2] * 2.0]) ** 3),
         lambda v: np.sum(v.reshape(2, 3) @ np.stack([v[:3], v[3:]], axis=1))
         + np.sum(np.concatenate([v, v[:2] * 2.0]) ** 3), [(6,)]),
        ("small MLP loss", lambda w1, b1, w2: sb.mean((sb.tanh(XD @ w1.T + b1) @ w2 - YD) ** 2)
         + 0.01 * sb.sum(w1 ** 2),
         lambda w1, b1, w2: np.mean((np.tanh(XD @ w1.T + b1) @ w2 - YD) ** 2)
         + 0.01 * np.sum(w1 ** 2), [(4, 3), (4,), (4,)]),
        ("logsumexp, log_softmax, softmax, max",
         lambda m: sb.logsumexp(m) + sb.sum(sb.log_softmax(m, axis=0)[1] * 0.5)
         + sb.sum(sb.softmax(m)[:, 0] ** 2) + sb.max(m, axis=1)[0] - sb.min(m),
         lambda m: np.log(np.sum(np.exp(m))) + np.sum(_log_softmax0(m)[1] * 0.5)
         + np.sum(_softmax1(m)[:, 0] ** 2) + m.max(1)[0] - m.min(), [(3, 4)]),
        ("trace and diag", lambda s, v: sb.trace(s @ sb.diag(v)) + sb.sum(sb.diag(s) * v ** 2),
         lambda s, v: np.trace(s @ np.diag(v)) + np.sum(np.diag(s) * v ** 2), [(3, 3), (3,)]),
        ("einsum, cumsum, cumprod, prod, take",
         lambda m, v: sb.sum(sb.einsum("ij,j->i", m, v) ** 2) + sb.sum(sb.cumsum(v) * sb.cumprod(v))
         + sb.prod(v) + sb.sum(sb.sin(sb.take(m, [2, 0, 2], axis=1))) + sb.einsum("ii->", m[:, :3]),
         lambda m, v: np.sum(np.einsum("ij,j->i", m, v) ** 2) + np.sum(np.cumsum(v) * np.cumprod(v))
         + np.prod(v) + np.sum(np.sin(np.take(m, [2, 0, 2], axis=1))) + np.trace(m[:, :3]),
         [(3, 4), (4,)]),
        ("var, std and layer norm",
         lambda m: sb.sum(sb.var(m, axis=1) * sb.std(m, axis=0, ddof=1)[:3])
         + sb.var(m, ddof=1) + sb.sum(sb.nn.layer_norm(m, 4, eps=0.1) ** 3 * A[1, :2].sum() * A[0, 2]),
         lambda m: np.sum(m.var(axis=1) * m.std(axis=0, ddof=1)[:3]) + m.var(ddof=1)
         + np.sum(_layer_norm_ref(m, 1, 0.1) ** 3 * A[1, :2].sum() * A[0, 2]), [(3, 4)]),
        ("layer norm over two axes, var keepdims",
         lambda t: sb.sum(sb.nn.layer_norm(t, (3, 4)) * sb.sin(t))
         + sb.sum(sb.var(t, axis=(0, 2), keepdims=True) * t),
         lambda t: np.sum(_layer_norm_ref(t, 2, 1e-5) * np.sin(t))
         + np.sum(t.var(axis=(0, 2), keepdims=True) * t), [(2, 3, 4)]),
        ("scalar and tensor symbols", lambda s, v: s * sb.sum(sb.cos(s * v)) + s ** 2,
         lambda s, v: s * np.sum(np.cos(s * v)) + s ** 2, [(), (4,)]),
    ]


@pytest.mark.parametrize("name,build,ref,shapes", _cases(), ids=[c[0] for c in _cases()])
def test_values_and_gradients_vs_numpy_and_finite_differences(name, build, ref, shapes):
    syms = [sb.tensor(f"a{i}", s) for i, s in enumerate(shapes)]
    f = build(*syms)
    gs = sb.grad(f, syms)
    native_fn = sb.lambdify(syms, [f, *gs], backend="llvm")
    numpy_fn = sb.lambdify(syms, [f, *gs])
    rng = np.random.default_rng(sum(map(ord, name)))
    vals = [rng.uniform(-1.0, 1.0, s) if s else float(rng.uniform(-1, 1)) for s in shapes]
    got = native_fn(*vals)
    want = numpy_fn(*vals)
    assert [np.shape(g) for g in got] == [(), *shapes]
    for g, w in zip(got, want):
        close(g, w)
    close(got[0], ref(*vals))  # the value: NumPy itself
    for i in range(len(syms)):  # the gradients: central differences of the NumPy function
        fd = numeric_jacobian(ref, vals, i)
        close(got[1 + i], fd, rtol=1e-6, atol=1e-7)


def test_tensor_outputs_have_their_shapes_and_points_trail():
    m = sb.matrix("m", 2, 3)
    v = sb.vector("v", 3)
    f = sb.lambdify([m, v], [m @ v, sb.sin(m) * v, sb.sum(m)], backend="llvm")
    mv = np.arange(6.0).reshape(2, 3) / 7
    vv = np.array([0.5, -1.0, 2.0])
    a, b, c = f(mv, vv)
    assert (a.shape, b.shape, c.shape) == ((2,), (2, 3), ())
    close(a, mv @ vv)
    close(b, np.sin(mv) * vv)
    close(c, mv.sum())
    # 5 points of m, one v for all (the point axes broadcast)
    ms = np.random.default_rng(2).normal(size=(2, 3, 5))
    a, b, c = f(ms, vv)
    assert (a.shape, b.shape, c.shape) == ((2, 5), (2, 3, 5), (5,))
    for p in range(5):
        close(a[:, p], ms[..., p] @ vv)
        close(b[..., p], np.sin(ms[..., p]) * vv)
    # call_packed: rows are m's 6 entries then v's 3; out rows 2 + 6 + 1
    packed = f.call_packed(np.concatenate([mv.ravel(), vv]))
    assert packed.shape == (9,)
    close(packed, np.concatenate([mv @ vv, (np.sin(mv) * vv).ravel(), [mv.sum()]]))


def test_jacobian_of_a_vector_function_and_pickle():
    x = sb.vector("x", 3)
    y = sb.stack([x[0] * x[1], sb.exp(x[2]) - x[0]])
    jac = sb.jacobian(y, x)
    f = sb.lambdify([x], jac, backend="llvm")
    pt = np.array([0.3, -0.7, 0.2])
    want = np.array([[pt[1], pt[0], 0.0], [-1.0, 0.0, np.exp(pt[2])]])
    close(f(pt), want)
    g = pickle.loads(pickle.dumps(f))
    close(g(pt), want)


def test_symbol_names_of_entries_do_not_clash_with_user_symbols():
    x = sb.vector("x", 2)
    x__0 = sb.symbols("x__0")  # the name an entry of x would get
    f = sb.lambdify([x, x__0], x[0] * 10 + x__0, backend="llvm")
    close(f(np.array([1.0, 2.0]), 5.0), 15.0)


# --------------------------------------------------------------- errors


def test_symbolic_size_is_refused_with_the_reason():
    x = sb.vector("x", "n")
    with pytest.raises(sb.SymbackError, match=r"symbolic size 'n'.*backend='numpy'"):
        sb.lambdify([x], sb.sum(sb.sin(x)), backend="llvm")


def test_op_without_a_scalar_form_is_refused_naming_op_and_backend():
    m = sb.matrix("m", 2, 2)
    with pytest.raises(sb.SymbackError, match=r"backend='llvm'.*op det has no scalar form"):
        sb.lambdify([m], sb.det(m) * sb.sum(m), backend="llvm")


def test_too_many_entries_is_refused_with_the_reason(monkeypatch):
    monkeypatch.setattr(native, "MAX_ENTRIES", 50)
    x = sb.vector("x", 40)
    with pytest.raises(sb.SymbackError, match=r"entries in all, over the llvm backend's limit of "
                       r"50.*backend='numpy'"):
        sb.lambdify([x], sb.sum(sb.sin(x) * x), backend="llvm")


def test_wrong_argument_shape_is_a_shape_error():
    x = sb.vector("x", 3)
    f = sb.lambdify([x], sb.sum(x * x), backend="llvm")
    with pytest.raises(sb.ShapeError, match=r"argument x: expected shape \(3,\)"):
        f(np.ones(4))
    with pytest.raises(sb.SymbackError, match=r"call_packed: expected an array of shape \(3, "):
        f.call_packed(np.ones(2))


def test_readme_tensor_block_runs_as_written():
    from readme_blocks import promised, python_blocks, run_block, section

    code = python_blocks(section("## Native code for scalar graphs"))[1]
    assert run_block(code, "native tensors") == promised(code) == [
        "(1000,)", "(1000, 64)", "() (2, 3)"]


def test_too_many_products_is_refused_with_the_reason(monkeypatch):
    monkeypatch.setattr(native, "MAX_ENTRIES", 500)
    w = sb.matrix("w", 6, 6)  # 36 entries, but w @ w is 216 products, twice: over 500
    with pytest.raises(sb.SymbackError, match=r"op matmul: a product of shapes \(6, 6\) and "
                       r"\(6, 6\) is 216 multiplications.*limit of 500.*backend='numpy'"):
        sb.lambdify([w], sb.sum(sb.tanh(w @ w) @ (w @ w.T)), backend="llvm")


def test_take_with_indices_known_only_at_run_time_is_refused():
    # an int64 argument is refused first, naming it (the llvm kernel takes float64 entries)
    v = sb.vector("v", 4)
    i = sb.tensor("i", (2,), dtype="int64")
    with pytest.raises(sb.SymbackError, match=r"backend='llvm'.*argument i .*int64"):
        sb.lambdify([v, i], sb.sum(sb.take(v, i)), backend="llvm")
    # take's scalar form itself: entries that are not int constants have no fixed position
    from symback.ops import _scalar

    ents = np.empty(2, dtype=object)
    ents[0], ents[1] = sb.symbols("p"), sb.symbols("q")
    with pytest.raises(_scalar.NotScalar, match="take indices computed at run time"):
        _scalar.take(_scalar.zeros((4,)), ents, 0)
