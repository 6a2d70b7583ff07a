"""``run_many`` and ``arun_many``: one pipeline over a data set, each result as it completes.

How a batch runs: the pipeline is compiled once. At most ``max_items`` items are in flight;
the next item is pulled from ``states`` only when one has finished and its result been taken,
so a generator over a file too big for memory is read as the batch goes, never ahead of the
window. Every item's run shares one semaphore of ``max_concurrency`` slots (the asyncio
backend's ``call_limit`` run option), so one limit bounds the model calls of all items
together, parallel branches within an item included: the model's rate limit is one.

A failing item is a result with its ``error`` and the others go on; with ``fail_fast=True``
the first failure stops pulling items, cancels those in flight and raises :class:`BatchError`.

With ``batch_key`` a batch is resumable (:mod:`irgraph.batch_store`): each completed item's
final state is kept as a JSON file, and running the same batch again yields those items as
``resumed`` without a model call; an item that was under way gets its completed agents'
answers back (on asyncio from the store, on Prefect from Prefect's cache under the item's
run key) and pays only for the rest.

``run_many`` is the blocking twin: the batch runs on an event loop in a helper thread, which
keeps the items in flight running while the caller handles a result (and works inside
Jupyter's running loop too).

>>> from irgraph import Agent, run_many
>>> from irgraph.testing import FakeProvider
>>> writer = Agent("w").instruct("Write about {topic}.").writes("text")
>>> items = run_many(writer, [{"topic": "owls"}, {"topic": "bats"}], provider=FakeProvider())
>>> sorted((item.index, item.state["text"]) for item in items)
[(0, '<w: Write about owls.>'), (1, '<w: Write about bats.>')]
"""

from __future__ import annotations

import asyncio
import inspect
import os
import weakref
from collections.abc import AsyncGenerator, AsyncIterable, Iterable, Iterator, Mapping
from typing import Any

import attrs

from irgraph import checks
from irgraph.batch_blocking import blocking
from irgraph.batch_checks import check_gates, check_remote, check_run_options
from irgraph.batch_clock import BatchClock, keep_clock
from irgraph.batch_items import BatchError, ItemResult, not_a_state
from irgraph.batch_stop import Tally, keep_late, states_failed, stop_items, stopped_preparing
from irgraph.batch_store import BatchStore, default_directory
from irgraph.compile import Runnable
from irgraph.errors import IrgraphError, PipelineError, RunError, unexpanded_home
from irgraph.events import RunResult
from irgraph.providers import ModelProvider, check_agents, makes_answers_up
from irgraph.run import _compiled
from irgraph.state_keys import calling_site

__all__ = ["ItemResult", "BatchError", "run_many", "arun_many", "DEFAULT_MAX_ITEMS"]

#: Items in flight when neither ``max_items`` nor ``max_concurrency`` bounds them.
DEFAULT_MAX_ITEMS = 64
_COUNT = checks.optional(checks.count())


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
                done, in_flight = await asyncio.wait(in_flight, return_when=asyncio.FIRST_COMPLETED)
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


#: The advice for states given as a file's name, which run_many does not open.
_FILE = "; for a JSON Lines file, read its lines: (json.loads(line) for line in open(path))."


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


