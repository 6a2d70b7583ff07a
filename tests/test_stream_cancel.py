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
