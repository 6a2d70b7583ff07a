"""A cancelled stream consumer's CancelledError carries the run's ``.partial``, as a cancelled
``arun`` does: what completed, the state and the events up to the cancel."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from irgraph import Agent, RunError
from irgraph.backends.asyncio_backend import AsyncioBackend

PIPELINE = Agent("a").instruct("Go.").writes("x") >> Agent("b").instruct("{x}").writes("y")


class Hanging:
    """Answers ``a`` at once; ``b`` waits until cancelled."""

    async def complete(self, request: Any) -> str:
        if request.node == "b":
            await asyncio.Event().wait()
        return f"<{request.node}>"


async def cancelled_consumer(inside_with: bool) -> tuple[Any, list[tuple[str, str]]]:
    """Consume a stream until ``b`` has started, then cancel the consumer's task: while it
    waits for the next event, or (``inside_with``) while its own body waits on something
    else inside ``async with``."""
    runnable = AsyncioBackend(provider=Hanging()).compile(PIPELINE.to_ir())
    seen: list[tuple[str, str]] = []
    b_started = asyncio.Event()

    async def consume() -> None:
        if inside_with:
            async with runnable.stream({}) as events:
                async for event in events:
                    seen.append((event.node, event.event))
                    if (event.node, event.event) == ("b", "start"):
                        b_started.set()
                        await asyncio.Event().wait()  # busy with something else
        else:
            async for event in runnable.stream({}):
                seen.append((event.node, event.event))
                if (event.node, event.event) == ("b", "start"):
                    b_started.set()

    consumer = asyncio.create_task(consume())
    await b_started.wait()
    consumer.cancel()
    with pytest.raises(asyncio.CancelledError) as info:
        await consumer
    return getattr(info.value, "partial", None), seen


@pytest.mark.parametrize("inside_with", [False, True], ids=["async for", "async with"])
def test_a_cancelled_stream_consumer_keeps_what_completed(inside_with: bool) -> None:
    partial, seen = asyncio.run(cancelled_consumer(inside_with))
    assert isinstance(partial, RunError) and partial.cancelled
    assert partial.completed == ["a"] and partial.state == {"x": "<a>"}
    events = [(e.node, e.event) for e in partial.trace]
    assert events == seen == [("a", "start"), ("a", "end"), ("b", "start")]
    assert [(c.node, c.error) for c in partial.calls] == [("a", None), ("b", "cancelled")]


class Answering:
    async def complete(self, request: Any) -> str:
        return f"<{request.node}>"


async def cancelled_after_the_run(inside_with: bool) -> tuple[Any, Any]:
    """Cancel the consumer once the run has finished but before the consumer has resumed:
    from the handler told the last event (the run ends in that same step), or, inside
    ``async with``, while its body waits on something else after the last event."""
    runnable = AsyncioBackend(provider=Answering()).compile(PIPELINE.to_ir())
    consumer: asyncio.Task[None] | None = None
    last = asyncio.Event()

    def told(event: Any) -> None:
        if (event.node, event.event) == ("b", "end") and not inside_with:
            assert consumer is not None
            consumer.cancel()

    stream = runnable.stream({}, on_event=told)

    async def consume() -> None:
        if inside_with:
            async with stream as events:
                async for event in events:
                    if (event.node, event.event) == ("b", "end"):
                        last.set()
                        await asyncio.Event().wait()  # busy with something else
        else:
            async for _ in stream:
                pass

    consumer = asyncio.create_task(consume())
    if inside_with:
        await last.wait()
        # the run's own task ends after its last event: wait for it (if it still goes)
        running = asyncio.all_tasks() - {asyncio.current_task(), consumer}
        if running:
            await asyncio.wait(running)
        consumer.cancel()
    with pytest.raises(asyncio.CancelledError) as info:
        await consumer
    return info.value, stream


@pytest.mark.parametrize("inside_with", [False, True], ids=["async for", "async with"])
def test_a_consumer_cancelled_as_the_run_finishes_keeps_its_result(inside_with: bool) -> None:
    cancelled, stream = asyncio.run(cancelled_after_the_run(inside_with))
    assert stream.result is not None  # the run finished: its result is not lost
    assert stream.result.state == {"x": "<a>", "y": "<b>"}
    assert getattr(cancelled, "partial", None) is None  # nothing was cut short: no RunError
