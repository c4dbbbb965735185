"""Without the optional ``web`` extra, ``sb.serve`` and ``symback serve`` say how to get it
(a ``SymbackError`` / one line and exit status 2), and importing symback never needs it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import symback as sb

ROOT = Path(__file__).resolve().parent.parent


def test_serve_without_the_web_extra_names_the_extra(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setitem(sys.modules, "uvicorn", None)  # import uvicorn -> ImportError
    with pytest.raises(sb.SymbackError, match=r"symback\[web\]"):
        sb.serve(port=0)
    for mod in [m for m in sys.modules if m == "starlette" or m.startswith("starlette.")]:
        monkeypatch.setitem(sys.modules, mod, None)
    monkeypatch.setitem(sys.modules, "starlette", None)
    monkeypatch.delitem(sys.modules, "symback.web.app", raising=False)
    from symback.web import create_app

    with pytest.raises(sb.SymbackError, match=r"symback\[web\]"):
        create_app()


def test_the_command_without_the_web_extra_is_one_line_and_status_2(tmp_path: Path) -> None:
    # a directory that shadows uvicorn with a module that fails to import
    (tmp_path / "uvicorn.py").write_text("raise ImportError('not installed')\n")
    env_path = f"{tmp_path}{':' + str(ROOT)}"
    proc = subprocess.run([sys.executable, "-m", "symback", "serve", "--port", "0"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=60, check=False,
                          env={"PYTHONPATH": env_path, "PATH": "/usr/bin:/bin"})
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.count("\n") == 1 and 'pip install "symback[web]"' in proc.stderr


def test_importing_symback_does_not_import_the_web_packages() -> None:
    code = "import sys, symback; print('starlette' in sys.modules, 'uvicorn' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                         timeout=60, check=True).stdout
    assert out.split() == ["False", "False"]
