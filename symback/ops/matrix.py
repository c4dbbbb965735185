"""Matrix functions (trace, det, inverse, ...). Not built yet (the higher-order issue)."""

from __future__ import annotations

from typing import Any


def _missing(name: str) -> Any:
    def fn(*args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(f"sb.{name} is not implemented yet")
    fn.__name__ = name
    fn.__doc__ = f"{name} (not implemented yet)"
    return fn


trace = _missing("trace")
det = _missing("det")
logdet = _missing("logdet")
inv = _missing("inv")
solve = _missing("solve")
diag = _missing("diag")
dot = _missing("dot")
reshape = _missing("reshape")
stack = _missing("stack")
concatenate = _missing("concatenate")
