"""Failures while running end as a RunError naming the node (issue 15, round two): a provider's
stray CancelledError, a RunError of a pipeline run inside a provider or transform, handlers that
raise, odd values. What asks the program to stop (KeyboardInterrupt, SystemExit, GeneratorExit,
other BaseExceptions, and cancelling the run) propagates unchanged."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest

from irgraph import Agent, Gate, Loop, MapOver, RunError, Transform, arun, run
from irgraph.providers import ModelRequest
from irgraph.testing import FakeProvider, FunctionProvider, raising

# first -> (left | right) -> last: "first" runs inline in the run's own task, the branches in
# tasks of their own.
PIPELINE = (
    Agent("first").instruct("Go.").writes("f")
    >> (Agent("left").instruct("{f}").writes("l") | Agent("right").instruct("{f}").writes("r"))
    >> Agent("last").instruct("{l} {r}").writes("out")
)


def raising_at(agent: str, error: BaseException) -> FunctionProvider:
    """A provider answering every agent but ``agent``, where it raises ``error``."""

    async def answer(request: ModelRequest) -> str:
        if request.agent == agent:
            raise error
        await asyncio.sleep(0)
        return f"<{request.agent}>"

    return FunctionProvider(answer)


# A provider's own CancelledError ---------------------------------------------------------


@pytest.mark.parametrize("agent", ["first", "left", "right", "last"])
def test_a_provider_raising_cancelled_error_is_a_run_error_naming_the_agent(agent: str) -> None:
    with pytest.raises(RunError) as info:
        run(PIPELINE, provider=raising_at(agent, asyncio.CancelledError()))
    error = info.value
    assert error.node == agent
    assert f"Node '{agent}' failed: the model provider raised CancelledError" in str(error)
    assert "nothing cancelled the run" in str(error)
    assert isinstance(error.__cause__, asyncio.CancelledError)
    assert agent not in error.completed
    if agent != "first":
        assert "first" in error.completed and error.state["f"] == "<first>"


def test_a_stray_cancelled_error_in_a_branch_no_longer_drops_the_rest_of_the_run() -> None:
    # Before: the branch's task ended "cancelled", the task group took that for no error, and
    # the run returned without 'right' and 'last' ever running.
    calls: list[str] = []

    async def answer(request: ModelRequest) -> str:
        calls.append(request.agent)
        if request.agent == "right":
            raise asyncio.CancelledError
        return "x"

    with pytest.raises(RunError) as info:
        run(PIPELINE, provider=FunctionProvider(answer))
    assert info.value.node == "right"
    assert "last" not in calls


def test_cancelling_the_run_from_outside_still_cancels_it() -> None:
    started = asyncio.Event()

    async def answer(request: ModelRequest) -> str:
        started.set()
        await asyncio.sleep(3600)
        return "x"

    async def go() -> None:
        task = asyncio.create_task(arun(PIPELINE, provider=FunctionProvider(answer)))
        await started.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(go())


def test_a_timeout_around_the_whole_run_is_the_callers_timeout_not_a_run_error() -> None:
    async def go() -> None:
        async with asyncio.timeout(0.05):
            await arun(PIPELINE, provider=FakeProvider(latency=3600))

    with pytest.raises(TimeoutError):
        asyncio.run(go())


# A pipeline run inside a node ------------------------------------------------------------

INNER = Agent("inner_first").instruct("a").writes("a") >> Agent("x").instruct("{a}")


def test_a_provider_running_a_failing_pipeline_fails_the_outer_agent() -> None:
    async def answer(request: ModelRequest) -> str:
        if request.agent == "prep":
            return "notes"
        result = await arun(INNER, provider=FakeProvider(fail={"x": 1}))
        return str(result.output)

    outer = Agent("prep").instruct("p").writes("p") >> Agent("outer_agent").instruct("{p}")
    with pytest.raises(RunError) as info:
        run(outer, provider=FunctionProvider(answer))
    error = info.value
    assert error.node == "outer_agent"
    assert str(error).startswith(
        "Node 'outer_agent' failed: the model provider raised RunError: Node 'x' failed: "
        "FakeProviderError"
    )
    assert str(error).count("the cause is chained below") == 1
    inner = error.__cause__
    assert isinstance(inner, RunError) and inner.node == "x"
    assert inner.completed == ["inner_first"]
    assert error.completed == ["prep"] and "p" in error.state


def test_a_transform_running_a_failing_pipeline_fails_the_transform() -> None:
    def summarise(text: str) -> str:
        return str(run(INNER, provider=FakeProvider(fail={"x": 1})).output)

    pipeline = Agent("w").instruct("w").writes("text") >> Transform("digest", summarise).reads(
        "text"
    ).writes("digest")
    with pytest.raises(RunError) as info:
        run(pipeline, provider=FakeProvider())
    assert info.value.node == "digest"
    assert "the transform's function raised RunError: Node 'x' failed" in str(info.value)
    assert info.value.completed == ["w"]


def test_a_failure_inside_loops_and_map_overs_still_names_the_innermost_node() -> None:
    body = MapOver("each").over("items").step(Agent("work").instruct("{item}").writes("o"))
    pipeline = Loop("again").step(body.writes("outs")).max_iterations(2)
    with pytest.raises(RunError) as info:
        run(pipeline, provider=FakeProvider(fail={"work": 1}), state={"items": [1, 2]})
    assert info.value.node == "work" and info.value.path == (("again", 0), ("each", 0))
    assert str(info.value).startswith("Node 'work' failed at again[0] > each[0]: FakeProviderError")


# Handlers --------------------------------------------------------------------------------


def test_an_on_event_handler_raising_at_a_start_fails_that_node_before_it_runs() -> None:
    fake = FakeProvider()

    def on_event(event: Any) -> None:
        if event.node == "left" and event.event == "start":
            raise ValueError("dashboard down")

    with pytest.raises(RunError) as info:
        run(PIPELINE, provider=fake, on_event=on_event)
    error = info.value
    assert error.node == "left"
    assert "the on_event handler raised ValueError: dashboard down" in str(error)
    assert "left" not in [call.agent for call in fake.calls]
    assert error.completed[0] == "first"


def test_an_on_event_handler_raising_at_an_end_keeps_what_that_node_wrote() -> None:
    def on_event(event: Any) -> None:
        if event.node == "first" and event.event == "end":
            raise ValueError("dashboard down")

    with pytest.raises(RunError) as info:
        run(PIPELINE, provider=FakeProvider(), on_event=on_event)
    assert info.value.node == "first"
    assert info.value.completed == ["first"]
    assert info.value.state["f"] == "<first: Go.>"


def test_an_on_event_handler_raising_on_a_streamed_chunk_fails_the_agent() -> None:
    from irgraph.backends.asyncio_backend import AsyncioBackend

    runnable = AsyncioBackend(provider=FakeProvider()).compile(PIPELINE.to_ir())

    def on_event(event: Any) -> None:
        if event.event == "chunk":
            raise ValueError("no chunks, please")

    async def go() -> None:
        async for _ in runnable.stream(on_event=on_event):
            pass

    with pytest.raises(RunError) as info:
        asyncio.run(go())
    assert info.value.node == "first"
    assert "the on_event handler raised ValueError: no chunks, please" in str(info.value)


@pytest.mark.parametrize("asynchronous", [False, True], ids=["sync", "async"])
def test_an_on_gate_handler_raising_fails_the_gate(asynchronous: bool) -> None:
    def refuse(request: Any) -> str:
        raise PermissionError("no reviewer on duty")

    async def refuse_async(request: Any) -> str:
        refuse(request)
        return "never"

    pipeline = Agent("draft").instruct("d").writes("d") >> Gate("approve", "Ok {d}?").writes("ok")
    with pytest.raises(RunError) as info:
        run(pipeline, provider=FakeProvider(), on_gate=refuse_async if asynchronous else refuse)
    assert info.value.node == "approve"
    assert "PermissionError: no reviewer on duty" in str(info.value)
    assert info.value.completed == ["draft"]


def test_an_on_gate_handler_raising_cancelled_error_fails_the_gate() -> None:
    async def give_up(request: Any) -> str:
        raise asyncio.CancelledError

    with pytest.raises(RunError) as info:
        run(Gate("approve", "Ok?").writes("ok"), on_gate=give_up)
    assert info.value.node == "approve"
    assert "the on_gate handler raised CancelledError" in str(info.value)


# Odd values and the provider's own timeouts ----------------------------------------------


class BrokenAwaitable:
    """Looks awaitable, but its __await__ does not return an iterator."""

    def __await__(self) -> Any:
        return 42


def test_a_transform_returning_a_broken_awaitable_fails_the_transform() -> None:
    pipeline = Transform("odd", lambda: BrokenAwaitable()).writes("odd")
    with pytest.raises(RunError) as info:
        run(pipeline)
    assert info.value.node == "odd"
    assert "TypeError" in str(info.value)


class Undecidable:
    """A value whose truth cannot be told."""

    def __bool__(self) -> bool:
        raise ValueError("ambiguous verdict")


def test_a_loop_key_whose_truth_cannot_be_told_fails_the_loop() -> None:
    body = Transform("judge", lambda: Undecidable()).writes("verdict")
    pipeline = Loop("review").step(body).max_iterations(3).until("verdict")
    with pytest.raises(RunError) as info:
        run(pipeline)
    assert info.value.node == "review"
    assert "ValueError: ambiguous verdict" in str(info.value)
    assert info.value.completed == ["judge"]


def test_a_providers_own_timeout_error_is_not_reported_as_the_nodes_timeout() -> None:
    pipeline = Agent("w").instruct("w").timeout(60)
    with pytest.raises(RunError) as info:
        run(pipeline, provider=raising(TimeoutError("read timed out")))
    assert "TimeoutError: read timed out" in str(info.value)
    assert "longer than its timeout" not in str(info.value)


# Requests to stop ------------------------------------------------------------------------


class Stop(BaseException):
    """A BaseException of one's own: like pytest's outcomes or gevent's Timeout."""


