"""A batch whose states raise part way (a generator reading a file that goes bad, say): the
items in flight were cancelled as the error went up, so their model calls were paid for and
their results lost (kept only under a batch key). Now they finish and are handed over first,
and the error is raised after, carrying the batch's record as ``partial``."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from irgraph import Agent, arun_many, run_many
from irgraph.testing import FakeProvider

PIPELINE = Agent("w").instruct("Write about {topic}.").writes("text")


def states() -> Iterator[dict[str, str]]:
    yield from ({"topic": topic} for topic in ("owls", "bats", "moths"))
    raise ValueError("line 4 of topics.jsonl is not what the generator expected")


def test_the_items_in_flight_finish_before_the_states_error_is_raised():
    provider = FakeProvider()
    handed = []
    with pytest.raises(ValueError, match="line 4 of topics.jsonl") as raised:
        for item in run_many(PIPELINE, states(), provider=provider, max_items=8):
            handed.append(item)
    assert sorted(item.index for item in handed) == [0, 1, 2]
    assert all(item.ok for item in handed) and len(provider.calls) == 3
    record = raised.value.partial  # type: ignore[attr-defined]
    assert record.handed == 3 and record.failed == 0 and record.results == []
    assert str(record) in raised.value.__notes__


def test_so_they_do_in_arun_many():
    async def go() -> list[int]:
        handed = []
        async for item in arun_many(PIPELINE, states(), provider=FakeProvider(), max_items=8):
            handed.append(item.index)
        return handed

    with pytest.raises(ValueError) as raised:
        asyncio.run(go())
    assert raised.value.partial.handed == 3  # type: ignore[attr-defined]
