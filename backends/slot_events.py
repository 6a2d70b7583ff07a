"""A model-call slot (``max_concurrency``) taken with the ``on_event`` handler told when an
agent has to wait for one: a ``"wait"`` event as it starts waiting, a ``"slot"`` event when
it gets one and calls the model. Until then the agent is waiting, not working, and the live
progress (:mod:`irgraph.run_progress`) shows it so. An agent that gets a slot at once, or a
run with no handler, tells nothing: the events cost nothing where nobody waits.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from irgraph.events import Event

if TYPE_CHECKING:
    import asyncio

Path = tuple[tuple[str, int], ...]

__all__ = ["slot"]


def slot(scheduler: Any, node: str, path: Path, asked: float) -> Any:
    """What ``async with`` takes one of ``scheduler.limit``'s slots for ``node`` at ``path``
    with (asked for at ``asked``): the semaphore itself when there is no handler to tell."""
    limit = scheduler.limit
    assert limit is not None
    if scheduler.on_event is None:
        return limit
    return _ToldSlot(scheduler, limit, node, path, asked)


class _ToldSlot:
    __slots__ = ("asked", "limit", "node", "path", "scheduler")

    def __init__(
        self, scheduler: Any, limit: asyncio.Semaphore, node: str, path: Path, asked: float
    ) -> None:
        self.scheduler, self.limit = scheduler, limit
        self.node, self.path, self.asked = node, path, asked

    async def __aenter__(self) -> None:
        waits = self.limit.locked()
        if waits:
            self.scheduler.tell(Event._make((self.node, "wait", self.asked, self.path, None)))
        await self.limit.acquire()
        if waits:
            try:
                slot = Event._make((self.node, "slot", time.monotonic(), self.path, None))
                self.scheduler.tell(slot)
            except BaseException:  # the handler failed the node: the slot goes back
                self.limit.release()
                raise

    async def __aexit__(self, *exc: object) -> None:
        self.limit.release()
