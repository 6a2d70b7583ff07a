"""Scopes of a pipeline graph: which nodes each scope holds, and its edges seen from it.

A loop, map-over or route is a scope: its body's nodes name it as their ``parent``. A scheduler
or a diagram works on one scope at a time, where an edge that crosses the scope's boundary is
an edge of the nodes enclosing its ends (:func:`lifted_edges`). Reads networkx's own dicts
(``G._node``, ``G._adj``), which the views would copy per node on 10 000-node graphs.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from irgraph.errors import PipelineError

if TYPE_CHECKING:
    import networkx as nx

__all__ = ["SCOPE_KINDS", "scopes", "lifted_edges", "scope_predecessors"]

#: The kinds of node that hold a body.
SCOPE_KINDS = frozenset({"loop", "map_over", "route"})


def scopes(G: nx.DiGraph) -> dict[str | None, list[str]]:
    """The nodes of each scope (``None``: the top level) in reading order."""
    found: dict[str | None, list[str]] = {None: []}
    for nid, data in _nodes(G, "scopes").items():  # networkx's node dict: no view per node
        found.setdefault(data["parent"], []).append(nid)
        if data["kind"] in SCOPE_KINDS:
            found.setdefault(nid, [])
    return found


def _chain(parents: Mapping[str, str | None], node: str) -> list[str]:
    """``node`` and the scopes around it, innermost first."""
    chain = [node]
    parent = parents[node]
    while parent is not None:
        chain.append(parent)
        parent = parents[parent]
    return chain


def _lift(parents: Mapping[str, str | None], u: str, v: str) -> tuple[str, str] | None:
    """The edge ``u -> v`` seen from the innermost scope holding both ends: the ends replaced
    by their enclosing nodes in that scope, or ``None`` when one end encloses the other."""
    if parents[u] == parents[v]:
        return u, v
    cu, cv = _chain(parents, u), _chain(parents, v)
    if u in cv or v in cu:
        return None  # an edge between a scope and its own body
    parents_v = {parents[b]: b for b in cv}
    for a in cu:
        parent = parents[a]
        if parent in parents_v:
            return a, parents_v[parent]
    return None


def _parents(G: nx.DiGraph, function: str = "lifted_edges") -> dict[str, str | None]:
    return {nid: data["parent"] for nid, data in _nodes(G, function).items()}


def _nodes(G: Any, function: str) -> Any:
    """``G``'s node dict, or the error saying that ``function`` takes the graph of a pipeline
    (a builder or IR node had no ``_node`` to fail on, in words of networkx's internals)."""
    nodes = getattr(G, "_node", None)
    if nodes is None or not hasattr(G, "_adj"):
        from irgraph.graph_mistakes import named

        raise PipelineError(
            f"{function}() takes the graph of a pipeline (got {named(G)}).",
            hint=f"Make it with to_graph: {function}(to_graph(pipeline)) (from irgraph import "
            "to_graph).",
        )
    return nodes


def lifted_edges(G: nx.DiGraph) -> Iterator[tuple[str, str, bool, list[str]]]:
    """Every edge as its scope sees it, ``(u, v, control, keys)``: an edge that crosses a
    scope boundary joins the enclosing nodes of the scope that holds both ends (a read inside
    a loop from a writer outside is an edge into the loop), parallel edges merge, and edges
    between a scope and its own body drop out. Edges come in graph order."""
    parents = _parents(G)
    # Each value holds the edge's own keys list (read, never changed) until a second edge
    # merges into it: no set per edge, where most edges merge with none.
    merged: dict[tuple[str, str], tuple[bool, list[str]]] = {}
    for u, targets in G._adj.items():  # G.edges(data=True), without a view per edge
        pu = parents[u]
        for v, data in targets.items():
            ends = (u, v) if parents[v] == pu else _lift(parents, u, v)
            if ends is None:
                continue
            before = merged.get(ends)
            if before is None:
                merged[ends] = (bool(data["control"]), data["keys"])
            else:
                keys = list({*before[1], *data["keys"]})
                merged[ends] = (before[0] or bool(data["control"]), keys)
    for (u, v), (control, keys) in merged.items():
        yield u, v, control, sorted(keys)


def scope_predecessors(
    G: nx.DiGraph, *, data_only: bool = False
) -> dict[str | None, dict[str, list[str]]]:
    """For each scope, each node's predecessors in that scope (from :func:`lifted_edges`)."""
    parents = _parents(G, "scope_predecessors")
    found: dict[str | None, dict[str, list[str]]] = {
        sid: {nid: [] for nid in nodes} for sid, nodes in scopes(G).items()
    }
    for u, v, _, keys in lifted_edges(G):
        if data_only and not keys:
            continue
        found[parents[v]][v].append(u)
    return found
