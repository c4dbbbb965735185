"""Vectorised NumPy code for scalar graphs that repeat one formula many times.

A graph of scalar symbols often evaluates one small formula over many variables
(Rosenbrock on ``n`` scalar symbols: ``n - 1`` copies of one term, and as many of each
derivative node). The per-node code of :mod:`symback.codegen` writes one statement per
node (W2's gradient at ``n = 1,000``: ~10,000 nodes, ~2,000 lines). Here, nodes that can
run together are evaluated as one NumPy operation over the gathered operands:

* **levels**: a node's level is one more than its arguments' highest (leaves: 0), so the
  nodes of one level never depend on each other;
* **groups**: scalar nodes of one level with the same elementwise op, the same attributes,
  the same dtype (the graph's float dtype) and the same constant operands are one group;
  a group of at least :data:`MIN_GROUP` nodes is computed by the op's own ``numpy`` form
  applied to arrays: operand ``j`` of the group is the ``j``-th argument of every member,
  gathered into one array (a slice of an earlier group's array when its indices form a
  range — no copy —, else one fancy-indexing gather, or :func:`_vgather` when the operand
  comes from several places). The code generator never names an op: the op's
  ``elementwise`` flag and ``numpy`` form are all this module reads.
* the other nodes ("singles") are written one statement each, reading a group's value as
  ``_vK[i]``.

**Exact.** Nothing is reassociated: every node is computed from the same operands by the
same elementwise function, so the results are the per-node code's — on the condition that
NumPy computes an element of an array as it computes one scalar. That is not always so
(on AVX-512 machines NumPy's SIMD ``log1p`` and ``power`` loops can differ from the scalar
ones in the last bit), so each (op, attributes, constant operands, dtype) is *probed* once
per process (:func:`_exact`): its source is run on 300 probe values as an array and
element by element as Python floats and NumPy scalars, and the op is grouped only when
every bit agrees. Small all-float64 graphs whose per-node code uses the ops' ``math``
forms (``Op.scalar``, see ``codegen._scalar_math_pays``) are left to it.

**Pays off automatically.** :func:`plan` estimates both codes' cost per call at one point
(a node of the per-node code ~0.012 µs, a group's NumPy call and gather ~1.5 µs, a single
~0.1 µs) and vectorises only when the grouped code is clearly cheaper (W2 from n ≈ 200
on; never the deep chain W3, whose levels hold two or three nodes; never a graph with
tensor arguments or outputs). ``lambdify(...,
backend_options={"vectorize": False})`` turns it off.

**Points.** With ``check=False`` a scalar symbol may receive an array of points. Up to
:data:`PER_NODE_POINTS` points, the arguments are stacked (broadcast to one shape first
when their shapes differ) into ``_A`` of shape ``(n_args, *points)`` and every group's
array has shape ``(k, *points)`` (a block of points at a time, sized to stay in the
cache); every output then has the broadcast shape of the points (the per-node code would
return a float for an output that depends only on float arguments), and integer arguments
are taken as float64. More points go to the per-node code, compiled on first use: its
arrays of points are long already, and the grouped code would only add the packing (the
standalone ``.source`` and an unpickled function have no per-node code and go block by
block). With the default checks (one point), scalar outputs are 0-d arrays of the
declared dtype, as from the per-node code.

**Memory.** Huge graphs (W2 at n = 10,000: 100,000 nodes) are planned with one int per
grouped node (its group and position, :func:`_place`), the level table dropped before
those are built, and the plan released before the source is compiled; more than
:data:`STAR_ARGS` scalar arguments are taken as ``def _symback_fn(*_s)`` (the count
checked as a signature would), whose compilation needs no memory per argument.
"""

from __future__ import annotations

import inspect
import re
import threading
from collections import Counter
from typing import Any, Iterator, Sequence

import numpy as np

from .errors import SymbackError
from .graph import CONST, SYMBOL, Expr, render_numpy, toposort

MIN_GROUP = 8          # fewer nodes of one kind at one level: per-node statements
MIN_CHAIN = 16         # a shorter chain c_j = op(c_{j-1}, u_j) stays per-node
MIN_NODES = 400        # smaller graphs: per-node code (they compile and run fast enough)
# the cost model, per call at one point (µs, measured on W2 with NumPy 2.4, CPython 3.11):
_NODE_US = 0.012       # one node of the per-node code (Python floats, mostly inlined)
_GROUP_US = 1.5        # one group: its NumPy call and, on average, half a gather
_SINGLE_US = 0.1       # a single node (NumPy scalars from the groups' arrays)
_FIXED_US = 2.0        # packing the arguments into one array, the outputs' gather
_BLOCK_BYTES = 1 << 17  # arrays of points: a group's block of points takes ~this much
_MIN_BLOCK = 8         # (and at least this many points)
_MIN_WIDE = 0.5        # less of the graph on levels of MIN_GROUP nodes or more: per node
PER_NODE_POINTS = 256  # check=False with arrays of more points: the per-node code
STAR_ARGS = 1_000      # more scalar arguments: ``def _symback_fn(*_s)`` (see generate)
_PAYS = 0.8            # vectorise when the estimate is below this fraction of per-node


