"""``irgraph batch`` resumed after lines were inserted into or removed from the inputs above
others: a result was kept only for the line at its own index, so one line added at the top
ran (and paid for) every item again, though each result was still in the file under its
old index. A moved line now gets the kept result of its content, written under its new
index; a line given twice still runs its second copy."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.support.batch_dir import batch_dir, batch_in, ran_since
from tests.support.batch_dir import write_inputs as inputs

MODULE = "irgraph_cli_batch_moved_pipelines"
PIPELINES = """
from irgraph import Agent, Transform

calls = []


def count(topic):
    calls.append(topic)
    if topic == "boom":
        raise ValueError("planted failure")
    return topic.upper()


pipeline = Transform("count", count).reads("topic").writes("loud") >> Agent("w").instruct(
    "Write about {loud}."
).writes("text")
"""
TARGET = f"{MODULE}:pipeline"


@pytest.fixture
def here(tmp_path, monkeypatch):
    return batch_dir(tmp_path, monkeypatch, MODULE, PIPELINES, ["owls", "bats", "moths"])


def ran() -> list[str]:
    """The topics whose items ran since the last call."""
    return ran_since(MODULE)


def by_index(path: Path) -> dict[int, str]:
    """The topic of each index's last completed result line."""
    lines = map(json.loads, path.open())
    return {r["index"]: r["state"]["topic"] for r in lines if "state" in r}


def test_a_line_inserted_above_the_others_runs_alone(here):
    assert batch_in(TARGET, "-o", "out.jsonl")[0] == 0 and len(ran()) == 3
    inputs(here, ["newts", "owls", "bats", "moths"])
    code, text = batch_in(TARGET, "-o", "out.jsonl")
    assert code == 0 and ran() == ["newts"]
    assert "1 done, 0 failed, 3 resumed" in text
    assert by_index(here / "out.jsonl") == {0: "newts", 1: "owls", 2: "bats", 3: "moths"}
    lines = (here / "out.jsonl").read_text().splitlines()
    assert len(lines) == 4  # each index once: the old lines were replaced
    assert all(next(iter(json.loads(line))) == "index" for line in lines)


def test_lines_removed_or_reordered_run_nothing_again(here, capsys):
    assert batch_in(TARGET, "-o", "out.jsonl")[0] == 0 and len(ran()) == 3
    inputs(here, ["moths", "bats"])
    code, text = batch_in(TARGET, "-o", "out.jsonl")
    assert code == 0 and ran() == [] and "0 done, 0 failed, 2 resumed" in text
    assert by_index(here / "out.jsonl") == {0: "moths", 1: "bats", 2: "owls"}
    # moths's old result was used; owls's, of a line removed, is kept past the end
    assert "keeps the result of item 2, past the end" in capsys.readouterr().err


def test_a_line_given_twice_runs_its_second_copy(here):
    """Each kept result stands for one line: a line repeated to sample a model twice gets a
    second run, not the first run's answer twice."""
    inputs(here, ["owls"])
    assert batch_in(TARGET, "-o", "out.jsonl")[0] == 0 and ran() == ["owls"]
    inputs(here, ["bats", "owls", "owls"])
    assert batch_in(TARGET, "-o", "out.jsonl")[0] == 0
    assert sorted(ran()) == ["bats", "owls"]  # one owls resumed, moved; the other ran
    assert by_index(here / "out.jsonl") == {0: "bats", 1: "owls", 2: "owls"}


def test_standard_input_resumes_in_place_only(here, monkeypatch):
    import io

    assert batch_in(TARGET, "-o", "out.jsonl")[0] == 0 and len(ran()) == 3
    text = "".join(json.dumps({"topic": t}) + "\n" for t in ["newts", "owls"])
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(text.encode())))
    from irgraph.cli import main

    assert main(["batch", TARGET, "-", "-o", "out.jsonl"], out=io.StringIO()) == 0
    assert ran() == ["newts", "owls"]  # read once: no looking ahead for moved lines


