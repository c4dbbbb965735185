"""Array creation: constants of a given shape (``eye``; NumPy's names and meanings).

These ops take no arguments; their values are known at build time but they are kept as
nodes (``fold=False``) so that printed gradients say ``I`` rather than a table of numbers.
"""

from __future__ import annotations

from typing import Any

from ..graph import Expr, Op
from ..notation import ATOM, Notation
from ..shapes import Dim, check_shape
from . import register
from ._common import _dim_src, _sp, _sp_dim

# ---------------------------------------------------------------- eye


def _eye_norm(args: tuple[Expr, ...], attrs: dict[str, Any]) -> dict[str, Any]:
    (n,) = check_shape((attrs["n"],), what="eye")
    return {"n": n}


eye_op = register(Op(
    "eye", 0, lambda shapes, *, n: (n, n),
    numpy=lambda args, kw: f"np.eye({_dim_src(kw['n'], kw)})", fold=False,
    forms={"xp": lambda args, kw: f"xp.eye({_dim_src(kw['n'], kw)}, dtype=xp.float64, "
                                  "device=_dev)"},
    normalize=_eye_norm, dtype=lambda args, **kw: "float64",
    extra={"identity": True},  # A I = A: matmul's simplify reads this
    text=Notation("eye({n})"), latex=Notation("I", ATOM),
    sympy=lambda *, n: _sp().Identity(_sp_dim(n)),
    doc="I, the n×n identity matrix (float64). Iᵢⱼ = δᵢⱼ.",
))


def eye(n: Dim) -> Expr:
    """The ``n``×``n`` identity matrix; ``n`` an int or a symbolic size."""
    return eye_op(n=n)
