"""irgraph batch tried as a new user would (helper K's trial): a raw control character in an
inputs line, a results file whose tail a crash filled with zeros, a saved pipeline the batch
refuses before any item runs."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from irgraph.cli import main
from tests.support.modules import importable

MODULE = "irgraph_trial_batch_files"
PIPELINES = """
from irgraph import Agent

chain = Agent("writer").instruct("Write about {topic}.").writes("text")
"""


@pytest.fixture
def here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    importable(tmp_path, monkeypatch, MODULE, PIPELINES)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def batch(*argv: str) -> int:
    return main(["batch", *argv], out=io.StringIO())


def test_a_raw_tab_in_a_line_is_told_as_such_with_its_escape(here, capsys):
    (here / "in.jsonl").write_text('{"topic": "owls"}\n{"topic": "two\twords"}\n')
    assert batch(f"{MODULE}:chain", "in.jsonl", "-o", "out.jsonl") == 1
    error = [json.loads(line) for line in (here / "out.jsonl").read_text().splitlines()]
    message = next(record["error"]["message"] for record in error if record["index"] == 1)
    # Python's own words end in "at", and were followed by " at column": "at at"
    assert "at at" not in message
    assert message.startswith("in.jsonl:2 is not valid JSON (a raw control character")
    assert "write it escaped, as \\t" in message
    assert "single quotes" not in message  # no Python dict was written: the advice was wrong


def test_a_zero_filled_tail_after_the_last_whole_line_resumes(here, capsys):
    (here / "in.jsonl").write_text('{"topic": "owls"}\n{"topic": "bats"}\n')
    assert batch(f"{MODULE}:chain", "in.jsonl", "-o", "out.jsonl") == 0
    whole = (here / "out.jsonl").read_bytes()
    # A machine lost mid-write (ext4, XFS) leaves the blocks it had not written as zeros
    (here / "out.jsonl").write_bytes(whole + b"\x00" * 700)
    capsys.readouterr()
    assert batch(f"{MODULE}:chain", "in.jsonl", "-o", "out.jsonl") == 0, capsys.readouterr().err
    assert (here / "out.jsonl").read_bytes() == whole  # kept, the zeros dropped


def test_a_saved_pipeline_refused_on_reading_is_a_command_line_mistake(here, capsys):
    """docs/cli.md: for irgraph batch, exit 2 is anything refused before any item runs, the
    pipeline's problems included; a bad .json pipeline was exit 1 with a class name."""
    (here / "in.jsonl").write_text('{"topic": "owls"}\n')
    node = {"kind": "AgentNode", "name": "a", "instruction": "{topic}"}
    for depth in range(120):  # past irgraph.checks.MAX_DEPTH
        node = {"kind": "SequenceNode", "name": f"s{depth}", "children": [node]}
    saved = {"format": "irgraph-ir", "version": 1, "root": node}
    (here / "deep.json").write_text(json.dumps(saved))
    assert batch("deep.json", "in.jsonl", "-o", "out.jsonl") == 2
    err = capsys.readouterr().err
    assert err.startswith("irgraph: error: deep.json: ") and "past 100 levels" in err
    assert err.count("\n") == 1 and not (here / "out.jsonl").exists()


def test_lines_ended_by_a_carriage_return_alone_are_told_as_such(here, capsys):
    (here / "in.jsonl").write_bytes(b'{"topic": "owls"}\r{"topic": "bats"}\r')
    assert batch(f"{MODULE}:chain", "in.jsonl", "-o", "out.jsonl") == 1
    err = capsys.readouterr().err
    assert "in.jsonl:1 is not valid JSON (Extra data at column 19): its lines end in a " in err
    assert "carriage return alone" in err and "line ends" in err


def test_numbers_json_has_but_python_cannot_read_are_told_per_line(here, capsys):
    """1e999 is JSON, which Python reads as infinity (then refused as 'NaN and Infinity are
    not JSON' by a keyed batch, or run with 'inf' in the prompt); a 5 000-digit whole number
    failed with Python's advice to call sys.set_int_max_str_digits()."""
    lines = ['{"topic": 1e999}', '{"topic": "owls", "n": -2e400}', '{"topic": ' + "9" * 5000 + "}"]
    (here / "in.jsonl").write_text("\n".join(lines) + "\n")
    assert batch(f"{MODULE}:chain", "in.jsonl", "-o", "out.jsonl") == 1
    errors = {}
    for line in (here / "out.jsonl").read_text().splitlines():
        record = json.loads(line)
        errors[record["index"]] = record["error"]["message"]
    assert errors[0].startswith("in.jsonl:1 holds the number 1e999, too large for a floating")
    assert errors[1].startswith("in.jsonl:2 holds the number -2e400, too large")
    assert errors[2].startswith("in.jsonl:3 holds a whole number of more than 4300 digits")
    assert "sys.set_int_max_str_digits" not in errors[2]
