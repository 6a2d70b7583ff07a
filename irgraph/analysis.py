"""Analyses of a pipeline graph: timing, parallelism, lineage, differences.

Plain functions of the graph from :func:`irgraph.to_graph`, networkx style. Latencies are
given per node as a number (every node the same), a dict (node id -> seconds; missing nodes
cost 0) or a function ``latency(node_id, node_attrs) -> seconds``. A loop costs its body's
length times ``max_iterations``; a map-over costs its body once (items run concurrently).

>>> from irgraph import Agent, to_graph
>>> G = to_graph(Agent("a").instruct("x").writes("k") >> (Agent("b").instruct("{k}")
...              | Agent("c").instruct("{k}")))
>>> critical_path(G, latency={"a": 1, "b": 2, "c": 3})
(['a', 'c'], 4.0)
"""

from __future__ import annotations

import difflib
import heapq
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

import attrs

from irgraph.schema import SCOPE_KINDS, lifted_edges, scope_predecessors, scopes, settings

if TYPE_CHECKING:
    import networkx as nx

__all__ = [
    "Latency",
    "critical_path",
    "makespan",
    "dataflow_dependencies",
    "parallelizable",
    "Suggestion",
    "lineage",
    "Lineage",
    "diff",
    "match_nodes",
    "GraphDiff",
]

Latency = float | int | Mapping[str, float] | Callable[[str, dict[str, Any]], float]


def _cost_fn(G: nx.DiGraph, latency: Latency) -> Callable[[str], float]:
    """Per-node cost, with scopes costed from their bodies (memoised)."""
    memo: dict[str, float] = {}
    members = scopes(G)
    before = scope_predecessors(G)

    def own(node: str) -> float:
        if isinstance(latency, (int, float)):
            return float(latency)
        if isinstance(latency, Mapping):
            return float(latency.get(node, 0.0))
        return float(latency(node, G.nodes[node]))

    def cost(node: str) -> float:
        if node in memo:
            return memo[node]
        data = G.nodes[node]
        if data["kind"] in SCOPE_KINDS and not (isinstance(latency, Mapping) and node in latency):
            body = _longest(members[node], before[node], cost)[1]
            value = body * (data["max_iterations"] or 1) if data["kind"] == "loop" else body
        else:
            value = own(node)
        memo[node] = value
        return value

    return cost


def _longest(
    nodes: list[str], before: Mapping[str, list[str]], cost: Callable[[str], float]
) -> tuple[list[str], float]:
    """Longest node-weighted path through ``nodes`` (one scope, in topological order, with
    each node's predecessors in ``before``)."""
    finish: dict[str, float] = {}
    best_pred: dict[str, str | None] = {}
    for node in nodes:
        preds = [p for p in before[node] if p in finish]
        start, pred = 0.0, None
        for p in preds:
            if finish[p] > start:
                start, pred = finish[p], p
        finish[node] = start + cost(node)
        best_pred[node] = pred
    if not finish:
        return [], 0.0
    end = max(finish, key=lambda n: (finish[n], -nodes.index(n)))
    path: list[str] = []
    current: str | None = end
    while current is not None:
        path.append(current)
        current = best_pred[current]
    return path[::-1], finish[end]


def critical_path(G: nx.DiGraph, latency: Latency = 1.0) -> tuple[list[str], float]:
    """The longest chain of nodes by latency, and its length: the fastest any scheduler can
    finish with unlimited concurrency. A loop or map-over on the path is followed by the
    longest chain through its body (a loop's body counts once per iteration)."""
    members, before, cost = scopes(G), scope_predecessors(G), _cost_fn(G, latency)

    def through(scope: str | None) -> tuple[list[str], float]:
        path, length = _longest(members[scope], before[scope], cost)
        expanded: list[str] = []
        for node in path:
            expanded.append(node)
            if node in members and not (isinstance(latency, Mapping) and node in latency):
                expanded += through(node)[0]
        return expanded, length

    return through(None)


def makespan(
    G: nx.DiGraph,
    latency: Latency = 1.0,
    *,
    concurrency: int | None = None,
    dependencies: Mapping[str, Iterable[str]] | None = None,
) -> float:
    """Predicted run time of the top level with at most ``concurrency`` nodes running at once
    (greedy list scheduling in graph order; a scope node occupies one slot).

    ``dependencies`` replaces the graph's edges (e.g. :func:`dataflow_dependencies`).
    """
    if dependencies is None:
        dependencies = scope_predecessors(G)[None]
    return _greedy(scopes(G)[None], _cost_fn(G, latency), dependencies, concurrency)


