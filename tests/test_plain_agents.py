"""The scheduler's fast path for plain agents (``irgraph.backends.plain_agents``) records
what the general path records: every run here is made twice, once as it comes (plain agents
run inline in the drivers) and once with an ``on_event`` handler (which turns the fast path
off, so every agent goes through ``Scheduler.execute``), and the two must agree on the state,
outputs, events, calls and errors, times aside."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from irgraph import Agent, FanOut, MapOver, RunError
from irgraph.backends.asyncio_backend import AsyncioBackend
from irgraph.backends.scheduler import Scheduler
from irgraph.testing import FakeProvider
from tests.support.pipelines import research

PIPELINE = (
    Agent("a").instruct("Start.").writes("x").settings(temperature=0.2)
    >> FanOut("both")
    .branch(Agent("b").instruct("From {x}.").writes("y"))
    .branch(Agent("c").instruct("Also {x} {missing?}.").writes("z"))
    >> Agent("d").instruct("Join {y} and {z}.")
)


def _paths_taken() -> tuple[bool, bool]:
    """Whether a run as it comes, and one with an on_event handler, take the fast path."""
    options: dict[str, Any] = {"on_gate": None, "max_concurrency": None, "timeout": None}
    plain = Scheduler(FakeProvider(), on_event=None, chunks=False, **options)
    handled = Scheduler(FakeProvider(), on_event=print, chunks=False, **options)
    return plain.inline, handled.inline


def test_a_run_as_it_comes_takes_the_fast_path_and_one_with_a_handler_does_not() -> None:
    assert _paths_taken() == (True, False)


def _events(trace: list[Any]) -> list[tuple[Any, ...]]:
    return [(e.node, e.event, e.path) for e in trace]


def _calls(calls: list[Any]) -> list[tuple[Any, ...]]:
    assert all(c.start <= c.end for c in calls)
    return [(c.node, c.path, c.prompt, c.answer, c.model, c.attempt, c.error) for c in calls]


def _both(pipeline: Any, provider: Any, state: dict[str, Any] | None = None) -> list[Any]:
    """What each path made of one run: its result, or the error it raised."""
    runnable = AsyncioBackend(provider=provider).compile(pipeline.to_ir(), inputs=state or {})
    made = []
    for options in ({}, {"on_event": lambda event: None}):
        try:
            made.append(runnable.run(state or {}, **options))
        except RunError as error:
            made.append(error)
    return made


@pytest.mark.parametrize("pipeline", [PIPELINE, research], ids=["fan-out", "research"])
def test_both_paths_record_the_same_run(pipeline: Any) -> None:
    fast, general = _both(
        pipeline, FakeProvider(), {"topic": "owls"} if pipeline is research else {}
    )
    assert fast.state == general.state and fast.outputs == general.outputs
    assert _events(fast.trace) == _events(general.trace)
    assert _calls(fast.calls) == _calls(general.calls)
    assert len(fast.calls) == len(fast.trace) // 2  # one call per agent, each one its own


class Failing:
    """Answers every agent but ``b``, for which ``complete`` does what ``how`` says."""

    def __init__(self, how: str) -> None:
        self.how = how

    def complete(self, request: Any) -> Any:
        if request.node != "b":
            return self._text(request)
        if self.how == "raises":
            return self._raises()
        if self.how == "not text":
            return self._number()
        return "not awaitable"  # a plain def returning text

    async def _text(self, request: Any) -> str:
        return f"<{request.node}>"

    async def _raises(self) -> str:
        raise ConnectionError("quota")

    async def _number(self) -> int:
        return 42


@pytest.mark.parametrize("how", ["raises", "not text", "not awaitable"])
def test_both_paths_fail_a_failing_agent_alike(how: str) -> None:
    fast, general = _both(PIPELINE, Failing(how))
    assert isinstance(fast, RunError) and isinstance(general, RunError)
    assert str(fast) == str(general) and fast.node == general.node == "b"
    assert type(fast.__cause__) is type(general.__cause__)
    assert fast.completed == general.completed and fast.state == general.state
    assert _calls(fast.calls) == _calls(general.calls)
    b_calls = [call for call in fast.calls if call.node == "b"]
    # the call was made unless complete() never gave an awaitable (then both still record it)
    assert [call.answer for call in b_calls] == [None] and b_calls[0].error
    if how != "raises":  # our own error names the provider whose complete() is wrong
        assert "Failing.complete()" in str(fast)


class Hanging:
    """Answers ``a`` at once; ``b`` waits until cancelled."""

    def __init__(self) -> None:
        self.asked = asyncio.Event()

    async def complete(self, request: Any) -> str:
        if request.node == "b":
            self.asked.set()
            await asyncio.Event().wait()
        return f"<{request.node}>"


@pytest.mark.parametrize("handled", [False, True], ids=["fast", "general"])
def test_a_cancelled_plain_agent_keeps_its_call_and_what_completed(handled: bool) -> None:
    pipeline = Agent("a").instruct("Go.").writes("x") >> Agent("b").instruct("{x}")
    provider = Hanging()
    options = {"on_event": lambda event: None} if handled else {}

    async def cancel_while_b_waits() -> Any:
        task = asyncio.create_task(pipeline_run(pipeline, provider, options))
        await provider.asked.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError) as info:
            await task
        return info.value.partial  # type: ignore[attr-defined]

    partial = asyncio.run(cancel_while_b_waits())
    assert partial.completed == ["a"] and partial.state["x"] == "<a>"
    assert [(c.node, c.answer, c.error) for c in partial.calls] == [
        ("a", "<a>", None),
        ("b", None, "cancelled"),
    ]


async def pipeline_run(pipeline: Any, provider: Any, options: dict[str, Any]) -> Any:
    runnable = AsyncioBackend(provider=provider).compile(pipeline.to_ir())
    return await runnable.arun({}, **options)


def test_a_stop_request_from_a_plain_agents_provider_propagates_as_itself() -> None:
    class Interrupting:
        async def complete(self, request: Any) -> str:
            raise KeyboardInterrupt

    for options in ({}, {"on_event": lambda event: None}):
        runnable = AsyncioBackend(provider=Interrupting()).compile(PIPELINE.to_ir())
        with pytest.raises(KeyboardInterrupt):
            runnable.run({}, **options)


class StopsAfterA:
    """Answers ``a``; raises ``stop`` for the agents after it (a Ctrl-C in a provider)."""

    def __init__(self, stop: type[BaseException]) -> None:
        self.stop = stop

    async def complete(self, request: Any) -> str:
        if request.node != "a":
            raise self.stop
        return "<a>"


@pytest.mark.parametrize("stop", [KeyboardInterrupt, SystemExit])
@pytest.mark.parametrize("handled", [False, True], ids=["fast", "general"])
def test_a_stop_request_keeps_what_completed_and_leaves_no_unretrieved_task(
    stop: type[BaseException], handled: bool, caplog: pytest.LogCaptureFixture
) -> None:
    """A KeyboardInterrupt raised in a driver task stops the loop at once, so no scope saw it
    go by: its ``partial`` was None, and Python 3.12 logged "Task exception was never
    retrieved" for the task it left."""
    import gc

    options = {"on_event": lambda event: None} if handled else {}
    runnable = AsyncioBackend(provider=StopsAfterA(stop)).compile(PIPELINE.to_ir())
    with pytest.raises(stop) as info:
        runnable.run({}, **options)
    partial = info.value.partial  # type: ignore[attr-defined]
    assert partial.completed == ["a"] and partial.state == {"x": "<a>"}
    assert [call.node for call in partial.calls if call.answer] == ["a"]
    del info
    gc.collect()
    assert "never retrieved" not in caplog.text


