"""Analyses of a pipeline graph: timing, parallelism, lineage, differences.

Plain functions of the graph from :func:`irgraph.to_graph`, networkx style. Latencies are
given per node as a number (every node the same), a dict (node id -> seconds; missing nodes
cost 0) or a function ``latency(node_id, node_attrs) -> seconds``. A loop costs its body's
length times ``max_iterations``; a map-over costs its body once (items run concurrently); a
route costs its longest branch (one branch runs, and the analysis cannot know which).

>>> from irgraph import Agent, to_graph
>>> G = to_graph(Agent("a").instruct("x").writes("k") >> (Agent("b").instruct("{k}")
...              | Agent("c").instruct("{k}")))
>>> critical_path(G, latency={"a": 1, "b": 2, "c": 3})
(['a', 'c'], 4.0)
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

import attrs

from irgraph import checks
from irgraph.diffs import GraphDiff, diff, match_nodes
from irgraph.errors import PipelineError, did_you_mean
from irgraph.schema import SCOPE_KINDS, lifted_edges, scope_predecessors, scopes

if TYPE_CHECKING:
    import networkx as nx

__all__ = [
    "Latency",
    "CriticalPath",
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


_SECONDS = checks.seconds(allow_zero=True)


def _graph(G_or_pipeline: Any) -> nx.DiGraph:
    """The graph to analyse: ``G`` itself, or the graph of a builder or IR node."""
    from irgraph.graph import as_graph

    return as_graph(G_or_pipeline)


def _checked_latency(G: nx.DiGraph, latency: Any) -> Latency:
    """``latency`` if it is one of the three forms and its numbers are finite seconds, 0 or
    more; a dict may name only nodes of ``G``."""
    if isinstance(latency, Mapping):
        for node, seconds in latency.items():
            if node not in G:
                raise PipelineError(
                    f"The latency dict names {node!r}, which is not a node of the pipeline."
                    f"{did_you_mean(str(node), [str(n) for n in G])}",
                    node=str(node),
                    hint="Key it by node id (the names in to_graph(pipeline).nodes).",
                )
            _SECONDS.check(seconds, f"the latency of {node!r}", node=str(node))
        return latency
    if callable(latency):
        return latency  # type: ignore[no-any-return]
    if not _SECONDS.test(latency):
        raise PipelineError(
            "latency must be a finite number of seconds, 0 or more, a dict of node id -> "
            f"seconds, or a function (node_id, attrs) -> seconds (got {latency!r} of type "
            f"{type(latency).__name__}).",
            hint="Pass e.g. latency=1.0 or latency={'writer': 2.5}.",
            expected="seconds, a dict or a function",
            got=latency,
        )
    return latency  # type: ignore[no-any-return]


def _cost_fn(G: nx.DiGraph, latency: Latency) -> Callable[[str], float]:
    """Per-node cost, with scopes costed from their bodies (memoised)."""
    latency = _checked_latency(G, latency)
    memo: dict[str, float] = {}
    members = scopes(G)
    before = scope_predecessors(G)

    def own(node: str) -> float:
        if isinstance(latency, (int, float)):
            return float(latency)
        if isinstance(latency, Mapping):
            return float(latency.get(node, 0.0))
        seconds = latency(node, G.nodes[node])
        return float(_SECONDS.check(seconds, f"the latency function's answer for {node!r}"))

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


class CriticalPath(tuple[list[str], float]):
    """``(path, length)`` from :func:`critical_path`, which also says, in ``branches``, which
    branch each route on the path was taken through: route id -> the case's label (the
    longest branch, as the analysis cannot know which branch a run takes)."""

    branches: dict[str, str]

    def __new__(cls, path: list[str], length: float, branches: dict[str, str]) -> CriticalPath:
        made = super().__new__(cls, (path, length))
        made.branches = branches
        return made

    def __getnewargs__(self) -> tuple[list[str], float, dict[str, str]]:
        return self[0], self[1], self.branches  # copy and pickle

    @property
    def path(self) -> list[str]:
        return self[0]

    @property
    def length(self) -> float:
        return self[1]


def critical_path(G: nx.DiGraph, latency: Latency = 1.0) -> CriticalPath:
    """The longest chain of nodes by latency, and its length: the fastest any scheduler can
    finish with unlimited concurrency. A loop or map-over on the path is followed by the
    longest chain through its body (a loop's body counts once per iteration). A route on the
    path is followed by its **longest branch's** nodes (only one branch runs; the longest is
    the worst case), and ``.branches`` names the case taken for each such route.

    >>> from irgraph import Agent, Route, to_graph
    >>> r = Route("r").on("k").when("x", Agent("slow")).otherwise(Agent("fast"))
    >>> latency = {"w": 1, "slow": 5, "fast": 1}
    >>> found = critical_path(to_graph(Agent("w").writes("k") >> r), latency)
    >>> found, found.branches
    ((['w', 'r', 'slow'], 6.0), {'r': '"x"'})
    """
    G = _graph(G)
    members, before, cost = scopes(G), scope_predecessors(G), _cost_fn(G, latency)
    branches: dict[str, str] = {}

    def through(scope: str | None) -> tuple[list[str], float]:
        path, length = _longest(members[scope], before[scope], cost)
        if scope is not None and path and G.nodes[scope]["kind"] == "route":
            case = G.nodes[scope]["cases"][G.nodes[path[0]]["branch"]]
            branches[scope] = case.get("label", "")
        expanded: list[str] = []
        for node in path:
            expanded.append(node)
            if node in members and not (isinstance(latency, Mapping) and node in latency):
                expanded += through(node)[0]
        return expanded, length

    path, length = through(None)
    return CriticalPath(path, length, branches)


def makespan(
    G: nx.DiGraph,
    latency: Latency = 1.0,
    *,
    concurrency: int | None = None,
    dependencies: Mapping[str, Iterable[str]] | None = None,
) -> float:
    """Predicted run time of the top level with at most ``concurrency`` nodes running at once
    (greedy list scheduling in graph order; a scope node occupies one slot). A route costs
    its **longest branch**: the prediction is for the worst case, whichever branch runs.

    ``dependencies`` replaces the graph's edges (e.g. :func:`dataflow_dependencies`).
    """
    G = _graph(G)
    checks.optional(checks.count()).check(concurrency, "the concurrency argument of makespan()")
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
    before them and everything after waits for them. In a route's scope each branch is
    walked on its own: branches exclude each other, so no node waits for another branch.
    """
    G = _graph(G)
    members = scopes(G)
    if scope not in members:
        raise PipelineError(
            f"dataflow_dependencies(scope={scope!r}): the pipeline has no loop, map-over or "
            f"route with that id.{did_you_mean(str(scope), [n for n in members if n is not None])}",
            hint="Pass the id of a loop, map-over or route, or None for the top level.",
        )
    order = members[scope]
    if scope is not None and G.nodes[scope]["kind"] == "route":
        # Exactly one branch runs: each waits only within itself, never for another branch.
        deps: dict[str, list[str]] = {}
        for index in dict.fromkeys(G.nodes[n]["branch"] for n in order):
            deps.update(_dependencies(G, [n for n in order if G.nodes[n]["branch"] == index]))
        return {n: deps[n] for n in order}
    return _dependencies(G, order)


