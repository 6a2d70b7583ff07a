"""What a run's timeline predicts and outlines: the makespan :mod:`irgraph.analysis` predicts
from the durations the run measured (costing the items, iterations and branches the run had,
and what its unfinished nodes ran for), the critical path, and which executions on it the
run's end waited for.
"""

from __future__ import annotations

from typing import Any

from irgraph.analysis_measured import RunShape, measured_latency, started
from irgraph.errors import IrgraphError
from irgraph.run_status import RunFacts

__all__ = ["prediction", "critical_executions"]


def prediction(
    facts: RunFacts, *, concurrency: int | None, schedule: str
) -> tuple[float | None, list[str]]:
    """The makespan :func:`irgraph.analysis.makespan` predicts for the run of ``facts``, from
    its measured durations, with ``concurrency`` model calls at once on the backend's
    ``schedule``, and the critical path's nodes that ran; ``(None, [])`` when the analysis
    cannot cost the graph (one read from the trace alone)."""
    from irgraph.analysis import critical_path, makespan

    latency = measured_latency(facts)
    if not latency:
        return None, []
    try:
        ran: Any = RunShape(facts)  # what the analyses read of a run
        predicted = makespan(
            facts.graph, latency, concurrency=concurrency, schedule=schedule, run=ran
        )
        # Its loops costed by the iterations they ran: one stopped early by its `until`
        # is no longer than the branch beside it the run waited for.
        found = critical_path(facts.graph, latency, schedule=schedule, run=ran)
    except (IrgraphError, KeyError, ValueError):  # a graph read from the trace alone
        return None, []
    # A route on the path ran one branch each time: whichever it took is on the path.
    path = list(found.path)
    for route in found.branches:
        if route in path:
            path += [n for chain in found.by_branch[route].values() for n in chain]
    return predicted, list(dict.fromkeys(n for n in path if facts.of(n)))


def critical_executions(facts: RunFacts, critical: set[str]) -> set[tuple[str, Any]]:
    """The executions of the ``critical`` nodes that the run's end waited for: in a
    map-over, only those of the item that ended last (its other items were done earlier and
    held nothing up); every iteration of a loop (they run one after another)."""
    last: dict[tuple[str, Any], tuple[float, int]] = {}  # map-over instance -> latest item
    kinds = facts.graph.nodes
    for e in started(facts):  # an item that never started held nothing up
        end = e.end if e.end is not None else facts.measured
        for depth, (scope, index) in enumerate(e.path):
            if scope in kinds and kinds[scope].get("kind") == "map_over":
                key = (scope, e.path[:depth])
                if key not in last or end > last[key][0]:
                    last[key] = (end, index)
    found = set()
    for e in started(facts):
        if e.node in critical and all(
            last.get((scope, e.path[:depth]), (0.0, index))[1] == index
            for depth, (scope, index) in enumerate(e.path)
        ):
            found.add((e.node, e.path))
    return found
