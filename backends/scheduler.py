"""The scope scheduler every executing backend shares.

How it runs a scope (the top level, one loop iteration, or one map-over item): every node keeps
a count of unfinished predecessors. A *driver* coroutine runs one ready node; when it finishes,
it decrements its successors' counts. If that makes successors ready, the driver continues with
one of them itself (the first; the last when drivers start eagerly, so that they all start in
plan order) and starts a new driver task for each other one. So a chain runs in a single task
with no scheduling overhead, a fan-out gets a task per branch, and every node starts the moment
its last predecessor finishes — there are no level-by-level barriers. Drivers (and a
map-over's items) live in a task group with ``asyncio.TaskGroup``'s rules, lighter and eager from
Python 3.12 (:mod:`irgraph.backends.drivers`), so a failure cancels and awaits every sibling.

Scope nodes run their body as a nested scope: a loop repeats it up to ``max_iterations`` times
(stopping once ``until`` holds); a map-over runs it once per item, concurrently, each item with
its own layer of state over the shared one, and gathers ``collect`` into a list. A route runs
the one branch whose case holds (:mod:`irgraph.backends.routes`) and outputs that case's label.

An agent with an output schema is asked until its reply parses and validates, up to its
retries (:mod:`irgraph.backends.outputs`); each attempt is one :meth:`Scheduler.call` with the
node's timeout of its own, and the parsed value, not the text, goes to state. An agent asked
once for text, with no timeout, slot or handler around the call, the driver runs itself
(:mod:`irgraph.backends.plain_agents`): the same records, with no coroutine of ours per agent.

State is one dict shared by the run; a node sees a read-only view of just the keys it reads. A
backend reuses :class:`Scheduler`, overriding :meth:`Scheduler.call` and :meth:`Scheduler.gate`.

User code that may block — a synchronous transform, ``until`` predicate or ``on_gate`` handler
(:mod:`irgraph.backends.user_code`) — runs on a worker thread (:mod:`irgraph.backends.blocking`),
so a timeout holds and parallel branches go on; ``on_event`` handlers run on the loop, in order,
and must be quick (code that blocks the loop is named: :mod:`irgraph.backends.blocked_loop`).
A failure anywhere becomes the run's RunError in :mod:`irgraph.backends.failures`; a value
returned after catching the run's cancellation is not taken (:mod:`.cancels`).
"""

from __future__ import annotations

import asyncio
import inspect
import time
import types
from collections import ChainMap
from collections.abc import Awaitable, Callable, MutableMapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from irgraph import providers
from irgraph.errors import RunError
from irgraph.events import Call, CallLog, Event, GateAsk, RunResult, TraceLog, in_graph_order
from irgraph.providers import ModelProvider, ModelRequest, new_request

from .cancels import cancel_asked, cancels_allowed, caught_cancel, home_task
from .drivers import Drivers
from .failures import cancelled_run, cause_of, node_failure, step_failure, with_progress
from .loop_ends import loop_ends
from .map_items import collected, map_items
from .outputs import structured_value
from .plain_agents import agent_prompts, latest, plain_answer
from .plan import SCHEDULES, ScopePlan, Step, plan_scopes
from .routes import chosen_branch
from .run_options import (
    LIMIT,
    TIMEOUT,
    check_call_limit,
    check_provider,
    check_run_options,
    refuse_awaitable,
)
from .slot_events import slot
from .timeouts import with_timeout
from .user_code import GateRequest, gate_value, transform_value

if TYPE_CHECKING:
    import networkx as nx

__all__ = ["SCHEDULES", "GateRequest", "Path", "Scheduler", "plan_scopes", "map_items"]
__all__ += ["collected", "LIMIT", "TIMEOUT", "check_run_options", "check_provider"]