@pytest.mark.parametrize("agent", ["first", "right"])
@pytest.mark.parametrize(
    "error",
    [KeyboardInterrupt(), SystemExit(3), GeneratorExit(), Stop("halt")],
    ids=["KeyboardInterrupt", "SystemExit", "GeneratorExit", "own BaseException"],
)
def test_a_request_to_stop_propagates_unchanged(agent: str, error: BaseException) -> None:
    with pytest.raises(type(error)) as info:
        run(PIPELINE, provider=raising_at(agent, error))
    assert info.value is error


@pytest.mark.parametrize("options", [{}, {"on_event": lambda event: None}], ids=["plain", "events"])
def test_a_request_to_stop_inside_a_nested_run_carries_the_outer_runs_record(
    options: dict[str, Any],
) -> None:
    """A provider that runs a pipeline of its own, whose provider raises KeyboardInterrupt:
    the caller of the outer run gets the outer run's record, not the nested run's."""
    inner = Agent("inner_first").instruct("a").writes("a") >> Agent("x").instruct("{a}")

    async def answer(request: ModelRequest) -> str:
        await asyncio.sleep(0)
        if request.agent == "left":
            nested = await arun(inner, provider=raising_at("x", KeyboardInterrupt()))
            return str(nested.state)
        return f"<{request.agent}>"

    pipeline = Agent("first").instruct("Go.").writes("f") >> Agent("left").instruct("{f}")
    with pytest.raises(KeyboardInterrupt) as info:
        run(pipeline, provider=FunctionProvider(answer), **options)
    partial = info.value.partial  # type: ignore[attr-defined]
    assert partial.completed == ["first"] and partial.state == {"f": "<first>"}
    assert [(call.node, call.answer) for call in partial.calls] == [
        ("first", "<first>"),
        ("left", None),
    ]


