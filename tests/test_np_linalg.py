"""Issue 11, contractions and linear algebra: every function against central differences
and autograd (value, gradient, JVP, HVP, float32) through tests/crosscheck.py."""

from __future__ import annotations

import autograd.numpy as anp
import numpy as np
import pytest
from crosscheck import crosscheck

import symback as sb

rng = np.random.default_rng(11)


def _r(*shape: int) -> np.ndarray:
    return rng.normal(size=shape)


def _spd(*shape: int) -> np.ndarray:
    """A well-conditioned symmetric positive-definite matrix (or a stack)."""
    a = rng.normal(size=shape)
    n = shape[-1]
    return a @ np.swapaxes(a, -1, -2) / n + np.eye(n)


def _sym_np(a):  # autograd-friendly symmetrisation
    return 0.5 * (a + anp.swapaxes(a, -1, -2))


def _sym_sb(a):
    return 0.5 * (a + sb.transpose(a, tuple(range(a.ndim - 2)) + (a.ndim - 1, a.ndim - 2)))


def _sep(*shape: int) -> np.ndarray:
    """A symmetric matrix with well-separated eigenvalues."""
    n = shape[-1]
    q, _ = np.linalg.qr(rng.normal(size=shape))
    w = np.arange(1, n + 1) * 1.5 + rng.uniform(0, 0.2, size=shape[:-1])
    return (q * w[..., None, :]) @ np.swapaxes(q, -1, -2)


# ---------------------------------------------------------------- contractions

MATMUL_SHAPES = [((2, 3), (3, 4)), ((3,), (3, 4)), ((2, 3), (3,)), ((5, 2, 3), (3, 4)),
                 ((2, 3), (5, 3, 4)), ((5, 1, 2, 3), (4, 3, 2)), ((3,), (5, 3, 2)),
                 ((5, 2, 3), (3,)), ((1, 2, 3), (4, 3, 1))]


@pytest.mark.parametrize("sa,sb_", MATMUL_SHAPES)
def test_matmul_batched(sa, sb_):
    crosscheck(lambda a, b: a @ b, lambda a, b: anp.matmul(a, b), [_r(*sa), _r(*sb_)],
               what=f"matmul {sa} {sb_}")


@pytest.mark.parametrize("spec,shapes", [
    ("ij,jk->ik", [(2, 3), (3, 4)]),
    ("ij,jk", [(2, 3), (3, 4)]),
    ("bij,bjk->bik", [(2, 3, 4), (2, 4, 2)]),
    ("...ij,...jk->...ik", [(2, 3, 4), (1, 4, 2)]),
    ("ii->", [(3, 3)]),
    ("ii->i", [(3, 3)]),
    ("ij->", [(2, 3)]),
    ("ij->ji", [(2, 3)]),
    ("i,i->", [(4,), (4,)]),
    ("i,j->ij", [(2,), (3,)]),
    ("ij,j->i", [(2, 3), (3,)]),
    ("ijk,jl,kl->il", [(2, 3, 4), (3, 5), (4, 5)]),
    ("bhqd,bhkd->bhqk", [(2, 2, 3, 4), (2, 2, 5, 4)]),
    ("ij,ij->ij", [(1, 3), (2, 3)]),
])
def test_einsum(spec, shapes):
    vals = [_r(*s) for s in shapes]
    # autograd's einsum cannot differentiate a repeated index: other references there
    ref = {"ii->": anp.trace, "ii->i": lambda x: anp.diagonal(x, 0, -1, -2)}.get(
        spec, lambda *xs: anp.einsum(spec, *xs))
    crosscheck(lambda *xs: sb.einsum(spec, *xs), ref, vals, what=f"einsum {spec}")


def test_einsum_sublist_and_latex():
    A, B = sb.tensor("A", (2, 3)), sb.tensor("B", (3, 4))
    y = sb.einsum(A, [0, 1], B, [1, 2], [0, 2])
    assert y is sb.einsum("ab,bc->ac", A, B)
    assert sb.latex(sb.einsum("ij,jk->ik", A, B)) == r"\sum_{j} A_{ij} B_{jk}"
    assert sb.parse(sb.to_text(y, exact=True), {"A": (2, 3), "B": (3, 4)}) is y


def test_einsum_errors():
    A = sb.tensor("A", (2, 3))
    with pytest.raises(sb.ShapeError, match="einsum"):
        sb.einsum("ij,jk->ik", A, A)
    with pytest.raises(sb.SymbackError, match="einsum"):
        sb.einsum("ij", A, A)
    with pytest.raises(sb.SymbackError, match="einsum"):
        sb.einsum("i$->i", A)


@pytest.mark.parametrize("sa,sb_", [((), (3,)), ((3,), (3,)), ((2, 3), (3,)), ((2, 3), (3, 4)),
                                    ((2, 3, 4), (5, 4, 2)), ((2, 3), (4, 3, 2)),
                                    ((4,), (2, 4, 3))])
