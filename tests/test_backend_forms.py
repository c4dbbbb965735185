"""Every registered op compiles, with its gradient, on ``backend="torch"`` and ``"jax"``.

For each spec of tests/op_specs.py (one per op, plus the extra builders below for ops no
spec builds directly: the conv family, the pooling ops, ``count``...) the value and the
gradient of Σ u ⊙ f(args) (u a fixed random cotangent) are compiled on the backend and
compared, output by output, with the NumPy backend (itself checked against finite
differences in tests/test_ops.py) in float64. Every op of ``symback.ops.REGISTRY`` must
occur in some case's graph, or be in :data:`SKIP` with the reason it cannot be lowered on
that backend (today: none).

``PYTHONPATH=$PWD python -m pytest -q -s tests/test_backend_forms.py`` prints the
coverage per backend.
"""

from __future__ import annotations

import numpy as np
import pytest
from op_specs import SPECS, OpSpec

import symback as sb
from symback.graph import toposort
from symback.ops import REGISTRY

torch = pytest.importorskip("torch")
jax = pytest.importorskip("jax")
pytest.importorskip("array_api_compat")

BACKENDS = ["torch", "jax"]

# op -> {backend: why it cannot be lowered there}. Keep short: each entry is a real gap.
SKIP: dict[str, dict[str, str]] = {}


@pytest.fixture(autouse=True, scope="module")
def _x64():
    """float64 on JAX (restored afterwards: other tests use JAX's default)."""
    old = jax.config.jax_enable_x64
    jax.config.update("jax_enable_x64", True)
    yield
    jax.config.update("jax_enable_x64", old)


def _to_np(v):
    if hasattr(v, "detach"):
        v = v.detach().cpu()
    return np.asarray(v)


def _extra_specs() -> list[OpSpec]:
    """Builders for ops that no op_specs entry reaches (the nn family, count)."""
    from symback import nn

    def conv1(x, w):
        return nn.conv1d(x, w, stride=2, padding=1)

    def conv2(x, w):
        return nn.conv2d(x, w, stride=1, padding=1, dilation=(1, 2))

    def conv3(x, w):
        return nn.conv3d(x, w)

    def pool2(x):
        return nn.max_pool(x, 2)

    def pool1(x):
        return nn.max_pool(x, 3, stride=2, padding=1)

    def avg(x):
        return nn.avg_pool(x, 2)

    def grouped(x, w, b):
        return nn.conv2d(x, w, b, stride=2, padding=(1, 0), groups=2)

    def uneven(x, w):  # "same" with an even kernel pads (1, 2): uneven padding
        return nn.conv2d(x, w, padding="same", dilation=(1, 1))

    def spd(rng, shapes):
        a = rng.normal(size=shapes[0])
        return [a @ a.T + 3 * np.eye(shapes[0][0]), *(rng.normal(size=s) for s in shapes[1:])]

    def n_mean(x):
        return sb.mean(x)  # over a symbolic size: count("n")

    return [
        OpSpec("nn.conv1d", conv1, None, [((2, 3, 7), (4, 3, 3))]),
        OpSpec("nn.conv2d", conv2, None, [((2, 2, 5, 6), (3, 2, 3, 2))]),
        OpSpec("nn.conv3d", conv3, None, [((1, 2, 4, 4, 3), (2, 2, 2, 2, 2))]),
        OpSpec("nn.max_pool2d", pool2, None, [((2, 3, 4, 6),)],
               lambda rng, s: rng.permutation(int(np.prod(s))).reshape(s) * 0.1),
        OpSpec("nn.max_pool1d", pool1, None, [((2, 3, 7),)],
               lambda rng, s: rng.permutation(int(np.prod(s))).reshape(s) * 0.1),
        OpSpec("nn.avg_pool2d", avg, None, [((2, 3, 4, 6),)]),
        OpSpec("nn.conv2d_groups", grouped, None, [((1, 4, 5, 5), (4, 2, 3, 3), (4,))]),
        OpSpec("nn.conv2d_same", uneven, None, [((2, 2, 5, 5), (3, 2, 4, 4))]),
        OpSpec("nn.max_pool_padded", lambda x: nn.max_pool(x, (3, 2), stride=(2, 1), padding=1),
               None, [((1, 2, 5, 4),)],
               lambda rng, s: rng.permutation(int(np.prod(s))).reshape(s) * 0.1 - 1.0),
        OpSpec("mean_n", n_mean, None, [(("n", 3),)]),
        # the matrix functions that predate op_specs (tests/test_matrix_ops.py) and stack
        OpSpec("det_logdet_inv", lambda a: sb.det(a) + sb.logdet(a) + sb.sum(sb.inv(a)), None,
               [((3, 3),)], spd, joint=True),
        OpSpec("solve_trace_diag", lambda a, b: sb.trace(sb.solve(a, b)) + sb.sum(sb.diag(a)),
               None, [((3, 3), (3, 3))], spd, joint=True),
        OpSpec("tensordot_stack", lambda a, b: sb.stack(
            [sb.tensordot(a, b, axes=([1, 2], [1, 0])), sb.sum(a, axis=2) @ sb.sum(b, axis=0)]),
            None, [((2, 3, 4), (4, 3, 2))]),
        OpSpec("full_n", lambda x: x * sb.full(("n", 3), 0.5, dtype="float64"), None,
               [(("n", 3),)]),
        OpSpec("comparisons", lambda a, b: sb.where(a >= b, a, b) + sb.where(a <= b, 1.0, b),
               None, [((2, 3), (2, 3))], lambda rng, s: rng.normal(size=s)),
    ]


