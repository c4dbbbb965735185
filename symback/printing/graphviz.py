"""Graph pictures (DOT, Mermaid). Not built yet: it arrives with the printing issue."""

from __future__ import annotations

from typing import Any


def to_dot(*exprs: Any, **options: Any) -> str:
    """The graph as Graphviz DOT (not implemented yet)."""
    raise NotImplementedError("sb.to_dot is not implemented yet")


def to_mermaid(*exprs: Any, **options: Any) -> str:
    """The graph as Mermaid text (not implemented yet)."""
    raise NotImplementedError("sb.to_mermaid is not implemented yet")
