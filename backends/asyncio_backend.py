"""The asyncio backend: a topological scheduler over the pipeline graph.

How it runs a scope (the top level, one loop iteration, or one map-over item): every node keeps
a count of unfinished predecessors. A *driver* coroutine runs one ready node; when it finishes,
it decrements its successors' counts. If that makes successors ready, the driver continues with
the first of them itself and starts a new driver task for each other one. So a chain runs in a
single task with no scheduling overhead, a fan-out gets a task per branch, and every node starts
the moment its last predecessor finishes — there are no level-by-level barriers. Drivers live in
an ``asyncio.TaskGroup``, so a failure cancels and awaits every running sibling.

Scope nodes run their body as a nested scope: a loop repeats it up to ``max_iterations`` times
(stopping once ``until`` holds); a map-over runs it once per item, concurrently, each item with
its own layer of state over the shared one, and gathers ``collect`` into a list.

State is one dict shared by the run. A node sees a read-only view of just the keys it reads.

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
import inspect
import time
from collections import ChainMap
from collections.abc import AsyncIterator, Callable, Coroutine, Iterable, Mapping, MutableMapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, TypeVar

import attrs

from irgraph.compile import EngineCapabilities
from irgraph.errors import IrgraphError, PipelineError, RunError
from irgraph.events import Event, RunResult, TraceLog
from irgraph.graph import to_graph
from irgraph.ir import FunctionRef, Node, resolve_function
from irgraph.providers import ModelProvider, ModelRequest, PlaceholderProvider
from irgraph.run import run_coroutine
from irgraph.templates import render
from irgraph.validate import check_initial_state, required_inputs, validate

if TYPE_CHECKING:
    import networkx as nx

__all__ = [
    "AsyncioBackend",
    "AsyncioRunnable",
    "RunStream",
    "GateRequest",
    "Scheduler",
    "map_items",
    "collected",
    "checked_graph",
    "plan_scopes",
    "run_coroutine",
]

T = TypeVar("T")
_now = time.monotonic
Path = tuple[tuple[str, int], ...]


@attrs.frozen
class GateRequest:
    """What an ``on_gate`` handler receives: the gate, its rendered message, a view of state."""

    node: str
    name: str
    message: str
    state: Mapping[str, Any]


class _Step:
    """One node of a scope, with what running it needs precomputed."""

    __slots__ = ("body", "fn", "id", "kind", "op", "timeout")

    def __init__(self, nid: str, kind: str, op: Node) -> None:
        self.id = nid
        self.kind = kind
        self.op: Any = op
        self.timeout: float | None = getattr(op, "timeout", None)
        self.body: _Scope | None = None
        self.fn: Callable[..., Any] | None = None


class _Scope:
    """The sub-DAG of one scope, as index lists: predecessor counts, successors, entries."""

    __slots__ = ("entries", "indegree", "steps", "successors")

    def __init__(
        self, ids: list[str], steps: dict[str, _Step], predecessors: Mapping[str, Iterable[str]]
    ) -> None:
        index = {nid: i for i, nid in enumerate(ids)}
        followers: list[list[int]] = [[] for _ in ids]
        self.indegree = [0] * len(ids)
        for i, nid in enumerate(ids):
            for p in predecessors[nid]:
                followers[index[p]].append(i)
                self.indegree[i] += 1
        self.steps = [steps[nid] for nid in ids]
        self.successors = [tuple(f) for f in followers]
        self.entries = [i for i, n in enumerate(self.indegree) if n == 0]


SCHEDULES = ("topological", "dataflow")


def plan_scopes(G: nx.DiGraph, schedule: str = "topological") -> _Scope:
    """Index every scope of ``G`` for the scheduler.

    ``"topological"`` waits on the graph's edges (control order); ``"dataflow"`` waits only on
    what a node really needs (:func:`irgraph.analysis.dataflow_dependencies`), so steps of a
    sequence that share no data run at the same time.
    """
    steps = {nid: _Step(nid, data["kind"], data["op"]) for nid, data in G.nodes(data=True)}
    scopes: dict[str | None, list[str]] = G.graph["scopes"]

    def scope(sid: str | None) -> _Scope:
        if schedule == "dataflow":
            from irgraph.analysis import dataflow_dependencies

            return _Scope(scopes[sid], steps, dataflow_dependencies(G, sid))
        return _Scope(scopes[sid], steps, G.pred)

    for sid in scopes:
        if sid is not None:
            steps[sid].body = scope(sid)
    return scope(None)


def _first_error(group: BaseExceptionGroup[Any]) -> BaseException:
    """The error to report from a task group: a RunError if there is one."""
    found: list[BaseException] = []

    def walk(exc: BaseException) -> None:
        if isinstance(exc, BaseExceptionGroup):
            for inner in exc.exceptions:
                walk(inner)
        else:
            found.append(exc)

    walk(group)
    for exc in found:
        if isinstance(exc, RunError):
            return exc
    return found[0]


def map_items(state: Mapping[str, Any], key: str, node: str) -> list[Any]:
    """The list a map-over iterates, or a clear error when the key holds something else.

    Shared with the runtime of generated Prefect code, so both report the same way.
    """
    items = state[key]
    if not isinstance(items, (list, tuple)):
        raise TypeError(
            f"MapOver '{node}' iterates over '{key}', whose value is a "
            f"{type(items).__name__}, not a list; put a list in '{key}' (in the initial "
            "state, or from the step that writes it)."
        )
    return list(items)


def collected(local: Mapping[str, Any], key: str, node: str, index: int) -> Any:
    """The value one map-over item wrote to the key its map-over collects."""
    if key not in local:
        raise KeyError(f"item {index} of '{node}' wrote no '{key}'")
    return local[key]


def _check_max_concurrency(max_concurrency: Any) -> None:
    if max_concurrency is not None and (
        isinstance(max_concurrency, bool)
        or not isinstance(max_concurrency, int)
        or max_concurrency < 1
    ):
        raise IrgraphError(
            f"max_concurrency must be a whole number of at least 1 (got {max_concurrency!r})."
        )


def _check_run_options(
    provider: Any, on_event: Any, on_gate: Any, max_concurrency: Any, timeout: Any
) -> None:
    """Refuse bad run options before any node starts (they would fail mid-run otherwise)."""
    if not callable(getattr(provider, "complete", None)):
        raise IrgraphError(
            f"The provider (a {type(provider).__name__}) has no complete() method. A provider "
            "is any object with: async def complete(self, request) -> str."
        )
    for name, hook in (("on_event", on_event), ("on_gate", on_gate)):
        if hook is not None and not callable(hook):
            raise IrgraphError(f"{name} must be a function (got {hook!r}).")
    _check_max_concurrency(max_concurrency)
    if timeout is not None and (
        isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or timeout <= 0
    ):
        raise IrgraphError(f"timeout must be a positive number of seconds (got {timeout!r}).")


class Scheduler:
    """One run: the scope scheduler plus its shared trace, outputs, limits and handlers.

    Other backends reuse it and override the two points where the world is touched:
    :meth:`call` (ask the model) and :meth:`gate` (ask a human).
    """

    def __init__(
        self,
        provider: ModelProvider,
        *,
        on_event: Callable[[Event], Any] | None,
        on_gate: Callable[[GateRequest], Any] | None,
        max_concurrency: int | None,
        timeout: float | None,
        chunks: bool,
    ) -> None:
        _check_run_options(provider, on_event, on_gate, max_concurrency, timeout)
        self.provider = provider
        self.on_event = on_event
        self.on_gate = on_gate
        self.limit = asyncio.Semaphore(max_concurrency) if max_concurrency else None
        self.timeout = timeout
        self.stream = chunks and hasattr(provider, "stream")
        self.trace = TraceLog()
        self.outputs: dict[str, Any] = {}
        self.completed: list[str] = []

    def emit(self, node: str, start: bool, path: Path) -> None:
        """Record a start or end event, and tell ``on_event`` at once."""
        now = _now()
        self.trace.record(node, start, now, path)
        if self.on_event is not None:
            self.on_event(Event(node, "start" if start else "end", now, path))

    async def run_all(self, plan: _Scope, state: MutableMapping[str, Any]) -> None:
        """Run the top-level scope; a failure carries the state and what completed."""
        try:
            await self.scope(plan, state, ())
        except RunError as error:
            error.state = dict(state)
            error.completed = list(self.completed)
            raise

    def result(
        self,
        graph: nx.DiGraph,
        state: dict[str, Any],
        backend: str,
        *,
        provider_given: bool,
        run_id: str | None = None,
    ) -> RunResult:
        """The RunResult of a finished run: outputs in graph order, warnings, trace."""
        warnings = list(graph.graph.get("warnings", ()))
        if not provider_given:
            warnings.append(
                "No model provider was given, so agents answered with placeholder "
                "text; pass provider=... to call a model."
            )
        outputs = {nid: self.outputs[nid] for nid in graph if nid in self.outputs}
        return RunResult(
            state,
            self.trace,
            outputs,
            backend=backend,
            warnings=warnings,
            placeholder=not provider_given,
            run_id=run_id,
        )

    # scopes ----------------------------------------------------------------------------
    async def scope(self, plan: _Scope, state: MutableMapping[str, Any], path: Path) -> None:
        remaining = plan.indegree.copy()
        steps, successors, execute = plan.steps, plan.successors, self.execute
        try:
            async with asyncio.TaskGroup() as group:

                async def drive(i: int) -> None:
                    while True:
                        await execute(steps[i], state, path)
                        following = -1
                        for j in successors[i]:
                            left = remaining[j] - 1
                            remaining[j] = left
                            if left == 0:
                                if following < 0:
                                    following = j
                                else:
                                    group.create_task(drive(j))
                        if following < 0:
                            return
                        i = following

                for entry in plan.entries[1:]:
                    group.create_task(drive(entry))
                if plan.entries:
                    await drive(plan.entries[0])
        except BaseExceptionGroup as group_error:
            error = _first_error(group_error)
            raise error from error.__cause__

    async def loop(self, step: _Step, state: MutableMapping[str, Any], path: Path) -> None:
        op = step.op
        assert step.body is not None
        until = op.until
        predicate = resolve_function(until) if isinstance(until, FunctionRef) else None
        for iteration in range(op.max_iterations):
            await self.scope(step.body, state, (*path, (step.id, iteration)))
            if isinstance(until, str) and state.get(until):
                break
            if predicate is not None and predicate(MappingProxyType(state)):
                break

    async def map_over(self, step: _Step, state: MutableMapping[str, Any], path: Path) -> Any:
        op = step.op
        assert step.body is not None
        items = map_items(state, op.over, step.id)
        results: list[Any] = [None] * len(items)
        limit = asyncio.Semaphore(op.max_concurrency) if op.max_concurrency else None

        async def one(index: int, item: Any) -> None:
            local: dict[str, Any] = {op.item: item}
            item_path = (*path, (step.id, index))
            if limit is None:
                await self.scope(step.body, ChainMap(local, state), item_path)  # type: ignore[arg-type]
            else:
                async with limit:
                    await self.scope(step.body, ChainMap(local, state), item_path)  # type: ignore[arg-type]
            results[index] = collected(local, op.collect, step.id, index)

        try:
            async with asyncio.TaskGroup() as group:
                for index, item in enumerate(items):
                    group.create_task(one(index, item))
        except BaseExceptionGroup as group_error:
            error = _first_error(group_error)
            raise error from error.__cause__
        if op.writes:
            state[op.writes] = results
        return results

    # nodes -----------------------------------------------------------------------------
    async def execute(self, step: _Step, state: MutableMapping[str, Any], path: Path) -> None:
        nid = step.id
        self.emit(nid, True, path)
        try:
            kind = step.kind
            seconds = step.timeout or self.timeout
            value: Any
            if kind == "agent":
                if seconds is None:
                    value = await self.agent(step, state, path)
                else:
                    value = await self.limited(self.agent(step, state, path), seconds)
            elif kind == "transform":
                value = await self.limited(self.transform(step, state), seconds)
            elif kind == "gate":
                value = await self.limited(self.gate(step, state, path), seconds)
            elif kind == "loop":
                await self.loop(step, state, path)
                value = None
            else:
                value = await self.map_over(step, state, path)
        except RunError:
            raise
        except Exception as exc:
            raise RunError(
                f"Node '{nid}' failed: {type(exc).__name__}: {exc} "
                "(the cause is chained below; what completed is in the error's .completed and "
                ".state — fix the cause and run again).",
                node=nid,
            ) from exc
        self.outputs[nid] = value
        self.completed.append(nid)
        self.emit(nid, False, path)

    async def limited(self, work: Coroutine[Any, Any, T], seconds: float | None) -> T:
        if seconds is None:
            return await work
        try:
            async with asyncio.timeout(seconds):
                return await work
        except TimeoutError:
            raise TimeoutError(
                f"it took longer than its timeout of {seconds:g} s; allow more time with "
                ".timeout(seconds) on the node or run(..., timeout=seconds)"
            ) from None

    async def agent(self, step: _Step, state: MutableMapping[str, Any], path: Path) -> str:
        op = step.op
        values = {key: state[key] for key in op.reads}
        for key in op.optional_reads:
            if key in state:
                values[key] = state[key]
        request = ModelRequest(
            step.id, op.name, render(op.template, values), op.model, MappingProxyType(values)
        )
        if self.limit is None:
            text = await self.call(request, path)
        else:
            async with self.limit:
                text = await self.call(request, path)
        if not isinstance(text, str):
            raise TypeError(
                f"the provider answered {type(text).__name__} {text!r}; complete() must "
                "return a str"
            )
        if op.writes:
            state[op.writes] = text
        return text

    async def call(self, request: ModelRequest, path: Path) -> str:
        if not self.stream:
            answer = self.provider.complete(request)
            if not inspect.isawaitable(answer):
                raise TypeError(
                    f"{type(self.provider).__name__}.complete() returned a "
                    f"{type(answer).__name__}, not an awaitable; define it with async def"
                )
            return await answer
        parts: list[str] = []
        async for chunk in self.provider.stream(request):  # type: ignore[attr-defined]
            parts.append(chunk)
            if self.on_event is not None:
                self.on_event(Event(request.node, "chunk", _now(), path, chunk))
        return "".join(parts)

    async def transform(self, step: _Step, state: MutableMapping[str, Any]) -> Any:
        op = step.op
        if step.fn is None:
            step.fn = resolve_function(op.fn)
        value = step.fn(**{key: state[key] for key in op.reads})
        if inspect.isawaitable(value):
            value = await value
        if op.writes:
            state[op.writes] = value
        return value

    async def gate(self, step: _Step, state: MutableMapping[str, Any], path: Path) -> Any:
        op = step.op
        if self.on_gate is None:
            raise PipelineError(
                f"Gate '{step.id}' was reached but no on_gate handler was given.",
                node=step.id,
                hint="Pass on_gate=handler to run()/arun(): it gets a GateRequest and returns "
                "the answer (it may be async).",
            )
        values = {key: state[key] for key in op.reads}
        for key in op.optional_reads:
            if key in state:
                values[key] = state[key]
        request = GateRequest(
            step.id, op.name, render(op.template, values), MappingProxyType(values)
        )
        answer = self.on_gate(request)
        if inspect.isawaitable(answer):
            answer = await answer
        if op.writes:
            state[op.writes] = answer
        return answer


def checked_graph(ir: Node, inputs: Iterable[str] | None) -> nx.DiGraph:
    """The validated graph of ``ir``; without ``inputs``, reads of keys nobody writes are left
    for the run to check against its initial state."""
    G = to_graph(ir, inputs=inputs or ())
    validate(G, allow_unbound=inputs is None)
    return G


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

    def __init__(
        self,
        provider: ModelProvider | None = None,
        max_concurrency: int | None = None,
        *,
        timeout: float | None = None,
        on_gate: Callable[[GateRequest], Any] | None = None,
        schedule: str = "topological",
    ) -> None:
        _check_max_concurrency(max_concurrency)
        self.provider = provider
        self.max_concurrency = max_concurrency
        self.timeout = timeout
        self.on_gate = on_gate
        if schedule not in SCHEDULES:
            raise IrgraphError(
                f"schedule must be one of {', '.join(map(repr, SCHEDULES))} (got {schedule!r})."
            )
        self.schedule = schedule

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
        self._plan = plan_scopes(graph, backend.schedule)
        self._needs = required_inputs(graph)

    def run(self, state: Mapping[str, Any] | None = None, **options: Any) -> RunResult:
        """Run to completion and return the result (works inside a running event loop too)."""
        return run_coroutine(self.arun(state, **options))

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
    ) -> RunResult:
        """Run the pipeline; ``on_event`` is called with each event as it happens."""
        backend = self.backend
        if state is not None and not isinstance(state, Mapping):
            raise PipelineError(
                f"state must be a mapping of state keys to values (got {state!r} that is a "
                f"{type(state).__name__}).",
                hint="Pass e.g. state={'topic': 'owls'}.",
            )
        current: dict[str, Any] = dict(state or {})
        if not self._needs <= current.keys():
            check_initial_state(self.graph, current.keys(), self._needs)
        chosen = provider or backend.provider
        run = backend.scheduler_class(
            chosen or PlaceholderProvider(),
            on_event=on_event,
            on_gate=on_gate or backend.on_gate,
            max_concurrency=max_concurrency or backend.max_concurrency,
            timeout=timeout or backend.timeout,
            chunks=chunks,
        )
        await run.run_all(self._plan, current)
        return run.result(self.graph, current, "asyncio", provider_given=chosen is not None)

    def stream(self, state: Mapping[str, Any] | None = None, **options: Any) -> RunStream:
        """Iterate events (``start``/``end``, and ``chunk`` text when the provider streams)
        while the run goes; the result is ``.result`` afterwards."""
        return RunStream(self, state, options)


class RunStream:
    """An async iterator over a run's events; ``result`` holds the RunResult when done.

    Leaving the loop early cancels the run: at once inside ``async with runnable.stream(...)
    as events:``, or when the abandoned iterator is collected otherwise.
    """

    def __init__(
        self, runnable: AsyncioRunnable, state: Mapping[str, Any] | None, options: dict[str, Any]
    ) -> None:
        self.runnable = runnable
        self.state = state
        self.options = options
        self.result: RunResult | None = None
        self._task: asyncio.Future[RunResult] | None = None

    async def __aenter__(self) -> RunStream:
        return self

    async def __aexit__(self, *exc: object) -> None:
        task = self._task
        if task is not None and not task.done():
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    async def __aiter__(self) -> AsyncIterator[Event]:
        queue: asyncio.Queue[Event | None] = asyncio.Queue()
        user_hook = self.options.pop("on_event", None)

        def hook(event: Event) -> None:
            queue.put_nowait(event)
            if user_hook is not None:
                user_hook(event)

        async def go() -> RunResult:
            try:
                return await self.runnable.arun(
                    self.state, on_event=hook, chunks=True, **self.options
                )
            finally:
                queue.put_nowait(None)

        task = self._task = asyncio.ensure_future(go())
        try:
            while (event := await queue.get()) is not None:
                yield event
            self.result = await task
        finally:
            if not task.done():
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
