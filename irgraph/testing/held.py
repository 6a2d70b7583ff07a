"""A fake model whose calls wait for each other, so a test of concurrency is not a race.

Asserting that a backend had ``n`` model calls in flight at once with a plain
:class:`~irgraph.testing.FakeProvider` and a latency is a bet on speed: the first call
must not end before the last one starts, which a loaded machine (a process left off the CPU
for longer than the latency) loses. :class:`HeldProvider` holds every call until ``together``
calls have been in flight at once, and only then lets them answer (each after its latency),
so a backend that runs them together reaches ``together`` however slow the machine is.
A backend that never gets there (one that runs the calls one by one) would hold its first
call for ever; once no new call has come for ``patience`` seconds the provider stops
holding, and the run goes on to a ``max_in_flight`` below ``together`` for the test to report.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Collection
from typing import Any

from irgraph import checks
from irgraph.testing.fake import FakeProvider

__all__ = ["HeldProvider"]

#: How often a held call looks again (calls may run on other threads' event loops, as
#: Prefect's tasks can, so they poll rather than wait on one loop's event).
_LOOK_EVERY = 0.002


class HeldProvider(FakeProvider):
    """A :class:`~irgraph.testing.FakeProvider` whose calls wait until ``together`` of them
    have been in flight at once (or no call came for ``patience`` seconds), then answer.
    With ``agents``, only the calls of those agents are held and counted; the others answer
    as the plain fake does.

    >>> import asyncio
    >>> from irgraph.providers import ModelRequest
    >>> held = HeldProvider(2)
    >>> async def two_at_once():
    ...     asks = (held.complete(ModelRequest(n, n, "Go.")) for n in ("a", "b"))
    ...     return await asyncio.gather(*asks)
    >>> asyncio.run(two_at_once()), held.max_in_flight
    (['<a: Go.>', '<b: Go.>'], 2)
    """

    def __init__(
        self,
        together: int,
        *,
        agents: Collection[str] | None = None,
        patience: float = 60.0,
        **options: Any,
    ) -> None:
        checks.count().check(together, "HeldProvider's together")
        checks.seconds().check(patience, "HeldProvider's patience")
        super().__init__(**options)
        self.together = together
        self.agents = None if agents is None else frozenset(agents)
        self.patience = patience
        self.held = 0  # held calls in flight now
        self.most_held = 0  # the most held calls there were in flight at once
        self.gave_up = False  # no call came for patience seconds: it holds no more
        self._last_call = time.monotonic()

    async def _wait(self, agent: str) -> None:
        if self.agents is not None and agent not in self.agents:
            await super()._wait(agent)
            return
        self._last_call = time.monotonic()
        self.held += 1
        self.most_held = max(self.most_held, self.held)
        try:
            while self.most_held < self.together and not self.gave_up:
                if time.monotonic() - self._last_call > self.patience:
                    self.gave_up = True
                    break
                await asyncio.sleep(_LOOK_EVERY)
            await super()._wait(agent)
        finally:
            self.held -= 1
