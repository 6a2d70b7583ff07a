"""What a run reports: events as it goes, and the result at the end."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any, NamedTuple

import attrs

from irgraph.checks import keyword_options
from irgraph.errors import load_run_view, refused_calls
from irgraph.record_mistakes import checked_new, field_item

if TYPE_CHECKING:
    from collections.abc import Callable, Collection

__all__ = ["Call", "CallLog", "Event", "GateAsk", "RunResult", "TraceLog", "in_graph_order"]


@checked_new
class Event(NamedTuple):
    """One thing that happened in a run.

    ``event`` is ``"start"`` or ``"end"`` (one pair per execution of an agent, transform,
    gate or route; loops and map-overs add their own pair; a route's pair encloses its chosen
    branch, and the branches not taken have no events), or ``"chunk"`` for streamed text
    (``text``; an agent asked again for a structured value streams each attempt). An agent
    that has to wait for a model-call slot (``max_concurrency``) tells an ``on_event``
    handler ``"wait"`` as it starts waiting and ``"slot"`` when it gets one, and a Prefect
    run tells ``"reused"`` before the end of a node whose result came from an earlier run's
    cache (a resumed run); the trace keeps only starts and ends.
    ``path`` locates the execution inside scopes: ``(("refine", 2),)`` is iteration 2 of loop
    ``refine``, ``(("summaries", 0),)`` item 0 of a map-over. ``time`` is monotonic seconds.
    """

    node: str
    event: str
    time: float
    path: tuple[tuple[str, int], ...] = ()
    text: str | None = None

    def __getitem__(self, index: Any) -> Any:
        """A field by position, as a tuple gives it; by name, the error that says
        ``event.node``."""
        return field_item(self, index)


_new_tuple = tuple.__new__


@checked_new
class Call(NamedTuple):
    """One model call of a run: what agent ``node`` (at ``path``) was asked, the rendered
    ``prompt``, and its ``answer`` (``None`` when the call failed: ``error`` says why), between
    ``start`` and ``end`` (monotonic seconds). An agent asked again for a structured value
    makes one call per ``attempt`` (1, 2, ...), each after the first with the ``feedback``
    that says what was wrong with the reply before. ``waited`` is how long the call waited for
    a model-call slot (``max_concurrency``) before its ``start``: measured, never inferred.
    """

    node: str
    path: tuple[tuple[str, int], ...]
    prompt: str
    answer: str | None
    model: str | None
    attempt: int
    start: float
    end: float
    error: str | None = None
    feedback: str | None = None
    waited: float = 0.0

    def __getitem__(self, index: Any) -> Any:
        """A field by position, as a tuple gives it; by name, the error that says
        ``call.prompt``."""
        return field_item(self, index)

    @classmethod
    def made(
        cls,
        request: Any,
        path: tuple[tuple[str, int], ...],
        answer: str | None,
        start: float,
        end: float,
        error: str | None = None,
        waited: float = 0.0,
    ) -> Call:
        """The call that asked ``request`` (a ``ModelRequest``) at ``path``: what
        :meth:`CallLog.record` keeps, as a call at once."""
        log = CallLog()
        log.record(request, path, answer, start, end, error, waited)
        return _new_tuple(cls, log[0])


class GateAsk(NamedTuple):
    """What a gate asked: its ``node``, where it ran (``path``, as an event's) and its
    ``message`` with every ``{key}`` filled in, as ``on_gate`` (or a paused flow run) got it."""

    node: str
    path: tuple[tuple[str, int], ...]
    message: str


class CallLog(list[tuple[Any, ...]]):
    """Model calls recorded as plain tuples of :class:`Call`'s fields (in its order), turned
    into Calls on demand (:meth:`calls`). A named tuple is made with ``tuple.__new__`` of the
    subclass, which cost a sixth of a chained agent; a plain tuple costs next to nothing, and a
    run's calls are read far less often than they are made.

    >>> log = CallLog()
    >>> log.append(("w", (), "Hi.", "Hello.", None, 1, 0.0, 0.5, None, None, 0.0))
    >>> log.calls()[0].answer
    'Hello.'
    """

    __slots__ = ()

    def record(
        self,
        request: Any,
        path: tuple[tuple[str, int], ...],
        answer: str | None,
        start: float,
        end: float,
        error: str | None = None,
        waited: float = 0.0,
    ) -> None:
        """Add the call that asked ``request`` (a ``ModelRequest``) at ``path``, after
        ``waited`` seconds for a model-call slot."""
        self.append(
            (
                request.node,
                path,
                request.prompt,
                answer,
                request.model,
                request.attempt,
                start,
                end,
                error,
                request.feedback,
                waited,
            )
        )

    def failed(
        self,
        request: Any,
        path: tuple[tuple[str, int], ...],
        start: float,
        error: BaseException,
        waited: float = 0.0,
    ) -> None:
        """Add the call that asked ``request`` and ended in ``error`` (a cancellation, or what
        the provider raised) instead of an answer."""
        import asyncio  # here: `import irgraph` does not load asyncio

        why = "cancelled" if isinstance(error, asyncio.CancelledError) else repr(error)
        self.record(request, path, None, start, time.monotonic(), why, waited)

    def calls(self) -> list[Call]:
        """The calls, as :class:`Call` s (a tuple of fewer fields, appended by code written
        before ``waited`` was one, gets the defaults of the rest)."""
        whole = len(Call._fields)
        return [
            _new_tuple(Call, fields) if len(fields) == whole else Call(*fields) for fields in self
        ]


class TraceLog:
    """Start/end events recorded as flat columns, turned into :class:`Event` s on demand.

    A run records two events per node; keeping them as plain columns (strings, floats and a
    shared path tuple) instead of one tuple each keeps a large run from feeding the garbage
    collector tens of thousands of container objects. The scheduler appends to the columns
    itself (``Scheduler.emit``): a method call per event was a measurable share of a node.
    """

    __slots__ = ("nodes", "paths", "starts", "times")

    def __init__(self) -> None:
        self.nodes: list[str] = []
        self.starts: list[bool] = []
        self.times: list[float] = []
        self.paths: list[tuple[tuple[str, int], ...]] = []

    def __eq__(self, other: object) -> bool:
        """Equal to a recording or a list of the same events (two results compare by them)."""
        if isinstance(other, TraceLog):
            return self.events() == other.events()
        if isinstance(other, list):
            return self.events() == other
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]  # equal by contents, which grow

    def events(self) -> list[Event]:
        return [
            _new_tuple(Event, (node, "start" if start else "end", time, path, None))
            for node, start, time, path in zip(
                self.nodes, self.starts, self.times, self.paths, strict=True
            )
        ]


def in_graph_order(outputs: dict[str, Any], nodes: Collection[str]) -> dict[str, Any]:
    """``outputs`` (by node id, in the order they were written) in the order of ``nodes``
    (a pipeline graph's), as :attr:`RunResult.outputs` holds them. A chain, or a fan-out
    whose branches answered in plan order, wrote them in that order already: one comparison
    of the two key lists then saves two lookups per node, 2-6% of a run of plain agents.

    >>> in_graph_order({"b": 2, "a": 1}, ["a", "b", "c"])
    {'a': 1, 'b': 2}
    """
    if len(outputs) == len(nodes) and list(outputs) == list(nodes):
        return dict(outputs)
    return {nid: outputs[nid] for nid in nodes if nid in outputs}


@refused_calls
@attrs.define
class RunResult:
    """The final state of a run, its trace, what each node produced, and which backend ran it.

    ``outputs`` holds each node's value; a node inside a map-over or loop has the value of
    its last item and iteration (in item order, as a run one item at a time leaves it).

    ``graph`` is the pipeline graph that ran, when the backend hands it on (the run view draws
    it; without it, pass the pipeline to :meth:`view`, :meth:`diagram` or :meth:`timeline`).
    ``reused`` names the nodes whose results came from an earlier run (a resumed run's cache)
    rather than from running now. ``max_concurrency`` is the run's own bound on model calls
    (``None``: none, or one shared with other runs), what its view's prediction assumes.
    ``calls`` lists every model call (:class:`Call`: the rendered prompt, the answer, one per
    attempt), in the order they ended, and ``gates`` what each gate asked (:class:`GateAsk`).
    In Jupyter a result shows its coloured diagram, timeline and node table
    (:mod:`irgraph.run_view`).
    """

    state: dict[str, Any]
    _trace: list[Event] | TraceLog = attrs.field(alias="trace", repr=False)
    outputs: dict[str, Any] = attrs.field(factory=dict)
    backend: str = attrs.field(kw_only=True)
    warnings: list[str] = attrs.field(factory=list)
    placeholder: bool = False
    run_id: str | None = None
    graph: Any = attrs.field(default=None, kw_only=True, eq=False, repr=False)
    reused: list[str] = attrs.field(factory=list, kw_only=True)
    _calls: list[Call] | CallLog = attrs.field(
        alias="calls", factory=list, kw_only=True, eq=False, repr=False
    )
    max_concurrency: int | None = attrs.field(default=None, kw_only=True, eq=False, repr=False)
    gates: list[GateAsk] = attrs.field(factory=list, kw_only=True, eq=False, repr=False)
    #: What each node waited for (the backend's ``schedule``), which the view predicts with.
    schedule: str = attrs.field(default="topological", kw_only=True, eq=False, repr=False)

    @property
    def trace(self) -> list[Event]:
        """Every start/end event, in the order they happened."""
        if isinstance(self._trace, TraceLog):
            self._trace = self._trace.events()
        return self._trace

    @property
    def calls(self) -> list[Call]:
        """Every model call, in the order they ended (:class:`Call`)."""
        if type(self._calls) is CallLog:
            self._calls = self._calls.calls()
        return self._calls  # type: ignore[return-value]

    @calls.setter
    def calls(self, calls: list[Call]) -> None:
        self._calls = calls

    @property
    def output(self) -> Any:
        """The value produced by the node that finished last in graph order."""
        if not self.outputs:
            return None
        return next(reversed(self.outputs.values()))

    def events(self, node: str) -> list[Event]:
        """The trace events of one node."""
        return [e for e in self.trace if e.node == node]

    @keyword_options
    def view(self, pipeline: Any = None, *, concurrency: int | None = None) -> Any:
        """The run's diagram, timeline and node table (what Jupyter shows for it).
        ``pipeline`` (builder, IR or graph) is needed when the result carries no ``graph``;
        ``concurrency`` is the limit the prediction assumes (default: the run's own
        ``max_concurrency``)."""
        if _run_view is None:
            load_run_view()
        assert _run_view is not None
        return _run_view(self, pipeline, concurrency)

    @keyword_options
    def diagram(self, pipeline: Any = None) -> Any:
        """The pipeline diagram with every node coloured by what happened to it: ``.svg``,
        ``.to_mermaid()``, ``str()`` for text."""
        return self.view(pipeline).diagram

    @keyword_options
    def timeline(self, pipeline: Any = None, *, concurrency: int | None = None) -> Any:
        """The Gantt chart of the run: ``.svg``, ``.to_mermaid()`` (``gantt``), ``str()``."""
        return self.view(pipeline, concurrency=concurrency).timeline

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        try:
            bundle: dict[str, Any] = self.view()._repr_mimebundle_()
        except Exception as exc:  # displaying never raises (a custom backend's graph, say)
            return {"text/plain": f"{self!r} (no run view: {type(exc).__name__}: {exc})"}
        return bundle


#: Draws a run (installed by :mod:`irgraph.run_view`, which ``import irgraph`` loads: the view
#: imports the analyses, which import this module, so this module cannot import the view).
_run_view: Callable[[RunResult, Any, int | None], Any] | None = None


def set_run_view(view: Callable[[RunResult, Any, int | None], Any]) -> None:
    """Install the function :meth:`RunResult.view` draws with."""
    global _run_view
    _run_view = view
