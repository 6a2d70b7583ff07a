"""Timing a bench's variants: each is run once a round, the rounds interleaved so that every
variant sees the same machine (a shared one slows them alike), and each keeps its best time.

The clock is the caller's: ``time.thread_time`` (CPU seconds of this thread, which a busy
machine disturbs less) where a run never waits, ``time.perf_counter`` where waiting is part
of what is measured.
"""

from __future__ import annotations

import gc
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

Clock = Callable[[], float]


async def seconds(work: Callable[[], Awaitable[Any]], clock: Clock) -> float:
    """How long one run of ``work`` took on ``clock``, after a ``gc.collect()``."""
    gc.collect()
    start = clock()
    await work()
    return clock() - start


async def best_of(
    variants: Mapping[str, Callable[[], Awaitable[Any]]], repeats: int, clock: Clock
) -> dict[str, float]:
    """Each variant's best time of ``repeats`` rounds, by name, in the order given."""
    best = dict.fromkeys(variants, float("inf"))
    for _ in range(repeats):  # interleaved: every variant sees the same machine
        for name, work in variants.items():
            best[name] = min(best[name], await seconds(work, clock))
    return best
