"""The symbol-to-symbol reverse pass (Goodfellow, Bengio and Courville, *Deep Learning*, 6.5).

A grad table is filled in reverse topological order over the nodes between
``y`` and the ``wrt`` nodes: each node's pending contributions (one per
consumer) are summed once, then its op's VJP turns that sum into one
cotangent per argument. Cotangents are ordinary nodes built with symback ops,
so they land in the same interned graph as the forward pass and can be
printed, compiled or differentiated again. Each filled entry is recorded as a
:class:`Step` for ``explain``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple, Sequence

import numpy as np

from .errors import ShapeError, SymbackError
from .graph import Expr, as_expr, const, gc_paused, ones, substitute, symbol, toposort, zeros
from .ops.elementwise import add
from .ops.structural import sum_to
from .shapes import fmt


class Contribution(NamedTuple):
    """One term of a grad-table entry: ``consumer``'s VJP sent ``value`` through argument ``index``."""

    consumer: Expr
    index: int
    value: Expr


class Step(NamedTuple):  # named tuples: one of each per gradient node, built cheaply
    """One filled grad-table entry: ``grad[node] = Σ contributions`` (``total``)."""

    node: Expr
    contributions: tuple[Contribution, ...]
    total: Expr


@dataclass(frozen=True)
class Backprop:
    """The outcome of one reverse pass: the grad table and the steps that filled it."""

    y: Expr
    seed: Expr
    table: dict[Expr, Expr]
    steps: tuple[Step, ...]

    def grad_of(self, node: Expr) -> Expr:
        """∂y/∂node (zeros of its shape if y does not depend on it)."""
        g = self.table.get(node)
        return zeros(node.shape) if g is None else g


def _as_wrt(wrt: Any) -> tuple[list[Expr], bool]:
    if isinstance(wrt, Expr):
        return [wrt], True
    if isinstance(wrt, (list, tuple)):
        items = list(wrt)
        for i, w in enumerate(items):
            if not isinstance(w, Expr):
                raise SymbackError(f"grad: wrt[{i}] is a {type(w).__name__}, not an expression")
        return items, False
    raise SymbackError(f"grad: wrt must be an expression or a list of them, not {type(wrt).__name__}")


def backprop(y: Expr, wrt: Sequence[Expr], seed: Expr | None = None, *,
             record: bool = True) -> Backprop:
    """Run the reverse pass from ``y`` (cotangent ``seed``, default 1) down to ``wrt``.

    Only nodes that lie on a path from a ``wrt`` node to ``y`` are visited; each
    op's VJP is called once per visited node. ``record=False`` keeps no ``Step``s
    (``grad`` needs only the table; ``explain`` reads the steps).

    The grad table maps each visited node v to ∂y/∂v (an expression of v's shape).

    >>> import symback as sb
    >>> a, b = sb.symbols("a b")
    >>> u = a * b
    >>> bp = sb.backprop(sb.sin(u), [a])
    >>> bp.grad_of(u)  # ∂ sin(u)/∂u
    cos(a * b)
    >>> bp.grad_of(a) is sb.grad(sb.sin(u), a)
    True
    """
    with gc_paused():  # the pass builds no cycles; see graph.gc_paused
        return _backprop(y, wrt, seed, record)


def _backprop(y: Expr, wrt: Sequence[Expr], seed: Expr | None, record: bool = True,
              keep: set[Expr] | None = None, order: list[Expr] | None = None) -> Backprop:
    """The reverse pass; with ``keep``, the grad table holds only those nodes' entries
    (``grad`` and ``vjp`` read only the ``wrt`` entries: the others would keep every
    intermediate total alive until the pass ends, 10 MB on W2 at n = 10,000); ``order``:
    ``toposort([y])``, if the caller has it."""
    y = as_expr(y)
    if seed is None:
        seed = ones(y.shape)
    seed = as_expr(seed)
    if seed.shape != y.shape:
        raise ShapeError(
            f"vjp: the cotangent has shape {fmt(seed.shape)} but y has shape {fmt(y.shape)}",
            op="vjp", shapes=(seed.shape, y.shape))
    if order is None:
        order = toposort([y])
    relevant: set[Expr] = set(wrt)
    for node in order:  # forward sweep: which nodes depend on some wrt node
        for a in node.args:
            if a in relevant:
                relevant.add(node)
                break
    # node -> its contributions so far: Contribution records when the steps are recorded,
    # else just the cotangents (one tuple less per gradient term)
    pending: dict[Expr, list[Any]] = {}
    if y in relevant:
        pending[y] = [Contribution(y, -1, seed) if record else seed]
    table: dict[Expr, Expr] = {}
    steps: list[Step] = []
    pop = pending.pop
    for node in reversed(order):
        contribs = pop(node, None)
        if contribs is None:
            continue
        if record:
            total = contribs[0].value
            for c in contribs[1:]:
                total = add(total, c.value)
        else:
            total = contribs[0]
            for c in contribs[1:]:
                total = add(total, c)
        if node.dtype == "float32" and total.is_const and total.weak:
            # A Python-number cotangent would turn into a float64 array once broadcast
            # (by a reduction's VJP); give it the node's dtype so float32 stays float32.
            total = const(np.asarray(total.value, dtype=np.float32))
        if keep is None or node in keep:
            table[node] = total
        if record:
            steps.append(Step(node, tuple(contribs), total))
        args = node.args
        for a in args:
            if a in relevant:
                break
        else:  # a leaf, or a wrt node that depends on no other wrt node
            continue
        op = node.op
        if op.vjp is None or op.nondifferentiable:
            raise SymbackError(
                f"grad: the op '{op.name}' has no derivative, but {node} lies between y and wrt"
            )
        attrs = node.attrs
        cots = (op.vjp(total, node, *args, **dict(attrs)) if attrs
                else op.vjp(total, node, *args))
        if len(cots) != len(args):  # an internal contract, checked for op authors
            raise SymbackError(f"{op.name}: vjp returned {len(cots)} cotangents "
                               f"for {len(args)} arguments")
        i = 0
        for arg, cot in zip(args, cots):
            if cot is not None and arg in relevant:
                if cot.__class__ is not Expr:
                    cot = as_expr(cot)
                if cot.shape != arg.shape:
                    cot = sum_to(cot, arg.shape)
                item = Contribution(node, i, cot) if record else cot
                entry = pending.get(arg)
                if entry is None:
                    pending[arg] = [item]
                else:
                    entry.append(item)
            i += 1
    return Backprop(y, seed, table, tuple(steps))


