"""irgraph batch resumed with another --answer: the kept items silently kept the old answer
(their final states were made with it), so a changed answer mattered only for new items."""

from __future__ import annotations

import json
import shutil

import pytest

from tests.support.batch_dir import batch_dir, batch_in

MODULE = "irgraph_cli_batch_answers"
SOURCE = """
from irgraph import Agent, Gate

gated = Agent("writer").instruct("Draft {topic}.").writes("draft") >> Gate(
    "approve", "Publish {draft}?"
).writes("verdict")
"""


@pytest.fixture
def here(tmp_path, monkeypatch):
    return batch_dir(tmp_path, monkeypatch, MODULE, SOURCE, ["owls", "bats"])


def verdicts(path) -> dict[int, str]:
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert all(line["answers"] == {"approve": line["state"]["verdict"]} for line in lines)
    return {line["index"]: line["state"]["verdict"] for line in lines}


def test_another_answer_is_refused_naming_the_gate_and_both_answers(here, capsys):
    assert batch_in(f"{MODULE}:gated", "-o", "out.jsonl", "--answer", "approve=yes")[0] == 0
    before = (here / "out.jsonl").read_text()
    code, _ = batch_in(f"{MODULE}:gated", "-o", "out.jsonl", "--answer", "approve=not now")
    assert code == 2 and (here / "out.jsonl").read_text() == before
    assert capsys.readouterr().err.strip() == (
        "irgraph: error: -o 'out.jsonl' holds 2 results made with the gate 'approve' answered "
        "'yes', and this run answers it 'not now': resuming would keep those items as answered "
        "'yes'. To resume them, give --answer approve=yes; to run every item with 'not now', "
        "write the results to a new -o file."
    )
    code, text = batch_in(f"{MODULE}:gated", "-o", "out.jsonl", "--answer", "approve=yes")
    assert code == 0 and "0 done, 0 failed, 2 resumed" in text
    code, _ = batch_in(f"{MODULE}:gated", "-o", "new.jsonl", "--answer", "approve=not now")
    assert code == 0 and verdicts(here / "new.jsonl") == {0: "not now", 1: "not now"}


def test_a_batch_keys_kept_items_are_refused_too_until_its_directory_is_deleted(here, capsys):
    key = ["--batch-key", "k1"]
    assert batch_in(f"{MODULE}:gated", "-o", "a.jsonl", "--answer", "approve=yes", *key)[0] == 0
    capsys.readouterr()
    code, _ = batch_in(f"{MODULE}:gated", "-o", "b.jsonl", "--answer", "approve=no", *key)
    assert code == 2 and not (here / "b.jsonl").exists()
    said = capsys.readouterr().err
    assert "The items kept in '.irgraph-batches/k1' were made with the gate 'approve' " in said
    assert "give a new --batch-key (or delete the directory .irgraph-batches/k1)." in said
    code, text = batch_in(f"{MODULE}:gated", "-o", "c.jsonl", "--answer", "approve=yes", *key)
    assert code == 0 and "0 done, 0 failed, 2 resumed" in text  # the old answer resumes
    shutil.rmtree(here / ".irgraph-batches" / "k1")
    code, text = batch_in(f"{MODULE}:gated", "-o", "b.jsonl", "--answer", "approve=no", *key)
    assert code == 0 and "2 done, 0 failed, 0 resumed" in text
    assert verdicts(here / "b.jsonl") == {0: "no", 1: "no"}
