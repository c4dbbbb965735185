"""The leaner build: parentheses only where Python needs them, and huge graphs compiled
in pieces. Every check compares against an independent reference: Python's own parser
(the syntax tree of the minimally parenthesised source equals the fully parenthesised
one's), hand-derived derivatives and central finite differences."""

from __future__ import annotations

import ast

import numpy as np
import pytest

import symback as sb
import symback.codegen as cg
from symback.graph import iter_ops

# expressions of every precedence class (and some that are atoms)
_CHILDREN = ["a + b", "a - b", "a * b", "a / b", "a @ b", "a % b", "a ** b", "-a", "+a", "~a",
             "a < b", "not a", "a and b", "a or b", "a if b else c", "lambda: a", "a | b",
             "a & b", "a ^ b", "a << b", "f(a)", "a.b", "a[b]", "(-2.0)", "a", "1.5", "a, b"]


def _string_forms() -> list[tuple[str, str, int]]:
    out = []
    for op in iter_ops():
        for form in (op.numpy, op.scalar):
            if isinstance(form, str) and op.arity:
                try:
                    form.format(*["a"] * op.arity, **{k: "k" for k in ("shape", "axis", "axes", "k",
                                "decimals", "nan", "posinf", "neginf", "name", "value")})
                except (KeyError, IndexError):
                    continue
                out.append((op.name, form, op.arity))
    # forms of every syntactic kind, beyond the registered ops'
    out += [(f"t{i}", t, t.count("{")) for i, t in enumerate([
        "{0} ** {1}", "-{0}", "{0} < {1}", "not {0}", "{0} if {1} else {2}", "{0}.T",
        "{0}[{1}]", "({0}, {1})", "{0} and {1}", "{0} or {1}", "{0} - {1} - {2}",
        "f(*{0})", "{0}[1:{1}]", "{0} // {1}", "[{0}, {1}]", "{0} @ {1}.T"])]
    return out


@pytest.mark.parametrize("name,form,arity", _string_forms())
def test_minimal_parentheses_parse_as_the_grouped_text(name: str, form: str, arity: int) -> None:
    kw = {k: "2" for k in ("shape", "axis", "axes", "k", "decimals", "nan", "posinf",
                           "neginf", "name", "value")}
    marks = [cg._MARK.format(i) for i in range(arity)]
    own, needs = cg._form_shape(form.format(*marks, **kw), arity)
    for i in range(arity):
        for child in _CHILDREN:
            cprec = cg._expr_prec(ast.parse(child, mode="eval").body)
            texts = ["x"] * arity
            texts[i] = child if cprec >= needs[i] else f"({child})"
            grouped = ["x"] * arity
            grouped[i] = f"({child})"
            minimal = form.format(*texts, **kw)
            ref = form.format(*grouped, **kw)
            assert ast.dump(ast.parse(minimal)) == ast.dump(ast.parse(ref)), (form, child)
            # and the form's own text, written minimally inside every other slot kind
            for outer in ("{0} * y", "y ** {0}", "-{0}", "{0}.T", "f({0})", "{0} < y"):
                oown, oneeds = cg._form_shape(outer.format(cg._MARK.format(0)), 1)
                inner = minimal if own >= oneeds[0] else f"({minimal})"
                assert (ast.dump(ast.parse(outer.format(inner)))
                        == ast.dump(ast.parse(outer.format(f"({minimal})")))), (form, outer)


def _both(args: list[sb.Expr], outs: list[sb.Expr], **kw: object) -> tuple[str, str]:
    try:
        cg._MINIMAL_PARENS = False
        grouped = sb.lambdify(args, outs, **kw).source
    finally:
        cg._MINIMAL_PARENS = True
    return grouped, sb.lambdify(args, outs, **kw).source


def test_generated_code_has_the_same_syntax_tree_with_fewer_parentheses() -> None:
    x, y = sb.symbols("x y")
    v = sb.vector("v", 3)
    outs = [-(x - y) ** -x ** 2 - x / (y / x), sb.where(x < y, -x, x ** 2) * -y,
            (x ** y) ** 2, -(x ** 2), (-x) ** 2, x - (y - x), x / (y * x), x % (y + 1.0),
            # negative numbers: grouped only where a negation would be
            -2.5 * x + y, x ** -2.5, (-2.5) ** x, x - (-3.5) * y, sb.sin(-2.5 * x) % -1.5]
    for check in (True, False):
        grouped, minimal = _both([x, y], outs, check=check)
        assert ast.dump(ast.parse(grouped)) == ast.dump(ast.parse(minimal))
        assert len(minimal) < len(grouped)
    grouped, minimal = _both([v, x], [sb.sum(v * v) ** 2, -(v @ v), (v @ v) - (v * x)[0]])
    assert ast.dump(ast.parse(grouped)) == ast.dump(ast.parse(minimal))
    # an op whose form is a function that reads its arguments' text (pow: x * x for a name)
    xs = sb.symbols("a b c")
    f = sum(100 * (xs[i + 1] - xs[i] ** 2) ** 2 + (1 - xs[i]) ** 2 for i in range(2))
    grouped, minimal = _both(list(xs), [f, *sb.grad(f, list(xs))])
    assert ast.dump(ast.parse(grouped)) == ast.dump(ast.parse(minimal))
    # readable: a sum of products is written as one, a number times x as -2.5 * x
    src = sb.lambdify([x, y], sb.sin(x) * x + sb.cos(x) * y).source
    assert "np.sin(x) * x + np.cos(x) * y" in src
    assert "= -2.5 * x + y" in sb.lambdify([x, y], -2.5 * x + y).source


