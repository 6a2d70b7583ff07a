"""The run a scheduler would make, simulated: what :func:`irgraph.analysis.makespan` predicts.

:class:`Simulation` replays the asyncio scope scheduler (:mod:`irgraph.backends.scheduler`)
on a clock that jumps from event to event instead of sleeping. It keeps the scheduler's
rules: in each scope a node starts when its last predecessor ends (the graph's edges, or
the dataflow dependencies); a loop runs its body once per iteration, one after another; a
map-over runs its body once per item, all at once, or ``max_concurrency`` items at a time;
a route runs one branch. ``concurrency`` bounds the **model calls** in flight, like
``run(..., max_concurrency=N)``: an agent holds a slot while its call lasts, and the calls
waiting for one get it first come, first served (an ``asyncio.Semaphore`` hands a freed slot
to the oldest waiter, and a newcomer queues until that waiter's task has taken it:
:mod:`irgraph.analysis_slots`). Transforms, gates and scopes take their latency without a slot.
A plain function (a transform's, a route's test, a loop's ``until``) answers from a worker
thread, after everything else due at that moment; an ``async`` one runs on the loop at once.
A scope runs its first ready step in its own task and each step made ready beside another in
a driver task; when a driver task (or a map-over's last item) ends the scope, the scope's task
goes on only when it next runs, after what else is due at that moment.

How many items a map-over has, how many iterations a loop runs and which branch a route
takes are not in the graph: :class:`Shape` says, from counts given per node, from the
initial state or from a finished run.
"""

from __future__ import annotations

import heapq
import inspect
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

from irgraph import checks
from irgraph.analysis_runs import run_counts
from irgraph.analysis_slots import Slots
from irgraph.errors import PipelineError, did_you_mean
from irgraph.ir.functions import loaded_function
from irgraph.ir.key_paths import path_root, path_value
from irgraph.ir.values import same_value
from irgraph.schema import scopes

if TYPE_CHECKING:
    import networkx as nx

    from irgraph.events import RunResult

__all__ = ["Shape", "Simulation", "Path", "analysed_graph"]

Path = tuple[tuple[str, int], ...]
Deps = Mapping[str | None, Mapping[str, Iterable[str]]]


def on_a_thread(ref: str | None) -> bool:
    """Whether the function ``module:qualname`` runs on a worker thread (a plain function),
    not on the loop (a coroutine function), as the scheduler runs it. A prediction imports
    no code: a function whose module this process has not imported counts as plain.

    >>> import irgraph.testing.predicates as p
    >>> on_a_thread("irgraph.testing.predicates:always")  # def
    True
    >>> on_a_thread("irgraph.testing.predicates:asks_a_question")  # async def
    False
    >>> on_a_thread("not.imported.yet:fn")
    True
    """
    return not inspect.iscoroutinefunction(loaded_function(ref or ""))


def analysed_graph(G_or_pipeline: Any, function: str = "the analysis") -> nx.DiGraph:
    """The graph to analyse: ``G`` itself, the graph of a builder or IR node, or the graph a
    compiled pipeline holds (what :func:`irgraph.compile` returns, or its ``.runnable``)."""
    import networkx as nx

    from irgraph.compile import CompileResult
    from irgraph.graph import as_graph
    from irgraph.graph_mistakes import named
    from irgraph.ir.nodes import NODE_KINDS
    from irgraph.roots import run_named, saved_pipeline

    if isinstance(G_or_pipeline, CompileResult):
        G_or_pipeline = G_or_pipeline.runnable
    if isinstance(G_or_pipeline, nx.DiGraph):
        return as_graph(G_or_pipeline)  # one read back or edited is checked first
    held = getattr(G_or_pipeline, "graph", None)
    if isinstance(held, nx.DiGraph):
        return held  # a compiled pipeline (runnable)
    if not isinstance(G_or_pipeline, NODE_KINDS) and not callable(
        getattr(G_or_pipeline, "to_ir", None)
    ):
        saved = saved_pipeline(G_or_pipeline)
        ran = run_named(G_or_pipeline)  # an ItemResult: its run's result holds the graph
        if ran is not None:
            got = f"the result of a run ({named(G_or_pipeline)})"
            saved = (got, f"Pass its run's graph, {ran}.graph ({ran}.view() shows what it did).")
        got, hint = saved or (
            named(G_or_pipeline),
            "Pass the graph from to_graph(pipeline), the pipeline builder itself (e.g. "
            "Agent('a') >> Agent('b')), its IR (.to_ir()) or a compiled pipeline (what "
            "compile() returns, or its .runnable).",
        )
        raise PipelineError(
            f"{function}() analyses a pipeline, but got {got}.",
            hint=hint,
            expected="a graph, builder, IR node or compiled pipeline",
            got=G_or_pipeline,
        )
    return as_graph(G_or_pipeline)