# --------------------------------------------------------------------------- runtime helpers
# (their source is copied into the generated module: .source runs on its own)

def _vpack(values):
    """The scalar arguments as one array ``(n_args, *points)``: stacked as given, or
    broadcast to one shape first when the points' shapes differ; integers as float64."""
    try:
        a = np.array(values)
    except ValueError:  # points of different shapes (a float beside an array of points)
        a = np.array(np.broadcast_arrays(*values))
    if a.dtype.kind != "f":
        if a.dtype.kind not in "biu":
            raise SymbackError(f"compiled function: expected real numbers or arrays of them, "
                               f"got {a.dtype}")
        a = a.astype(np.float64)
    return a


def _vgather(like, k, parts, values, consts):
    """``k`` values gathered into one array shaped ``(k, *like.shape[1:])`` of ``like``'s
    dtype: ``parts`` (positions, source array, indices), ``values`` (position, scalar or
    array of points) and ``consts`` (positions, 1-d array of constants)."""
    out = np.empty((k,) + like.shape[1:], like.dtype)
    for pos, src, idx in parts:
        out[pos] = src[idx]
    for pos, val in values:
        out[pos] = val
    extra = (1,) * (out.ndim - 1)
    for pos, arr in consts:
        out[pos] = arr.reshape(arr.shape + extra)
    return out


def _vrun(block, values, k, size):
    """``block(_vpack(values))`` (``k`` outputs); for arrays of points, ``size`` points at a
    time (each block copied contiguous), so that every array the block makes stays in the
    cache (the per-node code's arrays of one value at every point do)."""
    a = _vpack(values)
    if a.ndim == 1 or a[0].size <= size:
        return block(a)
    a2 = a.reshape(a.shape[0], -1)
    total = a2.shape[1]
    out = None
    for s in range(0, total, size):
        r = block(np.ascontiguousarray(a2[:, s:s + size]))
        if out is None:
            out = np.empty((k, total), r.dtype)
        out[:, s:s + size] = r
    return out.reshape((k,) + a.shape[1:])


def _vcol(values, like):
    """Constants as a column ``(k, 1, ...)`` of ``like``'s dtype (as literals take it)."""
    return values.astype(like.dtype).reshape(values.shape + (1,) * (like.ndim - 1))


_RUNTIME = (_vpack, _vgather, _vrun, _vcol)


# --------------------------------------------------------------------------- exactness probe

_EXACT: dict[Any, bool] = {}


def _probe_values(dtype: str) -> np.ndarray:
    rng = np.random.default_rng(20260615)
    v = np.concatenate([
        rng.uniform(-4.0, 4.0, 160), rng.uniform(0.0, 1.0, 60),
        np.sign(rng.uniform(-1, 1, 60)) * 10.0 ** rng.uniform(-8, 8, 60),
        [0.0, -0.0, 1.0, -1.0, 0.5, 2.0, -2.0, 3.0, 10.0, 1e-300, 1e300, 7.5, -0.5, 0.25,
         100.0, -100.0, 1e-5, 0.75, 1.5, 4.0],
    ])
    with np.errstate(over="ignore"):
        return v.astype(dtype)


def _exact(op: Any, attrs: dict[str, Any], consts: tuple[str | None, ...], dtype: str) -> bool:
    """Does the op's NumPy source give, on an array, bit for bit what it gives on each
    element as a Python float and as a NumPy scalar? ``consts``: per argument, the literal
    every member of the group has there, the named constant node they share, or None (a
    gathered operand)."""
    try:
        key: Any = (op, tuple(sorted(attrs.items())), consts, dtype)
        hash(key)
    except TypeError:
        key = (op, repr(sorted(attrs.items())), consts, dtype)
    got = _EXACT.get(key)
    if got is None:
        got = _EXACT[key] = _probe(op, attrs, consts, dtype)
    return got


