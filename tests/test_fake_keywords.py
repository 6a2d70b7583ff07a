"""FakeProvider's made-up values for the JSON Schema keywords that combine or constrain whole
values: ``not``, ``if``/``then``/``else``, ``allOf`` with several parts, ``uniqueItems`` over a
small set of values, ``minProperties`` and ``contains``. Each value is checked with the
validator a model's answer is checked with; a schema no value matches is a clear error."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from irgraph import Agent, run
from irgraph.ir.schema_validator import answer_validator
from irgraph.providers import ModelRequest
from irgraph.testing import FakeProvider
from irgraph.testing.fake import FakeProviderError
from irgraph.testing.fake_formats import format_validator
from irgraph.testing.fake_values import UnsatisfiableSchema, UnsupportedSchema, fake_value
from tests.test_fake_values import schemas


def made(schema: dict[str, Any], seed: int = 0) -> Any:
    """The value made for ``schema``, checked as an answer is."""
    value = fake_value(schema, seed)
    assert answer_validator(schema).is_valid(value), (schema, value)
    return value


def refused(schema: dict[str, Any], keyword: str) -> str:
    """The error of FakeProvider's agent 'parser' for ``schema``, which names ``keyword``."""
    with pytest.raises(UnsatisfiableSchema) as info:
        fake_value(schema)
    assert info.value.keyword == keyword
    request = ModelRequest("p", "parser", "Go.", output_schema=schema)
    with pytest.raises(FakeProviderError) as caught:
        asyncio.run(FakeProvider().complete(request))
    assert "agent 'parser'" in str(caught.value) and keyword in str(caught.value)
    return str(caught.value)


@pytest.mark.parametrize(
    "schema",
    [
        {"type": "string", "not": {"const": "text"}},
        {"type": "string", "maxLength": 1, "not": {"enum": ["t", "o", "m"]}},
        {"not": {"type": "string"}},
        {"type": ["string", "integer"], "not": {"type": "string"}},
        {"type": "integer", "not": {"enum": [1, 2, 3]}},
        {"type": "integer", "minimum": 0, "maximum": 2, "not": {"const": 1}},
        {"type": "number", "not": {"type": "integer"}},
        {"type": "boolean", "not": {"const": True}},
        {
            "type": "object",
            "properties": {"a": {"type": "string"}},
            "required": ["a"],
            "not": {"properties": {"a": {"const": "text"}}},
        },
        {"type": "string", "format": "email", "not": {"maxLength": 3}},
    ],
)
def test_not_gets_a_value_outside_the_refused_schema(schema):
    made(schema)


def test_not_that_refuses_every_value_is_unsatisfiable():
    refused({"type": "string", "not": {"type": "string"}}, "not")
    refused({"not": {}}, "not")


@pytest.mark.parametrize(
    "schema",
    [
        {  # the then branch
            "type": "object",
            "properties": {"kind": {"enum": ["a", "b"]}, "n": {"type": "integer"}},
            "required": ["kind"],
            "if": {"properties": {"kind": {"const": "a"}}},
            "then": {"required": ["n"]},
            "else": {"properties": {"n": {"minimum": 5}}},
        },
        {  # then leaves nothing: the else branch, outside the if
            "type": "integer",
            "if": {"minimum": 0},
            "then": {"maximum": -5},
            "else": {"maximum": -1},
        },
        {"type": "string", "if": {"maxLength": 2}, "else": {"minLength": 6}},  # no then
        {"type": "string", "then": {"const": "x"}},  # a then without an if means nothing
    ],
)
def test_if_then_else_gets_a_value_of_a_branch(schema):
    made(schema)


def test_if_with_both_branches_empty_is_unsatisfiable():
    schema = {"type": "integer", "if": {"minimum": 0}, "then": {"maximum": -1}, "else": False}
    refused(schema, "if")


