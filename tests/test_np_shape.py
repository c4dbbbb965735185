"""Issue 11, shape and structure: every function against NumPy and two derivative references.

Each case calls ``crosscheck(build, ref, values)`` (tests/crosscheck.py): the value against the
``autograd.numpy`` reference evaluated on plain arrays, the gradient against central
differences and autograd, forward mode (``sb.jvp``) against differences, the Hessian-vector
product against autograd's grad-of-grad, and float32. Shapes include size-1 axes and
broadcasting. Then the indexing forms, creation constants, ``Expr`` methods, the printed
forms that ``sb.parse`` reads back, and the errors.
"""

from __future__ import annotations

import numpy as np
import op_specs
import pytest
from crosscheck import crosscheck
from gradcheck import assert_close
from readme_blocks import promised, python_blocks, run_block, section

import symback as sb

try:  # the references: autograd.numpy where installed (crosscheck then also uses autograd)
    import autograd.numpy as anp
except ImportError:  # pragma: no cover - plain NumPy values; the FD checks still run
    anp = np

RNG = np.random.default_rng(11)


def r(*shape: int) -> np.ndarray:
    return RNG.normal(size=shape)


def distinct(*shape: int) -> np.ndarray:
    """Entries well apart (sort and partition away from ties)."""
    return op_specs.distinct(RNG, shape)


def gathered(fn, shape):
    """An independent reference for a pure rearrangement: NumPy's own ``fn`` applied to the
    entry numbers, then those entries of ``x`` gathered (autograd differentiates the gather)."""
    idx = fn(np.arange(int(np.prod(shape, dtype=int))).reshape(shape))
    return lambda x: anp.ravel(x)[idx]


def padded(shape, width, **kw):
    """np.pad's constant mode as a gather from x's entries plus the constant (the last)."""
    n = int(np.prod(shape, dtype=int))
    idx = np.pad(np.arange(n).reshape(shape), width, constant_values=n)
    c = kw.get("constant_values", 0.0)
    return lambda x: anp.concatenate([anp.ravel(x), anp.array([c])])[idx]


def sort_ref(x, axis=-1):
    """Sorted values as a gather at NumPy's argsort (autograd's sort is 1-d only)."""
    order = np.argsort(getattr(x, "_value", x), axis=axis, kind="stable")
    grids = list(np.indices(order.shape, sparse=True))
    grids[axis % x.ndim] = order
    return x[tuple(grids)]


def _joined(pieces, axis):  # split results, each scaled differently, joined back
    return [p * (i + 1.0) for i, p in enumerate(pieces)], axis


