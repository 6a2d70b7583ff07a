"""An item's error in ``irgraph batch``'s results file names the item by its index and line.

A line missing a key the pipeline reads, or an item whose agent failed, was written as
run_many worded it ("'writer' reads {topic}, but ..."): the results line holds the item's
index, but blank lines are skipped, so the index is not the line, and the file named nowhere.
Only errors that run_many began with "Item N" were reworded. Every item's error now begins
with its index and line (``Item 1 (in.jsonl:3): ...``), while standard error says it once.
"""

from __future__ import annotations

import io
import json

import pytest

from irgraph.cli import main
from tests.support.modules import importable

MODULE = "irgraph_cli_batch_item_lines"
PIPELINES = """
from irgraph import Agent, Transform


def check(topic):
    if topic == "boom":
        raise ValueError("planted failure for boom")
    return topic.upper()


chain = Agent("writer").instruct("Write about {topic}.").writes("text") >> Transform(
    "check", check
).reads("topic").writes("loud")
"""


@pytest.fixture
def here(tmp_path, monkeypatch):
    importable(tmp_path, monkeypatch, MODULE, PIPELINES)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_a_failed_items_error_names_its_index_and_line(here, capsys):
    lines = ['{"topic": "owls"}', "", '{"subject": "bats"}', "", '{"topic": "boom"}']
    (here / "in.jsonl").write_text("\n".join(lines) + "\n")
    argv = ["batch", f"{MODULE}:chain", "in.jsonl", "-o", "out.jsonl"]
    assert main(argv, out=io.StringIO()) == 1
    records = [json.loads(line) for line in (here / "out.jsonl").read_text().splitlines()]
    told = {r["index"]: r["error"]["message"] for r in records if "error" in r}
    assert told[1].startswith("Item 1 (in.jsonl:3): "), told[1]
    assert "Key 'topic' is read by 'writer' and 'check', but" in told[1]
    assert 'give it in each line of the inputs (e.g. {"topic": ...})' in told[1]
    assert told[2].startswith("Item 2 (in.jsonl:5): "), told[2]
    assert "planted failure for boom" in told[2]
    err = capsys.readouterr().err.splitlines()
    said = f"irgraph: item 1 (in.jsonl:3) failed: PipelineError: {told[1].splitlines()[0][21:]}"
    assert said in err, err
    told_each = [line for line in err if line.startswith("irgraph: item ")]
    assert len(told_each) == 2
    assert not any(line.count("in.jsonl:") > 1 for line in told_each)  # each named once
