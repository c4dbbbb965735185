"""The error hierarchy of symback.

Every mistake a user can make surfaces as a :class:`SymbackError`: a
:class:`ParseError` for bad text (with the position and a caret line) and a
:class:`ShapeError` for shapes that do not fit (naming the op and the shapes).
"""

from __future__ import annotations

from typing import Any


class SymbackError(Exception):
    """Base class of every error symback raises on purpose.

    >>> import symback as sb
    >>> try:
    ...     sb.grad(sb.vector("v", 3), sb.vector("v", 3))
    ... except sb.SymbackError as e:
    ...     print(str(e).split(";")[0])
    grad: y must be a scalar, but it has shape (3,)
    """


class ShapeError(SymbackError, ValueError):
    """Shapes that do not fit, at build time or at call time.

    The message names the op (or argument) and the shapes involved.

    >>> import symback as sb
    >>> try:
    ...     sb.matrix("X", 3, 3) @ sb.matrix("W", 2, 2)
    ... except sb.ShapeError as e:
    ...     print(e.op, e.shapes)
    matmul ((3, 3), (2, 2))
    """

    def __init__(self, message: str, *, op: str | None = None, shapes: Any = None) -> None:
        super().__init__(message)
        self.op = op
        self.shapes = shapes


class ParseError(SymbackError, ValueError):
    """Text that is not a symback expression.

    ``position`` is the 0-based character offset of the fault in ``text``;
    ``str(err)`` shows the message, the text and a caret under the fault.

    >>> import symback as sb
    >>> try:
    ...     sb.parse("3*(a +")
    ... except sb.ParseError as e:
    ...     print(e.position)
    6
    """

    def __init__(self, message: str, text: str = "", position: int = 0) -> None:
        self.message = message
        self.text = text
        self.position = max(0, min(position, len(text)))
        super().__init__(self._render())

    @property
    def caret_line(self) -> str:
        """A line with a ``^`` under the faulty character of the (first line of) text."""
        line_start = self.text.rfind("\n", 0, self.position) + 1
        return " " * (self.position - line_start) + "^"

    def _render(self) -> str:
        if not self.text:
            return f"{self.message} (at position {self.position})"
        line_start = self.text.rfind("\n", 0, self.position) + 1
        line_end = self.text.find("\n", self.position)
        line = self.text[line_start : line_end if line_end >= 0 else len(self.text)]
        if len(line) > 200:  # keep huge inputs readable: show a window around the fault
            col = self.position - line_start
            lo = max(0, col - 100)
            line = line[lo : lo + 200]
            caret = " " * (col - lo) + "^"
        else:
            caret = self.caret_line
        return f"{self.message} (at position {self.position})\n  {line}\n  {caret}"
