"""LaTeX in matrix notation: ``sb.latex(expr)`` and the pieces ``explain`` reuses.

One generic walker (:func:`symback.printing.text.render_graph`) over each op's
``latex`` :class:`~symback.printing.precedence.Notation`; parentheses come from
precedence numbers only. Before printing, a copy of the expression is passed
through the display rule set :data:`symback.printing.pretty.PRETTY` (never the
graph that gets compiled). ``where=True`` names shared subexpressions in a
"where" block instead of re-expanding them.

Conventions (shared/reference/matrix-conventions.md): ``X^{T}``, juxtaposition
for matrix products, ``\\odot`` / ``\\oslash`` for elementwise products and
quotients (juxtaposition when one factor is a scalar), ``\\sigma``, ``\\sum``
for the sum of all entries, ``\\mathbf{1}^{T} G`` / ``G \\mathbf{1}`` for
column / row sums, ``\\mathbb{1}[X W > 0]`` for the derivative of relu.
Elementwise functions apply entry by entry.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from ..errors import SymbackError
from ..graph import Expr, as_expr, symbol, toposort
from .precedence import ATOM, Notation
from .text import render_graph, stream_text

from ..notation import (GREEK, GREEK_UPPER, _array_latex, dim_latex, latex_name,  # noqa: F401
                        number_latex, number_prec, shape_latex)

def leaf_latex(node: Expr) -> tuple[str, int]:
    """A symbol, constant or count in LaTeX, with its precedence."""
    if node.is_symbol:
        return latex_name(node.name), ATOM
    if node.is_const:
        v = node.value
        if node.weak:
            return number_latex(v), number_prec(v)
        arr = np.asarray(v)
        if arr.ndim == 0:
            return number_latex(arr.item()), number_prec(arr.item())
        return _array_latex(arr), ATOM
    note = latex_notation(node)
    return note.render([], node.kw), note.prec


# --------------------------------------------------------------------------- the walker


def _default_notation(node: Expr) -> Notation:
    """``\\operatorname{name}(args)`` for an op without a LaTeX notation."""
    name = node.op.name.replace("_", r"\_")

    def render(args: list[str], kw: dict[str, Any]) -> str:
        return rf"\operatorname{{{name}}}(" + ", ".join(args) + ")"
    return Notation(render, ATOM)


def latex_notation(node: Expr, extra: Mapping[str, Any] | None = None) -> Notation:
    """The op's LaTeX notation resolved for this node (``select``), with printer options."""
    note = (node.op.latex or _default_notation(node)).resolve(node)
    if extra:
        inner = note

        def render(args: list[str], kw: dict[str, Any]) -> str:
            return inner.render(args, {**kw, **extra})
        note = Notation(render, inner.prec, inner.arg_prec, transparent=inner.transparent)
    return note


def stream_latex(node: Expr, transpose: str = "T", limit: int | None = 100_000) -> str:
    """LaTeX of one node, unfolded iteratively and cut after ``limit`` characters."""
    if limit is None:
        return render_latex([node], transpose=transpose)[node][0]
    extra = {"_T": transpose} if transpose != "T" else None
    text, complete = stream_text(node, leaf_latex, lambda n: latex_notation(n, extra), limit,
                                 ("(", ")"))
    return text if complete else text + r" \dots"


def paren(s: str) -> str:
    return f"({s})"


def render_latex(roots: Sequence[Expr], leaves: Mapping[Expr, str] | None = None,
                 transpose: str = "T") -> dict[Expr, tuple[str, int]]:
    """Render every node below ``roots``; ``leaves`` maps nodes (usually placeholder
    symbols) to ready LaTeX printed as atoms. Returns ``{node: (latex, precedence)}``."""
    leaves = dict(leaves or {})
    extra = {"_T": transpose} if transpose != "T" else None

    def leaf(n: Expr) -> tuple[str, int]:
        if n in leaves:
            return leaves[n], ATOM
        return leaf_latex(n)

    return render_graph(list(roots), leaf, lambda n: latex_notation(n, extra), paren)


