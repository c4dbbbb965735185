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
        cg.MINIMAL_PARENS = False
        grouped = sb.lambdify(args, outs, **kw).source
    finally:
        cg.MINIMAL_PARENS = True
    return grouped, sb.lambdify(args, outs, **kw).source


def test_generated_code_has_the_same_syntax_tree_with_fewer_parentheses() -> None:
    x, y = sb.symbols("x y")
    v = sb.vector("v", 3)
    outs = [-(x - y) ** -x ** 2 - x / (y / x), sb.where(x < y, -x, x ** 2) * -y,
            (x ** y) ** 2, -(x ** 2), (-x) ** 2, x - (y - x), x / (y * x), x % (y + 1.0)]
    for check in (True, False):
        grouped, minimal = _both([x, y], outs, check=check)
        assert ast.dump(ast.parse(grouped)) == ast.dump(ast.parse(minimal))
        assert len(minimal) < len(grouped)
    grouped, minimal = _both([v, x], [sb.sum(v * v) ** 2, -(v @ v), (v @ v) - (v * x)[0]])
    assert ast.dump(ast.parse(grouped)) == ast.dump(ast.parse(minimal))
    # readable: a sum of products is written as one
    src = sb.lambdify([x, y], sb.sin(x) * x + sb.cos(x) * y).source
    assert "np.sin(x) * x + np.cos(x) * y" in src


def test_minimal_parentheses_values() -> None:
    x, y = sb.symbols("x y")
    f = sb.lambdify([x, y], [-(x - y) ** 2 - x / (y / x), (x ** y) ** 2 - x ** y ** 2,
                             x - (y - x) - (x - y)])
    a, b = 1.3, 0.7
    want = [-(a - b) ** 2 - a / (b / a), (a ** b) ** 2 - a ** b ** 2, a - (b - a) - (a - b)]
    np.testing.assert_allclose([float(v) for v in f(a, b)], want, rtol=1e-15)