def test_dot(sa, sb_):
    crosscheck(lambda a, b: sb.dot(a, b), lambda a, b: anp.dot(a, b), [_r(*sa), _r(*sb_)],
               what=f"dot {sa} {sb_}")


@pytest.mark.parametrize("sa,sb_", [((3,), (3,)), ((2, 3), (3,)), ((2, 3), (4, 3)),
                                    ((2, 1, 3), (4, 3)), ((), (2, 2))])
def test_inner(sa, sb_):
    crosscheck(lambda a, b: sb.inner(a, b), lambda a, b: anp.inner(a, b), [_r(*sa), _r(*sb_)],
               what=f"inner {sa} {sb_}")


@pytest.mark.parametrize("sa,sb_", [((3,), (2,)), ((2, 2), (3,)), ((1,), (4,))])
def test_outer(sa, sb_):
    # autograd's outer returns flattened gradients for N-D input: ravel in the reference
    crosscheck(lambda a, b: sb.outer(a, b), lambda a, b: anp.outer(anp.ravel(a), anp.ravel(b)),
               [_r(*sa), _r(*sb_)], what=f"outer {sa} {sb_}")
    assert sb.outer(sb.tensor("a", sa), sb.tensor("b", sb_)).shape == np.outer(
        np.ones(sa), np.ones(sb_)).shape


@pytest.mark.parametrize("sa,sb_", [((2, 3), (4, 5)), ((3,), (2,)), ((2, 2), (3,)),
                                    ((1, 2), (2, 1))])
def test_kron(sa, sb_):
    crosscheck(lambda a, b: sb.kron(a, b), lambda a, b: anp.kron(a, b), [_r(*sa), _r(*sb_)],
               what=f"kron {sa} {sb_}")


@pytest.mark.parametrize("sa,sb_", [((3,), (3,)), ((4, 3), (3,)), ((2, 1, 3), (4, 3))])
def test_cross(sa, sb_):
    # autograd's cross does not sum broadcast gradients back: broadcast explicitly there
    crosscheck(lambda a, b: sb.cross(a, b), lambda a, b: anp.cross(a + 0 * b, b + 0 * a),
               [_r(*sa), _r(*sb_)], what=f"cross {sa} {sb_}")


def test_cross_axis():
    crosscheck(lambda a, b: sb.cross(a, b, axis=0), lambda a, b: anp.cross(a, b, axis=0),
               [_r(3, 2), _r(3, 2)], what="cross axis=0")


@pytest.mark.parametrize("sa,sb_,axes", [((2, 3, 4), (3, 4, 5), 2), ((2, 3), (3, 2), 1),
                                         ((2, 3), (3, 2), ((0, 1), (1, 0))),
                                         ((3, 4), (4, 3), ([1], [0]))])
def test_tensordot(sa, sb_, axes):
    crosscheck(lambda a, b: sb.tensordot(a, b, axes), lambda a, b: anp.tensordot(a, b, axes),
               [_r(*sa), _r(*sb_)], what=f"tensordot {axes}")


# ---------------------------------------------------------------- linear algebra

L = sb.linalg


@pytest.mark.parametrize("shape", [(3, 3), (2, 3, 3), (1, 1)])
def test_cholesky(shape):
    crosscheck(lambda a: L.cholesky(_sym_sb(a)), lambda a: anp.linalg.cholesky(_sym_np(a)),
               [_spd(*shape)], what=f"cholesky {shape}")


def test_cholesky_latex_and_parse():
    K = sb.tensor("K", (3, 3))
    c = L.cholesky(K)
    assert sb.latex(c) == r"\operatorname{chol}(K)"
    assert sb.parse(sb.to_text(c, exact=True), {"K": (3, 3)}) is c
    with pytest.raises(sb.ShapeError, match="cholesky"):
        L.cholesky(sb.tensor("A", (2, 3)))


def _tri_ref(a, b, trans, lower, unit):
    t = anp.tril(a) if lower else anp.triu(a)
    if unit:
        t = t - anp.diag(anp.diag(t)) + anp.eye(a.shape[-1])
    if trans:
        t = anp.swapaxes(t, -1, -2)
    return anp.linalg.solve(t, b)


@pytest.mark.parametrize("trans", [0, 1])
@pytest.mark.parametrize("lower", [True, False])
@pytest.mark.parametrize("unit", [False, True])
@pytest.mark.parametrize("sa,sb_", [((3, 3), (3,)), ((3, 3), (3, 2))])
def test_solve_triangular(trans, lower, unit, sa, sb_):
    a = _r(*sa) + 3 * np.eye(sa[-1])
    crosscheck(lambda a, b: L.solve_triangular(a, b, trans=trans, lower=lower,
                                               unit_diagonal=unit),
               lambda a, b: _tri_ref(a, b, trans, lower, unit), [a, _r(*sb_)],
               what=f"solve_triangular {trans} {lower} {unit}")


