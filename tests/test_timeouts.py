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
    provider = FakeProvider(latency={"slow": 0.3})
    if bound == "backend":
        backend = AsyncioBackend(provider=provider, max_concurrency=1)
        result = run(SLOW_THEN_FAST, backend=backend, timeout=0.1)
    else:
        result = run(SLOW_THEN_FAST, provider=provider, timeout=0.1, max_concurrency=1)
    assert sorted(result.state) == ["a", "b"]
    assert provider.max_in_flight == 1


def test_the_call_itself_still_times_out() -> None:
    provider = FakeProvider(latency={"fast": 0.3})
    with pytest.raises(RunError) as failed:
        run(SLOW_THEN_FAST, provider=provider, timeout=0.1, max_concurrency=1)
    assert failed.value.node == "fast" and isinstance(failed.value.__cause__, TimeoutError)
    assert failed.value.state.get("a") is not None  # the slow one finished first
