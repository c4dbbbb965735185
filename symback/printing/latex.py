"""LaTeX in matrix notation. Not built yet: it arrives with the printing issue."""

from __future__ import annotations

from typing import Any


def latex(expr: Any, **options: Any) -> str:
    """LaTeX of an expression (not implemented yet)."""
    raise NotImplementedError("sb.latex is not implemented yet")
