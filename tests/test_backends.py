"""backend="torch" | "jax" | "cupy": the same graphs give the NumPy backend's values and
gradients, on the library's arrays, in the symbols' dtype.

The references are the NumPy backend (itself checked against finite differences, SymPy and
hand-written gradients elsewhere) and, for the README's MLP, the library's own autograd.
CuPy and CUDA tests are skipped (and marked ``gpu``) on machines without a GPU.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from strategies import random_case

import symback as sb
from symback.graph import Op

torch = pytest.importorskip("torch")
jax = pytest.importorskip("jax")
pytest.importorskip("array_api_compat")

BACKENDS = ["torch", "jax"]
README = Path(__file__).resolve().parent.parent / "README.md"


def _has_cuda() -> bool:
    return bool(torch.cuda.is_available())


def _has_cupy() -> bool:
    try:
        import cupy

        return cupy.cuda.runtime.getDeviceCount() > 0
    except Exception:  # noqa: BLE001 - no cupy, no driver, no device
        return False


gpu = pytest.mark.gpu


@pytest.fixture(autouse=True, scope="module")
def _x64():
    """float64 on JAX (restored afterwards: other tests use JAX's default)."""
    old = jax.config.jax_enable_x64
    jax.config.update("jax_enable_x64", True)
    yield
    jax.config.update("jax_enable_x64", old)


def to_np(v):
    if isinstance(v, (list, tuple)):
        return [to_np(x) for x in v]
    if hasattr(v, "detach"):
        v = v.detach().cpu()
    return np.asarray(v)


def assert_like_numpy(args, exprs, values, backend, rtol=1e-10, atol=1e-12, **kw):
    """lambdify on ``backend`` equals lambdify on NumPy, output by output, in dtype too."""
    want = sb.lambdify(args, list(exprs))(*values)
    f = sb.lambdify(args, list(exprs), backend=backend, **kw)
    got = f(*values)
    assert isinstance(got, tuple) and len(got) == len(want)
    for g, w, e in zip(got, want, exprs):
        assert type(g).__module__.split(".")[0] in ("torch", "jax", "jaxlib"), type(g)
        gn = to_np(g)
        assert gn.shape == w.shape, (e, gn.shape, w.shape)
        assert str(gn.dtype) == str(w.dtype), (e, gn.dtype, w.dtype)
        np.testing.assert_allclose(gn, w, rtol=rtol, atol=atol, err_msg=str(e)[:200])


# --------------------------------------------------------------------------- seeds


def _seed_cases():
    rng = np.random.default_rng(190204)
    cases = []
    a, b, c = sb.symbols("a b c")  # E1
    J = 3 * (a + b * c)
    cases.append(("E1", [a, b, c], J, [a, b, c], [7.0, 4.0, 2.0]))
    n, m = 4, 7  # E2 vectorised
    W, X, Y, bb = sb.matrix("W", n, 1), sb.matrix("X", n, m), sb.matrix("Y", 1, m), sb.symbols("b")
    A = sb.sigmoid(W.T @ X + bb)
    J2 = sb.mean(-(Y * sb.log(A) + (1 - Y) * sb.log(1 - A)))
    cases.append(("E2", [W, bb, X, Y], J2, [W, bb],
                  [rng.normal(size=(n, 1)), 0.3, rng.normal(size=(n, m)),
                   (rng.uniform(size=(1, m)) < 0.5).astype(float)]))
    X3, W3 = sb.matrix("X", 3, 3), sb.matrix("W", 3, 2)  # E3
    cases.append(("E3", [X3, W3], sb.sum(sb.sigmoid(X3 @ W3)), [X3, W3],
                  [rng.normal(size=(3, 3)), rng.normal(size=(3, 2))]))
    X4, W4, y4 = sb.matrix("X", "n", 3), sb.matrix("W", 3, 1), sb.matrix("y", "n", 1)  # E4
    cases.append(("E4", [X4, W4, y4], 0.5 * sb.sum((y4 - X4 @ W4) ** 2), [W4],
                  [rng.normal(size=(6, 3)), rng.normal(size=(3, 1)), rng.normal(size=(6, 1))]))
    x5, y5 = sb.matrix("x", 1, 2), sb.matrix("y", 1, 1)  # E5
    W1, b1 = sb.matrix("W1", 2, 3), sb.matrix("b1", 1, 3)
    W2, b2 = sb.matrix("W2", 3, 1), sb.matrix("b2", 1, 1)
    yhat = sb.sigmoid(sb.sigmoid(x5 @ W1 + b1) @ W2 + b2)
    cases.append(("E5", [x5, y5, W1, b1, W2, b2], sb.mean((yhat - y5) ** 2), [W1, b1, W2, b2],
                  [np.array([[0.5, 0.3]]), np.array([[0.8]])]
                  + [rng.normal(size=s) for s in [(2, 3), (1, 3), (3, 1), (1, 1)]]))
    X6, Y6 = sb.matrix("X", "n", 5), sb.matrix("Y", "n", 4)  # E6
    V1, V2 = sb.matrix("V1", 5, 8), sb.matrix("V2", 8, 4)
    U = sb.relu(X6 @ V1) @ V2
    J6 = -sb.mean(sb.sum(Y6 * sb.log_softmax(U), axis=1)) + 1e-3 * (sb.sum(V1**2) + sb.sum(V2**2))
    cases.append(("E6", [X6, Y6, V1, V2], J6, [V1, V2],
                  [rng.normal(size=(9, 5)), np.eye(4)[rng.integers(0, 4, 9)],
                   rng.normal(size=(5, 8)), rng.normal(size=(8, 4))]))
    W7, X7, th, y7 = sb.matrix("W", 1, 2), sb.matrix("X", 2, 1), *sb.symbols("theta y")  # E7
    L7 = sb.sum((sb.sigmoid(W7 @ X7 + th) - y7) ** 2)
    cases.append(("E7", [W7, X7, th, y7], L7, [W7, X7, th],
                  [np.array([[-1.0, -1.5]]), np.array([[-3.0], [2.0]]), 0.5, 2.0]))
    w8, b8 = sb.symbols("w b")  # E8
    x8, y8 = sb.vector("x", "n"), sb.vector("y", "n")
    cases.append(("E8", [w8, b8, x8, y8], sb.mean((w8 * x8 + b8 - y8) ** 2), [w8, b8],
                  [0.1, -0.2, np.array([1.0, 2, 3, 4]), np.array([2.0, 4, 6, 8])]))
    return cases


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("case", _seed_cases(), ids=lambda c: c[0])
def test_seed_examples_match_numpy(backend, case):
    _, args, loss, wrt, values = case
    assert_like_numpy(args, [loss, *sb.grad(loss, wrt)], values, backend)


def test_e7_reference_numbers_on_torch():
    _, args, loss, wrt, values = _seed_cases()[6]
    value, grads = sb.value_and_grad(loss, wrt, args=args, backend="torch")(*values)
    assert abs(float(value) - 1.89761829) < 1e-8
    np.testing.assert_allclose(to_np(grads[0]), [[1.94236303, -1.29490868]], atol=1e-8)
    np.testing.assert_allclose(float(grads[2]), -0.64745434, atol=1e-8)


# --------------------------------------------------------------------------- fuzzed graphs

_N_FUZZ = {"torch": 40, "jax": 16}  # (jax: one jit compile per graph)


GAPS: dict[str, set[str]] = {}  # op -> refused on this backend (printed with -s)


@pytest.mark.parametrize("backend", BACKENDS)
def test_random_graphs_match_numpy(backend):
    rng = np.random.default_rng(1404)
    ran = 0
    for i in range(_N_FUZZ[backend]):
        case = random_case(rng)
        total = 0.0  # Σ_j Σ W_j ⊙ o_j: random cotangents (a smooth function for symbolic sizes)
        for o in case.outputs:
            if all(isinstance(d, int) for d in o.shape):
                w = rng.normal(size=o.shape)
                w = sb.const(w.astype(o.dtype)) if o.shape else float(w)
            else:
                w = float(rng.normal()) * sb.cos(o)
            total = total + sb.sum(o * w)
        L = sb.as_expr(total)
        exprs = [L, *case.outputs, *sb.grad(L, case.leaves)]
        try:
            assert_like_numpy(case.leaves, exprs, case.values, backend, rtol=1e-8, atol=1e-10)
        except sb.SymbackError as exc:
            # the documented gaps only: ops that state no form for this backend (refused
            # when compiling, naming the op and the backend; see tests/test_backend_forms.py)
            msg = str(exc)
            assert f"backend {backend!r} cannot compile" in msg, (i, case, exc)
            assert re.search(r"states no|has no .* version|no form", msg), (i, case, exc)
            GAPS.setdefault(backend, set()).add(
                re.search(r"compile this graph: (\w+)", msg).group(1))
            continue
        ran += 1
    print(f"{backend}: {ran}/{_N_FUZZ[backend]} random graphs ran; ops without a form: "
          f"{sorted(GAPS.get(backend, ()))}")
    assert ran >= _N_FUZZ[backend] * 3 // 4


# --------------------------------------------------------------------------- README models


def _readme_mlp(dtype):
    X = sb.matrix("X", "n", 64, dtype=dtype)
    Y = sb.matrix("Y", "n", 10, dtype=dtype)
    W1, W2 = sb.matrix("W1", 64, 128, dtype=dtype), sb.matrix("W2", 128, 10, dtype=dtype)
    U = sb.relu(X @ W1) @ W2
    J = -sb.mean(sb.sum(Y * sb.log_softmax(U), axis=1)) + 1e-4 * (sb.sum(W1**2) + sb.sum(W2**2))
    rng = np.random.default_rng(0)
    vals = [(rng.standard_normal((64, 128)) / 6).astype(dtype),
            (rng.standard_normal((128, 10)) / 8).astype(dtype),
            rng.standard_normal((50, 64)).astype(dtype),
            np.eye(10, dtype=dtype)[rng.integers(0, 10, 50)]]
    return [W1, W2, X, Y], J, [W1, W2], vals


def test_readme_mlp_is_the_readme_s():
    code = README.read_text()
    assert "U = sb.relu(X @ W1) @ W2" in code
    assert "J = -sb.mean(sb.sum(Y * sb.log_softmax(U), axis=1)) + 1e-4 * (sb.sum(W1**2) + sb.sum(W2**2))" in code


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_readme_mlp_matches_numpy_in_its_dtype(backend, dtype):
    args, J, wrt, vals = _readme_mlp(dtype)
    tol = dict(rtol=1e-9, atol=1e-12) if dtype == "float64" else dict(rtol=2e-4, atol=1e-5)
    assert_like_numpy(args, [J, *sb.grad(J, wrt)], vals, backend, **tol)


def test_readme_mlp_matches_torch_autograd():
    args, J, wrt, vals = _readme_mlp("float64")
    w1, w2, x, y = (torch.tensor(v, requires_grad=i < 2) for i, v in enumerate(vals))
    u = torch.relu(x @ w1) @ w2
    loss = -(y * torch.log_softmax(u, 1)).sum(1).mean() + 1e-4 * ((w1**2).sum() + (w2**2).sum())
    loss.backward()
    value, (g1, g2) = sb.value_and_grad(J, wrt, args=args, backend="torch")(
        w1.detach(), w2.detach(), x, y)
    assert isinstance(value, torch.Tensor) and value.dtype == torch.float64
    assert torch.allclose(value, loss.detach(), rtol=1e-12)
    assert torch.allclose(g1, w1.grad, rtol=1e-10, atol=1e-13)
    assert torch.allclose(g2, w2.grad, rtol=1e-10, atol=1e-13)


def test_readme_mlp_matches_jax_grad():
    import jax.numpy as jnp

    args, J, wrt, vals = _readme_mlp("float64")

    def ref(w1, w2, x, y):
        u = jnp.maximum(x @ w1, 0) @ w2
        return (-jnp.mean(jnp.sum(y * jax.nn.log_softmax(u, axis=1), axis=1))
                + 1e-4 * (jnp.sum(w1**2) + jnp.sum(w2**2)))

    v_ref, g_ref = jax.value_and_grad(ref, argnums=(0, 1))(*vals)
    value, grads = sb.value_and_grad(J, wrt, args=args, backend="jax")(*vals)
    np.testing.assert_allclose(np.asarray(value), np.asarray(v_ref), rtol=1e-12)
    for g, r in zip(grads, g_ref):
        np.testing.assert_allclose(np.asarray(g), np.asarray(r), rtol=1e-9, atol=1e-13)


@pytest.mark.parametrize("backend", BACKENDS)
def test_flat_value_and_grad_for_scipy(backend):
    args, J, wrt, vals = _readme_mlp("float64")
    ref = sb.flat_value_and_grad(J, wrt, data=args[2:])
    f = sb.flat_value_and_grad(J, wrt, data=args[2:], backend=backend)
    theta = ref.pack(vals[:2])
    v0, g0 = ref(theta, *vals[2:])
    v1, g1 = f(theta, *vals[2:])
    assert isinstance(v1, float) and isinstance(g1, np.ndarray) and g1.dtype == np.float64
    assert abs(v1 - v0) < 1e-12 * abs(v0)
    np.testing.assert_allclose(g1, g0, rtol=1e-10, atol=1e-14)


def test_torch_theta_keeps_its_gradient_in_torch():
    args, J, wrt, vals = _readme_mlp("float32")
    f = sb.flat_value_and_grad(J, wrt, data=args[2:], backend="torch")
    theta = torch.tensor(f.pack(vals[:2], dtype=np.float32))
    value, g = f(theta, torch.tensor(vals[2]), torch.tensor(vals[3]))
    assert isinstance(g, torch.Tensor) and g.dtype == torch.float32 and g.shape == (f.size,)


# --------------------------------------------------------------------------- contract


def test_float32_stays_float32_and_python_numbers_are_weak():
    x = sb.vector("x", 4, dtype="float32")
    y = sb.sum(sb.exp(2.5 * x) + x**2 / 3.0)
    for backend in BACKENDS:
        value, (g,) = sb.value_and_grad(y, [x], backend=backend)(np.arange(4.0))
        assert str(to_np(value).dtype) == "float32" and str(to_np(g).dtype) == "float32"


def test_outputs_are_fresh_arrays_not_the_arguments():
    x = sb.vector("x", 3)
    f = sb.lambdify([x], [x, sb.broadcast_to(x, (2, 3)) if hasattr(sb, "broadcast_to") else x],
                    backend="torch")
    t = torch.arange(3.0, dtype=torch.float64)
    out = f(t)
    out[0][0] = 99.0
    assert t[0] == 0.0


def test_shape_errors_name_the_argument():
    X = sb.matrix("X", "n", 3)
    y = sb.vector("y", "n")
    f = sb.lambdify([X, y], sb.sum(X @ sb.ones(3) if hasattr(sb, "ones") else X) + sb.sum(y),
                    backend="torch")
    with pytest.raises(sb.ShapeError, match=r"argument y: expected shape \(n,\) \(with n = 4\)"):
        f(np.zeros((4, 3)), np.zeros(5))
    with pytest.raises(sb.SymbackError, match="takes 2 argument"):
        f(np.zeros((4, 3)))


def _error(f, *a, **k):
    with pytest.raises(sb.SymbackError) as e:
        f(*a, **k)
    return type(e.value), str(e.value)


@pytest.mark.parametrize("backend", BACKENDS)
def test_by_name_and_dict_calls_as_the_numpy_backend(backend):
    X, w = sb.matrix("X", "n", 3), sb.vector("w", 3)
    loss = sb.sum(sb.tanh(X @ w))
    Xn, wn = np.arange(6.0).reshape(2, 3) / 6, np.array([0.5, -1.0, 2.0])
    ref = sb.value_and_grad(loss, [w], args=[X, w])
    f = sb.value_and_grad(loss, [w], args=[X, w], backend=backend)
    want = ref(Xn, wn)
    for got in (f(X=Xn, w=wn), f(w=wn, X=Xn), f({"X": Xn, "w": wn})):
        np.testing.assert_allclose(to_np(got[0]), want[0], rtol=1e-12)
        np.testing.assert_allclose(to_np(got[1][0]), want[1][0], rtol=1e-12)
    for bad_a, bad_k in [((Xn,), {"w": wn}), ((), {"X": Xn}), ((), {"X": Xn, "w": wn, "v": 1}),
                         (({"X": Xn},), {}), ((Xn, wn, wn), {})]:
        assert _error(f, *bad_a, **bad_k) == _error(ref, *bad_a, **bad_k)
    # one argument: a dict is its value unless its keys are exactly the argument's name
    x = sb.vector("x", 2)
    g = sb.lambdify([x], sb.sum(x), backend=backend)
    assert float(to_np(g({"x": np.ones(2)}))) == 2.0


@pytest.mark.parametrize("backend", BACKENDS)
def test_checks_still_run_after_a_call_with_the_same_arrays(backend):
    """A signature seen and checked once skips the conversions; anything else is checked."""
    X, y = sb.matrix("X", "n", 3), sb.vector("y", "n")
    f = sb.lambdify([X, y], sb.sum(X, axis=1) * y, backend=backend)
    lib = (lambda a: torch.tensor(a)) if backend == "torch" else jax.numpy.asarray
    a, b = lib(np.ones((4, 3))), lib(np.arange(4.0))
    for _ in range(2):  # the second call takes the checked path
        np.testing.assert_allclose(to_np(f(a, b)), 3 * np.arange(4.0))
    with pytest.raises(sb.ShapeError, match=r"argument y: expected shape \(n,\) \(with n = 4\)"):
        f(a, lib(np.arange(5.0)))
    out = f(lib(np.ones((4, 3), np.float32)), b)  # cast to the declared float64
    assert str(to_np(out).dtype) == "float64"
    with pytest.raises(sb.SymbackError, match="takes 2 argument"):
        f(a)


def test_an_op_without_a_form_is_a_compile_time_error_naming_op_and_backend():
    fake = Op("fake_fft", 1, lambda shapes: shapes[0], numpy="np.fft.fft({0})",
              vjp=lambda g, out, a: (g,))
    x = sb.vector("x", 3)
    y = sb.sum(fake(x))
    for backend in BACKENDS:
        with pytest.raises(sb.SymbackError, match=rf"{backend}.*fake_fft.*np\.fft\.fft"):
            sb.lambdify([x], y, backend=backend)
    assert float(sb.lambdify([x], sb.sum(x))(np.ones(3))) == 3.0


def test_a_form_that_names_a_missing_function_is_an_error():
    fake = Op("fake_form", 1, lambda shapes: shapes[0], numpy="np.exp({0})",
              forms={"torch": "torch.no_such_function({0})"})
    x = sb.vector("x", 2)
    with pytest.raises(sb.SymbackError, match=r"fake_form: torch\.no_such_function does not exist"):
        sb.lambdify([x], fake(x), backend="torch")


@pytest.mark.parametrize("backend", BACKENDS)
def test_negative_steps_and_their_adjoint(backend):
    """torch has no negative-step slices: its form flips the axis and slices forwards."""
    x = sb.matrix("x", 4, 5)
    y = x[::-1, 3:0:-2]
    g = sb.grad(sb.sum(y * sb.const(np.arange(8.0).reshape(4, 2))), x)
    v = np.arange(20.0).reshape(4, 5)
    got_y, got_g = (to_np(r) for r in sb.lambdify([x], [y, g], backend=backend)(v))
    np.testing.assert_array_equal(got_y, v[::-1, 3:0:-2])
    want = np.zeros((4, 5))
    want[::-1, 3:0:-2] = np.arange(8.0).reshape(4, 2)
    np.testing.assert_array_equal(got_g, want)


def test_jax_float64_without_x64_is_refused():
    x = sb.vector("x", 2)
    jax.config.update("jax_enable_x64", False)
    try:
        with pytest.raises(sb.SymbackError, match="jax_enable_x64"):
            sb.lambdify([x], sb.sum(x), backend="jax")
        x32 = sb.vector("x", 2, dtype="float32")
        assert float(sb.lambdify([x32], sb.sum(x32), backend="jax")(np.ones(2))) == 2.0
    finally:
        jax.config.update("jax_enable_x64", True)


def test_unknown_backend_and_options():
    x = sb.vector("x", 2)
    with pytest.raises(sb.SymbackError, match="unknown backend 'tensorflow'.*torch"):
        sb.lambdify([x], x, backend="tensorflow")
    with pytest.raises(sb.SymbackError, match="compile=True is for backend 'torch'"):
        sb.lambdify([x], x, backend="jax", compile=True)
    with pytest.raises(sb.SymbackError, match="unexpected keyword"):
        sb.lambdify([x], x, compile=True)


def test_torch_compile_option():
    x = sb.vector("x", 3)
    y = sb.sum(sb.tanh(x) ** 2)
    f = sb.value_and_grad(y, [x], backend="torch", compile={"backend": "eager"})
    value, (g,) = f(torch.tensor([0.1, 0.2, 0.3], dtype=torch.float64))
    t = np.tanh([0.1, 0.2, 0.3])
    np.testing.assert_allclose(float(value), np.sum(t**2), rtol=1e-14)
    np.testing.assert_allclose(to_np(g), 2 * t * (1 - t**2), rtol=1e-14)


def test_jax_output_is_jitted():
    x = sb.vector("x", 3)
    f = sb.lambdify([x], sb.sum(x**3), backend="jax")
    f(np.ones(3))
    fn = next(iter(f._fns.values()))
    assert hasattr(fn, "lower")  # a jax.jit-wrapped function


# --------------------------------------------------------------------------- GPU


@gpu
@pytest.mark.skipif(not _has_cuda(), reason="no CUDA device (GPU test)")
def test_torch_cuda_tensors_stay_on_cuda():
    args, J, wrt, vals = _readme_mlp("float32")
    dev = torch.device("cuda")
    value, grads = sb.value_and_grad(J, wrt, args=args, backend="torch")(
        *(torch.tensor(v, device=dev) for v in vals))
    assert value.device.type == "cuda" and all(g.device.type == "cuda" for g in grads)
    ref = sb.value_and_grad(J, wrt, args=args)(*vals)
    np.testing.assert_allclose(value.cpu().numpy(), ref[0], rtol=1e-4)


@gpu
@pytest.mark.skipif(not _has_cupy(), reason="no CuPy with a GPU (GPU test)")
@pytest.mark.parametrize("case", _seed_cases(), ids=lambda c: c[0])
def test_cupy_seed_examples_match_numpy(case):
    import cupy

    _, args, loss, wrt, values = case
    exprs = [loss, *sb.grad(loss, wrt)]
    want = sb.lambdify(args, exprs)(*values)
    got = sb.lambdify(args, exprs, backend="cupy")(*values)
    for g, w in zip(got, want):
        assert isinstance(g, cupy.ndarray)
        np.testing.assert_allclose(cupy.asnumpy(g), w, rtol=1e-10, atol=1e-12)


# --------------------------------------------------------------------------- README


@pytest.mark.parametrize("title", ["Backends", "Data beyond one machine"])
def test_readme_sections_run_and_print_what_they_say(title, capsys):
    pytest.importorskip("dask.array")
    text = README.read_text(encoding="utf-8")
    m = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## )", text, flags=re.DOTALL | re.MULTILINE)
    assert m, title
    blocks = re.findall(r"```python\n(.*?)```", m.group(1), flags=re.DOTALL)
    assert blocks
    for code in blocks:
        exec(compile(code, f"README.md ({title})", "exec"), {})  # noqa: S102 - our README
        printed = capsys.readouterr().out.splitlines()
        for line in code.splitlines():
            mm = re.match(r"print\((.*)\)\s+# (.*)$", line)
            if mm and "generated" not in mm.group(2):
                assert mm.group(2).strip() in printed, (mm.group(2), printed)
