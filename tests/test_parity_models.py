"""The issue-13 models against PyTorch (float64): loss and every gradient to 1e-10.

* The CNN of ``examples/cnn_digits.py`` (conv → ReLU → max pool, twice, then linear;
  cross-entropy + λ Σ weights²), built by the example's own ``build_cnn``, against the same
  network written with ``torch.nn.functional`` and ``loss.backward()``; and a Hessian-vector
  product through both convolutions and poolings against PyTorch's double backward.
* One pre-norm transformer block of ``examples/char_transformer.py`` (layer norm, causal
  multi-head attention, GELU MLP), built with ``sb.nn`` and ``torch.nn.functional``: loss and
  every one of its ten parameters' gradients (skipped, naming the op, only in a checkout that
  lacks batched matmul, ``swapaxes`` or ``special.erf``).

Skipped without PyTorch (``pip install torch==2.13.0``).
"""

from __future__ import annotations

import math
import os
import sys

import numpy as np
import pytest

import symback as sb

torch = pytest.importorskip("torch")
F = torch.nn.functional

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                "examples"))
from cnn_digits import build_cnn

LAM = 1e-3
TOL = 1e-10


def assert_rel(got, want, what: str) -> None:
    got = np.asarray(got, dtype=np.float64)
    want = want.detach().numpy() if hasattr(want, "detach") else np.asarray(want)
    assert got.shape == want.shape, f"{what}: shape {got.shape} != {want.shape}"
    scale = max(1.0, float(np.max(np.abs(want))))
    err = float(np.max(np.abs(got - want))) / scale
    assert err <= TOL, f"{what}: relative error {err:.2e} > {TOL:g}"


def cnn_values(rng: np.random.Generator, n: int):
    shapes = [(16, 1, 3, 3), (16,), (32, 16, 3, 3), (32,), (128, 10), (10,)]
    params = [rng.standard_normal(s) * (0.3 if len(s) > 1 else 0.1) for s in shapes]
    x = rng.random((n, 1, 8, 8))
    labels = rng.integers(0, 10, n)
    return params, x, labels


def torch_cnn_loss(K1, b1, K2, b2, W3, b3, x, labels):
    h = F.max_pool2d(F.relu(F.conv2d(x, K1, b1, padding="same")), 2)
    h = F.max_pool2d(F.relu(F.conv2d(h, K2, b2, padding="same")), 2)
    u = h.flatten(1) @ W3 + b3
    return F.cross_entropy(u, labels) + LAM * ((K1 ** 2).sum() + (K2 ** 2).sum()
                                               + (W3 ** 2).sum())


@pytest.mark.parametrize("n", [1, 37, 200])
def test_cnn_loss_and_every_gradient_match_pytorch(n):
    J, _, params, (X, Y) = build_cnn(LAM, "float64")
    step = sb.value_and_grad(J, params, args=params + [X, Y])
    rng = np.random.default_rng(n)
    vals, x, labels = cnn_values(rng, n)
    value, grads = step(*vals, x, np.eye(10)[labels])
    tp = [torch.tensor(v, requires_grad=True) for v in vals]
    loss = torch_cnn_loss(*tp, torch.tensor(x), torch.tensor(labels))
    loss.backward()
    assert abs(float(value) - loss.item()) <= TOL * max(1.0, abs(loss.item()))
    for p, g, t in zip(params, grads, tp):
        assert_rel(g, t.grad, f"∂J/∂{p.name}")


def test_cnn_hessian_vector_product_matches_pytorch_double_backward():
    # H v with respect to K2 (the second convolution's kernel): second derivatives through
    # conv, conv_dx, conv_dw, both poolings and the softmax
    J, _, params, (X, Y) = build_cnn(LAM, "float64")
    rng = np.random.default_rng(7)
    vals, x, labels = cnn_values(rng, 24)
    v = rng.standard_normal((32, 16, 3, 3))
    hv_fn = sb.lambdify(params + [X, Y], sb.hvp(J, params[2], sb.const(v)))
    got = hv_fn(*vals, x, np.eye(10)[labels])
    tp = [torch.tensor(a, requires_grad=True) for a in vals]
    loss = torch_cnn_loss(*tp, torch.tensor(x), torch.tensor(labels))
    (g,) = torch.autograd.grad(loss, tp[2], create_graph=True)
    (want,) = torch.autograd.grad((g * torch.tensor(v)).sum(), tp[2])
    assert_rel(got, want, "H v for K2")


