"""Command-line behaviour of issue 12 point 6: one-line errors with command-line advice,
--onehot, svg/png pictures, LaTeX names, "did you mean", no silent NaN from numbers."""

from __future__ import annotations

import importlib.util
import shutil

import pytest

import symback as sb
from symback.cli import main


def run(argv: list[str], capsys) -> tuple[int, str, str]:  # type: ignore[no-untyped-def]
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def test_singular_matrix_at_values_is_one_line_exit_2(capsys) -> None:  # type: ignore
    code, out, err = run(["grad", "logdet(A)", "--wrt", "A", "--shape", "A=2,2",
                          "--at", "A=[[1,2],[2,4]]"], capsys)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and "singular" in err and "internal error" not in err


def test_onehot_prints_softmax_minus_labels(capsys) -> None:  # type: ignore
    argv = ["grad", "-mean(sum(Y * log_softmax(X @ W), axis=1))", "--wrt", "W",
            "--shape", "X=n,4", "Y=n,3", "W=4,3"]
    code, out, _ = run(argv, capsys)
    assert code == 0 and "dL/dW = X.T @ (softmax(X @ W) * sum(Y, axis=1, keepdims=True)" \
        " - Y) / n" in out
    code, out, _ = run(argv + ["--onehot", "Y"], capsys)
    assert code == 0 and "dL/dW = X.T @ (softmax(X @ W) - Y) / n" in out
    code, out, _ = run(argv + ["--onehot", "Y", "--latex"], capsys)
    assert r"\frac{1}{n} X^{T} (\operatorname{softmax}(X W) - Y)" in out
    code, _, err = run(argv + ["--onehot", "Z"], capsys)
    assert code == 2 and "--onehot Z" in err


def test_latex_names_agree_between_fraction_and_body(capsys) -> None:  # type: ignore
    code, out, _ = run(["grad", "sum(W1 * X) + sum(W1 ** 2)", "--wrt", "W1", "--shape", "W1=2,2",
                        "X=2,2", "--latex"], capsys)
    assert code == 0
    assert r"\frac{\partial L}{\partial W_{1}}" in out and "W_{1}" in out.splitlines()[1]
    assert "W1" not in out


def test_non_scalar_formula_gives_command_line_advice(capsys) -> None:  # type: ignore
    code, _, err = run(["grad", "sigmoid(v)", "--wrt", "v", "--shape", "v=3"], capsys)
    assert code == 2 and "sb." not in err and "sum(sigmoid(v))" in err


@pytest.mark.parametrize("text, want", [("sigmod(x)", "sigmoid"), ("softmx(x)", "softmax"),
                                        ("Exp(x)", "exp"), ("logsumexpp(x)", "logsumexp")])
def test_did_you_mean(text: str, want: str, capsys) -> None:  # type: ignore
    with pytest.raises(sb.ParseError, match=f"did you mean '{want}'"):
        sb.parse(text)
    code, _, err = run(["grad", text, "--wrt", "x"], capsys)
    assert code == 2 and f"did you mean '{want}'" in err


@pytest.mark.parametrize("text", ["(-2) ** 0.5", "sqrt(-1.0) + x", "log(-1) * x", "x + (-8.0) ** (1/3)"])
def test_numbers_that_give_nan_are_an_error(text: str, capsys) -> None:  # type: ignore
    with pytest.raises(sb.ParseError, match="NaN"):
        sb.parse(text)
    code, out, err = run(["grad", text, "--wrt", "x"], capsys)
    assert code == 2 and out == "" and "NaN" in err


def test_a_written_nan_stays_allowed() -> None:
    assert "nan" in str(sb.parse("nan * x"))


def test_graph_svg_and_png(tmp_path, capsys) -> None:  # type: ignore
    argv = ["graph", "sum(sigmoid(X @ W))", "--wrt", "W", "--shape", "X=3,3", "W=3,2"]
    have = importlib.util.find_spec("graphviz") is not None and shutil.which("dot") is not None
    code, out, err = run(argv + ["--format", "svg"], capsys)
    # SVG never needs Graphviz: without it symback's own drawer makes the picture
    assert code == 0 and out.lstrip().startswith(("<?xml", "<svg")), err
    code, out, err = run(argv + ["--format", "png", "-o", str(tmp_path / "g.png")], capsys)
    if have:
        png = tmp_path / "g.png"
        code, out, err = run(argv + ["--format", "png", "-o", str(png)], capsys)
        assert code == 0 and png.read_bytes()[:4] == b"\x89PNG"
    else:  # PNG does need Graphviz: one line saying which part is missing
        assert code == 2 and err.count("\n") == 1
        part = "'graphviz' is not installed" if importlib.util.find_spec("graphviz") is None \
            else "'dot' program is not on the PATH"
        assert part in err
    code, _, err = run(argv + ["--format", "png"], capsys)
    assert code == 2 and "-o FILE.png" in err
