"""Normalise an IR tree into a plain ``networkx.DiGraph`` with control and data-flow edges.

The walk follows the tree in reading order, carrying an *environment*: for each state key, the
node that wrote it last. Sequences thread it through their steps and add control edges from
each step's exits to the next step's entries; parallel branches each get a private layer of it
(siblings never see each other's writes), merged back after the block. A read adds a data edge
from the nearest writer, wherever it is. Loops and map-overs are *scopes*: nodes whose body's
nodes carry them as ``parent``, with a control edge to each entry of the body and one from each
exit of the body to what follows, so ``topological_sort(G)`` is a run order for one iteration
and a body node's ancestors are all it waits on; iteration is the scheduler's business. Every
attribute is plain data (:mod:`irgraph.schema`). A node's id is the id it pins, else its name;
a name used again gets ``#2``, ``#3`` ... in reading order, skipping pinned ids, so ids are the
same in every process. Problems (write races, sibling reads, empty composites, bad bounds) go
to ``G.graph["problems"]`` for :func:`irgraph.validate`.

>>> from irgraph import Agent
>>> G = to_graph(Agent("a").instruct("Go.").writes("x") >> Agent("b").instruct("Use {x}."))
>>> list(G.nodes), G.edges["a", "b"]
(['a', 'b'], {'control': True, 'keys': ['x']})
"""

from __future__ import annotations

from bisect import insort
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from irgraph import checks
from irgraph.empty_prompts import empty_prompt_warnings
from irgraph.errors import Problem
from irgraph.gc_pause import gc_paused
from irgraph.graph_foreign import mark_built, whole_graph
from irgraph.graph_parallel import walk_parallel
from irgraph.graph_routes import walk_route
from irgraph.graph_scopes import walk_loop, walk_map_over
from irgraph.ir import (
    AgentNode,
    FunctionRef,
    GateNode,
    LoopNode,
    MapOverNode,
    Node,
    ParallelNode,
    RouteNode,
    SequenceNode,
    TransformNode,
    transform_call_problem,
)
from irgraph.ir.functions import predicate_problem
from irgraph.ir.schema_words import schema_problems, schema_warnings
from irgraph.ir.setting_names import misspelt
from irgraph.item_shadows import item_shadow_warnings
from irgraph.node_attributes import agent_attributes
from irgraph.roots import compiled_runnable, root_of
from irgraph.schema import (
    EXECUTABLE_KINDS,
    KIND,
    node_attributes,
    pin_problems,
    pinned_ids,
    problem_data,
    tree_entry,
)
from irgraph.template_fields import check_field_reads
from irgraph.templates import literal_key_warnings
from irgraph.typing_rules import TypeRules
from irgraph.unkept_answers import unkept_answer_warnings
from irgraph.walk import INPUT as _INPUT
from irgraph.walk import Env as _Env
from irgraph.walk import Summary as _Summary
from irgraph.walk import empty_summary as _empty

if TYPE_CHECKING:
    import networkx as nx

__all__ = ["to_graph", "as_graph", "root_of"]