@pytest.mark.parametrize(
    "schema",
    [
        {
            "allOf": [
                {"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"]},
                {"properties": {"b": {"type": "integer", "minimum": 4}}, "required": ["b"]},
                {"properties": {"a": {"minLength": 6}}},
            ]
        },
        {
            "allOf": [
                {"type": "number", "minimum": 3},
                {"type": "integer", "multipleOf": 2},
                {"maximum": 10},
            ]
        },
        {"allOf": [{"type": ["string", "null"]}, {"type": ["null", "integer"]}]},
        {"allOf": [{"enum": ["a", "b", "c"]}, {"enum": ["c", "b"]}, {"not": {"const": "b"}}]},
        {
            "$defs": {"Named": {"type": "object", "properties": {"name": {"type": "string"}}}},
            "allOf": [
                {"$ref": "#/$defs/Named"},
                {"required": ["name", "tags"], "properties": {"tags": {"type": "array"}}},
            ],
        },
        {  # one side closes the object: the other's property must be under that too
            "type": "object",
            "allOf": [
                {"properties": {"a": {"type": "string"}}, "additionalProperties": False},
                {"properties": {"a": {"maxLength": 2}}, "required": ["a"]},
            ],
        },
        {
            "allOf": [
                {"type": "array", "items": {"type": "integer"}, "minItems": 2},
                {"items": {"minimum": 7}, "uniqueItems": True},
            ]
        },
        {
            "allOf": [
                {"anyOf": [{"type": "string"}, {"type": "integer"}]},
                {"anyOf": [{"type": "boolean"}, {"type": "integer", "minimum": 9}]},
            ]
        },
        {  # two conditions, one of them moved into the allOf made next
            "type": "integer",
            "allOf": [
                {"if": {"minimum": 0}, "then": {"multipleOf": 3}},
                {"if": {"maximum": 100}, "then": {"minimum": 5}},
            ],
        },
        {"type": "object", "anyOf": [{"required": ["a"]}, {"required": ["b"]}], "minProperties": 1},
    ],
)
def test_all_of_with_several_parts_gets_a_value_of_their_merge(schema):
    made(schema)


def test_all_of_parts_no_value_matches_are_unsatisfiable():
    refused({"allOf": [{"type": "string"}, {"type": "integer"}]}, "type")
    refused({"allOf": [{"const": 1}, {"const": 2}]}, "allOf")
    refused({"allOf": [{"enum": ["a"]}, {"enum": ["b"]}]}, "enum")


@pytest.mark.parametrize(
    "schema",
    [
        {"type": "array", "items": {"type": "boolean"}, "minItems": 2, "uniqueItems": True},
        {"type": "array", "items": {"enum": ["x", "y", "z"]}, "minItems": 3, "uniqueItems": True},
        {"type": "array", "items": {"type": "string"}, "minItems": 12, "uniqueItems": True},
        {
            "type": "array",
            "items": {"type": "string", "maxLength": 1},
            "minItems": 5,
            "uniqueItems": True,
        },
        {
            "type": "array",
            "items": {"type": "integer", "minimum": 0, "maximum": 2},
            "minItems": 3,
            "uniqueItems": True,
        },
        {
            "type": "array",
            "items": {"type": "number", "minimum": 1, "maximum": 1.5},
            "minItems": 4,
            "uniqueItems": True,
        },
        {
            "type": "array",
            "items": {"type": ["boolean", "null"]},
            "minItems": 3,
            "uniqueItems": True,
        },
        {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"on": {"type": "boolean"}},
                "required": ["on"],
            },
            "minItems": 2,
            "uniqueItems": True,
        },
    ],
)
def test_unique_items_differ(schema):
    value = made(schema, seed=7)
    assert len(value) == schema["minItems"]


