"""Issue 11 specs for tests/test_ops.py: contractions and linear algebra (np-linalg).

Each entry builds one new op (named by the op) with an independent NumPy reference; the
domains keep the decompositions where they are differentiable (well-conditioned, symmetric
positive definite, separated eigenvalues / singular values).
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
from op_specs import OpSpec

import symback as sb

L = sb.linalg


def _spd(rng: np.random.Generator, shapes: Sequence[tuple[int, ...]]) -> list[np.ndarray]:
    out = []
    for s in shapes:
        a = rng.normal(size=s)
        out.append(a @ np.swapaxes(a, -1, -2) / s[-1] + np.eye(s[-1]))
    return out


def _dominant(rng: np.random.Generator, shapes: Sequence[tuple[int, ...]]) -> list[np.ndarray]:
    """A diagonally dominant first argument (well-conditioned triangles), the rest normal."""
    a = rng.normal(size=shapes[0]) * 0.3 + 2.0 * np.eye(*shapes[0][-2:])
    return [a] + [rng.normal(size=s) for s in shapes[1:]]


def _separated(rng: np.random.Generator, shapes: Sequence[tuple[int, ...]]) -> list[np.ndarray]:
    s = shapes[0]
    q, _ = np.linalg.qr(rng.normal(size=s[-2:] if s[-2] >= s[-1] else s[-2:][::-1]))
    k = min(s[-2:])
    d = np.arange(k, 0, -1) * 1.5
    if s[-2] >= s[-1]:
        return [q[:, :k] * d @ np.linalg.qr(rng.normal(size=(k, k)))[0]]
    return [(q[:, :k] * d @ np.linalg.qr(rng.normal(size=(k, k)))[0]).T]


def _sym_separated(rng: np.random.Generator, shapes: Sequence[tuple[int, ...]]
                   ) -> list[np.ndarray]:
    n = shapes[0][-1]
    q, _ = np.linalg.qr(rng.normal(size=(n, n)))
    return [q * (np.arange(1, n + 1) * 1.5 - 2.0) @ q.T]


def _sym(a: Any) -> Any:
    return 0.5 * (a + sb.transpose(a))


def _tri(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.linalg.solve(np.tril(a), b)


def _vnorm(x: np.ndarray, p: float) -> Any:
    return np.sum(np.abs(x) ** p) ** (1.0 / p)


SPECS_LINALG: list[OpSpec] = [
    OpSpec("einsum", lambda a, b: sb.einsum("ij,jk->ik", a, b),
           lambda a, b: np.einsum("ij,jk->ik", a, b), [((2, 3), (3, 4))]),
    OpSpec("einsum_batched", lambda a, b: sb.einsum("bij,bkj->bik", a, b),
           lambda a, b: np.einsum("bij,bkj->bik", a, b), [((2, 3, 4), (2, 2, 4))]),
    OpSpec("matmul_batched", lambda a, b: a @ b, np.matmul,
           [((2, 3, 4), (4, 2)), ((5, 1, 2, 3), (4, 3, 2)), ((3,), (2, 3, 4))]),
    OpSpec("cross", sb.cross, np.cross, [((3,), (3,)), ((2, 3), (3,))]),
    OpSpec("tril", lambda a: sb.tril(a, -1), lambda a: np.tril(a, -1), [((3, 3),), ((2, 3, 4),)]),
    OpSpec("triu", sb.triu, np.triu, [((3, 3),), ((3, 2),)]),
    OpSpec("solve_triangular", lambda a, b: L.solve_triangular(a, b, lower=True), _tri,
           [((3, 3), (3,)), ((3, 3), (3, 2))], _dominant, joint=True),
    OpSpec("cholesky", lambda a: L.cholesky(_sym(a)), lambda a: np.linalg.cholesky(0.5 * (a + a.T)),
           [((3, 3),), ((1, 1),)], _spd, joint=True),
    OpSpec("slogdet", lambda a: L.slogdet(a)[1], lambda a: np.linalg.slogdet(a)[1],
           [((3, 3),)], _dominant, joint=True),
    OpSpec("eigh", lambda a: L.eigh(_sym(a))[0], lambda a: np.linalg.eigvalsh(0.5 * (a + a.T)),
           [((3, 3),)], _sym_separated, joint=True),
    OpSpec("svd", lambda a: L.svd(a, full_matrices=False)[1],
           lambda a: np.linalg.svd(a, compute_uv=False), [((3, 3),), ((4, 2),)], _separated,
           joint=True),
    OpSpec("qr", lambda a: L.qr(a)[1] ** 2, lambda a: np.linalg.qr(a)[1] ** 2,
           [((3, 3),), ((4, 2),)], _dominant, joint=True),
    OpSpec("vector_norm", lambda x: L.norm(x), lambda x: np.sqrt(np.sum(x * x)),
           [((4,),), ((2, 3),)]),
    OpSpec("vector_norm_p3", lambda x: L.norm(x, 3, axis=-1), lambda x: np.sum(
        np.abs(x) ** 3, axis=-1) ** (1 / 3), [((4,),), ((2, 3),)]),
    OpSpec("pinv", L.pinv, np.linalg.pinv, [((3, 2),), ((2, 3),)]),
]
