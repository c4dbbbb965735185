"""backend="llvm": scalar graphs compiled with llvmlite, checked against hand-derived NumPy
gradients, central differences and NumPy's own functions (never against symback's NumPy
backend alone). Skipped when llvmlite is not installed (the ``native`` extra)."""

from __future__ import annotations

import math
import pickle

import numpy as np
import pytest
from readme_blocks import python_blocks, run_block, section

import symback as sb
from benchmarks.workloads import w2_grad_hand, w3_f_hand, w3_grad_hand
from benchmarks.workloads import w2_symback as w2
from benchmarks.workloads import w3_symback as w3
from symback.graph import iter_ops

pytest.importorskip("llvmlite")


def w3_hand(x, y, d):
    """The chain's value and its gradient (∂/∂x, ∂/∂y), derived by hand in
    benchmarks/workloads.py."""
    return (w3_f_hand(np.asarray(x, dtype=float), y, d),
            *w3_grad_hand(np.asarray(x, dtype=float), y, d))


def test_w2_gradient_one_point_and_packed():
    xs, f = w2(30)
    g = sb.lambdify(xs, sb.grad(f, xs), backend="llvm")
    pt = np.random.default_rng(0).uniform(-1.5, 1.5, 30)
    want = w2_grad_hand(pt)
    got = g(*[float(v) for v in pt])
    assert isinstance(got, tuple) and len(got) == 30
    assert all(isinstance(v, np.ndarray) and v.shape == () for v in got)
    np.testing.assert_allclose(np.array(got), want, rtol=1e-13, atol=1e-12)
    np.testing.assert_allclose(g.call_packed(pt), want, rtol=1e-13, atol=1e-12)
    # 37 points: not a multiple of a SIMD width (the scalar kernel does the rest)
    pts = np.random.default_rng(1).uniform(-1.5, 1.5, (30, 37))
    np.testing.assert_allclose(g.call_packed(pts), w2_grad_hand(pts), rtol=1e-13, atol=1e-12)
    res = g(*pts)
    np.testing.assert_allclose(np.array(res), w2_grad_hand(pts), rtol=1e-13, atol=1e-12)


