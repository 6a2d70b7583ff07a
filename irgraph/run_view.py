"""How a finished (or failed) run shows itself: in Jupyter one HTML block — the coloured
pipeline diagram (:mod:`irgraph.run_diagram`), the timeline (:mod:`irgraph.run_timeline`)
and a compact table of the nodes whose previews expand (``<details>``, no JavaScript) — and
plain text in a terminal. Everything is drawn here, offline, Graphviz or not.

``RunResult`` and ``RunError`` display through :func:`result_view` and :func:`error_view`;
``result.diagram()``, ``result.timeline()`` and ``result.view()`` give the pieces.

>>> from irgraph import Agent, run
>>> from irgraph.testing import FakeProvider
>>> pipeline = Agent("a").instruct("Hi.").writes("x") >> Agent("b").instruct("Got {x}.")
>>> result = run(pipeline, provider=FakeProvider())
>>> result.diagram(pipeline).facts.status
{'a': 'done', 'b': 'done'}
"""

from __future__ import annotations

import html
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from irgraph import errors, events
from irgraph.run_diagram import StatusDiagram, kind_word
from irgraph.run_files import one_line, save_as
from irgraph.run_pipeline import viewed_graph
from irgraph.run_status import (
    STATUSES,
    Execution,
    RunFacts,
    run_facts,
    shorten,
)
from irgraph.run_timeline import Timeline, padded
from irgraph.run_timeline_rows import hidden_count
from irgraph.run_view_cells import (
    FULL,
    PREVIEW,
    name_cell,
    preview,
    runs_cell,
    text_cell,
    time_cell,
)

if TYPE_CHECKING:
    import networkx as nx

__all__ = ["RunView", "result_view", "error_view", "run_facts_of"]

#: What the node table's expanded texts hold in all, at most (characters): a pipeline of
#: hundreds of agents shows less of each text rather than a notebook output of megabytes.
_ALL_TEXT = 300_000
_STYLE = (
    "font-family:system-ui,-apple-system,'Segoe UI',Helvetica,Arial,sans-serif;"
    "font-size:13px;line-height:1.4"
)
_WHAT = {"agent": "instruction", "transform": "function", "gate": "message", "route": "on"}


def _events(trace: Any) -> list[Any]:
    """A trace as a list of events (a RunResult's list, or a recording ``TraceLog``)."""
    if trace is None:
        return []
    events = getattr(trace, "events", None)
    return list(events() if callable(events) else trace)


def run_facts_of(result: Any, pipeline: Any = None) -> RunFacts:
    """The :class:`~irgraph.run_status.RunFacts` of a ``RunResult``."""
    return run_facts(
        viewed_graph(pipeline, getattr(result, "graph", None)),
        result.trace,
        result.outputs,
        reused=getattr(result, "reused", ()),
        backend=result.backend,
        calls=getattr(result, "calls", ()),
    )


def result_view(result: Any, pipeline: Any = None, *, concurrency: int | None = None) -> RunView:
    """The view of a ``RunResult``; ``pipeline`` is needed when the result does not carry its
    graph (without it, the diagram is read from the trace). ``concurrency`` defaults to the
    run's own ``max_concurrency``."""
    if concurrency is None:
        concurrency = getattr(result, "max_concurrency", None)
    facts = run_facts_of(result, pipeline)
    return RunView(
        facts,
        concurrency=concurrency,
        gates=getattr(result, "gates", ()),
        schedule=getattr(result, "schedule", "topological"),
    )


