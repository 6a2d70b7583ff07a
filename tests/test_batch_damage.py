"""A keyed batch whose store is damaged, missing or cannot be written: it never resumes work
it cannot vouch for, never loses work it completed, and says what is wrong in a sentence
naming the item, node or file. Also the smaller promises around a batch's results: a
resumed item's run view, a ``BatchError``'s view, the ``resumed`` flag of duplicates, a
``None`` item, Ctrl-C in the loop body, and how a store mismatch reads."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import io
import json
import logging
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest

from irgraph import Agent, PipelineError, RunError, batch_progress, run_many
from irgraph.batch import BatchError, ItemResult
from irgraph.batch_progress import BatchProgress
from irgraph.batch_store import BatchStore
from irgraph.testing import FakeProvider

RESEARCHER = Agent("researcher").instruct("Research {topic}.").writes("findings")


def chain(instruction: str = "Write from {findings}.") -> Any:
    return RESEARCHER >> Agent("writer").instruct(instruction).writes("report")


CHAIN = chain()
CHANGED = chain("Write a LONG report from {findings}.")
TOPICS = [{"topic": topic} for topic in ("owls", "bats")]


def keyed(
    pipeline: Any,
    store: Path,
    provider: Any = None,
    states: list[Any] = TOPICS,
    **options: Any,
) -> list[ItemResult]:
    """The batch's items, by index."""
    provider = FakeProvider() if provider is None else provider
    items = run_many(pipeline, states, provider=provider, batch_key="B", store=store, **options)
    return sorted(items, key=lambda item: item.index)


def record_of(store: Path) -> Path:
    (record,) = store.glob("batch-*.json")
    return record


def item_file(store: Path, state: Any) -> Path:
    return store / "items" / f"{BatchStore(store, 'B').item_key(state, 0)}.json"


def snapshot(store: Path) -> list[tuple[str, bytes]]:
    return sorted((str(p.relative_to(store)), p.read_bytes()) for p in store.rglob("*.json"))


# 1. The record of the pipeline, missing or damaged --------------------------------------------


DAMAGES = {
    "deleted": None,
    "not JSON": "{not json",
    "a list": "[1]",
    "no pipeline": '{"format": "irgraph-batch", "version": 2}',
}


@pytest.mark.parametrize("damage", list(DAMAGES))
def test_without_a_record_another_pipelines_items_are_refused(tmp_path, damage):
    keyed(CHAIN, tmp_path)
    record = record_of(tmp_path)
    if DAMAGES[damage] is None:
        record.unlink()
    else:
        record.write_text(DAMAGES[damage])
    kept = snapshot(tmp_path)
    fake = FakeProvider()
    with pytest.raises(PipelineError) as caught:
        keyed(CHANGED, tmp_path, fake)
    message = str(caught.value)
    assert f"Batch 'B' in {tmp_path} keeps items computed by another pipeline" in message
    assert f"{tmp_path / 'items'}" in message and str(record) in message
    assert ("is missing" if damage == "deleted" else "is not a batch record") in message
    assert "give it a new batch_key" in message and f"delete the directory {tmp_path}" in message
    assert fake.calls == [] and snapshot(tmp_path) == kept  # nothing run, nothing touched


def test_without_a_record_this_pipelines_items_resume_and_the_record_is_written_again(tmp_path):
    first = keyed(CHAIN, tmp_path)
    record = record_of(tmp_path)
    written = record.read_bytes()
    record.unlink()
    fake = FakeProvider()
    again = keyed(CHAIN, tmp_path, fake)
    assert [item.resumed for item in again] == [True, True] and fake.calls == []
    assert [item.state for item in again] == [item.state for item in first]
    # Nothing needed writing yet; the first item that does writes the record with it.
    keyed(CHAIN, tmp_path, states=[{"topic": "moths"}])
    assert record.read_bytes() == written
    with pytest.raises(PipelineError, match="was started with another pipeline"):
        keyed(CHANGED, tmp_path)


