"""Property-based fuzzing of the maths on random tensor DAGs (tests/strategies.py).

For random graphs over every registered op (broadcasting shapes, shared
subexpressions, symbolic sizes, safe input domains) these hold:

* first derivatives equal 4th-order central differences of the reference
  interpreter (float64), leaf by leaf along random directions;
* second derivatives likewise: the gradient of ⟨∇L, V⟩ for a random V;
* every rewrite rule set that exists (rules.CANONICAL, rules.STABILIZE,
  printing.pretty.PRETTY) preserves values;
* generated code (``sb.lambdify``) equals the node-by-node reference
  interpreter, in float64 and in float32 (with the dtype the graph declares);
* gradient graphs reuse the forward nodes: no two nodes of ``[L] + grads``
  have the same structure, and the derivative part grows linearly.

CI runs a few hundred derandomised examples; ``pytest --long`` (or
``SYMBACK_LONG=1``) runs more than ten thousand random ones.
Failures print the graph's text. Regression tests for what the fuzzer found
are at the bottom (``test_regression_*``).
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np
import pytest
from hypothesis import assume, given
from reference_interpreter import TEMPLATE_FALLBACK, evaluate
from strategies import (OPS, SIZES, SKIPPED, FuzzCase, dags, fuzz_settings, kink_signature,
                        random_case, uncovered_ops)

import symback as sb
from symback.graph import Expr, toposort
from symback.ops import REGISTRY

# --------------------------------------------------------------------------- helpers


def _real(shape: tuple[Any, ...]) -> tuple[int, ...]:
    return tuple(SIZES[d] if isinstance(d, str) else d for d in shape)


def _weights(rng: np.random.Generator, shape: tuple[Any, ...], like: Expr) -> Any:
    """A random constant of ``shape`` (or, for symbolic shapes, a fixed smooth function)."""
    if all(isinstance(d, int) for d in shape):
        w = rng.normal(size=shape)
        return sb.const(w.astype(like.dtype)) if shape else float(w)
    return float(rng.normal()) * sb.cos(like)


def loss(case: FuzzCase, rng: np.random.Generator) -> Expr:
    """L = Σ_j Σ W_j ⊙ o_j over the outputs, W_j random: a scalar with random cotangents."""
    total: Any = 0.0
    for o in case.outputs:
        w = _weights(rng, o.shape, o)
        total = total + sb.sum(o * w)
    return sb.as_expr(total)


def run(case: FuzzCase, exprs: Sequence[Expr], **kw: Any) -> list[np.ndarray]:
    f = sb.lambdify(case.leaves, list(exprs), **kw)
    return list(f(*case.values))


def interp(case: FuzzCase, exprs: Sequence[Expr], values: Sequence[np.ndarray] | None = None,
           cache: dict[Expr, np.ndarray] | None = None) -> list[np.ndarray]:
    vals = case.values if values is None else values
    return evaluate(list(exprs), dict(zip(case.leaves, vals)), cache)


def close(got: Any, want: Any, rtol: float, atol: float, what: str, case: FuzzCase) -> None:
    got = np.asarray(got, dtype=np.float64)
    want = np.asarray(want, dtype=np.float64)
    assert got.shape == want.shape, f"{what}: shape {got.shape} != {want.shape}\n{case!r}"
    same_nan = np.isnan(got) & np.isnan(want)
    err = np.abs(got - want) - (atol + rtol * np.abs(want))
    bad = (err > 0) & ~same_nan | (np.isnan(got) != np.isnan(want))
    if np.any(bad):
        k = np.unravel_index(np.argmax(np.where(bad, 1.0, 0.0)), got.shape) if got.shape else ()
        raise AssertionError(f"{what}: at {k} got {got[k]!r}, expected {want[k]!r}\n{case!r}")


def _fd(f: Callable[[float], float], h: float) -> float:
    """d/dt f(t) at 0 by the 4th-order central difference."""
    return (-f(2 * h) + 8 * f(h) - 8 * f(-h) + f(-2 * h)) / (12 * h)


def check_directional(case: FuzzCase, scalar: Expr, grads: Sequence[Expr],
                      rng: np.random.Generator, what: str) -> None:
    """⟨grads[i], u⟩ equals the difference quotient of ``scalar`` along u, for each leaf i.

    The interpreter evaluates ``scalar`` at x ± h u, x ± 2h u; the example is
    skipped (hypothesis ``assume``) when a kink or comparison changes branch
    between those points, or a value stops being finite there.
    """
    graph = toposort([scalar, *grads])
    got = run(case, grads)
    base_cache: dict[Expr, np.ndarray] = {}
    (s0,) = interp(case, [scalar], cache=base_cache)
    interp(case, grads, cache=base_cache)
    sig0 = kink_signature(graph, base_cache)
    for i, leaf in enumerate(case.leaves):
        u = rng.normal(size=np.shape(case.values[i]))
        u /= max(np.linalg.norm(u), 1e-300)

        def at(t: float) -> float:
            vals = list(case.values)
            vals[i] = np.asarray(case.values[i], dtype=np.float64) + t * u
            cache: dict[Expr, np.ndarray] = {}
            (v,) = interp(case, [scalar], vals, cache)
            interp(case, grads, vals, cache)
            assume(kink_signature(graph, cache) == sig0)
            assume(all(np.all(np.isfinite(c)) for c in cache.values() if c.dtype.kind == "f"))
            return float(v)

        an = float(np.sum(np.asarray(got[i], dtype=np.float64) * u))
        fd1 = _fd(at, 1e-3)
        tol = 1e-7 * (abs(an) + 1.0) + 1e-10 * abs(float(s0))
        if abs(fd1 - an) <= tol:
            continue
        fd2 = _fd(at, 2.5e-4)  # a second step size tells truncation error from a wrong rule
        assert abs(fd2 - an) <= 20 * abs(fd1 - fd2) + tol, (
            f"{what}: d/d{leaf.name} along u: symbolic {an!r}, finite differences "
            f"{fd2!r} (h=2.5e-4) and {fd1!r} (h=1e-3)\n{case!r}")


def rule_sets() -> list[tuple[str, Any]]:
    """Every rewrite rule set that exists now (they land with other issues)."""
    found: list[tuple[str, Any]] = []
    try:
        from symback import rules
    except ImportError:
        rules = None  # type: ignore[assignment]
    for name in ("CANONICAL", "STABILIZE"):
        rs = getattr(rules, name, None) if rules is not None else None
        if rs is not None:
            found.append((name, rs))
    if len(found) == 2:
        found.append(("CANONICAL+STABILIZE", found[0][1] + found[1][1]))
    try:
        from symback.printing.pretty import PRETTY
        found.append(("PRETTY", PRETTY))
    except ImportError:
        pass
    return found


def structure_key_collisions(nodes: Sequence[Expr]) -> list[tuple[Expr, Expr]]:
    """Pairs of distinct nodes with equal structure (op, attributes, argument identities)."""
    seen: dict[Any, Expr] = {}
    out = []
    for n in nodes:
        key = (n.op.name, repr(n.attrs), tuple(id(a) for a in n.args))
        if key in seen and seen[key] is not n:
            out.append((seen[key], n))
        seen.setdefault(key, n)
    return out


# --------------------------------------------------------------------------- the checks


def check_codegen(case: FuzzCase, rng: np.random.Generator) -> None:
    """Compiled outputs and gradients equal the reference interpreter; dtypes as declared."""
    L = loss(case, rng)
    grads = sb.grad(L, case.leaves)
    exprs = [*case.outputs, L, *grads]
    got = run(case, exprs)
    want = interp(case, exprs)
    f32 = case.dtype == "float32"
    if not f32:
        # the raw code generator (no rule tables) and the check_finite debug mode agree too
        for kw in ({"rewrite": False}, {"check_finite": True}):
            for e, g, w in zip(exprs, run(case, exprs, **kw), want):
                scale = 1.0 + float(np.max(np.abs(w), initial=0.0))
                close(g, w, 1e-9, 1e-10 * scale, f"{kw}: value of {str(e)[:200]}", case)
        # value_and_grad stabilises the loss before differentiating it
        v, gs = sb.value_and_grad(L, case.leaves, args=case.leaves)(*case.values)
        for e, g, w in zip([L, *grads], [v, *gs], want[len(case.outputs):]):
            scale = 1.0 + float(np.max(np.abs(w), initial=0.0))
            close(g, w, 1e-8, 1e-9 * scale, f"value_and_grad: {str(e)[:200]}", case)
    for e, g, w in zip(exprs, got, want):
        assert g.shape == _real(e.shape), f"compiled shape {g.shape} vs {e.shape}\n{case!r}"
        assert str(g.dtype) == e.dtype, f"compiled dtype {g.dtype} vs declared {e.dtype}: " \
            f"{str(e)[:200]}\n{case!r}"
        scale = 1.0 + float(np.max(np.abs(w), initial=0.0))
        if f32:
            close(g, w, 2e-3, 2e-3 * scale, f"float32 value of {str(e)[:200]}", case)
        else:
            close(g, w, 1e-9, 1e-10 * scale, f"value of {str(e)[:200]}", case)


def check_first_order(case: FuzzCase, rng: np.random.Generator) -> None:
    L = loss(case, rng)
    grads = sb.grad(L, case.leaves)
    for g, x in zip(grads, case.leaves):
        assert g.shape == x.shape, f"grad shape {g.shape} vs {x.shape}\n{case!r}"
    check_directional(case, L, grads, rng, "first derivative")


def check_second_order(case: FuzzCase, rng: np.random.Generator) -> None:
    L = loss(case, rng)
    grads = sb.grad(L, case.leaves)
    s: Any = 0.0
    for g, x in zip(grads, case.leaves):
        s = s + sb.sum(g * _weights(rng, x.shape, x))
    s = sb.as_expr(s)
    hv = sb.grad(s, case.leaves)
    check_directional(case, s, hv, rng, "second derivative")


def check_rules(case: FuzzCase, rng: np.random.Generator) -> list[str]:
    from symback.rewrite import rewrite

    L = loss(case, rng)
    grads = sb.grad(L, case.leaves)
    exprs = [*case.outputs, L, *grads]
    want = interp(case, exprs)
    names = []
    for name, rs in rule_sets():
        new = rewrite(exprs, rs)
        got = run(case, new)
        for e, g, w in zip(new, got, want):
            scale = 1.0 + float(np.max(np.abs(w), initial=0.0))
            close(g, w, 1e-7, 1e-9 * scale, f"{name} changed the value of {str(e)[:200]}", case)
        names.append(name)
    return names


def check_reuse(case: FuzzCase, rng: np.random.Generator) -> None:
    L = loss(case, rng)
    grads = sb.grad(L, case.leaves)
    forward = toposort([L])
    everything = toposort([L, *grads])
    dupes = structure_key_collisions(everything)
    assert not dupes, f"two nodes with one structure: {dupes[0]}\n{case!r}"
    fset = set(forward)
    derivative = [n for n in everything if n not in fset]
    assert len(derivative) <= 12 * len(forward) + 10, (
        f"{len(derivative)} derivative nodes for {len(forward)} forward nodes\n{case!r}")
    # every symbol and every forward node the derivative needs is the forward node itself
    for n in derivative:
        assert not n.is_symbol, f"grad invented symbol {n}\n{case!r}"


# --------------------------------------------------------------------------- hypothesis tests


def _rng(case: FuzzCase) -> np.random.Generator:
    return np.random.default_rng(len(case.leaves) * 7919 + sb.graph.count_nodes(*case.outputs))


@fuzz_settings(ci=90, long=3500)
@given(dags())
def test_fuzz_gradients_match_finite_differences(case: FuzzCase) -> None:
    check_first_order(case, _rng(case))


@fuzz_settings(ci=45, long=2000)
@given(dags(max_ops=7))
def test_fuzz_second_derivatives_match_finite_differences(case: FuzzCase) -> None:
    check_second_order(case, _rng(case))


@fuzz_settings(ci=80, long=2500)
@given(dags())
def test_fuzz_codegen_equals_reference_interpreter(case: FuzzCase) -> None:
    check_codegen(case, _rng(case))


@fuzz_settings(ci=40, long=1500)
@given(dags(dtype="float32"))
def test_fuzz_codegen_float32(case: FuzzCase) -> None:
    check_codegen(case, _rng(case))


@fuzz_settings(ci=40, long=1000)
@given(dags())
def test_fuzz_rule_sets_preserve_values(case: FuzzCase) -> None:
    check_rules(case, _rng(case))


@fuzz_settings(ci=40, long=1000)
@given(dags())
def test_fuzz_gradients_reuse_forward_nodes(case: FuzzCase) -> None:
    check_reuse(case, _rng(case))


# --------------------------------------------------------------------------- table hygiene


def test_every_registered_op_has_a_fuzz_entry_or_a_skip_reason() -> None:
    missing = uncovered_ops()
    assert not missing, (
        f"ops {missing} are registered but tests/strategies.py has neither an OPS entry "
        "(how to build them in a safe domain) nor a SKIPPED reason for them")
    stale = sorted(set(SKIPPED) - set(REGISTRY))
    assert not stale, f"SKIPPED lists ops that are not registered: {stale}"


def test_random_graphs_cover_every_op_entry() -> None:
    """Builder runs use every registered op of the table at least once (the table has ~200
    entries since issue 11, and some builders decline draws outside their safe domain)."""
    rng = np.random.default_rng(2024)
    used: set[str] = set()
    for _ in range(1000):
        used |= random_case(rng).ops_used
    want = {n for n in OPS if n in REGISTRY}
    assert want - used == set(), f"never built: {sorted(want - used)}"


def test_reference_interpreter_is_independent_for_core_ops() -> None:
    """Every core op has its own formula in the interpreter (no fallback to op templates)."""
    rng = np.random.default_rng(7)
    for _ in range(60):
        case = random_case(rng)
        L = loss(case, rng)
        interp(case, [L, *sb.grad(L, case.leaves)])
    assert not TEMPLATE_FALLBACK, f"interpreted through symback's own templates: " \
        f"{sorted(TEMPLATE_FALLBACK)} (add formulas to tests/reference_interpreter.py)"


def test_gradient_graph_contains_the_forward_nodes_by_identity() -> None:
    """VJPs that reuse their output (exp, sigmoid, tanh, softmax, sqrt) point at the forward node."""
    x = sb.vector("x", 3)
    W = sb.matrix("W", 3, 3)
    fwd = [sb.exp(x), sb.sigmoid(x), sb.tanh(W @ x), sb.softmax(W @ x), sb.sqrt(x * x + 1.0)]
    y = sb.sum(fwd[0] * fwd[1]) + sb.sum(fwd[2] * fwd[3]) + sb.sum(fwd[4])
    gx, gW = sb.grad(y, [x, W])
    grad_nodes = set(toposort([gx, gW]))
    for f in fwd:
        assert f in grad_nodes, f"the gradient recomputes {f} instead of reusing it"
    assert W @ x in grad_nodes


# --------------------------------------------------------------------------- regressions


def _fd_grad(f: Callable[[np.ndarray], float], x: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    g = np.zeros_like(x)
    for idx in np.ndindex(x.shape):
        d = np.zeros_like(x)
        d[idx] = eps
        g[idx] = (f(x + d) - f(x - d)) / (2 * eps)
    return g


@pytest.mark.parametrize("ashape,bshape,axes", [
    ((2, 2), (2, 2), ((0, 1), (1, 0))),
    ((3, 2, 2), (2, 3), ((0, 1), (1, 0))),
    ((2, 3, 4), (4, 3, 2), ((1, 2), (1, 0))),
    ((2, 3, 4), (3, 4, 5), ((2, 1), (1, 0))),
])
def test_regression_tensordot_vjp_with_unsorted_axis_pairs(ashape, bshape, axes) -> None:  # type: ignore
    """tensordot(A, B, axes=((0, 1), (1, 0))): the VJP put the contracted axes back in the
    wrong order (a wrong gradient for square shapes, a ShapeError otherwise).

    Found by test_fuzz_gradients_match_finite_differences (long mode):
    tensordot(broadcast_to(-x1, (2, 2, 2)), -x1, axes=((0, 1), (1, 0))).
    """
    rng = np.random.default_rng(3)
    a_sym, b_sym = sb.tensor("A", ashape), sb.tensor("B", bshape)
    y = REGISTRY["tensordot"](a_sym, b_sym, axes=axes)
    w = rng.normal(size=y.shape)
    ga, gb = sb.lambdify([a_sym, b_sym], sb.grad(sb.sum(y * w), [a_sym, b_sym]))(
        a := rng.normal(size=ashape), b := rng.normal(size=bshape))
    ax = (list(axes[0]), list(axes[1]))
    assert np.allclose(ga, _fd_grad(lambda t: float(np.sum(np.tensordot(t, b, ax) * w)), a))
    assert np.allclose(gb, _fd_grad(lambda t: float(np.sum(np.tensordot(a, t, ax) * w)), b))
