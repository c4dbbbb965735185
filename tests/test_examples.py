"""Smoke tests of examples/*.py with tiny sizes, and of the README's "Train a model" code.

Each example's ``main(argv)`` is called in-process. Examples that need
scikit-learn or SciPy are skipped cleanly where those are not installed;
seeds.py and the E8 parity example need only NumPy and always run.
"""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"


def load(name: str):
    """Import examples/NAME.py as a module (its main() is not run)."""
    spec = importlib.util.spec_from_file_location(f"_example_{name}", EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_seeds_every_check_passes(capsys):
    rc = load("seeds").main([])
    out = capsys.readouterr().out
    assert rc == 0, out
    assert "every check passed" in out
    for seed in ("E1", "E2", "E3", "E4", "E5", "E6", "E7", "E8"):
        assert f"\n{seed} " in out
    assert "dJ/dc" in out and "12." in out  # E1 at (7, 4, 2): 12, not the text's 9
    assert "BAD" not in out


def test_seeds_check_can_fail(capsys):
    seeds = load("seeds")
    seeds.FAILURES.clear()
    seeds.check("a deliberately wrong value", 1.0, 2.0)
    assert seeds.FAILURES == ["a deliberately wrong value"]
    assert "BAD" in capsys.readouterr().out


def test_linear_model_parity_with_numpy(capsys):
    rc = load("linear_model_torch_parity").main(["--epochs", "30", "--no-torch"])
    out = capsys.readouterr().out
    assert rc == 0, out
    assert "symback vs hand-written NumPy" in out and "ok (<= 1e-12)" in out


def test_linear_model_parity_with_torch(capsys):
    pytest.importorskip("torch")
    rc = load("linear_model_torch_parity").main([])
    out = capsys.readouterr().out
    assert rc == 0, out
    assert re.search(r"symback vs PyTorch \S+: .* ok", out), out


def test_logistic_regression(capsys):
    pytest.importorskip("sklearn")
    rc = load("logistic_regression").main(["--epochs", "60"])
    out = capsys.readouterr().out
    assert rc == 0, out
    assert "dL/dz = sigmoid(z) - y" in out
    acc = float(re.search(r"test accuracy ([0-9.]+)", out).group(1))
    assert acc >= 0.93, out


def test_mlp_digits_tiny(capsys, tmp_path):
    pytest.importorskip("sklearn")
    plot = tmp_path / "curves.png"
    rc = load("mlp_digits").main(["--epochs", "2", "--hidden", "16", "--limit", "300",
                                  "--no-progress", "--biases", "--float32", "--plot", str(plot)])
    out = capsys.readouterr().out
    assert rc == 0, out
    assert "gradient dtype float32" in out
    assert re.search(r"test accuracy [0-9.]+", out)
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        assert "no plot" in out
    else:
        assert plot.stat().st_size > 1000


def test_scipy_minimize_tiny(capsys):
    pytest.importorskip("scipy")
    rc = load("scipy_minimize").main(["--hidden", "4", "--n", "40", "--maxiter", "30"])
    out = capsys.readouterr().out
    assert rc == 0, out
    assert "L-BFGS-B" in out


def readme_blocks(title: str) -> list[str]:
    """The ```python blocks of the '## <title>' section of README.md, in order."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    m = re.search(rf"^## {re.escape(title)}\s*$(.*?)(?=^## |\Z)", text, re.MULTILINE | re.DOTALL)
    assert m, f"README.md has no '## {title}' section"
    blocks = re.findall(r"```python\n(.*?)```", m.group(1), re.DOTALL)
    assert blocks, f"README.md's '## {title}' section has no python code block"
    return blocks


def test_readme_train_a_model_runs_as_shown(capsys):
    pytest.importorskip("sklearn")
    pytest.importorskip("scipy")
    namespace: dict = {"__name__": "__readme__"}
    for k, code in enumerate(readme_blocks("Train a model")):
        exec(compile(code, f"README.md (Train a model, block {k + 1})", "exec"), namespace)  # noqa: S102
    out = capsys.readouterr().out
    assert "dJ/dW2 = " in out  # the printed gradient
    assert namespace["accuracy"] > 0.95, out  # the training call did train
    assert namespace["res"].fun < namespace["loss"] + 0.1, out