def _all_cases() -> list[tuple[OpSpec, tuple]]:
    out = []
    for spec in [*SPECS, *_extra_specs()]:
        out.append((spec, spec.shapes[-1]))  # the largest shape case: one per spec
    return out


CASES = _all_cases()

# (op, backend) -> rtol, where the library's function is less accurate than SciPy's (none
# today: torch's polygamma form goes through torch.special.zeta, which is exact to rounding)
RTOL: dict[tuple[str, str], float] = {}


def _case_graph(spec: OpSpec, shapes: tuple):
    rng = np.random.default_rng(11)
    syms = [sb.tensor(f"a{i}", s) for i, s in enumerate(shapes)]
    y = spec.build(*syms)
    concrete = tuple(tuple(5 if isinstance(d, str) else d for d in s) for s in shapes)
    vals = spec.sample(rng, concrete)
    if all(isinstance(d, int) for d in y.shape):
        u = rng.normal(size=y.shape)
        loss = sb.sum(y * sb.const(u)) if y.shape else y * float(u)
    else:
        loss = sb.sum(y * sb.cos(y))
    idx = spec.differentiable if spec.differentiable is not None else range(len(syms))
    wrt = [syms[i] for i in idx if syms[i].dtype in ("float64", "float32")]
    grads = sb.grad(loss, wrt) if wrt else []
    return syms, [y, *grads], vals


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("spec,shapes", CASES, ids=[c[0].name for c in CASES])
def test_op_value_and_gradient_match_numpy(backend, spec, shapes):
    syms, exprs, vals = _case_graph(spec, shapes)
    ops = {n.op.name for n in toposort(exprs) if n.op is not None}
    skipped = {o for o in ops if backend in SKIP.get(o, {})}
    want = sb.lambdify(syms, exprs)(*vals)
    try:
        f = sb.lambdify(syms, exprs, backend=backend)
    except sb.SymbackError:
        if skipped:
            pytest.skip(f"{sorted(skipped)}: " + "; ".join(SKIP[o][backend] for o in skipped))
        raise
    got = f(*vals)
    assert len(got) == len(want)
    for g, w, e in zip(got, want, exprs):
        gn = _to_np(g)
        assert gn.shape == np.shape(w), (spec.name, e, gn.shape, np.shape(w))
        assert str(gn.dtype) == str(np.asarray(w).dtype), (spec.name, gn.dtype)
        rtol = max([1e-10] + [RTOL.get((o, backend), 0.0) for o in ops])
        np.testing.assert_allclose(gn, w, rtol=rtol, atol=1e-12, err_msg=spec.name)


@pytest.mark.parametrize("backend", BACKENDS)
def test_every_registered_op_has_a_case_or_a_documented_gap(backend):
    """Each registered op occurs in the value or gradient graph of some case above (so the
    case test compiles it on ``backend`` and compares it with NumPy), or is in SKIP."""
    reached: set[str] = set()
    for spec, shapes in CASES:
        _, exprs, _ = _case_graph(spec, shapes)
        reached |= {n.op.name for n in toposort(exprs) if n.op is not None}
    missing = sorted(name for name in REGISTRY
                     if name not in reached and backend not in SKIP.get(name, {}))
    print(f"\n{backend}: {len(reached)} ops in the cases; documented gaps: "
          f"{sorted(n for n in SKIP if backend in SKIP[n])}; no case: {missing}")
    assert not missing, f"ops that no case builds (add a builder to _extra_specs): {missing}"
