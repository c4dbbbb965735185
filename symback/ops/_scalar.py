"""Helpers for the ops' ``scalarize`` forms: NumPy *object* arrays of scalar expressions.

A tensor of static shape is written entry by entry as an object array whose entries are
scalar :class:`~symback.graph.Expr` nodes (:mod:`symback.native` compiles such graphs).
NumPy's object arrays do the moving (slicing, transposing, broadcasting views) and call
the entries' Python operators for arithmetic; these helpers cover what they do not:
wrapping a lone expression as a 0-d array, filling an array with one expression (NumPy
would try to read an expression as an array), and sums in a fixed order.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np

from ..errors import SymbackError
from ..graph import Expr, const

# How many more scalar terms the scalarisation under way may write (products make more
# nodes than their result has entries: a 100x100 @ 100x100 matmul is 10^6 products)
_BUDGET: contextvars.ContextVar[list[int] | None] = contextvars.ContextVar(
    "symback_scalar_budget", default=None)


class OverBudget(SymbackError):
    """A scalar form would write more terms than the scalarisation may (see :func:`budget`)."""


class NotScalar(SymbackError):
    """A scalar form cannot write these arguments entry by entry (e.g. indices that are
    only known at run time); the message says why."""


@contextlib.contextmanager
def budget(allowance: list[int]) -> Iterator[None]:
    """Let the scalar forms run inside write ``allowance[0]`` more terms (:func:`spend`
    takes them off, so one allowance serves a whole graph)."""
    token = _BUDGET.set(allowance)
    try:
        yield
    finally:
        _BUDGET.reset(token)


def spend(n: int, what: str) -> None:
    """Count ``n`` terms written by a scalar form (``what`` describes them): ``OverBudget``
    when the allowance of the enclosing :func:`budget` is spent (no limit outside one)."""
    b = _BUDGET.get()
    if b is None:
        return
    b[0] -= n
    if b[0] < 0:
        raise OverBudget(what)


def obj(x: Any) -> np.ndarray:
    """``x`` as an object array: an array as is, an expression (or number) as a 0-d one."""
    if isinstance(x, np.ndarray):
        return x
    out = np.empty((), dtype=object)
    out[()] = x if isinstance(x, Expr) else const(x)
    return out


def full(shape: Sequence[int], e: Any) -> np.ndarray:
    """An object array of ``shape`` whose every entry is ``e`` (an expression)."""
    out = np.empty(tuple(shape), dtype=object)
    out.fill(e if isinstance(e, Expr) else const(e))
    return out


def zeros(shape: Sequence[int]) -> np.ndarray:
    """Entries the constant ``0.0`` (a weak float: ``0.0 + x`` builds ``x``)."""
    return full(shape, const(0.0))


def apply(fn: Callable[..., Expr], *arrays: np.ndarray) -> np.ndarray:
    """``fn`` on the entries of the broadcast ``arrays`` (an object array back, 0-d too)."""
    return obj(np.frompyfunc(fn, len(arrays), 1)(*arrays))


def add(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Entrywise ``a + b`` (broadcasting), through the entries' ``+`` (the ``add`` op)."""
    return obj(np.add(a, b, dtype=object))


def sum_axes(x: np.ndarray, axis: tuple[int, ...] | None, keepdims: bool = False) -> np.ndarray:
    """Σ of ``x`` over ``axis`` (None: all), added strictly left to right in C order of the
    reduced entries: ``((x0 + x1) + x2) + ...``. NumPy's float sums are pairwise, so a
    compiled sum may differ from the NumPy backend's in the last bits. No entries: 0.0."""
    return fold_axes(x, axis, keepdims, None, 0.0)


