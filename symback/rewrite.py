"""Graph rewriting by rule tables: patterns over ops, an iterative fixed-point engine.

A :class:`Rule` pairs a pattern (:class:`P` for an op applied to
sub-patterns, :class:`Var` to bind any node, :class:`Lit` for a constant
value) with a function of the bound variables that returns a replacement
``Expr`` or ``None`` to decline (room for shape and domain guards).
A :class:`RuleSet` is a named tuple of rules; sets compose with ``+``.

:func:`rewrite` rebuilds the DAG bottom-up in topological order with a memo,
applies rules at each node until none fires (bounded), and rewrites any new
nodes a rule builds too. Interning collapses equal results. No recursion.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Sequence

from .errors import SymbackError
from .graph import Expr, Op, rebuild, toposort
from .ops import REGISTRY


@dataclass(frozen=True)
class Var:
    """Binds any node (optionally only nodes passing ``test``) to ``name``."""

    name: str
    test: Callable[[Expr], bool] | None = None


@dataclass(frozen=True)
class Lit:
    """Matches a constant (or broadcast constant) whose every entry equals ``value``."""

    value: float


@dataclass(frozen=True)
class P:
    """Matches a node of op ``op`` (an ``Op`` or its registry name) with argument patterns.

    ``attrs`` (optional) must match the node's attributes exactly. ``bind``
    binds the whole matched node to a name as well.
    """

    op: Op | str
    args: tuple[Any, ...] = ()
    attrs: dict[str, Any] | None = None
    bind: str | None = None

    def __init__(self, op: Op | str, *args: Any, attrs: dict[str, Any] | None = None,
                 bind: str | None = None) -> None:
        object.__setattr__(self, "op", op)
        object.__setattr__(self, "args", args)
        object.__setattr__(self, "attrs", attrs)
        object.__setattr__(self, "bind", bind)

    def resolved_op(self) -> Op:
        if isinstance(self.op, Op):
            return self.op
        if self.op not in REGISTRY:
            raise SymbackError(f"rewrite pattern names an unknown op {self.op!r}")
        return REGISTRY[self.op]


Pattern = Any  # P | Var | Lit


def match(pattern: Pattern, node: Expr, env: dict[str, Expr] | None = None
          ) -> dict[str, Expr] | None:
    """Bind the pattern's variables against ``node`` (iterative), or ``None``."""
    from .ops.elementwise import _is_const

    env = {} if env is None else dict(env)
    stack: list[tuple[Pattern, Expr]] = [(pattern, node)]
    while stack:
        pat, n = stack.pop()
        if isinstance(pat, Var):
            if pat.test is not None and not pat.test(n):
                return None
            if pat.name in env and env[pat.name] is not n:
                return None
            env[pat.name] = n
        elif isinstance(pat, Lit):
            if not _is_const(n, pat.value):
                return None
        elif isinstance(pat, P):
            if n.op is not pat.resolved_op() or len(n.args) != len(pat.args):
                return None
            if pat.attrs is not None:
                kw = n.kw
                if any(kw.get(k) != v for k, v in pat.attrs.items()):
                    return None
            if pat.bind is not None:
                if pat.bind in env and env[pat.bind] is not n:
                    return None
                env[pat.bind] = n
            stack.extend(zip(pat.args, n.args))
        else:
            raise SymbackError(f"not a pattern: {pat!r}")
    return env


@dataclass(frozen=True)
class Rule:
    """``pattern`` → ``build(**bindings)``; ``build`` may return ``None`` to decline."""

    pattern: Pattern
    build: Callable[..., Expr | None]
    name: str = ""
    doc: str = ""

    def apply(self, node: Expr) -> Expr | None:
        env = match(self.pattern, node)
        if env is None:
            return None
        out = self.build(**env)
        if out is None or out is node:
            return None
        if out.shape != node.shape:  # a rule must never change a shape
            raise SymbackError(
                f"rewrite rule {self.name or self.pattern!r} changed a shape "
                f"{node.shape} -> {out.shape}")
        return out


@dataclass(frozen=True)
class RuleSet:
    """A named table of rules; ``a + b`` is a set with both tables."""

    name: str
    rules: tuple[Rule, ...] = field(default_factory=tuple)

    def __add__(self, other: "RuleSet") -> "RuleSet":
        return RuleSet(f"{self.name}+{other.name}", self.rules + other.rules)

    def __iter__(self) -> Any:
        return iter(self.rules)

    def _index(self) -> dict[Op | None, list[Rule]]:
        idx: dict[Op | None, list[Rule]] = {}
        for r in self.rules:
            key = r.pattern.resolved_op() if isinstance(r.pattern, P) else None
            idx.setdefault(key, []).append(r)
        return idx


def rewrite(roots: Expr | Sequence[Expr], rules: RuleSet | Iterable[Rule],
            max_steps: int = 10_000_000) -> Any:
    """Apply ``rules`` everywhere below ``roots`` until no rule fires.

    Returns the rewritten root (or list of roots). Iterative; each node is
    rewritten once thanks to the memo; ``max_steps`` bounds total rule firings.
    """
    single = isinstance(roots, Expr)
    rlist: list[Expr] = [roots] if single else list(roots)  # type: ignore[list-item]
    rs = rules if isinstance(rules, RuleSet) else RuleSet("rules", tuple(rules))
    index = rs._index()
    generic = index.get(None, [])
    memo: dict[Expr, Expr] = {}
    steps = 0

    def fire(node: Expr) -> Expr | None:
        for rule in index.get(node.op, []) + generic:
            out = rule.apply(node)
            if out is not None:
                return out
        return None

    # Each work item is a node to canonicalise; a node is done when its
    # arguments are done and no rule fires at it.
    stack: list[Expr] = list(reversed(rlist))
    while stack:
        node = stack[-1]
        if node in memo:
            stack.pop()
            continue
        pending = [a for a in node.args if a not in memo]
        if pending:
            stack.extend(pending)
            continue
        new = rebuild(node, [memo[a] for a in node.args])
        if new is not node and new in memo:
            memo[node] = memo[new]
            stack.pop()
            continue
        out = fire(new)
        if out is None:
            memo[node] = new
            memo.setdefault(new, new)
            stack.pop()
            continue
        steps += 1
        if steps > max_steps:
            raise SymbackError(f"rewrite: more than {max_steps} rule firings; a rule loops")
        if out in memo:
            memo[node] = memo[out]
            memo.setdefault(new, memo[out])
            stack.pop()
            continue
        # Rewrite the replacement first (its new nodes too); when ``node`` is on
        # top again the same rule fires and finds the finished replacement.
        stack.append(out)
    out_roots = [memo[r] for r in rlist]
    return out_roots[0] if single else out_roots


def count_ops(roots: Iterable[Expr]) -> dict[str, int]:
    """How many nodes of each op lie below ``roots`` (handy in tests of rules)."""
    counts: dict[str, int] = {}
    for n in toposort(list(roots)):
        counts[n.op.name] = counts.get(n.op.name, 0) + 1
    return counts
