"""Graphs irgraph did not build in this process: checked against the pipeline they hold.

A graph read back from a file (``nx.node_link_graph``, GraphML through
:func:`irgraph.from_portable`, pickle), copied or cut out (``G.subgraph(...)``) holds two
things: the pipeline itself (the ``tree`` graph attribute and each node's own settings, which
:func:`irgraph.from_graph` rebuilds and every run uses) and what :func:`irgraph.to_graph`
derived from it (``reads``, ``writes``, ``parent``, the edges...). :func:`validate` and the
exporters read the derived part. When it no longer follows from the pipeline, ``validate``
would pass a graph that fails to run, and an exporter would stop on a bare ``KeyError``; so a
graph that :func:`~irgraph.to_graph` did not make in this process is rebuilt from its
pipeline first, and every derived attribute that differs is a problem; :func:`irgraph.from_graph`
refuses such a graph with the same problems (:mod:`irgraph.graph_read`), so it is not run
either.

Graphs ``to_graph`` made here are trusted as they are while they look unchanged
(:func:`mark_built`, :func:`unchanged_here`; the exporters still check that nothing they read
is missing): rebuilding one would double the cost of every ``validate``. One edited in place
is checked as a file's graph is, by ``validate``, ``from_graph``, the analyses and the
exporters. A copy (``G.copy()``) is checked like a file's graph, so one holding a lambda is
refused as a saved one is: a lambda cannot be rebuilt from its path.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from irgraph.errors import PipelineError, Problem
from irgraph.schema import EXECUTABLE_KINDS, from_graph
from irgraph.schema_scopes import SCOPE_KINDS
from irgraph.templates import joined_reads, parse_template, system_template

if TYPE_CHECKING:
    import networkx as nx

__all__ = [
    "built_acyclic",
    "built_here",
    "mark_built",
    "rebuilt",
    "structure_problems",
    "unchanged_here",
    "whole_graph",
]

#: The graphs ``to_graph`` made here, with their counts of nodes and edges then (and the
#: pipeline's name and ``tree``), their node ids, a copy of their attributes
#: (:class:`_Snapshot`), and whether every edge led from a node added before to one added
#: after (so no cycle).
_BUILT: weakref.WeakKeyDictionary[
    Any, tuple[tuple[int, int, Any, int], frozenset[str], _Snapshot, bool, Any]
] = weakref.WeakKeyDictionary()
#: The attributes a trusted graph may change in place while its derived ones still follow:
#: templates, checked by the reads their text gives (:func:`unchanged_here`).
_TEMPLATES = frozenset({"instruction", "message", "system"})

#: The node attributes ``to_graph`` derives from the pipeline (scopes add the body reads).
#: Every edge attribute is derived: ``control``, ``keys`` and a route edge's ``condition``.
DERIVED = (
    "kind",
    "parent",
    "branch",
    "reads",
    "optional_reads",
    "writes",
    "body_reads",
    "body_optional_reads",
)
_REBUILD = "G = to_graph(from_graph(G, check=False))"
#: The derived attributes ``to_graph`` gives every node, of any kind.
_EVERY_NODES = ("branch", "reads", "optional_reads", "writes")


class _Snapshot:
    """A graph's attributes as ``to_graph`` made them: each node's and edge's attribute dict
    copied (one level: a value replaced in place shows, ``G.nodes['r']['on'] = 'x'``), and
    each route's cases whole (``G.nodes['r']['cases'][0]['equals'] = 'x'`` shows too)."""

    __slots__ = ("cases", "edges", "nodes")

    def __init__(self, G: nx.DiGraph) -> None:
        # dict.copy, not dict(...): it skips the generic constructor, a tenth of this copy.
        self.nodes = {n: data.copy() for n, data in G._node.items()}
        self.edges = {u: {v: e.copy() for v, e in after.items()} for u, after in G._succ.items()}
        self.cases = {
            n: repr(data["cases"]) for n, data in G._node.items() if data.get("kind") == "route"
        }

    def edited_templates(self, G: nx.DiGraph) -> list[str] | None:
        """``None`` when one of ``G``'s attributes is no longer as it was, templates aside (their
        text may change while the reads it gives stay the same), else the nodes whose
        attributes differ only in a template or an added attribute (a colour to draw with is
        no change of the pipeline): only their templates need reading again."""
        nodes, edited = G._node, []
        if nodes != self.nodes:
            for n, kept in self.nodes.items():
                data = nodes[n]
                if data != kept:
                    if not _kept(data, kept, _TEMPLATES):
                        return None
                    edited.append(n)
        if G._succ != self.edges and not all(
            v in G._succ.get(u, {}) and _kept(G._succ[u][v], kept)
            for u, after in self.edges.items()
            for v, kept in after.items()
        ):
            return None
        if any(repr(nodes[n].get("cases")) != text for n, text in self.cases.items()):
            return None
        return edited


