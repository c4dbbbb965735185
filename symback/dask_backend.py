"""``backend="dask"``: the compiled NumPy function run chunk by chunk over data in Dask.

A data argument whose first dimension is a symbolic size (``sb.matrix("X", "n", d)``) may
be a chunked ``dask.array`` (chunks along that axis only). The graph is compiled once
to NumPy (today's generator, buffers and all); at call time each chunk of rows goes
through it on its own, and the per-chunk results are combined by Dask's tree reduction
(``dask.array.sum``), so a worker holds one chunk, never the data set. The function is one
key of the task graph, referenced by every chunk's task: it is shipped to each worker once.

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

from collections.abc import Sequence
from typing import Any

import numpy as np

from .errors import SymbackError
from .graph import Expr

_SUM, _MEAN, _ROWS = "sum", "mean", "rows"
_PROBE_ROWS = (2, 3)


def _chunk_eval(fn: Any, rows: int, n_rows_args: int, *values: Any) -> np.ndarray:
    """One chunk: the compiled function on its rows, every reduced output raveled into one
    row ``[w·F_1, w·F_2, ...]`` (w = the chunk's row count for mean outputs)."""
    outs = fn(*values)
    n = values[rows].shape[0] if rows >= 0 else 0
    parts = []
    for o, mode in zip(outs, fn._symback_modes):
        if mode == _ROWS:
            continue
        a = np.asarray(o, dtype=np.float64).ravel()
        parts.append(a * n if mode == _MEAN else a)
    return np.concatenate(parts)[None, :] if parts else np.zeros((1, 0))


def _chunk_rows(fn: Any, index: int, *values: Any) -> np.ndarray:
    """One chunk's rows of the row-by-row output ``index``."""
    return np.asarray(fn(*values)[index])


class DaskFunction:
    """A graph compiled for chunked data (see the module docstring); called positionally."""

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
        self._fn_key: str | None = None  # the task-graph key of the function (see __call__)

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
        state["_fn_key"] = None  # a copy is another object: its own key
        return state

    def _package(self, outs: Sequence[Any]) -> Any:
        from .codegen import _VALUE_AND_GRAD

        if self.single == _VALUE_AND_GRAD:
            return outs[0], list(outs[1:])
        return outs[0] if self.single else tuple(outs)

    def __call__(self, *values: Any) -> Any:
        import dask.array as da

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
        (a worker killed at the wrong moment can make the scheduler cancel it, beyond the
        lost chunks Dask recomputes on its own). The result is the same sum either way."""
        try:
            from distributed.client import FutureCancelledError
            from distributed.scheduler import KilledWorker
            lost: tuple[type[BaseException], ...] = (FutureCancelledError, KilledWorker)
        except ImportError:
            lost = ()
        for attempt in range(3):
            try:
                return self._run(values, lazy)
            except lost:
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

    def _run(self, values: tuple[Any, ...], lazy: list[int]) -> list[Any]:
        import dask
        import dask.array as da
        from dask.base import tokenize
        from dask.highlevelgraph import HighLevelGraph

        vals = list(values)
        first = vals[lazy[0]]
        for i in self._row_args:  # one chunking along the rows; other axes in one piece
            v = vals[i]
            if not isinstance(v, da.Array):
                v = da.from_array(np.asarray(v), chunks=first.chunks[0][:1] or -1)
            want = {0: first.chunks[0], **{k: -1 for k in range(1, v.ndim)}}
            if v.chunks[0] != first.chunks[0] or any(len(c) != 1 for c in v.chunks[1:]):
                v = v.rechunk(want)
            if v.shape[0] != first.shape[0]:
                from .codegen import _shape_error

                _shape_error(self.args[i].name, f"({self.row_dim}, ...)", v.shape,
                             {self.row_dim: first.shape[0]})
            vals[i] = v
        nchunks = len(first.chunks[0])
        # the function and the small (NumPy) arguments: one key each, shared by every task
        if self._fn_key is None:  # hashing the source once, not on every call
            self._fn_key = "symback-fn-" + tokenize(id(self), self.source)
        fn_key = self._fn_key
        small = {i: ("symback-arg-" + tokenize(np.asarray(v)), np.asarray(v))
                 for i, v in enumerate(vals) if i not in self._row_args}
        token = tokenize(fn_key, *[(k, ) for k, _ in small.values()],
                         *[vals[i].name for i in self._row_args])
        dsk: dict[Any, Any] = {fn_key: self._function()}
        dsk.update({k: v for k, v in small.values()})
        deps = [vals[i] for i in self._row_args]

        def task_args(c: int) -> list[Any]:
            out = []
            for i, v in enumerate(vals):
                if i in self._row_args:
                    out.append((v.name, c) + (0,) * (v.ndim - 1))
                else:
                    out.append(small[i][0])
            return out

        results: list[Any] = [None] * len(self.outputs)
        reduced = [k for k, m in enumerate(self.modes) if m != _ROWS]
        lazy_outs = []
        if reduced:
            width = sum(int(np.prod(self.outputs[k].shape, dtype=np.int64))
                        for k in reduced)
            name = "symback-chunk-" + token
            layer = dict(dsk)
            row0 = self._row_args.index(lazy[0]) if lazy[0] in self._row_args else 0
            for c in range(nchunks):
                layer[(name, c, 0)] = (_chunk_eval, fn_key, self._row_args[row0],
                                       len(self._row_args), *task_args(c))
            graph = HighLevelGraph.from_collections(name, layer, dependencies=deps)
            parts = da.Array(graph, name, chunks=((1,) * nchunks, (width,)), dtype=np.float64)
            lazy_outs.append(parts.sum(axis=0))  # Dask's tree reduction
        rows_at = [k for k, m in enumerate(self.modes) if m == _ROWS]
        for k in rows_at:
            o = self.outputs[k]
            name = f"symback-rows-{k}-" + token
            layer = dict(dsk)
            for c in range(nchunks):
                layer[(name, c) + (0,) * (len(o.shape) - 1)] = (
                    _chunk_rows, fn_key, k, *task_args(c))
            graph = HighLevelGraph.from_collections(name, layer, dependencies=deps)
            chunks = (first.chunks[0],) + tuple((d,) for d in o.shape[1:])
            lazy_outs.append(da.Array(graph, name, chunks=chunks, dtype=o.dtype))
        computed = dask.compute(*lazy_outs)
        if reduced:
            flat = computed[0]
            n_total = first.shape[0]
            pos = 0
            for k in reduced:
                o = self.outputs[k]
                size = int(np.prod(o.shape, dtype=np.int64))
                a = flat[pos:pos + size].reshape(o.shape)
                if self.modes[k] == _MEAN:
                    a = a / n_total
                results[k] = np.asarray(a, dtype=o.dtype)
                pos += size
        for j, k in enumerate(rows_at):
            results[k] = computed[(1 if reduced else 0) + j]
        return results

    def __repr__(self) -> str:
        names = ", ".join(a.name for a in self.args)
        return f"<symback dask function ({names}) -> {len(self.outputs)} output(s)>"


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
            if np.allclose(ab, np.concatenate([a, b]), **tol):
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