def test_a_request_to_stop_wins_over_a_siblings_failure() -> None:
    # 'left' fails; the task group cancels 'right', whose clean-up raises a request to stop.
    # Before, the sibling's RunError was reported and the request to stop was lost.
    right_waiting = threading.Event()

    async def answer(request: ModelRequest) -> str:
        if request.agent == "right":
            right_waiting.set()
            try:
                await asyncio.sleep(3600)
            except asyncio.CancelledError:
                raise Stop("shutting down") from None
        if request.agent == "left":
            while not right_waiting.is_set():
                await asyncio.sleep(0)
            raise ValueError("left failed")
        return "x"

    with pytest.raises(Stop):
        run(PIPELINE, provider=FunctionProvider(answer))


# Work that catches its own timeout's cancellation ----------------------------------------


async def _answer_swallowing_cancellation(request: ModelRequest) -> str:
    try:
        await asyncio.sleep(30)
    except asyncio.CancelledError:
        return "made after the timeout"
    return "on time"


async def _transform_swallowing_cancellation(text: str) -> str:
    try:
        await asyncio.sleep(30)
    except asyncio.CancelledError:
        return "made after the timeout"
    return text


@pytest.mark.parametrize("where", ["first", "left", "last"])
def test_an_answer_made_after_the_timeout_cancelled_it_is_not_taken(where: str) -> None:
    """A provider catching the cancellation its node's timeout sends, then returning, had its
    answer stored as if on time; now the node fails on its timeout and says why."""

    async def answer(request: ModelRequest) -> str:
        if request.agent == where:
            return await _answer_swallowing_cancellation(request)
        return f"<{request.agent}>"

    pipeline = (
        Agent("first").instruct("Go.").writes("f").timeout(0.05)
        >> (
            Agent("left").instruct("{f}").writes("l").timeout(0.05)
            | Agent("right").instruct("{f}").writes("r")
        )
        >> Agent("last").instruct("{l} {r}").writes("out").timeout(0.05)
    )
    with pytest.raises(RunError, match=f"'{where}'.*timeout of 0.05 s.*caught the cancellation"):
        run(pipeline, provider=FunctionProvider(answer))


def test_a_transform_returning_after_its_timeout_cancelled_it_fails_the_node() -> None:
    step = Transform("late", _transform_swallowing_cancellation).reads("f").writes("g")
    pipeline = Agent("first").instruct("Go.").writes("f") >> step.timeout(0.05)
    with pytest.raises(RunError, match="'late'.*caught the cancellation") as info:
        run(pipeline, provider=FakeProvider())
    assert "g" not in info.value.state and info.value.completed == ["first"]


def test_a_generated_prefect_transform_times_out_with_advice_and_refuses_a_late_value() -> None:
    from irgraph.backends import prefect_runtime

    state: dict[str, Any] = {"f": "x"}
    said = "Node 'late' failed: TimeoutError: .*timeout of 0.05 s.*caught the cancellation"
    with pytest.raises(RunError, match=said) as info:
        asyncio.run(
            prefect_runtime.transform(
                state,
                node="late",
                function=f"{__name__}:_transform_swallowing_cancellation",
                reads=("f",),
                writes="g",
                timeout=0.05,
            )
        )
    assert isinstance(info.value.__cause__, TimeoutError)
    assert "g" not in state