def _kept(data: dict[str, Any], kept: dict[str, Any], skip: frozenset[str] = frozenset()) -> bool:
    """Whether ``data`` still holds every attribute of ``kept`` as it was (those in ``skip``
    aside)."""
    return all(k in skip or (k in data and data[k] == v) for k, v in kept.items())


def mark_built(G: nx.DiGraph, forward: bool = False) -> nx.DiGraph:
    """Record that ``to_graph`` made ``G`` here, from a pipeline: its attributes follow from it;
    ``forward``: each edge it made leads from a node it added before to one it added after."""
    _BUILT[G] = (_shape(G), frozenset(G._node), _Snapshot(G), forward, G.graph.get("tree"))
    return G


def built_acyclic(G: nx.DiGraph) -> bool:
    """Whether ``to_graph`` made ``G`` here with its every edge leading forward, in the order it
    added the nodes, so that it has no cycle: for ``G`` unchanged since (:func:`unchanged_here`,
    which ``validate`` asks first), no need to look for one again."""
    built = _BUILT.get(G) if G in _BUILT else None
    return built is not None and built[3]


def _shape(G: nx.DiGraph) -> tuple[int, int, Any, int]:
    """How many nodes and edges ``G`` has (read from networkx's own dicts: no views), the
    pipeline name it says, and which object its ``tree`` is: the pipeline ``from_graph``
    rebuilds and a run runs, so a tree set anew (steps reordered) makes the graph one to
    check, as an edited edge does (the snapshot keeps the tree, so its id is not reused)."""
    return (
        len(G._node),
        sum(map(len, G._succ.values())),
        G.graph.get("name"),
        id(G.graph.get("tree")),
    )


def built_here(G: nx.DiGraph) -> bool:
    """Whether ``to_graph`` made this very ``G`` in this process (not a copy, a view or a
    file's: those are checked against their pipeline)."""
    return G in _BUILT


def unchanged_here(G: nx.DiGraph) -> bool:
    """Whether ``G`` was made here (:func:`built_here`) and still looks as it did: as many
    nodes and edges, the same node ids, every attribute of its nodes and edges as it was but
    its templates, and each template's reads those of its text (an agent's, of its
    instruction and system prompt). ``validate`` checks a graph edited so (an instruction,
    system prompt or message, a route's ``on`` or cases, a node's ``writes`` or ``parent``,
    an edge's keys, a node or edge added or removed, nodes renamed in place, its ``tree``
    set anew) as any other: its analyses would read the stale attributes, though a run takes
    the edit."""
    built = _BUILT.get(G) if G in _BUILT else None  # `in`: False for what no weakref takes
    if built is None or built[0] != _shape(G) or G._node.keys() != built[1]:
        return False
    edited = built[2].edited_templates(G)
    if edited is None:  # a setting, a derived attribute or an edge changed in place
        return False
    for n in edited:  # a template whose text changed: its reads must still be the node's
        data = G._node[n]
        text = data.get("instruction", data.get("message"))
        if isinstance(text, str):
            system = data.get("system", "")
            if not isinstance(system, str):
                return False
            try:
                template = parse_template(text)
                prompts = system_template(system)
            except PipelineError:
                return False
            if prompts is None:
                reads, optional = template.reads, template.optional_reads
            else:
                reads, optional = joined_reads(template, prompts)
            if list(reads) != data.get("reads") or list(optional) != data.get("optional_reads"):
                return False
    return True


