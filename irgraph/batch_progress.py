"""Live progress of a batch: wrap the results of ``run_many`` (or ``arun_many``) and watch.

``batch_progress(results, total=N)`` hands the :class:`~irgraph.batch.ItemResult` s on as
they come, unchanged, and counts them (done, failed, resumed) on one live output
(:class:`~irgraph.live.LiveOutput`): in Jupyter one line with a progress bar, updated in place
up to 10 times a second; on a terminal one line on standard error redrawn the same way (the
``irgraph batch`` command's line, :func:`~irgraph.cli_progress.progress_line`); in a log a
plain line every 10 seconds. When the loop ends, the output becomes a summary: how it ended
(finished, stopped early, interrupted, stopped at a failure), the counts, the time and the
rate. ``abatch_progress`` is the twin for ``async for``.

The items in flight are only known when the states are counted as the batch reads them: use
:class:`BatchProgress` and pass ``progress.states(states)`` to ``run_many``.

Leaving the loop early closes the results too, which cancels the batch's items in flight
(on CPython at once; ``with contextlib.closing(...)`` makes the moment explicit).

>>> import io
>>> from irgraph import Agent, batch_progress, run_many
>>> from irgraph.testing import FakeProvider
>>> writer = Agent("w").instruct("Write about {topic}.").writes("text")
>>> topics = [{"topic": "owls"}, {"topic": "bats"}]
>>> log = io.StringIO()  # standard error by default
>>> results = run_many(writer, topics, provider=FakeProvider())
>>> texts = [item.state["text"] for item in batch_progress(results, total=2, stream=log)]
>>> print(log.getvalue(), end='')  # doctest: +ELLIPSIS
Finished 2 items: 2 done, 0 failed, 0 resumed in ... s (... items/s)
"""

from __future__ import annotations

import contextlib
import html
import time
import warnings
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Iterator
from typing import Any, TextIO

import attrs

from irgraph import checks
from irgraph.batch import BatchError, ItemResult
from irgraph.batch_clock import BatchClock, clock_of
from irgraph.cli_progress import progress_line, rate_text
from irgraph.errors import PipelineError
from irgraph.live import LiveOutput

__all__ = ["BatchProgress", "ProgressView", "batch_progress", "abatch_progress"]

_TOTAL = checks.optional(checks.count(0))


@attrs.frozen
class ProgressView:
    """What a batch's progress shows at one moment: a line (``str()``), and in Jupyter that
    line beside a bar. ``ending`` is set once the batch has ended (the view is a summary)."""

    done: int
    failed: int
    resumed: int
    in_flight: int | None
    total: int | None
    elapsed: float
    ending: str | None = None
    #: What the backend says while it gets ready, before any item began (a server starting).
    waiting: str | None = None

    @property
    def finished(self) -> int:
        """Items handed over so far, resumed ones included."""
        return self.done + self.failed + self.resumed

    def __str__(self) -> str:
        if self.ending is not None:
            return self.summary()
        if self.waiting is not None:
            return self.waiting
        # in_flight is None when the states were not counted: left out rather than shown as 0.
        return progress_line(
            self.done, self.failed, self.in_flight, self.resumed, self.total, self.elapsed
        )

    def summary(self) -> str:
        """``"Finished 12 items: 7 done, 0 failed, 5 resumed in 0.52 s (13.5 items/s)"``."""
        run = self.done + self.failed  # resumed items took no time: the rate is of the rest
        rate = f" ({rate_text(run / self.elapsed)})" if run and self.elapsed > 0 else ""
        items = f"{self.finished} item{'' if self.finished == 1 else 's'}"
        if self.total is not None and self.finished < self.total:
            items = f"{self.finished} of {self.total} items"
        return (
            f"{self.ending or 'Finished'} {items}: {self.done} done, {self.failed} failed, "
            f"{self.resumed} resumed in {self.elapsed:.2f} s{rate}"
        )

    def _repr_html_(self) -> str:
        bar = ""
        if self.total is not None:
            bar = f'<progress value="{min(self.finished, self.total)}" max="{self.total}"'
        elif self.ending is None:
            bar = "<progress"  # no value: a bar that says "busy"
        if bar:
            bar += ' style="width: 16em; vertical-align: middle; margin-right: 0.6em"></progress>'
        colour = "#b3261e" if self.failed else "inherit"
        text = html.escape(str(self))
        return (
            f'<div class="irgraph-batch-progress" style="font-family: monospace">{bar}'
            f'<span style="color: {colour}">{text}</span></div>'
        )

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        return {"text/plain": str(self), "text/html": self._repr_html_()}