# (id, build, ref, values): the ref is autograd.numpy, also the value reference
CASES = [
    ("ravel", lambda x: sb.ravel(x), lambda x: anp.ravel(x), [r(2, 3)]),
    ("ravel_1", lambda x: sb.ravel(x), lambda x: anp.ravel(x), [r(1, 3, 1)]),
    ("squeeze_all", lambda x: sb.squeeze(x), lambda x: anp.squeeze(x), [r(1, 3, 1)]),
    ("squeeze_axis", lambda x: sb.squeeze(x, axis=2), lambda x: anp.squeeze(x, axis=2),
     [r(1, 3, 1)]),
    ("expand_dims", lambda x: sb.expand_dims(x, 1), lambda x: anp.expand_dims(x, 1), [r(2, 3)]),
    ("moveaxis", lambda x: sb.moveaxis(x, 0, -1), lambda x: anp.moveaxis(x, 0, -1),
     [r(2, 3, 4)]),
    ("moveaxis_many", lambda x: sb.moveaxis(x, [0, 1], [2, 0]),
     lambda x: anp.moveaxis(x, [0, 1], [2, 0]), [r(2, 3, 1)]),
    ("swapaxes", lambda x: sb.swapaxes(x, 0, 2), lambda x: anp.swapaxes(x, 0, 2), [r(2, 1, 4)]),
    ("rollaxis", lambda x: sb.rollaxis(x, 2), lambda x: anp.rollaxis(x, 2), [r(2, 3, 4)]),
    ("rollaxis_start", lambda x: sb.rollaxis(x, 0, 3), lambda x: anp.rollaxis(x, 0, 3),
     [r(2, 3, 4)]),
    ("flip_all", lambda x: sb.flip(x), lambda x: x[::-1, ::-1], [r(2, 3)]),
    ("flip_axis", lambda x: sb.flip(x, 1), lambda x: x[:, ::-1], [r(2, 3, 1)]),
    ("flipud", lambda x: sb.flipud(x), lambda x: anp.flipud(x), [r(3,)]),
    ("fliplr", lambda x: sb.fliplr(x), lambda x: anp.fliplr(x), [r(2, 3)]),
    ("rot90", lambda x: sb.rot90(x), lambda x: anp.rot90(x), [r(2, 3)]),
    ("rot90_k2", lambda x: sb.rot90(x, 2), lambda x: anp.rot90(x, 2), [r(2, 3)]),
    ("rot90_k3_axes", lambda x: sb.rot90(x, 3, axes=(1, 2)),
     gathered(lambda i: np.rot90(i, 3, axes=(1, 2)), (2, 3, 4)), [r(2, 3, 4)]),
    ("roll", lambda x: sb.roll(x, 2), lambda x: anp.roll(x, 2), [r(2, 3)]),
    ("roll_axis", lambda x: sb.roll(x, -1, axis=1), lambda x: anp.roll(x, -1, axis=1),
     [r(2, 3)]),
    ("roll_many", lambda x: sb.roll(x, (1, 2), axis=(0, 1)),
     gathered(lambda i: np.roll(i, (1, 2), axis=(0, 1)), (3, 4)), [r(3, 4)]),
    ("repeat", lambda x: sb.repeat(x, 2), lambda x: anp.repeat(x, 2), [r(2, 3)]),
    ("repeat_axis", lambda x: sb.repeat(x, 3, axis=0), lambda x: anp.repeat(x, 3, axis=0),
     [r(1, 3)]),
    ("repeat_counts", lambda x: sb.repeat(x, [2, 0, 1], axis=1),
     gathered(lambda i: np.repeat(i, [2, 0, 1], axis=1), (2, 3)), [r(2, 3)]),
    ("tile", lambda x: sb.tile(x, 2), lambda x: anp.tile(x, 2), [r(3,)]),
    ("tile_2d", lambda x: sb.tile(x, (2, 1, 3)), lambda x: anp.tile(x, (2, 1, 3)), [r(1, 2)]),
    ("broadcast_to", lambda x: sb.broadcast_to(x, (2, 3)),
     lambda x: anp.broadcast_to(x, (2, 3)), [r(1, 3)]),
    ("atleast_1d", lambda x: sb.atleast_1d(x), lambda x: anp.atleast_1d(x), [r()]),
    ("atleast_2d", lambda x: sb.atleast_2d(x), lambda x: anp.atleast_2d(x), [r(3)]),
    ("atleast_3d_1", lambda x: sb.atleast_3d(x), lambda x: anp.atleast_3d(x), [r(3)]),
    ("atleast_3d_2", lambda x: sb.atleast_3d(x), lambda x: anp.atleast_3d(x), [r(2, 3)]),
    ("append", lambda x, y: sb.append(x, y), lambda x, y: anp.append(x, y), [r(2, 2), r(3)]),
    ("append_axis", lambda x, y: sb.append(x, y, axis=0),
     lambda x, y: anp.concatenate([x, y], axis=0), [r(2, 3), r(1, 3)]),
    ("vstack", lambda x, y: sb.vstack([x, y]), lambda x, y: anp.vstack([x, y]), [r(3), r(2, 3)]),
    ("hstack", lambda x, y: sb.hstack([x, y]), lambda x, y: anp.hstack([x, y]), [r(2), r(3)]),
    ("hstack_2d", lambda x, y: sb.hstack((x, y)), lambda x, y: anp.hstack((x, y)),
     [r(2, 1), r(2, 3)]),
    ("dstack", lambda x, y: sb.dstack([x, y]), lambda x, y: anp.dstack([x, y]), [r(2, 3), r(2, 3)]),
    ("column_stack", lambda x, y: sb.column_stack([x, y]),
     lambda x, y: anp.column_stack([x, y]), [r(3), r(3, 2)]),
    ("split", lambda x: sb.concatenate(*_joined(sb.split(x, 3, axis=1), 1)),
     lambda x: anp.concatenate(*_joined(anp.split(x, 3, axis=1), 1)), [r(2, 6)]),
    ("split_points", lambda x: sb.concatenate(*_joined(sb.split(x, [1, 3]), 0)),
     lambda x: anp.concatenate(*_joined(anp.split(x, [1, 3]), 0)), [r(5)]),
    ("array_split", lambda x: sb.concatenate(*_joined(sb.array_split(x, 3), 0)),
     lambda x: anp.concatenate(*_joined(anp.array_split(x, 3), 0)), [r(7, 2)]),
    ("hsplit", lambda x: sb.concatenate(*_joined(sb.hsplit(x, 2), 1)),
     lambda x: anp.concatenate(*_joined(anp.hsplit(x, 2), 1)), [r(3, 4)]),
    ("vsplit", lambda x: sb.concatenate(*_joined(sb.vsplit(x, 2), 0)),
     lambda x: anp.concatenate(*_joined(anp.vsplit(x, 2), 0)), [r(4, 1)]),
    ("dsplit", lambda x: sb.concatenate(*_joined(sb.dsplit(x, [1]), 2)),
     lambda x: anp.concatenate(*_joined(anp.dsplit(x, [1]), 2)), [r(1, 2, 3)]),
    ("pad_constant", lambda x: sb.pad(x, 1), padded((2, 3), 1), [r(2, 3)]),
    ("pad_constant_values", lambda x: sb.pad(x, ((1, 0), (0, 2)), constant_values=1.5),
     padded((2, 3), ((1, 0), (0, 2)), constant_values=1.5), [r(2, 3)]),
    ("pad_edge", lambda x: sb.pad(x, (2, 1), mode="edge"),
     gathered(lambda i: np.pad(i, (2, 1), "edge"), (3,)), [r(3)]),
    ("pad_edge_2d", lambda x: sb.pad(x, ((1, 1), (0, 2)), mode="edge"),
     gathered(lambda i: np.pad(i, ((1, 1), (0, 2)), "edge"), (1, 3)), [r(1, 3)]),
    ("pad_reflect", lambda x: sb.pad(x, 2, mode="reflect"),
     gathered(lambda i: np.pad(i, 2, "reflect"), (4,)), [r(4)]),
    ("pad_reflect_2d", lambda x: sb.pad(x, ((1, 2), (1, 1)), mode="reflect"),
     gathered(lambda i: np.pad(i, ((1, 2), (1, 1)), "reflect"), (3, 2)), [r(3, 2)]),
    ("diff", lambda x: sb.diff(x), lambda x: anp.diff(x), [r(5)]),
    ("diff_n2_axis0", lambda x: sb.diff(x, 2, axis=0), lambda x: anp.diff(x, 2, axis=0),
     [r(4, 3)]),
    ("sort", lambda x: sb.sort(x), lambda x: anp.sort(x), [distinct(5)]),
    ("sort_axis0", lambda x: sb.sort(x, axis=0), lambda x: sort_ref(x, 0),
     [distinct(3, 4)]),
    ("sort_none", lambda x: sb.sort(x, axis=None), lambda x: sort_ref(anp.ravel(x)),
     [distinct(2, 3)]),
    ("sort_size1", lambda x: sb.sort(x, axis=1), lambda x: sort_ref(x, 1),
     [distinct(3, 1)]),
    ("partition_kth", lambda x: sb.partition(x, 2)[..., 2],
     lambda x: sort_ref(x)[..., 2], [distinct(3, 5)]),
    ("select", lambda x, y: sb.select([x > 0.5, x < -0.5], [x * y, sb.exp(x)], 0.25),
     lambda x, y: anp.where(x > 0.5, x * y, anp.where(x < -0.5, anp.exp(x), 0.25)),
     [np.array([[1.0, -1.0, 0.1], [0.9, -0.8, -0.2]]), r(3)]),
    ("take", lambda x: sb.take(x, [3, 0, 3, -1], axis=1),
     lambda x: x[:, np.array([3, 0, 3, -1])], [r(2, 4)]),
    ("take_flat", lambda x: sb.take(x, [[5, 0], [1, 1]]),
     lambda x: anp.ravel(x)[np.array([[5, 0], [1, 1]])], [r(2, 3)]),
    ("take_along_axis", lambda x: sb.take_along_axis(x, np.array([[0, 2, 2], [1, 0, 0]]), 1),
     lambda x: x[np.arange(2)[:, None], np.array([[0, 2, 2], [1, 0, 0]])], [r(2, 3)]),
    ("take_along_axis_bcast", lambda x: sb.take_along_axis(x, np.array([[1], [0]]), 1),
     lambda x: x[np.zeros((2, 1), dtype=int), np.array([[1], [0]])], [r(1, 3)]),
    # integer-array and mask indexing
    ("index_int_array", lambda x: x[[2, 0, 2]], lambda x: x[np.array([2, 0, 2])], [r(3, 2)]),
    ("index_columns", lambda x: x[:, [1, 1, 0]], lambda x: x[:, np.array([1, 1, 0])],
     [r(2, 3)]),
    ("index_two_arrays", lambda x: x[[0, 1, 1], [2, 0, 2]],
     lambda x: x[np.array([0, 1, 1]), np.array([2, 0, 2])], [r(2, 3)]),
    ("index_separated", lambda x: x[[0, 1], :, [2, 0]],
     lambda x: x[np.array([0, 1]), :, np.array([2, 0])], [r(2, 2, 3)]),
    ("index_int_and_array", lambda x: x[1, :, [0, 2]],
     lambda x: x[1, :, np.array([0, 2])], [r(2, 2, 3)]),
    ("index_slice_and_array", lambda x: x[1:, [0, 0]], lambda x: x[1:, np.array([0, 0])],
     [r(3, 2)]),
    ("index_mask", lambda x: x[np.array([[True, False, True], [False, True, True]])],
     lambda x: x[np.array([[True, False, True], [False, True, True]])], [r(2, 3)]),
    ("index_mask_rows", lambda x: x[np.array([True, False, True])],
     lambda x: x[np.array([True, False, True])], [r(3, 2)]),
    ("index_0d_array", lambda x: x[np.array(1)], lambda x: x[1], [r(2, 3)]),
    ("index_0d_arrays", lambda x: x[np.array(1), np.array(-1)], lambda x: x[1, -1], [r(2, 3)]),
    ("take_wrap", lambda x: sb.take(x, [4, -5, 1], axis=1, mode="wrap"),
     lambda x: x[:, np.array([4, -5, 1]) % 3], [r(2, 3)]),
    ("take_clip", lambda x: sb.take(x, [4, -5, 1], axis=1, mode="clip"),
     lambda x: x[:, np.array([2, 0, 1])], [r(2, 3)]),
    ("take_scalar", lambda x: sb.take(x, 2, axis=1), lambda x: x[:, 2], [r(2, 3)]),
    ("index_newaxis_array", lambda x: x[None, [1, 0]], lambda x: x[None, np.array([1, 0])],
     [r(2, 2)]),
]