def rebuilt(G: nx.DiGraph, to_graph: Callable[..., nx.DiGraph]) -> tuple[nx.DiGraph, list[Problem]]:
    """The graph ``to_graph`` (:func:`irgraph.to_graph`, passed in: it lives in the module
    that uses this one) makes of the pipeline ``G`` holds, and a problem for each node,
    attribute or edge of ``G`` that differs from it. Raises :class:`PipelineError` when ``G``
    holds no whole pipeline (no ``tree``, a node without its settings, a cut-out subgraph)."""
    root = from_graph(G)  # functions stay import paths: nothing is imported here
    inputs = G.graph.get("inputs")
    fresh = to_graph(root, inputs=inputs if isinstance(inputs, list) else None)
    composed = _composed_problem(G, fresh)
    if composed is not None:
        return fresh, [composed]
    problems: list[Problem] = []
    for node, data in fresh.nodes(data=True):
        if node not in G:
            problems.append(
                _stale(node, f"The graph has no node '{node}', which its pipeline holds")
            )
            continue
        theirs = G.nodes[node]
        for field in DERIVED:
            if field not in data:
                continue
            if field not in theirs:
                problems.append(_stale(node, f"Node '{node}' has no '{field}' attribute"))
            elif theirs[field] != data[field]:
                order = ""
                ours, said = data[field], theirs[field]
                if isinstance(ours, list) and isinstance(said, list) and ours != said:
                    if sorted(map(str, said)) == sorted(map(str, ours)):
                        order = " (the same keys in another order: the order the text uses them)"
                problems.append(
                    _stale(
                        node,
                        f"Node '{node}' says {field}={theirs[field]!r}, but its pipeline gives "
                        f"{field}={data[field]!r}{order}",
                    )
                )
    problems += [
        _stale(str(node), f"Node {node!r} is not part of the pipeline the graph holds")
        for node in G
        if node not in fresh
    ]
    problems += _edge_problems(G, fresh)
    if "name" in G.graph and G.graph["name"] != fresh.graph.get("name"):  # a file may lack it
        problems.append(
            Problem(
                f"The graph says name={G.graph.get('name')!r}, but the pipeline it holds is "
                f"named {fresh.graph.get('name')!r}: the graph was changed after to_graph built "
                "it.",
                hint="Rename the pipeline where it is built (Pipeline('name', ...), or the "
                "root's name in G.graph['tree']) and make the graph again; the name attribute "
                "only follows it.",
            )
        )
    return fresh, problems


def _composed_problem(G: nx.DiGraph, fresh: nx.DiGraph) -> Problem | None:
    """One problem for a graph of two pipelines put together (``nx.compose(G1, G2)``,
    ``nx.union``): it holds the pipeline its ``tree`` describes (the last one's, networkx
    keeps the last graph's attributes) whole and, beside it, nodes of another, each with a
    known kind, a parent that is none or a node of the graph, and what to_graph derives for
    every node (a node added by hand is told as one). Told node by node and edge by
    edge, that was a problem for each node and edge of the other pipeline."""
    extra = [node for node in G if node not in fresh]
    settings = [G._node[node] for node in extra]
    kinds = [data.get("kind") for data in settings]
    parents = [data.get("parent", ()) for data in settings]
    if not (
        extra
        and all(node in G for node in fresh)  # not renamed nodes: those lack the old names
        and None in parents
        and all(isinstance(kind, str) and kind in EXECUTABLE_KINDS | SCOPE_KINDS for kind in kinds)
        and all(parent is None or (isinstance(parent, str) and parent in G) for parent in parents)
        and all(field in data for data in settings for field in _EVERY_NODES)  # not by hand
    ):
        return None
    shown = ", ".join(repr(node) for node in extra[:3])
    more = f" and {len(extra) - 3} more" if len(extra) > 3 else ""
    nodes = f"{len(extra)} node{'s' if len(extra) > 1 else ''} of another pipeline"
    return Problem(
        "The graph looks like the graphs of two (or more) pipelines put together "
        "(nx.compose(G1, G2), nx.union): it holds the pipeline "
        f"{fresh.graph.get('name')!r}, which its 'tree' attribute describes, and beside it "
        f"{nodes} ({shown}{more}), which that one never runs.",
        hint="A graph holds one pipeline: put the pipelines together and make one graph of "
        "that, to_graph(first >> second) to run them one after the other or "
        "to_graph(first | second) to run them side by side (from_graph(G1) gives back the "
        "pipeline of a graph G1 you have no builder of).",
    )


