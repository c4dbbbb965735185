"""Random tensor expression DAGs for property-based tests (hypothesis and plain NumPy RNGs).

A :class:`GraphBuilder` grows a graph one op at a time from a pool of earlier
nodes, so subexpressions are reused on purpose (shared nodes, several paths to
one leaf), shapes broadcast, and symbolic sizes (``"n"``, ``"m"``) appear in
some graphs. The input values are drawn *first*, and every node's value is
computed as the graph grows (with the independent reference interpreter), so
each op gets arguments inside its safe domain: ``log`` and ``sqrt`` see values
≥ 0.2 (a positive adapter such as ``softplus(x) + 0.2`` is put in front when
needed), ``exp`` sees |x| ≤ 3, ``tan`` |x| ≤ 1.2, and the kinks of ``relu``,
``abs``, ``maximum`` and comparisons stay at least ``KINK_GAP`` away.

``OPS`` has one entry per registered op (name -> how to build a node with it,
and its kink quantity if it has one); ``SKIPPED`` lists ops left out on purpose,
with the reason. A test fails when a registered op is in neither table.

The same builder runs under hypothesis (:func:`dags`, shrinkable) and from a
NumPy generator (:func:`random_case`, for coverage checks and long runs).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from itertools import permutations
from typing import Any, Callable, Sequence

import numpy as np
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from reference_interpreter import evaluate

import symback as sb
from symback.ops.contract import vdot
from symback.errors import ShapeError
from symback.graph import Expr, broadcast_to
from symback.ops import REGISTRY
from symback.shapes import broadcast

# --------------------------------------------------------------------------- run modes

def _long_scale() -> float:
    raw = os.environ.get("SYMBACK_LONG", "").strip()
    try:
        return float(raw) if raw else 0.0
    except ValueError:
        return 1.0


#: SYMBACK_LONG=1 (or ``pytest --long``): the long mode; a fraction such as 0.1 scales it down
LONG_SCALE = _long_scale()
LONG = LONG_SCALE > 0

#: kinks (relu at 0, ties of maximum, comparison boundaries) stay this far away
KINK_GAP = 0.05
#: symbolic sizes used by "symbolic" graphs, and their values at call time
SIZES = {"n": 4, "m": 2}


def fuzz_settings(ci: int, long: int) -> settings:
    """Hypothesis settings: ``ci`` derandomised examples, or ``long`` random ones in long mode."""
    health = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much,
              HealthCheck.large_base_example]
    if LONG:
        return settings(max_examples=max(1, int(long * LONG_SCALE)), derandomize=False, database=None, deadline=None,
                        suppress_health_check=health, print_blob=True)
    return settings(max_examples=ci, derandomize=True, database=None, deadline=None,
                    suppress_health_check=health, print_blob=True)


# --------------------------------------------------------------------------- choosers


class Chooser:
    """The source of every random decision the builder makes."""

    def integer(self, lo: int, hi: int) -> int:
        raise NotImplementedError

    def choice(self, seq: Sequence[Any]) -> Any:
        return seq[self.integer(0, len(seq) - 1)]

    def coin(self, p: float = 0.5) -> bool:
        return self.integer(0, 999) < int(p * 1000)


class HypothesisChooser(Chooser):
    def __init__(self, draw: Callable[[Any], Any]) -> None:
        self.draw = draw

    def integer(self, lo: int, hi: int) -> int:
        return int(self.draw(st.integers(lo, hi)))


class RngChooser(Chooser):
    def __init__(self, rng: np.random.Generator) -> None:
        self.rng = rng

    def integer(self, lo: int, hi: int) -> int:
        return int(self.rng.integers(lo, hi + 1))


# --------------------------------------------------------------------------- the case


class FuzzCase:
    """A random graph: its leaves (all of them, as lambdify args), their values, and outputs.

    ``outputs`` are the sinks of the grown graph (nodes no other grown node
    uses), so every op the builder drew matters; ``y`` is the newest of them.
    """

    def __init__(self, leaves: list[Expr], values: list[np.ndarray], outputs: list[Expr],
                 dtype: str, ops_used: set[str] | None = None) -> None:
        self.leaves = leaves
        self.values = values
        self.outputs = outputs
        self.dtype = dtype
        self.ops_used = ops_used or set()

    def _repr_pretty_(self, p: Any, cycle: bool) -> None:  # hypothesis / IPython
        p.text(repr(self))

    @property
    def y(self) -> Expr:
        return self.outputs[-1]

    @property
    def env(self) -> dict[Expr, np.ndarray]:
        return dict(zip(self.leaves, self.values))

    def __repr__(self) -> str:
        shapes = ", ".join(f"{s.name}{s.shape}" for s in self.leaves)
        outs = []
        for o in self.outputs:
            text = repr(o)
            outs.append(f"{o.shape}: " + (text[:400] + "…" if len(text) > 400 else text))
        return f"FuzzCase({self.dtype}; leaves {shapes}; outputs " + "; ".join(outs) + ")"


# --------------------------------------------------------------------------- builder


def _broadcasts(*shapes: tuple[Any, ...]) -> bool:
    try:
        broadcast("fuzz", *shapes)
        return True
    except ShapeError:
        return False


class GraphBuilder:
    """Grows one random graph; see the module docstring."""

    def __init__(self, ch: Chooser, seed: int, dtype: str = "float64",
                 symbolic: bool = False, max_leaves: int = 5) -> None:
        self.ch = ch
        self.rng = np.random.default_rng(seed)
        self.dtype = dtype
        # the first choice is what hypothesis shrinks to: 2, not the degenerate 1
        self.dims: tuple[Any, ...] = (2, 3, 1) + (("n", "m") if symbolic else ())
        self.max_leaves = max_leaves
        self.leaves: list[Expr] = []
        self.values: list[np.ndarray] = []
        self.pool: list[Expr] = []
        self.cache: dict[Expr, np.ndarray] = {}
        self.ops_used: set[str] = set()

    # values ---------------------------------------------------------------
    def val(self, e: Expr) -> np.ndarray:
        """The float64 value of ``e`` (reference interpreter)."""
        return evaluate([e], dict(zip(self.leaves, self.values)), self.cache)[0]

    def ok(self, e: Expr, lim: float = 1e3) -> bool:
        v = self.val(e)
        return bool(np.all(np.isfinite(v)) and np.max(np.abs(v), initial=0.0) <= lim)

    # shapes ---------------------------------------------------------------
    def shape(self, ndim: int | None = None) -> tuple[Any, ...]:
        if ndim is None:
            ndim = self.ch.choice((2, 1, 0, 2, 1, 3, 2))
        return tuple(self.ch.choice(self.dims) for _ in range(ndim))

    def compatible_shape(self, shape: tuple[Any, ...]) -> tuple[Any, ...]:
        """A shape that broadcasts with ``shape``: trailing part, some dims set to 1, maybe wider."""
        keep = self.ch.integer(0, len(shape))
        out = [1 if self.ch.coin(0.3) else d for d in shape[len(shape) - keep:]]
        if self.ch.coin(0.15) and len(shape) < 3:
            out = [self.ch.choice((2, 3))] + list(shape)
        return tuple(out)

    # leaves and constants ---------------------------------------------------
    def leaf(self, shape: tuple[Any, ...] | None = None) -> Expr:
        if len(self.leaves) >= self.max_leaves:
            fits = [s for s in self.leaves if shape is None or s.shape == shape]
            if fits:
                return self.ch.choice(fits)
        if shape is None:
            shape = self.shape()
        x = sb.tensor(f"x{len(self.leaves)}", shape, dtype=self.dtype)
        real = tuple(SIZES[d] if isinstance(d, str) else d for d in shape)
        v = self.rng.uniform(-2.0, 2.0, size=real)
        if self.dtype == "float32":
            v = v.astype(np.float32)
        self.leaves.append(x)
        self.values.append(v)
        self.pool.append(x)
        return x

    def constant(self, shape: tuple[Any, ...] = ()) -> Expr | float | int:
        """A weak Python number (sometimes 0 or 1, to exercise build-time identities) or an array."""
        if shape and all(isinstance(d, int) for d in shape) and self.ch.coin(0.3):
            arr = np.round(self.rng.uniform(-2, 2, size=shape), 2)
            return sb.const(arr.astype(np.float32) if self.dtype == "float32" else arr)
        return self.ch.choice((0.5, 2.0, -1.5, 3.0, 2, -1, 1.0, 0.0, 0.25))

    # picking ----------------------------------------------------------------
    def pick(self, pred: Callable[[Expr], bool] | None = None) -> Expr | None:
        cands = [n for n in self.pool if pred is None or pred(n)]
        if not cands:
            return None
        if self.ch.coin(0.5):
            return cands[-1]  # the newest: grows depth
        return self.ch.choice(cands)  # any earlier node: sharing

    def operand(self, pred: Callable[[Expr], bool] | None = None,
                shape: tuple[Any, ...] | None = None) -> Expr:
        """A node from the pool (most of the time) or a new leaf."""
        if self.pool and self.ch.coin(0.8):
            n = self.pick(pred)
            if n is not None:
                return n
        if shape is None and pred is not None:
            for _ in range(8):
                s = self.shape()
                probe = sb.tensor("probe", s)
                if pred(probe):
                    shape = s
                    break
            else:
                return self.pick_or_leaf(pred, self.shape(1))
        return self.leaf(shape)

    def pick_or_leaf(self, pred: Callable[[Expr], bool], shape: tuple[Any, ...]) -> Expr:
        """A pool node passing ``pred``, else a new leaf of ``shape``."""
        n = self.pick(pred)
        return n if n is not None else self.leaf(shape)

    def partner(self, a: Expr, kind: str = "any") -> Any:
        """A second operand that broadcasts with ``a``: pool node, new leaf, or constant."""
        r = self.ch.integer(0, 9)
        if r < 5:
            n = self.pick(lambda n: _broadcasts(n.shape, a.shape))
            if n is not None:
                return n
        if r < 8:
            return self.leaf(self.compatible_shape(a.shape))
        return self.constant(self.compatible_shape(a.shape) if self.ch.coin(0.5) else ())

    # domain adapters --------------------------------------------------------
    def bounded(self, e: Expr, lim: float) -> Expr:
        """``e`` if |e| ≤ lim everywhere, else a squashed version of it."""
        if self.ok(e, lim):
            return e
        k = self.ch.integer(0, 2)
        if k == 0:
            return lim * sb.tanh(e)
        if k == 1:
            return lim * sb.sin(e)
        return lim * (2.0 * sb.sigmoid(e) - 1.0)

    def positive(self, e: Expr, lo: float = 0.2, hi: float = 50.0) -> Expr:
        """``e`` if lo ≤ e ≤ hi everywhere, else a positive adapter of it."""
        v = self.val(e)
        if np.all(np.isfinite(v)) and np.min(v, initial=np.inf) >= lo and \
                np.max(v, initial=0.0) <= hi:
            return e
        k = self.ch.integer(0, 3)
        if k == 0:
            return sb.softplus(self.bounded(e, 5.0)) + lo
        if k == 1:
            b = self.bounded(e, 3.0)
            return b * b + lo
        if k == 2:
            return sb.exp(self.bounded(e, 1.0)) + lo
        return sb.sigmoid(e) + lo

    def away_from_zero(self, e: Any, gap: float = KINK_GAP) -> Expr | None:
        """``e`` (or ``e`` plus a shift) with every entry at least ``gap`` from 0, else None."""
        for shift in (0.0, 0.5, -0.5, 1.25, -1.25):
            cand = e if shift == 0.0 else e + shift
            if isinstance(cand, Expr) and np.min(np.abs(self.val(cand)), initial=np.inf) >= gap:
                return cand
        return None

    def distinct(self, a: Expr, b: Any, gap: float = KINK_GAP) -> bool:
        """a and b (broadcast) differ by at least ``gap`` everywhere."""
        vb = self.val(b) if isinstance(b, Expr) else np.asarray(b, dtype=np.float64)
        return bool(np.min(np.abs(self.val(a) - vb), initial=np.inf) >= gap)

    # growth -----------------------------------------------------------------
    def step(self) -> Expr | None:
        names = [n for n in OPS if n in REGISTRY]
        for _ in range(4):
            name = self.ch.choice(names)
            try:
                node = OPS[name].build(self)
            except _Decline:
                node = None
            if node is None or not isinstance(node, Expr):
                continue
            if node.dtype == "bool" or not self.ok(node, 1e4):
                continue
            self.ops_used.add(name)
            if node not in self.pool:
                self.pool.append(node)
            return node
        return None

    def case(self, n_ops: int) -> FuzzCase:
        if not self.pool:
            self.leaf()
        for _ in range(n_ops):
            self.step()
        grown = [n for n in self.pool if not n.is_leaf]
        if not grown:
            grown = [sb.sin(self.pool[-1])]
        used: set[Expr] = set()
        for n in sb.toposort(grown):
            used.update(n.args)
        sinks = [n for n in grown if n not in used and sb.free_symbols(n)]
        if not sinks:
            sinks = [sb.sin(self.leaves[0])]
        return FuzzCase(list(self.leaves), list(self.values), sinks, self.dtype,
                        set(self.ops_used))


class _Decline(Exception):
    """An op's builder cannot use the operands it drew (the builder tries another op)."""


