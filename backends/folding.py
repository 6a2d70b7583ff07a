"""Folding parts of a pipeline graph into one node each, so a big pipeline stays readable.

:func:`fold` returns a smaller graph to draw in place of the pipeline's: each folded *part*
(a loop, map-over or route by its id, or a sequence or parallel block of the pipeline's tree
by its name) becomes one node of kind ``"folded"`` whose ``title`` says what it holds. Edges
into and out of a folded part are kept, lifted to its node and merged (a pair of nodes gets
one edge, control if any of the merged edges is, with the union of their keys); edges inside
it are dropped. ``collapse`` is an int to fold every part at that depth of the tree (0: the
parts the root holds, be the root a block, a loop, a map-over or a route; 1: the parts inside
those, ...), or ids and names; the root is the picture and never folds.

Depths count loops, map-overs, routes and *named* blocks (``Pipeline("stage")``,
``FanOut("checks")``) only: the unnamed sequence ``a >> b`` makes and the unnamed parallel
block ``a | b`` makes are no level, so pipelines that build the same graph fold alike. The
graph does not record who named a block: a block counts as unnamed when its name is the one
``>>`` or ``|`` gives it (``a_then_b``, ``b_and_c``: see :func:`irgraph.code.composite_name`),
so a ``Pipeline("a_then_b")`` of ``a`` and ``b`` counts as unnamed too. An unnamed block can
still be folded by its name (``collapse="b_and_c"``).

>>> from irgraph import Agent, Loop, to_graph
>>> loop = Loop("refine").step(Agent("w").writes("d")).step(Agent("c").instruct("{d}"))
>>> G = to_graph(Agent("a").writes("t") >> loop.max_iterations(2) >> Agent("z").instruct("{t}"))
>>> H, drawn = fold(G, "refine")
>>> list(H.nodes), drawn["c"], H.nodes["refine"]["title"]
(['a', 'refine', 'z'], 'refine', 'refine (loop, max 2) · 2 nodes')
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, NamedTuple

from irgraph.code import composite_name
from irgraph.errors import IrgraphError, a_or_an, did_you_mean

from .labels import scope_title

if TYPE_CHECKING:
    import networkx as nx

__all__ = ["fold", "parts", "Part", "folded_value"]


class Part(NamedTuple):
    """A part of the pipeline that can fold: ``key`` is the scope's node id, or for a
    sequence or parallel block ``None``; ``members`` are the graph nodes it holds (a scope's
    own node first). ``named`` is false for a block ``>>`` or ``|`` made, which is no level of
    the tree: its ``depth`` is that of the parts it holds, and ``collapse=<depth>`` skips it.
    ``path`` is where it is in the tree: the index of each entry's child on the way down."""

    key: str | None
    name: str
    kind: str
    depth: int
    members: tuple[str, ...]
    named: bool = True
    path: tuple[int, ...] = ()


#: The word ``>>`` (a sequence) and ``|`` (a parallel block) put between member names.
_OPERATOR_WORDS = {"sequence": "then", "parallel": "and"}


def _leaves(entry: Any) -> Iterator[str]:
    if isinstance(entry, str):
        yield entry
        return
    if "node" in entry:
        yield entry["node"]
    for child in entry.get("children", ()):
        yield from _leaves(child)


def _entry_name(G: nx.DiGraph, entry: Any) -> str:
    """The name the builder gave a tree entry's step (a node's label, not its numbered id)."""
    if isinstance(entry, str) or "node" in entry:
        node = entry if isinstance(entry, str) else entry["node"]
        label = G.nodes[node].get("label")
        return label if isinstance(label, str) else node
    return str(entry["name"])


def _operator_made(G: nx.DiGraph, entry: Any) -> bool:
    """Whether a sequence or parallel entry of ``G``'s tree is a block ``>>`` or ``|`` made:
    it holds two steps or more and has the name the operator gives them (``a_then_b``)."""
    word = _OPERATOR_WORDS.get(entry.get("kind"))
    children = entry.get("children", ())
    if word is None or len(children) < 2:
        return False
    return bool(entry["name"] == composite_name([_entry_name(G, c) for c in children], word))


