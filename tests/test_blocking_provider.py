"""Code that blocks the event loop past its node's timeout (a provider, an async transform, an
async on_gate handler): the timeout cannot fire while the loop is blocked, so once the code
returns, it fails as a timeout all the same, naming the code that blocked and how to stop it."""

from __future__ import annotations

import asyncio
import re
import time
from typing import Any

import pytest

from irgraph import Agent, Gate, RunError, Transform, run
from irgraph.testing import FakeProvider


class Blocking:
    """Blocks the loop (a synchronous sleep in an async def), then answers."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds

    async def complete(self, request: Any) -> str:
        time.sleep(self.seconds)
        return f"<{request.node}>"


@pytest.mark.parametrize(
    ("own", "options"),
    [(0.05, {}), (None, {"timeout": 0.05}), (0.05, {"max_concurrency": 1})],
    ids=["node timeout", "run timeout", "under max_concurrency"],
)
def test_a_provider_blocking_the_loop_past_its_timeout_fails_as_a_timeout(
    own: float | None, options: dict[str, Any]
) -> None:
    writer = Agent("writer").instruct("Go.").writes("x")
    pipeline = (writer if own is None else writer.timeout(own)) >> Agent("after").instruct("{x}")
    with pytest.raises(RunError) as info:
        run(pipeline, provider=Blocking(0.3), **options)
    failed = info.value
    assert failed.node == "writer" and isinstance(failed.__cause__, TimeoutError)
    said = str(failed)
    blocked = re.search(r"blocked the event loop for ([\d.]+) s, past its timeout of 0.05 s", said)
    assert blocked is not None and float(blocked[1]) >= 0.3, said
    assert "the model call of agent 'writer' (Blocking.complete()) blocked the event loop" in said
    assert "make complete() await its I/O" in said and "asyncio.to_thread" in said
    assert failed.state == {} and failed.completed == []  # the late value is not taken
    assert [(call.node, call.answer) for call in failed.calls] == [("writer", None)]


@pytest.mark.parametrize("chunks", [False, True], ids=["complete", "stream"])
def test_a_call_that_begins_past_its_deadline_and_holds_the_loop_is_named(
    monkeypatch: pytest.MonkeyPatch, chunks: bool
) -> None:
    """On a busy machine the process can be descheduled between the timeout's start and the
    call's first step, which then begins past the deadline: a step that holds the loop for
    longer than the whole timeout blocked it all the same (CI under load saw a streamed call
    sleeping 0.3 s against 0.05 s pass as answered in time)."""
    from irgraph.backends import timeouts

    real = time.monotonic
    descheduled = iter([-0.2])  # the deadline's reading, 0.2 s before the first step's

    def clock() -> float:
        return real() + next(descheduled, 0.0)

    monkeypatch.setattr(timeouts, "_now", clock)
    pipeline = Agent("writer").instruct("Go.").writes("x").timeout(0.05)
    provider: Any = BlockingStream() if chunks else Blocking(0.3)
    options: dict[str, Any] = {"on_event": lambda event: None, "chunks": True} if chunks else {}
    with pytest.raises(RunError) as info:
        run(pipeline, provider=provider, **options)
    assert "blocked the event loop for" in str(info.value), str(info.value)
    assert info.value.state == {}  # the late value is not taken


def test_a_provider_blocking_within_its_timeout_is_answered() -> None:
    pipeline = Agent("writer").instruct("Go.").writes("x").timeout(30)
    assert run(pipeline, provider=Blocking(0.01)).state == {"x": "<writer>"}


class BlockedBySibling:
    """``waits`` answers once ``blocks`` has begun; ``blocks`` then blocks the loop past the
    other's timeout, so ``waits`` resumes with its answer before the timer's turn comes."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.waiting = asyncio.Event()
        self.answered = asyncio.Event()

    async def complete(self, request: Any) -> str:
        if request.node == "waits":
            self.waiting.set()
            await self.answered.wait()
        elif request.node == "blocks":
            await self.waiting.wait()
            self.answered.set()  # the other call's answer is ready, well in time...
            time.sleep(self.seconds)  # ...but this one, with no timeout, holds the loop
        return f"<{request.node}>"


@pytest.mark.parametrize(
    "options",
    [{}, {"max_concurrency": 2}, {"on_event": lambda event: None}],
    ids=["plain", "slots", "events"],
)
def test_a_call_resuming_late_because_a_sibling_blocked_the_loop_is_not_blamed(
    options: dict[str, Any],
) -> None:
    """The call that blocked the loop is the one that fails as blocking it, not another call
    whose answer was ready before its timeout and resumed once the loop was free."""
    # "waits" has its answer a step or two after it starts: half a second leaves room for a
    # loaded machine, and "blocks" holds the loop past it
    pipeline = Agent("first").instruct("Go.").writes("x") >> (
        Agent("waits").instruct("{x}").writes("w").timeout(0.5)
        | Agent("blocks").instruct("{x}").writes("b")
    )
    result = run(pipeline, provider=BlockedBySibling(0.8), **options)
    assert result.state == {"x": "<first>", "w": "<waits>", "b": "<blocks>"}


class BlockingStream:
    """Streams one chunk after blocking the loop."""

    async def complete(self, request: Any) -> str:
        return "unused"

    async def stream(self, request: Any) -> Any:
        time.sleep(0.3)
        yield "late"


