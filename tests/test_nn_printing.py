"""Issue 13, printing: the gradients of attention, layer norm and convolution read as in the
literature, and ``explain`` of one transformer block stays readable.

Each printed formula has a golden file (tests/golden/nn/; ``pytest --update-golden`` rewrites
them) and the same expressions, built at concrete sizes, are checked against central finite
differences of the loss and against the textbook formula written in NumPy:

* attention, P = softmax(QKᵀ/√d): dV = Pᵀ G, dP = G Vᵀ, dS = P ⊙ (dP − rowsum(dP ⊙ P)),
  dQ = dS K/√d, dK = dSᵀ Q/√d;
* layer norm: dx = (ĝ − mean ĝ − x̂ ⊙ mean(ĝ ⊙ x̂)) / σ with ĝ = G ⊙ γ, x̂ = (x − μ)/σ;
* convolution: dW = conv(X, G) (the input correlated with the output gradient),
  dX = conv(G, rot180(W)) (the padded output gradient convolved with the flipped kernel).
"""

from __future__ import annotations

import os
import sys

import numpy as np
import pytest

import symback as sb

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def fd_grad(f, args, i, h=1e-6):
    """Central differences of the scalar f with respect to args[i]."""
    x = args[i]
    out = np.zeros_like(x)
    for idx in np.ndindex(x.shape):
        a = [v.copy() for v in args]
        a[i][idx] += h
        up = f(*a)
        a[i][idx] -= 2 * h
        out[idx] = (up - f(*a)) / (2 * h)
    return out


def close(got, want, tol=1e-6):
    got, want = np.asarray(got), np.asarray(want)
    assert got.shape == want.shape
    err = np.max(np.abs(got - want)) / max(1.0, np.max(np.abs(want)))
    assert err < tol, err


# --------------------------------------------------------------------------- attention


def attention(n, d, dv):
    Q, K = sb.matrix("Q", n, d), sb.matrix("K", n, d)
    V, G = sb.matrix("V", n, dv), sb.matrix("G", n, dv)
    J = sb.sum(sb.nn.scaled_dot_product_attention(Q, K, V) * G)
    # the textbook intermediates, written as a reader would
    from symback.ops.structural import count_of

    P = sb.softmax((Q @ K.T) / sb.sqrt(count_of((d,))), axis=-1) if isinstance(d, str) \
        else sb.softmax((Q @ K.T) * (1.0 / np.sqrt(d)), axis=-1)
    dP = G @ V.T
    dS = P * (dP - sb.sum(dP * P, axis=-1, keepdims=True))
    return J, (Q, K, V, G), {P: "P", dP: "dP", dS: "dS"}


@pytest.mark.parametrize("which", ["Q", "K", "V"])
def test_attention_gradient_prints_as_in_the_literature(which, golden):
    J, (Q, K, V, _G), names = attention("n", "d", "d_v")
    g = sb.grad(J, {"Q": Q, "K": K, "V": V}[which])
    text = sb.latex(g, names=names)
    golden(f"nn/attention_d{which}.tex", text)
    want = {"Q": r"\frac{1}{\sqrt{d}} \mathit{dS} K", "K": r"\frac{1}{\sqrt{d}} \mathit{dS}^{T} Q",
            "V": "P^{T} G"}[which]
    assert text.splitlines()[1] == f"& {want} \\\\"
    if which != "V":
        assert r"\mathit{dS} = P \odot (\mathit{dP} - (\mathit{dP} \odot P) \mathbf{1})" in text


