"""benchmarks/models.py runs end to end at tiny sizes (no timing is asserted)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_models_benchmark_quick_run_checks_and_writes_the_table(tmp_path) -> None:
    out = tmp_path / "bench"
    env = dict(os.environ, PYTHONPATH=ROOT)
    proc = subprocess.run(
        [sys.executable, os.path.join(ROOT, "benchmarks", "models.py"), "--quick", "--no-jax",
         "--dtypes", "float64", "--batches", "4", "--out", str(out)],
        capture_output=True, text=True, timeout=600, cwd=ROOT, env=env,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    md = (out / "models.md").read_text()
    assert "| CNN | float64 | 4 |" in md
    data = json.loads((out / "models.json").read_text())
    (row,) = [r for r in data["rows"] if r["model"] == "CNN"]
    assert row["cpu_s"]["symback"] > 0
    assert "symback" not in row["failed"]
    if "torch eager" in row["cpu_s"]:  # with PyTorch installed, symback was checked against it
        assert row["checks"]["symback"] <= 1e-10
    # the transformer block either ran (ops present) or says why it was skipped
    assert any(r["model"] == "transformer block" for r in data["rows"]) or any(
        "transformer block" in s for s in data["skipped"])
