"""Normalise an IR tree into a plain ``networkx.DiGraph`` with control and data-flow edges.

The walk follows the tree in reading order, carrying an *environment*: for each state key, the
node that wrote it last. Sequences thread the environment through their steps and add control
edges from each step's exits to the next step's entries; parallel branches each get a private
layer of the environment (so siblings never see each other's writes) that is merged back after
the block. A read looks the key up and adds a data edge from the nearest writer. Loops and
map-overs are *scopes*: one node at their own level, with the body's nodes carrying it as
``parent``. A read that leaves a scope is recorded as the scope's read, so every edge joins two
nodes of the same scope and the graph stays acyclic; iteration is the scheduler's business.

Node ids are the node names; a name used more than once gets ``#2``, ``#3`` ... on its later
uses, in reading order, so the same pipeline has the same ids in every process.

Problems (parallel write races, sibling reads, empty composites, bad loop bounds) are collected
in ``G.graph["problems"]``; :func:`irgraph.validate` raises them together with unbound reads.

>>> from irgraph import Agent
>>> G = to_graph(Agent("a").instruct("Go.").writes("x") >> Agent("b").instruct("Use {x}."))
>>> list(G.nodes), G.edges["a", "b"]["keys"]
(['a', 'b'], frozenset({'x'}))
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import attrs

from irgraph import checks
from irgraph.errors import PipelineError, Problem
from irgraph.ir import (
    NODE_KINDS,
    AgentNode,
    GateNode,
    LoopNode,
    MapOverNode,
    Node,
    ParallelNode,
    SequenceNode,
    TransformNode,
)

if TYPE_CHECKING:
    import networkx as nx

__all__ = ["to_graph", "as_graph", "root_of", "KIND", "SCOPE_KINDS", "EXECUTABLE_KINDS"]

KIND: dict[type[Any], str] = {
    AgentNode: "agent",
    TransformNode: "transform",
    GateNode: "gate",
    LoopNode: "loop",
    MapOverNode: "map_over",
    SequenceNode: "sequence",
    ParallelNode: "parallel",
}
SCOPE_KINDS = frozenset({"loop", "map_over"})
EXECUTABLE_KINDS = frozenset({"agent", "transform", "gate"})


def root_of(pipeline_or_ir: Any) -> Node:
    """Return the IR root of a builder, or the IR node itself."""
    if isinstance(pipeline_or_ir, NODE_KINDS):
        return pipeline_or_ir
    to_ir = getattr(pipeline_or_ir, "to_ir", None)
    if callable(to_ir):
        node = to_ir()
        if isinstance(node, NODE_KINDS):
            return node
    raise PipelineError(
        f"Expected a pipeline builder or an IR node (got {pipeline_or_ir!r} that is a "
        f"{type(pipeline_or_ir).__name__}).",
        hint="Pass e.g. Agent('a') >> Agent('b'), or the result of .to_ir().",
    )


_INPUT = ""  # the writer of a declared input: nobody


class _Env:
    """One layer of the key → writer map; a scope body's bottom layer names its scope."""

    __slots__ = ("item", "local", "parent", "scope")

    def __init__(self, parent: _Env | None, scope: str | None = None, item: str | None = None):
        self.local: dict[str, str] = {}
        self.parent = parent
        self.scope = scope
        self.item = item


@attrs.define
class _Summary:
    entries: list[str]
    exits: list[str]
    reads: dict[str, str]  # key -> first reader id (at this scope level)
    writes: dict[str, str]  # key -> last writer id (at this scope level)


def _empty() -> _Summary:
    return _Summary([], [], {}, {})


