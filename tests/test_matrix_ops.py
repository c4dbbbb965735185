"""The matrix ops (trace, det, logdet, inv, solve, diag, dot, reshape, stack, concatenate,
indexing, tensordot, eye): shape rules, values against NumPy, first and second
derivatives and forward tangents against central differences of the NumPy forms,
notations and SymPy counterparts.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
import pytest
import sympy
from _fd import numeric_jacobian
from gradcheck import assert_close, numeric_grad

import symback as sb
from symback.ops.contract import tensordot
from symback.ops.index import index_scatter
from symback.ops.linalg import eye, inv_op

RNG = np.random.default_rng(7)


def _square(n: int = 3) -> np.ndarray:
    return RNG.normal(size=(n, n)) + 3 * np.eye(n)


# (name, builder over symbols, NumPy reference, argument shapes, sampler per argument)
CASES: list[tuple[str, Callable[..., Any], Callable[..., Any], list[tuple[int, ...]],
                  list[Callable[[tuple[int, ...]], np.ndarray]]]] = []


def case(name: str, build: Callable[..., Any], ref: Callable[..., Any],
         shapes: list[tuple[int, ...]], samplers: list[Any] | None = None) -> None:
    normal = lambda s: RNG.normal(size=s)  # noqa: E731
    CASES.append((name, build, ref, shapes, samplers or [normal] * len(shapes)))


sq = lambda s: _square(s[0])  # noqa: E731
case("trace", sb.trace, np.trace, [(3, 3)])
case("trace 3-d", sb.trace, np.trace, [(2, 2, 3)])
case("det", sb.det, np.linalg.det, [(3, 3)], [sq])
case("logdet", sb.logdet, lambda m: np.log(np.linalg.det(m)), [(3, 3)], [sq])
case("inv", sb.inv, np.linalg.inv, [(3, 3)], [sq])
case("inv transposed", lambda m: inv_op(m, transpose=True), lambda m: np.linalg.inv(m).T,
     [(3, 3)], [sq])
case("solve vector", sb.solve, np.linalg.solve, [(3, 3), (3,)], [sq, None])
case("solve matrix", sb.solve, np.linalg.solve, [(3, 3), (3, 2)], [sq, None])
case("diag of vector", sb.diag, np.diag, [(3,)])
case("diag of square", sb.diag, np.diag, [(3, 3)])
case("diag of wide", sb.diag, np.diag, [(2, 4)])
case("diag of tall", sb.diag, np.diag, [(4, 2)])
case("dot mv", sb.dot, np.dot, [(2, 3), (3,)])
case("dot vv", sb.dot, np.dot, [(3,), (3,)])
case("dot scalar", sb.dot, np.dot, [(), (3,)])
case("reshape", lambda x: sb.reshape(x, (3, -1)), lambda x: np.reshape(x, (3, -1)), [(2, 6)])
case("reshape flat", lambda x: sb.reshape(x, -1), lambda x: np.reshape(x, -1), [(2, 3)])
case("stack axis 0", lambda a, b: sb.stack([a, b]), lambda a, b: np.stack([a, b]),
     [(2, 3), (2, 3)])
case("stack axis -1", lambda a, b: sb.stack([a, b], axis=-1),
     lambda a, b: np.stack([a, b], axis=-1), [(3,), (3,)])
case("concatenate 0", lambda a, b: sb.concatenate([a, b]), lambda a, b: np.concatenate([a, b]),
     [(2, 3), (1, 3)])
case("concatenate 1", lambda a, b: sb.concatenate([a, b], axis=1),
     lambda a, b: np.concatenate([a, b], axis=1), [(2, 3), (2, 2)])
case("index int", lambda x: x[1], lambda x: x[1], [(3, 4)])
case("index mixed", lambda x: x[-1, 1:3, None], lambda x: x[-1, 1:3, None], [(3, 4)])
case("index step", lambda x: x[::-2, ...], lambda x: x[::-2, ...], [(5, 2)])
case("index ellipsis", lambda x: x[..., 0], lambda x: x[..., 0], [(2, 3, 4)])
case("tensordot", lambda a, b: tensordot(a, b, axes=([1, 2], [0, 1])),
     lambda a, b: np.tensordot(a, b, axes=([1, 2], [0, 1])), [(2, 3, 4), (3, 4, 2)])
case("tensordot 0", lambda a, b: tensordot(a, b, axes=0),
     lambda a, b: np.tensordot(a, b, axes=0), [(2,), (3,)])
case("where", lambda a, b: sb.where(a > b, a * b, a - b), lambda a, b: np.where(a > b, a * b, a - b),
     [(3,), (3,)])
case("outer", sb.outer, np.outer, [(3,), (2,)])

IDS = [c[0] for c in CASES]


def _setup(c: Any) -> tuple[list[sb.Expr], sb.Expr, list[np.ndarray]]:
    name, build, ref, shapes, samplers = c
    syms = [sb.tensor(f"a{i}", s) for i, s in enumerate(shapes)]
    vals = [(smp or (lambda s: RNG.normal(size=s)))(s) for smp, s in zip(samplers, shapes)]
    return syms, build(*syms), vals


@pytest.mark.parametrize("c", CASES, ids=IDS)
def test_shape_and_value_match_numpy(c: Any) -> None:
    syms, y, vals = _setup(c)
    want = np.asarray(c[2](*vals))
    assert y.shape == want.shape
    got = sb.lambdify(syms, y)(*vals)
    assert_close(got, want, rtol=1e-12, atol=1e-12, what=c[0])


@pytest.mark.parametrize("c", CASES, ids=IDS)
def test_gradient_and_second_derivative_against_finite_differences(c: Any) -> None:
    """First derivatives of ⟨y, U⟩ and the Hessian of ⟨y, U⟩ + ⟨y, y⟩/2 in every argument."""
    syms, y, vals = _setup(c)
    U = RNG.normal(size=y.shape)
    u = sb.const(U)
    loss = sb.sum(y * u) + 0.5 * sb.sum(y * y)
    ref = c[2]

    def f(*args: np.ndarray) -> float:
        r = np.asarray(ref(*args))
        return float(np.sum(r * U) + 0.5 * np.sum(r * r))

    grads = sb.grad(loss, syms)
    got = sb.lambdify(syms, grads)(*vals)
    for i, g in enumerate(got):
        assert_close(g, numeric_grad(f, vals, i), rtol=1e-5, atol=1e-7, what=f"{c[0]} d/da{i}")
    for i, x in enumerate(syms):
        H = sb.hessian(loss, x)
        gfun = sb.lambdify(syms, grads[i])
        want = numeric_jacobian(lambda *a: gfun(*a), vals, i)
        assert_close(sb.lambdify(syms, H)(*vals), want, rtol=1e-5, atol=1e-6,
                     what=f"{c[0]} Hessian in a{i}")


@pytest.mark.parametrize("c", CASES, ids=IDS)
def test_forward_tangent_against_finite_differences(c: Any) -> None:
    syms, y, vals = _setup(c)
    vs = [sb.tensor(f"v{i}", s.shape) for i, s in enumerate(syms)]
    dirs = [RNG.normal(size=s.shape) for s in syms]
    t = sb.jvp(y, syms, vs)
    got = sb.lambdify(syms + vs, t)(*vals, *dirs)
    h = 1e-6
    ref = c[2]
    plus = ref(*[v + h * d for v, d in zip(vals, dirs)])
    minus = ref(*[v - h * d for v, d in zip(vals, dirs)])
    assert_close(got, (np.asarray(plus) - np.asarray(minus)) / (2 * h), rtol=1e-6, atol=1e-8)


# ----------------------------------------------------------------------------- shape errors


@pytest.mark.parametrize("fn", [sb.trace, sb.det, sb.logdet, sb.inv])
def test_square_matrix_functions_reject_non_square_at_build_time(fn: Any) -> None:
    X = sb.matrix("X", 3, 4)
    with pytest.raises(sb.ShapeError, match=r"square.*\(3, 4\)"):
        fn(X)
    with pytest.raises(sb.ShapeError):
        fn(sb.vector("v", 3))


def test_shape_errors_name_the_op_and_shapes() -> None:
    A, v = sb.matrix("A", 3, 3), sb.vector("v", 4)
    cases = [
        (lambda: sb.solve(A, v), "solve"),
        (lambda: sb.diag(sb.tensor("T", (2, 2, 2))), "diag"),
        (lambda: sb.diag(sb.matrix("R", "n", "m")), "diag"),
        (lambda: sb.reshape(A, (2, -1)), "reshape"),
        (lambda: sb.reshape(A, (-1, -1)), "reshape"),
        (lambda: sb.stack([A, v]), "stack"),
        (lambda: sb.concatenate([A, sb.matrix("B", 3, 2)], axis=0), "concatenate"),
        (lambda: sb.concatenate([sb.vector("p", "n"), sb.vector("q", "n")]), "concatenate"),
        (lambda: A[3], "out of bounds"),
        (lambda: A[0, 0, 0], "too many"),
        (lambda: sb.matrix("S", "n", 2)[1:], "symbolic"),
        (lambda: tensordot(A, v, axes=([1], [0])), "tensordot"),
        (lambda: sb.dot(sb.tensor("T", (2, 2, 2)), A), "dot"),
    ]
    for build, msg in cases:
        with pytest.raises(sb.ShapeError, match=msg):
            build()


def test_bad_indices_are_clear_errors() -> None:
    x = sb.vector("x", 4)
    # (an int list is integer-array indexing since issue 11: x[[0, 1]] is a gather)
    for bad in (x, [0.5, 1], 1.5, True, slice(0, 2, 0), slice(x, 2)):
        with pytest.raises(sb.SymbackError):
            x[bad]
    with pytest.raises(sb.SymbackError, match="ellipsis"):
        sb.matrix("M", 2, 2)[..., ...]
    with pytest.raises(sb.SymbackError, match="list"):
        sb.stack(x)


# ----------------------------------------------------------------------------- identities


def test_build_time_simplifications() -> None:
    X = sb.matrix("X", 3, 3)
    x = sb.vector("x", 3)
    assert sb.inv(sb.inv(X)) is X
    assert sb.inv(X.T) is inv_op(X, transpose=True)
    assert sb.inv(sb.inv(X.T)) is X.T
    assert sb.det(X.T) is sb.det(X) and sb.logdet(X.T) is sb.logdet(X)
    assert sb.trace(X.T) is sb.trace(X)
    assert X[...] is X and X[:, :] is X and x[0:3] is x and X[0, :] is X[0]
    assert x[-1] is x[2]
    assert X @ eye(3) is X and eye(3) @ x is x
    assert sb.reshape(sb.reshape(X, (9,)), (3, 3)) is X
    # over a transpose (which NumPy's reshape copies) the inner reshape stays, to be shared
    inner = sb.reshape(X.T, (9,))
    outer = sb.reshape(inner, (1, 9))
    assert outer.args[0] is inner
    xv = np.arange(9.0).reshape(3, 3)
    np.testing.assert_array_equal(sb.lambdify([X], outer)(xv), xv.T.reshape(1, 9))
    assert sb.dot(x, X) is x @ X


def test_reshape_with_symbolic_sizes() -> None:
    X = sb.matrix("X", "n", 3)
    with pytest.raises(sb.ShapeError, match="spell"):  # -1 would be n*3: no such size
        sb.reshape(X, (-1,))
    flat = sb.reshape(sb.tensor("T", ("n", 1, 2)), ("n", -1))
    assert flat.shape == ("n", 2)
    back = sb.reshape(sb.matrix("M", 2, "n"), (-1, "n"))
    assert back.shape == (2, "n")
    f = sb.lambdify([sb.tensor("T", ("n", 1, 2))], flat)
    assert f(np.ones((5, 1, 2))).shape == (5, 2)


def test_index_scatter_is_the_adjoint_of_indexing() -> None:
    """⟨x[idx], u⟩ = ⟨x, scatter(u)⟩ for random x and u."""
    x = sb.matrix("x", 4, 5)
    for idx in [(1,), (slice(1, 4), None, -1), (Ellipsis, slice(None, None, 2)), (None, 2, 3)]:
        sel = x[idx]
        u = sb.tensor("u", sel.shape)
        back = index_scatter(u, shape=x.shape, index=sel.kw["index"])
        xv, uv = RNG.normal(size=(4, 5)), RNG.normal(size=sel.shape)
        a, b = sb.lambdify([x, u], [sb.sum(sel * u), sb.sum(x * back)])(xv, uv)
        assert abs(float(a) - float(b)) < 1e-12


def test_logdet_is_stable_and_never_wrong() -> None:
    X = sb.matrix("X", 3, 3)
    f = sb.lambdify([X], sb.logdet(X))
    assert "slogdet" in f.source
    big = np.diag([1e200, 1e200, 1e200])
    assert_close(f(big), 3 * np.log(1e200), rtol=1e-12)  # det overflows, log det does not
    assert np.isnan(f(np.diag([1.0, -1.0, 1.0])))  # log of a negative determinant
    assert f(np.zeros((3, 3))) == -np.inf


def test_solve_uses_a_solver_not_an_inverse() -> None:
    A, b = sb.matrix("A", 3, 3), sb.vector("b", 3)
    src = sb.lambdify([A, b], [sb.solve(A, b), sb.grad(sb.sum(sb.solve(A, b)), A)]).source
    assert "np.linalg.solve" in src and "np.linalg.inv" not in src


def test_float32_stays_float32() -> None:
    X = sb.matrix("X", 3, 3, dtype="float32")
    outs = [sb.det(X), sb.logdet(X), sb.inv(X), sb.trace(X), sb.diag(X), X[0], sb.grad(sb.det(X), X)]
    got = sb.lambdify([X], outs)(_square().astype(np.float32))
    assert all(g.dtype == np.float32 for g in got), [g.dtype for g in got]


def test_iterating_over_an_expression() -> None:
    x = sb.vector("x", 3)
    a, b, c = x
    assert a is x[0] and c is x[2]
    with pytest.raises(TypeError):
        iter(sb.symbols("s"))
    with pytest.raises(TypeError):
        list(sb.vector("y", "n"))


# ----------------------------------------------------------------------------- notations


def test_text_notation_reads_like_numpy() -> None:
    X, x = sb.matrix("X", 3, 3), sb.vector("x", 4)
    assert str(x[0]) == "x[0]" and str(X[1:, None]) == "X[1:, None]"
    assert str(X[..., ::-1]) == "X[:, ::-1]"
    assert str(sb.inv(X.T)) == "inv(transpose(X))"
    assert str(sb.trace(X)) == "trace(X)" and str(sb.logdet(X)) == "logdet(X)"
    assert str(sb.concatenate([x, x])) == "concatenate([x, x], axis=0)"


def test_latex_notation() -> None:
    X, A = sb.matrix("X", 3, 3), sb.matrix("A", 3, 3)
    x = sb.vector("x", 3)
    assert sb.latex(sb.trace(X)) == r"\operatorname{tr}(X)"
    assert sb.latex(sb.det(X)) == r"\det(X)"
    assert sb.latex(sb.logdet(X)) == r"\log\det(X)"
    assert sb.latex(sb.inv(X)) == "X^{-1}"
    assert sb.latex(sb.inv(X.T)) == "X^{-T}"
    assert sb.latex(sb.diag(x)) == r"\operatorname{diag}(x)"
    assert sb.latex(sb.grad(sb.logdet(X), X)) == "X^{-T}"
    assert sb.latex(sb.grad(sb.trace(A @ X), X)) == "A^{T}"
    assert r"\begin{bmatrix} X & A \end{bmatrix}" == sb.latex(sb.concatenate([X, A], axis=1))
    assert sb.latex(x[0]) == "x_{0}"
    inv_t = sb.latex(sb.transpose(sb.inv(X @ A)))  # never X^{-1}^{T}
    assert inv_t == "(X A)^{-T}", inv_t


def test_sympy_counterparts() -> None:
    n = 3
    M = sympy.MatrixSymbol("M", n, n)
    v = sympy.MatrixSymbol("v", n, 1)
    ops = sb.ops.REGISTRY
    assert ops["trace"].sympy(M) == sympy.Trace(M)
    assert ops["det"].sympy(M) == sympy.Determinant(M)
    assert ops["logdet"].sympy(M) == sympy.log(sympy.Determinant(M))
    assert ops["inv"].sympy(M, transpose=False) == sympy.Inverse(M)
    assert ops["inv"].sympy(M, transpose=True) == sympy.Inverse(M).T
    assert ops["solve"].sympy(M, v) == sympy.Inverse(M) * v
    assert ops["diag"].sympy(v).shape == (n, n)
    assert ops["diag"].sympy(M).shape == (n, 1)
    assert ops["eye"].sympy(n=n) == sympy.Identity(n)
    assert ops["concatenate"].sympy(M, M, axis=1).shape == (n, 2 * n)
    assert ops["getitem"].sympy(M, index=(("i", 0), ("i", 2))) == M[0, 2]
    # the SymPy forms agree with NumPy on numbers
    Mv = _square()
    sub = {M: sympy.Matrix(Mv)}
    assert abs(float(sympy.Determinant(M).subs(sub).doit()) - np.linalg.det(Mv)) < 1e-9


def test_parse_knows_the_matrix_functions() -> None:
    e = sb.parse("trace(inv(X) @ A) + logdet(X)", shapes={"X": (3, 3), "A": (3, 3)})
    X, A = sb.matrix("X", 3, 3), sb.matrix("A", 3, 3)
    assert e is sb.trace(sb.inv(X) @ A) + sb.logdet(X)
