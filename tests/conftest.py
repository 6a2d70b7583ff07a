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

import importlib
import os
import random
import sys
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, settings

#: Failures with lone surrogates in their text reach the xdist controller (report_text.py).
pytest_plugins = ["tests.support.report_text"]

# No deadline in either profile: a deadline is a timed assertion, and on a loaded two-core
# machine Graphviz and pydot alone take longer than one; speed is measured in bench/.
settings.register_profile("dev", max_examples=50, deadline=None)
# The CI profile draws 60 examples of each property (hypothesis' default is 100): the same 60
# every run (derandomized), and the suite within its ten minutes on a two-core machine.
settings.register_profile(
    "ci",
    max_examples=60,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))


#: Modules whose background threads draw from the global ``random``: Prefect's events client
#: pings its websocket every ~20 s (websockets packs random bits into each ping) and jitters
#: its HTTP retries. A Prefect test leaves those threads running in its xdist worker, and a
#: later Hypothesis test then sees the global state move during its draws (Hypothesis warns
#: "Do not use the `random` module inside strategies"). Found by logging every call to the
#: global ``random`` in a full run; each module gets a generator of its own once imported.
_OWN_RANDOM = (
    "websockets.asyncio.connection",
    "websockets.legacy.protocol",
    "prefect.utilities.math",
)


def _own_random() -> None:
    for name in _OWN_RANDOM:
        module = sys.modules.get(name)
        if module is not None and getattr(module, "random", None) is random:
            module.random = random.Random()  # type: ignore[attr-defined]


_PREFECT_DB = pytest.StashKey[str | None]()
_BYTECODE = pytest.StashKey[str | None]()


def pytest_configure(config: pytest.Config) -> None:
    """Name the run's folder for the migrated Prefect database its workers copy, and give the
    run's processes irgraph's bytecode when Python writes none (tests/support/bytecode_cache.py);
    both before the xdist workers start, which inherit them."""
    from tests.support import bytecode_cache, prefect_db

    config.stash[_PREFECT_DB] = prefect_db.start_run()
    # over xdist workers only: making the cache costs seconds, more than a small run saves
    config.stash[_BYTECODE] = (
        bytecode_cache.start_run() if getattr(config.option, "numprocesses", None) else None
    )


def pytest_unconfigure(config: pytest.Config) -> None:
    from tests.support import bytecode_cache, prefect_db

    prefect_db.end_run(config.stash.get(_PREFECT_DB, None))
    bytecode_cache.end_run(config.stash.get(_BYTECODE, None))


def pytest_runtest_setup(item: pytest.Item) -> None:
    if "prefect" in item.nodeid.lower():  # it starts those threads, maybe between two draws
        from tests.support.prefect_env import ensure_prefect_test_env

        ensure_prefect_test_env()  # before Prefect is imported: it reads its settings then
        importlib.import_module("prefect.utilities.math")
        importlib.import_module("websockets.asyncio.connection")
    _own_random()


def pytest_runtest_teardown(item: pytest.Item) -> None:
    _own_random()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Under xdist, move the files with ``slow`` tests to the front, each file's tests kept
    together and in their order (only which file comes first changes)."""
    if "PYTEST_XDIST_WORKER" not in os.environ:
        return
    slow = {item.path for item in items if item.get_closest_marker("slow")}
    items.sort(key=lambda item: item.path not in slow)  # stable: False (slow) sorts first


@pytest.fixture(autouse=True)
def _prefect_log_level():
    """``irgraph ... --backend prefect`` run in the test process turns Prefect's console log
    down for the process (the command is one process); put it back for the next test."""
    import logging

    names = {
        "PREFECT_LOGGING_LEVEL": "prefect",
        "PREFECT_INTERNAL_LOGGING_LEVEL": "prefect._internal",
    }
    before = {v: (os.environ.get(v), logging.getLogger(n).level) for v, n in names.items()}
    services = {n: logging.getLogger(n).level for n in ("EventsWorker", "APILogWorker")}
    yield
    for variable, (value, level) in before.items():
        if value is None:
            os.environ.pop(variable, None)
        else:
            os.environ[variable] = value
        logging.getLogger(names[variable]).setLevel(level)
    for name, level in services.items():
        logging.getLogger(name).setLevel(level)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):  # type: ignore[no-untyped-def]
    outcome = yield
    report = outcome.get_result()
    if report.skipped and os.environ.get("CI", "").lower() == "true":
        report.outcome = "failed"
        report.longrepr = f"Skipped in CI, where nothing may be skipped: {report.longrepr}"


@pytest.fixture
def shell() -> Iterator[object]:
    """A real IPython shell (no kernel), cleared afterwards so other tests see none."""
    interactive = pytest.importorskip("IPython.core.interactiveshell")
    instance = interactive.InteractiveShell.instance()
    try:
        yield instance
    finally:
        interactive.InteractiveShell.clear_instance()


@pytest.fixture(scope="module")
def mermaid_render():
    """Real mermaid (the tests/mermaid_check harness in Chromium): its render_all."""
    from tests.mermaid_check import harness

    if harness.find_chromium() is None and not os.environ.get("IRGRAPH_REQUIRE_MERMAID"):
        pytest.skip("Chromium is not installed (apt-get install -y chromium)")
    try:
        harness.ensure_bundle()
    except harness.HarnessUnavailable as exc:
        if os.environ.get("IRGRAPH_REQUIRE_MERMAID"):
            raise
        pytest.skip(str(exc))
    return harness.render_all
