"""A Prefect run or batch stopped while Prefect starts its temporary server still says what
it got done (nothing), as every other stopped run does; and the server dies with its process,
even one killed outright.

The temporary server starts inside the flow call: Prefect's client launches a ``uvicorn``
process and blocks until it answers. A Ctrl-C then cancels the run at its first await after
the server is up, before the flow's body begins, where no scheduler has a record to give. Each
test runs a real child process with a ``PREFECT_HOME`` of its own (so it starts a server of its
own, which takes seconds), finds its server process through ``/proc`` and acts while it starts.
The tests of a process killed outright are in tests/test_prefect_interrupts_more.py, so that
two xdist workers share the file's child processes.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
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
