"""Data dependencies of a pipeline: what each node really waits for (the ``"dataflow"``
schedule), part of :mod:`irgraph.analysis`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from irgraph.analysis_schedule import analysed_graph
from irgraph.errors import PipelineError, did_you_mean
from irgraph.schema import scopes

if TYPE_CHECKING:
    import networkx as nx

__all__ = ["dataflow_dependencies"]


def dataflow_dependencies(G: nx.DiGraph, scope: str | None = None) -> dict[str, list[str]]:
    """For each node of ``scope``, the earlier nodes it really has to wait for.

    Walking the scope in reading order: a node waits for the last writer of each key it reads
    (read after write), for the last writer of each key it writes (write after write) and for
    every reader of that key since (write after read), so running on these dependencies alone
    gives the same state as the written order. Gates are barriers: they wait for everything
    before them and everything after waits for them. In a route's scope each branch is
    walked on its own: branches exclude each other, so no node waits for another branch.
    """
    G = analysed_graph(G, "dataflow_dependencies")
    members = scopes(G)
    if scope not in members:
        raise PipelineError(
            f"dataflow_dependencies(scope={scope!r}): the pipeline has no loop, map-over or "
            f"route with that id.{did_you_mean(str(scope), [n for n in members if n is not None])}",
            hint="Pass the id of a loop, map-over or route, or None for the top level.",
        )
    order = members[scope]
    if scope is not None and G.nodes[scope]["kind"] == "route":
        # Exactly one branch runs: each waits only within itself, never for another branch.
        deps: dict[str, list[str]] = {}
        for index in dict.fromkeys(G.nodes[n]["branch"] for n in order):
            deps.update(_dependencies(G, [n for n in order if G.nodes[n]["branch"] == index]))
        return {n: deps[n] for n in order}
    return _dependencies(G, order)


def _dependencies(G: nx.DiGraph, order: list[str]) -> dict[str, list[str]]:
    """:func:`dataflow_dependencies` of the nodes ``order``, all of which run."""
    last_writer: dict[str, str] = {}
    readers: dict[str, list[str]] = {}
    barrier: str | None = None
    since_barrier: list[str] = []
    deps: dict[str, list[str]] = {}
    for node in order:
        data = G.nodes[node]
        reads = {
            *data.get("reads", ()),
            *data.get("optional_reads", ()),
            *data.get("body_reads", ()),
            *data.get("body_optional_reads", ()),
        }
        mine: dict[str, None] = {}
        if data["kind"] == "gate":
            mine.update(dict.fromkeys(since_barrier))
            if barrier is not None:
                mine[barrier] = None
        elif barrier is not None:
            mine[barrier] = None
        for key in reads:
            if key in last_writer:
                mine[last_writer[key]] = None
        for key in data.get("writes", ()):
            if key in last_writer:
                mine[last_writer[key]] = None
            mine.update(dict.fromkeys(r for r in readers.get(key, ()) if r != node))
        mine.pop(node, None)
        deps[node] = list(mine)
        for key in reads:
            readers.setdefault(key, []).append(node)
        for key in data.get("writes", ()):
            last_writer[key] = node
            readers[key] = []
        if data["kind"] == "gate":
            barrier, since_barrier = node, []
        else:
            since_barrier.append(node)
    return deps
