"""Analyses of a pipeline graph: timing, parallelism, lineage, differences.

Plain functions of the graph from :func:`irgraph.to_graph`, networkx style; each also takes a
builder, an IR node or a compiled pipeline. Latencies are given per node as a number (every
node the same), a dict (node id -> seconds; missing nodes cost 0) or a function
``latency(node_id, node_attrs) -> seconds``. :func:`critical_path` costs a loop as its body's
length times ``max_iterations``, a map-over as its body once (items run concurrently) and a
route as its longest branch. :func:`makespan` simulates the scheduler
(:mod:`irgraph.analysis_schedule`): every map-over item and loop iteration is work of its
own, under the concurrency limit. A run's ``RunResult`` (or ``RunError``) given in place of
the graph is analysed as that run (:mod:`irgraph.analysis_measured`): its measured latencies,
schedule, limit and shape stand in for the arguments left out.

>>> from irgraph import Agent, to_graph
>>> G = to_graph(Agent("a").instruct("x").writes("k") >> (Agent("b").instruct("{k}")
...              | Agent("c").instruct("{k}")))
>>> critical_path(G, latency={"a": 1, "b": 2, "c": 3})
(['a', 'c'], 4.0)
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

import attrs

from irgraph import checks
from irgraph.analysis_dataflow import dataflow_dependencies
from irgraph.analysis_latency import Latency, checked_latency
from irgraph.analysis_lineage import Lineage, lineage
from irgraph.analysis_measured import RUNS_LIMIT, Concurrency, chosen_concurrency, run_defaults
from irgraph.analysis_schedule import Simulation, analysed_graph
from irgraph.analysis_shape import Shape
from irgraph.diffs import GraphDiff, diff, match_nodes
from irgraph.schema import SCOPE_KINDS, lifted_edges, scope_predecessors, scopes

if TYPE_CHECKING:
    import networkx as nx

    from irgraph.events import RunResult

__all__ = [
    "Latency",
    "CriticalPath",
    "critical_path",
    "makespan",
    "dataflow_dependencies",
    "parallelizable",
    "Suggestion",
    "Suggestions",
    "SCHEDULES",
    "lineage",
    "Lineage",
    "diff",
    "match_nodes",
    "GraphDiff",
]

_SECONDS = checks.seconds(allow_zero=True)

#: The schedules :func:`makespan` predicts, as ``AsyncioBackend(schedule=...)`` names them.
SCHEDULES = ("topological", "dataflow")


def _own_fn(
    G: nx.DiGraph, latency: Latency
) -> tuple[Callable[[str], float], Callable[[str], bool]]:
    """Each node's own latency, and whether a node is a step of its own: not a scope, or a
    scope whose latency the dict gives (its body is then not looked into)."""
    latency = checked_latency(G, latency)

    def own(node: str) -> float:
        if isinstance(latency, (int, float)):
            return float(latency)
        if isinstance(latency, Mapping):
            return float(latency.get(node, 0.0))
        seconds = latency(node, G.nodes[node])
        return float(_SECONDS.check(seconds, f"the latency function's answer for {node!r}"))

    def leaf(node: str) -> bool:
        return G.nodes[node]["kind"] not in SCOPE_KINDS or (
            isinstance(latency, Mapping) and node in latency
        )

    return own, leaf


def _cost_fn(
    G: nx.DiGraph, latency: Latency, iterations: Callable[[str], int] | None = None
) -> Callable[[str], float]:
    """Per-node cost, with scopes costed from their bodies (memoised); a loop runs its body
    ``iterations(loop)`` times (a run's count), else ``max_iterations``."""
    own, leaf = _own_fn(G, latency)
    memo: dict[str, float] = {}
    members = scopes(G)
    before = scope_predecessors(G)

    def cost(node: str) -> float:
        if node in memo:
            return memo[node]
        data = G.nodes[node]
        if not leaf(node):
            body = _longest(members[node], before[node], cost)[1]
            if data["kind"] == "loop":
                body *= iterations(node) if iterations else (data["max_iterations"] or 1)
            value = body
        else:
            value = own(node)
        memo[node] = value
        return value

    return cost


def _longest(
    nodes: list[str], before: Mapping[str, list[str]], cost: Callable[[str], float]
) -> tuple[list[str], float]:
    """Longest node-weighted path through ``nodes`` (one scope, in topological order, with
    each node's predecessors in ``before``). Of paths as long, the one with more nodes wins,
    so zero-latency steps at either end stay on it."""
    finish: dict[str, tuple[float, int]] = {}
    best_pred: dict[str, str | None] = {}
    for node in nodes:
        start, pred = (0.0, 0), None
        for p in before[node]:
            if p in finish and finish[p] > start:
                start, pred = finish[p], p
        finish[node] = (start[0] + cost(node), start[1] + 1)
        best_pred[node] = pred
    if not finish:
        return [], 0.0
    position = {n: i for i, n in enumerate(nodes)}
    end = max(finish, key=lambda n: (finish[n], -position[n]))
    path: list[str] = []
    current: str | None = end
    while current is not None:
        path.append(current)
        current = best_pred[current]
    return path[::-1], finish[end][0]


class CriticalPath(tuple[list[str], float]):
    """``(path, length)`` from :func:`critical_path`, which also says, in ``branches``, which
    branch each route on the path was taken through: route id -> the case's label (the
    longest branch, as the analysis cannot know which branch a run takes). ``by_branch`` has,
    for each such route, every case's own chain through its branch (label -> node ids): what
    the path is when a run takes that case (the run view marks the branch a run took)."""

    branches: dict[str, str]
    by_branch: dict[str, dict[str, list[str]]]

    def __new__(
        cls,
        path: list[str],
        length: float,
        branches: dict[str, str],
        by_branch: dict[str, dict[str, list[str]]] | None = None,
    ) -> CriticalPath:
        made = super().__new__(cls, (path, length))
        made.branches = branches
        made.by_branch = by_branch or {}
        return made

    def __getnewargs__(
        self,
    ) -> tuple[list[str], float, dict[str, str], dict[str, dict[str, list[str]]]]:
        return self[0], self[1], self.branches, self.by_branch  # copy and pickle

    @property
    def path(self) -> list[str]:
        return self[0]

    @property
    def length(self) -> float:
        return self[1]


@checks.keyword_options
def critical_path(
    G: nx.DiGraph,
    latency: Latency | None = None,
    *,
    schedule: str | None = None,
    run: RunResult | None = None,
) -> CriticalPath:
    """The longest chain of nodes by latency along the graph's edges (each step waits for the
    ones before it as written), and its length: the fastest the topological schedule can
    finish with unlimited concurrency. The dataflow schedule waits only for the data a step
    reads, so it can finish sooner (``makespan(..., schedule="dataflow")``). A loop or
    map-over on the path is followed by the longest chain through its body (a loop's body
    counts once per iteration). A route on the path is followed by its **longest branch's**
    nodes (only one branch runs; the longest is the worst case), and ``.branches`` names the
    case taken for each such route. ``schedule="dataflow"`` follows what each step reads
    instead of the edges as written (:func:`dataflow_dependencies`), as a backend with that
    schedule runs it. ``latency`` left out is 1 s per node; ``schedule``, ``"topological"``.
    ``run``, a finished run's result, costs each loop by the iterations it ran (the most of
    any of its instances) instead of ``max_iterations``.

    Given a run's ``RunResult`` (or ``RunError``) in place of the graph, the path is that
    run's: each node costed at its measured duration, each loop by the iterations it ran, on
    the run's schedule (:mod:`irgraph.analysis_measured`), as its timeline outlines it.

    >>> from irgraph import Agent, Route, to_graph
    >>> r = Route("r").on("k").when("x", Agent("slow")).otherwise(Agent("fast"))
    >>> latency = {"w": 1, "slow": 5, "fast": 1}
    >>> found = critical_path(to_graph(Agent("w").writes("k") >> r), latency)
    >>> found, found.branches
    ((['w', 'r', 'slow'], 6.0), {'r': '"x"'})
    """
    given, G = G, analysed_graph(G, "critical_path")
    ran = run_defaults(given)
    latency = ran.latency if latency is None else latency
    schedule = checks.one_of(*SCHEDULES).check(
        ran.schedule if schedule is None else schedule, "the schedule argument of critical_path()"
    )
    # A run's loops ran as many iterations as it says, not max_iterations.
    run = ran.run if run is None else run
    counted = None if run is None else Shape(G, run=run).most
    members, before = scopes(G), _schedule_dependencies(G, schedule)
    cost = _cost_fn(G, latency, counted)
    branches: dict[str, str] = {}

    by_branch: dict[str, dict[str, list[str]]] = {}

    def through(scope: str | None, on_path: bool = True) -> tuple[list[str], float]:
        """The chain through ``scope``; ``on_path``: it is the critical path's own (not a
        route's other branch), so its routes are told in ``branches`` and ``by_branch``."""
        path, length = _longest(members[scope], before[scope], cost)
        if on_path and scope is not None and path and G.nodes[scope]["kind"] == "route":
            cases = G.nodes[scope]["cases"]
            branches[scope] = cases[G.nodes[path[0]]["branch"]].get("label", "")
            for index in sorted({G.nodes[n]["branch"] for n in members[scope]}):
                inside = [n for n in members[scope] if G.nodes[n]["branch"] == index]
                label = cases[index].get("label", "")
                by_branch.setdefault(scope, {})[label] = expand(
                    _longest(inside, before[scope], cost)[0], False
                )
        return expand(path, on_path), length

    def expand(path: list[str], on_path: bool) -> list[str]:
        expanded: list[str] = []
        for node in path:
            expanded.append(node)
            if node in members and not (isinstance(latency, Mapping) and node in latency):
                expanded += through(node, on_path)[0]
        return expanded

    path, length = through(None)
    return CriticalPath(path, length, branches, by_branch)


@checks.keyword_options
def makespan(
    G: nx.DiGraph,
    latency: Latency | None = None,
    *,
    concurrency: Concurrency = RUNS_LIMIT,
    schedule: str | None = None,
    items: Mapping[str, int] | None = None,
    iterations: Mapping[str, int] | None = None,
    branches: Mapping[str, str | int] | None = None,
    state: Mapping[str, Any] | None = None,
    run: RunResult | None = None,
    dependencies: Mapping[str, Iterable[str]] | None = None,
) -> float:
    """Predicted run time: the asyncio scheduler's run simulated on ``latency``.

    ``concurrency`` is the run's ``max_concurrency``: at most that many **model calls** at
    once (an agent holds a slot while it runs, waiting calls get slots first come, first
    served; transforms and gates hold none). ``schedule`` is the backend's: ``"topological"``
    (each node waits for the nodes before it) or ``"dataflow"`` (only for what it needs,
    :func:`dataflow_dependencies`). ``dependencies`` replaces the top level's instead.

    Every map-over item and loop iteration is work of its own. How many there are, and which
    branch a route takes, the graph does not say; it is taken, per node, from ``items``
    (map-over id -> items), ``iterations`` (loop id -> iterations) and ``branches`` (route
    id -> case label or index), else from ``run``, a finished run's RunResult (exact for
    every instance: each iteration's map-over has its own count), else from ``state``, the
    initial state (a map-over over a key no node writes has that list's length). Otherwise
    a map-over is assumed to have **one item**, a loop to run **max_iterations** (``until``
    never stopping it early) and a route to take its **longest branch** (the worst case).
    Latencies are the same for every item and iteration; a structured-output agent's reply
    is assumed valid the first time (no retries). ``latency`` left out is 1 s per node.

    Given a run's ``RunResult`` (or ``RunError``) in place of the graph, every argument left
    out is the run's: its measured latencies, ``max_concurrency``, schedule and shape, so
    ``makespan(result)`` is the prediction its timeline shows; ``concurrency=None``, given,
    is no limit: ``makespan(result, concurrency=None)`` is that run without its limit.

    >>> from irgraph import Agent, MapOver
    >>> each = MapOver("each").over("papers").step(Agent("read").instruct("{item}"))
    >>> makespan(each, 1.0), makespan(each, 1.0, concurrency=1, items={"each": 4})
    (1.0, 4.0)
    """
    given, G = G, analysed_graph(G, "makespan")
    ran = run_defaults(given)
    limit = chosen_concurrency(concurrency, ran, "the concurrency argument of makespan()")
    latency = ran.latency if latency is None else latency
    run = ran.run if run is None else run
    schedule = checks.one_of(*SCHEDULES).check(
        ran.schedule if schedule is None else schedule, "the schedule argument of makespan()"
    )
    shape = Shape(G, items=items, iterations=iterations, branches=branches, state=state, run=run)
    deps = _schedule_dependencies(G, schedule)
    if dependencies is not None:
        deps[None] = {n: list(dependencies[n]) for n in deps[None]}
    return _simulate(G, latency, deps, limit, shape)


def _schedule_dependencies(G: nx.DiGraph, schedule: str) -> dict[str | None, dict[str, list[str]]]:
    """What each node of each scope waits for under ``schedule`` (as the backend plans it)."""
    if schedule == "dataflow":
        return {sid: dataflow_dependencies(G, sid) for sid in scopes(G)}
    return scope_predecessors(G)


def _simulate(
    G: nx.DiGraph,
    latency: Latency,
    deps: Mapping[str | None, Mapping[str, Iterable[str]]],
    concurrency: int | None,
    shape: Shape,
) -> float:
    """The simulated makespan (:class:`irgraph.analysis_schedule.Simulation`)."""
    own, leaf = _own_fn(G, latency)
    # Every model call the run can make: with as many slots, none ever waits for one.
    order = [n for n, kind in G.nodes(data="kind") if kind == "agent" for _ in _copies(G, n, shape)]
    slots = concurrency or len(order) or 1
    return Simulation(G, own, leaf, deps, slots, shape).makespan()


def _copies(G: nx.DiGraph, node: str, shape: Shape) -> range:
    """At most how many times ``node`` runs: the counts of the loops and map-overs around it."""
    times = 1
    parent = G.nodes[node]["parent"]
    while parent is not None:
        times *= shape.most(parent)
        parent = G.nodes[parent]["parent"]
    return range(times)


@attrs.frozen
class Suggestion:
    """A step that waits for its predecessor without needing anything from it; ``saving``
    is what starting it without that one wait saves, all else as written."""

    node: str
    after: str
    saving: float

    def __str__(self) -> str:
        return (
            f"'{self.node}' needs nothing from '{self.after}' but waits for it; running "
            f"them in parallel would save {self.saving:g} s."
        )

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(str(self))


class Suggestions(list[Suggestion]):
    """The list :func:`parallelizable` returns, with the two predicted makespans:
    ``control`` in control order (``schedule="topological"``), ``dataflow`` on data
    dependencies (``schedule="dataflow"``), and ``saving``, their difference: what running
    on data dependencies saves, every suggestion taken together."""

    def __init__(self, found: Iterable[Suggestion], control: float, dataflow: float) -> None:
        super().__init__(found)
        self.control = control
        self.dataflow = dataflow
        self.saving = round(max(control - dataflow, 0.0), 9)

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        """In Jupyter: each suggestion's sentence, then what all of them save together."""
        total = f"{self.control:g} s in order, {self.dataflow:g} s on data dependencies: "
        total += f"running on data dependencies saves {self.saving:g} s."
        printer.text("\n".join([*map(str, self), total]))


@checks.keyword_options
def parallelizable(
    G: nx.DiGraph,
    latency: Latency | None = None,
    *,
    concurrency: Concurrency = RUNS_LIMIT,
    items: Mapping[str, int] | None = None,
    iterations: Mapping[str, int] | None = None,
    branches: Mapping[str, str | int] | None = None,
    state: Mapping[str, Any] | None = None,
    run: RunResult | None = None,
) -> Suggestions:
    """Steps that wait for the step before them without needing anything from it (no data
    dependency, no gate between), in every scope: the top level, loop and map-over bodies,
    and within each branch of a route (branches exclude each other: one runs). Largest
    saving first.

    Each suggestion's ``saving`` is that of dropping its one wait; the list's ``.saving`` is
    what ``AsyncioBackend(schedule="dataflow")`` saves, all waits dropped at once: the
    difference of the two schedules' :func:`makespan` (same arguments, which mean what
    they mean there), which is more than the largest single saving when several steps could
    all start together. Given a run's ``RunResult`` (or ``RunError``), every argument left
    out is the run's, as for :func:`makespan`.

    >>> from irgraph import Agent
    >>> five = Agent("s0").instruct("a")
    >>> for i in range(1, 5):
    ...     five = five >> Agent(f"s{i}").instruct("a")
    >>> found = parallelizable(five, 1.0)
    >>> [s.saving for s in found], found.saving
    ([1.0, 1.0, 1.0, 1.0], 4.0)
    """
    given, G = G, analysed_graph(G, "parallelizable")
    ran = run_defaults(given)
    limit = chosen_concurrency(concurrency, ran, "the concurrency argument")
    latency = ran.latency if latency is None else latency
    run = ran.run if run is None else run
    shape = Shape(G, items=items, iterations=iterations, branches=branches, state=state, run=run)
    before = scope_predecessors(G)
    needed = {sid: dataflow_dependencies(G, sid) for sid in before}
    control = _simulate(G, latency, before, limit, shape)
    dataflow = _simulate(G, latency, needed, limit, shape)
    closure: dict[str, set[str]] = {}
    for sid, order in scopes(G).items():
        for node in order:
            reach: set[str] = set()
            for d in needed[sid][node]:
                reach |= {d, *closure[d]}
            closure[node] = reach
    out: list[Suggestion] = []
    for u, v, is_control, _ in lifted_edges(G):
        if not is_control or u in closure[v] or "gate" in (G.nodes[u]["kind"], G.nodes[v]["kind"]):
            continue
        sid = G.nodes[v]["parent"]
        if G.nodes[u]["branch"] != G.nodes[v]["branch"]:
            continue  # two branches of a route: never both run
        deps = {s: dict(scope) for s, scope in before.items()}
        deps[sid][v] = [*(p for p in deps[sid][v] if p != u), *before[sid][u]]
        saving = control - _simulate(G, latency, deps, limit, shape)
        if saving > 1e-12:
            out.append(Suggestion(v, u, round(saving, 9)))
    rank = {n: i for i, n in enumerate(G)}
    return Suggestions(sorted(out, key=lambda s: (-s.saving, rank[s.node])), control, dataflow)