@pytest.mark.parametrize("name,build,ref,values", CASES, ids=[c[0] for c in CASES])
def test_function_against_numpy_fd_and_autograd(name, build, ref, values):
    crosscheck(build, ref, values, what=name)


# --------------------------------------------------------------------------- int index inputs


def test_symbolic_int_index_gathers_and_scatters():
    """x[i] for an int64 input i: a gather; the gradient scatter-adds (repeats accumulate)."""
    E = sb.tensor("E", (5, 3))
    i = sb.tensor("i", (4,), dtype="int64")
    y = E[i]
    assert y.shape == (4, 3)
    Ev, iv = r(5, 3), np.array([3, 1, 3, -1])
    u = r(4, 3)
    g = sb.grad(sb.sum(y * u), E)
    got_y, got_g = sb.lambdify([E, i], [y, g])(Ev, iv)
    assert_close(got_y, Ev[iv], rtol=0, atol=0, what="gather")
    want = np.zeros((5, 3))
    np.add.at(want, iv, u)
    assert_close(got_g, want, rtol=1e-12, atol=1e-12, what="scatter-add")
    # the second derivative through the gather: d/dE of <grad, v> with a quadratic loss
    L = sb.sum(y ** 2 * u)
    v = r(5, 3)
    hv = sb.lambdify([E, i], sb.hvp(L, E, sb.const(v)))(Ev, iv)
    want_h = np.zeros((5, 3))
    np.add.at(want_h, iv, 2 * u * v[iv])
    assert_close(hv, want_h, rtol=1e-12, atol=1e-12, what="hvp through take")