def test_solve_triangular_matches_scipy():
    scipy_linalg = pytest.importorskip("scipy.linalg")
    a, b = _r(4, 4) + 3 * np.eye(4), _r(4, 2)
    A, B = sb.tensor("A", (4, 4)), sb.tensor("B", (4, 2))
    for trans in (0, 1, "T"):
        for lower in (True, False):
            got = sb.lambdify([A, B], L.solve_triangular(A, B, trans=trans, lower=lower))(a, b)
            want = scipy_linalg.solve_triangular(a, b, trans=trans, lower=lower)
            np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


def test_solve_triangular_batched():
    a = _r(2, 3, 3) + 3 * np.eye(3)
    crosscheck(lambda a, b: L.solve_triangular(a, b, lower=True),
               lambda a, b: _tri_ref(a, b, 0, True, False), [a, _r(2, 3, 2)],
               what="solve_triangular stack")


@pytest.mark.parametrize("lower", [True, False])
def test_cho_solve(lower):
    c = np.linalg.cholesky(_spd(3, 3))
    if not lower:
        c = np.ascontiguousarray(c.T)  # gradcheck.numeric_grad needs C order

    def ref(c, b):
        t = anp.tril(c) if lower else anp.triu(c)
        a = anp.dot(t, t.T) if lower else anp.dot(t.T, t)
        return anp.linalg.solve(a, b)
    crosscheck(lambda c, b: L.cho_solve((c, lower), b), ref, [c, _r(3, 2)],
               what=f"cho_solve lower={lower}")


@pytest.mark.parametrize("shape", [(3, 3), (2, 3, 3)])
def test_slogdet(shape):
    a = _r(*shape)
    crosscheck(lambda a: L.slogdet(a)[1], lambda a: anp.linalg.slogdet(a)[1], [a],
               what="slogdet logabsdet")
    # a negative determinant: logabsdet is right where logdet is NaN
    neg = np.diag([-2.0, 1.0, 3.0])
    X = sb.tensor("X", (3, 3))
    s, la = L.slogdet(X)
    f = sb.lambdify([X], [s, la, sb.logdet(X)])
    sv, lv, ld = f(neg)
    assert sv == -1.0 and np.isclose(lv, np.log(6.0)) and np.isnan(ld)


def test_slogdet_computes_once():
    X = sb.tensor("X", (3, 3))
    s, la = L.slogdet(X)
    src = sb.lambdify([X], [s, la]).source
    assert src.count("slogdet") == 1
    assert sb.latex(la) == r"\log \left|\det X\right|"
    assert sb.parse(sb.to_text(la, exact=True), {"X": (3, 3)}) is la
    assert sb.grad(s * la, X) is not None


@pytest.mark.parametrize("shape", [(3, 3), (2, 3, 3), (1, 1)])
def test_eigh(shape):
    a = _sep(*shape)
    crosscheck(lambda a: L.eigh(_sym_sb(a))[0], lambda a: anp.linalg.eigh(_sym_np(a))[0], [a],
               what="eigh w")
    # eigenvectors are defined up to sign: check a sign-invariant function of them
    crosscheck(lambda a: L.eigh(_sym_sb(a))[1] ** 2,
               lambda a: anp.linalg.eigh(_sym_np(a))[1] ** 2, [a], what="eigh v²")


def test_eigh_once():
    X = sb.tensor("X", (3, 3))
    w, v = L.eigh(X)
    src = sb.lambdify([X], [w, v]).source
    assert src.count("eigh") == 1
    assert sb.latex(w) == r"\lambda\left(X\right)"


@pytest.mark.parametrize("shape", [(3, 3), (2, 3, 3)])
def test_inv_det_batched(shape):
    a = _r(*shape) + 2 * np.eye(shape[-1])
    crosscheck(lambda a: sb.inv(a), lambda a: anp.linalg.inv(a), [a], what="inv")
    crosscheck(lambda a: sb.det(a), lambda a: anp.linalg.det(a), [a], what="det")
    crosscheck(lambda a: sb.logdet(a), lambda a: anp.linalg.slogdet(a)[1], [_spd(*shape)],
               what="logdet")


@pytest.mark.parametrize("sa,sb_", [((3, 3), (3,)), ((2, 3, 3), (2, 3, 2)), ((2, 3, 3), (3,)),
                                    ((2, 3, 3), (1, 3, 1))])
def test_solve_batched(sa, sb_):
    a = _r(*sa) + 3 * np.eye(sa[-1])
    def ref(a, b):  # autograd's solve predates NumPy 2's rule for a 1-D b with a stack
        if b.ndim == 1 and a.ndim > 2:
            return anp.linalg.solve(a, (b + 0 * a[..., 0])[..., None])[..., 0]
        return anp.linalg.solve(a, b + 0 * a[..., :1] if a.ndim > 2 else b)
    crosscheck(lambda a, b: sb.solve(a, b), ref, [a, _r(*sb_)], what=f"solve {sa} {sb_}")


