"""The Prefect backend: a plan, real Prefect flow runs, and durable agent results.

How a run maps onto Prefect: the whole pipeline is one async flow. Inside it the same
scope scheduler as the asyncio backend starts every node the moment its inputs are ready, so
the final state is the asyncio backend's. Each agent call is a Prefect task whose result is
persisted and cached under a key made of the *run key*, the node id, its position in loops and
map-overs, a hash of the rendered prompt, the model, and the system prompt, settings, output
schema and attempt number: one task run per model call, so a structured output asked again
replays its earlier attempts from the cache after a crash. The run key defaults to the flow run
id, so a flow retry (same run id) reuses completed agents while a fresh run calls the model
again; passing ``run_key=`` in a new process after a crash resumes where it stopped. Gates
pause the flow and resume with a human's answer, which waits until the run is really paused.
Transforms run inline. Cache keys and gates come from :mod:`irgraph.backends.prefect_runtime`,
which generated flow code imports too.

Async tasks awaited concurrently in an async flow are truly parallel, where ``.submit()`` and
``.map()`` run ~15 at a time (``shared/facts/prefect.md``): the plan keeps Prefect's words
(``flow``, ``map``), the run awaits tasks concurrently.

``prefect`` is imported only inside this module's functions, never by ``import irgraph``.
"""

from __future__ import annotations

import asyncio
import inspect
import os
from collections.abc import Callable, Iterable, Mapping
from contextlib import AbstractAsyncContextManager
from typing import TYPE_CHECKING, Any

from irgraph import checks
from irgraph.compile import EngineCapabilities
from irgraph.errors import IrgraphError, PipelineError
from irgraph.events import GateAsk, RunResult
from irgraph.ir import Node
from irgraph.providers import ModelProvider, ModelRequest, PlaceholderProvider, check_agents
from irgraph.run import run_coroutine
from irgraph.run_cancel import keeps_partial, nothing_ran, nothing_ran_in
from irgraph.schema import ir_nodes
from irgraph.templates import filled
from irgraph.validate import checked_graph, initial_state, required_inputs

from .failures import cancelled_run, with_progress
from .prefect_batch import CHUNK_SIZE, DEPLOYMENT_NAME
from .prefect_clients import HeldClients
from .prefect_deployments import warn_runs_here
from .prefect_gates import (
    answered_once,
    current_flow_run_id,
    kept_then_resumed,
    pause_key,
    pause_turn,
    refuse_on_own_path,
    refuse_unanswerable,
    resume_when_paused,
    wait_for_answer,
)
from .prefect_logs import quiet_failures
from .prefect_lost_server import note_completed
from .prefect_names import check_run_key, prefect_name
from .prefect_names import where as where_in
from .prefect_result_dir import check_result_dir, results_kept_in
from .prefect_runtime import answers_key, gate_key, request_cache_key
from .prefect_server import (
    PrefectUnavailableError,
    check_prefect_api,
    import_prefect,
    lean_prefect_settings,
    server_start_errors,
    services_settled_at_exit,
    start_temporary_server,
)
from .prefect_tasks import AgentCall, PrefectObjects, reused, running
from .prefect_worker import PREFECT_NAME, build_plan, check_prefect_name
from .run_options import check_call_limit, gate_answer
from .scheduler import LIMIT, GateRequest, Scheduler, check_provider, check_run_options, plan_scopes

if TYPE_CHECKING:
    import networkx as nx

__all__ = [
    "PrefectBackend",
    "PrefectRunnable",
    "lean_prefect_settings",
    "resume_gate",
    "check_prefect_api",
    "PrefectUnavailableError",
]

# Running ----------------------------------------------------------------------------------


