"""The usual ways a graph given to :func:`irgraph.from_graph` is not the one ``to_graph`` made,
each worded as a :class:`PipelineError` that says what happened and how to get the pipeline
back: another networkx class (a ``MultiDiGraph`` from a node-link file with ``"multigraph":
true``, an undirected copy), GraphML read back without :func:`irgraph.from_portable` (its
attributes are still JSON text), and nodes renamed (``nx.relabel_nodes``: a node's id is its
name, which the pipeline's ``tree`` holds).

>>> import networkx as nx
>>> from irgraph import Agent, to_graph
>>> str(class_error(nx.MultiDiGraph(to_graph(Agent("a")))))[:60]
'A pipeline graph is a networkx DiGraph, but this one is a Mu'
>>> class_error(to_graph(Agent("a"))) is None
True
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from irgraph.errors import PipelineError

if TYPE_CHECKING:
    import networkx as nx

__all__ = ["class_error", "missing_nodes_error", "not_a_graph_error", "tree_ids"]

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


def not_a_graph_error(value: Any) -> PipelineError:
    """The error for ``from_graph(value)`` where ``value`` holds no pipeline graph: a graph
    without the ``tree`` attribute (GEXF dropped it), or something given in a graph's place —
    the node-link data itself, a file's name, a pipeline, IR JSON."""
    fix = "Build it with to_graph(pipeline); save it with nx.node_link_data(G) (GEXF and other "
    fix += "formats that drop graph attributes cannot hold a pipeline)."
    if hasattr(value, "graph") and callable(getattr(value, "number_of_nodes", None)):
        if _read_from_dot(value):
            return PipelineError(
                f"The {type(value).__name__} of {len(value)} nodes given has no 'tree' graph "
                "attribute, so it holds no pipeline: it was read back from DOT "
                "(nx.nx_pydot.from_pydot, read_dot), which keeps no graph attributes and turns "
                "every node attribute into text ('None', \"['topic']\").",
                hint="DOT is for drawing (irgraph.backends.dot.to_dot draws a pipeline); save "
                "the pipeline whole with json.dumps(nx.node_link_data(G)) or as GraphML "
                "(nx.write_graphml(irgraph.portable(G), path)).",
            )
        if _attributes_dropped(value):
            return PipelineError(
                f"The {type(value).__name__} of {len(value)} nodes given has no attributes, "
                "neither the graph ('tree', which holds the pipeline) nor its nodes: it looks "
                "made by a networkx function that returns a new graph (nx.transitive_reduction, "
                "nx.DiGraph(G.edges), ...), or read back from a file of edges only (an edge "
                "list, an adjacency list), either of which keeps the nodes and edges of the "
                "graph to_graph made but drops the attributes to_graph put on them.",
                hint="Pass the graph to_graph made, or copy the attributes back onto the new "
                "graph H first: H.graph.update(G.graph); H.add_nodes_from(G.nodes(data=True)); "
                "H.add_edges_from((u, v, G.edges[u, v]) for u, v in H.edges). (A view, such as "
                "G.subgraph(nodes) or G.edge_subgraph(edges), keeps them.) To save the graph, "
                "save it whole: json.dumps(nx.node_link_data(G)).",
            )
        return PipelineError(
            f"The {type(value).__name__} of {len(value)} nodes given has no 'tree' graph "
            "attribute, so it holds no pipeline: irgraph.to_graph did not make it, or it was "
            "saved in a format that drops graph attributes (GEXF).",
            hint="Make the graph with to_graph(pipeline), and save it whole with "
            "nx.node_link_data(G) or as GraphML (nx.write_graphml(irgraph.portable(G), path)).",
        )
    if isinstance(value, dict) and "nodes" in value:
        links = ', edges="links"' if "links" in value and "edges" not in value else ""
        got = "a dict of node-link data (what nx.node_link_data(G) writes), not the graph"
        fix = f"Make the graph from it first: from_graph(nx.node_link_graph(data{links}))."
    elif isinstance(value, dict) and value.get("format") == "irgraph-ir":
        got = "a dict of IR JSON (what irgraph.ir.to_json writes), not a graph"
        fix = "Read IR JSON with irgraph.ir.from_json(text), the file's text as it is."
    elif isinstance(value, (str, bytes)):
        got = f"the string {_short(value)}: from_graph takes the graph, not a file's name"
        fix = "Read the file first: from_graph(nx.node_link_graph(json.load(file))) for a "
        fix += "node-link .json file, from_graph(from_portable(nx.read_graphml(path))) for "
        fix += "GraphML, irgraph.ir.from_json(text) for IR JSON."
    elif callable(getattr(value, "to_ir", None)) or hasattr(value, "__attrs_attrs__"):
        name = getattr(value, "name", None)
        shown = _short(value) if hasattr(value, "to_ir") else f"the IR node {name!r}"
        got = f"{shown}, which is a pipeline already, not its graph"
        fix = "Run or draw it as it is, or make its graph with to_graph(pipeline): from_graph "
        fix += "turns that graph (or one read back from a file) into the pipeline again."
    else:
        got = f"{_short(value)}, which has no 'tree' graph attribute"
    return PipelineError(
        f"from_graph() needs a pipeline graph made by irgraph.to_graph (got {got}).", hint=fix
    )


