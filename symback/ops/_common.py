"""Small helpers shared by the op families (SymPy access, symbolic sizes in source, checks)."""

from __future__ import annotations

from typing import Any, Sequence

from ..errors import ShapeError
from ..graph import Expr
from ..notation import ATOM, Notation
from ..shapes import Dim, Shape, fmt
from .structural import expand_dims


def _sp() -> Any:
    import sympy

    return sympy


def _sp_dim(d: Dim) -> Any:
    return _sp().Symbol(d, integer=True, positive=True) if isinstance(d, str) else d


def _dims_of(attrs: dict[str, Any]) -> Any:
    """The codegen's renderer of symbolic sizes (identity when folding constants)."""
    return attrs.get("_dims") or (lambda d: d)


def _dim_src(d: Dim, attrs: dict[str, Any]) -> str:
    return str(d) if isinstance(d, int) else _dims_of(attrs)(d)


def _shape_src(shape: Shape, attrs: dict[str, Any]) -> str:
    parts = [_dim_src(d, attrs) for d in shape]
    return "(" + ", ".join(parts) + ("," if len(parts) == 1 else "") + ")"


def _same_dtype(args: Sequence[Expr], **kw: Any) -> str:
    return args[0].dtype if not args[0].weak else "float64"


def _trailing(e: Expr, n: int) -> Expr:
    """``e`` with ``n`` axes of length 1 appended (to meet a tangent's batch axes)."""
    return expand_dims(e, axis=tuple(range(e.ndim, e.ndim + n))) if n else e


def _square(name: str, shapes: tuple[Shape, ...], what: str = "a square matrix") -> Dim:
    xs = shapes[0]
    if len(xs) != 2 or xs[0] != xs[1]:
        raise ShapeError(f"{name}: expects {what}, got shape {fmt(xs)}", op=name, shapes=shapes)
    return xs[0]


def _fn(name: str) -> Notation:
    """``\\operatorname{tr}(X)``: a function of the whole matrix (braces escaped for format)."""
    return Notation(name.replace("{", "{{").replace("}", "}}") + "({0})", ATOM)


def _is_int(v: Any) -> bool:
    import numpy as np

    return isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_))