def test_minimal_parentheses_values() -> None:
    x, y = sb.symbols("x y")
    f = sb.lambdify([x, y], [-(x - y) ** 2 - x / (y / x), (x ** y) ** 2 - x ** y ** 2,
                             x - (y - x) - (x - y)])
    a, b = 1.3, 0.7
    want = [-(a - b) ** 2 - a / (b / a), (a ** b) ** 2 - a ** b ** 2, a - (b - a) - (a - b)]
    np.testing.assert_allclose([float(v) for v in f(a, b)], want, rtol=1e-15)
    h = sb.lambdify([x, y], [-2.5 * x + y, x ** -2.5, x - (-3.5) * y, (-2.0) ** (y * 2.0)])
    np.testing.assert_allclose([float(v) for v in h(a, 1.5)[:3]], [-2.5 * a + 1.5, a ** -2.5,
                               a - (-3.5) * 1.5], rtol=1e-15)
    assert float(h(a, 1.5)[3]) == pytest.approx((-2.0) ** 3.0, rel=1e-15)
    g = sb.lambdify([x, y], 100 * (y - x ** 2) ** 2 + (1 - x) ** 2)
    assert float(g(a, b)) == pytest.approx(100 * (b - a * a) ** 2 + (1 - a) ** 2, rel=1e-15)


# --------------------------------------------------------------------------- huge graphs


def _per_node(args: list[sb.Expr], outs: object, **kw: object) -> object:
    """lambdify writing one statement per node: where the numpy backend can group repeated
    scalar formulas (symback.vectorize), that is switched off, so that the statements
    are many and the chunks below are cut through them."""
    try:
        return sb.lambdify(args, outs, backend_options={"vectorize": False}, **kw)
    except sb.SymbackError as e:  # a numpy backend without that option
        if "backend_options" not in str(e):
            raise
        return sb.lambdify(args, outs, **kw)


def _w3(d: int) -> tuple[list[sb.Expr], sb.Expr]:
    x, y = sb.symbols("x y")
    z = x
    for _ in range(d):
        z = sb.sin(z) * z + sb.cos(z) * y
    return [x, y], z


def _w3_grad_hand(x: float, y: float, d: int) -> tuple[float, float]:
    """Reverse sweep by hand: ∂x_{k+1}/∂x_k = cos(x_k) x_k + sin(x_k)(1 − y), ∂x_{k+1}/∂y = cos(x_k)."""
    zs = [x]
    for _ in range(d):
        z = zs[-1]
        zs.append(np.sin(z) * z + np.cos(z) * y)
    zbar, ybar = 1.0, 0.0
    for k in range(d - 1, -1, -1):
        z = zs[k]
        ybar += zbar * np.cos(z)
        zbar *= np.cos(z) * z + np.sin(z) * (1.0 - y)
    return zbar, ybar


def test_segmented_compile_deep_chain_matches_hand_gradient(monkeypatch) -> None:  # type: ignore
    args, z = _w3(300)
    g = sb.grad(z, args)
    whole = _per_node(args, g)
    monkeypatch.setattr(cg, "_CHUNK_LINES", 97)
    seg = _per_node(args, g)
    monkeypatch.undo()
    assert seg.source.count("def _symback_chunk_") > 5 and "global " in seg.source
    assert "def _symback_chunk_" not in whole.source
    for x, y in [(0.3, 0.2), (-0.7, 0.45)]:
        want = _w3_grad_hand(x, y, 300)
        a, b = whole(x, y), seg(x, y)
        assert [float(v) for v in a] == [float(v) for v in b]  # the same statements
        np.testing.assert_allclose([float(v) for v in b], want, rtol=1e-10, atol=1e-300)
    # the source runs on its own, and concurrent calls keep their values apart
    ns: dict[str, object] = {}
    exec(seg.source, ns)  # noqa: S102 - symback's generated text
    np.testing.assert_allclose([float(v) for v in ns["_symback_fn"](0.3, 0.2)],  # type: ignore
                               _w3_grad_hand(0.3, 0.2, 300), rtol=1e-10)
    from concurrent.futures import ThreadPoolExecutor

    points = [(0.01 * i, 0.3 - 0.01 * i) for i in range(24)]
    with ThreadPoolExecutor(4) as pool:
        got = list(pool.map(lambda p: [float(v) for v in seg(*p)], points))
    for p, v in zip(points, got):
        np.testing.assert_allclose(v, _w3_grad_hand(*p, 300), rtol=1e-10, atol=1e-300)


