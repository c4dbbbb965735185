"""Conversion to and from SymPy. Not built yet: it arrives with the printing issue."""

from __future__ import annotations

from typing import Any


def from_sympy(expr: Any, shapes: dict[str, Any] | None = None) -> Any:
    """Convert a SymPy expression to symback (not implemented yet)."""
    raise NotImplementedError("sb.from_sympy is not implemented yet")


def to_sympy(expr: Any) -> Any:
    """Convert a symback expression to SymPy (not implemented yet)."""
    raise NotImplementedError("sb.to_sympy is not implemented yet")
