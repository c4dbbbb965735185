"""Jacobians, Hessians, HVPs and JVPs: Matrix Cookbook identities and closed matrix forms.

Every gradient is checked against a hand-written NumPy formula (the Cookbook's), and
that formula against central differences of the function itself; every Hessian
against central differences of the hand-written gradient. Structural tests check
that the Hessians of the standard families are closed matrix expressions whose
graph size does not depend on n.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
import pytest
from _fd import numeric_hessian, numeric_jacobian
from gradcheck import assert_close, numeric_grad

import symback as sb
from symback.graph import count_nodes
from symback.higher import forward, pretty_matrix
from symback.ops.linalg import diag_op
from symback.ops.structural import expand_dims

N = 3
RNG = np.random.default_rng(20240605)


def _sig(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


def _softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max())
    return e / e.sum()


def _sample() -> dict[str, np.ndarray]:
    r = RNG
    return {
        "X": r.normal(size=(N, N)) + 3 * np.eye(N),  # well conditioned, det > 0
        "A": r.normal(size=(N, N)),
        "B": r.normal(size=(N, N)),
        "a": r.normal(size=N),
        "b": r.normal(size=N),
        "x": r.normal(size=N),
        "v": r.normal(size=N),
        "D": r.normal(size=(5, N)),  # a data matrix
        "t": r.normal(size=5),  # targets
        "yb": (r.uniform(size=5) > 0.5).astype(float),
        "Y1": np.eye(4)[1],  # one-hot
        "W": r.normal(size=(4, N)),
        "c": r.normal(size=4),
    }


SHAPES = {"X": (N, N), "A": (N, N), "B": (N, N), "a": (N,), "b": (N,), "x": (N,), "v": (N,),
          "D": (5, N), "t": (5,), "yb": (5,), "Y1": (4,), "W": (4, N), "c": (4,)}
S = {k: sb.tensor(k, s) for k, s in SHAPES.items()}
inv = np.linalg.inv
LAM = 0.3


@dataclass
class Identity:
    name: str
    f: Callable[[dict[str, Any]], Any]  # builds the loss: works on symbols and on NumPy arrays
    wrt: str
    grad: Callable[[dict[str, np.ndarray]], np.ndarray]  # the textbook gradient, in NumPy
    sym: Callable[[dict[str, Any]], Any] | None = None  # symback form when f needs sb functions


def _np_or_sb(fn_np: Callable[..., Any], fn_sb: Callable[..., Any]) -> Callable[..., Any]:
    def call(*args: Any) -> Any:
        if any(isinstance(a, sb.Expr) for a in args):
            return fn_sb(*args)
        return fn_np(*args)
    return call


tr = _np_or_sb(np.trace, sb.trace)
det = _np_or_sb(np.linalg.det, sb.det)
logdet = _np_or_sb(lambda m: np.linalg.slogdet(m)[1], sb.logdet)
minv = _np_or_sb(inv, sb.inv)
solve = _np_or_sb(np.linalg.solve, sb.solve)
diag = _np_or_sb(np.diag, sb.diag)
total = _np_or_sb(np.sum, sb.sum)
tanh = _np_or_sb(np.tanh, sb.tanh)
softplus = _np_or_sb(lambda z: np.log1p(np.exp(z)), sb.softplus)
lse = _np_or_sb(lambda z: np.log(np.sum(np.exp(z))), sb.logsumexp)
log_softmax = _np_or_sb(lambda z: z - np.log(np.sum(np.exp(z))), sb.log_softmax)


IDENTITIES = [
    Identity("tr(AX)", lambda s: tr(s["A"] @ s["X"]), "X", lambda s: s["A"].T),
    Identity("tr(X A Xᵀ)", lambda s: tr(s["X"] @ s["A"] @ s["X"].T), "X",
             lambda s: s["X"] @ (s["A"] + s["A"].T)),
    Identity("tr(Xᵀ B X)", lambda s: tr(s["X"].T @ s["B"] @ s["X"]), "X",
             lambda s: (s["B"] + s["B"].T) @ s["X"]),
    Identity("tr(XᵀX)", lambda s: tr(s["X"].T @ s["X"]), "X", lambda s: 2 * s["X"]),
    Identity("tr(X³)", lambda s: tr(s["X"] @ s["X"] @ s["X"]), "X",
             lambda s: 3 * (s["X"] @ s["X"]).T),
    Identity("det X", lambda s: det(s["X"]), "X",
             lambda s: np.linalg.det(s["X"]) * inv(s["X"]).T),
    Identity("det(AXB)", lambda s: det(s["A"] @ s["X"] @ s["B"]), "X",
             lambda s: np.linalg.det(s["A"] @ s["X"] @ s["B"]) * inv(s["X"]).T),
    Identity("log det X", lambda s: logdet(s["X"]), "X", lambda s: inv(s["X"]).T),
    Identity("log det(XᵀX)", lambda s: logdet(s["D"].T @ s["D"]), "D",
             lambda s: 2 * s["D"] @ inv(s["D"].T @ s["D"])),
    Identity("tr(X⁻¹A)", lambda s: tr(minv(s["X"]) @ s["A"]), "X",
             lambda s: -inv(s["X"]).T @ s["A"].T @ inv(s["X"]).T),
    Identity("tr(X⁻¹)", lambda s: tr(minv(s["X"])), "X",
             lambda s: -(inv(s["X"]) @ inv(s["X"])).T),
    Identity("aᵀX⁻¹b", lambda s: s["a"] @ minv(s["X"]) @ s["b"], "X",
             lambda s: -inv(s["X"]).T @ np.outer(s["a"], s["b"]) @ inv(s["X"]).T),
    Identity("aᵀ solve(X, b)", lambda s: s["a"] @ solve(s["X"], s["b"]), "X",
             lambda s: -np.outer(inv(s["X"]).T @ s["a"], inv(s["X"]) @ s["b"])),
    Identity("aᵀ solve(X, b) in b", lambda s: s["a"] @ solve(s["X"], s["b"]), "b",
             lambda s: inv(s["X"]).T @ s["a"]),
    Identity("aᵀXb", lambda s: s["a"] @ s["X"] @ s["b"], "X",
             lambda s: np.outer(s["a"], s["b"])),
    Identity("aᵀXᵀXb", lambda s: s["a"] @ s["X"].T @ s["X"] @ s["b"], "X",
             lambda s: s["X"] @ (np.outer(s["a"], s["b"]) + np.outer(s["b"], s["a"]))),
    Identity("aᵀ diag(x) b", lambda s: s["a"] @ diag(s["x"]) @ s["b"], "x",
             lambda s: s["a"] * s["b"]),
    Identity("tr(diag(x) A)", lambda s: tr(diag(s["x"]) @ s["A"]), "x",
             lambda s: np.diag(s["A"])),
    Identity("xᵀAx", lambda s: s["x"] @ s["A"] @ s["x"], "x",
             lambda s: (s["A"] + s["A"].T) @ s["x"]),
    Identity("least squares", lambda s: total((s["D"] @ s["x"] - s["t"]) ** 2), "x",
             lambda s: 2 * s["D"].T @ (s["D"] @ s["x"] - s["t"])),
    Identity("ridge", lambda s: total((s["D"] @ s["x"] - s["t"]) ** 2)
             + LAM * total(s["x"] * s["x"]), "x",
             lambda s: 2 * s["D"].T @ (s["D"] @ s["x"] - s["t"]) + 2 * LAM * s["x"]),
    Identity("logistic regression",
             lambda s: total(softplus(s["D"] @ s["x"]) - s["yb"] * (s["D"] @ s["x"])), "x",
             lambda s: s["D"].T @ (_sig(s["D"] @ s["x"]) - s["yb"])),
    Identity("logsumexp", lambda s: lse(s["x"]), "x", lambda s: _softmax(s["x"])),
    Identity("softmax cross-entropy in W",
             lambda s: -total(s["Y1"] * log_softmax(s["W"] @ s["x"])), "W",
             lambda s: np.outer(_softmax(s["W"] @ s["x"]) - s["Y1"], s["x"])),
    Identity("MLP layer in W", lambda s: total(tanh(s["D"] @ s["W"].T + s["c"]) ** 2), "W",
             lambda s: (2 * np.tanh(s["D"] @ s["W"].T + s["c"])
                        * (1 - np.tanh(s["D"] @ s["W"].T + s["c"]) ** 2)).T @ s["D"]),
    Identity("MLP layer in bias", lambda s: total(tanh(s["D"] @ s["W"].T + s["c"]) ** 2), "c",
             lambda s: np.sum(2 * np.tanh(s["D"] @ s["W"].T + s["c"])
                              * (1 - np.tanh(s["D"] @ s["W"].T + s["c"]) ** 2), axis=0)),
]
IDS = [i.name for i in IDENTITIES]


def _compile(expr: sb.Expr) -> Callable[[dict[str, np.ndarray]], np.ndarray]:
    names = sorted(SHAPES)
    fn = sb.lambdify([S[k] for k in names], expr)
    return lambda vals: fn(*[vals[k] for k in names])


def _as_fn_of(name: str, fn: Callable[[dict[str, np.ndarray]], Any], vals: dict[str, np.ndarray]
              ) -> Callable[[np.ndarray], Any]:
    def f(x: np.ndarray) -> Any:
        return fn({**vals, name: x})
    return f


@pytest.mark.parametrize("ident", IDENTITIES, ids=IDS)
def test_cookbook_gradient(ident: Identity) -> None:
    vals = _sample()
    loss = ident.f(S)
    g = sb.grad(loss, S[ident.wrt])
    want = ident.grad(vals)
    # the textbook formula itself, against central differences of the function
    f = _as_fn_of(ident.wrt, ident.f, vals)
    assert_close(want, numeric_grad(f, [vals[ident.wrt]], 0), what=f"{ident.name} formula")
    assert_close(_compile(g)(vals), want, rtol=1e-9, atol=1e-10, what=ident.name)


@pytest.mark.parametrize("ident", IDENTITIES, ids=IDS)
def test_cookbook_hessian(ident: Identity) -> None:
    vals = _sample()
    x = S[ident.wrt]
    H = sb.hessian(ident.f(S), x)
    assert H.shape == x.shape + x.shape
    want = numeric_jacobian(_as_fn_of(ident.wrt, ident.grad, vals), [vals[ident.wrt]], 0)
    assert_close(_compile(H)(vals), want, rtol=1e-5, atol=1e-6, what=f"{ident.name} Hessian")


@pytest.mark.parametrize("ident", IDENTITIES, ids=IDS)
@pytest.mark.parametrize("mode", ["forward", "reverse"])
def test_hvp_equals_hessian_times_v(ident: Identity, mode: str) -> None:
    vals = _sample()
    x = S[ident.wrt]
    v = sb.tensor("u", x.shape)
    u = RNG.normal(size=x.shape)
    loss = ident.f(S)
    hv = sb.hvp(loss, x, v, mode=mode)
    assert hv.shape == x.shape
    names = sorted(SHAPES)
    got = sb.lambdify([S[k] for k in names] + [v], hv)(*[vals[k] for k in names], u)
    H = _compile(sb.hessian(loss, x))(vals)
    want = np.tensordot(H, u, axes=x.ndim)
    assert_close(got, want, rtol=1e-9, atol=1e-10, what=f"{ident.name} HVP")


# ----------------------------------------------------------------------------- closed forms


def _families(n: int) -> dict[str, tuple[sb.Expr, sb.Expr, sb.Expr]]:
    """(loss, wrt, expected Hessian node) for the standard families at size n."""
    A = sb.matrix("A", n, n)
    x = sb.vector("x", n)
    X = sb.matrix("X", 2 * n, n)
    w = sb.vector("w", n)
    y = sb.vector("y", 2 * n)
    z = X @ w
    s = sb.sigmoid(z)
    p = sb.softmax(x)
    return {
        "quadratic": (x @ A @ x, x, A.T + A),
        "least squares": (sb.sum((z - y) ** 2), w, 2 * (X.T @ X)),
        "logistic": (sb.sum(sb.softplus(z) - y * z), w,
                     X.T @ (expand_dims(s * (1.0 - s), axis=1) * X)),
        "logsumexp": (sb.logsumexp(x), x, sb.diag(p) - sb.outer(p, p)),
    }


@pytest.mark.parametrize("family", ["quadratic", "least squares", "logistic", "logsumexp"])
def test_hessian_is_the_closed_form_node(family: str) -> None:
    loss, wrt, want = _families(4)[family]
    H = sb.hessian(loss, wrt)
    assert H is want, f"{family}: got {H}"


def test_quadratic_hessian_is_a_plus_a_transpose_either_order() -> None:
    A = sb.matrix("A", 5, 5)
    x = sb.vector("x", 5)
    H = sb.hessian(x @ A @ x, x)
    assert H is A + A.T or H is A.T + A
    assert sb.hessian(x @ A @ x, x) is H  # interned: the same node every time


@pytest.mark.parametrize("family", ["quadratic", "least squares", "logistic", "logsumexp"])
def test_hessian_size_does_not_grow_with_n(family: str) -> None:
    sizes = [count_nodes(sb.hessian(*_families(n)[family][:2])) for n in (10, 100, 1000)]
    assert sizes[0] == sizes[1] == sizes[2] and sizes[0] <= 12, sizes


def test_jacobian_size_does_not_grow_with_n() -> None:
    sizes = []
    for n in (10, 100, 1000):
        A = sb.matrix("A", n, n)
        x = sb.vector("x", n)
        sizes.append(count_nodes(sb.jacobian(sb.softmax(A @ sb.tanh(x)), x)))
    assert sizes[0] == sizes[1] == sizes[2], sizes


def test_closed_forms_with_symbolic_sizes_compile_for_any_n() -> None:
    X = sb.matrix("X", "m", "n")
    w = sb.vector("w", "n")
    y = sb.vector("y", "m")
    H = sb.hessian(sb.sum(sb.softplus(X @ w) - y * (X @ w)), w)
    assert H.shape == ("n", "n")
    f = sb.lambdify([X, w, y], H)
    for m, n in ((6, 2), (9, 4)):
        Xv, wv = RNG.normal(size=(m, n)), RNG.normal(size=n)
        s = _sig(Xv @ wv)
        assert_close(f(Xv, wv, np.zeros(m)), Xv.T @ np.diag(s * (1 - s)) @ Xv, rtol=1e-12)


def test_hessians_print_in_closed_form() -> None:
    fam = _families(3)
    assert sb.latex(sb.hessian(*fam["quadratic"][:2])) == "A^{T} + A"
    assert sb.latex(sb.hessian(*fam["least squares"][:2])) == "2 X^{T} X"
    logistic = sb.latex(sb.hessian(*fam["logistic"][:2]))
    assert logistic == sb.latex(pretty_matrix(sb.hessian(*fam["logistic"][:2])))
    assert logistic.startswith(r"X^{T} \operatorname{diag}(") and logistic.endswith(") X")
    assert r"\sigma(X w)" in logistic
    lse = sb.latex(sb.hessian(*fam["logsumexp"][:2]))
    assert lse.startswith(r"\operatorname{diag}(") and r"^{T}" in lse and "-" in lse


def test_pretty_form_has_the_same_value() -> None:
    loss, w, _ = _families(3)["logistic"]
    H = sb.hessian(loss, w)
    P = pretty_matrix(H)
    assert diag_op in {n.op for n in sb.toposort([P])}
    X, y = sb.matrix("X", 6, 3), sb.vector("y", 6)
    f = sb.lambdify([X, w, y], [H, P])
    vals = RNG.normal(size=(6, 3)), RNG.normal(size=3), RNG.normal(size=6)
    h1, h2 = f(*vals)
    assert_close(h1, h2, rtol=1e-12)


# ----------------------------------------------------------------------------- Jacobians


def test_jacobian_of_a_linear_map_is_the_matrix_node() -> None:
    A = sb.matrix("A", 3, 4)
    x = sb.vector("x", 4)
    assert sb.jacobian(A @ x, x) is A
    assert sb.jacobian(x @ A.T, x) is A


@pytest.mark.parametrize("case", [
    "tanh(Ax)", "softmax(x)", "log_softmax(Wx)", "outer(x, x)", "X W", "X⁻¹", "x[1:] * x[:-1]",
    "stack", "reshape",
])
def test_jacobian_against_finite_differences(case: str) -> None:
    n = 3
    x = sb.vector("x", n)
    A = sb.matrix("A", 2, n)
    X = sb.matrix("X", n, n)
    M = sb.matrix("M", n, 2)
    build = {
        "tanh(Ax)": (lambda: sb.tanh(A @ x), x),
        "softmax(x)": (lambda: sb.softmax(x), x),
        "log_softmax(Wx)": (lambda: sb.log_softmax(A @ x), x),
        "outer(x, x)": (lambda: sb.outer(x, sb.sin(x)), x),
        "X W": (lambda: sb.exp(X @ M), M),
        "X⁻¹": (lambda: sb.inv(X), X),
        "x[1:] * x[:-1]": (lambda: x[1:] * x[:-1], x),
        "stack": (lambda: sb.stack([x * x, sb.cos(x)], axis=1), x),
        "reshape": (lambda: sb.reshape(sb.exp(X), (-1,)) * 2.0, X),
    }[case]
    y = build[0]()
    wrt = build[1]
    J = sb.jacobian(y, wrt)
    assert J.shape == y.shape + wrt.shape
    syms = [x, A, X, M]
    vals = [RNG.normal(size=s.shape) for s in syms]
    vals[2] = vals[2] + 3 * np.eye(n)
    f = sb.lambdify(syms, y)
    want = numeric_jacobian(lambda *a: f(*a), vals, syms.index(wrt))
    assert_close(sb.lambdify(syms, J)(*vals), want, rtol=1e-6, atol=1e-8, what=case)


def test_softmax_jacobian_is_diag_p_minus_p_p_transpose() -> None:
    x = sb.vector("x", 4)
    p = sb.softmax(x)
    assert sb.jacobian(p, x) is sb.diag(p) - sb.outer(p, p)


def test_jacobian_of_scalar_is_gradient_and_by_scalar_is_derivative() -> None:
    x = sb.vector("x", 3)
    t = sb.symbols("t")
    L = sb.sum(sb.sin(x))
    assert sb.jacobian(L, x) is sb.grad(L, x)
    J = sb.jacobian(sb.exp(t * x), t)
    assert J.shape == (3,)
    xv = RNG.normal(size=3)
    assert_close(sb.lambdify([t, x], J)(0.7, xv), xv * np.exp(0.7 * xv), rtol=1e-12)


def test_jacobian_with_respect_to_a_list_and_independent_inputs() -> None:
    x, y = sb.vector("x", 3), sb.vector("y", 2)
    Jx, Jy = sb.jacobian(sb.exp(x), [x, y])
    assert Jx.shape == (3, 3) and Jy.shape == (3, 2)
    out = sb.lambdify([x, y], Jy)(np.ones(3), np.ones(2))
    assert out.shape == (3, 2) and not out.any()


def test_jacobian_matches_jax_when_installed() -> None:
    jax = pytest.importorskip("jax")
    jax.config.update("jax_enable_x64", True)
    jnp = jax.numpy
    X = sb.matrix("X", 3, 3)
    w = sb.vector("w", 3)
    y = sb.softmax(sb.tanh(X @ w) @ X) * sb.det(X)
    Xv = RNG.normal(size=(3, 3)) + 2 * np.eye(3)
    wv = RNG.normal(size=3)

    def f(Xa: Any, wa: Any) -> Any:
        return jax.nn.softmax(jnp.tanh(Xa @ wa) @ Xa) * jnp.linalg.det(Xa)

    got_w, got_X = sb.lambdify([X, w], sb.jacobian(y, [w, X]))(Xv, wv)
    assert_close(got_w, np.asarray(jax.jacobian(f, 1)(Xv, wv)), rtol=1e-10, atol=1e-12)
    assert_close(got_X, np.asarray(jax.jacobian(f, 0)(Xv, wv)), rtol=1e-10, atol=1e-12)
    L = sb.sum(sb.softplus(X @ w)) + sb.logdet(X)
    got_H = sb.lambdify([X, w], sb.hessian(L, X))(Xv, wv)
    want_H = jax.hessian(lambda Xa: jnp.sum(jax.nn.softplus(Xa @ wv))
                         + jnp.linalg.slogdet(Xa)[1])(Xv)
    assert_close(got_H, np.asarray(want_H), rtol=1e-9, atol=1e-11)


# ----------------------------------------------------------------------------- JVP


def test_jvp_against_a_directional_finite_difference() -> None:
    X = sb.matrix("X", 3, 3)
    V = sb.matrix("V", 3, 3)
    y = sb.inv(X) @ sb.sigmoid(X) + sb.trace(X @ X) * X
    t = sb.jvp(y, X, V)
    assert t.shape == (3, 3)
    Xv = RNG.normal(size=(3, 3)) + 3 * np.eye(3)
    Vv = RNG.normal(size=(3, 3))
    f = sb.lambdify([X], y)
    h = 1e-6
    want = (f(Xv + h * Vv) - f(Xv - h * Vv)) / (2 * h)
    assert_close(sb.lambdify([X, V], t)(Xv, Vv), want, rtol=1e-6, atol=1e-8)


def test_jvp_with_several_inputs_sums_their_contributions() -> None:
    a, b = sb.vector("a", 3), sb.vector("b", 3)
    u, v = sb.vector("u", 3), sb.vector("v", 3)
    t = sb.jvp(sb.sum(a * sb.exp(b)), [a, b], [u, v])
    av, bv, uv, vv = (RNG.normal(size=3) for _ in range(4))
    want = np.sum(uv * np.exp(bv)) + np.sum(av * np.exp(bv) * vv)
    assert_close(sb.lambdify([a, b, u, v], t)(av, bv, uv, vv), want, rtol=1e-12)


def test_jvp_of_independent_output_is_zero_and_shapes_are_checked() -> None:
    x, y = sb.vector("x", 3), sb.vector("y", 2)
    z = sb.jvp(sb.exp(y), x, sb.vector("v", 3))
    assert z.shape == (2,)
    assert not sb.lambdify([], z)().any()
    with pytest.raises(sb.ShapeError, match="tangent"):
        sb.jvp(sb.exp(x), x, sb.vector("v", 4))


def test_results_can_be_differentiated_again() -> None:
    """grad of a Hessian entry sum and a third derivative, against finite differences."""
    x = sb.vector("x", 3)
    A = sb.matrix("A", 3, 3)
    L = sb.sum(sb.exp(A @ x)) + sb.sum(x ** 4)
    H = sb.hessian(L, x)
    T = sb.jacobian(H, x)  # third derivative, shape (3, 3, 3)
    assert T.shape == (3, 3, 3)
    Av, xv = RNG.normal(size=(3, 3)), RNG.normal(size=3)
    hf = sb.lambdify([A, x], H)
    assert_close(sb.lambdify([A, x], T)(Av, xv), numeric_jacobian(hf, [Av, xv], 1),
                 rtol=1e-6, atol=1e-7)
    gA = sb.grad(sb.trace(H), A)  # d/dA of tr ∇²L
    tf = sb.lambdify([A, x], sb.trace(H))
    assert_close(sb.lambdify([A, x], gA)(Av, xv), numeric_grad(tf, [Av, xv], 0),
                 rtol=1e-6, atol=1e-7)


def test_hessian_with_respect_to_a_matrix_against_second_differences() -> None:
    W = sb.matrix("W", 2, 3)
    x = sb.vector("x", 3)
    L = sb.logsumexp(sb.tanh(W @ x)) + sb.sum(W * W * W)
    H = sb.hessian(L, W)
    assert H.shape == (2, 3, 2, 3)
    Wv, xv = RNG.normal(size=(2, 3)), RNG.normal(size=3)
    f = sb.lambdify([W, x], L)
    want = numeric_hessian(lambda Wa: f(Wa, xv), [Wv], 0)
    assert_close(sb.lambdify([W, x], H)(Wv, xv), want, rtol=1e-4, atol=1e-5)


def test_hessian_of_several_inputs_gives_each_block_against_the_hand_formula() -> None:
    """hessian(J, [w, b]) for J = Σ log σ(X w + b): ∂²J/∂w² = −Xᵀ diag(σ(z) σ(−z)) X and
    ∂²J/∂b² = −Σ σ(z) σ(−z), z = X w + b (the diagonal blocks, one per input)."""
    X, w, b = sb.matrix("X", 6, 3), sb.vector("w", 3), sb.symbols("b")
    Hw, Hb = sb.hessian(sb.sum(sb.log(sb.sigmoid(X @ w + b))), [w, b])
    Xv, wv, bv = RNG.normal(size=(6, 3)), RNG.normal(size=3), 0.3
    z = Xv @ wv + bv
    s = 1.0 / (1.0 + np.exp(-z)) / (1.0 + np.exp(z))
    assert_close(sb.lambdify([X, w, b], Hw)(Xv, wv, bv), -Xv.T @ (s[:, None] * Xv),
                 rtol=1e-12, atol=1e-14)
    assert_close(sb.lambdify([X, w, b], Hb)(Xv, wv, bv), -np.sum(s), rtol=1e-12, atol=1e-14)


# ----------------------------------------------------------------------------- errors


def test_hessian_of_non_scalar_and_hvp_shape_errors() -> None:
    x = sb.vector("x", 3)
    with pytest.raises(sb.SymbackError, match="scalar"):
        sb.hessian(sb.exp(x), x)
    with pytest.raises(sb.ShapeError, match="v has shape"):
        sb.hvp(sb.sum(x * x), x, sb.vector("v", 2))
    with pytest.raises(sb.SymbackError, match="mode"):
        sb.hvp(sb.sum(x * x), x, x, mode="sideways")


def test_an_op_without_a_forward_rule_is_named() -> None:
    from symback.graph import Op

    odd = Op("odd_op", 1, lambda shapes: shapes[0], numpy="{0}",
             vjp=lambda g, out, a: (g,))
    x = sb.vector("x", 3)
    with pytest.raises(sb.SymbackError, match="odd_op"):
        forward([odd(x)], {x: sb.vector("v", 3)})


def test_readme_section_runs(capsys: pytest.CaptureFixture[str]) -> None:
    """The README's closed-form Hessian block runs and prints the diag form it shows."""
    import re
    from pathlib import Path

    text = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    m = re.search(r"^## Jacobians and Hessians in closed form\n(.*?)(?=^## )", text, re.S | re.M)
    assert m, "README.md lost its closed-form Hessian section"
    blocks = re.findall(r"```python\n(.*?)```", m.group(1), re.S)
    assert blocks
    for code in blocks:
        exec(compile(code, "README.md (closed-form Hessians)", "exec"), {"sb": sb})  # noqa: S102
    out = capsys.readouterr().out
    assert r"X^{T} \operatorname{diag}(\sigma(X w) \odot (1 - \sigma(X w))) X" in out
