"""Shared pytest configuration: hypothesis profiles and command-line options.

Profiles: "ci" (derandomised, the default) and "dev" (random). Select with
HYPOTHESIS_PROFILE=dev.
"""

from __future__ import annotations

import os

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


def pytest_configure(config):  # type: ignore[no-untyped-def]
    if config.getoption("--long", default=False):
        os.environ["SYMBACK_LONG"] = "1"