def test_solve_triangular_stack_vector():
    a = _r(3, 3, 3) + 3 * np.eye(3)  # batch size = n: a vector b must not be read as a matrix
    crosscheck(lambda a, b: L.solve_triangular(a, b, lower=True),
               lambda a, b: _tri_ref(a, (b + 0 * a[..., 0])[..., None], 0, True, False)[..., 0],
               [a, _r(3)],
               what="solve_triangular stack, vector b")


# ---------------------------------------------------------------- norms

INF = np.inf


def _vnorm_ref(x, ord, axis):
    """Vector norms in autograd's primitives (its own norm lacks most gradients)."""
    a = anp.abs(x)
    if ord in (None, 2):
        return anp.sqrt(anp.sum(x * x, axis=axis))
    if ord == 1:
        return anp.sum(a, axis=axis)
    if ord == INF:
        return anp.max(a, axis=axis)
    if ord == -INF:
        return anp.min(a, axis=axis)
    return anp.sum(a ** ord, axis=axis) ** (1.0 / ord)


@pytest.mark.parametrize("ord", [None, 1, 2, INF, -INF, 3, 0.5])
@pytest.mark.parametrize("shape,axis", [((4,), None), ((3, 4), 1), ((3, 4), 0), ((1,), 0)])
def test_vector_norm(ord, shape, axis):
    if axis is None and ord is not None and len(shape) > 1:
        pytest.skip("matrix norm")
    x = _r(*shape) + 0.1 * np.sign(_r(*shape))  # no entry at 0, no ties
    crosscheck(lambda x: L.norm(x, ord=ord, axis=axis),
               lambda x: _vnorm_ref(x, ord, axis), [x],
               what=f"norm ord={ord} axis={axis}", second=ord not in (1, INF, -INF))


def test_norm_keepdims_and_all_axes():
    x = _r(2, 3, 4)
    crosscheck(lambda x: L.norm(x), lambda x: anp.sqrt(anp.sum(x * x)), [x], what="norm all")
    crosscheck(lambda x: L.norm(x, axis=1, keepdims=True),
               lambda x: anp.sqrt(anp.sum(x * x, axis=1, keepdims=True)), [x],
               what="norm keepdims")
    crosscheck(lambda x: L.vector_norm(x, axis=(0, 2)),
               lambda x: anp.sqrt(anp.sum(x * x, axis=(0, 2))), [x], what="vector_norm 2 axes")


@pytest.mark.parametrize("ord", ["fro", 1, -1, INF, -INF])
def test_matrix_norm(ord):
    x = _r(3, 4)
    ref = {"fro": lambda x: anp.sqrt(anp.sum(x * x)),
           1: lambda x: anp.max(anp.sum(anp.abs(x), axis=0)),
           -1: lambda x: anp.min(anp.sum(anp.abs(x), axis=0)),
           INF: lambda x: anp.max(anp.sum(anp.abs(x), axis=1)),
           -INF: lambda x: anp.min(anp.sum(anp.abs(x), axis=1))}[ord]
    crosscheck(lambda x: L.norm(x, ord=ord), ref, [x], what=f"matrix norm {ord}",
               second=ord == "fro")


@pytest.mark.parametrize("ord", ["nuc", 2, -2])
def test_matrix_norm_singular(ord):
    x = _r(3, 3) @ np.diag([3.0, 2.0, 1.0])
    def sv(x):
        return anp.linalg.svd(x, full_matrices=False)[1]
    ref = {"nuc": lambda x: anp.sum(sv(x)), 2: lambda x: anp.max(sv(x)),
           -2: lambda x: anp.min(sv(x))}[ord]
    crosscheck(lambda x: L.norm(x, ord=ord), ref, [x], what=f"matrix norm {ord}",
               second=ord == "nuc")


def test_norm_gradient_at_zero_is_zero():
    x = sb.tensor("x", (3,))
    for ord in (None, 1, 2, INF, -INF, 3):
        g = sb.lambdify([x], sb.grad(L.norm(x, ord=ord), x))(np.zeros(3))
        assert np.array_equal(g, np.zeros(3)), (ord, g)
    X = sb.tensor("X", (2, 2))
    g = sb.lambdify([X], sb.grad(L.norm(X, "fro"), X))(np.zeros((2, 2)))
    assert np.array_equal(g, np.zeros((2, 2)))


def test_norm_inf_ties_split_evenly():
    x = sb.tensor("x", (3,))
    g = sb.lambdify([x], sb.grad(L.norm(x, ord=INF), x))(np.array([2.0, -2.0, 1.0]))
    np.testing.assert_allclose(g, [0.5, -0.5, 0.0])


