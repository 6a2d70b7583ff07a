"""Ctrl-C stops a run for real (issue 15, round two): ``run()`` called while an event loop
runs (Jupyter) runs the pipeline in a helper thread, and interrupting the wait cancels the run
there before the KeyboardInterrupt goes on, so no model call outlives it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# A notebook in miniature: a loop that runs a cell, the cell calls run(), and a Ctrl-C (a real
# SIGINT to the main thread) comes while run() waits for its helper thread. The kernel's loop
# is started with run_until_complete, which leaves SIGINT to Python's default handler, as
# ipykernel does; the script installs that handler itself in case the test runner ignores
# SIGINT (a child inherits an ignored SIGINT, and Python then never raises KeyboardInterrupt).
NOTEBOOK = """
import asyncio, json, signal, sys, threading, time
from irgraph import thread_done
from irgraph import Agent, Pipeline, run

signal.signal(signal.SIGINT, signal.default_int_handler)
main = threading.main_thread()
calls, cancelled = [], []


def main_thread_waits():  # in thread_done: run() waiting for its helper thread
    return sys._current_frames()[main.ident].f_code.co_filename == thread_done.__file__


class Slow:
    async def complete(self, request):
        calls.append(request.agent)
        if len(calls) == 2:
            while not main_thread_waits():
                await asyncio.sleep(0.001)
            signal.pthread_kill(main.ident, signal.SIGINT)
        try:
            # the call the interrupt comes in only ends by it: no race with a slow machine
            await asyncio.sleep(60 if len(calls) == 2 else 0)
        except asyncio.CancelledError:
            cancelled.append(request.agent)
            raise
        return "x"


pipeline = Pipeline("chain")
for i in range(20):
    pipeline = pipeline.step(Agent(f"a{i}").instruct("go"))


async def cell():
    return run(pipeline, provider=Slow())


kernel = asyncio.new_event_loop()
try:
    kernel.run_until_complete(cell())
    print(json.dumps({"finished": True}))
except KeyboardInterrupt as stop:
    handled, stopped = len(calls), list(cancelled)
    time.sleep(0.5)  # time for calls the interrupt failed to stop
    partial = stop.partial
    report = {"calls": handled, "after": len(calls) - handled, "cancelled": stopped}
    report.update(completed=partial.completed, state=partial.state, kind=type(partial).__name__)
    print(json.dumps(report))
"""


def test_ctrl_c_while_run_waits_in_a_notebook_stops_the_model_calls() -> None:
    done = subprocess.run(
        [sys.executable, "-c", NOTEBOOK], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    # The call in flight had been cancelled when the KeyboardInterrupt reached the cell...
    assert report["calls"] == 2
    assert report["cancelled"] == ["a1"]
    assert report["after"] == 0  # ...and no model call came after it
    # The interrupt keeps the work done, as a cancelled arun's CancelledError does.
    assert report["kind"] == "RunError"
    assert report["completed"] == ["a0"]


# A script's blocking run() (no loop running: asyncio.run's own Ctrl-C handling), interrupted
# by a real SIGINT during the third model call.
SCRIPT = """
import asyncio, json, signal, threading
from irgraph import Agent, Pipeline, run

signal.signal(signal.SIGINT, signal.default_int_handler)
calls = []


class Slow:
    async def complete(self, request):
        calls.append(request.agent)
        if len(calls) == 3:
            signal.pthread_kill(threading.main_thread().ident, signal.SIGINT)
        await asyncio.sleep(60 if len(calls) == 3 else 0)  # only the interrupt ends it
        return request.agent.upper()


pipeline = Pipeline("chain")
for i in range(10):
    pipeline = pipeline.step(Agent(f"a{i}").instruct("go").writes(f"k{i}"))
try:
    run(pipeline, provider=Slow())
    print(json.dumps({"finished": True}))
except KeyboardInterrupt as stop:
    partial = stop.partial
    print(json.dumps({"completed": partial.completed, "state": partial.state,
                      "calls": [call.node for call in partial.calls],
                      "cancelled": partial.cancelled}))
"""


def test_ctrl_c_through_a_scripts_blocking_run_keeps_the_work_done() -> None:
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["completed"] == ["a0", "a1"]
    assert report["state"] == {"k0": "A0", "k1": "A1"}
    assert report["calls"] == ["a0", "a1", "a2"]  # the third, cancelled, is on record too
    assert report["cancelled"] is True


# A provider that blocks the loop (a sync client called in async def) when Ctrl-C comes: asyncio
# can only cancel the run's task once it yields, and nothing yields before the run ends.
BLOCKING = """
import json, signal, sys, threading, time
from irgraph import Agent, run