def fold_axes(x: np.ndarray, axis: tuple[int, ...] | None, keepdims: bool,
              fn: Callable[[Expr, Expr], Expr] | None, empty: float | None) -> np.ndarray:
    """``x`` reduced over ``axis`` (None: all) with the binary ``fn`` (None: ``+``), left to
    right in C order of the reduced entries; ``empty`` for no entries (None: an error)."""
    nd = x.ndim
    axes = tuple(range(nd)) if axis is None else tuple(axis)
    keep = [i for i in range(nd) if i not in axes]
    moved = np.transpose(x, keep + list(axes))
    kept_shape = tuple(x.shape[i] for i in keep)
    flat = moved.reshape(kept_shape + (-1,)) if moved.size else np.empty(
        kept_shape + (int(np.prod([x.shape[i] for i in axes], dtype=np.int64)),), object)
    k = flat.shape[-1]
    step = add if fn is None else np.frompyfunc(fn, 2, 1)
    if k == 0:
        if empty is None:
            raise ValueError("a reduction over no entries")
        acc = full(kept_shape, const(empty))
    else:
        acc = obj(flat[..., 0])
        for j in range(1, k):
            acc = obj(step(acc, flat[..., j]))
    if keepdims:
        acc = acc.reshape(tuple(1 if i in axes else d for i, d in enumerate(x.shape)))
    return obj(acc)


def centred(x: np.ndarray, axis: tuple[int, ...] | None) -> tuple[np.ndarray, int]:
    """(x − μ, N): the deviations from the mean μ over ``axis`` (None: all; the sum left to
    right, divided by N) and the number N of entries reduced. Two passes, as NumPy's var."""
    s = sum_axes(x, axis, True)
    n = x.size // s.size if s.size else 0
    mu = apply(lambda e: e / float(n), s)
    return apply(lambda u, m: u - m, x, mu), n


def sum_squares(c: np.ndarray, axis: tuple[int, ...] | None, keepdims: bool) -> np.ndarray:
    """Σ c² over ``axis`` (left to right)."""
    return sum_axes(apply(lambda u: u * u, c), axis, keepdims)


def matmul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """NumPy's ``a @ b`` over entries: each product entry a sum of products, left to right."""
    if a.ndim == 0 or b.ndim == 0:
        raise ValueError("matmul of a 0-d array")
    a2 = a[None, :] if a.ndim == 1 else a
    b2 = b[:, None] if b.ndim == 1 else b
    terms = int(np.prod(np.broadcast_shapes(a2.shape[:-2], b2.shape[:-2]), dtype=np.int64)
                ) * a2.shape[-2] * a2.shape[-1] * b2.shape[-1]
    spend(terms, f"a product of shapes {a.shape} and {b.shape} is {terms:,} multiplications")
    # (..., m, k, 1) * (..., 1, k, n) summed over k, left to right
    prod = apply(lambda u, v: u * v, a2[..., :, :, None], b2[..., None, :, :])
    out = sum_axes(prod, (prod.ndim - 2,))
    if a.ndim == 1:
        out = out[..., 0, :]
    if b.ndim == 1:
        out = out[..., 0]
    return obj(out)


def tensordot(a: np.ndarray, b: np.ndarray,
              axes: tuple[tuple[int, ...], tuple[int, ...]]) -> np.ndarray:
    """NumPy's ``tensordot(a, b, axes)`` over entries (free axes of ``a``, then of ``b``),
    each entry a left-to-right sum over the paired axes."""
    ia, ib = axes
    fa = [i for i in range(a.ndim) if i not in ia]
    fb = [i for i in range(b.ndim) if i not in ib]
    k = int(np.prod([a.shape[i] for i in ia], dtype=np.int64))
    a2 = a.transpose(fa + list(ia)).reshape(-1, k)
    b2 = b.transpose(list(ib) + fb).reshape(k, -1)
    out = matmul(a2, b2)
    return obj(out.reshape(tuple(a.shape[i] for i in fa) + tuple(b.shape[i] for i in fb)))


def stack(arrays: Sequence[np.ndarray], axis: int) -> np.ndarray:
    """NumPy's stack over object arrays (the entries move, nothing is computed)."""
    return np.stack([obj(x) for x in arrays], axis=axis)


def concatenate(arrays: Sequence[np.ndarray], axis: int) -> np.ndarray:
    """NumPy's concatenate over object arrays."""
    return np.concatenate(list(arrays), axis=axis)


def eye(n: int) -> np.ndarray:
    """The identity matrix's entries: the constants 1.0 on the diagonal, 0.0 elsewhere."""
    out = zeros((n, n))
    one = const(1.0)
    for i in range(n):
        out[i, i] = one
    return out


def diag(x: np.ndarray) -> np.ndarray:
    """NumPy's ``diag``: a vector's entries on the diagonal of zeros (the constant 0.0), or a
    matrix's diagonal."""
    if x.ndim == 2:
        return x.diagonal().copy()
    n = x.shape[0]
    out = zeros((n, n))
    out[np.arange(n), np.arange(n)] = x
    return out


