"""``irgraph batch`` whose inputs file grows while it runs (an upstream step still writing it).

The lines appended are read as the batch goes, but the kept results were paired with the
lines counted when it started: an appended line took a kept result already copied to a moved
line (one result then stood for two lines, where "each kept result stands for one line"), and
an appended line whose result the file kept under another index ran again (paid twice),
where the same line present at the start resumed. Each line now gets the result it would get
had the file held it from the start, and a run again changes nothing.

Events are ordered by the pipeline itself: the item of the topic ``x`` appends lines to the
inputs as it runs, and with ``--max-items 1`` the next line is read only once it finished.
"""

from __future__ import annotations

import importlib
import json
import sys
from collections import Counter
from pathlib import Path

import pytest

from tests.support.batch_dir import batch_dir, batch_in, ran_since
from tests.support.batch_dir import write_inputs as inputs

MODULE = "irgraph_cli_batch_appended_pipelines"
PIPELINES = """
from irgraph import Transform

calls = []
grow = []  # the topics the item of "x" appends to in.jsonl as it runs


def count(topic):
    calls.append(topic)
    if topic == "x":
        with open("in.jsonl", "a") as file:
            file.writelines('{"topic": "%s"}\\n' % more for more in grow)
    return topic.upper()


pipeline = Transform("count", count).reads("topic").writes("loud")
"""
TARGET = f"{MODULE}:pipeline"


@pytest.fixture
def here(tmp_path, monkeypatch):
    return batch_dir(tmp_path, monkeypatch, MODULE, PIPELINES, [])


def results(path: Path) -> dict[int, str]:
    """The topic of each index's last completed result line."""
    lines = map(json.loads, path.open())
    return {r["index"]: r["state"]["topic"] for r in lines if "state" in r}


def history(folder: Path, runs: list[list[str]], grow: list[str]) -> tuple[Counter[str], bytes]:
    """Run the batch over each of ``runs`` in turn (in ``folder``), the last one with the
    item of ``x`` appending ``grow`` as it runs; the topics the last run ran, and the results
    file it left."""
    module = importlib.import_module(MODULE)
    for topics in runs[:-1]:
        inputs(folder, topics)
        assert batch_in(TARGET, "-o", "out.jsonl")[0] == 0
    ran_since(MODULE)
    module.grow[:] = grow
    inputs(folder, runs[-1])
    assert batch_in(TARGET, "-o", "out.jsonl", "--max-items", "1")[0] == 0
    module.grow[:] = []
    return Counter(ran_since(MODULE)), (folder / "out.jsonl").read_bytes()


def lines_of(data: bytes) -> Counter[tuple[int, str]]:
    records = [json.loads(line) for line in data.splitlines()]
    return Counter((r["index"], r["state"]["topic"]) for r in records)


CASES = {
    # c and d move up (their results copied); the d appended at index 3 was resumed from the
    # result already copied to line 1: one result for two lines
    "a copied result is not taken again": ([["a", "b", "c", "d"], ["c", "d", "x"]], ["d"]),
    # c's result, displaced by y, is in the file under index 2; c appended at index 3 ran
    # again instead of resuming it
    "a kept result resumes an appended line": ([["a", "b", "c"], ["a", "x"]], ["y", "c"]),
    # two copies of b appended: one resumes b's result, the other runs
    "each kept result stands for one appended line": ([["a", "b"], ["a", "x"]], ["b", "b"]),
}


@pytest.mark.parametrize("case", CASES, ids=list(CASES))
def test_an_appended_line_gets_the_result_it_would_get_from_the_start(case, tmp_path, monkeypatch):
    runs, grow = CASES[case]
    grown, whole = tmp_path / "grown", tmp_path / "whole"
    grown.mkdir(), whole.mkdir()
    batch_dir(grown, monkeypatch, MODULE, PIPELINES, [])
    ran, data = history(grown, runs, grow)
    batch_dir(whole, monkeypatch, MODULE, PIPELINES, [])
    ran_whole, data_whole = history(whole, [*runs[:-1], runs[-1] + grow], [])
    assert ran == ran_whole
    assert lines_of(data) == lines_of(data_whole)
    monkeypatch.chdir(grown)  # run again over the grown file: nothing runs, nothing moves
    assert batch_in(TARGET, "-o", "out.jsonl")[0] == 0 and ran_since(MODULE) == []
    assert (grown / "out.jsonl").read_bytes() == data


def test_results_appended_lines_displace_are_kept(here):
    """Appended lines at the indices of kept results (of lines removed or changed) run, and
    those results are kept under new indices past the end, so their lines given again
    resume; one that a killed run's tidying had already given an index past the end moves
    again, but none is lost."""
    inputs(here, ["a", "b", "c", "d"])
    assert batch_in(TARGET, "-o", "out.jsonl")[0] == 0
    with (here / "out.jsonl").open("a") as file:  # a run killed before it tidied: d changed
        file.write(json.dumps({"index": 3, "key": "0" * 16, "error": {}}) + "\n")
    sys.modules[MODULE].grow[:] = ["y", "z", "w"]
    inputs(here, ["a", "x"])  # x displaces b; y, z and w displace c and d
    ran_since(MODULE)
    assert batch_in(TARGET, "-o", "out.jsonl", "--max-items", "1")[0] == 0
    sys.modules[MODULE].grow[:] = []
    assert sorted(ran_since(MODULE)) == ["w", "x", "y", "z"]
    kept = results(here / "out.jsonl")
    assert [kept[i] for i in range(5)] == ["a", "x", "y", "z", "w"]
    assert sorted(kept.values()) == ["a", "b", "c", "d", "w", "x", "y", "z"]
    inputs(here, ["a", "x", "y", "z", "w", "b", "c", "d"])
    assert batch_in(TARGET, "-o", "out.jsonl")[0] == 0 and ran_since(MODULE) == []