def test_norm_latex_parse_errors():
    x, X = sb.tensor("x", (3,)), sb.tensor("X", (3, 3))
    assert sb.latex(L.norm(x)) == r"\left\|x\right\|_{2}"
    assert sb.latex(L.norm(X)) == r"\left\|X\right\|_{F}"
    assert sb.latex(L.norm(x, INF)) == r"\left\|x\right\|_{\infty}"
    for e in (L.norm(x, 1), L.norm(x, INF), L.norm(X), L.norm(x, 3)):
        assert sb.parse(sb.to_text(e, exact=True), {"x": (3,), "X": (3, 3)}) is e
    assert sb.parse("linalg.norm(x, 1)", {"x": (3,)}) is L.norm(x, 1)
    with pytest.raises(sb.SymbackError, match="ord"):
        L.norm(x, ord=0)
    with pytest.raises(sb.SymbackError, match="matrix_norm"):
        L.norm(X, ord=3)


# ---------------------------------------------------------------- svd, qr, pinv, powers


@pytest.mark.parametrize("shape", [(3, 3), (4, 3), (3, 4), (2, 3, 2)])
def test_svd(shape):
    k = min(shape[-2:])
    x = _r(*shape)
    u0, s0, vh0 = np.linalg.svd(x, full_matrices=False)
    x = (u0 * (np.arange(k, 0, -1) * 1.5)) @ vh0  # well separated singular values
    crosscheck(lambda a: L.svd(a, full_matrices=False)[1],
               lambda a: anp.linalg.svd(a, full_matrices=False)[1], [x], what="svd s")
    # singular vectors up to sign: u ⊙ u and vh ⊙ vh are unique
    crosscheck(lambda a: L.svd(a, full_matrices=False)[0] ** 2,
               lambda a: anp.linalg.svd(a, full_matrices=False)[0] ** 2, [x], what="svd u²")
    crosscheck(lambda a: L.svd(a, full_matrices=False)[2] ** 2,
               lambda a: anp.linalg.svd(a, full_matrices=False)[2] ** 2, [x], what="svd vh²")


def test_svd_once_and_errors():
    X = sb.tensor("X", (4, 3))
    u, s, vh = L.svd(X, full_matrices=False)
    assert sb.lambdify([X], [u, s, vh]).source.count("svd") == 1
    with pytest.raises(sb.SymbackError, match="full_matrices"):
        L.svd(X)


def _qr_ref_r(a):
    """R of the reduced QR by Gram–Schmidt-free Cholesky: R = chol(AᵀA)ᵀ up to signs; the
    reference uses NumPy's signs through a fixed diagonal sign matrix."""
    return anp.linalg.cholesky(anp.dot(a.T, a)).T


@pytest.mark.parametrize("shape", [(3, 3), (4, 3)])
def test_qr(shape):
    x = _r(*shape)
    d = np.sign(np.diag(np.linalg.qr(x)[1]))  # NumPy's signs at this point (locally constant)
    crosscheck(lambda a: L.qr(a)[1], lambda a: d[:, None] * _qr_ref_r(a), [x], what="qr r",
               second=False)
    crosscheck(lambda a: L.qr(a)[0],
               lambda a: anp.dot(a, anp.linalg.inv(d[:, None] * _qr_ref_r(a))), [x],
               what="qr q", second=False)


@pytest.mark.parametrize("shape", [(3, 3), (4, 3), (3, 4)])
def test_pinv(shape):
    x = _r(*shape)

    def ref(a):  # full-rank pseudo-inverse written without pinv
        if a.shape[0] >= a.shape[1]:
            return anp.linalg.solve(anp.dot(a.T, a), a.T)
        return anp.linalg.solve(anp.dot(a, a.T), a).T
    crosscheck(lambda a: L.pinv(a), ref, [x], what=f"pinv {shape}")
    assert sb.latex(L.pinv(sb.tensor("A", shape))) == "A^{+}"


@pytest.mark.parametrize("n", [0, 1, 2, 3, 5, -1, -2])
def test_matrix_power(n):
    x = _r(3, 3) * 0.5 + 2 * np.eye(3)
    def ref(a):
        b = anp.linalg.inv(a) if n < 0 else a
        r = anp.eye(3) + 0.0 * a
        for _ in range(abs(n)):
            r = anp.dot(r, b)
        return r
    crosscheck(lambda a: L.matrix_power(a, n) + 0.0 * a, ref, [x], what=f"matrix_power {n}",
               float32=n != 0)


# ---------------------------------------------------------------- trace, diagonal, diag, tril


@pytest.mark.parametrize("offset,a1,a2,shape", [(0, 0, 1, (3, 3)), (1, 0, 1, (3, 4)),
                                                (-1, 0, 1, (4, 3)), (0, 1, 2, (2, 3, 3)),
                                                (1, -1, -2, (2, 3, 4)), (0, 0, 1, (3, 3, 2))])
