"""``irgraph batch`` given inputs in another format than JSON Lines (a JSON array, indented
JSON, CSV, TSV) refuses them before any item runs, naming the file and the command that
converts it; read line by line, such a file was items that each failed, and an element of an
indented array that fit on one line ran alone, paid for."""

from __future__ import annotations

import gzip
import io
import json
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from irgraph.cli import main
from tests.support.modules import importable

MODULE = "irgraph_cli_batch_format_pipelines"
PIPELINES = """
from irgraph import Agent

calls = []


class Logged:
    async def complete(self, request):
        calls.append(request.prompt)
        return "x"


def provider():
    return Logged()


pipeline = Agent("writer").instruct("Draft {topic}.").writes("draft")
"""

STATES = [{"topic": "owls"}, {"topic": "bats"}]


@pytest.fixture
def here(tmp_path, monkeypatch):
    """A temporary current directory holding the pipelines module, imported afresh."""
    importable(tmp_path, monkeypatch, MODULE, PIPELINES)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def batch(inputs: str) -> int:
    target = f"{MODULE}:pipeline"
    argv = ["batch", target, inputs, "-o", "out.jsonl", "--provider", f"{MODULE}:provider"]
    return main(argv, out=io.StringIO())


def calls() -> list[str]:
    return list(sys.modules[MODULE].calls)


def convert(error: str, here: Path) -> None:
    """Run the conversion the error spells (``python -c "..." IN > OUT``) as it says."""
    command = error[error.index("python -c ") :].strip()
    words = shlex.split(command)
    assert words[0] == "python" and words[-2] == ">"
    with open(here / words[-1], "w", encoding="utf-8") as out:
        subprocess.run([sys.executable, *words[1:-2]], cwd=here, stdout=out, check=True)


def test_an_indented_json_array_is_refused_before_any_item_runs(here, capsys):
    # Its second element fits on one line: read as JSON Lines, it alone ran.
    (here / "topics.json").write_text(json.dumps(STATES, indent=2).replace("{\n    ", "{"))
    assert batch("topics.json") == 2
    error = capsys.readouterr().err
    assert error.startswith("irgraph: error: 'topics.json' holds a JSON array")
    assert "irgraph batch reads JSON Lines: one JSON object per line" in error
    assert calls() == [] and not (here / "out.jsonl").exists()
    convert(error, here)  # the command it gives makes the file it names
    assert "topics.json > topics.jsonl" in error
    assert batch("topics.jsonl") == 0
    assert sorted(calls()) == ["Draft bats.", "Draft owls."]


def test_a_json_array_on_one_line_is_refused_but_an_array_line_of_values_is_that_items(
    here, capsys
):
    (here / "one.json").write_text(json.dumps(STATES) + "\n")
    assert batch("one.json") == 2 and "'one.json' holds a JSON array" in capsys.readouterr().err
    (here / "in.jsonl").write_text('[1]\n{"topic": "owls"}\n')
    assert batch("in.jsonl") == 1  # a bad line of a JSON Lines file, failing alone
    assert "in.jsonl:1 holds a JSON array, not an object" in capsys.readouterr().err
    assert calls() == ["Draft owls."]


def test_an_indented_json_object_is_refused(here, capsys):
    (here / "state.jsonl").write_text(json.dumps(STATES[0], indent=2) + "\n")
    assert batch("state.jsonl") == 2
    error = capsys.readouterr().err
    spread = "'state.jsonl' holds JSON spread over several lines (its first line is only '{')"
    assert spread in error
    convert(error, here)
    assert "state.jsonl > state-lines.jsonl" in error  # never over the file it reads
    assert batch("state-lines.jsonl") == 0 and calls() == ["Draft owls."]


@pytest.mark.parametrize(("name", "sep"), [("topics.csv", ","), ("topics.TSV", "\t")])
def test_a_csv_or_tsv_file_is_refused_with_the_command_that_converts_it(here, capsys, name, sep):
    (here / name).write_text(f"topic{sep}note\nowls{sep}a, b\nbats{sep}c\n")
    assert batch(name) == 2
    error = capsys.readouterr().err
    kind = name.rpartition(".")[2].upper()
    assert error.startswith(f"irgraph: error: {name!r} is a {kind} file, but irgraph batch")
    assert calls() == []
    convert(error, here)
    assert batch("topics.jsonl") == 0
    assert sorted(calls()) == ["Draft bats.", "Draft owls."]


def test_a_txt_file_of_plain_lines_is_refused_with_the_command_that_converts_it(here, capsys):
    """A .txt file of one topic a line made two items that each failed as "not valid JSON",
    with no word of how to make it JSON Lines."""
    (here / "topics.txt").write_text("owls\nbats\n\n")
    assert batch("topics.txt") == 2
    error = capsys.readouterr().err
    assert error.startswith("irgraph: error: 'topics.txt' is plain text (its first line is no")
    assert calls() == []
    # the one key the pipeline reads is named, so the command runs as pasted
    assert "with the line as the value of 'topic', the key the pipeline reads" in error
    convert(error, here)
    assert batch("topics.jsonl") == 0
    assert sorted(calls()) == ["Draft bats.", "Draft owls."]
    (here / "states.txt").write_text('{"topic": "owls"}\n')  # JSON Lines named .txt: fine
    assert batch("states.txt") == 0


