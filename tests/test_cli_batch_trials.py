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
from irgraph import Agent, Gate

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