def test_a_store_deleted_while_the_batch_runs_gets_its_record_back(tmp_path):
    store = tmp_path / "del"
    states = [{"topic": f"t{n}"} for n in range(6)]
    results = run_many(
        CHAIN, states, provider=FakeProvider(), batch_key="B", store=store, max_items=1
    )
    for count, item in enumerate(results, 1):
        assert item.ok, item.error
        if count == 3:
            shutil.rmtree(store)
    assert len(list((store / "items").glob("*.json"))) == 3 and record_of(store).is_file()
    fake = FakeProvider()
    with pytest.raises(PipelineError, match="its node 'writer' has another instruction"):
        keyed(CHANGED, store, fake, states=states)
    assert fake.calls == []


def test_items_kept_before_stamps_resume_only_beside_their_record(tmp_path):
    keyed(CHAIN, tmp_path)
    record = record_of(tmp_path)
    old = json.loads(record.read_text())
    record.write_text(json.dumps({**old, "version": 1}))
    for path in (tmp_path / "items").glob("*.json"):  # as an older irgraph wrote them
        data = json.loads(path.read_text())
        path.write_text(json.dumps({k: v for k, v in data.items() if k in OLD_ITEM_FIELDS}))
    fake = FakeProvider()
    assert [item.resumed for item in keyed(CHAIN, tmp_path, fake)] == [True, True]
    assert fake.calls == []
    record.unlink()  # unstamped, with no record to vouch for them: run again
    fake = FakeProvider()
    assert [item.resumed for item in keyed(CHANGED, tmp_path, fake)] == [False, False]
    assert len(fake.calls) == 4


OLD_ITEM_FIELDS = {"format", "version", "key", "state", "outputs", "backend", "warnings"} | {
    "placeholder"
}


def test_answers_of_another_pipeline_are_not_reused(tmp_path):
    class Stopping(FakeProvider):
        async def complete(self, request: Any) -> str:
            if request.node == "writer":
                raise RuntimeError("the writer is down")
            return await super().complete(request)

    failed = keyed(CHAIN, tmp_path, Stopping(), states=TOPICS[:1])
    assert not failed[0].ok
    answers = list((tmp_path / "answers").rglob("*.json"))
    assert len(answers) == 1
    fake = FakeProvider()
    assert keyed(CHAIN, tmp_path, fake, states=TOPICS[:1])[0].ok
    assert [call.node for call in fake.calls] == ["writer"]  # the researcher's answer was kept
    failed = keyed(CHAIN, tmp_path / "other", Stopping(), states=TOPICS[:1])
    (answer,) = (tmp_path / "other" / "answers").rglob("*.json")
    answer.write_text(json.dumps({**json.loads(answer.read_text()), "pipeline": "another"}))
    fake = FakeProvider()
    assert keyed(CHAIN, tmp_path / "other", fake, states=TOPICS[:1])[0].ok
    assert [call.node for call in fake.calls] == ["researcher", "writer"]


# 2. A kept item that is JSON but not a whole item ---------------------------------------------


@pytest.mark.parametrize(
    "damage",
    [
        {"format": "irgraph-batch-item"},
        {"state": "garbage"},
        {"outputs": ["garbage"]},
        {"backend": None},
        {"warnings": [1]},
        {"placeholder": "no"},
        {"key": "another item"},
        {"pipeline": "another pipeline"},
    ],
    ids=repr,
)
def test_a_damaged_item_counts_as_not_done(tmp_path, damage):
    first = keyed(CHAIN, tmp_path)
    path = item_file(tmp_path, TOPICS[0])
    data = json.loads(path.read_text())
    path.write_text(json.dumps(damage if "format" in damage else {**data, **damage}))
    fake = FakeProvider()
    again = keyed(CHAIN, tmp_path, fake)
    assert [(item.ok, item.resumed) for item in again] == [(True, False), (True, True)]
    assert [item.state for item in again] == [item.state for item in first]
    assert [call.node for call in fake.calls] == ["researcher", "writer"]
    assert json.loads(path.read_text())["state"] == first[0].state  # whole again


