"""``sb.linalg``: NumPy's ``numpy.linalg`` names (and scipy.linalg's ``solve_triangular``,
``cho_solve``) over symback expressions, batched over leading axes like NumPy.

Every function here builds registered ops (symback/ops/linalg.py, symback/ops/decomp.py,
symback/ops/contract.py); the parser reads them as ``linalg.norm(x)`` and so on.
"""

from __future__ import annotations

from .ops.contract import cross, matmul, matrix_transpose, multi_dot, tensordot, vecdot
from .ops.contract import outer_fn as outer
from .ops.decomp import (cholesky, eigh, eigh_packed, eigh_vectors, eigvalsh, logabsdet, qr,
                         qr_packed, qr_q, qr_r, slogdet, slogdet_packed, slogdet_sign, svd,
                         svd_packed, svd_u, svd_vh, svdvals)
from .ops.linalg import det, inv, logdet, matrix_power, pinv, solve
from .ops.linalg import linalg_diagonal as diagonal
from .ops.linalg import linalg_trace as trace
from .ops.norm import matrix_norm, norm, vector_norm
from .ops.triangular import cho_solve, solve_triangular, tril, triu

__all__ = [
    "cholesky", "cho_solve", "cross", "det", "diagonal", "eigh", "eigvalsh", "inv", "logdet",
    "matmul", "matrix_norm", "matrix_power", "norm", "outer", "pinv", "qr", "slogdet", "solve",
    "solve_triangular", "svd", "svdvals", "tensordot", "trace", "tril", "triu", "vector_norm",
    "matrix_transpose", "multi_dot", "vecdot",
    # the single results of the tuple-valued functions (their text forms)
    "eigh_vectors", "logabsdet", "qr_q", "qr_r", "slogdet_sign", "svd_u", "svd_vh",
    # the nodes that hold a tuple-valued function's results (their text forms)
    "eigh_packed", "qr_packed", "slogdet_packed", "svd_packed",
]
