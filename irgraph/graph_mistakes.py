"""The usual ways a graph given to :func:`irgraph.from_graph` is not the one ``to_graph`` made,
each worded as a :class:`PipelineError` that says what happened and how to get the pipeline
back: another networkx class (a ``MultiDiGraph`` from a node-link file with ``"multigraph":
true``, an undirected copy), and GraphML read back without :func:`irgraph.from_portable` (its
attributes are still JSON text).

>>> import networkx as nx
>>> from irgraph import Agent, to_graph
>>> str(class_error(nx.MultiDiGraph(to_graph(Agent("a")))))[:60]
'A pipeline graph is a networkx DiGraph, but this one is a Mu'
>>> class_error(to_graph(Agent("a"))) is None
True
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from irgraph.errors import PipelineError

if TYPE_CHECKING:
    import networkx as nx

__all__ = ["class_error", "missing_nodes_error"]

_SAVE = "json.dumps(nx.node_link_data(G))"


def class_error(G: nx.DiGraph) -> PipelineError | None:
    """The error for a graph of a networkx class no pipeline graph has, else ``None``."""
    kind = type(G).__name__
    if G.is_multigraph():
        return PipelineError(
            f"A pipeline graph is a networkx DiGraph, but this one is a {kind}, whose edges "
            "have keys and may repeat (nx.MultiDiGraph(G) makes one, and so does "
            'nx.node_link_graph of a file that says "multigraph": true).',
            hint=f"Pass the graph to_graph made; save it with {_SAVE}, which writes "
            '"multigraph": false, or convert this one with nx.DiGraph(G) (then checked '
            "against the pipeline it holds).",
        )
    if not G.is_directed():
        return PipelineError(
            f"A pipeline graph is a networkx DiGraph, but this one is an undirected {kind}, "
            "which has lost which node runs first (G.to_undirected() and nx.Graph(G) make "
            'one, and so does nx.node_link_graph of a file that says "directed": false).',
            hint=f"Pass the graph to_graph made, or make it again with to_graph(pipeline); "
            f"save it with {_SAVE}, which keeps the edges' direction.",
        )
    return None


def missing_nodes_error(G: nx.DiGraph, tree: Any, missing: str) -> PipelineError:
    """The error for a graph that lacks ``missing``, a node its pipeline's ``tree`` names:
    GraphML read back still as JSON text, or a part of the graph."""
    if isinstance(tree, str) and _json_text(tree):
        return PipelineError(
            "The graph's attributes are JSON text, as irgraph.portable(G) writes them for "
            "GraphML, so its pipeline cannot be read from them (the graph was read back "
            "without decoding).",
            hint="Decode it first: from_graph(from_portable(nx.read_graphml(path))) "
            "(from irgraph import from_portable).",
        )
    return PipelineError(
        f"The graph does not hold a complete pipeline: its pipeline has node "
        f"'{missing}', which the graph does not (a subgraph, or a node removed).",
        node=missing,
        hint="Pass the whole graph from to_graph; to look at part of it, take the "
        "subgraph after validating or drawing the whole.",
    )


def _json_text(text: str) -> bool:
    """Whether ``text`` is a tree as :func:`irgraph.portable` writes it: a JSON object, or a
    node id in JSON quotes (a node id such as ``"42"`` is JSON too, but no quoted one)."""
    try:
        decoded = json.loads(text)
    except ValueError:
        return False
    return isinstance(decoded, (dict, str))
