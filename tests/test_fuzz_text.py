"""Hostile and broken text: the parser, symbol names, and generated source.

* ``sb.parse`` on random bytes, random Unicode and token soup either returns an
  expression or raises ``ParseError`` (``ShapeError``, also a ``ValueError``
  with the position, for well-formed text whose shapes do not fit); never
  another exception, never a crash.
* 100,000 nested parentheses and 1 MB inputs give a result or a ``ParseError``.
* Nothing in a string ever executes: payloads that would leave a file behind
  leave none (through ``parse`` and through the command line).
* Symbol names cannot inject code: ``sb.symbols``/``sb.tensor`` refuse
  non-identifiers, and names that clash with generated names or with NumPy
  (also after Unicode NFKC normalisation, which is how Python reads them)
  still compile to the right numbers.
* ``parse(to_text(e, exact=True)) is e`` whenever the text printer's output is in the
  parser's grammar (random DAGs from tests/strategies.py); the display form that
  ``str`` prints is tested in tests/test_text_roundtrip.py.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from strategies import dags, fuzz_settings, random_case

import symback as sb

OK_ERRORS = (sb.ParseError, sb.ShapeError)


def parse_outcome(text: str, shapes: dict | None = None) -> object:
    """The parse result, or the ParseError/ShapeError it raised; anything else fails the test."""
    try:
        return sb.parse(text, shapes)
    except OK_ERRORS as e:
        assert "position" in str(e), f"{type(e).__name__} without a position: {e}"
        return e
    except Exception as e:  # noqa: BLE001 - the point of the test
        raise AssertionError(f"parse({text[:200]!r}) raised {type(e).__name__}: {e}") from e


# --------------------------------------------------------------------------- random text

VOCAB = [
    "x", "y", "W", "X", "a1", "α", "ｘ", "np", "os", "sum", "sin", "exp", "log", "sigmoid",
    "softmax", "where", "maximum", "reshape", "stack", "concatenate", "transpose", "inv",
    "axis", "keepdims", "True", "False", "None", "inf", "nan", "lambda", "import", "__import__",
    "_x", "__class__", "0", "1", "2", "-1", "3.5", "1e308", "1e999", "1e-320", "0x10", "1_000",
    "9" * 30, ".5", "5.", "+", "-", "*", "/", "**", "@", "//", "%", "^", "<", ">", "<=", ">=",
    "==", "!=", "=", "(", ")", "[", "]", "{", "}", ",", ".", ".T", ":", ";", "'", '"', "#",
    "\\", "\n", "\t", " ", "\x00", "\u200b", "\ufeff", "…", "·", "−", "×", "÷", "√", "∑",
]


@fuzz_settings(ci=150, long=4000)
@given(st.binary(max_size=200))
def test_fuzz_parse_random_bytes(data: bytes) -> None:
    parse_outcome(data.decode("latin-1"))
    parse_outcome(data.decode("utf-8", errors="replace"))


@fuzz_settings(ci=150, long=4000)
@given(st.text(max_size=120))
def test_fuzz_parse_random_unicode(text: str) -> None:
    parse_outcome(text)


@fuzz_settings(ci=250, long=8000)
@given(st.lists(st.sampled_from(VOCAB), max_size=40), st.sampled_from(["", " "]))
def test_fuzz_parse_token_soup(tokens: list[str], sep: str) -> None:
    text = sep.join(tokens)
    out = parse_outcome(text)
    out2 = parse_outcome(text, {"W": (2, 3), "X": ("n", 2), "x": (3,)})
    if isinstance(out, sb.Expr):
        assert sb.parse(text) is out  # deterministic and interned


@fuzz_settings(ci=60, long=2000)
@given(dags())
def test_fuzz_parse_of_printed_text_is_identity(case) -> None:  # type: ignore[no-untyped-def]
    """parse(to_text(e, exact=True)) is e, or a ParseError for printer output outside the
    grammar."""
    if case.dtype != "float64":
        return
    shapes = {s.name: s.shape for s in case.leaves}
    for o in case.outputs:
        out = parse_outcome(sb.to_text(o, exact=True), shapes)
        if isinstance(out, sb.Expr):
            assert out is o, f"parse(to_text(e, exact=True)) is another expression:\n{o}\n{out}"
        else:
            assert isinstance(out, sb.ParseError), f"{str(o)!r}: {out}"


def test_parse_round_trip_rate_on_random_graphs() -> None:
    """Most printed random graphs parse back to themselves (the rest: known gaps)."""
    rng = np.random.default_rng(11)
    same = total = 0
    for _ in range(120):
        case = random_case(rng)
        shapes = {s.name: s.shape for s in case.leaves}
        for o in case.outputs:
            total += 1
            out = parse_outcome(sb.to_text(o, exact=True), shapes)
            if isinstance(out, sb.Expr):
                assert out is o
                same += 1
    assert same >= 0.6 * total, f"only {same} of {total} printed graphs parse back"


# --------------------------------------------------------------------------- size and depth


def test_parse_100k_nested_parentheses() -> None:
    n = 100_000
    x = sb.symbols("x")
    assert sb.parse("(" * n + "x" + ")" * n) is x
    assert isinstance(parse_outcome("(" * n + "x" + ")" * (n - 1)), sb.ParseError)
    assert isinstance(parse_outcome("(" * n + ")" * n), sb.ParseError)
    assert isinstance(parse_outcome(")" * n), sb.ParseError)


def test_parse_deep_calls_and_unary_chains() -> None:
    n = 20_000
    x = sb.symbols("x")
    y = sb.parse("sin(" * n + "x" + ")" * n)
    assert y.op.name == "sin" and len(sb.toposort([y])) == n + 1
    assert sb.parse("-" * 100_000 + "x") is x
    assert isinstance(parse_outcome("sin(" * n + "x" + ")" * (n - 1)), sb.ParseError)


@pytest.mark.parametrize("kind", ["garbage", "identifier", "digits", "spaces", "commas",
                                  "operators", "parens", "unicode", "sum"])
def test_parse_one_megabyte_inputs(kind: str) -> None:
    mb = 1 << 20
    texts = {
        "garbage": "@#$" * (mb // 3),
        "identifier": "a" * mb,
        "digits": "1" * mb,
        "spaces": " " * mb,
        "commas": "x," * (mb // 2),
        "operators": "+" * mb,
        "parens": "(" * (mb // 2) + ")" * (mb // 2),
        "unicode": "∑" * (mb // 3),
        "sum": "x+" * (mb // 32) + "x",  # 64 KB: a 32,768-term sum (a result, not an error)
    }
    out = parse_outcome(texts[kind])
    if kind == "identifier":
        assert isinstance(out, sb.Expr) and out.is_symbol
    elif kind == "sum":
        assert isinstance(out, sb.Expr) and out.shape == ()
    else:
        assert isinstance(out, sb.ParseError)
        assert len(str(out)) < 2000  # the message shows a window, not the megabyte


# --------------------------------------------------------------------------- nothing executes


def _payloads(marker: Path) -> list[str]:
    m = str(marker)
    return [
        f"__import__('os').system('touch {m}')",
        f"open('{m}', 'w').write('pwned')",
        f"exec(\"open('{m}','w')\")",
        f"eval(\"open('{m}','w')\")",
        f"x + __import__('pathlib').Path('{m}').touch()",
        f"().__class__.__base__.__subclasses__()[0]('{m}')",
        f"sin(x).__class__.__init__.__globals__['os'].system('touch {m}')",
        f"lambda: open('{m}', 'w')",
        f"[open('{m}','w') for _ in (1,)]",
        f"x if open('{m}','w') else y",
        f"(open('{m}','w'), x)[1]",
        f"f'{{open(\"{m}\",\"w\")}}'",
        f"x; open('{m}', 'w')",
        f"x\nopen('{m}', 'w')",
        f"sum(x, axis=open('{m}', 'w'))",
        f"np.save('{m}', 1)",
        f"breakpoint() or open('{m}','w')",
        f"Symbol('x') + sympify(\"open('{m}','w')\")",
        "__builtins__", "globals()", "print(1)", "exit()", "input()",
    ]


def test_nothing_in_a_string_ever_executes(tmp_path: Path, capsys) -> None:  # type: ignore
    marker = tmp_path / "marker"
    for payload in _payloads(marker):
        out = parse_outcome(payload)
        assert not isinstance(out, sb.Expr) or payload in ("__builtins__",), payload
        assert not marker.exists(), f"executed: {payload}"
    assert capsys.readouterr().out == ""


def test_nothing_executes_through_the_command_line(tmp_path: Path) -> None:
    marker = tmp_path / "marker"
    for payload in _payloads(marker)[:3]:
        proc = subprocess.run(
            [sys.executable, "-m", "symback", "grad", payload, "--wrt", "x"],
            capture_output=True, text=True, timeout=120)
        assert proc.returncode == 2, (payload, proc.returncode, proc.stderr)
        assert proc.stdout == ""
        assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr
        assert not marker.exists(), f"executed: {payload}"


# --------------------------------------------------------------------------- symbol names


@pytest.mark.parametrize("bad", ["1x", "a-b", "x;import os", "a.b", "", " ", "x y", "a(b)",
                                 "__import__", "_t", "x\n", "x=1", "é-", "\u200bx", "𝟘"])
def test_symbol_names_must_be_identifiers(bad: str) -> None:
    with pytest.raises(sb.SymbackError):
        sb.tensor(bad, (2,))
    if bad and not any(ch.isspace() or ch == "," for ch in bad):  # symbols() splits on those
        with pytest.raises(sb.SymbackError):
            sb.symbols(bad)


def test_symbol_names_that_are_not_strings() -> None:
    for bad in (3, None, b"x", ["x", 1]):
        with pytest.raises(sb.SymbackError):
            sb.symbols(bad)  # type: ignore[arg-type]


TRICKY = ["np", "sigmoid", "softplus", "logsumexp", "t0", "t1", "t2", "print", "lambda", "def",
          "None", "True", "float", "math", "x", "ｘ", "𝑥", "ｎｐ", "ｔ0", "α", "np_", "x_", "self",
          "threading", "len", "range", "exec", "eval", "object", "return", "yield", "await"]


def test_tricky_symbol_names_compile_to_the_right_numbers() -> None:
    syms = [sb.symbols(n) for n in TRICKY]
    assert len(set(syms)) == len(TRICKY)
    vals = [0.1 * (k + 1) for k in range(len(TRICKY))]
    y = sum((k + 1) * sb.sigmoid(s) + sb.exp(s) * s for k, s in enumerate(syms))
    f = sb.lambdify(syms, [y, *sb.grad(y, syms)])
    out = f(*vals)
    v = np.array(vals)
    k = np.arange(1, len(vals) + 1)
    sig = 1 / (1 + np.exp(-v))
    assert np.isclose(out[0], np.sum(k * sig + np.exp(v) * v))
    assert np.allclose(out[1:], k * sig * (1 - sig) + np.exp(v) * (v + 1))


def test_regression_nfkc_names_do_not_collide_in_generated_code() -> None:
    """Python reads 'ｘ' (fullwidth) as 'x' and 'ｎｐ' as 'np'; symback keeps them apart.

    Before the fix: symbols x and ｘ gave 'SyntaxError: duplicate argument', a symbol ｎｐ
    shadowed numpy inside the generated function, and sizes n and ｎ shared a variable.
    """
    x, fx = sb.symbols("x"), sb.symbols("ｘ")
    assert float(sb.lambdify([x, fx], x - fx)(1.0, 5.0)) == -4.0
    npx = sb.symbols("ｎｐ")
    assert float(sb.lambdify([npx], sb.exp(npx))(0.0)) == 1.0
    a, b = sb.tensor("a", ("n",)), sb.tensor("b", ("ｎ",))
    sa, sb_ = sb.lambdify([a, b], [sb.sum(a), sb.sum(b)])(np.ones(2), np.ones(3))
    assert (float(sa), float(sb_)) == (2.0, 3.0)


def test_generated_source_holds_no_user_text_outside_literals() -> None:
    """A symbol name reaches the source only as a validated identifier or a repr'd literal."""
    s = sb.tensor("ｘ", (2,))
    f = sb.lambdify([s], sb.sum(s * 2.0))
    assert "ｘ" not in f.source.replace(repr("ｘ"), "")
    assert float(f(np.ones(2))) == 4.0


def test_parse_shapes_with_hostile_entries() -> None:
    """Shapes are data: hostile sizes are refused, unused hostile names change nothing."""
    for bad in ("3; import os", "n m", "__import__('os')"):
        with pytest.raises(sb.ShapeError):
            sb.parse("sum(x)", {"x": (bad,)})
    assert sb.parse("sum(x)", {"x": (2,), "x; import os": (3,)}) is sb.sum(sb.tensor("x", (2,)))
