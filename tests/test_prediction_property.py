"""The predicted makespan is the measured one, within 10 %: generated pipelines run on the
fake provider with a latency per agent, in both schedules and under several concurrency
limits, and :func:`irgraph.analysis.makespan` predicts each run from the latencies and the
run's shape (how many items each map-over had, how many iterations each loop ran, which
branch each route took: ``run=result`` reads these from the trace's paths, never its times).

What is measured. The real scheduler runs the real pipeline; each model call is the fake
provider sleeping its agent's latency (``asyncio.sleep``). The runs go on an event loop whose
clock skips the waits (:class:`VirtualClockLoop`): when nothing is ready to run, no worker
thread is busy and no I/O is due, the loop's clock jumps to the next timer. A run's makespan
is that clock from its start to its end: the provider's simulated latencies, added up as the
scheduler ordered the calls. Nothing else takes clock time.

Why not the wall clock. On the shared two-core machine these tests run on (load average 8
while this was written), a 30 ms ``asyncio.sleep`` overshot by 24 ms at the 90th percentile
and by up to 130 ms: a 10 % bound on a wall-clock measurement of a few hundred ms would fail
for the machine, not for the prediction, and widening it would hide mispredictions as large.
On the skipping clock the measurement is the same on any machine, and the test is no timed
assertion.

Where the first version was flaky, and why. Under a limit, calls waiting for a slot get it
first come, first served, so the order of events *at one moment* decides who waits: at
limit 2, a transform then an agent, beside two other agents, finishes at 60 ms or 40 ms
depending on whether the transform's answer reaches the loop before or after the other two
agents ask for their slots. A synchronous transform (or a route's or loop's predicate
function) runs on call_blocking's worker threads and its answer enters the loop whenever the
OS runs the thread: the real run's order of simultaneous events varied from run to run (the
same example passed and failed), by up to a whole call. The simulation takes a worker's
answer after everything else due at that moment (a thread takes real time while the loop
goes on), and the harness makes the real run do the same: the runs use one real worker
(``blocking._Workers(1)``, so answers come in the order they were asked) and the loop parks a
worker's answer (``call_soon_threadsafe``) until it has nothing else to do at that moment.
The selector checks the pool before anything else: a worker parks its answer before it
counts itself idle, so no answer is missed and no wait is skipped while one is due.

Calls that end at the same moment are such events too, and two more things ordered them. The
latencies were whole milliseconds, which binary floating point does not hold: two calls
ending "together" ended a few 1e-16 s apart, one way in the run (whose clock goes on from the
runs before it) and maybe the other way in the simulation (which starts at 0). And asyncio
keeps its timers in a heap, which does not keep the order of timers due at the same time.
Either way a call could take a slot the prediction gave to another (measured 0.259 s,
predicted 0.215 s, at limit 3). So latencies are whole numbers of 1/1024 s, whose sums are
exact, and the loop's timers due at the same time fire in the order they were set, as the
simulation's events do.

What the 10 % covers. With that, the prediction is exact: over the CI profile's 100
examples x 8 runs, every prediction equals the measurement to 4e-15 s (repeated runs
alike). The 10 % the issue asks for is thus a margin no real misprediction fits in: a
wrong count of items, iterations or calls is a whole call, 20 ms or more of a small
pipeline (the old makespan, which put a map-over in one slot, fails on a two-item map-over
at limit 1: predicted 0.02, measured 0.04); this property also found four bugs of the
simulation (a step ending at once, last in its scope, ended the scope twice; tasks made for
a fan-out start before what the driver goes on with queues; a slot freed while the waiter
another one was passed to had not taken it yet went to a newcomer, who has to queue; a
scope whose last step ran in a driver task ended at once, not when its own task next ran).
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import selectors
import threading
from collections import deque
from collections.abc import Coroutine
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from irgraph import Agent, Loop, Route, Transform, to_graph
from irgraph.analysis import makespan
from irgraph.backends import blocking
from irgraph.backends.asyncio_backend import AsyncioBackend
from irgraph.events import RunResult
from irgraph.graph import root_of
from irgraph.ir import FunctionRef
from irgraph.testing import FakeProvider
from irgraph.testing.strategies import pipelines_with_inputs

#: A drawn latency is a whole number of ticks, so that sums of them are exact in binary
#: floating point: calls that end together end at the same time, in the run as predicted.
TICK = 1 / 1024
MIN_TICKS, MAX_TICKS = 20, 60
LIMITS = (1, 2, 3, None)
SCHEDULES = ("topological", "dataflow")
TOLERANCE = 0.10


def _threads_busy() -> bool:
    """Whether call_blocking's workers hold a call (read under the pool's own lock)."""
    workers = blocking._workers
    with workers.ready:
        return bool(workers.calls) or workers.idle < workers.threads


class _Selector(selectors.DefaultSelector):  # type: ignore[misc,valid-type]
    """The loop's selector on a clock that skips waits. When the loop has nothing ready, it
    first waits (for real) for a busy worker thread, then hands the loop the oldest answer
    a worker parked; only when there is none does the wait for the next timer take no time.
    """

    def __init__(self, loop: VirtualClockLoop) -> None:
        super().__init__()
        self.loop = loop

    def select(self, timeout: float | None = None) -> list[Any]:
        while True:
            # Busy first: a worker parks its answer before it counts itself idle.
            busy = _threads_busy()
            events: list[Any] = super().select(0)
            if events or timeout == 0:
                return events
            if busy:
                super().select(0.001)
                continue
            if self.loop.parked:
                self.loop.call_soon(*self.loop.parked.popleft())
                return []
            if timeout is None:
                return super().select(None)  # type: ignore[no-any-return]
            self.loop.clock += timeout
            return []


class _Timer(asyncio.TimerHandle):
    """A timer that fires after the timers due at the same time that were set before it."""

    __slots__ = ("order",)

    def __init__(self, order: int, *args: Any) -> None:
        super().__init__(*args)
        self.order = order

    def key(self) -> tuple[float, int]:
        return self.when(), self.order

    def __lt__(self, other: object) -> bool:
        return self.key() < other.key() if isinstance(other, _Timer) else NotImplemented

    def __le__(self, other: object) -> bool:
        return self.key() <= other.key() if isinstance(other, _Timer) else NotImplemented

    def __gt__(self, other: object) -> bool:
        return self.key() > other.key() if isinstance(other, _Timer) else NotImplemented

    def __ge__(self, other: object) -> bool:
        return self.key() >= other.key() if isinstance(other, _Timer) else NotImplemented

    __hash__ = asyncio.TimerHandle.__hash__


class VirtualClockLoop(asyncio.SelectorEventLoop):
    """An event loop whose clock is the sum of the waits it skipped, which takes a worker
    thread's answer only when it has nothing else to do at that moment, and whose timers due
    at the same time fire in the order they were set."""

    def __init__(self) -> None:
        self.clock = 0.0
        self.parked: deque[tuple[Any, ...]] = deque()
        self.timers = itertools.count()
        super().__init__(_Selector(self))

    def time(self) -> float:
        return self.clock

    def call_at(
        self, when: float, callback: Any, *args: Any, context: Any = None
    ) -> asyncio.TimerHandle:
        """``BaseEventLoop.call_at``, with a timer that keeps the order of equal times (the
        loop's heap of timers does not)."""
        self._check_closed()  # type: ignore[attr-defined]
        timer = _Timer(next(self.timers), when, callback, args, self, context)
        heapq.heappush(self._scheduled, timer)  # type: ignore[attr-defined]
        timer._scheduled = True  # type: ignore[attr-defined]
        return timer

    def call_soon_threadsafe(self, callback: Any, *args: Any, context: Any = None) -> Any:
        if threading.get_ident() == self._thread_id:  # type: ignore[attr-defined]
            return super().call_soon_threadsafe(callback, *args, context=context)
        self.parked.append((callback, *args))
        self._write_to_self()  # type: ignore[attr-defined]
        return asyncio.Handle(callback, args, self, context)


async def _timed(run: Coroutine[Any, Any, RunResult]) -> tuple[RunResult, float]:
    loop = asyncio.get_running_loop()
    start = loop.time()
    result = await run
    return result, loop.time() - start


def all_runs(
    pipeline: Any, state: dict[str, Any], latency: dict[str, float]
) -> list[tuple[str, int | None, RunResult, float]]:
    """Each schedule under each limit, one run after another, with its measured makespan."""
    ir = root_of(pipeline)
    loop = VirtualClockLoop()
    found = []
    shared, blocking._workers = blocking._workers, blocking._Workers(1)
    try:
        for schedule in SCHEDULES:
            runnable = AsyncioBackend(FakeProvider(latency=latency), schedule=schedule).compile(ir)
            for limit in LIMITS:
                run = runnable.arun(state, max_concurrency=limit)
                result, seconds = loop.run_until_complete(_timed(run))
                found.append((schedule, limit, result, seconds))
    finally:
        loop.close()
        blocking._workers = shared
    return found


@st.composite
def timed_pipelines(draw: st.DrawFn) -> tuple[Any, dict[str, Any], dict[str, float]]:
    """A pipeline with its inputs, and a latency for each agent (names are unique)."""
    pipeline, state = draw(
        pipelines_with_inputs(
            max_depth=3, max_width=4, with_duplicate_names=False, with_gates=False
        )
    )
    G = to_graph(pipeline, inputs=state)
    agents = sorted({G.nodes[n]["label"] for n in G if G.nodes[n]["kind"] == "agent"})
    ticks = st.integers(MIN_TICKS, MAX_TICKS)
    counts = draw(st.lists(ticks, min_size=len(agents), max_size=len(agents)))
    return pipeline, state, {name: n * TICK for name, n in zip(agents, counts, strict=True)}


@given(timed_pipelines())
def test_the_predicted_makespan_is_the_measured_one_within_ten_percent(
    drawn: tuple[Any, dict[str, Any], dict[str, float]],
) -> None:
    pipeline, state, latency = drawn
    G = to_graph(pipeline, inputs=state)
    by_node = {n: latency[G.nodes[n]["label"]] for n in G if G.nodes[n]["kind"] == "agent"}
    for schedule, limit, result, seconds in all_runs(pipeline, state, latency):
        predicted = makespan(G, by_node, concurrency=limit, schedule=schedule, run=result)
        assert abs(seconds - predicted) <= TOLERANCE * predicted, (schedule, limit)


def _measured_and_predicted(
    pipeline: Any, state: dict[str, Any], latency: dict[str, float]
) -> dict[tuple[str, int | None], tuple[float, float]]:
    """(measured, predicted) makespan of each schedule and limit, rounded to the µs."""
    G = to_graph(pipeline, inputs=state)
    by_node = {n: latency[G.nodes[n]["label"]] for n in G if G.nodes[n]["kind"] == "agent"}
    found = {}
    for schedule, limit, result, seconds in all_runs(pipeline, state, latency):
        predicted = makespan(G, by_node, concurrency=limit, schedule=schedule, run=result)
        found[schedule, limit] = (round(seconds, 6), round(predicted, 6))
    return found


def test_each_route_predicate_is_a_worker_call_of_its_own() -> None:
    """A route tests its cases one worker call at a time, so a transform asked meanwhile is
    answered between two tests: here ``count``'s answer comes before ``always``'s, and
    ``second`` takes the free slot before ``planner`` does (measured 0.07 s at limit 2; the
    prediction that put all of a route's tests in one call said 0.05). Hypothesis found it in
    a pipeline of 25 agents."""
    pipeline = (
        Route("choose")
        .when(FunctionRef("irgraph.testing.predicates:has_sources"), Agent("skipped"))
        .when(FunctionRef("irgraph.testing.predicates:always"), Agent("planner"))
        | Agent("first").instruct("Go.").writes("b")
        | (
            Transform("count", "irgraph.testing.strategies:make_list").reads("sources").writes("c")
            >> Agent("second").instruct("Use {c}.").writes("d")
        )
    )
    state = {"sources": []}
    latency = {"skipped": 0.03, "planner": 0.05, "first": 0.03, "second": 0.02}
    found = _measured_and_predicted(pipeline, state, latency)
    assert found[("dataflow", 2)] == found[("topological", 2)] == (0.07, 0.07)
    assert all(seconds == predicted for seconds, predicted in found.values()), found


async def later() -> str:
    """An async transform: the scheduler awaits it on the loop, with no worker thread."""
    return "done"


def test_async_functions_run_on_the_loop_in_the_prediction_too() -> None:
    """An async route test or transform is awaited on the loop, so what follows it asks for
    its slot at once, before a sibling that started after it: at limit 2, ``answer`` (and
    ``second``) get the slot ``third`` waits for. Predicted as a worker call, ``third`` went
    first: 0.07 s predicted for a run of 0.05 s. Hypothesis found the route case."""
    test = FunctionRef("irgraph.testing.predicates:asks_a_question")
    routed = (
        Agent("first").instruct("Go.").writes("b")
        | Route("choose").when(test, Agent("answer"))
        | Agent("third").instruct("Go.").writes("d")
    )
    transformed = (
        Agent("first").instruct("Go.").writes("b")
        | Transform("wait", later).writes("c") >> Agent("second").instruct("{c}").writes("e")
        | Agent("third").instruct("Go.").writes("d")
    )
    for pipeline, latency in (
        (routed, {"first": 0.03, "answer": 0.05, "third": 0.02}),
        (transformed, {"first": 0.03, "second": 0.05, "third": 0.02}),
    ):
        found = _measured_and_predicted(pipeline, {"question": "why?"}, latency)
        assert found[("dataflow", 2)] == found[("topological", 2)] == (0.05, 0.05), found
        assert all(seconds == predicted for seconds, predicted in found.values()), found


def test_a_newcomer_waits_behind_the_waiter_a_slot_was_passed_to() -> None:
    """At limit 2, ``a0``'s freed slot passes to ``c0`` at 0.02, which takes it only when its
    task runs; ``b0`` ends meanwhile and frees the other slot. ``b1``, asking next, finds the
    semaphore still locked (``c0`` has not taken its slot yet) and queues: ``c0``'s call
    starts before ``b1``'s and ends first at 0.04, so its slot goes to ``a2`` and ``b1``'s to
    ``c1``, and ``b2`` waits (measured 0.08 s). The prediction that gave ``b1`` the free slot at
    once started ``b1`` first, so ``c1`` waited instead: 0.10 s. Hypothesis found it in a
    pipeline of ten agents, six transforms, four loops and a fan-out (0.16 s measured, 0.18 s
    predicted); the second pipeline here is that one shrunk (0.10 s, predicted 0.12)."""
    join = "irgraph.testing.strategies:join_values"
    chains = (
        Agent("a0") >> Transform("t", join).writes("x") >> Agent("a2")
        | Agent("b0") >> Agent("b1") >> Agent("b2")
        | Agent("c0") >> Agent("c1")
    )
    latency = {name: 0.02 for name in ("a0", "a2", "b0", "b1", "b2", "c0")} | {"c1": 0.04}
    found = _measured_and_predicted(chains, {}, latency)
    assert found[("topological", 2)] == (0.08, 0.08), found
    assert all(seconds == predicted for seconds, predicted in found.values()), found
    loops = (
        Agent("a0") >> Agent("a1") >> Agent("a2") >> Agent("a3")
        | Loop("twice").step(Agent("b0")).step(Agent("b1")).max_iterations(2)
        | Loop("also").step(Agent("d0")).step(Transform("t", join).writes("x")).max_iterations(2)
    )
    latency = {name: 0.02 for name in ("a0", "a1", "a2", "a3", "b0", "b1", "d0")}
    found = _measured_and_predicted(loops, {}, latency)
    assert found[("topological", 2)] == (0.1, 0.1), found
    assert all(seconds == predicted for seconds, predicted in found.values()), found


def test_a_scope_ended_by_a_driver_task_ends_when_its_own_task_next_runs() -> None:
    """The loop's body runs ``a0`` in the loop's own task and ``b0`` in a driver task. At
    limit 2, ``b0`` ends the body at 0.06 s, as ``y1`` ends; ``b0``'s slot goes to the waiting
    ``x1``. The driver task wakes the loop's task, which runs after what is due then: ``y1``'s
    driver goes on to ``y2`` first, which takes ``y1``'s slot, and ``c`` waits for ``x1``'s
    (measured 0.10 s). The prediction that ended the loop at once gave ``c`` that slot and
    made ``y2`` wait: 0.12 s. Hypothesis found it inside a map-over (whose end, after its last
    item's task, is such a step too)."""
    pipeline = (
        Loop("once").step(Agent("a0") | Agent("b0")).max_iterations(1) >> Agent("c")
        | Agent("y0") >> Agent("y1") >> Agent("y2")
        | Agent("x0") >> Agent("x1")
    )
    latency = {name: 0.02 for name in ("a0", "c", "x0", "x1", "y0", "y1")}
    found = _measured_and_predicted(pipeline, {}, latency | {"b0": 0.04, "y2": 0.04})
    assert found[("topological", 2)] == (0.1, 0.1), found
    assert all(seconds == predicted for seconds, predicted in found.values()), found
