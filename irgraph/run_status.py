"""What happened to each node of a run, worked out from its trace: the facts the run view
(:mod:`irgraph.run_view`) draws.

A run's trace holds a start and an end event per execution (loops and map-overs repeat their
body's nodes, each execution with its ``path``; :mod:`irgraph.run_trace` reads it, and draws
the graph of a run that does not carry its pipeline). :func:`run_facts` pairs them into
:class:`Execution` s and gives every node of the pipeline graph one status:

- ``done``: it ran and finished (every execution ended);
- ``failed``: the run's error names it, or a scope around the node that failed;
- ``cancelled``: it started but a failure elsewhere stopped it;
- ``not_started``: an agent that waited for a model-call slot (``max_concurrency``) until
  the run stopped: it made no call, so no work was lost;
- ``reused``: its result came from an earlier run (``RunResult.reused``, or an output with no
  execution: a resumed batch item);
- ``skipped``: a branch its route did not take;
- ``no_items``: inside a map-over that finished over an empty list: there was nothing to run;
- ``not_reached``: it never ran;
- ``unknown``: the run recorded nothing (no trace, no outputs);
- ``running`` and ``waiting``: only while the run goes, in its live progress
  (:mod:`irgraph.run_progress`).

Nothing here draws; times are seconds from the run's first event.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import attrs

from irgraph.errors import IrgraphError
from irgraph.run_trace import Path, executions_in, trace_graph
from irgraph.schema import SCOPE_KINDS

if TYPE_CHECKING:
    import networkx as nx

__all__ = [
    "STATUSES",
    "Execution",
    "RunFacts",
    "run_facts",
    "trace_graph",
    "seconds_text",
    "clean",
    "shorten",
    "Path",  # from irgraph.run_trace, with trace_graph
]

#: Each status: (what it is called, fill colour, line colour).
STATUSES: dict[str, tuple[str, str, str]] = {
    "done": ("done", "#d7f0d5", "#2e7d32"),
    "failed": ("failed", "#f9d0cd", "#c62828"),
    "cancelled": ("cancelled", "#ffe2bf", "#e65100"),
    "not_started": ("not started", "#fffaf3", "#c77d3a"),
    "reused": ("reused", "#d3e4fa", "#1565c0"),
    "skipped": ("not taken", "#f6f6f6", "#b0b0b0"),
    "no_items": ("no items", "#f3f6fa", "#8ea3bd"),
    "not_reached": ("not reached", "#ececec", "#8a8a8a"),
    "unknown": ("not recorded", "#ffffff", "#8a8a8a"),
    # While a run goes (its live progress, irgraph.run_progress): never in a finished run's.
    "running": ("running", "#fff3c4", "#f9a825"),
    "waiting": ("waiting", "#ffffff", "#b0b0b0"),
}


def clean(text: str) -> str:
    """``text`` with characters that have no glyph (and XML refuses) made U+FFFD."""
    if text.isprintable():
        return text
    return "".join(
        "\ufffd" if unicodedata.category(ch) in ("Cc", "Cs", "Cn") and ch not in "\n\t" else ch
        for ch in text
    )


def shorten(text: str, limit: int) -> str:
    """``text`` on one line, cut to ``limit`` characters with an ellipsis."""
    text = " ".join(clean(text).split())
    return text if len(text) <= limit else text[: max(limit - 1, 0)] + "\u2026"


def seconds_text(seconds: float | None) -> str:
    """A duration for people: ``"12 ms"``, ``"1.25 s"``, ``"2:05"``.

    >>> seconds_text(0.0123), seconds_text(1.254), seconds_text(125)
    ('12 ms', '1.25 s', '2:05')
    """
    if seconds is None or seconds != seconds:  # none, or NaN
        return "\u2014"
    if seconds < 0.9995:  # below what "1.00 s" rounds
        return f"{seconds * 1000:.0f} ms" if seconds >= 0.001 else "<1 ms"
    if seconds < 59.995:  # below what "60.00 s" rounds
        return f"{seconds:.2f} s"
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes}:{rest:02d}"


@attrs.frozen
class Execution:
    """One execution of a node: ``start``/``end`` in seconds from the run's first event
    (``end`` is ``None`` when it never ended), and its ``status``. ``waited`` is how long
    an agent waited for a model-call slot (``max_concurrency``) before its first call."""

    node: str
    path: Path
    start: float
    end: float | None
    status: str
    waited: float = 0.0

    @property
    def duration(self) -> float | None:
        """How long it worked: from its first model call (or its start) to its end."""
        return None if self.end is None else self.end - self.start - self.waited

    @property
    def working(self) -> float:
        """When it started working: its start, after any wait for a slot."""
        return self.start + self.waited

    def label(self, graph: nx.DiGraph | None = None) -> str:
        """``"define (define_all item 2)"``: the node and where it ran."""
        if not self.path:
            return self.node
        where = []
        for scope, index in self.path:
            kind = graph.nodes[scope].get("kind") if graph is not None and scope in graph else ""
            word = "iteration" if kind == "loop" else "item"
            where.append(f"{scope} {word} {index}")
        return f"{self.node} ({', '.join(where)})"


@attrs.define
class RunFacts:
    """Everything the run view shows, from one run: the graph, the executions, each node's
    status, and the run's measured length."""

    graph: nx.DiGraph
    executions: list[Execution]
    status: dict[str, str]
    outputs: Mapping[str, Any]
    failed: str | None = None
    message: str | None = None
    backend: str | None = None
    traced: bool = True  # False: the graph was not given and was read from the trace
    calls: list[Any] = attrs.field(factory=list)  # the run's model calls (events.Call)
    cancelled: bool = False  # the run was cancelled: nothing failed, it was stopped
    stopped: float | None = None  # when a failed or cancelled run stopped (from its start)
    _by_node: dict[str, list[Execution]] | None = attrs.field(default=None, init=False)
    _calls_by_node: dict[str, list[Any]] | None = attrs.field(default=None, init=False)

    @property
    def measured(self) -> float:
        """Seconds from the first event to the last."""
        ends = [e.end if e.end is not None else e.start for e in self.executions]
        if self.stopped is not None:
            ends.append(self.stopped)
        return max(ends, default=0.0)

    def of(self, node: str) -> list[Execution]:
        """The executions of ``node``, in start order."""
        if self._by_node is None:
            self._by_node = _grouped(self.executions)
        return self._by_node.get(node, [])

    def calls_of(self, node: str) -> list[Any]:
        """The model calls ``node`` made, in the order they ended."""
        if self._calls_by_node is None:
            self._calls_by_node = _grouped(self.calls)
        return self._calls_by_node.get(node, [])

    def took(self, execution: Execution) -> float | None:
        """How long ``execution`` worked: its duration, or for the one that failed (it has
        no end) until the run stopped, when it failed: the diagram, table and timeline all
        say that time, as the timeline's bar runs to there."""
        if execution.end is None and execution.status == "failed":
            return max(self.measured - execution.working, 0.0)
        return execution.duration

    def durations(self) -> dict[str, float]:
        """Each executable node's mean measured duration (its finished executions)."""
        found: dict[str, list[float]] = {}
        for e in self.executions:
            if e.duration is not None and self.graph.nodes[e.node]["kind"] not in SCOPE_KINDS:
                found.setdefault(e.node, []).append(e.duration)
        return {node: sum(times) / len(times) for node, times in found.items()}

    @property
    def outcome(self) -> str:
        """How the run ended, as a headline starts: ``Run finished``, ``Run failed`` (a failed
        node or an error message) or ``Run cancelled`` (stopped, whatever else it says)."""
        if self.cancelled:
            return "Run cancelled"
        return "Run failed" if self.failed or self.message else "Run finished"

    def counts(self) -> dict[str, int]:
        """How many nodes have each status."""
        found: dict[str, int] = {}
        for status in self.status.values():
            found[status] = found.get(status, 0) + 1
        return found


