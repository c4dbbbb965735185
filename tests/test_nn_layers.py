"""sb.nn layers built as compositions: values and gradients against PyTorch (float64, 1e-10)
and against central differences of NumPy references where PyTorch is absent."""

from __future__ import annotations

import math

import numpy as np
import pytest
from gradcheck import assert_close, numeric_grad

import symback as sb


def _check(build, ref, values, *, differentiable=None, rtol=1e-6, atol=1e-8):
    """symback's value and gradient of Σ u ⊙ f against a NumPy reference and its differences."""
    rng = np.random.default_rng(0)
    syms = [sb.tensor(f"a{i}", np.shape(v)) for i, v in enumerate(values)]
    y = build(*syms)
    want = ref(*values)
    got = sb.lambdify(syms, y)(*values)
    assert_close(got, want, 1e-12, 1e-12, "value")
    u = rng.normal(size=np.shape(want))
    idx = range(len(values)) if differentiable is None else differentiable
    grads = sb.lambdify(syms, sb.grad(sb.sum(y * u), [syms[i] for i in idx]))(*values)
    for g, i in zip(grads, idx):
        fd = numeric_grad(lambda *a: float(np.sum(ref(*a) * u)), values, i)
        assert_close(g, fd, rtol, atol, f"d/d(arg {i})")


def _ln_ref(x, w, b, eps=1e-5):
    mu = x.mean(-1, keepdims=True)
    var = ((x - mu) ** 2).mean(-1, keepdims=True)
    return (x - mu) / np.sqrt(var + eps) * w + b


def test_layer_norm_value_and_gradient():
    rng = np.random.default_rng(1)
    x, w, b = rng.normal(size=(3, 4, 5)), rng.normal(size=5), rng.normal(size=5)
    _check(lambda x, w, b: sb.nn.layer_norm(x, 5, w, b), _ln_ref, [x, w, b])


def test_layer_norm_input_gradient_is_the_textbook_formula():
    """∂/∂x = (ĝ − mean ĝ − x̂ mean(ĝ ⊙ x̂)) / σ with ĝ = ȳ ⊙ γ (hand-derived)."""
    rng = np.random.default_rng(2)
    xv, wv, uv = rng.normal(size=(4, 6)), rng.normal(size=6), rng.normal(size=(4, 6))
    x, w = sb.matrix("x", 4, 6), sb.vector("w", 6)
    g = sb.lambdify([x, w], sb.grad(sb.sum(sb.nn.layer_norm(x, 6, w) * uv), x))(xv, wv)
    mu = xv.mean(1, keepdims=True)
    sd = np.sqrt(((xv - mu) ** 2).mean(1, keepdims=True) + 1e-5)
    xh = (xv - mu) / sd
    gh = uv * wv
    want = (gh - gh.mean(1, keepdims=True) - xh * (gh * xh).mean(1, keepdims=True)) / sd
    assert_close(g, want, 1e-10, 1e-12, "layer_norm input gradient")


def test_layer_norm_op_crosscheck_first_second_forward_and_float32():
    """The fused op over one and over two trailing axes: gradient, Hessian-vector product and
    forward mode against central differences and autograd (tests/crosscheck.py)."""
    from crosscheck import crosscheck

    anp = pytest.importorskip("autograd.numpy")

    def ref(k, eps):
        def f(x, w, b):
            axes = tuple(range(-k, 0))
            mu = anp.mean(x, axis=axes, keepdims=True)
            var = anp.mean((x - mu) ** 2, axis=axes, keepdims=True)
            return (x - mu) / anp.sqrt(var + eps) * w + b
        return f

    rng = np.random.default_rng(4)
    x, w, b = rng.normal(size=(3, 5)), 1 + 0.1 * rng.normal(size=5), rng.normal(size=5)
    crosscheck(lambda x, w, b: sb.nn.layer_norm(x, 5, w, b), ref(1, 1e-5), [x, w, b],
               what="layer_norm")
    x, w, b = rng.normal(size=(2, 3, 4)), rng.normal(size=(3, 4)), rng.normal(size=(3, 4))
    crosscheck(lambda x, w, b: sb.nn.layer_norm(x, (3, 4), w, b, eps=0.1), ref(2, 0.1),
               [x, w, b], what="layer_norm over two axes")


