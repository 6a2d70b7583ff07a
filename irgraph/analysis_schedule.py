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
takes are not in the graph: :class:`irgraph.analysis_shape.Shape` says, from counts given
per node, from the initial state or from a finished run.
"""

from __future__ import annotations

import heapq
import inspect
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

from irgraph.analysis_slots import Slots
from irgraph.errors import PipelineError
from irgraph.ir.functions import loaded_function
from irgraph.schema import scopes

if TYPE_CHECKING:
    import networkx as nx

    from irgraph.analysis_shape import Shape

__all__ = ["Simulation", "Path", "analysed_graph"]

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
        ran = run_named(G_or_pipeline)
        if ran is not None:
            saved = (f"the result of a run ({named(G_or_pipeline)})", _run_hint(ran, function))
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


def _run_hint(ran: str, function: str) -> str:
    """How to analyse the run named ``ran`` (``item.result`` of a batch item; ``result`` or
    ``error`` of a run whose backend handed on no graph), for ``function``."""
    timed = function in ("critical_path", "makespan", "parallelizable")
    if ran == "item.result":
        if timed:
            return (
                f"Pass the run it holds, {ran}, which {function}() analyses by its measured "
                f"durations, or its pipeline's graph, {ran}.graph ({ran}.view() shows what "
                "it did)."
            )
        return f"Pass the run it holds, {ran}, or its pipeline's graph, {ran}.graph."
    call = {"lineage": "lineage(pipeline, key)"}.get(function, f"{function}(pipeline)")
    if timed:  # the run still says how many items and iterations ran
        call = f"{function}(pipeline, latency, run={ran})"
    return (
        f"This run carries no pipeline graph (its backend handed none on); pass the pipeline "
        f"that ran instead, {call} ({ran}.view(pipeline) shows what it did)."
    )
