"""Step-by-step chain rule. Not built yet: it arrives with the printing issue."""

from __future__ import annotations

from typing import Any


def explain(y: Any, wrt: Any, at: dict[str, Any] | None = None) -> Any:
    """The chain rule step by step (not implemented yet)."""
    raise NotImplementedError("sb.explain is not implemented yet")