def test_layer_norm_jacobian_is_the_textbook_matrix():
    """Forward mode with batched tangents: ∂x̂/∂x = (I − 11ᵀ/m − x̂ x̂ᵀ/m) / σ per row."""
    rng = np.random.default_rng(5)
    xv = rng.normal(size=(2, 4))
    x = sb.matrix("x", 2, 4)
    jac = sb.lambdify([x], sb.jacobian(sb.nn.layer_norm(x, 4), x))(xv)
    sd = np.sqrt(xv.var(1) + 1e-5)
    xh = (xv - xv.mean(1, keepdims=True)) / sd[:, None]
    for i in range(2):
        want = (np.eye(4) - 1 / 4 - np.outer(xh[i], xh[i]) / 4) / sd[i]
        assert_close(jac[i, :, i, :], want, 1e-10, 1e-12, f"row {i}")
        other = jac[i, :, 1 - i, :]
        assert np.all(other == 0), "rows do not mix"


def test_layer_norm_prints_parses_and_names_its_errors():
    x = sb.tensor("x", ("n", 3, "m"))
    for e in (sb.nn.layer_norm(x, "m"), sb.nn.layer_norm(x, (3, "m"), eps=0.25)):
        for text in (sb.to_text(e, exact=True), str(e)):
            assert sb.parse(text, {"x": ("n", 3, "m")}) is e, text
    assert sb.to_text(sb.nn.layer_norm(x, (3, "m"), eps=0.25)) == \
        "nn.layer_norm(x, (3, m), eps=0.25)"
    assert sb.latex(sb.nn.layer_norm(x, "m")) == r"\operatorname{LN}(x)"
    with pytest.raises(sb.ShapeError, match=r"normalized_shape \(3,\).*trailing.*\(n, 3, m\)"):
        sb.nn.layer_norm(x, 3)
    with pytest.raises(sb.SymbackError, match="layer_norm: eps must be a finite number"):
        sb.nn.layer_norm(x, "m", eps=-1.0)
    with pytest.raises(sb.ShapeError, match="trailing axes"):
        from symback.ops.layernorm import layer_norm_op

        layer_norm_op(x, axis=(0,), eps=1e-5)


def test_layer_norm_of_empty_rows_and_integer_input():
    x = sb.matrix("x", 3, 0)
    assert sb.lambdify([x], sb.nn.layer_norm(x, 0))(np.zeros((3, 0))).shape == (3, 0)
    k = sb.matrix("k", 2, 4, dtype="int64")
    got = sb.lambdify([k], sb.nn.layer_norm(k, 4))(np.arange(8).reshape(2, 4))
    row = np.arange(4.0)
    want = (row - row.mean()) / np.sqrt(row.var() + 1e-5)
    assert got.dtype == np.float64
    assert_close(got, np.stack([want, want]), 1e-12, 1e-12, "int rows")


def test_layer_norm_of_integer_input_on_torch_is_float64():
    """The op's dtype rule makes an int input's layer norm float64; PyTorch's own layer_norm
    has no integer kernel, so the torch form must convert first (it raised
    NotImplementedError "LayerNormKernelImpl" not implemented for 'Long')."""
    torch = pytest.importorskip("torch")
    k = sb.matrix("k", 2, 4, dtype="int64")
    f = sb.lambdify([k], sb.nn.layer_norm(k, 4), backend="torch")
    got = f(torch.arange(8).reshape(2, 4))
    assert got.dtype == torch.float64
    row = np.arange(4.0)
    want = (row - row.mean()) / np.sqrt(row.var() + 1e-5)
    assert_close(got.numpy(), np.stack([want, want]), 1e-12, 1e-12, "int rows on torch")


