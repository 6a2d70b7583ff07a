"""An output schema that requires a name its properties do not list is warned of where it is
given and by validate: under additionalProperties: false no reply can match (every call failed
at run time without a word before), and a name close to a listed property is a misspelling
that makes the property optional. A name a patternProperties pattern takes is no mistake."""

from __future__ import annotations

import warnings
from typing import Any

import pytest

from irgraph import Agent, PipelineError, run, to_graph, validate
from irgraph.ir import AgentNode
from irgraph.testing import FakeProvider

CLOSED = {
    "type": "object",
    "properties": {"product": {"type": "string"}, "severity": {"type": "integer"}},
    "required": ["product", "severty"],
    "additionalProperties": False,
}


def told(schema: dict[str, Any]) -> list[str]:
    """The warnings .output(schema) gives, checked to be what validate gives too."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        agent = Agent("extract").instruct("Extract.").output(schema).writes("meta")
    given = [str(w.message) for w in caught]
    assert validate(to_graph(agent)) == given
    return given


def test_a_required_name_a_closed_object_forbids_is_refused_before_any_call() -> None:
    said = (
        "The output schema of 'extract' at the top level requires 'severty', which its "
        "properties do not list (did you mean 'severity'?) and its additionalProperties: false "
        "forbids, so every reply fails the schema and the run would fail at this agent; add it "
        "to properties, or fix the name in required."
    )
    with pytest.raises(PipelineError) as caught:
        Agent("extract").instruct("Extract.").output(CLOSED)
    assert [str(p) for p in caught.value.problems] == [said]
    # IR built without the builder: validate refuses it, and so does run, before any call
    node = AgentNode("extract", "Extract.", writes="meta", output=CLOSED)
    with pytest.raises(PipelineError) as caught:
        validate(to_graph(node))
    assert [str(p) for p in caught.value.problems] == [said]
    fake = FakeProvider(responses={"extract": '{"product": "app", "severity": 2}'})
    with pytest.raises(PipelineError, match="severty"):
        run(node, provider=fake)
    assert fake.calls == []


def test_a_closed_object_a_reply_may_leave_out_is_warned_of_as_matching_nothing() -> None:
    optional = {"type": "object", "properties": {"meta": CLOSED}}
    assert told(optional) == [
        "The output schema of 'extract' at /properties/meta requires 'severty', which its "
        "properties do not list (did you mean 'severity'?) and its additionalProperties: false "
        "forbids, so no reply can match that part; add it to properties, or fix the name in "
        "required."
    ]


def test_a_misspelt_required_name_of_an_open_object_is_told_with_what_it_does() -> None:
    open_object = {key: value for key, value in CLOSED.items() if key != "additionalProperties"}
    assert told(open_object) == [
        "The output schema of 'extract' at the top level requires 'severty', which its "
        "properties do not list; did you mean 'severity'? As written, a reply must hold "
        "'severty' (of any type) and may leave 'severity' out; fix the name in required."
    ]


def test_the_part_is_named_inside_a_list() -> None:
    items = {**CLOSED, "required": ["titel"], "properties": {"title": {"type": "string"}}}
    (warning,) = told({"type": "array", "items": items})
    assert warning.startswith("The output schema of 'extract' at /items requires 'titel'")


@pytest.mark.parametrize(
    "schema",
    [
        {"type": "object", "properties": {"product": {}}, "required": ["id", "product"]},
        {
            "type": "object",
            "properties": {"a": {}},
            "patternProperties": {"^x_": {}},
            "required": ["x_1"],
            "additionalProperties": False,
        },
        {"type": "object", "required": ["anything"]},
    ],
    ids=["open object, name far from any property", "name a pattern takes", "no properties"],
)
def test_a_required_name_that_may_be_meant_is_left_alone(schema: dict[str, Any]) -> None:
    assert told(schema) == []


@pytest.mark.parametrize(
    ("schema", "hint"),
    [
        ({"type": "string", "enum": "bug"}, "enum takes a list: {'enum': ['bug']}."),
        (
            {"type": "object", "properties": {"a": {"type": "string"}}, "required": "a"},
            "required takes a list: {'required': ['a']}.",
        ),
        (
            {"type": "array", "items": [{"type": "string"}]},
            "items takes one schema, which every item matches: {'items': {...}}",
        ),
    ],
)
def test_a_list_keyword_given_one_value_is_told_as_the_list_to_write(schema, hint) -> None:
    with pytest.raises(PipelineError) as info:
        Agent("extract").output(schema)
    assert info.value.problems[0].hint.startswith(hint)