def test_symbolic_int_index_mixed_with_ints_and_slices():
    x = sb.tensor("x", (3, 4, 5))
    i = sb.tensor("i", (2,), dtype="int64")
    X, I = r(3, 4, 5), np.array([3, 0])
    for build, want in [(lambda: x[0, :, i], X[0, :, I]), (lambda: x[:, 1, i], X[:, 1, I]),
                        (lambda: x[..., i], X[..., I]), (lambda: x[1:, i], X[1:, I])]:
        e = build()
        assert e.shape == want.shape
        assert_close(sb.lambdify([x, i], e)(X, I), want, rtol=0, atol=0, what=str(e))


def test_take_of_int_input_along_axis_and_embedding_shape():
    E = sb.tensor("E", (10, 4))
    tokens = sb.tensor("tokens", (2, 3), dtype="int64")
    h = sb.take(E, tokens, axis=0)
    assert h.shape == (2, 3, 4)
    Ev, tv = r(10, 4), RNG.integers(0, 10, size=(2, 3))
    assert_close(sb.lambdify([E, tokens], h)(Ev, tv), Ev[tv], rtol=0, atol=0, what="embedding")


def test_scatter_add_is_fast_path_bincount_with_repeats():
    from symback.numeric import scatter_add, scatter_add_along

    v = r(2, 6, 3)
    idx = np.array([[0, 4], [4, 4], [1, -1]])
    want = np.zeros((2, 5, 3))
    np.add.at(want, (slice(None), idx), v.reshape(2, 3, 2, 3))
    got = scatter_add(v.reshape(2, 3, 2, 3), idx, 1, 5)
    assert_close(got, want, rtol=1e-12, atol=1e-12, what="scatter_add")
    assert scatter_add(v.astype(np.float32), np.array([0, 1, 0, 1, 2, 0]), 1, 3).dtype == np.float32
    ia = np.array([[2, 2, 0]])
    va = r(3, 3)
    want2 = np.zeros((3, 3))
    np.add.at(want2, (np.arange(3)[:, None], np.broadcast_to(ia, (3, 3))), va)
    assert_close(scatter_add_along(va, ia, 1, (3, 3)), want2, rtol=1e-12, atol=1e-12,
                 what="scatter_add_along")