class BatchProgress:
    """The counts of one batch and their live output.

    ``total`` is the number of items, when known (for the bar and the ETA). ``stream`` and
    ``jupyter`` choose where the progress shows, as for :class:`~irgraph.live.LiveOutput`
    (default: Jupyter in a kernel, else standard error). Wrap the results with
    :meth:`track` (or :meth:`atrack` for ``async for``); wrap the states with :meth:`states`
    as well to show the items in flight::

        progress = BatchProgress(total=len(topics))
        for item in progress.track(run_many(pipeline, progress.states(topics), ...)):
            ...
    """

    @checks.keyword_options
    def __init__(
        self, total: int | None = None, *, stream: TextIO | None = None, jupyter: bool | None = None
    ) -> None:
        self.total = _TOTAL.check(total, "the batch progress's total (the number of items)")
        checks.optional(checks.flag).check(jupyter, "the batch progress's jupyter")
        self.done = self.failed = self.resumed = 0
        self.pulled: int | None = None  # states read by the batch, once states() counts them
        self.ending: str | None = None
        self._begin = time.monotonic()
        self._ended: float | None = None
        self._clock: BatchClock | None = None  # the batch's, once track() is given its results
        self.output = LiveOutput(self.view, stream=stream, jupyter=jupyter)

    def view(self) -> ProgressView:
        """The progress as it is now."""
        handed = self.done + self.failed + self.resumed
        in_flight = None if self.pulled is None else max(self.pulled - handed, 0)
        end = time.monotonic() if self._ended is None else self._ended
        clock = self._clock
        began = None if clock is None else clock.began
        waiting = clock.said[-1] if clock is not None and clock.said and began is None else None
        return ProgressView(
            self.done,
            self.failed,
            self.resumed,
            in_flight,
            self.total,
            end - (self._begin if began is None else min(began, end)),
            self.ending,
            waiting,
        )

    def states(self, states: Iterable[Any] | AsyncIterable[Any]) -> Any:
        """``states``, counted as the batch reads them (so the items in flight are known)."""
        self.pulled = 0
        if isinstance(states, AsyncIterable):
            return self._acount(states)
        return self._count(states)

    def _count(self, states: Iterable[Any]) -> Iterator[Any]:
        for state in states:
            self.pulled = (self.pulled or 0) + 1
            yield state

    async def _acount(self, states: AsyncIterable[Any]) -> AsyncIterator[Any]:
        async for state in states:
            self.pulled = (self.pulled or 0) + 1
            yield state

    def add(self, item: ItemResult) -> None:
        """Count one item's result."""
        if not isinstance(item, ItemResult):  # the states wrapped, say, not their results
            raise PipelineError(
                f"The batch progress counts the results of run_many(), each an ItemResult, "
                f"but got {_shown(item)} of type {type(item).__name__}.",
                hint="Wrap the results, not the states: "
                "batch_progress(run_many(pipeline, states, ...)).",
            )
        if item.resumed:
            self.resumed += 1
        elif item.ok:
            self.done += 1
        else:
            self.failed += 1
        handed = self.done + self.failed + self.resumed
        if self.total is not None and handed > self.total:  # told once: the total is dropped
            warnings.warn(
                f"The batch progress was given total={self.total}, but {handed} items came (and "
                "it counts on without the total: no bar, no ETA). Give the number of states "
                "run_many() is given: total=len(states).",
                UserWarning,
                stacklevel=3,  # past track(): the user's loop
            )
            self.total = None
        self.output.refresh()

    def end(self, ending: str = "Finished") -> None:
        """Stop the clock and show the summary (once)."""
        if self._ended is None:
            self._ended = time.monotonic()
            self.ending = ending
        self.output.close()

    def track(self, results: Iterable[ItemResult]) -> Iterator[ItemResult]:
        """Hand on ``results`` (from :func:`~irgraph.batch.run_many`), counting each."""
        with self._watching(results):
            try:
                for item in results:
                    self.add(item)
                    yield item
            finally:
                # Cancels the items in flight when the loop was left early.
                getattr(results, "close", lambda: None)()

    async def atrack(self, results: AsyncIterable[ItemResult]) -> AsyncIterator[ItemResult]:
        """Hand on ``results`` (from :func:`~irgraph.batch.arun_many`), counting each."""
        with self._watching(results):
            try:
                async for item in results:
                    self.add(item)
                    yield item
            finally:
                close = getattr(results, "aclose", None)
                if close is not None:
                    await close()

    @contextlib.contextmanager
    def _watching(self, results: Any) -> Iterator[None]:
        """Show the progress while the loop runs, then the summary of how it ended; timed
        from when the batch's items began (:mod:`irgraph.batch_clock`: after, say, Prefect's
        temporary server started, which the view tells meanwhile), else from now."""
        self._begin = time.monotonic()
        self._clock = clock_of(results)
        if self._clock is not None:
            self._clock.watch(self._told)
        self.output.start()
        try:
            yield
        except BaseException as error:  # GeneratorExit too: the loop was left early
            self.end(self._stopped_by(error))
            raise
        self.end("Finished")

    def _told(self, said: str) -> None:
        """Show what the batch's backend said at once on a stream (a log would show it 10 s
        later, if at all); Jupyter's output is redrawn from its own thread, 10 times a second."""
        if not self.output.jupyter:
            self.output.refresh(force=True)

    def _stopped_by(self, error: BaseException) -> str:
        if isinstance(error, BatchError):  # fail_fast: its item is the failure
            self.failed += 1
            return "Stopped at a failed item (fail_fast) after"
        if isinstance(error, GeneratorExit):
            # Ctrl-C in the loop's body, outside this generator: Python closes it without
            # saying why, unless the close comes while the interrupt is being handled (as in
            # ``with contextlib.closing(...)``), which chains it as the context.
            if isinstance(error.__context__, KeyboardInterrupt):
                return "Interrupted after"
            return "Stopped after"
        if isinstance(error, KeyboardInterrupt):
            return "Interrupted after"
        return f"Stopped by {type(error).__name__} after"


