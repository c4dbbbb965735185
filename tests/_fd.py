"""Central-difference Jacobians of plain NumPy functions (float64), for Jacobian and Hessian tests.

``numeric_jacobian(f, args, i)`` has shape ``f(*args).shape + args[i].shape``, the
layout of ``sb.jacobian``. A Hessian reference is the numeric Jacobian of a
hand-written NumPy gradient (or of a numeric gradient); nothing here calls symback.
"""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np


def numeric_jacobian(f: Callable[..., np.ndarray], args: Sequence[np.ndarray], i: int,
                     eps: float = 1e-6) -> np.ndarray:
    """∂f/∂args[i] by central differences, one input entry at a time."""
    vals = [np.array(a, dtype=np.float64) for a in args]
    x = vals[i]
    y0 = np.asarray(f(*vals), dtype=np.float64)
    jac = np.zeros(y0.shape + x.shape)
    for k in np.ndindex(*x.shape):
        old = x[k]
        h = eps * max(1.0, abs(old))
        x[k] = old + h
        yp = np.asarray(f(*vals), dtype=np.float64)
        x[k] = old - h
        ym = np.asarray(f(*vals), dtype=np.float64)
        x[k] = old
        jac[(Ellipsis,) + k] = (yp - ym) / (2 * h)
    return jac


def numeric_hessian(f: Callable[..., float], args: Sequence[np.ndarray], i: int,
                    eps: float = 1e-4) -> np.ndarray:
    """∂²f/∂args[i]² as the numeric Jacobian of the numeric gradient (shape x.shape * 2)."""
    def g(*a: np.ndarray) -> np.ndarray:
        return numeric_jacobian(f, a, i, eps)
    return numeric_jacobian(g, args, i, eps)