class _PrefectScheduler(Scheduler):
    """The asyncio scheduler with agent calls as cached Prefect tasks and gates as pauses."""

    def __init__(
        self,
        agent_task: Any,
        run_key: str | None,
        gate_key: str,
        kept_as: str,
        gate_timeout: int,
        on_paused: Callable[[GateRequest, str], Any] | None,
        answer_gate: Callable[[GateRequest], Any] | None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.agent_task = agent_task
        self.run_key = run_key
        self.gate_key = gate_key  # the run key, or the flow run id when answers are shared
        self.kept_as = kept_as  # what gate answers are kept under: a dry run's kept apart
        self.gate_timeout = gate_timeout
        self.on_paused = on_paused
        self.answer_gate = answer_gate
        self.reused: set[str] = set()

    async def call(self, request: ModelRequest, path: tuple[tuple[str, int], ...]) -> str:
        from prefect.states import get_state_result

        key = request_cache_key(self.run_key, request, path)
        where = prefect_name(where_in(request.node, path))
        task = self.agent_task(request.node)
        state = await task(AgentCall(self.provider, request, key, where), return_state=True)
        if state.name == "Cached":  # answered from an earlier run's stored result
            reused(self, request.node, path)
        result: str = await get_state_result(state)
        return result

    async def gate(self, step: Any, state: Any, path: tuple[tuple[str, int], ...]) -> Any:
        """Pause until answered. Gates waiting at once take turns (one pause per flow run at
        a time), so ``on_paused`` and ``on_gate`` hear of a gate when its turn comes. Kept
        under the run key (:func:`answered_once`), a retried run does not ask again."""
        op = step.op
        message, values = filled(op.template, state)
        request = GateRequest(step.id, op.name, message, dict(values))
        self.gates.append(GateAsk(step.id, path, request.message))
        key = pause_key(step.id, path, self.gate_key, request.message)

        async def asking() -> str:
            async with pause_turn() as flow_run_id:
                if self.on_paused is not None:
                    self.on_paused(request, flow_run_id)
                answering = None
                if self.answer_gate is not None:
                    answering = self.answer(request, flow_run_id, key, op.writes)
                return await wait_for_answer(key, timeout=self.gate_timeout, answering=answering)

        kept, older = self.kept_as, self.gate_key  # a dry run's, before: under the run key
        answer, again = await answered_once(asking, kept, step.id, path, message, before=older)
        if again:
            reused(self, step.id, path)
        return answer  # the scheduler's execute() writes it

    async def answer(self, request: GateRequest, run_id: str, key: str, writes: Any) -> None:
        """Ask ``on_gate`` in a thread (it may block, or be async), then resume the run with
        its answer (JSON data, as on every backend, and text) once it is paused here."""
        assert self.answer_gate is not None
        try:
            value = await asyncio.to_thread(_handler_answer, self.answer_gate, request)
        except Exception as exc:
            raise IrgraphError(
                f"The on_gate handler raised {type(exc).__name__} at gate '{request.node}': {exc}"
            ) from exc
        gate_answer(value, self.answer_gate, request.node, writes)  # as on every backend
        text_answer(value, f"The on_gate handler's answer at gate '{request.node}'")
        await kept_then_resumed(run_id, value, key=key, timeout=self.gate_timeout)


def _answers_key(provider: ModelProvider | None, key: str | None, flow_run_id: str) -> str | None:
    """The key this run caches its agents' answers under. Placeholder answers (no provider)
    are kept for this flow run's retries only, made-up ones (``FakeProvider``) apart from real
    ones: a later run with a real provider under the same run key, or across runs, asks the
    model rather than getting text no model wrote."""
    if provider is None:
        return flow_run_id
    return answers_key(key, provider)


def _handler_answer(on_gate: Callable[[GateRequest], Any], request: GateRequest) -> Any:
    value = on_gate(request)
    if inspect.isawaitable(value):
        value = asyncio.run(_awaited(value))
    return value


async def _awaited(value: Any) -> Any:
    return await value


def resume_gate(flow_run_id: str, answer: str, *, timeout: float = 60.0) -> None:
    """Resume a flow run paused at a gate, giving the human's answer (from any process that
    reaches the same Prefect API).

    ``on_paused`` is called just before the flow pauses, so the run may not be paused yet:
    this waits up to ``timeout`` seconds until it is, then resumes it (call it from another
    thread than ``on_paused``'s). Gates that wait at once pause in turn, so the gate resumed
    is the one ``on_paused`` told of last. Raises :class:`IrgraphError` if the run has
    finished or does not pause in time."""
    text_answer(answer, f"resume_gate({flow_run_id!r}, ...)'s answer")
    import_prefect()
    refuse_on_own_path(flow_run_id, f"resume_gate({flow_run_id!r}, ...)")
    run_coroutine(resume_when_paused(flow_run_id, answer, timeout=timeout))


def text_answer(answer: Any, what: str) -> None:
    """Refuse a gate answer that is not text: a paused Prefect flow run takes a string, and
    turning another value into one would hand the pipeline ``'42'`` or ``'None'``."""
    if not isinstance(answer, str):
        raise IrgraphError(
            f"{what} is {type(answer).__name__} {answer!r:.60}, not text. On the Prefect "
            "backend a gate's answer is a str (a paused flow run takes text): return or pass "
            "a str, e.g. json.dumps(value) for a structured answer."
        )


class PrefectBackend:
    """Run pipelines as Prefect flows: durable agent results, parallel branches, pauses.

    ``work_pool`` is where generated deployments run; ``task_retries``/``flow_retries`` are
    Prefect retries; ``result_dir`` is where agent results are persisted (default: Prefect's
    own storage under ``PREFECT_HOME``) — share it between processes to resume after a crash.
    A ``result_dir`` Prefect could keep nothing in is refused when a pipeline is compiled,
    before any model call (:func:`~irgraph.backends.prefect_result_dir.check_result_dir`).

    With ``work_pool``, ``run_many`` sends a batch to the pool (:mod:`.prefect_batch`): chunks
    of ``chunk_size`` items to the batch flow of the item deployment ``deployment``
    (``"FLOW/DEPLOYMENT"``, default: the pipeline's flow name for both), sent again when their
    worker crashed or went silent for ``lost_after`` seconds.
    """

    name = "prefect"
    capabilities = EngineCapabilities(
        durable=True,
        parallel=True,
        signals=True,
        distributed=True,
        streaming=False,
        replay=False,
        checkpointing=True,
    )

    @checks.keyword_options
    def __init__(
        self,
        work_pool: str | None = None,
        provider: ModelProvider | None = None,
        task_retries: int = 0,
        flow_retries: int = 0,
        *,
        retry_delay_seconds: float = 0.0,
        result_dir: str | os.PathLike[str] | None = None,
        cache_across_runs: bool = False,
        gate_timeout: int = 3600,
        max_concurrency: int | None = None,
        deployment: str | None = None,
        chunk_size: int = 8,
        lost_after: float = 120.0,
    ) -> None:
        for label, value, rule in (
            ("task_retries", task_retries, checks.count(0)),
            ("flow_retries", flow_retries, checks.count(0)),
            ("retry_delay_seconds", retry_delay_seconds, checks.seconds(allow_zero=True)),
            ("cache_across_runs", cache_across_runs, checks.flag),
            ("gate_timeout", gate_timeout, checks.count()),
            ("max_concurrency", max_concurrency, LIMIT),
            ("work_pool", work_pool, checks.optional(PREFECT_NAME)),
            ("deployment", deployment, checks.optional(DEPLOYMENT_NAME)),
            ("chunk_size", chunk_size, CHUNK_SIZE),
            ("lost_after", lost_after, checks.seconds()),
        ):
            rule.check(value, f"PrefectBackend's {label}")
        if provider is not None:
            check_provider(provider, "PrefectBackend's provider")
        if result_dir is not None and not isinstance(result_dir, (str, os.PathLike)):
            raise PipelineError(
                f"PrefectBackend's result_dir must be a directory path (got {result_dir!r} of "
                f"type {type(result_dir).__name__}).",
                hint="Pass e.g. result_dir='.irgraph-results', or leave it unset for Prefect's "
                "own storage.",
            )
        self.work_pool = work_pool
        self.provider = provider
        self.task_retries = task_retries
        self.flow_retries = flow_retries
        self.retry_delay_seconds = retry_delay_seconds
        self.result_dir = os.fspath(result_dir) if result_dir is not None else None
        self.cache_across_runs = cache_across_runs
        self.gate_timeout = gate_timeout
        self.max_concurrency = max_concurrency
        self.deployment = deployment
        self.chunk_size = chunk_size
        self.lost_after = lost_after

    def compile(self, ir: Node, *, inputs: Iterable[str] | None = None) -> PrefectRunnable:
        """Build, check and plan ``ir``; no Prefect import, no server."""
        return PrefectRunnable(ir, checked_graph(ir, inputs), self)

    def __repr__(self) -> str:
        return f"PrefectBackend(work_pool={self.work_pool!r})"


class PrefectRunnable:
    """A compiled pipeline for Prefect: ``node``, ``graph``, ``node_plan``, ``run``/``arun``."""

    def __init__(self, node: Node, graph: nx.DiGraph, backend: PrefectBackend) -> None:
        if backend.result_dir is not None:  # before any run, and once for a whole batch
            check_result_dir(backend.result_dir, "PrefectBackend's result_dir")
        self.node = node
        self.graph = graph
        self.backend = backend
        self.node_plan = build_plan(node, graph)
        self._plan = plan_scopes(graph, ir_nodes(graph, node))
        self._needs = required_inputs(graph)
        self._prefect = PrefectObjects(backend)
        self._clients = HeldClients()

    @property
    def flow_name(self) -> str:
        """The Prefect flow name runs use: the pipeline's name, as
        :func:`~irgraph.backends.prefect_runtime.prefect_name` makes it."""
        return prefect_name(str(self.graph.graph["name"]))

    def remote_batch(
        self, store: Any, max_items: int, fail_fast: bool, max_concurrency: int | None
    ) -> Any:
        """How ``run_many`` runs a batch on the backend's work pool (``None``: here)."""
        if self.backend.work_pool is None:
            return None
        from .prefect_batch import PoolBatch

        return PoolBatch(self, store, max_items, fail_fast, max_concurrency)

    def batch_span(self) -> AbstractAsyncContextManager[None]:
        """Held by a batch around its items: their flow runs share one pair of clients."""
        return self._clients.span()

    async def prepare(self, say: Callable[[str], Any]) -> None:
        """Before a batch's first item: Prefect's temporary server started, told to ``say``."""
        await start_temporary_server(say)

    def run(self, state: Mapping[str, Any] | None = None, **options: Any) -> RunResult:
        """Run as a real Prefect flow and return the result."""
        checks.keywords(self.arun, options, "PrefectRunnable.run()")
        return run_coroutine(self.arun(state, **options))

    @keeps_partial(nothing_ran_in)  # a stop before its first step still has a .partial
    @checks.keyword_options
    async def arun(
        self,
        state: Mapping[str, Any] | None = None,
        *,
        provider: ModelProvider | None = None,
        run_key: str | None = None,
        on_event: Callable[[Any], Any] | None = None,
        on_gate: Callable[[GateRequest], Any] | None = None,
        on_paused: Callable[[GateRequest, str], Any] | None = None,
        max_concurrency: int | None = None,
        timeout: float | None = None,
        flow_name: str | None = None,
        call_limit: asyncio.Semaphore | None = None,
    ) -> RunResult:
        """Run the pipeline as a Prefect flow.

        ``run_key`` names the run for caching (default: the flow run id). ``on_paused`` is
        called with the gate request and the flow run id when a gate pauses, so a program
        can resume it with :func:`resume_gate`; ``on_gate`` answers gates automatically
        (it runs in a thread; its answer resumes the flow once it is paused, and an error it
        raises fails the run at the gate). Gates that wait at once take turns, one pause at
        a time. ``flow_name`` names the Prefect flow (default: the pipeline's name, made into
        one Prefect accepts); a name Prefect refuses is a :class:`PipelineError`.
        ``call_limit``, in place of ``max_concurrency``, is a semaphore this run shares with
        others (``run_many`` passes one).
        """
        backend = self.backend
        current = initial_state(self.graph, state, self._needs)
        chosen = backend.provider if provider is None else provider
        if max_concurrency is None and call_limit is None:
            max_concurrency = backend.max_concurrency
        provider_or_placeholder = PlaceholderProvider() if chosen is None else chosen
        check_run_options(provider_or_placeholder, on_event, on_gate, max_concurrency, timeout)
        check_call_limit(call_limit, max_concurrency)
        check_agents(chosen, self.graph)  # e.g. a FakeProvider's misspelt agent name
        checks.optional(checks.function).check(on_paused, "the run option on_paused")
        check_run_key(run_key)
        if flow_name is not None:
            check_prefect_name(flow_name, "the run option flow_name")
        if backend.work_pool is not None:
            warn_runs_here(backend.work_pool)
        initial = dict(current)
        outcome: dict[str, Any] = {}
        try:
            import_prefect()
            if on_gate is None and on_paused is None:
                refuse_unanswerable(
                    [nid for nid, kind in self.graph.nodes(data="kind") if kind == "gate"]
                )
            await check_prefect_api()

            async def body() -> dict[str, Any]:
                flow_run_id = current_flow_run_id()
                key = run_key if run_key is not None else flow_run_id
                scheduler = _PrefectScheduler(
                    self._prefect.agent_task,
                    _answers_key(chosen, None if backend.cache_across_runs else key, flow_run_id),
                    key,
                    gate_key(key, chosen),
                    backend.gate_timeout,
                    on_paused,
                    on_gate,
                    provider=provider_or_placeholder,
                    on_event=on_event,
                    on_gate=None,
                    max_concurrency=max_concurrency,
                    timeout=timeout,
                    chunks=False,
                    call_limit=call_limit,
                )
                working = dict(initial)
                outcome.update(scheduler=scheduler, state=working, flow_run_id=flow_run_id)
                note_completed(lambda: scheduler.completed)  # said if its server is lost
                await scheduler.run_all(self._plan, working, self.graph)
                return working

            final = await self._flow_run(body, flow_name)
        except (asyncio.CancelledError, KeyboardInterrupt) as stop:
            if getattr(stop, "partial", None) is None:  # stopped outside the scheduler's run
                stop.partial = self._stopped(initial, outcome)  # type: ignore[union-attr]
            raise
        scheduler: _PrefectScheduler = outcome["scheduler"]
        result = scheduler.result(
            self.graph,
            dict(final),
            "prefect",
            provider_given=chosen is not None,
            run_id=outcome["flow_run_id"],
        )
        result.reused.extend(node for node in self.graph if node in scheduler.reused)
        return result

    async def _flow_run(self, body: Callable[[], Any], flow_name: str | None) -> Any:
        """Run ``body`` as the pipeline's flow (named ``flow_name``, default its own)."""
        pipeline_flow = self._prefect.flow(self.flow_name if flow_name is None else flow_name)
        with running(body), server_start_errors(), services_settled_at_exit(), quiet_failures():
            async with self._clients.entered():
                with results_kept_in(self.backend.result_dir):
                    return await pipeline_flow()

    def _stopped(self, initial: dict[str, Any], outcome: dict[str, Any]) -> Any:
        """The ``partial`` of a run stopped where its scheduler could not give one: before
        the flow's body began (while Prefect started its temporary server or the flow run),
        the record of nothing done; after the body ended, the scheduler's record."""
        if "scheduler" not in outcome:
            return nothing_ran(initial, self.graph)
        return with_progress(
            cancelled_run(outcome["scheduler"].completed),
            outcome["scheduler"],
            outcome["state"],
            self.graph,
        )
