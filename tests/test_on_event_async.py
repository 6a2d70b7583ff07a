"""An async on_event handler would never run (nothing awaits it): it is refused, by name."""

from __future__ import annotations

import functools

import pytest

from irgraph import Agent, PipelineError, RunError, run
from irgraph.testing import FakeProvider

AGENT = Agent("a").instruct("hi").writes("x")


async def collect(event, seen):
    seen.append(event)


class AsyncHandler:
    async def __call__(self, event):
        pass


@pytest.mark.parametrize(
    "handler",
    [collect, functools.partial(collect, seen=[]), AsyncHandler()],
    ids=["async def", "partial", "async __call__"],
)
def test_an_async_on_event_handler_is_refused_before_the_run(handler):
    fake = FakeProvider()
    with pytest.raises(PipelineError, match="on_event .* is async") as info:
        run(AGENT, provider=fake, state={}, on_event=handler)
    assert "asyncio.Queue" in str(info.value)
    assert fake.calls == []


def test_a_handler_that_returns_a_coroutine_fails_the_node_that_told_it():
    with pytest.raises(RunError, match="returned an awaitable") as info:
        run(AGENT, provider=FakeProvider(), state={}, on_event=lambda e: collect(e, []))
    assert info.value.node == "a"


def test_a_plain_handler_still_sees_every_event():
    seen = []
    run(AGENT, provider=FakeProvider(), state={}, on_event=seen.append)
    assert [e.event for e in seen] == ["start", "end"]
