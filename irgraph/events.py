"""What a run reports: events as it goes, and the result at the end."""

from __future__ import annotations

from typing import Any, NamedTuple

import attrs

__all__ = ["Event", "RunResult"]


class Event(NamedTuple):
    """One thing that happened in a run.

    ``event`` is ``"start"`` or ``"end"`` (one pair per execution of an agent, transform or
    gate; loops and map-overs add their own pair), or ``"chunk"`` for streamed text (``text``).
    ``path`` locates the execution inside scopes: ``(("refine", 2),)`` is iteration 2 of loop
    ``refine``, ``(("summaries", 0),)`` item 0 of a map-over. ``time`` is monotonic seconds.
    """

    node: str
    event: str
    time: float
    path: tuple[tuple[str, int], ...] = ()
    text: str | None = None


@attrs.define
class RunResult:
    """The final state of a run, its trace, and what each node produced."""

    state: dict[str, Any]
    trace: list[Event]
    outputs: dict[str, Any] = attrs.field(factory=dict)
    backend: str = "asyncio"
    warnings: list[str] = attrs.field(factory=list)
    placeholder: bool = False
    run_id: str | None = None

    @property
    def output(self) -> Any:
        """The value produced by the node that finished last in graph order."""
        if not self.outputs:
            return None
        return next(reversed(self.outputs.values()))

    def events(self, node: str) -> list[Event]:
        """The trace events of one node."""
        return [e for e in self.trace if e.node == node]
