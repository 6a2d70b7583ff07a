"""``irgraph batch`` resumed from an -o file that another version of the pipeline wrote: each
result line records its pipeline's digest, and such a file is refused before any item runs
(it was resumed as it was, giving the old pipeline's results as the new one's, with or
without a new --batch-key); a file written before lines recorded it resumes as it did."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from tests.support.batch_dir import batch_dir, batch_in

MODULE = "irgraph_cli_batch_versions_pipelines"
PIPELINES = """
from irgraph import Agent

pipeline = Agent("r").instruct("Research {topic}.").writes("findings")
"""
TARGET = f"{MODULE}:pipeline"
TOPICS = ["owls", "bats", "cats"]


@pytest.fixture
def here(tmp_path, monkeypatch):
    return batch_dir(tmp_path, monkeypatch, MODULE, PIPELINES, TOPICS)


def change(here: Path, old: str, new: str) -> None:
    (here / f"{MODULE}.py").write_text(PIPELINES.replace(old, new))
    sys.modules.pop(MODULE)


def findings(path: Path) -> list[str]:
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    return sorted(r["state"]["findings"] for r in lines)


@pytest.mark.parametrize("key", [[], ["--batch-key", "v2"]])
def test_a_results_file_of_another_pipeline_version_is_refused_before_any_item_runs(
    here, capsys, key
):
    assert batch_in(TARGET, "-o", "out.jsonl")[0] == 0
    written = (here / "out.jsonl").read_bytes()
    change(here, "Research {topic}", "Study {topic}")
    code, text = batch_in(TARGET, "-o", "out.jsonl", *key)
    err = capsys.readouterr().err
    assert code == 2 and text == ""
    assert "irgraph: error: -o 'out.jsonl' holds results of another version of the pipeline" in err
    # a batch without a key keeps no record of the old pipeline: what changed cannot be told
    assert "what changed cannot be told" in err
    assert "write the results to a new -o file, or delete out.jsonl" in err
    assert (here / "out.jsonl").read_bytes() == written  # untouched: nothing ran
    # what it says to do: a new file runs the changed pipeline
    code, text = batch_in(TARGET, "-o", "new.jsonl", *key)
    assert code == 0 and "3 done, 0 failed, 0 resumed" in text
    assert findings(here / "new.jsonl") == [f"<r: Study {t}.>" for t in sorted(TOPICS)]


def test_a_new_batch_key_into_the_old_results_file_is_refused_saying_what_changed(here, capsys):
    """The old key's store still records the old pipeline: the refusal says what changed."""
    assert batch_in(TARGET, "-o", "out.jsonl", "--batch-key", "v1")[0] == 0
    change(here, "Research {topic}", "Study {topic}")
    assert batch_in(TARGET, "-o", "out.jsonl", "--batch-key", "v2")[0] == 2
    err = capsys.readouterr().err
    assert (
        "holds results of another version of the pipeline (pipeline " in err
        and "its node 'r' has another instruction ('Research {topic}.' -> 'Study {topic}.')" in err
    )
    # the same key is refused by its store, in the command's words
    assert batch_in(TARGET, "-o", "out.jsonl", "--batch-key", "v1")[0] == 2
    err = capsys.readouterr().err
    assert "give it a new --batch-key and a new -o file (the results out.jsonl holds are " in err


def test_a_results_file_written_before_lines_recorded_their_pipeline_resumes_with_a_note(
    here, capsys
):
    assert batch_in(TARGET, "-o", "out.jsonl")[0] == 0
    lines = [json.loads(line) for line in (here / "out.jsonl").read_text().splitlines()]
    assert len({r.pop("pipeline") for r in lines}) == 1  # every line records the same one
    (here / "out.jsonl").write_text("".join(json.dumps(r) + "\n" for r in lines))
    capsys.readouterr()
    code, text = batch_in(TARGET, "-o", "out.jsonl")
    assert code == 0 and "0 done, 0 failed, 3 resumed" in text
    err = capsys.readouterr().err
    assert "note: -o 'out.jsonl' has 3 results written by an earlier irgraph" in err
    assert "If the pipeline changed since, write the results to a new -o file." in err