def _grouped(items: Iterable[Any]) -> dict[str, list[Any]]:
    """``items`` (executions or calls) grouped by their ``node``, each group in order."""
    found: dict[str, list[Any]] = {}
    for item in items:
        found.setdefault(item.node, []).append(item)
    return found


def _ancestors(graph: nx.DiGraph, node: str | None) -> list[str]:
    chain: list[str] = []
    while node is not None and node in graph:
        chain.append(node)
        node = graph.nodes[node].get("parent")
    return chain


def _first_waits(calls: Iterable[Any]) -> dict[tuple[str, Path], tuple[float, float]]:
    """Each execution's (node, path) first model call: when it started and how long it
    waited for a model-call slot, as the scheduler measured (a call recorded without a wait
    waited for none)."""
    first: dict[tuple[str, Path], tuple[float, float]] = {}
    for call in calls:
        key = (call.node, tuple(call.path))
        if key not in first or call.start < first[key][0]:
            first[key] = (call.start, getattr(call, "waited", 0.0) or 0.0)
    return first


def _waited(start: float, end: float | None, first: tuple[float, float] | None) -> float:
    """The slot wait of an execution from ``start`` to ``end``, inside its bar: the time
    between its start and its first call is its own work (a prompt rendered, a machine busy
    elsewhere) unless the scheduler measured a wait for a slot; then it lasts until that call
    started (``first``), so the bar works from when its call did, never before the call that
    held the slot ended (the wait measured alone leaves out the prompt made before it)."""
    if first is None or first[1] <= 0:
        return 0.0
    called, waited = first
    if start <= called and (end is None or called <= end):  # on the trace's clock
        waited = called - start
    return waited if end is None else max(min(waited, end - start), 0.0)