# --------------------------------------------------------------------------- op entries


@dataclass(frozen=True)
class Entry:
    """How the fuzzer builds a node of one op.

    ``build(builder)`` returns the new node (or None to decline); ``kink``, for
    ops that are not smooth, maps the argument values to an array whose sign
    changes exactly where the op switches branch.
    """

    build: Callable[[GraphBuilder], Any]
    kink: Callable[[list[np.ndarray]], np.ndarray] | None = None


def _diff_kink(a: list[np.ndarray]) -> np.ndarray:
    return np.asarray(a[0] - a[1])


def _zero_kink(a: list[np.ndarray]) -> np.ndarray:
    return np.asarray(a[0])


def _unary(fn: Callable[[Expr], Expr], prep: Callable[[GraphBuilder, Expr], Any] | None = None
           ) -> Callable[[GraphBuilder], Any]:
    def build(b: GraphBuilder) -> Any:
        x = b.operand()
        if prep is not None:
            x = prep(b, x)
            if x is None:
                return None
        return fn(x)
    return build


def _binary(fn: Callable[[Any, Any], Expr]) -> Callable[[GraphBuilder], Any]:
    def build(b: GraphBuilder) -> Any:
        a = b.operand()
        c = b.partner(a)
        return fn(a, c) if b.ch.coin(0.7) else fn(c, a)
    return build


