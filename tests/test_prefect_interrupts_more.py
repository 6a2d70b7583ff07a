"""The temporary server dies with its process, even one killed outright (``kill -9``) while
the server starts or while a model call waits, or with forked children still running: the
rest of tests/test_prefect_interrupts.py, in a file of its own so that two xdist workers share
their child processes (each test starts a server of its own, which takes seconds).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from collections.abc import Callable
from typing import Any

import pytest

from tests.support.prefect_env import subprocess_env
from tests.support.server_processes import alive, wait_until
from tests.test_prefect_interrupts import _child, _server_starting

pytestmark = [pytest.mark.prefect, pytest.mark.slow]


# The child's model call says so and then waits: the run is under way, its server answering.
HANGING = textwrap.dedent(
    """
    import asyncio
    from irgraph import Agent, run

    class Hanging:
        async def complete(self, request):
            print("asked", flush=True)
            await asyncio.Event().wait()

    run(Agent("writer").instruct("Write about {topic}.").writes("draft"), backend="prefect",
        provider=Hanging(), state={"topic": "owls"})
    """
)


@pytest.mark.parametrize("when", ["starting", "running"])
def test_the_temporary_server_dies_with_a_process_killed_outright(tmp_path, when):
    """``kill -9`` of a process running a pipeline on Prefect's temporary server, while the
    server starts or while a model call waits, takes the server down with it."""
    child = _child(HANGING, tmp_path)

    def asked() -> None:
        if when == "running":
            assert child.stdout is not None
            line = child.stdout.readline()
            if line != "asked\n":  # it ended without asking: say how (its stderr)
                child.wait(timeout=60)
                said = child.stderr.read() if child.stderr else ""
                raise AssertionError(f"the child ended first ({child.returncode}): {said}")

    _killed_then_server_gone(child, asked)


def _killed_then_server_gone(child: subprocess.Popen[Any], busy: Callable[[], Any]) -> None:
    """Once ``child`` launched its temporary server and ``busy()`` returned, kill ``child``
    outright and wait for its server to stop (leaving neither running, whatever happens)."""
    servers: list[int] = []
    try:
        servers.append(_server_starting(child))
        busy()
        child.kill()
        child.wait()
        wait_until(lambda: not alive(servers[0]), "the killed process's server to stop", 60)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        for server in servers:  # not stopped: do not leave it running
            if alive(server):
                os.kill(server, signal.SIGKILL)


# As HANGING, but the model call first forks two children (a library that forks, or
# multiprocessing's "fork" start method), which inherit every file this process holds open: one
# ends as a process ends in order, running the exit handlers it inherited (Prefect's among them,
# which stop "its" temporary server), the other runs on.
FORKING = HANGING.replace(
    '        print("asked", flush=True)\n',
    "        import atexit, os, time\n"
    "        ended = os.fork()\n"
    "        if ended == 0:\n"
    "            atexit._run_exitfuncs()\n"
    "            os._exit(0)\n"
    "        os.waitpid(ended, 0)\n"
    "        running = os.fork()\n"
    "        if running == 0:\n"
    "            time.sleep(600)\n"
    "            os._exit(0)\n"
    '        print("asked", running, flush=True)\n',
)


def test_forked_children_do_not_keep_a_killed_processs_server_alive(tmp_path):
    """The watchdog waits for the pipe from the process that started the server to close; a
    forked child must neither hold it open (the server would live as long as the child) nor
    tell the watchdog the server was stopped in order (it would then let it live on)."""
    child = _child(FORKING, tmp_path)
    servers: list[int] = []
    forked: list[int] = []
    try:
        servers.append(_server_starting(child))
        assert child.stdout is not None
        asked, pid = child.stdout.readline().split()
        forked.append(int(pid))
        assert asked == "asked" and alive(forked[0])
        assert alive(servers[0])  # the ended child's exit handlers did not stop it
        child.kill()
        child.wait()
        wait_until(lambda: not alive(servers[0]), "the killed process's server to stop", 60)
        assert alive(forked[0])  # the server went while a forked child still runs
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        for pid in [*forked, *servers]:  # not stopped: do not leave them running
            if alive(pid):
                os.kill(pid, signal.SIGKILL)


def test_a_generated_modules_temporary_server_dies_with_it_killed_outright(tmp_path):
    """``python flow.py run`` on a temporary server, killed by ``kill -9`` while a model call
    waits, takes its server down with it, as a run of the backend does (``run-batch`` calls
    the same watchdog; one child process with a server of its own is slow enough)."""
    from irgraph import Agent
    from irgraph.backends.prefect_backend import PrefectBackend
    from irgraph.backends.prefect_worker import PrefectWorkerConfig, generate_flow_code

    compiled = PrefectBackend().compile(Agent("writer").instruct("Write {topic}.").to_ir())
    config = PrefectWorkerConfig("w", "pool", provider="tests.support.counting_provider:make")
    (tmp_path / "flow.py").write_text(generate_flow_code(compiled, config), encoding="utf-8")
    log = tmp_path / "calls.log"
    env = subprocess_env(os.fspath(tmp_path / "home"))
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [os.getcwd(), env.get("PYTHONPATH")]))
    env.update(IRGRAPH_TEST_CALL_LOG=str(log), IRGRAPH_TEST_STALL="writer")
    child = subprocess.Popen(
        [sys.executable, "flow.py", "run", "--state", '{"topic": "owls"}'],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    _killed_then_server_gone(
        child, lambda: wait_until(lambda: log.exists() and "stall" in log.read_text(), "a call")
    )
