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
    ref = {"ii->": anp.trace, "ii->i": lambda x: anp.diagonal(x, 0, -1, -2)}.get(spec, lambda *xs: anp.einsum(spec, *xs))
    crosscheck(lambda *xs: sb.einsum(spec, *xs), ref, vals, what=f"einsum {spec}")


def test_einsum_sublist_and_latex():
    A, B = sb.tensor("A", (2, 3)), sb.tensor("B", (3, 4))
    y = sb.einsum(A, [0, 1], B, [1, 2], [0, 2])
    assert y is sb.einsum("ab,bc->ac", A, B)
    assert sb.latex(sb.einsum("ij,jk->ik", A, B)) == r"\sum_{j} A_{ij} B_{jk}"
    assert sb.parse(str(y), {"A": (2, 3), "B": (3, 4)}) is y


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