def test_a_json_array_on_standard_input_is_refused(here, capsys, monkeypatch):
    monkeypatch.setattr(sys, "stdin", io.StringIO(json.dumps(STATES, indent=2)))
    assert batch("-") == 2
    error = capsys.readouterr().err
    assert error.startswith("irgraph: error: The standard input holds a JSON array")
    assert "json.load(sys.stdin)" in error and calls() == []


def test_the_lines_read_to_find_the_first_item_are_still_run_and_numbered(here, capsys):
    (here / "in.jsonl").write_text('\n\n{"topic": "owls"}\n{oops\n')
    assert batch("in.jsonl") == 1
    assert "in.jsonl:4 is not valid JSON" in capsys.readouterr().err
    assert calls() == ["Draft owls."]
    records = [json.loads(line) for line in (here / "out.jsonl").read_text().splitlines()]
    kinds = {record["index"]: "state" if "state" in record else "error" for record in records}
    assert kinds == {0: "state", 1: "error"}


def test_a_utf16_file_is_refused_with_the_command_that_saves_it_as_utf8(here, capsys):
    # Windows PowerShell's > writes UTF-16: read as UTF-8 every line failed, a NUL-only
    # "line" after the last one too.
    (here / "in.jsonl").write_text("".join(json.dumps(s) + "\n" for s in STATES), "utf-16")
    assert batch("in.jsonl") == 2
    error = capsys.readouterr().err
    assert error.startswith("irgraph: error: 'in.jsonl' is UTF-16 text")
    assert calls() == [] and not (here / "out.jsonl").exists()
    words = shlex.split(error[error.index("python -c ") :])
    subprocess.run([sys.executable, *words[1:]], cwd=here, check=True)
    assert words[-1] == "in-utf8.jsonl" and batch("in-utf8.jsonl") == 0
    assert sorted(calls()) == ["Draft bats.", "Draft owls."]


def test_a_compressed_or_binary_file_is_refused_as_not_text(here, capsys):
    (here / "in.jsonl.gz").write_bytes(gzip.compress(json.dumps(STATES[0]).encode() + b"\n"))
    assert batch("in.jsonl.gz") == 2
    error = capsys.readouterr().err
    assert "'in.jsonl.gz' is compressed with gzip" in error
    assert "gunzip -c in.jsonl.gz | irgraph batch TARGET - -o RESULTS" in error
    (here / "in.xlsx").write_bytes(b"PK\x03\x04\x14\x00\x06\x00\x08\x00\n{}\n")
    assert batch("in.xlsx") == 2
    assert "'in.xlsx' is not text (its first line holds a NUL byte)" in capsys.readouterr().err
    assert calls() == []


def test_a_results_file_as_the_inputs_is_refused_with_the_states_command(here, capsys):
    """An earlier batch's results given as the inputs (to chain two pipelines, or -o and the
    inputs mixed up) ran every line as an item that failed for lack of the keys its state
    holds under "state"; it is refused, with the command that writes those states."""
    (here / "topics.jsonl").write_text("".join(json.dumps(s) + "\n" for s in STATES))
    assert batch("topics.jsonl") == 0 and len(calls()) == 2
    (here / "out.jsonl").rename(here / "first.jsonl")
    assert batch("first.jsonl") == 2
    error = capsys.readouterr().err
    assert error.startswith("irgraph: error: 'first.jsonl' holds the results of an irgraph batch")
    assert len(calls()) == 2 and not (here / "out.jsonl").exists()
    convert(error, here)
    assert "first.jsonl > first-states.jsonl" in error
    assert batch("first-states.jsonl") == 0 and calls()[2:] == ["Draft owls.", "Draft bats."]
    states = [json.loads(line)["state"] for line in (here / "out.jsonl").read_text().splitlines()]
    assert sorted(s["topic"] for s in states) == ["bats", "owls"]


def test_a_state_with_an_index_of_its_own_is_still_an_item(here):
    """Only a line with a result line's members alone is taken for one: a data set's own
    "index" and "key" columns are states like any other."""
    line = {"index": 0, "key": "a", "topic": "owls"}
    (here / "topics.jsonl").write_text(json.dumps(line) + "\n")
    assert batch("topics.jsonl") == 0 and calls() == ["Draft owls."]


def test_a_line_written_as_a_python_dict_fails_alone_showing_it_in_json(here, capsys):
    """A line that str(state) wrote (single quotes, True, None) or with a trailing comma was
    told only by json's 'Expecting property name enclosed in double quotes'; its error now
    gives the line in JSON, which, pasted in its place, runs."""
    lines = ['{"topic": "owls"}', "{'topic': 'bats', 'draft': None}", '{"topic": "moths",}']
    (here / "topics.jsonl").write_text("\n".join([*lines, "{'topic': 'x' * 3}"]) + "\n")
    assert batch("topics.jsonl") == 1 and calls() == ["Draft owls."]
    err = capsys.readouterr().err.splitlines()
    fixed = [line.split("in JSON it is ", 1)[1].split(" (a Python dict", 1)[0] for line in err[:2]]
    assert err[0].startswith("irgraph: topics.jsonl:2 is not valid JSON (")
    assert fixed == ['{"topic": "bats", "draft": null}', '{"topic": "moths"}']
    assert "json.dumps(state), not str(state)" in err[1]
    assert "in JSON" not in err[2] and "such as" in err[2]  # not a literal: not evaluated
    (here / "topics.jsonl").write_text("\n".join([lines[0], *fixed]) + "\n")
    assert batch("topics.jsonl") == 0
    assert sorted(calls()[1:]) == ["Draft bats.", "Draft moths."]