def test_unique_items_beyond_a_small_domain_name_the_agent_and_the_keyword():
    """Three different booleans: no array matches, and the error says so, naming the agent."""
    message = refused(
        {"type": "array", "items": {"type": "boolean"}, "minItems": 3, "uniqueItems": True},
        "uniqueItems",
    )
    assert "must hold 3 different items (uniqueItems" in message
    assert "[False, True]" in message and "fix the schema" in message


@given(st.integers(1, 5), st.integers(0, 7), st.integers(0, 2**16))
def test_unique_items_of_an_enum_fit_exactly_when_the_enum_is_large_enough(size, low, seed):
    members = [f"m{i}" for i in range(size)]
    schema = {"type": "array", "items": {"enum": members}, "minItems": low, "uniqueItems": True}
    if low <= size:
        value = made(schema, seed)
        assert len(set(value)) == len(value) == max(low, 1)  # one item when none is asked
    else:
        with pytest.raises(UnsatisfiableSchema, match="uniqueItems"):
            fake_value(schema, seed)


@pytest.mark.parametrize(
    "schema",
    [
        {"type": "object", "minProperties": 2, "additionalProperties": {"type": "integer"}},
        {"type": "object", "minProperties": 2},
        {
            "type": "object",
            "properties": {"a": {"type": "string"}},
            "minProperties": 3,
            "additionalProperties": False,
            "patternProperties": {"^x_[0-9]+$": {"type": "integer", "minimum": 3}},
        },
        {
            "type": "object",
            "minProperties": 2,
            "propertyNames": {"pattern": "^[a-z]+_[0-9]$"},
        },
        {  # a named property that a pattern matches too: under both
            "type": "object",
            "properties": {"x_1": {"type": "integer"}},
            "required": ["x_1"],
            "patternProperties": {"^x_": {"minimum": 4}},
        },
    ],
)
def test_min_properties_adds_properties_the_schema_allows(schema):
    assert len(made(schema)) >= schema.get("minProperties", 1)


def test_min_properties_beyond_the_names_allowed_is_unsatisfiable():
    schema = {
        "type": "object",
        "properties": {"a": {"type": "string"}},
        "additionalProperties": False,
        "minProperties": 2,
    }
    refused(schema, "minProperties")


@pytest.mark.parametrize(
    "schema",
    [
        {"type": "array", "items": {"type": "integer"}, "contains": {"const": 7}},
        {"type": "array", "contains": {"type": "integer", "minimum": 5}, "minContains": 2},
        {"type": "array", "items": {"type": "integer"}, "minItems": 3, "contains": {"minimum": 9}},
        {"type": "array", "prefixItems": [{"type": "string"}], "contains": {"type": "integer"}},
        {
            "type": "array",
            "items": {"type": "integer"},
            "contains": {"const": 2},
            "minItems": 3,
            "uniqueItems": True,
        },
    ],
)
def test_contains_puts_a_matching_item_in(schema):
    made(schema)


def test_contains_with_no_room_is_unsatisfiable():
    refused({"type": "array", "maxItems": 0, "contains": {"type": "integer"}}, "contains")


def test_an_agent_with_such_a_schema_runs_on_the_fake_provider():
    schema = {
        "type": "object",
        "allOf": [
            {
                "properties": {
                    "tags": {
                        "type": "array",
                        "items": {"type": "boolean"},
                        "minItems": 2,
                        "uniqueItems": True,
                    }
                }
            },
            {"required": ["tags", "label"], "properties": {"label": {"not": {"const": "text"}}}},
        ],
    }
    result = run(
        Agent("tagger").instruct("Tag it.").output(schema).writes("tags"), provider=FakeProvider()
    )
    assert answer_validator(schema).is_valid(result.state["tags"])
    assert sorted(result.state["tags"]["tags"]) == [False, True]


#: Keywords JSON Schema reads together: split across allOf parts, they mean something else.
_GROUPS = {"additionalProperties": "properties", "patternProperties": "properties"}
_GROUPS |= {"prefixItems": "items", "minContains": "contains", "maxContains": "contains"}