# --------------------------------------------------------------------------- kinks: ties


def test_sort_at_ties_sends_each_cotangent_to_one_entry_stably():
    """Equal entries: the stable permutation decides (first occurrence gets the first slot),
    so the gradient is a valid subgradient with no mass lost or doubled."""
    x = sb.tensor("x", (4,))
    w = np.array([1.0, 10.0, 100.0, 1000.0])
    g = sb.lambdify([x], sb.grad(sb.sum(sb.sort(x) * w), x))(np.array([2.0, 1.0, 2.0, 0.0]))
    # sorted order (stable): x3=0, x1=1, x0=2, x2=2
    assert_close(g, np.array([100.0, 10.0, 1000.0, 1.0]), rtol=0, atol=0, what="ties")


# --------------------------------------------------------------------------- creation


@pytest.mark.parametrize("build,want,text", [
    (lambda: sb.zeros(3), np.zeros(3), "zeros(3)"),
    (lambda: sb.zeros((2, 3)), np.zeros((2, 3)), "zeros((2, 3))"),
    (lambda: sb.ones(4), np.ones(4), "ones(4)"),
    (lambda: sb.ones((2, 2), dtype="float32"), np.ones((2, 2), np.float32),
     "ones((2, 2), dtype=float32)"),
    (lambda: sb.full((2, 3), 0.5), np.full((2, 3), 0.5), "full((2, 3), 0.5)"),
    (lambda: sb.full(3, 7), np.full(3, 7), "full(3, 7)"),
    (lambda: sb.eye(3), np.eye(3), "eye(3)"),
    (lambda: sb.arange(5), np.arange(5), "arange(5)"),
    (lambda: sb.arange(2, 7, 2), np.arange(2, 7, 2), "arange(2, 7, 2)"),
    (lambda: sb.arange(0.0, 1.0, 0.25), np.arange(0.0, 1.0, 0.25), "arange(0.0, 1.0, 0.25)"),
    (lambda: sb.linspace(0, 1, 5), np.linspace(0, 1, 5), "linspace(0.0, 1.0, 5)"),
    (lambda: sb.linspace(-1, 1, 4, endpoint=False), np.linspace(-1, 1, 4, endpoint=False),
     "linspace(-1.0, 1.0, 4, endpoint=False)"),
])
def test_creation_constants_print_nicely_parse_back_and_evaluate(build, want, text):
    e = build()
    assert str(e) == text
    assert sb.parse(text) is e
    assert e.shape == want.shape and e.dtype == str(want.dtype)
    got = sb.lambdify([], e)()
    assert_close(got, want, rtol=0, atol=0, what=text)


def test_creation_with_symbolic_sizes():
    x = sb.tensor("x", (2, "n"))
    z, o = sb.zeros((2, "n")), sb.ones_like(x)
    assert str(z) == "zeros((2, n))" and sb.parse("zeros((2, n))") is z
    assert str(sb.eye("n")) == "eye(n)" and sb.parse("eye(n)") is sb.eye("n")
    a = sb.arange("n")
    assert a.shape == ("n",) and str(a) == "arange(n)" and sb.parse("arange(n)") is a
    y = x * o + z + a + sb.linspace(0, 1, "n")
    X = r(2, 4)
    assert_close(sb.lambdify([x], y)(X), X + np.arange(4) + np.linspace(0, 1, 4), rtol=1e-15,
                 atol=0, what="symbolic sizes")
    assert sb.latex(sb.zeros(3)) == r"\mathbf{0}" and sb.latex(sb.ones(3)) == r"\mathbf{1}"


def test_like_functions_take_shape_and_dtype():
    x = sb.tensor("x", (2, 3), dtype="float32")
    assert sb.zeros_like(x).dtype == "float32" and sb.zeros_like(x).shape == (2, 3)
    assert sb.full_like(x, 2.0).dtype == "float32"
    assert sb.ones_like(x, dtype="float64").dtype == "float64"
    assert sb.zeros_like(x, shape=(4,)).shape == (4,)
    assert sb.full(2, True).dtype == "bool" and sb.full(2, 3).dtype == "int64"
    assert sb.eye(2, 3, k=1).shape == (2, 3)
    assert np.array_equal(sb.eye(2, 3, k=1).value, np.eye(2, 3, 1))


def test_creation_constants_have_zero_derivative_and_float32_promotes_like_numpy():
    x = sb.tensor("x", (3,))
    g = sb.grad(sb.sum(x * sb.arange(3) + sb.ones(3)), x)
    assert_close(sb.lambdify([x], g)(r(3)), np.arange(3.0), rtol=0, atol=0, what="grad")
    x32 = sb.tensor("y", (3,), dtype="float32")
    # without a dtype named, a constant array is weakly typed like a Python number (as in
    # JAX): it never upcasts float32; naming float64 gives NumPy's promotion
    assert (x32 * sb.ones(3)).dtype == "float32"
    assert (x32 * sb.ones(3, dtype="float64")).dtype == "float64"
    assert (x32 * sb.ones(3, dtype="float32")).dtype == "float32"


