"""Graphs for writers that take only scalars (GraphML, GEXF): every attribute as JSON text.

:func:`portable` encodes a pipeline graph from :func:`irgraph.to_graph` so that
``nx.write_graphml`` and ``nx.write_gexf`` accept it; :func:`from_portable` decodes what they
read back (re-exported by :mod:`irgraph.schema` and :mod:`irgraph`).

Names may hold any character, but XML 1.0 cannot hold most control characters (``\\x01``,
``\\x0b``...), not even escaped, and a file holding one cannot be read back. JSON text is ASCII,
so attributes are safe; a node id that XML cannot hold is written as its JSON escape
(``step\\u0001one``), with the id itself in the attribute :data:`ID`, which
:func:`from_portable` puts back.
"""

from __future__ import annotations

import json
import re
import warnings
from typing import TYPE_CHECKING, Any

from irgraph.errors import PipelineError, keyword_options
from irgraph.ir.functions import FunctionRef, main_function_warning
from irgraph.node_attributes import COMMON, SETTINGS

if TYPE_CHECKING:
    import networkx as nx

__all__ = ["portable", "from_portable", "ID"]

#: The node attribute holding the id of a node whose id XML cannot hold (as JSON text).
ID = "irgraph_id"
#: What XML 1.0 cannot hold: control characters but tab, line feed and carriage return,
#: lone surrogates, U+FFFE and U+FFFF.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _need_graph(G: Any, function: str) -> None:
    import networkx as nx

    if not isinstance(G, nx.Graph):
        raise PipelineError(
            f"{function}() takes a networkx graph (got {G!r} of type {type(G).__name__}).",
            hint="Pass the graph of a pipeline: to_graph(pipeline), or one read back from a file.",
        )


@keyword_options
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
    kinds = [data.get("kind") for data in G._node.values()]
    if kinds and all(isinstance(k, str) and k.startswith('"') for k in kinds):  # '"agent"'...
        raise PipelineError(
            "portable() got a graph that is portable already: its attributes are JSON text, "
            "and encoding them again would make a file from_portable reads back as text, not "
            "as the pipeline.",
            hint="Write this graph as it is (nx.write_graphml(H, path)), or pass portable() "
            "the graph to_graph made (from_portable(H) gives it back from this one).",
        )
    _warn_main_functions(G)
    ids = _xml_ids(G)
    H = type(G)()
    for nid, data in G.nodes(data=True):
        encoded = {k: json.dumps(v) for k, v in data.items()}
        if nid in ids:
            encoded[ID] = json.dumps(nid)
        H.add_node(ids.get(nid, nid), **encoded)
    for u, v, data in G.edges(data=True):
        H.add_edge(ids.get(u, u), ids.get(v, v), **{k: json.dumps(x) for k, x in data.items()})
    H.graph = {k: json.dumps(v) for k, v in G.graph.items()}
    return H


def _theirs(value: Any) -> Any:
    """An attribute irgraph does not write, which a tool that opened the file added (a
    colour, a position): decoded when it is JSON text, else kept as the tool wrote it."""
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value


def _warn_main_functions(G: nx.DiGraph) -> None:
    """Warn of each function of ``__main__`` a node calls (saved, nothing else can import
    it), and of each with no import path (a lambda: saved, nothing can run it)."""
    for nid, data in G.nodes(data=True):
        cases = data.get("cases")
        tests = (
            [c.get("test") for c in cases if isinstance(c, dict)] if isinstance(cases, list) else []
        )
        for ref in (data.get("function"), data.get("until_function"), *tests):
            if not isinstance(ref, str):
                continue
            if FunctionRef(ref).importable:
                warning = main_function_warning(str(nid), ref, "portable()")
            else:  # "Move <lambda>#1f2e into an importable module" would name nothing to move
                warning = (
                    f"portable() saves '{nid}', which calls {ref!r}, a function with no import "
                    "path (a lambda, or a function defined inside another function): the file "
                    "keeps only that name, so nothing that loads it can run it. Define the "
                    "function at the top level of a module, build the pipeline with it and "
                    "save again."
                )
            if warning:
                warnings.warn(warning, UserWarning, stacklevel=4)  # past keyword_options


