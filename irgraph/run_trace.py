"""A run's trace read: its start and end events paired into executions, and the graph a
trace alone shows, for a run that does not carry its pipeline.

Loops and map-overs repeat their body's nodes, each execution with its ``path``, so a start
is paired with the end of the same node at the same path; an execution stopped by a failure
has a start and no end.

>>> from irgraph.events import Event
>>> trace = [Event("a", "start", 0.0), Event("b", "start", 0.5), Event("a", "end", 1.0)]
>>> executions_in(trace)
[('a', (), 0.0, 1.0), ('b', (), 0.5, None)]
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from itertools import pairwise
from typing import TYPE_CHECKING, Any

from irgraph.schema import scopes

if TYPE_CHECKING:
    import networkx as nx

__all__ = ["Path", "executions_in", "trace_graph"]

#: Where an execution ran: (scope, index) of each loop or map-over around it, outermost first.
Path = tuple[tuple[str, int], ...]


def executions_in(trace: Iterable[Any]) -> list[tuple[str, Path, float, float | None]]:
    """(node, path, start, end) per execution, in start order; events other than start and
    end are left out."""
    open_: dict[tuple[str, Path], list[int]] = {}
    found: list[list[Any]] = []
    for event in trace:
        key = (event.node, tuple(event.path))
        if event.event == "start":
            open_.setdefault(key, []).append(len(found))
            found.append([event.node, key[1], event.time, None])
        elif event.event == "end" and open_.get(key):
            found[open_[key].pop()][3] = event.time
    return [(n, p, s, e) for n, p, s, e in found]


def trace_graph(trace: Sequence[Any]) -> nx.DiGraph:
    """A graph read from a trace alone, for a run that does not carry its pipeline: its
    nodes in the order they first started, each inside the loop or map-over its path names,
    and an arrow ``u -> v`` where ``v`` started after ``u`` ended, within one scope (the
    fewest such arrows that keep that order). A scope whose items overlapped in time is
    shown as a map-over, else as a loop."""
    import networkx as nx

    pairs = executions_in(trace)
    G = nx.DiGraph(name="run")
    spans: dict[str, dict[int, tuple[float, float]]] = {}
    for node, path, start, end in pairs:
        if node not in G:
            parent = path[-1][0] if path else None
            G.add_node(node, kind="agent", label=node, parent=parent, branch=None)
        for scope, index in path:
            lo, hi = spans.setdefault(scope, {}).get(index, (start, start))
            spans[scope][index] = (min(lo, start), max(hi, end if end is not None else start))
    for scope, items in spans.items():
        if scope not in G:
            G.add_node(scope, kind="loop", label=scope, parent=None, branch=None)
        ordered = sorted(items.values())
        overlap = any(b[0] < a[1] for a, b in pairwise(ordered))
        G.nodes[scope].update(
            kind="map_over" if overlap else "loop", max_iterations=len(items) or 1
        )
    first: dict[str, tuple[float, float]] = {}
    for node, _, start, end in pairs:
        s, e = first.get(node, (start, start))
        first[node] = (min(s, start), max(e, end if end is not None else start))
    for members in scopes(G).values():
        timed = [n for n in members if n in first]
        for u in timed:
            for v in timed:
                if u != v and first[u][1] <= first[v][0]:
                    G.add_edge(u, v, control=True, keys=[])
    reduced = nx.transitive_reduction(G)
    G.remove_edges_from([edge for edge in list(G.edges) if not reduced.has_edge(*edge)])
    return G
