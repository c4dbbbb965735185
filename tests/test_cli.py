"""The command line, run as a separate process: outputs, values at points, and one clear line
with exit status 2 for every user mistake (never a traceback)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

import symback as sb


def run(*args: str, cwd: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONIOENCODING": "utf-8"}
    env.pop("SYMBACK_DEBUG", None)
    return subprocess.run([sys.executable, "-m", "symback", *args], capture_output=True,
                          text=True, timeout=300, cwd=cwd, env=env)


def test_grad_seed_e1_at_7_4_2():
    a, b, c = sb.symbols("a b c")
    J = 3 * (a + b * c)
    ga, gb, gc = sb.grad(J, [a, b, c])
    r = run("grad", "3*(a + b*c)", "--wrt", "a", "b", "c", "--at", "a=7", "b=4", "c=2",
            "--name", "J")
    assert r.returncode == 0, r.stderr
    assert r.stderr == ""
    assert r.stdout.splitlines() == [
        "J = 3 * (a + b * c) = 45",
        f"dJ/da = {ga} = 3",
        f"dJ/db = {gb} = 6",
        f"dJ/dc = {gc} = 12",  # not the 9 of the source text (that is the value at b = 3)
    ]
    assert str(gc).replace(".0", "") == "3 * b"


def test_grad_without_values_prints_formulas():
    a, b, c = sb.symbols("a b c")
    gb, gc = sb.grad(3 * (a + b * c), [b, c])
    r = run("grad", "3*(a + b*c)", "--wrt", "b", "c")
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == ["L = 3 * (a + b * c)", f"dL/db = {gb}", f"dL/dc = {gc}"]
    r = run("grad", "L * J + f", "--wrt", "J")  # the output's default name avoids the formula's
    assert r.stdout.splitlines() == ["F = L * J + f", "dF/dJ = L"]


def test_grad_json_with_tensors_matches_numpy():
    """Seed E3: L = Σ σ(X W) with the seed's random X and W."""
    np.random.seed(190204)
    Xv, Wv = np.random.randn(3, 3), np.random.randn(3, 2)
    r = run("grad", "sum(sigmoid(X @ W))", "--wrt", "X", "W", "--shape", "X=3,3", "W=3,2",
            "--at", "X=" + json.dumps(Xv.tolist()), "W=" + json.dumps(Wv.tolist()),
            "--format", "json")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    S = 1 / (1 + np.exp(-(Xv @ Wv)))
    assert doc["value"] == pytest.approx(2.37549510, abs=1e-8)
    assert doc["value"] == pytest.approx(S.sum())
    gX, gW = doc["gradients"]
    assert gX["wrt"] == "X" and gX["shape"] == [3, 3]
    assert np.array(gX["value"]) == pytest.approx((S * (1 - S)) @ Wv.T)
    assert np.array(gX["value"])[0] == pytest.approx([0.24888872, -0.37478060, 0.01121963],
                                                     abs=1e-8)
    assert np.array(gW["value"]) == pytest.approx(Xv.T @ (S * (1 - S)))
    assert sb.parse(gW["exact"], {"X": (3, 3), "W": (3, 2)}) is sb.grad(
        sb.sum(sb.sigmoid(sb.matrix("X", 3, 3) @ sb.matrix("W", 3, 2))), sb.matrix("W", 3, 2))


def test_flat_values_fill_a_tensor_and_symbolic_sizes_bind():
    r = run("grad", "sum((X @ w - y) ** 2) / 2", "--wrt", "w", "--shape", "X=n,2", "w=2",
            "y=n", "--at", "X=1,2,3,4", "w=1,1", "y=0,0", "--format", "json")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    X = np.array([[1.0, 2.0], [3.0, 4.0]])
    assert np.array(doc["gradients"][0]["value"]) == pytest.approx(X.T @ (X @ [1, 1]))