def test_a_streamed_call_blocking_the_loop_names_stream_and_the_chunk_handler() -> None:
    pipeline = Agent("writer").instruct("Go.").writes("x").timeout(0.05)
    with pytest.raises(RunError) as info:
        run(pipeline, provider=BlockingStream(), on_event=lambda event: None, chunks=True)
    said = str(info.value)
    assert "the model call of agent 'writer' (BlockingStream.stream(), or the on_event " in said
    assert "make stream() await its I/O" in said and "an on_event handler must return" in said


async def tidy(text: str) -> str:
    time.sleep(0.3)  # a synchronous call in an async def
    return text


def plain_tidy(text: str) -> str:
    time.sleep(0.3)
    return text


async def answer(request: Any) -> str:
    time.sleep(0.3)
    return "yes"


def plain_answer(request: Any) -> str:
    time.sleep(0.3)
    return "yes"


def _blocked(pipeline: Any, **options: Any) -> str:
    with pytest.raises(RunError) as info:
        run(pipeline, provider=FakeProvider(), **options)
    assert isinstance(info.value.__cause__, TimeoutError)
    return str(info.value)


def _transform(fn: Any) -> Any:
    return Agent("a").instruct("Go.").writes("x") >> Transform("t", fn).reads("x").writes(
        "y"
    ).timeout(0.05)


def _gate() -> Any:
    return Agent("a").instruct("Go.").writes("x") >> Gate("g", "OK? {x}").writes("y").timeout(0.05)


def test_an_async_transform_blocking_the_loop_is_named_with_the_plain_def_fix() -> None:
    said = _blocked(_transform(tidy))
    assert (
        "the function tidy() of transform 't' (an async def, so it runs on the event loop) "
        "blocked the event loop for" in said
    ), said
    assert "make tidy() a plain def, which irgraph runs on a worker thread" in said
    assert "asyncio.to_thread" in said and "complete()" not in said


def test_an_async_on_gate_handler_blocking_the_loop_is_named_with_the_plain_def_fix() -> None:
    said = _blocked(_gate(), on_gate=answer)
    assert (
        "the on_gate handler answer() of gate 'g' (an async def, so it runs on the event "
        "loop) blocked the event loop for" in said
    ), said
    assert "make answer() a plain def, which irgraph runs on a worker thread" in said
    assert "complete()" not in said


async def tidy_longer(text: str) -> str:
    time.sleep(1.5)  # a synchronous call in an async def, well past the timeout below
    return text


def slow_tidy_later(text: str) -> Any:
    return tidy_longer(text)  # a plain def handing back a coroutine that blocks once awaited


def test_an_awaitable_a_plain_transform_returns_blocking_the_loop_is_named() -> None:
    """The plain def runs on a worker thread first: its timeout leaves room for that hand-off
    on a busy machine (with 0.05 s, the timer fired while the thread started, and the run was
    rightly told late, not blocked: a flaky test)."""
    pipeline = Agent("a").instruct("Go.").writes("x") >> Transform("t", slow_tidy_later).reads(
        "x"
    ).writes("y").timeout(0.5)
    said = _blocked(pipeline)
    assert (
        "the awaitable that the function slow_tidy_later() of transform 't' returned blocked "
        "the event loop" in said
    ), said
    assert "have slow_tidy_later() return its value, not an awaitable" in said


@pytest.mark.parametrize(
    ("pipeline", "options"),
    [(_transform(plain_tidy), {}), (_gate(), {"on_gate": plain_answer})],
    ids=["transform", "on_gate handler"],
)
def test_the_plain_def_the_hint_asks_for_times_out_while_it_blocks(
    pipeline: Any, options: dict[str, Any]
) -> None:
    """What the hint says holds: as a plain def the same blocking code runs on a worker thread,
    and its timeout fires as usual."""
    said = _blocked(pipeline, **options)
    assert "it took longer than its timeout of 0.05 s" in said and "blocked" not in said


def test_a_generated_flows_async_transform_blocking_the_loop_is_named() -> None:
    """A Prefect flow module's transforms go through prefect_runtime.transform: the same
    message names the function there."""
    from irgraph.backends.prefect_runtime import transform

    called = transform(
        {"x": "text"}, node="t", function=f"{__name__}:tidy", reads=("x",), writes="y", timeout=0.05
    )
    said = r"Node 't' failed: TimeoutError: the function tidy\(\) of transform 't' \(an async"
    with pytest.raises(RunError, match=said) as failed:
        asyncio.run(called)
    assert isinstance(failed.value.__cause__, TimeoutError)


def test_a_generated_flows_plain_transform_times_out_while_it_blocks() -> None:
    """There a plain def runs on a worker thread, as the hint says: its timeout fires."""
    from irgraph.backends.prefect_runtime import transform

    called = transform(
        {"x": "text"},
        node="t",
        function=f"{__name__}:plain_tidy",
        reads=("x",),
        writes="y",
        timeout=0.05,
    )
    said = "Node 't' failed: TimeoutError: it took longer than its timeout of 0.05 s"
    with pytest.raises(RunError, match=said) as failed:
        asyncio.run(called)
    assert isinstance(failed.value.__cause__, TimeoutError)
