"""Precedence numbers and the :class:`Notation` record shared by ops and printers.

A printer renders each argument, then wraps it in parentheses when the
argument's precedence is lower than what its slot asks for. Nothing in a
printer looks at rendered strings; the numbers decide.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Union

# Higher binds tighter.
LOWEST = 0
CMP = 10  # a > b
ADD = 20  # a + b, a - b
MUL = 30  # a * b, a / b, a @ b, juxtaposition
JUXT = 32  # LaTeX matrix product by juxtaposition (X W): binds tighter than \odot
NEG = 40  # -a
POW = 50  # a ** b
POSTFIX = 60  # a.T, X^{T}
ATOM = 100  # names, numbers, f(...)

Template = Union[str, Callable[[list[str], dict[str, Any]], str]]


@dataclass(frozen=True)
class Notation:
    """How one op prints in one target language.

    ``template`` is a ``str.format`` pattern over the rendered arguments
    (``{0}``, ``{1}``, ...) and the op's attributes by name, or a function
    ``(args, attrs) -> str``. ``prec`` is the precedence of the result;
    ``arg_prec`` the minimum precedence each argument needs to go in without
    parentheses (one number applies to every argument).
    """

    template: Template
    prec: int = ATOM
    arg_prec: int | tuple[int, ...] = LOWEST
    #: ``select(node) -> Notation``: a notation that depends on the node's data
    #: (argument shapes, constant values), e.g. ``\odot`` or juxtaposition for ``mul``.
    #: Printers that honour it call it; others use ``template``.
    select: Callable[[Any], "Notation"] | None = None
    #: Print as argument 0 with argument 0's own precedence (broadcast_to, squeeze).
    transparent: bool = False

    def resolve(self, node: Any) -> "Notation":
        """The notation for ``node``: ``select(node)`` when set (applied until it settles)."""
        note = self
        for _ in range(8):
            if note.select is None:
                break
            nxt = note.select(node)
            if nxt is note:
                break
            note = nxt
        return note

    def slot(self, i: int) -> int:
        """The minimum precedence argument ``i`` needs to go in without parentheses."""
        if isinstance(self.arg_prec, int):
            return self.arg_prec
        return self.arg_prec[i] if i < len(self.arg_prec) else self.arg_prec[-1]

    def render(self, args: list[str], attrs: dict[str, Any]) -> str:
        """Fill the template with already-parenthesised arguments."""
        if callable(self.template):
            return self.template(args, attrs)
        return self.template.format(*args, **attrs)


def infix(symbol: str, prec: int, assoc: str = "left") -> Notation:
    """A binary operator: ``{0} symbol {1}`` with left/right/no associativity."""
    if assoc == "left":
        slots = (prec, prec + 1)
    elif assoc == "right":
        slots = (prec + 1, prec)
    else:
        slots = (prec + 1, prec + 1)
    return Notation("{0}" + symbol + "{1}", prec, slots)


def prefix(symbol: str, prec: int) -> Notation:
    """A unary prefix operator such as ``-a``."""
    return Notation(symbol + "{0}", prec, prec)


def postfix(symbol: str, prec: int = POSTFIX) -> Notation:
    """A unary postfix operator such as ``a.T``."""
    return Notation("{0}" + symbol, prec, prec)