def _edge_problems(G: nx.DiGraph, fresh: nx.DiGraph) -> list[Problem]:
    if (
        fresh.number_of_edges()
        and all(G.has_edge(v, u) for u, v in fresh.edges)
        and not any(G.has_edge(u, v) for u, v in fresh.edges)
    ):
        return [
            Problem(
                "Every edge of the graph runs backwards from its pipeline's (a graph made by "
                "G.reverse(), or saved with its edges' ends swapped), so it says that each step "
                "runs before the steps it waits for.",
                hint="Pass the graph to_graph(pipeline) made, not its reverse; for an algorithm "
                "that needs the reverse, reverse a copy and keep the original for irgraph.",
            )
        ]
    problems = []
    for u, v, data in fresh.edges(data=True):
        theirs = G._succ.get(u, {}).get(v)
        if theirs is None:
            problems.append(_stale(u, f"The graph has no edge {u} -> {v}, which its pipeline has"))
        elif theirs.get("control") != data["control"] or theirs.get("keys") != data["keys"]:
            problems.append(
                _stale(
                    u,
                    f"The edge {u} -> {v} says control={theirs.get('control')!r}, "
                    f"keys={theirs.get('keys')!r}; the pipeline gives "
                    f"control={data['control']!r}, keys={data['keys']!r}",
                )
            )
        elif theirs.get("condition") != data.get("condition"):  # a route's case, drawn on it
            said = theirs.get("condition")
            problems.append(
                _stale(
                    u,
                    f"The edge {u} -> {v} says "
                    + ("no condition" if said is None else f"condition={said!r}")
                    + "; the pipeline gives "
                    + (
                        "none"
                        if data.get("condition") is None
                        else f"condition={data['condition']!r}"
                    ),
                )
            )
    problems += [
        _stale(str(u), f"The edge {u!r} -> {v!r} is not in the pipeline the graph holds")
        for u, v in G.edges
        if not fresh.has_edge(u, v)
    ]
    return problems


def _stale(node: str, what: str) -> Problem:
    return Problem(
        f"{what}: the graph was changed after to_graph built it.",
        node=node,
        hint=f"Make it again from the pipeline its nodes' own settings hold ({_REBUILD}) "
        "and change a node through the builder or its own settings, not its derived "
        "attributes or edges.",
    )


def structure_problems(G: nx.DiGraph) -> list[Problem]:
    """What keeps ``G`` from being drawn or checked at all, found in one pass: a node without
    a known ``kind``, a ``parent`` that is no node, ``reads``/``writes`` that are no lists, an
    edge without ``control`` and ``keys``. A graph of this process edited by hand can have
    them (its pipeline is not rebuilt: see :func:`built_here`)."""
    kinds = EXECUTABLE_KINDS | SCOPE_KINDS
    problems = []
    nodes = G._node
    for nid, data in nodes.items():
        if data.get("kind") not in kinds:
            problems.append(_stale(nid, f"Node {nid!r} has kind {data.get('kind')!r}"))
        elif "parent" not in data:
            problems.append(_stale(nid, f"Node {nid!r} has no 'parent' attribute"))
        elif data["parent"] is not None and data["parent"] not in nodes:
            problems.append(_stale(nid, f"Node {nid!r} has the parent {data['parent']!r}, no node"))
        elif not (isinstance(data.get("reads"), list) and isinstance(data.get("writes"), list)):
            problems.append(_stale(nid, f"Node {nid!r} has no list of reads and writes"))
    for u, after in G._succ.items():
        for v, edge in after.items():
            if "control" not in edge or not isinstance(edge.get("keys"), list):
                problems.append(_stale(u, f"The edge {u!r} -> {v!r} has no control and keys"))
    return problems


def whole_graph(G: nx.DiGraph, to_graph: Callable[..., nx.DiGraph]) -> nx.DiGraph:
    """``G``, once it is known to hold a whole pipeline whose derived attributes follow from
    it (always so for a graph ``to_graph`` made here); else a :class:`PipelineError` listing
    what does not, so an exporter or an analysis never stops on a bare ``KeyError``."""
    problems = structure_problems(G) if unchanged_here(G) else rebuilt(G, to_graph)[1]
    if problems:
        raise PipelineError(problems)
    return G