def test_the_command_line_runs_a_damaged_item_again(tmp_path, monkeypatch, capsys):
    from irgraph.cli import main

    (tmp_path / "batch_damage_pipeline.py").write_text(
        "from irgraph import Agent\n"
        "pipeline = Agent('w').instruct('Write about {topic}.').writes('text')\n"
    )
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "batch_damage_pipeline", raising=False)
    (tmp_path / "in.jsonl").write_text("\n".join(json.dumps(t) for t in TOPICS) + "\n")
    argv = ["batch", "batch_damage_pipeline:pipeline", "in.jsonl", "--batch-key", "D"]
    assert main([*argv, "-o", "first.jsonl"], out=io.StringIO()) == 0
    (item, _) = sorted((tmp_path / ".irgraph-batches" / "D" / "items").glob("*.json"))
    item.write_text('{"format": "irgraph-batch-item"}')
    out = io.StringIO()
    assert main([*argv, "-o", "second.jsonl"], out=out) == 0, capsys.readouterr().err
    assert "1 done, 0 failed, 1 resumed" in out.getvalue()  # the damaged item ran again
    assert "Traceback" not in capsys.readouterr().err


# 3. A store that cannot be written ------------------------------------------------------------


@pytest.mark.parametrize(
    ("make", "words"),
    [
        (lambda d: d.write_text("x"), "is a file, not a directory"),
        (lambda d: (d.mkdir(), (d / "items").write_text("x")), "items should be a directory"),
        (lambda d: (d.mkdir(), (d / "answers").write_text("x")), "answers should be a directory"),
    ],
    ids=["a file", "items a file", "answers a file"],
)
def test_a_store_that_cannot_hold_items_is_refused_before_any_item_runs(tmp_path, make, words):
    store = tmp_path / "store"
    make(store)
    fake = FakeProvider()
    with pytest.raises(PipelineError, match=words) as caught:
        keyed(CHAIN, store, fake)
    assert f"The store of batch 'B', {store}" in str(caught.value) and fake.calls == []


def test_a_store_under_a_file_or_with_a_directory_for_its_record_is_refused(tmp_path):
    (tmp_path / "afile").write_text("x")
    with pytest.raises(PipelineError, match=f"would be under {tmp_path / 'afile'}, which is a"):
        keyed(CHAIN, tmp_path / "afile" / "store")
    record = BatchStore(tmp_path / "s", "B", CHAIN).record
    record.mkdir(parents=True)
    with pytest.raises(PipelineError, match=f"{record} should be a file and is not"):
        keyed(CHAIN, tmp_path / "s")


def test_an_item_that_cannot_be_kept_fails_alone_with_its_result(tmp_path, caplog):
    blocked = item_file(tmp_path, TOPICS[0])
    blocked.mkdir(parents=True)  # os.replace cannot put the item's file there
    caplog.set_level(logging.ERROR, logger="asyncio")
    fake = FakeProvider()
    items = keyed(CHAIN, tmp_path, fake)
    gc.collect()
    assert "never retrieved" not in caplog.text
    owls, bats = items
    assert bats.ok and not owls.ok and isinstance(owls.error, RunError)
    message = str(owls.error)
    assert message.startswith("Item 0 of the batch ran, but its result could not be kept in ")
    assert str(blocked) in message and "run the batch again" in message
    assert "what its agents answered stays kept" in message
    assert message.endswith("to keep it without asking the model again.")
    assert owls.state is not None and owls.state["report"] == bats.state["report"].replace(
        "bats", "owls"
    )
    assert owls.error.state == owls.state and owls.error.graph is not None
    assert owls.error.completed == ["researcher", "writer"]
    # Its answers stayed: once the store is fixed, it is kept without asking the model again.
    blocked.rmdir()
    again = FakeProvider()
    resumed = keyed(CHAIN, tmp_path, again)
    assert [item.ok for item in resumed] == [True, True] and again.calls == []
    assert resumed[0].state == owls.state


def test_an_item_of_a_store_that_cannot_be_made_says_no_answer_was_kept() -> None:
    """A store whose directory cannot be made (under /proc) keeps neither the item nor its
    agents' answers: the item's error says so, where it said its answers stayed kept and a
    new run would not ask the model again."""
    store = Path("/proc/irgraph-no-store")
    (owls,) = keyed(CHAIN, store, FakeProvider(), states=TOPICS[:1])
    message = str(owls.error)
    assert message.startswith("Item 0 of the batch ran, but its result could not be kept in ")
    assert f"and no answer was kept: make the store {store} writable" in message
    assert "stays kept" not in message and "without asking the model again" not in message
    assert not store.exists()