def stable_form(ys: Sequence[Expr], wrt: Sequence[Expr]
                ) -> tuple[list[Expr], list[Expr], dict[Expr, Expr] | None]:
    """The graph that gets differentiated: ``ys`` rewritten by ``CANONICAL + STABILIZE``.

    The reverse pass then derives its gradient from the stable form
    (log σ(x) → −softplus(−x), log det X → logdet X, ...), so the printed gradient
    is the one the compiled code computes, and it has no 0·∞ or ∞/∞ where the
    unstable form would overflow. The rewrite keeps every node it does not change,
    so the gradient nodes are appended to a graph that shares the rest with ``ys``.

    A ``wrt`` node that is not a leaf is held by a placeholder symbol while the
    rewrite runs (a rule could otherwise fold it away: ``log(σ(x))`` loses ``σ(x)``);
    returns ``(ys', wrt', back)`` where ``back`` maps placeholders back to the
    ``wrt`` nodes (``None`` when none was needed). If one ``wrt`` node depends on
    another, the graph is differentiated as written.
    """
    return _stable_form(ys, wrt)[:3]  # type: ignore[return-value]


def _stable_form(ys: Sequence[Expr], wrt: Sequence[Expr]
                 ) -> tuple[list[Expr], list[Expr], dict[Expr, Expr] | None, list[Expr] | None]:
    """:func:`stable_form`, and the toposort of ``ys'`` when the rewrite left the graph as
    it was and no placeholder was needed (``None`` otherwise)."""
    from .rules import _differentiable_form, differentiable_form

    inner = [w for w in wrt if w.args]
    if not inner:
        out, order = _differentiable_form(ys)
        return out, list(wrt), None, order
    wset = set(wrt)
    below = toposort([a for w in inner for a in w.args])  # strictly under an inner wrt node
    if any(n in wset for n in below):
        return list(ys), list(wrt), None, None
    holders = {w: symbol(f"symbackwrt{k}", w.shape, w.dtype) for k, w in enumerate(inner)}
    subbed = substitute(list(ys), holders)
    out = differentiable_form(subbed)
    return out, [holders.get(w, w) for w in wrt], {h: w for w, h in holders.items()}, None


def _restore(results: list[Expr], back: dict[Expr, Expr] | None) -> list[Expr]:
    return results if back is None else list(substitute(results, back))


def grad(y: Any, wrt: Any) -> Any:
    """∂y/∂wrt for a scalar ``y``: one ``Expr`` per ``wrt``, each of its ``wrt``'s shape.

    The results are new nodes in ``y``'s graph that share its forward nodes.
    An input ``y`` does not depend on gets zeros of its shape. The derivative is
    taken of ``y``'s stable form (:func:`stable_form`: the ``CANONICAL`` and
    ``STABILIZE`` rules of :mod:`symback.rules`), so ∂/∂x Σ log σ(x) is σ(−x),
    finite at x = −1000, and ∂ log det X/∂X is X⁻ᵀ without det X in between.

    >>> import symback as sb
    >>> x, y = sb.symbols("x y")
    >>> sb.grad(x * y + sb.sin(x), x)
    cos(x) + y
    """
    y = as_expr(y)
    items, single = _as_wrt(wrt)
    if y.shape != ():
        raise SymbackError(
            f"grad: y must be a scalar, but it has shape {fmt(y.shape)}; "
            "use sb.jacobian(y, x) for the derivative of a non-scalar, or sum it first"
        )
    (y,), witems, back, order = _stable_form([y], items)
    with gc_paused():  # the pass builds no cycles; see graph.gc_paused
        bp = _backprop(y, witems, None, False, set(witems), order)
    out = _restore([bp.grad_of(w) for w in witems], back)
    return out[0] if single else out


def vjp(y: Any, wrt: Any, cotangent: Any) -> Any:
    """The vector-Jacobian product cotangentᵀ ∂y/∂wrt for any ``y`` (``cotangent`` has y's shape).

    Like :func:`grad`, of ``y``'s stable form.

    Math: for y = f(x), vjp(y, x, u) = Σᵢ uᵢ ∂yᵢ/∂x, with x's shape (one reverse pass).

    >>> import numpy as np
    >>> import symback as sb
    >>> x, u = sb.vector("x", 2), sb.vector("u", 2)
    >>> d = sb.vjp(x * x, x, u)  # the Jacobian of x ⊙ x is diag(2 x)
    >>> sb.lambdify([x, u], d)(np.array([1.0, 2.0]), np.array([1.0, 1.0]))
    array([2., 4.])
    """
    y = as_expr(y)
    items, single = _as_wrt(wrt)
    (y,), witems, back, order = _stable_form([y], items)
    with gc_paused():
        bp = _backprop(y, witems, as_expr(cotangent), False, set(witems), order)
    out = _restore([bp.grad_of(w) for w in witems], back)
    return out[0] if single else out
