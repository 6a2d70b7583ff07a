"""Resuming a keyed batch: killed at any point and run again, it ends as an uninterrupted
batch would, asking the model nothing it had answered; a changed pipeline is refused."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

import attrs
import pytest
from hypothesis import event, given
from hypothesis import strategies as st

from irgraph import Agent, PipelineError, Route, Transform, arun_many, run, run_many
from irgraph.batch import ItemResult
from irgraph.batch_store import BatchStore, _write_atomically
from irgraph.ir import from_json, to_json
from irgraph.providers import ModelRequest
from irgraph.testing import FakeProvider
from irgraph.testing.fake_values import stable_hash
from irgraph.testing.strategies import join_values, pipelines_with_inputs, to_code

ROOT = Path(__file__).resolve().parents[1]
RESEARCHER = Agent("researcher").instruct("Research {topic}.").writes("findings")
OUTLINER = Agent("outliner").instruct("Outline {findings}.").writes("outline")
WRITER = Agent("writer").instruct("Write from {outline}.").writes("report")
CHAIN = RESEARCHER >> OUTLINER >> WRITER
OPENING = Agent("opening").instruct("Open item {n}.").writes("opened")
CLOSING = Agent("closing").instruct("Close item {n}.").writes("closed")


def identity(request: ModelRequest) -> str:
    """Everything that makes two requests the same request (the state the agent reads only
    shows in its prompt)."""
    return repr(attrs.evolve(request, state={}))


class Counting:
    """FakeProvider's answers after a few turns of the event loop (a number fixed by the
    request and ``salt``, so items interleave without wall time), counting by request the
    calls asked and the calls answered. At call ``stop_at`` it cancels ``victim`` (the task
    iterating the batch, as Ctrl-C does) and waits to be cancelled with the rest."""

    made_up_answers = True  # FakeProvider's: it stands for the FakeProvider runs kept before

    def __init__(self, salt: int = 0, stop_at: int | None = None) -> None:
        self.fake = FakeProvider()
        self.salt = salt
        self.stop_at = stop_at
        self.victim: asyncio.Task[Any] | None = None
        self.asked: Counter[str] = Counter()
        self.answered: Counter[str] = Counter()

    async def complete(self, request: ModelRequest) -> str:
        key = identity(request)
        self.asked[key] += 1
        if self.stop_at == self.asked.total() and self.victim is not None:
            self.victim.cancel()
            await asyncio.Event().wait()
        for _ in range(stable_hash(f"{self.salt} {key}") % 4):
            await asyncio.sleep(0)
        answer = await self.fake.complete(request)
        self.answered[key] += 1
        return answer


async def batch(
    pipeline: Any, states: list[Any], provider: Counting, **options: Any
) -> dict[int, ItemResult] | None:
    """The batch's results by index, or ``None`` when ``provider`` interrupted it."""
    results: dict[int, ItemResult] = {}

    async def consume() -> None:
        async with contextlib.aclosing(
            arun_many(pipeline, states, provider=provider, **options)
        ) as items:
            async for item in items:
                results[item.index] = item

    provider.victim = asyncio.ensure_future(consume())
    try:
        await provider.victim
    except asyncio.CancelledError:
        return None
    return results


def ended(results: dict[int, ItemResult]) -> dict[int, Any]:
    """Each item's final state, or its error's type. (Not its outputs: those of an agent in a
    map-over are whichever of its runs ended last.)"""
    return {i: (item.state, type(item.error).__name__) for i, item in results.items()}


def half_done(store: Path) -> int:
    """Items with answers kept but no result: those an interruption caught under way."""
    answers = store / "answers"
    folders = [f for f in answers.iterdir() if any(f.iterdir())] if answers.exists() else []
    return sum(not (store / "items" / f"{f.name}.json").exists() for f in folders)


