"""The note after an ``irgraph batch`` over standard input counts every line that moved.

Standard input is read once, so a line that moved runs again, and a note counts those lines.
It counted only the lines whose new index held another result: a line inserted at the top
moves every line down one, and the last one's new index holds no result, so the note said
"9 lines" where 10 ran again.
"""

from __future__ import annotations

import io
import json
import sys

from tests.support.batch_dir import batch_dir, batch_in, ran_since

MODULE = "irgraph_cli_batch_stdin_moved"
PIPELINES = """
from irgraph import Transform

calls = []


def count(topic):
    calls.append(topic)
    return topic.upper()


pipeline = Transform("count", count).reads("topic").writes("loud")
"""
TARGET = f"{MODULE}:pipeline"


def test_a_line_inserted_on_top_of_standard_input_counts_every_moved_line(
    tmp_path, monkeypatch, capsys
):
    from irgraph.cli import main

    topics = ["owls", "bats", "moths"]
    batch_dir(tmp_path, monkeypatch, MODULE, PIPELINES, topics)
    assert batch_in(TARGET, "-o", "out.jsonl")[0] == 0 and len(ran_since(MODULE)) == 3
    text = "".join(json.dumps({"topic": t}) + "\n" for t in ["newts", *topics])
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(text.encode())))
    capsys.readouterr()
    assert main(["batch", TARGET, "-", "-o", "out.jsonl"], out=io.StringIO()) == 0
    assert sorted(ran_since(MODULE)) == sorted(["newts", *topics])
    assert "Standard input is read once, so 3 lines whose result" in capsys.readouterr().err
