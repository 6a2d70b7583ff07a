"""Lineage of a state key: who writes it, who reads it, the edges it flows along; part of
:mod:`irgraph.analysis`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

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
    in (the innermost route): such a writer runs only when its branch is taken. ``carried``
    holds the ``(writer, reader)`` pairs the key flows along from one pass of a loop to the
    next: a reader in a loop's body that reads what a writer at or after it in the body
    wrote in the pass before (the graph, acyclic, has no edge for them; ``(w, w)`` for a step
    that reads the key it writes)."""

    key: str
    writers: list[str]
    readers: list[str]
    edges: list[tuple[str, str]]
    is_input: bool = False
    branches: dict[str, tuple[str, str]] = attrs.field(factory=dict)
    carried: list[tuple[str, str]] = attrs.field(factory=list)


@keyword_options
def lineage(G: nx.DiGraph, key: str) -> Lineage:
    """Producers and consumers of ``key`` and the data edges carrying it (a map-over writes
    its item key, one item into each body's state, and reads the key it collects). After a route,
    every branch's writer is listed (any of them may have written the value a later reader
    sees), each named in ``branches`` with its route and case. Inside a loop, a key read
    before the step that writes it is carried from each pass to the next: ``carried`` has
    those pairs (below, the critic reads the draft the writer wrote in the pass before).

    >>> from irgraph import Agent, Route, to_graph
    >>> r = Route("r").on("k").when("x", Agent("a").writes("v")).otherwise(Agent("b").writes("v"))
    >>> found = lineage(to_graph(Agent("w").writes("k") >> r >> Agent("c").instruct("{v}")), "v")
    >>> found.writers, found.branches
    (['a', 'b'], {'a': ('r', '"x"'), 'b': ('r', 'otherwise')})
    >>> from irgraph import Loop
    >>> critic = Agent("critic").instruct("Critique {draft}.").writes("notes")
    >>> body = critic >> Agent("writer").instruct("Improve {draft}: {notes}").writes("draft")
    >>> G = to_graph(Agent("first").writes("draft") >> Loop("edit").step(body).max_iterations(3))
    >>> found = lineage(G, "draft")
    >>> found.edges, found.carried
    ([('first', 'critic'), ('first', 'writer')], [('writer', 'critic'), ('writer', 'writer')])
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
    carried = _carried(G, key, readers, writers)
    given = key in G.graph.get("inputs", ())
    return Lineage(key, writers, readers, edges, given, branches, carried)


def _carried(
    G: nx.DiGraph, key: str, readers: list[str], writers: list[str]
) -> list[tuple[str, str]]:
    """The ``(writer, reader)`` pairs of ``key`` carried by a loop from one pass to the next:
    a writer whose write may be the last before the reader (:func:`irgraph.reaching.reaching`)
    though it does not run before the reader in a pass (it is no ancestor of it)."""
    import networkx as nx

    from irgraph.reaching import reaching

    looped = [r for r in readers if _reads(G._node[r], key) and _in_loop(G, r)]
    if not looped or not writers or G.graph.get("tree") is None:
        return []
    found = reaching(G, G.graph["tree"], dict.fromkeys(looped, key))
    order = {node: index for index, node in enumerate(G)}
    pairs = []
    for reader in looped:
        before = nx.ancestors(G, reader)
        pairs += [(w, reader) for w in found.get(reader, ()) if w in order and w not in before]
    return sorted(pairs, key=lambda pair: (order[pair[1]], order[pair[0]]))


def _reads(data: dict[str, Any], key: str) -> bool:
    """Whether a node (its ``data``) reads ``key`` before it runs: not a map-over's collect,
    which it reads from its body's state at the end of each item."""
    return key in data.get("reads", ()) or key in data.get("optional_reads", ())


def _in_loop(G: nx.DiGraph, node: str) -> bool:
    """Whether ``node`` runs inside a loop's body (at any depth)."""
    parent = G._node[node]["parent"]
    while parent is not None:
        if G._node[parent]["kind"] == "loop":
            return True
        parent = G._node[parent]["parent"]
    return False


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
