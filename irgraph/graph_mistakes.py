"""The usual ways a graph given to :func:`irgraph.from_graph` is not the one ``to_graph`` made,
each worded as a :class:`PipelineError` that says what happened and how to get the pipeline
back: another networkx class (a ``MultiDiGraph`` from a node-link file with ``"multigraph":
true``, an undirected copy).

>>> import networkx as nx
>>> from irgraph import Agent, to_graph
>>> str(class_error(nx.MultiDiGraph(to_graph(Agent("a")))))[:60]
'A pipeline graph is a networkx DiGraph, but this one is a Mu'
>>> class_error(to_graph(Agent("a"))) is None
True
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from irgraph.errors import PipelineError

if TYPE_CHECKING:
    import networkx as nx

__all__ = ["class_error"]

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