def _probe(op: Any, attrs: dict[str, Any], consts: tuple[str | None, ...], dtype: str) -> bool:
    from . import numeric

    def no_dims(d: Any) -> str:
        raise SymbackError("symbolic size")

    base = _probe_values(dtype)
    rng = np.random.default_rng(7)
    cols = [None if c is not None else rng.permutation(base) for c in consts]
    ns: dict[str, Any] = {"np": np, **numeric.HELPERS}
    try:
        fixed: list[str | None] = []
        for j, c in enumerate(consts):
            if isinstance(c, Expr):  # a named constant of the per-node code
                ns[f"_c{j}"] = np.asarray(c.value)[()]
                c = f"_c{j}"
            fixed.append(c)
        texts_arr = [render_numpy(op, [c if c is not None else f"_P[{j}]"
                                       for j, c in enumerate(fixed)], attrs, no_dims),
                     render_numpy(op, [c if c is not None else f"_p{j}"
                                       for j, c in enumerate(fixed)], attrs, no_dims)]
        texts_one = [texts_arr[1],
                     render_numpy(op, [c if c is not None else f"(_p{j})"
                                       for j, c in enumerate(fixed)], attrs, no_dims)]
        codes_arr = [compile(t, "<probe>", "eval") for t in texts_arr]
        plain = texts_one[1]
        for j in range(len(consts)):
            plain = plain.replace(f"(_p{j})", f"_p{j}")
        if plain == texts_one[0]:  # the same source but for parentheses
            del texts_one[1]
        codes_one = [compile(t, "<probe>", "eval") for t in texts_one]
        with np.errstate(all="ignore"):
            ns["_P"] = [c for c in cols]
            for j, c in enumerate(cols):
                ns[f"_p{j}"] = c
            want = [np.asarray(eval(c, ns)) for c in codes_arr]  # noqa: S307 - op source
            ref = want[0]
            if ref.shape != base.shape or ref.dtype.kind not in "fc":
                return False
            if not all(_same(w, ref) for w in want[1:]):
                return False
            # (a float32 graph meets Python floats only as float64 arrays: probed apart)
            for kind in (float, np.float64) if dtype == "float64" else (np.float32,):
                for code in codes_one:
                    got = ref.copy()  # elements Python refuses (1.0 / 0.0) are not compared
                    for i in range(len(base)):
                        for j, c in enumerate(cols):
                            if c is not None:
                                ns[f"_p{j}"] = kind(c[i])
                        try:
                            got[i] = eval(code, ns)  # noqa: S307
                        except (ArithmeticError, ValueError):
                            continue  # Python floats: codegen retries with NumPy scalars
                    if not _same(got, ref):
                        return False
    except Exception:  # noqa: BLE001 - any failure: not vectorised
        return False
    return True


def _same(a: np.ndarray, b: np.ndarray) -> bool:
    a, b = np.asarray(a), np.asarray(b)
    if a.shape != b.shape or a.dtype != b.dtype:
        return False
    both_nan = np.isnan(a) & np.isnan(b)
    return bool(np.all((a == b) & (np.signbit(a) == np.signbit(b)) | both_nan))


# --------------------------------------------------------------------------- planning


_LIT = "<literal>"  # (in a group key: a literal constant operand, maybe not the same)


def _uniform_literal(nodes: list[Expr]) -> str | None:
    """The literal all these constants are written as, or None if they differ."""
    first = _literal(nodes[0])
    for n in nodes:
        if n is not nodes[0] and _literal(n) != first:
            return None
    return first


class Plan:
    """The grouped schedule of one scalar graph.

    ``levels``: per level, the singles then the groups to emit; ``groups``: each a list of
    member nodes; ``where``: node -> its place ``(g + 1) << 32 | position`` for grouped
    nodes (the arguments are group ``g = -1``, the array ``_A``; one int per node, not a
    tuple: W2 at n = 10,000 has ~90,000 grouped nodes, and the tuples took 7 MB more;
    :func:`_place` splits it); ``consts``: per group and argument, the
    literal or named constant every member has there (None: gathered); ``chains``: last
    node of a chain -> the operands of its accumulate.
    """

    def __init__(self, order: list[Expr], levels: list[tuple[list[Expr], list[int]]],
                 groups: list[list[Expr]], where: dict[Expr, int],
                 consts: list[tuple[str | None, ...]],
                 chains: dict[Expr, list[Expr]], nargs: int) -> None:
        self.order, self.levels, self.groups, self.where = order, levels, groups, where
        self.chains = chains
        self.consts = consts
        self.nargs = nargs

    def release(self) -> None:
        """Drop the schedule once its code is written (the compiler's peak comes next, and
        W2's plan at n = 10,000 holds ~14 MB)."""
        self.order, self.levels, self.groups, self.where = [], [], [], {}
        self.consts, self.chains = [], {}


_PLACE_SHIFT = 32
_PLACE_MASK = (1 << _PLACE_SHIFT) - 1


def _place(w: int) -> tuple[int, int]:
    """A ``Plan.where`` value as (group, position)."""
    return (w >> _PLACE_SHIFT) - 1, w & _PLACE_MASK


def _literal(n: Expr) -> str | None:
    """The per-node code's literal for a constant (None: it is a named constant)."""
    return _codegen()._literal(n)


def _codegen() -> Any:
    from . import codegen  # (codegen imports this module lazily: no cycle at import)

    return codegen


