"""Synchronous user code runs off the event loop (issue 15, round two): a transform, ``until``
predicate or ``on_gate`` handler that blocks no longer stops the run, its timeout fires, and the
thread left blocked neither keeps the process alive nor starves later runs."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from irgraph import Agent, Gate, Loop, MapOver, RunError, Transform, arun, run
from irgraph.providers import ModelRequest
from irgraph.testing import FakeProvider, FunctionProvider

ROOT = Path(__file__).resolve().parents[1]
#: How long a test waits for something that happens at once when the code is right; it only
#: runs out when the code is wrong.
PATIENCE = 10.0


@pytest.fixture
def release() -> Iterator[threading.Event]:
    """An event blocked calls wait on; set when the test ends, so no thread is left behind."""
    event = threading.Event()
    yield event
    event.set()


def test_a_blocking_transform_times_out_while_it_still_blocks(release: threading.Event) -> None:
    finished = threading.Event()

    def wait_for_release(text: str) -> str:
        release.wait(PATIENCE)
        finished.set()
        return text

    pipeline = Agent("w").instruct("w").writes("text") >> Transform(
        "stuck", wait_for_release
    ).reads("text").writes("out").timeout(0.1)
    with pytest.raises(RunError, match="'stuck'.*timeout of 0.1 s") as info:
        run(pipeline, provider=FakeProvider())
    assert info.value.node == "stuck"
    assert info.value.completed == ["w"]
    assert not finished.is_set()  # the run did not wait for the thread
    release.set()
    assert finished.wait(PATIENCE)  # ...which finishes in the background, its result dropped


def test_a_run_timeout_holds_for_a_blocking_transform(release: threading.Event) -> None:
    pipeline = Transform("stuck", lambda: release.wait(PATIENCE)).writes("out")
    with pytest.raises(RunError, match="'stuck'.*run\\(\\.\\.\\., timeout=seconds\\)"):
        run(pipeline, timeout=0.1)


def test_a_blocking_transform_does_not_hold_up_its_parallel_siblings() -> None:
    called = threading.Event()

    async def answer(request: ModelRequest) -> str:
        called.set()
        return "x"

    # The transform waits until the agent beside it has been called: on the loop it would
    # block the agent out and see no call.
    pipeline = Transform("wait", lambda: called.wait(PATIENCE)).writes("seen") | Agent(
        "beside"
    ).instruct("go").writes("said")
    result = run(pipeline, provider=FunctionProvider(answer))
    assert result.state == {"seen": True, "said": "x"}


def test_a_blocking_until_predicate_does_not_hold_up_its_parallel_siblings() -> None:
    called = threading.Event()

    async def answer(request: ModelRequest) -> str:
        called.set()
        return "x"

    def done(state: Any) -> bool:
        return called.wait(PATIENCE)

    loop = Loop("poll").step(Transform("tick", lambda: 1).writes("t")).max_iterations(2)
    pipeline = loop.until(done) | Agent("beside").instruct("go").writes("said")
    result = run(pipeline, provider=FunctionProvider(answer))
    assert result.events("tick") and len(result.events("tick")) == 2  # one iteration
    assert result.state["said"] == "x"


def test_an_async_until_predicate_is_awaited() -> None:
    async def never(state: Any) -> bool:
        await asyncio.sleep(0)
        return False

    loop = Loop("poll").step(Transform("tick", lambda: 1).writes("t")).max_iterations(3)
    result = run(loop.until(never))
    assert len(result.events("tick")) == 6  # all three iterations: a coroutine is not True


def test_a_blocking_on_gate_handler_times_out(release: threading.Event) -> None:
    pipeline = Agent("d").instruct("d").writes("d") >> Gate("approve", "Ok {d}?").writes(
        "ok"
    ).timeout(0.1)
    with pytest.raises(RunError, match="'approve'.*timeout of 0.1 s") as info:
        run(pipeline, provider=FakeProvider(), on_gate=lambda request: release.wait(PATIENCE))
    assert info.value.node == "approve"
    assert info.value.completed == ["d"]


def test_sync_transforms_run_on_worker_threads_and_async_ones_on_the_loop() -> None:
    seen: dict[str, threading.Thread] = {}

    def sync_step(text: str) -> str:
        seen["sync"] = threading.current_thread()
        return text

    async def async_step(text: str) -> str:
        seen["async"] = threading.current_thread()
        return text

    pipeline = (
        Agent("w").instruct("w").writes("a")
        >> Transform("s", sync_step).reads("a").writes("b")
        >> Transform("t", async_step).reads("b").writes("c")
    )
    assert run(pipeline, provider=FakeProvider()).state["c"] == "<w: w>"
    assert seen["async"] is threading.current_thread()
    assert seen["sync"] is not threading.current_thread()


def test_calls_abandoned_by_a_timeout_do_not_starve_the_runs_that_follow(
    release: threading.Event,
) -> None:
    # More blocked calls than the pool has workers; then a run that needs a worker.
    many = 2 * ((os.cpu_count() or 1) + 4) + 1
    stuck = (
        MapOver("all")
        .over("items")
        .step(Transform("stuck", lambda item: release.wait(PATIENCE)).reads("item").writes("done"))
    )
    stuck = stuck.collect("done").writes("dones")
    for _ in range(2):
        with pytest.raises(RunError, match="timeout"):
            run(stuck, state={"items": list(range(many))}, timeout=0.05)
    quick = Transform("quick", lambda: "ok").writes("out").timeout(PATIENCE)
    assert run(quick).state["out"] == "ok"


def test_a_process_exits_while_a_timed_out_transform_still_blocks() -> None:
    code = (
        "import time\n"
        "from irgraph import RunError, Transform, run\n"
        "try:\n"
        "    run(Transform('stuck', lambda: time.sleep(3600)).writes('x').timeout(0.1))\n"
        "except RunError as error:\n"
        "    print('failed at', error.node)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == "failed at stuck\n"


@pytest.mark.parametrize("how", ["cancelled", "timed out"])
def test_a_pipeline_run_inside_a_plain_transform_stops_when_its_node_is_given_up(
    how: str,
) -> None:
    """A plain transform that runs a pipeline with run() (on its worker thread): once the
    outer run gives the transform's call up, the nested run is cancelled, rather than going
    on asking its model in the background."""
    asked: list[str] = []
    started = threading.Event()
    inner_asked = threading.Event()
    inner_ended = threading.Event()

    async def holding(request: ModelRequest) -> str:
        asked.append(request.agent)
        inner_asked.set()
        await asyncio.Event().wait()  # never answered: only a cancel ends the call
        return "never"  # pragma: no cover

    def nested(x: str) -> str:
        started.set()
        try:
            inner = Agent("i0").instruct("Go.").writes("k") >> Agent("i1").instruct("{k}")
            return str(run(inner, provider=FunctionProvider(holding)).state)
        finally:
            inner_ended.set()

    transform = Transform("t", nested).reads("x").writes("y")
    if how == "timed out":  # (long enough for a worker thread to start on a busy machine)
        transform = transform.timeout(1.0)
    outer = Agent("a").instruct("Go.").writes("x") >> transform

    async def stopped() -> BaseException:
        task = asyncio.ensure_future(arun(outer, provider=FakeProvider()))
        if how == "cancelled":
            await asyncio.to_thread(inner_asked.wait)
            task.cancel()
        try:
            await task
        except BaseException as error:
            return error
        raise AssertionError("the outer run finished")  # pragma: no cover

    ended = asyncio.run(stopped())
    assert isinstance(ended, asyncio.CancelledError if how == "cancelled" else RunError)
    # A call given up before its worker thread took it never runs (nothing to stop then).
    stopped_or_never_ran = inner_ended.wait(60) or not started.is_set()
    assert stopped_or_never_ran, "the nested run went on after its node was given up"
    assert asked in ([], ["i0"])  # never i1: the run stopped where it was held (or before)
