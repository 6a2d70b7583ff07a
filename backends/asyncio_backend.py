"""The asyncio backend: the shared scope scheduler (:mod:`irgraph.backends.scheduler`) on plain
asyncio — parallel and streaming, not durable.

>>> from irgraph import Agent
>>> from irgraph.testing import FakeProvider
>>> backend = AsyncioBackend(provider=FakeProvider())
>>> runnable = backend.compile((Agent("a").instruct("Hi.").writes("x")
...                             >> Agent("b").instruct("Got {x}.")).to_ir())
>>> runnable.run().outputs["b"]
'<b: Got <a: Hi.>.>'
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

from irgraph import checks
from irgraph.compile import EngineCapabilities
from irgraph.errors import IrgraphError
from irgraph.events import Event, RunResult
from irgraph.gate_answers import no_handler_error
from irgraph.ir import Node
from irgraph.providers import ModelProvider, PlaceholderProvider, check_agents
from irgraph.run import run_coroutine
from irgraph.run_cancel import keeps_partial, nothing_ran_in
from irgraph.schema import ir_nodes
from irgraph.validate import checked_graph, initial_state, required_inputs

from .plan import SCHEDULES, plan_scopes
from .run_options import check_on_event, check_on_gate
from .scheduler import LIMIT, TIMEOUT, GateRequest, Scheduler, check_provider

if TYPE_CHECKING:
    import networkx as nx

__all__ = ["AsyncioBackend", "AsyncioRunnable", "RunStream"]


class AsyncioBackend:
    """Run pipelines on plain asyncio: parallel and streaming, not durable.

    ``provider`` answers agents (placeholder text when ``None``); ``max_concurrency`` bounds
    provider calls in flight; ``timeout`` is a default per-node limit in seconds.
    """

    name = "asyncio"
    capabilities = EngineCapabilities(
        durable=False,
        parallel=True,
        signals=True,
        distributed=False,
        streaming=True,
        replay=False,
        checkpointing=False,
    )

    #: The scheduler a run uses; a subclass may swap it (the conformance tests do, to prove
    #: that deliberately broken schedulers are caught).
    scheduler_class: type[Scheduler] = Scheduler

    @checks.keyword_options
    def __init__(
        self,
        provider: ModelProvider | None = None,
        max_concurrency: int | None = None,
        *,
        timeout: float | None = None,
        on_gate: Callable[[GateRequest], Any] | None = None,
        schedule: str = "topological",
    ) -> None:
        LIMIT.check(max_concurrency, "AsyncioBackend's max_concurrency")
        TIMEOUT.check(timeout, "AsyncioBackend's timeout")
        if provider is not None:
            check_provider(provider, "AsyncioBackend's provider")
        check_on_gate(on_gate, "AsyncioBackend's on_gate")
        self.provider = provider
        self.max_concurrency = max_concurrency
        self.timeout = timeout
        self.on_gate = on_gate
        self.schedule = checks.one_of(*SCHEDULES).check(schedule, "AsyncioBackend's schedule")

    def compile(self, ir: Node, *, inputs: Iterable[str] | None = None) -> AsyncioRunnable:
        """Build and check the graph of ``ir``; unbound reads are checked at run start unless
        ``inputs`` is given."""
        return AsyncioRunnable(ir, checked_graph(ir, inputs), self)

    def __repr__(self) -> str:
        return f"AsyncioBackend(max_concurrency={self.max_concurrency})"


class AsyncioRunnable:
    """A compiled pipeline: ``.node`` (the IR), ``.graph`` (the DiGraph), ``run``/``arun``/
    ``stream``."""

    def __init__(self, node: Node, graph: nx.DiGraph, backend: AsyncioBackend) -> None:
        self.node = node
        self.graph = graph
        self.backend = backend
        self._plan = plan_scopes(graph, ir_nodes(graph, node), backend.schedule)
        self._needs = required_inputs(graph)
        self._gates = [nid for nid, kind in graph.nodes(data="kind") if kind == "gate"]

    def run(self, state: Mapping[str, Any] | None = None, **options: Any) -> RunResult:
        """Run to completion and return the result (works inside a running event loop too)."""
        checks.keywords(self.arun, options, "AsyncioRunnable.run()")
        return run_coroutine(self.arun(state, **options))

    @keeps_partial(nothing_ran_in)  # a stop before its first step still has a .partial
    @checks.keyword_options
    async def arun(
        self,
        state: Mapping[str, Any] | None = None,
        *,
        provider: ModelProvider | None = None,
        on_event: Callable[[Event], Any] | None = None,
        on_gate: Callable[[GateRequest], Any] | None = None,
        max_concurrency: int | None = None,
        timeout: float | None = None,
        chunks: bool = False,
        call_limit: asyncio.Semaphore | None = None,
    ) -> RunResult:
        """Run the pipeline; ``on_event`` is called with each event as it happens.
        ``call_limit``, in place of ``max_concurrency``, is a semaphore this run shares with
        others, so their model calls together stay under one bound (``run_many`` passes one).
        """
        backend = self.backend
        current = initial_state(self.graph, state, self._needs)
        asks = backend.scheduler_class.gate is Scheduler.gate  # (a scheduler of one's own
        if asks and on_gate is None and backend.on_gate is None and self._gates:  # may answer)
            # Refused now: else the steps before the gate would run (and be paid for) first.
            raise no_handler_error(
                self._gates,
                "run()/arun()",
                "otherwise the steps before the gate would run, and their model calls be "
                "paid for, before the run failed there",
            )
        chosen = backend.provider if provider is None else provider
        run = backend.scheduler_class(
            PlaceholderProvider() if chosen is None else chosen,
            on_event=on_event,
            on_gate=backend.on_gate if on_gate is None else on_gate,
            # None means "the backend's setting" (unless a shared call_limit stands in for it);
            # any other value, 0 included, is checked.
            max_concurrency=(
                backend.max_concurrency
                if max_concurrency is None and call_limit is None
                else max_concurrency
            ),
            timeout=backend.timeout if timeout is None else timeout,
            chunks=chunks,
            call_limit=call_limit,
            schedule=backend.schedule,
        )
        check_agents(chosen, self.graph)  # e.g. a FakeProvider's misspelt agent name
        await run.run_all(self._plan, current, self.graph)
        return run.result(self.graph, current, "asyncio", provider_given=chosen is not None)

    def stream(self, state: Mapping[str, Any] | None = None, **options: Any) -> RunStream:
        """Iterate events (``start``/``end``, and ``chunk`` text when the provider streams)
        while the run goes; the result is ``.result`` afterwards."""
        checks.keywords(self.arun, options, "AsyncioRunnable.stream()")
        # The stream hands arun a hook of its own, so the user's is checked here, as arun would.
        check_on_event(options.get("on_event"))
        return RunStream(self, state, options)


class RunStream:
    """An async iterator over a run's events; ``result`` holds the RunResult when done.

    Leaving the loop early cancels the run: at once inside ``async with runnable.stream(...)
    as events:``, or when the abandoned iterator is collected otherwise. A stream is one run:
    iterating it again is refused (it would run the pipeline, and pay its model calls, again).
    Cancelling the consumer's task cancels the run, and its ``CancelledError`` carries the
    run's ``.partial``, as a cancelled ``arun``'s does. A run that had already finished when
    the consumer was cancelled (its last event told, the consumer not yet resumed) is not
    undone: its RunResult is in ``.result``, and the ``CancelledError`` has no ``.partial``,
    as nothing was cut short (no RunError to give); read ``.result`` first.
    """

    def __init__(
        self, runnable: AsyncioRunnable, state: Mapping[str, Any] | None, options: dict[str, Any]
    ) -> None:
        self.runnable = runnable
        self.state = state
        self.options = options
        self.result: RunResult | None = None
        self._task: asyncio.Future[RunResult] | None = None
        self._iterated = False
        #: The cancelled run's record, handed on to the consumer's own CancelledError.
        self._partial: Any = None

    async def __aenter__(self) -> RunStream:
        return self

    async def __aexit__(self, kind: object, error: BaseException | None, trace: object) -> None:
        await self._stop()
        if isinstance(error, asyncio.CancelledError):  # cancelled between two events
            self._hand_on(error)

    async def _stop(self) -> None:
        """Cancel the run, if it still goes, and wait until it has stopped."""
        task = self._task
        if task is not None and not task.done():
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        if task is not None and self.result is None and task.done() and not task.cancelled():
            if task.exception() is None:  # it finished before the consumer was cancelled
                self.result = task.result()

    def _hand_on(self, cancelled: asyncio.CancelledError) -> None:
        """Give the consumer's ``cancelled`` the run's ``.partial``, as a cancelled ``arun``
        raises it: what completed, the state, the events and calls up to the cancel."""
        if getattr(cancelled, "partial", None) is None and self._partial is not None:
            cancelled.partial = self._partial  # type: ignore[attr-defined]

    def __aiter__(self) -> AsyncIterator[Event]:
        if self._iterated:
            ended = (
                "Read the finished run from the stream's .result"
                if self.result is not None
                else "Its run did not finish (the loop was left early, or the run failed and "
                "raised its RunError, which holds what it did, to the loop), so .result is None"
            )
            raise IrgraphError(
                "This stream has been iterated already: a stream is one run of the pipeline, "
                f"and iterating it again would run it (and pay its model calls) again. {ended}; "
                "call .stream(...) again for a new run."
            )
        self._iterated = True
        return self._events()

    async def _events(self) -> AsyncIterator[Event]:
        queue: asyncio.Queue[Event | None] = asyncio.Queue()
        options = dict(self.options)
        user_hook = options.pop("on_event", None)

        def hook(event: Event) -> None:
            queue.put_nowait(event)
            if user_hook is not None:
                user_hook(event)

        async def go() -> RunResult:
            try:
                return await self.runnable.arun(self.state, on_event=hook, chunks=True, **options)
            except asyncio.CancelledError as cancelled:
                self._partial = getattr(cancelled, "partial", None)
                raise
            finally:
                queue.put_nowait(None)

        task = self._task = asyncio.ensure_future(go())
        try:
            while (event := await queue.get()) is not None:
                yield event
            self.result = await task
        except asyncio.CancelledError as cancelled:  # the consumer's task is cancelled
            await self._stop()
            self._hand_on(cancelled)
            raise
        finally:
            await self._stop()
