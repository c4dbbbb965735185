"""The op registry: importing this package registers every op once.

``REGISTRY`` maps an op's name to its :class:`~symback.graph.Op`. The reverse
pass, the printers, the parser and the code generator find everything they
need about an op here; none of them knows an op by name.
"""

from __future__ import annotations

from ..graph import _OPS, CONST, SYMBOL, Op

REGISTRY: dict[str, Op] = _OPS


def register(op: Op) -> Op:
    """Add ``op`` to the registry (names are unique)."""
    if op.name in REGISTRY and REGISTRY[op.name] is not op:
        raise ValueError(f"op {op.name!r} is registered twice")
    REGISTRY[op.name] = op
    return op


register(SYMBOL)
register(CONST)

# Each family registers its ops on import; order matters only for readability.
from . import (
    contract,  # noqa: E402,F401
    conv,  # noqa: E402,F401
    einsum,  # noqa: E402,F401
    creation,  # noqa: E402,F401
    decomp,  # noqa: E402,F401
    elementwise,  # noqa: E402,F401
    gather,  # noqa: E402,F401
    index,  # noqa: E402,F401
    layernorm,  # noqa: E402,F401
    linalg,  # noqa: E402,F401
    norm,  # noqa: E402,F401
    reduce,  # noqa: E402,F401
    shape,  # noqa: E402,F401
    structural,  # noqa: E402,F401
    triangular,  # noqa: E402,F401
)
from . import special, stats, ufuncs  # noqa: E402,F401  (issue 11: the NumPy surface)


def describe() -> str:
    """A Markdown table of every registered op and its maths (forward form and VJP)."""
    rows = ["| op | definition and derivative (ȳ the upstream gradient) |", "| --- | --- |"]
    for name, op in REGISTRY.items():
        doc = " ".join(op.doc.split()).replace("|", "\\|")
        rows.append(f"| `{name}` | {doc} |")
    return "\n".join(rows)