def test_a_handler_that_is_empty_still_gets_every_agents_events() -> None:
    class Collector(list[Any]):  # falsy until its first event: a handler all the same
        def __call__(self, event: Any) -> None:
            self.append(event)

    events = Collector()
    result = AsyncioBackend(provider=FakeProvider()).compile(PIPELINE.to_ir()).run(on_event=events)
    assert _events(events) == _events(result.trace) and len(events) == 8


class Mutating:
    """Changes the nested settings it is sent, and keeps what it saw."""

    def __init__(self) -> None:
        self.seen: list[list[str]] = []

    async def complete(self, request: Any) -> str:
        self.seen.append(list(request.settings["stop"]))
        request.settings["stop"].append("X")
        return "ok"


@pytest.mark.parametrize("handled", [False, True], ids=["fast", "general"])
def test_a_provider_changing_nested_settings_changes_no_other_request(handled: bool) -> None:
    pipeline = Agent("a").instruct("Go.").settings(stop=["END"]).writes("x") >> Agent("b").instruct(
        "{x}"
    ).settings(stop=["END"])
    provider = Mutating()
    runnable = AsyncioBackend(provider=provider).compile(pipeline.to_ir())
    options = {"on_event": lambda event: None} if handled else {}
    runnable.run({}, **options)
    runnable.run({}, **options)
    assert provider.seen == [["END"]] * 4