class Shape:
    """How many times each scope runs its body, and which branch each route takes.

    Per instance of a scope (the node and the path of enclosing iterations and items, as in
    the trace's events), first found in: the counts given per node (``items``,
    ``iterations``, ``branches``, for every instance), the finished run ``run``, the initial
    ``state`` (a map-over whose list is in it and which no node writes; a route comparing
    such a key, or a field of one, by its value there). Otherwise a
    map-over has **one** item, a loop runs ``max_iterations`` and a route takes the branch
    that takes longest (``None``: the simulation picks it).
    """

    def __init__(
        self,
        G: nx.DiGraph,
        *,
        items: Mapping[str, int] | None = None,
        iterations: Mapping[str, int] | None = None,
        branches: Mapping[str, str | int] | None = None,
        state: Mapping[str, Any] | None = None,
        run: RunResult | None = None,
    ) -> None:
        self.G = G
        self.given: dict[str, Any] = {}
        for label, counts, kind in (
            ("items", items, "map_over"),
            ("iterations", iterations, "loop"),
            ("branches", branches, "route"),
        ):
            for node, value in _checked_mapping(G, counts, label, kind).items():
                if kind == "route":
                    self.given[node] = _case_index(G, node, value)
                elif kind == "loop":
                    self.given[node] = _iterations(G, node, value)
                else:
                    self.given[node] = checks.count(0).check(
                        value, f"the {label} of {node!r}", node=node
                    )
        self.seen: dict[tuple[str, Path], int] = {} if run is None else run_counts(G, run)
        self.lists: dict[str, int] = {}
        self.branch: dict[str, int] = {}  # a route on a key of state=: the case it takes
        if state is not None:
            written = {k for _, data in G.nodes(data=True) for k in data.get("writes", ())}
            written |= {item for _, item in G.nodes(data="item") if item}  # an item's name
            for node, data in G.nodes(data=True):
                over = data.get("over")
                if data["kind"] != "map_over" or over in written or node in self.given:
                    continue
                if any(seen == node for seen, _ in self.seen):  # counted in the run
                    continue
                if over not in state:
                    raise PipelineError(
                        f"MapOver '{node}' iterates over '{over}', which state= does not "
                        "hold and no step writes: a run with this state would be refused, "
                        f"so its number of items is unknown.{did_you_mean(over, state)}",
                        node=node,
                        key=over,
                        hint=f"Put the list in state['{over}'], or give items={{'{node}': n}}.",
                    )
                value = state[over]
                if not isinstance(value, (list, tuple)):
                    raise PipelineError(
                        f"MapOver '{node}' iterates over '{over}', and state= holds a "
                        f"{type(value).__name__} there, not a list: a run would fail "
                        "before its first item.",
                        node=node,
                        key=over,
                        hint=f"Put a list in '{over}', or give items={{'{node}': n}}.",
                    )
                self.lists[node] = len(value)
            self.branch = _branches_by_state(G, state, written | set(self.given))

    def count(self, node: str, path: Path) -> int | None:
        """Items of a map-over, iterations of a loop, the branch index of a route (``None``:
        the longest) at this instance."""
        if node in self.given:
            return int(self.given[node])
        if (node, path) in self.seen:
            return self.seen[node, path]
        data = self.G.nodes[node]
        if data["kind"] == "loop":
            return int(data["max_iterations"] or 1)
        if data["kind"] == "map_over":
            return self.lists.get(node, 1)
        return self.branch.get(node)

    def most(self, node: str) -> int:
        """The largest count of ``node`` over its instances (1 for a route)."""
        if self.G.nodes[node]["kind"] == "route":
            return 1
        found = [c for (n, _), c in self.seen.items() if n == node]
        return max([self.count(node, ()) or 0, *found])


def _branches_by_state(G: nx.DiGraph, state: Mapping[str, Any], skip: set[str]) -> dict[str, int]:
    """The case each route takes by ``state``, the initial state, when it compares a key (or
    a field of one) that no node writes and ``state`` holds: the first value case equal to it,
    or the ``otherwise``; not known when a predicate comes first (only a run can tell)."""
    chosen: dict[str, int] = {}
    for node, data in G.nodes(data=True):
        on = data.get("on") if data["kind"] == "route" else None
        if on is None or node in skip or path_root(on) in skip or path_root(on) not in state:
            continue
        found, value = path_value(state, on)
        for index, case in enumerate(data["cases"]):
            if "equals" in case and not (found and same_value(case["equals"], value)):
                continue
            if "test" not in case:
                chosen[node] = index
            break
    return chosen