def test_lines_of_an_earlier_irgraph_beside_this_pipelines_are_noted_once_and_then_checked(
    here, capsys
):
    """The first run that resumes them says so, counting them, and marks them as this
    pipeline's: later runs say nothing, and a changed pipeline is refused for them too."""
    assert batch_in(TARGET, "-o", "out.jsonl")[0] == 0
    lines = (here / "out.jsonl").read_text().splitlines()
    records = [json.loads(line) for line in lines]
    digest = records[0]["pipeline"]
    for record in records[:2]:  # as an earlier irgraph wrote them: no pipeline
        del record["pipeline"]
    old = [json.dumps(record) for record in records[:2]]
    (here / "out.jsonl").write_text("".join(line + "\n" for line in [*old, lines[2]]))
    with (here / "in.jsonl").open("a") as inputs:
        inputs.write(json.dumps({"topic": "newts"}) + "\n")
    capsys.readouterr()
    code, text = batch_in(TARGET, "-o", "out.jsonl")
    assert code == 0 and "1 done, 0 failed, 3 resumed" in text
    err = capsys.readouterr().err
    assert "note: -o 'out.jsonl' has 2 results written by an earlier irgraph" in err, err
    kept = (here / "out.jsonl").read_text().splitlines()
    assert kept[:2] == [line[:-1] + f', "pipeline": "{digest}"}}' for line in old]
    code, text = batch_in(TARGET, "-o", "out.jsonl")
    assert code == 0 and "0 done, 0 failed, 4 resumed" in text
    assert "note:" not in capsys.readouterr().err  # said once
    change(here, "Research {topic}", "Study {topic}")
    assert batch_in(TARGET, "-o", "out.jsonl")[0] == 2
    assert "holds results of another version of the pipeline" in capsys.readouterr().err


def test_an_edited_description_changes_nothing_a_run_does_and_resumes(here, capsys):
    assert batch_in(TARGET, "-o", "out.jsonl")[0] == 0
    change(here, '.writes("findings")', '.writes("findings").describe("Looks things up.")')
    code, text = batch_in(TARGET, "-o", "out.jsonl")
    assert code == 0 and "0 done, 0 failed, 3 resumed" in text
    assert "note:" not in capsys.readouterr().err


ROUTED = """
from irgraph import Agent, Route

pipeline = (
    Route("kind").on("topic")
    .when(VALUE, Agent("p").instruct("Pick {topic}.").writes("findings"))
    .otherwise(Agent("r").instruct("Research {topic}.").writes("findings"))
)
"""


def routed_on(here: Path, value: str) -> None:
    (here / f"{MODULE}.py").write_text(ROUTED.replace("VALUE", value))
    sys.modules.pop(MODULE, None)


@pytest.mark.parametrize("key", [[], ["--batch-key", "v1"]])
def test_a_route_value_written_as_the_same_number_another_way_resumes(here, capsys, key):
    """A run takes a route's ``when(1)`` for the answer ``1.0``: ``when(1.0)`` is the same
    pipeline, yet its digest hashed the text and the results file was refused (exit 2)."""
    routed_on(here, "1")
    assert batch_in(TARGET, "-o", "out.jsonl", *key)[0] == 0
    for value in ("1.0", "1"):
        routed_on(here, value)
        code, text = batch_in(TARGET, "-o", "out.jsonl", *key)
        assert (code, capsys.readouterr().err) == (0, "")
        assert "0 done, 0 failed, 3 resumed" in text


def test_results_an_earlier_irgraph_wrote_resume(here, capsys):
    """Its lines' digests hashed the pipeline's description as written (``1.0``)."""
    import hashlib

    from irgraph.batch_pipeline import described_json
    from irgraph.cli_inputs import load_target

    routed_on(here, "1.0")
    assert batch_in(TARGET, "-o", "out.jsonl")[0] == 0
    written = described_json(load_target(TARGET)).encode()
    digest = hashlib.sha256(written).hexdigest()[:16]
    lines = [json.loads(line) for line in (here / "out.jsonl").read_text().splitlines()]
    (here / "out.jsonl").write_text(
        "".join(json.dumps({**r, "pipeline": digest}) + "\n" for r in lines)
    )
    code, text = batch_in(TARGET, "-o", "out.jsonl")
    assert (code, capsys.readouterr().err) == (0, "")
    assert "0 done, 0 failed, 3 resumed" in text
