"""The README's contractions and linear algebra block runs and prints what its comments say."""

from __future__ import annotations

from readme_blocks import promised, python_blocks, run_block


def test_linalg_block_runs_and_prints_its_comments():
    (code,) = [b for b in python_blocks() if b.startswith("# README: linalg")]
    printed = run_block(code, "linalg")
    expected = promised(code)
    assert expected and expected == [p.strip() for p in printed], (expected, printed)
