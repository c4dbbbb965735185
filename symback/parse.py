"""Parsing text into expressions (its own grammar; never eval).

Not built yet: it arrives with the printing issue.
"""

from __future__ import annotations

from typing import Any


def parse(text: str, shapes: dict[str, Any] | None = None) -> Any:
    """Parse ``text`` into an expression (not implemented yet)."""
    raise NotImplementedError("sb.parse is not implemented yet")
