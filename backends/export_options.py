"""Checks the exporters share for options keyed by graph node (``to_mermaid(classes=...)``,
``to_dot(node_attrs=...)``): a mapping, keyed by node ids of the graph drawn."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from irgraph.errors import IrgraphError, did_you_mean

if TYPE_CHECKING:
    import networkx as nx

__all__ = ["checked_mapping", "check_graph_node"]


def checked_mapping(value: Any, option: str, what: str, example: str) -> Mapping[Any, Any]:
    """``value`` if it is a mapping, else an error saying that ``option`` must map ``what``
    (e.g. "graph nodes to mermaid class names"), with ``example``."""
    if not isinstance(value, Mapping):
        raise IrgraphError(
            f"{option} must map {what} (got the {type(value).__name__} {value!r:.80}); {example}."
        )
    return value


def check_graph_node(G: nx.DiGraph, node: Any, option: str) -> None:
    """Refuse a key of ``option`` that is no node id of ``G``, with a did-you-mean."""
    if isinstance(node, str) and node in G:
        return
    hint = did_you_mean(node, G.nodes) if isinstance(node, str) else ""
    raise IrgraphError(
        f"{option} names the node {node!r}, which is not in this pipeline's graph.{hint} Its "
        "keys are node ids as to_graph gives them (e.g. 'writer', 'writer#2' for a second "
        "'writer')."
    )
