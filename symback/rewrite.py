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
from operator import attrgetter
from typing import Any, Callable, Iterable, Sequence

from .errors import SymbackError
from .graph import Expr, Op, gc_paused, rebuild, toposort
from .ops import REGISTRY


_op_of = attrgetter("op")


@dataclass(frozen=True)
class Var:
    """Binds any node (optionally only nodes passing ``test``) to ``name``.

    A test may declare ``test.only_ops`` (op names): it can pass only for nodes of those
    ops, so a rule is skipped by the ops it sees without calling the test (``_number``
    holds only for constants: W3's 2,000 sums of products skip the factoring rule so).
    """

    name: str
    test: Callable[[Expr], bool] | None = None

    def admits(self, op: Op) -> bool:
        """False if no node of ``op`` can bind here (by the test's ``only_ops``)."""
        only = getattr(self.test, "only_ops", None)
        if only is None:
            return True
        return op.name in only


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
        op = REGISTRY[self.op]
        object.__setattr__(self, "op", op)  # resolve a name once (rules run on every node)
        return op


Pattern = Any  # P | Var | Lit


def match(pattern: Pattern, node: Expr, env: dict[str, Expr] | None = None
          ) -> dict[str, Expr] | None:
    """Bind the pattern's variables against ``node`` (iterative), or ``None``."""
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
            from .ops.elementwise import _is_const

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

    def _quick_reject(self, node: Expr) -> bool:
        """A cheap structural test before :func:`match`: every op, arity, attribute, test
        and literal of the pattern, without binding (most tries fail here, and a full
        match costs a dict and a stack)."""
        checks = self.__dict__.get("_checks")
        if checks is None:
            checks = []
            todo: list[tuple[tuple[int, ...], Any]] = [((), self.pattern)]
            while todo:
                path, pat = todo.pop(0)  # breadth first: the cheap, selective tests first
                if isinstance(pat, P):
                    checks.append((path, 0, (pat.resolved_op(), len(pat.args))))
                    todo.extend((path + (i,), a) for i, a in enumerate(pat.args))
                elif isinstance(pat, Var) and pat.test is not None:
                    checks.append((path, 1, pat.test))
            checks = tuple(checks)
            object.__setattr__(self, "_checks", checks)
        for path, kind, what in checks:
            n = node
            for i in path:
                n = n.args[i]
            if kind == 0:
                if n.op is not what[0] or len(n.args) != what[1]:
                    return True
            elif not what(n):
                return True
        return False

    def _may_match2(self, sig2: tuple[Any, ...]) -> bool:
        """Can the pattern match a node whose ops two levels down are ``sig2`` =
        (op, ((arg op, (its arguments' ops)), ...))?"""
        pat = self.pattern
        for pa, (aop, gops) in zip(pat.args, sig2[1]):
            if not isinstance(pa, P):
                if isinstance(pa, Var) and not pa.admits(aop):
                    return False
                continue
            if pa.resolved_op() is not aop or len(pa.args) != len(gops):
                return False
            for ppa, gop in zip(pa.args, gops):
                if isinstance(ppa, P):
                    if ppa.resolved_op() is not gop:
                        return False
                elif isinstance(ppa, Var) and not ppa.admits(gop):
                    return False
        return True

    def _may_match(self, sig: tuple[Any, ...]) -> bool:
        """Can the pattern match a node whose op and argument ops are ``sig``?"""
        pat = self.pattern
        if not isinstance(pat, P):
            return True
        if sig[0] is not pat.resolved_op() or len(sig) - 1 != len(pat.args):
            return False
        return all(a.resolved_op() is op if isinstance(a, P)
                   else not isinstance(a, Var) or a.admits(op)
                   for a, op in zip(pat.args, sig[1:]))

    def apply(self, node: Expr) -> Expr | None:
        if self._quick_reject(node):
            return None
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
            max_steps: int = 10_000_000, *, order: Sequence[Expr] | None = None) -> Any:
    """Apply ``rules`` everywhere below ``roots`` until no rule fires.

    Returns the rewritten root (or list of roots). Iterative; each node is
    rewritten once thanks to the memo; ``max_steps`` bounds total rule firings.
    ``order`` may pass ``toposort(roots)`` when the caller already has it.
    """
    with gc_paused():  # the rewrite builds no cycles; see graph.gc_paused
        return _rewrite(roots, rules, max_steps, order)