_now = time.monotonic
_COROUTINE = types.CoroutineType
Path = tuple[tuple[str, int], ...]
#: What a plain agent's inline run stands for: a subclass changing one of them turns it off.
_PLAIN_PATH = ("execute", "agent", "ask", "emit")


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
        call_limit: asyncio.Semaphore | None = None,
        schedule: str = "topological",
    ) -> None:
        check_run_options(provider, on_event, on_gate, max_concurrency, timeout)
        check_call_limit(call_limit, max_concurrency)
        self.provider, self.on_event = provider, on_event
        self.schedule = schedule  # what the plan waits for: the run's view predicts with it
        self.on_gate = on_gate
        self.max_concurrency = max_concurrency if call_limit is None else None  # this run's own
        # A call_limit is shared with other runs (run_many's items): one bound for them all.
        if call_limit is None and max_concurrency:
            call_limit = asyncio.Semaphore(max_concurrency)
        self.limit = call_limit
        self.timeout = timeout
        self.stream = chunks and hasattr(provider, "stream")
        #: Await the provider's own answer, with no coroutine of ``call`` around it.
        self.direct = (
            not self.stream
            and type(self).call is Scheduler.call
            and type(self).completion is Scheduler.completion
        )
        self.complete = provider.complete
        #: Plain agents run inline in the drivers (:mod:`irgraph.backends.plain_agents`).
        kept = all(getattr(type(self), m) is getattr(Scheduler, m) for m in _PLAIN_PATH)
        quiet = self.limit is None and timeout is None and on_event is None  # not truthiness:
        self.inline = kept and self.direct and quiet  # a handler may be an empty list subclass
        self.trace = TraceLog()
        self.call_log = CallLog()
        self.outputs: dict[str, Any] = {}
        self.output_paths: dict[str, Path] = {}  # where each output inside a scope came from
        self.gates: list[GateAsk] = []  # what each gate asked
        self.completed: list[str] = []
        self.empty_prompts: set[str] = set()  # agents warned of an empty prompt
        self.gate_blocking = on_gate is not None and not inspect.iscoroutinefunction(on_gate)
        #: The RunErrors this run raised, told apart from those user code raises.
        self.failures: set[RunError] = set()
        #: Eager driver starts in progress (:mod:`irgraph.backends.drivers`).
        self.nesting = [0]

    @property
    def calls(self) -> list[Call]:
        """The model calls so far, in the order they ended."""
        return self.call_log.calls()

    def emit(self, node: str, start: bool, path: Path) -> None:
        """Record a start or end event, and tell ``on_event`` at once."""
        now = _now()
        trace = self.trace  # TraceLog.record, inline: two events per node
        trace.nodes.append(node)
        trace.starts.append(start)
        trace.times.append(now)
        trace.paths.append(path)
        if self.on_event is not None:
            self.tell(Event._make((node, "start" if start else "end", now, path, None)))

    def tell(self, event: Event) -> None:
        """Hand ``event`` to ``on_event``; an error the handler raises fails the event's node."""
        try:
            refuse_awaitable(self.on_event, self.on_event(event))  # type: ignore[misc]
        except (Exception, asyncio.CancelledError) as exc:
            raise self.fail(event.node, exc, "the on_event handler", event.path) from exc

    def fail(
        self, node: str, error: BaseException, source: str | None = None, path: Path = ()
    ) -> RunError:
        """The RunError that ends the run at ``node`` (see :mod:`irgraph.backends.failures`)."""
        failure = node_failure(node, error, source, path)
        self.failures.add(failure)
        return failure

    async def run_all(
        self, plan: ScopePlan, state: MutableMapping[str, Any], graph: nx.DiGraph | None = None
    ) -> None:
        """Run the top-level scope; a failure carries the state, what completed, the events
        so far and the ``graph`` that ran (so it can show itself). A cancelled run stays a
        ``CancelledError``, carrying the same as a RunError in its ``partial``."""
        self.top = (state, graph)  # what a request to stop carries (failures.step_failure)
        self.home = home_task()  # the cancel requests it carried before the run (cancels.py)
        try:
            await self.scope(plan, state, ())
            if asyncio.current_task().cancelling():  # type: ignore[union-attr]
                await asyncio.sleep(0)  # a cancel that came while nothing yielded lands here
        except RunError as error:
            with_progress(error, self, state, graph)
            raise
        except asyncio.CancelledError as cancelled:
            partial = with_progress(cancelled_run(self.completed), self, state, graph)
            cancelled.partial = partial  # type: ignore[attr-defined]
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
        return RunResult(
            state,
            self.trace,
            in_graph_order(self.outputs, graph),
            backend=backend,
            warnings=warnings,
            placeholder=not provider_given,
            run_id=run_id,
            graph=graph,
            calls=self.call_log,
            max_concurrency=self.max_concurrency,
            gates=self.gates,
            schedule=self.schedule,
        )

    async def scope(self, plan: ScopePlan, state: MutableMapping[str, Any], path: Path) -> None:
        remaining = plan.indegree.copy()
        steps, successors, execute = plan.steps, plan.successors, self.execute
        group = Drivers(self.nesting, self.limit is None)
        start, eager, tasks = group.starter(), group.eager, group.tasks
        inline, provider, complete = self.inline, self.provider, self.complete
        cancelling, allowed = group.parent.cancelling, cancels_allowed(self, group.parent)

        async def drive(i: int, own: int) -> None:
            # Node i, then each successor it alone makes ready. ``own``: this driver's key in
            # ``group`` (its first node) when it runs in a task of its own, else -1.
            try:
                while True:
                    step = steps[i]
                    if inline and step.plain:  # execute() for an agent asked once, inline
                        try:
                            begun = _now()
                            request = step.plain_request(self, step, state, path, begun)
                            try:
                                answer: Awaitable[str] = complete(request)
                                if type(answer) is not _COROUTINE:
                                    answer = providers.awaitable_answer(provider, answer)
                                value = await answer
                                stop = group.aborting if own >= 0 else cancelling() > allowed
                                if stop and caught_cancel():  # not taken (cancels.py)
                                    raise asyncio.CancelledError
                            except BaseException as exc:
                                self.call_log.failed(request, path, begun, exc)
                                raise
                            plain_answer(self, step, state, path, request, begun, value)
                        except BaseException as error:
                            failure = self.failure_at(step, error, path)
                            if failure is error:
                                raise
                            raise failure from error
                    else:
                        await execute(step, state, path)
                    following = -1
                    for j in successors[i]:
                        left = remaining[j] - 1
                        remaining[j] = left
                        if left == 0:  # who runs inline keeps the start order (drivers.py)
                            if following < 0:
                                following = j
                            elif eager:
                                start(drive(following, following), following)
                                following = j
                            else:
                                start(drive(j, j), j)
                    if following < 0 or group.aborting:
                        return
                    i = following
            except BaseException as error:
                if own < 0 or group.failed(error, own):
                    raise
            finally:
                if own >= 0:  # group.finished(own), inline: a fan-out's every branch says it
                    tasks.pop(own, None)
                    if not tasks:
                        group.wake()

        failure: BaseException | None = None
        try:
            if entries := plan.entries:
                for entry in entries[:-1] if eager else entries[1:]:
                    start(drive(entry, entry), entry)
                await drive(entries[-1] if eager else entries[0], -1)
        except BaseException as error:  # closed out here, so it is no other error's __context__
            failure = error
        try:
            await group.close(failure)
        finally:
            drive = None  # type: ignore[assignment]  # else a cycle (via its closure) keeps the run
            failure = None

    async def loop(self, step: Step, state: MutableMapping[str, Any], path: Path) -> None:
        assert step.body is not None
        ends = loop_ends(step.op, step.id)
        for iteration in range(step.op.max_iterations):
            await self.scope(step.body, state, (*path, (step.id, iteration)))
            if await ends(state):
                break

    async def map_over(self, step: Step, state: MutableMapping[str, Any], path: Path) -> Any:
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

        runs = (one(index, item) for index, item in enumerate(items))
        await Drivers(self.nesting, self.limit is None).gather(runs)
        if op.writes:
            state[op.writes] = results
        return results

    # nodes -----------------------------------------------------------------------------
    async def execute(self, step: Step, state: MutableMapping[str, Any], path: Path) -> None:
        nid = step.id
        try:
            self.emit(nid, True, path)
            kind = step.kind
            seconds = step.timeout or self.timeout
            value: Any
            if kind == "agent":
                value = await self.agent(step, state, path, seconds)
            elif kind == "transform" or kind == "gate":
                work = self.gate if kind == "gate" else transform_value
                code = self.on_gate if kind == "gate" else step  # named if it blocks the loop
                value = await with_timeout(work(step, state, path), seconds, (kind, nid, code))
                if cancel_asked(self):  # it caught the run's cancellation: not taken (cancels.py)
                    raise asyncio.CancelledError
                if step.op.writes:  # once its time has not run out: a late value is not kept
                    state[step.op.writes] = value
            elif kind == "loop":
                await self.loop(step, state, path)
                value = None
            elif kind == "route":
                value = await self.route(step, state, path)
            else:
                value = await self.map_over(step, state, path)
            if not path or latest(self, nid, path):
                self.outputs[nid] = value
            self.completed.append(nid)
            self.emit(nid, False, path)
        except BaseException as error:
            failure = self.failure_at(step, error, path)
            if failure is error:
                raise
            raise failure from cause_of(error)

    def failure_at(self, step: Step, error: BaseException, path: Path) -> BaseException:
        """What ``error``, raised running ``step``, ends the run with (:func:`step_failure`)."""
        return step_failure(self, step, error, path)

    async def route(self, step: Step, state: MutableMapping[str, Any], path: Path) -> str:
        """Run the branch of the first case that holds; the output is that case's label."""
        index = await chosen_branch(step.id, step.op, state)
        await self.scope(step.branches[index], state, path)
        return str(step.op.cases[index].label)

    async def agent(
        self, step: Step, state: MutableMapping[str, Any], path: Path, seconds: float | None = None
    ) -> Any:
        """Ask the model: its text, or with an output schema the value its reply holds, asked
        again up to the node's retries (each attempt with its own timeout)."""
        op = step.op
        prompt, system, values = agent_prompts(self, step, state)  # an empty one warned of
        request = new_request(
            step.id,
            op.name,
            prompt,
            op.model,
            MappingProxyType(values),
            system,
            providers.fresh_settings(step.settings) if step.settings else {},
            None if op.output is None else op.output.to_dict(),
        )
        if op.output is None:
            value: Any = await self.ask(request, path, seconds)
        else:
            value = await structured_value(
                request, op.output_retries, lambda again: self.ask(again, path, seconds)
            )
        if op.writes:
            state[op.writes] = value
        return value

    async def ask(self, request: ModelRequest, path: Path, seconds: float | None) -> str:
        """One model call; ``seconds`` limits the call itself, not the wait for a slot under
        ``max_concurrency`` (a node does not time out because others hold every slot). The
        call, answered or not, goes to ``calls`` (what the run view's node table shows)."""
        start: float | None = None  # stays None while waiting for a slot: no call made yet
        code = ("stream" if self.stream else "agent", request.node, self.provider)
        waited = 0.0
        try:
            if self.limit is None:
                start = _now()
                answer: Awaitable[str]
                if self.direct:  # the provider's own coroutine, with no call of ours around it
                    answer = self.complete(request)
                    if type(answer) is not _COROUTINE:  # an async def's passes at once
                        answer = providers.awaitable_answer(self.provider, answer)
                else:
                    answer = self.call(request, path)
                text = await (answer if seconds is None else with_timeout(answer, seconds, code))
            else:
                asked, queued = _now(), self.limit.locked()  # a slot free at once: no wait
                async with slot(self, request.node, path, asked):  # a handler is told of a wait
                    start = _now()
                    waited = start - asked if queued else 0.0
                    text = await with_timeout(self.model_answer(request, path), seconds, code)
            if cancel_asked(self):  # the provider caught the run's cancellation: not taken
                raise asyncio.CancelledError
            if not isinstance(text, str):  # inline: one call less per model call
                raise providers.not_text(text, self.provider)
        except BaseException as exc:
            if start is not None:
                self.call_log.failed(request, path, start, exc, waited)
            raise
        self.call_log.record(request, path, text, start, _now(), None, waited)
        return text

    def model_answer(self, request: ModelRequest, path: Path) -> Awaitable[str]:
        """What to await for the model's answer: the provider's own awaitable when it is not
        streaming and :meth:`call` is not overridden (one coroutine less per call), else
        :meth:`call`."""
        return self.completion(request) if self.direct else self.call(request, path)

    def completion(self, request: ModelRequest) -> Awaitable[str]:
        """``provider.complete(request)``, refused unless it is awaitable."""
        return providers.completion(self.provider, request)

    async def call(self, request: ModelRequest, path: Path) -> str:
        """Ask the model: streamed (each chunk an event) or not. Other backends override it
        (Prefect: a cached task)."""
        if not self.stream:
            return await self.completion(request)
        parts: list[str] = []
        async for chunk in providers.chunks(self.provider, request):
            parts.append(providers.checked_chunk(self.provider, chunk, len(parts)))
            if self.on_event is not None:
                self.tell(Event._make((request.node, "chunk", _now(), path, chunk)))
        return parts[0] if len(parts) == 1 else "".join(parts)  # one SentReply stays one

    async def gate(self, step: Step, state: MutableMapping[str, Any], path: Path) -> Any:
        """Ask ``on_gate`` (what it asks goes to ``gates``; execute() writes the answer);
        other backends override it (Prefect: a paused flow run)."""
        return await gate_value(step, state, self.on_gate, self.gate_blocking, self.gates, path)
