"""A node's time limit: the awaitable to wait on, failing with advice when time runs out.

A timeout fires from the event loop, so work that blocks the loop (a provider whose async
``complete`` calls ``time.sleep``) cannot be interrupted; once it returns past its deadline,
it fails as a timeout all the same, saying that it blocked the loop.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import TypeVar

T = TypeVar("T")


def with_timeout(work: Awaitable[T], seconds: float | None) -> Awaitable[T]:
    """``work`` to await, failing with a TimeoutError that says how to allow more time
    once ``seconds`` pass (``None``: no limit, and no coroutine of its own around it)."""
    return work if seconds is None else _timed(work, seconds)


async def _timed(work: Awaitable[T], seconds: float) -> T:
    timer = asyncio.timeout(seconds)
    try:
        async with timer:
            done = await work
    except TimeoutError:
        if not timer.expired():
            raise  # the work's own TimeoutError, a provider's read timeout say
        raise _late(seconds) from None
    if timer.expired():
        # The work caught the cancellation and returned anyway: what it returned was made
        # after the time allowed (or is a stand-in), so it is not taken as the node's value.
        raise _late(
            seconds,
            " and returned a value after being cancelled (it caught the "
            "cancellation: let asyncio.CancelledError pass through)",
        )
    deadline = timer.when()
    now = asyncio.get_running_loop().time()
    if deadline is not None and now > deadline:
        # Past the deadline, yet the timer never fired: the event loop was blocked (time.sleep
        # or a synchronous client in an async def), and the late value is not taken either.
        raise _blocked(now - deadline + seconds, seconds)
    return done


def _late(seconds: float, more: str = "") -> TimeoutError:
    return TimeoutError(
        f"it took longer than its timeout of {seconds:g} s{more}; allow more time with "
        ".timeout(seconds) on the node or run(..., timeout=seconds)"
    )


def _blocked(elapsed: float, seconds: float) -> TimeoutError:
    return TimeoutError(
        f"it blocked the event loop for {elapsed:.2g} s, past its timeout of {seconds:g} s, "
        "so the timeout could not fire and its late value is not taken; make what it awaits "
        "async (a model provider's complete() awaiting its I/O), or run blocking work in a "
        "thread with asyncio.to_thread"
    )
