"""The documentation site: its examples run, it lists the whole API, and it builds clean.

The pages' ``>>>`` examples run with plain ``doctest`` (no Sphinx needed). The
build itself needs the ``docs`` extra (``pip install '.[docs]'``) and runs with
warnings as errors (``-W``) into a temporary directory.
"""

from __future__ import annotations

import doctest
import html
import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import pytest

import symback as sb

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
PAGES = ["index", "getting-started", "deriving", "printing", "training", "higher-order", "api"]


@pytest.mark.parametrize("page", PAGES)
def test_page_examples_run(page):
    path = DOCS / f"{page}.rst"
    result = doctest.testfile(str(path), module_relative=False, report=False,
                              optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0, f"{path.name}: {result.failed} example(s) failed " \
                               f"(run python -m doctest {path})"
    if page not in ("index", "api"):  # each page about a use shows running examples
        assert result.attempted >= 10


def test_every_page_is_in_the_table_of_contents():
    index = (DOCS / "index.rst").read_text(encoding="utf-8")
    for page in PAGES[1:]:
        assert re.search(rf"^\s+{re.escape(page)}$", index, re.MULTILINE), page


def test_api_page_documents_every_public_name():
    text = (DOCS / "api.rst").read_text(encoding="utf-8")
    documented = re.findall(r"^\.\. auto(?:function|class|exception|module):: symback\.(\w+)$",
                            text, re.MULTILINE)
    assert sorted(documented) == sorted(sb.__all__)
    # a public sub-namespace (sb.nn, sb.linalg, sb.special) is documented as a module
    import types

    for name in sb.__all__:
        if isinstance(getattr(sb, name), types.ModuleType):
            assert re.search(rf"^\.\. automodule:: symback\.{name}$", text, re.MULTILINE), name


@pytest.mark.skipif(importlib.util.find_spec("sphinx") is None,
                    reason="the docs extra is not installed: pip install '.[docs]'")
def test_sphinx_build_has_no_warnings(tmp_path):
    out = tmp_path / "html"
    r = subprocess.run(
        [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-E", "-q", "-b", "html",
         "-d", str(tmp_path / "doctrees"), str(DOCS), str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=300, check=False)
    assert r.returncode == 0, r.stdout + r.stderr
    assert not r.stderr.strip(), r.stderr
    for page in PAGES:
        assert (out / f"{page}.html").is_file()
    api = html.unescape(re.sub(r"<[^>]+>", "", (out / "api.html").read_text(encoding="utf-8")))
    # the reference is built from the docstrings: signature, maths, example
    assert "symback.sigmoid(x)" in api
    assert "σ(x) = 1 / (1 + e^(−x))" in api and "dσ/dx = σ(x) (1 − σ(x))" in api
    assert "symback.where(condition, x, y)" in api
    assert "∂ log det X / ∂X = X⁻ᵀ" in api