signal.signal(signal.SIGINT, signal.default_int_handler)


class Blocking:
    async def complete(self, request):
        if request.agent == "a1":
            signal.pthread_kill(threading.main_thread().ident, signal.SIGINT)
            time.sleep(0.05)
        return request.agent.upper()


pipeline = Agent("a0").instruct("go").writes("k0") >> Agent("a1").instruct("go").writes("k1")
options = {"on_event": print} if sys.argv[1:] == ["handled"] else {}
try:
    run(pipeline, provider=Blocking(), **options)
    print(json.dumps({"finished": True}))
except KeyboardInterrupt as stop:
    partial = stop.partial
    print(json.dumps({"completed": partial and partial.completed,
                      "state": partial and partial.state}))
"""


@pytest.mark.parametrize("how", ["plain", "handled"])
def test_ctrl_c_while_a_provider_blocks_the_loop_keeps_the_work_done(how: str) -> None:
    """The cancel that asyncio.run's Ctrl-C handler asks for landed on a run that had ended
    without yielding: asyncio dropped its result and the KeyboardInterrupt's partial was None."""
    done = subprocess.run(
        [sys.executable, "-c", BLOCKING, how], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout.splitlines()[-1])
    assert report == {"completed": ["a0", "a1"], "state": {"k0": "A0", "k1": "A1"}}


def test_run_inside_a_running_loop_still_returns_its_result_and_raises_its_errors() -> None:
    code = (
        "import asyncio\n"
        "from irgraph import Agent, RunError, run\n"
        "from irgraph.testing import FakeProvider\n"
        "async def cell():\n"
        "    print(run(Agent('a').instruct('x').writes('o'), provider=FakeProvider()).state)\n"
        "    try:\n"
        "        run(Agent('b').instruct('x'), provider=FakeProvider(fail={'b': 1}))\n"
        "    except RunError as error:\n"
        "        print('failed at', error.node)\n"
        "asyncio.new_event_loop().run_until_complete(cell())\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.stdout == "{'o': '<a: x>'}\nfailed at b\n", done.stderr


def test_an_interrupt_before_any_run_started_still_has_a_partial_of_none() -> None:
    from irgraph.run import run_coroutine

    async def interrupted_before_running() -> None:
        raise KeyboardInterrupt

    try:
        run_coroutine(interrupted_before_running())
    except KeyboardInterrupt as stop:
        assert stop.partial is None  # type: ignore[attr-defined]
    else:  # pragma: no cover - the coroutine always raises
        raise AssertionError("no KeyboardInterrupt")


def test_a_cancelled_runs_message_counts_nodes_not_the_runs_of_them() -> None:
    import asyncio

    from irgraph import Agent, MapOver, Transform, arun
    from irgraph.testing import FakeProvider

    pipeline = (
        Transform("split", str.split).reads("topic").writes("subjects")
        >> MapOver("each")
        .over("subjects", item="subject")
        .step(Agent("note").instruct("About {subject}.").writes("note"))
        .writes("notes")
        >> Agent("writer").instruct("Write from {notes}.")
    )

    async def cancelled_at_the_writer() -> object:
        slow = FakeProvider(latency={"writer": 30})
        task = asyncio.create_task(arun(pipeline, provider=slow, state={"topic": "a b c"}))
        while True:
            await asyncio.sleep(0.01)
            if any(call.node == "writer" for call in slow.calls):
                break
        task.cancel()
        try:
            await task
        except asyncio.CancelledError as cancelled:
            return cancelled.partial  # type: ignore[attr-defined]
        raise AssertionError("not cancelled")

    partial = asyncio.run(cancelled_at_the_writer())
    assert partial.completed.count("note") == 3  # a node once per run of it
    assert "cancelled after 3 nodes completed" in str(partial)  # split, note, each


def test_the_live_progress_of_a_run_stopped_by_ctrl_c_says_cancelled_not_failed() -> None:
    script = SCRIPT.replace(
        "    run(pipeline, provider=Slow())",
        "    run(pipeline, provider=Slow(), progress=RunProgress(stream=shown, every=0))",
    ).replace(
        "calls = []",
        "calls = []\nimport io\nfrom irgraph.run_progress import RunProgress\n"
        "shown = io.StringIO()",
    )
    script += "print(json.dumps({'shown': shown.getvalue().splitlines()[-1]}))\n"
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    last = json.loads(done.stdout.splitlines()[-1])["shown"]
    assert last.startswith("Run cancelled in "), last
    assert "2 done" in last and "1 cancelled" in last, last