class _Walker:
    def __init__(self, G: nx.DiGraph) -> None:
        self.G = G
        self.problems: list[Problem] = []
        self.warnings: list[str] = []
        self.scopes: dict[str | None, list[str]] = {None: []}
        self.read_writers: set[str] = set()
        self.used: dict[str, int] = {}

    # ids -----------------------------------------------------------------------------
    def new_id(self, name: str) -> str:
        seen = self.used.get(name, 0)
        candidate = name if seen == 0 else f"{name}#{seen + 1}"
        while candidate in self.G:
            seen += 1
            candidate = f"{name}#{seen + 1}"
        self.used[name] = seen + 1
        return candidate

    def add_node(self, node: Node, parent: str | None, **attrs_: Any) -> str:
        nid = self.new_id(node.name)
        self.G.add_node(
            nid, kind=KIND[type(node)], op=node, parent=parent, name=node.name, **attrs_
        )
        self.scopes[parent].append(nid)
        return nid

    # edges ---------------------------------------------------------------------------
    def control(self, sources: list[str], targets: list[str]) -> None:
        G = self.G
        for u in sources:
            for v in targets:
                G.add_edge(u, v, control=True)

    def flow(self, writer: str, reader: str, key: str) -> None:
        data = self.G.succ[writer].get(reader)
        if data is None:
            self.G.add_edge(writer, reader, control=False, keys={key})
        elif "keys" in data:
            data["keys"].add(key)
        else:
            data["keys"] = {key}

    # reads and writes ----------------------------------------------------------------
    def bind(self, reader: str, key: str, env: _Env, optional: bool) -> None:
        """Connect ``reader`` to the nearest writer of ``key``; record reads leaving scopes."""
        target = reader
        layer: _Env | None = env
        while layer is not None:
            writer = layer.local.get(key)
            if writer is not None:
                if writer != _INPUT:
                    self.read_writers.add(writer)
                    self.flow(writer, target, key)
                return
            if layer.scope is not None:
                if layer.item == key:
                    return
                reads = self.G.nodes[layer.scope]["body_reads"]
                reads[key] = reads.get(key, True) and optional
                target = layer.scope
            layer = layer.parent

    def write(self, env: _Env, key: str, writer: str) -> None:
        previous = env.local.get(key)
        if (
            previous
            and previous not in self.read_writers
            and self.G.nodes[previous]["kind"] in EXECUTABLE_KINDS
        ):
            self.warnings.append(
                f"'{previous}' writes '{key}', but '{writer}' overwrites it before anything "
                "reads it."
            )
        env.local[key] = writer

    # the walk ------------------------------------------------------------------------
    def walk(self, node: Node, env: _Env, parent: str | None) -> _Summary:
        if isinstance(node, SequenceNode):
            if not node.children:
                self.empty(node, "Pipeline", "steps", ".step(...)")
            return self.sequence(node.children, env, parent)
        if isinstance(node, ParallelNode):
            return self.parallel(node, env, parent)
        if isinstance(node, LoopNode):
            return self.loop(node, env, parent)
        if isinstance(node, MapOverNode):
            return self.map_over(node, env, parent)
        return self.executable(node, env, parent)

    def executable(
        self, node: AgentNode | TransformNode | GateNode, env: _Env, parent: str | None
    ) -> _Summary:
        writes = (node.writes,) if node.writes else ()
        nid = self.add_node(
            node, parent, reads=node.reads, optional_reads=node.optional_reads, writes=writes
        )
        reads: dict[str, str] = {}
        for key in node.reads:
            self.bind(nid, key, env, optional=False)
            reads[key] = nid
        for key in node.optional_reads:
            self.bind(nid, key, env, optional=True)
            reads[key] = nid
        if node.writes:
            self.write(env, node.writes, nid)
        return _Summary([nid], [nid], reads, {k: nid for k in writes})

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
            for key, reader in part.reads.items():
                out.reads.setdefault(key, reader)
            out.writes.update(part.writes)
        return out

    def parallel(self, node: ParallelNode, env: _Env, parent: str | None) -> _Summary:
        if not node.children:
            self.empty(node, "FanOut", "branches", ".branch(...)")
        out = _empty()
        # Keep only each branch's reads, not its summary and layer: a wide fan-out would
        # otherwise hold several containers per branch and trigger full gc passes.
        branch_reads: list[dict[str, str]] = []
        written: dict[str, str] = {}
        writer_branch: dict[str, tuple[str, int]] = {}
        for index, child in enumerate(node.children):
            layer = _Env(env)
            part = self.walk(child, layer, parent)
            branch_reads.append(part.reads)
            written.update(layer.local)
            out.writes.update(part.writes)
            out.entries += part.entries
            out.exits += part.exits
            for key, writer in part.writes.items():
                if key in writer_branch:
                    first = writer_branch[key][0]
                    self.problems.append(
                        Problem(
                            f"Parallel branches of '{node.name}' both write '{key}': '{first}' "
                            f"and '{writer}'. Branches run at the same time, so the result would "
                            "depend on timing.",
                            node=writer,
                            key=key,
                            hint=f"Give each branch its own key (e.g. '{key}_1', '{key}_2') and "
                            "combine them in a later step.",
                        )
                    )
                else:
                    writer_branch[key] = (writer, index)
        for index, reads in enumerate(branch_reads):
            for key, reader in reads.items():
                owner = writer_branch.get(key)
                if owner is not None and owner[1] != index:
                    self.problems.append(
                        Problem(
                            f"'{reader}' reads '{key}', which its parallel sibling '{owner[0]}' "
                            f"writes in '{node.name}'; siblings run at the same time, so "
                            f"'{reader}' could see either value.",
                            node=reader,
                            key=key,
                            hint=f"Run '{owner[0]}' before the parallel block, e.g. "
                            f"{owner[0]} >> ({reader} | ...).",
                        )
                    )
                out.reads.setdefault(key, reader)
        env.local.update(written)
        return out

    def open_scope(self, node: LoopNode | MapOverNode, parent: str | None) -> str:
        sid = self.add_node(node, parent, reads=(), optional_reads=(), writes=(), body_reads={})
        self.scopes[sid] = []
        return sid

    def walk_body(
        self, node: LoopNode | MapOverNode, env: _Env, sid: str, item: str | None
    ) -> _Env:
        body_env = _Env(env, scope=sid, item=item)
        self.sequence(node.children, body_env, sid)
        return body_env

    def loop(self, node: LoopNode, env: _Env, parent: str | None) -> _Summary:
        # Problems name the scope's graph id, which differs from its name when reused.
        sid = self.open_scope(node, parent)
        if not node.children:
            self.empty(node, "Loop", "steps", ".step(...)", sid)
        if node.max_iterations is None:
            self.problems.append(
                Problem(
                    f"Loop '{node.name}' has no max_iterations, so it could run forever.",
                    node=sid,
                    hint="Bound it with .max_iterations(n) (or write it as x * n).",
                )
            )
        elif node.max_iterations < 1:
            self.problems.append(
                Problem(
                    f"Loop '{node.name}' has max_iterations={node.max_iterations}, but it must be "
                    "at least 1.",
                    node=sid,
                    hint="Use .max_iterations(n) with n >= 1.",
                )
            )
        body_env = self.walk_body(node, env, sid, None)
        attrs_ = self.G.nodes[sid]
        own_reads: tuple[str, ...] = ()
        if isinstance(node.until, str) and node.until not in body_env.local:
            own_reads = (node.until,)
            self.bind(sid, node.until, env, optional=False)
        attrs_["reads"] = own_reads
        attrs_["writes"] = tuple(sorted(body_env.local))
        writes = {}
        for key in sorted(body_env.local):
            self.write(env, key, sid)
            writes[key] = sid
        reads = {key: sid for key in attrs_["body_reads"]}
        reads.update({key: sid for key in own_reads})
        return _Summary([sid], [sid], reads, writes)

    def map_over(self, node: MapOverNode, env: _Env, parent: str | None) -> _Summary:
        sid = self.open_scope(node, parent)
        if not node.children:
            self.empty(node, "MapOver", "steps", ".step(...)", sid)
        body_env = self.walk_body(node, env, sid, node.item)
        attrs_ = self.G.nodes[sid]
        reads: dict[str, str] = {}
        if node.over is None:
            self.problems.append(
                Problem(
                    f"MapOver '{node.name}' has no list to iterate.",
                    node=sid,
                    hint="Name the state key holding the list with .over('papers', item='paper').",
                )
            )
        else:
            attrs_["reads"] = (node.over,)
            self.bind(sid, node.over, env, optional=False)
            reads[node.over] = sid
        if node.collect is None or node.collect not in body_env.local:
            what = (
                "names no key to collect"
                if node.collect is None
                else (f"collects '{node.collect}', which its body never writes")
            )
            self.problems.append(
                Problem(
                    f"MapOver '{node.name}' {what}.",
                    node=sid,
                    key=node.collect,
                    hint="Give a body step .writes(key) and collect it with .collect(key).",
                )
            )
        if node.writes is None:
            self.problems.append(
                Problem(
                    f"MapOver '{node.name}' does not say where to store its results.",
                    node=sid,
                    hint="Add .writes('results') to name the list it produces.",
                )
            )
            writes: dict[str, str] = {}
        else:
            attrs_["writes"] = (node.writes,)
            self.write(env, node.writes, sid)
            writes = {node.writes: sid}
        reads.update({key: sid for key in attrs_["body_reads"]})
        return _Summary([sid], [sid], reads, writes)

    def empty(self, node: Node, kind: str, what: str, fix: str, nid: str | None = None) -> None:
        self.problems.append(
            Problem(
                f"{kind} '{node.name}' has no {what}.",
                node=nid or node.name,
                hint=f"Add one with {fix}, or remove the empty {kind}.",
            )
        )


