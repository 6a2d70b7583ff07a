"""irgraph batch resumes results whose input lines moved: a line inserted, deleted or moved
above them runs only what is new (each kept result stands for one line)."""

from __future__ import annotations

import json

import pytest

from irgraph.cli_batch import line_key
from tests.support.modules import importable
from tests.test_cli_batch import MODULE, PIPELINES, call, calls, results, write_inputs


@pytest.fixture
def here(tmp_path, monkeypatch):
    """A temporary current directory holding the pipelines module, imported afresh."""
    importable(tmp_path, monkeypatch, MODULE, PIPELINES)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def run_twice(folder, first: list[str], second: list[str], capsys) -> tuple[list[str], str]:
    """Run the batch over ``first``, then over ``second`` into the same results file; the
    topics the second run ran, and what it said on standard error."""
    write_inputs(folder / "in.jsonl", first)
    assert call(f"{MODULE}:chain", "in.jsonl", "-o", "out.jsonl")[0] == 0
    capsys.readouterr()
    before = len(calls())
    lines = write_inputs(folder / "in.jsonl", second)
    code, text = call(f"{MODULE}:chain", "in.jsonl", "-o", "out.jsonl")
    assert code == 0, capsys.readouterr().err
    found = results(folder / "out.jsonl")  # one line per index, each a result line
    assert sorted(found) == list(range(len(second)))
    for index, topic in enumerate(second):
        assert found[index]["key"] == line_key(lines[index])
        assert found[index]["state"]["topic"] == topic
        assert found[index]["state"]["loud"] == topic.upper()
    return calls()[before:], capsys.readouterr().err + text


def test_a_line_deleted_in_the_middle_runs_nothing_again(here, capsys):
    ran, said = run_twice(here, ["owls", "bats", "cats", "rats"], ["owls", "cats", "rats"], capsys)
    assert ran == []
    assert "2 results were resumed from another line of the results file" in said
    assert "past the end" not in said  # the moved results are not left behind at 3
    assert "0 done, 0 failed, 3 resumed" in said


def test_a_line_inserted_in_the_middle_runs_only_itself(here, capsys):
    ran, said = run_twice(here, ["owls", "bats", "cats"], ["owls", "newts", "bats", "cats"], capsys)
    assert ran == ["newts"]
    assert "1 done, 0 failed, 3 resumed" in said


def test_reordered_lines_resume_where_they_now_are(here, capsys):
    ran, _ = run_twice(here, ["owls", "bats", "cats"], ["cats", "owls", "bats"], capsys)
    assert ran == []


def test_a_result_stands_for_one_line_only_so_a_second_copy_runs(here, capsys):
    ran, said = run_twice(here, ["bats", "owls"], ["owls", "owls", "owls"], capsys)
    assert ran == ["owls", "owls"]  # one kept result of "owls": two copies run
    assert "2 done, 0 failed, 1 resumed" in said


def test_a_moved_result_keeps_the_state_it_was_written_with(here, capsys):
    write_inputs(here / "in.jsonl", ["owls", "bats"])
    assert call(f"{MODULE}:chain", "in.jsonl", "-o", "out.jsonl")[0] == 0
    first = results(here / "out.jsonl")
    write_inputs(here / "in.jsonl", ["bats"])
    assert call(f"{MODULE}:chain", "in.jsonl", "-o", "out.jsonl")[0] == 0
    (line,) = (here / "out.jsonl").read_text().splitlines()
    assert json.loads(line) == {**first[1], "index": 0}
    assert line.startswith('{"index": 0, ')


def test_a_batch_stopped_by_fail_fast_loses_no_moved_result(here, capsys):
    write_inputs(here / "in.jsonl", ["owls", "bats", "cats"])
    assert call(f"{MODULE}:chain", "in.jsonl", "-o", "out.jsonl")[0] == 0
    write_inputs(here / "in.jsonl", ["boom", "owls", "bats", "cats"])
    code, _ = call(f"{MODULE}:chain", "in.jsonl", "-o", "out.jsonl", "--fail-fast")
    assert code == 1
    before = len(calls())
    write_inputs(here / "in.jsonl", ["owls", "bats", "cats"])
    assert call(f"{MODULE}:chain", "in.jsonl", "-o", "out.jsonl")[0] == 0, capsys.readouterr()
    assert calls()[before:] == []  # each kept where it was or where it moved, none lost
    assert [r["state"]["topic"] for _, r in sorted(results(here / "out.jsonl").items())] == [
        "owls",
        "bats",
        "cats",
    ]