def error_view(
    error: Any,
    pipeline: Any = None,
    *,
    trace: Sequence[Any] | None = None,
    concurrency: int | None = None,
) -> RunView:
    """The view of a failed run from its ``RunError``: the failed node (and the scopes
    around it) red, what completed green, what was stopped orange, the rest not reached.
    ``trace`` (the events an ``on_event`` handler collected, say) stands in for the error's
    own when it carries none."""
    events = _events(trace if trace is not None else getattr(error, "trace", None))
    graph = viewed_graph(pipeline, getattr(error, "graph", None))
    completed = list(getattr(error, "completed", ()))
    failed = getattr(error, "node", None)
    if graph is None and not events:
        import networkx as nx

        graph = nx.DiGraph()
        for node in [*completed, failed]:
            if node is not None:
                graph.add_node(node, kind="agent", label=node, parent=None, branch=None)
    facts = run_facts(
        graph,
        events,
        {},
        failed=failed,
        failed_path=getattr(error, "path", None),
        completed=completed,
        reused=getattr(error, "reused", None) or (),
        message=str(error),
        cancelled=bool(getattr(error, "cancelled", False)),
        stopped_at=getattr(error, "ended", None) if trace is None else None,
        calls=getattr(error, "calls", None) or (),
    )
    if concurrency is None:
        concurrency = getattr(error, "max_concurrency", None)
    return RunView(
        facts,
        concurrency=concurrency,
        gates=getattr(error, "gates", None) or (),
        schedule=getattr(error, "schedule", "topological"),
        outputs=getattr(error, "outputs", None) or {},
        failure=_raised(error),
    )


def _raised(error: Any) -> str:
    """What the failed node raised, on one line: its exception's type and message."""
    cause = getattr(error, "__cause__", None)
    if cause is None:
        return ""
    return " ".join(f"{type(cause).__name__}: {cause}".split())


def _depth(G: nx.DiGraph, node: str) -> int:
    """How many loops, map-overs and routes ``node`` is inside."""
    depth, parent = 0, G.nodes[node].get("parent")
    while parent is not None:
        depth, parent = depth + 1, G.nodes[parent].get("parent")
    return depth


def _where(call: Any) -> tuple[Any, int]:
    return call.path, call.attempt


def _asked(call: Any) -> str:
    """A call's prompt, and the feedback it was asked again with."""
    again = f"\n(asked again: {call.feedback})" if call.feedback else ""
    return f"{call.prompt}{again}"


def _answer(call: Any) -> str:
    """A call's answer, or why it has none."""
    return call.answer if call.answer is not None else f"(no answer: {call.error})"


def _failed(call: Any) -> bool:
    """Whether a model call failed on its own (not stopped because a sibling failed)."""
    error = str(call.error or "")
    return bool(error) and not error.lower().startswith("cancel")


def _each(calls: list[Any], graph: nx.DiGraph, say: Callable[[Any], str]) -> str:
    """Every call's text under a heading naming where it ran and which attempt it was, for
    a node that made more than one call; empty otherwise."""
    if len(calls) < 2:
        return ""
    parts = []
    for call in calls:
        where = Execution(call.node, call.path, 0.0, None, "done").label(graph)
        parts.append(f"\u2014 {where}, attempt {call.attempt} \u2014\n{say(call)}")
    return "\n\n".join(parts)