def test_layer_norm_takes_numpy_numbers_and_names_a_bad_normalized_shape():
    """normalized_shape as a NumPy int and eps as a NumPy float work as Python ones do (they
    used to raise TypeError "'numpy.int64' object is not iterable" and a SymbackError
    rejecting np.float32(1e-5)); a normalized_shape that is no size raises a ShapeError
    naming it, not a TypeError from tuple()."""
    x = sb.matrix("x", 3, 4)
    want = sb.nn.layer_norm(x, 4, eps=0.5)
    assert sb.nn.layer_norm(x, np.int64(4), eps=np.float32(0.5)) is want
    assert sb.nn.layer_norm(x, (np.int64(4),), eps=np.float64(0.5)) is want
    xv = np.arange(12.0).reshape(3, 4) ** 2
    got = sb.lambdify([x], sb.nn.layer_norm(x, 4, eps=np.float32(1e-5)))(xv)
    mu = xv.mean(1, keepdims=True)
    assert_close(got, (xv - mu) / np.sqrt(xv.var(1, keepdims=True) + float(np.float32(1e-5))),
                 1e-12, 1e-12, "eps as np.float32")
    for bad in (4.0, None, "q"):
        with pytest.raises(sb.ShapeError, match=r"layer_norm: normalized_shape"):
            sb.nn.layer_norm(x, bad)
    with pytest.raises(sb.SymbackError, match=r"layer_norm: eps must be a finite number"):
        sb.nn.layer_norm(x, 4, eps=np.float64("nan"))
    with pytest.raises(sb.SymbackError, match=r"layer_norm: eps must be a finite number"):
        sb.nn.layer_norm(x, 4, eps=True)


def test_batch_norm_training_statistics():
    rng = np.random.default_rng(3)
    x, w, b = rng.normal(size=(4, 3, 2, 2)), rng.normal(size=3), rng.normal(size=3)

    def ref(x, w, b):
        mu = x.mean((0, 2, 3), keepdims=True)
        var = ((x - mu) ** 2).mean((0, 2, 3), keepdims=True)
        return (x - mu) / np.sqrt(var + 1e-5) * w[:, None, None] + b[:, None, None]

    _check(lambda x, w, b: sb.nn.batch_norm(x, w, b), ref, [x, w, b])


@pytest.mark.parametrize("name,build,ref", [
    ("silu", sb.nn.silu, lambda x: x / (1 + np.exp(-x))),
    ("leaky_relu", lambda x: sb.nn.leaky_relu(x, 0.1), lambda x: np.where(x > 0, x, 0.1 * x)),
    ("elu", lambda x: sb.nn.elu(x, 1.5), lambda x: np.where(x > 0, x, 1.5 * np.expm1(x))),
    ("gelu_tanh", lambda x: sb.nn.gelu(x, approximate="tanh"),
     lambda x: 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3)))),
])
def test_activations(name, build, ref):
    rng = np.random.default_rng(4)
    x = rng.uniform(0.1, 2.0, size=(3, 4)) * rng.choice([-1.0, 1.0], size=(3, 4))
    _check(build, ref, [x])


def test_elu_does_not_overflow_far_out():
    x = sb.vector("x", 2)
    with np.errstate(over="raise", invalid="raise"):
        v, (g,) = sb.value_and_grad(sb.sum(sb.nn.elu(x)), [x])(np.array([1000.0, -1000.0]))
    assert float(v) == 999.0 and g.tolist() == [1.0, 0.0]


def test_gelu_exact_form():
    from math import erf

    rng = np.random.default_rng(5)
    x = rng.normal(size=(5,))
    _check(sb.nn.gelu, lambda x: 0.5 * x * (1 + np.vectorize(erf)(x / math.sqrt(2))), [x])


def test_dropout_and_linear():
    rng = np.random.default_rng(6)
    x, m = rng.normal(size=(3, 4)), (rng.random((3, 4)) > 0.5).astype(float)
    _check(lambda x, m: sb.nn.dropout(x, m, 0.25), lambda x, m: x * m / 0.75, [x, m],
           differentiable=[0])
    w, b = rng.normal(size=(2, 4)), rng.normal(size=2)
    _check(sb.nn.linear, lambda x, w, b: x @ w.T + b, [x, w, b])


