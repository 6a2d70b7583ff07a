"""A provider that blocks the event loop past its node's timeout: the timeout cannot fire
while the loop is blocked, so once the call returns, it fails as a timeout all the same."""

from __future__ import annotations

import asyncio
import re
import time
from typing import Any

import pytest

from irgraph import Agent, RunError, run


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
    assert "asyncio.to_thread" in said and "complete()" in said
    assert failed.state == {} and failed.completed == []  # the late value is not taken
    assert [(call.node, call.answer) for call in failed.calls] == [("writer", None)]


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
    pipeline = Agent("first").instruct("Go.").writes("x") >> (
        Agent("waits").instruct("{x}").writes("w").timeout(0.05)
        | Agent("blocks").instruct("{x}").writes("b")
    )
    result = run(pipeline, provider=BlockedBySibling(0.3), **options)
    assert result.state == {"x": "<first>", "w": "<waits>", "b": "<blocks>"}