def running(x: np.ndarray, axis: int, fn: Callable[[Expr, Expr], Expr] | None) -> np.ndarray:
    """The running reduction along ``axis`` (``cumsum`` with ``fn`` None: ``+``), left to
    right: entry k is ``fn(entry k-1 of the result, x[k])``."""
    moved = np.moveaxis(x, axis, -1)
    out = np.empty(moved.shape, dtype=object)
    step = add if fn is None else np.frompyfunc(fn, 2, 1)
    if moved.shape[-1]:
        out[..., 0] = moved[..., 0]
        for k in range(1, moved.shape[-1]):
            out[..., k] = obj(step(obj(out[..., k - 1]), moved[..., k]))
    return np.moveaxis(out, -1, axis)


def einsum(subscripts: str, arrays: Sequence[np.ndarray]) -> np.ndarray:
    """NumPy's ``einsum`` with explicit subscripts (``"ij,j->i"``) over entries: each output
    entry the sum, left to right over the summed indices (C order), of the products of the
    operands' entries (left to right in operand order). Axes of length 1 broadcast."""
    ins, out = subscripts.split("->")
    terms = ins.split(",")
    size: dict[str, int] = {}
    for t, a in zip(terms, arrays):
        for c, d in zip(t, a.shape):
            if size.get(c, 1) == 1:
                size[c] = int(d)
    summed = [c for c in dict.fromkeys("".join(terms)) if c not in out]
    out_shape = tuple(size[c] for c in out)
    sum_shape = tuple(size[c] for c in summed)
    n_out = int(np.prod(out_shape, dtype=np.int64))
    n_sum = int(np.prod(sum_shape, dtype=np.int64))
    spend(n_out * n_sum * len(arrays),
          f"einsum {subscripts!r} is {n_out * n_sum * len(arrays):,} products")
    letters = list(out) + summed
    getters = [(a, [letters.index(c) for c in t], [d == 1 for d in a.shape])
               for t, a in zip(terms, arrays)]
    result = np.empty(n_out, dtype=object)
    zero = const(0.0)
    for k, oidx in enumerate(np.ndindex(*out_shape)):
        acc = None
        for sidx in np.ndindex(*sum_shape):
            at = oidx + sidx
            term = None
            for a, pos, ones in getters:
                e = a[tuple(0 if one else at[p] for p, one in zip(pos, ones))]
                term = e if term is None else term * e
            acc = term if acc is None else acc + term
        result[k] = zero if acc is None else acc
    return result.reshape(out_shape)


def const_ints(x: np.ndarray) -> np.ndarray | None:
    """The int values of an object array of constant entries (None if any is not one)."""
    vals = []
    for e in x.flat:
        if not (isinstance(e, Expr) and e.is_const and e.dtype in ("int64", "bool")):
            return None
        vals.append(int(np.asarray(e.value)))
    return np.array(vals, dtype=np.int64).reshape(x.shape)


def _indices(x: np.ndarray, what: str) -> np.ndarray:
    idx = const_ints(x)
    if idx is None:
        raise NotScalar(f"{what} indices computed at run time cannot be written entry by "
                        "entry (constant indices can)")
    return idx


def take(x: np.ndarray, index: np.ndarray, axis: int) -> np.ndarray:
    """NumPy's ``take`` with constant indices (negative ones from the end)."""
    return obj(np.take(x, _indices(index, "take"), axis=axis))


def scatter_add(v: np.ndarray, index: np.ndarray, axis: int, size: int) -> np.ndarray:
    """Zeros (0.0) of length ``size`` along ``axis`` with ``v`` added at the constant
    indices, in index order (repeats accumulate left to right): the adjoint of ``take``."""
    idx = _indices(index, "scatter_add").reshape(-1)
    lead, rest = v.shape[:axis], v.shape[axis + index.ndim:]
    vv = v.reshape(lead + (idx.size,) + rest)
    out = zeros(lead + (size,) + rest)
    pre = (slice(None),) * axis
    for j, i in enumerate(idx):
        at = pre + (int(i) % size if i < 0 else int(i), Ellipsis)  # (a view, even 0-d)
        out[at] = add(out[at], vv[pre + (j, Ellipsis)])
    return out
