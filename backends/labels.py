"""What the exporters write for nodes: drawing ids, label text and scope titles.

Shared by :mod:`irgraph.backends.mermaid` and :mod:`irgraph.backends.dot`, so both draw the
same words for the same graph and differ only in syntax and escaping.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import networkx as nx

__all__ = ["node_ids", "label_text", "scope_title", "root_title", "drawn_edges"]


def node_ids(G: nx.DiGraph, *, start: int = 1) -> dict[str, str]:
    """Drawing ids ``n1``, ``n2``, ... for the graph's nodes, in the graph's (reading) order.

    Graph ids are free text (``"writer#2"``, any agent name); diagram languages want plain
    identifiers, so exporters number the nodes and put the real id in the label.

    >>> import networkx as nx
    >>> node_ids(nx.DiGraph([("a", "b")]))
    {'a': 'n1', 'b': 'n2'}
    """
    return {node: f"n{i}" for i, node in enumerate(G.nodes, start)}


def label_text(text: str) -> str:
    """The text a diagram shows for ``text``: line breaks made ``\\n``; control characters
    (other than line breaks and tabs) and lone surrogates, which have no glyph and which
    Graphviz and browsers mangle, become U+FFFD. Everything else is kept as it is.

    >>> label_text("a\\r\\nb\\x00")
    'a\\nb\\ufffd'
    """
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if text.isprintable():
        return text
    return "".join(
        "\ufffd" if unicodedata.category(ch) in ("Cc", "Cs") and ch not in "\n\t" else ch
        for ch in text
    )


def scope_title(node: str, data: dict[str, Any]) -> str:
    """The title of a loop or map-over scope, e.g. ``"refine (loop, max 3, until done)"``."""
    kind = data.get("kind")
    if kind == "loop":
        parts = ["loop"]
        if data.get("max_iterations") is not None:
            parts.append(f"max {data['max_iterations']}")
        if data.get("until") is not None:
            parts.append(f"until {data['until']}")
        elif data.get("until_function") is not None:
            parts.append(f"until {data['until_function'].rpartition(':')[2]}")
        return f"{node} ({', '.join(parts)})"
    if kind == "map_over":
        over = data.get("over")
        what = f"map over {over} as {data.get('item')}" if over else "map over"
        return f"{node} ({what})"
    return f"{node} ({kind})"


def root_title(G: nx.DiGraph) -> str | None:
    """``"name (sequence)"`` or ``"name (parallel)"`` for a composite root, else ``None``."""
    tree = G.graph.get("tree")
    if isinstance(tree, dict) and tree.get("kind") in ("sequence", "parallel"):
        return f"{tree['name']} ({tree['kind']})"
    return None


def _outward(G: nx.DiGraph, node: str) -> list[str]:
    """``node`` and the scopes around it, innermost first."""
    chain = [node]
    while (parent := G.nodes[chain[-1]]["parent"]) is not None:
        chain.append(parent)
    return chain


def drawn_edges(G: nx.DiGraph) -> Iterator[tuple[str, str, bool, list[str]]]:
    """The arrows a picture draws, ``(u, v, control, keys)`` in graph order: a scope is one
    box, so an edge joins its ends' enclosing nodes in the innermost scope that holds both
    (a read inside a loop from a writer outside is an arrow into the loop; a writer in a
    nested scope is the nested scope's box); arrows between a scope and its own body are not
    drawn, and arrows that land on one pair merge.

    The same as :func:`irgraph.schema.lifted_edges` means to be, except that it keeps the
    edges whose ends sit at different depths inside one scope, which that drops.

    >>> from irgraph import Agent, Loop, to_graph
    >>> inner = Loop("inner").step(Agent("w").writes("x")).max_iterations(2)
    >>> G = to_graph(Loop("outer").step(inner >> Agent("r").instruct("{x}")).max_iterations(2))
    >>> list(drawn_edges(G))
    [('inner', 'r', True, ['x'])]
    """
    merged: dict[tuple[str, str], tuple[bool, set[str]]] = {}
    for u, v, data in G.edges(data=True):
        up, down = _outward(G, u), _outward(G, v)
        if u in down or v in up:
            continue  # a scope and its own body
        around_v = set(down[1:])
        shared = next((s for s in up[1:] if s in around_v), None)
        ends = (
            next(a for a in up if G.nodes[a]["parent"] == shared),
            next(b for b in down if G.nodes[b]["parent"] == shared),
        )
        control, keys = merged.get(ends, (False, set()))
        merged[ends] = (control or bool(data["control"]), keys | set(data["keys"]))
    for (u, v), (control, keys) in merged.items():
        yield u, v, control, sorted(keys)
