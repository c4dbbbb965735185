"""README.md's Python blocks in tests: find a section's blocks, run one, and read the
output its ``print(...)  # expected`` comments promise.

The tests that hold the README to its word share these; each still decides how strictly
the printed lines must match (all of them in order, or the promised ones among them).
"""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

README = Path(__file__).resolve().parent.parent / "README.md"


def section(heading: str) -> str:
    """The README's text under the heading line that starts with ``heading`` (e.g.
    ``"## The NumPy surface"``), up to the next heading of the same or a higher level
    (``#`` lines inside code blocks are comments, not headings)."""
    level = len(heading) - len(heading.lstrip("#"))
    lines = README.read_text(encoding="utf-8").splitlines(keepends=True)
    start = next((i for i, line in enumerate(lines) if line.startswith(heading)), None)
    assert start is not None, f"README.md lost its {heading!r} section"
    body, fenced = [], False
    for line in lines[start + 1:]:
        if line.startswith("```"):
            fenced = not fenced
        elif not fenced and re.match(rf"#{{1,{level}}} ", line):
            break
        body.append(line)
    return "".join(body)


def python_blocks(text: str | None = None) -> list[str]:
    """The ```python blocks of ``text`` (the whole README by default), in order."""
    return re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8")
                      if text is None else text, flags=re.DOTALL)


def run_block(code: str, label: str, namespace: dict | None = None) -> list[str]:
    """Run one block as written (``exec``; it is our README) and return the lines it printed."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code, f"README.md:{label}", "exec"), {} if namespace is None else namespace)  # noqa: S102
    return out.getvalue().splitlines()


def promised(code: str) -> list[str]:
    """What the block's ``print(...)  # expected`` lines say they print, in order."""
    return [c.strip() for c in re.findall(r"^print\(.*\)\s+# (.*)$", code, flags=re.MULTILINE)]