def _batch(
    pipeline: Any,
    states: Any,
    backend: Any,
    provider: ModelProvider | None,
    max_concurrency: Any,
    max_items: Any,
    batch_key: Any,
    store: Any,
    fail_fast: Any,
    allow: Any,
    options: dict[str, Any],
) -> _Batch:
    """Check every argument and compile the pipeline, before any item runs."""
    if isinstance(states, (str, bytes, Mapping)) or not isinstance(
        states, (Iterable, AsyncIterable)
    ):
        shown = f"one state (a {type(states).__name__})" if isinstance(states, Mapping) else ""
        raise PipelineError(
            "run_many()'s states must be an iterable of states: a list, a generator or an "
            f"async iterable (got {shown or f'{states!r} of type {type(states).__name__}'}).",
            hint="Pass e.g. [{'topic': 'owls'}, {'topic': 'bats'}]; for one state, use run()"
            + (_FILE if isinstance(states, (str, os.PathLike)) else "."),
        )
    _COUNT.check(max_concurrency, "the run_many() argument max_concurrency")
    _COUNT.check(max_items, "the run_many() argument max_items")
    checks.flag.check(fail_fast, "the run_many() argument fail_fast")
    _BATCH_KEY.check(batch_key, "the run_many() argument batch_key")
    if isinstance(store, (str, os.PathLike)) and not os.fspath(store).strip():
        raise PipelineError(
            f"run_many()'s store is an empty path ({store!r}), which would spread the store "
            "over the current directory.",
            hint="Pass a directory, e.g. store='.irgraph-batches/evals', or leave it unset "
            "for the default (.irgraph-batches/BATCH_KEY).",
        )
    if unexpanded_home(store):  # it would make a folder '~' here and keep the items there
        raise PipelineError(f"run_many()'s store {unexpanded_home(store)}")
    if store is not None and not isinstance(store, (str, os.PathLike)):
        raise PipelineError(
            f"run_many()'s store must be a directory path (got {store!r} of type "
            f"{type(store).__name__}).",
            hint="Pass e.g. store='.irgraph-batches/evals'.",
        )
    if store is not None and batch_key is None:
        raise PipelineError(
            "run_many() got a store but no batch_key; the store keeps items by batch key.",
            hint="Pass batch_key='a name for this batch' as well.",
        )
    for taken in ("call_limit", "state", "run_key"):
        if taken in options:
            raise PipelineError(
                f"run_many() sets the run option {taken!r} itself.",
                hint="Bound model calls with max_concurrency=N; the states go in states=; "
                "every item's run key comes from batch_key and the item.",
            )
    runnable = _compiled(pipeline, backend, None, options, allow, "run_many()")
    takes = inspect.signature(runnable.arun).parameters
    if "call_limit" not in takes:
        raise IrgraphError(
            f"run_many() needs a backend whose runs share one call_limit (asyncio, Prefect); "
            f"the {type(runnable).__name__} it got takes none."
        )
    check_run_options(provider, options)
    # An AsyncioBackend instance's own settings stand when run_many's are not given; the
    # provider is named here so that a keyed batch can keep its answers.
    engine = getattr(runnable, "backend", None)
    check_gates(runnable, engine, options)
    if provider is None:
        provider = getattr(engine, "provider", None)
    check_agents(provider, getattr(runnable, "graph", None))  # before any item, not in each
    if max_concurrency is None:
        max_concurrency = getattr(engine, "max_concurrency", None)
    return _Batch(
        runnable,
        provider,
        options,
        max_concurrency,
        max_items or max_concurrency or DEFAULT_MAX_ITEMS,
        fail_fast,
        None
        if batch_key is None
        else BatchStore(
            default_directory(batch_key) if store is None else store,
            batch_key,
            runnable.node,
            graph=getattr(runnable, "graph", None),
            made_up=makes_answers_up(provider),
        ),
        run_keys="run_key" in takes,
    )


#: A name, with the hint a batch key wants (not a node's example name).
_BATCH_KEY = checks.optional(
    attrs.evolve(
        checks.name,
        hint="Name the batch, e.g. batch_key='evals-v1'; its items are kept under that name.",
    )
)


