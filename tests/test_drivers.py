"""The driver task group of a scope (irgraph.backends.drivers): TaskGroup's rules without its
done callbacks. A failure cancels the other drivers and the scope's own task and is raised once
they stopped; the run's task carries no cancel request afterwards; a cancellation from outside
propagates; a long ladder of started drivers does not exhaust the stack (3.12's eager starts)."""

from __future__ import annotations

import asyncio
import sys
from typing import Any

import pytest

from irgraph import Agent, Loop, MapOver, Pipeline, RunError, arun
from irgraph.backends.asyncio_backend import AsyncioBackend
from irgraph.backends.drivers import EAGER, EAGER_DEPTH, Drivers
from irgraph.providers import ModelRequest
from irgraph.testing import FakeProvider, FunctionProvider

# first -> (quick | slow | failing | quick2): after "first", one of the quick ones runs inline in
# the run's own task ("quick" when drivers wait for their turn, "quick2" when they start eagerly,
# on 3.12), the others in driver tasks of their own.
FAN = Agent("first").instruct("Go.").writes("f") >> (
    Agent("quick").instruct("{f}").writes("q")
    | Agent("slow").instruct("{f}").writes("s")
    | Agent("failing").instruct("{f}").writes("x")
    | Agent("quick2").instruct("{f}").writes("q2")
)
QUICK = ("quick", "quick2")


def provider(inline_waits: bool) -> FunctionProvider:
    """``slow`` waits for ever, the quick ones too when ``inline_waits`` (so the run's own task
    is busy when the failure comes); ``failing`` raises once every other branch was asked."""
    asked: list[str] = []

    async def answer(request: ModelRequest) -> str:
        asked.append(request.agent)
        if request.agent == "slow" or (request.agent in QUICK and inline_waits):
            await asyncio.sleep(3600)
        if request.agent == "failing":
            while len(asked) < 5:  # first and the four branches
                await asyncio.sleep(0)
            raise ConnectionError("the model went away")
        return "x"

    return FunctionProvider(answer)


@pytest.mark.parametrize("inline_waits", [True, False], ids=["inline-busy", "inline-done"])
def test_a_failing_driver_stops_the_others_and_leaves_no_cancel_request(
    inline_waits: bool,
) -> None:
    # inline-busy: the failure interrupts the run's own task, which runs a quick agent.
    # inline-done: 'quick' finished, the run's task already waits for the drivers when the
    # failure comes; 3.11's TaskGroup cancels it then and never takes the request back.
    async def go() -> tuple[RunError, int, list[Any]]:
        # A failure that did not stop the others would wait on 'slow' for an hour.
        guard = asyncio.timeout(60)
        with pytest.raises(RunError) as info:
            async with guard:
                await arun(FAN, provider=provider(inline_waits))
        assert not guard.expired(), "the failure did not stop the other drivers"
        me = asyncio.current_task()
        assert me is not None
        await asyncio.sleep(0)  # a cancel request left behind would be delivered here
        others = [task for task in asyncio.all_tasks() if task is not me]
        return info.value, me.cancelling(), others

    error, cancelling, others = asyncio.run(go())
    assert error.node == "failing"
    assert isinstance(error.__cause__, ConnectionError)
    assert cancelling == 0
    assert others == []
    ended = {call.node: call.error for call in error.calls}
    assert ended["slow"] == "cancelled"
    if inline_waits:
        assert ended["quick"] == ended["quick2"] == "cancelled"
        assert error.completed == ["first"]
    else:
        assert error.completed[0] == "first" and sorted(error.completed[1:]) == list(QUICK)


def test_cancelling_the_run_cancels_every_driver_and_propagates() -> None:
    started: list[str] = []

    async def answer(request: ModelRequest) -> str:
        started.append(request.agent)
        if request.agent != "first":
            await asyncio.sleep(3600)
        return "x"

    async def go() -> list[Any]:
        task = asyncio.create_task(arun(FAN, provider=FunctionProvider(answer)))
        while len(started) < 5:  # first, then the four others all waiting
            await asyncio.sleep(0)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        return [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]

    started_agents = asyncio.run(go())
    assert started_agents == []
    assert sorted(started) == ["failing", "first", "quick", "quick2", "slow"]


def ladder(rungs: int) -> Pipeline:
    """rung_i feeds rung_i+1 and leaf_i, in that order. On the dataflow schedule both become
    ready together when rung_i ends: with eager starts (3.12) rung_i+1 is started from inside
    the driver of rung_i — every rung one level deeper — and leaf_i runs inline."""
    pipeline = Pipeline("ladder").step(Agent("rung0").instruct("Go.").writes("k0"))
    for i in range(rungs):
        pipeline = pipeline.step(Agent(f"rung{i + 1}").instruct(f"{{k{i}}}").writes(f"k{i + 1}"))
        pipeline = pipeline.step(Agent(f"leaf{i}").instruct(f"{{k{i}}}").writes(f"v{i}"))
    return pipeline


def test_a_ladder_of_started_drivers_runs_whatever_its_length() -> None:
    rungs = sys.getrecursionlimit()  # nested eager starts without a cap would overflow
    backend = AsyncioBackend(provider=FakeProvider(), schedule="dataflow")
    result = backend.compile(ladder(rungs).to_ir()).run()
    assert len(result.calls) == 2 * rungs + 1
    assert result.state[f"k{rungs}"] and result.state[f"v{rungs - 1}"]


