"""Check one op against two independent references: central differences and autograd.

``crosscheck(build, ref, values)`` takes

* ``build``: a function of symback symbols returning an ``Expr`` (``lambda x: sb.arcsinh(x)``);
* ``ref``: the same function written with ``autograd.numpy`` (``lambda x: anp.arcsinh(x)``):
  it is the value reference (evaluated on plain NumPy arrays) and, where the ``autograd``
  package is installed, the independent reverse-mode reference for first and second
  derivatives;
* ``values``: the points (NumPy float64 arrays, one per symbol; scalars as 0-d arrays).

It checks, for every differentiable argument:

1. the value (and shape) of the compiled expression against ``ref``;
2. the gradient of ``Σ u ⊙ f`` (random fixed ``u``) against central differences of ``ref``
   and against ``autograd.grad``;
3. the Hessian-vector product (``sb.hvp`` of the same scalar) against autograd's
   grad-of-grad and against central differences of autograd's gradient;
4. the forward-mode ``sb.jvp`` against central differences of ``ref`` along ``v``;
5. optionally, in float32: the value and gradient against the float64 reference, loosely.

Nothing is compared with symback itself. autograd's parts are skipped (not failed) when the
package is missing; the finite-difference parts always run.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

import warnings

import numpy as np
from gradcheck import assert_close, numeric_grad

import symback as sb

try:  # the independent reverse-mode reference (a test-only extra)
    import autograd  # type: ignore[import-untyped]
except ImportError:  # pragma: no cover - exercised where autograd is absent
    autograd = None

HAVE_AUTOGRAD = autograd is not None
# autograd warns when a derivative is constant (the HVP of a linear op): expected here
warnings.filterwarnings("ignore", "Output seems independent of input", UserWarning)


def _np(ref: Callable[..., Any]) -> Callable[..., np.ndarray]:
    return lambda *a: np.asarray(ref(*a), dtype=np.float64)


def crosscheck(build: Callable[..., Any], ref: Callable[..., Any], values: Sequence[Any], *,
               differentiable: Sequence[int] | None = None, second: bool = True,
               float32: bool = True, rtol: float = 1e-6, atol: float = 1e-8,
               eps: float = 1e-6, seed: int = 0, what: str = "") -> None:
    """Run checks 1-5 above; raise ``AssertionError`` naming the check and the worst entry."""
    rng = np.random.default_rng(seed)
    vals = [np.asarray(v, dtype=np.float64) for v in values]
    syms = [sb.tensor(f"a{i}", v.shape) for i, v in enumerate(vals)]
    y = build(*syms)
    want = _np(ref)(*vals)
    label = what or getattr(build, "__name__", "op")
    assert tuple(y.shape) == want.shape, f"{label}: shape {y.shape} vs reference {want.shape}"
    got = sb.lambdify(syms, y)(*vals)
    assert_close(got, want, rtol=1e-12, atol=1e-12, what=f"{label} value")

    idx = list(range(len(vals))) if differentiable is None else list(differentiable)
    if not idx:
        return
    u = rng.normal(size=want.shape)
    loss = sb.sum(y * u) if y.shape else y * float(u)
    wrt = [syms[i] for i in idx]
    grads = sb.grad(loss, wrt)
    gvals = sb.lambdify(syms, grads)(*vals)

    def ref_loss(*args: np.ndarray) -> Any:
        out = ref(*args)
        return (out * u).sum() if np.ndim(want) else out * float(u)

    for k, i in enumerate(idx):
        fd = numeric_grad(lambda *a: float(ref_loss(*a)), vals, i, eps)
        assert_close(gvals[k], fd, rtol=1e-5, atol=1e-6, what=f"{label} d/d(arg {i}) vs FD")
        if HAVE_AUTOGRAD:
            ag = np.asarray(autograd.grad(ref_loss, i)(*vals), dtype=np.float64)
            assert_close(gvals[k], ag, rtol=rtol, atol=atol,
                         what=f"{label} d/d(arg {i}) vs autograd")

    # forward mode along a random direction, against differences of the reference
    for i in idx:
        v = rng.normal(size=vals[i].shape)
        tangent = sb.jvp(y, syms[i], sb.const(v))
        tval = np.asarray(sb.lambdify(syms, tangent)(*vals), dtype=np.float64)
        h = eps * max(1.0, float(np.max(np.abs(vals[i]), initial=0.0)))
        plus = [a.copy() for a in vals]
        minus = [a.copy() for a in vals]
        plus[i] = plus[i] + h * v
        minus[i] = minus[i] - h * v
        fd = (_np(ref)(*plus) - _np(ref)(*minus)) / (2 * h)
        assert_close(tval, fd, rtol=1e-5, atol=1e-6, what=f"{label} jvp d/d(arg {i}) vs FD")

    if second:
        for i in idx:
            v = rng.normal(size=vals[i].shape)
            hv = sb.hvp(loss, syms[i], sb.const(v))
            hval = np.asarray(sb.lambdify(syms, hv)(*vals), dtype=np.float64)
            if HAVE_AUTOGRAD:
                gfun = autograd.grad(ref_loss, i)

                def gdotv(*a: np.ndarray, _g: Any = gfun, _v: np.ndarray = v) -> Any:
                    return (_g(*a) * _v).sum()

                ag = np.asarray(autograd.grad(gdotv, i)(*vals), dtype=np.float64)
                assert_close(hval, ag, rtol=max(rtol, 1e-6), atol=max(atol, 1e-7),
                             what=f"{label} hvp d²/d(arg {i})² vs autograd")
                # and against differences of autograd's gradient (two references agree)
                h = 1e-5 * max(1.0, float(np.max(np.abs(vals[i]), initial=0.0)))
                plus = [a.copy() for a in vals]
                minus = [a.copy() for a in vals]
                plus[i] = plus[i] + h * v
                minus[i] = minus[i] - h * v
                fd = (np.asarray(gfun(*plus)) - np.asarray(gfun(*minus))) / (2 * h)
                assert_close(hval, fd, rtol=1e-4, atol=1e-5,
                             what=f"{label} hvp d²/d(arg {i})² vs FD of autograd's gradient")

    if float32:
        syms32 = [sb.tensor(f"a{i}", v.shape, dtype="float32") for i, v in enumerate(vals)]
        y32 = build(*syms32)
        assert y32.dtype == "float32", f"{label}: float32 inputs gave {y32.dtype}"
        vals32 = [v.astype(np.float32) for v in vals]
        got32 = sb.lambdify(syms32, y32)(*vals32)
        assert np.asarray(got32).dtype == np.float32, f"{label}: float32 result dtype"
        assert_close(got32, want, rtol=2e-4, atol=2e-5, what=f"{label} float32 value")
        loss32 = sb.sum(y32 * u.astype(np.float32)) if y32.shape else y32 * float(u)
        g32 = sb.lambdify(syms32, sb.grad(loss32, [syms32[i] for i in idx]))(*vals32)
        for k, i in enumerate(idx):
            assert_close(g32[k], gvals[k], rtol=2e-3, atol=2e-4,
                         what=f"{label} float32 d/d(arg {i})")
