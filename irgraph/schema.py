"""The plain-data schema of a pipeline graph, and the way back from a graph to the IR.

Every attribute of a graph from :func:`irgraph.to_graph` is JSON-native (str, int, float, bool,
None, lists, dicts with str keys), so networkx's own writers and readers work on it. A node
carries what a reader needs without the IR: its ``kind``, ``label`` (the node's name; ``name``
would collide with pydot's own), ``parent`` scope and the settings of its kind
(:data:`SETTINGS`), plus the keys it ``reads``, reads if set (``optional_reads``) and
``writes``. The graph keeps the composite structure that edges cannot hold (sequences and
parallel blocks, with their names) in ``G.graph["tree"]``, so :func:`from_graph` rebuilds the
exact IR. :func:`scopes` and :func:`lifted_edges` give each scope's own sub-DAG, which is what
schedulers and diagrams work on.

>>> from irgraph import Agent, to_graph
>>> p = Agent("a").instruct("Go.").writes("x") >> Agent("b").instruct("Use {x}.")
>>> G = to_graph(p)
>>> G.nodes["b"]["instruction"], G.edges["a", "b"]["keys"]
('Use {x}.', ['x'])
>>> from_graph(G) == p.to_ir()
True
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import attrs

from irgraph import checks
from irgraph.errors import PipelineError, Problem, a_or_an
from irgraph.graph_mistakes import class_error, missing_nodes_error, not_a_graph_error
from irgraph.ir import (
    AgentNode,
    FunctionRef,
    GateNode,
    LoopNode,
    MapOverNode,
    Node,
    ParallelNode,
    RouteCase,
    RouteNode,
    SequenceNode,
    TransformNode,
)
from irgraph.ir.nodes import BARE_INIT
from irgraph.node_attributes import COMMON, SETTINGS
from irgraph.portable import from_portable, portable
from irgraph.schema_refs import function_ref, route_cases
from irgraph.schema_scopes import SCOPE_KINDS, lifted_edges, scope_predecessors, scopes

if TYPE_CHECKING:
    import networkx as nx

__all__ = [
    "KIND",
    "SCOPE_KINDS",
    "EXECUTABLE_KINDS",
    "SETTINGS",
    "COMMON",
    "node_attributes",
    "settings",
    "problem_data",
    "tree_entry",
    "pinned_ids",
    "pin_problems",
    "from_graph",
    "ir_nodes",
    "scopes",
    "lifted_edges",
    "scope_predecessors",
    "portable",
    "from_portable",
]

#: The kind of each IR class (sequences and parallels are edges and the tree, not nodes).
KIND: dict[type[Any], str] = {
    AgentNode: "agent",
    TransformNode: "transform",
    GateNode: "gate",
    LoopNode: "loop",
    MapOverNode: "map_over",
    RouteNode: "route",
    SequenceNode: "sequence",
    ParallelNode: "parallel",
}
EXECUTABLE_KINDS = frozenset({"agent", "transform", "gate"})
_CLASSES: dict[str, type[Any]] = {
    kind: cls for cls, kind in KIND.items() if kind in SCOPE_KINDS | EXECUTABLE_KINDS
}


def case_data(case: RouteCase) -> dict[str, Any]:
    """A route case as plain data: ``{"equals": value}``, ``{"test": "module:name"}`` or
    ``{"otherwise": True}``, each with the ``label`` diagrams show."""
    value: Any = case.value.ref if case.kind == "test" else case.value
    return {case.kind: True if case.kind == "otherwise" else value, "label": case.label}


def node_attributes(
    node: Node, kind: str, parent: str | None, branch: int | None = None
) -> dict[str, Any]:
    """The plain-data attributes of one executable or scope node (see :data:`SETTINGS`)."""
    writes = getattr(node, "writes", None)
    data: dict[str, Any] = {
        "kind": kind,
        "label": node.name,
        "parent": parent,
        "branch": branch,
        "reads": list(getattr(node, "reads", ())),
        "optional_reads": list(getattr(node, "optional_reads", ())),
        "writes": [writes] if writes else [],
        "inputs": list(node.inputs),
        "pinned": node.id,
    }
    if isinstance(node, AgentNode):  # key by key: update(...) would first build a kwargs dict
        output = node.output
        data["instruction"] = node.instruction
        data["model"] = node.model
        data["description"] = node.description
        data["timeout"] = node.timeout
        data["system"] = node.system
        data["settings"] = node.settings.to_dict()
        data["output"] = output.to_dict() if output is not None else None
        data["output_retries"] = node.output_retries
    elif isinstance(node, TransformNode):
        data.update(function=node.fn.ref, timeout=node.timeout)
    elif isinstance(node, GateNode):
        data.update(message=node.message, timeout=node.timeout)
    elif isinstance(node, LoopNode):
        until = node.until
        data.update(
            max_iterations=node.max_iterations,
            until=until if isinstance(until, str) else None,
            until_function=until.ref if isinstance(until, FunctionRef) else None,
            until_equals=list(node.until_equals),
        )
    elif isinstance(node, MapOverNode):
        data.update(
            over=node.over,
            item=node.item,
            collect=node.collect,
            max_concurrency=node.max_concurrency,
        )
    elif isinstance(node, RouteNode):
        data.update(on=node.on, cases=[case_data(case) for case in node.cases])
    return data


def problem_data(problem: Problem) -> dict[str, Any]:
    """A problem as plain data, for ``G.graph[\"problems\"]``."""
    data = attrs.asdict(problem)
    data["suggestion"] = list(problem.suggestion)
    return data


def tree_entry(kind: str, node: SequenceNode | ParallelNode, children: Any) -> dict[str, Any]:
    """A sequence's or parallel block's entry in ``G.graph[\"tree\"]``."""
    return {
        "kind": kind,
        "name": node.name,
        "inputs": list(node.inputs),
        "id": node.id,
        "children": children,
    }


def pinned_ids(root: Node, numbered: set[str] | None = None) -> dict[str, list[str]]:
    """Each id a node under ``root`` pins (composites too), with the names of the nodes that
    pin it, in reading order. ``to_graph`` gives these ids to their nodes alone. The names
    that look like a numbered id (``writer#2``) go in ``numbered``, when given: numbering
    another ``writer`` skips them, so the node named so keeps its name as its id."""
    found: dict[str, list[str]] = {}
    stack = [root]
    while stack:
        node = stack.pop()
        if node.id is not None:
            found.setdefault(node.id, []).append(node.name)
        if numbered is not None and "#" in node.name:
            numbered.add(node.name)
        stack.extend(reversed(getattr(node, "children", ())))
    return found


def pin_problems(pins: dict[str, list[str]]) -> list[Problem]:
    """One problem per id that more than one node pins (the graph gives it to the first; the
    others are numbered by their names)."""
    return [
        Problem(
            f"{len(names)} nodes pin the id '{pin}': "
            + " and ".join(f"'{name}'" for name in names)
            + "; a node id names one node.",
            node=pin,
            hint=f"Give each its own id (e.g. id='{pin}_2'), or leave id= off all but one.",
        )
        for pin, names in pins.items()
        if len(names) > 1
    ]


# Back to the IR ---------------------------------------------------------------------------


def _field(data: dict[str, Any], field: str, allow: frozenset[str], node: Any = None) -> Any:
    """The value of the IR field ``field`` held by the node attributes ``data`` of graph node
    ``node`` (its label when not given; functions may import from the modules in ``allow``)."""
    node = data["label"] if node is None else node
    if field == "writes":
        return data["writes"][0] if data["writes"] else None
    if field == "fn":
        return function_ref(node, "function", data["function"], allow)
    if field == "until":
        until = data["until_function"]
        if until is None:
            return data["until"]
        return function_ref(node, "until_function", until, allow)
    if field in ("reads", "inputs", "until_equals"):
        value = data.get(field, ())  # a lone string is refused by name, not read as letters
        return tuple(value) if isinstance(value, (list, tuple)) else value
    if field == "cases":
        return route_cases(node, data["cases"], allow)
    if field in ("system", "settings", "output", "output_retries"):
        return data.get(field, _AGENT_DEFAULTS[field])  # graphs saved before they existed
    if field == "id":
        return data.get("pinned")  # not "id", which node-link JSON uses for the node id
    return data[field]


_AGENT_DEFAULTS: dict[str, Any] = {
    "system": "",
    "settings": {},
    "output": None,
    "output_retries": 0,
}


def settings(
    data: dict[str, Any], allow: frozenset[str] = frozenset(), node: Any = None
) -> dict[str, Any]:
    """The IR fields of a node, read from its attributes: every field of its IR class (in the
    class's order) but its name and children.

    >>> settings({"kind": "gate", "label": "ok", "message": "Go?", "writes": ["answer"],
    ...           "timeout": None, "inputs": []})
    {'message': 'Go?', 'writes': 'answer', 'timeout': None, 'inputs': (), 'id': None}
    """
    cls = _CLASSES.get(data.get("kind"))  # type: ignore[arg-type]
    if cls is None:
        raise PipelineError(
            f"A graph node has kind {data.get('kind')!r}, which is not a pipeline node kind.",
            hint=f"Kinds are {', '.join(sorted(_CLASSES))}; build graphs with irgraph.to_graph.",
        )
    return {
        f.name: _field(data, f.name, allow, node)
        for f in attrs.fields(cls)
        if f.init and f.name not in ("name", "children")
    }


def _leaf(G: nx.DiGraph, nid: str, children: tuple[Node, ...], allow: frozenset[str]) -> Node:
    data = G.nodes[nid]
    cls = _CLASSES.get(data.get("kind"))
    if cls is None and not data:
        raise PipelineError(
            f"Node {nid!r} of the graph has no attributes at all (added by hand, or its file "
            "was cut short), so the graph does not say what it is.",
            node=nid,
            hint="Rebuild the graph with to_graph, and save it whole.",
        )
    if cls is None:
        raise PipelineError(
            f"Node {nid!r} of the graph has kind {data.get('kind')!r}, which is not a pipeline "
            "node kind.",
            node=nid,
            hint=f"Kinds are {', '.join(sorted(_CLASSES))}; rebuild the graph with to_graph.",
        )
    writes = data.get("writes", [])
    if cls is not LoopNode and cls is not RouteNode and not _one_key(writes):
        raise _writes_refused(nid, data, writes)
    if cls is not LoopNode and cls is not RouteNode and len(writes) > 1:
        raise _keys_refused(nid, data, writes)
    try:
        label = data["label"]
        fields = settings(data, allow, nid)
    except KeyError:
        raise _attributes_missing(nid, data, cls, allow) from None
    if data["kind"] in SCOPE_KINDS:
        fields["children"] = children
    node: Node = object.__new__(cls)
    BARE_INIT[cls](node, label, **fields)  # fields the class has: no refused_calls
    return node


def _attributes_missing(nid: str, data: Any, cls: type, allow: frozenset[str]) -> PipelineError:
    """The error for a node without attributes its kind needs (added by hand, say): every one
    it lacks at once, not the first, and where a whole node's attributes come from."""
    missing = [] if "label" in data else ["'label'"]
    for f in attrs.fields(cls):
        if f.init and f.name not in ("name", "children"):
            try:
                _field(data, f.name, allow, nid)
            except KeyError as lacking:
                missing.append(str(lacking))
    kind = str(data.get("kind"))
    many = "s" if len(missing) > 1 else ""
    return PipelineError(
        f"Node {nid!r} of the graph has no {', '.join(missing)} attribute{many}, which "
        f"{a_or_an(kind)} {kind} node needs.",
        node=nid,
        hint="Rebuild the graph with to_graph; a saved graph must keep every attribute. To add "
        "a step, add it in the builder (or give the node every attribute of one to_graph "
        f"made: G.add_node({nid!r}, **to_graph(step).nodes[name]), with its id in "
        "G.graph['tree'], and G = to_graph(from_graph(G, check=False))).",
    )


def _one_key(writes: Any) -> bool:
    """Whether a node's ``writes`` attribute is a list, as every node holds it (an agent's,
    transform's, gate's or map-over's holds its one key, or none; a second key is a change
    of the derived attribute, :mod:`irgraph.graph_foreign`)."""
    return isinstance(writes, (list, tuple))


def _writes_refused(nid: str, data: Any, writes: Any) -> PipelineError:
    """The refusal of a ``writes`` attribute that is no list: a lone string (set by hand)
    would be read as its first letter."""
    kind = _SCOPE_NAMES.get(data["kind"], data["kind"])
    meant = [writes] if isinstance(writes, str) else []
    return PipelineError(
        f"The writes attribute of {kind} {nid!r} must be a list holding its one state key, "
        f"such as ['notes'], or [] (got {writes!r} of type {type(writes).__name__}).",
        node=nid,
        hint=f"Set it as a list: G.nodes[{nid!r}]['writes'] = {meant!r} (or give the step "
        ".writes(key) in the builder and build the graph again).",
    )


def _keys_refused(nid: str, data: Any, writes: Any) -> PipelineError:
    """The refusal of a ``writes`` attribute holding more than one key: the node writes one
    (what it was given last by ``.writes(key)``), and reading only the first would drop the
    others without a word (``from_graph(G, check=False)`` reads the attribute as it is)."""
    kind = _SCOPE_NAMES.get(data["kind"], data["kind"])
    return PipelineError(
        f"The writes attribute of {kind} {nid!r} holds {len(writes)} state keys {list(writes)!r}, "
        f"but {a_or_an(kind)} {kind} writes one state key (or none), so the graph does not say "
        "which to keep.",
        node=nid,
        hint=f"Keep one: G.nodes[{nid!r}]['writes'] = [{writes[0]!r}] (to write the answer under "
        "several keys, add a Transform after it that copies the value).",
    )


#: How a message names a node of a kind whose attribute name differs from the builder's.
_SCOPE_NAMES = {"map_over": "map-over"}


def _rebuild(G: nx.DiGraph, tree: Any, allow: frozenset[str], depth: int = 0) -> Node:
    """The IR of one entry of ``G.graph["tree"]``: a node id, ``{"node": id, "children":
    [...]}`` for a scope, or ``{"kind": "sequence"|"parallel", "name": ..., ...}``."""
    if isinstance(tree, str):
        return _leaf(G, tree, (), allow)
    if depth >= checks.MAX_DEPTH:
        raise checks.too_deep(f"the graph's scope {tree.get('node') or tree.get('name')!r}")
    children = tuple(_rebuild(G, child, allow, depth + 1) for child in tree["children"])
    if "node" in tree:
        return _leaf(G, tree["node"], children, allow)
    cls = SequenceNode if tree["kind"] == "sequence" else ParallelNode
    built: Node = cls(
        tree["name"], children, inputs=tuple(tree.get("inputs", ())), id=tree.get("id")
    )
    return built


def from_graph(G: nx.DiGraph, *, allow: Any = None) -> Node:
    """The IR a graph from :func:`irgraph.to_graph` was built from, also after the graph went
    through JSON (``nx.node_link_data``) or another process. Its root declares the graph's
    ``inputs`` (also those given as ``to_graph(..., inputs=...)``), so
    ``to_graph(from_graph(G))`` is the same graph. Functions come back as import
    paths, imported only when a backend runs them, and only from the modules in ``allow`` (a
    graph is data: see :mod:`irgraph.ir.trust`).
    """
    allowed = checks.modules(allow, "from_graph(allow=...)")
    wrong = class_error(G) if callable(getattr(G, "is_multigraph", None)) else None
    if wrong is not None:  # checked first: what else is wrong follows from it
        raise wrong
    tree = G.graph.get("tree") if hasattr(G, "graph") else None
    if tree is None:
        raise not_a_graph_error(G)
    missing = _missing_node(G, tree)
    if missing is not None:
        raise missing_nodes_error(G, tree, missing)
    try:
        root = _rebuild(G, tree, allowed)
    except (KeyError, TypeError) as exc:
        raise PipelineError(
            f"The graph does not hold a complete pipeline: {type(exc).__name__}: {exc}.",
            hint="Rebuild it with to_graph; a saved graph must keep every node attribute.",
        ) from None
    return _with_inputs(root, G.graph.get("inputs"))


def _with_inputs(root: Node, inputs: Any) -> Node:
    """``root`` declaring the graph's ``inputs`` (what ``to_graph(..., inputs=...)`` was
    given), so ``to_graph(from_graph(G))`` needs no reads of them written; unchanged when it
    declares them already, as a pipeline that declares its own does."""
    if inputs is None:
        return root
    keys = checks.input_keys(inputs, "the graph's 'inputs' attribute")
    if keys == frozenset(root.inputs):
        return root
    return attrs.evolve(root, inputs=tuple(sorted(keys)))


def _missing_node(G: nx.DiGraph, tree: Any) -> str | None:
    """The first node id the pipeline's ``tree`` names that ``G`` lacks, if any."""
    todo = [tree]
    while todo:
        entry = todo.pop()
        if isinstance(entry, str):
            if entry not in G:
                return entry
            continue
        if not isinstance(entry, dict):
            return None  # not a tree: _rebuild says what is wrong
        node = entry.get("node")
        if isinstance(node, str) and node not in G:
            return node
        todo.extend(entry.get("children", ()) or ())
    return None


def ir_nodes(G: nx.DiGraph, root: Node) -> dict[str, Node]:
    """The IR node behind every graph node of ``G`` (built from ``root``), by node id: what a
    backend runs, with live functions, while ``G`` stays plain data."""
    found: dict[str, Node] = {}

    def walk(tree: Any, node: Node) -> None:
        if isinstance(tree, str):
            found[tree] = node
            return
        if "node" in tree:
            found[tree["node"]] = node
        for child_tree, child in zip(tree["children"], getattr(node, "children", ()), strict=True):
            walk(child_tree, child)

    walk(G.graph["tree"], root)
    return found
