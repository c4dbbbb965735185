"""What the code generator does for speed must never change a value or leak state.

Buffers reused across calls and written in place (``out=``), single-use nodes
written inline, names reused, forward values reused by the derivative, dead
nodes dropped, transposes handed to matmul, thread safety, float32. No timing:
speed is measured in benchmarks/. References are plain NumPy written here.
"""

from __future__ import annotations

import re
import threading

import numpy as np
import pytest

import symback as sb
from symback.numeric import where_into


def _mlp(batch: object = 6, dtype: str = "float64"):
    X = sb.matrix("X", batch, 5, dtype=dtype)
    Y = sb.matrix("Y", batch, 3, dtype=dtype)
    W1 = sb.matrix("W1", 5, 7, dtype=dtype)
    W2 = sb.matrix("W2", 7, 3, dtype=dtype)
    J = (-sb.sum(Y * sb.log_softmax(sb.relu(X @ W1) @ W2, axis=1))
         + 1e-3 * (sb.sum(W1 ** 2) + sb.sum(W2 ** 2)))
    return [X, Y, W1, W2], J, [W1, W2]


def _mlp_numpy(X, Y, W1, W2):
    """Hand-derived: Z = X W1, H = relu(Z), U = H W2, P = softmax(U);
    Ū = P ΣY − Y, W̄2 = Hᵀ Ū + 2λW2, W̄1 = Xᵀ (Ū W2ᵀ ⊙ 1[Z > 0]) + 2λW1."""
    Z = X @ W1
    H = np.maximum(Z, 0)
    U = H @ W2
    m = U.max(axis=1, keepdims=True)
    logp = U - m - np.log(np.exp(U - m).sum(axis=1, keepdims=True))
    J = -np.sum(Y * logp) + 1e-3 * (np.sum(W1 ** 2) + np.sum(W2 ** 2))
    Ub = np.exp(logp) * Y.sum(axis=1, keepdims=True) - Y
    gW2 = H.T @ Ub + 2e-3 * W2
    gW1 = X.T @ ((Ub @ W2.T) * (Z > 0)) + 2e-3 * W1
    return J, gW1, gW2


def _data(batch: int = 6, seed: int = 0, dtype: str = "float64"):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((batch, 5))
    Y = np.eye(3)[rng.integers(0, 3, batch)]
    W1 = rng.standard_normal((5, 7))
    W2 = rng.standard_normal((7, 3))
    return [a.astype(dtype) for a in (X, Y, W1, W2)]


