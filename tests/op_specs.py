"""One entry per core op: how to build it, an independent NumPy reference, shapes, domains.

Spec-driven tests (tests/test_ops.py) check, for every entry and every shape
case: the shape rule against NumPy's result shape, the value against the
reference, the gradient against central differences of the *reference*, and
(for smooth ops) second derivatives against differences of the gradient.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import numpy as np
from refs import log_softmax_ref, logsumexp_ref, sigmoid_ref, softmax_ref, softplus_ref

import symback as sb
from symback.ops.contract import vdot

Shape = tuple[int, ...]


def _any(rng: np.random.Generator, shape: Shape) -> np.ndarray:
    return rng.normal(size=shape)


def _pos(rng: np.random.Generator, shape: Shape) -> np.ndarray:
    return rng.uniform(0.3, 2.0, size=shape)


def _away0(rng: np.random.Generator, shape: Shape) -> np.ndarray:
    """Values at least 0.1 away from 0 (kinks of relu, abs)."""
    x = rng.uniform(0.1, 2.0, size=shape)
    return x * rng.choice([-1.0, 1.0], size=shape)


def distinct(rng: np.random.Generator, shape: Shape, spacing: float = 0.37) -> np.ndarray:
    """Values centred on 0, in random order, at least ``spacing − 0.1`` apart: no ties,
    so max, min, sort and partition pick one entry and are smooth around the point."""
    n = int(np.prod(shape, dtype=int))
    return ((rng.permutation(n) - (n - 1) / 2) * spacing
            + rng.uniform(0, 0.1, n)).reshape(shape)


def _tan_dom(rng: np.random.Generator, shape: Shape) -> np.ndarray:
    return rng.uniform(-1.2, 1.2, size=shape)


def _layer_norm_ref(x: np.ndarray, k: int = 1, eps: float = 1e-5) -> np.ndarray:
    """(x − μ) / √(σ² + ε) over the last k axes, σ² the biased variance (PyTorch's)."""
    axes = tuple(range(-k, 0))
    return (x - x.mean(axis=axes, keepdims=True)) / np.sqrt(x.var(axis=axes, keepdims=True)
                                                            + eps)


def _distinct_pair(rng: np.random.Generator, shapes: Sequence[Shape]) -> list[np.ndarray]:
    a = rng.normal(size=shapes[0])
    b = rng.normal(size=shapes[1])
    bb = np.broadcast_to(b, np.broadcast_shapes(a.shape, b.shape))
    aa = np.broadcast_to(a, bb.shape)
    if np.min(np.abs(aa - bb), initial=1.0) < 0.05:  # keep away from ties
        b = b + 0.3
    return [a, b]


@dataclass
class OpSpec:
    name: str
    build: Callable[..., Any]
    ref: Callable[..., np.ndarray]
    shapes: list[tuple[Shape, ...]]
    domain: Callable[..., Any] = _any  # per-argument sampler, or a function of all shapes
    joint: bool = False  # domain takes (rng, shapes) and returns all arguments
    smooth: bool = True
    differentiable: tuple[int, ...] | None = None  # argument indices to check (default all)
    extra: dict[str, Any] = field(default_factory=dict)

    def sample(self, rng: np.random.Generator, shapes: tuple[Shape, ...]) -> list[np.ndarray]:
        if self.joint:
            return [np.asarray(v, dtype=np.float64) for v in self.domain(rng, shapes)]
        return [np.asarray(self.domain(rng, s), dtype=np.float64) for s in shapes]


UNARY_SHAPES: list[tuple[Shape, ...]] = [((),), ((4,),), ((3, 2),)]
BINARY_SHAPES: list[tuple[Shape, ...]] = [
    ((), ()), ((3,), (3,)), ((2, 3), (2, 3)), ((2, 3), (3,)), ((2, 1), (1, 3)), ((), (2, 2)),
]


def _unary(name: str, build: Callable[..., Any], ref: Callable[..., np.ndarray],
           domain: Callable[..., Any] = _any, smooth: bool = True) -> OpSpec:
    return OpSpec(name, build, ref, UNARY_SHAPES, domain, smooth=smooth)


SPECS: list[OpSpec] = [
    # arithmetic
    OpSpec("add", lambda a, b: a + b, np.add, BINARY_SHAPES),
    OpSpec("sub", lambda a, b: a - b, np.subtract, BINARY_SHAPES),
    OpSpec("mul", lambda a, b: a * b, np.multiply, BINARY_SHAPES),
    OpSpec("div", lambda a, b: a / b, np.divide, BINARY_SHAPES,
           domain=lambda rng, s: _pos(rng, s)),
    _unary("neg", lambda a: -a, np.negative),
    OpSpec("pow", lambda a, b: a ** b, np.power, BINARY_SHAPES,
           domain=lambda rng, s: _pos(rng, s)),
    # transcendental
    _unary("exp", sb.exp, np.exp),
    _unary("log", sb.log, np.log, _pos),
    _unary("log1p", sb.log1p, np.log1p, _pos),
    _unary("expm1", sb.expm1, np.expm1),
    _unary("sqrt", sb.sqrt, np.sqrt, _pos),
    _unary("sin", sb.sin, np.sin),
    _unary("cos", sb.cos, np.cos),
    _unary("tan", sb.tan, np.tan, _tan_dom),
    _unary("tanh", sb.tanh, np.tanh),
    _unary("sigmoid", sb.sigmoid, sigmoid_ref),
    _unary("softplus", sb.softplus, softplus_ref),
    # piecewise (checked away from kinks and ties)
    _unary("relu", sb.relu, lambda x: np.maximum(x, 0.0), _away0, smooth=False),
    _unary("abs", sb.abs, np.abs, _away0, smooth=False),
    OpSpec("maximum", sb.maximum, np.maximum, BINARY_SHAPES, _distinct_pair, joint=True,
           smooth=False),
    OpSpec("minimum", sb.minimum, np.minimum, BINARY_SHAPES, _distinct_pair, joint=True,
           smooth=False),
    OpSpec("where", lambda a, b: sb.where(a > 0, a * b, b), lambda a, b: np.where(a > 0, a * b, b),
           [((3,), (3,)), ((2, 3), (3,))], _distinct_pair, joint=True, smooth=False),
    # reductions
    OpSpec("sum", sb.sum, np.sum, [((4,),), ((2, 3),)]),
    OpSpec("sum_axis0", lambda x: sb.sum(x, axis=0), lambda x: np.sum(x, axis=0), [((2, 3),)]),
    OpSpec("sum_axis_tuple", lambda x: sb.sum(x, axis=(0, 2)), lambda x: np.sum(x, axis=(0, 2)),
           [((2, 3, 2),)]),
    OpSpec("sum_keepdims", lambda x: sb.sum(x, axis=-1, keepdims=True),
           lambda x: np.sum(x, axis=-1, keepdims=True), [((2, 3),)]),
    OpSpec("mean", sb.mean, np.mean, [((4,),), ((2, 3),)]),
    OpSpec("mean_axis1", lambda x: sb.mean(x, axis=1), lambda x: np.mean(x, axis=1), [((2, 3),)]),
    OpSpec("logsumexp", sb.logsumexp, logsumexp_ref, [((4,),), ((2, 3),)]),
    OpSpec("logsumexp_axis1", lambda x: sb.logsumexp(x, axis=1),
           lambda x: logsumexp_ref(x, axis=1), [((2, 3),)]),
    OpSpec("softmax", sb.softmax, softmax_ref, [((4,),), ((2, 3),)]),
    OpSpec("softmax_axis0", lambda x: sb.softmax(x, axis=0), lambda x: softmax_ref(x, axis=0),
           [((2, 3),)]),
    OpSpec("log_softmax", sb.log_softmax, log_softmax_ref, [((4,),), ((2, 3),)]),
    # layer norm (symback/ops/layernorm.py): over the last axis, the last two, a custom ε
    OpSpec("layer_norm", lambda x: sb.nn.layer_norm(x, x.shape[-1]), _layer_norm_ref,
           [((4,),), ((2, 3),)]),
    OpSpec("layer_norm_two_axes", lambda x: sb.nn.layer_norm(x, x.shape[-2:], eps=0.1),
           lambda x: _layer_norm_ref(x, 2, 0.1), [((2, 3, 4),)]),
    # linear algebra
    OpSpec("matmul", lambda a, b: a @ b, np.matmul,
           [((2, 3), (3, 4)), ((3,), (3, 2)), ((2, 3), (3,)), ((3,), (3,))]),
    OpSpec("transpose", lambda a: a.T, np.transpose, [((2, 3),), ((4,),)]),
    OpSpec("transpose_axes", lambda a: sb.transpose(a, axes=(1, 2, 0)),
           lambda a: np.transpose(a, (1, 2, 0)), [((2, 3, 4),)]),
    OpSpec("outer", sb.outer, np.outer, [((3,), (2,))]),
    OpSpec("vdot", vdot, lambda a, b: np.sum(a * b), [((3,), (3,)), ((2, 3), (2, 3)), ((), ())]),
    # structural (reached through the public surface)
    OpSpec("broadcast_to", lambda a: sb.graph.broadcast_to(a, (2, 3)),
           lambda a: np.broadcast_to(a, (2, 3)),
           [((3,),), ((2, 1),), ((),)]),
]


def spec_ids() -> list[str]:
    return [f"{s.name}-{shapes}" for s in SPECS for shapes in s.shapes]


def cases() -> list[tuple[OpSpec, tuple[Shape, ...]]]:
    return [(s, shapes) for s in SPECS for shapes in s.shapes]

from op_specs_shape import SHAPE_SPECS  # noqa: E402  (issue 11: shape family)
SPECS += SHAPE_SPECS
from op_specs_np_ew import NP_EW_SPECS  # noqa: E402  (issue 11: elementwise, special, stats)
SPECS += NP_EW_SPECS
from op_specs_linalg import SPECS_LINALG  # noqa: E402  (issue 11: np-linalg)
SPECS += SPECS_LINALG
