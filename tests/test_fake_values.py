"""FakeProvider's made-up structured values: every value it makes validates against its
schema, for drawn schemas of the supported subset, and a schema beyond it is a clear error."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import jsonschema
import pytest
from hypothesis import given
from hypothesis import strategies as st

from irgraph.ir.schema_validator import answer_validator
from irgraph.providers import ModelRequest
from irgraph.testing import FakeProvider
from irgraph.testing.fake import FakeProviderError
from irgraph.testing.fake_values import UnsupportedSchema, fake_value, stable_hash

_NAMES = st.text("abcdefgh_", min_size=1, max_size=6)
_SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-5, 5), st.text("xyz", max_size=3))


def _bounded(kind: str) -> st.SearchStrategy[dict[str, Any]]:
    whole = st.integers(-20, 20)
    number = whole if kind == "integer" else st.one_of(whole, st.floats(-20, 20))

    @st.composite
    def draw(draw: st.DrawFn) -> dict[str, Any]:
        schema: dict[str, Any] = {"type": kind}
        low = draw(st.none() | number)
        high = draw(st.none() | number)
        if low is not None and high is not None and low > high:
            low, high = high, low
        if low is not None:
            exclusive = draw(st.booleans()) and (high is None or high - low >= 2)
            schema["exclusiveMinimum" if exclusive else "minimum"] = low
        if high is not None:
            exclusive = draw(st.booleans()) and (low is None or high - low >= 2)
            schema["exclusiveMaximum" if exclusive else "maximum"] = high
        if draw(st.booleans()) and low is None and high is None:
            schema["multipleOf"] = draw(st.integers(1, 7))
        return schema

    return draw()


def _leaves() -> st.SearchStrategy[dict[str, Any]]:
    strings = st.builds(
        lambda low, extra, fmt: {
            "type": "string",
            "minLength": low,
            # A format's texts have lengths of their own: no maxLength leaves one out.
            **({"maxLength": low + extra} if extra is not None and not fmt else {}),
            **({"format": fmt} if fmt else {}),
        },
        st.integers(0, 10),
        st.none() | st.integers(0, 5),
        st.sampled_from([None, "date-time", "email", "uri"]),
    )
    return st.one_of(
        strings,
        _bounded("integer"),
        _bounded("number"),
        st.just({"type": "boolean"}),
        st.just({"type": "null"}),
        st.lists(_SCALARS, min_size=1, max_size=4, unique_by=json.dumps).map(
            lambda values: {"enum": values}
        ),
        _SCALARS.map(lambda value: {"const": value}),
    )


def _extend(children: st.SearchStrategy[dict[str, Any]]) -> st.SearchStrategy[dict[str, Any]]:
    @st.composite
    def objects(draw: st.DrawFn) -> dict[str, Any]:
        properties = draw(st.dictionaries(_NAMES, children, max_size=4))
        required = (
            draw(st.lists(st.sampled_from(sorted(properties)), unique=True)) if properties else []
        )
        schema: dict[str, Any] = {"type": "object", "properties": properties, "required": required}
        if draw(st.booleans()):
            schema["additionalProperties"] = False
        return schema

    @st.composite
    def arrays(draw: st.DrawFn) -> dict[str, Any]:
        low = draw(st.integers(0, 3))
        schema: dict[str, Any] = {"type": "array", "items": draw(children), "minItems": low}
        if draw(st.booleans()):
            schema["maxItems"] = low + draw(st.integers(0, 3))
        return schema

    choices = st.lists(children, min_size=1, max_size=3)
    return st.one_of(
        objects(),
        arrays(),
        choices.map(lambda options: {"anyOf": options}),
        children.map(lambda option: {"oneOf": [option]}),
        children.filter(lambda s: s.get("type") in ("string", "integer", "object")).map(
            lambda s: {**s, "type": [s["type"], "null"]}
        ),
        choices.map(lambda options: {"anyOf": [*options, {"type": "null"}]}),
    )


schemas = st.recursive(_leaves(), _extend, max_leaves=12)


@given(schemas, st.integers(0, 2**32))
def test_made_up_values_validate_against_their_schema(schema, seed):
    value = fake_value(schema, seed)
    jsonschema.validate(value, schema)
    assert fake_value(schema, seed) == value  # deterministic


@given(schemas)
def test_refs_into_defs_resolve_as_pydantic_writes_them(schema):
    wrapped = {
        "$defs": {"Inner": schema},
        "type": "object",
        "properties": {
            "inner": {"$ref": "#/$defs/Inner"},
            "many": {"type": "array", "items": {"$ref": "#/$defs/Inner"}},
        },
        "required": ["inner", "many"],
    }
    jsonschema.validate(fake_value(wrapped, 0), wrapped)


def test_a_pydantic_model_schema_gets_a_valid_value():
    pydantic = pytest.importorskip("pydantic")

    class Tag(pydantic.BaseModel):
        name: str
        weight: float = 1.0

    class Report(pydantic.BaseModel):
        title: str
        score: int = pydantic.Field(ge=1, le=10)
        tags: list[Tag]
        kind: str | None = None

    schema = Report.model_json_schema()
    Report.model_validate(fake_value(schema, 3))


def test_enum_choice_follows_a_stable_hash_of_agent_and_prompt():
    schema = {"type": "string", "enum": ["bug", "feature", "question"]}
    fake = FakeProvider()
    request = ModelRequest("c", "classify", "Classify it.", output_schema=schema)
    answer = asyncio.run(fake.complete(request))

    assert answer == json.dumps(schema["enum"][stable_hash("classifyClassify it.") % 3])
    assert stable_hash("classifyClassify it.") == int.from_bytes(
        __import__("hashlib").sha256(b"classifyClassify it.").digest()[:8], "big"
    )
    answers = {
        asyncio.run(
            fake.complete(ModelRequest("c", "classify", f"Issue {i}.", output_schema=schema))
        )
        for i in range(30)
    }
    assert len(answers) == 3  # different prompts spread over the enum


def test_a_configured_response_is_returned_as_is_even_with_a_schema():
    fake = FakeProvider(responses={"classify": "not json"})
    request = ModelRequest("c", "classify", "Go.", output_schema={"type": "integer"})
    assert asyncio.run(fake.complete(request)) == "not json"


@pytest.mark.parametrize(
    ("schema", "keyword"),
    [
        ({"type": "string", "pattern": "^(?=b)a$"}, "pattern"),  # a lookahead refusing it
        ({"type": "string", "pattern": "^[0-9]{5}$", "maxLength": 3}, "pattern"),
        ({"type": "string", "not": {"minLength": 0}}, "not"),  # refuses every value tried
        ({"$ref": "https://example.com/schema.json"}, "$ref"),
    ],
)
def test_a_schema_beyond_the_subset_is_a_clear_error(schema, keyword):
    with pytest.raises(UnsupportedSchema) as info:
        fake_value(schema)
    assert info.value.keyword == keyword

    fake = FakeProvider()
    with pytest.raises(FakeProviderError, match="agent 'parser'.*responses=\\{'parser'"):
        asyncio.run(fake.complete(ModelRequest("p", "parser", "Go.", output_schema=schema)))


def test_values_the_subset_cannot_reach_are_refused_not_answered_wrongly():
    schema = {"required": ["abc"], "properties": {"abc": {}}, "propertyNames": {"maxLength": 2}}
    with pytest.raises(UnsupportedSchema, match="does not match"):
        fake_value(schema)


@pytest.mark.parametrize(
    ("schema", "made"),
    [
        ({"type": "string", "pattern": "^[A-Z]{2}-\\d{3}$"}, "AA-000"),
        ({"type": "string", "pattern": "^(bug|feature)$"}, "bug"),
        ({"type": "string", "pattern": "^a+$", "minLength": 3}, "aaa"),
        ({"type": "string", "pattern": "^[a-z]+$", "maxLength": 2}, "te"),
        ({"type": "string", "pattern": "^[0-9]+$", "maxLength": 2}, "0"),
        ({"type": "string", "pattern": "^[^,]+,[^,]+$"}, "x,x"),
        ({"type": "string", "pattern": "\\d", "minLength": 8}, "0xxxxxxx"),  # a digit somewhere
        ({"type": "string", "pattern": "^(?P<y>\\d+)/(?P=y)$"}, "0/0"),
        ({"type": "string", "format": "date", "pattern": "^\\d{4}-"}, "2024-01-01"),
        ({"type": "string", "pattern": "[a-z]"}, "text"),  # found anywhere, as JSON Schema
    ],
)
def test_a_string_with_a_pattern_gets_text_matching_it(schema, made):
    """A ``pattern`` (pydantic's ``Field(pattern=...)``) was refused as beyond the subset, so
    every structured agent with one failed under the CLI's default fake provider."""
    assert fake_value(schema) == made
    jsonschema.validate(made, schema)


_PIECES = st.sampled_from(
    [
        "a",
        "[a-c]",
        "\\d",
        "\\w",
        "\\s",
        "[^x]",
        ".",
        "(ab|cd)",
        "x?",
        "[0-9]{2}",
        "z+",
        "(?:q|r)*",
        "-",
        "\\.",
        "[A-Z]{1,3}",
        "(?!k)",
        "\\b",
        "e{2,}",
    ]
)


@given(st.lists(_PIECES, min_size=1, max_size=6), st.booleans(), st.integers(0, 12))
def test_text_made_for_a_pattern_always_validates(pieces, anchored, low):
    pattern = "".join(pieces)
    schema = {"type": "string", "pattern": f"^{pattern}$" if anchored else pattern}
    if low:
        schema["minLength"] = low
    try:
        value = fake_value(schema)
    except UnsupportedSchema as error:  # only ever for a pattern, never a wrong answer
        assert error.keyword == "pattern"
        return
    jsonschema.validate(value, schema)


def test_a_pydantic_field_pattern_runs_with_the_fake_provider():
    import pydantic

    from irgraph import Agent, run

    class Ticket(pydantic.BaseModel):
        code: str = pydantic.Field(pattern=r"^[A-Z]{3}-\d{4}$")
        title: str = pydantic.Field(min_length=8)

    pipeline = Agent("triage").instruct("File {issue}.").output(Ticket).writes("ticket")
    result = run(pipeline, provider=FakeProvider(), state={"issue": "crash"})
    assert result.state["ticket"] == {"code": "AAA-0000", "title": "textxxxx"}


_ITEM = {
    "$id": "item.json",
    "type": "object",
    "required": ["sku", "qty"],
    "properties": {
        "sku": {"type": "string", "pattern": "^[A-Z]{3}$"},
        "qty": {"$ref": "#/$defs/Qty"},
    },
    "$defs": {
        "Qty": {"type": "integer", "minimum": 3},
        "Tag": {"$anchor": "tag", "enum": ["x", "y"]},
    },
}


@pytest.mark.parametrize(
    ("schema", "expected"),
    [
        # By the nested id, a pointer and an anchor relative to it; '#/$defs/Qty' inside the
        # item means the item's own Qty.
        (
            {
                "$id": "https://example.com/order.json",
                "type": "object",
                "required": ["item", "qty", "tag"],
                "properties": {
                    "item": {"$ref": "item.json"},
                    "qty": {"$ref": "https://example.com/item.json#/$defs/Qty"},
                    "tag": {"$ref": "item.json#tag"},
                },
                "$defs": {"Item": _ITEM},
            },
            {"item": {"sku": "AAA", "qty": 3}, "qty": 3, "tag": "x"},
        ),
        # Without a root id; '#' inside the node is the node, not the root.
        (
            {
                "type": "object",
                "required": ["root"],
                "properties": {"root": {"$ref": "node"}},
                "$defs": {
                    "Node": {
                        "$id": "node",
                        "type": "object",
                        "required": ["name"],
                        "properties": {
                            "name": {"type": "string"},
                            "kids": {"type": "array", "items": {"$ref": "#"}, "minItems": 1},
                        },
                    }
                },
            },
            {"root": {"name": "text", "kids": [{"name": "text"}]}},
        ),
        # Draft 7: an $id of '#name' names its part.
        (
            {
                "$schema": "http://json-schema.org/draft-07/schema#",
                "type": "object",
                "required": ["a"],
                "properties": {"a": {"$ref": "#pos"}},
                "definitions": {"P": {"$id": "#pos", "type": "integer", "minimum": 1}},
            },
            {"a": 1},
        ),
    ],
)
def test_refs_to_a_nested_id_resolve_as_json_schema_says(schema, expected):
    value = fake_value(schema, 0)
    assert value == expected
    assert answer_validator(schema).is_valid(value)