def test_buffers_are_used_and_values_match_numpy() -> None:
    args, J, wrt = _mlp()
    f = sb.value_and_grad(J, wrt, args=args)
    assert re.search(r"[(, ]_b\d+\)$", f.source, re.M)  # large temporaries: pooled buffers
    for seed in range(3):  # the same buffers serve every call
        vals = _data(seed=seed)
        v, (g1, g2) = f(*vals)
        J0, gW1, gW2 = _mlp_numpy(*vals)
        np.testing.assert_allclose(v, J0, rtol=1e-12)
        np.testing.assert_allclose(g1, gW1, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(g2, gW2, rtol=1e-10, atol=1e-12)


def test_in_place_writes_over_a_dying_temporary() -> None:
    x = sb.vector("x", 50)
    e = sb.exp(sb.sin(x) * 2.0 + 1.0) * 3.0 - x
    f = sb.lambdify([x], sb.sum(e * e))
    # some statement writes into the buffer it also reads (np.add(_b0, ..., _b0): a ufunc's
    # output buffer goes last, positionally, or as out=)
    assert any(re.search(rf"\({b}\b.*[ =]{b}\)$", line)
               for line in f.source.splitlines() for b in re.findall(r"^\s*(_b\d+) =", line))
    v = np.linspace(-2, 2, 50)
    r = np.exp(np.sin(v) * 2.0 + 1.0) * 3.0 - v
    np.testing.assert_allclose(f(v), np.sum(r * r), rtol=1e-13)
    np.testing.assert_allclose(f(v), np.sum(r * r), rtol=1e-13)


def test_outputs_are_fresh_and_never_alias_buffers() -> None:
    A = sb.matrix("A", 4, 3)
    t = sb.exp(A) * 2.0
    f = sb.lambdify([A], [t.T, t + 1.0, sb.sum(t, axis=0)])
    a = np.arange(12.0).reshape(4, 3) / 10
    out1 = f(a)
    keep = [o.copy() for o in out1]
    out2 = f(a + 1.0)  # the second call reuses every buffer
    for o, k in zip(out1, keep):
        np.testing.assert_array_equal(o, k)  # results of call 1 untouched by call 2
    for o1 in out1:
        for o2 in out2:
            assert not np.shares_memory(o1, o2)
    out2[0][0, 0] = 99.0  # outputs are writable
    np.testing.assert_allclose(f(a)[0], (np.exp(a) * 2.0).T)


def test_view_of_a_buffer_stays_valid_until_its_last_use() -> None:
    A = sb.matrix("A", 5, 5)
    t = sb.sin(A) + 1.0             # a buffered temporary
    u = sb.cos(A) * 3.0             # would reuse t's buffer if t.T were not tracked
    e = sb.sum((t.T @ u) * t.T)
    f = sb.lambdify([A], e)
    a = np.random.default_rng(1).standard_normal((5, 5))
    T, U = np.sin(a) + 1.0, np.cos(a) * 3.0
    np.testing.assert_allclose(f(a), np.sum((T.T @ U) * T.T), rtol=1e-12)


def test_symbolic_batch_resizes_the_pool() -> None:
    args, J, wrt = _mlp(batch="n")
    f = sb.value_and_grad(J, wrt, args=args)
    for batch in (6, 9, 6, 1):
        vals = _data(batch=batch, seed=batch)
        v, (g1, g2) = f(*vals)
        J0, gW1, gW2 = _mlp_numpy(*vals)
        np.testing.assert_allclose(g1, gW1, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(v, J0, rtol=1e-12)


def test_threads_share_no_buffers() -> None:
    args, J, wrt = _mlp(batch=40)
    f = sb.value_and_grad(J, wrt, args=args)
    inputs = [_data(batch=40, seed=s) for s in range(8)]
    want = [_mlp_numpy(*v) for v in inputs]
    errors: list[str] = []
    barrier = threading.Barrier(8)

    def work(i: int) -> None:
        barrier.wait()
        for _ in range(30):
            v, (g1, g2) = f(*inputs[i])
            if not (np.allclose(v, want[i][0], rtol=1e-10)
                    and np.allclose(g1, want[i][1], rtol=1e-9, atol=1e-12)
                    and np.allclose(g2, want[i][2], rtol=1e-9, atol=1e-12)):
                errors.append(f"thread {i} got a wrong result")
                return

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors


def test_float32_stays_float32_in_buffers_and_outputs() -> None:
    args, J, wrt = _mlp(dtype="float32")
    f = sb.value_and_grad(J, wrt, args=args)
    assert "'float64'" not in f.source.split("def _symback_fn")[1]  # no float64 buffer
    vals = _data(dtype="float32")
    v, (g1, g2) = f(*vals)
    assert v.dtype == g1.dtype == g2.dtype == np.float32
    J0, gW1, gW2 = _mlp_numpy(*[a.astype(np.float64) for a in vals])
    np.testing.assert_allclose(g1, gW1, rtol=2e-4, atol=2e-5)
    # float64 data given to a float32 graph is computed as the graph declares
    v64, (h1, _) = f(*[a.astype(np.float64) for a in vals])
    assert h1.dtype == np.float32


def test_single_use_nodes_are_written_inline_and_names_are_reused() -> None:
    x, y = sb.symbols("x y")
    z = x
    for _ in range(300):
        z = sb.sin(z) * z + sb.cos(z) * y
    g = sb.grad(z, [x, y])
    f = sb.lambdify([x, y], g)
    body = f.source.split("def _symback_fn")[1]
    assert "del " not in body
    # forward only, the chain's values die one after the other: a handful of names
    fwd = sb.lambdify([x, y], z).source.split("def _symback_fn")[1]
    names = set(re.findall(r"\bt\d+\b", fwd))
    statements = len(re.findall(r"^\s+t\d+ = ", fwd, flags=re.M))
    assert statements >= 300 and len(names) <= 4  # names reused once values are dead
    # deep but shallow lines: inline nesting is bounded
    assert max(line.count("(") for line in body.splitlines()) < 40

    def chain(xv: float, yv: float):
        zs = [xv]
        for _ in range(300):
            zs.append(np.sin(zs[-1]) * zs[-1] + np.cos(zs[-1]) * yv)
        zb, yb = 1.0, 0.0
        for k in range(299, -1, -1):
            s, c = np.sin(zs[k]), np.cos(zs[k])
            yb += zb * c
            zb *= c * zs[k] + s * (1 - yv)
        return zb, yb

    np.testing.assert_allclose([float(v) for v in f(0.3, 0.4)], chain(0.3, 0.4), rtol=1e-9)


def test_forward_results_are_reused_by_the_derivative() -> None:
    v = sb.vector("v", 5)
    # sigmoid(v) once: σ′ = σ(v) σ(−v) reuses the forward σ(v) (σ(−v) is another node, the
    # STABILIZE rule 1 − σ(v) → σ(−v) that keeps σ′ ≈ e^{−v} for large v)
    for fn, call in ((sb.exp, "np.exp("), (sb.tanh, "np.tanh("), (sb.sigmoid, "sigmoid(v)"),
                     (lambda a: sb.softmax(a, axis=0), "softmax(")):
        y = sb.sum(fn(v) * np.arange(5.0))
        f = sb.value_and_grad(y, [v])
        body = f.source.split("def _symback_fn")[1]
        # softmax may be written into a reused buffer (softmax_into): one call either way
        n = body.count(call) + (body.count("softmax_into(") if call == "softmax(" else 0)
        assert n == 1, (call, body)


def test_dead_nodes_are_dropped() -> None:
    v = sb.vector("v", 5)
    y = sb.sum(sb.exp(v)) + sb.sum(sb.log(v))
    f = sb.lambdify([v], sb.grad(y, v))  # the gradient needs exp(v) and 1/v, never log(v)
    assert "np.log(" not in f.source
    a = np.linspace(0.5, 2.0, 5)
    np.testing.assert_allclose(f(a), np.exp(a) + 1 / a, rtol=1e-14)


def test_transposes_go_to_matmul_without_copies() -> None:
    X = sb.matrix("X", 6, 4)
    W = sb.matrix("W", 4, 3)
    f = sb.value_and_grad(sb.sum(sb.tanh(X @ W)), [W], args=[X, W])
    body = f.source.split("def _symback_fn")[1]
    # Xᵀ Ḡ reads X in place (BLAS takes the transposed operand as it is)
    assert re.search(r"np\.matmul\(\(?X\.T\)?, |\(?X\.T\)? @ ", body)
    assert "ascontiguousarray" not in body and ".copy()" not in body
    # and a transposed product becomes a product of transposes (a rule, CANONICAL)
    A, B = sb.matrix("A", 3, 4), sb.matrix("B", 4, 2)
    g = sb.lambdify([A, B], sb.sum((A @ B).T * np.arange(6.0).reshape(2, 3)))
    a, b = np.arange(12.0).reshape(3, 4), np.arange(8.0).reshape(4, 2)
    np.testing.assert_allclose(g(a, b), np.sum((a @ b).T * np.arange(6.0).reshape(2, 3)))


def test_gradient_of_a_broadcast_is_reduced_once() -> None:
    b = sb.vector("b", 3)
    X = sb.matrix("X", 4, 3)
    y = sb.sum(sb.exp(X + b)) + sb.sum(sb.sin(X * b))
    f = sb.lambdify([X, b], sb.grad(y, b))
    body = f.source.split("def _symback_fn")[1]
    # one reduction over the leading axis (sum_lead: a BLAS product with ones), not two
    assert body.count("sum_lead(") == 1 and "np.add.reduce(" not in body
    x = np.random.default_rng(2).standard_normal((4, 3))
    bb = np.array([0.1, -0.2, 0.3])
    want = np.exp(x + bb).sum(axis=0) + (np.cos(x * bb) * x).sum(axis=0)
    np.testing.assert_allclose(f(x, bb), want, rtol=1e-13)


def test_vectorised_evaluation_with_check_false() -> None:
    x, y = sb.symbols("x y")
    g = sb.grad(sb.sin(x) * y + x ** 2, [x, y])
    f = sb.lambdify([x, y], g, check=False)
    xs, ys = np.linspace(0, 1, 7), np.linspace(1, 2, 7)
    gx, gy = f(xs, ys)
    np.testing.assert_allclose(gx, np.cos(xs) * ys + 2 * xs)
    np.testing.assert_allclose(gy, np.sin(xs))
    with pytest.raises(sb.ShapeError):
        sb.lambdify([x, y], g)(xs, ys)  # with checks, a scalar symbol takes a scalar


def test_scalar_outputs_are_0d_arrays_of_the_declared_dtype() -> None:
    a, b = sb.symbols("a b")
    f = sb.lambdify([a, b], [a * b, sb.exp(a)])
    p, q = f(2.0, 3)
    assert isinstance(p, np.ndarray) and p.dtype == np.float64 and p == 6.0 and q.shape == ()
    c = sb.symbols("c", dtype="float32")
    r = sb.lambdify([c], c * 2.0)(np.float32(1.5))
    assert r.dtype == np.float32


def test_where_into_is_exact() -> None:
    a = np.array([1.0, -0.0, np.inf, np.nan, -np.inf, 2.5, np.nan])
    c = np.array([True, True, False, False, True, False, True])
    for dt in (np.float64, np.float32):
        out = np.empty(7, dt)
        got = where_into(c, a.astype(dt), 0.0, out)
        want = np.where(c, a.astype(dt), dt(0.0))
        np.testing.assert_array_equal(got, want)
        np.testing.assert_array_equal(np.signbit(got), np.signbit(want))
        got = where_into(c, a.astype(dt), -0.0, out)  # -0 takes the general path
        np.testing.assert_array_equal(np.signbit(got), np.signbit(np.where(c, a.astype(dt), -0.0)))
        got = where_into(c, a.astype(dt), 5.0, out)
        np.testing.assert_array_equal(got, np.where(c, a.astype(dt), 5.0))


def test_many_scalar_arguments_compile_and_run() -> None:
    xs = list(sb.symbols([f"x{i}" for i in range(400)]))
    f = 0
    for i in range(399):
        f = f + 100 * (xs[i + 1] - xs[i] ** 2) ** 2 + (1 - xs[i]) ** 2
    g = sb.lambdify(xs, sb.grad(f, xs))
    p = np.random.default_rng(4).uniform(-1, 1, 400)
    got = np.array(g(*[float(v) for v in p]))
    d = p[1:] - p[:-1] ** 2
    want = np.zeros(400)
    want[:-1] = -400 * p[:-1] * d - 2 * (1 - p[:-1])
    want[1:] += 200 * d
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-9)


def test_scalar_functions_try_math_forms_and_fall_back_to_numpy() -> None:
    """Small float64 scalar functions try the ops' math-module forms (4x faster on floats)
    and run the NumPy version when math raises: every result is NumPy's (to an ulp)."""
    import warnings

    x, y = sb.symbols("x y")
    e = [sb.sin(x) * y + sb.exp(x), sb.log(x) + sb.sqrt(y), sb.tanh(x * y)]
    f = sb.lambdify([x, y], e)
    assert "_symback_math" in f.source and "_m.sin(" in f.source
    npf = sb.lambdify([x, y], e)  # the NumPy version alone, as the fallback runs it
    npf._fn = npf._fn.__globals__["_symback_fn"]
    rng = np.random.default_rng(3)
    for xv, yv in rng.uniform(0.1, 5.0, size=(50, 2)):
        got, want = f(float(xv), float(yv)), npf(float(xv), float(yv))
        for g, w in zip(got, want):
            assert isinstance(g, np.ndarray) and g.shape == () and g.dtype == np.float64
            np.testing.assert_allclose(g, w, rtol=4e-16, atol=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        edge = f(0.0, -1.0)  # math.log(0.0) and math.sqrt(-1.0) raise: NumPy's -inf and NaN
        assert np.isnan(float(edge[1])) and float(edge[0]) == 1.0  # -inf + NaN, sin 0 + e⁰
        big = f(1000.0, 1.0)  # math.exp(1000.0) overflows: NumPy's inf
        assert float(big[0]) == np.inf
    # arrays of points (check=False): the NumPy version
    g = sb.lambdify([x, y], e, check=False)
    pts = np.linspace(0.5, 2.0, 4)
    out = g(pts, pts)
    np.testing.assert_allclose(out[0], np.sin(pts) * pts + np.exp(pts), rtol=1e-15)
    # tensors, float32 and big graphs keep one (NumPy) version
    v = sb.vector("v", 3)
    assert "_symback_math" not in sb.lambdify([v], sb.sum(sb.sin(v))).source
    a32 = sb.symbols("a", dtype="float32")
    assert "_symback_math" not in sb.lambdify([a32], sb.sin(a32)).source
