"""Shared pytest configuration: hypothesis profiles and command-line options.

Profiles: "ci" (derandomised, the default) and "dev" (random). Select with
HYPOTHESIS_PROFILE=dev.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci", derandomize=True, max_examples=60, deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    print_blob=True,
)
settings.register_profile(
    "dev", max_examples=200, deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


def pytest_addoption(parser):  # type: ignore[no-untyped-def]
    """``--long``: the long fuzz runs (≥ 10,000 random examples); same as SYMBACK_LONG=1."""
    parser.addoption("--long", action="store_true", default=False,
                     help="run the long fuzz mode (or set SYMBACK_LONG=1)")
    parser.addoption("--update-golden", action="store_true", default=False,
                     help="rewrite tests/golden/ files with the current output (review the diff)")


def pytest_configure(config):  # type: ignore[no-untyped-def]
    if config.getoption("--long", default=False):
        os.environ["SYMBACK_LONG"] = "1"


@pytest.fixture
def golden(request):  # type: ignore[no-untyped-def]
    """``golden(name, text)``: compare ``text`` with tests/golden/<name> exactly.

    With ``--update-golden`` the file is (re)written instead, so changes show up
    as a diff to review.
    """
    update = request.config.getoption("--update-golden")
    root = Path(__file__).parent / "golden"

    def check(name: str, text: str) -> None:
        path = root / name
        if update:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text + "\n", encoding="utf-8")
            return
        if not path.exists():
            raise AssertionError(f"no golden file {path}; run pytest --update-golden and "
                                 "review the new file")
        want = path.read_text(encoding="utf-8").rstrip("\n")
        assert text == want, (f"{name} differs from its golden file:\n  got:  {text}\n"
                              f"  want: {want}\n(run pytest --update-golden to accept)")
    return check
