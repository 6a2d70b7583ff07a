"""What the exporters write for nodes: drawing ids, label text and scope titles.

Shared by :mod:`irgraph.backends.mermaid` and :mod:`irgraph.backends.dot`, so both draw the
same words for the same graph and differ only in syntax and escaping.
"""

from __future__ import annotations

import unicodedata
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import networkx as nx

__all__ = ["node_ids", "label_text", "scope_title", "root_title"]


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
