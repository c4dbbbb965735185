"""The plain-text printer behind ``str(expr)``: Python-like syntax that ``sb.parse`` reads back.

One generic walker over each op's ``text`` :class:`Notation`: arguments are
rendered first (iteratively, in topological order) and parenthesised by
precedence numbers alone.
"""

from __future__ import annotations

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
        return "array(" + repr(node.attrs[0][1]) + ")", ATOM
    return render_node(node, []), ATOM


def render_node(node: Expr, args: list[str]) -> str:
    note = node.op.text or default_notation(node)
    return note.render(args, node.kw)


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
        prec = note.prec
        done[node] = (s, prec)
    return done


def to_text(expr: Expr, limit: int | None = None) -> str:
    """Plain text of ``expr`` (Python syntax, parseable by ``sb.parse``)."""
    done = render_graph([expr], _leaf_text, lambda n: n.op.text or default_notation(n),
                        lambda s: f"({s})", limit=limit)
    return done[expr][0]
