"""A finished ``irgraph batch`` with failed items ends by naming them and what to do.

The summary said only "5 done, 7 failed"; the failures told as they came (the first five)
scroll away under a long batch's progress, and nothing said that running the command again
retries only the failed items. A note after the summary now names the first five failed
items by index and line, counts the rest, and says how to retry them.
"""

from __future__ import annotations

import io
import json

from irgraph.cli import main
from tests.support.modules import importable

MODULE = "irgraph_cli_batch_failed_note"
PIPELINES = """
from irgraph import Transform

ran = []


def check(topic):
    ran.append(topic)
    if topic.startswith("boom"):
        raise ValueError("planted failure for " + topic)
    return topic.upper()


loud = Transform("check", check).reads("topic").writes("loud")
"""


def test_the_failed_items_are_named_after_the_summary_and_only_they_run_again(
    tmp_path, monkeypatch, capsys
):
    importable(tmp_path, monkeypatch, MODULE, PIPELINES)
    monkeypatch.chdir(tmp_path)
    topics = ["a", "boom1", "b", "boom2", "boom3", "boom4", "boom5", "boom6", "boom7"]
    lines = [json.dumps({"topic": t}) for t in topics]
    (tmp_path / "in.jsonl").write_text("\n".join([lines[0], "", *lines[1:]]) + "\n")
    argv = ["batch", f"{MODULE}:loud", "in.jsonl", "-o", "out.jsonl"]
    out = io.StringIO()
    assert main(argv, out=out) == 1
    assert out.getvalue().startswith("Finished: 2 done, 7 failed")
    last = capsys.readouterr().err.splitlines()[-1]
    assert last == (
        "irgraph: 7 items failed: items 1 (in.jsonl:3), 3 (in.jsonl:5), 4 (in.jsonl:6), "
        "5 (in.jsonl:7), 6 (in.jsonl:8) and 2 more, each with its error on its line in "
        "'out.jsonl'; fix the cause and run the same command again: only the failed items run "
        "again, the completed ones are kept."
    )
    ran = __import__(MODULE).ran
    ran.clear()
    (tmp_path / "in.jsonl").write_text("\n".join([lines[0], "", *lines[1:4]]) + "\n")
    assert main(argv, out=io.StringIO()) == 1
    assert sorted(ran) == ["boom1", "boom2"]
    last = capsys.readouterr().err.splitlines()[-1]
    assert last.startswith("irgraph: 2 items failed: items 1 (in.jsonl:3), 3 (in.jsonl:5), each")


def test_a_batch_without_failures_ends_with_no_such_note(tmp_path, monkeypatch, capsys):
    importable(tmp_path, monkeypatch, MODULE, PIPELINES)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "in.jsonl").write_text('{"topic": "a"}\n')
    assert main(["batch", f"{MODULE}:loud", "in.jsonl", "-o", "o.jsonl"], out=io.StringIO()) == 0
    assert "failed" not in capsys.readouterr().err
