"""Notation data shared by ops and printers: precedence numbers, :class:`Notation`, and the
LaTeX spelling of names, numbers and dimensions.

This module sits below :mod:`symback.graph` and :mod:`symback.ops` (it imports neither), so
ops can state how they print and the printers read it from the ops.

A printer renders each argument, then wraps it in parentheses when the
argument's precedence is lower than what its slot asks for. Nothing in a
printer looks at rendered strings; the numbers decide.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Callable, Sequence, Union

import numpy as np

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


# --------------------------------------------------------------------------- names

GREEK = (
    "alpha beta gamma delta epsilon varepsilon zeta eta theta vartheta iota kappa lambda mu nu "
    "xi pi varpi rho varrho sigma varsigma tau upsilon phi varphi chi psi omega"
).split()
#: Capital Greek letters that LaTeX has (the others look like Latin capitals).
GREEK_UPPER = "Gamma Delta Theta Lambda Xi Pi Sigma Upsilon Phi Psi Omega".split()
_ACCENTS = {"hat": r"\hat", "bar": r"\bar", "tilde": r"\tilde", "dot": r"\dot", "vec": r"\vec"}
_TRAILING_DIGITS = re.compile(r"^(.*?[^\d])(\d+)$")


def _name_part(part: str) -> str:
    if part in GREEK or part in GREEK_UPPER:
        return "\\" + part
    if len(part) <= 1 or part.isdigit():
        return part
    m = _TRAILING_DIGITS.match(part)
    if m and m.group(1) and (m.group(1) in GREEK or m.group(1) in GREEK_UPPER
                             or len(m.group(1)) == 1):
        return f"{_name_part(m.group(1))}_{{{m.group(2)}}}"
    return r"\mathit{" + part + "}"


def latex_name(name: str) -> str:
    """A symbol name in LaTeX.

    ``W1`` and ``W_1`` → ``W_{1}``; ``theta`` → ``\\theta``; ``x_hat`` → ``\\hat{x}``;
    ``lambda_2`` → ``\\lambda_{2}``; ``b_out`` → ``b_{\\mathit{out}}``; ``loss`` → ``\\mathit{loss}``.

    >>> latex_name("W1"), latex_name("theta"), latex_name("y_hat")
    ('W_{1}', '\\\\theta', '\\\\hat{y}')
    """
    parts = [p for p in name.split("_") if p]
    if not parts:
        return r"\mathit{" + name.replace("_", r"\_") + "}"
    base = _name_part(parts[0])
    subs: list[str] = []
    for p in parts[1:]:
        if p in _ACCENTS and not subs:
            base = f"{_ACCENTS[p]}{{{base}}}"
        else:
            subs.append(_name_part(p))
    if not subs:
        return base
    if "_{" in base:  # W1_a: W_{1, a}
        head, _, inner = base.partition("_{")
        return f"{head}_{{{inner[:-1]}, {', '.join(subs)}}}"
    return f"{base}_{{{', '.join(subs)}}}"


def dim_latex(d: Any) -> str:
    """One dimension (int or symbolic size name) in LaTeX."""
    return str(d) if isinstance(d, int) else latex_name(str(d))


def shape_latex(shape: Sequence[Any]) -> str:
    """``3 \\times 2``; a scalar's shape is ``1``."""
    if not shape:
        return "1"
    return r" \times ".join(dim_latex(d) for d in shape)


# --------------------------------------------------------------------------- numbers


def number_latex(v: Any) -> str:
    """A Python or NumPy number in LaTeX (``2.0`` → ``2``, ``1e-08`` → ``10^{-8}``)."""
    if isinstance(v, (bool, np.bool_)):
        return r"\mathrm{True}" if v else r"\mathrm{False}"
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    f = float(v)
    if math.isnan(f):
        return r"\mathrm{NaN}"
    if math.isinf(f):
        return r"\infty" if f > 0 else r"-\infty"
    if f.is_integer() and abs(f) < 1e15:
        return str(int(f))
    q = _simple_fraction(f)
    if q is not None:
        sign = "-" if q < 0 else ""
        return f"{sign}\\frac{{{abs(q.numerator)}}}{{{q.denominator}}}"
    s = repr(f)
    if "e" in s:
        mant, _, ex = s.partition("e")
        exp10 = f"10^{{{int(ex)}}}"
        if mant in ("1.0", "1"):
            return exp10
        if mant in ("-1.0", "-1"):
            return "-" + exp10
        return f"{mant} \\cdot {exp10}"
    return s


def _simple_fraction(f: float) -> Fraction | None:
    """p/q with q ≤ 12 when ``f`` is exactly the float nearest to it (0.5, 1/3, -0.25)."""
    q = Fraction(f).limit_denominator(12)
    if q.denominator > 1 and float(q) == f and abs(q.numerator) < 100:
        return q
    return None


def number_prec(v: Any) -> int:
    """The precedence of a printed number: a minus sign binds like a negation."""
    try:
        f = float(v)
    except (TypeError, ValueError):
        return ATOM
    if f < 0 or (isinstance(f, float) and math.copysign(1.0, f) < 0 and f == 0):
        return ADD
    if not math.isnan(f) and not math.isinf(f) and not f.is_integer() and (
            "e" in repr(f) or _simple_fraction(f) is not None):
        return POW  # 10^{-8} and \frac{1}{2} must be wrapped as a base
    return ATOM


def _array_latex(arr: np.ndarray) -> str:
    if arr.ndim == 0:
        return number_latex(arr.item())
    if arr.ndim <= 2 and arr.size <= 16:
        rows = arr.reshape(-1, 1) if arr.ndim == 1 else arr
        body = r" \\ ".join(" & ".join(number_latex(x) for x in row) for row in rows.tolist())
        return r"\begin{bmatrix} " + body + r" \end{bmatrix}"
    return r"C_{" + shape_latex(arr.shape) + "}"
