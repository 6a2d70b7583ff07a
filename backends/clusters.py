"""Where each drawn node sits: in the box of a loop or map-over, in the cluster of a named
block, or at the top of the picture.

A user who names a block (``Pipeline("stage")``, ``FanOut("checks")``) sees it drawn as a
cluster titled ``"checks (parallel)"`` around what it holds, in mermaid (a ``subgraph``) and
in DOT (a ``cluster``) alike. The blocks ``>>`` and ``|`` make are not named by the user and
draw nothing, so a plain ``a >> b`` stays two boxes and an arrow (the test for named is
:func:`irgraph.backends.folding.parts`'). The root block is the picture's title, not a
cluster; an empty block, or one folded by ``collapse=`` (or inside a folded part), draws none.

Unlike a loop's box, a block's cluster is no graph node: arrows still meet the nodes inside
it, and it has a drawing id of its own, ``b1``, ``b2``, ... in the tree's order.

>>> from irgraph import Agent, FanOut, to_graph
>>> checks = FanOut("checks").branch(Agent("b")).branch(Agent("c"))
>>> G = to_graph(Agent("a") >> checks)
>>> for container, items in drawn_children(G, G).items():
...     print(container, items)
None ['a', Block(id='b1', title='checks (parallel)')]
Block(id='b1', title='checks (parallel)') ['b', 'c']
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NamedTuple

from .folding import parts
from .labels import BOXES, drawn_parent

if TYPE_CHECKING:
    import networkx as nx

__all__ = ["Block", "Container", "drawn_children"]


class Block(NamedTuple):
    """The cluster of a named block: its drawing ``id`` and its ``title``."""

    id: str
    title: str


#: A place things are drawn in: the top (``None``), a loop's or map-over's box (its node id),
#: or a named block's cluster.
Container = str | Block | None


def drawn_children(G: nx.DiGraph, H: nx.DiGraph) -> dict[Container, list[str | Block]]:
    """What each container holds, in the graph's order (a cluster where its first node is),
    for ``H``, the graph drawn for ``G`` (``G`` itself, or what
    :func:`~irgraph.backends.folding.fold` made of it)."""
    tree = G.graph.get("tree")
    named = {part.path for part in parts(G) if part.key is None and part.named and part.members}
    folded = {
        tuple(data["path"]): node
        for node, data in H.nodes(data=True)
        if data.get("kind") == "folded" and "path" in data
    }
    placed: dict[str, Container] = {}
    outer: dict[Block, Container] = {}

    def walk(entry: Any, path: tuple[int, ...], container: Container) -> None:
        if path in folded:  # one node where the part stood
            placed.setdefault(folded[path], container)
            return
        if isinstance(entry, str):
            placed.setdefault(entry, container)
            return
        inner = container
        if "node" in entry:
            node = entry["node"]
            placed.setdefault(node, container)
            inner = node if H.nodes[node].get("kind") in BOXES else container
        elif path in named:
            inner = Block(f"b{len(outer) + 1}", f"{entry['name']} ({entry['kind']})")
            outer[inner] = container
        for i, child in enumerate(entry.get("children", ())):
            walk(child, (*path, i), inner)

    if isinstance(tree, dict):
        walk(tree, (), None)
    children: dict[Container, list[str | Block]] = {}
    shown: set[Block] = set()

    def add(item: str | Block, container: Container) -> None:
        if isinstance(container, Block) and container not in shown:
            shown.add(container)
            add(container, outer[container])
        children.setdefault(container, []).append(item)

    for node in H.nodes:
        add(node, placed[node] if node in placed else drawn_parent(H, node))
    return children
