"""A work-pool batch item's failure, carried from the worker to the sender with its run record.

A chunk of a batch (:mod:`.prefect_chunks`) answers each failed item with its error said in
words; the sender (:mod:`.prefect_batch`) makes it a :class:`~irgraph.errors.RunError` again.
Said in words alone, that error had no record of the run: its view showed nothing reached and
"measured <1 ms". So the worker sends what its ``RunError`` carries (the failed node and where
it ran, the state, the nodes that completed, the run's events, model calls, gate questions,
node outputs and when it stopped; times in the worker's clock, which only its own events are
measured against) in plain data, and the sender's error carries it again, with the pipeline's
graph: ``error.view()`` shows the run as the in-process error does. A record that is not whole
(from another irgraph, say) gives a plain error rather than a wrong view.
"""

from __future__ import annotations

import math
from typing import Any

from irgraph.batch_calls import calls_json, kept_calls
from irgraph.errors import PipelineError, RunError
from irgraph.events import Event

__all__ = ["run_record", "failed_on_pool", "did_not_run", "refuse_other_pipeline"]


def run_record(error: BaseException) -> dict[str, Any] | None:
    """What the ``RunError`` ``error`` carries of its run, as plain data (``None``: another
    exception, which carries none)."""
    if not isinstance(error, RunError):
        return None
    return {
        "node": error.node,
        "path": [list(step) for step in error.path],
        "state": dict(error.state),
        "completed": list(error.completed),
        "trace": [
            [e.node, e.event, e.time, [list(s) for s in e.path], e.text] for e in _events(error)
        ],
        **calls_json(error.calls, error.gates),
        "outputs": dict(error.outputs),
        "ended": error.ended,
        "schedule": error.schedule,
        "max_concurrency": error.max_concurrency,
    }


def _events(error: RunError) -> list[Event]:
    trace = error.trace
    events = getattr(trace, "events", trace)  # a TraceLog, or a list of events
    return list(events() if callable(events) else events or [])


def failed_on_pool(index: int, said: dict[str, Any], graph: Any) -> RunError:
    """Item ``index``'s ``RunError`` from its chunk's answer ``said`` (its message, and the
    record of its run when the worker sent one), ``graph`` the pipeline's."""
    error = RunError(f"Item {index} failed on the work pool: {said.get('message')}")
    record = said.get("record")
    if not isinstance(record, dict):
        return error
    try:
        events = [_event(*raw) for raw in record["trace"]]
        calls, gates = kept_calls(record)
        if len(calls) != len(record.get("calls", ())) or len(gates) != len(record.get("gates", ())):
            return error
        node, state, completed = record["node"], record["state"], record["completed"]
        if not (node is None or isinstance(node, str)) or not isinstance(state, dict):
            return error
        path = tuple((str(name), int(at)) for name, at in record["path"])
        ended = record["ended"]
        outputs = record["outputs"]
        if not isinstance(outputs, dict) or not isinstance(completed, list):
            return error
    except (KeyError, TypeError, ValueError):
        return error
    made = RunError(str(error), node=node, state=state, completed=[str(c) for c in completed])
    made.trace, made.calls, made.gates, made.outputs, made.path = (
        events,
        calls,
        gates,
        outputs,
        path,
    )
    made.ended = float(ended) if isinstance(ended, (int, float)) and math.isfinite(ended) else None
    made.schedule = str(record.get("schedule") or made.schedule)
    limit = record.get("max_concurrency")
    made.max_concurrency = limit if type(limit) is int else None
    made.graph = graph
    return made


def _event(node: Any, event: Any, time: Any, path: Any, text: Any) -> Event:
    if not (isinstance(node, str) and isinstance(event, str) and isinstance(time, (int, float))):
        raise TypeError("event")
    if text is not None and not isinstance(text, str):
        raise TypeError("text")
    return Event(node, event, float(time), tuple((str(n), int(at)) for n, at in path), text)


def did_not_run(items: list[tuple[int, Any, str]], why: str) -> list[Any]:
    """Each of ``items`` (a chunk's) failed for ``why`` (a flow run's message may end in a
    stop): :class:`~irgraph.batch_items.ItemResult` s."""
    from irgraph.batch_items import ItemResult

    said = f"{why.rstrip().rstrip('.')}."
    return [
        ItemResult(index, state, error=RunError(f"Item {index} did not run: {said}"), key=key)
        for index, state, key in items
    ]


def refuse_other_pipeline(message: str, deployment: str) -> None:
    """Raise the refusal of a chunk by the module of ``deployment`` (a failed flow run's
    ``message``) when it runs another version of the pipeline: a module deployed by an
    older irgraph, whose deployment carries no digest to check before sending. The worker's
    own sentence says what to do; it is told once, without Prefect's prefix."""
    start = message.find("This deployment runs another version of pipeline")
    if start < 0:
        return
    said = message[start:].strip()
    fix = "Regenerate the flow module from this pipeline and deploy it again."
    raise PipelineError(
        f"A worker of deployment {deployment!r} refused a chunk of the batch. {said}",
        hint=None if "deploy it again" in said else fix,
    )