@errors.refused_calls
class RunView:
    """A run's diagram, timeline and node table together; what Jupyter shows for a
    ``RunResult`` or ``RunError``. ``str()`` is the plain-text version. ``gates`` are what
    the run's gates asked (``events.GateAsk``): a gate's row shows its message filled in."""

    def __init__(
        self,
        facts: RunFacts,
        *,
        concurrency: int | None = None,
        gates: Iterable[Any] = (),
        schedule: str = "topological",
        outputs: Mapping[str, Any] | None = None,
        failure: str = "",
    ) -> None:
        self.facts = facts
        #: What the failed node raised (``ValueError: bad topic``): its row's answer.
        self.failure = failure
        #: What the nodes produced, for their answers (a failed run's facts hold none).
        self.outputs = facts.outputs if outputs is None else outputs
        self.gates: dict[str, list[Any]] = {}
        for ask in gates:
            self.gates.setdefault(ask.node, []).append(ask)
        self.diagram = StatusDiagram(facts)
        self.timeline = Timeline(facts, concurrency=concurrency, schedule=schedule)
        #: Words before the headline: which item of a batch ran (``"Item 3"``), say.
        self.label = ""

    def headline(self) -> str:
        facts = self.facts
        counts = ", ".join(
            f"{n} {STATUSES[s][0]}" for s, n in sorted(facts.counts().items(), key=_by_status)
        )
        state = facts.outcome
        if facts.failed:
            state += f" at '{facts.failed}'"
        backend = f" on {facts.backend}" if facts.backend else ""
        total = len(facts.status)
        nodes = f"{total} node{'s' if total != 1 else ''}"
        label = f"{self.label}: " if self.label else ""
        return f"{label}{state}{backend}: {nodes} ({counts}); {self.timeline.summary()}"

    def rows(self) -> list[dict[str, Any]]:
        """One dict per node: status, node (``depth``: how many scopes it is in), kind,
        model, runs (``not_started`` apart: items that waited for a model-call slot until
        the run stopped), model calls (``attempts``:
        one per try, every item and iteration), duration, what it was asked and what it
        answered. An agent that made calls shows its rendered prompt and the model's answer
        (``asked``/``answer`` the last, ``asked_all``/``answers_all`` every call, when it
        made more than one, in the order of their items, iterations and attempts); a gate
        that asked shows its message filled in (its last item's or iteration's); other nodes
        show their instruction, function or message, and a route the key or field it compared
        (``verdict.category``), its answer the branch it took."""
        facts, G = self.facts, self.facts.graph
        found = []
        for node, status in facts.status.items():
            data = G.nodes[node]
            kind = str(data.get("kind", ""))
            everything = facts.of(node)
            mine = [e for e in everything if e.status != "not_started"]
            runs = [e for e in mine if facts.took(e) is not None]  # failed: until it failed
            calls = sorted(facts.calls_of(node), key=_where)  # items and iterations in order
            asked = data.get(_WHAT.get(kind, ""), "") or ""
            # a failed run's outputs are of its finished nodes only
            outputs = self.outputs if status == "done" else facts.outputs
            answer = preview(outputs.get(node))
            if calls:
                last = calls[-1]
                if status == "failed":  # the call that failed, not a sibling item's stopped one
                    last = next((c for c in reversed(calls) if _failed(c)), last)
                asked = last.prompt
                if node not in outputs:
                    answer = _answer(last)
            elif node in self.gates:  # the last item's or iteration's message, filled in
                asked = max(self.gates[node], key=lambda ask: ask.path).message
            if node == facts.failed and status == "failed" and not calls and self.failure:
                answer = answer or f"(failed: {self.failure})"  # a transform's or gate's
            found.append(
                {
                    "status": status,
                    "node": node,
                    "depth": _depth(G, node),  # how many scopes it is in
                    "kind": kind,
                    "model": data.get("model") or "",
                    "runs": len(mine),
                    "not_started": len(everything) - len(mine),
                    # a reused node's calls are its stored answers: no model was asked
                    "attempts": 0 if status == "reused" else len(calls),
                    "seconds": sum(facts.took(e) or 0.0 for e in runs) if runs else None,
                    "asked": asked if isinstance(asked, str) else str(asked),
                    "answer": answer,
                    "asked_all": _each(calls, G, _asked),
                    "answers_all": _each(calls, G, _answer),
                }
            )
        return found

    def table_html(self) -> str:
        head = "".join(
            f"<th style='text-align:left;padding:3px'>{h}</th>"
            for h in (
                "status",
                "node",
                "kind",
                "model",
                "runs",
                "attempts",
                "time",
                "asked",
                "answer",
            )
        )
        body, rows = [], self.rows()
        most = max(min(FULL, _ALL_TEXT // max(2 * len(rows), 1)), 4 * PREVIEW)
        for row in rows:
            word, fill, line = STATUSES[row["status"]]
            chip = (
                f"<span style='background:{fill};border:1px solid {line};border-radius:3px;"
                f"padding:0 5px;white-space:nowrap'>{html.escape(word)}</span>"
            )
            body.append(
                f"<tr class='status-{row['status']}' data-node="
                f"'{html.escape(row['node'], quote=True)}'><td>{chip}</td>"
                f"{name_cell(row['node'], bold=True, depth=row['depth'])}"
                f"<td>{html.escape(kind_word(row['kind']))}</td>"
                f"{name_cell(str(row['model']))}<td>{runs_cell(row)}</td>"
                f"<td>{row['attempts'] or ''}</td>"
                f"{time_cell(row)}"
                f"{text_cell(row['asked'], row['asked_all'], most)}"
                f"{text_cell(row['answer'], row['answers_all'], most)}</tr>"
            )
        return (
            # every cell padded as its heading is: a long time ('151 ms in all') or a cut
            # prompt no longer runs into the next column's text
            "<table cellpadding='3' style='border-collapse:collapse;font-size:12px'>"
            f"<thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"
        )

    def table_text(self) -> str:
        """What each node was asked and answered, as text (the statuses and times are in the
        diagram's text): one line per node that made calls or has an answer, shortened."""
        lines = []
        for row in self.rows():
            if not (row["attempts"] or row["answer"]):
                continue
            calls = row["attempts"]
            count = f"{calls} call{'s' if calls != 1 else ''}" if calls else ""
            count = "reused" if row["status"] == "reused" else count
            asked = f"{shorten(row['asked'], 40)!r} -> " if row["asked"] else ""
            name = one_line(row["node"], 40)
            lines.append(f"  {padded(name, 16)} {count:<9} {asked}{shorten(row['answer'], 50)!r}")
        return "\n".join(["Asked and answered:", *lines]) if lines else ""

    def html(self) -> str:
        facts = self.facts
        error = ""
        if facts.message:
            error = (
                "<div style='color:#b71c1c;white-space:pre-wrap;margin:4px 0'>"
                f"{html.escape(facts.message)}</div>"
            )
        note = ""
        if not facts.traced:  # a failure's message: an error's view (a generated flow's)
            run = "error" if facts.message else "result"
            note = (
                "<div style='color:#666'>Drawn from the trace: pass the pipeline "
                f"({run}.view(pipeline)) for its edges and the nodes not reached.</div>"
            )
        scroll = "<div style='overflow-x:auto'>{}</div>"
        rows, nodes = len(self.timeline.rows), len(facts.status)
        timeline = f"Timeline ({rows} rows{_folded(rows)})" if _folded(rows) else "Timeline"
        if hidden := hidden_count(self.timeline.rows):  # what the summary rows stand for
            timeline = f"Timeline ({rows} rows, {hidden} more bars summarised{_folded(rows)})"
        return (
            f"<div class='irgraph-run' style=\"{_STYLE}\">"
            f"<div style='font-weight:600'>{html.escape(self.headline())}</div>{error}{note}"
            + scroll.format(self.diagram.svg)
            + f"<details{_open(rows)}><summary>{timeline}</summary>"
            + scroll.format(self.timeline.svg)
            + f"</details><details{_open(nodes)}><summary>Nodes ({nodes}{_folded(nodes)})</summary>"
            + scroll.format(self.table_html())
            + "</details></div>"
        )

    def text(self) -> str:
        parts = [self.headline()]
        if self.facts.message:
            parts.append(self.facts.message)
        parts += [self.diagram.text(), self.timeline.text(), self.table_text()]
        return "\n".join(part for part in parts if part)

    def __str__(self) -> str:
        return self.text()

    __repr__ = __str__  # what a plain Python shell echoes: the text view, not an address

    @errors.keyword_options
    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the whole view to ``path`` as its suffix says: ``.html`` (a page with the
        diagram, timeline and table, as a notebook shows them) or ``.txt``; the diagram or
        timeline alone is ``.diagram.save(...)`` or ``.timeline.save(...)``."""
        save_as(path, "view", {".html": self.page, ".txt": lambda: self.text() + "\n"})

    def page(self) -> str:
        """The view as a standalone HTML page."""
        return f"<!DOCTYPE html><meta charset='utf-8'><title>irgraph run</title>{self.html()}"

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(self.text())

    def _repr_html_(self) -> str:
        return self.html()

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        return {"text/html": self.html(), "text/plain": self.text()}


#: A timeline or node table longer than this many rows starts folded (its heading says how
#: many rows it holds, a click opens it): a run of 300 agents is not a page thousands of
#: pixels tall under its diagram.
_FOLDED_PAST = 60


def _open(rows: int) -> str:
    return "" if _folded(rows) else " open"


def _folded(rows: int) -> str:
    """``", folded: click to open"`` for a section of more than :data:`_FOLDED_PAST` rows."""
    return ", folded: click to open" if rows > _FOLDED_PAST else ""


def _by_status(item: tuple[str, int]) -> int:
    return list(STATUSES).index(item[0])


events.set_run_view(
    lambda result, pipeline, limit: result_view(result, pipeline, concurrency=limit)
)
errors.set_run_view(
    lambda error, pipeline, trace, limit: error_view(
        error, pipeline, trace=trace, concurrency=limit
    )
)