def test_a_batch_stopped_at_a_failure_loses_no_moved_result(here):
    """The moved lines' results are written under their new indices before any item runs:
    a new first line that fails with --fail-fast replaces the old first line's result, which
    a later line still needed."""
    assert batch_in(TARGET, "-o", "out.jsonl")[0] == 0 and len(ran()) == 3
    inputs(here, ["boom", "owls", "bats", "moths"])
    assert batch_in(TARGET, "-o", "out.jsonl", "--fail-fast", "--max-items", "1")[0] == 1
    assert ran() == ["boom"]
    inputs(here, ["newts", "owls", "bats", "moths"])
    assert batch_in(TARGET, "-o", "out.jsonl")[0] == 0 and ran() == ["newts"]
    assert by_index(here / "out.jsonl") == {0: "newts", 1: "owls", 2: "bats", 3: "moths"}


def test_moved_results_are_copied_whole_from_a_file_the_resume_rewrote(here):
    """A moved line's result is copied from where the rewrite of the results file put it:
    lines of an earlier irgraph grow as they get the pipeline's digest, a failed line and an
    older result of an index are dropped, and a result holds text of several UTF-8 bytes a
    character; each copy is the whole result of its own line, whatever its JSON's order."""
    topics = ["chouette effraie \u00e9\u00e8", "owls \U0001f989", "bats"]
    inputs(here, topics)
    assert batch_in(TARGET, "-o", "out.jsonl")[0] == 0 and len(ran()) == 3
    records = [json.loads(line) for line in (here / "out.jsonl").read_text().splitlines()]
    states = {r["index"]: r["state"] for r in records}
    for record in records:  # as an earlier irgraph wrote them: no digest
        del record["pipeline"]
    failed = {"index": 1, "key": records[0]["key"], "error": {"type": "RunError", "message": "x"}}
    older = {**records[2], "state": {"topic": "an older result of this index"}}
    last = {"key": records[-1]["key"], **{k: v for k, v in records[-1].items() if k != "key"}}
    lines = [older, records[0], failed, records[1], *records[2:-1], last]
    text = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in lines)
    (here / "out.jsonl").write_text(text, encoding="utf-8")
    inputs(here, ["newts", *topics])
    assert batch_in(TARGET, "-o", "out.jsonl")[0] == 0 and ran() == ["newts"]
    written = [json.loads(line) for line in (here / "out.jsonl").read_text("utf-8").splitlines()]
    assert sorted(r["index"] for r in written) == [0, 1, 2, 3]
    assert {r["index"]: r["state"] for r in written if r["index"]} == {
        i + 1: state for i, state in states.items()
    }


def test_keep_completed_gives_the_offset_of_each_kept_line(tmp_path):
    from irgraph.cli_batch_results import keep_completed, scan_results

    def line(index: int, text: str, digest: str | None = "d1") -> str:
        record = {"index": index, "key": f"k{index}", "state": {"text": text}}
        return json.dumps(record | ({} if digest is None else {"pipeline": digest})) + "\n"

    path = tmp_path / "out.jsonl"
    path.write_text(
        line(3, "first of 3")
        + line(0, "\u00e9t\u00e9", None)  # stamped: it grows in the rewrite
        + json.dumps({"index": 1, "key": "k1", "error": {"type": "E", "message": "m"}})
        + "\n"
        + line(3, "last of 3", None)
        + line(2, "two")
        + '{"index": 4, "ke',  # cut short
        encoding="utf-8",
    )
    kept, offsets = keep_completed(str(path), scan_results(str(path)), "d2")
    assert kept == {0: "k0", 3: "k3", 2: "k2"}
    data = path.read_bytes()
    assert sorted(offsets) == [0, 2, 3] and len(set(offsets.values())) == 3
    for index, offset in offsets.items():
        record = json.loads(data[offset:].split(b"\n", 1)[0])
        assert record["index"] == index and record["pipeline"] == ("d1" if index == 2 else "d2")
    assert json.loads(data[offsets[3] :].split(b"\n", 1)[0])["state"] == {"text": "last of 3"}


