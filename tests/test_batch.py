"""run_many / arun_many: one pipeline over many states, bounded, lazy and resumable."""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
import time
from collections import Counter
from typing import Any

import pytest

from irgraph import Agent, IrgraphError, PipelineError, RunError, arun_many, run, run_many
from irgraph.batch import BatchError, ItemResult
from irgraph.providers import ModelRequest
from irgraph.testing import FakeProvider
from irgraph.testing.held import HeldProvider

CHAIN = (
    Agent("researcher").instruct("Research {topic}.").writes("findings")
    >> Agent("outliner").instruct("Outline {findings}.").writes("outline")
    >> Agent("writer").instruct("Write from {outline}.").writes("report")
)
FAN = (
    Agent("a").instruct("A {topic}.").writes("x") | Agent("b").instruct("B {topic}.").writes("y")
) >> Agent("c").instruct("C {x} {y}.").writes("z")


def topics(n: int) -> list[dict[str, Any]]:
    return [{"topic": f"t{i}"} for i in range(n)]


class Answered(FakeProvider):
    """A FakeProvider that also records the requests it finished answering (not those
    cancelled on the way), and raises for one (agent, topic) when told to."""

    def __init__(self, *, fail_at: tuple[str, str] | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.answered: list[tuple[str, str]] = []
        self.fail_at = fail_at

    async def complete(self, request: ModelRequest) -> str:
        if self.fail_at == (request.agent, request.prompt):
            raise RuntimeError("planted failure")
        answer = await super().complete(request)
        self.answered.append((request.agent, request.prompt))
        return answer


def test_results_equal_one_by_one_runs():
    states = topics(7)
    items = list(run_many(CHAIN, states, provider=FakeProvider(), max_concurrency=3))
    assert sorted(item.index for item in items) == list(range(7))
    for item in items:
        alone = run(CHAIN, provider=FakeProvider(), state=states[item.index])
        assert item.ok and not item.resumed
        assert item.initial_state == states[item.index]
        assert item.state == alone.state
        assert item.result is not None and item.result.outputs == alone.outputs


def test_results_come_in_completion_order_with_their_index():
    items: list[ItemResult] = []

    class InTurn:
        """Answers the item of turn N once N results have come (the first item last): a
        run_many that gave results in input order would wait on the first for a minute."""

        async def complete(self, request: ModelRequest) -> str:
            for _ in range(6000):
                if len(items) >= int(request.state["turn"]):
                    break
                await asyncio.sleep(0.01)
            return request.prompt

    waiting = Agent("w").instruct("Turn {turn}.").writes("done")
    states = [{"turn": 2}, {"turn": 0}, {"turn": 1}]
    for item in run_many(waiting, states, provider=InTurn()):
        items.append(item)
    assert [item.index for item in items] == [1, 2, 0]
    assert [item.state["done"] for item in items if item.state] == [
        "Turn 0.",
        "Turn 1.",
        "Turn 2.",
    ]


def test_a_generator_is_read_no_further_ahead_than_the_window():
    pulled = 0

    def states():
        nonlocal pulled
        for state in topics(40):
            pulled += 1
            yield state

    received = 0
    for _ in run_many(CHAIN, states(), provider=FakeProvider(latency=0.001), max_items=3):
        received += 1
        assert pulled <= received + 3
    assert received == pulled == 40


def test_leaving_the_loop_early_cancels_the_items_in_flight():
    fake = FakeProvider(latency=0.05)
    results = run_many(CHAIN, topics(20), provider=fake, max_concurrency=4)
    with contextlib.closing(results):
        next(results)
    asked = len(fake.calls)
    assert fake.in_flight == 0 and asked < 20 * 3
    assert not any(thread.name == "irgraph-batch" for thread in threading.enumerate())
    time.sleep(0.06)
    assert len(fake.calls) == asked


def test_a_backend_instance_gives_its_provider_and_limit():
    from irgraph.backends.asyncio_backend import AsyncioBackend

    fake = HeldProvider(2, latency=0.01)
    backend = AsyncioBackend(provider=fake, max_concurrency=2)
    items = list(run_many(FAN, topics(6), backend=backend))
    assert all(item.ok for item in items) and len(fake.calls) == 18
    assert fake.max_in_flight == 2


def test_an_async_iterable_of_states_works_too():
    async def states():
        for state in topics(5):
            await asyncio.sleep(0)
            yield state

    async def main() -> list[ItemResult]:
        return [item async for item in arun_many(CHAIN, states(), provider=FakeProvider())]

    assert sorted(item.index for item in asyncio.run(main())) == list(range(5))


def test_one_concurrency_limit_holds_across_items_and_within_them():
    fake = HeldProvider(4, latency=0.01)  # calls wait for each other: reached on any machine
    items = list(run_many(FAN, topics(12), provider=fake, max_concurrency=4))
    assert all(item.ok for item in items)
    assert fake.max_in_flight == 4  # reached, never passed
    wide = HeldProvider(3, latency=0.01)
    list(run_many(FAN, topics(12), provider=wide, max_concurrency=3, max_items=10))
    assert wide.max_in_flight == 3


def test_without_a_limit_the_window_bounds_items_in_flight():
    fake = HeldProvider(5, latency=0.01)
    list(run_many(Agent("a").instruct("A {topic}."), topics(10), provider=fake, max_items=5))
    assert fake.max_in_flight == 5


def test_a_failing_item_is_reported_with_its_index_and_the_others_finish():
    fake = Answered(
        fail_at=("writer", "Write from <outliner: Outline <researcher: Research t2.>.>.")
    )
    items = list(run_many(CHAIN, topics(5), provider=fake, max_concurrency=2))
    failed = [item for item in items if not item.ok]
    assert [item.index for item in failed] == [2]
    assert isinstance(failed[0].error, RunError) and failed[0].error.node == "writer"
    assert failed[0].result is None and failed[0].state is None
    assert sorted(item.index for item in items if item.ok) == [0, 1, 3, 4]


def test_an_item_that_does_not_fit_the_pipeline_fails_alone():
    items = list(run_many(CHAIN, [{"topic": "a"}, {"subject": "b"}], provider=FakeProvider()))
    by_index = {item.index: item for item in items}
    assert by_index[0].ok
    assert isinstance(by_index[1].error, PipelineError) and "topic" in str(by_index[1].error)


def test_fail_fast_stops_the_batch_at_the_first_failure():
    fake = FakeProvider(fail={"researcher": 1}, latency=0.01)
    seen: list[ItemResult] = []
    with pytest.raises(BatchError) as caught:
        for item in run_many(CHAIN, topics(20), provider=fake, max_concurrency=2, fail_fast=True):
            seen.append(item)
    assert caught.value.index == 0 and not caught.value.item.ok
    assert isinstance(caught.value.__cause__, RunError)
    assert "fail_fast=True stopped the batch" in str(caught.value)
    assert len(fake.calls) < 10  # no new items started after the failure
    assert all(item.ok for item in seen)


def test_a_keyed_batch_skips_completed_items_when_run_again(tmp_path):
    store = tmp_path / "store"
    first = FakeProvider()
    done = list(run_many(CHAIN, topics(4), provider=first, batch_key="k", store=store))
    assert len(first.calls) == 12 and not any(item.resumed for item in done)
    assert len(list((store / "items").glob("*.json"))) == 4
    again = FakeProvider()
    resumed = list(run_many(CHAIN, topics(4)[::-1], provider=again, batch_key="k", store=store))
    assert again.calls == [] and all(item.resumed for item in resumed)
    assert {json.dumps(i.state, sort_keys=True) for i in resumed} == {
        json.dumps(i.state, sort_keys=True) for i in done
    }
    assert {i.key: i.result.outputs for i in resumed if i.result} == {
        i.key: i.result.outputs for i in done if i.result
    }


def test_the_default_store_is_named_after_the_batch_key(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    list(run_many(CHAIN, topics(2), provider=FakeProvider(), batch_key="evals/v1"))
    (folder,) = (tmp_path / ".irgraph-batches").iterdir()
    assert folder.name.startswith("evals-v1-") and len(list(folder.glob("items/*.json"))) == 2


def test_a_half_done_item_reuses_its_completed_agents(tmp_path):
    planted = ("writer", "Write from <outliner: Outline <researcher: Research t3.>.>.")
    broken = Answered(fail_at=planted)
    with pytest.raises(BatchError) as caught:
        for _ in run_many(
            CHAIN,
            topics(6),
            provider=broken,
            batch_key="k",
            store=tmp_path,
            fail_fast=True,
            max_concurrency=1,
        ):
            pass
    assert caught.value.index == 3
    fixed = Answered()
    resumed = list(run_many(CHAIN, topics(6), provider=fixed, batch_key="k", store=tmp_path))
    assert [item.resumed for item in sorted(resumed, key=lambda i: i.index)] == [True] * 3 + [
        False
    ] * 3
    # Item 3 asks only its writer again; items 4 and 5 ask everything.
    assert Counter(agent for agent, _ in fixed.answered) == {
        "researcher": 2,
        "outliner": 2,
        "writer": 3,
    }
    assert not set(broken.answered) & set(fixed.answered)
    whole = list(run_many(CHAIN, topics(6), provider=FakeProvider()))
    assert {i.index: i.state for i in resumed} == {i.index: i.state for i in whole}


@pytest.mark.parametrize("stop_after", [1, 3, 7])
def test_a_cancelled_keyed_batch_resumes_without_asking_a_completed_agent_again(
    tmp_path, stop_after
):
    async def interrupted(provider: Answered) -> int:
        taken = 0
        results = arun_many(
            CHAIN, topics(12), provider=provider, batch_key="k", store=tmp_path, max_concurrency=4
        )
        async with contextlib.aclosing(results):
            async for _ in results:
                taken += 1
                if taken == stop_after:
                    break
        return taken

    first = Answered(latency={"researcher": 0.002, "outliner": 0.01, "writer": 0.005})
    assert asyncio.run(interrupted(first)) == stop_after
    assert len(first.answered) > stop_after * 3  # the interrupt caught items half done
    second = Answered()
    resumed = list(
        run_many(
            CHAIN, topics(12), provider=second, batch_key="k", store=tmp_path, max_concurrency=4
        )
    )
    assert sum(item.resumed for item in resumed) >= stop_after
    assert not set(first.answered) & set(second.answered)
    whole = Answered()
    expected = {i.index: i.state for i in run_many(CHAIN, topics(12), provider=whole)}
    assert {i.index: i.state for i in resumed} == expected
    assert sorted(first.answered + second.answered) == sorted(whole.answered)


def test_a_keyed_batch_needs_json_items():
    items = list(run_many(CHAIN, [{"topic": {"a", "b"}}], provider=FakeProvider(), batch_key="k"))
    (item,) = items
    assert isinstance(item.error, PipelineError)
    assert "Item 0 of the batch is not JSON data" in str(item.error) and "set" in str(item.error)


@pytest.mark.parametrize(
    ("arguments", "words"),
    [
        ({"states": {"topic": "owls"}}, "one state (a dict)"),
        ({"states": None}, "must be an iterable of states"),
        ({"states": "owls"}, "must be an iterable of states"),
        ({"states": "topics.jsonl"}, "(json.loads(line) for line in open(path))"),
        ({"max_concurrency": 0}, "max_concurrency must be a whole number of at least 1"),
        ({"max_items": "3"}, "max_items must be a whole number of at least 1"),
        ({"fail_fast": "yes"}, "fail_fast must be True or False"),
        ({"batch_key": ""}, "batch_key must be a non-empty string"),
        ({"store": "here"}, "got a store but no batch_key"),
        ({"batch_key": "k", "store": 3}, "store must be a directory path"),
        ({"call_limit": asyncio.Semaphore(2)}, "sets the run option 'call_limit' itself"),
        ({"max_concurency": 2}, "Did you mean 'max_concurrency'?"),
        ({"timeout": -1}, "timeout must be a positive"),
        ({"provider": "fake"}, "has no complete() method"),
    ],
)
def test_bad_arguments_are_refused_before_any_item_runs(arguments, words):
    given: dict[str, Any] = {"states": topics(2), **arguments}
    with pytest.raises(IrgraphError) as caught:
        run_many(CHAIN, given.pop("states"), **given)
    assert words in str(caught.value)


def test_run_takes_a_shared_call_limit_but_not_with_max_concurrency():
    async def main() -> int:
        fake = HeldProvider(2, latency=0.01)
        limit = asyncio.Semaphore(2)
        from irgraph import arun

        await asyncio.gather(
            *(arun(FAN, provider=fake, state=s, call_limit=limit) for s in topics(3))
        )
        return fake.max_in_flight

    assert asyncio.run(main()) == 2
    with pytest.raises(PipelineError, match="call_limit and max_concurrency"):
        run(
            FAN,
            provider=FakeProvider(),
            state=topics(1)[0],
            call_limit=asyncio.Semaphore(1),
            max_concurrency=2,
        )
    with pytest.raises(PipelineError, match="call_limit must be an asyncio.Semaphore"):
        run(FAN, provider=FakeProvider(), state=topics(1)[0], call_limit=3)


def test_a_finished_item_is_freed_without_waiting_for_the_garbage_collector():
    """Memory stays proportional to the items in flight: once an item's result is handed
    over and dropped, nothing of its run (scheduler, task group, trace) is kept by a
    reference cycle until a collection."""
    import gc
    import weakref

    from irgraph.events import RunResult

    kept: list[weakref.ref[RunResult]] = []

    async def main() -> None:
        async for item in arun_many(FAN, topics(30), provider=FakeProvider(), max_items=4):
            assert item.result is not None
            kept.append(weakref.ref(item.result))

    gc.collect()
    gc.disable()
    try:
        asyncio.run(main())
        alive = sum(ref() is not None for ref in kept)
    finally:
        gc.enable()
    assert alive == 0