# --------------------------------------------------------------------------- where blocks


def _uses(roots: Sequence[Expr]) -> dict[Expr, int]:
    """How many times each node is used as an argument below ``roots`` (edges counted)."""
    count: dict[Expr, int] = {}
    for n in toposort(list(roots)):
        for a in n.args:
            count[a] = count.get(a, 0) + 1
    return count


def shared_nodes(roots: Sequence[Expr], exclude: Iterable[Expr] = ()) -> list[Expr]:
    """Nodes worth naming: used at least twice, not transparent, with a non-leaf argument.

    (``X W`` used twice is short enough to repeat; ``\\sigma(X W)`` is named.)
    """
    skip = set(exclude)
    uses = _uses(roots)
    out = []
    for n in toposort(list(roots)):
        if n in skip or not n.args or uses.get(n, 0) < 2:
            continue
        if latex_notation(n).transparent:
            continue
        if all(not a.args for a in n.args):
            continue
        out.append(n)
    return out


_PLACEHOLDER = "symbackwhere"


def placeholder(k: int, like: Expr) -> Expr:
    """A fresh symbol standing for a named subexpression (shape and dtype of ``like``)."""
    return symbol(f"{_PLACEHOLDER}{k}", like.shape, like.dtype)


def auto_names(nodes: Sequence[Expr], taken: Iterable[str]) -> list[str]:
    """``T_{1}, T_{2}, …`` for tensors and ``t_{1}, …`` for scalars, avoiding taken names."""
    used = set(taken)
    out = []
    k = 0
    for n in nodes:
        while True:
            k += 1
            name = f"{'T' if n.shape else 't'}_{k}"
            if name not in used:
                break
        used.add(name)
        out.append(name)
    return out


def _with_names(roots: Sequence[Expr], named: Sequence[Expr], labels: Sequence[str],
                transpose: str) -> tuple[list[tuple[str, str]], list[str]]:
    """Definitions ``(label, latex)`` of the named nodes and the roots in terms of them."""
    holders = [placeholder(k, n) for k, n in enumerate(named)]
    mapping = dict(zip(named, holders))
    leaves = {h: lab for h, lab in zip(holders, labels)}
    from ..graph import substitute

    defs = []
    for n, lab in zip(named, labels):
        body = substitute(n, {m: h for m, h in mapping.items() if m is not n})
        defs.append((lab, render_latex([body], leaves, transpose)[body][0]))
    new_roots = substitute(list(roots), mapping)
    done = render_latex(new_roots, leaves, transpose)
    return defs, [done[r][0] for r in new_roots]


# --------------------------------------------------------------------------- public


def display_form(expr: Expr | Sequence[Expr], *, onehot: Iterable[Expr] = (),
                 max_nodes: int = 20_000) -> Any:
    """The display simplification of ``expr`` (a copy; the input graph is untouched).

    Graphs larger than ``max_nodes`` are returned as they are (simplifying
    them would be slow, and nobody reads such a formula).
    """
    from ..rewrite import rewrite
    from .pretty import PRETTY, onehot_rules

    roots = [expr] if isinstance(expr, Expr) else list(expr)
    if len(toposort(roots)) > max_nodes:
        return expr
    rules = PRETTY
    hot = list(onehot)
    if hot:
        rules = rules + onehot_rules(hot)
    from .pretty import column_form

    out = [column_form(r) for r in rewrite(roots, rules)]
    return out[0] if isinstance(expr, Expr) else out


def _with_differentiated_keys(node: Expr, user: dict[Expr, str]) -> dict[Expr, str]:
    """Let a name written over the user's form also find its node in a gradient.

    ``grad`` differentiates the stable form (:func:`symback.rules.differentiable_form`:
    ``mean`` becomes a sum over a count, …), so a name given for ``sb.mean(x)`` would not
    match the gradient's nodes. A key absent from ``node``'s graph is replaced by its
    differentiable form (when that form is there); keys already present stay as given.
    """
    from ..rules import differentiable_form

    present = set(toposort([node]))
    missing = [k for k in user if k not in present and k.args]
    if not missing:
        return user
    forms = differentiable_form(missing)
    out = dict(user)
    for k, f in zip(missing, forms):
        if f is not k and f in present and f not in out:
            out[f] = out.pop(k)
    return out