def parts(G: nx.DiGraph) -> list[Part]:
    """Every part of ``G``'s tree that can fold, outermost first (the root itself cannot).
    A block ``>>`` or ``|`` made is listed (it folds by name) but is no level: the parts it
    holds have its depth."""
    found: list[Part] = []

    def walk(entry: Any, depth: int, path: tuple[int, ...]) -> None:
        if isinstance(entry, str):
            return
        named = True
        members = tuple(_leaves(entry))
        if "node" in entry:
            node = entry["node"]
            found.append(Part(node, node, G.nodes[node]["kind"], depth, members, True, path))
        else:
            named = not _operator_made(G, entry)
            found.append(Part(None, entry["name"], entry["kind"], depth, members, named, path))
        for i, child in enumerate(entry.get("children", ())):
            walk(child, depth + 1 if named else depth, (*path, i))

    tree = G.graph.get("tree")
    if isinstance(tree, dict):  # the root (a block, or a loop, map-over or route) is the picture
        for i, child in enumerate(tree.get("children", ())):
            walk(child, 0, (i,))
    return found


def _chosen(G: nx.DiGraph, collapse: Any) -> list[Part]:
    every = parts(G)
    if isinstance(collapse, int) and not isinstance(collapse, bool):
        if collapse < 0:
            raise IrgraphError(
                f"collapse={collapse} folds no depth of the pipeline; depths start at 0 "
                "(the parts the root holds), e.g. collapse=0."
            )
        return [part for part in every if part.depth == collapse and part.named]
    names = [collapse] if isinstance(collapse, str) else collapse
    if not isinstance(names, Iterable) or not all(isinstance(n, str) for n in names):
        raise IrgraphError(
            f"collapse must be a depth (an int) or the ids of the parts to fold (got "
            f"{collapse!r}); e.g. collapse=1 or collapse=['revise']."
        )
    chosen: set[int] = set()
    for name in names:
        scope = [i for i, p in enumerate(every) if p.key == name]
        block = [i for i, p in enumerate(every) if p.key is None and p.name == name]
        step = _step(G, name) if not scope and not block else None
        if step is not None:
            raise IrgraphError(_step_text(G, name, step, every))
        if not scope and not block:
            raise IrgraphError(
                f"collapse names {name!r}, which is no loop, map-over, route or named block "
                f"of this pipeline.{did_you_mean(name, [p.name for p in every])} "
                f"{_listed(sorted({p.name for p in every}))}"
            )
        chosen.update(scope or block)
    return [every[i] for i in sorted(chosen)]  # outermost first, as parts() lists them


def _step(G: nx.DiGraph, name: str) -> str | None:
    """The node of ``G`` that ``name`` names by its id or its name (``label``): a single step
    (an agent, transform or gate), which holds none to fold."""
    if name in G:
        return name
    return next((node for node, label in G.nodes(data="label") if label == name), None)


def _step_text(G: nx.DiGraph, name: str, node: str, every: list[Part]) -> str:
    """Why ``collapse`` cannot fold the step ``node``: which kinds of part can, and the part
    that holds it, if any, to fold instead."""
    kind = str(G.nodes[node].get("kind", "step")).replace("_", " ")
    parent = G.nodes[node].get("parent")
    if kind in ("loop", "map over", "route"):  # a scope no part holds: the pipeline's root
        return (
            f"collapse names {name!r}, which is the {kind} the whole pipeline is: the picture "
            "itself, drawn as the box around the rest; fold a part it holds instead. "
            f"{_listed(sorted({p.name for p in every}), 'This pipeline')}"
        )
    holder = next((p for p in every if parent is not None and p.key == parent), None)
    instead = (
        f" It is in the {holder.kind.replace('_', '-')} {holder.name!r}: collapse="
        f"{holder.name!r} folds that."
        if holder is not None
        else f" {_listed(sorted({p.name for p in every}), 'This pipeline')}"
    )
    return (
        f"collapse names {name!r}, which is {a_or_an(kind)} {kind}: a step of its own, not a "
        "part that holds steps, so it cannot be folded. The parts that fold into one box are "
        f"loops, map-overs, routes and named blocks (Pipeline('name', ...)).{instead}"
    )


