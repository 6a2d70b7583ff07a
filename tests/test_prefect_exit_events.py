"""A script that runs a pipeline on Prefect's temporary server exits without Prefect's
"EventsWorker - Still processing items" warning, or its "Stopping temporary server" line.

A flow run's last events (its tasks' and its own final states) are still queued for the server
when the script ends. At exit Prefect stops its events worker first and then lets it work
through the queue, warning about the items left; irgraph waits for the queue to empty before
Prefect stops the worker, so the events are sent as before and nothing is said. The child
runs a real pipeline on a temporary server of its own (with its own ``PREFECT_HOME``), as a
user's script does: with ``run(..., backend=PrefectBackend(...))``, or as a generated flow
module's ``run`` command.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from irgraph import Agent
from irgraph.backends.prefect_backend import PrefectBackend
from irgraph.backends.prefect_worker import PrefectWorkerConfig, generate_flow_code
from tests.support.prefect_children import ROOT
from tests.support.prefect_env import subprocess_env

pytestmark = [pytest.mark.prefect, pytest.mark.slow]

PIPELINE = Agent("researcher").instruct("Research {topic}.").writes("findings") >> Agent(
    "writer"
).instruct("Write from {findings}.")

SCRIPT = textwrap.dedent(
    """
    from irgraph import run
    from irgraph.backends.prefect_backend import PrefectBackend
    from irgraph.testing import FakeProvider
    from tests.test_prefect_exit_events import PIPELINE

    backend = PrefectBackend(provider=FakeProvider())
    print(run(PIPELINE, backend=backend, state={"topic": "owls"}).state["findings"])
    """
)


def script(folder: Path, way: str) -> list[str]:
    """The command line of a script that runs :data:`PIPELINE` the ``way`` given."""
    if way == "backend":
        return [sys.executable, "-c", SCRIPT]
    compiled = PrefectBackend().compile(PIPELINE.to_ir())
    path = folder / "research_flow.py"
    path.write_text(generate_flow_code(compiled, PrefectWorkerConfig("research", "local")))
    return [sys.executable, str(path), "run", "--state", json.dumps({"topic": "owls"})]


@pytest.mark.parametrize("way", ["backend", "generated"])
def test_a_script_run_on_the_temporary_server_exits_without_an_events_warning(tmp_path, way):
    env = subprocess_env(str(tmp_path / "home"))
    env["PREFECT_LOGGING_LEVEL"] = "INFO"  # Prefect's default: its INFO lines show
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    done = subprocess.run(
        script(tmp_path, way), capture_output=True, text=True, timeout=600, env=env
    )
    assert done.returncode == 0, done.stderr
    assert "<researcher: Research owls.>" in done.stdout  # the run ran
    assert "Still processing items" not in done.stderr
    assert "EventsWorker" not in done.stderr, done.stderr
    assert "Starting temporary server" in done.stderr  # Prefect's INFO lines do show
    assert "Stopping temporary server" not in done.stderr, done.stderr


def test_only_the_stopping_line_is_dropped():
    """Prefect's warnings and errors, and its other INFO lines, still show."""
    import logging

    from irgraph.backends.prefect_watchdog import quiet_server_stop

    quiet_server_stop()
    logger = logging.getLogger("prefect")
    made = [
        logger.makeRecord("prefect", level, __file__, 1, text, (), None)
        for level, text in [
            (logging.INFO, "Stopping temporary server on http://127.0.0.1:8001"),
            (logging.INFO, "Starting temporary server on http://127.0.0.1:8001"),
            (logging.WARNING, "Stopping temporary server on http://127.0.0.1:8001"),
            (logging.ERROR, "Flow run failed"),
        ]
    ]
    assert [bool(logger.filter(record)) for record in made] == [False, True, True, True]