def plan(args: Sequence[Expr], outs: Sequence[Expr], order: list[Expr] | None,
         check: bool, check_finite: bool, scalar_math: bool) -> Plan | None:
    """The grouped schedule, or None when the per-node code is as good (see the module
    docstring's cost model) or the graph is not one of scalars."""
    if check_finite or scalar_math or not args or not outs:
        # (scalar_math: the per-node code computes with the math module, whose results
        # NumPy's do not always match; small graphs, where it pays, stay as they are)
        return None
    dtype = args[0].dtype
    if dtype not in ("float64", "float32"):
        return None
    for a in args:
        if a.shape != () or a.dtype != dtype:
            return None
    for o in outs:
        if o.shape != () or o.dtype != dtype or not o.args:
            return None
    if order is None:
        order = toposort(outs)
    if len(order) < MIN_NODES:
        return None
    level: dict[Expr, int] = {}
    literal = _codegen()._literal
    lits: dict[Expr, Any] = {}  # a constant's literal, or None (a named constant)
    level_get = level.__getitem__
    leaves = 0
    for n in order:  # (runs once per node, on every scalar graph: kept lean)
        nargs = n.args
        if nargs:
            if n.shape:
                return None
            if len(nargs) == 2:
                lv = level_get(nargs[0])
                la = level_get(nargs[1])
                level[n] = (lv if lv > la else la) + 1
            elif len(nargs) == 1:
                level[n] = level_get(nargs[0]) + 1
            else:
                level[n] = max(map(level_get, nargs)) + 1
            continue
        op = n.op
        if (op is not SYMBOL and op is not CONST) or n.shape:
            return None  # computed leaves (count's float(n)): per-node code
        if op is CONST:
            lits[n] = literal(n)
        level[n] = 0
        leaves += 1
    inner = len(level) - leaves
    width = Counter(level.values())  # nodes per level
    # only nodes of wide levels can be grouped: when they are few (a deep chain, W3), the
    # grouped code cannot pay (a single costs several per-node nodes), and we stop here
    wide = {lv for lv, k in width.items() if k >= MIN_GROUP and lv}
    if sum(width[lv] for lv in wide) < _MIN_WIDE * inner:
        return None
    keys: dict[Any, list[Expr]] = {}
    keys_get = keys.get
    for n in order:
        lv = level_get(n)
        if lv not in wide:
            continue
        op = n.op
        if not op.elementwise or op.view or op.weak or n.dtype != dtype:
            continue
        cs: tuple[Any, ...] = ()
        for a in n.args:
            if a.op is CONST:
                # a literal (weak: takes the array's dtype) may differ from member to
                # member (then it is gathered); a named constant must be the same one
                cs += (a,)
            elif a.dtype != dtype:
                break
            else:
                cs += (None,)
        else:
            key = (lv - 1, op, n.attrs, cs)
            try:
                members = keys_get(key)
            except TypeError:  # an unhashable attribute
                continue
            if members is None:
                keys[key] = [n]
            else:
                members.append(n)
    # nodes that differ only in literal constants (c_i x_i) and are too few to group
    # with their own constant: grouped together, the literals gathered as a column
    merged: dict[Any, list[Expr]] = {}
    for key, members in list(keys.items()):
        if len(members) < MIN_GROUP and any(c is not None and lits[c] is not None
                                            for c in key[3]):
            loose = key[:3] + (tuple(_LIT if c is not None and lits[c] is not None else c
                                     for c in key[3]),)
            merged.setdefault(loose, []).extend(members)
    for key, members in merged.items():
        if len(members) >= MIN_GROUP:
            keys[key] = members
    groups: list[list[Expr]] = []
    consts: list[tuple[Any, ...]] = []
    grouped = 0
    for key, members in keys.items():
        if len(members) < MIN_GROUP:
            continue
        cs = tuple(_uniform_literal([m.args[j] for m in members]) if c is _LIT
                   else lits[c] if c is not None and lits[c] is not None else c
                   for j, c in enumerate(key[3]))
        if not _exact(key[1], dict(key[2]), cs, dtype) or (
                dtype == "float32" and not _exact(key[1], dict(key[2]), cs, "float64")):
            continue
        groups.append(members)
        consts.append(cs)
        grouped += len(members)
    if not groups:
        return None
    del keys, merged, lits
    # grouped nodes are marked in ``level`` (-1; a group's level is its first member's),
    # and ``level`` goes before ``where`` is built: both at once were W2's peak
    group_level = [level[members[0]] for members in groups]
    for members in groups:
        level.update(dict.fromkeys(members, -1))
    chains, in_chain = _chains(order, level, set(outs), dtype)
    singles = inner - grouped - len(in_chain) + len(chains)
    cost = (len(groups) + len(chains)) * _GROUP_US + singles * _SINGLE_US + _FIXED_US
    if cost > _PAYS * inner * _NODE_US or singles > _codegen()._CHUNK_LINES // 2:
        return None  # (so many singles: the per-node code, which cuts huge bodies in chunks)
    by_level: dict[int, tuple[list[Expr], list[int]]] = {}
    for n in order:
        if n.args and level_get(n) >= 0 and (n not in in_chain or n in chains):
            by_level.setdefault(level_get(n), ([], []))[0].append(n)
    del level, level_get
    for g, lv in enumerate(group_level):
        by_level.setdefault(lv, ([], []))[1].append(g)
    levels = [by_level[k] for k in sorted(by_level)]
    where: dict[Expr, int] = dict(zip(args, range(len(args))))  # (group -1: the arguments)
    for g, members in enumerate(groups):
        where.update(zip(members, range((g + 1) << _PLACE_SHIFT,
                                        ((g + 1) << _PLACE_SHIFT) + len(members))))
    return Plan(order, levels, groups, where, consts, chains, len(args))


