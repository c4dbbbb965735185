"""A catalogue of user mistakes: each raises the right type, with a message a person can act on.

Every entry asserts the exception type and the words the message must contain:
the op (or function) that refused, the shapes involved, the argument named.
The command line turns each mistake it can express into one line on stderr
and exit status 2 (no traceback, nothing on stdout).
"""

from __future__ import annotations

import subprocess
import sys
from typing import Any, Callable

import numpy as np
import pytest

import symback as sb

X = sb.matrix("X", 3, 4)
W = sb.matrix("W", 5, 2)
v = sb.vector("v", 3)
A = sb.matrix("A", "n", 4)
B = sb.matrix("B", "m", 4)
u = sb.vector("u", "n")
x, y = sb.symbols("x y")


def _f(args: list[Any], expr: Any) -> Any:
    return sb.lambdify(args, expr)


# name -> (mistake, exception type, substrings the message must contain)
CATALOGUE: dict[str, tuple[Callable[[], Any], type, list[str]]] = {
    # shapes at build time: the op and both shapes
    "matmul inner dims": (lambda: X @ W, sb.ShapeError, ["matmul", "(3, 4)", "(5, 2)"]),
    "add broadcast": (lambda: X + W, sb.ShapeError, ["add", "(3, 4)", "(5, 2)"]),
    "symbolic sizes differ": (lambda: A + B, sb.ShapeError, ["add", "(n, 4)", "(m, 4)"]),
    "mul vector": (lambda: X * v, sb.ShapeError, ["mul", "(3, 4)", "(3,)"]),
    "maximum": (lambda: sb.maximum(X, W), sb.ShapeError, ["maximum", "(3, 4)", "(5, 2)"]),
    "where": (lambda: sb.where(X > 0, X, W), sb.ShapeError, ["where", "(3, 4)", "(5, 2)"]),
    # (sb.outer flattens a matrix, as np.outer does, since issue 11)
    "cross of 2-vectors": (lambda: sb.cross(sb.vector("p", 2), sb.vector("q", 2)), sb.ShapeError,
                           ["cross", "(2,)"]),
    "matmul of scalars": (lambda: x @ y, sb.ShapeError, ["matmul", "()"]),
    "solve non-square": (lambda: sb.solve(X, v), sb.ShapeError, ["solve", "(3, 4)"]),
    "inv non-square": (lambda: sb.inv(X), sb.ShapeError, ["inv", "(3, 4)"]),
    "det non-square": (lambda: sb.det(X), sb.ShapeError, ["det", "(3, 4)"]),
    "concatenate": (lambda: sb.concatenate([X, W], axis=0), sb.ShapeError,
                    ["concatenate", "(3, 4)", "(5, 2)"]),
    "stack": (lambda: sb.stack([X, W]), sb.ShapeError, ["stack", "(3, 4)", "(5, 2)"]),
    "reshape size": (lambda: sb.reshape(X, (5, 5)), sb.ShapeError, ["reshape", "(3, 4)", "(5, 5)"]),
    "index out of bounds": (lambda: X[5], sb.ShapeError, ["5", "size 3"]),
    "substitute shape": (lambda: sb.substitute(X, {X: W}), sb.ShapeError,
                         ["substitute", "(3, 4)", "(5, 2)"]),
    # bad axes: the op and the axis
    "sum axis range": (lambda: sb.sum(X, axis=2), sb.ShapeError, ["sum", "axis 2", "2 dim"]),
    "softmax axis range": (lambda: sb.softmax(X, axis=-3), sb.ShapeError, ["softmax", "-3"]),
    "mean axis float": (lambda: sb.mean(X, axis=1.0), sb.ShapeError, ["mean", "1.0"]),
    "axis repeated": (lambda: sb.logsumexp(X, axis=(1, -1)), sb.ShapeError,
                      ["logsumexp", "repeated"]),
    "axis as text": (lambda: sb.sum(X, axis="1"), sb.ShapeError, ["sum", "'1'"]),
    "transpose axes": (lambda: sb.transpose(X, axes=(0, 0)), sb.ShapeError,
                       ["transpose", "(0, 0)", "(3, 4)"]),
    # wrong argument counts and values at build time
    "op arity": (lambda: sb.sin(X, X), sb.SymbackError, ["sin", "1 argument", "got 2"]),
    "string in expression": (lambda: x + "a", sb.SymbackError, ["str", "'a'"]),
    "complex constant": (lambda: x * 1j, sb.SymbackError, ["complex"]),
    "truth value": (lambda: bool(x > y), sb.SymbackError, ["truth value", "where"]),
    # names and symbols
    "symbol name": (lambda: sb.symbols("1x"), sb.SymbackError, ["'1x'", "identifier"]),
    "reserved name": (lambda: sb.tensor("_t", (2,)), sb.SymbackError, ["'_t'", "reserved"]),
    "symbols of an int": (lambda: sb.symbols(3), sb.SymbackError, ["symbols", "int"]),
    "symbol dtype": (lambda: sb.tensor("z", (2,), dtype="int32"), sb.SymbackError,
                     ["z", "int32", "float64"]),
    "symbol dtype text": (lambda: sb.tensor("z", (2,), dtype="foo"), sb.SymbackError,
                          ["z", "'foo'"]),
    "negative dimension": (lambda: sb.tensor("z", (-1,)), sb.ShapeError, ["z", "-1"]),
    "shape None": (lambda: sb.tensor("z", None), sb.ShapeError, ["z", "None"]),
    "dimension float": (lambda: sb.tensor("z", (1.5,)), sb.ShapeError, ["z", "1.5"]),
    "unknown function": (lambda: sb.parse("foo(x)"), sb.ParseError, ["foo", "known functions"]),
    "unknown keyword": (lambda: sb.parse("sum(x, axes=1)"), sb.ParseError, ["axes"]),
    "parse position": (lambda: sb.parse("x + * y"), sb.ParseError, ["position 4"]),
    # differentiation
    "grad of non-scalar": (lambda: sb.grad(X * 2, X), sb.SymbackError,
                           ["grad", "scalar", "(3, 4)", "jacobian"]),
    "grad wrt a number": (lambda: sb.grad(sb.sum(X), 3), sb.SymbackError, ["wrt", "int"]),
    "grad wrt list item": (lambda: sb.grad(sb.sum(X), [X, "W"]), sb.SymbackError,
                           ["wrt[1]", "str"]),
    "hessian of non-scalar": (lambda: sb.hessian(X, X), sb.SymbackError, ["hessian", "(3, 4)"]),
    "value_and_grad of non-scalar": (lambda: sb.value_and_grad(X, X), sb.SymbackError,
                                     ["scalar", "(3, 4)"]),
    "explain of non-scalar": (lambda: sb.explain(X, X), sb.SymbackError, ["explain", "(3, 4)"]),
    # compiling
    "lambdify missing argument": (lambda: _f([X], sb.sum(X) + x), sb.SymbackError,
                                  ["lambdify", "depend on x", "not among args"]),
    "lambdify non-symbol": (lambda: _f([X * 2], sb.sum(X)), sb.SymbackError,
                            ["args[0]", "not a symbol", "2 * X"]),
    "lambdify string arg": (lambda: _f(["X"], sb.sum(X)), sb.SymbackError,
                            ["args[0]", "not a symbol", "'X'"]),
    "lambdify repeated": (lambda: _f([X, X], sb.sum(X)), sb.SymbackError, ["'X'", "twice"]),
    "value_and_grad args": (lambda: sb.value_and_grad(sb.sum(X), X, args=[W]), sb.SymbackError,
                            ["depend on X"]),
    # calling: the argument, the shapes, the count
    "call argument count": (lambda: _f([X, v], sb.sum(X) + sb.sum(v))(np.ones((3, 4))),
                            sb.SymbackError, ["2 argument", "X, v", "got 1"]),
    "call shape": (lambda: _f([X], sb.sum(X))(np.ones((4, 3))), sb.ShapeError,
                   ["argument X", "(3, 4)", "(4, 3)"]),
    "call rank": (lambda: _f([X], sb.sum(X))(np.ones(12)), sb.ShapeError,
                  ["argument X", "(3, 4)", "(12,)"]),
    "call scalar given array": (lambda: _f([x], x * 2)(np.ones(3)), sb.ShapeError,
                                ["argument x", "()", "(3,)"]),
    "call symbolic size": (lambda: _f([A, u], sb.sum(A) + sb.sum(u))(np.ones((2, 4)), np.ones(3)),
                           sb.ShapeError, ["argument u", "(n,)", "n = 2", "(3,)"]),
    "call dtype text": (lambda: _f([X], sb.sum(X))(np.full((3, 4), "a")), sb.SymbackError,
                        ["argument X", "numbers", "<U1"]),
    "call dtype complex": (lambda: _f([X], sb.sum(X))(np.ones((3, 4)) * 1j), sb.SymbackError,
                           ["argument X", "complex128"]),
    "call None": (lambda: _f([x], x * 2)(None), sb.SymbackError, ["argument x", "object"]),
    "call string": (lambda: _f([x], x * 2)("1.5"), sb.SymbackError, ["argument x"]),
}


