"""Fuzzed schedules draw the order calls finish in, on a virtual clock, so what the suite
catches does not depend on how busy the machine is (irgraph/testing/schedules.py)."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from irgraph import Agent, MapOver, run
from irgraph.backends.scheduler import Scheduler
from irgraph.testing import conformance
from irgraph.testing.schedules import ClockedProvider, Fuzz, VirtualClock
from tests.test_conformance_catches import GathersInFinishOrder, backend_with

ITEMS = (
    MapOver("each")
    .over("topics", item="topic")
    .step(Agent("a").instruct("{topic}").writes("x"))
    .writes("xs")
)


def item_one_due_first(delays: tuple[float, ...]) -> Fuzz:
    """A fuzz in which agent 'a''s first call (item 0) is due after its second (item 1)."""
    return next(
        fuzz
        for fuzz in (Fuzz(delays, salt) for salt in range(1000))
        if fuzz.delay("a", 0) > fuzz.delay("a", 1)
    )


class StallsBeforeItemOne(GathersInFinishOrder):
    """Gathers in finish order, and holds the event loop for 50 ms before item 1's agent, as
    a busy machine does when it leaves the process off the CPU between two items' starts."""

    async def agent(self, step, state, path, seconds=None):
        if path and path[-1][1] == 1:
            time.sleep(0.05)  # the stall being modelled: the loop (and its timers) stop
        return await super().agent(step, state, path, seconds)


def test_a_stalled_machine_does_not_undo_the_drawn_finish_order():
    """With real sleeps, item 0's 12 ms ran out during the stall and it finished first, as
    the input order has it: a scheduler gathering in finish order went uncaught (the flake of
    test_fuzzed_schedules_catch_results_gathered_in_finish_order). On the clock, item 1 is
    due first and finishes first, whatever the stall."""
    fuzz = item_one_due_first((0.001, 0.012))
    state = {"topics": ["t0", "t1"]}
    conformance.check_fuzzed_schedule(backend_with(Scheduler), ITEMS, state, fuzz)
    with pytest.raises(AssertionError, match="Final state differs"):
        conformance.check_fuzzed_schedule(backend_with(StallsBeforeItemOne), ITEMS, state, fuzz)


def test_held_calls_reach_the_bound_and_never_pass_it():
    """Calls are held until the run is quiet, so every call the bound lets start is in flight
    before any finishes: the bound is reached on every run, not when timing allows."""
    for bound in (1, 2, 3):
        fuzz = Fuzz((0.0, 0.004), salt=7, max_concurrency=bound)
        clock = VirtualClock()
        provider = ClockedProvider(fuzz, clock)
        run(
            ITEMS,
            provider=provider,
            state={"topics": [f"t{i}" for i in range(5)]},
            max_concurrency=bound,
        )
        assert provider.max_in_flight == bound


def test_calls_due_at_once_finish_in_the_order_they_started():
    clock = VirtualClock()
    finished = []

    async def call(name, duration):
        await clock.wait(duration)
        finished.append(name)

    async def calls():
        await asyncio.gather(call("a", 1.0), call("b", 0.5), call("c", 1.0), call("d", 0.0))

    asyncio.run(calls())
    assert finished == ["d", "b", "a", "c"]
    assert clock.now == 1.0


def test_a_call_held_while_a_bound_keeps_others_from_starting_goes_on():
    """One slot: the held call blocks every other from starting, and the clock, waiting for
    quiet and never for a call that has not started, lets it go."""
    clock = VirtualClock()
    finished = []

    async def calls():
        slot = asyncio.Semaphore(1)

        async def call(name, duration):
            async with slot:
                await clock.wait(duration)
                finished.append(name)

        await asyncio.gather(*(call(n, d) for n, d in (("a", 3.0), ("b", 1.0), ("c", 2.0))))

    asyncio.run(calls())
    assert finished == ["a", "b", "c"]  # one at a time, in the order the slot let them in
    assert clock.now == 6.0


def test_a_cancelled_held_call_leaves_the_others_to_finish():
    clock = VirtualClock()

    async def calls():
        doomed = asyncio.ensure_future(clock.wait(1.0))
        other = asyncio.ensure_future(clock.wait(2.0))
        await asyncio.sleep(0)
        doomed.cancel()
        await other
        return doomed.cancelled()

    assert asyncio.run(calls())
    assert clock.now == 2.0


def test_calls_held_on_other_threads_event_loops_all_finish():
    """Prefect runs tasks on other threads' loops: one clock serves them all."""
    clock = VirtualClock()
    finished = []

    def on_its_own_loop(name, duration):
        asyncio.run(clock.wait(duration))
        finished.append(name)

    threads = [
        threading.Thread(target=on_its_own_loop, args=(f"t{i}", float(i % 3)), daemon=True)
        for i in range(6)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(finished) == [f"t{i}" for i in range(6)]


def test_the_fuzzed_property_catches_a_backend_that_passes_the_bound():
    """Held calls stay in flight until the run is quiet, so a backend that starts every call
    at once is seen to pass the drawn bound on every run, not when the timing allows."""
    from tests.test_conformance_concurrency import _IgnoresTheBound

    three = Agent("a").instruct("A.") | Agent("b").instruct("B.") | Agent("c").instruct("C.")
    fuzz = Fuzz((0.001, 0.004), max_concurrency=2)
    conformance.check_fuzzed_schedule(backend_with(Scheduler), three, {}, fuzz)
    with pytest.raises(AssertionError, match="3 model calls were in flight at once under"):
        conformance.check_fuzzed_schedule(_IgnoresTheBound, three, {}, fuzz)


def test_a_call_whose_loop_stalls_does_not_stop_the_others():
    """The next call due decides when the clock moves on; should its loop stop turning (here
    until the other call has finished), another held call decides for it, and goes on once
    the released call has had ``patience`` to leave."""
    clock = VirtualClock(patience=0.2)
    a_registered, b_done = threading.Event(), threading.Event()
    finished, unblocked = [], []

    def block():
        unblocked.append(b_done.wait(30))  # False: the clock waited on a stalled loop

    async def a_side():
        task = asyncio.ensure_future(clock.wait(1.0))
        await asyncio.sleep(0)
        asyncio.get_running_loop().call_soon(block)
        a_registered.set()
        await task
        finished.append("a")

    def b_side():
        a_registered.wait(30)
        asyncio.run(clock.wait(2.0))
        finished.append("b")
        b_done.set()

    b = threading.Thread(target=b_side, daemon=True)
    b.start()
    asyncio.run(a_side())
    b.join(30)
    assert unblocked == [True]
    assert finished == ["b", "a"]  # a was released first; its stalled loop let it go last