_CHAIN_RE = re.compile(r"^np\.([a-z][a-z0-9_]*)\(\{0\}, \{1\}, (?:out=)?\{out\}\)$")


def _ufunc_of(op: Any) -> str | None:
    """The NumPy ufunc named by a binary op's ``numpy_out`` form (``np.add({0}, {1},
    {out})``), or None."""
    form = op.numpy_out
    m = _CHAIN_RE.match(form) if isinstance(form, str) else None
    if m is None or op.arity != 2:
        return None
    uf = getattr(np, m.group(1), None)
    return m.group(1) if isinstance(uf, np.ufunc) and uf.nin == 2 and uf.nout == 1 else None


def _links(order: list[Expr], level: dict[Expr, int], outs: set[Expr],
           dtype: str) -> Iterator[tuple[Expr, Expr]]:
    """The (previous, node) pairs that may link a chain, but for the previous node's
    number of uses (``level``: each node's, -1 for a grouped node)."""
    for n in order:
        if not n.args or level[n] < 0 or len(n.args) != 2 or n.dtype != dtype:
            continue
        op = n.op
        if not op.elementwise:
            continue
        prev, u = n.args
        if (prev.op is not op or prev.attrs != n.attrs or not prev.args or level[prev] < 0
                or prev in outs or prev.dtype != dtype
                or (u.is_const and _literal(u) is None) or u.dtype != dtype):
            continue
        yield prev, n


def _chains(order: list[Expr], level: dict[Expr, int], outs: set[Expr],
            dtype: str) -> tuple[dict[Expr, list[Expr]], set[Expr]]:
    """Long chains c_j = op(c_{j-1}, u_j) of single nodes (a sum written term by term):
    each is one ``np.<ufunc>.accumulate`` over [c_0, u_1, ..., u_m] — the same operations
    in the same order, so the same bits (checked by :func:`_exact_accumulate`).
    ``level``: each node's level, -1 for a grouped node.

    Returns {last node of a chain: its operands} and the set of every chained node."""
    # a link's previous node must have no other use: counted for the candidates only
    # (a count for every node of W2 at n = 10,000 took 5 MB, at the plan's peak)
    uses = dict.fromkeys((prev for prev, _ in _links(order, level, outs, dtype)), 0)
    if not uses:
        return {}, set()
    for n in order:
        for a in n.args:
            if a in uses:
                uses[a] += 1
    nxt: dict[Expr, Expr] = {}
    has_prev: set[Expr] = set()
    ok_op: dict[Any, bool] = {}
    for prev, n in _links(order, level, outs, dtype):
        if uses[prev] != 1:
            continue
        op = n.op
        key = (op, n.attrs)
        good = ok_op.get(key)
        if good is None:
            name = _ufunc_of(op)
            good = ok_op[key] = name is not None and all(
                _exact_accumulate(op, n.kw, name, d)
                for d in ((dtype,) if dtype == "float64" else (dtype, "float64")))
        if good:
            nxt[prev] = n
            has_prev.add(n)
    chains: dict[Expr, list[Expr]] = {}
    in_chain: set[Expr] = set()
    for head in nxt:
        if head in has_prev:
            continue
        run = [head]
        while run[-1] in nxt:
            run.append(nxt[run[-1]])
        if len(run) < MIN_CHAIN:
            continue
        chains[run[-1]] = [head.args[0]] + [c.args[1] for c in run]
        in_chain.update(run)
    return chains, in_chain


def _exact_accumulate(op: Any, attrs: dict[str, Any], ufunc: str, dtype: str) -> bool:
    """Does ``np.<ufunc>.accumulate`` give, bit for bit, the op's source applied element
    after element (on NumPy scalars and Python floats)?"""
    key = ("accumulate", op, repr(sorted(attrs.items())), dtype)
    got = _EXACT.get(key)
    if got is None:
        got = _EXACT[key] = _probe_accumulate(op, attrs, ufunc, dtype)
    return got