def _on_failed_path(path: Path, failed_path: Path | None) -> bool:
    """Whether an execution at ``path`` is (or holds) the one that failed at
    ``failed_path``: a sibling item or iteration was stopped, it did not fail."""
    return failed_path is None or tuple(failed_path[: len(path)]) == tuple(path)


def _branches_ran(graph: nx.DiGraph, ran: Iterable[str]) -> dict[str, set[int]]:
    """Per route, the branches (case indexes) in which some node ran: walked once from each
    node that ran up through its ancestors."""
    found: dict[str, set[int]] = {}
    for node in ran:
        below, parent = node, graph.nodes[node].get("parent")
        while parent is not None:
            branch = graph.nodes[below].get("branch")
            if graph.nodes[parent].get("kind") == "route" and branch is not None:
                found.setdefault(parent, set()).add(int(branch))
            below, parent = parent, graph.nodes[parent].get("parent")
    return found


def _branch_of(graph: nx.DiGraph, node: str, route: str) -> int | None:
    """The branch of ``route`` that ``node`` is in (``None``: not inside ``route``)."""
    chain = _ancestors(graph, node)
    if route not in chain[1:]:
        return None
    below = chain[chain.index(route) - 1]
    branch = graph.nodes[below].get("branch")
    return None if branch is None else int(branch)