def _greedy(
    order: list[str],
    cost: Callable[[str], float],
    dependencies: Mapping[str, Iterable[str]],
    concurrency: int | None,
) -> float:
    """The makespan of greedy list scheduling of ``order`` on ``concurrency`` slots."""
    deps = {n: set(dependencies[n]) for n in order}
    waiting = {n: len(deps[n]) for n in order}
    followers: dict[str, list[str]] = {n: [] for n in order}
    for n in order:
        for d in deps[n]:
            followers[d].append(n)
    rank = {n: i for i, n in enumerate(order)}
    ready = [(rank[n], n) for n in order if waiting[n] == 0]
    heapq.heapify(ready)
    running: list[tuple[float, int, str]] = []
    now = 0.0
    slots = concurrency or len(order) or 1
    done = 0
    while done < len(order):
        while ready and len(running) < slots:
            _, node = heapq.heappop(ready)
            heapq.heappush(running, (now + cost(node), rank[node], node))
        now, _, node = heapq.heappop(running)
        done += 1
        for f in followers[node]:
            waiting[f] -= 1
            if waiting[f] == 0:
                heapq.heappush(ready, (rank[f], f))
    return now


def dataflow_dependencies(G: nx.DiGraph, scope: str | None = None) -> dict[str, list[str]]:
    """For each node of ``scope``, the earlier nodes it really has to wait for.

    Walking the scope in reading order: a node waits for the last writer of each key it reads
    (read after write), for the last writer of each key it writes (write after write) and for
    every reader of that key since (write after read), so running on these dependencies alone
    gives the same state as the written order. Gates are barriers: they wait for everything
    before them and everything after waits for them.
    """
    order = scopes(G)[scope]
    last_writer: dict[str, str] = {}
    readers: dict[str, list[str]] = {}
    barrier: str | None = None
    since_barrier: list[str] = []
    deps: dict[str, list[str]] = {}
    for node in order:
        data = G.nodes[node]
        reads = {
            *data.get("reads", ()),
            *data.get("optional_reads", ()),
            *data.get("body_reads", ()),
            *data.get("body_optional_reads", ()),
        }
        mine: dict[str, None] = {}
        if data["kind"] == "gate":
            mine.update(dict.fromkeys(since_barrier))
            if barrier is not None:
                mine[barrier] = None
        elif barrier is not None:
            mine[barrier] = None
        for key in reads:
            if key in last_writer:
                mine[last_writer[key]] = None
        for key in data.get("writes", ()):
            if key in last_writer:
                mine[last_writer[key]] = None
            mine.update(dict.fromkeys(r for r in readers.get(key, ()) if r != node))
        mine.pop(node, None)
        deps[node] = list(mine)
        for key in reads:
            readers.setdefault(key, []).append(node)
        for key in data.get("writes", ()):
            last_writer[key] = node
            readers[key] = []
        if data["kind"] == "gate":
            barrier, since_barrier = node, []
        else:
            since_barrier.append(node)
    return deps


@attrs.frozen
class Suggestion:
    """A step that waits for its predecessor without needing anything from it."""

    node: str
    after: str
    saving: float

    def __str__(self) -> str:
        return (
            f"'{self.node}' needs nothing from '{self.after}' but waits for it; running "
            f"them in parallel would save {self.saving:g} s."
        )


def parallelizable(G: nx.DiGraph, latency: Latency = 1.0) -> list[Suggestion]:
    """Sequence steps with no data dependency on the step before them (and no gate between),
    each with the predicted makespan saving of starting it earlier. Largest saving first."""
    order = scopes(G)[None]
    before = scope_predecessors(G)[None]
    needed = dataflow_dependencies(G)
    closure: dict[str, set[str]] = {}
    for node in order:
        reach: set[str] = set()
        for d in needed[node]:
            reach.add(d)
            reach |= closure[d]
        closure[node] = reach
    cost = _cost_fn(G, latency)  # memoised: one costing serves every what-if below
    base = _greedy(order, cost, before, None)
    out: list[Suggestion] = []
    for u, v, control, _ in lifted_edges(G):
        if not control or G.nodes[u]["parent"] is not None:
            continue
        if u in closure[v] or "gate" in (G.nodes[u]["kind"], G.nodes[v]["kind"]):
            continue
        deps = {n: set(before[n]) for n in order}
        deps[v] = (deps[v] - {u}) | set(before[u])
        saving = base - _greedy(order, cost, deps, None)
        if saving > 1e-12:
            out.append(Suggestion(v, u, round(saving, 9)))
    return sorted(out, key=lambda s: (-s.saving, order.index(s.node)))


@attrs.frozen
class Lineage:
    """Who writes ``key``, who reads it, and the data edges it flows along."""

    key: str
    writers: list[str]
    readers: list[str]
    edges: list[tuple[str, str]]
    is_input: bool = False


def lineage(G: nx.DiGraph, key: str) -> Lineage:
    """Producers and consumers of ``key`` and the data edges carrying it."""
    writers, readers = [], []
    for node, data in G.nodes(data=True):
        if data["kind"] != "loop" and key in data.get("writes", ()):
            writers.append(node)
        if key in (*data.get("reads", ()), *data.get("optional_reads", ())):
            readers.append(node)
    edges = [(u, v) for u, v, keys in G.edges(data="keys") if key in keys]
    return Lineage(key, writers, readers, edges, key in G.graph.get("inputs", ()))