#: How many of a pipeline's parts an error about ``collapse`` names; a big pipeline has
#: hundreds, which would bury the closest ones.
_LISTED = 8


def _listed(names: list[str], it: str = "It") -> str:
    """The parts a pipeline has, by name, at most :data:`_LISTED` of them, as a sentence."""
    if not names:
        return f"{it} has none."
    if len(names) <= _LISTED:
        return f"{it} has {', '.join(map(repr, names))}."
    shown = ", ".join(map(repr, names[:_LISTED]))
    return f"{it} has {len(names)}: {shown} and {len(names) - _LISTED} more."


def fold(G: nx.DiGraph, collapse: Any) -> tuple[nx.DiGraph, dict[str, str]]:
    """The graph to draw for ``G`` with the ``collapse`` parts folded, and the node of it each
    node of ``G`` is drawn as. ``collapse=None`` (or empty) returns ``G`` itself."""
    import networkx as nx

    if collapse is None:
        return G, {node: node for node in G}
    chosen = _chosen(G, collapse)  # outermost first
    drawn = {node: node for node in G}
    folded: dict[str, dict[str, Any]] = {}
    for part in chosen:  # outermost first: a part inside a folded one is already gone
        if drawn[part.members[0]] != part.members[0]:
            continue
        key = part.key if part.key is not None else _fresh(G, folded, part.name)
        inside = set(part.members)
        first = part.members[0]
        parent = G.nodes[first]["parent"] if part.key is None else G.nodes[key]["parent"]
        while parent in inside:
            parent = G.nodes[parent]["parent"]
        if part.key is not None:
            title, count = scope_title(key, G.nodes[key]), len(part.members) - 1
        else:
            title, count = f"{part.name} ({part.kind})", len(part.members)
        branch = next(
            (G.nodes[m]["branch"] for m in part.members if G.nodes[m]["parent"] == parent), None
        )
        folded[key] = {
            "kind": "folded",
            "title": f"{title} · {count} node{'s' if count != 1 else ''}",
            "parent": parent,
            "branch": branch,
            "folds": part.members,
            "path": part.path,
        }
        for member in part.members:
            drawn[member] = key
    if not folded:
        return G, drawn
    H = nx.DiGraph()
    H.graph.update(G.graph)
    for node, data in G.nodes(data=True):
        target = drawn[node]
        if target not in H:
            H.add_node(target, **(folded[target] if target in folded else data))
    for u, v, data in G.edges(data=True):
        a, b = drawn[u], drawn[v]
        if a == b:
            continue
        if not H.has_edge(a, b):
            H.add_edge(a, b, control=False, keys=[])
        edge = H.edges[a, b]
        edge["control"] = edge["control"] or bool(data["control"])
        edge["keys"] = sorted({*edge["keys"], *data["keys"]})
        if data.get("condition") is not None and a == u:
            edge.setdefault("condition", data["condition"])
    return H, drawn


def _fresh(G: nx.DiGraph, taken: Mapping[str, Any], name: str) -> str:
    key, n = name, 1
    while key in G or key in taken:
        n += 1
        key = f"{name} #{n}"
    return key


def folded_value(
    H: nx.DiGraph, drawn: Mapping[str, str], values: Mapping[str, Any] | None
) -> dict[str, Any]:
    """Per-node ``values`` (classes, styles) for the nodes of the drawn graph ``H``: a node
    keeps its own; a folded node takes the value given for the part's own id, else the value
    its members all share (none when they differ)."""
    if not values:
        return {}
    out: dict[str, Any] = {}
    for node, data in H.nodes(data=True):
        if node in values and node in drawn:
            out[node] = values[node]
            continue
        if data.get("kind") != "folded":
            continue
        # A loop's, map-over's or route's own id is among what it folds, and was looked up
        # above: its members are the others.
        members = [m for m in data["folds"] if m != node]
        given = [values[m] for m in members if m in values]
        if given and len(given) == len(members) and all(g == given[0] for g in given):
            out[node] = given[0]
    return out
