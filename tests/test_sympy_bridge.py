"""to_sympy / from_sympy: round trips compared by value at random points, gradients against
sympy.diff of the converted expression, the sigmoid/softplus/relu SymPy functions, matrix
expressions, and clear errors where SymPy has no form."""

from __future__ import annotations

import operator

import numpy as np
import pytest
import sympy
from hypothesis import given, settings
from hypothesis import strategies as st
from sympy.codegen import cfunctions

import symback as sb
from symback.sympy_functions import relu, sigmoid, softplus

x, y, z = sb.symbols("x y z")
SX, SY, SZ = sympy.symbols("x y z", real=True)
# δ(t), from differentiating sign: zero at the random points the tests draw
NUMPY = [{"DiracDelta": lambda t, *k: np.zeros_like(t)}, "numpy"]
X = sb.matrix("X", 3, 3)
W = sb.matrix("W", 3, 2)
Y = sb.matrix("Y", 3, 2)
v = sb.vector("v", 3)
w = sb.vector("w", 3)


# --------------------------------------------------------------------------- evaluation helpers


def sb_value(e: sb.Expr, env: dict[str, np.ndarray]) -> np.ndarray:
    syms = sb.free_symbols(e)
    f = sb.lambdify(syms, e)
    return np.asarray(f(*(np.reshape(env[s.name], s.shape) for s in syms)), dtype=float)


def sympy_value(e, env: dict[str, np.ndarray]) -> np.ndarray:
    """Evaluate a SymPy (matrix) expression by substituting numbers and calling doit()."""
    e = e.replace(lambda t: isinstance(t, sympy.DiagonalOf),  # SymPy cannot subs inside it
                  lambda t: sympy.Matrix([[t.arg[i, i]] for i in range(t.shape[0])]))
    subs = {}
    for s in e.free_symbols:
        if isinstance(s, sympy.MatrixSymbol):
            val = np.asarray(env[str(s.name)], dtype=float).reshape(tuple(int(d) for d in s.shape))
            subs[s] = sympy.ImmutableMatrix(val)
        elif isinstance(s, sympy.Symbol):
            subs[s] = sympy.Float(float(env[s.name]))
    out = e.xreplace(subs)
    out = out.replace(lambda t: isinstance(t, sympy.OneMatrix), lambda t: sympy.ones(*t.shape))
    out = out.replace(lambda t: isinstance(t, sympy.HadamardPower),  # doit() leaves it be
                      lambda t: sympy.Matrix(t.base.doit()).applyfunc(lambda q: q ** t.exp))
    out = out.doit()
    if hasattr(out, "as_explicit"):
        out = out.as_explicit()
    return np.array(sympy.N(out), dtype=float)


def random_env(rng: np.random.Generator, positive: bool = False) -> dict[str, np.ndarray]:
    def draw(shape):
        r = rng.uniform(0.3, 2.0, size=shape) if positive else rng.normal(size=shape)
        return r
    env = {n: draw(()) for n in "xyz"}
    env.update(X=draw((3, 3)) + 3 * np.eye(3), W=draw((3, 2)), Y=draw((3, 2)),
               v=draw((3,)), w=draw((3,)))
    return env


# --------------------------------------------------------------------------- scalars


SCALAR_CASES = [
    3 * (x + y * z), x / (y * z), x - y, -x ** 2, x ** -1.5, 1 / sb.sqrt(x), x ** y, 2.5 * x,
    x / 3, sb.exp(-x) / (1 + x ** 2), sb.log(x) + sb.log1p(y) + sb.expm1(z),
    sb.sin(x) * sb.cos(y) - sb.tan(z) + sb.tanh(x), sb.abs(x - y) * sb.sign(z - x),
    sb.sigmoid(x) * sb.softplus(y) + sb.relu(z - 1), sb.maximum(x, y) - sb.minimum(y, z),
    sb.where(x > y, x * y, z), sb.where(x <= 1, sb.exp(x), sb.log(x)), sb.sqrt(x * x + y),
]


@pytest.mark.parametrize("e", SCALAR_CASES, ids=str)
def test_scalar_round_trip_by_value(e):
    s = sb.to_sympy(e)
    back = sb.from_sympy(s)
    f = sympy.lambdify([SX, SY, SZ], s, NUMPY)
    rng = np.random.default_rng(1)
    for _ in range(5):
        env = random_env(rng, positive=True)
        ref = sb_value(e, env)
        assert float(f(env["x"], env["y"], env["z"])) == pytest.approx(float(ref), rel=1e-12)
        assert float(sb_value(back, env)) == pytest.approx(float(ref), rel=1e-12)


