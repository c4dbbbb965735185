"""The plain-text printer behind ``str(expr)``: Python-like syntax that ``sb.parse`` reads back.

One generic walker over each op's ``text`` :class:`Notation`: arguments are
rendered first (iteratively, in topological order) and parenthesised by
precedence numbers alone.
"""

from __future__ import annotations

import numpy as np

import re
from typing import Any, Callable

from ..graph import Expr, toposort
from .precedence import ATOM, NEG, Notation


def _leaf_text(node: Expr) -> tuple[str, int]:
    if node.is_symbol:
        return node.name, ATOM
    if node.is_const:
        v = node.value
        if node.weak:
            s = repr(v)
            if s in ("inf", "-inf", "nan"):
                s = {"inf": "inf", "-inf": "-inf", "nan": "nan"}[s]
            return s, (NEG if s.startswith("-") else ATOM)
        return "array(" + _array_text(node) + ")", ATOM
    return render_node(node, []), ATOM


def _array_text(node: Expr) -> str:
    """A constant array's entries, each the shortest text that reads back to the same float
    (so the exact text parses back to the same constant); a huge one is summarised."""
    arr = np.asarray(node.value)
    if arr.size > 10_000 or arr.dtype.kind not in "fi":
        return repr(node.attrs[0][1])
    return repr(arr.tolist())  # Python's float repr: the shortest text that reads back


def display_leaf(node: Expr) -> tuple[str, int]:
    """A leaf in the display text: a whole float reads as the integer (``1 - sigmoid(z)``,
    ``3 * c``, as in the LaTeX); it parses back to an int constant of the same value."""
    if node.is_const and node.weak and isinstance(node.value, float) \
            and node.value.is_integer() and abs(node.value) < 1e15:
        v = int(node.value)
        return str(v), (ATOM if v >= 0 else NEG)
    return _leaf_text(node)


def render_node(node: Expr, args: list[str]) -> str:
    return text_notation(node).render(args, node.kw)


def default_notation(node: Expr) -> Notation:
    """``name(arg0, arg1, key=value)`` for ops without a text notation."""
    def render(args: list[str], kw: dict[str, Any]) -> str:
        extra = [f"{k}={v!r}" for k, v in kw.items()]
        return f"{node.op.name}(" + ", ".join(list(args) + extra) + ")"
    return Notation(render)


def render_graph(roots: list[Expr], leaf: Callable[[Expr], tuple[str, int]],
                 notation: Callable[[Expr], Notation], paren: Callable[[str], str],
                 limit: int | None = None) -> dict[Expr, tuple[str, int]]:
    """Render every node below ``roots`` with a target's notations (iterative).

    Returns ``{node: (text, precedence)}``. With ``limit``, texts longer than
    ``limit`` characters are cut with ``…`` so huge graphs print quickly.
    """
    done: dict[Expr, tuple[str, int]] = {}
    for node in toposort(roots):
        if not node.args:
            done[node] = leaf(node)
            continue
        note = notation(node)
        parts = []
        for i, a in enumerate(node.args):
            s, p = done[a]
            parts.append(paren(s) if p < note.slot(i) else s)
        s = note.render(parts, node.kw)
        if limit is not None and len(s) > limit:
            s = s[:limit] + "…"
        prec = done[node.args[0]][1] if note.transparent else note.prec
        done[node] = (s, prec)
    return done


DEFAULT_LIMIT = 20_000


def text_notation(node: Expr) -> Notation:
    """The op's text notation resolved for ``node`` (``select``), or ``name(args, k=v)``."""
    note = node.op.text
    return default_notation(node) if note is None else note.resolve(node)


#: Graphs with more nodes than this print exactly by default: the display rules cost up to
#: 0.2 ms a node, and nobody reads a formula of thousands of nodes.
DISPLAY_NODES = 1_000


