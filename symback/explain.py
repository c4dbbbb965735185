"""The chain rule step by step: ``sb.explain(y, wrt, at=None)``.

Built from the :class:`~symback.autodiff.Step` records of one reverse pass
(:func:`symback.autodiff.backprop`), not from a second one: the forward nodes
are listed as named intermediates (``u = b c``, ``v = a + u``, ``J = 3 v``),
then every grad-table entry in the order the pass fills it, each as upstream ×
local derivative (for scalars ``dJ/db = dJ/du · du/db = 3 · c``; for tensors the
VJP with the upstream gradient as a symbol, ``dL/dX = dL/dN W^T``), its shape,
and with ``at`` its value (evaluated through ``sb.lambdify``).
Gradients have the shape of their variable.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .autodiff import Backprop, backprop
from .errors import SymbackError
from .graph import Expr, as_expr, const, free_symbols, rebuild, substitute, symbol, toposort
from .ops.structural import sum_to
from .printing.latex import (
    _array_latex,
    display_form,
    latex_name,
    latex_notation,
    leaf_latex,
    number_latex,
    render_latex,
    shape_latex,
)
from .notation import ATOM, MUL, NEG
from .printing.pretty import _weight
from .printing.text import _leaf_text, _prec, render_graph, stream_text, text_notation

LAYOUT_NOTE = "gradients have the shape of their variable"

#: Default for ``explain(max_steps=...)``: forward lines and grad-table entries shown.
MAX_STEPS = 200
#: Above this many forward nodes the display simplification runs on each formula alone
#: (in names), not on the whole graph again for every line.
BIG_GRAPH = 40
#: A grad-table total whose tree (in forward names) has more nodes than this is written in
#: terms of the earlier entries' names (``dL/dU``) instead of being expanded.
MAX_TREE = 200
#: Formulas whose printed tree has more nodes than this are streamed and cut.
RENDER_NODES = 2_000
RENDER_CHARS = 4_000
#: At most this many upstream × local terms are written out for one grad-table entry
#: (a node with thousands of consumers); the rest are counted.
MAX_TERMS = 20
_CAP = 10**9

_SCALAR_NAMES = "u v w p q r s t".split()
_TENSOR_NAMES = "U V P Q R S T Z".split()


# --------------------------------------------------------------------------- records


@dataclass(frozen=True)
class Forward:
    """One forward intermediate: ``name = definition`` (and its value at ``at``)."""

    node: Expr
    name: str
    name_latex: str
    text: str
    latex: str
    value: Any = None


@dataclass(frozen=True)
class Term:
    """One contribution to a grad-table entry: upstream × local derivative.

    ``chain``: the symbolic chain (``dJ/du · du/db``, or the VJP with the upstream
    gradient as a symbol for tensors); ``concrete``: upstream value × local
    derivative as expressions (scalars only); ``numbers``: the same at ``at``.
    """

    consumer: Expr
    chain_text: str
    chain_latex: str
    concrete_text: str = ""
    concrete_latex: str = ""
    numbers_text: str = ""
    numbers_latex: str = ""


@dataclass(frozen=True)
class Entry:
    """One grad-table entry, in the order the reverse pass filled it."""

    node: Expr
    label: str
    label_latex: str
    terms: tuple[Term, ...]
    total_text: str
    total_latex: str
    value: Any = None
    shape: tuple[Any, ...] = ()
    #: False when the total reads the same as the upstream × local form (3 · c and 3 c).
    show_total: bool = True

    @property
    def rule_latex(self) -> str:
        """The chain rule cell of a table: Σ upstream × local derivative (left out when it is
        the entry itself), then ``=`` the concrete terms when every term has one."""
        chains = [t.chain_latex for t in self.terms if t.chain_latex]
        concrete = [t.concrete_latex for t in self.terms if t.concrete_latex]
        rule = " + ".join(chains) if chains != [self.label_latex] else ""
        if concrete and len(concrete) == len(self.terms):
            rule = (rule + " = " if rule else "") + " + ".join(concrete)
        return rule


@dataclass
class Explanation:
    """The chain rule for ``y`` with respect to ``wrt``; ``str()``, ``.latex()``, ``.markdown()``."""

    y: Expr
    wrt: tuple[Expr, ...]
    forward: list[Forward]
    entries: list[Entry]
    output: str
    at: dict[str, Any] | None = None
    backprop: Backprop | None = field(default=None, repr=False)
    #: ``(position, count)``: ``count`` forward lines left out before ``forward[position]``.
    forward_cut: tuple[int, int] | None = None
    #: ``(position, count)``: ``count`` grad-table entries left out before
    #: ``entries[position]`` (the entries after it are the gradients of ``wrt``).
    entries_cut: tuple[int, int] | None = None

    def _marker(self, which: str, k: int) -> str | None:
        cut = self.forward_cut if which == "forward" else self.entries_cut
        if cut is None or cut[0] != k:
            return None
        noun = "forward nodes" if which == "forward" else "steps"
        return f"... ({cut[1]} more {noun})"

    # ------------------------------------------------------------------ text

    def _parts(self, e: Entry, tex: bool) -> list[str]:
        """label = chain = upstream·local = total = numbers = value (repeats dropped)."""
        def pick(t: Term, what: str) -> str:
            return str(getattr(t, f"{what}_{'latex' if tex else 'text'}"))

        def joined(what: str) -> str | None:
            got = [pick(t, what) for t in e.terms]
            return " + ".join(got) if all(got) else None

        label = e.label_latex if tex else e.label
        parts = [label]
        for what in ("chain", "concrete"):
            j = joined(what)
            if j:
                parts.append(j)
        if e.show_total:
            parts.append(e.total_latex if tex else e.total_text)
        j = joined("numbers")
        if j:
            parts.append(j)
        if e.value is not None:
            parts.append(_num_latex(e.value) if tex else _num_text(e.value))
        return _dedupe(parts)

    def __str__(self) -> str:
        wrt = ", ".join(_sym_text(w) for w in self.wrt)
        lines = [f"Chain rule for {self.output} with respect to {wrt} "
                 f"(reverse mode; {LAYOUT_NOTE})."]
        lines.append("Forward:")
        for k, f in enumerate(self.forward):
            if (m := self._marker("forward", k)):
                lines.append("  " + m)
            line = f"  {f.name} = {f.text}"
            if f.value is not None:
                line += f" = {_num_text(f.value)}"
            lines.append(line)
        lines.append("Backward (grad table, in the order the reverse pass fills it):")
        for k, e in enumerate(self.entries):
            if (m := self._marker("entries", k)):
                lines.append("  " + m)
            line = "  " + " = ".join(self._parts(e, tex=False))
            if e.shape:
                line += f"    [{_shape_text(e.shape)}]"
            lines.append(line)
        if (m := self._marker("entries", len(self.entries))):
            lines.append("  " + m)
        return "\n".join(lines)

    def __repr__(self) -> str:
        return str(self)

    # ------------------------------------------------------------------ latex

    def latex(self) -> str:
        """An ``aligned`` block: the forward definitions, then the grad table."""
        rows = [rf"& \text{{({LAYOUT_NOTE})}}"]
        for k, f in enumerate(self.forward):
            if (m := self._marker("forward", k)):
                rows.append(rf"& \text{{{m}}}")
            row = f"{f.name_latex} &= {f.latex}"
            if f.value is not None:
                row += f" = {_num_latex(f.value)}"
            rows.append(row)
        for k, e in enumerate(self.entries):
            if (m := self._marker("entries", k)):
                rows.append(rf"& \text{{{m}}}")
            parts = self._parts(e, tex=True)
            row = parts[0] + " &= " + " = ".join(parts[1:]) if len(parts) > 1 else parts[0]
            if e.shape:
                row += rf" \quad ({shape_latex(e.shape)})"
            rows.append(row)
        if (m := self._marker("entries", len(self.entries))):
            rows.append(rf"& \text{{{m}}}")
        return "\\begin{aligned}\n" + " \\\\\n".join(rows) + "\n\\end{aligned}"

    def _repr_latex_(self) -> str:
        return f"$${self.latex()}$$"

    def _repr_markdown_(self) -> str:
        """Jupyter shows the two tables of :meth:`markdown` (with inline LaTeX).

        Front ends prefer Markdown to LaTeX, so a notebook shows the tables; ``str()``
        and ``.latex()`` stay available.
        """
        return self.markdown()

    # ------------------------------------------------------------------ markdown

    def markdown(self) -> str:
        """Two Markdown tables (forward, grad table) with inline LaTeX."""
        def cell(s: str) -> str:
            return f"${s}$".replace("|", r"\|") if s else ""

        out = [f"Gradients have the shape of their variable (reverse mode, "
               f"{len(self.entries)} grad-table entries).", "",
               "| name | definition | value |", "| --- | --- | --- |"]
        for i, f in enumerate(self.forward):
            if (m := self._marker("forward", i)):
                out.append(f"| | {m} | |")
            val = _num_latex(f.value) if f.value is not None else ""
            out.append(f"| {cell(f.name_latex)} | {cell(f.latex)} | {cell(val)} |")
        out += ["", "| step | entry | chain rule | expression | value | shape |",
                "| --- | --- | --- | --- | --- | --- |"]
        for k, e in enumerate(self.entries, 1):
            if (m := self._marker("entries", k - 1)):
                out.append(f"| | {m} | | | | |")
            val = _num_latex(e.value) if e.value is not None else ""
            shape = cell(shape_latex(e.shape)) if e.shape else "scalar"
            # a tensor entry whose rule (the VJPs, summed) reads as the expression itself is
            # written once, in its column (scalar walkthroughs keep both: 3 = 3 · 1)
            rule = "" if e.shape and e.rule_latex == e.total_latex else e.rule_latex
            out.append(f"| {k} | {cell(e.label_latex)} | {cell(rule)} "
                       f"| {cell(e.total_latex)} "
                       f"| {cell(val)} | {shape} |")
        if (m := self._marker("entries", len(self.entries))):
            out.append(f"| | {m} | | | | |")
        return "\n".join(out)


# --------------------------------------------------------------------------- helpers


def _sym_text(e: Expr) -> str:
    return e.name if e.is_symbol else str(e)


def _shape_text(shape: Sequence[Any]) -> str:
    return "×".join(str(d) for d in shape)


def _num_text(v: Any) -> str:
    a = np.asarray(v)
    if a.ndim == 0:
        return f"{float(a):.9g}"
    text = np.array2string(a, precision=8, separator=", ", threshold=40,
                           max_line_width=10**6, floatmode="maxprec")
    return " ".join(text.split()).replace("[ ", "[")  # one line: [[1, 2], [3, 4]]


def _num_latex(v: Any) -> str:
    a = np.asarray(v)
    if a.ndim == 0:
        return number_latex(float(f"{float(a):.9g}"))
    if a.ndim <= 2 and a.size <= 16:
        return _array_latex(np.vectorize(lambda x: float(f"{x:.8g}"))(a))
    return rf"\text{{{_shape_text(a.shape)} array}}"


def _dedupe(parts: list[str]) -> list[str]:
    out: list[str] = []
    for p in parts:
        if not out or out[-1] != p:
            out.append(p)
    return out


def _is_name(s: str) -> bool:
    return s.isidentifier()


def _walk(roots: Sequence[Expr], stop: Any = ()) -> list[Expr]:
    """The nodes below ``roots`` in topological order (iterative), not descending below
    nodes in ``stop`` (they are listed, their arguments are not visited)."""
    seen: set[Expr] = set()
    out: list[Expr] = []
    stack: list[tuple[Expr, bool]] = [(r, False) for r in reversed(roots)]
    while stack:
        n, finished = stack.pop()
        if finished:
            out.append(n)
            continue
        if n in seen:
            continue
        seen.add(n)
        stack.append((n, True))
        if n not in stop:
            stack.extend((a, False) for a in reversed(n.args) if a not in seen)
    return out


def _subst(e: Expr, mapping: Mapping[Expr, Expr],
           root_mapping: Mapping[Expr, Expr] | None = None) -> Expr:
    """``e`` with the nodes of ``mapping`` replaced, never looking below a replaced node
    (so the cost is the part of the graph above them). ``root_mapping``, when given, is
    the mapping used for ``e`` itself."""
    rm = mapping if root_mapping is None else root_mapping
    if e in rm:
        return rm[e]
    if not e.args:
        return e
    memo: dict[Expr, Expr] = {}
    for n in _walk(list(e.args), mapping):
        if n in mapping:
            memo[n] = mapping[n]
        elif n.args:
            memo[n] = rebuild(n, [memo[a] for a in n.args])
        else:
            memo[n] = n
    return rebuild(e, [memo[a] for a in e.args])


class _Namer:
    """Names for the forward nodes and text/LaTeX renderings in terms of those names."""

    def __init__(self, y: Expr, user: Mapping[Expr, str], output: str | None) -> None:
        order = toposort([y])
        depends: set[Expr] = set()
        for n in order:
            if n.is_symbol or any(a in depends for a in n.args):
                depends.add(n)
        taken = {n.name for n in order if n.is_symbol} | set(user.values())
        self.named: list[Expr] = [n for n in order if n.args and n in depends]
        self.size = len(order)
        self.big = self.size > BIG_GRAPH
        self._tree: dict[Expr, int] = {}
        self.grad_holders: _Lazy | None = None
        self._both: Any = {}
        self.text: dict[Expr, str] = {}
        self.tex: dict[Expr, str] = {}
        root = user.get(y) or output or next(
            (c for c in ("L", "J", "f", "y") if c not in taken), "L")
        taken.add(root)
        k = 0
        for n in self.named:
            if n in user:
                name = user[n]
            elif n is y:
                name = root
            else:
                pool = _TENSOR_NAMES if n.shape else _SCALAR_NAMES
                while True:
                    base = pool[k % len(pool)]
                    name = base if k < len(pool) else f"{base}_{k // len(pool)}"
                    k += 1
                    if name not in taken:
                        break
            taken.add(name)
            self.text[n] = name
            self.tex[n] = latex_name(name) if _is_name(name) else name
        self.root = self.text[y] if y in self.text else root
        self.root_tex = self.tex.get(y, latex_name(root))
        for n in order:
            if n.is_symbol:
                self.text[n] = n.name
                self.tex[n] = latex_name(n.name)
        self.leaf_text: dict[Expr, str] = {}
        self.leaf_tex: dict[Expr, str] = {}

        def holder(n: Expr, i: int) -> Expr:  # made when first needed (100k-node graphs)
            h = symbol(f"symbackexplain{i}", n.shape, n.dtype)
            self.leaf_text[h] = self.text[n]
            self.leaf_tex[h] = self.tex[n]
            return h

        self.holders = _Lazy({n: i for i, n in enumerate(self.named)}, holder)

    def grad_label(self, n: Expr) -> tuple[str, str]:
        """``dJ/du`` and ``\\frac{\\partial J}{\\partial u}``."""
        name = self.text.get(n) or str(n)
        tex = self.tex.get(n) or render_latex([n])[n][0]
        return (f"d{self.root}/d{name}",
                rf"\frac{{\partial {self.root_tex}}}{{\partial {tex}}}")

    def in_names(self, e: Expr) -> Expr:
        """``e`` with every named forward node replaced by its name."""
        return _subst(e, self.holders)

    def tree_size(self, e: Expr) -> int:
        """Nodes of ``e`` printed as a tree in forward names (capped; memoised)."""
        memo = self._tree
        if e in memo:
            return memo[e]
        stop = _Either(memo, self.holders)
        for n in _walk([e], stop):
            if n in memo:
                continue
            if n in self.holders or not n.args:
                memo[n] = 1
            else:
                memo[n] = min(_CAP, 1 + sum(memo[a] for a in n.args))
        return memo[e]

    def name_grads(self, steps: Sequence[Any], table: Mapping[Expr, Expr]) -> None:
        """Placeholder symbols for the grad-table totals, printed as their labels."""
        if self.grad_holders is not None:
            return
        which: dict[Expr, int] = {}
        for i, st in enumerate(steps):
            tot = table[st.node]
            if tot.args and tot not in self.holders and tot not in which:
                which[tot] = i

        def holder(tot: Expr, i: int) -> Expr:
            h = symbol(f"symbackgrad{i}", tot.shape, tot.dtype)
            self.extra({h: self.grad_label(steps[i].node)})
            return h

        self.grad_holders = _Lazy(which, holder)
        self._both = _Lazy2(self.holders, self.grad_holders)

    def local_form(self, e: Expr) -> Expr:
        """``e`` in forward names and earlier grad-table names, then display-simplified
        on its own (cheap: the formula is one step of the chain rule)."""
        out = _subst(e, self._both, self.holders)
        return display_form(out, max_nodes=RENDER_NODES)

    def pretty_in_names(self, e: Expr) -> Expr:
        """The display simplification of ``e``, then named: the named nodes go through the
        same rules, so ``σ(z)`` is still ``a`` after ``1 - σ(z)`` has met ``1.0 - σ(z)``."""
        out = display_form([e, *self.named])
        mapping: dict[Expr, Expr] = {}
        for n, m in zip(self.named, out[1:]):
            mapping.setdefault(m, self.holders[n])
        return substitute(out[0], mapping)

    def extra(self, mapping: Mapping[Expr, tuple[str, str]]) -> None:
        for h, (t, x) in mapping.items():
            self.leaf_text[h] = t
            self.leaf_tex[h] = x

    def render(self, e: Expr) -> tuple[str, int, str, int]:
        """Text and LaTeX of ``e`` (already in names), with their precedences."""
        def leaf(n: Expr) -> tuple[str, int]:
            if n in self.leaf_text:
                return self.leaf_text[n], ATOM
            if n.is_const and n.weak and isinstance(n.value, float) and n.value.is_integer() \
                    and abs(n.value) < 1e15:  # display: 3.0 reads 3
                v = int(n.value)
                return str(v), (ATOM if v >= 0 else NEG)
            if n.is_const and not n.weak and "\n" in repr(np.asarray(n.value)):
                # a constant array (a causal mask) in one line, not a wall of numbers
                a = np.asarray(n.value)
                return f"array(<{'×'.join(map(str, a.shape))} {a.dtype}>)", ATOM
            return _leaf_text(n)

        notation = text_notation
        def leaf_x(n: Expr) -> tuple[str, int]:
            return (self.leaf_tex[n], ATOM) if n in self.leaf_tex else leaf_latex(n)

        def note_x(n: Expr) -> Any:
            return latex_notation(n)

        if len(_walk([e])) <= RENDER_NODES and _tree_size(e) <= RENDER_NODES:
            t = render_graph([e], leaf, notation, lambda s: f"({s})")[e]
            x = render_graph([e], leaf_x, note_x, lambda s: f"({s})")[e]
            return t[0], t[1], x[0], x[1]

        # A huge formula: unfold it left to right and cut it (O(limit), never the tree).
        t_s, t_ok = stream_text(e, leaf, notation, RENDER_CHARS)
        x_s, x_ok = stream_text(e, leaf_x, note_x, RENDER_CHARS)
        return (t_s if t_ok else t_s + " …", _prec(e, leaf, notation),
                x_s if x_ok else x_s + r" \dots", _prec(e, leaf_x, note_x))


class _Lazy:
    """A mapping whose keys are known up front and whose values are made on first use."""

    def __init__(self, keys: dict[Expr, int], make: Any) -> None:
        self.keys, self.make = keys, make
        self.made: dict[Expr, Expr] = {}

    def __contains__(self, n: object) -> bool:
        return n in self.keys

    def __getitem__(self, n: Expr) -> Expr:
        h = self.made.get(n)
        if h is None:
            h = self.made[n] = self.make(n, self.keys[n])
        return h

    def get(self, n: Expr, default: Any = None) -> Any:
        return self[n] if n in self.keys else default


class _Lazy2:
    """Two mappings looked up in turn."""

    def __init__(self, a: _Lazy, b: _Lazy) -> None:
        self.a, self.b = a, b

    def __contains__(self, n: object) -> bool:
        return n in self.a or n in self.b

    def __getitem__(self, n: Expr) -> Expr:
        return self.a[n] if n in self.a else self.b[n]


class _Either:
    """Membership in either of two mappings (a stop set for :func:`_walk`)."""

    def __init__(self, a: Mapping[Expr, Any], b: Mapping[Expr, Any]) -> None:
        self.a, self.b = a, b

    def __contains__(self, n: Expr) -> bool:
        return n in self.a or n in self.b


def _tree_size(e: Expr) -> int:
    """Nodes of ``e`` printed as a tree (capped)."""
    memo: dict[Expr, int] = {}
    for n in _walk([e]):
        memo[n] = min(_CAP, 1 + sum(memo[a] for a in n.args))
    return memo[e]


def _wrap(s: str, prec: int, limit: int) -> str:
    """Parenthesise a factor of upstream · local whose precedence is at most ``limit``."""
    return f"({s})" if prec <= limit else s


# --------------------------------------------------------------------------- explain


def explain(y: Any, wrt: Any, at: Mapping[Any, Any] | None = None, *,
            names: Mapping[Any, str] | None = None, output: str | None = None,
            max_steps: int | None = MAX_STEPS) -> Explanation:
    """The chain rule for ``y`` with respect to ``wrt``, step by step.

    Args:
        y: a scalar expression.
        wrt: one expression or a list of them (usually symbols).
        at: optional values of the free symbols (``{"a": 5, "b": 3, "c": 2}``, names or
            symbols as keys): every line then also shows its number.
        names: names for forward nodes (``{b * c: "u"}``; the output's name too, e.g.
            ``{J: "J"}``); other intermediates are named u, v, w, … (U, V, … for tensors).
        output: the output's name (default ``L``, or the first free of L, J, f).
        max_steps: at most this many forward lines (the first and the last ones) and
            grad-table entries (the first ones, then the gradients of ``wrt``) are worked
            out; the rest are left out with a ``... (N more steps)`` line. ``None``: all.

    Huge graphs: a line's formula is written in names, never unfolded into a tree. A
    grad-table total whose tree (in forward names) has more than ``MAX_TREE`` nodes is
    written in terms of the earlier entries (``dL/dV = dL/dS * R + dL/dR * ...``);
    above ``BIG_GRAPH`` forward nodes every line is, and the display simplification
    runs on each line's formula alone. Formulas that are still huge are cut with ``…``.

    ``str()`` is plain text, ``.latex()`` an ``aligned`` block, ``.markdown()``
    Markdown tables. Seed example E1:

    >>> import symback as sb
    >>> a, b, c = sb.symbols("a b c")
    >>> J = 3 * (a + b * c)
    >>> print(sb.explain(J, [a, b, c], at={"a": 7, "b": 4, "c": 2}, output="J"))
    ... # doctest: +NORMALIZE_WHITESPACE
    Chain rule for J with respect to a, b, c (reverse mode; gradients have the shape of their variable).
    Forward:
      u = b * c = 8
      v = a + u = 15
      J = 3 * v = 45
    Backward (grad table, in the order the reverse pass fills it):
      dJ/dJ = 1
      dJ/dv = 3
      dJ/du = dJ/dv · dv/du = 3 · 1 = 3
      dJ/dc = dJ/du · du/dc = 3 · b = 3 · 4 = 12
      dJ/db = dJ/du · du/db = 3 · c = 3 · 2 = 6
      dJ/da = dJ/dv · dv/da = 3 · 1 = 3
    """
    y = as_expr(y)
    if y.shape != ():
        raise SymbackError(f"explain: y must be a scalar, but it has shape {y.shape}; "
                           "sum it first")
    items = [as_expr(w) for w in ([wrt] if isinstance(wrt, Expr) else list(wrt))]
    user = {as_expr(k): v for k, v in (names or {}).items()}
    for k, v in user.items():
        if not isinstance(v, str) or not v:
            raise SymbackError(f"explain: the name for {k} must be a non-empty string")
    if max_steps is not None and (isinstance(max_steps, bool) or not isinstance(max_steps, int)
                                  or max_steps < 1):
        raise SymbackError(f"explain: max_steps must be a positive int or None, not {max_steps!r}")
    bp = backprop(y, items)
    nm = _Namer(y, user, output)

    # What to evaluate, if at= is given: forward nodes, totals, local derivatives.
    wanted: list[Expr] = []
    index: dict[int, int] = {}

    def want(e: Expr) -> int:
        if id(e) not in index:
            index[id(e)] = len(wanted)
            wanted.append(e)
        return index[id(e)]

    # Truncation: the first and last forward lines; the first grad-table entries, then
    # the gradients of ``wrt`` themselves.
    fwd_idx = list(range(len(nm.named)))
    forward_cut = None
    if max_steps is not None and len(fwd_idx) > max_steps:
        head = (max_steps + 1) // 2
        tail = max_steps - head
        forward_cut = (head, len(fwd_idx) - max_steps)
        fwd_idx = fwd_idx[:head] + (fwd_idx[len(fwd_idx) - tail:] if tail else [])
    steps = list(bp.steps)
    entries_cut = None
    if max_steps is not None and len(steps) > max_steps:
        last = {st.node: k for k, st in enumerate(steps)}
        final = sorted({last[w] for w in items if w in last and last[w] >= max_steps})
        entries_cut = (max_steps, len(steps) - max_steps - len(final))
        steps = steps[:max_steps] + [steps[k] for k in final]
        if entries_cut[1] == 0:
            entries_cut = None
    if nm.big or len(bp.steps) > BIG_GRAPH:
        nm.name_grads(bp.steps, bp.table)

    forward_specs = []
    for n in (nm.named[i] for i in fwd_idx):
        body = rebuild(n, [nm.holders.get(a, a) for a in n.args]) if n.args else n
        t, _, x, _ = nm.render(body)
        forward_specs.append((n, t, x, want(n)))

    ghosts = 0
    entry_specs = []
    for step in steps:
        node = step.node
        label, label_tex = nm.grad_label(node)
        terms = []
        for k, c in enumerate(step.contributions):
            if len(terms) >= MAX_TERMS:
                terms.append(dict(kind="more", count=len(step.contributions) - k))
                break
            if c.index < 0:  # the seed
                terms.append(dict(kind="seed", value=want(c.value)))
                continue
            cons = c.consumer
            up_label, up_tex = nm.grad_label(cons)
            is_root = cons is y
            scalar = cons.shape == () and node.shape == ()
            if scalar:
                local = cons.op.vjp(const(1.0), cons, *cons.args, **cons.kw)[c.index]
                local = as_expr(local if local is not None else 0.0)
                lt, lp, lx, lxp = nm.render(nm.in_names(local))
                dname = nm.text[node] if node in nm.text else str(node)
                dtex = nm.tex.get(node) or render_latex([node])[node][0]
                cname, ctex = nm.text[cons], nm.tex[cons]
                if is_root:
                    chain_t, chain_x = label, label_tex
                    conc_t, conc_x = lt, lx
                    product = nm.in_names(local)
                else:
                    upstream = bp.table[cons]
                    if nm.big or nm.tree_size(upstream) > MAX_TREE:
                        # Named by its label (dL/du), not unfolded.
                        up_named = symbol(f"symbackupstream{ghosts}", cons.shape, cons.dtype)
                        ghosts += 1
                        nm.extra({up_named: (up_label, up_tex)})
                    else:
                        up_named = nm.in_names(upstream)
                    product = up_named * nm.in_names(local)
                    chain_t = f"{up_label} · d{cname}/d{dname}"
                    chain_x = (rf"{up_tex} \frac{{\partial {ctex}}}{{\partial {dtex}}}")
                    ut, up, ux, uxp = nm.render(up_named)
                    conc_t = f"{_wrap(ut, up, NEG)} · {_wrap(lt, lp, NEG)}"
                    conc_x = rf"{_wrap(ux, uxp, MUL)} \cdot {_wrap(lx, lxp, MUL)}"
                terms.append(dict(kind="scalar", consumer=cons, chain=(chain_t, chain_x),
                                  concrete=(conc_t, conc_x), root=is_root,
                                  product=_weight(product),
                                  up=want(bp.table[cons]), local=want(local)))
            else:
                g = symbol(f"symbackupstream{ghosts}", cons.shape, cons.dtype)
                ghosts += 1
                seed = bp.table[cons] if is_root else g
                rule = cons.op.vjp(seed, cons, *cons.args, **cons.kw)[c.index]
                rule = as_expr(rule if rule is not None else 0.0)
                if rule.shape != node.shape:
                    rule = sum_to(rule, node.shape)
                nm.extra({g: (up_label, up_tex)})
                if nm.big:
                    shown = display_form(nm.in_names(rule), max_nodes=RENDER_NODES)
                else:
                    shown = nm.pretty_in_names(rule)
                rt, _, rx, _ = nm.render(shown)
                terms.append(dict(kind="tensor", consumer=cons, chain=(rt, rx)))
        total = bp.table[node]
        if nm.big or nm.tree_size(total) > MAX_TREE:
            # Written in the earlier entries' names (dL/dU), not expanded into a tree.
            nm.name_grads(bp.steps, bp.table)
            shown_total = nm.local_form(total)
        else:
            shown_total = nm.pretty_in_names(total)
            if nm.tree_size(shown_total) > MAX_TREE:  # the display form unfolded it
                nm.name_grads(bp.steps, bp.table)
                shown_total = nm.local_form(total)
        tt, _, tx, _ = nm.render(shown_total)
        # A single scalar term already reads as the total (3 · c); show the total only
        # when the display simplification made it simpler (E2: … = a − y).
        show = not (len(terms) == 1 and terms[0]["kind"] in ("scalar", "seed")
                    and _weight(shown_total) >= terms[0].get("product", (0, 0)))
        entry_specs.append((node, label, label_tex, terms, tt, tx, want(total), show))

    values: list[Any] | None = None
    at_names: dict[str, Any] | None = None
    if at is not None:
        values, at_names = _evaluate(y, items, wanted, at)

    def val(i: int) -> Any:
        return None if values is None else values[i]

    forward = [Forward(n, nm.text[n], nm.tex[n], t, x, val(i)) for n, t, x, i in forward_specs]
    entries = []
    for node, label, label_tex, terms, tt, tx, ti, show in entry_specs:
        recs = []
        for d in terms:
            if d["kind"] == "seed":
                recs.append(Term(node, "", "", "1", "1",
                                 _num_text(val(d["value"])) if values else "",
                                 _num_latex(val(d["value"])) if values else ""))
            elif d["kind"] == "scalar":
                nt = nx = ""
                if values is not None:
                    if d["root"]:
                        nt, nx = _num_text(val(d["local"])), _num_latex(val(d["local"]))
                    else:
                        nt = f"{_num_text(val(d['up']))} · {_num_text(val(d['local']))}"
                        nx = rf"{_num_latex(val(d['up']))} \cdot {_num_latex(val(d['local']))}"
                recs.append(Term(d["consumer"], d["chain"][0], d["chain"][1],
                                 d["concrete"][0], d["concrete"][1], nt, nx))
            elif d["kind"] == "more":
                n = d["count"]
                recs.append(Term(node, f"... ({n} more terms)",
                                 rf"\dots\ (\text{{{n} more terms}})"))
            else:
                recs.append(Term(d["consumer"], d["chain"][0], d["chain"][1]))
        entries.append(Entry(node, label, label_tex, tuple(recs), tt, tx, val(ti), node.shape,
                             show))
    return Explanation(y, tuple(items), forward, entries, nm.root, at_names, bp,
                       forward_cut, entries_cut)


def _evaluate(y: Expr, wrt: Sequence[Expr], exprs: Sequence[Expr],
              at: Mapping[Any, Any]) -> tuple[list[Any], dict[str, Any]]:
    """Every expression's value at ``at`` through one compiled function (``sb.lambdify``)."""
    from .codegen import lambdify

    syms = free_symbols(y, *wrt, *exprs)
    by_name: dict[str, Any] = {}
    for k, v in at.items():
        key = k.name if isinstance(k, Expr) and k.is_symbol else k
        if not isinstance(key, str):
            raise SymbackError(f"explain: at= keys must be symbol names or symbols, not {k!r}")
        by_name[key] = v
    missing = [s.name for s in syms if s.name not in by_name]
    if missing:
        raise SymbackError("explain: at= has no value for " + ", ".join(missing))
    fn = lambdify(syms, list(exprs))
    out = fn(*[by_name[s.name] for s in syms])
    return [np.asarray(v) for v in out], {s.name: by_name[s.name] for s in syms}