def test_an_item_that_cannot_be_kept_stops_a_fail_fast_batch_with_its_state(tmp_path):
    item_file(tmp_path, TOPICS[0]).mkdir(parents=True)
    with pytest.raises(BatchError) as caught:
        keyed(CHAIN, tmp_path, states=TOPICS[:1], fail_fast=True)
    assert caught.value.state["report"].startswith("<writer:")
    assert caught.value.item.result is not None


def test_an_answer_that_cannot_be_kept_does_not_fail_its_agent(tmp_path):
    key = BatchStore(tmp_path, "B").item_key(TOPICS[0], 0)
    (tmp_path / "answers").mkdir()
    (tmp_path / "answers" / key).write_text("in the way")
    items = keyed(CHAIN, tmp_path, states=TOPICS[:1])
    assert items[0].ok, items[0].error
    again = FakeProvider()
    assert keyed(CHAIN, tmp_path, again, states=TOPICS[:1])[0].resumed and again.calls == []


# 4. Placeholder answers --------------------------------------------------------------------------


def test_placeholder_answers_are_not_kept(tmp_path):
    run = run_many(CHAIN, TOPICS[:1], batch_key="ph", store=tmp_path)
    (placeholder,) = list(run)
    assert placeholder.ok and placeholder.result is not None and placeholder.result.placeholder
    fake = FakeProvider()
    (item,) = run_many(CHAIN, TOPICS[:1], provider=fake, batch_key="ph", store=tmp_path)
    assert not item.resumed and item.state["findings"] == "<researcher: Research owls.>"
    assert len(fake.calls) == 2


def test_placeholder_items_kept_by_an_earlier_version_are_not_resumed(tmp_path):
    keyed(CHAIN, tmp_path, states=TOPICS[:1])
    path = item_file(tmp_path, TOPICS[0])
    path.write_text(json.dumps({**json.loads(path.read_text()), "placeholder": True}))
    fake = FakeProvider()
    (item,) = keyed(CHAIN, tmp_path, fake, states=TOPICS[:1])
    assert not item.resumed and len(fake.calls) == 2


# 5. and 6. What a resumed item and a BatchError show ------------------------------------------


def test_a_resumed_items_view_shows_the_pipelines_nodes_as_reused(tmp_path):
    keyed(CHAIN, tmp_path)
    item = keyed(CHAIN, tmp_path)[0]
    assert item.resumed and item.result is not None and item.result.graph is not None
    shown = str(item.result.view()).splitlines()[0]
    assert "2 nodes (2 reused)" in shown
    assert shown == str(item.result.view(CHAIN)).splitlines()[0]
    assert "reused" in item.result._repr_mimebundle_()["text/html"]


def test_a_batch_error_shows_the_failed_items_view(tmp_path):
    with pytest.raises(BatchError) as caught:
        list(run_many(CHAIN, TOPICS[:1], provider=FakeProvider(fail={"writer": 9}), fail_fast=True))
    error, own = caught.value, caught.value.item.error
    assert isinstance(own, RunError) and error.__cause__ is own
    assert error.graph is own.graph is not None
    assert error.trace == own.trace and error.trace
    assert error.calls == own.calls and error.calls
    assert error.state == own.state and error.completed == own.completed == ["researcher"]
    # the same record (when it stopped: its measured length; the failed item's path)
    assert (error.ended, error.path, error.gates) == (own.ended, own.path, own.gates)
    assert error.ended is not None
    # its headline names the item, as the item's own view under run_many does
    assert str(error.view()).splitlines()[0] == "Item 0: " + str(own.view()).splitlines()[0]
    assert "Run failed at 'writer'" in str(error.view())
    assert "Item 0: Run failed at &#x27;writer&#x27;" in error._repr_mimebundle_()["text/html"]


# 7. Ctrl-C in the loop body ---------------------------------------------------------------------


def test_ctrl_c_in_the_loop_body_inside_closing_reads_interrupted():
    log = io.StringIO()
    results = run_many(CHAIN, TOPICS, provider=FakeProvider(), max_items=1)
    with pytest.raises(KeyboardInterrupt):
        with contextlib.closing(batch_progress(results, total=2, stream=log)) as items:
            for _ in items:
                raise KeyboardInterrupt
    assert log.getvalue().splitlines()[-1].startswith("Interrupted after 1 of 2 items")


