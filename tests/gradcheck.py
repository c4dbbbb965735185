"""Finite-difference gradient checking, independent of symback's reverse pass.

``numeric_grad`` differentiates any NumPy function by central differences;
``check_grad`` compares a symbolic gradient with it and raises a readable
``AssertionError`` (worst entry, both values) when they disagree.
"""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np


def numeric_grad(f: Callable[..., float], args: Sequence[np.ndarray], i: int,
                 eps: float = 1e-6) -> np.ndarray:
    """∂f/∂args[i] by central differences, entry by entry (float64)."""
    args = [np.array(a, dtype=np.float64) for a in args]
    x = args[i]
    g = np.zeros_like(x)
    flat = x.reshape(-1)
    gflat = g.reshape(-1)
    for k in range(flat.size):
        old = flat[k]
        h = eps * max(1.0, abs(old))
        flat[k] = old + h
        fp = float(f(*args))
        flat[k] = old - h
        fm = float(f(*args))
        flat[k] = old
        gflat[k] = (fp - fm) / (2 * h)
    return g


def assert_close(got: np.ndarray, want: np.ndarray, rtol: float = 1e-5, atol: float = 1e-7,
                 what: str = "gradient") -> None:
    """``np.allclose`` with a message naming the worst entry."""
    got = np.asarray(got, dtype=np.float64)
    want = np.asarray(want, dtype=np.float64)
    if got.shape != want.shape:
        raise AssertionError(f"{what}: shape {got.shape} != expected {want.shape}")
    if not np.all(np.isfinite(got)):
        raise AssertionError(f"{what}: non-finite entries {got}")
    err = np.abs(got - want) - (atol + rtol * np.abs(want))
    if np.any(err > 0):
        k = np.unravel_index(np.argmax(err), got.shape) if got.shape else ()
        raise AssertionError(
            f"{what}: mismatch at {k}: got {got[k]!r}, expected {want[k]!r} "
            f"(max |diff| {np.max(np.abs(got - want)):.3g})"
        )


def check_grad(f: Callable[..., float], grads: Sequence[np.ndarray], args: Sequence[np.ndarray],
               eps: float = 1e-6, rtol: float = 1e-5, atol: float = 1e-7) -> None:
    """Assert that ``grads[i]`` equals the central-difference gradient of ``f`` for every i."""
    for i, g in enumerate(grads):
        assert_close(g, numeric_grad(f, args, i, eps), rtol, atol, what=f"d/d(arg {i})")
