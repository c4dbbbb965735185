"""Every docstring example of symback runs as written (the API reference shows them).

Two sources: the docstrings of every module of the package (``doctest`` over each
module), and the docstrings of the public names of ``symback`` (the op functions
are made at import time, so a module walk does not see their examples).
"""

from __future__ import annotations

import doctest
import importlib
import inspect
import pkgutil

import pytest

import symback as sb

FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE


def _modules() -> list[str]:
    names = ["symback"]
    for info in pkgutil.walk_packages(sb.__path__, "symback."):
        if info.name != "symback.__main__":
            names.append(info.name)
    return sorted(names)


def _run(tests: list[doctest.DocTest]) -> int:
    runner = doctest.DocTestRunner(optionflags=FLAGS)
    attempted = 0
    for t in tests:
        result = runner.run(t, out=lambda s: None)
        attempted += result.attempted
        if result.failed:
            # run again with output, so the failure is shown in pytest's report
            report: list[str] = []
            doctest.DocTestRunner(optionflags=FLAGS).run(t, out=report.append)
            pytest.fail(f"doctest {t.name} failed:\n" + "".join(report))
    return attempted


@pytest.mark.parametrize("name", _modules())
def test_module_docstring_examples(name):
    try:
        module = importlib.import_module(name)
    except ModuleNotFoundError as e:  # symback.web.app needs the optional web extra
        if e.name and not e.name.startswith("symback"):
            pytest.skip(f"{name} needs the optional package {e.name!r}")
        raise
    tests = doctest.DocTestFinder().find(module, name)
    _run(tests)  # a module may have no example; the public names are checked below


@pytest.mark.parametrize("name", sb.__all__)
def test_public_name_examples(name):
    obj = getattr(sb, name)
    tests = doctest.DocTestFinder(recurse=False).find(obj, f"symback.{name}", globs={})
    attempted = _run(tests)
    if inspect.isfunction(obj) and isinstance(getattr(obj, "op", None), sb.Op):
        # every op function shows a working example
        assert attempted >= 2, f"sb.{name} has no example in its docstring"


def test_the_doctests_see_a_wrong_output():
    """The runner used above does fail on a wrong expected value (no silent pass)."""
    bad = doctest.DocTestParser().get_doctest(
        ">>> import symback as sb\n>>> float(sb.lambdify([], sb.const(2.0) * 3)())\n7.0\n",
        {}, "bad", None, 0)
    result = doctest.DocTestRunner(optionflags=FLAGS).run(bad, out=lambda s: None)
    assert result.failed == 1