# --------------------------------------------------------------------------- transformer block


def missing_block_ops() -> str | None:
    """The op this checkout lacks for the transformer block, or None."""
    if not hasattr(sb, "swapaxes"):
        return "sb.swapaxes"
    special = getattr(sb, "special", None)
    if special is None or not hasattr(special, "erf"):
        return "sb.special.erf"
    try:
        sb.tensor("a", (2, 3, 4)) @ sb.matrix("b", 4, 5)
        sb.tensor("a", (2, 2, 3, 4)) @ sb.tensor("c", (2, 2, 4, 3))
    except sb.ShapeError:
        return "batched matmul"
    return None


B, L, D, HEADS = 3, 8, 16, 4


def torch_block_loss(wq, wk, wv, wo, w1, w2, g1, b1, g2, b2, h, C):
    a = F.layer_norm(h, (D,), g1, b1)

    def heads(t):
        return t.reshape(B, L, HEADS, D // HEADS).transpose(1, 2)
    o = F.scaled_dot_product_attention(heads(a @ wq), heads(a @ wk), heads(a @ wv),
                                       is_causal=True)
    h1 = h + o.transpose(1, 2).reshape(B, L, D) @ wo
    m = F.layer_norm(h1, (D,), g2, b2)
    out = h1 + F.gelu(m @ w1) @ w2
    return (out * C).sum() / (B * L)


def test_transformer_block_loss_and_every_gradient_match_pytorch():
    missing = missing_block_ops()
    if missing:
        pytest.skip(f"the transformer block needs {missing}, not in this checkout yet")
    h = sb.tensor("h", (B, L, D))
    C = sb.tensor("C", (B, L, D))
    wq, wk, wv, wo = (sb.matrix(n, D, D) for n in ("Q", "K", "V", "O"))
    w1, w2 = sb.matrix("A", D, 4 * D), sb.matrix("B", 4 * D, D)
    g1, b1, g2, b2 = (sb.vector(n, D) for n in ("gamma_a", "beta_a", "gamma_m", "beta_m"))
    a = sb.nn.layer_norm(h, D, g1, b1)
    h1 = h + sb.nn.multi_head_attention(a, wq, wk, wv, wo, HEADS, is_causal=True)
    m = sb.nn.layer_norm(h1, D, g2, b2)
    J = sb.sum((h1 + sb.nn.gelu(m @ w1) @ w2) * C) * (1.0 / (B * L))
    params = [wq, wk, wv, wo, w1, w2, g1, b1, g2, b2]
    step = sb.value_and_grad(J, params, args=params + [h, C])
    rng = np.random.default_rng(11)
    vals = [rng.standard_normal(p.shape) / math.sqrt(p.shape[0]) for p in params[:6]]
    vals += [1 + 0.1 * rng.standard_normal(D), 0.1 * rng.standard_normal(D),
             1 + 0.1 * rng.standard_normal(D), 0.1 * rng.standard_normal(D)]
    hv, cv = rng.standard_normal((B, L, D)), rng.standard_normal((B, L, D))
    value, grads = step(*vals, hv, cv)
    tp = [torch.tensor(v, requires_grad=True) for v in vals]
    loss = torch_block_loss(*tp, torch.tensor(hv), torch.tensor(cv))
    loss.backward()
    assert abs(float(value) - loss.item()) <= TOL * max(1.0, abs(loss.item()))
    for p, g, t in zip(params, grads, tp):
        assert_rel(g, t.grad, f"∂J/∂{p.name}")
