"""Data dependencies of a pipeline: what each node really waits for (the ``"dataflow"``
schedule), part of :mod:`irgraph.analysis`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from irgraph.analysis_schedule import analysed_graph
from irgraph.errors import PipelineError, did_you_mean, keyword_options
from irgraph.schema import scopes

if TYPE_CHECKING:
    import networkx as nx

__all__ = ["dataflow_dependencies"]


@keyword_options
def dataflow_dependencies(G: nx.DiGraph, scope: str | None = None) -> dict[str, list[str]]:
    """For each node of ``scope``, the earlier nodes it really has to wait for.

    Walking the scope in reading order: a node waits for the last writer of each key it reads
    (read after write), for the last writer of each key it writes (write after write) and for
    every reader of that key since (write after read), so running on these dependencies alone
    gives the same state as the written order. Gates are barriers: they wait for everything
    before them and everything after waits for them. So is a node that hands the whole state
    to user code — a route with a predicate case, a loop with an ``until`` function, or a scope
    holding one — since its reads cannot be known. In a route's scope each branch is walked on
    its own: branches exclude each other, so no node waits for another branch.
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
            branch = [n for n in order if G.nodes[n]["branch"] == index]
            deps.update(_dependencies(G, branch, members))
        return {n: deps[n] for n in order}
    return _dependencies(G, order, members)


def _sees_whole_state(G: nx.DiGraph, node: str, members: dict[str | None, list[str]]) -> bool:
    """Whether running ``node`` hands the whole state to user code (a route's predicate case,
    a loop's ``until`` function), there or anywhere in its body: what it reads is unknown."""
    data = G.nodes[node]
    kind = data["kind"]
    if kind == "loop" and data.get("until_function") is not None:
        return True
    if kind == "route" and any("test" in case for case in data.get("cases", ())):
        return True
    return any(_sees_whole_state(G, inner, members) for inner in members.get(node, ()))


def _dependencies(
    G: nx.DiGraph, order: list[str], members: dict[str | None, list[str]]
) -> dict[str, list[str]]:
    """:func:`dataflow_dependencies` of the nodes ``order``, all of which run.

    A node that hands user code the whole state (:func:`_sees_whole_state`) reads every key:
    it waits for the last writer of each key among the nodes before it in control order, and
    every later writer it comes before waits for it. Parallel siblings stay apart: they run at
    the same time in the written order too.
    """
    writers: dict[str, list[str]] = {}  # every writer of each key, in order: the last wins
    readers: dict[str, list[str]] = {}
    whole: dict[str, set[str]] = {}  # each node that reads the whole state: what follows it
    members_here = set(order)
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
        writes = data.get("writes", ())
        mine: dict[str, None] = {}
        gate = data["kind"] == "gate"
        if gate:
            mine.update(dict.fromkeys(since_barrier))
        if barrier is not None:
            mine[barrier] = None
        for key in reads:
            if key in writers:
                mine[writers[key][-1]] = None
        if not gate and _sees_whole_state(G, node, members):
            before = _control_reach(G, node, members_here, G._pred)
            for history in writers.values():
                writer = next((w for w in reversed(history) if w in before), None)
                if writer is not None:
                    mine[writer] = None
            whole[node] = _control_reach(G, node, members_here, G._succ)
        for key in writes:
            if key in writers:
                mine[writers[key][-1]] = None
            mine.update(dict.fromkeys(r for r in readers.get(key, ()) if r != node))
        if writes and whole:
            mine.update(dict.fromkeys(w for w, after in whole.items() if node in after))
        mine.pop(node, None)
        deps[node] = list(mine)
        for key in reads:
            readers.setdefault(key, []).append(node)
        for key in writes:
            writers.setdefault(key, []).append(node)
            readers[key] = []
        if gate:
            barrier, since_barrier = node, []
        else:
            since_barrier.append(node)
    return deps


def _control_reach(
    G: nx.DiGraph, node: str, members: set[str], adjacency: dict[str, dict[str, Any]]
) -> set[str]:
    """The nodes of ``members`` that control edges lead to from ``node`` (``G._succ``) or
    from which they lead to it (``G._pred``): a walk, not a recursion, so a long chain is
    fine."""
    found: set[str] = set()
    todo = [node]
    while todo:
        for other, edge in adjacency[todo.pop()].items():
            if other in members and other not in found and edge.get("control"):
                found.add(other)
                todo.append(other)
    return found