def test_a_break_still_reads_stopped():
    log = io.StringIO()
    results = run_many(CHAIN, TOPICS, provider=FakeProvider(), max_items=1)
    with contextlib.closing(batch_progress(results, total=2, stream=log)) as items:
        for _ in items:
            break
    assert log.getvalue().splitlines()[-1].startswith("Stopped after 1 of 2 items")


# 8. Duplicates in a first run --------------------------------------------------------------------


def test_duplicates_in_a_first_run_are_not_resumed(tmp_path):
    progress = BatchProgress(total=3, stream=io.StringIO())
    states = [{"topic": "c"}] * 3
    fake = FakeProvider(latency=0.01)
    results = run_many(CHAIN, states, provider=fake, batch_key="d", store=tmp_path, max_items=1)
    items = list(progress.track(results))
    assert [item.resumed for item in items] == [False, False, False]
    assert (progress.done, progress.resumed) == (3, 0) and len(fake.calls) == 2
    assert items[1].state == items[0].state
    again = list(run_many(CHAIN, states, provider=fake, batch_key="d", store=tmp_path))
    assert [item.resumed for item in again] == [True, True, True]


# 9. A None item ----------------------------------------------------------------------------------


@pytest.mark.parametrize("key", [None, "n"])
def test_a_none_item_is_refused_like_other_non_states(tmp_path, key):
    store = None if key is None else tmp_path
    states = [None, {"topic": "owls"}, 3]
    items = sorted(
        run_many(CHAIN, states, provider=FakeProvider(), batch_key=key, store=store),
        key=lambda item: item.index,
    )
    assert [item.ok for item in items] == [False, True, False]
    assert isinstance(items[0].error, PipelineError)
    assert str(items[0].error).startswith("Item 0 of the batch is None, not a state")
    assert "must be a mapping" in str(items[2].error)


# 10. How a store mismatch reads ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("changed", "words"),
    [
        (
            Agent("w").instruct("Write about {topic}.").writes("other"),
            "writes other keys ('text' -> 'other')",
        ),
        (
            Agent("w").instruct("Write about {topic}.").writes("text").system("Be brief."),
            "has another system prompt ('' -> 'Be brief.')",
        ),
        (  # a value too long to show whole is cut in its middle
            Agent("w").instruct("Write about {topic}, " + "at length, " * 10 + "please."),
            "has another instruction ('Write about {topic}.' -> 'Write about {topic}, at "
            "leng\u2026t length, at length, please.')",
        ),
        (
            Agent("w").instruct("Write about {topic}.").writes("text").settings(temperature=0),
            "has other model settings",
        ),
    ],
)
def test_a_store_mismatch_reads_as_a_sentence(tmp_path, changed, words):
    writer = Agent("w").instruct("Write about {topic}.").writes("text")
    keyed(writer, tmp_path, states=TOPICS[:1])
    with pytest.raises(PipelineError) as caught:
        keyed(changed, tmp_path, states=TOPICS[:1])
    assert f"was started with another pipeline: its node 'w' {words}." in str(caught.value)


def test_placeholder_answers_get_no_run_key_to_be_cached_under(tmp_path):
    """On Prefect an item's agents are cached under its run key: placeholder answers must not
    be, or a later run with a provider would get them back from the cache."""
    from irgraph.batch import _Batch
    from irgraph.events import RunResult

    seen: list[Any] = []

    class Runnable:  # what the batch asks of a backend that keeps answers by run key
        async def arun(self, state: Any, *, provider: Any, call_limit: Any, **options: Any) -> Any:
            seen.append(options.get("run_key"))
            return RunResult(dict(state), [], {}, backend="stub", placeholder=provider is None)

    for provider in (None, FakeProvider()):
        store = BatchStore(tmp_path, "B", CHAIN)
        batch = _Batch(Runnable(), provider, {}, None, 1, False, store, run_keys=True)
        assert asyncio.run(batch.run_item(0, TOPICS[0], None)).ok
    assert seen == [None, store.run_key(store.item_key(TOPICS[0], 0))]
    assert seen[1].startswith(f"irgraph-batch-{store.item_key(TOPICS[0], 0)}-")
