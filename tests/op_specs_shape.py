"""Spec entries (tests/test_ops.py) for the ops of issue 11's shape family: the gathers and
their scatter-add adjoints, argsort/argpartition (through sort/partition), astype and the
creation constants. References are plain NumPy (np.take, np.add.at, np.sort, ...)."""

from __future__ import annotations

import numpy as np
from op_specs import OpSpec, distinct

import symback as sb
from symback.ops.gather import scatter_add, scatter_add_along_op


def _add_at(v: np.ndarray, idx: list[int], axis: int, size: int) -> np.ndarray:
    out = np.zeros(v.shape[:axis] + (size,) + v.shape[axis + 1:])
    np.add.at(out, (slice(None),) * axis + (np.asarray(idx),), v)
    return out


_IDX2 = np.array([[2, 0, 2], [1, 1, 0]])


def _add_along(v: np.ndarray) -> np.ndarray:
    out = np.zeros((2, 3))
    rows = np.arange(2)[:, None]
    np.add.at(out, (np.broadcast_to(rows, _IDX2.shape), _IDX2), v)
    return out


SHAPE_SPECS: list[OpSpec] = [
    OpSpec("take", lambda a: sb.take(a, [0, 2, 2, -1], axis=0),
           lambda a: np.take(a, [0, 2, 2, -1], axis=0), [((4,),), ((3, 2),)]),
    OpSpec("take_axis1", lambda a: sb.take(a, [[1, 0], [1, 1]], axis=1),
           lambda a: np.take(a, [[1, 0], [1, 1]], axis=1), [((3, 2),), ((1, 2, 2),)]),
    OpSpec("scatter_add", lambda a: scatter_add(a, [0, 2, 2], axis=0, size=4),
           lambda a: _add_at(a, [0, 2, 2], 0, 4), [((3,),), ((3, 2),)]),
    OpSpec("take_along_axis", lambda a: sb.take_along_axis(a, _IDX2, axis=1),
           lambda a: np.take_along_axis(a, _IDX2, axis=1), [((2, 3),), ((1, 3),)]),
    OpSpec("scatter_add_along",
           lambda a: scatter_add_along_op(a, sb.const(_IDX2), axis=1, shape=(2, 3)),
           _add_along, [((2, 3),)]),
    OpSpec("argsort", lambda a: sb.sort(a), lambda a: np.sort(a), [((5,),), ((3, 4),)],
           domain=distinct),
    OpSpec("argsort_axis0", lambda a: sb.sort(a, axis=0), lambda a: np.sort(a, axis=0),
           [((3, 4),)], domain=distinct),
    OpSpec("argpartition", lambda a: sb.partition(a, 1)[..., 1:2],
           lambda a: np.partition(a, 1)[..., 1:2], [((5,),), ((3, 4),)], domain=distinct),
    # a cast there and back: the value (float32 rounding) only; derivatives in test_np_shape
    OpSpec("astype", lambda a: sb.astype(sb.astype(a, "float32"), "float64"),
           lambda a: a.astype(np.float32).astype(np.float64), [((3,),)], smooth=False,
           differentiable=()),
    OpSpec("full", lambda a: a * sb.full((2, 3), 0.5), lambda a: a * np.full((2, 3), 0.5),
           [((),), ((3,),)]),
    OpSpec("arange", lambda a: a * sb.arange(4), lambda a: a * np.arange(4), [((),), ((4,),)]),
    OpSpec("linspace", lambda a: a * sb.linspace(0, 1, 5),
           lambda a: a * np.linspace(0, 1, 5), [((),), ((5,),)]),
]
