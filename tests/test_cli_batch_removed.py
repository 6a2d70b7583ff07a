"""``irgraph batch`` resumed after a line was removed from the middle of the inputs, or
changed: the next line's moved result (or the changed line's new one) took the removed line's
index, and the removed line's result was dropped when the file was tidied, so giving the line
back ran (and paid for) it again. A completed result is now dropped only when the file keeps
the same result; the others are kept past the end of the inputs, where a line given back
finds them."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from tests.support.batch_dir import batch_dir, batch_in, ran_since
from tests.support.batch_dir import write_inputs as inputs

MODULE = "irgraph_cli_batch_removed_pipelines"
PIPELINES = """
from irgraph import Agent, Transform

calls = []


def count(topic):
    calls.append(topic)
    return topic.upper()


pipeline = Transform("count", count).reads("topic").writes("loud") >> Agent("w").instruct(
    "Write about {loud}."
).writes("text")
"""
TARGET = f"{MODULE}:pipeline"
TOPICS = ["owls", "bats", "moths", "newts"]


@pytest.fixture
def here(tmp_path, monkeypatch):
    return batch_dir(tmp_path, monkeypatch, MODULE, PIPELINES, TOPICS)


def ran() -> list[str]:
    """The topics whose items ran since the last call."""
    return ran_since(MODULE)


def topics_kept(path: Path) -> list[str]:
    """The topic of every completed result line, sorted: each paid result once."""
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    indices = [r["index"] for r in lines]
    assert len(indices) == len(set(indices)), f"an index given twice: {sorted(indices)}"
    return sorted(r["state"]["topic"] for r in lines if "state" in r)


def test_a_line_removed_from_the_middle_and_given_back_does_not_run_again(here, capsys):
    assert batch_in(TARGET, "-o", "out.jsonl")[0] == 0 and len(ran()) == 4
    inputs(here, ["owls", "moths", "newts"])  # bats removed: moths and newts move up
    code, text = batch_in(TARGET, "-o", "out.jsonl")
    assert code == 0 and ran() == [] and "0 done, 0 failed, 3 resumed" in text
    assert topics_kept(here / "out.jsonl") == sorted(TOPICS)  # bats's result is still there
    assert "keeps the result of item 3, past the end" in capsys.readouterr().err
    inputs(here, TOPICS)  # bats given back
    code, text = batch_in(TARGET, "-o", "out.jsonl")
    assert code == 0 and ran() == [] and "0 done, 0 failed, 4 resumed" in text
    lines = [json.loads(line) for line in (here / "out.jsonl").read_text().splitlines()]
    assert {r["index"]: r["state"]["topic"] for r in lines} == dict(enumerate(TOPICS))


def test_a_changed_lines_old_result_is_kept_for_the_line_given_back(here):
    assert batch_in(TARGET, "-o", "out.jsonl")[0] == 0 and len(ran()) == 4
    inputs(here, ["owls", "cats", "moths", "newts"])  # bats edited into cats: cats runs
    assert batch_in(TARGET, "-o", "out.jsonl")[0] == 0 and ran() == ["cats"]
    assert topics_kept(here / "out.jsonl") == sorted([*TOPICS, "cats"])
    inputs(here, TOPICS)  # the edit undone
    assert batch_in(TARGET, "-o", "out.jsonl")[0] == 0 and ran() == []


def test_a_result_kept_past_the_end_is_kept_when_a_new_line_takes_its_index(here):
    """Results past the end of a shortened file were replaced by the next line appended."""
    assert batch_in(TARGET, "-o", "out.jsonl")[0] == 0 and len(ran()) == 4
    inputs(here, ["owls", "bats"])
    assert batch_in(TARGET, "-o", "out.jsonl")[0] == 0 and ran() == []
    inputs(here, ["owls", "bats", "cats"])  # cats at index 2, where moths's result was
    assert batch_in(TARGET, "-o", "out.jsonl")[0] == 0 and ran() == ["cats"]
    assert topics_kept(here / "out.jsonl") == sorted([*TOPICS, "cats"])
    inputs(here, ["cats", *TOPICS])
    assert batch_in(TARGET, "-o", "out.jsonl")[0] == 0 and ran() == []


def test_standard_input_keeps_the_results_of_lines_it_no_longer_holds(here, monkeypatch, capsys):
    import io

    from irgraph.cli import main

    def from_stdin(topics: list[str]) -> int:
        text = "".join(json.dumps({"topic": t}) + "\n" for t in topics)
        monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(text.encode())))
        return main(["batch", TARGET, "-", "-o", "out.jsonl"], out=io.StringIO())

    assert batch_in(TARGET, "-o", "out.jsonl")[0] == 0 and len(ran()) == 4
    capsys.readouterr()
    assert from_stdin(["owls", "moths", "newts"]) == 0
    assert ran() == ["moths", "newts"]  # read once: moved lines run again, in place only
    assert capsys.readouterr().err.endswith(
        "irgraph: note: Standard input is read once, so 2 lines whose result -o 'out.jsonl' "
        "holds under another index (lines that moved) ran again: such inputs resume lines only "
        "in their own places. To resume moved lines without running them, save the inputs to a "
        f"file and give it: irgraph batch {TARGET} inputs.jsonl -o out.jsonl.\n"
    )
    assert topics_kept(here / "out.jsonl") == sorted(TOPICS)  # the old copies dropped
    assert batch_in(TARGET, "-o", "out.jsonl")[0] == 0 and ran() == []  # from the file


def test_a_run_killed_before_it_tidied_the_file_loses_no_result(here):
    """A run killed outright (no Ctrl-C: nothing tidied) leaves the copy of a moved result on
    the removed line's index; the next run kept only the last line of each index."""
    assert batch_in(TARGET, "-o", "out.jsonl")[0] == 0 and len(ran()) == 4
    lines = (here / "out.jsonl").read_text().splitlines(keepends=True)
    moths = next(line for line in lines if '"moths"' in line)
    copy = '{"index": 1, ' + moths.split(", ", 1)[1]  # as the killed run copied it
    (here / "out.jsonl").write_text("".join(lines) + copy)
    inputs(here, ["owls", "moths", "newts"])
    assert batch_in(TARGET, "-o", "out.jsonl")[0] == 0 and ran() == []
    assert topics_kept(here / "out.jsonl") == sorted(TOPICS)
    inputs(here, TOPICS)
    assert batch_in(TARGET, "-o", "out.jsonl")[0] == 0 and ran() == []