@pytest.mark.parametrize("e", SCALAR_CASES, ids=str)
def test_gradients_agree_with_sympy_diff(e):
    s = sb.to_sympy(e)
    rng = np.random.default_rng(2)
    grads = sb.grad(e, [x, y, z])
    for _ in range(4):
        env = random_env(rng, positive=True)
        for var, sym, g in zip((x, y, z), (SX, SY, SZ), grads):
            ref = sympy.lambdify([SX, SY, SZ], sympy.diff(s, sym), NUMPY)
            want = float(ref(env["x"], env["y"], env["z"]))
            assert float(sb_value(g, env)) == pytest.approx(want, rel=1e-9, abs=1e-12), var


def test_structure_survives_when_sympy_keeps_it():
    for e in [x / (y * z), x - y, -x ** 2, sb.sqrt(x) / y, sb.where(x > 0, y, z),
              sb.maximum(x, y), x ** -1.5, 1 / sb.sqrt(x), x / 3, sb.abs(x) * sb.sign(y),
              sb.sigmoid(x) * sb.softplus(y) + sb.relu(z)]:
        assert sb.from_sympy(sb.to_sympy(e)) is e, str(e)
    assert sb.from_sympy(sb.to_sympy(3 * (x + y * z), evaluate=False)) is 3 * (x + y * z)


SAFE_UNARY = [sb.exp, sb.sin, sb.cos, sb.tanh, sb.sigmoid, sb.softplus, sb.relu, sb.abs,
              operator.neg, lambda t: sb.sqrt(t * t + 1), lambda t: sb.log(t * t + 1),
              lambda t: sb.log1p(sb.exp(t)), lambda t: sb.expm1(t / 4)]
SAFE_BINARY = [operator.add, operator.sub, operator.mul,
               lambda s, t: s / (t * t + 1), lambda s, t: sb.maximum(s, t),
               lambda s, t: sb.minimum(s, t), lambda s, t: sb.where(s > t, s, t * 2)]

SCALARS = st.recursive(
    st.sampled_from([x, y, z]) | st.sampled_from([1, 2, 0.5, -1.5]).map(sb.const),
    lambda sub: st.one_of(
        st.tuples(st.sampled_from(SAFE_UNARY), sub).map(lambda t: t[0](t[1])),
        st.tuples(st.sampled_from(SAFE_BINARY), sub, sub).map(lambda t: t[0](t[1], t[2]))),
    max_leaves=5,
)


@settings(max_examples=15)
@given(SCALARS, st.integers(0, 2**32 - 1))
def test_random_scalar_expressions_round_trip_by_value_and_gradient(e, seed):
    e = sb.as_expr(e)
    env = random_env(np.random.default_rng(seed))
    s = sb.to_sympy(e)
    back = sb.from_sympy(s)
    ref = float(sb_value(e, env))
    args = [env["x"], env["y"], env["z"]]
    assert float(sympy.lambdify([SX, SY, SZ], s, NUMPY)(*args)) == pytest.approx(
        ref, rel=1e-9, abs=1e-12)
    assert float(sb_value(back, env)) == pytest.approx(ref, rel=1e-9, abs=1e-12)
    gx = float(sb_value(sb.grad(e, x), env))
    want = float(sympy.lambdify([SX, SY, SZ], sympy.diff(s, SX), NUMPY)(*args))
    if np.isfinite(want):
        assert gx == pytest.approx(want, rel=1e-7, abs=1e-9), str(e)


# --------------------------------------------------------------------------- SymPy -> symback


@pytest.mark.parametrize("s", [
    SX / SY, SX - 2 * SY, sympy.Rational(2, 3) * SX, SX ** sympy.Rational(3, 2),
    sympy.sqrt(SX) + 1 / sympy.sqrt(SY), sympy.pi * SX + sympy.E, sympy.Float(0.1) * SX,
    sympy.Max(SX, SY, SZ), sympy.Min(SX, 1), sympy.Abs(SX - SY), sympy.sign(SX - 1),
    sympy.Piecewise((SX, SX > 1), (SY, SY < 1), (SZ, True)), sympy.Heaviside(SX - 1),
    sympy.sinh(SX) + sympy.cosh(SY), sympy.cot(SX) + sympy.sec(SY) + sympy.csc(SZ),
    sympy.log(SX, 2), sympy.exp(-SX ** 2 / 2), SX ** -2 * SY ** 3 / SZ,
    sigmoid(SX) + softplus(SY) + relu(SZ - 1), sympy.tanh(SX) * sympy.atan2(1, 1),
    cfunctions.log1p(SX) - cfunctions.expm1(SY),
    sympy.Symbol("x") * 2,  # a symbol without assumptions converts too
])
def test_from_sympy_by_value(s):
    e = sb.from_sympy(s)
    f = sympy.lambdify([SX, SY, SZ], s, NUMPY)
    rng = np.random.default_rng(3)
    for _ in range(4):
        env = random_env(rng, positive=True)
        want = float(f(env["x"], env["y"], env["z"]))
        assert float(sb_value(e, env)) == pytest.approx(want, rel=1e-12)


