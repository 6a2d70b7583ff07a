"""A run's result given to an analysis in place of its pipeline: the analysis is of that run.

``critical_path(result)``, ``makespan(result)`` and ``parallelizable(result)`` take what the
run itself says for every argument left out: each node's **measured** latency (its mean
duration; a node that failed or was stopped costs what it ran for), the run's schedule, its
``max_concurrency`` and its items, iterations and branches. So ``makespan(result)`` is the
prediction the run's timeline shows, and ``critical_path(result)`` the path it outlines. An
argument given (``latency=1.0``, say) wins: the same run's shape costed another way.

This is what the run view (:mod:`irgraph.run_prediction`) predicts with too, so the two
cannot disagree.
"""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING, Any, Final, Literal

import attrs

from irgraph import checks

if TYPE_CHECKING:
    from irgraph.analysis_latency import Latency
    from irgraph.run_status import Execution, RunFacts

__all__ = [
    "RunDefaults",
    "run_defaults",
    "measured_latency",
    "RunShape",
    "started",
    "RUNS_LIMIT",
    "Concurrency",
    "chosen_concurrency",
]

#: The node kinds that take time of their own (a scope's is its body's).
_TIMED = ("agent", "transform", "gate")


class _RunsLimit(enum.Enum):
    RUNS_LIMIT = "the run's max_concurrency, or no limit"

    def __repr__(self) -> str:
        return "RUNS_LIMIT"


#: The ``concurrency`` an analysis takes when none is given: a run's ``max_concurrency`` when
#: it is given a run's result, else no limit. ``concurrency=None``, given, is no limit even
#: for a run that had one: ``makespan(result, concurrency=None)`` is the run without it.
RUNS_LIMIT: Final = _RunsLimit.RUNS_LIMIT

#: What an analysis' ``concurrency`` takes: a count, ``None`` (no limit) or ``RUNS_LIMIT``.
Concurrency = int | None | Literal[_RunsLimit.RUNS_LIMIT]

_LIMIT = checks.optional(checks.count())


def chosen_concurrency(concurrency: Concurrency, ran: RunDefaults, where: str) -> int | None:
    """The limit an analysis simulates: ``ran``'s (the run's, or none) for ``RUNS_LIMIT``,
    else ``concurrency`` itself, checked (``where`` names the argument)."""
    if concurrency is RUNS_LIMIT:
        return ran.concurrency
    _LIMIT.check(concurrency, where)
    return concurrency


@attrs.frozen
class RunDefaults:
    """What an analysis takes for the arguments it was not given: a run's, or the
    pipeline defaults (every node 1 s, the topological schedule, no limit, no run)."""

    latency: Latency = 1.0
    schedule: str = "topological"
    concurrency: int | None = None
    run: Any = None


def run_defaults(given: Any) -> RunDefaults:
    """The defaults for ``given``, what an analysis was passed in place of a graph: a
    ``RunResult`` or ``RunError`` gives its measured latencies, schedule, limit and shape;
    anything else (a graph, a builder) the pipeline defaults."""
    facts = _facts(given)
    if facts is None:
        return RunDefaults()
    return RunDefaults(
        latency=measured_latency(facts),
        schedule=getattr(given, "schedule", None) or "topological",
        concurrency=getattr(given, "max_concurrency", None),
        run=RunShape(facts),
    )


def _facts(given: Any) -> RunFacts | None:
    """The run facts of a ``RunResult`` or ``RunError`` that carries its graph, else None."""
    import networkx as nx

    from irgraph.errors import RunError
    from irgraph.events import RunResult

    if not isinstance(given, (RunResult, RunError)):
        return None
    if not isinstance(getattr(given, "graph", None), nx.DiGraph):
        return None  # refused as no pipeline by the analysis, with its hint
    if isinstance(given, RunError):
        return given.view().facts  # type: ignore[no-any-return]  # as its view reads it
    from irgraph.run_status import run_facts

    return run_facts(
        given.graph,
        given.trace,
        given.outputs,
        reused=given.reused,
        backend=given.backend,
        calls=given.calls,
    )


def measured_latency(facts: RunFacts) -> dict[str, float]:
    """Each node's measured latency in the run of ``facts``: the mean of its finished
    executions; a node that never finished (it failed, or was stopped) costs what it ran
    for, so a failed run is costed as the run it was, not as one without that node."""
    latency = facts.durations()
    unfinished: dict[str, float] = {}
    for e in started(facts):
        if e.node not in latency and facts.graph.nodes.get(e.node, {}).get("kind") in _TIMED:
            end = e.end if e.end is not None else facts.measured
            unfinished[e.node] = max(unfinished.get(e.node, 0.0), end - e.working)
    return {**latency, **unfinished}


class RunShape:
    """The run as ``makespan(run=...)`` reads it: which nodes ran where (its items,
    iterations and branches), so the prediction costs the run that happened."""

    def __init__(self, facts: RunFacts) -> None:
        self.trace = started(facts)  # each has the node and path an event has
        self.outputs = facts.outputs
        self.graph = facts.graph


def started(facts: RunFacts) -> list[Execution]:
    """The executions that started working: not those that waited for a model-call slot
    until the run stopped."""
    return [e for e in facts.executions if e.status != "not_started"]
