"""What changed of a pipeline that no node of its graph holds, for :func:`irgraph.diffs.diff`:
the inputs its root block declares, the names and pinned ids of its sequences and parallel
blocks, and the order of a parallel block's branches (its members start in that order, and
the last to finish gives a run's output, so a keyed batch counts it as a change too).

>>> from irgraph import Agent, to_graph
>>> a, b = Agent("a").instruct("A."), Agent("b").instruct("B.")
>>> pipeline_fields(to_graph(a | b), to_graph(b | a), {"a": "a", "b": "b"})
{'parallel #1 branches': ('a, b', 'b, a')}
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from irgraph.code import composite_name

if TYPE_CHECKING:
    import networkx as nx

__all__ = ["pipeline_fields"]


def _shown(name: str) -> str:
    """A name as a line shows it: as it is, or its ``repr`` when it does not print."""
    return name if name.isprintable() else repr(name)


def pipeline_fields(
    G1: nx.DiGraph, G2: nx.DiGraph, pairs: dict[str, str]
) -> dict[str, tuple[str, str]]:
    """What changed of the pipeline that no node holds: the inputs a root sequence or parallel
    block declares (a root node's are its own setting), and its blocks' names and pinned ids
    (each block paired by place, or by the nodes it holds when the blocks are no longer the
    same kinds in the same order: else the nodes' moves say what changed), and the order of
    a parallel block's branches (which a keyed batch compares too: the branches start in
    that order, and the last to finish gives a run's output)."""
    found: dict[str, tuple[str, str]] = {}
    inputs = [", ".join(_declared(G)) or "none" for G in (G1, G2)]
    if inputs[0] != inputs[1]:
        found["inputs"] = (inputs[0], inputs[1])
    blocks = [_blocks(G) for G in (G1, G2)]
    for i, j in _paired(blocks[0], blocks[1], pairs):
        (kind, a, was, _), (_, b, now, _) = blocks[0][i], blocks[1][j]
        if a != b:
            found[f"{kind} #{j + 1}"] = (_shown(a), _shown(b))
        was = [pairs.get(first, first) for first in was]
        if kind == "parallel" and sorted(was) == sorted(now) and was != now:
            found[f"{kind} #{j + 1} branches"] = tuple(  # type: ignore[assignment]
                _shown(", ".join(order)) for order in (was, now)
            )
    return found


def _paired(old: list[_Block], new: list[_Block], pairs: dict[str, str]) -> list[tuple[int, int]]:
    """The old and new index of each block both pipelines hold: a block paired with the one
    of its kind that holds the same nodes (so the blocks in two swapped branches stay
    apart), then, when the two have as many blocks of the same kinds in the same order, a
    block left over with the one left at its place (a block that also gained or lost a
    node)."""
    held: dict[tuple[str, frozenset[str]], list[int]] = {}
    for j, (kind, _, _, nodes) in enumerate(new):
        held.setdefault((kind, nodes), []).append(j)
    found: dict[int, int] = {}
    for i, (kind, _, _, nodes) in enumerate(old):
        same = held.get((kind, frozenset(pairs.get(n, n) for n in nodes)), [])
        if len(same) == 1:
            found[i] = same[0]
    if [block[0] for block in old] == [block[0] for block in new]:
        taken = set(found.values())
        found.update({i: i for i in range(len(old)) if i not in found and i not in taken})
    return sorted(found.items(), key=lambda pair: pair[1])


def _declared(G: nx.DiGraph) -> list[str]:
    """The inputs ``G``'s pipeline declares that no node holds (sorted): those of its root
    block and those given as ``to_graph(..., inputs=...)``, which ``from_graph`` gives its
    root; a root node's own are its setting, told as that node's change."""
    tree = G.graph.get("tree")
    keys = set(G.graph.get("inputs") or ())
    if isinstance(tree, dict) and tree.get("kind") in ("sequence", "parallel"):
        keys.update(tree.get("inputs") or ())
    root = tree if isinstance(tree, str) else tree.get("node") if isinstance(tree, dict) else None
    if isinstance(root, str) and root in G:
        keys.difference_update(G.nodes[root].get("inputs") or ())
    return sorted(map(str, keys))


def _made_name(G: nx.DiGraph, entry: dict[str, Any]) -> str:
    """The name ``>>`` (a sequence) or ``|`` (a parallel block) gives block ``entry``."""
    names = []
    for child in entry.get("children") or ():
        if isinstance(child, dict):
            node = child.get("node")
            names.append(str(child.get("name") if node is None else G.nodes[node]["label"]))
        else:
            names.append(str(G.nodes[child]["label"]) if child in G else str(child))
    return composite_name(names, "then" if entry.get("kind") == "sequence" else "and")


#: A sequence or parallel block of a pipeline's ``tree``: its kind, its name as a diff shows
#: it, the first node of each member in order, and every node it holds.
_Block = tuple[str, str, list[str], frozenset[str]]


def _blocks(G: nx.DiGraph) -> list[_Block]:
    """The sequences and parallel blocks of ``G``'s ``tree``, in order: kind, name with its
    pinned id (a name ``>>`` or ``|`` made from the members, which change on their own, as
    ``(made)``), the first node of each member, in order, and the node ids it holds."""
    found: list[_Block] = []
    todo = [G.graph.get("tree")]  # a stack, each list pushed reversed: the tree's order
    while todo:
        entry = todo.pop()
        if isinstance(entry, list):
            todo.extend(reversed(entry))
        elif isinstance(entry, dict):
            if entry.get("kind") in ("sequence", "parallel"):
                pinned = f" (id {entry['id']})" if entry.get("id") else ""
                name = str(entry.get("name"))
                if name == _made_name(G, entry):
                    name = "(made)"
                firsts = [_first(child) for child in entry.get("children") or ()]
                found.append((str(entry["kind"]), f"{name}{pinned}", firsts, _held(entry)))
            todo.extend(reversed([v for v in entry.values() if isinstance(v, (list, dict))]))
    return found


def _held(entry: Any) -> frozenset[str]:
    """Every node id a tree entry holds, its own (a scope's) among them."""
    found: set[str] = set()
    todo = [entry]
    while todo:
        entry = todo.pop()
        if isinstance(entry, str):
            found.add(entry)
        elif isinstance(entry, list):
            todo.extend(entry)
        elif isinstance(entry, dict):
            if isinstance(entry.get("node"), str):
                found.add(entry["node"])
            todo.extend(v for v in entry.values() if isinstance(v, (list, dict)))
    return frozenset(found)


def _first(entry: Any) -> str:
    """The first node id of a tree entry: a branch of a parallel block stands for it."""
    while isinstance(entry, dict):
        entry = entry.get("node") or (entry.get("children") or [""])[0]
    return str(entry)
