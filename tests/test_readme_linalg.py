"""The README's contractions and linear algebra block runs and prints what its comments say."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

README = Path(__file__).resolve().parent.parent / "README.md"


def test_linalg_block_runs_and_prints_its_comments():
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)
    (code,) = [b for b in blocks if b.startswith("# README: linalg")]
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code, "README.md:linalg", "exec"), {})  # noqa: S102 - our README
    printed = out.getvalue().splitlines()
    expected = [m.group(1).strip() for m in
                (re.match(r"print\(.*\)\s+# (.*)$", line) for line in code.splitlines()) if m]
    assert expected and expected == [p.strip() for p in printed], (expected, printed)