# --------------------------------------------------------------------------- astype


def test_astype_casts_and_passes_the_derivative_back_in_the_input_dtype():
    x = sb.tensor("x", (3,))
    y = x.astype("float32")
    assert y.dtype == "float32" and x.astype("float64") is x
    u = r(3)
    g = sb.grad(sb.sum(sb.astype(y, "float64") * u), x)
    assert g.dtype == "float64"
    X = r(3)
    assert_close(sb.lambdify([x], g)(X), u.astype(np.float32).astype(np.float64), rtol=0,
                 atol=0, what="astype grad")
    assert_close(sb.lambdify([x], y)(X), X.astype(np.float32), rtol=0, atol=0, what="astype")
    t = sb.jvp(sb.astype(y, "float64") * 2.0, x, sb.const(np.ones(3)))
    assert_close(sb.lambdify([x], t)(X), np.full(3, 2.0), rtol=0, atol=0, what="astype jvp")
    # a cast to int has derivative zero
    gi = sb.grad(sb.sum(sb.astype(x, "int64") * x), x)
    Xi = np.array([1.5, -2.5, 3.2])
    assert_close(sb.lambdify([x], gi)(Xi), Xi.astype(np.int64).astype(float), rtol=0, atol=0,
                 what="int cast")
    assert sb.parse("astype(x, float32)", {"x": (3,)}) is y


# --------------------------------------------------------------------------- Expr methods


def test_expr_methods_match_the_functions():
    x = sb.tensor("x", (2, 3, 1))
    assert x.reshape(3, 2) is sb.reshape(x, (3, 2)) is x.reshape((3, 2))
    assert x.ravel() is sb.ravel(x) is x.flatten()
    assert x.squeeze() is sb.squeeze(x) and x.squeeze(2) is sb.squeeze(x, 2)
    assert x.transpose() is x.T
    assert x.transpose(1, 0, 2) is sb.transpose(x, (1, 0, 2)) is x.transpose((1, 0, 2))
    assert x.swapaxes(0, 1) is sb.swapaxes(x, 0, 1)
    assert x.sum(axis=1) is sb.sum(x, axis=1) and x.mean() is sb.mean(x)
    assert x.take([1, 0], axis=1) is sb.take(x, [1, 0], axis=1)
    assert x.repeat(2, axis=0) is sb.repeat(x, 2, axis=0)
    v = sb.tensor("v", (3,))
    assert v.dot(v) is sb.dot(v, v)
    assert len(x) == 2
    with pytest.raises(TypeError, match="0-d"):
        len(sb.symbols("s"))
    with pytest.raises(TypeError, match="symbolic"):
        len(sb.tensor("w", ("n",)))


@pytest.mark.parametrize("method", ["max", "min", "prod", "var", "std", "cumsum", "clip"])
def test_expr_reduction_methods_call_the_public_functions(method):
    """.max() etc. call sb.max etc. (another family's functions), looked up when called."""
    x = sb.tensor("x", (2, 3))
    X = r(2, 3)
    if method == "clip":
        e, want = x.clip(-0.5, 0.5), np.clip(X, -0.5, 0.5)
    elif method == "cumsum":
        e, want = x.cumsum(axis=1), np.cumsum(X, axis=1)
    else:
        e, want = getattr(x, method)(axis=0), getattr(np, method)(X, axis=0)
    assert_close(sb.lambdify([x], e)(X), want, rtol=1e-12, atol=1e-12, what=method)


def test_expr_method_error_names_a_missing_function(monkeypatch):
    monkeypatch.delattr(sb, "ravel")
    with pytest.raises(sb.SymbackError, match="ravel"):
        sb.tensor("x", (2, 2)).ravel()


# --------------------------------------------------------------------------- printing, parsing


@pytest.mark.parametrize("text", [
    "x[0]", "x[1:, 0]", "x[:, ::2]", "x[::-1]", "x[-1:, 1:3]", "x[None,]",
    "take(x, array([0, 2, 2]), axis=1)", "x[[0, 2]]", "x[:, [1, 0]]",
    "take_along_axis(x, argsort(x, axis=1), axis=1)",
    "take_along_axis(x, argpartition(x, 1, axis=1), axis=1)",
    "scatter_add(x, array([0, 1, 1, 2]), axis=1, size=3)",
    "x.sum(axis=0)", "x.T.mean()", "x.reshape(4, 3)", "x.transpose()", "x.ravel()",
    "sort(x)", "flip(x, 0)", "roll(x, 1, axis=1)", "pad(x, 1)", "repeat(x, 2, axis=0)",
    "zeros((3, 4)) + x", "x * ones(4)", "arange(4) * x", "diff(x)", "tile(x, 2)",
])
def test_printed_forms_parse_back(text):
    shapes = {"x": (3, 4)}
    e = sb.parse(text, shapes)
    assert sb.parse(sb.to_text(e, exact=True), shapes) is e, str(e)