def run_facts(
    graph: nx.DiGraph | None,
    trace: Sequence[Any],
    outputs: Mapping[str, Any],
    *,
    failed: str | None = None,
    failed_path: Path | None = None,
    completed: Iterable[str] = (),
    reused: Iterable[str] = (),
    message: str | None = None,
    backend: str | None = None,
    calls: Iterable[Any] = (),
    cancelled: bool = False,
    stopped_at: float | None = None,
) -> RunFacts:
    """The :class:`RunFacts` of a run of ``graph`` (``None``: read it from the trace).
    ``failed``/``failed_path`` are the node that failed and where (a ``RunError``'s
    ``node``/``path``): other items and iterations of that node were stopped, not failed."""
    traced = graph is not None
    if graph is None:
        graph = trace_graph(trace)
    pairs = executions_in(trace)
    strangers = sorted({node for node, *_ in pairs if node not in graph})
    if strangers:
        shown = ", ".join(repr(n) for n in strangers[:5]) + (", ..." if len(strangers) > 5 else "")
        raise IrgraphError(
            f"The run's trace has nodes the pipeline given for its view does not have "
            f"({shown}), so it is not the pipeline that ran; pass that pipeline, or none "
            "(the result carries its graph)."
        )
    origin = min((p[2] for p in pairs), default=0.0)
    failing = set(_ancestors(graph, failed))
    kept = set(reused)
    calls = list(calls)
    first_waits = _first_waits(calls)

    def ended(node: str, path: Path, end: float | None) -> str:
        if end is None:
            if node in failing and _on_failed_path(path, failed_path):
                return "failed"
            # an agent stopped with no call made (the run records its calls): it was still
            # waiting for a model-call slot, it never started
            agent = traced and graph.nodes[node].get("kind") == "agent"
            unasked = agent and bool(calls) and (node, path) not in first_waits
            return "not_started" if unasked else "cancelled"
        return "reused" if node in kept else "done"  # a reused node's run: a cache hit

    executions = [
        Execution(
            node,
            path,
            start - origin,
            _since(end, origin),
            ended(node, path, end),
            _waited(start, end, first_waits.get((node, path))),
        )
        for node, path, start, end in pairs
    ]
    finished = set(completed) | set(outputs)
    recorded = bool(executions or finished or kept or failed)
    stopped = None if stopped_at is None or not pairs else max(stopped_at - origin, 0.0)
    facts = RunFacts(
        graph, executions, {}, outputs, failed, message, backend, traced, calls, cancelled, stopped
    )
    taken = _branches_ran(graph, {e.node for e in executions})
    busy = {scope for e in executions for scope in _ancestors(graph, e.node)[1:]}
    status = facts.status
    for node in graph.nodes:  # reading order: a route's status is known before its branches
        mine = facts.of(node)
        if node in failing:
            status[node] = "failed"
        elif node in kept or (node in outputs and not mine):
            status[node] = "reused"  # a result with no execution: kept from an earlier run
        elif node in finished and not mine:
            status[node] = "done"  # a RunError's completed node, with no trace to show
        elif mine:  # stopped while working, or only ever waiting for a slot, or done
            left = {e.status for e in mine if e.end is None}
            status[node] = "cancelled" if "cancelled" in left else "not_started" if left else "done"
        elif not recorded:
            status[node] = "unknown"
        elif any(  # a map-over that finished with no item run: it had an empty list
            graph.nodes[scope].get("kind") == "map_over"
            and status.get(scope) == "done"
            and scope not in busy
            for scope in _ancestors(graph, graph.nodes[node].get("parent"))
        ):
            status[node] = "no_items"
        elif any(
            graph.nodes[scope].get("kind") == "route"
            and (
                status.get(scope) in ("done", "reused")
                # a node of another branch ran: the route chose that one (then failed, say)
                or bool(taken.get(scope, set()) - {_branch_of(graph, node, scope)})
            )
            for scope in _ancestors(graph, graph.nodes[node].get("parent"))
        ):
            status[node] = "skipped"
        else:
            status[node] = "not_reached"
    return facts


def checked_graph(pipeline: Any) -> nx.DiGraph:
    """The graph of ``pipeline`` (a graph, builder or IR node), or an error saying what to
    pass."""
    from irgraph.graph import as_graph

    try:
        return as_graph(pipeline)
    except IrgraphError as exc:
        raise IrgraphError(
            f"What was given as the run view's pipeline is not one: {exc} Or give none, "
            "result.view(): a run carries the graph of the pipeline that ran."
        ) from exc


def _since(end: float | None, origin: float) -> float | None:
    return None if end is None else end - origin
