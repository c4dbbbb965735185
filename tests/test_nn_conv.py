"""sb.nn.conv and the pools: values against a direct loop reference (and PyTorch where
installed), gradients and second derivatives against central differences."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from gradcheck import assert_close, numeric_grad

import symback as sb


def conv_ref(x, w, stride, padding, dilation, groups):
    """The definition, by loops over every output entry (independent of symback)."""
    nd = w.ndim - 2
    pads = [(p, p) if isinstance(p, int) else p for p in padding]
    xp = np.pad(x, ((0, 0), (0, 0)) + tuple(pads))
    n, c = x.shape[:2]
    f = w.shape[0]
    k = w.shape[2:]
    out = [(xp.shape[2 + i] - dilation[i] * (k[i] - 1) - 1) // stride[i] + 1 for i in range(nd)]
    y = np.zeros((n, f, *out))
    cg, fg = c // groups, f // groups
    for b in range(n):
        for ff in range(f):
            g = ff // fg
            for o in itertools.product(*[range(d) for d in out]):
                acc = 0.0
                for cc in range(cg):
                    for kk in itertools.product(*[range(d) for d in k]):
                        pos = tuple(o[i] * stride[i] + kk[i] * dilation[i] for i in range(nd))
                        acc += w[(ff, cc) + kk] * xp[(b, g * cg + cc) + pos]
                y[(b, ff) + o] = acc
    return y


def maxpool_ref(x, k, stride, padding):
    nd = len(k)
    xp = np.pad(x, ((0, 0), (0, 0)) + tuple((p, p) for p in padding), constant_values=-np.inf)
    out = [(xp.shape[2 + i] - k[i]) // stride[i] + 1 for i in range(nd)]
    y = np.zeros(x.shape[:2] + tuple(out))
    for idx in itertools.product(*[range(d) for d in x.shape[:2]]):
        for o in itertools.product(*[range(d) for d in out]):
            sl = tuple(slice(o[i] * stride[i], o[i] * stride[i] + k[i]) for i in range(nd))
            y[idx + o] = xp[idx + sl].max()
    return y


CASES = [
    # x shape, w shape, stride, padding, dilation, groups
    ((2, 3, 7), (4, 3, 3), (1,), (0,), (1,), 1),
    ((2, 2, 6, 5), (3, 2, 3, 2), (2, 1), (1, 0), (1, 1), 1),
    ((1, 4, 6, 6), (4, 2, 3, 3), (1, 1), (1, 1), (2, 1), 2),
    ((1, 2, 4, 4, 3), (2, 1, 2, 2, 2), (1, 2, 1), (0, 1, 1), (1, 1, 1), 2),
    ((3, 1, 5, 5), (2, 1, 1, 1), (2, 2), (0, 0), (1, 1), 1),
    # few columns per group (C/G · Π k ≤ F/G): the kernels' channels-first path
    ((2, 2, 7, 6), (16, 1, 2, 2), (2, 1), (1, 0), (2, 1), 2),
    ((1, 2, 4, 4, 3), (8, 1, 1, 2, 1), (1, 2, 1), (0, 1, 0), (1, 1, 1), 2),
]


@pytest.mark.parametrize("xs,ws,stride,padding,dilation,groups", CASES)
def test_conv_value_gradient_and_hvp(xs, ws, stride, padding, dilation, groups):
    rng = np.random.default_rng(0)
    xv, wv = rng.normal(size=xs), rng.normal(size=ws)
    x, w = sb.tensor("x", xs), sb.tensor("w", ws)
    y = sb.nn.conv(x, w, stride=stride, padding=padding, dilation=dilation, groups=groups)
    want = conv_ref(xv, wv, stride, padding, dilation, groups)
    assert y.shape == want.shape
    assert_close(sb.lambdify([x, w], y)(xv, wv), want, 1e-12, 1e-12, "conv value")
    u = rng.normal(size=want.shape)
    loss = sb.sum(y * u)
    gx, gw = sb.lambdify([x, w], sb.grad(loss, [x, w]))(xv, wv)

    def f(a, b):
        return float(np.sum(conv_ref(a, b, stride, padding, dilation, groups) * u))

    assert_close(gx, numeric_grad(f, [xv, wv], 0), 1e-6, 1e-8, "d/dx")
    assert_close(gw, numeric_grad(f, [xv, wv], 1), 1e-6, 1e-8, "d/dw")
    # second order: q = ½‖conv(x, w)‖² is quadratic in w, so H v = ∇_w ⟨conv(x, w), conv(x, v)⟩,
    # a linear function of w whose central differences are exact up to rounding
    q = sb.sum(y * y) * 0.5
    v = rng.normal(size=ws)
    cv = conv_ref(xv, v, stride, padding, dilation, groups)
    want_hv = numeric_grad(lambda a, b: float(np.sum(
        conv_ref(a, b, stride, padding, dilation, groups) * cv)), [xv, wv], 1)
    for mode in ("forward", "reverse"):
        hv = sb.lambdify([x, w], sb.hvp(q, w, sb.const(v), mode=mode))(xv, wv)
        assert_close(hv, want_hv, 1e-6, 1e-8, f"hvp ({mode})")
    # mixed second derivative d/dx of <u, conv>'s w-gradient (conv_dw's own VJP)
    mixed = sb.grad(sb.sum(sb.grad(loss, w) * v), x)
    got = sb.lambdify([x, w], mixed)(xv, wv)
    want_m = numeric_grad(lambda a: float(np.sum(conv_ref(a, v, stride, padding, dilation,
                                                          groups) * u)), [xv], 0)
    assert_close(got, want_m, 1e-6, 1e-8, "d/dx <v, d/dw>")


def test_conv_bias_same_padding_and_float32():
    rng = np.random.default_rng(1)
    x = sb.tensor("x", ("n", 2, 5, 5), dtype="float32")
    w = sb.tensor("w", (3, 2, 3, 3), dtype="float32")
    b = sb.tensor("b", (3,), dtype="float32")
    y = sb.nn.conv2d(x, w, b, padding="same")
    assert y.shape == ("n", 3, 5, 5) and y.dtype == "float32"
    xv = rng.normal(size=(4, 2, 5, 5)).astype(np.float32)
    wv = rng.normal(size=(3, 2, 3, 3)).astype(np.float32)
    bv = rng.normal(size=3).astype(np.float32)
    got = sb.lambdify([x, w, b], y)(xv, wv, bv)
    assert got.dtype == np.float32
    want = conv_ref(xv.astype(np.float64), wv.astype(np.float64), (1, 1), (1, 1), (1, 1), 1) \
        + bv[:, None, None]
    assert_close(got, want, 1e-5, 1e-5, "conv float32")


def test_same_padding_even_kernel_puts_the_extra_zero_at_the_end():
    x = sb.tensor("x", (1, 1, 4))
    w = sb.tensor("w", (1, 1, 2))
    y = sb.nn.conv(x, w, padding="same")
    xv = np.arange(4.0).reshape(1, 1, 4)
    wv = np.array([[[1.0, 10.0]]])
    got = sb.lambdify([x, w], y)(xv, wv)
    assert_close(got, conv_ref(xv, wv, (1,), [(0, 1)], (1,), 1), 0, 0, "same padding")


def test_conv_errors_name_the_shapes():
    x = sb.tensor("x", (2, 3, 5, 5))
    with pytest.raises(sb.ShapeError, match=r"3 channels.*groups=1"):
        sb.nn.conv(x, sb.tensor("w", (4, 2, 3, 3)))
    with pytest.raises(sb.ShapeError, match="smaller than the kernel"):
        sb.nn.conv(x, sb.tensor("w", (4, 3, 7, 7)))
    with pytest.raises(sb.SymbackError, match="stride 1"):
        sb.nn.conv(x, sb.tensor("w", (4, 3, 3, 3)), stride=2, padding="same")
    with pytest.raises(sb.ShapeError, match="must be ints"):
        sb.nn.conv(sb.tensor("x", (2, 3, "h", 5)), sb.tensor("w", (4, 3, 3, 3)))


@pytest.mark.parametrize("xs,k,stride,padding", [
    ((2, 3, 6, 6), (2, 2), (2, 2), (0, 0)),
    ((1, 2, 7, 5), (3, 2), (2, 1), (1, 1)),
    ((2, 2, 9), (3,), (3,), (0,)),
])
def test_max_pool_value_and_gradient(xs, k, stride, padding):
    rng = np.random.default_rng(2)
    xv = rng.permutation(np.prod(xs)).reshape(xs).astype(float) / 7.0  # no ties
    x = sb.tensor("x", xs)
    y = sb.nn.max_pool(x, k, stride, padding)
    want = maxpool_ref(xv, k, stride, padding)
    assert_close(sb.lambdify([x], y)(xv), want, 0, 0, "max_pool value")
    u = rng.normal(size=want.shape)
    g = sb.lambdify([x], sb.grad(sb.sum(y * u), x))(xv)
    assert_close(g, numeric_grad(lambda a: float(np.sum(maxpool_ref(a, k, stride, padding) * u)),
                                 [xv], 0, eps=1e-7), 1e-6, 1e-8, "max_pool d/dx")
    # second order through the pool: ∇ ½Σ(maxpool x)² puts each window's maximum at its argmax
    # (a hand-derived reference); H v by central differences of it (no ties near xv)
    v = rng.normal(size=xs)
    hv = sb.lambdify([x], sb.hvp(sb.sum(y * y) * 0.5, x, sb.const(v)))(xv)
    h = 1e-6
    fd = (maxpool_sq_grad_ref(xv + h * v, k, stride, padding)
          - maxpool_sq_grad_ref(xv - h * v, k, stride, padding)) / (2 * h)
    assert_close(hv, fd, 1e-5, 1e-7, "max_pool hvp")


def maxpool_sq_grad_ref(x, k, stride, padding):
    """∇ ½ Σ maxpool(x)²: each window's maximum added at its (first) argmax."""
    nd = len(k)
    xp = np.pad(x, ((0, 0), (0, 0)) + tuple((p, p) for p in padding), constant_values=-np.inf)
    out = [(xp.shape[2 + i] - k[i]) // stride[i] + 1 for i in range(nd)]
    g = np.zeros(xp.shape)
    for idx in itertools.product(*[range(d) for d in x.shape[:2]]):
        for o in itertools.product(*[range(d) for d in out]):
            sl = tuple(slice(o[i] * stride[i], o[i] * stride[i] + k[i]) for i in range(nd))
            win = xp[idx + sl]
            j = np.unravel_index(np.argmax(win), win.shape)
            pos = tuple(o[i] * stride[i] + j[i] for i in range(nd))
            g[idx + pos] += win[j]
    crop = tuple(slice(p, p + x.shape[2 + i]) for i, p in enumerate(padding))
    return g[(slice(None), slice(None)) + crop]


def test_max_pool_ties_go_to_the_first_maximum():
    x = sb.tensor("x", (1, 1, 2, 2))
    g = sb.grad(sb.sum(sb.nn.max_pool(x, 2)), x)
    got = sb.lambdify([x], g)(np.ones((1, 1, 2, 2)))
    assert got.ravel().tolist() == [1.0, 0.0, 0.0, 0.0]


@pytest.mark.parametrize("xs,k,stride,padding", [
    ((2, 3, 6, 6), (2, 2), (2, 2), (0, 0)),
    ((2, 2, 7, 6), (3, 3), (2, 1), (1, 1)),
    ((1, 2, 5, 4, 6), (2, 3, 2), (1, 2, 2), (1, 1, 0)),
    ((2, 2, 9), (4,), (3,), (2,)),
])
def test_max_pool_many_ties_route_to_the_first_maximum_in_c_order(xs, k, stride, padding):
    # values in {0, 1, 2}: most windows hold several maxima; each window's cotangent must go
    # to its first maximum in the window's C order (PyTorch's rule), overlapping windows add
    rng = np.random.default_rng(5)
    xv = rng.integers(0, 3, size=xs).astype(float)
    x = sb.tensor("x", xs)
    y = sb.nn.max_pool(x, k, stride, padding)
    want_y = maxpool_ref(xv, k, stride, padding)
    assert_close(sb.lambdify([x], y)(xv), want_y, 0, 0, "max_pool value with ties")
    u = rng.normal(size=want_y.shape)
    got = sb.lambdify([x], sb.grad(sb.sum(y * u), x))(xv)
    nd = len(k)
    xp = np.pad(xv, ((0, 0), (0, 0)) + tuple((p, p) for p in padding), constant_values=-np.inf)
    g = np.zeros(xp.shape)
    for idx in itertools.product(*[range(d) for d in xs[:2]]):
        for o in itertools.product(*[range(d) for d in want_y.shape[2:]]):
            sl = tuple(slice(o[i] * stride[i], o[i] * stride[i] + k[i]) for i in range(nd))
            j = np.unravel_index(np.argmax(xp[idx + sl]), k)
            g[idx + tuple(o[i] * stride[i] + j[i] for i in range(nd))] += u[idx + o]
    crop = tuple(slice(p, p + xs[2 + i]) for i, p in enumerate(padding))
    assert_close(got, g[(slice(None), slice(None)) + crop], 1e-14, 1e-14, "ties d/dx")


def test_max_pool_nan_is_the_maximum_as_in_argmax():
    x = sb.tensor("x", (1, 1, 2, 4))
    xv = np.array([[[[1.0, 5.0, 2.0, np.nan], [3.0, np.nan, 0.0, 1.0]]]])
    y = sb.lambdify([x], sb.nn.max_pool(x, 2))(xv)
    assert np.isnan(y).all()
    g = sb.lambdify([x], sb.grad(sb.sum(sb.nn.max_pool(x, 2)), x))(xv)
    assert g.ravel().tolist() == [0, 0, 0, 1, 0, 1, 0, 0]


def test_avg_pool_is_the_window_mean():
    rng = np.random.default_rng(3)
    xv = rng.normal(size=(2, 3, 6, 4))
    x = sb.tensor("x", xv.shape)
    y = sb.nn.avg_pool(x, 2)
    want = xv.reshape(2, 3, 3, 2, 2, 2).mean(axis=(3, 5))
    assert_close(sb.lambdify([x], y)(xv), want, 1e-12, 1e-12, "avg_pool")
    g = sb.lambdify([x], sb.grad(sb.sum(y), x))(xv)
    assert_close(g, np.full(xv.shape, 0.25), 1e-12, 1e-12, "avg_pool d/dx")


def test_conv_matches_pytorch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(4)
    xv, wv, bv = rng.normal(size=(2, 4, 9, 8)), rng.normal(size=(6, 2, 3, 3)), rng.normal(size=6)
    x, w, b = sb.tensor("x", xv.shape), sb.tensor("w", wv.shape), sb.tensor("b", (6,))
    y = sb.nn.conv(x, w, b, stride=(2, 1), padding=(1, 2), dilation=(1, 2), groups=2)
    loss = sb.sum(sb.tanh(y))
    f = sb.value_and_grad(loss, [x, w, b], args=[x, w, b])
    val, (gx, gw, gb) = f(xv, wv, bv)
    tx, tw, tb = (torch.tensor(a, requires_grad=True) for a in (xv, wv, bv))
    ty = torch.nn.functional.conv2d(tx, tw, tb, stride=(2, 1), padding=(1, 2), dilation=(1, 2),
                                    groups=2)
    tl = torch.tanh(ty).sum()
    tl.backward()
    assert abs(float(val) - tl.item()) < 1e-10 * max(1.0, abs(tl.item()))
    for got, t in ((gx, tx), (gw, tw), (gb, tb)):
        assert_close(got, t.grad.numpy(), 1e-10, 1e-10, "vs PyTorch")
    p = sb.lambdify([x], sb.nn.max_pool(x, 3, 2, 1))(xv)
    assert_close(p, torch.nn.functional.max_pool2d(torch.tensor(xv), 3, 2, 1).numpy(), 0, 0,
                 "max_pool vs PyTorch")


def conv_dx_ref(g, w, s, stride, padding, dilation, groups):
    """∂⟨g, conv(x, w)⟩/∂x by the definition: every (output, kernel offset) pair adds
    g · w into the padded input position it read; the padding is cropped at the end."""
    nd = len(s)
    n, f = g.shape[:2]
    cg, k, out = w.shape[1], w.shape[2:], g.shape[2:]
    fg = f // groups
    dx = np.zeros((n, groups * cg) + tuple(s[i] + padding[i][0] + padding[i][1]
                                           for i in range(nd)))
    for o in itertools.product(*[range(d) for d in out]):
        for kk in itertools.product(*[range(d) for d in k]):
            pos = tuple(o[i] * stride[i] + kk[i] * dilation[i] for i in range(nd))
            for ff in range(f):
                c0 = (ff // fg) * cg
                dx[(slice(None), slice(c0, c0 + cg)) + pos] += \
                    g[(slice(None), ff) + o][:, None] * w[(ff, slice(None)) + kk][None]
    return dx[(slice(None), slice(None)) + tuple(slice(padding[i][0], padding[i][0] + s[i])
                                                 for i in range(nd))]


@pytest.mark.parametrize("s,k,stride,padding,dilation,groups", [
    ((5, 4), (3, 3), (1, 1), ((1, 1), (1, 1)), (1, 1), 1),   # the centre offset covers x
    ((5, 5), (3, 3), (1, 1), ((0, 0), (0, 0)), (1, 1), 1),   # no padding: no offset covers x
    ((7, 6), (3, 2), (2, 1), ((1, 0), (2, 1)), (1, 2), 2),   # strided, dilated, grouped
    ((2,), (3,), (4,), ((2, 2),), (1,), 1),                  # offsets that only read padding
    ((4,), (5,), (1,), ((4, 4),), (1,), 3),                  # padding wider than x
])
def test_conv_dx_kernel_clips_offsets_to_the_input(s, k, stride, padding, dilation, groups):
    from symback.ops.conv import conv_dx
    rng = np.random.default_rng(1)
    out = tuple((s[i] + sum(padding[i]) - dilation[i] * (k[i] - 1) - 1) // stride[i] + 1
                for i in range(len(s)))
    g = rng.normal(size=(3, 2 * groups) + out)
    w = rng.normal(size=(2 * groups, 2) + k)
    want = conv_dx_ref(g, w, s, stride, padding, dilation, groups)
    got = conv_dx(g, w, s, stride, padding, dilation, groups)
    assert got.shape == want.shape
    assert_close(got, want, 1e-12, 1e-12, "conv_dx")
    got32 = conv_dx(g.astype(np.float32), w.astype(np.float32), s, stride, padding, dilation,
                    groups)
    assert got32.dtype == np.float32
    assert_close(got32, want, 1e-4, 1e-4, "conv_dx float32")


def channels_last(a):
    """a (N, C, *s) with the same values, its memory in (N, *s, C) order."""
    return np.moveaxis(np.ascontiguousarray(np.moveaxis(a, 1, -1)), -1, 1)


@pytest.mark.parametrize("xs,k,stride,padding", [
    ((2, 3, 6, 6), (2, 2), (2, 2), (0, 0)),
    ((2, 2, 7, 6), (3, 3), (2, 1), (1, 1)),
    ((2, 2, 9), (4,), (3,), (2,)),
])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_max_pool_kernels_give_the_same_values_for_any_memory_layout(xs, k, stride, padding,
                                                                     dtype):
    # the kernels run channels-last internally and hand back channels-last memory: inputs
    # in either layout (an index from another backend is contiguous) must read the same
    from symback.ops.conv import max_pool_dx, max_pool_gather, max_pool_index
    rng = np.random.default_rng(7)
    xv = rng.integers(0, 3, size=xs).astype(dtype)  # ties: the first maximum in C order
    pads = tuple((p, p) for p in padding)
    nd = len(k)
    xp = np.pad(xv.astype(float), ((0, 0), (0, 0)) + pads, constant_values=-np.inf)
    want_y = maxpool_ref(xv.astype(float), k, stride, padding)
    want_i = np.zeros(want_y.shape, dtype=np.int64)
    for idx in itertools.product(*[range(d) for d in want_y.shape]):
        sl = tuple(slice(idx[2 + i] * stride[i], idx[2 + i] * stride[i] + k[i]) for i in range(nd))
        want_i[idx] = np.argmax(xp[idx[:2] + sl])
    g = rng.normal(size=want_y.shape).astype(dtype)
    want_dx = np.zeros(xp.shape)
    for idx in itertools.product(*[range(d) for d in want_y.shape]):
        j = np.unravel_index(want_i[idx], k)
        want_dx[idx[:2] + tuple(idx[2 + i] * stride[i] + j[i] for i in range(nd))] += g[idx]
    want_dx = want_dx[(slice(None), slice(None))
                      + tuple(slice(p, p + xs[2 + i]) for i, p in enumerate(padding))]
    for x_in in (xv, channels_last(xv)):
        i = max_pool_index(x_in, k, stride, pads)
        assert i.dtype == np.int64 and (i == want_i).all()
        for i_in in (i, np.ascontiguousarray(i)):
            y = max_pool_gather(x_in, i_in, k, stride, pads)
            assert y.dtype == dtype
            assert_close(y, want_y, 0, 0, "max_pool_gather")
            for g_in in (g, channels_last(g)):
                dx = max_pool_dx(g_in, i_in, k, stride, pads, xs[2:])
                assert dx.dtype == dtype and dx.shape == xs
                assert_close(dx, want_dx, 1e-6, 1e-6, "max_pool_dx")
