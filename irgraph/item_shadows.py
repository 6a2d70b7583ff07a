"""Warn about a map-over whose ``item`` is named like a key used outside its body.

Inside a map-over's body ``{item}`` is the current item, and it hides any state key of that
name: a body step meaning the pipeline's input ``topic``, or what an agent before the
map-over wrote as ``paper``, gets the item instead, and nothing says so. The pipeline runs,
with the wrong text in its prompts. A key is *used outside* the body when it is a declared
input, or a step outside the body (the map-over's own list and result included) reads or
writes it, or it is the item of a map-over around this one.

>>> from irgraph import Agent, MapOver, to_graph
>>> each = MapOver("each").over("papers", item="topic").step(Agent("s").instruct("{topic}"))
>>> print(item_shadow_warnings(to_graph(each.writes("out"), inputs={"topic", "papers"}))[0])
... # doctest: +ELLIPSIS
MapOver 'each' names its item 'topic', which is also an input of the pipeline: ...
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import networkx as nx

__all__ = ["item_shadow_warnings", "item_hint"]

#: Node kinds whose ``writes`` gather what their body writes, rather than write it themselves.
_GATHERING = frozenset({"loop", "route"})


def item_shadow_warnings(G: nx.DiGraph) -> list[str]:
    """One warning per map-over of ``G`` whose item is a key used outside its body, naming
    the map-over, the key, what else it is, and a free name for the item."""
    nodes = G.nodes
    scopes = [(nid, data["item"]) for nid, data in nodes(data=True) if data["kind"] == "map_over"]
    if not scopes:
        return []
    items = {item for _, item in scopes}
    users: dict[str, list[tuple[str, str]]] = {item: [] for item in items}  # key -> (node, how)
    used: set[str] = set()
    for nid, data in nodes(data=True):
        for how in ("reads", "optional_reads", "writes"):
            for key in data[how]:
                used.add(key)
                if key in items:
                    users[key].append((nid, how))
    inputs = set(G.graph.get("inputs", ()))
    found = []
    for sid, item in scopes:
        outside = [(nid, how) for nid, how in users[item] if not _within(nodes, nid, sid)]
        around = [other for other, key in scopes if key == item and _within(nodes, sid, other)]
        said = _what_else(nodes, sid, outside, around, item in inputs)
        if said is not None:
            over = nodes[sid]["over"] or "items"
            free = _free_name(over, used | inputs | items)
            found.append(
                f"MapOver '{sid}' names its item '{item}', which is also {said[0]}: inside "
                f"'{sid}', {{{item}}} is each item of '{over}', so its body cannot read "
                f"{said[1]}. Name the item something else, e.g. .over('{over}', "
                f"item='{free}')."
            )
    return found


def item_hint(G: nx.DiGraph, key: str, scopes: list[str]) -> str:
    """The words a problem of an unset ``key`` adds when map-overs ``scopes`` name their item
    ``key``: that item exists only in their body, and an item named like a key outside hides
    it there (a step reading the key outside is given nothing by them)."""
    if not scopes:
        return ""
    sid = scopes[0]
    over = G.nodes[sid]["over"] or "items"
    return (
        f" ('{key}' is also the item of map-over '{sid}', which only its body sees, and "
        f"there it hides the input: name that item something else, e.g. .over('{over}', "
        f"item='{_free_name(over, {key})}').)"
    )


def _within(nodes: Any, nid: str, scope: str) -> bool:
    """Whether ``nid`` is inside ``scope``'s body, at any depth."""
    parent = nodes[nid]["parent"]
    while parent is not None:
        if parent == scope:
            return True
        parent = nodes[parent]["parent"]
    return False


def _what_else(
    nodes: Any,
    sid: str,
    outside: list[tuple[str, str]],
    around: list[str],
    declared: bool,
) -> tuple[str, str] | None:
    """What else the item of map-over ``sid`` is outside its body, and what its body cannot
    read for it, in words (``None``: nothing else)."""
    if around:
        return f"the item of map-over '{around[-1]}' around it", f"the item of '{around[-1]}'"
    if (sid, "reads") in outside:
        return f"the list '{sid}' maps over", "the whole list"
    if (sid, "writes") in outside:
        return f"the key '{sid}' writes its results to", "the results"
    writers = [
        nid for nid, how in outside if how == "writes" and nodes[nid]["kind"] not in _GATHERING
    ]
    if writers:
        kind = nodes[writers[0]]["kind"].replace("_", "-")
        return f"a key {kind} '{writers[0]}' writes", f"what '{writers[0]}' wrote"
    if declared:
        return "an input of the pipeline", "the input"
    readers = [nid for nid, how in outside if how != "writes"]
    if readers:
        return f"an input of the pipeline ('{readers[0]}' reads it)", "the input"
    return None


def _free_name(over: str, taken: set[str]) -> str:
    """A name for the item that no key has: the list's name in the singular, else ``item``,
    else ``<list>_item`` (numbered if need be); of a path (``plan.topics``), its last field's."""
    over = over.rpartition(".")[2]
    candidates = [over[:-1]] if len(over) > 1 and over.endswith("s") else []
    candidates += ["item", f"{over}_item"]
    for name in candidates:
        if name not in taken:
            return name
    number = 2
    while f"{over}_item{number}" in taken:
        number += 1
    return f"{over}_item{number}"