def test_gradients_of_gathers_print_and_parse_back():
    x = sb.tensor("x", (3, 4))
    for y in (sb.sum(x[[0, 2, 2]] ** 2), sb.sum(sb.sort(x) * sb.arange(4)),
              sb.sum(sb.pad(x, 1, mode="reflect") ** 2)):
        g = sb.grad(y, x)
        assert sb.parse(sb.to_text(g, exact=True), {"x": (3, 4)}) is g, str(g)
        assert sb.latex(g)  # prints


def test_parser_method_calls_are_whitelisted():
    with pytest.raises(sb.ParseError, match="attribute"):
        sb.parse("x.__class__()", {"x": (2,)})
    with pytest.raises(sb.ParseError, match="attribute"):
        sb.parse("x.tolist()", {"x": (2,)})
    with pytest.raises(sb.ParseError, match="unexpected keyword"):
        sb.parse("x.sum(axiz=0)", {"x": (2,)})


def test_latex_of_gathers():
    x = sb.tensor("x", (3, 4))
    i = sb.tensor("i", (2,), dtype="int64")
    assert sb.latex(x[i]) == "x_{i}"
    assert sb.latex(x[:, i]) == "x_{:, i}"
    assert r"\operatorname{argsort}" in sb.latex(sb.sort(x))


# --------------------------------------------------------------------------- errors


@pytest.mark.parametrize("build,etype,words", [
    (lambda x: x[x > 0], sb.SymbackError, ["mask", "depends on its values"]),
    (lambda x: x[[0, 5]], sb.ShapeError, ["out of bounds", "5"]),
    (lambda x: x[[0, 1], [0, 1, 2]], sb.ShapeError, ["broadcast"]),
    (lambda x: x[np.array([True, False, True])], sb.ShapeError, ["mask", "(3,)"]),
    (lambda x: x[np.array([0.5])], sb.SymbackError, ["ints or bools"]),
    (lambda x: sb.take(x, [1.5]), sb.SymbackError, ["take", "integers"]),
    (lambda x: sb.take(x, [7], axis=1), sb.ShapeError, ["take", "out of bounds"]),
    (lambda x: sb.take(x, [0], axis=2), sb.ShapeError, ["take", "axis 2"]),
    (lambda x: sb.take_along_axis(x, np.array([0, 1]), 1), sb.ShapeError,
     ["take_along_axis", "dimensions"]),
    (lambda x: sb.split(x, 3, axis=1), sb.ShapeError, ["split", "equal"]),
    (lambda x: sb.pad(x, 1, mode="wrap"), sb.SymbackError, ["pad", "wrap"]),
    (lambda x: sb.fliplr(x[0]), sb.ShapeError, ["fliplr", "two dimensions"]),
    (lambda x: sb.repeat(x, [1, 2], axis=1), sb.ShapeError, ["repeat", "counts"]),
    (lambda x: sb.moveaxis(x, 0, 5), sb.ShapeError, ["moveaxis", "out of range"]),
    (lambda x: sb.roll(sb.tensor("w", ("n",)), 1, axis=0), sb.ShapeError,
     ["roll", "symbolic"]),
    (lambda x: sb.zeros((2, 3), dtype="complex128"), sb.SymbackError, ["zeros", "complex"]),
    (lambda x: sb.full(2, 1j), sb.SymbackError, ["full", "complex"]),
    (lambda x: sb.arange(0, 1, 0), sb.SymbackError, ["arange", "step"]),
    (lambda x: sb.astype(x, "complex64"), sb.SymbackError, ["astype", "complex"]),
    (lambda x: sb.select([x], [x]), sb.SymbackError, ["select", "boolean"]),
    (lambda x: sb.partition(x, 9), sb.ShapeError, ["argpartition", "kth"]),
    (lambda x: sb.column_stack([x[0, 0], x[0]]), sb.ShapeError, ["column_stack", "0-d"]),
    (lambda x: sb.take(x, sb.tensor("i", (1,), dtype="int64"), axis=0, mode="clip"),
     sb.SymbackError, ["take", "constant indices"]),
    (lambda x: sb.take(x, [1], axis=0, mode="nearest"), sb.SymbackError, ["take", "mode"]),
    (lambda x: sb.sort(x, order="f"), sb.SymbackError, ["sort", "order"]),
    (lambda x: x.reshape(8, order="F"), sb.SymbackError, ["reshape", "order"]),
])
def test_errors_name_the_function_and_why(build, etype, words):
    x = sb.tensor("x", (2, 4))
    with pytest.raises(etype) as info:
        build(x)
    msg = str(info.value)
    for w in words:
        assert w in msg, f"{w!r} not in {msg!r}"