class _Walker:
    def __init__(self, G: nx.DiGraph, root: Node) -> None:
        self.G = G
        #: Names such as ``writer#2``: numbering another ``writer`` skips them.
        self.numbered: set[str] = set()
        # collected first, so numbering never takes a pinned id
        self.pins = pinned_ids(root, self.numbered)
        self.problems: list[Problem] = pin_problems(self.pins)
        self.warnings: list[str] = []
        self.exits: dict[str, list[str]] = {}  # scope id -> its body's exits
        self.body_reads: dict[str, dict[str, bool]] = {}  # scope id -> key -> optional only
        self.read_writers: set[str] = set()
        self.used: dict[str, int] = {}
        self.added: list[str] = []  # node ids in the order they were added
        self.position: dict[str, int] = {}  # node id -> its index in added
        self.backward = False  # whether an edge leads to a node added before its source
        self.functions: dict[str, Any] = {}  # transform id -> its function (built in Python)
        self.braced: list[str] = []  # agents and gates whose text holds {{
        self.field_reads: list[str] = []  # agents and gates whose text reads {key.field}
        #: (writer, key) -> the other nodes that may have written ``key`` last (a route's
        #: other branches, or the writer before a route that writes it on some branches).
        self.alternatives: dict[tuple[str, str], list[str]] = {}
        #: (writer, key) -> (route, labels of the branches that do not write ``key``), for a
        #: key that a route writes on only some branches and nothing wrote before.
        self.maybe: dict[tuple[str, str], tuple[str, list[str]]] = {}
        self.maybe_reads: list[dict[str, Any]] = []
        self.types = TypeRules(self)

    def problem(self, message: str, **where: Any) -> None:
        self.problems.append(Problem(message, **where))

    # ids -----------------------------------------------------------------------------
    def new_id(self, name: str) -> str:
        seen = self.used.get(name, 0)
        candidate = name if seen == 0 else f"{name}#{seen + 1}"
        nodes, pins, numbered = self.G._node, self.pins, self.numbered
        while candidate in nodes or candidate in pins or (seen and candidate in numbered):
            seen += 1
            candidate = f"{name}#{seen + 1}"
        self.used[name] = seen + 1
        return candidate

    def add_node(self, node: Node, parent: str | None) -> str:
        nid = node.id if node.id is not None and node.id not in self.G else self.new_id(node.name)
        # Straight into networkx's own dicts, as G.add_node stores a new node but without its
        # checks, the copy of the attributes and the cache reset: to_graph made G, a plain
        # DiGraph, and a 10 000-agent graph adds 10 000 nodes and as many edges.
        G = self.G
        G._succ[nid], G._pred[nid] = {}, {}
        if type(node) is AgentNode:
            G._node[nid] = agent_attributes(node, parent, None)
        else:
            G._node[nid] = node_attributes(node, KIND[type(node)], parent)
        self.position[nid] = len(self.added)
        self.added.append(nid)
        return nid

    def new_edge(self, u: str, v: str, control: bool, keys: list[str]) -> None:
        """Add the edge ``u -> v`` between two added nodes (as :meth:`add_node` adds one)."""
        self.G._succ[u][v] = self.G._pred[v][u] = {"control": control, "keys": keys}
        if self.position[u] > self.position[v]:  # while none is, G has no cycle to look for
            self.backward = True

    # edges ---------------------------------------------------------------------------
    def control(self, sources: list[str], targets: list[str]) -> None:
        for u in sources:
            after = self.G._succ[u]  # networkx's own dict: G.succ[u] builds a view per lookup
            for v in targets:
                if v in after:
                    after[v]["control"] = True
                else:
                    self.new_edge(u, v, True, [])

    def flow(self, writer: str, reader: str, key: str) -> None:
        data = self.G._succ[writer].get(reader)
        if data is None:
            self.new_edge(writer, reader, False, [key])
        elif key not in (keys := data["keys"]):
            insort(keys, key)  # kept sorted as it grows

    # reads and writes ----------------------------------------------------------------
    def bind(self, reader: str, key: str, env: _Env, optional: bool) -> None:
        """Connect ``reader`` to the nearest writer of ``key``, across scopes too; a read that
        leaves a scope is recorded as one of the scope's ``body_reads``."""
        layer: _Env | None = env
        while layer is not None:
            writer = layer.local.get(key)
            if writer is not None:
                if writer != _INPUT:
                    self.read_writers.add(writer)
                    self.flow(writer, reader, key)
                # Only routes fill these two maps: without one, a read skips both lookups.
                if self.alternatives:
                    self.alternative_flows(writer, reader, key)
                maybe = self.maybe.get((writer, key)) if self.maybe and not optional else None
                if maybe is not None:
                    route, missing = maybe
                    self.maybe_reads.append(
                        {"node": reader, "key": key, "route": route, "missing": missing}
                    )
                return
            if layer.scope is not None:
                if layer.item == key:
                    return
                reads = self.body_reads[layer.scope]
                reads[key] = reads.get(key, True) and optional
            layer = layer.parent

    def alternative_flows(self, writer: str, reader: str, key: str) -> None:
        """Connect ``reader`` to every other node that may have written ``key`` last instead
        of ``writer``: its alternatives, and theirs (routes one after another that each
        write the key on some branches)."""
        seen = {writer}
        todo = list(self.alternatives.get((writer, key), ()))
        while todo:
            source = todo.pop(0)
            if source in seen:
                continue
            seen.add(source)
            if source != _INPUT:
                self.read_writers.add(source)
                self.flow(source, reader, key)
            todo.extend(self.alternatives.get((source, key), ()))

    def write(self, env: _Env, key: str, writer: str, by: str | None = None) -> None:
        """Record ``writer`` as the last writer of ``key``; ``by`` is the node at this level
        that makes the write (a loop, for a key its body writes), for the warning about a
        value overwritten before anything read it."""
        by = by or writer
        previous = env.local.get(key)
        nodes = self.G._node
        if (
            previous
            and previous not in self.read_writers
            and nodes[previous]["kind"] in EXECUTABLE_KINDS
            and nodes[previous]["parent"] == nodes[by]["parent"]
        ):
            self.warnings.append(
                f"'{previous}' writes '{key}', but '{by}' overwrites it before anything reads it."
            )
        env.local[key] = writer

    # the walk ------------------------------------------------------------------------
    def walk(self, node: Node, env: _Env, parent: str | None) -> _Summary:
        if type(node) is AgentNode:  # the commonest node, before five isinstance checks
            return self.executable(node, env, parent)
        if isinstance(node, SequenceNode):
            if not node.children:
                self.empty(node, "Pipeline", "steps", ".step(...)")
            out = self.sequence(node.children, env, parent)
            out.tree = tree_entry("sequence", node, out.tree)
            return out
        if isinstance(node, ParallelNode):
            return walk_parallel(self, node, env, parent)
        if isinstance(node, LoopNode):
            return walk_loop(self, node, env, parent)
        if isinstance(node, MapOverNode):
            return walk_map_over(self, node, env, parent)
        if isinstance(node, RouteNode):
            return walk_route(self, node, env, parent)
        return self.executable(node, env, parent)

    def executable(
        self, node: AgentNode | TransformNode | GateNode, env: _Env, parent: str | None
    ) -> _Summary:
        nid = self.add_node(node, parent)
        if type(node) is AgentNode:
            if "{{" in node.instruction or "{{" in node.system:
                self.braced.append(nid)
            if node.template.fields or (node.system_template and node.system_template.fields):
                self.field_reads.append(nid)
        elif isinstance(node, GateNode):
            if "{{" in node.message:
                self.braced.append(nid)
            if node.template.fields:
                self.field_reads.append(nid)
            if not node.message.strip():
                self.warnings.append(
                    f"Gate '{nid}' has no message, so whoever answers it is asked nothing; "
                    f"give it one with .message(...), e.g. Gate('{node.name}')"
                    ".message('Approve the draft?')."
                )
        if type(node) is AgentNode and node.settings:  # a file's or hand-edited graph's too
            self.warnings += misspelt(node.settings, node=nid)
        if type(node) is AgentNode and node.output is not None:
            self.warnings += schema_warnings(node.output, nid)
            self.problems += [Problem(t, node=nid) for t in schema_problems(node.output, nid)]
        elif isinstance(node, TransformNode):
            if node.fn.fn is not None:
                self.functions[nid] = node.fn.fn
                problem = transform_call_problem(nid, node.fn.fn, node.reads)
                if problem is not None:
                    self.problems.append(problem)
            self.importable(nid, node.fn)
        reads: dict[str, str] = {}
        listed = self.G._node[nid]  # its reads as node_attributes listed them: no second call
        for key in listed["reads"]:
            self.bind(nid, key, env, False)
            reads[key] = nid
        for key in listed["optional_reads"]:
            self.bind(nid, key, env, True)
            reads[key] = nid
        if node.writes:
            self.write(env, node.writes, nid)
        return _Summary([nid], [nid], reads, {node.writes: nid} if node.writes else {}, nid)

    def sequence(self, children: Iterable[Node], env: _Env, parent: str | None) -> _Summary:
        out = _empty()
        for child in children:
            part = self.walk(child, env, parent)
            if not part.entries:
                continue
            self.control(out.exits, part.entries)
            if not out.entries:
                out.entries = part.entries
            out.exits = part.exits
            out.tree.append(part.tree)
            for key, reader in part.reads.items():
                out.reads.setdefault(key, reader)
            out.writes.update(part.writes)
        return out

    def open_scope(self, node: LoopNode | MapOverNode | RouteNode, parent: str | None) -> str:
        sid = self.add_node(node, parent)
        self.body_reads[sid] = {}
        return sid

    def importable(self, nid: str, ref: FunctionRef) -> None:
        """A function without an import path still runs here, so a saved copy of the graph
        cannot run it (a warning); read back from JSON, nothing can (a problem)."""
        if ref.importable:
            return
        text = f"'{nid}' calls {ref.ref!r}, which has no import path"
        fix = "define the function at the top level of a module"
        if ref.fn is None:
            self.problem(
                f"{text}, and a pipeline read from data (a JSON file, or a graph saved, copied "
                "or edited: such graphs are checked as the pipeline they hold) keeps only that "
                "name, so nothing can run it.",
                node=nid,
                hint=f"To run it, {fix} and build the pipeline again.",
            )
        else:
            self.warnings.append(f"{text}: a saved copy cannot run it; {fix} to save it.")

    def predicate(self, nid: str, ref: FunctionRef, kind: str) -> None:
        """A route's or loop's predicate: importable, and callable with the state alone
        (known here for one built in Python or whose module is imported already)."""
        self.importable(nid, ref)
        error = predicate_problem(ref, kind=kind, node=nid)
        if error is not None:
            self.problems.extend(error.problems)

    def close_scopes(self) -> None:
        """Lead each scope's body exits to the scope's successors, outer scopes first, so a
        nested scope that ends its parent's body leads on too."""
        G = self.G
        for sid in self.body_reads:  # in reading order: outer scopes open first
            exits = self.exits[sid]
            after = [
                v for v, e in G.succ[sid].items() if e["control"] and G.nodes[v]["parent"] != sid
            ]
            self.control(exits, after)

    def empty(self, node: Node, kind: str, what: str, fix: str, nid: str | None = None) -> None:
        self.problem(
            f"{kind} '{nid or node.name}' has no {what}.",  # its graph id: a reused name's #2
            node=nid or node.name,
            hint=f"Add one with {fix}, or remove the empty {kind}.",
        )