def _div(b: GraphBuilder) -> Any:
    a = b.operand()
    if b.ch.coin(0.2):
        return 1.0 / b.positive(a, 0.3)
    c = b.partner(a)
    if isinstance(c, Expr):
        shifted = b.away_from_zero(c, 0.3)
        c = shifted if shifted is not None else b.positive(c, 0.3)
    elif abs(float(c)) < 0.3:
        c = 2.0
    return a / c


def _pow(b: GraphBuilder) -> Any:
    a = b.operand()
    k = b.ch.integer(0, 3)
    if k == 0:  # integer power of any (bounded) base
        return b.bounded(a, 3.0) ** b.ch.choice((2, 3, 2.0, 1))
    if k == 1:  # fractional or negative power of a positive base
        return b.positive(a, 0.3, 5.0) ** b.ch.choice((0.5, -1, -0.5, 1.5, 0))
    if k == 2:  # symbolic exponent
        e = b.partner(a)
        if not isinstance(e, Expr):
            e = b.leaf(b.compatible_shape(a.shape))
        return b.positive(a, 0.3, 5.0) ** b.bounded(e, 2.0)
    return b.ch.choice((2.0, 0.5)) ** b.bounded(a, 3.0)


def _kinked_unary(fn: Callable[[Expr], Expr]) -> Callable[[GraphBuilder], Any]:
    def build(b: GraphBuilder) -> Any:
        x = b.away_from_zero(b.operand())
        return None if x is None else fn(x)
    return build


def _minmax(fn: Callable[[Any, Any], Expr]) -> Callable[[GraphBuilder], Any]:
    def build(b: GraphBuilder) -> Any:
        a = b.operand()
        for _ in range(3):
            c = b.partner(a)
            if b.distinct(a, c):
                return fn(a, c) if b.ch.coin(0.5) else fn(c, a)
        return None
    return build


def _where(cmp: str | None) -> Callable[[GraphBuilder], Any]:
    """where(p ⋈ q, a, c): the comparison kept KINK_GAP away from its boundary."""
    def build(b: GraphBuilder) -> Any:
        op = REGISTRY[cmp] if cmp is not None else REGISTRY[b.ch.choice(CMP_OPS)]
        p = b.operand()
        q = b.partner(p)
        if not b.distinct(p, q):
            q = 0.0
            if not b.distinct(p, q):
                return None
        cond = op(p, q)
        a = b.partner(cond) if b.ch.coin(0.8) else b.constant()
        c = b.partner(cond) if b.ch.coin(0.7) else 0.0
        if not _broadcasts(cond.shape, sb.as_expr(a).shape, sb.as_expr(c).shape):
            c = 0.0
            if not _broadcasts(cond.shape, sb.as_expr(a).shape):
                a = 1.0
        return sb.where(cond, a, c)
    return build


CMP_OPS = ("greater", "greater_equal", "less", "less_equal", "equal")


def _axis_choice(b: GraphBuilder, ndim: int, allow_none: bool = True) -> Any:
    r = b.ch.integer(0, 5)
    if ndim == 0 or (allow_none and r == 0):
        return None
    if r <= 3:
        return b.ch.integer(-ndim, ndim - 1)
    axes = [i for i in range(ndim) if b.ch.coin(0.5)]
    if r == 5 and ndim >= 1 and b.ch.coin(0.3):
        return ()  # reducing over no axes at all: the identity
    return tuple(axes) if axes else (0,)


def _reduction(fn: Callable[..., Expr]) -> Callable[[GraphBuilder], Any]:
    def build(b: GraphBuilder) -> Any:
        x = b.operand()
        axis = _axis_choice(b, x.ndim)
        return fn(x, axis=axis, keepdims=b.ch.coin(0.3))
    return build


def _normalisation(fn: Callable[..., Expr]) -> Callable[[GraphBuilder], Any]:
    def build(b: GraphBuilder) -> Any:
        x = b.operand(lambda n: n.ndim >= 1)
        return fn(x, axis=b.ch.integer(-x.ndim, x.ndim - 1))
    return build


def _layer_norm(b: GraphBuilder) -> Any:
    """sb.nn.layer_norm over the last k axes (k drawn), symbolic sizes included."""
    x = b.operand(lambda n: n.ndim >= 1)
    k = b.ch.integer(1, x.ndim)
    return sb.nn.layer_norm(x, x.shape[x.ndim - k:], eps=b.ch.choice([1e-5, 0.1]))


def _transpose(b: GraphBuilder) -> Any:
    x = b.operand()
    if x.ndim < 2 or b.ch.coin(0.4):
        return x.T
    perms = list(permutations(range(x.ndim)))
    return sb.transpose(x, axes=b.ch.choice(perms))


