"""The conformance suite's cancellation properties must be able to fail: a backend that loses
a cancelled run's record, keeps its events from ``on_event`` or loses the record on the way
out of ``stream()`` is caught, while the asyncio backend passes."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from irgraph.backends.asyncio_backend import AsyncioBackend
from irgraph.testing import conformance
from tests.support.wrapped_backends import wrapping


async def _forgetting_the_record(inner: Any, state: Any, options: dict[str, Any]) -> Any:
    try:
        return await inner.arun(state, **options)
    except asyncio.CancelledError:
        raise asyncio.CancelledError from None  # a fresh one: no .partial


async def _telling_events_at_the_end(inner: Any, state: Any, options: dict[str, Any]) -> Any:
    handler = options.pop("on_event", None)
    held: list[Any] = []
    result = await inner.arun(state, on_event=held.append, **options)
    for event in held:  # a run that is cancelled never gets here
        if handler is not None:
            handler(event)
    return result


class StreamLosesTheRecord(AsyncioBackend):
    """Its runnables' streams hand a cancelled consumer a CancelledError with no .partial."""

    def compile(self, ir: Any, *, inputs: Any = None) -> Any:
        inner = super().compile(ir, inputs=inputs)

        class Runnable:
            node, graph, run, arun = inner.node, inner.graph, inner.run, inner.arun

            async def stream(self, state: Any = None, **options: Any) -> AsyncIterator[Any]:
                try:
                    async for event in inner.stream(state, **options):
                        yield event
                except asyncio.CancelledError:
                    raise asyncio.CancelledError from None

        return Runnable()


@pytest.mark.parametrize(
    ("check", "broken", "said"),
    [
        (
            conformance.check_cancelled_run_keeps_completed_work,
            wrapping("forgets-the-record", _forgetting_the_record),
            "The run was cancelled, but its CancelledError's .partial is None",
        ),
        (
            conformance.check_cancelled_run_told_on_event,
            wrapping("tells-events-at-the-end", _telling_events_at_the_end),
            "The on_event handler of a cancelled run was told []",
        ),
        (
            conformance.check_cancelled_stream_keeps_completed_work,
            StreamLosesTheRecord,
            "The task consuming runnable.stream() was cancelled, but its CancelledError's "
            ".partial is None",
        ),
    ],
    ids=["partial", "on_event", "stream"],
)
def test_a_cancellation_property_catches_a_backend_losing_what_the_run_did(
    check: Any, broken: Any, said: str
) -> None:
    with pytest.raises(AssertionError) as info:
        check(broken)
    assert said in str(info.value) and "Agent('held')" in str(info.value)
    check(AsyncioBackend)


class SchedulerLosesCompletedWork(AsyncioBackend.scheduler_class):
    """Records no node as completed (the record of a cancelled run names none)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.completed = _Forgetful()


class _Forgetful(list[str]):
    def append(self, node: str) -> None:
        pass


class LosesCompletedWork(AsyncioBackend):
    scheduler_class = SchedulerLosesCompletedWork


def test_the_record_property_catches_a_record_that_lost_completed_work() -> None:
    with pytest.raises(AssertionError, match=r"\.partial lost completed work: \.completed is \[\]"):
        conformance.check_cancelled_run_keeps_completed_work(LosesCompletedWork)
