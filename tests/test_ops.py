"""Spec-driven tests of every core op: shape rule, value, first and second derivatives.

References are independent: NumPy forms from tests/op_specs.py and
central differences of those NumPy forms (never symback's own output).
"""

from __future__ import annotations

import numpy as np
import pytest
from gradcheck import assert_close, numeric_grad
from op_specs import cases, spec_ids

import symback as sb
from symback.ops import REGISTRY

CASES = cases()
IDS = spec_ids()


def _symbols(shapes):
    return [sb.tensor(f"a{i}", s) for i, s in enumerate(shapes)]


@pytest.mark.parametrize("spec,shapes", CASES, ids=IDS)
def test_shape_and_value(spec, shapes):
    rng = np.random.default_rng(0)
    syms = _symbols(shapes)
    y = spec.build(*syms)
    vals = spec.sample(rng, shapes)
    want = spec.ref(*vals)
    assert y.shape == np.shape(want), f"shape rule {y.shape} vs NumPy {np.shape(want)}"
    got = sb.lambdify(syms, y)(*vals)
    assert_close(got, want, rtol=1e-12, atol=1e-12, what="value")


@pytest.mark.parametrize("spec,shapes", CASES, ids=IDS)
def test_gradient_against_finite_differences(spec, shapes):
    """VJP with a random cotangent u: grad of Σ u ⊙ f(args) vs differences of the reference."""
    rng = np.random.default_rng(1)
    syms = _symbols(shapes)
    y = spec.build(*syms)
    u = rng.normal(size=y.shape)
    loss = sb.sum(y * u) if y.shape else y * float(u)
    grads = sb.grad(loss, syms)
    for g, s in zip(grads, syms):
        assert g.shape == s.shape
    vals = spec.sample(rng, shapes)
    got = sb.lambdify(syms, grads)(*vals)

    def ref_loss(*args):
        return float(np.sum(spec.ref(*args) * u))

    idx = spec.differentiable if spec.differentiable is not None else range(len(syms))
    for i in idx:
        assert_close(got[i], numeric_grad(ref_loss, vals, i), rtol=1e-5, atol=1e-7,
                     what=f"{spec.name} d/d(arg {i})")


@pytest.mark.parametrize("spec,shapes", [c for c in CASES if c[0].smooth],
                         ids=[i for c, i in zip(CASES, IDS) if c[0].smooth])
def test_second_derivative(spec, shapes):
    """Hessian-vector products: grad of <grad(L), v> vs differences of the compiled gradient.

    The gradient itself was checked against the reference above, so differencing
    it checks the derivative of the derivative rules.
    """
    rng = np.random.default_rng(2)
    syms = _symbols(shapes)
    y = spec.build(*syms)
    u = rng.normal(size=y.shape)
    loss = sb.sum(y * u) if y.shape else y * float(u)
    grads = sb.grad(loss, syms)
    vs = [rng.normal(size=s.shape) for s in syms]
    inner = sb.const(0.0)
    for g, v in zip(grads, vs):
        inner = inner + (sb.sum(g * v) if g.shape else g * float(v))
    second = sb.grad(inner, syms)
    vals = spec.sample(rng, shapes)
    got = sb.lambdify(syms, second)(*vals)
    grad_fn = sb.lambdify(syms, inner)
    for i in range(len(syms)):
        assert_close(got[i], numeric_grad(grad_fn, vals, i, eps=1e-5), rtol=1e-4, atol=1e-6,
                     what=f"{spec.name} second derivative d/d(arg {i})")


def test_every_core_op_has_a_spec():
    """Adding an op to a core family means adding its spec line (matrix ops test themselves)."""
    from op_specs import SPECS

    covered = {s.name.split("_axis")[0].split("_keep")[0] for s in SPECS}
    covered |= {s.name for s in SPECS}  # names with "_axis" in them (take_along_axis)
    covered |= {"transpose", "sum", "mean", "logsumexp", "softmax"}
    # every op family module; the matrix functions that predate the specs test themselves
    # in tests/test_matrix_ops.py (new ops need a spec)
    core_modules = {f"symback.ops.{m}" for m in (
        "elementwise", "reduce", "shape", "contract", "index", "linalg", "creation", "gather",
        "ufuncs", "special", "stats")}
    covered |= {"reshape", "stack", "concatenate", "tensordot", "trace", "inv", "det", "logdet",
                "solve", "diag", "getitem", "index_scatter", "eye"}
    missing = []
    for name, op in REGISTRY.items():
        mod = getattr(op.shape, "__module__", "")
        if mod in core_modules and name not in covered:
            missing.append(name)
    # comparisons and sign are piecewise constant (derivative zero): tested in test_autodiff
    missing = [m for m in missing if m not in
               {"greater", "greater_equal", "less", "less_equal", "equal", "sign"}]
    assert not missing, f"ops without a spec in tests/op_specs.py: {missing}"


def test_every_registered_op_is_complete():
    """Every op carries a NumPy form, a derivative (or is marked non-differentiable) and LaTeX."""
    for name, op in REGISTRY.items():
        assert op.numpy, name
        if op.arity != 0:
            assert op.vjp is not None or op.nondifferentiable, f"{name} has no vjp"
            assert op.latex is not None, f"{name} has no LaTeX notation"


@pytest.mark.parametrize("name,fn", [("exp", sb.exp), ("sigmoid", sb.sigmoid),
                                     ("softplus", sb.softplus), ("tanh", sb.tanh)])
def test_float32_stays_float32(name, fn):
    x = sb.vector("x", 5, dtype="float32")
    f = sb.value_and_grad(sb.sum(fn(x) * 2.0), x)
    v, (g,) = f(np.linspace(-2, 2, 5, dtype=np.float32))
    assert v.dtype == np.float32 and g.dtype == np.float32, (v.dtype, g.dtype)
