"""A run stopped before its first step still says what it got done: nothing.

A cancelled run's ``CancelledError`` (and the ``KeyboardInterrupt`` of a blocking ``run()``)
carries ``partial``, a :class:`~irgraph.errors.RunError` never raised that records the work
done (the scheduler sets it once the run has begun). A task cancelled before its coroutine first
ran (``task.cancel()`` right after ``create_task(arun(...))``, or Ctrl-C before ``run()`` got
going) runs none of the run's code: asyncio throws the cancellation into the coroutine before
its first line. So ``arun`` returns :class:`StartingRun`, a coroutine that hands every step to
the run's own (at no cost: its ``send`` *is* the run's) and catches only that first throw,
giving the cancellation :func:`nothing_ran` as its ``partial``.
"""

from __future__ import annotations

import asyncio
import collections.abc
import functools
import inspect
import time
from collections.abc import Callable, Coroutine, Generator, Mapping
from typing import Any, TypeVar

from irgraph.errors import RunError
from irgraph.ipython_tracebacks import ipython_traceback

__all__ = ["StartingRun", "keeps_partial", "nothing_ran", "nothing_ran_in", "shown_in_ipython"]

T = TypeVar("T")


def nothing_ran(state: Mapping[str, Any] | None = None, graph: Any = None) -> RunError:
    """The ``partial`` of a run stopped before any of it ran: nothing completed, no events,
    no model calls, and ``state`` as it was given.

    >>> record = nothing_ran({"topic": "owls"})
    >>> record.cancelled, record.completed, record.trace, record.calls, record.state
    (True, [], [], [], {'topic': 'owls'})
    """
    record = RunError(
        "The run was cancelled before its first step, so nothing ran: .completed, .trace "
        "and .calls are empty and .state is the state it was given.",
        state=state,
    )
    record.cancelled = True
    record.trace = []
    record.graph = graph
    record.ended = time.monotonic()
    return record


def nothing_ran_in(
    runnable: Any, state: Mapping[str, Any] | None = None, *_: Any, **__: Any
) -> RunError:
    """:func:`nothing_ran` for ``runnable.arun(state, ...)``: the record with the runnable's
    graph, so its view draws the pipeline."""
    return nothing_ran(state, getattr(runnable, "graph", None))


class StartingRun:
    """The run's coroutine ``coro``, whose stop before its first step carries ``record()``
    as its ``partial``. Awaited, it is ``coro`` itself; a task drives it as it would ``coro``."""

    def __init__(self, coro: Coroutine[Any, Any, Any], record: Callable[[], RunError]) -> None:
        self.coro = coro
        self.record = record
        #: A task's every step goes to the run's own coroutine, with no call of ours between.
        self.send: Callable[[Any], Any] = coro.send

    def throw(self, *error: Any) -> Any:
        """Throw ``error`` (a task's cancellation) into the run; if the run had not begun,
        the stop that comes out carries the record of nothing done."""
        begun = inspect.getcoroutinestate(self.coro) != inspect.CORO_CREATED
        try:
            return self.coro.throw(*error)
        except (asyncio.CancelledError, KeyboardInterrupt) as stop:
            if not begun and getattr(stop, "partial", None) is None:
                stop.partial = self.record()  # type: ignore[union-attr]
            raise

    def close(self) -> None:
        self.coro.close()

    def __getattr__(self, name: str) -> Any:
        """The run coroutine's own attributes (``cr_frame``, ``__qualname__``: a task's repr
        and ``inspect.getcoroutinestate`` read them)."""
        if name == "coro":  # not set yet (a copy being made): no lookup through itself
            raise AttributeError(name)
        return getattr(self.coro, name)

    def __await__(self) -> Generator[Any, None, Any]:
        return self.coro.__await__()  # awaited, it starts at once: nothing to catch first


collections.abc.Coroutine.register(StartingRun)  # so asyncio.create_task takes it

F = TypeVar("F", bound=Callable[..., Any])


def keeps_partial(record: Callable[..., RunError]) -> Callable[[F], F]:
    """Make an ``async def`` run function return a :class:`StartingRun` whose stop before its
    first step carries ``record(*args, **kwargs)`` (the call's own arguments)."""

    def wrap(fn: F) -> F:
        @functools.wraps(fn)
        def starting(*args: Any, **kwargs: Any) -> Any:
            return StartingRun(fn(*args, **kwargs), lambda: record(*args, **kwargs))

        # Still a coroutine function to code that asks (frameworks that await what is one):
        # asyncio's own check on every Python, inspect's from 3.12.
        starting._is_coroutine = asyncio.coroutines._is_coroutine  # type: ignore[attr-defined]
        if hasattr(inspect, "markcoroutinefunction"):
            inspect.markcoroutinefunction(starting)
        return starting  # type: ignore[return-value]

    return wrap


def shown_in_ipython(interrupt: BaseException) -> None:
    """Have IPython show the view of what an interrupted run did (its ``partial``) above the
    ``KeyboardInterrupt``'s traceback, as it shows a failed run's: in a notebook, stopping a
    long run shows what completed, with no ``sys.last_value.partial`` to look up."""
    partial = getattr(interrupt, "partial", None)
    if isinstance(partial, RunError) and not hasattr(interrupt, "_render_traceback_"):
        interrupt._render_traceback_ = functools.partial(  # type: ignore[attr-defined]
            ipython_traceback, partial, interrupt
        )