def _dependencies(G: nx.DiGraph, order: list[str]) -> dict[str, list[str]]:
    """:func:`dataflow_dependencies` of the nodes ``order``, all of which run."""
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
    each with the predicted makespan saving of starting it earlier. Largest saving first.

    Steps of the top level only: a scope is one step, so the branches of a route, which
    exclude each other (one runs), are never offered as running side by side."""
    G = _graph(G)
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
    """Who writes ``key``, who reads it, and the data edges it flows along. ``branches``
    says, for each writer inside a route's branch, the route and the case whose branch it is
    in (the innermost route): such a writer runs only when its branch is taken."""

    key: str
    writers: list[str]
    readers: list[str]
    edges: list[tuple[str, str]]
    is_input: bool = False
    branches: dict[str, tuple[str, str]] = attrs.field(factory=dict)


def lineage(G: nx.DiGraph, key: str) -> Lineage:
    """Producers and consumers of ``key`` and the data edges carrying it. After a route,
    every branch's writer is listed (any of them may have written the value a later reader
    sees), each named in ``branches`` with its route and case.

    >>> from irgraph import Agent, Route, to_graph
    >>> r = Route("r").on("k").when("x", Agent("a").writes("v")).otherwise(Agent("b").writes("v"))
    >>> found = lineage(to_graph(Agent("w").writes("k") >> r >> Agent("c").instruct("{v}")), "v")
    >>> found.writers, found.branches
    (['a', 'b'], {'a': ('r', '"x"'), 'b': ('r', 'otherwise')})
    """
    G = _graph(G)
    checks.key.check(key, "the key given to lineage()")
    known = {
        k
        for _, data in G.nodes(data=True)
        for field in ("reads", "optional_reads", "writes")
        for k in data.get(field, ())
    } | set(G.graph.get("inputs", ()))
    if key not in known:
        raise PipelineError(
            f"No node of the pipeline reads or writes {key!r}, and it is not an input."
            f"{did_you_mean(key, sorted(known))}",
            key=key,
            hint=f"Keys of this pipeline: {', '.join(sorted(known)) or 'none'}.",
        )
    writers, readers = [], []
    branches: dict[str, tuple[str, str]] = {}
    for node, data in G.nodes(data=True):
        # a loop's or route's writes are its body's: the body's nodes are the writers
        if data["kind"] not in ("loop", "route") and key in data.get("writes", ()):
            writers.append(node)
            case = _branch_of(G, node)
            if case is not None:
                branches[node] = case
        if key in (*data.get("reads", ()), *data.get("optional_reads", ())):
            readers.append(node)
    edges = [(u, v) for u, v, keys in G.edges(data="keys") if key in keys]
    return Lineage(key, writers, readers, edges, key in G.graph.get("inputs", ()), branches)


def _branch_of(G: nx.DiGraph, node: str) -> tuple[str, str] | None:
    """The innermost route around ``node`` and the label of the case whose branch holds it."""
    inner = node
    parent = G.nodes[node]["parent"]
    while parent is not None:
        if G.nodes[parent]["kind"] == "route":
            case = G.nodes[parent]["cases"][G.nodes[inner]["branch"]]
            return parent, str(case.get("label", ""))
        inner, parent = parent, G.nodes[parent]["parent"]
    return None
