"""A generated flow module deployed to a real Prefect server and run by a process worker.

Everything Prefect runs in child processes with one temporary PREFECT_HOME, against the
suite's temporary Prefect server (a real API server process): ``prefect work-pool create``
(a pool of the test's own), the generated module
(``python flow.py`` deploys it), a worker, and a client that runs the deployment and prints
the flow's result. Process groups are killed in teardown, whatever happened.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import pytest

from tests.support.prefect_children import child_env
from tests.test_prefect_worker import RICH_STATE, asyncio_state, generated, rich_pipeline

pytestmark = [pytest.mark.prefect, pytest.mark.slow]

POOL = "irgraph-test-pool"
PREFECT = [sys.executable, "-m", "prefect"]
PROCESS_WORKER = ["--type", "process", "--install-policy", "never"]

RUN_DEPLOYMENT = """
import json, sys
from prefect.deployments import run_deployment

flow_run = run_deployment(
    sys.argv[1], parameters={"state": json.loads(sys.argv[2])}, timeout=150, poll_interval=1
)
assert flow_run.state is not None and flow_run.state.is_completed(), flow_run.state
print(json.dumps(flow_run.state.result()))
"""


class Processes:
    """Background processes, each in its own process group, with logs for failure reports."""

    def __init__(self, logs: Path) -> None:
        self.logs = logs
        self.running: list[tuple[subprocess.Popen[bytes], IO[bytes], Path]] = []

    def start(self, name: str, args: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
        log_path = self.logs / f"{name}.log"
        log = log_path.open("wb")
        process = subprocess.Popen(
            args, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True
        )
        self.running.append((process, log, log_path))
        return process

    def tail(self) -> str:
        parts = []
        for _, _, path in self.running:
            text = path.read_text(errors="replace")[-2000:]
            parts.append(f"--- {path.name} ---\n{text}")
        return "\n".join(parts)

    def stop_all(self) -> None:
        for process, log, _ in reversed(self.running):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)
            # the group may outlive its leader (a flow run the worker started)
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            log.close()


@pytest.fixture
def processes(tmp_path: Path) -> Iterator[Processes]:
    running = Processes(tmp_path)
    try:
        yield running
    finally:
        running.stop_all()


def check(args: list[str], env: dict[str, str], cwd: Path, what: str, **kw: Any) -> str:
    out = subprocess.run(args, capture_output=True, text=True, env=env, cwd=cwd, **kw)
    assert out.returncode == 0, f"{what} failed:\n{out.stdout[-2000:]}\n{out.stderr[-3000:]}"
    return out.stdout


def test_generated_module_deploys_to_a_process_pool_and_a_worker_runs_it(tmp_path, processes):
    home = tmp_path / "home"
    home.mkdir()
    source = tmp_path / "source"
    source.mkdir()
    module = source / "rich_flow.py"
    env = child_env(home)  # the suite's temporary server: a real API server process
    pool = f"{POOL}-{uuid.uuid4().hex[:8]}"  # the server is shared: a pool of this test's own
    module.write_text(generated(rich_pipeline(), work_pool=pool), encoding="utf-8")
    try:
        env["PREFECT_WORKER_QUERY_SECONDS"] = "1"
        check(
            [*PREFECT, "work-pool", "create", pool, "--type", "process"],
            env,
            tmp_path,
            "creating the work pool",
            timeout=90,
        )
        processes.start(
            "worker",
            [*PREFECT, "worker", "start", "--pool", pool, *PROCESS_WORKER],
            env,
        )
        deployed = check([sys.executable, str(module)], env, source, "deploying", timeout=90)
        assert "Deployed rich/rich" in deployed
        out = check(
            [sys.executable, "-c", RUN_DEPLOYMENT, "rich/rich", json.dumps(RICH_STATE)],
            env,
            tmp_path,
            "running the deployment",
            timeout=180,
        )
    except (AssertionError, subprocess.TimeoutExpired) as error:
        raise AssertionError(f"{error}\n{processes.tail()}") from None
    final = json.loads(out.strip().splitlines()[-1])
    assert final == asyncio_state(rich_pipeline(), RICH_STATE)