@checks.keyword_options
@gc_paused
def to_graph(pipeline_or_ir: Any, *, inputs: Iterable[str] | None = None) -> nx.DiGraph:
    """Build the typed ``networkx.DiGraph`` of a pipeline (builder or IR).

    ``inputs`` declares the keys the initial state will hold, so reads of them need no writer
    (default: the inputs the pipeline declares itself). The graph is returned even when the
    pipeline has problems; :func:`irgraph.validate` reports them. Every attribute is plain
    data, listed in :mod:`irgraph.schema`.
    """
    import networkx as nx

    root = root_of(pipeline_or_ir)
    if inputs is None:
        declared = frozenset(root.inputs)
    else:
        declared = checks.input_keys(inputs, "to_graph(inputs=...)")
    G = nx.DiGraph(name=root.name, inputs=sorted(declared))
    walker = _Walker(G, root)
    top = _Env(None)
    for key in sorted(declared):
        top.local[key] = _INPUT  # bound, with no edge
    tree = walker.walk(root, top, None).tree
    walker.close_scopes()
    walker.types.finish(tree)
    if walker.field_reads:
        check_field_reads(walker, tree, walker.field_reads)
    walker.warnings += literal_key_warnings(G, declared, walker.braced)
    walker.warnings += empty_prompt_warnings(G)
    walker.warnings += unkept_answer_warnings(G)
    walker.warnings += item_shadow_warnings(G)
    for sid, body_reads in walker.body_reads.items():
        G.nodes[sid]["body_reads"] = [k for k, opt in body_reads.items() if not opt]
        G.nodes[sid]["body_optional_reads"] = [k for k, opt in body_reads.items() if opt]
    G.graph["maybe_written"] = walker.maybe_reads
    G.graph["problems"] = [problem_data(problem) for problem in walker.problems]
    G.graph["warnings"] = walker.warnings
    G.graph["tree"] = tree
    return mark_built(G, forward=not walker.backward)


def as_graph(G_or_pipeline: Any) -> nx.DiGraph:
    """Return ``G_or_pipeline`` if it is a graph (one read back, copied or edited is checked
    first: :func:`irgraph.graph_foreign.whole_graph`), the graph a compiled pipeline runs
    (what :func:`irgraph.compile` returns, or its ``.runnable``), else ``to_graph`` of the
    builder or IR."""
    import networkx as nx

    held = getattr(compiled_runnable(G_or_pipeline), "graph", None)
    if isinstance(held, nx.DiGraph):
        G_or_pipeline = held  # drawn as it runs: with the inputs it was compiled with
    if isinstance(G_or_pipeline, nx.DiGraph):
        return whole_graph(G_or_pipeline, to_graph)
    return to_graph(root_of(G_or_pipeline, graphs=True))
