"""What a run reports: events as it goes, and the result at the end."""

from __future__ import annotations

from typing import Any, NamedTuple

import attrs

__all__ = ["Event", "RunResult", "TraceLog"]


class Event(NamedTuple):
    """One thing that happened in a run.

    ``event`` is ``"start"`` or ``"end"`` (one pair per execution of an agent, transform,
    gate or route; loops and map-overs add their own pair; a route's pair encloses its chosen
    branch, and the branches not taken have no events), or ``"chunk"`` for streamed text
    (``text``; an agent asked again for a structured value streams each attempt).
    ``path`` locates the execution inside scopes: ``(("refine", 2),)`` is iteration 2 of loop
    ``refine``, ``(("summaries", 0),)`` item 0 of a map-over. ``time`` is monotonic seconds.
    """

    node: str
    event: str
    time: float
    path: tuple[tuple[str, int], ...] = ()
    text: str | None = None


class TraceLog:
    """Start/end events recorded as flat columns, turned into :class:`Event` s on demand.

    A run records two events per node; keeping them as plain columns (strings, floats and a
    shared path tuple) instead of one tuple each keeps a large run from feeding the garbage
    collector tens of thousands of container objects.
    """

    __slots__ = ("nodes", "paths", "starts", "times")

    def __init__(self) -> None:
        self.nodes: list[str] = []
        self.starts: list[bool] = []
        self.times: list[float] = []
        self.paths: list[tuple[tuple[str, int], ...]] = []

    def record(
        self, node: str, start: bool, time: float, path: tuple[tuple[str, int], ...]
    ) -> None:
        self.nodes.append(node)
        self.starts.append(start)
        self.times.append(time)
        self.paths.append(path)

    def events(self) -> list[Event]:
        return [
            Event(node, "start" if start else "end", time, path)
            for node, start, time, path in zip(
                self.nodes, self.starts, self.times, self.paths, strict=True
            )
        ]


@attrs.define
class RunResult:
    """The final state of a run, its trace, what each node produced, and which backend ran it."""

    state: dict[str, Any]
    _trace: list[Event] | TraceLog = attrs.field(alias="trace")
    outputs: dict[str, Any] = attrs.field(factory=dict)
    backend: str = attrs.field(kw_only=True)
    warnings: list[str] = attrs.field(factory=list)
    placeholder: bool = False
    run_id: str | None = None

    @property
    def trace(self) -> list[Event]:
        """Every start/end event, in the order they happened."""
        if isinstance(self._trace, TraceLog):
            self._trace = self._trace.events()
        return self._trace

    @property
    def output(self) -> Any:
        """The value produced by the node that finished last in graph order."""
        if not self.outputs:
            return None
        return next(reversed(self.outputs.values()))

    def events(self, node: str) -> list[Event]:
        """The trace events of one node."""
        return [e for e in self.trace if e.node == node]
