"""The asyncio trial's findings: each test fails on the code before its fix (real runs, no
mocks of irgraph's own code)."""

from __future__ import annotations

import asyncio

import pytest

from irgraph import Agent, RunError, run
from irgraph.backends.asyncio_backend import AsyncioBackend


async def _streamed(provider, pipeline):
    """The (event, text) pairs a stream consumer sees, and the run's error."""
    runnable = AsyncioBackend(provider=provider).compile(pipeline.to_ir())
    seen = []
    try:
        async with runnable.stream({}) as events:
            async for event in events:
                seen.append((event.event, event.text))
    except RunError as error:
        return seen, error
    raise AssertionError("the run should have failed")


# --- finding 3: a streamed chunk that is not a str ------------------------------------------


class _BadChunk:
    async def complete(self, request):
        return "full"

    async def stream(self, request):
        yield "ab"
        yield 5  # a provider bug: not a str


def test_a_non_str_chunk_fails_the_node_naming_stream_and_the_chunk():
    seen, error = asyncio.run(_streamed(_BadChunk(), Agent("writer").instruct("x")))
    assert error.node == "writer"
    message = str(error)
    assert "_BadChunk.stream() yielded int 5 as chunk 2" in message
    assert "stream() must yield str chunks" in message
    assert "sequence item" not in message
    assert ("chunk", 5) not in seen  # checked before a consumer sees it
    assert seen == [("start", None), ("chunk", "ab")]


def test_a_non_str_chunk_never_reaches_on_event():
    told = []
    runnable = AsyncioBackend(provider=_BadChunk()).compile(Agent("w").instruct("x").to_ir())
    with pytest.raises(RunError, match=r"stream\(\) yielded int 5"):
        runnable.run({}, on_event=lambda event: told.append(event.text), chunks=True)
    assert 5 not in told


def test_a_stream_method_that_is_no_async_iterator_is_named():
    class Listed:
        async def complete(self, request):
            return "full"

        def stream(self, request):
            return ["a", "b"]

    _, error = asyncio.run(_streamed(Listed(), Agent("w").instruct("x")))
    assert "Listed.stream() returned a list, not an async iterator" in str(error)


# --- finding 6: complete() shaped wrongly -------------------------------------------------


def _cause(provider):
    with pytest.raises(RunError) as info:
        run(Agent("w").instruct("x"), provider=provider)
    return str(info.value.__cause__)


def test_an_async_generator_complete_is_told_to_return_not_yield():
    class AsyncGen:
        async def complete(self, request):  # async def already: the yield is the mistake
            yield "hi"

    message = _cause(AsyncGen())
    assert "AsyncGen.complete() is an async generator (it contains yield)" in message
    assert "must return the whole text" in message and "stream()" in message
    assert "define it with async def" not in message


def test_a_plain_complete_is_told_to_be_async_with_the_right_article():
    class Sync:
        def complete(self, request):
            return 42

    assert "Sync.complete() returned an int, not an awaitable" in _cause(Sync())
    assert "a int" not in _cause(Sync())
