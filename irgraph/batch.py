"""``run_many`` and ``arun_many``: one pipeline over a data set, each result as it completes.

How a batch runs: every argument is checked and the pipeline compiled once, before any item
runs; then at most ``max_items`` items are in flight (:mod:`irgraph.batch_window`), the next
pulled from ``states`` only when one has finished, all their model calls sharing one limit of
``max_concurrency``.

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

import inspect
import os
import weakref
from collections.abc import AsyncGenerator, AsyncIterable, Iterable, Iterator, Mapping
from typing import Any

import attrs

from irgraph import checks
from irgraph.batch_blocking import blocking
from irgraph.batch_checks import check_gates, check_remote, check_run_options
from irgraph.batch_clock import keep_clock
from irgraph.batch_items import BatchError, ItemResult
from irgraph.batch_stop import stopped_preparing
from irgraph.batch_store import BatchStore, default_directory
from irgraph.batch_window import _Batch
from irgraph.batch_window import pull_states as pull_states  # where the Prefect pool got it
from irgraph.errors import IrgraphError, PipelineError, unexpanded_home
from irgraph.providers import ModelProvider, check_agents, makes_answers_up
from irgraph.run import _compiled
from irgraph.state_keys import calling_site

__all__ = ["ItemResult", "BatchError", "run_many", "arun_many", "DEFAULT_MAX_ITEMS"]

#: Items in flight when neither ``max_items`` nor ``max_concurrency`` bounds them.
DEFAULT_MAX_ITEMS = 64
_COUNT = checks.optional(checks.count())


#: The advice for states given as a file's name, which run_many does not open.
_FILE = "; for a JSON Lines file, read its lines: (json.loads(line) for line in open(path))."


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
