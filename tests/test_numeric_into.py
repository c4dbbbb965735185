"""The buffer-writing helpers the generated code calls (symback/numeric.py), against NumPy
written out by hand: softmax_into (one shift by the array's maximum, checked by the row sums,
else row maxima by halving; row sums by a BLAS product), matmul_into (a contiguous copy of
transposed matrices) and where_into's scalar-fill path."""

from __future__ import annotations

import numpy as np
import pytest

from symback import numeric


def ref_softmax(x, axis):
    m = np.max(x, axis=axis, keepdims=True)
    e = np.exp(x - m)
    return e / np.sum(e, axis=axis, keepdims=True)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("shape", [(3, 1), (2, 5), (4, 3, 7), (2, 4, 32, 32), (3, 33)])
def test_softmax_into_equals_the_textbook_formula(dtype, shape):
    x = (np.random.default_rng(0).standard_normal(shape) * 5).astype(dtype)
    out = np.empty_like(x)
    got = numeric.softmax_into(x, -1, out)
    assert got is out and got.dtype == np.dtype(dtype)
    np.testing.assert_allclose(got, ref_softmax(x.astype(np.float64), -1),
                               rtol=1e-5 if dtype == "float32" else 1e-13, atol=1e-7)
    assert np.array_equal(numeric._row_max(x), np.max(x, axis=-1, keepdims=True))


def test_softmax_into_masked_rows_and_other_axes():
    x = np.random.default_rng(1).standard_normal((2, 6, 6))
    x = np.where(np.tri(6, dtype=bool), x, -np.inf)
    x[0, 0, 0] = 1e300  # a huge entry: shifted, no overflow
    got = numeric.softmax_into(x, 2, np.empty_like(x))
    assert np.all(np.isfinite(got)) and np.allclose(got.sum(-1), 1.0)
    assert got[0, 0, 0] == 1.0 and np.all(got[:, 2, 3:] == 0)
    # a row of -inf only is NaN, as the unbuffered softmax
    x[1, 3, :] = -np.inf
    with np.errstate(invalid="ignore"):
        got = numeric.softmax_into(x, -1, np.empty_like(x))
        want = numeric.softmax(x, axis=-1)
    assert np.all(np.isnan(got[1, 3]))
    np.testing.assert_allclose(got, want, rtol=1e-14)  # NaN where NaN
    # another axis: the generic path
    np.testing.assert_allclose(numeric.softmax_into(x[0], 0, np.empty((6, 6))),
                               ref_softmax(x[0], 0))


def test_matmul_into_with_a_transposed_matrix():
    rng = np.random.default_rng(2)
    a, w = rng.standard_normal((3, 4, 5)), rng.standard_normal((6, 5))
    out = np.empty((3, 4, 6))
    assert numeric.matmul_into(a, w.T, out) is out
    np.testing.assert_allclose(out, np.einsum("bik,jk->bij", a, w), rtol=1e-13)
    m = rng.standard_normal((4, 5))
    np.testing.assert_allclose(numeric.matmul_into(m, w.T, np.empty((4, 6))), m @ w.T)


@pytest.mark.parametrize("fill", [-np.inf, np.float64(-np.inf), 2.5])
def test_where_into_scalar_fill(fill):
    rng = np.random.default_rng(3)
    a = rng.standard_normal((2, 5, 5)).astype(np.float32)
    c = np.tri(5, dtype=bool)
    want = np.where(c, a, np.float32(fill))
    out = np.empty_like(a)
    np.testing.assert_array_equal(numeric.where_into(c, a, fill, out), want)
    b = a.copy()
    np.testing.assert_array_equal(numeric.where_into(c, b, fill, b), want)  # in place


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("shape,axis,keepdims", [((4, 48), 1, True), ((2, 3, 32), 2, False),
                                                 ((3, 300), 1, True), ((5, 7), 0, True),
                                                 ((2, 4, 6), 1, False)])
