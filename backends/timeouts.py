"""A node's time limit: the awaitable to wait on, failing with advice when time runs out.

A timeout fires from the event loop, so work that blocks the loop (a provider whose async
``complete`` calls ``time.sleep``) cannot be interrupted; once it returns past its deadline,
it fails as a timeout all the same, naming the code that blocked the loop and how to stop it
(:mod:`irgraph.backends.blocked_loop`). Only a step of the work
itself counts: when another task (a parallel branch's provider) blocked the loop, the work
may resume past its deadline before the timer's turn comes, and what it returns then was
ready in time, so it is taken, as ``asyncio.timeout`` takes it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Generator
from typing import Any, TypeVar

from .blocked_loop import Culprit, blamed

T = TypeVar("T")

_now = time.monotonic


def with_timeout(
    work: Awaitable[T], seconds: float | None, culprit: Culprit | None = None
) -> Awaitable[T]:
    """``work`` to await, failing with a TimeoutError that says how to allow more time
    once ``seconds`` pass (``None``: no limit, and no coroutine of its own around it).
    ``culprit`` is the code ``work`` runs, named if it blocks the loop past ``seconds``."""
    return work if seconds is None else _timed(work, seconds, culprit)


class _Stepped:
    """``work``'s awaiting, step by step, noting the longest step of its own that ran past
    ``deadline`` (a ``time.monotonic`` reading) having begun no later, or that alone ran
    longer than the whole ``seconds`` allowed: the loop blocked by the work itself. (A step
    can begin past the deadline when the process was descheduled before it, on a busy
    machine: one that then holds the loop for longer than the timeout is blocking all the
    same.)"""

    __slots__ = ("blocked", "deadline", "seconds", "steps")

    def __init__(self, work: Awaitable[Any], deadline: float, seconds: float) -> None:
        self.steps: Generator[Any, Any, Any] = work.__await__()
        self.deadline = deadline
        self.seconds = seconds
        self.blocked = 0.0  # how long the step that crossed the deadline ran

    def __await__(self) -> _Stepped:
        return self

    def __iter__(self) -> _Stepped:
        return self

    def __next__(self) -> Any:
        return self.send(None)

    # As ``yield from`` does, the work's iterator may have no send, throw or close (an
    # awaitable's ``__await__`` need only return an iterator).
    def send(self, value: Any) -> Any:
        begun = _now()
        try:
            return next(self.steps) if value is None else self.steps.send(value)
        finally:
            self._ran(begun)

    def throw(self, *error: Any) -> Any:  # passed on as given: throw(error) from asyncio
        begun = _now()
        try:
            throw = getattr(self.steps, "throw", None)
            if throw is not None:
                return throw(*error)
            self.close()
            raise error[0] if len(error) < 2 or error[1] is None else error[1]
        finally:
            self._ran(begun)

    def _ran(self, begun: float) -> None:
        """Note a step that began at ``begun`` and ended now, if it crossed the deadline or
        ran past it for longer than the time allowed."""
        now = _now()
        if now > self.deadline and (self.deadline >= begun or now - begun > self.seconds):
            self.blocked = max(self.blocked, now - begun)

    def close(self) -> None:
        close = getattr(self.steps, "close", None)
        if close is not None:
            close()


async def _timed(work: Awaitable[T], seconds: float, culprit: Culprit | None) -> T:
    timer = asyncio.timeout(seconds)
    try:
        async with timer:
            left = timer.when() - asyncio.get_running_loop().time()  # type: ignore[operator]
            stepped = _Stepped(work, _now() + left, seconds)  # _now: a loop's may be cached
            done: T = await stepped
    except TimeoutError:
        if not timer.expired():
            raise  # the work's own TimeoutError, a provider's read timeout say
        raise late(seconds) from None
    if timer.expired():
        # The work caught the cancellation and returned anyway: what it returned was made
        # after the time allowed (or is a stand-in), so it is not taken as the node's value.
        raise late(
            seconds,
            " and returned a value after being cancelled (it caught the "
            "cancellation: let asyncio.CancelledError pass through)",
        )
    if stepped.blocked:
        # Past the deadline, yet the timer never fired: the work blocked the event loop
        # (time.sleep or a synchronous client in an async def); its late value is not taken.
        raise _blocked(stepped.blocked, seconds, culprit)
    return done


def late(seconds: float, more: str = "") -> TimeoutError:
    """The error of work that ran past its timeout of ``seconds``, with how to allow more."""
    return TimeoutError(
        f"it took longer than its timeout of {seconds:g} s{more}; allow more time with "
        ".timeout(seconds) on the node, or with run(..., timeout=seconds) if the node has no "
        ".timeout() of its own (a node's own timeout wins over the run's)"
    )


def _blocked(elapsed: float, seconds: float, culprit: Culprit | None) -> TimeoutError:
    what, fix = blamed(culprit)
    return TimeoutError(
        f"{what} blocked the event loop for {elapsed:.2g} s, past its timeout of {seconds:g} s, "
        f"so the timeout could not fire and its late value is not taken; {fix}"
    )
