"""What a finished run tells a prediction (:mod:`irgraph.analysis`'s ``run=``): how many items
and iterations each scope instance had, which branch each route took; and the check that the
run is one of the pipeline analysed, not of another that shares some node ids."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import networkx as nx

from irgraph.errors import PipelineError, a_or_an

if TYPE_CHECKING:
    from irgraph.events import RunResult

__all__ = ["run_counts", "same_pipeline"]

Path = tuple[tuple[str, int], ...]


def run_counts(G: nx.DiGraph, run: RunResult) -> dict[tuple[str, Path], int]:
    """Per scope instance of a finished run: items, iterations, the branch taken."""
    if not hasattr(run, "trace") or not hasattr(run, "outputs"):
        raise PipelineError(
            f"run must be the RunResult of a finished run (got {type(run).__name__}).",
            hint="Pass run=run(pipeline, ...), or items=/iterations=/branches= counts.",
        )
    same_pipeline(G, getattr(run, "graph", None))
    seen: dict[tuple[str, Path], int] = {}
    for event in run.trace:
        if event.node not in G:
            raise PipelineError(
                f"The run passed as run= has node {event.node!r}, which is not in the "
                "pipeline analysed.",
                node=event.node,
                hint="Pass the result of a run of this same pipeline.",
            )
        path: Path = tuple(event.path)
        if G.nodes[event.node]["kind"] == "map_over":
            seen.setdefault((event.node, path), 0)  # a map-over over no items
        for depth, (scope, index) in enumerate(path):
            key = (scope, path[:depth])
            seen[key] = max(seen.get(key, 0), index + 1)
        parent = G.nodes[event.node]["parent"]
        if parent is not None and G.nodes[parent]["kind"] == "route":
            seen[parent, path] = G.nodes[event.node]["branch"]
    return seen


def same_pipeline(G: nx.DiGraph, ran: nx.DiGraph | None) -> None:
    """Refuse a run whose graph (``ran``) is another pipeline's than ``G``: node ids they
    share would lend their counts and durations to nodes of another kind or place."""
    if not isinstance(ran, nx.DiGraph) or ran is G:
        return

    def shape(H: nx.DiGraph) -> dict[Any, tuple[Any, Any]]:
        return {n: (d.get("kind"), d.get("parent")) for n, d in H.nodes(data=True)}

    mine, theirs = shape(G), shape(ran)
    if mine == theirs:
        return
    node = next(n for n in {**mine, **theirs} if mine.get(n) != theirs.get(n))  # one differs
    if node not in theirs:
        why = f"the run's pipeline has no node {node!r}"
    elif node not in mine:
        why = f"the run's pipeline has a node {node!r} this one does not"
    else:
        why = f"node {node!r} is {_where(*theirs[node])} there, {_where(*mine[node])} here"
    raise PipelineError(
        f"The run passed as run= is a run of another pipeline: {why}.",
        node=node,
        hint="Pass the result of a run of this same pipeline, or give items=, iterations= and "
        "branches= counts.",
    )


def _where(kind: Any, parent: Any) -> str:
    """``an agent at the top level``, ``a loop inside 'refine'``."""
    place = "at the top level" if parent is None else f"inside {parent!r}"
    return f"{a_or_an(str(kind))} {kind} {place}"