def test_from_sympy_makes_readable_expressions():
    assert sb.from_sympy(SX / SY) is x / y
    assert sb.from_sympy(SX - SY) is x - y
    assert sb.from_sympy(SX ** -2 * SY) is y / x ** 2
    assert sb.from_sympy(1 / sympy.sqrt(SX)) is 1 / sb.sqrt(x)
    assert sb.from_sympy(sympy.Integer(3)) is sb.const(3)
    assert sb.from_sympy(2.5) is sb.const(2.5)


def test_from_sympy_shapes_make_scalar_formulas_elementwise():
    e = sb.from_sympy(sympy.exp(SX) / (1 + SX ** 2), shapes={"x": (3,)})
    assert e.shape == (3,)
    xs = np.array([0.1, -0.5, 2.0])
    assert sb.lambdify([sb.vector("x", 3)], e)(xs) == pytest.approx(np.exp(xs) / (1 + xs ** 2))


# --------------------------------------------------------------------------- custom functions


def test_custom_functions_rewrite_print_and_differentiate():
    t = sympy.Symbol("t", real=True)
    assert sigmoid(t).rewrite(sympy.exp) == 1 / (1 + sympy.exp(-t))
    assert softplus(t).rewrite(sympy.exp) == sympy.log(1 + sympy.exp(t))
    assert relu(t).rewrite(sympy.Max) == sympy.Max(t, 0)
    assert sympy.latex(sigmoid(t)) == r"\sigma\left(t\right)"
    assert sympy.latex(sigmoid(t) ** 2) == r"\sigma^{2}\left(t\right)"
    assert sympy.latex(softplus(t)) == r"\operatorname{softplus}\left(t\right)"
    assert sympy.latex(relu(t)) == r"\operatorname{relu}\left(t\right)"
    for f in (sigmoid, softplus, relu):
        d = sympy.diff(f(t), t)
        exact = sympy.diff(f(t).rewrite(sympy.Max if f is relu else sympy.exp), t)
        for val in (-1.3, 0.4, 2.2):
            assert float(d.subs(t, val)) == pytest.approx(float(exact.subs(t, val)))
    assert sympy.diff(relu(t), t).subs(t, 0) == 0  # relu'(0) = 0, as symback's convention
    assert sigmoid(0) == sympy.Rational(1, 2) and relu(-2) == 0
    assert float(softplus(t).subs(t, 1).evalf()) == pytest.approx(np.log1p(np.e))


def test_custom_functions_lambdify_to_numpy():
    t = sympy.Symbol("t", real=True)
    f = sympy.lambdify(t, sigmoid(t) + softplus(t) + relu(t), NUMPY)
    ts = np.array([-1.0, 0.5, 3.0])
    assert f(ts) == pytest.approx(1 / (1 + np.exp(-ts)) + np.log1p(np.exp(ts)) + np.maximum(ts, 0))


# --------------------------------------------------------------------------- matrices


MATRIX_CASES = [
    X @ W, X.T @ X, X @ v, v @ X, v @ w, sb.outer(v, w), sb.sum(v), sb.sum(X, axis=0),
    sb.sum(X, axis=1), sb.mean(X, axis=0, keepdims=True), X + v, v * x, sb.exp(v) + 1,
    X / X.T, 1 / X, X ** -2, 2 ** X, sb.sum(sb.sigmoid(X @ W)), sb.mean((X @ W - Y) ** 2),
    sb.tanh(X @ W) * Y - x, sb.trace(X), sb.det(X), sb.inv(X) @ v, sb.logdet(X),
    sb.solve(X, W), sb.diag(v), sb.diag(X), sb.sum(X, axis=(0, 1), keepdims=True),
]


@pytest.mark.parametrize("e", MATRIX_CASES, ids=str)
def test_matrix_round_trip_by_value(e):
    s = sb.to_sympy(e)
    back = sb.from_sympy(s)
    env = random_env(np.random.default_rng(4))
    ref = sb_value(e, env)
    assert sympy_value(s, env).ravel() == pytest.approx(ref.ravel(), rel=1e-10, abs=1e-12)
    assert sb_value(back, env).ravel() == pytest.approx(ref.ravel(), rel=1e-10, abs=1e-12)


