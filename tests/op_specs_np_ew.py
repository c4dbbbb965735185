"""Spec entries (tests/test_ops.py) for issue 11's elementwise functions, special functions
and reductions (np-ew). References are plain NumPy / SciPy formulas."""

from __future__ import annotations

import numpy as np
from op_specs import BINARY_SHAPES, UNARY_SHAPES, OpSpec, _any, _away0, _pos, distinct

import symback as sb


def _unit(rng, shape):
    return rng.uniform(-0.9, 0.9, size=shape)


def _gt1(rng, shape):
    return rng.uniform(1.2, 3.0, size=shape)


def _off_steps(rng, shape):
    return np.floor(rng.uniform(-3, 3, size=shape)) + rng.uniform(0.1, 0.4, size=shape)


def _mod_pair(rng, shapes):
    a = rng.uniform(0.1, 0.4, size=shapes[0]) + np.floor(rng.uniform(-3, 3, size=shapes[0]))
    return [a, np.full(shapes[1], 1.0) + 0.0]


def _sp(name):
    def f(*a):
        import scipy.special

        return getattr(scipy.special, name)(*a)
    return f


def U(name, build, ref, domain=_any, smooth=True):
    return OpSpec(name, build, ref, UNARY_SHAPES, domain, smooth=smooth)


NP_EW_SPECS = [
    U("arcsin", sb.arcsin, np.arcsin, _unit), U("arccos", sb.arccos, np.arccos, _unit),
    U("arctan", sb.arctan, np.arctan), U("sinh", sb.sinh, np.sinh), U("cosh", sb.cosh, np.cosh),
    U("arcsinh", sb.arcsinh, np.arcsinh), U("arccosh", sb.arccosh, np.arccosh, _gt1),
    U("arctanh", sb.arctanh, np.arctanh, _unit), U("log2", sb.log2, np.log2, _pos),
    U("log10", sb.log10, np.log10, _pos), U("exp2", sb.exp2, np.exp2),
    U("floor", sb.floor, np.floor, _off_steps, smooth=False),
    U("ceil", sb.ceil, np.ceil, _off_steps, smooth=False),
    U("round", sb.round, np.round, _off_steps, smooth=False),
    U("sinc", sb.sinc, np.sinc),
    U("clip", lambda x: sb.clip(x, -0.05, 0.05), lambda x: np.clip(x, -0.05, 0.05), _away0,
      smooth=False),
    U("nan_to_num", sb.nan_to_num, np.nan_to_num),
    OpSpec("arctan2", sb.arctan2, np.arctan2, BINARY_SHAPES, _pos),
    OpSpec("hypot", sb.hypot, np.hypot, BINARY_SHAPES, _away0),
    OpSpec("logaddexp", sb.logaddexp, np.logaddexp, BINARY_SHAPES),
    OpSpec("logaddexp2", sb.logaddexp2, np.logaddexp2, BINARY_SHAPES),
    OpSpec("mod", lambda a, b: a % b, np.mod, BINARY_SHAPES, _mod_pair, joint=True,
           smooth=False, differentiable=(0,)),
    OpSpec("fmax", sb.fmax, np.fmax, [((3,), (3,)), ((2, 1), (1, 3))],
           lambda rng, s: [distinct(rng, s[0]), distinct(rng, s[1]) + 0.13], joint=True,
           smooth=False),
    OpSpec("fmin", sb.fmin, np.fmin, [((3,), (3,)), ((2, 1), (1, 3))],
           lambda rng, s: [distinct(rng, s[0]), distinct(rng, s[1]) + 0.13], joint=True,
           smooth=False),
    U("erf", sb.special.erf, _sp("erf")), U("erfc", sb.special.erfc, _sp("erfc")),
    U("gammaln", sb.special.gammaln, _sp("gammaln"), _pos),
    U("digamma", sb.special.digamma, _sp("digamma"), _pos),
    U("polygamma", lambda x: sb.special.polygamma(1, x), lambda x: _sp("polygamma")(1, x),
      _pos),
    OpSpec("xlogy", sb.special.xlogy, _sp("xlogy"), BINARY_SHAPES, _pos),
    OpSpec("xlog1py", sb.special.xlog1py, _sp("xlog1py"), BINARY_SHAPES, _pos),
    U("logit", sb.special.logit, _sp("logit"), lambda rng, s: rng.uniform(0.1, 0.9, size=s)),
    OpSpec("max", sb.max, np.max, [((4,),), ((2, 3),)], distinct, smooth=False),
    OpSpec("max_axis1", lambda x: sb.max(x, axis=1), lambda x: np.max(x, axis=1), [((2, 3),)],
           distinct, smooth=False),
    OpSpec("min", sb.min, np.min, [((4,),), ((2, 3),)], distinct, smooth=False),
    OpSpec("prod", sb.prod, np.prod, [((4,),), ((2, 3),)]),
    OpSpec("prod_axis0", lambda x: sb.prod(x, axis=0), lambda x: np.prod(x, axis=0),
           [((2, 3),)]),
    OpSpec("var", sb.var, np.var, [((4,),), ((2, 3),)]),
    OpSpec("var_axis1", lambda x: sb.var(x, axis=1, ddof=1), lambda x: np.var(x, axis=1, ddof=1),
           [((2, 3),)]),
    OpSpec("std", sb.std, np.std, [((4,),), ((2, 3),)]),
    OpSpec("cumsum", sb.cumsum, np.cumsum, [((4,),), ((2, 3),)]),
    OpSpec("cumsum_axis1", lambda x: sb.cumsum(x, axis=1), lambda x: np.cumsum(x, axis=1),
           [((2, 3),)]),
    OpSpec("cumprod", sb.cumprod, np.cumprod, [((4,),), ((2, 3),)]),
    OpSpec("cumprod_axis0", lambda x: sb.cumprod(x, axis=0), lambda x: np.cumprod(x, axis=0),
           [((2, 3),)]),
]