def test_w3_value_and_grad_many_points():
    (x, y), z = w3(40)
    vg = sb.value_and_grad(z, [x, y], backend="llvm")
    v, (gx, gy) = vg(0.7, 0.3)
    hv, hx, hy = w3_hand(0.7, 0.3, 40)
    np.testing.assert_allclose([float(v), float(gx), float(gy)], [hv, hx, hy], rtol=1e-10)
    xs = np.linspace(-1, 1, 1001)
    ys = np.linspace(0.5, -0.5, 1001)
    v, (gx, gy) = vg(xs, ys)
    hv, hx, hy = w3_hand(xs, ys, 40)
    assert v.shape == gx.shape == (1001,)
    np.testing.assert_allclose(v, hv, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(gx, hx, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(gy, hy, rtol=1e-8, atol=1e-10)
    # broadcasting: a scalar beside an array of points, 2-D points
    v2, _ = vg(xs.reshape(7, 143), 0.25)
    np.testing.assert_allclose(v2, w3_hand(xs, 0.25, 40)[0].reshape(7, 143), rtol=1e-9,
                               atol=1e-12)


def test_gradient_against_central_differences():
    x, y, w = sb.symbols("x y w")
    f = (sb.tanh(x * y) + sb.log1p(sb.exp(-w * w)) + sb.sqrt(x * x + 1.0) * sb.expm1(y / 3)
         + sb.sigmoid(x - 2 * w) + sb.softplus(y * w) + sb.tan(0.3 * x) + sb.abs(y - 0.1) ** 1.5
         + sb.maximum(x, w) * sb.minimum(y, w) + sb.where(x > y, x * w, y / (1 + w * w)))
    g = sb.lambdify([x, y, w], [f, *sb.grad(f, [x, y, w])], backend="llvm")
    fn = sb.lambdify([x, y, w], f, backend="llvm")
    rng = np.random.default_rng(3)
    for _ in range(20):
        p = rng.uniform(-1.5, 1.5, 3)
        out = g(*map(float, p))
        for i in range(3):
            h = 1e-6
            up, dn = p.copy(), p.copy()
            up[i] += h
            dn[i] -= h
            fd = (float(fn(*up)) - float(fn(*dn))) / (2 * h)
            assert abs(float(out[i + 1]) - fd) <= 1e-5 * max(1.0, abs(fd)), (i, p)


# --------------------------------------------------------------- random scalar graphs

_UNARY = {"exp": (sb.exp, np.exp),
          "log": (lambda a: sb.log(a * a + 0.5), lambda a: np.log(a * a + 0.5)),
          "sin": (sb.sin, np.sin), "cos": (sb.cos, np.cos), "tanh": (sb.tanh, np.tanh),
          "sqrt": (lambda a: sb.sqrt(sb.abs(a)), lambda a: np.sqrt(np.abs(a))),
          "neg": (lambda a: -a, np.negative),
          "sigmoid": (sb.sigmoid, lambda a: 1 / (1 + np.exp(-a))),
          "softplus": (sb.softplus, lambda a: np.logaddexp(0.0, a)),
          "relu": (sb.relu, lambda a: np.maximum(a, 0.0)), "sign": (sb.sign, np.sign),
          "log1p": (lambda a: sb.log1p(a * a), lambda a: np.log1p(a * a)),
          "expm1": (lambda a: sb.expm1(sb.tanh(a)), lambda a: np.expm1(np.tanh(a)))}
_BINARY = {"add": (lambda a, b: a + b, np.add), "sub": (lambda a, b: a - b, np.subtract),
           "mul": (lambda a, b: a * b, np.multiply),
           "div": (lambda a, b: a / (b * b + 1.0), lambda a, b: a / (b * b + 1.0)),
           "pow2": (lambda a, b: a ** 2, lambda a, b: a * a),
           "pow": (lambda a, b: (a * a + 1.0) ** sb.tanh(b),
                   lambda a, b: (a * a + 1.0) ** np.tanh(b)),
           "max": (sb.maximum, np.maximum), "min": (sb.minimum, np.minimum),
           "where": (lambda a, b: sb.where(a >= b, a, b * 0.5),
                     lambda a, b: np.where(a >= b, a, b * 0.5))}


@pytest.mark.parametrize("seed", range(12))
def test_random_scalar_graphs_match_numpy_functions(seed):
    """A random DAG of every natively formed elementwise op, built twice from one recipe:
    in symback (compiled with llvm) and directly in NumPy; values agree to a few ulps."""
    rng = np.random.default_rng(seed)
    syms = list(sb.symbols("a b c"))
    pts = rng.uniform(-2, 2, (3, 50))
    nodes = list(syms)
    refs = list(pts)
    for _ in range(25):
        if rng.random() < 0.4:
            name = rng.choice(sorted(_UNARY))
            s, r = _UNARY[name]
            i = rng.integers(len(nodes))
            nodes.append(s(nodes[i]))
            with np.errstate(all="ignore"):
                refs.append(r(refs[i]))
        else:
            name = rng.choice(sorted(_BINARY))
            s, r = _BINARY[name]
            i, j = rng.integers(len(nodes), size=2)
            nodes.append(s(nodes[i], nodes[j]))
            with np.errstate(all="ignore"):
                refs.append(r(refs[i], refs[j]))
    outs = nodes[3:]
    f = sb.lambdify(syms, outs, backend="llvm", check=False)
    got = np.array(f(*pts))
    want = np.array(refs[3:])
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12, equal_nan=True)
    one = np.array(f(*map(float, pts[:, 0])))
    np.testing.assert_allclose(one, want[:, 0], rtol=1e-10, atol=1e-12, equal_nan=True)


def test_special_values_follow_ieee_like_numpy():
    x = sb.symbols("x")
    f = sb.lambdify([x], [sb.log(x), 1.0 / x, sb.relu(x), sb.maximum(x, 1.0), sb.sign(x)],
                    backend="llvm", check=False)
    with np.errstate(all="ignore"):
        for v in (0.0, -1.0, math.inf, math.nan):
            got = f(v)
            want = [np.log(v), np.float64(1.0) / v, np.maximum(v, 0.0), np.maximum(v, 1.0),
                    np.sign(v)]
            np.testing.assert_array_equal(np.array(got), np.array(want, dtype=float))


# --------------------------------------------------------------- errors, contract


def test_tensor_graph_of_symbolic_size_is_refused_naming_the_size_and_backend():
    # static shapes are compiled entry by entry (tests/test_native_tensors.py); a
    # symbolic size has no entries to write out
    x = sb.vector("x", "n")
    with pytest.raises(sb.SymbackError, match="backend='llvm'") as e:
        sb.lambdify([x], sb.sum(x * x), backend="llvm")
    assert "symbolic size 'n'" in str(e.value) and "backend='numpy'" in str(e.value)


def test_op_without_native_form_is_refused_by_name():
    x = sb.symbols("x")
    m = sb.matrix("m", 2, 2)
    with pytest.raises(sb.SymbackError, match="backend='llvm'.*det|det.*llvm"):
        sb.lambdify([x, m], sb.det(m) * x, backend="llvm")


def test_unknown_backend_and_float32():
    x = sb.symbols("x")
    with pytest.raises(sb.SymbackError, match="unknown backend 'nope'"):
        sb.lambdify([x], x * 2, backend="nope")
    x32 = sb.symbols("x32", dtype="float32")
    with pytest.raises(sb.SymbackError, match="float64"):
        sb.lambdify([x32], x32 * 2, backend="llvm")


def test_bad_calls():
    x, y = sb.symbols("x y")
    f = sb.lambdify([x, y], x * y, backend="llvm")
    with pytest.raises(sb.SymbackError, match="2 argument"):
        f(1.0)
    with pytest.raises(sb.SymbackError, match="broadcast"):
        f(np.ones(3), np.ones(4))
    with pytest.raises(sb.SymbackError, match=r"shape \(2, \.\.\.\)"):
        f.call_packed(np.ones(3))
    with pytest.raises(sb.SymbackError, match="numbers"):
        f("a", 1.0)
    assert float(f(2, 3)) == 6.0  # ints are numbers too


def test_pickle_and_outputs_that_are_inputs_or_constants():
    x, y = sb.symbols("x y")
    f = sb.lambdify([x, y], [x, sb.const(2.5), x * y], backend="llvm")
    g = pickle.loads(pickle.dumps(f))
    assert [float(v) for v in g(3.0, 4.0)] == [3.0, 2.5, 12.0]
    assert "define void @symback_fn" in g.source


def test_every_native_form_is_declared_on_its_op():
    """The generator knows no op by name: each scalar elementwise op carries its form."""
    have = {op.name for op in iter_ops() if op.llvm is not None}
    assert {"add", "sub", "mul", "div", "neg", "pow", "exp", "log", "sin", "cos", "tanh",
            "sigmoid", "softplus", "where", "greater", "maximum"} <= have
    import inspect

    import symback.native as native
    src = inspect.getsource(native)
    for name in have:
        assert f'"{name}"' not in src and f"'{name}'" not in src


def test_backend_options_opt_level_and_bad_options():
    xs, f = w2(12)
    pt = np.random.default_rng(5).uniform(-1, 1, 12)
    g2 = sb.lambdify(xs, sb.grad(f, xs), backend="llvm", backend_options={"opt": 2})
    np.testing.assert_allclose(g2.call_packed(pt), w2_grad_hand(pt), rtol=1e-13, atol=1e-12)
    vg = sb.value_and_grad(f, xs, args=xs, backend="llvm", backend_options={"opt": 1})
    np.testing.assert_allclose(np.array(vg(*map(float, pt))[1]), w2_grad_hand(pt), rtol=1e-13,
                               atol=1e-12)
    with pytest.raises(sb.SymbackError, match="opt must be"):
        sb.lambdify(xs, f, backend="llvm", backend_options={"opt": 7})
    with pytest.raises(sb.SymbackError, match="numpy backend takes no backend_options"):
        sb.lambdify(xs, f, backend_options={"opt": 2})
    with pytest.raises(TypeError):
        sb.lambdify(xs, f, backend="llvm", backend_options={"nope": 1})


def test_readme_native_block_runs_as_written():
    code = python_blocks(section("## Native code for scalar graphs"))[0]
    assert run_block(code, "native") == ["(10000,)", "(50, 1000)"]


def test_register_backend_reaches_lambdify_and_value_and_grad():
    """A toy backend (here: the NumPy generator behind a wrapper) plugs in by name and gets
    the compiled graph, the options and value_and_grad's output form."""
    from symback import codegen

    seen = {}

    def compile_toy(args, outs, compiled, single, *, order, check, check_finite, scale=1.0):
        seen.update(single=single, scale=scale, n=len(compiled))
        inner = codegen.lambdify(args, compiled if single is not True else compiled[0],
                                 check=check)
        def run(*v):
            r = inner(*v)
            if single == "value_and_grad":
                return r[0] * scale, [g * scale for g in r[1:]]
            return r * scale
        return run

    codegen.register_backend("toy", compile_toy)
    try:
        x = sb.symbols("x")
        f = sb.lambdify([x], x ** 3, backend="toy", backend_options={"scale": 2.0})
        assert float(f(2.0)) == 16.0 and seen["single"] is True
        vg = sb.value_and_grad(x ** 3, x, backend="toy")
        v, (g,) = vg(2.0)
        assert (float(v), float(g)) == (8.0, 12.0) and seen["single"] == "value_and_grad"
        with pytest.raises(sb.SymbackError, match="built-in"):
            codegen.register_backend("numpy", compile_toy)
    finally:
        del codegen.BACKENDS["toy"]


def test_simd_kernel_with_and_without_the_vector_math_library():
    """The SIMD kernel gives the same values whether libm functions come from libmvec or
    one call per lane (machines without libmvec), at the host's width."""
    import symback.native as nv
    from symback.rules import optimize

    width, vmath = nv._simd()
    if width == 1:
        pytest.skip("no SIMD width in use on this machine")
    x, y = sb.symbols("x y")
    exprs = [sb.sin(x) * sb.cos(y), sb.tanh(x - y), sb.log1p(x * x) + sb.exp(y / 3),
             sb.sigmoid(x) ** 1.5, sb.softplus(x * y), sb.expm1(sb.tan(0.3 * y))]
    outs = optimize(exprs)
    pts = np.ascontiguousarray(np.random.default_rng(2).uniform(-2, 2, (2, 64)))
    want = np.array([np.sin(pts[0]) * np.cos(pts[1]), np.tanh(pts[0] - pts[1]),
                     np.log1p(pts[0] ** 2) + np.exp(pts[1] / 3),
                     (1 / (1 + np.exp(-pts[0]))) ** 1.5, np.logaddexp(0, pts[0] * pts[1]),
                     np.expm1(np.tan(0.3 * pts[1]))])
    for vm in (vmath, nv._VectorMath(None, width)):
        ir = nv.generate_ir([x, y], outs, None, width, "symback_vec", vm)
        kernel = nv._Native(ir, "symback_vec")
        out = np.empty((len(outs), 64))
        kernel.cfunc(pts.ctypes.data, out.ctypes.data, 64, 64)
        np.testing.assert_allclose(out, want, rtol=1e-13, atol=1e-15)


def test_threads_share_one_function():
    import threading

    (x, y), z = w3(20)
    g = sb.lambdify([x, y], sb.grad(z, [x, y]), backend="llvm")
    rng = np.random.default_rng(9)
    pts = rng.uniform(-1, 1, (8, 2))
    want = [np.array(w3_hand(a, b, 20)[1:]) for a, b in pts]
    errors = []

    def work(k):
        for _ in range(200):
            got = np.array(g(*map(float, pts[k])))
            if not np.allclose(got, want[k], rtol=1e-12):
                errors.append(k)

    ts = [threading.Thread(target=work, args=(k,)) for k in range(8)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    assert not errors


def test_no_arguments():
    f = sb.lambdify([], [sb.const(2.0) * 3.0 + sb.sin(sb.const(0.5))], backend="llvm")
    assert float(f()[0]) == 6.0 + math.sin(0.5)