def _checked_mapping(
    G: nx.DiGraph, counts: Mapping[str, Any] | None, label: str, kind: str
) -> Mapping[str, Any]:
    if counts is None:
        return {}
    if not isinstance(counts, Mapping):
        raise PipelineError(
            f"{label} must be a dict of node id -> value (got {counts!r} of type "
            f"{type(counts).__name__}).",
            hint=f"e.g. {label}={{'my_node': 3}}.",
        )
    nodes = [str(n) for n, data in G.nodes(data=True) if data["kind"] == kind]
    for node in counts:
        if node not in nodes:
            raise PipelineError(
                f"{label} names {node!r}, which is not a {kind.replace('_', '-')} of the "
                f"pipeline.{did_you_mean(str(node), nodes)}",
                node=str(node),
                hint=f"Its {kind.replace('_', '-')}s: {', '.join(nodes) or 'none'}.",
            )
    return counts


def _iterations(G: nx.DiGraph, node: str, value: Any) -> int:
    """A loop's given iteration count: a loop runs its body at least once and at most
    ``max_iterations`` times."""
    most = int(G.nodes[node]["max_iterations"] or 1)
    count = checks.count(0).check(value, f"the iterations of {node!r}", node=node)
    if not 1 <= count <= most:
        raise PipelineError(
            f"Loop '{node}' runs its body 1 to {most} times (max_iterations={most}), so it "
            f"cannot run {count} iterations.",
            node=node,
            hint=f"Give iterations={{'{node}': n}} with n from 1 to {most}, or raise "
            "the loop's max_iterations.",
        )
    return int(count)


def _case_index(G: nx.DiGraph, node: str, value: Any) -> int:
    """The index of the case of route ``node`` named by ``value``: its label (``'"bug"'``),
    its index, or the value it compares (``"bug"``, as ``.when("bug", ...)`` wrote it)."""
    cases = G.nodes[node]["cases"]
    labels = [str(case.get("label", "")) for case in cases]
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < len(labels):
        return value
    if value in labels:
        return labels.index(value)
    for index, case in enumerate(cases):
        if "equals" in case and same_value(case["equals"], value):
            return index
    raise PipelineError(
        f"branches names {value!r} for route {node!r}, which has no such case."
        f"{did_you_mean(str(value), labels)}",
        node=node,
        hint=f"Name a case by its label ({', '.join(labels)}), its value or its index.",
    )