def test_embedding_and_cross_entropy():
    rng = np.random.default_rng(7)
    ids = np.array([[0, 3, 2], [1, 1, 4]])
    wv = rng.normal(size=(5, 3))
    w = sb.matrix("w", 5, 3)
    e = sb.nn.embedding(sb.const(ids), w)
    assert e.shape == (2, 3, 3)
    u = rng.normal(size=(2, 3, 3))
    g = sb.lambdify([w], sb.grad(sb.sum(e * u), w))(wv)
    want = np.zeros_like(wv)
    np.add.at(want, ids, u)
    assert_close(g, want, 1e-12, 1e-12, "embedding gradient (scatter-add)")
    logits = rng.normal(size=(4, 5))
    labels = np.array([1, 0, 4, 4])
    z = sb.matrix("z", 4, 5)
    lab = sb.tensor("labels", (4,), dtype="int64")
    loss = sb.nn.cross_entropy(z, lab)
    v, (gz,) = sb.value_and_grad(loss, [z], args=[z, lab])(logits, labels)
    p = np.exp(logits - logits.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    assert abs(float(v) + np.mean(np.log(p[np.arange(4), labels]))) < 1e-12
    assert_close(gz, (p - np.eye(5)[labels]) / 4, 1e-10, 1e-12, "(softmax - onehot) / N")


def test_attention_matches_pytorch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(8)
    q, k, v = (rng.normal(size=(2, 3, 4, 8)) for _ in range(3))
    Q, K, V = (sb.tensor(n, (2, 3, 4, 8)) for n in "QKV")
    for causal in (False, True):
        out = sb.nn.scaled_dot_product_attention(Q, K, V, is_causal=causal)
        u = rng.normal(size=(2, 3, 4, 8))
        f = sb.value_and_grad(sb.sum(out * u), [Q, K, V], args=[Q, K, V])
        val, grads = f(q, k, v)
        tq, tk, tv = (torch.tensor(a, requires_grad=True) for a in (q, k, v))
        to = torch.nn.functional.scaled_dot_product_attention(tq, tk, tv, is_causal=causal)
        tl = (to * torch.tensor(u)).sum()
        tl.backward()
        assert abs(float(val) - tl.item()) < 1e-10 * max(1, abs(tl.item()))
        for gs, t in zip(grads, (tq, tk, tv)):
            assert_close(gs, t.grad.numpy(), 1e-9, 1e-10, f"attention gradient causal={causal}")


def test_layers_match_pytorch():
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    rng = np.random.default_rng(9)
    x, w, b = rng.normal(size=(3, 4, 6)), rng.normal(size=6), rng.normal(size=6)
    X, W, B = sb.tensor("X", x.shape), sb.vector("W", 6), sb.vector("B", 6)
    u = rng.normal(size=x.shape)
    cases = [
        (sb.nn.layer_norm(X, 6, W, B), lambda t, tw, tb: F.layer_norm(t, (6,), tw, tb)),
        (sb.nn.silu(X) * W, lambda t, tw, tb: F.silu(t) * tw),
        (sb.nn.gelu(X, "tanh") + B, lambda t, tw, tb: F.gelu(t, approximate="tanh") + tb),
        (sb.nn.elu(X) * W, lambda t, tw, tb: F.elu(t) * tw),
        (sb.nn.leaky_relu(X, 0.2) + B, lambda t, tw, tb: F.leaky_relu(t, 0.2) + tb),
    ]
    for y, tf in cases:
        val, grads = sb.value_and_grad(sb.sum(y * u), [X, W, B], args=[X, W, B])(x, w, b)
        tx, tw, tb = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
        tl = (tf(tx, tw, tb) * torch.tensor(u)).sum()
        tl.backward()
        assert abs(float(val) - tl.item()) < 1e-10 * max(1, abs(tl.item()))
        for g, t in zip(grads, (tx, tw, tb)):
            want = t.grad.numpy() if t.grad is not None else np.zeros(t.shape)
            assert_close(g, want, 1e-10, 1e-10, "vs PyTorch")
