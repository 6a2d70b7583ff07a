"""A UTF-8 byte-order mark is never part of an ``irgraph batch`` inputs line, on any line.

Only the first line's mark was left out: files joined with ``cat`` (each saved by a Windows
editor "with BOM") failed at every later file's first line with Python's "Unexpected UTF-8
BOM (decode using utf-8-sig)", and an empty file saved with a mark (or a mark on a blank
first line) was an item that failed as "not valid JSON", where an empty file runs nothing.
The line's key already left the mark out, so the lines resume as they did.
"""

from __future__ import annotations

import io
import json

import pytest

from irgraph.cli import main
from tests.support.modules import importable

MODULE = "irgraph_cli_batch_byte_order_marks"
PIPELINES = """
from irgraph import Agent

writer = Agent("writer").instruct("Write about {topic}.").writes("text")
"""
BOM = b"\xef\xbb\xbf"


@pytest.fixture
def here(tmp_path, monkeypatch):
    importable(tmp_path, monkeypatch, MODULE, PIPELINES)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def batch(inputs: str) -> tuple[int, str]:
    out = io.StringIO()
    code = main(["batch", f"{MODULE}:writer", inputs, "-o", "out.jsonl"], out=out)
    return code, out.getvalue()


def test_files_joined_with_cat_keep_no_mark_of_each_file(here):
    one, two = BOM + b'{"topic": "owls"}\r\n', BOM + b'{"topic": "bats"}\r\n'
    (here / "in.jsonl").write_bytes(one + two)
    assert batch("in.jsonl")[0] == 0
    records = [json.loads(line) for line in (here / "out.jsonl").read_text().splitlines()]
    assert {r["index"]: r["state"]["topic"] for r in records} == {0: "owls", 1: "bats"}
    (here / "in.jsonl").write_bytes(one.removeprefix(BOM) + two.removeprefix(BOM))
    assert batch("in.jsonl")[1].startswith("Finished: 0 done, 0 failed, 2 resumed")


def test_a_mark_on_a_blank_line_is_a_blank_line(here, capsys):
    (here / "in.jsonl").write_bytes(BOM + b"\r\n" + b'{"topic": "owls"}\r\n')
    assert batch("in.jsonl")[0] == 0
    (record,) = [json.loads(line) for line in (here / "out.jsonl").read_text().splitlines()]
    assert (record["index"], record["state"]["topic"]) == (0, "owls")
    (here / "empty.jsonl").write_bytes(BOM)
    capsys.readouterr()
    assert batch("empty.jsonl")[0] == 0
    assert "The inputs file 'empty.jsonl' holds no items" in capsys.readouterr().err
