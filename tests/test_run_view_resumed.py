"""The run view of a keyed batch's resumed item showed what its agents and gates were asked as
their templates (``Write about {topic}.``): the kept item had no calls to show. Its calls and
gate questions are kept with it now, and a file kept without them (an earlier irgraph's)
still resumes."""

from __future__ import annotations

import json

from irgraph import Agent, Gate, MapOver, run_many
from irgraph.testing import FakeProvider

PIPELINE = (
    Agent("w").instruct("Write about {topic}.").writes("text")
    >> MapOver("each")
    .over("tags", item="tag")
    .step(Agent("t").instruct("Tag {tag} of {text}.").writes("tagged"))
    .writes("all_tagged")
    >> Gate("ok", "Publish {text}?").writes("verdict")
)
ITEMS = [{"topic": "owls", "tags": ["a", "b"]}]


def batch(tmp_path, provider):
    return list(
        run_many(
            PIPELINE,
            ITEMS,
            provider=provider,
            batch_key="view",
            store=tmp_path / "store",
            on_gate=lambda ask: "yes",
        )
    )


def asked(item):
    return {row["node"]: (row["asked"], row["asked_all"]) for row in item.result.view().rows()}


def test_a_resumed_items_view_shows_the_prompts_its_agents_were_sent(tmp_path):
    (first,) = batch(tmp_path, FakeProvider())
    provider = FakeProvider()
    (again,) = batch(tmp_path, provider)
    assert again.resumed and provider.calls == []
    shown = asked(again)
    assert shown == asked(first)
    assert shown["w"][0] == "Write about owls."
    assert shown["ok"][0] == "Publish <w: Write about owls.>?"
    assert "Tag a of <w: Write about owls.>." in shown["t"][1]
    assert "Tag b of <w: Write about owls.>." in shown["t"][1]
    rows = {row["node"]: row for row in again.result.view().rows()}
    assert rows["w"]["status"] == "reused" and rows["w"]["attempts"] == 0  # no model asked


def test_an_item_kept_without_its_calls_resumes_as_before(tmp_path):
    batch(tmp_path, FakeProvider())
    (path,) = (tmp_path / "store" / "items").iterdir()
    kept = json.loads(path.read_text())
    del kept["calls"]
    kept["gates"] = "not a list of questions"
    path.write_text(json.dumps(kept))
    (again,) = batch(tmp_path, FakeProvider())
    assert again.resumed and again.result.calls == [] and again.result.gates == []
    assert asked(again)["w"][0] == "Write about {topic}."  # the template: nothing else is known