def test_matrix_expressions_use_sympy_classes():
    s = sb.to_sympy(sb.sum(sb.sigmoid(X @ W)))
    assert isinstance(s, sympy.Trace)
    assert s.has(sympy.MatrixSymbol("X", 3, 3)) and s.atoms(sympy.MatMul)
    assert isinstance(sb.to_sympy(X * X.T), sympy.HadamardProduct)
    assert isinstance(sb.to_sympy(X ** 2), sympy.HadamardPower)
    assert isinstance(sb.to_sympy(X.T), sympy.Transpose)
    assert isinstance(sb.to_sympy(X + X.T), sympy.MatAdd)
    assert isinstance(sb.to_sympy(sb.inv(X)), sympy.Inverse)
    assert sb.from_sympy(sb.to_sympy(X @ W)) is X @ W
    assert sb.from_sympy(sb.to_sympy(sb.sum(sb.sigmoid(X @ W)))) is sb.sum(sb.sigmoid(X @ W))


def test_seed_e3_gradient_agrees_with_sympy_matrix_calculus():
    """L = Σ σ(X W): SymPy's own matrix derivative of the converted L equals symback's dL/dW."""
    L = sb.sum(sb.sigmoid(X @ W))
    d = sympy.diff(sb.to_sympy(L), sympy.MatrixSymbol("W", 3, 2))
    env = random_env(np.random.default_rng(5))
    assert sympy_value(d, env) == pytest.approx(sb_value(sb.grad(L, W), env), rel=1e-10)
    back = sb.from_sympy(d)
    assert sb_value(back, env) == pytest.approx(sb_value(sb.grad(L, W), env), rel=1e-10)


def test_symbolic_dimensions_round_trip():
    A = sb.matrix("A", "n", "m")
    B = sb.matrix("B", "m", 2)
    s = sb.to_sympy(A @ B)
    n = sympy.Symbol("n", integer=True, positive=True)
    assert s.shape[0] == n
    assert sb.from_sympy(s) is A @ B


# --------------------------------------------------------------------------- errors


def test_what_sympy_cannot_hold_is_a_clear_error():
    T = sb.tensor("T", (2, 3, 4))
    with pytest.raises(sb.SymbackError, match="3 dimensions|at most 2"):
        sb.to_sympy(sb.sum(T))
    with pytest.raises(sb.SymbackError, match="softmax"):
        sb.to_sympy(sb.sum(sb.softmax(X)))
    with pytest.raises(sb.SymbackError, match="maximum"):
        sb.to_sympy(sb.sum(sb.maximum(X, 0.0)))
    with pytest.raises(sb.SymbackError, match="Integral"):
        sb.from_sympy(sympy.Integral(SX, SX))
    with pytest.raises(sb.SymbackError, match="complex"):
        sb.from_sympy(SX + sympy.I)
    with pytest.raises(sb.SymbackError, match="sb.parse"):
        sb.from_sympy("x + 1")  # text is never sympified
    with pytest.raises(sb.SymbackError, match="indexing"):
        sb.from_sympy(sympy.MatrixSymbol("A", 3, 3)[0, 1])


# --------------------------------------------------------------------------- deep graphs


def test_deep_chain_converts_both_ways_without_recursion():
    e = x
    for i in range(5_000):  # far beyond Python's recursion limit of 1000
        e = sb.sin(e) + 1 if i % 2 else sb.exp(e) * 2
    s = sb.to_sympy(e, evaluate=False)
    assert sb.from_sympy(s) is e
    with pytest.raises(sb.SymbackError, match="evaluate=False"):
        sb.to_sympy(e)  # SymPy's evaluating constructors recurse: a clear error, not a crash
    wide = sympy.Add(*sympy.symbols("t0:20000"))
    chain = sb.from_sympy(wide)
    assert len(sb.toposort([chain])) == 2 * 20_000 - 1


def test_from_sympy_does_not_change_how_other_expressions_convert():
    """The user's own symbols come back for the expression from_sympy returned, and only for
    it: a conversion of plain SymPy symbols once made every later to_sympy of symback's
    own (real) symbols return the user's non-real ones (sympy.diff by a real x gave 0)."""
    plain = sympy.Symbol("x")
    e = sympy.exp(plain) * plain
    assert sympy.simplify(sb.to_sympy(sb.from_sympy(e)) - e) == 0
    mine = sb.symbols("x")
    assert sb.to_sympy(mine) == sympy.Symbol("x", real=True)
    assert sb.to_sympy(mine * 2) == 2 * sympy.Symbol("x", real=True)
    # the same formula built from symback's own symbols is another expression (as in SymPy,
    # a plain x and a real x are different variables), so it still converts to real symbols
    built = sb.exp(mine) * mine
    assert built is not sb.from_sympy(e)
    assert sb.to_sympy(built) == sympy.exp(sympy.Symbol("x", real=True)) * sympy.Symbol(
        "x", real=True)