def _matmul(b: GraphBuilder) -> Any:
    a = b.operand(lambda n: 1 <= n.ndim <= 2)
    k = a.shape[-1]
    if b.ch.coin(0.5):
        c = b.pick(lambda n: 1 <= n.ndim <= 2 and n.shape[0 if n.ndim == 1 else -2] == k)
        if c is not None:
            return a @ c
    shape = (k,) if b.ch.coin(0.4) else (k, b.ch.choice(b.dims))
    return a @ b.leaf(shape)


def _outer(b: GraphBuilder) -> Any:
    a = b.operand(lambda n: n.ndim == 1)
    c = b.operand(lambda n: n.ndim == 1)
    return sb.outer(a, c)


def _vdot(b: GraphBuilder) -> Any:
    a = b.operand()
    return vdot(a, b.pick_or_leaf(lambda n: n.shape == a.shape and n.dtype == a.dtype,
                                  a.shape))


def _broadcast_to(b: GraphBuilder) -> Any:
    x = b.operand()
    bound = {d for s in b.leaves for d in s.shape if isinstance(d, str)}
    dims = [d for d in b.dims if d != 1 and (isinstance(d, int) or d in bound)]
    shape = [b.ch.choice(dims) if d == 1 and b.ch.coin(0.6) else d for d in x.shape]
    while len(shape) < 3 and b.ch.coin(0.4):
        shape.insert(0, b.ch.choice((1, 2, 3)))
    return broadcast_to(x, tuple(shape))


def _expand_dims(b: GraphBuilder) -> Any:
    x = b.operand()
    if x.ndim >= 3:
        return None
    return REGISTRY["expand_dims"](x, axis=b.ch.integer(-(x.ndim + 1), x.ndim))


def _squeeze(b: GraphBuilder) -> Any:
    x = b.pick(lambda n: 1 in n.shape)
    if x is None:
        x = b.leaf(b.shape(b.ch.integer(1, 2)) + (1,))
    ones = [i for i, d in enumerate(x.shape) if d == 1]
    axis: Any = b.ch.choice(ones) if b.ch.coin(0.7) else tuple(ones)
    return REGISTRY["squeeze"](x, axis=axis)


# ----- matrix functions (used once the matrix engineer registers them)


def _square(b: GraphBuilder) -> Expr:
    x = b.pick(lambda n: n.ndim == 2 and n.shape[0] == n.shape[1])
    if x is None:
        n = b.ch.choice((2, 3))
        x = b.leaf((n, n))
    return x


def _well_conditioned(b: GraphBuilder) -> Expr:
    """k I + 0.25 tanh-bounded(A): strictly diagonally dominant, so invertible with det > 0."""
    a = _square(b)
    n = a.shape[0]
    if "eye" in REGISTRY and (isinstance(n, str) or b.ch.coin(0.5)):
        from symback.ops.linalg import eye as eye_of
        eye: Expr = eye_of(n)
    else:
        if isinstance(n, str):
            return b.leaf((2, 2)) * 0.25 + 1.5 * sb.const(np.eye(2))
        eye = sb.const(np.eye(n, dtype=np.float32 if b.dtype == "float32" else np.float64))
    return 1.5 * eye + 0.25 * b.bounded(a, 1.0)


def _solve(b: GraphBuilder) -> Any:
    m = _well_conditioned(b)
    n = m.shape[0]
    rhs = b.operand(lambda e: e.ndim in (1, 2) and e.shape[0] == n) if b.ch.coin(0.5) else \
        b.leaf((n,) if b.ch.coin(0.5) else (n, 2))
    return sb.solve(m, rhs)


def _diag(b: GraphBuilder) -> Any:
    x = b.operand(lambda n: n.ndim == 1) if b.ch.coin(0.5) else _square(b)
    return sb.diag(x)


