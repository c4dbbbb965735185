"""The README's set-up and quick start tell the truth."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

README = Path(__file__).resolve().parent.parent / "README.md"


def _blocks(lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", README.read_text(), flags=re.S)


def test_quick_start_block_runs_and_prints_what_its_comments_say():
    code = _blocks("python")[0]
    assert "sb.grad(J, [a, b, c])" in code  # the quick start is the first Python block
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code, "README.md:quickstart", "exec"), {})  # noqa: S102 - our README
    printed = out.getvalue().splitlines()
    for line in code.splitlines():  # every `print(...)  # expected` comment matches its output
        m = re.match(r"print\((.*)\)\s+# (.*)$", line)
        if m and "generated" not in m.group(2):
            assert m.group(2).strip() in printed, (m.group(2), printed)


def test_setup_commands_name_real_files():
    setup = _blocks("bash")[0]
    assert "python -m pytest" in setup
    for path in re.findall(r"python (examples/\S+\.py)", setup):
        assert (README.parent / path).exists(), path
