"""Shared test configuration: hypothesis profiles, and no skipping in CI.

``HYPOTHESIS_PROFILE=ci`` runs more examples, derandomized and without deadlines;
the default ``dev`` profile keeps the local loop fast. Some tests skip on a developer machine
that lacks Graphviz or Chromium; under ``CI=true`` (set by CI) a skip is a failure instead,
because ``.ci/run`` installs everything and a skipped test proves nothing.

``python3 dev.py test`` runs the suite on several pytest-xdist workers, a file per worker at a
time (``--dist loadfile``); there the files holding ``slow`` tests (real Prefect servers,
workers and notebooks, mostly waiting on other processes) are handed out first, so the
longest ones do not start last and leave the other workers idle at the end.
"""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, settings

# No deadline in either profile: a deadline is a timed assertion, and on a loaded two-core
# machine Graphviz and pydot alone take longer than one; speed is measured in bench/.
settings.register_profile("dev", max_examples=50, deadline=None)
settings.register_profile(
    "ci",
    max_examples=100,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Under xdist, move the files with ``slow`` tests to the front, each file's tests kept
    together and in their order (only which file comes first changes)."""
    if "PYTEST_XDIST_WORKER" not in os.environ:
        return
    slow = {item.path for item in items if item.get_closest_marker("slow")}
    items.sort(key=lambda item: item.path not in slow)  # stable: False (slow) sorts first


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):  # type: ignore[no-untyped-def]
    outcome = yield
    report = outcome.get_result()
    if report.skipped and os.environ.get("CI", "").lower() == "true":
        report.outcome = "failed"
        report.longrepr = f"Skipped in CI, where nothing may be skipped: {report.longrepr}"