def test_a_driver_starts_at_once_from_312_and_on_the_next_loop_step_before() -> None:
    # From 3.12 a driver runs as it is started (eagerly) up to its first suspension; one whose
    # model answers at once never goes through the loop at all. Before 3.12 it waits its turn.
    async def go() -> list[str]:
        group = Drivers([0])
        order: list[str] = []

        async def driver(name: str) -> None:
            order.append(name)
            group.finished(0)

        group.start(driver("driver"), 0)
        order.append("starter")
        await group.close(None)
        return order

    expected = ["driver", "starter"] if EAGER else ["starter", "driver"]
    assert asyncio.run(go()) == expected
    assert EAGER == (sys.version_info >= (3, 12)) and EAGER_DEPTH > 1


def test_drivers_refuse_new_work_once_aborting() -> None:
    async def go() -> bool:
        group = Drivers([0])
        group.abort()
        ran = False

        async def driver() -> None:
            nonlocal ran
            ran = True

        group.start(driver(), 0)
        await group.close(None)
        return ran

    assert asyncio.run(go()) is False


def test_a_failing_map_over_item_stops_the_others_and_leaves_no_cancel_request() -> None:
    # Items 0 and 2 wait for ever; item 1 fails once both wait, so the map-over node's task
    # (the run's own) already waits for its items when the failure comes.
    pipeline = Agent("list").instruct("Go.").writes("raw") >> MapOver("each").over(
        "items", item="item"
    ).step(Agent("one").instruct("{item}").writes("out")).collect("out").writes("outs")
    waiting: list[str] = []

    async def answer(request: ModelRequest) -> str:
        item = request.state.get("item")
        if item in ("a", "c"):
            waiting.append(item)
            await asyncio.sleep(3600)
        if item == "b":
            while len(waiting) < 2:
                await asyncio.sleep(0)
            raise ConnectionError("the model went away")
        return "x"

    async def go() -> tuple[RunError, int, list[Any]]:
        guard = asyncio.timeout(60)  # items left running would wait for an hour
        with pytest.raises(RunError) as info:
            async with guard:
                await arun(
                    pipeline, provider=FunctionProvider(answer), state={"items": ["a", "b", "c"]}
                )
        assert not guard.expired(), "the failure did not stop the other items"
        me = asyncio.current_task()
        assert me is not None
        await asyncio.sleep(0)
        return info.value, me.cancelling(), [t for t in asyncio.all_tasks() if t is not me]

    error, cancelling, others = asyncio.run(go())
    assert error.node == "one" and isinstance(error.__cause__, ConnectionError)
    assert cancelling == 0 and others == []
    assert sorted(c.error for c in error.calls if c.node == "one" and c.error) == [
        "ConnectionError('the model went away')",
        "cancelled",
        "cancelled",
    ]


def test_under_max_concurrency_slots_go_in_the_scheduled_order_on_every_python() -> None:
    # Ready together: the loop L (whose body is a | b), X and Y. Scheduled, L's body starts a
    # inline and b after X and Y; eager starts would run b before X and Y. With one slot that
    # order is the order of the calls, and irgraph.analysis predicts with the scheduled one.
    pipeline = (
        Loop("L").step(Agent("a").instruct("Go.") | Agent("b").instruct("Go.")).max_iterations(1)
        | Agent("X").instruct("Go.")
        | Agent("Y").instruct("Go.")
    )
    backend = AsyncioBackend(provider=FakeProvider(latency=0.001), max_concurrency=1)
    result = backend.compile(pipeline.to_ir()).run()
    assert [call.node for call in result.calls] == ["a", "X", "Y", "b"]


def test_nodes_ready_together_take_the_slots_in_plan_order() -> None:
    backend = AsyncioBackend(provider=FakeProvider(latency=0.001), max_concurrency=1)
    pipeline = Agent("start").instruct("Go.").writes("s") >> (
        Agent("a").instruct("{s}") | Agent("b").instruct("{s}") | Agent("c").instruct("{s}")
    )
    result = backend.compile(pipeline.to_ir()).run()
    assert [call.node for call in result.calls] == ["start", "a", "b", "c"]


def test_a_loops_task_factory_makes_every_driver_task() -> None:
    # Drivers are made with asyncio.Task directly only when the loop has no task factory: a
    # program that installed one (to name, trace or count its tasks) sees each driver's task.
    made: list[str] = []

    def factory(loop: asyncio.AbstractEventLoop, coro: Any, **kwargs: Any) -> asyncio.Task[Any]:
        made.append(coro.__qualname__)
        return asyncio.Task(coro, loop=loop, **kwargs)

    pipeline = (
        Agent("first").instruct("Go.").writes("f")
        >> (
            Agent("a").instruct("{f}").writes("a")
            | Agent("b").instruct("{f}").writes("b")
            | Agent("c").instruct("{f}").writes("c")
        )
        >> MapOver("each")
        .over("items", item="item")
        .step(Agent("one").instruct("{item}").writes("out"))
        .collect("out")
        .writes("outs")
    )

    async def go() -> dict[str, Any]:
        asyncio.get_running_loop().set_task_factory(factory)
        result = await arun(pipeline, provider=FakeProvider(), state={"items": [1, 2, 3]})
        return result.state

    state = asyncio.run(go())
    assert state["outs"] and len(state["outs"]) == 3
    # two of the three branches and the three items run in driver tasks (the run's own task
    # runs the third branch, so it is none of these)
    assert sorted(made).count("Drivers.own") == 3
    assert len([name for name in made if name.endswith("drive")]) == 2
