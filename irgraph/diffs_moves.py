"""Where a kept node sits, old and new: the scope it is in (``parent``), the route case it
runs on (``branch``) and the nodes of its scope it runs after (``order``), for
:func:`irgraph.diffs.diff`. A node moved into a loop now runs once per iteration, one moved
to another case runs on another value, and two swapped steps each run after the other: each
is a change of what runs, though no setting of the node changed.

>>> from irgraph import Agent, Loop, to_graph
>>> from irgraph.diffs import diff
>>> a, b, c = (Agent(n).instruct(n) for n in "abc")
>>> print(diff(to_graph(a >> b >> c), to_graph(a >> c >> b)))
~ node b: order (after a -> after c)
~ node c: order (after b -> after a)
+ edge a -> c
+ edge c -> b
- edge a -> b
- edge b -> c
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import networkx as nx

__all__ = ["moves"]


def moves(
    G1: nx.DiGraph, G2: nx.DiGraph, pairs: dict[str, str]
) -> dict[str, dict[str, tuple[str, str]]]:
    """How each kept node moved, by new id (``pairs`` maps old ids to new ones): for each of
    ``parent``, ``branch`` and ``order`` that differ, its old and new place as text.
    ``branch`` is compared only within one scope, ``order`` (the kept nodes of its scope and
    branch it runs right after) only within one scope and branch, and among kept nodes only,
    so a node added or removed before another does not move it."""
    kept_old, kept_new = set(pairs), set(pairs.values())
    order = {n: i for i, n in enumerate(G2)}
    found: dict[str, dict[str, tuple[str, str]]] = {}
    for node_old, node in pairs.items():
        a, b = G1.nodes[node_old], G2.nodes[node]
        # A scope removed around the node is a move too (out of it), though its new
        # parent is the removed scope's own (``None`` at top level).
        parent_old = a["parent"] and pairs.get(a["parent"], "")
        if parent_old != b["parent"]:
            found[node] = {"parent": (_scope(a["parent"]), _scope(b["parent"]))}
            continue
        case_old, case_new = _case(G1, node_old), _case(G2, node)
        if case_old is not None and case_new is not None:
            # By label while the old case is still there; by place when its value changed
            # (a change of the route's cases, which the route itself shows).
            labels_new = [case["label"] for case in G2.nodes[b["parent"]]["cases"]]
            same = (
                case_old[1] == case_new[1]
                if case_old[1] in labels_new
                else case_old[0] == case_new[0]
            )
            if not same:
                found[node] = {"branch": (case_old[1], case_new[1])}
                continue
        before_old = {pairs[n] for n in _kept_before(G1, node_old, kept_old)}
        before_new = _kept_before(G2, node, kept_new)
        if before_old != before_new:
            found[node] = {"order": (_after(before_old, order), _after(before_new, order))}
    return found


def _scope(parent: str | None) -> str:
    return "top level" if parent is None else parent


def _case(G: nx.DiGraph, node: str) -> tuple[int, str] | None:
    """The index and label of the route case ``node`` runs on, if it is in a route's body."""
    data = G.nodes[node]
    if data.get("branch") is None or data["parent"] is None:
        return None
    cases: list[dict[str, Any]] = G.nodes[data["parent"]].get("cases", [])
    index = data["branch"]
    label = cases[index]["label"] if 0 <= index < len(cases) else str(index)
    return index, str(label)


def _kept_before(G: nx.DiGraph, node: str, kept: set[str]) -> set[str]:
    """The kept nodes of ``node``'s scope and branch that it runs right after: its control
    predecessors there, looking through nodes that are not kept."""
    data = G.nodes[node]
    place = (data["parent"], data.get("branch"))
    found: set[str] = set()
    todo, seen = [node], {node}
    while todo:
        current = todo.pop()
        for before, edge in G._pred[current].items():
            other = G.nodes[before]
            if before in seen or not edge["control"]:
                continue
            if (other["parent"], other.get("branch")) != place:
                continue
            seen.add(before)
            if before in kept:
                found.add(before)
            else:
                todo.append(before)
    return found


def _after(nodes: set[str], order: dict[str, int]) -> str:
    if not nodes:
        return "first"
    return "after " + ", ".join(sorted(nodes, key=lambda n: (order.get(n, len(order)), n)))