def test_a_moved_result_leaves_no_old_copy_past_the_end(here, capsys):
    """Lines removed at the top move the others up: each result is copied to its new index,
    and its old line, past the end of the shorter inputs, is dropped rather than left as a
    second copy of that line's result that no note tells of."""
    assert batch_in(TARGET, "-o", "out.jsonl")[0] == 0 and len(ran()) == 3
    inputs(here, ["bats", "moths"])
    code, text = batch_in(TARGET, "-o", "out.jsonl")
    assert code == 0 and ran() == [] and "0 done, 0 failed, 2 resumed" in text
    lines = [json.loads(line) for line in (here / "out.jsonl").read_text().splitlines()]
    indexed = sorted((r["index"], r["state"]["topic"]) for r in lines)
    assert indexed == [(0, "bats"), (1, "moths"), (2, "owls")]  # owls's: its line was removed
    assert "keeps the result of item 2, past the end" in capsys.readouterr().err
    inputs(here, ["owls", "bats", "moths"])  # back as they were: nothing runs again
    assert batch_in(TARGET, "-o", "out.jsonl")[0] == 0 and ran() == []
    assert by_index(here / "out.jsonl") == {0: "owls", 1: "bats", 2: "moths"}


def test_a_shortened_file_keeps_the_results_past_its_end_that_did_not_move(here, capsys):
    assert batch_in(TARGET, "-o", "out.jsonl")[0] == 0 and len(ran()) == 3
    inputs(here, ["bats"])  # bats moves to 0; moths's result stays, told past the end
    assert batch_in(TARGET, "-o", "out.jsonl")[0] == 0 and ran() == []
    assert by_index(here / "out.jsonl") == {0: "bats", 1: "owls", 2: "moths"}  # owls's moved
    assert "keeps the results of items 1 to 2, past the end" in capsys.readouterr().err


def test_another_data_sets_inputs_given_the_same_results_file_are_refused(here, capsys):
    """A command line edited for another data set but keeping -o replaced the earlier
    results (paid for) without a word: none of them is of a line of the new inputs, so the
    batch is refused before any item runs, the file left as it was."""
    assert batch_in(TARGET, "-o", "out.jsonl")[0] == 0 and len(ran()) == 3
    before = (here / "out.jsonl").read_bytes()
    inputs(here, ["cats", "dogs"])
    capsys.readouterr()
    assert batch_in(TARGET, "-o", "out.jsonl")[0] == 2 and ran() == []
    error = capsys.readouterr().err
    assert error.startswith("irgraph: error: -o 'out.jsonl' holds 3 completed results, none")
    assert "inputs file 'in.jsonl'" in error and "replace the results of items 0 to 1" in error
    assert (here / "out.jsonl").read_bytes() == before
    assert batch_in(TARGET, "-o", "cats.jsonl")[0] == 0 and ran() == ["cats", "dogs"]


def test_inputs_with_one_line_in_common_resume_it_and_run_the_changed_lines(here):
    assert batch_in(TARGET, "-o", "out.jsonl")[0] == 0 and len(ran()) == 3
    inputs(here, ["cats", "dogs", "moths"])  # two lines edited: they run again
    assert batch_in(TARGET, "-o", "out.jsonl")[0] == 0 and ran() == ["cats", "dogs"]
    # the results of the lines as they were are kept past the end, for the edits undone
    assert by_index(here / "out.jsonl") == {0: "cats", 1: "dogs", 2: "moths", 3: "owls", 4: "bats"}


def test_a_resume_that_keeps_every_line_appends_to_the_file_without_copying_it(here):
    """A results file whose lines are all kept was copied whole into a new file on every
    resume: minutes, and as much free disk again, for a big one. It is now appended to."""
    assert batch_in(TARGET, "-o", "out.jsonl")[0] == 0 and len(ran()) == 3
    before, inode = (here / "out.jsonl").read_bytes(), (here / "out.jsonl").stat().st_ino
    inputs(here, ["owls", "bats", "moths", "newts"])
    assert batch_in(TARGET, "-o", "out.jsonl")[0] == 0 and ran() == ["newts"]
    assert (here / "out.jsonl").stat().st_ino == inode
    assert (here / "out.jsonl").read_bytes().startswith(before)
    assert by_index(here / "out.jsonl") == {0: "owls", 1: "bats", 2: "moths", 3: "newts"}


GROWING = """
from irgraph import Transform


def count(topic):
    if topic == "x":  # the inputs file grows while the batch runs: d again, at index 3
        with open("in.jsonl", "a") as file:
            file.write('{"topic": "d"}\\n')
    return topic.upper()


pipeline = Transform("count", count).reads("topic").writes("loud")
"""