def test_attention_gradients_match_the_textbook_and_finite_differences():
    n, d, dv = 5, 3, 4
    J, (Q, K, V, G), _ = attention(n, d, dv)
    fn = sb.lambdify([Q, K, V, G], [J] + sb.grad(J, [Q, K, V]))
    rng = np.random.default_rng(0)
    q, k, v, g = (rng.standard_normal(s) for s in [(n, d), (n, d), (n, dv), (n, dv)])
    _loss, dq, dk, dvv = fn(q, k, v, g)
    s = q @ k.T / np.sqrt(d)
    p = np.exp(s - s.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    dp = g @ v.T
    ds = p * (dp - (dp * p).sum(1, keepdims=True))
    close(dvv, p.T @ g, 1e-12)
    close(dq, ds @ k / np.sqrt(d), 1e-12)
    close(dk, ds.T @ q / np.sqrt(d), 1e-12)
    f = sb.lambdify([Q, K, V, G], J)
    for i, got in enumerate([dq, dk, dvv]):
        close(got, fd_grad(f, [q, k, v, g], i))


# --------------------------------------------------------------------------- layer norm


def layer_norm_case(n, m):
    x, G = sb.matrix("x", n, m), sb.matrix("G", n, m)
    gamma, beta = sb.vector("gamma", m), sb.vector("beta", m)
    J = sb.sum(sb.nn.layer_norm(x, m, gamma, beta) * G)
    # the textbook's intermediates, as a reader writes them: σ = √(Var[x] + ε) (biased
    # variance, row-wise), x̂ = (x − μ)/σ (the normalised input), ĝ = G ⊙ γ
    sigma = sb.sqrt(sb.var(x, axis=-1, keepdims=True) + 1e-5)
    x_hat = sb.nn.layer_norm(x, m)
    names = {G * gamma: "g_hat", x_hat: "x_hat", sigma: "sigma"}
    return J, (x, G, gamma, beta), names


def test_layer_norm_input_gradient_prints_with_named_statistics(golden):
    J, (x, *_), names = layer_norm_case("n", "m")
    text = sb.latex(sb.grad(J, x), names=names)
    golden("nn/layer_norm_dx.tex", text)
    # the textbook (ĝ − mean ĝ − x̂ ⊙ mean(ĝ ⊙ x̂)) / σ, row means over the normalised axis,
    # with the names given over the user's own nodes
    mean = r"\operatorname{mean}_{\text{axis 1}}"
    assert text.splitlines()[1] == (rf"& (\hat{{g}} - {mean}(\hat{{g}}) - \hat{{x}} \odot "
                                    rf"{mean}(\hat{{g}} \odot \hat{{x}})) \oslash \sigma \\")
    for line in (r"\quad \hat{g} = G \odot \gamma", r"\quad \hat{x} = \operatorname{LN}(x)",
                 r"\quad \sigma = \sqrt{\operatorname{var}_{j} x_{ij} + 10^{-5}}"):
        assert line in text, line
    assert "T_{" not in text  # no unnamed intermediates left


def test_layer_norm_input_gradient_matches_the_textbook_and_finite_differences():
    n, m = 4, 6
    J, (x, G, gamma, beta), _ = layer_norm_case(n, m)
    fn = sb.lambdify([x, G, gamma, beta], sb.grad(J, x))
    rng = np.random.default_rng(1)
    xv, gv = rng.standard_normal((n, m)), rng.standard_normal((n, m))
    ga, be = 1 + 0.1 * rng.standard_normal(m), rng.standard_normal(m)
    got = fn(xv, gv, ga, be)
    sigma = np.sqrt(xv.var(1, keepdims=True) + 1e-5)
    xh = (xv - xv.mean(1, keepdims=True)) / sigma
    gh = gv * ga
    want = (gh - gh.mean(1, keepdims=True) - xh * (gh * xh).mean(1, keepdims=True)) / sigma
    close(got, want, 1e-10)
    close(got, fd_grad(sb.lambdify([x, G, gamma, beta], J), [xv, gv, ga, be], 0))


# --------------------------------------------------------------------------- convolution


def conv_case(n, p=1):
    X, W = sb.tensor("X", (n, 2, 5, 5)), sb.tensor("W", (3, 2, 3, 3))
    G = sb.tensor("G", (n, 3, 5, 5))
    return sb.sum(sb.nn.conv(X, W, padding=p) * G), (X, W, G)


def test_conv_gradients_print_as_conv_with_the_flipped_kernel(golden):
    J, (X, W, _G) = conv_case("N")
    dX, dW = sb.grad(J, [X, W])
    golden("nn/conv_dW.tex", sb.latex(dW))
    golden("nn/conv_dX.tex", sb.latex(dX))
    assert sb.latex(dW) == r"\operatorname{conv}(X, G)"
    assert sb.latex(dX) == r"\operatorname{conv}(G, \operatorname{rot180}(W))"


def _correlate(x, w):
    """Valid cross-correlation, loops: x (N, C, H, W), w (F, C, kh, kw) → (N, F, ., .)."""
    n, _c, h, wd = x.shape
    f, _, kh, kw = w.shape
    out = np.zeros((n, f, h - kh + 1, wd - kw + 1))
    for i in range(out.shape[2]):
        for j in range(out.shape[3]):
            out[:, :, i, j] = np.einsum("ncij,fcij->nf", x[:, :, i:i + kh, j:j + kw], w)
    return out


def test_conv_gradients_match_the_textbook_and_finite_differences():
    J, (X, W, G) = conv_case(2)
    rng = np.random.default_rng(2)
    x, w, g = (rng.standard_normal(a.shape) for a in (X, W, G))
    dx, dw = sb.lambdify([X, W, G], sb.grad(J, [X, W]))(x, w, g)
    xp = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
    # dW = conv(X, G): the padded input correlated with the output gradient, batch summed
    want_dw = _correlate(xp.transpose(1, 0, 2, 3), g.transpose(1, 0, 2, 3)).transpose(1, 0, 2, 3)
    close(dw, want_dw, 1e-12)
    # dX = conv(G, rot180(W)): G padded by k − 1 − p, kernel flipped and channels swapped
    gp = np.pad(g, ((0, 0), (0, 0), (1, 1), (1, 1)))
    close(dx, _correlate(gp, w[:, :, ::-1, ::-1].transpose(1, 0, 2, 3)), 1e-12)
    f = sb.lambdify([X, W, G], J)
    close(dw, fd_grad(f, [x, w, g], 1))
    close(dx, fd_grad(f, [x, w, g], 0))


# --------------------------------------------------------------------------- explain


def test_explain_of_one_transformer_block_is_cut_and_readable():
    sys.path.insert(0, os.path.join(ROOT, "examples"))
    from char_transformer import build_model

    loss, _, params, _ = build_model(20, 8, 16, 4, 1, batch=2)
    full = str(sb.explain(loss, params[2:12]))
    lines = full.splitlines()
    # every line is one step on one line: the causal mask is not printed as a wall of numbers
    assert max(len(s) for s in lines) < 200, max(lines, key=len)
    assert "array(<8×8 bool>)" in full and "[[ True" not in full
    assert len(lines) < 200
    cut = str(sb.explain(loss, params[2:12], max_steps=20))
    # (the full text is 98 lines since layer norm is one op with the textbook derivative,
    # 128 before: the cut of 20 + 20 steps is a smaller share of it than it was)
    assert len(cut.splitlines()) < 60 and len(cut) < 0.6 * len(full)
    assert "more steps" in cut
    assert "dL/dQ0" in full and "softmax" in full
    # the LaTeX and Markdown forms: one step a line too (the mask is C_{8 × 8})
    e = sb.explain(loss, params[2:12])
    for form in (e.latex(), e.markdown()):
        assert len(form.splitlines()) < 200 and max(map(len, form.splitlines())) < 500
    assert r"C_{8 \times 8}" in e.latex()