def _attributes_dropped(G: Any) -> bool:
    """Whether ``G`` looks made from a pipeline graph by a networkx function that returns a
    new graph: node ids that are names, as a pipeline's are, but no graph attribute and no
    node attribute at all (a file's graph keeps some: GEXF a label, DOT its text)."""
    nodes = G.nodes(data=True)
    return bool(nodes) and not G.graph and all(isinstance(n, str) and not d for n, d in nodes)


def _read_from_dot(G: Any) -> bool:
    """Whether ``G`` looks read back from DOT: the nodes keep irgraph's attribute names, but
    as Python's text, a list such as ``reads`` as ``"['topic']"`` and a top-level node's
    ``parent`` as ``"None"`` (GEXF or GraphML read without decoding hold JSON: ``"null"``)."""
    nodes = [data for _, data in G.nodes(data=True)]
    return all(isinstance(data.get("reads"), str) for data in nodes) and any(
        data.get("parent") == "None" for data in nodes
    )


def named(value: Any) -> str:
    """``value`` as a message names it: an IR node by its name and class, a piece of a run's
    view by what it shows, anything else by the first line of its ``repr`` (cut at 60
    characters) and type.

    >>> from irgraph.ir import AgentNode
    >>> named(AgentNode("a")), named(5)
    ("the IR node 'a' (an AgentNode)", '5 of type int')
    """
    from irgraph.ir.nodes import NODE_KINDS

    kind = type(value).__name__
    if isinstance(value, NODE_KINDS):
        return f"the IR node {value.name!r} ({'an' if kind[0] in 'AEIOU' else 'a'} {kind})"
    shown = run_picture(value)
    if shown is not None:  # its repr is the whole picture as text, many lines long
        return shown
    return f"{_short(value)} of type {kind}"


def run_picture(value: Any) -> str | None:
    """How a message names ``value`` when it is a piece of a run's view (``result.view()``,
    ``.diagram()``, ``.timeline()``), else ``None``."""
    kind = type(value).__name__
    shown = _RUN_PICTURES.get((type(value).__module__, kind))
    return None if shown is None else f"{shown} (a {kind}), a picture of a run, not a pipeline"


#: The pieces of a run's view, which display themselves: what a message calls each.
_RUN_PICTURES = {
    ("irgraph.run_view", "RunView"): "a run's view",
    ("irgraph.run_diagram", "StatusDiagram"): "a run's diagram",
    ("irgraph.run_timeline", "Timeline"): "a run's timeline",
}


def _short(value: Any) -> str:
    """``repr(value)`` on one line of at most 60 characters."""
    text = repr(value)
    line = text.split("\n", 1)[0]
    if len(line) > 60:
        return line[:57] + "..."
    return line if line == text else line + " ..."


def tree_ids(tree: Any) -> Iterator[Any]:
    """Every node id the pipeline's ``tree`` (``G.graph["tree"]``) names, in reading order
    (without recursion: a damaged file's tree may nest deeper than Python recurses)."""
    todo = [tree]
    while todo:
        entry = todo.pop()
        if isinstance(entry, str):
            yield entry
        elif isinstance(entry, dict):
            if "node" in entry:
                yield entry["node"]
            todo.extend(reversed(list(entry.get("children", ()) or ())))