def _xml_ids(G: nx.DiGraph) -> dict[Any, str]:
    """An id XML can hold for each node whose id it cannot: the id's JSON escape, numbered
    when another node has that id already."""
    taken = set(G)
    ids: dict[Any, str] = {}
    for nid in G:
        if not (isinstance(nid, str) and _NOT_XML.search(nid)):
            continue
        base = _NOT_XML.sub(lambda found: json.dumps(found.group())[1:-1], nid)
        safe, number = base, 2
        while safe in taken:
            safe, number = f"{base}#{number}", number + 1
        taken.add(safe)
        ids[nid] = safe
    return ids


def _from_gml(nid: Any, data: dict[str, Any]) -> bool:
    """Whether a node was read back from GML: its 'label' is gone (read as the id), or its
    id is GML's number and its label the pipeline's id as plain text, not the JSON text
    :func:`portable` wrote."""
    label = data.get("label")
    if label is None:
        return "label" not in data
    if not isinstance(nid, int) or not isinstance(label, str):
        return False
    try:
        return not isinstance(json.loads(label), str)
    except ValueError:
        return True


@keyword_options
def from_portable(H: nx.DiGraph) -> nx.DiGraph:
    """The graph :func:`portable` encoded, as read back by ``nx.read_graphml`` or
    ``nx.read_gexf``. (GEXF keeps no graph attributes but the name: nodes and edges come
    back whole, the ``tree`` that :func:`from_graph` needs only through GraphML or JSON.)"""
    _need_graph(H, "from_portable")
    gml = next(((n, d) for n, d in H.nodes(data=True) if "kind" in d and _from_gml(n, d)), None)
    if gml is not None:
        nid, data = gml
        said = (
            "has no 'label': nx.read_gml takes each node's 'label' as its id"
            if "label" not in data
            else f"is labelled {data['label']!r}, which is no JSON text: GML writes each "
            "node's id as its 'label', which nx.read_gml(path, label='id') keeps in place of "
            "the pipeline's own, numbering the nodes"
        )
        raise PipelineError(
            f"from_portable() got a graph whose node {nid!r} {said}, so a GML file cannot hold "
            "a pipeline's nodes whole.",
            node=str(nid),
            hint="Write GraphML instead (nx.write_graphml(portable(G), path), read back with "
            "from_portable(nx.read_graphml(path))), or node-link JSON "
            "(json.dumps(nx.node_link_data(G))).",
        )
    ours = {ID, *COMMON, *(name for names in SETTINGS.values() for name in names)}
    G = type(H)()
    ids: dict[Any, Any] = {}
    where = "the graph"
    try:
        for nid, data in H.nodes(data=True):
            decoded = {}
            for k, v in data.items():
                where = f"node {nid!r}, attribute {k!r}"
                decoded[k] = json.loads(v) if k in ours else _theirs(v)
            ids[nid] = decoded.pop(ID, nid)  # an id XML could not hold, written escaped
            G.add_node(ids[nid], **decoded)
        for u, v, data in H.edges(data=True):
            where = f"the edge {u!r} -> {v!r}"
            G.add_edge(
                ids.get(u, u),
                ids.get(v, v),
                **{k: json.loads(data[k]) for k in ("control", "keys", "condition") if k in data},
            )
    except (TypeError, ValueError) as exc:
        raise PipelineError(
            f"from_portable() reads graphs written from portable(G), whose attributes are JSON "
            f"text; this one's are not: {where} ({type(exc).__name__}: {exc}).",
            hint="Write with nx.write_graphml(portable(G), path); a plain graph needs no decoding.",
        ) from None
    for key, value in H.graph.items():
        if isinstance(value, str):
            try:
                G.graph[key] = json.loads(value)
            except ValueError:
                continue  # a reader's own attribute, e.g. GEXF's mode
    return G