@attrs.frozen
class GraphDiff:
    """What changed from one pipeline graph to another."""

    added: list[str]
    removed: list[str]
    changed: dict[str, list[str]]
    edges_added: list[tuple[str, str]]
    edges_removed: list[tuple[str, str]]
    keys_added: list[str]
    keys_removed: list[str]
    new: Any = attrs.field(repr=False, eq=False)
    old: Any = attrs.field(repr=False, eq=False)

    @property
    def empty(self) -> bool:
        return not (
            self.added
            or self.removed
            or self.changed
            or self.edges_added
            or self.edges_removed
            or self.keys_added
            or self.keys_removed
        )

    def __str__(self) -> str:
        if self.empty:
            return "No differences."
        lines = [f"+ node {n}" for n in self.added] + [f"- node {n}" for n in self.removed]
        lines += [f"~ node {n}: {', '.join(f)}" for n, f in self.changed.items()]
        lines += [f"+ edge {u} -> {v}" for u, v in self.edges_added]
        lines += [f"- edge {u} -> {v}" for u, v in self.edges_removed]
        lines += [f"+ key {k}" for k in self.keys_added] + [f"- key {k}" for k in self.keys_removed]
        return "\n".join(lines)


def _depth(G: nx.DiGraph, node: str) -> int:
    depth, parent = 0, G.nodes[node]["parent"]
    while parent is not None:
        depth, parent = depth + 1, G.nodes[parent]["parent"]
    return depth


def _token(G: nx.DiGraph, node: str) -> tuple[str, str, int, str]:
    data = G.nodes[node]
    return data["kind"], data["label"], _depth(G, node), repr(settings(data))


def match_nodes(G1: nx.DiGraph, G2: nx.DiGraph) -> dict[str, str]:
    """Pair the nodes of two pipeline graphs by structure, not by id: the two reading orders
    are aligned on (kind, name, scope depth, settings), so an insertion or removal pairs
    everything around it; where nodes take others' places, a new node is paired with an old
    one of its kind that has its name (its settings changed) or, failing that, its settings
    (it was renamed). Returns old id -> new id."""
    old, new = list(G1), list(G2)
    tokens1 = [_token(G1, n) for n in old]
    tokens2 = [_token(G2, n) for n in new]
    pairs: dict[str, str] = {}
    matcher = difflib.SequenceMatcher(None, tokens1, tokens2, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            pairs.update(zip(old[i1:i2], new[j1:j2], strict=True))
        elif tag == "replace":
            free = list(range(i1, i2))
            for j in range(j1, j2):
                same = [i for i in free if tokens1[i][:2] == tokens2[j][:2]]
                same = same or [
                    i
                    for i in free
                    if (tokens1[i][0], tokens1[i][3]) == (tokens2[j][0], tokens2[j][3])
                ]
                if same:
                    pairs[old[same[0]]] = new[j]
                    free.remove(same[0])
    return pairs


def diff(G1: nx.DiGraph, G2: nx.DiGraph) -> GraphDiff:
    """Nodes, edges and keys added, removed or changed from ``G1`` to ``G2``. Nodes are paired
    by structure (:func:`match_nodes`), so ids that shift (``writer#2`` becoming
    ``writer#3`` when a writer is added before it) are not changes. A node is changed when its
    name (``label``), kind or a setting (instruction, model, writes, function, ...) differs;
    changes and additions are named by their new ids, removals by their old ones."""
    pairs = match_nodes(G1, G2)
    paired = set(pairs.values())
    added = [n for n in G2 if n not in paired]
    removed = [n for n in G1 if n not in pairs]
    changed: dict[str, list[str]] = {}
    for node_old, node in pairs.items():
        a, b = G1.nodes[node_old], G2.nodes[node]
        fields = [f for f in ("label", "kind") if a[f] != b[f]]
        if a["kind"] == b["kind"]:
            # Every IR field but the name (the label) and children (nodes of their own).
            old, new = settings(a), settings(b)
            fields += [f for f in old if old[f] != new[f]]
        if fields:
            changed[node] = fields
    kept = {(pairs[u], pairs[v]) for u, v in G1.edges if u in pairs and v in pairs}
    edges2 = set(G2.edges)
    keys1 = {k for _, data in G1.nodes(data=True) for k in data.get("writes", ())}
    keys2 = {k for _, data in G2.nodes(data=True) for k in data.get("writes", ())}
    return GraphDiff(
        added,
        removed,
        changed,
        [e for e in G2.edges if e not in kept],
        [(u, v) for u, v in G1.edges if (pairs.get(u), pairs.get(v)) not in edges2],
        sorted(keys2 - keys1),
        sorted(keys1 - keys2),
        G2,
        G1,
    )