@st.composite
def data_sets(draw: st.DrawFn) -> tuple[Any, list[dict[str, Any]]]:
    """A drawn pipeline between two agents (so most items make several calls, and can be
    caught half done), and 1-6 items drawn from a pool of 1-3 states, so items repeat; states
    may differ only in the key ``n``, which only those two agents read (so different items ask
    the drawn pipeline the same requests)."""
    drawn, inputs = draw(pipelines_with_inputs(max_depth=2, max_width=3))
    pipeline = OPENING >> drawn >> CLOSING
    variants = draw(st.integers(1, 2))
    pool = [
        {
            **{k: f"{v} {j % variants}" if isinstance(v, str) else v for k, v in inputs.items()},
            "n": j,
        }
        for j in range(draw(st.integers(1, 3)))
    ]
    picks = draw(st.lists(st.integers(0, len(pool) - 1), min_size=1, max_size=6))
    return pipeline, [json.loads(json.dumps(pool[p])) for p in picks]


@given(
    data_sets(),
    st.integers(0, 3),
    st.sampled_from((None, 1, 2, 4)),
    st.sampled_from((None, 1, 3)),
    # Where to kill, in thousandths of the whole batch's calls: spread out, and shrinking to
    # the middle of the batch (the first call would leave nothing half done).
    st.lists(st.integers(0, 999).map(lambda n: (500 + 617 * n) % 1000), min_size=1, max_size=2),
)
def test_an_interrupted_batch_resumes_to_the_same_results_asking_nothing_twice(
    drawn, salt, max_concurrency, max_items, stops
):
    """Killed once or twice, each time at a drawn call (a call none of its items got to be
    answered), then run to the end."""
    pipeline, states = drawn
    code = to_code(pipeline)
    limits = {"max_concurrency": max_concurrency, "max_items": max_items}
    whole, last, answered = Counting(salt), Counting(salt), Counter[str]()

    async def main(fresh: str, folder: str) -> tuple[Any, ...]:
        plain = await batch(pipeline, states, Counting(salt), **limits)
        keyed = await batch(pipeline, states, whole, batch_key="b", store=fresh, **limits)
        for stop in stops:
            killed = Counting(salt, stop_at=1 + stop * whole.asked.total() // 1000)
            kept = await batch(pipeline, states, killed, batch_key="b", store=folder, **limits)
            answered.update(killed.answered)
            if kept is None:
                event(f"interrupted with {min(half_done(Path(folder)), 2)}+ items half done")
        resumed = await batch(pipeline, states, last, batch_key="b", store=folder, **limits)
        return plain, keyed, resumed

    with tempfile.TemporaryDirectory() as fresh, tempfile.TemporaryDirectory() as folder:
        plain, keyed, resumed = asyncio.run(main(fresh, folder))
    assert plain is not None and all(item.ok for item in plain.values()), code
    assert keyed is not None and ended(keyed) == ended(plain), code
    assert resumed is not None and ended(resumed) == ended(plain), code
    # Every call answered before an interruption is answered from the store afterwards, and
    # every other call is made after all: together, exactly the calls of the whole batch.
    assert answered + last.asked == whole.asked, code


def test_an_interruption_leaves_items_half_done_which_resume(tmp_path):
    states = [{"topic": f"t{i}"} for i in range(6)]
    killed = Counting(stop_at=8)
    limits = {"max_concurrency": 4, "batch_key": "b", "store": tmp_path}
    assert asyncio.run(batch(CHAIN, states, killed, **limits)) is None
    assert half_done(tmp_path) >= 2 and killed.answered.total() < 8
    last = Counting()
    resumed = asyncio.run(batch(CHAIN, states, last, **limits))
    assert resumed is not None and all(item.ok for item in resumed.values())
    assert not set(killed.answered) & set(last.asked)
    assert last.asked.total() == 6 * 3 - killed.answered.total()


def test_identical_items_in_flight_share_their_model_calls(tmp_path):
    states = [{"topic": "owls"}] * 4 + [{"topic": "bats"}] * 2
    fake = Counting()
    results = asyncio.run(batch(CHAIN, states, fake, batch_key="b", store=tmp_path, max_items=6))
    assert results is not None and len(results) == 6
    assert fake.asked.total() == 2 * 3 and set(fake.asked.values()) == {1}
    assert {results[0].state["report"], results[3].state["report"]} == {  # type: ignore[index]
        "<writer: Write from <outliner: Outline <researcher: Research owls.>.>.>"
    }
    assert not (tmp_path / "answers").exists() or not any((tmp_path / "answers").iterdir())


KILLED = """
import os, signal, sys
from irgraph import Agent, run_many

class Dying:
    def __init__(self):
        self.calls = 0

    async def complete(self, request):
        self.calls += 1
        if self.calls == int(sys.argv[2]):
            os.kill(os.getpid(), signal.SIGKILL)
        with open(sys.argv[3], "a") as log:
            log.write(request.prompt + "\\n")
        return f"<{request.agent}: {request.prompt}>"

chain = (
    Agent("researcher").instruct("Research {topic}.").writes("findings")
    >> Agent("outliner").instruct("Outline {findings}.").writes("outline")
    >> Agent("writer").instruct("Write from {outline}.").writes("report")
)
states = [{"topic": f"t{i}"} for i in range(6)]
batch = run_many(chain, states, provider=Dying(), batch_key="b", store=sys.argv[1], max_items=4)
for _ in batch:
    pass
"""


def test_a_process_killed_mid_batch_resumes_without_asking_an_answered_call(tmp_path):
    script, log, store = tmp_path / "killed.py", tmp_path / "answered.log", tmp_path / "store"
    script.write_text(KILLED)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, str(script), str(store), "9", str(log)], env=env)
    assert done.returncode == -signal.SIGKILL
    answered = log.read_text().splitlines()
    assert len(answered) == 8 and half_done(store) >= 1
    last = Counting()
    states = [{"topic": f"t{i}"} for i in range(6)]
    resumed = asyncio.run(batch(CHAIN, states, last, batch_key="b", store=store))
    assert resumed is not None and ended(resumed) == ended(
        asyncio.run(batch(CHAIN, states, Counting())) or {}
    )
    asked = [request.prompt for request in last.fake.calls]
    assert not set(answered) & set(asked) and len(asked) == 6 * 3 - 8