def latex(expr: Any, *, simplify: bool = True, where: bool | Mapping[Any, str] = False,
          names: Mapping[Any, str] | None = None, transpose: str = "T",
          onehot: Iterable[Any] = (), max_simplify_nodes: int = 20_000,
          limit: int | None = 100_000) -> str:
    """LaTeX of ``expr`` in matrix notation.

    Keyword Args:
        simplify: print the display simplification (``PRETTY``) of a copy of
            ``expr``: ``\\sigma(z) - y`` rather than the raw reverse-pass output.
            The graph itself is never changed; compile ``expr``, not the display.
        where: name shared subexpressions (``T_{1} = \\sigma(X W)``) and print them
            in a "where" block (an ``aligned`` environment) instead of repeating them.
        names: ``{node: "N"}`` names chosen by you (implies ``where``), e.g.
            ``{X @ W: "N", sb.sigmoid(X @ W): "S"}``. A key written as you wrote the
            forward pass (``sb.mean(x)``) also finds its node in a gradient, which is
            taken of the stable form (where ``mean`` is a sum over a count).
        transpose: the transpose mark, ``"T"`` (``X^{T}``) or ``"\\top"``.
        onehot: label tensors whose rows sum to one (one-hot targets): a display
            assumption that turns ``\\operatorname{softmax}(U) \\odot (Y \\mathbf{1}) - Y``
            into ``\\operatorname{softmax}(U) - Y``.
        limit: a shared DAG prints as a tree, which can be exponentially longer than
            the graph: stop after ``limit`` characters with ``\\dots`` (``None``: no limit;
            ``where=True`` names shared nodes instead and is not cut).

    >>> import symback as sb
    >>> X, W = sb.matrix("X", 3, 3), sb.matrix("W", 3, 2)
    >>> sb.latex(sb.grad(sb.sum(sb.sigmoid(X @ W)), W))
    'X^{T} (\\\\sigma(X W) \\\\odot (1 - \\\\sigma(X W)))'
    """
    if isinstance(where, Mapping):
        names = {**dict(where), **dict(names or {})}
        where = True
    node = as_expr(expr)
    user = {as_expr(k): v for k, v in (names or {}).items()}
    for k, v in user.items():
        if not isinstance(v, str) or not v:
            raise SymbackError(f"latex: the name for {k} must be a non-empty string")
    if user:
        where = True
    hot = [as_expr(h) for h in onehot]
    if user:
        user = _with_differentiated_keys(node, user)
    if simplify:
        keys = list(user)
        out = display_form([node, *keys], onehot=hot, max_nodes=max_simplify_nodes)
        node, keys = out[0], out[1:]
        user = {k2: user[k1] for k1, k2 in zip(user, keys)}
    if not where:
        return stream_latex(node, transpose, limit)
    in_graph = set(toposort([node]))
    chosen = [n for n in toposort([node]) if n in user and n.args and n in in_graph]
    auto = shared_nodes([node], exclude=chosen)
    taken = {n.name for n in in_graph if n.is_symbol} | set(user.values())
    named = [n for n in toposort([node]) if n in set(chosen) | set(auto) and n is not node]
    auto_set = set(auto)
    auto_labels = iter(auto_names([n for n in named if n in auto_set], taken))
    labels = [latex_name(user[n]) if n in user else latex_name(next(auto_labels))
              for n in named]
    if not named:
        return render_latex([node], transpose=transpose)[node][0]
    defs, (body,) = _with_names([node], named, labels, transpose)
    lines = [f"& {body}", r"& \text{where}"]
    lines += [f"& \\quad {lab} = {d}" for lab, d in defs]
    return "\\begin{aligned}\n" + " \\\\\n".join(lines) + "\n\\end{aligned}"