def test_a_moved_results_old_line_stays_when_its_index_is_read_again(tmp_path, monkeypatch):
    """The old line of a moved result past the inputs' end is dropped; but when lines were
    appended to the inputs as the batch ran, the line read at that index is kept. That line
    is d again: d's result stands for the d that moved up, so this d runs, as it would have
    had the file held it from the start (tests/test_cli_batch_appended.py)."""
    module = "irgraph_cli_batch_moved_growing"
    here = batch_dir(tmp_path, monkeypatch, module, GROWING, ["a", "b", "c", "d"])
    target = f"{module}:pipeline"
    assert batch_in(target, "-o", "out.jsonl")[0] == 0
    inputs(here, ["c", "d", "x"])  # c and d move up; x runs and appends d
    code, text = batch_in(target, "-o", "out.jsonl", "--max-items", "1")
    assert code == 0 and "2 done, 0 failed, 2 resumed" in text
    assert by_index(here / "out.jsonl") == {0: "c", 1: "d", 2: "x", 3: "d", 4: "a", 5: "b"}


def counted(monkeypatch: pytest.MonkeyPatch, owners: list[Any], name: str) -> list[int]:
    """Count the calls of the function ``name`` of the modules ``owners`` (one function, as
    each imported it), still calling it: a one-item list of the count so far."""
    real, calls = getattr(owners[0], name), [0]

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        calls[0] += 1
        return real(*args, **kwargs)

    for owner in owners:
        monkeypatch.setattr(owner, name, wrapper)
    return calls


def test_a_resume_reads_each_results_line_and_pairs_the_moved_lines_once(here, monkeypatch):
    """A resume with every line moved parsed each results line's JSON once (the scan) and
    paired the moved lines with their results once: the check that the file holds these
    inputs' results paired them all too, then the resume again."""
    import irgraph.cli_batch as cli_batch
    import irgraph.cli_batch_kept as kept
    import irgraph.cli_batch_scan as scan

    inputs(here, [f"topic {i}" for i in range(20)])
    assert batch_in(TARGET, "-o", "out.jsonl")[0] == 0 and len(ran()) == 20
    lines = len((here / "out.jsonl").read_text().splitlines())
    inputs(here, ["newts", *(f"topic {i}" for i in range(20))])  # every line moved
    parsed = counted(monkeypatch, [scan], "_decode")  # the JSON decoder's own reading
    paired = counted(monkeypatch, [cli_batch, kept], "moved_results")
    code, text = batch_in(TARGET, "-o", "out.jsonl")
    assert code == 0 and ran() == ["newts"] and "1 done, 0 failed, 20 resumed" in text
    assert parsed[0] == lines == 20 and paired[0] == 1
    assert by_index(here / "out.jsonl") == {0: "newts", **{i + 1: f"topic {i}" for i in range(20)}}


def paired_as_specified(
    unplaced: dict[int, str], count: int, kept: dict[int, str]
) -> dict[int, int]:
    """The pairing :func:`moved_results` gives, written plainly: in index order, each line not
    in place takes the lowest-indexed kept result of its key that no line claims in place
    and no line before it took."""
    free = sorted(i for i in kept if i >= count or i in unplaced)
    moved = {}
    for index in sorted(unplaced):
        source = next((i for i in free if kept[i] == unplaced[index]), None)
        if source is not None:
            moved[index] = source
            free.remove(source)
    return moved


@given(
    st.integers(0, 8).flatmap(
        lambda count: st.tuples(
            st.just(count),
            st.dictionaries(st.integers(0, count - 1), st.sampled_from("abc"))
            if count
            else st.just({}),
            st.dictionaries(st.integers(0, count + 4), st.sampled_from("abc")),
        )
    )
)
def test_moved_results_pair_as_specified_and_the_refusal_agrees(case):
    from irgraph.cli_batch_kept import moved_results, other_inputs

    count, unplaced, kept = case
    unplaced = dict(sorted(unplaced.items()))  # as the survey gives them: in index order
    moved = moved_results(unplaced, count, kept)
    assert moved == paired_as_specified(unplaced, count, kept)
    refused = other_inputs(unplaced, count, kept, "in.jsonl", "out.jsonl") is not None
    every_line_unplaced = count > 0 and len(unplaced) == count
    in_the_inputs = any(i < count for i in kept)
    assert refused == (every_line_unplaced and in_the_inputs and not moved)