def _probe_accumulate(op: Any, attrs: dict[str, Any], ufunc: str, dtype: str) -> bool:
    from . import numeric

    try:
        v = _probe_values(dtype)
        v = v[np.abs(v) < 1e4]  # (no overflow to inf on the way)
        with np.errstate(all="ignore"):
            acc = getattr(np, ufunc).accumulate(v)
            code = compile(render_numpy(op, ["_p0", "_p1"], attrs), "<probe>", "eval")
            ns: dict[str, Any] = {"np": np, **numeric.HELPERS}
            for kind in (float, np.float64) if dtype == "float64" else (np.float32,):
                got = acc.copy()
                s = kind(v[0])
                for i in range(1, len(v)):
                    ns["_p0"], ns["_p1"] = s, kind(v[i])
                    s = eval(code, ns)  # noqa: S307 - the op's own source
                    got[i] = s
                if not _same(got, acc):
                    return False
    except Exception:  # noqa: BLE001 - any failure: no chain
        return False
    return True


# --------------------------------------------------------------------------- emission


def _index_text(idx: list[int]) -> str | None:
    """A basic slice for indices that form a range (None when they do not)."""
    a = idx[0]
    if len(idx) == 1:
        return f"{a}:{a + 1}"
    s = idx[1] - a
    if s <= 0:
        return None
    end = idx[-1] + 1
    if end - a != s * (len(idx) - 1) + 1:
        return None
    if len(idx) > 16:
        if not bool((np.diff(np.asarray(idx)) == s).all()):
            return None
    else:
        for i in range(2, len(idx)):
            if idx[i] - idx[i - 1] != s:
                return None
    return f"{a}:{end}" if s == 1 else f"{a}:{end}:{s}"


class _SymbolicSize(Exception):
    """An op's source asked for a symbolic size (a scalar graph has none to give)."""


def _no_dims(d: Any) -> str:
    raise _SymbolicSize(d)


class _Emitter:
    """Writes the body: gathers, group operations and single statements."""

    def __init__(self, p: Plan, var: dict[Expr, str], consts: dict[str, Any],
                 outs: list[Expr]) -> None:
        self.p, self.var, self.consts, self._outs = p, var, consts, outs
        self.lines: list[str] = []
        self.single_name: dict[Expr, str] = {}
        self.helpers: set[str] = set()
        self.read_at: dict[int, int] = {}  # group -> the last line reading its array

    def const(self, value: Any) -> str:
        name = f"_k{len(self.consts)}"
        self.consts[name] = value
        return name

    def array_of(self, g: int) -> str:
        """The name of group ``g``'s array (``_A``: the arguments), read by the line being
        written (see :meth:`with_deletes`)."""
        if g < 0:
            return "_A"
        self.read_at[g] = len(self.lines)
        return f"_v{g}"

    def scalar_text(self, n: Expr) -> str:
        """A single's operand: a name, a literal or one element of a group's array, or of
        the arguments' ``_A`` (converted to the declared dtype there, as the per-node code
        converts the arguments it reads; Python floats and NumPy scalars of one dtype give
        the same results: the probe's condition)."""
        w = self.p.where.get(n)
        if w is not None:
            g, i = _place(w)
            return f"{self.array_of(g)}[{i}]"
        if n in self.var:
            return self.var[n]
        return self.single_name[n]

    def gather(self, nodes: list[Expr], array: bool = False) -> str:
        """Source for the array of ``nodes``' values, shape ``(len(nodes), *points)`` (or
        one value that broadcasts to it, unless ``array``)."""
        where = self.p.where
        first = nodes[0]
        if all(m is first for m in nodes):
            w = where.get(first)
            if w is not None:
                g, i = _place(w)
                return f"{self.array_of(g)}[{i}:{i + 1}]"
            if not array:
                return f"{self.scalar_text(first)}"
        by_src: dict[int, tuple[list[int], list[int]]] = {}
        values: list[tuple[int, Expr]] = []
        lits: tuple[list[int], list[float]] = ([], [])
        ws = list(map(where.get, nodes))
        shift, mask = _PLACE_SHIFT, _PLACE_MASK
        srcs = {w >> shift for w in ws if w is not None}
        if None not in ws and len(srcs) == 1:  # (the usual case: one array)
            by_src[srcs.pop() - 1] = (list(range(len(nodes))), [w & mask for w in ws])
        else:
            for i, (m, w) in enumerate(zip(nodes, ws)):
                if w is not None:
                    pos, idx = by_src.setdefault((w >> shift) - 1, ([], []))
                    pos.append(i)
                    idx.append(w & mask)
                elif m.op is CONST:
                    lits[0].append(i)
                    lits[1].append(float(m.value))
                else:
                    values.append((i, m))
        if lits[0] and len(lits[0]) == len(nodes):  # literals only: a column, broadcast
            return f"_vcol({self.const(np.array(lits[1]))}, _A)"
        if len(by_src) == 1 and not values and not lits[0]:
            (g, (_, idx)), = by_src.items()
            name = self.array_of(g)
            sl = _index_text(idx)
            if sl is not None:
                return name if sl == f"0:{len(idx)}" and self._length(g) == len(idx) \
                    else f"{name}[{sl}]"
            return f"{name}[{self.const(np.array(idx, dtype=np.intp))}]"
        parts = []
        for g, (pos, idx) in by_src.items():
            sl = _index_text(idx)
            src = f"slice({sl.replace(':', ', ')})" if sl is not None else \
                self.const(np.array(idx, dtype=np.intp))
            parts.append(f"({self._pos(pos)}, {self.array_of(g)}, {src})")
        vals = [f"({i}, {self.scalar_text(m)})" for i, m in values]
        cst = [f"({self._pos(lits[0])}, {self.const(np.array(lits[1]))})"] if lits[0] else []
        tup = lambda xs: "(" + "".join(x + ", " for x in xs) + ")"  # noqa: E731
        return f"_vgather(_A, {len(nodes)}, {tup(parts)}, {tup(vals)}, {tup(cst)})"

    def _pos(self, pos: list[int]) -> str:
        sl = _index_text(pos)
        if sl is not None:
            return f"slice({sl.replace(':', ', ')})"
        return self.const(np.array(pos, dtype=np.intp))

    def _length(self, g: int) -> int:
        return len(self.p.groups[g]) if g >= 0 else self.p.nargs

    def emit(self) -> None:
        """The lines of every level: its singles (and chains), then its groups."""
        p = self.p
        count = 0
        for singles, gs in p.levels:
            for n in singles:
                self.helpers.update(n.op.helpers)
                chain = p.chains.get(n)
                if chain is not None:
                    text = (f"np.{_ufunc_of(n.op)}.accumulate({self.gather(chain)})[-1]")
                else:
                    text = render_numpy(n.op, [self.scalar_text(a) for a in n.args], n.kw,
                                        _no_dims)
                name = f"s{count}"
                count += 1
                self.single_name[n] = name
                self.lines.append(f"{name} = {text}")
            for g in gs:
                members = p.groups[g]
                m0 = members[0]
                self.helpers.update(m0.op.helpers)
                operands = []
                for j, c in enumerate(p.consts[g]):
                    operands.append(self.gather([m.args[j] for m in members]) if c is None
                                    else c if isinstance(c, str) else self.var[c])
                self.lines.append(f"_v{g} = {render_numpy(m0.op, operands, m0.kw, _no_dims)}")

    def with_deletes(self, lines: list[str]) -> list[str]:
        """``lines`` with ``del _vK`` after the last line that reads ``_vK`` (so arrays of
        points die as in the per-node code), but for arrays the last line reads."""
        after: dict[int, list[int]] = {}
        end = len(lines) - 1
        for g, at in self.read_at.items():
            if at < end:
                after.setdefault(at, []).append(g)
        out: list[str] = []
        for i, line in enumerate(lines):
            out.append(line)
            dead = after.get(i)
            if dead:
                out.append("del " + ", ".join(f"_v{g}" for g in sorted(dead)))
        return out