@pytest.mark.parametrize("args,words", [
    (["grad", "3*(a +", "--wrt", "a"], "position 6"),
    (["grad", "foo(a)", "--wrt", "a"], "unknown function 'foo'"),
    (["grad", "sum(X @ W)", "--wrt", "W", "--shape", "X=3,3", "W=2,2"], "matmul"),
    (["grad", "X @ W", "--wrt", "W", "--shape", "X=3,3", "W=3,2"], "scalar"),
    (["grad", "a*b", "--wrt", "d"], "'d' does not appear"),
    (["grad", "a*b", "--wrt", "a", "--shape", "Q=3"], "'Q' does not appear"),
    (["grad", "a*b", "--wrt", "a", "--at", "a=seven", "b=1"], "not a number"),
    (["grad", "a*b", "--wrt", "a", "--at", "a=1"], "no value for b"),
    (["grad", "a*b", "--wrt", "a", "--at", "z=1"], "'z' does not appear"),
    (["grad", "a*b", "--wrt", "a", "--shape", "a=3x"], "dimension"),
    (["grad", "sum(X)", "--wrt", "X", "--shape", "X=3", "--at", "X=1,2"], "shape"),
    (["grad", "a*b"], "--wrt"),
    (["grad", "a*b", "--wrt", "a", "--bogus"], "unrecognized"),
    (["frobnicate", "a"], "invalid choice"),
    (["grad", "__import__('os').system('touch pwned')", "--wrt", "a"], "reserved"),
    (["grad", "open('pwned', 'w')", "--wrt", "a"], "unknown function 'open'"),
])
def test_user_mistakes_print_one_line_and_exit_2(args, words, tmp_path):
    r = run(*args, cwd=str(tmp_path))
    assert r.returncode == 2, (r.stdout, r.stderr)
    lines = r.stderr.splitlines()
    assert len(lines) == 1, r.stderr
    assert lines[0].startswith("symback: error: ")
    assert words in lines[0]
    assert "Traceback" not in r.stderr
    assert r.stdout == ""
    assert not (tmp_path / "pwned").exists()


def test_help_and_version():
    r = run("--help")
    assert r.returncode == 0 and "grad" in r.stdout and "explain" in r.stdout
    r = run("grad", "--help")
    assert r.returncode == 0 and "--wrt" in r.stdout and "--at" in r.stdout
    r = run("--version")
    assert r.returncode == 0 and r.stdout.startswith("symback ")


def test_console_script_is_the_same_program():
    exe = shutil.which("symback", path=os.path.dirname(sys.executable)) or shutil.which("symback")
    if exe is None:
        pytest.skip("the symback console script is not installed in this environment")
    r = subprocess.run([exe, "grad", "x**2", "--wrt", "x", "--at", "x=3"], capture_output=True,
                       text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    x = sb.symbols("x")
    assert r.stdout.splitlines()[-1] == f"dL/dx = {sb.grad(x ** 2, x)} = 6"


# --------------------------------------------------------------------------- printing features


def test_latex_output():
    a, b, c = sb.symbols("a b c")
    r = run("grad", "3*(a + b*c)", "--wrt", "c", "--latex")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0] == "L = " + sb.latex(3 * (a + b * c))
    assert lines[1] == r"\frac{\partial L}{\partial c} = " + sb.latex(sb.grad(3 * (a + b * c), c))
    r = run("grad", "3*(a + b*c)", "--wrt", "c", "--format", "latex", "--at", "a=7", "b=4",
            "c=2")
    assert r.stdout.splitlines()[1].endswith("= 12")


def test_explain_and_steps():
    a, b, c = sb.symbols("a b c")
    J = 3 * (a + b * c)
    r = run("explain", "3*(a + b*c)", "--wrt", "a", "b", "c", "--at", "a=5", "b=3", "c=2",
            "--name", "J")
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == str(sb.explain(J, [a, b, c], at={"a": 5.0, "b": 3.0, "c": 2.0},
                                              output="J")).strip()
    assert "dJ/dc = dJ/du · du/dc = 3 · b = 3 · 2 = 6" not in r.stdout  # b = 3 here
    assert "dJ/dc = dJ/du · du/dc = 3 · b = 3 · 3 = 9" in r.stdout
    r = run("grad", "3*(a + b*c)", "--wrt", "c", "--steps")
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith(f"L = 3 * (a + b * c)\ndL/dc = {sb.grad(J, c)}\n")
    assert str(sb.explain(J, c, output="L")).strip() in r.stdout
    r = run("explain", "3*(a + b*c)", "--wrt", "a", "--format", "latex")
    assert r.returncode == 0 and r.stdout.strip() == sb.explain(J, a, output="L").latex().strip()
    r = run("explain", "3*(a + b*c)", "--wrt", "a", "--format", "markdown")
    assert r.returncode == 0 and r.stdout.strip() == sb.explain(J, a, output="L").markdown().strip()