# A changed pipeline under the same batch key -------------------------------------------------


def keyed(pipeline: Any, store: Path, provider: Any = None, key: str = "evals") -> list[ItemResult]:
    """The batch over owls and bats, its items in index order."""
    states = [{"topic": "owls"}, {"topic": "bats"}]
    items = run_many(
        pipeline, states, provider=provider or FakeProvider(), batch_key=key, store=store
    )
    return sorted(items, key=lambda item: item.index)


def test_the_same_pipeline_resumes(tmp_path):
    keyed(CHAIN, tmp_path)
    (record,) = tmp_path.glob("batch-*.json")
    assert json.loads(record.read_text())["batch_key"] == "evals"
    again = FakeProvider()
    assert all(item.resumed for item in keyed(CHAIN, tmp_path, again)) and again.calls == []


@pytest.mark.parametrize(
    ("changed", "words"),
    [
        (
            RESEARCHER.instruct("Research {topic} again.") >> OUTLINER >> WRITER,
            "its node 'researcher' has another instruction",
        ),
        (
            RESEARCHER.model("big") >> OUTLINER >> WRITER,
            "its node 'researcher' has another model",
        ),
        (
            CHAIN >> Agent("editor").instruct("Edit {report}.").writes("edited"),
            "its node 'researcher_then_outliner_then_writer' has 4 steps where it had 3",
        ),
        (
            Agent("scout").instruct("Research {topic}.").writes("findings") >> OUTLINER >> WRITER,
            "its node 'researcher' is named 'scout' now",
        ),
        (
            RESEARCHER >> (OUTLINER | Agent("critic").instruct("Judge {findings}.")) >> WRITER,
            "its node 'outliner_and_critic' stands where 'outliner' was",
        ),
    ],
)
def test_a_changed_pipeline_is_refused_before_any_item_runs(tmp_path, changed, words):
    keyed(CHAIN, tmp_path)
    kept = sorted(path.read_bytes() for path in tmp_path.rglob("*.json"))
    fake = FakeProvider()
    with pytest.raises(PipelineError) as caught:
        keyed(changed, tmp_path, fake)
    message = str(caught.value)
    assert f"Batch 'evals' in {tmp_path} was started with another pipeline: {words}" in message
    assert "give it a new batch_key" in message and f"delete the directory {tmp_path}" in message
    assert fake.calls == [] and sorted(p.read_bytes() for p in tmp_path.rglob("*.json")) == kept
    assert all(not item.resumed for item in keyed(changed, tmp_path, key="evals-2"))