@pytest.mark.parametrize("name", sorted(CATALOGUE))
def test_user_mistake_gives_an_actionable_error(name: str) -> None:
    mistake, etype, words = CATALOGUE[name]
    with pytest.raises(etype) as info:
        mistake()
    msg = str(info.value)
    missing = [w for w in words if w not in msg]
    assert not missing, f"{name}: message {msg!r} does not name {missing}"
    assert isinstance(info.value, sb.SymbackError), f"{name}: {type(info.value)} is not a SymbackError"
    assert len(msg.splitlines()[0]) < 400, f"{name}: first line too long: {msg[:500]}"


def test_shape_errors_carry_op_and_shapes_as_data() -> None:
    with pytest.raises(sb.ShapeError) as info:
        X @ W
    assert info.value.op == "matmul" and info.value.shapes == ((3, 4), (5, 2))
    assert isinstance(info.value, ValueError)


def test_parse_error_has_position_and_caret() -> None:
    with pytest.raises(sb.ParseError) as info:
        sb.parse("sin(x) * * y")
    e = info.value
    assert isinstance(e, ValueError) and e.position == 9
    assert e.caret_line == " " * 9 + "^"


def test_errors_never_come_from_assert() -> None:
    """Under ``python -O`` (asserts removed) the same mistakes still raise SymbackError."""
    code = (
        "import numpy as np, symback as sb\n"
        "X = sb.matrix('X', 3, 4); W = sb.matrix('W', 5, 2)\n"
        "for f in (lambda: X @ W, lambda: sb.grad(X, X), lambda: sb.sum(X, axis=3),\n"
        "          lambda: sb.lambdify([X], sb.sum(X))(np.ones(3))):\n"
        "    try:\n"
        "        f(); print('no error')\n"
        "    except sb.SymbackError as e:\n"
        "        print(type(e).__name__)\n"
    )
    out = subprocess.run([sys.executable, "-O", "-c", code], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["ShapeError", "SymbackError", "ShapeError", "ShapeError"]


# --------------------------------------------------------------------------- the command line

CLI_MISTAKES: dict[str, tuple[list[str], list[str]]] = {
    "build shapes": (["grad", "sum(X @ W)", "--wrt", "X", "--shape", "X=3,4", "W=5,2"],
                     ["matmul", "(3, 4)", "(5, 2)"]),
    "non-scalar": (["grad", "X * 2", "--wrt", "X", "--shape", "X=3,4"], ["scalar", "(3, 4)"]),
    "unknown function": (["grad", "foo(x)", "--wrt", "x"], ["foo"]),
    "bad axis": (["grad", "sum(softmax(X, axis=3))", "--wrt", "X", "--shape", "X=2,3"],
                 ["softmax", "axis 3"]),
    "unknown wrt": (["grad", "x*y", "--wrt", "z"], ["z"]),
    "call shape": (["grad", "sum(X*X)", "--wrt", "X", "--shape", "X=2,2", "--at", "X=1,2,3"],
                   ["X", "(2, 2)", "(3,)"]),
    "missing value": (["grad", "x*y", "--wrt", "x", "--at", "x=1"], ["y"]),
    "bad number": (["grad", "x*y", "--wrt", "x", "--at", "x=abc", "y=2"], ["abc"]),
    "syntax": (["grad", "x +", "--wrt", "x"], ["position"]),
    "bad shape spec": (["grad", "x", "--wrt", "x", "--shape", "x=-1"], ["-1"]),
    "symbolic size": (["grad", "sum(X)", "--wrt", "X", "--shape", "X=n,2", "--at", "X=1,2,3"],
                      ["X", "(n, 2)", "(3,)"]),
    "no wrt": (["grad", "x*y"], ["--wrt"]),
    "explain non-scalar": (["explain", "X*2", "--wrt", "X", "--shape", "X=2,2"], ["scalar"]),
}


@pytest.mark.parametrize("name", ["build shapes", "call shape", "unknown function"])
def test_cli_turns_each_mistake_into_one_line_and_status_2(name: str) -> None:
    """Through the real entry point (a subprocess); every mistake in-process below."""
    argv, words = CLI_MISTAKES[name]
    proc = subprocess.run([sys.executable, "-m", "symback", *argv], capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 2, (name, proc.returncode, proc.stderr)
    assert proc.stdout == "", proc.stdout
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, f"{name}: stderr has {len(lines)} lines:\n{proc.stderr}"
    assert "Traceback" not in proc.stderr
    missing = [w for w in words if w not in lines[0]]
    assert not missing, f"{name}: {lines[0]!r} does not name {missing}"


def test_cli_in_process_for_speed(capsys) -> None:  # type: ignore[no-untyped-def]
    """The same contract through ``symback.cli.main`` (no subprocess)."""
    from symback.cli import main

    for name, (argv, words) in CLI_MISTAKES.items():
        status = main(argv)
        captured = capsys.readouterr()
        assert status == 2 and captured.out == "", name
        lines = captured.err.strip().splitlines()
        assert len(lines) == 1, f"{name}: {captured.err}"
        missing = [w for w in words if w not in lines[0]]
        assert not missing, f"{name}: {lines[0]!r} does not name {missing}"