def _reshape(b: GraphBuilder) -> Any:
    x = b.operand(lambda n: all(isinstance(d, int) for d in n.shape))
    if not all(isinstance(d, int) for d in x.shape):
        return None
    size = int(np.prod(x.shape, dtype=int))
    options: list[tuple[int, ...]] = [(size,), tuple(reversed(x.shape)), (1, size)]
    options += [(d, size // d) for d in (2, 3) if size % d == 0]
    return sb.reshape(x, b.ch.choice(options))


def _stack(b: GraphBuilder) -> Any:
    a = b.operand()
    others = [b.pick_or_leaf(lambda n: n.shape == a.shape, a.shape)
              for _ in range(b.ch.integer(1, 2))]
    return sb.stack([a] + others, axis=b.ch.integer(-(a.ndim + 1), a.ndim))


def _concatenate(b: GraphBuilder) -> Any:
    a = b.operand(lambda n: any(isinstance(d, int) for d in n.shape))
    int_axes = [i for i, d in enumerate(a.shape) if isinstance(d, int)]
    if not int_axes:
        return None
    ax = b.ch.choice(int_axes)
    shape = list(a.shape)
    shape[ax] = b.ch.choice((1, 2))
    c = b.pick_or_leaf(lambda n: n.ndim == a.ndim and isinstance(n.shape[ax], int) and all(
        d == e for i, (d, e) in enumerate(zip(n.shape, a.shape)) if i != ax), tuple(shape))
    return sb.concatenate([a, c] if b.ch.coin(0.5) else [c, a], axis=ax - a.ndim
                          if b.ch.coin(0.3) else ax)


def _random_index(b: GraphBuilder, shape: tuple[Any, ...]) -> tuple[Any, ...]:
    """A basic NumPy index for ``shape``: ints, slices (steps ±1, 2), None, sometimes ``...``."""
    out: list[Any] = []
    for d in shape:
        r = b.ch.integer(0, 5)
        if isinstance(d, str):
            out.append(slice(None) if r < 4 else slice(None, None, -1))
        elif r == 0:
            out.append(b.ch.integer(-d, d - 1))
        elif r == 1 and d > 1:
            out.append(slice(b.ch.integer(0, d - 1), None))
        elif r == 2:
            out.append(slice(None, None, b.ch.choice((-1, 2))))
        else:
            out.append(slice(None))
        if b.ch.coin(0.1):
            out.append(None)
    if out and b.ch.coin(0.2):
        out = out[: b.ch.integer(0, len(out) - 1)] + [Ellipsis]
    return tuple(out)


def _getitem(b: GraphBuilder) -> Any:
    x = b.operand(lambda n: n.ndim >= 1)
    return x[_random_index(b, x.shape)]


def _index_scatter(b: GraphBuilder) -> Any:
    """The adjoint of indexing, built directly: zeros of a shape with a node written at an index."""
    from symback.ops.index import index_scatter

    shape = b.shape(b.ch.integer(1, 3))
    index = _random_index(b, shape)
    sel = sb.tensor("probe", shape)[index].shape
    v = b.pick_or_leaf(lambda n: n.shape == sel, sel)
    return index_scatter(v, shape, index)


def _tensordot(b: GraphBuilder) -> Any:
    a = b.operand(lambda n: n.ndim >= 1)
    k = b.ch.integer(0, min(2, a.ndim))
    ia = tuple(sorted({b.ch.integer(0, a.ndim - 1) for _ in range(k)}))
    shape = [a.shape[i] for i in ia]
    extra = [b.ch.choice(b.dims) for _ in range(b.ch.integer(0, 3 - len(shape)))]
    order = list(range(len(shape) + len(extra)))
    if b.ch.coin(0.5):
        order.reverse()
    full = shape + extra
    bshape = tuple(full[i] for i in order)
    ib = tuple(order.index(i) for i in range(len(shape)))
    c = b.pick_or_leaf(lambda n: n.shape == bshape, bshape)
    return REGISTRY["tensordot"](a, c, axes=(ia, ib))


# --- issue 11: shape (gathers, their scatter-add adjoints, sort/partition permutations)


def _int_axes(x: Expr) -> list[int]:
    return [i for i, d in enumerate(x.shape) if isinstance(d, int) and d > 0]


def _take(b: GraphBuilder) -> Any:
    """take(x, i, axis) with a constant index (repeats and negatives), 0-3 dimensions."""
    from symback.ops.gather import take

    x = b.operand(lambda n: bool(_int_axes(n)))
    axes = _int_axes(x)
    if not axes:
        return None
    ax = b.ch.choice(axes)
    n = x.shape[ax]
    shape = tuple(b.ch.choice((1, 2, 3)) for _ in range(b.ch.choice((1, 0, 1, 2))))
    idx = b.rng.integers(-n, n, size=shape)
    return take(x, idx, axis=ax)


def _scatter_add(b: GraphBuilder) -> Any:
    """scatter_add(v, i, axis, size): v's axis holds i's shape; repeated indices add."""
    from symback.ops.gather import scatter_add

    v = b.operand(lambda n: bool(_int_axes(n)))
    axes = _int_axes(v)
    if not axes:
        return None
    ax = b.ch.choice(axes)
    size = b.ch.choice((1, 2, 3, 4))
    idx = b.rng.integers(0, size, size=(v.shape[ax],))
    return scatter_add(v, idx, axis=ax, size=size)


def _along_idx(b: GraphBuilder, shape: tuple[Any, ...], ax: int, size: int, k: int) -> Any:
    """A constant index for take_along_axis: k entries along ax, other int axes full or 1."""
    ishape = tuple(k if i == ax else (d if isinstance(d, int) and b.ch.coin(0.7) else 1)
                   for i, d in enumerate(shape))
    return b.rng.integers(0, size, size=ishape)


def _take_along_axis(b: GraphBuilder) -> Any:
    x = b.operand(lambda n: bool(_int_axes(n)))
    axes = _int_axes(x)
    if not axes:
        return None
    ax = b.ch.choice(axes)
    return sb.take_along_axis(x, _along_idx(b, x.shape, ax, x.shape[ax], b.ch.choice((1, 2, 3))),
                              axis=ax)


def _scatter_add_along(b: GraphBuilder) -> Any:
    from symback.ops.gather import scatter_add_along_op

    v = b.operand(lambda n: bool(_int_axes(n)))
    axes = _int_axes(v)
    if not axes:
        return None
    ax = b.ch.choice(axes)
    size = b.ch.choice((1, 2, 3))
    shape = tuple(size if i == ax else d for i, d in enumerate(v.shape))
    idx = b.rng.integers(0, size, size=tuple(d if isinstance(d, int) else 1 for d in v.shape))
    return scatter_add_along_op(v, sb.const(idx), axis=ax, shape=shape)


def _sorted(partial: bool) -> Callable[[GraphBuilder], Any]:
    """sort (or partition) along an int axis of an operand whose entries differ by KINK_GAP."""
    def build(b: GraphBuilder) -> Any:
        x = b.operand(lambda n: bool(_int_axes(n)))
        axes = _int_axes(x)
        if not axes:
            return None
        v = np.sort(b.val(x).ravel())
        if v.size > 1 and np.min(np.diff(v)) < KINK_GAP:
            return None  # a tie: the permutation would flip under finite differences
        ax = b.ch.choice(axes)
        if partial:
            return sb.partition(x, b.ch.integer(0, x.shape[ax] - 1), axis=ax)
        return sb.sort(x, axis=ax)
    return build


def _order_kink(vals: Sequence[np.ndarray]) -> np.ndarray:
    """The signs of all pairwise differences: they change where the permutation does."""
    v = np.ravel(vals[0])
    return v[:, None] - v[None, :] + np.eye(v.size)


# --- issue 11: ufuncs, special, stats (np-ew)


def _step(fn: Callable[[Expr], Expr], offset: float) -> Callable[[GraphBuilder], Any]:
    """A step function (floor, ceil: jumps at integers, offset 0; round: at halves, 0.5),
    its argument kept KINK_GAP away from every jump (shifted by a quarter if needed)."""
    def build(b: GraphBuilder) -> Any:
        x = b.bounded(b.operand(), 3.0)
        for shift in (0.0, 0.25, -0.25, 0.125):
            cand = x if shift == 0.0 else x + shift
            v = b.val(cand) - offset
            if np.min(np.abs(v - np.round(v)), initial=1.0) >= KINK_GAP:
                return fn(cand)
        return None
    return build


def _int_kink(offset: float) -> Callable[[list[np.ndarray]], np.ndarray]:
    return lambda a: np.sin(np.pi * (np.asarray(a[0]) - offset))


def _clip(b: GraphBuilder) -> Any:
    x = b.operand()
    v = b.val(x)
    lo, hi = b.ch.choice(((-0.5, 0.5), (-1.0, 0.25), (0.0, 2.0), (None, 0.3), (-0.3, None)))
    for bound in (lo, hi):
        if bound is not None and np.min(np.abs(v - bound), initial=1.0) < KINK_GAP:
            return None
    return sb.clip(x, lo, hi)


def _clip_kink(a: list[np.ndarray]) -> np.ndarray:
    return np.asarray((a[0] - a[1]) * (a[0] - a[2]))


def _mod(b: GraphBuilder) -> Any:
    a = b.bounded(b.operand(), 4.0)
    c = b.partner(a)
    c = b.positive(c, 0.5, 3.0) if isinstance(c, Expr) else 1.5
    q = np.asarray(b.val(a) / (b.val(c) if isinstance(c, Expr) else c))
    if np.min(np.abs(q - np.round(q)), initial=1.0) < KINK_GAP:
        return None
    return a % c


def _mod_kink(a: list[np.ndarray]) -> np.ndarray:
    return np.sin(np.pi * np.asarray(a[0]) / np.asarray(a[1]))


def _all_distinct(b: GraphBuilder, x: Expr) -> bool:
    v = np.sort(np.asarray(b.val(x)).ravel())
    return bool(v.size < 2 or np.min(np.diff(v)) >= KINK_GAP)


def _extreme(fn: Callable[..., Expr]) -> Callable[[GraphBuilder], Any]:
    """max/min over random axes of an operand whose entries are all distinct (no ties)."""
    def build(b: GraphBuilder) -> Any:
        x = b.operand(lambda n: n.ndim >= 1)
        if x.ndim == 0 or not _all_distinct(b, x):
            return None
        axis = _axis_choice(b, x.ndim)
        return fn(x, axis=axis, keepdims=b.ch.coin(0.3))
    return build


def _int_axis(b: GraphBuilder, x: Expr) -> int | None:
    axes = [i for i, d in enumerate(x.shape) if isinstance(d, int)]
    return b.ch.choice(axes) if axes else None


def _prod(b: GraphBuilder) -> Any:
    x = b.bounded(b.operand(lambda n: n.ndim >= 1), 1.5)
    ax = _int_axis(b, x)
    if ax is None:
        return None
    return sb.prod(x, axis=ax, keepdims=b.ch.coin(0.3))


def _cum(fn: Callable[..., Expr], lim: float) -> Callable[[GraphBuilder], Any]:
    def build(b: GraphBuilder) -> Any:
        x = b.bounded(b.operand(lambda n: n.ndim >= 1), lim)
        ax = _int_axis(b, x) if x.ndim else None
        if ax is None:
            return None
        return fn(x, axis=ax - x.ndim if b.ch.coin(0.3) else ax)
    return build


def _moment(fn: Callable[..., Expr]) -> Callable[[GraphBuilder], Any]:
    """var/std over axes with at least 2 entries whose spread is not tiny (std's kink)."""
    def build(b: GraphBuilder) -> Any:
        x = b.operand(lambda n: n.ndim >= 1)
        if x.ndim == 0:
            return None
        axis = _axis_choice(b, x.ndim, allow_none=True)
        ddof = b.ch.choice((0, 0, 1))
        y = fn(x, axis=axis, ddof=ddof, keepdims=b.ch.coin(0.3))
        v = np.asarray(b.val(REGISTRY["var"](x, axis=axis, ddof=0, keepdims=False)))
        n = [d for i, d in enumerate(x.shape) if axis is None or i in np.atleast_1d(axis)
             % max(x.ndim, 1)]
        if any(isinstance(d, str) for d in n) or int(np.prod(n, dtype=int)) <= 1 + ddof:
            return None
        return y if np.min(v, initial=1.0) >= 0.05 else None
    return build


def _xlog(b: GraphBuilder, fn: Callable[..., Expr]) -> Any:
    a = b.bounded(b.operand(), 3.0)
    c = b.partner(a)
    c = b.positive(c, 0.3) if isinstance(c, Expr) else 1.5
    return fn(a, c) if b.ch.coin(0.7) else fn(a, c)


def _arctan2(b: GraphBuilder) -> Any:
    a = b.operand()
    c = b.partner(a)
    c = b.positive(c, 0.3, 5.0) if isinstance(c, Expr) else 1.5
    return sb.arctan2(a, c)


def _special(fn: Callable[..., Expr], prep: Callable[[GraphBuilder, Expr], Any]) -> Any:
    return _unary(fn, prep)


NP_EW_OPS: dict[str, Entry] = {
    "arcsin": Entry(_unary(sb.arcsin, lambda b, x: b.bounded(x, 0.9))),
    "arccos": Entry(_unary(sb.arccos, lambda b, x: b.bounded(x, 0.9))),
    "arctan": Entry(_unary(sb.arctan)),
    "sinh": Entry(_unary(sb.sinh, lambda b, x: b.bounded(x, 3.0))),
    "cosh": Entry(_unary(sb.cosh, lambda b, x: b.bounded(x, 3.0))),
    "arcsinh": Entry(_unary(sb.arcsinh)),
    "arccosh": Entry(_unary(sb.arccosh, lambda b, x: b.positive(x, 0.2, 20.0) + 1.0)),
    "arctanh": Entry(_unary(sb.arctanh, lambda b, x: b.bounded(x, 0.9))),
    "log2": Entry(_unary(sb.log2, lambda b, x: b.positive(x, 0.2))),
    "log10": Entry(_unary(sb.log10, lambda b, x: b.positive(x, 0.2))),
    "exp2": Entry(_unary(sb.exp2, lambda b, x: b.bounded(x, 3.0))),
    "floor": Entry(_step(sb.floor, 0.0), _int_kink(0.0)),
    "ceil": Entry(_step(sb.ceil, 0.0), _int_kink(0.0)),
    "round": Entry(_step(sb.round, 0.5), _int_kink(0.5)),
    "sinc": Entry(_unary(sb.sinc, lambda b, x: b.bounded(x, 3.0))),
    "clip": Entry(_clip, _clip_kink),
    "nan_to_num": Entry(_unary(sb.nan_to_num)),
    "arctan2": Entry(_arctan2),
    "hypot": Entry(_binary(sb.hypot)),
    "logaddexp": Entry(_binary(sb.logaddexp)),
    "logaddexp2": Entry(_binary(sb.logaddexp2)),
    "mod": Entry(_mod, _mod_kink),
    "fmax": Entry(_minmax(sb.fmax), _diff_kink),
    "fmin": Entry(_minmax(sb.fmin), _diff_kink),
    "erf": Entry(_special(sb.special.erf, lambda b, x: b.bounded(x, 3.0))),
    "erfc": Entry(_special(sb.special.erfc, lambda b, x: b.bounded(x, 3.0))),
    "gammaln": Entry(_special(sb.special.gammaln, lambda b, x: b.positive(x, 0.3, 8.0))),
    "digamma": Entry(_special(sb.special.digamma, lambda b, x: b.positive(x, 0.3, 8.0))),
    "polygamma": Entry(lambda b: sb.special.polygamma(
        b.ch.integer(0, 2), b.positive(b.operand(), 0.5, 8.0))),
    "xlogy": Entry(lambda b: _xlog(b, sb.special.xlogy)),
    "xlog1py": Entry(lambda b: _xlog(b, sb.special.xlog1py)),
    "logit": Entry(_unary(sb.special.logit, lambda b, x: sb.sigmoid(b.bounded(x, 3.0)))),
    "max": Entry(_extreme(sb.max), _order_kink),
    "min": Entry(_extreme(sb.min), _order_kink),
    "prod": Entry(_prod),
    "cumsum": Entry(_cum(sb.cumsum, 1e3)),
    "cumprod": Entry(_cum(sb.cumprod, 1.5)),
    "var": Entry(_moment(sb.var)),
    "std": Entry(_moment(sb.std)),
}


#: op name -> how to build it; ops not yet registered are ignored
OPS: dict[str, Entry] = {
    # --- issue 11: shape
    "take": Entry(_take),
    "scatter_add": Entry(_scatter_add),
    "take_along_axis": Entry(_take_along_axis),
    "scatter_add_along": Entry(_scatter_add_along),
    "argsort": Entry(_sorted(False), _order_kink),
    "argpartition": Entry(_sorted(True), _order_kink),
    # structural
    "broadcast_to": Entry(_broadcast_to),
    "expand_dims": Entry(_expand_dims),
    "squeeze": Entry(_squeeze),
    # arithmetic
    "add": Entry(_binary(lambda a, c: a + c)),
    "sub": Entry(_binary(lambda a, c: a - c)),
    "mul": Entry(_binary(lambda a, c: a * c)),
    "div": Entry(_div),
    "neg": Entry(_unary(lambda x: -x)),
    "pow": Entry(_pow),
    # transcendental, in their safe domains
    "exp": Entry(_unary(sb.exp, lambda b, x: b.bounded(x, 3.0))),
    "expm1": Entry(_unary(sb.expm1, lambda b, x: b.bounded(x, 3.0))),
    "log": Entry(_unary(sb.log, lambda b, x: b.positive(x, 0.2))),
    "log1p": Entry(_unary(sb.log1p, lambda b, x: b.positive(x, 0.05))),
    "sqrt": Entry(_unary(sb.sqrt, lambda b, x: b.positive(x, 0.2))),
    "sin": Entry(_unary(sb.sin)),
    "cos": Entry(_unary(sb.cos)),
    "tan": Entry(_unary(sb.tan, lambda b, x: b.bounded(x, 1.2))),
    "tanh": Entry(_unary(sb.tanh)),
    "sigmoid": Entry(_unary(sb.sigmoid)),
    "softplus": Entry(_unary(sb.softplus)),
    # piecewise: kinks kept KINK_GAP away
    "relu": Entry(_kinked_unary(sb.relu), _zero_kink),
    "abs": Entry(_kinked_unary(sb.abs), _zero_kink),
    "sign": Entry(_kinked_unary(lambda x: sb.sign(x) * x), _zero_kink),
    "maximum": Entry(_minmax(sb.maximum), _diff_kink),
    "minimum": Entry(_minmax(sb.minimum), _diff_kink),
    "where": Entry(_where(None)),
    **{c: Entry(_where(c), _diff_kink) for c in CMP_OPS},
    # reductions and normalisations
    "sum": Entry(_reduction(sb.sum)),
    "mean": Entry(_reduction(sb.mean)),
    "logsumexp": Entry(_reduction(sb.logsumexp)),
    "softmax": Entry(_normalisation(sb.softmax)),
    "log_softmax": Entry(_normalisation(sb.log_softmax)),
    "layer_norm": Entry(_layer_norm),
    # linear algebra
    "transpose": Entry(_transpose),
    "matmul": Entry(_matmul),
    "outer": Entry(_outer),
    "vdot": Entry(_vdot),
    # matrix functions
    "trace": Entry(lambda b: sb.trace(_square(b))),
    "det": Entry(lambda b: sb.det(_well_conditioned(b))),
    "logdet": Entry(lambda b: sb.logdet(_well_conditioned(b))),
    "inv": Entry(lambda b: sb.inv(_well_conditioned(b))),
    "solve": Entry(_solve),
    "diag": Entry(_diag),
    "reshape": Entry(_reshape),
    "stack": Entry(_stack),
    "concatenate": Entry(_concatenate),
    "getitem": Entry(_getitem),
    "index_scatter": Entry(_index_scatter),
    "tensordot": Entry(_tensordot),
}
OPS.update(NP_EW_OPS)
try:  # sb.special computes through SciPy (an optional extra): without it, not drawn
    import scipy.special  # noqa: F401
except ImportError:  # pragma: no cover - SciPy is in the test extra
    _NO_SCIPY = ("erf", "erfc", "gammaln", "digamma", "polygamma", "xlogy", "xlog1py")
    for _name in _NO_SCIPY:
        OPS.pop(_name, None)

#: registered ops the fuzzer leaves out on purpose (leaves need no entry: arity 0)
SKIPPED: dict[str, str] = {
    # convolution and pooling need (N, C, *spatial) inputs with int channel and spatial sizes
    # and matching kernels: tests/test_nn_conv.py checks them (values against loop references
    # and PyTorch, first and second derivatives against central differences)
    **dict.fromkeys(("conv", "conv_dx", "conv_dw", "max_pool_index", "max_pool_dx",
                     "max_pool_gather"), "tests/test_nn_conv.py"),
    # --- issue 11: shape
    "astype": "a float32 round trip rounds values past the float64 tolerances; its value, "
              "gradient and dtype rules are checked in tests/test_np_shape.py",
}
SKIPPED.update({n: "SciPy (an optional extra) is not installed" for n in globals().get(
    "_NO_SCIPY", ())})


# --- issue 11: contractions and linear algebra (np-linalg)


def _einsum(b: GraphBuilder) -> Any:
    a = b.operand(lambda n: n.ndim == 2)
    if a.ndim != 2:
        a = b.leaf((2, 3))
    i, j = a.shape
    r = b.ch.integer(0, 3)
    if r == 0:
        c = b.pick_or_leaf(lambda n: n.ndim == 2 and n.shape[0] == j, (j, 2))
        return sb.einsum("ij,jk->ik", a, c)
    if r == 1:
        return sb.einsum("ij->ji", a)
    if r == 2 and i == j:
        return sb.einsum("ii->", a)
    c = b.pick_or_leaf(lambda n: n.shape == a.shape, a.shape)
    return sb.einsum("ij,ij->i", a, c)


def _batched_matmul(b: GraphBuilder) -> Any:
    a = b.operand(lambda n: n.ndim == 3 and isinstance(n.shape[-1], int))
    if a.ndim != 3:
        a = b.leaf((2, 2, 3))
    k = a.shape[-1]
    return a @ b.pick_or_leaf(lambda n: n.ndim in (2, 3) and n.shape[-2:-1] == (k,), (k, 2))


def _cross(b: GraphBuilder) -> Any:
    a = b.pick_or_leaf(lambda n: n.ndim >= 1 and n.shape[-1] == 3, (3,))
    c = b.pick_or_leaf(lambda n: n.shape == a.shape, a.shape)
    return sb.cross(a, c)


def _tri(fn: Any) -> Any:
    def build(b: GraphBuilder) -> Any:
        x = b.operand(lambda n: n.ndim >= 2)
        if x.ndim < 2:
            x = b.leaf((3, 3))
        return fn(x, b.ch.integer(-1, 1))
    return build


def _spd_of(b: GraphBuilder) -> Expr:
    m = _well_conditioned(b)
    return m @ m.T


def _solve_triangular(b: GraphBuilder) -> Any:
    m = _well_conditioned(b)
    n = m.shape[0]
    rhs = b.pick_or_leaf(lambda e: e.ndim in (1, 2) and e.shape[0] == n, (n,))
    return sb.linalg.solve_triangular(m, rhs, trans=b.ch.integer(0, 1),
                                      lower=b.ch.coin(0.5), unit_diagonal=b.ch.coin(0.3))


def _separated_sym(b: GraphBuilder) -> Expr:
    """A symmetric matrix with eigenvalues ≥ 1 apart (a diagonal plus a small symmetric part)."""
    n = b.ch.choice((2, 3))
    x = b.bounded(b.pick_or_leaf(lambda e: e.shape == (n, n), (n, n)), 1.0)
    d = sb.const(np.diag(np.arange(1.0, n + 1) * 2.0).astype(
        np.float32 if b.dtype == "float32" else np.float64))
    return d + 0.1 * (x + x.T)


def _qr(b: GraphBuilder) -> Any:
    m = _well_conditioned(b)
    if not all(isinstance(d, int) for d in m.shape):
        return None  # qr's packed result needs int sizes
    return sb.linalg.qr(m)[1]


def _norm(b: GraphBuilder) -> Any:
    x = b.positive(b.operand(), 0.2)
    if x.ndim == 0:
        x = b.positive(b.leaf((3,)), 0.2)
    ord_ = b.ch.choice((2, 3))
    axis = None if b.ch.coin(0.5) else b.ch.integer(0, x.ndim - 1)
    return sb.linalg.vector_norm(x, axis=axis, ord=ord_)


OPS.update({
    "einsum": Entry(lambda b: _einsum(b) if b.ch.coin(0.7) else _batched_matmul(b)),
    "cross": Entry(_cross),
    "tril": Entry(_tri(sb.tril)),
    "triu": Entry(_tri(sb.triu)),
    "solve_triangular": Entry(_solve_triangular),
    "cholesky": Entry(lambda b: sb.linalg.cholesky(_spd_of(b))),
    "slogdet": Entry(lambda b: sb.linalg.slogdet(_well_conditioned(b))[1]),
    "linalg_part": Entry(lambda b: sb.linalg.slogdet(_well_conditioned(b))[1]),
    "eigh": Entry(lambda b: sb.linalg.eigvalsh(_separated_sym(b))),
    "svd": Entry(lambda b: sb.linalg.svdvals(_separated_sym(b))),
    "qr": Entry(_qr),
    "vector_norm": Entry(_norm),
    "pinv": Entry(lambda b: sb.linalg.pinv(_well_conditioned(b))),
})


def uncovered_ops() -> list[str]:
    """Registered non-leaf ops with neither an ``OPS`` entry nor a ``SKIPPED`` reason."""
    return sorted(name for name, op in REGISTRY.items()
                  if op.arity != 0 and name not in OPS and name not in SKIPPED)


def kink_signature(nodes: Sequence[Expr], cache: dict[Expr, np.ndarray]) -> bytes:
    """Which side of its kink each non-smooth node is on (equal signatures: same branches)."""
    parts = []
    for n in nodes:
        e = OPS.get(n.op.name)
        if e is None or e.kink is None or n not in cache:
            continue
        parts.append(np.sign(e.kink([cache[a] for a in n.args])).astype(np.int8).tobytes())
    return b"|".join(parts)


# --------------------------------------------------------------------------- entry points


def build_case(ch: Chooser, seed: int, dtype: str = "float64", symbolic: bool = False,
               n_ops: int = 8) -> FuzzCase:
    """One random graph from a chooser."""
    return GraphBuilder(ch, seed, dtype, symbolic).case(n_ops)


@st.composite
def dags(draw: Callable[[Any], Any], dtype: str = "float64", max_ops: int | None = None,
         symbolic: bool | None = None) -> FuzzCase:
    """A hypothesis strategy of :class:`FuzzCase` (shrinks towards few ops and small seeds)."""
    ch = HypothesisChooser(draw)
    max_ops = max_ops if max_ops is not None else (14 if LONG else 9)
    n_ops = ch.integer(1, max_ops)
    sym = ch.coin(0.25) if symbolic is None else symbolic
    seed = ch.integer(0, 2**31 - 1)
    return build_case(ch, seed, dtype, sym, n_ops)


def random_case(rng: np.random.Generator, dtype: str = "float64", max_ops: int = 9,
                symbolic: bool | None = None) -> FuzzCase:
    """A :class:`FuzzCase` from a NumPy generator (no hypothesis)."""
    ch = RngChooser(rng)
    n_ops = ch.integer(1, max_ops)
    sym = ch.coin(0.25) if symbolic is None else symbolic
    return build_case(ch, ch.integer(0, 2**31 - 1), dtype, sym, n_ops)
