"""When a batch began its items, and what its backend said while it got ready.

A compiled runnable may offer ``async def prepare(say)``: :func:`~irgraph.batch.arun_many`
awaits it once, before the first item that runs (none when every item was kept), and ``say``
tells whoever watches the batch one sentence about the wait (Prefect's runnable starts its
temporary server there, which takes seconds to a minute). The batch's :class:`BatchClock`
begins once that is done, and the progress displays (:mod:`irgraph.batch_progress`,
``irgraph batch``'s line) time the batch by it: a server's start is not the items' work, and
counted as theirs it made the rate and ETA wrong (3 items "in 61.98 s").

>>> import asyncio
>>> class Runnable:
...     async def prepare(self, say):
...         say("Starting the server.")
>>> clock = BatchClock()
>>> clock.watch(print)
>>> asyncio.run(clock.ready(Runnable()))
Starting the server.
>>> clock.began is not None
True
"""

from __future__ import annotations

import asyncio
import time
import weakref
from collections.abc import Callable
from typing import Any

__all__ = ["BatchClock", "clock_of", "keep_clock"]


class BatchClock:
    """A batch's start: ``began`` (``time.monotonic()`` once the backend is ready, ``None``
    before) and the sentences ``said`` while it got ready."""

    def __init__(self) -> None:
        self.began: float | None = None
        self.said: list[str] = []
        self._watchers: list[Callable[[str], Any]] = []
        self._preparing: asyncio.Lock | None = None

    def watch(self, watcher: Callable[[str], Any]) -> None:
        """Call ``watcher`` with each sentence said from now on (on the batch's thread)."""
        self._watchers.append(watcher)

    def say(self, sentence: str) -> None:
        """Tell the watchers ``sentence`` (a backend's ``prepare`` calls it)."""
        self.said.append(sentence)
        for watcher in list(self._watchers):
            watcher(sentence)

    async def ready(self, runnable: Any) -> None:
        """Await ``runnable``'s ``prepare`` (if it has one) and begin, once: the first item
        that runs does, the others wait for it (a batch whose items were all kept by an
        earlier run starts no server)."""
        if self.began is not None:
            return
        if self._preparing is None:
            self._preparing = asyncio.Lock()
        async with self._preparing:
            if self.began is None:
                prepare = getattr(runnable, "prepare", None)
                if prepare is not None:
                    await prepare(self.say)
                self.began = time.monotonic()


#: The clock of each result iterator run_many and arun_many returned.
_CLOCKS: weakref.WeakKeyDictionary[Any, BatchClock] = weakref.WeakKeyDictionary()


def keep_clock(results: Any, clock: BatchClock) -> None:
    """Make ``clock`` the clock of ``results`` (for :func:`clock_of`)."""
    _CLOCKS[results] = clock


def clock_of(results: Any) -> BatchClock | None:
    """The clock of ``results``, what :func:`~irgraph.batch.run_many` or
    :func:`~irgraph.batch.arun_many` returned (``None`` for any other iterable)."""
    try:
        return _CLOCKS.get(results)
    except TypeError:  # not weakly referable (a list): not a batch's
        return None
