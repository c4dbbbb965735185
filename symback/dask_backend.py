"""``backend="dask"``: the compiled NumPy function run chunk by chunk over data in Dask.

A data argument whose first dimension is a symbolic size (``sb.matrix("X", "n", d)``) may
be a chunked ``dask.array`` (chunks along that axis only). The graph is compiled once
to NumPy (today's generator, buffers and all); at call time each chunk of rows goes
through it on its own, and the per-chunk results are combined by a tree reduction in the
same task graph, so a worker holds one chunk, never the data set. On a ``dask.distributed``
client the function is scattered to the workers once (per client) and every chunk's task
refers to that copy: it is never pickled into a call's graph, and each worker keeps its one
copy, with its warm buffers, from call to call.

How chunks combine is decided per output when compiling, from the outputs themselves: the
compiled function is run on two small random blocks of rows A and B (a fixed seed) and on
A ∪ B, and each output must be

* a **sum** over the rows: F(A ∪ B) = F(A) + F(B) (Σ_i ℓ_i and its gradients),
* a **mean** (plus terms free of the rows): F(A ∪ B) = (|A| F(A) + |B| F(B)) / (|A| + |B|)
  (mean_i ℓ_i + λ R(θ) and its gradients), or
* **row by row** (its first axis the chunked size): F(A ∪ B) = [F(A); F(B)],

else compiling raises ``SymbackError`` naming the output: a loss that is not separable over
the rows never gives a wrong number. Results are NumPy arrays (computed: the optimizer
wants numbers); with no dask argument the call is the NumPy function's.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import numpy as np

from .errors import SymbackError
from .graph import Expr

_SUM, _MEAN, _ROWS = "sum", "mean", "rows"
_PROBE_ROWS = (2, 3)


def _chunk_eval(fn: Any, rows: int, *values: Any) -> tuple[np.ndarray, list[np.ndarray]]:
    """One chunk: the compiled function on its rows. Returns every reduced output raveled
    into one vector ``[w·F_1, w·F_2, ...]`` (w = the chunk's row count for mean outputs)
    and the row-by-row outputs, in one task (the function runs once per chunk)."""
    outs = fn(*values)
    n = values[rows].shape[0]
    parts, kept = [], []
    for o, mode in zip(outs, fn._symback_modes):
        if mode == _ROWS:
            kept.append(np.asarray(o))
            continue
        a = np.asarray(o, dtype=np.float64).ravel()
        parts.append(a * n if mode == _MEAN else a)
    return (np.concatenate(parts) if parts else np.zeros(0)), kept


def _combine(*parts: tuple[np.ndarray, list[np.ndarray]]) -> tuple[np.ndarray, list[Any]]:
    """One node of the tree reduction: the sum of its children's reduced vectors, added
    left to right (a fixed order: the same numbers on every run)."""
    total = np.array(parts[0][0], dtype=np.float64, copy=True)
    for p in parts[1:]:
        total += p[0]
    return total, []


_FAN_IN = 16  # children per node of the reduction tree (each is one small vector)
_INLINE_BYTES = 1 << 16  # NumPy arguments up to this size travel inside every chunk task


class DaskFunction:
    """A graph compiled for chunked data (see the module docstring); called as the NumPy
    backend's compiled functions (positionally, by name, or with one dict)."""

    backend = "dask"

    def __init__(self, args: Sequence[Expr], outputs: Sequence[Expr], single: Any,
                 inner: Any, row_dim: str | None, modes: list[str]) -> None:
        self.args = tuple(args)
        self.outputs = tuple(outputs)
        self.single = single
        self._inner = inner
        self.row_dim = row_dim
        self.modes = modes
        inner._symback_modes = tuple(modes)
        self.source = inner.source
        self._row_args = [i for i, a in enumerate(self.args)
                          if row_dim is not None and a.shape and a.shape[0] == row_dim]
        self._shipped: dict[Any, Any] = {}  # distributed client id -> the scattered function

    def _function(self) -> Any:
        """The compiled function as the task graph holds it: on a dask.distributed client,
        a future of it scattered to every worker once (so a call ships only its small
        arguments), else the object itself."""
        try:
            from distributed import default_client

            client = default_client()
        except (ImportError, ValueError):
            return self._inner
        fut = self._shipped.get(client.id)
        if fut is None or fut.status in ("lost", "error", "cancelled"):
            fut = self._shipped[client.id] = client.scatter(self._inner, broadcast=True,
                                                            hash=False)
        return fut

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_shipped"] = {}
        return state

    def _package(self, outs: Sequence[Any]) -> Any:
        from .codegen import _VALUE_AND_GRAD

        if self.single == _VALUE_AND_GRAD:
            return outs[0], list(outs[1:])
        return outs[0] if self.single else tuple(outs)

    @property
    def arg_names(self) -> tuple[str, ...]:
        """The argument names, in the order the function takes them."""
        return tuple(a.name for a in self.args)

    def __call__(self, *values: Any, **named: Any) -> Any:
        """Positionally, by name (``f(w=..., X=...)``) or with one dict, as the NumPy
        backend's compiled functions."""
        import dask.array as da

        if named or (len(values) == 1 and isinstance(values[0], dict)):
            from .arrayapi import bind_named

            values = bind_named(self, values, named)
        if len(values) != len(self.args):
            names = ", ".join(a.name for a in self.args)
            raise SymbackError(f"compiled function takes {len(self.args)} argument(s) "
                               f"({names}), got {len(values)}")
        lazy = [i for i, v in enumerate(values) if isinstance(v, da.Array)]
        if not lazy:
            return self._package(self._inner(*values))
        bad = [self.args[i].name for i in lazy if i not in self._row_args]
        if bad:
            raise SymbackError(
                f"backend 'dask': argument(s) {', '.join(bad)} are dask arrays but their first "
                f"dimension is not the chunked size {self.row_dim!r}; pass them as NumPy arrays")
        return self._package(self._with_retries(values, lazy))

    def _with_retries(self, values: tuple[Any, ...], lazy: list[int]) -> list[Any]:
        """``_run``, again (at most twice more) when the cluster lost the computation itself
        (a worker killed at the wrong moment, or restarted by its nanny for memory, can
        make the scheduler cancel it or forget a key it needs, beyond the lost chunks Dask
        recomputes on its own). Before a retry the function is scattered afresh: the copy
        the workers held may be what was lost. The result is the same sum either way."""
        lost = _lost_errors()
        for attempt in range(3):
            try:
                return self._run(values, lazy)
            except lost as exc:
                self._shipped.clear()
                if attempt == 2:
                    raise
                logging.getLogger("symback.dask").warning(
                    "the cluster lost this evaluation (%s: %s); running it again with the "
                    "function scattered afresh (attempt %d of 3)", type(exc).__name__,
                    str(exc).splitlines()[0] if str(exc) else "", attempt + 2)
        raise AssertionError("unreachable")  # pragma: no cover

    def _run(self, values: tuple[Any, ...], lazy: list[int]) -> list[Any]:
        """One evaluation: a task per chunk (the function on its rows), a tree of
        ``_combine`` tasks over them, computed by the current scheduler.

        The graph is built by hand (no ``dask.array`` reduction and no graph optimisation):
        each chunk task holds the small arguments and a reference to the function already
        on the workers, so the tasks only wait for their chunk and run back to back on a
        worker; the reduction is ``ceil(chunks / 16)`` tasks per level."""
        import uuid

        import dask
        import dask.array as da
        from dask.delayed import Delayed
        from dask.highlevelgraph import HighLevelGraph

        vals = list(values)
        for i in lazy:  # sizes dask does not know yet (after x[mask]) cannot be lined up
            if any(c != c for c in vals[i].chunks[0]):
                raise SymbackError(
                    f"backend 'dask': argument {self.args[i].name} has chunks of unknown size "
                    f"along {self.row_dim!r} (as after boolean indexing); call "
                    f"{self.args[i].name}.compute_chunk_sizes() before passing it")
        first = vals[lazy[0]]
        for i in self._row_args:  # one chunking along the rows; other axes in one piece
            v = vals[i]
            if not isinstance(v, da.Array):
                v = np.asarray(v)
            if not v.shape or v.shape[0] != first.shape[0]:  # before rechunking: a clear error
                from .codegen import _shape_error

                _shape_error(self.args[i].name, f"({self.row_dim}, ...)", v.shape,
                             {self.row_dim: first.shape[0]})
            want = (first.chunks[0],) + tuple((s,) for s in v.shape[1:])
            if not isinstance(v, da.Array):  # the chunks given explicitly (0-row ones too)
                v = da.from_array(v, chunks=want)
            elif v.chunks != want:
                v = v.rechunk(want)
            vals[i] = v
        # chunks of no rows get no task (a mean over none is 0/0); all empty: one, as NumPy
        live = [c for c, r in enumerate(first.chunks[0]) if r > 0] or [0]
        token = uuid.uuid4().hex  # keys of this call only (a repeated call is a new graph)
        layer: dict[Any, Any] = {}
        small: dict[int, Any] = {}
        for i, v in enumerate(vals):
            if i not in self._row_args:
                a = np.asarray(v)
                if a.nbytes <= _INLINE_BYTES:
                    small[i] = a
                else:  # a large one: one key of the graph, fetched once per worker
                    small[i] = f"symback-arg-{i}-{token}"
                    layer[small[i]] = a
        fn = self._function()  # on a cluster: a future of the scattered function

        def task_args(c: int) -> list[Any]:
            return [(v.name, c) + (0,) * (v.ndim - 1) if i in self._row_args else small[i]
                    for i, v in enumerate(vals)]

        chunk = "symback-chunk-" + token
        rows = self._row_args.index(lazy[0]) if lazy[0] in self._row_args else 0
        level = []
        for c in live:
            layer[(chunk, c)] = (_chunk_eval, fn, self._row_args[rows], *task_args(c))
            level.append((chunk, c))
        chunk_keys = list(level)
        depth = 0
        while len(level) > 1 or depth == 0:  # the tree: _FAN_IN children per node
            name = f"symback-sum-{depth}-" + token
            level_keys = []
            for j in range(0, len(level), _FAN_IN):
                layer[(name, j)] = (_combine, *level[j:j + _FAN_IN])
                level_keys.append((name, j))
            level, depth = level_keys, depth + 1
        total = level[0]
        graph = HighLevelGraph.from_collections(
            "symback-" + token, layer, dependencies=[vals[i] for i in self._row_args])
        rows_at = [k for k, m in enumerate(self.modes) if m == _ROWS]
        wanted = [total] + (chunk_keys if rows_at else [])
        computed = dask.compute(*[Delayed(k, graph, layer="symback-" + token)
                                  for k in wanted], optimize_graph=False)
        results: list[Any] = [None] * len(self.outputs)
        flat = computed[0][0]
        pos = 0
        for k, mode in enumerate(self.modes):
            if mode == _ROWS:
                continue
            o = self.outputs[k]
            size = int(np.prod(o.shape, dtype=np.int64))
            a = flat[pos:pos + size].reshape(o.shape)
            if mode == _MEAN:
                a = a / first.shape[0]
            results[k] = np.asarray(a, dtype=o.dtype)
            pos += size
        for j, k in enumerate(rows_at):
            o = self.outputs[k]
            results[k] = np.concatenate([c[1][j] for c in computed[1:]]).astype(
                o.dtype, copy=False)
        return results

    def __repr__(self) -> str:
        names = ", ".join(a.name for a in self.args)
        return f"<symback dask function ({names}) -> {len(self.outputs)} output(s)>"


def _lost_errors() -> tuple[type[BaseException], ...]:
    """The errors by which dask.distributed says it lost a computation (not the user's
    error): a cancelled future or several (``FutureCancelledError``, ``FuturesCancelledError``
    and the "already forgotten" key are all ``CancelledError``s), a worker killed too
    often (``KilledWorker``)."""
    try:
        from distributed.client import CancelledError
        from distributed.scheduler import KilledWorker
    except ImportError:
        return ()
    return (CancelledError, KilledWorker)


def _probe(inner: Any, args: Sequence[Expr], outs: Sequence[Expr], row_dim: str) -> list[str]:
    """How each output combines over chunks of rows (see the module docstring)."""
    rng = np.random.default_rng(20260)
    other = 2  # every other symbolic size in the probe

    def make(rows: int, base: dict[int, np.ndarray]) -> list[np.ndarray]:
        vals = []
        for i, a in enumerate(args):
            if a.shape and a.shape[0] == row_dim:
                shape = (rows,) + tuple(d if isinstance(d, int) else other
                                        for d in a.shape[1:])
                vals.append(rng.uniform(0.1, 0.9, shape).astype(a.dtype))
            else:
                vals.append(base[i])
        return vals

    base = {}
    for i, a in enumerate(args):
        if not (a.shape and a.shape[0] == row_dim):
            shape = tuple(d if isinstance(d, int) else other for d in a.shape)
            base[i] = rng.uniform(0.1, 0.9, shape).astype(a.dtype)
    na, nb = _PROBE_ROWS
    va, vb = make(na, base), make(nb, base)
    vab = [np.concatenate([x, y]) if (a.shape and a.shape[0] == row_dim) else x
           for a, x, y in zip(args, va, vb)]
    fa, fb, fab = inner(*va), inner(*vb), inner(*vab)
    modes = []
    for k, o in enumerate(outs):
        a, b, ab = (np.asarray(f[k], dtype=np.float64) for f in (fa, fb, fab))
        tol = dict(rtol=1e-4, atol=1e-6) if o.dtype == "float32" else dict(rtol=1e-9,
                                                                           atol=1e-12)
        if not (np.all(np.isfinite(a)) and np.all(np.isfinite(b))):
            raise SymbackError(f"backend 'dask': output {k} ({o!s:.60}) is not finite on "
                               "the probe data; cannot tell how it combines over chunks")
        if o.shape and o.shape[0] == row_dim:
            # (n, n) and the like: other axes that grow with the rows are not row by row
            if (a.shape[1:] == b.shape[1:] == ab.shape[1:]
                    and np.allclose(ab, np.concatenate([a, b]), **tol)):
                modes.append(_ROWS)
                continue
        elif a.shape == ab.shape:
            if np.allclose(ab, a + b, **tol):
                modes.append(_SUM)
                continue
            if np.allclose(ab, (na * a + nb * b) / (na + nb), **tol):
                modes.append(_MEAN)
                continue
        raise SymbackError(
            f"backend 'dask': output {k} ({o!s:.60}) is neither a sum nor a mean over the "
            f"rows of {row_dim!r}, nor computed row by row, so it cannot be evaluated chunk "
            "by chunk; write the loss as sum(...) or mean(...) over the rows")
    return modes


def compile_dask(args: list[Expr], outs: list[Expr], compiled_outs: list[Expr], single: Any,
                 *, check: bool = True, order: list[Expr] | None = None,
                 check_finite: bool = False, **options: Any) -> DaskFunction:
    """The registry's compile function for ``dask`` (``check_finite`` checks each chunk)."""
    if options:
        raise SymbackError(f"lambdify: backend 'dask' takes no option(s) "
                           f"{', '.join(sorted(options))}")
    try:
        import dask.array  # noqa: F401
    except ImportError as exc:
        raise SymbackError("lambdify: backend 'dask' needs dask[array] installed "
                           f"(pip install \"symback[dask]\"): {exc}") from None
    from .codegen import lambdify

    inner = lambdify(args, list(compiled_outs), check=check, rewrite=False,
                     check_finite=check_finite)
    row_dims = {a.shape[0] for a in args if a.shape and isinstance(a.shape[0], str)}
    if len(row_dims) > 1:
        raise SymbackError(
            "backend 'dask': the data arguments' first dimensions are different symbolic "
            f"sizes ({', '.join(sorted(row_dims))}); chunks need one size of rows")
    row_dim = next(iter(row_dims)) if row_dims else None
    modes = _probe(inner, args, outs, row_dim) if row_dim is not None else [_SUM] * len(outs)
    return DaskFunction(args, outs, single, inner, row_dim, modes)
