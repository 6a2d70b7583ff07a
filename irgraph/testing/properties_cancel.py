"""The cancellation properties of the conformance suite (:mod:`irgraph.testing.conformance`):
what a cancelled run hands back. A run is cancelled once its last agent is being asked (the
two before it have answered); then

- the run's ``CancelledError`` carries ``partial``, a record (a cancelled ``RunError``) whose
  ``completed``, ``state`` and ``trace`` hold the work done before the cancel;
- its ``on_event`` handler saw every start and end event up to the cancel, as the record's
  trace has them;
- on a backend that claims ``streaming``, cancelling the task that consumes
  ``runnable.stream()`` does the same: the consumer's ``CancelledError`` carries ``partial``,
  and the stream yielded every start and end event the record's trace holds.

Each raises ``AssertionError`` with the pipeline printed as builder code.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from irgraph.builder import Agent
from irgraph.compile import get_backend
from irgraph.errors import RunError
from irgraph.providers import ModelRequest
from irgraph.run import arun, run_coroutine
from irgraph.testing.fake import FakeProvider

__all__ = [
    "HoldingProvider",
    "check_cancelled_run_keeps_completed_work",
    "check_cancelled_run_told_on_event",
    "check_cancelled_stream_keeps_completed_work",
]

MakeBackend = Callable[[Any], Any]

#: The pipeline the properties cancel: ``held`` is being asked when the cancel comes.
PIPELINE = (
    Agent("first").instruct("Go.").writes("x")
    >> Agent("second").instruct("After {x}.").writes("y")
    >> Agent("held").instruct("Last, after {y}.").writes("z")
)
#: The start and end events every run of it has before the cancel, in order.
BEFORE_CANCEL = [
    ("first", "start"),
    ("first", "end"),
    ("second", "start"),
    ("second", "end"),
    ("held", "start"),
]
#: How long a property waits for its run before it gives up (a backend that hangs).
PATIENCE = 60.0


class HoldingProvider(FakeProvider):
    """The fake model, except that the agents in ``held`` are never answered: each call of
    theirs waits until it is cancelled. :attr:`asked` is set once one of them is asked; the
    provider may be called on another thread and loop (a backend's worker), so it is set on
    the loop that made the provider (make it inside a running loop)."""

    def __init__(self, held: tuple[str, ...] = ("held",)) -> None:
        super().__init__()
        self.held = held
        self.asked = asyncio.Event()
        self._loop = asyncio.get_running_loop()

    async def complete(self, request: ModelRequest) -> str:
        if request.agent in self.held:
            self._loop.call_soon_threadsafe(self.asked.set)
            await asyncio.Event().wait()
        return await super().complete(request)


def _fail(message: str) -> AssertionError:
    from irgraph.testing.strategies import to_code

    return AssertionError(f"{message}\nPipeline:\n{to_code(PIPELINE)}")


def _starts_and_ends(events: Any) -> list[tuple[str, str]]:
    return [(e.node, e.event) for e in events if e.event in ("start", "end")]


async def _until_asked(task: asyncio.Future[Any], asked: asyncio.Event, what: str) -> None:
    """Wait until ``asked`` is set, while ``task`` runs; ``AssertionError`` saying what
    ``task`` did instead when it ends first (an option its backend refused, a failure), or
    when 'held' is not asked within :data:`PATIENCE` seconds."""
    waiting = asyncio.ensure_future(asked.wait())
    await asyncio.wait({task, waiting}, timeout=PATIENCE, return_when=asyncio.FIRST_COMPLETED)
    if waiting.done():
        return
    waiting.cancel()
    if not task.done():
        task.cancel()
        raise _fail(f"{what} did not ask its model for 'held' within {PATIENCE:g} s.")
    error = None if task.cancelled() else task.exception()
    ended = f"returned {type(task.result()).__name__}." if error is None else "raised"
    if error is not None:
        ended += f" {type(error).__name__}: {str(error).rstrip('.')}."
    raise _fail(
        f"{what} ended before it asked its model for 'held', so it could not be cancelled "
        f"there: it {ended} A backend that cannot keep a cancelled run's work (or whose arun "
        "takes no on_event) sets check_cancellation = False in its BackendConformance subclass."
    ) from error


async def _cancelled(task: asyncio.Future[Any], asked: asyncio.Event, what: str) -> Any:
    """Cancel ``task`` once ``asked`` is set; the ``partial`` of the CancelledError it ends
    with (``AssertionError`` when it ends otherwise, or carries none)."""
    await _until_asked(task, asked, what)
    task.cancel()
    try:
        ended = await task
    except asyncio.CancelledError as cancelled:
        partial = getattr(cancelled, "partial", None)
    else:
        raise _fail(f"{what} was cancelled, yet it returned {type(ended).__name__}.")
    if not isinstance(partial, RunError) or not getattr(partial, "cancelled", False):
        raise _fail(
            f"{what} was cancelled, but its CancelledError's .partial is {partial!r:.80}, not "
            "a cancelled RunError recording the work completed before the cancel (set "
            "check_cancellation = False in a BackendConformance subclass for a backend that "
            "does not keep it)."
        )
    return partial


def _keeps_completed_work(partial: RunError, what: str) -> None:
    """``partial`` records 'first' and 'second' (answered before the cancel), not 'held'."""
    want = {"x": "<first: Go.>", "y": "<second: After <first: Go.>.>"}
    lost = []
    if sorted(partial.completed) != ["first", "second"]:
        lost.append(f".completed is {partial.completed!r}, not ['first', 'second']")
    state = {k: partial.state.get(k) for k in ("x", "y", "z") if k in partial.state}
    if state != want:
        lost.append(f".state holds {state!r} of the pipeline's keys, not {want!r}")
    trace = _starts_and_ends(partial.trace)
    if trace != BEFORE_CANCEL:
        lost.append(f".trace's start and end events are {trace!r}, not {BEFORE_CANCEL!r}")
    if lost:
        raise _fail(f"{what}'s CancelledError.partial lost completed work: " + "; ".join(lost))


def check_cancelled_run_keeps_completed_work(make_backend: MakeBackend) -> None:
    """A run cancelled while its last agent is asked raises ``CancelledError`` carrying
    ``partial``: the nodes completed, the state they wrote and the events up to the cancel."""

    async def go() -> None:
        provider = HoldingProvider()
        run = asyncio.ensure_future(arun(PIPELINE, backend=make_backend(provider)))
        _keeps_completed_work(await _cancelled(run, provider.asked, "The run"), "The run")

    run_coroutine(asyncio.wait_for(go(), 2 * PATIENCE))


def check_cancelled_run_told_on_event(make_backend: MakeBackend) -> None:
    """The ``on_event`` handler of a run cancelled while its last agent is asked saw every
    start and end event up to the cancel, the same as the record in its ``partial``."""

    async def go() -> None:
        provider = HoldingProvider()
        seen: list[Any] = []
        run = asyncio.ensure_future(
            arun(PIPELINE, backend=make_backend(provider), on_event=seen.append)
        )
        partial = await _cancelled(run, provider.asked, "The run")
        told = _starts_and_ends(seen)
        if told != BEFORE_CANCEL or told != _starts_and_ends(partial.trace):
            raise _fail(
                f"The on_event handler of a cancelled run was told {told!r}; the events up to "
                f"the cancel are {BEFORE_CANCEL!r} (its .partial's trace: "
                f"{_starts_and_ends(partial.trace)!r})."
            )

    run_coroutine(asyncio.wait_for(go(), 2 * PATIENCE))


def check_cancelled_stream_keeps_completed_work(make_backend: MakeBackend) -> None:
    """Cancelling the task that consumes ``runnable.stream()`` while the last agent is asked:
    its ``CancelledError`` carries ``partial``, as a cancelled run's does, and the stream
    yielded every start and end event up to the cancel."""

    async def go() -> None:
        provider = HoldingProvider()
        backend = get_backend(make_backend(provider))
        runnable = backend.compile(PIPELINE.to_ir())
        if not callable(getattr(runnable, "stream", None)):
            raise _fail(
                f"The backend's capabilities claim streaming, but its runnable, a "
                f"{type(runnable).__name__}, has no stream() method. Give it "
                "stream(state=None, **options), an async iterator of the run's events, or "
                "claim no streaming: capabilities = attrs.evolve(..., streaming=False)."
            )
        seen: list[Any] = []
        held_started = asyncio.Event()

        async def consume() -> None:
            async for event in runnable.stream({}):
                seen.append(event)
                if (event.node, event.event) == ("held", "start"):
                    held_started.set()

        consumer = asyncio.ensure_future(consume())
        await _until_asked(consumer, provider.asked, "The task consuming runnable.stream()")
        try:  # the consumer's turn: the events the stream was handed before 'held' was asked
            await asyncio.wait_for(held_started.wait(), PATIENCE)
        except TimeoutError:
            consumer.cancel()
            raise _fail(
                "The stream never yielded 'held''s start event, though the model was asked for "
                f"'held' (it yielded {_starts_and_ends(seen)!r})."
            ) from None
        what = "The task consuming runnable.stream()"
        partial = await _cancelled(consumer, held_started, what)
        _keeps_completed_work(partial, what)
        got = _starts_and_ends(seen)
        if got != BEFORE_CANCEL:
            raise _fail(
                f"A cancelled stream yielded {got!r}; the events up to the cancel are "
                f"{BEFORE_CANCEL!r}."
            )

    run_coroutine(asyncio.wait_for(go(), 2 * PATIENCE))