def test_segmented_compile_wide_graph_matches_finite_differences(monkeypatch) -> None:  # type: ignore
    n = 400
    xs = list(sb.symbols([f"x{i}" for i in range(n)]))
    f: object = 0
    for i in range(n - 1):
        f = f + 100 * (xs[i + 1] - xs[i] ** 2) ** 2 + (1 - xs[i]) ** 2
    g = sb.grad(f, xs)
    monkeypatch.setattr(cg, "_CHUNK_LINES", 150)
    seg = _per_node(xs, g)
    fv = _per_node(xs, f)
    monkeypatch.undo()
    assert seg.source.count("def _symback_chunk_") >= 3
    # chunks cut by characters too (long inlined lines): the compiler's memory follows them
    monkeypatch.setattr(cg, "_CHUNK_SOURCE", 1_000)
    monkeypatch.setattr(cg, "_CHUNK_CHARS", 4_000)
    by_chars = _per_node(xs, g)
    monkeypatch.undo()
    assert by_chars.source.count("def _symback_chunk_") >= 3
    assert all(len(p) < 40_000 for p, _ in list(cg._pieces(by_chars._code))[1:-1])
    rng = np.random.default_rng(3)
    pt = rng.uniform(-1.0, 1.0, n)
    got = np.array([float(v) for v in seg(*pt)])
    assert [float(v) for v in by_chars(*pt)] == list(got)
    # arguments that are not Python floats are checked and converted as in one function
    assert [float(v) for v in seg(*[np.float32(v) if i % 2 else v for i, v in enumerate(pt)])
            ] == [float(v) for v in _per_node(xs, g)(
                *[np.float32(v) if i % 2 else v for i, v in enumerate(pt)])]
    with pytest.raises(sb.ShapeError, match="x3"):
        seg(*[np.ones(2) if i == 3 else v for i, v in enumerate(pt)])
    # hand-derived: −400 x_i (x_{i+1} − x_i²) − 2 (1 − x_i) [i < n−1] + 200 (x_i − x_{i−1}²) [i > 0]
    d = pt[1:] - pt[:-1] ** 2
    want = np.zeros(n)
    want[:-1] = -400.0 * pt[:-1] * d - 2.0 * (1.0 - pt[:-1])
    want[1:] += 200.0 * d
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-9)
    h = 1e-6
    for i in (0, 57, n - 1):  # central differences of the (segmented) value
        e = np.zeros(n)
        e[i] = h
        fd = (float(fv(*(pt + e))) - float(fv(*(pt - e)))) / (2 * h)
        assert abs(fd - got[i]) < 1e-4 * max(1.0, abs(got[i]))


def test_100k_node_graph_compiles_without_recursion() -> None:
    import sys

    args, z = _w3(2_400)  # 12k forward nodes; with the gradient ~34k, and with the
    g = sb.grad(z, args)  # mixed second derivative ∂²z/∂y∂x ~98k nodes in all
    gx = sb.grad(g[0], args[1])
    old = sys.getrecursionlimit()
    sys.setrecursionlimit(400)
    try:
        assert len(sb.toposort([z, *g, gx])) > 95_000
        f = _per_node(args, [z, *g, gx])
        vals = f(0.3, 0.2)
    finally:
        sys.setrecursionlimit(old)
    assert "def _symback_chunk_" in f.source
    np.testing.assert_allclose([float(v) for v in vals[1:3]], _w3_grad_hand(0.3, 0.2, 2_400),
                               rtol=1e-9, atol=1e-300)
    h = 1e-6  # ∂²z/∂y∂x by central differences of the hand gradient
    fd = (_w3_grad_hand(0.3, 0.2 + h, 2_400)[0] - _w3_grad_hand(0.3, 0.2 - h, 2_400)[0]) / (2 * h)
    assert abs(float(vals[3]) - fd) <= 1e-5 * max(1.0, abs(fd))


# --------------------------------------------------------------------------- rule pre-checks


def test_rule_test_with_only_ops_is_not_called_for_other_ops() -> None:
    from symback.rewrite import P, Rule, RuleSet, Var, rewrite

    calls: list[str] = []

    def number(e: sb.Expr) -> bool:
        calls.append(e.op.name)
        return e.is_const and e.shape == ()

    number.only_ops = ("const",)  # type: ignore[attr-defined]
    # c a + c b -> c (a + b), c a number
    rules = RuleSet("factor", (Rule(P("add", P("mul", Var("c", number), Var("a")),
                                           P("mul", Var("c"), Var("b"))),
                                    lambda c, a, b: c * (a + b), "factor"),))
    x, y, z = sb.symbols("x y z")
    kept = rewrite(x * y + x * z, rules)  # x is a symbol: the test is never asked
    assert kept is x * y + x * z and calls == []
    done = rewrite(2.0 * y + 2.0 * z, rules)
    assert done is 2.0 * (y + z) and calls and set(calls) == {"const"}
    vals = sb.lambdify([x, y, z], [done, kept])(0.5, 0.25, 1.5)
    assert float(vals[0]) == 2.0 * (0.25 + 1.5) and float(vals[1]) == 0.5 * 0.25 + 0.5 * 1.5
