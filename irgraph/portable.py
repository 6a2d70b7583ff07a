"""Graphs for writers that take only scalars (GraphML, GEXF): every attribute as JSON text.

:func:`portable` encodes a pipeline graph from :func:`irgraph.to_graph` so that
``nx.write_graphml`` and ``nx.write_gexf`` accept it; :func:`from_portable` decodes what they
read back (re-exported by :mod:`irgraph.schema` and :mod:`irgraph`).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from irgraph.errors import PipelineError

if TYPE_CHECKING:
    import networkx as nx

__all__ = ["portable", "from_portable"]


def _need_graph(G: Any, function: str) -> None:
    import networkx as nx

    if not isinstance(G, nx.Graph):
        raise PipelineError(
            f"{function}() takes a networkx graph (got {G!r} of type {type(G).__name__}).",
            hint="Pass the graph of a pipeline: to_graph(pipeline), or one read back from a file.",
        )


def portable(G: nx.DiGraph) -> nx.DiGraph:
    """A copy of ``G`` whose every attribute value is a JSON string, for writers that take
    only scalars (``nx.write_graphml``, ``nx.write_gexf``); :func:`from_portable` reads it
    back.

    >>> import networkx as nx
    >>> from irgraph import Agent, to_graph
    >>> G = to_graph(Agent("a").instruct("Go.").writes("x"))
    >>> from_portable(portable(G)).nodes["a"] == G.nodes["a"]
    True
    """
    _need_graph(G, "portable")
    H = G.copy()
    for _, data in H.nodes(data=True):
        data.update({k: json.dumps(v) for k, v in data.items()})
    for _, _, data in H.edges(data=True):
        data.update({k: json.dumps(v) for k, v in data.items()})
    H.graph = {k: json.dumps(v) for k, v in G.graph.items()}
    return H


def from_portable(H: nx.DiGraph) -> nx.DiGraph:
    """The graph :func:`portable` encoded, as read back by ``nx.read_graphml`` or
    ``nx.read_gexf``. (GEXF keeps no graph attributes but the name: nodes and edges come
    back whole, the ``tree`` that :func:`from_graph` needs only through GraphML or JSON.)"""
    _need_graph(H, "from_portable")
    G = type(H)()
    try:
        for nid, data in H.nodes(data=True):
            G.add_node(nid, **{k: json.loads(v) for k, v in data.items()})
        for u, v, data in H.edges(data=True):
            G.add_edge(
                u,
                v,
                **{k: json.loads(data[k]) for k in ("control", "keys", "condition") if k in data},
            )
    except (TypeError, ValueError) as exc:
        raise PipelineError(
            f"from_portable() reads graphs written from portable(G), whose attributes are JSON "
            f"text; this one's are not ({type(exc).__name__}: {exc}).",
            hint="Write with nx.write_graphml(portable(G), path); a plain graph needs no decoding.",
        ) from None
    for key, value in H.graph.items():
        if isinstance(value, str):
            try:
                G.graph[key] = json.loads(value)
            except ValueError:
                continue  # a reader's own attribute, e.g. GEXF's mode
    return G
