"""``irgraph batch`` exits 2 for anything refused before any item runs (as docs/cli.md's
exit-code table says), 1 only when an item failed."""

from __future__ import annotations

import io
import json
from pathlib import Path

from irgraph import Agent
from irgraph.cli import main

# Two parallel branches write one key: a problem of the pipeline, found before any item runs.
CLASHING = (
    Agent("a").instruct("A {topic}.").writes("k") | Agent("b").instruct("B {topic}.").writes("k")
) >> Agent("c").instruct("C {k}.")


def test_a_pipeline_with_problems_exits_2_before_any_item_runs(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    Path("in.jsonl").write_text(json.dumps({"topic": "owls"}) + "\n")
    target = "tests.test_cli_batch_exit_codes:CLASHING"
    code = main(["batch", target, "in.jsonl", "-o", "out.jsonl"], out=io.StringIO())
    assert code == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line.startswith("irgraph: error: Parallel branches of 'a_and_b' both write 'k'")
    assert not Path("out.jsonl").exists() or Path("out.jsonl").read_text() == ""


def test_a_failed_item_exits_1(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    Path("in.jsonl").write_text(json.dumps({"topic": "owls"}) + "\n" + "{}\n")
    target = "irgraph.demo:research_pipeline"
    assert main(["batch", target, "in.jsonl", "-o", "out.jsonl"], out=io.StringIO()) == 1