def test_sum_last_into_equals_numpy_sum(dtype, shape, axis, keepdims):
    x = np.random.default_rng(4).standard_normal(shape).astype(dtype)
    want = np.sum(x.astype(np.float64), axis=axis, keepdims=keepdims)
    out = np.empty(want.shape, dtype=dtype)
    got = numeric.sum_last_into(x, axis, keepdims, out)
    assert got is out
    np.testing.assert_allclose(got, want, rtol=1e-5 if dtype == "float32" else 1e-13,
                               atol=1e-5 if dtype == "float32" else 1e-13)
    # a strided view (every other column) and non-finite entries
    xs = np.random.default_rng(5).standard_normal((3, 20)).astype(dtype)[:, ::2]
    xs[0, 1], xs[1, 2] = np.inf, np.nan  # (writes through the view)
    got = numeric.sum_last_into(xs, 1, True, np.empty((3, 1), dtype=dtype))
    assert got[0, 0] == np.inf and np.isnan(got[1, 0])
    np.testing.assert_allclose(got[2], xs[2].sum(keepdims=True), rtol=1e-5)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_softmax_into_one_shift_masked_and_far_rows(dtype, monkeypatch):
    """The one-shift path (the array's maximum) against the textbook formula (row maxima,
    in float64): causal masks give exact zeros; a row whose maximum is far below the
    array's (here by 1000, and by 25 where e^{-25} < the e^{-20} check) is recomputed
    with its own shift, keeping its tiny entries' digits; NaN and inf rows as before."""
    rng = np.random.default_rng(5)
    x = (3 * rng.standard_normal((3, 4, 32, 32))).astype(dtype)
    x = np.where(np.tri(32, dtype=bool), x, -np.inf).astype(dtype)
    calls = []
    row_max = numeric._row_max
    monkeypatch.setattr(numeric, "_row_max", lambda a: calls.append(1) or row_max(a))
    got = numeric.softmax_into(x, -1, np.empty_like(x))
    assert not calls  # one shift
    want = ref_softmax(x.astype(np.float64), -1)
    rtol = 1e-5 if dtype == "float32" else 1e-13
    np.testing.assert_allclose(got, want, rtol=rtol, atol=0)
    assert np.all(got[..., ~np.tri(32, dtype=bool)] == 0)  # masked: exactly zero
    for shift in (1000.0, 25.0):
        y = x.copy()
        y[1, 2, 5] -= shift
        y[0, 0, 7, :8] = [0, -60, -70, -80, -90, -100, -110, -120]  # tiny entries
        calls.clear()
        got = numeric.softmax_into(y, -1, np.empty_like(y))
        assert calls  # a row far below the maximum: the rows' own shifts
        np.testing.assert_allclose(got, ref_softmax(y.astype(np.float64), -1), rtol=rtol,
                                   atol=0 if dtype == "float64" else 1e-45)
    z = x.copy()
    z[2, 3, 4, 0] = np.nan
    with np.errstate(invalid="ignore"):
        got = numeric.softmax_into(z, -1, np.empty_like(z))
        want = numeric.softmax(z, axis=-1)
    assert np.all(np.isnan(got[2, 3, 4])) and not np.isnan(got[0]).any()
    np.testing.assert_allclose(got, want, rtol=rtol)  # NaN where NaN
    z[2, 3, 4, 0] = np.inf
    with np.errstate(invalid="ignore"):
        got = numeric.softmax_into(z, -1, np.empty_like(z))
        want = numeric.softmax(z, axis=-1)
    np.testing.assert_allclose(got, want, rtol=rtol)
    big = x.copy()
    big[0, 0, 3, 0] = 1e30  # one huge score: every other row falls far below it
    got = numeric.softmax_into(big, -1, np.empty_like(big))
    np.testing.assert_allclose(got, ref_softmax(big.astype(np.float64), -1), rtol=rtol, atol=0)


