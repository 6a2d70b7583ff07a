"""Iterating an async generator from blocking code: :func:`irgraph.batch.run_many`'s loop.

The async generator runs on an event loop of its own in a helper thread, which keeps the items
in flight running while the caller handles a result (and works inside Jupyter's running loop
too). Ctrl-C while waiting cancels the step on that loop and waits until it has stopped; the
``KeyboardInterrupt`` then carries ``stopped(late)`` as its ``partial``, and its text as a note
(``late``: the item the step gave as it was cancelled, if it did, which the caller never got).
A Ctrl-C in the caller's loop, between two steps, stops the generator the same way once it is
thrown in (``generator.throw``) or the iterator is closed while it is handled (``with
contextlib.closing(...)``): the items in flight are cancelled and those that completed are in
the record, not dropped with the generator.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import AsyncGenerator, Callable, Iterator
from typing import Any, TypeVar

from irgraph.batch_stop import BatchStopped, carry
from irgraph.state_keys import calling_site, pointing_at
from irgraph.thread_done import Done

__all__ = ["blocking"]

T = TypeVar("T")


def blocking(
    results: AsyncGenerator[T, None],
    stopped: Callable[[list[T]], BatchStopped] | None = None,
    site: tuple[str, int, dict[str, Any]] | None = None,
) -> Iterator[T]:
    """The items of ``results``, each awaited on a loop in a helper thread; closing this
    iterator closes ``results`` there. A Ctrl-C while waiting carries ``stopped(late)``.
    Warnings about an item's state point at ``site`` (:func:`calling_site`: the line that
    called ``run_many``), which the helper thread's stack does not hold."""
    site = site or calling_site()
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="irgraph-batch", daemon=True)
    thread.start()
    late: list[T] = []

    def stop(interrupt: BaseException) -> None:
        """Stop ``results`` for ``interrupt`` unless a cancelled step stopped it already (its
        items in flight cancelled, those that completed meanwhile recorded), and give
        ``interrupt`` the record."""
        if stopped is None:
            return
        if getattr(results, "ag_frame", None) is not None:  # suspended, not stopped yet
            with contextlib.suppress(Exception, asyncio.CancelledError):
                _on_loop(loop, results.athrow(asyncio.CancelledError()), site=site)
        carry(interrupt, stopped(late))

    try:
        while True:
            try:
                item = _on_loop(loop, results.__anext__(), late, site)
            except StopAsyncIteration:
                return
            except KeyboardInterrupt as interrupt:
                stop(interrupt)
                raise
            try:
                yield item
            except KeyboardInterrupt as interrupt:  # thrown in by the caller (generator.throw)
                stop(interrupt)
                raise
            except GeneratorExit as closing:
                # Closed while a Ctrl-C in the caller's loop is handled (``with
                # contextlib.closing(...)``, irgraph batch): that interrupt stops the batch.
                handled = _interrupt(closing)
                if handled is not None:
                    stop(handled)
                raise
    finally:
        try:
            _on_loop(loop, results.aclose(), site=site)
            _on_loop(loop, loop.shutdown_default_executor())  # blocking transforms' threads
        finally:
            loop.call_soon_threadsafe(loop.stop)
            thread.join()
            loop.close()


def _interrupt(closing: GeneratorExit) -> KeyboardInterrupt | None:
    """The Ctrl-C being handled as ``closing`` closes a generator, if one is: the close's
    context, through the closes of the generators that wrap this one (``batch_progress``)."""
    cause: BaseException | None = closing.__context__
    while isinstance(cause, GeneratorExit):
        cause = cause.__context__
    return cause if isinstance(cause, KeyboardInterrupt) else None


def _on_loop(
    loop: asyncio.AbstractEventLoop,
    step: Any,
    late: list[Any] | None = None,
    site: tuple[str, int, dict[str, Any]] | None = None,
) -> Any:
    """Await ``step`` on ``loop`` (in its own thread) and return what it gives. Ctrl-C while
    waiting cancels it there and waits until it has stopped before going on; what ``step``
    gave if it ended first, which the interrupt keeps from the caller, goes to ``late``.

    Ctrl-C may also land while ``start`` is being handed to the loop, before or after it was
    queued; ``stop`` is queued behind it (the loop runs callbacks in order), so it either
    cancels the task ``start`` made or, when nothing was queued, closes ``step`` unstarted."""
    finished = Done()  # a Ctrl-C at any line leaves it whole (thread_done.py)
    box: dict[str, asyncio.Task[Any]] = {}

    async def wrapped() -> Any:
        return await step

    def start() -> None:
        task = box["task"] = loop.create_task(wrapped())
        task.add_done_callback(lambda _: finished.set())

    def stop() -> None:
        if "task" in box:
            box["task"].cancel()
        else:
            step.close()
            finished.set()

    try:
        loop.call_soon_threadsafe(start, context=pointing_at(site))
        finished.wait()
        return box["task"].result()  # an interrupt as it is taken: in ``late`` below
    except KeyboardInterrupt:
        loop.call_soon_threadsafe(stop)
        finished.wait()
        task = box.get("task")
        if late is not None and task is not None and not task.cancelled() and not task.exception():
            late.append(task.result())
        raise