class Simulation:
    """One simulated run: ``Simulation(...).makespan()`` is when the top level ends.

    ``cost(node)`` is the latency of a node run as a step (a leaf, or a scope whose time is
    given); ``leaf(node)`` says which scopes are such steps; ``dependencies`` are each
    scope's predecessor lists; ``slots`` bounds the model calls in flight (``None``: no
    bound)."""

    def __init__(
        self,
        G: nx.DiGraph,
        cost: Callable[[str], float],
        leaf: Callable[[str], bool],
        dependencies: Deps,
        slots: int | None,
        shape: Shape,
    ) -> None:
        self.G, self.cost, self.leaf, self.deps, self.shape = G, cost, leaf, dependencies, shape
        self.members = scopes(G)
        self.slots = slots
        self.calls = Slots(self.soon, slots)
        self.now = 0.0
        self.events: list[tuple[float, bool, int, Callable[[], None]]] = []
        self.sequence = 0
        self.longest: dict[str, int] = {}

    def at(self, time: float, then: Callable[[], None], thread: bool = False) -> None:
        """Do ``then`` at ``time``, after everything already due then (asyncio's order). An
        answer from a worker thread (``thread``) comes after all the loop has to do then."""
        heapq.heappush(self.events, (time, thread, self.sequence, then))
        self.sequence += 1

    def soon(self, then: Callable[[], None]) -> None:
        """Do ``then`` now, after everything already due (a task woken, as ``call_soon``)."""
        self.at(self.now, then)

    def makespan(self, scope: str | None = None, branch: int | None = None) -> float:
        ended: list[float] = []
        self.scope(scope, (), lambda: ended.append(self.now), branch)
        while self.events:
            self.now, _, _, then = heapq.heappop(self.events)
            then()
        assert ended, "the simulated run never ended"
        return ended[0]

    def scope(
        self, sid: str | None, path: Path, done: Callable[[], None], branch: int | None = None
    ) -> None:
        """Run one instance of a scope (one branch of a route), then ``done``."""
        ids = self.members[sid]
        if branch is not None:
            ids = [n for n in ids if self.G.nodes[n]["branch"] == branch]
        mine = set(ids)
        followers: dict[str, list[str]] = {n: [] for n in ids}
        waiting: dict[str, int] = {}
        for node in ids:
            before = [p for p in self.deps[sid][node] if p in mine]
            waiting[node] = len(before)
            for p in before:
                followers[p].append(node)
        left = [len(ids)]
        if not ids:
            done()
            return

        def start(node: str, own: bool = False) -> None:
            self.step(node, path, lambda: ended(node, own))

        def ended(node: str, own: bool) -> None:
            left[0] -= 1
            last = left[0] == 0  # now: a follower may end at once and count down too
            ready = []
            for f in followers[node]:
                waiting[f] -= 1
                if waiting[f] == 0:
                    ready.append(f)
            # Each but the first gets a new task, made before the driver goes on with the
            # first: whatever that one queues comes after them.
            for other in ready[1:]:
                self.at(self.now, lambda other=other: start(other))  # type: ignore[misc]
            if ready:
                start(ready[0], own)
            if last and own:
                done()  # the scope's own task ran the last step: it goes straight on
            elif last:
                self.soon(done)  # the last driver task ends: it wakes the scope's task

        entries = [n for n in ids if waiting[n] == 0]
        for entry in entries[1:]:  # tasks made first, as above
            self.at(self.now, lambda entry=entry: start(entry))  # type: ignore[misc]
        start(entries[0], True)  # the scope's own task runs the first entry

    def step(self, node: str, path: Path, done: Callable[[], None]) -> None:
        """Run one node at ``path``, then ``done``."""
        kind = self.G.nodes[node]["kind"]
        if kind == "agent":
            seconds = self.cost(node)

            def call() -> None:
                def answered() -> None:
                    self.calls.release()
                    done()

                self.at(self.now + seconds, answered)

            self.calls.acquire(call)
        elif self.leaf(node):
            # A transform's plain function runs on a worker thread (a gate's handler may too).
            thread = kind == "transform" and on_a_thread(self.G.nodes[node]["function"])
            if kind == "transform" and not thread and not self.cost(node):
                done()  # an async function that does not wait: the driver goes straight on
            else:
                self.at(self.now + self.cost(node), done, thread=thread)
        elif kind == "loop":
            self.iterate(node, path, 0, int(self.shape.count(node, path) or 0), done)
        elif kind == "map_over":
            self.map_over(node, path, int(self.shape.count(node, path) or 0), done)
        else:
            found = self.shape.count(node, path)
            branch = self.worst(node) if found is None else found

            def then() -> None:
                self.scope(node, path, done, branch)

            # Each predicate up to the chosen case asks a worker thread, one after another, so
            # another node's worker call made meanwhile is answered between two of them.
            cases = self.G.nodes[node]["cases"][: branch + 1]
            self.tested(
                sum(on_a_thread(case.get("test")) for case in cases if "test" in case), then
            )

    def tested(self, predicates: int, then: Callable[[], None]) -> None:
        """Ask ``predicates`` worker-thread calls in turn (a route's tests), then ``then``."""
        if predicates == 0:
            then()
        else:
            self.at(self.now, lambda: self.tested(predicates - 1, then), thread=True)

    def iterate(self, node: str, path: Path, i: int, times: int, done: Callable[[], None]) -> None:
        if i == times:
            done()
            return
        again = lambda: self.iterate(node, path, i + 1, times, done)  # noqa: E731
        until = self.G.nodes[node].get("until_function")
        if until and on_a_thread(until):  # a plain predicate asks a worker thread
            self.scope(node, (*path, (node, i)), lambda: self.at(self.now, again, thread=True))
        else:
            self.scope(node, (*path, (node, i)), again)

    def map_over(self, node: str, path: Path, count: int, done: Callable[[], None]) -> None:
        if count == 0:
            done()
            return
        limit = Slots(self.soon, self.G.nodes[node].get("max_concurrency") or None)
        left = [count]

        def item(index: int) -> None:
            def finished() -> None:
                limit.release()
                left[0] -= 1
                if left[0] == 0:
                    self.soon(done)  # the last item's task ends: it wakes the map-over's

            limit.acquire(lambda: self.scope(node, (*path, (node, index)), finished))

        for index in range(count):  # one task per item, started in order
            self.at(self.now, lambda index=index: item(index))  # type: ignore[misc]

    def worst(self, route: str) -> int:
        """The branch of ``route`` that takes longest on its own (the first of equals)."""
        if route not in self.longest:
            count = len(self.G.nodes[route]["cases"])
            alone = [
                Simulation(
                    self.G, self.cost, self.leaf, self.deps, self.slots, self.shape
                ).makespan(route, b)
                for b in range(count)
            ]
            self.longest[route] = max(range(count), key=lambda b: (alone[b], -b))
        return self.longest[route]