_NOTES = Agent("notes").instruct("Note {topic}.").writes("notes")
_TAGS = Agent("tags").instruct("Tag {topic}.").writes("tags")
_SUMMARY = Agent("summary").instruct("Sum up {topic}.").writes("summary")


@pytest.mark.parametrize(
    ("old", "new", "words"),
    [
        (
            _NOTES >> _TAGS >> _SUMMARY,
            _NOTES >> _SUMMARY >> _TAGS,
            "its node 'notes_then_tags_then_summary' has its steps in another order ('notes', "
            "'tags', 'summary' -> 'notes', 'summary', 'tags')",
        ),
        (
            _NOTES >> (_TAGS | _SUMMARY),
            _NOTES >> (_SUMMARY | _TAGS),
            "its node 'tags_and_summary' has its branches in another order ('tags', 'summary' "
            "-> 'summary', 'tags')",
        ),
        (
            _NOTES >> _TAGS >> _SUMMARY,
            _NOTES >> _SUMMARY.instruct("Sum up {topic} briefly.") >> _TAGS,
            "its node 'summary' has another instruction",
        ),
        (
            _NOTES >> _TAGS,
            _NOTES >> Agent("keywords").instruct("List keywords of {topic}.").writes("tags"),
            "its node 'keywords' stands where 'tags' was",
        ),
    ],
)
def test_a_reordered_or_replaced_step_is_told_as_such(tmp_path, old, new, words):
    """Steps swapped, or a step in the place of another, read as an edit of the step that
    stood there: 'its node 'tags' has another instruction ('Tag {topic}.' -> 'Sum up
    {topic}.')'."""
    keyed(old, tmp_path)
    with pytest.raises(PipelineError) as caught:
        keyed(new, tmp_path)
    assert f"was started with another pipeline: {words}" in str(caught.value)


def test_a_changed_output_schema_is_refused_and_a_description_is_not(tmp_path):
    simple = Agent("w").instruct("Name {topic}.").writes("name")
    keyed(simple, tmp_path)
    assert all(item.resumed for item in keyed(simple.describe("Names things."), tmp_path))
    typed = simple.output({"type": "object", "properties": {"x": {"type": "string"}}})
    with pytest.raises(PipelineError, match="its node 'w' has another output schema"):
        keyed(typed, tmp_path)


@pytest.mark.parametrize(("was", "now"), [(True, 1), (1, True), (0, False)])
def test_a_route_value_changed_only_as_json_tells_it_is_refused(tmp_path, was, now):
    """``.when(True)`` -> ``.when(1)`` runs another branch, yet the record's pipeline compared
    equal in Python (``True == 1``): the batch was not refused, and every item silently ran
    again, its kept result stamped with the other pipeline."""

    def routed(value):
        branch = Agent("p").writes("o")
        return Route("r").on("topic").when(value, branch).otherwise(Agent("q").writes("o"))

    assert not any(item.resumed for item in keyed(routed(was), tmp_path))
    fake = FakeProvider()
    with pytest.raises(PipelineError, match="its node 'r' has other route cases"):
        keyed(routed(now), tmp_path, fake)
    assert fake.calls == []


def _routed(value: Any) -> Any:
    branch = Agent("p").instruct("Pick {topic}.").writes("o")
    return Route("r").on("topic").when(value, branch).otherwise(Agent("q").writes("o"))


@pytest.mark.parametrize(("was", "now"), [(1, 1.0), (2.0, 2)])
def test_a_route_value_written_as_the_same_number_another_way_resumes(tmp_path, was, now):
    """A run compares a route's values as JSON numbers (``1`` is ``1.0``), and so did the
    batch's record; the stamps of the kept items hashed the text (``1`` is not ``1.0``), so
    ``.when(1)`` -> ``.when(1.0)`` asked every item's agents again."""
    taken = run(_routed(now), state={"topic": was}, provider=FakeProvider()).state["o"]
    assert taken.startswith("<p: ")  # the run takes the one for the other: the same value
    assert not any(item.resumed for item in keyed(_routed(was), tmp_path))
    for value in (now, was):
        fake = FakeProvider()
        assert all(item.resumed for item in keyed(_routed(value), tmp_path, fake))
        assert fake.calls == []