def test_docstring_examples_run():
    import doctest

    import symback.ops.creation
    import symback.ops.gather
    import symback.ops.join
    import symback.ops.layout

    for mod in (symback.ops.gather, symback.ops.creation, symback.ops.layout, symback.ops.join):
        result = doctest.testmod(mod)
        assert result.failed == 0 and result.attempted > 0, mod.__name__


def test_readme_shape_section_runs_and_prints_what_its_comments_say():
    (code,) = python_blocks(section("### Shape, structure, indexing and array creation"))
    printed = run_block(code, "shape section")
    expected = promised(code)
    assert expected and expected == [p.strip() for p in printed], (expected, printed)


def test_symbolic_sizes_gather_scatter_and_parse_back():
    E = sb.tensor("E", ("V", 4))
    g = sb.grad(sb.sum(E[[0, 1, 1]] ** 2), E)
    assert "size=V" in str(g) and sb.parse(sb.to_text(g, exact=True), {"E": ("V", 4)}) is g
    x = sb.tensor("x", (3, "n"))
    g2 = sb.grad(sb.sum(sb.sort(x, axis=0) ** 2), x)
    assert "shape=(3, n)" in str(g2) and sb.parse(sb.to_text(g2, exact=True), {"x": (3, "n")}) is g2
    Ev = r(6, 4)
    want = np.zeros((6, 4))
    np.add.at(want, [0, 1, 1], 2 * Ev[[0, 1, 1]])
    assert_close(sb.lambdify([E], g)(Ev), want, rtol=1e-12, atol=0, what="symbolic V")
    X = distinct(3, 5)
    assert_close(sb.lambdify([x], g2)(X), 2 * X, rtol=1e-12, atol=0, what="symbolic n")


@pytest.mark.parametrize("build", [
    lambda x: x[[0, 2, 2]], lambda x: sb.sort(x, axis=0), lambda x: sb.pad(x, 1, mode="reflect"),
    lambda x: sb.take_along_axis(x, np.array([[1], [0], [1]]), 1), lambda x: sb.roll(x, 1),
    lambda x: sb.tile(x, 2), lambda x: sb.repeat(x, [1, 0, 2], axis=0),
])
def test_jacobians_through_the_forward_rules(build):
    """sb.jacobian pushes tangents with batch axes through take/scatter rules: vs FD."""
    x = sb.tensor("x", (3, 2))
    X = distinct(3, 2)
    y = build(x)
    J = sb.lambdify([x], sb.jacobian(y, x))(X)
    f = sb.lambdify([x], y)
    fd = np.zeros(J.shape)
    for idx in np.ndindex(X.shape):
        d = np.zeros_like(X)
        d[idx] = 1e-6
        fd[(Ellipsis,) + idx] = (f(X + d) - f(X - d)) / 2e-6
    assert_close(J, fd, rtol=1e-6, atol=1e-8, what="jacobian")


def test_parse_reads_int_inputs_given_as_symbols():
    E = sb.tensor("E", (5, 3))
    i = sb.tensor("i", (4,), dtype="int64")
    g = sb.grad(sb.sum(E[i] ** 2), E)
    shapes = {"E": (5, 3), "i": i}
    assert sb.parse("E[i]", shapes) is E[i]
    assert sb.parse(sb.to_text(g, exact=True), shapes) is g


@pytest.mark.parametrize("name,build,ref,values", CASES, ids=[c[0] for c in CASES])
def test_every_case_and_its_gradient_print_and_parse_back(name, build, ref, values):
    syms = [sb.tensor(f"a{i}", np.shape(v)) for i, v in enumerate(values)]
    y = build(*syms)
    shapes = {s.name: s.shape for s in syms}
    for e in [y, *sb.grad(sb.sum(y * y), syms)]:
        assert sb.parse(sb.to_text(e, exact=True), shapes) is e, str(e)


def test_index_scatter_and_symbolic_shapes_print_as_the_parser_reads():
    y = sb.tensor("y", ("n", 3))
    g = sb.grad(sb.sum(y[:, 1]), y)
    assert sb.to_text(g, exact=True) == "index_scatter(ones(n), shape=(n, 3), index=s_[:, 1])"
    assert sb.parse(sb.to_text(g, exact=True), {"y": ("n", 3)}) is g
    r = sb.reshape(y, (3, "n"))
    assert str(r) == "reshape(y, (3, n))" and sb.parse(sb.to_text(r, exact=True), {"y": ("n", 3)}) is r
    with pytest.raises(sb.ParseError):
        sb.parse("s_[1] + y", {"y": ("n", 3)})