def to_text(expr: Expr, limit: int | None = DEFAULT_LIMIT, *, exact: bool = False,
            onehot: Any = (), max_simplify_nodes: int = DISPLAY_NODES) -> str:
    """Plain text of ``expr`` (Python syntax, parseable by ``sb.parse``).

    By default (what ``str(expr)`` prints) a copy of ``expr`` goes through the
    display rules ``sb.latex`` uses (:data:`symback.printing.pretty.PRETTY`: cancel
    and collect terms, constants to the front, ``exp(log_softmax(x))`` as
    ``softmax(x)``, ...), so the text reads like the LaTeX: ``sigmoid(z) - y``,
    ``X.T @ (softmax(X @ W) - Y) / n``. The text parses back (``sb.parse``) to an
    expression with the same values wherever the original is defined.
    ``exact=True`` prints the graph as it is, node for node: ``sb.parse`` of it
    gives back the same node. ``onehot``: label tensors whose rows sum to one (as
    in ``sb.latex``). Graphs of more than ``max_simplify_nodes`` nodes print exactly.

    A DAG with shared nodes prints as a tree, which can be exponentially longer
    than the graph; so the text is streamed and cut after ``limit`` characters
    with `` … [cut: N nodes]``. ``limit=None`` prints everything.

    >>> import symback as sb
    >>> x = sb.vector("x", 3)
    >>> sb.to_text(sb.grad(sb.sum(x), x))
    'ones(3)'
    """
    leaf = _leaf_text
    if not exact:
        from .latex import display_form

        hot = list(onehot)
        expr = display_form(expr, onehot=hot, max_nodes=max_simplify_nodes)
        leaf = display_leaf
    notation = text_notation
    if limit is None:
        done = render_graph([expr], leaf, notation, lambda s: f"({s})")
        return done[expr][0]
    text, complete = stream_text(expr, leaf, notation, limit)
    if complete:
        return text
    return f"{text} … [cut at {limit} characters: {len(toposort([expr]))} nodes]"


_SPLIT = re.compile("\x00(\\d+)\x00")


def template_pieces(note: Notation, node: Expr) -> list[str | int]:
    """The notation of ``node`` as literal pieces and argument indices, in print order."""
    rendered = note.render([f"\x00{i}\x00" for i in range(len(node.args))], node.kw)
    parts = _SPLIT.split(rendered)
    out: list[str | int] = []
    for k, p in enumerate(parts):
        if k % 2:
            out.append(int(p))
        elif p:
            out.append(p)
    return out


def _prec(node: Expr, leaf: Callable[[Expr], tuple[str, int]],
          notation: Callable[[Expr], Notation]) -> int:
    """A node's precedence; a transparent notation has its first argument's (iteratively)."""
    while node.args:
        note = notation(node)
        if not note.transparent:
            return note.prec
        node = node.args[0]
    return leaf(node)[1]


def stream_text(expr: Expr, leaf: Callable[[Expr], tuple[str, int]],
                notation: Callable[[Expr], Notation], limit: int,
                paren: tuple[str, str] = ("(", ")")) -> tuple[str, bool]:
    """Unfold the DAG under ``expr`` as a tree, left to right, until ``limit`` characters.

    Iterative (an explicit stack); costs O(limit) however large the graph.
    Returns the text and whether it is complete.
    """
    out: list[str] = []
    size = 0
    stack: list[Any] = [(expr, False)]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            out.append(item)
            size += len(item)
        else:
            node, wrap = item
            if not node.args:
                s = leaf(node)[0]
                s = paren[0] + s + paren[1] if wrap else s
                out.append(s)
                size += len(s)
            else:
                note = notation(node)
                pieces = template_pieces(note, node)
                if wrap:
                    stack.append(paren[1])
                for piece in reversed(pieces):
                    if isinstance(piece, int):
                        arg = node.args[piece]
                        stack.append((arg, _prec(arg, leaf, notation) < note.slot(piece)))
                    else:
                        stack.append(piece)
                if wrap:
                    stack.append(paren[0])
        if size > limit:
            return "".join(out)[:limit], False
    return "".join(out), True