def _rewrite(roots: Expr | Sequence[Expr], rules: RuleSet | Iterable[Rule],
             max_steps: int, order: Sequence[Expr] | None = None) -> Any:
    single = isinstance(roots, Expr)
    rlist: list[Expr] = [roots] if single else list(roots)  # type: ignore[list-item]
    rs = rules if isinstance(rules, RuleSet) else RuleSet("rules", tuple(rules))
    index = rs._index()
    generic = index.get(None, [])
    by_op = {op: rules_ + generic for op, rules_ in index.items() if op is not None}
    memo: dict[Expr, Expr] = {}
    fired: dict[Expr, Expr] = {}  # node -> what a rule made of it (each rule runs once)
    steps = 0

    # The rules worth trying at a node depend first on its op and its arguments' ops:
    # cache them per such signature, so most nodes cost one dict lookup.
    candidates: dict[tuple[Any, ...], list[Rule]] = {}

    # A node that has candidates by its arguments' ops is filtered once more by the ops
    # one level further down (W3's sums of products meet the cross-entropy rules there).
    deep: dict[tuple[Any, ...], list[Rule]] = {}

    def fire(node: Expr, rules_: list[Rule] | None = None) -> Expr | None:
        if rules_ is None:  # (the sweep below passes the candidates it has found)
            if not generic and node.op not in by_op:
                return None  # no rule for this op: the common case, decided in one lookup
            rules_ = candidates_of(node)
            if not rules_:
                return None
        if not generic:
            sig2 = (node.op, tuple([(a.op, tuple(map(_op_of, a.args))) for a in node.args]))
            narrowed = deep.get(sig2)
            if narrowed is None:
                narrowed = deep[sig2] = [r for r in rules_ if r._may_match2(sig2)]
            rules_ = narrowed
        for rule in rules_:
            out = rule.apply(node)
            if out is not None:
                return out
        return None

    def candidates_of(node: Expr) -> list[Rule]:
        sig = (node.op, *map(_op_of, node.args))  # (map: no comprehension frame per node)
        rules_ = candidates.get(sig)
        if rules_ is None:
            rules_ = candidates[sig] = [r for r in by_op.get(node.op, generic)
                                        if r._may_match(sig)]
        return rules_

    # The common case first, in one forward sweep: a node whose arguments are unchanged
    # and at which no rule could match (by op and argument ops) is its own result.
    # Everything else goes through the general loop below, which may build new nodes.
    for node in toposort(rlist) if order is None else order:
        if node in memo:
            continue
        for a in node.args:
            if memo[a] is not a:
                break
        else:
            if not generic and node.op not in by_op:
                memo[node] = node
                continue
            found = candidates_of(node)
            if not found:
                memo[node] = node
                continue
            out = fire(node, found)
            if out is None:  # rules were tried and none applies
                memo[node] = node
                continue
            steps += 1
            fired[node] = out  # _settle takes it from here
        steps = _settle(node, memo, fired, fire, steps, max_steps)
    out_roots = [memo[r] for r in rlist]
    return out_roots[0] if single else out_roots


def _settle(root: Expr, memo: dict[Expr, Expr], fired: dict[Expr, Expr],
            fire: Callable[[Expr], Expr | None], steps: int, max_steps: int) -> int:
    """Rewrite ``root`` (and whatever its rewrites build) into ``memo``; returns ``steps``."""
    # Each work item is a node to canonicalise; a node is done when its
    # arguments are done and no rule fires at it.
    stack: list[Expr] = [root]
    while stack:
        node = stack[-1]
        if node in memo:
            stack.pop()
            continue
        args = node.args
        if args:
            margs = [memo.get(a) for a in args]
            if None in margs:  # (identity tests: nodes compare by identity)
                stack.extend([a for a, m in zip(args, margs) if m is None])
                continue
            for a, m in zip(args, margs):
                if a is not m:
                    new = rebuild(node, margs)
                    break
            else:
                new = node
            if new is not node and new in memo:
                memo[node] = memo[new]
                stack.pop()
                continue
        else:
            new = node
        out = fired.get(new)
        if out is None:
            out = fire(new)
            if out is None:
                memo[node] = new
                memo.setdefault(new, new)
                stack.pop()
                continue
            steps += 1
            if steps > max_steps:
                raise SymbackError(f"rewrite: more than {max_steps} rule firings; a rule loops")
            fired[new] = out
        if out in memo:
            memo[node] = memo[out]
            memo.setdefault(new, memo[out])
            stack.pop()
            continue
        # Rewrite the replacement first (its new nodes too); when ``node`` is on
        # top again it finds the finished replacement in ``fired`` and ``memo``.
        stack.append(out)
    return steps


def count_ops(roots: Iterable[Expr]) -> dict[str, int]:
    """How many nodes of each op lie below ``roots`` (handy in tests of rules)."""
    counts: dict[str, int] = {}
    for n in toposort(list(roots)):
        counts[n.op.name] = counts.get(n.op.name, 0) + 1
    return counts