def test_a_results_calls_can_be_replaced_and_a_call_made_from_a_request() -> None:
    from irgraph.events import Call
    from irgraph.providers import new_request

    result = AsyncioBackend(provider=FakeProvider()).compile(PIPELINE.to_ir()).run()
    result.calls = result.calls[:1]
    assert [call.node for call in result.calls] == ["a"]
    request = new_request("w", "writer", "Hi.", None, {}, "", {}, None)
    call = Call.made(request, (), "Hello.", 0.0, 1.0)
    assert (call.node, call.prompt, call.answer, call.attempt, call.error) == (
        "w",
        "Hi.",
        "Hello.",
        1,
        None,
    )


class AllHang:
    """Every call waits until cancelled; ``all_asked`` is set once ``count`` calls wait."""

    def __init__(self, count: int) -> None:
        self.count = count
        self.all_asked = asyncio.Event()

    async def complete(self, request: Any) -> str:
        self.count -= 1
        if self.count == 0:
            self.all_asked.set()
        await asyncio.Event().wait()
        return ""


@pytest.mark.parametrize("handled", [False, True], ids=["fast", "general"])
def test_cancelled_items_keep_their_calls_in_item_order(handled: bool) -> None:
    """The drivers of a scope were a set, cancelled in hash order: a cancelled map-over's
    calls came in a different order each run, and the two paths disagreed."""
    items = list("abcdef")
    each = MapOver("each").over("xs", item="x").step(Agent("w").instruct("Do {x}.").writes("y"))
    runnable = AsyncioBackend(provider=(provider := AllHang(len(items)))).compile(
        each.writes("ys").to_ir(), inputs={"xs": items}
    )

    async def cancel_when_all_wait() -> Any:
        options = {"on_event": lambda event: None} if handled else {}
        task = asyncio.create_task(runnable.arun({"xs": items}, **options))
        await provider.all_asked.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError) as info:
            await task
        return info.value.partial  # type: ignore[attr-defined]

    partial = asyncio.run(cancel_when_all_wait())
    assert [(c.path, c.error) for c in partial.calls] == [
        ((("each", i),), "cancelled") for i in range(len(items))
    ]


class ReverseLatency:
    """Item ``x`` of ``count`` answers once every later item of its pass has: item 0 finishes
    last. (By turns, not by sleeps of different lengths: on a busy machine the items' starts
    spread out by more than the sleeps differ, and the order flipped.)"""

    def __init__(self, count: int) -> None:
        self.count = count
        self.answered = 0
        self.turn: asyncio.Condition | None = None

    async def complete(self, request: Any) -> str:
        item = int(request.state["x"])
        if self.turn is None:
            self.turn = asyncio.Condition()
        async with self.turn:
            await self.turn.wait_for(lambda: self.answered % self.count == self.count - 1 - item)
            self.answered += 1
            self.turn.notify_all()
        return f"done {item}"


@pytest.mark.parametrize("handled", [False, True], ids=["fast", "general"])
def test_a_node_inside_a_map_over_outputs_its_last_items_value_not_the_last_to_finish(
    handled: bool,
) -> None:
    """outputs['w'] was the answer of whichever item finished last (here item 0)."""
    each = MapOver("each").over("xs", item="x").step(Agent("w").instruct("Do {x}.").writes("y"))
    pipeline = each.writes("ys") * 2
    options = {"on_event": lambda event: None} if handled else {}
    runnable = AsyncioBackend(provider=ReverseLatency(4)).compile(
        pipeline.to_ir(), inputs={"xs": [0, 1, 2, 3]}
    )
    result = runnable.run({"xs": [0, 1, 2, 3]}, **options)
    assert result.outputs["w"] == "done 3"
    assert [call.answer for call in result.calls][:4] == ["done 3", "done 2", "done 1", "done 0"]


@pytest.mark.parametrize("handled", [False, True], ids=["fast", "general"])
def test_a_map_overs_list_is_in_item_order_when_the_items_finish_in_reverse(handled: bool) -> None:
    each = MapOver("each").over("xs", item="x").step(Agent("w").instruct("Do {x}.").writes("y"))
    pipeline = each.collect("y").writes("ys")
    options = {"on_event": lambda event: None} if handled else {}
    runnable = AsyncioBackend(provider=ReverseLatency(4)).compile(pipeline.to_ir())
    result = runnable.run({"xs": [0, 1, 2, 3]}, **options)
    assert [call.answer for call in result.calls] == ["done 3", "done 2", "done 1", "done 0"]
    assert result.state["ys"] == ["done 0", "done 1", "done 2", "done 3"]
