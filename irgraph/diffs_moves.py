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
    from collections.abc import Callable

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
    so a node added or removed before another does not move it; a neighbour that moved into
    a new scope there is compared as that scope, and one that moved in or out is looked
    through, so another node's move is not reported as this node's (:class:`_Shift`)."""
    order = {n: i for i, n in enumerate(G2)}
    held: dict[str, list[str]] = {}  # old scope -> the kept nodes in it, at any depth
    for kept in pairs:
        for scope in _ancestors(G1, kept):
            held.setdefault(scope, []).append(kept)
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
        shift = _Shift(G1, G2, pairs, held, (b["parent"], b.get("branch")))
        shown_old, before_old = shift.before_old(node_old)
        before_new = shift.before_new(node, _place(G1, node_old))
        if before_old != before_new:
            found[node] = {"order": (_after(shown_old, order), _after(before_new, order))}
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


def _place(G: nx.DiGraph, node: str) -> tuple[str | None, int | None]:
    data = G.nodes[node]
    return data["parent"], data.get("branch")


class _Shift:
    """The nodes a kept node runs right after in its scope and branch, old and new, both by
    the new nodes in its new scope and branch that stand for them: a kept node by itself or
    the new scope it moved into, a removed scope by the kept nodes it held. A node that no
    longer stands for anything there (it left the scope) is looked through, and so is one
    the new graph has that stands for no node of the old scope (it moved in): another
    node's move is not a change of this node's order."""

    def __init__(
        self,
        G1: nx.DiGraph,
        G2: nx.DiGraph,
        pairs: dict[str, str],
        held: dict[str, list[str]],
        place: tuple[str | None, int | None],
    ) -> None:
        self.G1, self.G2, self.pairs, self.held, self.place = G1, G2, pairs, held, place

    def _lift(self, node: str | None) -> str | None:
        """``node`` or the scope holding it that sits in the new scope and branch."""
        while node is not None and _place(self.G2, node) != self.place:
            node = self.G2.nodes[node]["parent"]
        return node

    def stands(self, old: str) -> set[str]:
        if old in self.pairs:
            held = [old]
        else:
            held = self.held.get(old, [])
        lifted = {self._lift(self.pairs[n]) for n in held}
        return {n for n in lifted if n is not None}

    def before_old(self, node: str) -> tuple[set[str], set[str]]:
        """What ``node`` (old id) ran right after, as the text shows it (kept nodes by their
        new ids) and as compared (what stands for them now)."""
        shown: set[str] = set()
        found: set[str] = set()
        for before in _before(self.G1, node, lambda n: bool(self.stands(n))):
            shown |= {self.pairs[before]} if before in self.pairs else self.stands(before)
            found |= self.stands(before)
        return shown, found

    def before_new(self, node: str, place_old: tuple[str | None, int | None]) -> set[str]:
        siblings = set().union(
            *(self.stands(n) for n in self.G1 if _place(self.G1, n) == place_old)
        )
        return _before(self.G2, node, siblings.__contains__)


def _ancestors(G: nx.DiGraph, node: str) -> list[str]:
    found, parent = [], G.nodes[node]["parent"]
    while parent is not None:
        found.append(parent)
        parent = G.nodes[parent]["parent"]
    return found


def _before(G: nx.DiGraph, node: str, stops: Callable[[str], bool]) -> set[str]:
    """The nodes of ``node``'s scope and branch that it runs right after for which ``stops``
    holds: its control predecessors there, looking through the others, less those that
    another of them runs after."""
    place = _place(G, node)
    found: set[str] = set()
    todo, seen = [node], {node}
    while todo:
        current = todo.pop()
        for before, edge in G._pred[current].items():
            if before in seen or not edge["control"] or _place(G, before) != place:
                continue
            seen.add(before)
            if stops(before):
                found.add(before)
            else:
                todo.append(before)
    found.discard(node)
    # Looking through a node can reach one that another found node runs after anyway: with
    # ``b`` removed from ``a >> (b | c) >> d``, ``d`` still runs right after ``c`` only.
    return found - _runs_after(G, found)


def _runs_after(G: nx.DiGraph, nodes: set[str]) -> set[str]:
    """The nodes that any of ``nodes`` runs after, at any distance (by control edges)."""
    found: set[str] = set()
    todo = list(nodes)
    while todo:
        current = todo.pop()
        for before, edge in G._pred[current].items():
            if edge["control"] and before not in found:
                found.add(before)
                todo.append(before)
    return found


def _after(nodes: set[str], order: dict[str, int]) -> str:
    if not nodes:
        return "first"
    return "after " + ", ".join(sorted(nodes, key=lambda n: (order.get(n, len(order)), n)))
