"""The slots of a simulated run (:mod:`irgraph.analysis_schedule`): ``asyncio.Semaphore`` on
the simulated clock, in the order the real one hands out its slots.

The run's ``max_concurrency`` (and a map-over's own) is an ``asyncio.Semaphore``: first
come, first served. A freed slot passes to the oldest waiter at once, but the waiter takes
it only when its task next runs, after what the loop already has to do at that moment.
Until then the semaphore stays locked for newcomers: a node asking for a slot meanwhile
queues behind the waiters even if another slot has been freed since, and the woken waiter,
once its task runs, hands such a slot to the next one in the queue (``Semaphore.acquire``
does so before it returns). So a newcomer gets a slot freed at the same moment only after
the waiter woken before it has started its call.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable

__all__ = ["Slots"]


class Slots:
    """``size`` slots (``None``: no bound); ``soon(then)`` runs ``then`` after everything
    due at the current moment of the simulation (a woken task's turn)."""

    def __init__(self, soon: Callable[[Callable[[], None]], None], size: int | None) -> None:
        self.soon, self.free = soon, size
        self.waiting = deque[Callable[[], None]]()
        self.woken = 0  # waiters handed a slot whose tasks have not run yet

    def acquire(self, then: Callable[[], None]) -> None:
        """``then`` once a slot is this caller's: at once if one is free and nobody waits."""
        if self.free is None:
            then()
        elif self.free > 0 and not self.waiting and not self.woken:
            self.free -= 1
            then()
        else:
            self.waiting.append(then)

    def release(self) -> None:
        """Free a slot: it passes to the oldest waiter, if any."""
        if self.free is not None:
            self.free += 1
            self.wake()

    def wake(self) -> None:
        if self.waiting and self.free:
            self.free -= 1
            self.woken += 1
            then = self.waiting.popleft()
            self.soon(lambda: self.took(then))

    def took(self, then: Callable[[], None]) -> None:
        """A woken waiter's task runs: it passes on a slot freed meanwhile, then goes on."""
        self.woken -= 1
        self.wake()
        then()