def test_trace_diagonal(offset, a1, a2, shape):
    x = _r(*shape)
    k = np.diagonal(np.ones(shape), offset, a1, a2).shape[-1]

    def diag_ref(x):  # moved, sliced and read with einsum (autograd's diagonal is limited)
        m = anp.moveaxis(x, (a1, a2), (-2, -1))
        m = m[..., max(0, -offset):max(0, -offset) + k, max(0, offset):max(0, offset) + k]
        return anp.sum(m * anp.eye(k), axis=-1)
    crosscheck(lambda x: sb.trace(x, offset, a1, a2), lambda x: anp.sum(diag_ref(x), axis=-1),
               [x], what="trace")
    crosscheck(lambda x: sb.diagonal(x, offset, a1, a2), diag_ref, [x], what="diagonal")


@pytest.mark.parametrize("k", [0, 1, -2])
def test_diag_k(k):
    crosscheck(lambda v: sb.diag(v, k), lambda v: anp.diag(v, k), [_r(3)], what=f"diag {k}")
    crosscheck(lambda m: sb.diag(m, k), lambda m: anp.diag(m, k), [_r(4, 4)],
               what=f"diag of matrix {k}")


@pytest.mark.parametrize("k", [0, 1, -1])
@pytest.mark.parametrize("shape", [(3, 3), (2, 3, 4)])
def test_tril_triu(k, shape):
    x = _r(*shape)
    crosscheck(lambda x: sb.tril(x, k), lambda x: anp.tril(x, k), [x], what="tril")
    crosscheck(lambda x: sb.triu(x, k), lambda x: anp.triu(x, k), [x], what="triu")
    assert sb.linalg.tril is sb.tril
    e = sb.tril(sb.tensor("X", shape), k)
    assert sb.parse(sb.to_text(e, exact=True), {"X": shape}) is e


def test_linalg_trace_diagonal_use_last_axes():
    x = _r(2, 3, 3)
    crosscheck(lambda x: L.trace(x), lambda x: anp.sum(x * anp.eye(3), axis=(-2, -1)), [x],
               what="linalg.trace")
    crosscheck(lambda x: L.diagonal(x, 1), lambda x: anp.sum(x[..., :2, 1:] * anp.eye(2),
                                                             axis=-1), [x],
               what="linalg.diagonal")


# ---------------------------------------------------------------- Jacobians (batched tangents)

JACOBIANS = {
    "matmul stack": (lambda a: a @ a, lambda a: anp.matmul(a, a), lambda: _r(2, 3, 3)),
    "solve vector": (lambda a: sb.solve(a[0], a[1, :, 0]),
                     lambda a: anp.linalg.solve(a[0], a[1, :, 0]),
                     lambda: _r(2, 3, 3) + 3 * np.eye(3)),
    "solve_triangular vector": (lambda a: L.solve_triangular(a, a[0, 0], trans=1),
                                lambda a: _tri_ref(a, (a[0, 0] + 0 * a[..., 0])[..., None], 1,
                                                   False, False)[..., 0],
                                lambda: _r(2, 3, 3) + 3 * np.eye(3)),
    "matmul vec": (lambda a: sb.matmul(a[0], a), lambda a: anp.matmul(a[0], a),
                   lambda: _r(2, 3, 3)),
    "einsum": (lambda a: sb.einsum("bij,bjk->bik", a, a), lambda a: anp.einsum(
        "bij,bjk->bik", a, a), lambda: _r(2, 2, 2)),
    "cross": (lambda a: sb.cross(a, a[::-1]), lambda a: anp.cross(a, a[::-1]),
              lambda: _r(2, 3)),
    "tril": (lambda a: sb.tril(a, -1) * a, lambda a: anp.tril(a, -1) * a, lambda: _r(2, 3, 3)),
    "solve_triangular": (lambda a: L.solve_triangular(a, a[..., 0:1], lower=True),
                         lambda a: _tri_ref(a, a[..., 0:1], 0, True, False),
                         lambda: _r(2, 3, 3) + 3 * np.eye(3)),
    "cholesky": (lambda a: L.cholesky(_sym_sb(a)), lambda a: anp.linalg.cholesky(_sym_np(a)),
                 lambda: _spd(2, 3, 3)),
    "slogdet": (lambda a: L.slogdet(a)[1], lambda a: anp.linalg.slogdet(a)[1],
                lambda: _r(2, 3, 3)),
    "eigh": (lambda a: L.eigh(_sym_sb(a))[1] ** 2,
             lambda a: anp.linalg.eigh(_sym_np(a))[1] ** 2, lambda: _sep(2, 3, 3)),
    "svd": (lambda a: L.svd(a, full_matrices=False)[1],
            lambda a: anp.linalg.svd(a, full_matrices=False)[1], lambda: _sep(3, 3)),
    "inv": (lambda a: sb.inv(a), lambda a: anp.linalg.inv(a),
            lambda: _r(2, 3, 3) + 3 * np.eye(3)),
    "det": (lambda a: sb.det(a), lambda a: anp.linalg.det(a), lambda: _r(2, 3, 3)),
    "solve": (lambda a: sb.solve(a, a[..., 0:1]), lambda a: anp.linalg.solve(a, a[..., 0:1]),
              lambda: _r(2, 3, 3) + 3 * np.eye(3)),
    "norm": (lambda a: L.norm(a, axis=-1), lambda a: anp.sqrt(anp.sum(a * a, axis=-1)),
             lambda: _r(2, 3)),
    "pinv": (lambda a: L.pinv(a), lambda a: anp.linalg.solve(anp.dot(a.T, a), a.T),
             lambda: _r(4, 3)),
    "qr": (lambda a: L.qr(a)[1] ** 2, lambda a: anp.linalg.cholesky(anp.dot(a.T, a)).T ** 2,
           lambda: _r(4, 3)),
}


