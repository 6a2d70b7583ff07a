"""Lineage of a state key: who writes it, who reads it, the edges it flows along; part of
:mod:`irgraph.analysis`."""

from __future__ import annotations

from typing import TYPE_CHECKING

import attrs

from irgraph import checks
from irgraph.analysis_schedule import analysed_graph
from irgraph.errors import PipelineError, did_you_mean, keyword_options

if TYPE_CHECKING:
    import networkx as nx

__all__ = ["Lineage", "lineage"]


@attrs.frozen
class Lineage:
    """Who writes ``key``, who reads it, and the data edges it flows along. ``branches``
    says, for each writer inside a route's branch, the route and the case whose branch it is
    in (the innermost route): such a writer runs only when its branch is taken."""

    key: str
    writers: list[str]
    readers: list[str]
    edges: list[tuple[str, str]]
    is_input: bool = False
    branches: dict[str, tuple[str, str]] = attrs.field(factory=dict)


@keyword_options
def lineage(G: nx.DiGraph, key: str) -> Lineage:
    """Producers and consumers of ``key`` and the data edges carrying it (a map-over writes
    its item key, one item into each body's state, and reads the key it collects). After a route,
    every branch's writer is listed (any of them may have written the value a later reader
    sees), each named in ``branches`` with its route and case.

    >>> from irgraph import Agent, Route, to_graph
    >>> r = Route("r").on("k").when("x", Agent("a").writes("v")).otherwise(Agent("b").writes("v"))
    >>> found = lineage(to_graph(Agent("w").writes("k") >> r >> Agent("c").instruct("{v}")), "v")
    >>> found.writers, found.branches
    (['a', 'b'], {'a': ('r', '"x"'), 'b': ('r', 'otherwise')})
    """
    G = analysed_graph(G, "lineage")
    checks.key.check(key, "the key given to lineage()")
    known = {
        k
        for _, data in G.nodes(data=True)
        for field in ("reads", "optional_reads", "writes")
        for k in data.get(field, ())
    } | set(G.graph.get("inputs", ()))
    known |= {data["item"] for _, data in G.nodes(data=True) if data["kind"] == "map_over"}
    if key not in known:
        raise PipelineError(
            f"No node of the pipeline reads or writes {key!r}, and it is not an input."
            f"{did_you_mean(key, sorted(known))}",
            key=key,
            hint=f"Keys of this pipeline: {', '.join(sorted(known)) or 'none'}.",
        )
    writers, readers = [], []
    branches: dict[str, tuple[str, str]] = {}
    for node, data in G.nodes(data=True):
        # a loop's or route's writes are its body's: the body's nodes are the writers
        # a map-over writes each item, under its item key, into its body's state
        item = data.get("item") if data["kind"] == "map_over" else None
        if data["kind"] not in ("loop", "route") and (key in data.get("writes", ()) or key == item):
            writers.append(node)
            case = _branch_of(G, node)
            if case is not None:
                branches[node] = case
        # and reads, from each body, the key it collects
        collects = data.get("collect") if data["kind"] == "map_over" else None
        if key == collects or key in (*data.get("reads", ()), *data.get("optional_reads", ())):
            readers.append(node)
    edges = [(u, v) for u, v, keys in G.edges(data="keys") if key in keys]
    return Lineage(key, writers, readers, edges, key in G.graph.get("inputs", ()), branches)


def _branch_of(G: nx.DiGraph, node: str) -> tuple[str, str] | None:
    """The innermost route around ``node`` and the label of the case whose branch holds it."""
    inner = node
    parent = G.nodes[node]["parent"]
    while parent is not None:
        if G.nodes[parent]["kind"] == "route":
            case = G.nodes[parent]["cases"][G.nodes[inner]["branch"]]
            return parent, str(case.get("label", ""))
        inner, parent = parent, G.nodes[parent]["parent"]
    return None
