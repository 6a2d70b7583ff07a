"""A node's failure in generated flow code: the run's RunError, as the scheduler makes it.

The in-process backends run every node through the scheduler, which turns what a node raises
into a :class:`~irgraph.errors.RunError` naming the node (and the loop iteration or map-over
item it ran in), keeping the state and the nodes that completed
(:mod:`irgraph.backends.failures`). Generated flow code has no scheduler: its nodes are calls
of :mod:`irgraph.backends.prefect_runtime` and functions of its own. So the flow's body runs
in a :func:`run_record`, which holds what completed; each runtime call runs in
:func:`failing`, which makes what it raises the same RunError with the scheduler's own rule
(:func:`~irgraph.backends.failures.step_failure`) and records the node when it ends; and each
generated loop, map-over and route function is :func:`as_node`, so what fails in it outside
its body's nodes (a ``map_items`` of a key that is no list, say) is a failure of that node.
A RunError that a node of this run made passes through the scopes around it unchanged.
The record also keeps what the scheduler's RunError carries for the run's view
(``error.view()``): each node's start and end events (its ``trace``), each model call
(:func:`asked`), what each gate asked (:func:`gate_asked`), each node's output
(:func:`kept`: a loop's, a map-over's and a route's too, what their functions return), the
nodes whose results came from an earlier run's cache (:func:`cache_hit`) and when the run
stopped. Given the pipeline (the module's ``PIPELINE_JSON``), it carries its graph as well,
so ``error.view()`` draws the failed run as an in-process run's error draws it; a module an
older irgraph generated gives none, and its view is drawn from the trace.
Parallel branches and map-over items run :func:`together`: the first failure cancels the
others, as the scheduler's drivers do, rather than leaving them paying for model calls.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import time
import weakref
from collections.abc import Awaitable, Callable, Iterator, Mapping, MutableMapping, Sequence
from contextvars import ContextVar
from typing import Any, NamedTuple, TypeVar

from irgraph.errors import RunError
from irgraph.events import CallLog, Event, GateAsk, in_graph_order
from irgraph.providers import ModelRequest
from irgraph.templates import filled, parse_template

from .failures import cancelled_run, cause_of, first_error, node_failure, step_failure
from .prefect_logs import quiet_flow_run
from .prefect_lost_server import note_completed
from .prefect_names import Position

__all__ = [
    "FlowRecord",
    "run_record",
    "failing",
    "kept",
    "cache_hit",
    "asked",
    "gate_asked",
    "as_node",
    "together",
]

Scope = TypeVar("Scope", bound=Callable[..., Awaitable[Any]])
Value = TypeVar("Value")


class _Step(NamedTuple):
    """What :func:`step_failure` reads of a step: its id and kind."""

    id: str
    kind: str


class FlowRecord:
    """What one run of a generated flow got done: the nodes that completed (once per run of
    each, as the scheduler's ``completed``), the RunErrors its nodes raised, and for the
    run's view its events, model calls, node outputs and the nodes answered from an earlier
    run's cache, as the scheduler records them."""

    def __init__(self) -> None:
        self.completed: list[str] = []
        self.failures: weakref.WeakSet[RunError] = weakref.WeakSet()
        self.trace: list[Event] = []
        self.calls = CallLog()
        self.outputs: dict[str, Any] = {}
        self.output_paths: dict[str, Position] = {}
        self.gates: list[GateAsk] = []
        self.reused: set[str] = set()
        self.empty_prompts: set[str] = set()  # agents warned of an empty prompt

    def keep(self, node: str, path: Position, value: Any) -> None:
        """Keep ``value`` as ``node``'s output: inside a loop or map-over, the last item's and
        iteration's, in their order, as the scheduler keeps it (not whichever ended last)."""
        kept = self.output_paths.get(node)
        if kept is None or kept <= path:
            self.output_paths[node] = path
            self.outputs[node] = value

    def progress(self, error: RunError, state: MutableMapping[str, Any], graph: Any) -> None:
        """Give ``error`` what the run got done, and the ``graph`` that ran (``None``: not
        known), as the scheduler gives its RunError (:func:`~.failures.with_progress`)."""
        error.state = dict(state)
        error.completed = list(self.completed)
        error.ended = time.monotonic()  # the trace's clock: when the run stopped
        error.trace = list(self.trace)
        error.calls = self.calls.calls()
        error.gates = list(self.gates)
        error.graph = graph
        if graph is None:
            error.outputs = dict(self.outputs)
            error.reused = sorted(self.reused)
        else:
            error.outputs = in_graph_order(self.outputs, graph)
            error.reused = [node for node in graph if node in self.reused]

    def fail(
        self, node: str, error: BaseException, source: str | None = None, path: Position = ()
    ) -> RunError:
        """The RunError that ends the run at ``node``, as the scheduler's ``fail``."""
        failure = node_failure(node, error, source, path)
        self.failures.add(failure)
        return failure


#: The record of the flow run that runs in this context (``None``: a runtime function called
#: outside a generated flow's body, or by a module an older irgraph generated).
_RECORD: ContextVar[FlowRecord | None] = ContextVar("irgraph_flow_record", default=None)

#: The record of nodes run outside any run's record: their failures (held weakly) still pass
#: through the scopes around them unchanged; what completed is not kept.
_LOOSE = FlowRecord()


@contextlib.contextmanager
def run_record(
    state: MutableMapping[str, Any], pipeline: str | None = None, inputs: Sequence[str] = ()
) -> Iterator[FlowRecord]:
    """Within the block, a generated flow's nodes record what completes; a node's RunError
    leaves it carrying a copy of ``state``, the nodes that completed before it and, given the
    ``pipeline`` (its IR JSON) and the ``inputs`` its graph was compiled with, that graph. A
    cancellation or KeyboardInterrupt that stops the run (the flow's ``timeout_seconds``, a
    Ctrl-C) leaves carrying the same record as its ``partial``, a RunError never raised."""
    record = FlowRecord()
    token = _RECORD.set(record)
    note_completed(lambda: record.completed)  # said if its server is lost mid-run
    try:
        with quiet_flow_run():  # Prefect logs the failure in a line, not two tracebacks
            yield record
    except RunError as error:
        if error in record.failures:
            record.progress(error, state, _graph(pipeline, tuple(inputs)))
        raise
    except (asyncio.CancelledError, KeyboardInterrupt) as stop:
        # A stop is no failure (its flow's timeout_seconds, a Ctrl-C, a cancel): it carries
        # the run's record as its partial, as an in-process run's stop does.
        if getattr(stop, "partial", None) is None:
            stopped = cancelled_run(record.completed)
            record.progress(stopped, state, _graph(pipeline, tuple(inputs)))
            stop.partial = stopped  # type: ignore[union-attr]
        raise
    finally:
        _RECORD.reset(token)


@contextlib.contextmanager
def failing(
    node: str, kind: str, path: Position = (), *, ends: bool = True
) -> Iterator[FlowRecord | None]:
    """Run node ``node`` (of ``kind``: ``"agent"``, ``"transform"``, ...) at ``path``: what
    it raises ends the run as the scheduler ends it there, and once it ends it is recorded
    as completed (not with ``ends=False``: a route's choice, a loop's test, which are parts
    of a node that ends later). The block gets the run's record (``None``: none, or not
    ``ends``)."""
    record = _RECORD.get() if ends else None
    if record is not None:
        record.trace.append(Event(node, "start", time.monotonic(), path))
    try:
        yield record
    except BaseException as error:
        failure = step_failure(_RECORD.get() or _LOOSE, _Step(node, kind), error, path)
        if failure is error:
            raise
        raise failure from cause_of(error)
    if record is not None:
        record.completed.append(node)
        record.trace.append(Event(node, "end", time.monotonic(), path))


def kept(node: str, path: Position, value: Value) -> Value:
    """Keep ``value`` as the output of ``node`` (at ``path``) in the run's record, if any;
    return it."""
    record = _RECORD.get()
    if record is not None:
        record.keep(node, path, value)
    return value


def cache_hit(node: str, hit: bool) -> bool:
    """Note in the run's record, if any, that ``node``'s result came from an earlier run's
    cache (a Prefect task run ``Cached``) when ``hit``, as ``RunResult.reused`` names it;
    return ``hit``."""
    record = _RECORD.get()
    if hit and record is not None:
        record.reused.add(node)
    return hit


@functools.lru_cache(maxsize=8)
def pipeline_graph(pipeline: str, inputs: tuple[str, ...]) -> Any:
    """The graph of the pipeline whose IR JSON is ``pipeline``, compiled with ``inputs``: the
    graph a generated module was made from, which its failed run's RunError carries. Read
    once per module (a module runs one pipeline), and only when a run fails."""
    from irgraph.graph import to_graph
    from irgraph.ir.json import from_json

    return to_graph(from_json(pipeline), inputs=inputs)


def _graph(pipeline: str | None, inputs: tuple[str, ...]) -> Any:
    """:func:`pipeline_graph`, or ``None`` without a pipeline or when it cannot be read: the
    run's RunError is what the user needs, its picture is not worth hiding it."""
    if pipeline is None:
        return None
    try:
        return pipeline_graph(pipeline, inputs)
    except Exception:
        return None


def gate_asked(node: str, path: Position, message: str, state: Mapping[str, Any]) -> None:
    """Record in the run's record, if any, what gate ``node`` (at ``path``) asks: its
    ``message`` filled from ``state``, as the in-process run's ``gates`` hold it."""
    record = _RECORD.get()
    if record is not None:
        text = filled(parse_template(message, field="message"), state)[0]
        record.gates.append(GateAsk(node, path, text))


def asked(
    agent_task: Callable[..., Awaitable[Any]],
    path: Position,
    run_key: str | None,
) -> Callable[[ModelRequest], Awaitable[str]]:
    """The call of an agent's task (a Prefect task: ``request, path, run_key``) at ``path``
    for a request, which records the model call in the run's record, answered or failed, as
    the scheduler records it, and an answer from an earlier run's cache (:func:`cache_hit`)."""

    async def call(request: ModelRequest) -> str:
        from prefect.states import get_state_result

        record = _RECORD.get()
        start = time.monotonic()
        try:
            state = await agent_task(request, path, run_key, return_state=True)
            cache_hit(request.node, state.name == "Cached")  # answered from an earlier run
            text: str = await get_state_result(state)
        except BaseException as error:
            if record is not None:
                record.calls.failed(request, path, start, error)
            raise
        if record is not None:
            record.calls.record(request, path, text, start, time.monotonic())
        return text

    return call


def as_node(node: str, kind: str) -> Callable[[Scope], Scope]:
    """A generated loop, map-over or route function (``state, path, run_key``) run as node
    ``node`` of ``kind``, as :func:`failing` runs a runtime call; what it returns is the
    node's output, as the scheduler keeps it: a loop's ``None``, a map-over's list, a route's
    case label. (A map-over or route function an older irgraph generated returns ``None``:
    it keeps no output rather than a wrong one.)"""

    def wrap(function: Scope) -> Scope:
        @functools.wraps(function)
        async def run(state: Any, path: Position, run_key: str | None) -> Any:
            with failing(node, kind, path):
                value = await function(state, path, run_key)
                if value is not None or kind == "loop":
                    kept(node, path, value)
            return value

        return run  # type: ignore[return-value]

    return wrap


async def together(*works: Awaitable[Any]) -> list[Any]:
    """Await ``works`` at once and return their results in order, as ``asyncio.gather``
    does; but the first failure cancels the others and waits for them to stop before the
    failure is raised (the one :func:`~irgraph.backends.failures.first_error` picks, as the
    scheduler's drivers raise), and a cancellation from outside cancels them all."""
    tasks = [asyncio.ensure_future(work) for work in works]
    if not tasks:
        return []
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
    finally:  # a failure, or this coroutine cancelled: no branch is left running
        if not all(task.done() for task in tasks):
            for task in tasks:
                task.cancel()
            await asyncio.wait(tasks)
    errors = [t.exception() for t in tasks if not t.cancelled() and t.exception() is not None]
    if errors:
        chosen = first_error(BaseExceptionGroup("branches", errors))
        raise chosen from chosen.__cause__
    return [task.result() for task in tasks]