@given(schemas, st.data())
def test_a_schema_split_across_all_of_gets_a_value_of_the_whole(schema, data):
    """The schema's keywords shared out between two allOf parts merge back into it (those
    read together, as additionalProperties with properties, kept in one part)."""
    groups = sorted({_GROUPS.get(key, key) for key in schema})
    first = set(data.draw(st.lists(st.sampled_from(groups), unique=True)) if groups else [])
    parts = [
        {k: v for k, v in schema.items() if _GROUPS.get(k, k) in first},
        {k: v for k, v in schema.items() if _GROUPS.get(k, k) not in first},
    ]
    value = fake_value({"allOf": parts})
    assert answer_validator(schema).is_valid(value), (parts, value)


@given(schemas, st.integers(0, 2**16))
def test_not_the_simplest_value_is_another_value_or_a_clear_error(schema, seed):
    simplest = fake_value(schema, seed)
    other = {**schema, "not": {"const": simplest}}
    try:
        value = fake_value(other, seed)
    except UnsupportedSchema as error:  # a schema with one value: none is left
        assert error.keyword is not None
        return
    assert answer_validator(other).is_valid(value)
    assert json.dumps(value) != json.dumps(simplest) or value != simplest


@pytest.mark.parametrize(
    "options",
    [
        [{"type": "integer"}, {"type": "number"}],
        [{"type": "string"}, {"type": "string", "maxLength": 3}],
        [{"type": "string", "maxLength": 3}, {"type": "string"}],
        [{}, {"type": "string"}],
        [{"type": "integer", "minimum": 0}, {"type": "integer", "minimum": 0, "maximum": 40}],
        [{"type": "number", "minimum": 0}, {"type": "number", "maximum": 10}],
        [{"type": "object"}, {"type": "object", "properties": {"a": {"type": "integer"}}}],
        [{"type": "object", "properties": {"a": {"type": "integer"}}}, {"type": "object"}],
        [{"type": "array"}, {"type": "array", "maxItems": 2}],
    ],
)
def test_a_one_of_whose_options_overlap_gets_a_value_of_exactly_one(options):
    """One option's values lie inside the other's: the value is one only the wider allows
    (checked with formats asserted and, as irgraph checks an answer, without)."""
    schema = {"type": "object", "properties": {"v": {"oneOf": options}}, "required": ["v"]}
    for seed in range(3):
        value = made(schema, seed)["v"]
        for check in (answer_validator, format_validator):
            matched = [check(option).is_valid(value) for option in options]
            assert matched.count(True) == 1, (options, value)


@pytest.mark.parametrize(
    "options",
    [
        # Every string matches the first option and one of the others.
        [{"type": "string"}, {"type": "string", "maxLength": 3}, {"minLength": 2}],
        [{"type": "string"}, {"type": "string", "format": "email"}, {"maxLength": 99}],
    ],
)
def test_a_one_of_no_value_of_exactly_one_option_is_refused_naming_the_one_of(options):
    with pytest.raises(UnsupportedSchema) as info:
        fake_value({"type": "string", "oneOf": options})
    assert info.value.keyword == "oneOf" and "exactly one" in str(info.value)


@pytest.mark.parametrize(
    "options",
    [
        # Without formats asserted every string matches both: the answer check asserts them
        # to tell which option a value is of, so these have values.
        [{"type": "string", "format": "email"}, {"type": "string"}],
        [{"type": "string", "format": "date"}, {"type": "string", "pattern": "^[0-9-]+$"}],
        [{"type": "string", "format": "ipv4"}, {"type": "string", "format": "ipv6"}],
    ],
)
def test_a_one_of_told_apart_only_by_format_gets_a_value_the_answer_check_takes(options):
    schema = {"type": "string", "oneOf": options}
    value = fake_value(schema)
    assert answer_validator(schema).is_valid(value) and format_validator(schema).is_valid(value)
