"""A batch's items in flight: at most ``max_items`` at once, each yielded as it completes; a
keyed item run once.

The next item is pulled from ``states`` only when one has finished and its result been taken,
so a generator over a file too big for memory is read as the batch goes, never ahead of the
window. Every item's run shares one semaphore of ``max_concurrency`` slots (the asyncio
backend's ``call_limit`` run option), so one limit bounds the model calls of all items
together, parallel branches within an item included: the model's rate limit is one.

A keyed item (:mod:`irgraph.batch_store`) kept by an earlier run is its kept result; one
identical to an item running now waits for that run's outcome; else it runs, its completed
agents' answers given back (on asyncio from the store, on Prefect from Prefect's cache under
the item's run key), and its final state is kept.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator, AsyncIterable, Iterable, Mapping
from typing import Any

import attrs

from irgraph.batch_clock import BatchClock
from irgraph.batch_items import BatchError, ItemResult, not_a_state
from irgraph.batch_stop import Tally, keep_late, states_failed, stop_items
from irgraph.batch_store import BatchStore
from irgraph.compile import Runnable
from irgraph.errors import IrgraphError, PipelineError, RunError
from irgraph.events import RunResult
from irgraph.providers import ModelProvider

__all__ = ["pull_states"]

#: How a keyed item's run ended, handed to the identical items that waited for it.
_Outcome = tuple[RunResult | None, IrgraphError | None]


@attrs.frozen
class _Batch:
    """What every item of one batch shares."""

    runnable: Runnable
    provider: ModelProvider | None
    options: Mapping[str, Any]
    max_concurrency: int | None
    max_items: int
    fail_fast: bool
    store: BatchStore | None
    run_keys: bool = False

    #: The keyed items running now, by key: an identical item waits for its outcome.
    running: dict[str, asyncio.Future[_Outcome]] = attrs.field(factory=dict, init=False)
    #: The items handed over, and how many of them failed: what a stopped batch says it did.
    tally: Tally = attrs.field(factory=Tally, init=False)
    #: When the items began, after the backend got ready (:mod:`irgraph.batch_clock`).
    clock: BatchClock = attrs.field(factory=BatchClock, init=False)

    async def run_item(self, index: int, state: Any, limit: asyncio.Semaphore | None) -> ItemResult:
        key = None
        try:
            problem = not_a_state(index, state, self.runnable)
            if problem is not None:
                raise problem
            if self.store is not None:
                key = self.store.item_key(state, index)
                return await self._keyed_item(index, state, key, limit)
            await self.clock.ready(self.runnable)  # e.g. a server started, off the clock
            result = await self.runnable.arun(
                state, provider=self.provider, call_limit=limit, **self.options
            )
        except (RunError, PipelineError) as error:
            return ItemResult(index, state, error=error, key=key)
        return ItemResult(index, state, result)

    async def _keyed_item(
        self, index: int, state: Any, key: str, limit: asyncio.Semaphore | None
    ) -> ItemResult:
        """Item ``key`` of a keyed batch, run once: kept by an earlier run, the kept result;
        an identical item running now, its outcome (a gate is asked once for both, and what
        is kept is what each copy got); else a run of its own."""
        assert self.store is not None
        while True:
            kept = self.store.find(key)
            if kept is not None:
                return ItemResult(index, state, kept[0], resumed=kept[1], key=key)
            other = self.running.get(key)
            if other is None:
                break
            try:
                result, error = await asyncio.shield(other)
            except asyncio.CancelledError:
                task = asyncio.current_task()
                if task is not None and task.cancelling():
                    raise  # this item was cancelled itself
                continue  # the copy running was cancelled, not this one: run it here
            kept = self.store.find(key)  # read back, as for a copy completed earlier
            if kept is not None:
                return ItemResult(index, state, kept[0], key=key)
            return ItemResult(index, state, result, error=error, key=key)
        shared: asyncio.Future[_Outcome] = asyncio.get_running_loop().create_future()
        self.running[key] = shared
        try:
            item = await self._run_keyed(index, state, key, limit)
            shared.set_result((item.result, item.error))
        finally:
            del self.running[key]
            if not shared.done():
                shared.cancel()  # whoever waits runs the item itself
        return item

    async def _run_keyed(
        self, index: int, state: Any, key: str, limit: asyncio.Semaphore | None
    ) -> ItemResult:
        assert self.store is not None
        provider = self.provider
        options = self.options
        if provider is None:
            pass  # placeholder answers: nothing to keep, under a run key or here
        elif self.run_keys:  # the backend keeps answers by run key itself (Prefect)
            # Made-up answers, and the gate answers of a made-up run, are kept apart by the
            # backend already (answers_key, gate_key); the suffix, older than gate_key, stays
            # so that the half-done made-up items of stores written before find their agents'
            # answers again.
            made_up = "-made-up" if self.store.made_up else ""
            options = {**options, "run_key": f"{self.store.run_key(key)}{made_up}"}
        else:
            provider = self.store.answers(key, provider)
        try:
            await self.clock.ready(self.runnable)
            result = await self.runnable.arun(state, provider=provider, call_limit=limit, **options)
        except (RunError, PipelineError) as error:
            return ItemResult(index, state, error=error, key=key)
        try:
            self.store.save(key, index, result)
        except RunError as error:  # it ran, but is not kept: its result goes with the error
            return ItemResult(index, state, result, error=error, key=key)
        return ItemResult(index, state, result, key=key)

    async def results(
        self, states: Iterable[Any] | AsyncIterable[Any]
    ) -> AsyncGenerator[ItemResult, None]:
        """Keep up to ``max_items`` items in flight; yield each as it completes."""
        limit = asyncio.Semaphore(self.max_concurrency) if self.max_concurrency else None
        pull = pull_states(states)
        in_flight: set[asyncio.Task[ItemResult]] = set()
        index = 0
        exhausted = False
        broken: Exception | None = None  # raised by the states themselves
        # A backend may hold something for all the items (Prefect: one pair of API clients).
        span = getattr(self.runnable, "batch_span", None)
        async with span() if span is not None else contextlib.nullcontext():
            try:
                while True:
                    while not exhausted and len(in_flight) < self.max_items:
                        try:
                            state = await pull()
                        except StopAsyncIteration:
                            exhausted = True
                            break
                        except Exception as failure:  # raised once the items in flight ended
                            exhausted, broken = True, states_failed(failure)
                            break
                        in_flight.add(asyncio.ensure_future(self.run_item(index, state, limit)))
                        index += 1
                    if not in_flight:
                        if broken is not None:
                            raise broken
                        return
                    done, in_flight = await asyncio.wait(
                        in_flight, return_when=asyncio.FIRST_COMPLETED
                    )
                    # Every task's exception is taken (none is left "never retrieved"), the first
                    # raised: an item's own failures are results, so this is a fault of irgraph's.
                    raised = [task.exception() for task in done]
                    for error in raised:
                        if error is not None:
                            raise error
                    # Completed, handed over one by one: those not handed yet when the batch is
                    # stopped are in its record, not lost with the generator.
                    waiting = self.tally.waiting
                    waiting[:] = sorted((task.result() for task in done), key=_failed_last)
                    while waiting:
                        item = waiting.pop(0)
                        if self.fail_fast and not item.ok:
                            raise BatchError(item) from item.error
                        yield item
            except (asyncio.CancelledError, KeyboardInterrupt) as stop:
                keep_late(stop, await stop_items(in_flight))
                raise
            finally:
                await stop_items(in_flight)


def _failed_last(item: ItemResult) -> tuple[bool, int]:
    # Under fail_fast the items that completed alongside a failure are still handed over.
    return (not item.ok, item.index)


def pull_states(states: Iterable[Any] | AsyncIterable[Any]) -> Any:
    """A coroutine function giving the next state, or raising StopAsyncIteration (shared with
    the backends that run a batch their own way)."""
    if isinstance(states, AsyncIterable):
        iterator = aiter(states)
        return iterator.__anext__
    items = iter(states)

    async def pull() -> Any:
        try:
            return next(items)
        except StopIteration:
            raise StopAsyncIteration from None

    return pull