@pytest.mark.parametrize("fmt", ["dot", "mermaid"])
def test_graph_output(fmt):
    a, b = sb.symbols("a b")
    r = run("graph", "a * sin(b)", "--wrt", "b", "--format", fmt)
    assert r.returncode == 0, r.stderr
    expected = (sb.to_dot if fmt == "dot" else sb.to_mermaid)(a * sb.sin(b),
                                                              sb.grad(a * sb.sin(b), b))
    assert r.stdout.strip() == str(expected).strip()
    r = run("grad", "a * sin(b)", "--wrt", "b", "--graph", fmt)
    assert r.returncode == 0 and r.stdout.strip().endswith(str(expected).strip())


def test_readme_console_block_runs_as_shown(tmp_path):
    """The README's '## Parsing and the command line' console block: each command's output."""
    import re
    import shlex
    from pathlib import Path

    text = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    section = re.search(r"^## Parsing and the command line\n(.*?)(?=^## )", text, re.S | re.M)
    assert section, "README.md lost its 'Parsing and the command line' section"
    block = re.search(r"```console\n(.*?)```", section.group(1), re.S)
    assert block
    commands: list[tuple[str, list[str]]] = []
    for line in block.group(1).splitlines():
        if line.startswith("$ "):
            commands.append((line[2:].split("  #")[0], []))
        else:
            commands[-1][1].append(line)
    assert len(commands) >= 5
    for command, expected in commands:
        argv = shlex.split(command)
        assert argv[0] == "symback"
        r = run(*argv[1:], cwd=str(tmp_path))
        if not expected:  # explain / graph: long outputs, not copied into the README
            assert r.returncode == 0 and r.stdout.strip() and not r.stderr, command
            continue
        assert (r.stdout + r.stderr).splitlines() == expected, command


def test_graph_to_files(tmp_path):
    r = run("graph", "a * sin(b)", "--wrt", "b", "--format", "mermaid", "-o", "g.mmd",
            cwd=str(tmp_path))
    assert r.returncode == 0 and r.stdout.strip() == "wrote g.mmd"
    assert (tmp_path / "g.mmd").read_text().startswith("flowchart TD")
    r = run("graph", "a * sin(b)", "-o", str(tmp_path / "missing" / "g.dot"))
    assert r.returncode == 2 and len(r.stderr.splitlines()) == 1
    r = run("graph", "a * sin(b)", "--wrt", "b", "-o", "g.svg", cwd=str(tmp_path))
    try:
        sb.render(sb.symbols("a"))
    except sb.SymbackError:  # no graphviz package or no dot: one clear line
        assert r.returncode == 2 and len(r.stderr.splitlines()) == 1 and "graphviz" in r.stderr
    else:
        assert r.returncode == 0, r.stderr
        assert b"<svg" in (tmp_path / "g.svg").read_bytes()


def test_explain_max_steps_cuts_long_chains_and_zero_shows_all():
    chain = "sin(" * 30 + "x" + ")" * 30
    cut = run("explain", chain, "--wrt", "x", "--max-steps", "5")
    assert cut.returncode == 0, cut.stderr
    assert "more steps" in cut.stdout and "more forward" in cut.stdout
    full = run("explain", chain, "--wrt", "x", "--max-steps", "0")
    assert full.returncode == 0, full.stderr
    assert "more steps" not in full.stdout
    assert len(full.stdout.splitlines()) > len(cut.stdout.splitlines())
    bad = run("explain", chain, "--wrt", "x", "--max-steps", "-1")
    assert bad.returncode == 2 and "max-steps" in bad.stderr
    assert len(bad.stderr.strip().splitlines()) == 1


def test_graph_max_nodes_marks_what_it_leaves_out():
    chain = "sin(" * 30 + "x" + ")" * 30
    r = run("graph", chain, "--wrt", "x", "--max-nodes", "10")
    assert r.returncode == 0, r.stderr
    assert "more nodes" in r.stdout
    full = run("graph", chain, "--wrt", "x")
    assert "more nodes" not in full.stdout
