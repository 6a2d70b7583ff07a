"""Fuzzed schedules whose order is drawn, not left to the machine's speed.

A fuzzed schedule gives each model call and gate answer a drawn duration, so calls finish in
an order other than the one they started in. Sleeping those durations for real made the order
a race: two map-over items finish out of order only if their delays differ by more than the
time between their starts, which a process left off the CPU on a busy machine outlasts.

Here the durations are on a :class:`VirtualClock`. A call (or gate answer) is held from the
moment it starts, due at the clock's time then plus its duration. The clock lets the held
calls go one at a time in the order they are due (ties in the order they started): a call
already due goes at once, and the clock moves on to the next due time only when the run has
gone quiet, every call it can start having started and waiting. So calls in flight together
finish in the drawn order however slow the machine is, as a discrete-event simulation would
have them, and no real time is spent on the durations.

"Quiet" is a run in which nothing reached the clock (no call started or ended, no gate was
answered) while the next call due looked at it ``quiet_looks`` times, one turn of its event
loop apart, then once more ``look_every`` seconds later (the other held calls look only now
and then, and are woken when they are next due: a step costs one timer wake-up). Work on the
held calls' event loop runs between two looks, so it is seen on a loaded machine too (a
process left off the CPU resumes with the same turns to run); work on another thread (a
synchronous transform's worker, a Prefect task on another loop) is seen only if it reaches
the clock within ``look_every``, else its calls join the next step of the clock: a schedule
the draw did not mean, never a wrong one.

The clock never waits for a call that has not started, only for quiet, so it cannot deadlock
a backend whose ``max_concurrency`` keeps a call from starting while another is held.
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import threading
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import attrs

from irgraph import checks
from irgraph.testing.fake import FakeProvider
from irgraph.testing.suite_runs import gate_answer

__all__ = ["Fuzz", "fuzzes", "VirtualClock", "ClockedProvider", "JitteredProvider"]


@attrs.frozen
class Fuzz:
    """One drawn schedule: the durations model calls and gates take, a concurrency bound, and
    whether gates are answered by an async handler."""

    delays: tuple[float, ...] = (0.0,)
    salt: int = 0
    max_concurrency: int | None = None
    async_gates: bool = False

    def delay(self, who: str, index: int) -> float:
        """The duration of call ``index`` of ``who``: fixed by the draw, different per call
        (none when no delays were drawn)."""
        delays = self.delays or (0.0,)
        digest = hashlib.blake2b(f"{self.salt}:{who}:{index}".encode(), digest_size=8).digest()
        return delays[int.from_bytes(digest, "big") % len(delays)]


def fuzzes(delays: tuple[float, ...] = (0.0, 0.001, 0.004, 0.012), *, bounds: bool = True) -> Any:
    """A hypothesis strategy of :class:`Fuzz`: at least two different durations (so some
    calls overtake others; on a :class:`VirtualClock` their sizes matter only against each
    other, as no real time is spent on them), a salt that spreads them over the calls, a
    concurrency bound or none (always none with ``bounds=False``: for a backend that runs one
    step at a time, which has no ``max_concurrency`` to take), and sync or async gate
    handlers."""
    from hypothesis import strategies as st

    return st.builds(
        Fuzz,
        delays=st.lists(st.sampled_from(delays), min_size=2, max_size=4, unique=True).map(tuple),
        salt=st.integers(0, 2**16),
        max_concurrency=st.none() | st.integers(1, 3) if bounds else st.none(),
        async_gates=st.booleans(),
    )


@attrs.define(eq=False)
class _Held:
    """A call waiting on the clock: due at ``due``, the ``order``-th to start."""

    due: float
    order: int
    released: bool = False
    seen: int = -1  # the clock's activity count at this call's last look
    quiet: int = 0  # looks in a row that saw no activity
    #: While it waits for its next look: its loop and the future that wakes it early.
    wake: tuple[asyncio.AbstractEventLoop, asyncio.Future[None]] | None = None


#: A held call that is not next due looks every ``look_every`` times this.
_IDLE_LOOKS = 25


def _due(held: _Held) -> tuple[float, int]:
    return held.due, held.order


def _wake_up(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


class VirtualClock:
    """Lets held calls finish in the order their drawn durations say, one at a time, moving
    on only when the run is quiet (see the module's docstring). Safe to share between
    threads and event loops: a held call looks at it from its own loop.

    >>> clock = VirtualClock()
    >>> async def two():
    ...     finished = []
    ...     async def call(name, duration):
    ...         await clock.wait(duration)
    ...         finished.append(name)
    ...     await asyncio.gather(call("slow", 2.0), call("fast", 1.0))
    ...     return finished
    >>> asyncio.run(two()), clock.now
    (['fast', 'slow'], 2.0)
    """

    def __init__(
        self, *, quiet_looks: int = 8, look_every: float = 0.002, patience: float = 10.0
    ) -> None:
        checks.count().check(quiet_looks, "VirtualClock's quiet_looks")
        checks.seconds().check(look_every, "VirtualClock's look_every")
        checks.seconds().check(patience, "VirtualClock's patience")
        self.quiet_looks = quiet_looks
        self.look_every = look_every
        #: How long a released call may take to leave before the next one goes anyway
        #: (a safety net: a call whose loop stopped looking must not stop the run).
        self.patience = patience
        self.now = 0.0  # virtual seconds
        self.steps = 0  # times the clock moved on to a later due time
        self._lock = threading.Lock()
        self._held: list[_Held] = []
        self._orders = itertools.count()
        self._activity = 0  # bumped by every start, release, end and touch
        self._leaving: _Held | None = None  # released, not yet gone
        self._released_at = 0.0

    def touch(self) -> None:
        """Note that something happened the clock does not hold (a synchronous gate
        answered): the run is not quiet yet."""
        with self._lock:
            self._activity += 1

    async def wait(self, duration: float) -> None:
        """Return when this call, due ``duration`` virtual seconds from now, is the next to
        finish."""
        checks.seconds(allow_zero=True).check(duration, "VirtualClock.wait's duration")
        with self._lock:
            held = _Held(self.now + duration, next(self._orders))
            self._held.append(held)
            self._activity += 1
        loop = asyncio.get_running_loop()
        try:
            while (look := self._look(held, loop)) is not None:
                pause, woken = look
                if woken is None:
                    await asyncio.sleep(0)
                    continue
                timer = loop.call_later(pause, _wake_up, woken)
                try:
                    await woken
                finally:
                    timer.cancel()
        finally:
            with self._lock:
                held.wake = None
                if held in self._held:  # cancelled while held
                    self._held.remove(held)
                if self._leaving is held:
                    self._leaving = None
                self._activity += 1
                if self._held:
                    self._wake(min(self._held, key=_due))

    def _wake(self, held: _Held) -> None:
        """Have ``held`` look now, not when its pause ends (under the lock)."""
        if held.wake is not None:
            loop, future = held.wake
            held.wake = None
            try:
                loop.call_soon_threadsafe(_wake_up, future)
            except RuntimeError:  # its loop is closed: it is gone
                pass

    def _look(
        self, held: _Held, loop: asyncio.AbstractEventLoop
    ) -> tuple[float, asyncio.Future[None] | None] | None:
        """One look of a held call: release the next call if it may go. ``None`` when
        ``held`` is released, else how long it pauses before its next look and the future
        that wakes it sooner (none for a pause of one turn of its loop)."""
        with self._lock:
            pause = self._release(held)
            if pause is None or not pause:
                return pause if pause is None else (0.0, None)
            woken: asyncio.Future[None] = loop.create_future()
            held.wake = (loop, woken)
            return pause, woken

    def _release(self, held: _Held) -> float | None:
        """The look's decision (under the lock)."""
        if held.seen == self._activity:
            held.quiet += 1
        else:
            held.seen, held.quiet = self._activity, 0
        if held.released:
            return None
        idle = self.look_every * _IDLE_LOOKS  # a held call not next due looks now and then
        if self._leaving is not None:
            if time.monotonic() - self._released_at < self.patience:
                return idle
            self._leaving = None
        head = min(self._held, key=_due)
        if head.due > self.now:
            if head is not held and held.quiet <= self.quiet_looks:
                return idle  # the head decides (another does, should the head's loop stall)
            if held.quiet < self.quiet_looks:
                return 0.0
            if held.quiet == self.quiet_looks:
                return self.look_every  # the turns, then the look a while later
            self.now = head.due
            self.steps += 1
        self._held.remove(head)
        head.released = True
        self._leaving, self._released_at = head, time.monotonic()
        self._activity += 1
        if head is held:
            return None
        self._wake(head)
        return idle


class ClockedProvider(FakeProvider):
    """The fake model, each call held on a :class:`VirtualClock` for the duration a
    :class:`Fuzz` gives it (by agent and call number), so calls finish in the drawn order,
    not the order they started in, whatever the machine's speed."""

    def __init__(self, fuzz: Fuzz, clock: VirtualClock | None = None, **options: Any) -> None:
        super().__init__(**options)
        self.fuzz = fuzz
        self.clock = clock or VirtualClock()

    async def _wait(self, agent: str) -> None:
        await self.clock.wait(self.fuzz.delay(agent, self._per_agent.get(agent, 1) - 1))


class JitteredProvider(FakeProvider):
    """The fake model, answering each call after sleeping the delay a :class:`Fuzz` gives
    it, in real seconds: the order calls finish in then depends on the machine's speed too
    (:class:`ClockedProvider` draws the order itself; the suite uses that)."""

    def __init__(self, fuzz: Fuzz, **options: Any) -> None:
        super().__init__(**options)
        self.fuzz = fuzz

    def _delay(self, agent: str) -> float:
        return self.fuzz.delay(agent, self._per_agent.get(agent, 1) - 1)


def gate_handler(fuzz: Fuzz, clock: VirtualClock) -> Callable[[Any], Any]:
    """The suite's gate answer, given synchronously, or by a coroutine held on ``clock`` for
    a drawn duration."""
    if not fuzz.async_gates:

        def answer_now(request: Any) -> str:
            clock.touch()
            return gate_answer(request)

        return answer_now
    asked: Counter[str] = Counter()

    async def answer(request: Any) -> str:
        asked[request.node] += 1
        await clock.wait(fuzz.delay("gate:" + request.node, asked[request.node]))
        return gate_answer(request)

    return answer