def missing_nodes_error(G: nx.DiGraph, tree: Any, missing: str) -> PipelineError:
    """The error for a graph that lacks ``missing``, a node its pipeline's ``tree`` names:
    GraphML read back still as JSON text, nodes renamed, or a part of the graph."""
    if isinstance(tree, str) and _json_text(tree):
        return PipelineError(
            "The graph's attributes are JSON text, as irgraph.portable(G) writes them for "
            "GraphML, so its pipeline cannot be read from them (the graph was read back "
            "without decoding).",
            hint="Decode it first: from_graph(from_portable(nx.read_graphml(path))) "
            "(from irgraph import from_portable).",
        )
    named = set(tree_ids(tree))
    olds = {node: G.nodes[node].get("pinned") or G.nodes[node].get("label") for node in G}
    renamed = bool(named) and not named & set(G) and named <= set(olds.values())
    if renamed and len(G) > len(named):  # nx.disjoint_union(G1, G2): every id a number
        return _joined_renamed_error(G, tree, named, olds)
    if not isinstance(tree, dict) and not named & set(G) and not renamed:  # a wrong tree
        return PipelineError(
            f"The graph's pipeline (G.graph['tree']) names none of its nodes: it is "
            f"{_short(tree)}, where the graph has {_some(list(G))}. The tree was replaced or "
            "damaged.",
            hint="Make the graph again from the pipeline with to_graph(pipeline); G.graph's "
            "attributes follow the pipeline and are not to be edited.",
        )
    extra = [node for node in G if node not in named]
    lacking = [node for node in dict.fromkeys(tree_ids(tree)) if node not in G]
    if not extra:
        gone = _some(lacking) if missing in lacking else f"node {missing!r}"
        return PipelineError(
            f"The graph does not hold a complete pipeline: its pipeline has {gone}, which "
            "the graph does not (a subgraph, or a node removed).",
            node=missing,
            hint="Pass the whole graph from to_graph; to look at part of it, take the "
            "subgraph after validating or drawing the whole. To remove a step, remove it "
            "from the builder and make the graph again (or drop its id from G.graph['tree'] "
            "too, and G = to_graph(from_graph(G, check=False))).",
        )
    back = _relabelling(G, extra, lacking)
    undo = f"nx.relabel_nodes(G, {back!r})" if back else "nx.relabel_nodes(G, {new: old, ...})"
    return PipelineError(
        f"The graph's node ids were renamed: it has {_some(extra)}, which its pipeline does "
        f"not name, and lacks {_some(lacking)}, which its pipeline has. A node's id is its "
        "name (or the id it pins), and the pipeline the graph holds refers to nodes by it.",
        node=str(extra[0]),
        hint=f"Relabel them back ({undo}) or make the graph again from the pipeline with "
        "to_graph(pipeline); to rename a step, rename it in the builder.",
    )


def _joined_renamed_error(
    G: nx.DiGraph, tree: Any, named: set[Any], olds: dict[Any, Any]
) -> PipelineError:
    """The error for the graphs of two pipelines joined by ``nx.disjoint_union``, which numbers
    the nodes: their names (``label``) give every node the ``tree`` names, and more beside.
    Told as renamed nodes, or as a damaged tree, that hid the second pipeline."""
    others = [node for node, old in olds.items() if old not in named]
    count = len(G) - len(named)
    shown = ", ".join(f"{node} ({olds[node]!r})" for node in others[:3])
    more = f" and {len(others) - 3} more" if len(others) > 3 else ""
    listed = f" ({shown}{more})" if others else ""
    name = G.graph.get("name", tree if isinstance(tree, str) else None)
    return PipelineError(
        "The graph looks like the graphs of two (or more) pipelines put together by "
        "nx.disjoint_union(G1, G2), which numbers the nodes: it holds the pipeline "
        f"{name!r}, which its 'tree' attribute describes, and beside it {count} "
        f"node{'s' if count > 1 else ''} of another pipeline{listed}, which that one never runs.",
        hint="A graph holds one pipeline: put the pipelines together and make one graph of "
        "that, to_graph(first >> second) to run them one after the other or "
        "to_graph(first | second) to run them side by side (from_graph(G1) gives back the "
        "pipeline of a graph G1 you have no builder of).",
    )


def _json_text(text: str) -> bool:
    """Whether ``text`` is a tree as :func:`irgraph.portable` writes it: a JSON object, or a
    node id in JSON quotes (a node id such as ``"42"`` is JSON too, but no quoted one)."""
    try:
        decoded = json.loads(text)
    except ValueError:
        return False
    return isinstance(decoded, (dict, str))


def _some(nodes: list[Any]) -> str:
    """Up to three node ids, quoted, and how many more."""
    shown = ", ".join(repr(node) for node in nodes[:3])
    more = f" and {len(nodes) - 3} more" if len(nodes) > 3 else ""
    return f"node{'s' if len(nodes) > 1 else ''} {shown}{more}"


def _relabelling(G: nx.DiGraph, extra: list[Any], lacking: list[Any]) -> dict[Any, Any]:
    """``{new id: old id}`` for each renamed node, found by the id it pins or its name
    (``label``); empty unless every renamed node is found, at most three."""
    wanted = set(lacking)
    back: dict[Any, Any] = {}
    for node in extra:
        data = G.nodes[node]
        old = data.get("pinned") or data.get("label")
        if old not in wanted:
            return {}
        back[node] = old
        wanted.discard(old)
    return back if len(back) <= 3 else {}