def _stamped_as_written(store: Path, pipeline: Any) -> None:
    """Stamp a store's kept items as an irgraph before numbers counted by value did: with the
    hash of the pipeline's description as written."""
    import hashlib

    from irgraph.batch_pipeline import described_json

    stamp = hashlib.sha256(described_json(pipeline).encode()).hexdigest()[:32]
    for path in (store / "items").glob("*.json"):
        data = json.loads(path.read_text())
        data["pipeline"] = stamp
        path.write_text(json.dumps(data))


@pytest.mark.parametrize("now", [1.0, 1])
def test_items_kept_by_an_earlier_irgraph_resume(tmp_path, now):
    """Its stamps hashed the text as written: they are this pipeline's still, also when a
    number of it is now written the other way."""
    assert not any(item.resumed for item in keyed(_routed(1.0), tmp_path))
    _stamped_as_written(tmp_path, _routed(1.0))
    fake = FakeProvider()
    assert all(item.resumed for item in keyed(_routed(now), tmp_path, fake))
    assert fake.calls == []


def test_a_pipeline_built_another_way_with_the_same_ir_resumes(tmp_path):
    tidy = Transform("tidy", join_values).reads("report").writes("tidy")
    pipeline = CHAIN >> tidy
    keyed(pipeline, tmp_path)
    ir = pipeline.to_ir()
    for same in (ir, from_json(to_json(ir), allow=["irgraph.testing"])):
        again = FakeProvider()
        items = keyed(same, tmp_path, again)
        assert all(item.resumed for item in items) and again.calls == []


def test_a_half_done_batch_with_a_changed_pipeline_is_refused_too(tmp_path):
    async def interrupted() -> None:
        assert (
            await batch(
                CHAIN, [{"topic": "owls"}], Counting(stop_at=2), batch_key="evals", store=tmp_path
            )
            is None
        )

    asyncio.run(interrupted())
    assert not (tmp_path / "items").exists() and half_done(tmp_path) == 1
    changed = CHAIN >> Agent("editor").instruct("Edit {report}.")
    with pytest.raises(PipelineError, match="another pipeline"):
        keyed(changed, tmp_path)


def test_nothing_is_written_before_an_answer_is_kept(tmp_path):
    results = run_many(
        CHAIN, [{"topic": "owls"}], provider=FakeProvider(), batch_key="k", store=tmp_path
    )
    results.close()
    assert list(tmp_path.iterdir()) == []
    BatchStore(tmp_path, "k", CHAIN)
    assert list(tmp_path.iterdir()) == []


# Crashes while writing -----------------------------------------------------------------------


def test_a_write_that_fails_half_way_leaves_no_file(tmp_path):
    target = tmp_path / "items" / "x.json"
    with pytest.raises(TypeError):  # json.dump has written the first part when it meets the set
        _write_atomically(target, {"state": "x" * 100_000, "then": {1, 2}})
    assert list((tmp_path / "items").iterdir()) == []


def test_half_written_files_are_not_trusted(tmp_path):
    keyed(CHAIN, tmp_path)
    store = BatchStore(tmp_path, "evals", CHAIN)
    owls = store.item_key({"topic": "owls"}, 0)
    item = tmp_path / "items" / f"{owls}.json"
    item.write_text(item.read_text()[: len(item.read_text()) // 2])  # as a crash would leave it
    (tmp_path / "items" / ".abc.tmp").write_text('{"format": "irgraph-batch-item", "st')
    # ... and a half-written answer of the item, as a write without the rename would leave it
    asyncio.run(
        batch(CHAIN, [{"topic": "owls"}], Counting(stop_at=2), batch_key="evals", store=tmp_path)
    )
    for answer in (tmp_path / "answers" / owls).glob("*.json"):
        answer.write_text(answer.read_text()[:5])
    fake = Counting()
    items = asyncio.run(
        batch(
            CHAIN, [{"topic": "owls"}, {"topic": "bats"}], fake, batch_key="evals", store=tmp_path
        )
    )
    assert items is not None and [items[0].resumed, items[1].resumed] == [False, True]
    assert fake.asked.total() == 3 and items[0].state == keyed(CHAIN, tmp_path / "fresh")[0].state
