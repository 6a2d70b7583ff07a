"""Findings of the outside batch trial on ``irgraph batch``: gates are answered with
``--answer`` (or refused before any item runs), and a failed item's message names its own line
and the command's options."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path
from typing import Any

import pytest

from irgraph.cli import main

MODULE = "irgraph_cli_batch_trial_pipelines"
PIPELINES = """
from irgraph import Agent, Gate, Transform

calls = []


class Logged:
    async def complete(self, request):
        calls.append(request.agent)
        return "x"


def provider():
    return Logged()


gated = Agent("writer").instruct("Draft {topic}.").writes("draft") >> Gate(
    "approve", "Publish {draft}?"
).writes("verdict")
plain = Agent("writer").instruct("Draft {topic}.").writes("draft")
unkept = plain >> Transform("tags", lambda draft: {draft}).reads("draft").writes("tags")
# c's final state is a set, which cannot be kept: it fails, a and b complete
picky = plain >> Transform("tags", lambda topic: {topic} if topic == "c" else [topic]).reads(
    "topic"
).writes("tags")
"""


@pytest.fixture
def here(tmp_path, monkeypatch):
    """A temporary current directory holding the pipelines module, imported afresh."""
    (tmp_path / f"{MODULE}.py").write_text(PIPELINES)
    (tmp_path / "in.jsonl").write_text('{"topic": "a"}\n{"topic": "b"}\n{"topic": "c"}\n')
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, MODULE, raising=False)
    return tmp_path


def batch(pipeline: str, *argv: str, provider: bool = True) -> int:
    model = ["--provider", f"{MODULE}:provider"] if provider else []
    return main(["batch", f"{MODULE}:{pipeline}", "in.jsonl", "-o", "out.jsonl", *argv,
                 *model], out=io.StringIO())  # fmt: skip


def results(path: Path) -> dict[int, dict[str, Any]]:
    return {r["index"]: r for r in map(json.loads, path.read_text().splitlines())}


def calls() -> list[str]:
    return list(sys.modules[MODULE].calls)


def test_answer_answers_the_gate_of_every_item(here):
    assert batch("gated", "--answer", "approve=yes") == 0
    found = results(here / "out.jsonl")
    assert {i: r["state"]["verdict"] for i, r in found.items()} == {0: "yes", 1: "yes", 2: "yes"}


def test_a_gate_without_an_answer_is_refused_before_any_item_runs(here, capsys):
    assert batch("gated") == 2
    error = capsys.readouterr().err.strip()
    assert error == (
        "irgraph: error: The pipeline stops at the gate 'approve' to ask a person, and no "
        "--answer answers it; give the answer on the command line: --answer approve=VALUE."
    )
    assert calls() == [] and not (here / "out.jsonl").exists()


@pytest.mark.parametrize(
    ("pipeline", "answer", "words"),
    [
        ("gated", "aprove=yes", "--answer aprove=... names no gate of the pipeline. Did you mean"),
        ("plain", "approve=yes", "--answer approve=... names a gate, but the pipeline has none"),
        ("gated", "approve", "--answer 'approve' is not of the form GATE=VALUE"),
    ],
)
def test_a_wrong_answer_is_refused_before_any_item_runs(here, capsys, pipeline, answer, words):
    assert batch(pipeline, "--answer", answer) == 2
    assert words in capsys.readouterr().err
    assert calls() == []


def test_answer_cannot_reach_a_work_pool(here, capsys):
    pool = ("--backend", "prefect", "--work-pool", "p")
    assert batch("gated", "--answer", "approve=yes", *pool, provider=False) == 2
    assert "--answer cannot reach the workers of the work pool 'p'" in capsys.readouterr().err


# Finding 6: a failed item's message names its own line and the command's options -----------


def messages(path: Path) -> dict[int, str]:
    return {i: r["error"]["message"] for i, r in results(path).items() if "error" in r}


def test_a_failed_item_is_named_by_its_index_and_line_not_by_run_manys_count(here, capsys):
    (here / "in.jsonl").write_text('[1]\n{"topic": "owls"}\n')  # run_many's item 0 is line 2
    assert batch("unkept", "--batch-key", "k") == 1
    told = messages(here / "out.jsonl")[1]
    assert told.startswith("Item 1 (in.jsonl:2) ran, but its final state cannot be kept as JSON")
    assert f"irgraph: item 1 (in.jsonl:2) failed: RunError: {told}" in capsys.readouterr().err


def test_a_resumed_batch_names_the_item_by_its_line_too(here):
    (here / "in.jsonl").write_text('{"topic": "a"}\n{"topic": "b"}\n')
    assert batch("picky", "--batch-key", "k") == 0
    (here / "in.jsonl").write_text('{"topic": "a"}\n{"topic": "b"}\n\n{"topic": "c"}\n')
    # a and b resume from the results file; the third line is run_many's item 0
    assert batch("picky", "--batch-key", "k") == 1
    assert messages(here / "out.jsonl") == {2: messages(here / "out.jsonl")[2]}
    assert messages(here / "out.jsonl")[2].startswith("Item 2 (in.jsonl:4) ran, but")


def test_nan_in_a_line_is_refused_with_or_without_a_batch_key(here):
    (here / "in.jsonl").write_text('{"topic": "a"}\n{"topic": NaN}\n')
    for keyed in ([], ["--batch-key", "k"]):
        assert batch("plain", *keyed) == 1
        told = messages(here / "out.jsonl")[1]
        assert told.startswith("in.jsonl:2 holds NaN, which is not JSON")


def test_a_key_given_twice_in_a_line_is_refused_not_one_value_taken(here):
    (here / "in.jsonl").write_text('{"topic": "a"}\n{"topic": "b", "topic": "c"}\n')
    assert batch("plain") == 1
    told = messages(here / "out.jsonl")
    assert set(told) == {1}  # the first line ran, the second failed alone
    assert told[1] == (
        "in.jsonl:2 gives the key 'topic' twice in one object, and JSON keeps only one of the "
        "two values; give it once (each line must be one JSON object (an initial state), such "
        'as {"topic": "owls"}).'
    )


def test_an_item_that_cannot_be_kept_is_told_to_drop_batch_key(here):
    assert batch("unkept", "--batch-key", "k") == 1
    told = messages(here / "out.jsonl")
    assert set(told) == {0, 1, 2}
    assert told[1].startswith("Item 1 (in.jsonl:2) ran, but its final state cannot be kept as")
    assert told[1].endswith("have the pipeline write JSON values, or drop --batch-key.")
    assert "batch_key" not in told[1]