@pytest.mark.parametrize("name", sorted(JACOBIANS))
def test_jacobian_with_batched_tangents(name):
    """sb.jacobian pushes tangents with trailing batch axes (x.shape) through every rule."""
    autograd = pytest.importorskip("autograd")
    build, ref, point = JACOBIANS[name]
    x = point()
    X = sb.tensor("X", x.shape)
    got = sb.lambdify([X], sb.jacobian(build(X), X))(x)
    want = autograd.jacobian(ref)(x)
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-8, err_msg=name)


def test_norm_gradient_at_zero_float32_and_explain():
    x = sb.tensor("x", (3,), dtype="float32")
    for ord in (2, 3):
        g = sb.lambdify([x], sb.grad(L.norm(x, ord=ord), x))(np.zeros(3, np.float32))
        assert np.array_equal(g, np.zeros(3)), (ord, g)
    x64 = sb.tensor("x", (3,))
    assert "x" in str(sb.explain(L.norm(x64), x64))


def _round_trip_cases():
    A, B, x = sb.tensor("A", (3, 3)), sb.tensor("B", (3, 2)), sb.tensor("x", (3,))
    S = sb.tensor("S", (2, 3, 3))
    w, v = L.eigh(A)
    u, s, vh = L.svd(B, full_matrices=False)
    q, r = L.qr(B)
    return {"A": (3, 3), "B": (3, 2), "x": (3,), "S": (2, 3, 3)}, [
        S @ A, S @ x, sb.einsum("bij,jk->bik", S, B), sb.cross(x, x * 2.0), sb.tril(A, -1),
        sb.triu(S, 1), L.solve_triangular(A, B, trans=1, lower=True, unit_diagonal=True),
        L.cholesky(A), *L.slogdet(A), w, v, u, s, vh, q, r, L.norm(x, 3), L.norm(A, "fro"),
        L.norm(x, -np.inf), L.pinv(B), sb.inv(S), sb.det(S), sb.solve(S, B),
        w.args[0], u.args[0], q.args[0], L.slogdet(A)[0].args[0],
    ]


def test_text_round_trip_and_pickle():
    import pickle

    shapes, cases = _round_trip_cases()
    for e in cases:
        assert sb.parse(sb.to_text(e, exact=True), shapes) is e, str(e)
        assert pickle.loads(pickle.dumps(e)) is e, str(e)
        assert sb.latex(e)


def test_bad_input_errors_name_the_function():
    A, x = sb.tensor("A", (2, 3)), sb.tensor("x", (3,))
    for fn, exc, word in [
        (lambda: L.cholesky(A), sb.ShapeError, "cholesky"),
        (lambda: L.eigh(A), sb.ShapeError, "eigh"),
        (lambda: L.slogdet(A), sb.ShapeError, "slogdet"),
        (lambda: L.solve_triangular(sb.tensor("T", (3, 3)), A), sb.ShapeError,
         "solve_triangular"),
        (lambda: L.solve_triangular(sb.tensor("T", (3, 3)), x, trans=3), sb.SymbackError,
         "trans"),
        (lambda: L.cho_solve(A, x), sb.SymbackError, "cho_solve"),
        (lambda: L.qr(sb.tensor("W", (2, 3))), sb.ShapeError, "qr"),
        (lambda: L.matrix_power(A, 2), sb.ShapeError, "matrix_power"),
        (lambda: sb.tensor("S", (2, 3, 4)) @ sb.tensor("R", (3, 4, 2)), sb.ShapeError, "matmul"),
        (lambda: sb.kron(sb.tensor("n", ("n",)), x), sb.ShapeError, "kron"),
        (lambda: L.eigh(sb.tensor("E", (3, 3)), UPLO="U"), sb.SymbackError, "UPLO"),
    ]:
        with pytest.raises(exc, match=word):
            fn()


def test_einsum_sympy_forms():
    A, B = sb.tensor("A", (3, 3)), sb.tensor("B", (3, 3))
    assert sb.to_sympy(sb.einsum("ij,jk->ik", A, B)) == sb.to_sympy(A @ B)
    assert sb.to_sympy(sb.einsum("ij,kj->ik", A, B)) == sb.to_sympy(A @ B.T)
    assert sb.to_sympy(sb.einsum("ii->", A)) == sb.to_sympy(sb.trace(A))
    with pytest.raises(sb.SymbackError, match="einsum"):
        sb.to_sympy(sb.einsum("ij,jk->ki", A, B))


