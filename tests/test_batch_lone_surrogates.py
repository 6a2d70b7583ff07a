"""A batch item holding a lone surrogate (``"\\ud83d"``: half an emoji, as text cut by a tool
that counts UTF-16 units writes it) runs and is kept like any other.

Python reads such a JSON string, but no UTF-8 text holds it: the results line of
``irgraph batch`` and a keyed batch's files were written with ``ensure_ascii=False`` and
failed with a ``UnicodeEncodeError`` traceback that ended the whole batch (the items after it
never written), and a keyed batch could not even hash the item. The value is now written as
its JSON escape, and hashed as it is.
"""

from __future__ import annotations

import json

from irgraph import Agent, run_many
from irgraph.testing import FakeProvider
from tests.support.batch_dir import batch_dir, batch_in

HALF = chr(0xD83D)  # the first half of an emoji's UTF-16 pair, alone
MODULE = "irgraph_batch_lone_surrogates"
PIPELINES = """
from irgraph import Agent

writer = Agent("writer").instruct("Write about {topic}.").writes("text")
"""


def test_a_keyed_batch_runs_and_resumes_an_item_holding_a_lone_surrogate(tmp_path):
    pipeline = Agent("writer").instruct("Write about {topic}.").writes("text")
    states = [{"topic": "owls"}, {"topic": f"cut {HALF}"}, {"topic": "bats"}]
    store = str(tmp_path / "store")
    provider = FakeProvider()
    first = list(run_many(pipeline, states, provider=provider, batch_key="b", store=store))
    assert sorted(item.index for item in first if item.ok) == [0, 1, 2]
    again = list(run_many(pipeline, states, provider=provider, batch_key="b", store=store))
    assert all(item.resumed for item in again)
    assert {item.index: item.state["topic"] for item in again}[1] == f"cut {HALF}"
    assert len(provider.calls) == 3


def test_irgraph_batch_writes_and_resumes_a_line_holding_a_lone_surrogate(tmp_path, monkeypatch):
    here = batch_dir(tmp_path, monkeypatch, MODULE, PIPELINES, ["owls", f"cut {HALF}", "bats"])
    assert '"cut \\ud83d"' in (here / "in.jsonl").read_text()  # as JSON.stringify writes it
    assert batch_in(f"{MODULE}:writer", "-o", "out.jsonl")[0] == 0
    records = [json.loads(line) for line in (here / "out.jsonl").read_text().splitlines()]
    assert sorted(r["index"] for r in records if "state" in r) == [0, 1, 2]
    assert batch_in(f"{MODULE}:writer", "-o", "out.jsonl")[1].startswith(
        "Finished: 0 done, 0 failed, 3 resumed"
    )
    # a line inserted above moves it: its kept result is copied to its new index
    lines = (here / "in.jsonl").read_text().splitlines(keepends=True)
    (here / "in.jsonl").write_text(lines[0] + '{"topic": "moths"}\n' + "".join(lines[1:]))
    code, said = batch_in(f"{MODULE}:writer", "-o", "out.jsonl")
    assert (code, said.split(" in ")[0]) == (0, "Finished: 1 done, 0 failed, 3 resumed")
    records = [json.loads(line) for line in (here / "out.jsonl").read_text().splitlines()]
    states = {r["index"]: r["state"]["topic"] for r in records}
    assert states == {0: "owls", 1: "moths", 2: f"cut {HALF}", 3: "bats"}
