"""A node's timeout measures the node's own work: waiting for a slot under
``max_concurrency`` does not count against it (found by the fuzzed conformance suite: a
notebook backend with one slot failed a fast agent that waited behind a slow one)."""

from __future__ import annotations

import pytest

from irgraph import Agent, RunError, run
from irgraph.backends.asyncio_backend import AsyncioBackend
from irgraph.testing import FakeProvider

SLOW_THEN_FAST = Agent("slow").instruct("Go.").writes("a").timeout(30) | Agent("fast").instruct(
    "Go."
).writes("b")


@pytest.mark.parametrize("bound", ["backend", "run"])
def test_waiting_for_a_slot_does_not_count_against_a_timeout(bound: str) -> None:
    # "fast" waits a second for the slot, past its timeout; its own call has half a second,
    # room enough for a loaded machine to leave the process off the CPU a while
    provider = FakeProvider(latency={"slow": 1.0})
    if bound == "backend":
        backend = AsyncioBackend(provider=provider, max_concurrency=1)
        result = run(SLOW_THEN_FAST, backend=backend, timeout=0.5)
    else:
        result = run(SLOW_THEN_FAST, provider=provider, timeout=0.5, max_concurrency=1)
    assert sorted(result.state) == ["a", "b"]
    assert provider.max_in_flight == 1


def test_the_call_itself_still_times_out() -> None:
    provider = FakeProvider(latency={"fast": 0.3})
    with pytest.raises(RunError) as failed:
        run(SLOW_THEN_FAST, provider=provider, timeout=0.1, max_concurrency=1)
    assert failed.value.node == "fast" and isinstance(failed.value.__cause__, TimeoutError)
    assert failed.value.state.get("a") is not None  # the slow one finished first


class _Steps:
    """What an awaitable's ``__await__`` may return: an iterator with ``__next__`` only (no
    send, throw or close), answering after ``left`` bare yields (None: never)."""

    def __init__(self, left: int | None) -> None:
        self.left = left

    def __iter__(self) -> _Steps:
        return self

    def __next__(self) -> None:
        if self.left == 0:
            raise StopIteration("answer")
        if self.left is not None:
            self.left -= 1
        return None  # a bare yield: asyncio runs the task again at once


class _PlainAwaitable:
    def __init__(self, left: int | None) -> None:
        self.left = left

    def __await__(self) -> _Steps:
        return _Steps(self.left)


class _PlainAwaitableProvider:
    def __init__(self, left: int | None) -> None:
        self.left = left

    def complete(self, request: object) -> _PlainAwaitable:
        return _PlainAwaitable(self.left)


def test_a_timed_call_may_await_an_iterator_with_no_send_or_throw() -> None:
    """An awaitable whose ``__await__`` returns a plain iterator is awaited under a timeout as
    ``await`` awaits it: answered, or cut off (nothing to throw the cancellation into)."""
    agent = Agent("a").instruct("Go.").writes("x")
    assert run(agent, provider=_PlainAwaitableProvider(3), timeout=30).state == {"x": "answer"}
    with pytest.raises(RunError) as info:
        run(agent, provider=_PlainAwaitableProvider(None), timeout=0.05)
    assert isinstance(info.value.__cause__, TimeoutError)
    assert "longer than its timeout of 0.05 s" in str(info.value)
