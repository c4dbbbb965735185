"""Megabyte texts through ``sb.parse``: a result or a ``ParseError``, never a crash.

No timing assertions here (benchmarks measure speed); these tests pin the outcome of
each large or deep input, the limits ``max_nodes`` / ``max_depth`` and what folding a
run of signs gives, and that nothing in a large text executes.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import symback as sb
from symback.parse import MAX_DEPTH, MAX_NODES, tokenize

MB = 1 << 20
x, y = sb.symbols("x y")


def outcome(text: str, **kw: object) -> object:
    try:
        return sb.parse(text, **kw)  # type: ignore[arg-type]
    except sb.ParseError as e:
        assert e.position is not None
        assert len(str(e)) < 2000  # a window of the text, not the megabyte
        return e
    except Exception as e:  # noqa: BLE001 - the point of the test
        raise AssertionError(f"{type(e).__name__}: {str(e)[:200]}") from e


def _distinct_sum(nbytes: int) -> str:
    parts, n, k = [], 0, 0
    while n < nbytes:
        t = f"x{k} + "
        parts.append(t)
        n += len(t)
        k += 1
    return "".join(parts) + "x"


ERRORS = {
    "plus": ("+" * MB, "expected an expression"),
    "parens_empty": ("(" * (MB // 2) + ")" * (MB // 2), "nested too deeply"),
    "open": ("(" * MB, "nested too deeply"),
    "close": (")" * MB, "expected an expression"),
    "brackets": ("[" * (MB // 2) + "]" * (MB // 2), "nested too deeply"),
    "distinct_sum": (_distinct_sum(MB), "expression too large"),
    "sum": ("x+" * (MB // 2) + "x", "expression too large"),
    "product": ("x*" * (MB // 2) + "x", "expression too large"),
    "power": ("x**" * (MB // 3) + "x", "expression too large"),
    "calls": ("sin(" * (MB // 5) + "x" + ")" * (MB // 5), "expression too large"),
    "commas": ("x," * (MB // 2), "expression too large"),
    "args": ("maximum(" + "x," * (MB // 2) + "x)", "expression too large"),
    "numbers": ("1+" * (MB // 2) + "1", "expression too large"),
    "garbage": ("@#$" * (MB // 3), "expected an expression"),
    "unicode": ("∑" * (MB // 3), "unexpected character"),
    "ops": ("*/" * (MB // 2), "expression too large"),  # limits are checked first
    "names": ("x " * (MB // 2), "expected an operator"),
    "newlines": ("x\n" * (MB // 2), "only one expression"),
}


@pytest.mark.parametrize("kind", sorted(ERRORS))
def test_megabyte_texts_give_a_parse_error(kind: str) -> None:
    text, words = ERRORS[kind]
    out = outcome(text)
    assert isinstance(out, sb.ParseError), out
    assert words in out.message


def test_megabyte_texts_that_parse() -> None:
    assert sb.parse("-" * (MB - 1) + "x") is -x  # an odd run of signs
    assert sb.parse("-" * (MB - 2) + "x") is x
    assert sb.parse("+-" * (MB // 2 - 1) + "x") is -x
    assert sb.parse("a" * MB).name == "a" * MB
    assert sb.parse("\n" * (MB // 2) + "x + y" + "\n" * (MB // 2)) is x + y
    s = sb.parse("x+" * 20_000 + "y")  # under the default limit: a real sum
    assert s.op.name == "add" and s.shape == ()


def test_deep_nesting_within_the_limits() -> None:
    n = 100_000
    assert sb.parse("(" * n + "x" + ")" * n) is x
    e = outcome("(" * (MAX_DEPTH + 1) + "x" + ")" * (MAX_DEPTH + 1))
    assert isinstance(e, sb.ParseError) and e.position == MAX_DEPTH
    assert sb.parse("(" * (n + 1) + "x" + ")" * (n + 1), max_depth=None) is x


def test_limits_are_parameters() -> None:
    text = "x+" * 100 + "x"
    e = outcome(text, max_nodes=50)
    assert isinstance(e, sb.ParseError) and "max_nodes" in e.message
    assert e.position == text.index("+") + 2 * 50  # the 51st operator
    assert sb.parse(text, max_nodes=100) == sb.parse(text, max_nodes=None)
    assert sb.parse("- - - - x", max_nodes=1) is x  # a run of signs counts once
    e = outcome("sin(sin(sin(x)))", max_depth=2)
    assert isinstance(e, sb.ParseError) and e.position == 8 and "max_depth" in e.message
    assert sb.parse("sin(sin(x))", max_depth=2) is sb.sin(sb.sin(x))
    for bad in (0, -1, 1.5, True, "10"):
        with pytest.raises(sb.SymbackError):
            sb.parse("x", max_nodes=bad)  # type: ignore[arg-type]
    assert MAX_NODES >= 32_768


@pytest.mark.parametrize("signs", ["-", "--", "---", "+-", "-+", "++", "-+-", "--+--", "+"])
def test_folded_sign_runs_equal_python(signs: str) -> None:
    """A run of unary signs folds, and gives what Python gives for the same text."""
    for operand, value in (("x", x), ("sin(x)", sb.sin(x)), ("(x + y)", x + y), ("2", 2),
                           ("2.5", 2.5), ("True", sb.const(True))):
        ref = value
        for s in reversed(signs):
            ref = -ref if s == "-" else +ref  # type: ignore[operator]
        got = sb.parse(signs + operand)
        want = ref if isinstance(ref, sb.Expr) else sb.const(ref)
        assert got is want, (signs + operand, got, want)
        assert sb.parse(f"y * {signs}{operand}") is sb.parse(f"y * ({signs}{operand})")
        assert sb.parse(f"{signs}{operand} ** 2") is sb.parse(f"{signs}({operand} ** 2)")


def test_tokenizer_on_tricky_pieces() -> None:
    kinds = [(t.kind, t.text) for t in tokenize("x.T + .5 ** 2 >= αβ\n")]
    assert kinds == [("NAME", "x"), ("OP", "."), ("NAME", "T"), ("OP", "+"), ("NUM", ".5"),
                     ("OP", "**"), ("NUM", "2"), ("OP", ">="), ("NAME", "αβ"), ("END", "")]
    for text, pos, words in [("x // y", 2, "floor division"), ("x -> y", 2, "'->'"),
                             ("a << 2", 2, "'<<'"), ("1.5.5", 0, "malformed number"),
                             ("2x", 0, "malformed number"), ("1²", 0, "malformed number"),
                             ("x + ∑", 4, "unexpected character"),
                             ("a² + 1", 0, "not a valid name"),
                             ("x\ny", 1, "only one expression")]:
        e = outcome(text)
        assert isinstance(e, sb.ParseError) and e.position == pos and words in e.message, \
            (text, e)


def test_nothing_in_a_megabyte_string_executes(tmp_path: Path) -> None:
    marker = tmp_path / "marker"
    payload = f"__import__('os').system('touch {marker}')"
    for text in (" " * MB + payload, "x + " * 1000 + payload + " " * MB,
                 "(" * 50_000 + payload + ")" * 50_000, payload * (MB // len(payload))):
        out = outcome(text)
        assert isinstance(out, sb.ParseError)
        assert not marker.exists()
