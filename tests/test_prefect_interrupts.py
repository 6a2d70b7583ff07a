"""A Prefect run or batch stopped while Prefect starts its temporary server still says what
it got done (nothing), as every other stopped run does; and the server dies with its process,
even one killed outright.

The temporary server starts inside the flow call: Prefect's client launches a ``uvicorn``
process and blocks until it answers. A Ctrl-C then cancels the run at its first await after
the server is up, before the flow's body begins, where no scheduler has a record to give. Each
test runs a real child process with a ``PREFECT_HOME`` of its own (so it starts a server of its
own, which takes seconds), finds its server process through ``/proc`` and acts while it starts.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from collections.abc import Callable
from typing import Any

import pytest

from tests.support.prefect_env import subprocess_env
from tests.support.server_processes import alive, servers_of, wait_until, watchdogs_of

pytestmark = [pytest.mark.prefect, pytest.mark.slow]

RUN = textwrap.dedent(
    """
    import json, signal, sys
    from irgraph import Agent, run
    from irgraph.testing import FakeProvider

    signal.signal(signal.SIGINT, signal.default_int_handler)  # even if the runner ignores it
    pipeline = Agent("writer").instruct("Write about {topic}.").writes("draft")
    try:
        run(pipeline, backend="prefect", provider=FakeProvider(), state={"topic": "owls"})
    except KeyboardInterrupt as stop:
        partial = stop.partial
        print(json.dumps(partial and {"completed": partial.completed, "state": partial.state,
                                      "calls": partial.calls, "cancelled": partial.cancelled,
                                      "message": str(partial)}))
        sys.exit(130)
    print(json.dumps("finished"))
    """
)


def _child(script: str, home: os.PathLike[str]) -> subprocess.Popen[str]:
    env = subprocess_env(os.fspath(home))
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [os.getcwd(), env.get("PYTHONPATH")]))
    return subprocess.Popen(
        [sys.executable, "-c", script],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def _server_starting(child: subprocess.Popen[Any]) -> int:
    """The pid of ``child``'s temporary server, once it has launched one."""

    def launched() -> int | None:
        if child.poll() is not None:
            raise AssertionError(f"the child ended first: {child.communicate()}")
        servers = servers_of(child.pid)
        return servers[0] if servers else None

    return wait_until(launched, "the child's temporary Prefect server to be launched")  # type: ignore[no-any-return]


def test_ctrl_c_while_the_temporary_server_starts_keeps_a_record_of_nothing_done(tmp_path):
    child = _child(RUN, tmp_path)
    try:
        server = _server_starting(child)
        child.send_signal(signal.SIGINT)
        out, err = child.communicate(timeout=180)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert child.returncode == 130, err
    partial = json.loads(out.splitlines()[-1])
    assert partial == {
        "completed": [],
        "state": {"topic": "owls"},
        "calls": [],
        "cancelled": True,
        "message": "The run was cancelled before its first step, so nothing ran: .completed, "
        ".trace and .calls are empty and .state is the state it was given.",
    }
    wait_until(lambda: not alive(server), "the temporary server to stop as the child exited")


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


def test_a_process_that_ends_in_order_leaves_neither_server_nor_watchdog(tmp_path):
    script = RUN.replace(
        'print(json.dumps("finished"))', 'print(json.dumps("finished"), flush=True)'
    )
    child = _child(script, tmp_path)
    try:
        server = _server_starting(child)
        watchdogs = wait_until(lambda: watchdogs_of(server), "the server's watchdog to start")
        out, err = child.communicate(timeout=180)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert child.returncode == 0 and json.loads(out.splitlines()[-1]) == "finished", err
    wait_until(lambda: not alive(server), "the server to stop as the child exited")
    wait_until(lambda: not any(alive(pid) for pid in watchdogs), "the watchdog to end")


BATCH = textwrap.dedent(
    """
    import json, signal, sys
    from irgraph import Agent, run_many
    from irgraph.testing import FakeProvider

    signal.signal(signal.SIGINT, signal.default_int_handler)
    items = [{"topic": f"topic {number}"} for number in range(3)]
    pipeline = Agent("writer").instruct("Write about {topic}.").writes("draft")
    try:
        for item in run_many(pipeline, items, backend="prefect", provider=FakeProvider(),
                             batch_key="stopped", store=sys.argv[1]):
            print(json.dumps(item.index), flush=True)
    except KeyboardInterrupt as stop:
        partial = stop.partial
        print(json.dumps({"type": type(partial).__name__, "handed": partial.handed,
                          "late": [item.key for item in partial.results],
                          "message": str(partial)}))
        sys.exit(130)
    """
)


def test_ctrl_c_while_a_batch_starts_its_server_says_how_to_resume(tmp_path):
    store = tmp_path / "store"
    child = _child(BATCH.replace("sys.argv[1]", repr(str(store))), tmp_path / "home")
    try:
        server = _server_starting(child)
        child.send_signal(signal.SIGINT)
        out, err = child.communicate(timeout=180)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert child.returncode == 130, err
    said = json.loads(out.splitlines()[-1])
    assert said["type"] == "BatchStopped" and said["handed"] == 0
    assert said["message"].startswith("The batch 'stopped' was stopped before any item was")
    assert f"batch_key='stopped' and store={str(store)!r} to resume" in said["message"]
    # Kept: only what the record says completed as it stopped (on a loaded machine the
    # server may be up, and an item done, before the Ctrl-C reaches the batch).
    assert sorted(path.stem for path in store.glob("items/*.json")) == sorted(said["late"])
    wait_until(lambda: not alive(server), "the temporary server to stop as the child exited")


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
