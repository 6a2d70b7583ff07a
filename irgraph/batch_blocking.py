"""Iterating an async generator from blocking code: :func:`irgraph.batch.run_many`'s loop.

The async generator runs on an event loop of its own in a helper thread, which keeps the items
in flight running while the caller handles a result (and works inside Jupyter's running loop
too). Ctrl-C while waiting cancels the step on that loop and waits until it has stopped; the
``KeyboardInterrupt`` then carries ``stopped(late)`` as its ``partial``, and its text as a note
(``late``: the item the step gave as it was cancelled, if it did, which the caller never got).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncGenerator, Callable, Iterator
from typing import Any, TypeVar

from irgraph.batch_stop import BatchStopped, carry

__all__ = ["blocking"]

T = TypeVar("T")


def blocking(
    results: AsyncGenerator[T, None], stopped: Callable[[list[T]], BatchStopped] | None = None
) -> Iterator[T]:
    """The items of ``results``, each awaited on a loop in a helper thread; closing this
    iterator closes ``results`` there. A Ctrl-C while waiting carries ``stopped(late)``."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="irgraph-batch", daemon=True)
    thread.start()
    late: list[T] = []
    try:
        while True:
            try:
                item = _on_loop(loop, results.__anext__(), late)
            except StopAsyncIteration:
                return
            except KeyboardInterrupt as interrupt:
                if stopped is not None:
                    carry(interrupt, stopped(late))
                raise
            yield item
    finally:
        try:
            _on_loop(loop, results.aclose())
            _on_loop(loop, loop.shutdown_default_executor())  # blocking transforms' threads
        finally:
            loop.call_soon_threadsafe(loop.stop)
            thread.join()
            loop.close()


def _on_loop(loop: asyncio.AbstractEventLoop, step: Any, late: list[Any] | None = None) -> Any:
    """Await ``step`` on ``loop`` (in its own thread) and return what it gives. Ctrl-C while
    waiting cancels it there and waits until it has stopped before going on; what ``step``
    gave if it ended first, which the interrupt keeps from the caller, goes to ``late``.

    Ctrl-C may also land while ``start`` is being handed to the loop, before or after it was
    queued; ``stop`` is queued behind it (the loop runs callbacks in order), so it either
    cancels the task ``start`` made or, when nothing was queued, closes ``step`` unstarted."""
    finished = threading.Event()
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
        loop.call_soon_threadsafe(start)
        finished.wait()
    except KeyboardInterrupt:
        loop.call_soon_threadsafe(stop)
        finished.wait()
        task = box.get("task")
        if late is not None and task is not None and not task.cancelled() and not task.exception():
            late.append(task.result())
        raise
    return box["task"].result()