def test_numpy2_linalg_extras():
    crosscheck(lambda a, b: L.vecdot(a, b), lambda a, b: anp.sum(a * b, axis=-1),
               [_r(2, 3), _r(3)], what="vecdot")
    crosscheck(lambda a: L.matrix_transpose(a), lambda a: anp.swapaxes(a, -1, -2), [_r(2, 3, 4)],
               what="matrix_transpose")
    crosscheck(lambda a, b, c: L.multi_dot([a, b, c]),
               lambda a, b, c: anp.dot(anp.dot(a, b), c), [_r(3), _r(3, 4), _r(4, 2)],
               what="multi_dot")


@pytest.mark.parametrize("name", ["cholesky", "eigh", "svd", "slogdet", "norm", "solve_triangular",
                                  "qr", "pinv", "einsum", "matmul", "inv"])
def test_float32_gradients_stay_float32(name):
    K = sb.tensor("K", (2, 3, 3), dtype="float32")
    y = {"cholesky": lambda: L.cholesky(K), "eigh": lambda: L.eigh(K)[1],
         "svd": lambda: L.svd(K, full_matrices=False)[0], "slogdet": lambda: L.slogdet(K)[1],
         "norm": lambda: L.norm(K, axis=-1), "solve_triangular": lambda: L.solve_triangular(K, K),
         "qr": lambda: L.qr(K)[0], "pinv": lambda: L.pinv(K),
         "einsum": lambda: sb.einsum("bij,bjk->bik", K, K), "matmul": lambda: K @ K,
         "inv": lambda: sb.inv(K)}[name]()
    assert y.dtype == "float32"
    assert sb.grad(sb.sum(y), K).dtype == "float32"


def test_parser_reads_whitelisted_dotted_names_only():
    x = sb.tensor("x", (3,))
    assert sb.parse("linalg.norm(x, ord=1)", {"x": (3,)}) is L.norm(x, 1)
    assert sb.parse("nn.silu(x)", {"x": (3,)}) is sb.nn.silu(x)
    X, W = sb.tensor("X", (1, 2, 5, 5)), sb.tensor("W", (3, 2, 3, 3))
    c = sb.nn.conv(X, W)
    assert sb.parse(sb.to_text(c, exact=True), {"X": X.shape, "W": W.shape}) is c
    for text, where in [("linalg.__class__(x)", 0), ("linalg.nrom(x)", 0), ("os.system(x)", 2),
                        ("np.linalg.norm(x)", 2), ("linalg.norm.T(x)", 0)]:
        with pytest.raises(sb.ParseError) as info:
            sb.parse(text, {"x": (3,)})
        assert info.value.position >= where, (text, info.value)
    with pytest.raises(sb.ParseError, match="did you mean 'linalg.norm'"):
        sb.parse("linalg.nrom(x)", {"x": (3,)})


def test_einsum_views_keep_their_base_alive():
    """np.einsum('ij->ji') and ('ii->i') return views: the generated code must not reuse the
    operand's buffer (a fuzz case once read overwritten memory in float32)."""
    for dtype in ("float64", "float32"):
        x = sb.tensor("x", (2,), dtype=dtype)
        y = sb.einsum("ij->ji", sb.reshape(sb.where(x > 0.0, 0.5, x) * 2.0, (1, 2))) + 0.0
        got = sb.lambdify([x], [y, y * 3.0])(np.array([1.0, 2.0], dtype=dtype))
        np.testing.assert_allclose(got[0], [[1.0], [1.0]])
        np.testing.assert_allclose(got[1], [[3.0], [3.0]])
        X = sb.tensor("X", (3, 3), dtype=dtype)
        d = sb.einsum("ii->i", sb.exp(X))
        got = sb.lambdify([X], [d, sb.exp(X) * 2.0])(np.zeros((3, 3), dtype=dtype))
        np.testing.assert_allclose(got[0], np.ones(3))


def test_identity_in_derivatives_keeps_float32():
    """trace's VJP, einsum's repeated index and matrix_power(a, 0) build an identity: it takes
    the graph's float dtype, so float32 stays float32 (it was a float64 eye)."""
    x = sb.matrix("x", 3, 3, dtype="float32")
    xv = np.arange(9, dtype=np.float32).reshape(3, 3)
    for e in (sb.grad(sb.trace(x), x), sb.grad(sb.sum(sb.einsum("ii->i", x)), x),
              sb.linalg.matrix_power(x, 0)):
        assert e.dtype == "float32", e
        v = sb.lambdify([x], e)(xv)
        assert v.dtype == np.float32
        assert np.array_equal(v, np.eye(3, dtype=np.float32))
    assert sb.parse(sb.to_text(sb.eye("n", dtype="float32"), exact=True)) is \
        sb.eye("n", dtype="float32")
