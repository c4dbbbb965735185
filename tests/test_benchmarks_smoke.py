"""The benchmark runner works end to end at tiny sizes (no timing is asserted)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_quick_run_writes_the_table_and_checks_pass(tmp_path) -> None:
    out = tmp_path / "bench"
    proc = subprocess.run(
        [sys.executable, os.path.join(ROOT, "benchmarks", "run.py"), "--quick", "--no-peers",
         "--out", str(out)],
        capture_output=True, text=True, timeout=300, cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    md = (out / "latest.md").read_text()
    for heading in ("## Build", "## Graph sizes", "## W2 evaluation", "## W3 evaluation",
                    "## W4 MLP", "## W5 logistic", "## Floors"):
        assert heading in md, heading
    data = json.loads((out / "latest.json").read_text())
    assert data["all_checks_ok"] is True
    names = [c["name"] for c in data["checks"]]
    # every implementation was checked against the hand-derived gradient before timing
    for must in ("w2 symback grad at one point", "w2 sympy grad at one point", "w3 d=",
                 "w4 float32 batch 8 symback dW1", "w5 symback output 1"):
        assert any(n.startswith(must) for n in names), must
    assert {r["floor"].split()[0] for r in data["floors"]} >= {"W2", "W3", "W4", "W5"}


def test_vectorize_bench_runs_and_checks(tmp_path) -> None:
    """benchmarks/vectorize_bench.py (grouped vs per-node W2 code) at tiny sizes: it checks
    every gradient against the hand-derived one before timing."""
    proc = subprocess.run(
        [sys.executable, os.path.join(ROOT, "benchmarks", "vectorize_bench.py"),
         "--sizes", "200", "--points", "300", "--repeats", "1", "--rounds", "1", "--w3", "20"],
        capture_output=True, text=True, timeout=300, cwd=ROOT,
        env={**os.environ, "PYTHONPATH": ROOT},
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    data = json.loads(proc.stdout[proc.stdout.index("{\n"):])
    w2 = data["w2 n=200"]
    assert w2["on"]["lines"] < 120 < w2["off"]["lines"]  # grouped: a few dozen lines
    assert data["w3 n=20"]["on"]["lines"] == data["w3 n=20"]["off"]["lines"]  # left alone