@checks.keyword_options
def batch_progress(
    results: Iterable[ItemResult],
    total: int | None = None,
    *,
    stream: TextIO | None = None,
    jupyter: bool | None = None,
) -> Iterator[ItemResult]:
    """Show live progress of ``results`` (from :func:`~irgraph.batch.run_many`) while
    handing them on: ``for item in batch_progress(run_many(...), total=len(states))``.

    In Jupyter one output updated in place, elsewhere a line on ``stream`` (default standard
    error); a summary when the loop ends. See :class:`BatchProgress` to show the items in
    flight as well.
    """
    if isinstance(results, AsyncIterable) and not isinstance(results, Iterable):
        raise PipelineError(
            "batch_progress() got an async iterable (the results of arun_many?), which a "
            "for loop cannot go over.",
            hint="Use its twin: async for item in abatch_progress(arun_many(...)).",
        )
    return BatchProgress(total, stream=stream, jupyter=jupyter).track(results)


@checks.keyword_options
def abatch_progress(
    results: AsyncIterable[ItemResult],
    total: int | None = None,
    *,
    stream: TextIO | None = None,
    jupyter: bool | None = None,
) -> AsyncIterator[ItemResult]:
    """:func:`batch_progress` for ``async for`` over :func:`~irgraph.batch.arun_many`."""
    if isinstance(results, Iterable) and not isinstance(results, AsyncIterable):
        raise PipelineError(
            "abatch_progress() got a plain iterable (the results of run_many?), which an "
            "async for loop cannot go over.",
            hint="Use its twin: for item in batch_progress(run_many(...)).",
        )
    return BatchProgress(total, stream=stream, jupyter=jupyter).atrack(results)


def _shown(value: Any) -> str:
    """``value``'s repr, cut to fit a message."""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