def test_softmax_into_compiled_causal_attention_gradient():
    """softmax of masked scores inside generated code (buffers on): value and gradient
    against the hand-derived formulas p = softmax, x̄ = p ⊙ (ḡ - Σ ḡ ⊙ p)."""
    import symback as sb

    rng = np.random.default_rng(6)
    x = sb.tensor("x", (2, 3, 8, 8))
    c = sb.tensor("c", (2, 3, 8, 8))
    mask = np.tri(8, dtype=bool)
    p = sb.softmax(sb.where(mask, x, -np.inf), axis=-1)
    step = sb.value_and_grad(sb.sum(p * c), [x], args=[x, c])
    xv, cv = rng.standard_normal((2, 3, 8, 8)), rng.standard_normal((2, 3, 8, 8))
    val, (g,) = step(xv, cv)
    pv = ref_softmax(np.where(mask, xv, -np.inf), -1)
    assert float(val) == pytest.approx(float(np.sum(pv * cv)), rel=1e-13)
    want = pv * (cv - np.sum(cv * pv, axis=-1, keepdims=True))
    np.testing.assert_allclose(g, want, rtol=1e-12, atol=1e-15)
    assert np.all(g[..., ~mask] == 0)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_matmul_into_stacks_of_transposed_matrices(dtype):
    """Attention's layouts (heads split from (B, L, H·d) by views): Q Kᵀ with Kᵀ a
    column-major view (copied first), P V and Pᵀ dO with strided views, against einsum."""
    rng = np.random.default_rng(7)
    q, k = (rng.standard_normal((3, 8, 2, 5)).astype(dtype) for _ in range(2))
    p = rng.random((3, 2, 8, 8)).astype(dtype)
    Q, KT = np.transpose(q, (0, 2, 1, 3)), np.transpose(k, (0, 2, 3, 1))
    out = np.empty((3, 2, 8, 8), dtype)
    assert numeric.matmul_into(Q, KT, out) is out
    tol = 1e-5 if dtype == "float32" else 1e-13
    np.testing.assert_allclose(out, np.einsum("bihk,bjhk->bhij", q, k), rtol=tol, atol=tol)
    o2 = np.empty((3, 2, 8, 5), dtype)
    np.testing.assert_allclose(numeric.matmul_into(p, np.transpose(k, (0, 2, 1, 3)), o2),
                               np.einsum("bhij,bjhk->bhik", p, k), rtol=tol, atol=tol)
    np.testing.assert_allclose(numeric.matmul_into(np.transpose(p, (0, 1, 3, 2)), Q, o2),
                               np.einsum("bhji,bjhk->bhik", p, q), rtol=tol, atol=tol)
    w = rng.standard_normal((10, 7)).astype(dtype)[::2, 1:]  # a strided 2-D matrix
    x = rng.standard_normal((3, 4, 5)).astype(dtype)
    np.testing.assert_allclose(numeric.matmul_into(x, w, np.empty((3, 4, 6), dtype)),
                               np.einsum("bik,kj->bij", x, w), rtol=tol, atol=tol)


@pytest.mark.parametrize("scale", [1.0, 12.0])
def test_causal_multi_head_attention_gradient_against_finite_differences(scale):
    """Causal multi-head self-attention compiled with buffers (softmax_into on masked
    scores, matmul_into on transposed head stacks): every entry of ∂J/∂x and ∂J/∂W_q against
    central differences of the compiled value. scale 12 spreads the scores so far that rows
    fall > 20 below the global maximum (softmax_into's fallback to row shifts)."""
    import symback as sb

    rng = np.random.default_rng(11)
    X = sb.tensor("x", (2, 5, 4))
    Ws = [sb.matrix(n, 4, 4) for n in ("wq", "wk", "wv", "wo")]
    U = sb.tensor("u", (2, 5, 4))
    J = sb.sum(sb.nn.multi_head_attention(X, *Ws, num_heads=2, is_causal=True) * U)
    args = [X, *Ws, U]
    step = sb.value_and_grad(J, [X, Ws[0]], args=args)
    f = sb.lambdify(args, J)
    vals = [scale * rng.standard_normal((2, 5, 4))] + [rng.standard_normal((4, 4))
                                                        for _ in range(4)]
    vals.append(rng.standard_normal((2, 5, 4)))
    val, grads = step(*vals)
    assert float(val) == pytest.approx(float(f(*vals)), rel=1e-13)
    h = 1e-6 * scale
    for i, g in zip((0, 1), grads):
        fd = np.empty_like(vals[i])
        for idx in np.ndindex(vals[i].shape):
            vp = [v.copy() for v in vals]
            vm = [v.copy() for v in vals]
            vp[i][idx] += h
            vm[i][idx] -= h
            fd[idx] = (float(f(*vp)) - float(f(*vm))) / (2 * h)
        np.testing.assert_allclose(g, fd, rtol=1e-6, atol=1e-6 * max(1.0, np.abs(fd).max()))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_softmax_into_rows_near_opposite_ends_of_the_range_raise_nothing(dtype):
    """One row near +max, one near -max: x - M overflows the one shift, so the row shifts
    are taken; no overflow is reported (the textbook row-shifted formula reports none), also
    under np.errstate(over="raise"). Reference: the rows shifted by their own maxima by hand
    (e^{-max/2} underflows to 0 in either)."""
    big = 0.9 * np.finfo(dtype).max
    x = np.array([[big, big, big], [-big, -big / 2, -big]], dtype=dtype)
    with np.errstate(over="raise", invalid="raise"):
        got = numeric.softmax_into(x, -1, np.empty_like(x))
    want = np.array([[1 / 3, 1 / 3, 1 / 3], [0.0, 1.0, 0.0]])
    np.testing.assert_allclose(got, want, rtol=4 * np.finfo(dtype).eps, atol=0)