@checks.keyword_options
def arun_many(
    pipeline: Any,
    states: Iterable[Mapping[str, Any]] | AsyncIterable[Mapping[str, Any]],
    *,
    backend: str | Any = "asyncio",
    provider: ModelProvider | None = None,
    max_concurrency: int | None = None,
    max_items: int | None = None,
    batch_key: str | None = None,
    store: str | os.PathLike[str] | None = None,
    fail_fast: bool = False,
    allow: Iterable[str] | str | None = None,
    **options: Any,
) -> AsyncGenerator[ItemResult, None]:
    """Run ``pipeline`` once per state of ``states``; iterate the :class:`ItemResult` s
    (``async for``) in the order they complete.

    ``max_concurrency`` bounds the model calls of the whole batch (default: the backend's
    own setting, else none); ``max_items`` bounds the items in flight, and so how far
    ``states`` is read ahead (default: ``max_concurrency``, else 64). ``batch_key`` makes the
    batch resumable, kept in the directory ``store`` (default
    ``.irgraph-batches/<batch_key>``). ``options`` go to every item's run, as in
    :func:`irgraph.run.arun`. Every argument is checked here, before any item runs.

    Cancelled while it runs, the batch raises ``CancelledError`` carrying ``partial``, a
    :class:`~irgraph.batch_stop.BatchStopped` that counts the items handed over and says
    where completed items are kept and how to resume.
    """
    with stopped_preparing(batch_key, store):
        batch = _batch(
            pipeline,
            states,
            backend,
            provider,
            max_concurrency,
            max_items,
            batch_key,
            store,
            fail_fast,
            allow,
            options,
        )
        results = _results(batch, states, options, provider)
    _BATCHES[results] = batch
    keep_clock(results, batch.clock)
    return results


#: The batch behind each result generator :func:`arun_many` returned, until the caller takes
#: it: :func:`run_many` needs its tally for the record of a Ctrl-C that lands between two
#: items, and an async generator takes no attributes to carry it.
_BATCHES: weakref.WeakKeyDictionary[AsyncGenerator[ItemResult, None], _Batch] = (
    weakref.WeakKeyDictionary()
)


def _results(
    batch: _Batch, states: Any, options: Mapping[str, Any], provider: Any
) -> AsyncGenerator[ItemResult, None]:
    """``batch``'s results: run here, or on the backend's work pool."""
    pool = getattr(batch.runnable, "remote_batch", None)
    remote = None
    if pool is not None:
        remote = pool(batch.store, batch.max_items, batch.fail_fast, batch.max_concurrency)
    if remote is None:
        return batch.tally.counted(batch.results(states), batch.store)
    check_remote(options, provider)
    waiting = getattr(remote, "waiting", None)
    if isinstance(waiting, list):  # its completed items not handed over yet: in a stop's record
        batch.tally.waiting = waiting
    return batch.tally.counted(remote.results(states, batch.clock), batch.store)


@checks.keyword_options
def run_many(
    pipeline: Any,
    states: Iterable[Mapping[str, Any]] | AsyncIterable[Mapping[str, Any]],
    *,
    backend: str | Any = "asyncio",
    provider: ModelProvider | None = None,
    max_concurrency: int | None = None,
    max_items: int | None = None,
    batch_key: str | None = None,
    store: str | os.PathLike[str] | None = None,
    fail_fast: bool = False,
    allow: Iterable[str] | str | None = None,
    **options: Any,
) -> Iterator[ItemResult]:
    """The blocking twin of :func:`arun_many`: a plain iterator of :class:`ItemResult` s.

    Leaving the loop early (``break``, an exception, Ctrl-C) cancels the items in flight
    once the iterator is closed or collected; ``with contextlib.closing(run_many(...))``
    makes that moment explicit. A Ctrl-C while it checks and compiles the pipeline or waits
    for an item raises ``KeyboardInterrupt`` carrying ``partial``, a
    :class:`~irgraph.batch_stop.BatchStopped`; so does one in the loop's own body when the
    iterator is closed as it is handled (``with contextlib.closing(...)``).
    """
    site = calling_site()  # the user's line, for warnings told on the helper thread
    results = arun_many(
        pipeline,
        states,
        backend=backend,
        provider=provider,
        max_concurrency=max_concurrency,
        max_items=max_items,
        batch_key=batch_key,
        store=store,
        fail_fast=fail_fast,
        allow=allow,
        **options,
    )
    batch = _BATCHES.pop(results)
    iterator = blocking(results, lambda late: batch.tally.record(batch.store, late), site)
    keep_clock(iterator, batch.clock)
    return iterator
