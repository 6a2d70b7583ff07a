"""Which exceptions of a run become a :class:`~irgraph.errors.RunError`, and what it says.

The rule the scheduler follows at every node:

- an :class:`Exception` raised while the node runs (by the model provider, a transform's
  function, a gate or ``on_event`` handler, an ``until`` predicate, or irgraph itself) ends
  the run as a ``RunError`` naming the node, with the exception as its ``__cause__``. A
  ``RunError`` of another run (a provider that runs a pipeline of its own) is no exception:
  the outer node is named, and the inner error is its cause;
- :class:`asyncio.CancelledError` is cancellation only when the run's task is being cancelled
  (``run`` interrupted by Ctrl-C, the task cancelled from outside, a sibling's failure, a
  timeout): then it propagates and the run stops. Raised by anything else — a provider's
  library cancelling a call of its own, say — it is a failure of the node like any other;
- any other :class:`BaseException` (``KeyboardInterrupt``, ``SystemExit``, ``GeneratorExit``
  or a subclass of one's own) asks the program to stop rather than reports a failure, as
  Python's ``except Exception`` convention has it: it propagates unchanged, and wins over a
  ``RunError`` that a sibling raised at the same time.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from typing import Any

from irgraph.errors import RunError
from irgraph.events import in_graph_order

from .cancels import cancels_allowed
from .predicates import PredicateRaised

__all__ = [
    "ADVICE",
    "RAISED_BY",
    "node_failure",
    "step_failure",
    "run_cancelled",
    "first_error",
    "with_progress",
    "cancelled_run",
    "cause_of",
]

#: The end of every node failure's message.
ADVICE = (
    " (the cause is chained below; what completed is in the error's .completed and .state — "
    "fix the cause and run again)."
)


#: Who raised an exception at a node of each kind, when its type alone would mislead.
RAISED_BY = {
    "agent": "the model provider",
    "transform": "the transform's function",
    "gate": "the on_gate handler",
    "loop": "the until predicate",
    "route": "a route's predicate",
}


def node_failure(
    node: str, error: BaseException, source: str | None = None, path: Any = ()
) -> RunError:
    """The RunError for ``error`` at ``node`` (chain ``error`` as its cause when raising it).

    ``source`` says who raised it ("the model provider") where the message would mislead
    without it: a RunError of another run, a CancelledError, or a handler's error at a node
    whose own work went fine. ``path`` is where the node ran, as an event's: the loop
    iteration and map-over item (from 0) around it, named in the message and kept as the
    error's ``path``.

    >>> str(node_failure("w", ConnectionError("quota")))[:39]
    "Node 'w' failed: ConnectionError: quota"
    >>> str(node_failure("w", KeyError("k"), path=(("review", 1), ("each", 2))))[:49]
    "Node 'w' failed at review[1] > each[2]: KeyError:"
    """
    advice = ""
    if isinstance(error, PredicateRaised):  # said as the predicate's, with the state's keys
        source, advice, error = error.source, f"; {error.advice}", error.error
    detail = str(error)
    if isinstance(error, RunError):
        detail = detail.removesuffix(ADVICE)
    what = f"{type(error).__name__}: {detail}" if detail else type(error).__name__
    if isinstance(error, asyncio.CancelledError):
        what += ", though nothing cancelled the run"
    if source is not None:
        what = f"{source} raised {what}"
    where = " at " + " > ".join(f"{scope}[{index}]" for scope, index in path) if path else ""
    # A cause that is a sentence ends before the advice's bracket, not with a stop of its own.
    said = f"{what.removesuffix('.')}{advice}"
    failure = RunError(f"Node '{node}' failed{where}: {said}{ADVICE}", node=node)
    failure.path = tuple(path)
    return failure


def cause_of(error: BaseException) -> BaseException:
    """What the RunError for ``error`` chains as its cause: the predicate's own exception, not
    the :class:`PredicateRaised` that names it."""
    return error.error if isinstance(error, PredicateRaised) else error


def with_progress(error: RunError, run: Any, state: Any, graph: Any) -> RunError:
    """``error`` with what the run got done: ``state`` (a copy), the nodes ``completed``, the
    ``trace``, model ``calls``, node ``outputs`` and ``reused`` nodes of ``run`` (a Scheduler)
    so far, and the ``graph`` that ran (so the error can show itself)."""
    error.state = dict(state)
    error.ended = time.monotonic()  # the trace's clock: when the run stopped
    error.completed = list(run.completed)
    error.trace = run.trace.events()  # a list of Events, as RunResult.trace
    error.calls = run.calls
    error.gates = list(getattr(run, "gates", ()))
    done = getattr(run, "outputs", {})
    error.outputs = in_graph_order(done, graph) if graph is not None else {}
    error.graph = graph
    reused = getattr(run, "reused", ())  # a Prefect run's answers from an earlier run's cache
    error.reused = [node for node in graph if node in reused] if graph is not None else []
    error.max_concurrency = getattr(run, "max_concurrency", None)
    error.schedule = getattr(run, "schedule", "topological")
    return error


def cancelled_run(completed: Sequence[str]) -> RunError:
    """The record a cancelled run's ``CancelledError`` carries as ``partial`` (never raised:
    the cancellation propagates as itself, as asyncio requires). ``completed`` holds a node
    once per run of it (a map-over's items, a loop's iterations); the message counts nodes."""
    count = len(set(completed))
    done = f"{count} node{'' if count == 1 else 's'}"
    record = RunError(
        f"The run was cancelled after {done} completed; .completed names them, .state holds "
        "what the run wrote to its state (a map-over's items reach it only when the map-over "
        "ends) and .calls every model call made, answered or cut off."
    )
    record.cancelled = True
    return record


def run_cancelled(run: Any = None) -> bool:
    """Whether the current task is being cancelled (beyond a request the task ``run`` began
    in caught before it began, :func:`~irgraph.backends.cancels.cancels_allowed`); if so, a
    CancelledError is that cancellation, not a failure of the node it came through."""
    task = asyncio.current_task()
    return task is not None and task.cancelling() > cancels_allowed(run, task)


def first_error(group: BaseExceptionGroup[Any]) -> BaseException:
    """The error to report from a task group: a request to stop (a BaseException that is not
    an Exception) if there is one, else a RunError, else the first error."""
    found: list[BaseException] = []

    def walk(exc: BaseException) -> None:
        if isinstance(exc, BaseExceptionGroup):
            for inner in exc.exceptions:
                walk(inner)
        else:
            found.append(exc)

    walk(group)
    stops = [exc for exc in found if not isinstance(exc, Exception)]
    failures = [exc for exc in found if isinstance(exc, RunError)]
    return (stops or failures or found)[0]


def step_failure(run: Any, step: Any, error: BaseException, path: Any) -> BaseException:
    """What ``error``, raised running ``step`` in ``run`` (a Scheduler), ends the run with:
    the node's RunError, or ``error`` itself when it is one already (a nested scope's node or
    an ``on_event`` handler named it), a request to stop, or the run's own cancellation.

    A request to stop (``KeyboardInterrupt``, ``SystemExit``) goes on as itself, carrying
    the run's record so far as its ``partial``, as a cancelled run's ``CancelledError`` does:
    raised in a task, it stops the event loop at once, and no scope sees it go by. Through a
    run nested in this one's node, it carries this run's record, not the nested run's."""
    fail: Callable[..., RunError] = run.fail
    if isinstance(error, RunError):
        if error in run.failures:
            return error
        return fail(step.id, error, RAISED_BY.get(step.kind), path)
    if isinstance(error, Exception):
        return fail(step.id, error, None, path)
    if isinstance(error, asyncio.CancelledError):
        if not run_cancelled(run):
            return fail(step.id, error, RAISED_BY.get(step.kind), path)
    elif getattr(run, "top", None) is not None and not _record_of(run, error):
        state, graph = run.top
        record = with_progress(cancelled_run(run.completed), run, state, graph)
        try:
            error.partial = record  # type: ignore[attr-defined]
        except AttributeError:  # pragma: no cover - an exception class with __slots__
            pass
        run.stopped = record
    return error


def _record_of(run: Any, error: BaseException) -> bool:
    """Whether the ``partial`` that ``error`` (a request to stop) carries is ``run``'s own, as
    a node of ``run`` nearer to where it was raised gave it. One that another run gave it (a
    pipeline that ``run``'s provider or transform ran) is replaced: the caller of ``run``
    asks what ``run`` did."""
    partial = getattr(error, "partial", None)
    return partial is not None and partial is getattr(run, "stopped", None)