def to_graph(pipeline_or_ir: Any, *, inputs: Iterable[str] | None = None) -> nx.DiGraph:
    """Build the typed ``networkx.DiGraph`` of a pipeline (builder or IR).

    ``inputs`` declares the keys the initial state will hold; reads of them need no writer.
    The graph is returned even when the pipeline has problems; :func:`irgraph.validate`
    reports them.
    """
    import networkx as nx

    root = root_of(pipeline_or_ir)
    declared = checks.input_keys(inputs, "to_graph(inputs=...)")
    G = nx.DiGraph(name=root.name, inputs=declared, root=root)
    walker = _Walker(G)
    top = _Env(None)
    for key in sorted(declared):
        top.local[key] = _INPUT  # bound, with no edge
    walker.walk(root, top, None)
    shared: dict[frozenset[str], frozenset[str]] = {}  # one object per distinct key set
    for _, _, data in G.edges(data=True):
        keys = frozenset(data.get("keys", ()))
        data["keys"] = shared.setdefault(keys, keys)
        data.setdefault("control", False)
    for nid in walker.scopes:
        if nid is not None:
            body_reads = G.nodes[nid].pop("body_reads")
            G.nodes[nid]["body_reads"] = tuple(k for k, opt in body_reads.items() if not opt)
            G.nodes[nid]["body_optional_reads"] = tuple(k for k, opt in body_reads.items() if opt)
    G.graph["problems"] = walker.problems
    G.graph["warnings"] = walker.warnings
    G.graph["scopes"] = walker.scopes
    return G


def as_graph(G_or_pipeline: Any) -> nx.DiGraph:
    """Return ``G_or_pipeline`` if it is a graph, else ``to_graph`` of the builder or IR."""
    import networkx as nx

    if isinstance(G_or_pipeline, nx.DiGraph):
        return G_or_pipeline
    return to_graph(G_or_pipeline)