def generate(p: Plan, args: Sequence[Expr], outs: Sequence[Expr], single: Any, check: bool,
             value_and_grad: Any) -> tuple[str, dict[str, Any]]:
    """The source of ``_symback_fn(*args)`` computing ``outs`` with the grouped schedule
    (the same calling conventions as :func:`symback.codegen._generate` for scalar
    arguments and outputs), and its constants."""
    from . import codegen as cg

    taken: set[str] = set()
    var: dict[Expr, str] = {}
    for a in args:
        var[a] = cg._py_name(a.name, taken)
    names = [var[a] for a in args]
    consts: dict[str, Any] = {}
    for n in p.order:
        if n.op is CONST:
            lit = _literal(n)
            if lit is None:
                lit = f"_k{len(consts)}"
                consts[lit] = n.value
            var[n] = lit
    dtype = args[0].dtype
    pre: list[str] = []
    body: list[str] = []
    star = len(args) > STAR_ARGS
    if star:
        # many arguments (W2 takes 10,000): the function takes them as one tuple; a
        # signature of 10,000 names and the tuple display of them (``_s = (x0, ...)``)
        # took 20 MB to compile at n = 10,000, the compiler's peak of the whole build
        body.append(f"if len(_s) != {len(args)}:")
        body.append(f"    raise TypeError(f'_symback_fn takes {len(args)} positional arguments "
                    "but {len(_s)} were given')")
    tup = "(" + "".join(f"{v}, " for v in names) + ")"
    first = "_s[0]" if star else names[0]
    if check:
        pre.append(cg._scalar_specs_source(args))
        pre.append(cg._source_of(cg._scalar) + "\n" + cg._source_of(cg._scalars) + "\n")
        pre.append(f"_dt_{dtype} = np.dtype({dtype!r})\n")
        if not star:
            body.append(f"_s = {tup}")
        # one C pass converts and checks (floats, or what _scalar would turn into the
        # declared dtype: ints, NumPy scalars); anything else goes through _scalars,
        # whose errors name the argument
        body.append("try:")
        body.append("    _A = np.array(_s)")
        body.append("except (ValueError, TypeError):")
        body.append("    _A = None")
        body.append(f"if _A is None or _A.dtype is not _dt_{dtype} or _A.shape != ({len(args)},):")
        body.append("    _A = np.array(_scalars(_s, _SCALAR_SPECS))")
    else:
        pre.append(_source_of(_vpack) + "\n")
    em = _Emitter(p, var, consts, list(outs))
    em.emit()
    k = len(outs)
    block = ""
    if check:
        out_line = f"_o = {em.gather(list(outs), array=True)}"
        body += em.with_deletes(em.lines + [out_line])
    else:
        # arrays of points: the work goes block by block of points, so that every group's
        # array, (k, block), stays in the cache (a (1000, 10000) array does not)
        rows = max([len(g) for g in p.groups] + [len(c) for c in p.chains.values()] + [k])
        size = max(_MIN_BLOCK, _BLOCK_BYTES // (8 * rows))
        out_line = f"return {em.gather(list(outs), array=True)}"
        inner_body = em.with_deletes(em.lines + [out_line])
        block = ("def _symback_block(_A):\n"
                 + "".join(f"    {line}\n" for line in inner_body) + "\n")
        pre.append(_source_of(_vrun) + "\n")
        # many points: the per-node code (compiled on first use, see compile_vectorized)
        # is as fast, its arrays of points being already long
        pre.append("_symback_per_node = None  # (set by symback.vectorize.compile_vectorized)\n")
        if not star:
            body.append(f"_s = {tup}")
        body.append(f"if (_symback_per_node is not None and {first}.__class__ is np.ndarray"
                    f" and {first}.size > {PER_NODE_POINTS}):")
        body.append("    return _symback_per_node(*_s)")
        body.append(f"_o = _vrun(_symback_block, _s, {k}, {size})")
    for helper in (_vgather, _vcol):
        if f"{helper.__name__}(" in block or f"{helper.__name__}(" in "\n".join(body):
            pre.append(_source_of(helper) + "\n")
    if check:
        pre.append(f"_IDX_0D = tuple((i, ...) for i in range({k}))\n")
        body.append(f"_o = np.asarray(_o, _dt_{dtype})")
        body.append("_r = tuple(map(_o.__getitem__, _IDX_0D))")
    else:
        body.append("_r = _o.tolist() if _o.ndim == 1 and _o.dtype == np.float64 else tuple(_o)")
    if single == value_and_grad:
        ret = "_r[0], list(_r[1:])"
    elif single is True:
        ret = "_r[0]"
    else:
        ret = "tuple(_r)"
    body.append(f"return {ret}")
    source = cg._helper_sources(em.helpers)
    if "SymbackError" in "".join(pre):
        source += "from symback.errors import SymbackError\n"
    source += "".join(pre) + block
    params = "*_s" if star else ", ".join(names)
    source += f"def _symback_fn({params}):\n" + "".join(f"    {line}\n" for line in body)
    return source, consts


class _PerNode:
    """The per-node code of the same graph, generated and compiled on its first call (for
    arrays of many points, where it is as fast as the grouped code and needs no packing)."""

    def __init__(self, args: list[Expr], outs: list[Expr], single: Any, filename: str) -> None:
        self.args, self.outs, self.single, self.filename = args, outs, single, filename
        self.fn: Any = None
        self.lock = threading.Lock()

    def __call__(self, *values: Any) -> Any:
        fn = self.fn
        if fn is None:
            with self.lock:  # (one thread compiles; the others wait for it)
                fn = self.fn
                if fn is None:
                    cg = _codegen()
                    source, consts = cg._generate(self.args, self.outs, self.single, False)
                    fn = self.fn = cg._compile(source, consts, self.filename + "-per-node")
                    self.args = self.outs = ()  # (the graph is no longer needed)
        return fn(*values)


def compile_vectorized(p: Plan, args: list[Expr], outs: list[Expr], compiled: list[Expr],
                       single: Any, check: bool, filename: str) -> Any | None:
    """The :class:`symback.codegen.CompiledFunction` of the grouped code (``compiled``:
    the outputs after the rule tables; ``outs`` as given), or None when an op's source
    needs a symbolic size (then the per-node code compiles the graph)."""
    cg = _codegen()
    try:
        source, consts = generate(p, args, compiled, single, check, cg._VALUE_AND_GRAD)
    except _SymbolicSize:
        return None  # (the per-node code binds sizes from the arguments)
    p.release()
    fn = cg.CompiledFunction(args, outs, single, source, consts, filename)
    if not check:
        fn._fn.__globals__["_symback_per_node"] = _PerNode(args, compiled, single, filename)
    return fn


_SOURCES: dict[Any, str] = {}


def _source_of(fn: Any) -> str:
    src = _SOURCES.get(fn)
    if src is None:
        src = _SOURCES[fn] = inspect.getsource(fn)
    return src


for _f in _RUNTIME:  # read at import (a file edited later would not match)
    _source_of(_f)