@pytest.mark.parametrize("dtype", ["float32", "float64", "int64"])
@pytest.mark.parametrize("shape,k", [((512, 48), 1), ((16, 32, 48), 2), ((16, 48, 192), 1),
                                      ((4, 5, 6, 7), 3), ((3, 2), 1), ((7, 9), 2),
                                      ((1, 80), 1)])
@pytest.mark.parametrize("keepdims", [False, True])
def test_sum_lead_equals_exact_column_sums(dtype, shape, k, keepdims):
    """sum_lead (the sum op's NumPy form over leading axes: 1ᵀ X by BLAS) against exactly
    rounded column sums (math.fsum), within the row-by-row sum's error bound."""
    import math

    from symback.ops.reduce import sum_lead

    rng = np.random.default_rng(5)
    x = (rng.standard_normal(shape) * 3).astype(dtype) if dtype != "int64" \
        else rng.integers(-9, 9, shape)
    m = int(np.prod(shape[:k]))
    cols = x.reshape(m, -1).astype(np.float64)
    want = np.array([math.fsum(c) for c in cols.T]).reshape(
        ((1,) * k if keepdims else ()) + shape[k:])
    got = sum_lead(x, k, keepdims)
    assert got.shape == want.shape and got.dtype == x.dtype
    eps = np.finfo(dtype).eps if dtype != "int64" else 0.0
    bound = (m * eps * np.abs(cols).sum(axis=0)).reshape(want.shape)
    assert np.all(np.abs(got - want) <= bound + 1e-300)
    out = np.empty(want.shape, x.dtype)
    assert sum_lead(x, k, keepdims, out) is out
    np.testing.assert_array_equal(out, got)
    # a view (not contiguous) and a sum over every axis take np.add.reduce: the same numbers
    xt = x[..., ::2]
    assert not xt.flags.c_contiguous
    np.testing.assert_array_equal(sum_lead(xt, k, False),
                                  np.add.reduce(xt, axis=tuple(range(k))))
    assert sum_lead(x, x.ndim, False) == np.add.reduce(x, axis=tuple(range(x.ndim)))


def test_sum_lead_in_compiled_gradients_of_a_batched_layer():
    """γ̄ = Σ_{b,t} ȳ ⊙ x and β̄ = Σ_{b,t} ȳ of y = x ⊙ γ + β over (B, T, d), compiled (the
    generated code sums the leading axes with sum_lead), against NumPy by hand."""
    import symback as sb

    x = sb.tensor("x", (6, 5, 8))
    g, b = sb.vector("g", 8), sb.vector("b", 8)
    y = sb.tanh(x * g + b)
    f = sb.value_and_grad(sb.sum(y * y), [g, b], args=[x, g, b])
    assert "sum_lead(" in f.source
    rng = np.random.default_rng(6)
    xv, gv, bv = rng.standard_normal((6, 5, 8)), rng.standard_normal(8), rng.standard_normal(8)
    _, (dg, db) = f(xv, gv, bv)
    t = np.tanh(xv * gv + bv)
    ybar = 2 * t * (1 - t * t)
    np.testing.assert_allclose(dg, (ybar * xv).sum(axis=(0, 1)), rtol=1e-12)
    np.testing.assert_allclose(db, ybar.sum(axis=(0, 1)), rtol=1e-12)
