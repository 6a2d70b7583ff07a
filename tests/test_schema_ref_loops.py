"""An output schema whose ``$ref`` s lead back to the same definition with the same value to
check (``A`` to ``A``, ``A`` to ``B`` to ``A``, through ``anyOf``, ``not``...) is refused
where it is given, naming the agent and the references: ``jsonschema`` followed it until
Python's recursion limit on every reply, so the run failed with a ``RecursionError`` at the
agent after the model was paid. A definition that refers to itself through a property or an
item (a tree) is taken, and a reply nested deeper than checking it can follow is a reply to
ask again, not a crash."""

from __future__ import annotations

import json
from typing import Any

import pytest

from irgraph import Agent, PipelineError, run
from irgraph.ir import from_json
from irgraph.testing import FakeProvider

LOOPS: list[tuple[dict[str, Any], str]] = [
    ({"$defs": {"A": {"$ref": "#/$defs/A"}}, "$ref": "#/$defs/A"}, "'#/$defs/A'"),
    (
        {
            "type": "object",
            "properties": {"p": {"$ref": "#/$defs/A"}},
            "$defs": {"A": {"$ref": "#/$defs/B"}, "B": {"$ref": "#/$defs/A"}},
        },
        "'#/$defs/A', then '#/$defs/B'",  # from the least: the same in every process
    ),
    ({"anyOf": [{"type": "string"}, {"$ref": "#"}]}, "'#'"),
    (
        {
            "$schema": "http://json-schema.org/draft-07/schema#",
            "definitions": {"A": {"not": {"$ref": "#/definitions/A"}}},
            "$ref": "#/definitions/A",
        },
        "'#/definitions/A'",
    ),
]


@pytest.mark.parametrize(("schema", "refs"), LOOPS)
def test_a_schema_that_checks_one_value_against_itself_without_end_is_refused(schema, refs):
    with pytest.raises(PipelineError, match="refers to itself without end") as caught:
        Agent("triage").output(schema)
    assert caught.value.node == "triage"
    assert f"following {refs} ($ref)" in str(caught.value)
    assert "through a property or an item" in str(caught.value)


def test_a_file_with_such_a_schema_is_refused_when_read():
    root = {"kind": "AgentNode", "name": "triage", "output": LOOPS[1][0]}
    text = json.dumps({"format": "irgraph-ir", "version": 1, "root": root})
    with pytest.raises(PipelineError, match="'triage' refers to itself without end"):
        from_json(text)


TREE = {"$defs": {"T": {"type": "array", "items": {"$ref": "#/$defs/T"}}}, "$ref": "#/$defs/T"}


def test_a_tree_is_taken_and_a_reply_nested_too_deeply_to_check_is_asked_again():
    agent = Agent("tree").instruct("Nest.").output(TREE, retries=1).writes("t")
    deep = "[" * 900 + "]" * 900  # reads as JSON, but checking it passes the recursion limit
    fake = FakeProvider(responses={"tree": [deep, "[[], [[]]]"]})
    assert run(agent, provider=fake).state["t"] == [[], [[]]]
    assert "nested too deeply to check against the output schema" in fake.calls[1].feedback


def test_a_recursive_pydantic_model_is_taken():
    pydantic = pytest.importorskip("pydantic")

    class Node(pydantic.BaseModel):
        name: str
        children: list[Node] = pydantic.Field(default_factory=list)
        parent: Node | None = None

    Node.model_rebuild()
    reply = '{"name": "a", "children": [{"name": "b"}]}'
    agent = Agent("n").instruct("Tree.").output(Node).writes("tree")
    assert run(agent, provider=FakeProvider(responses={"n": reply})).state["tree"]["name"] == "a"
