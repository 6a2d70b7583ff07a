"""FakeProvider against output schemas as real pipelines write them: nested objects with
required and optional properties, arrays of objects whose items must differ, enums of mixed
types, tagged ``oneOf`` unions, ``$defs``, decimal steps between exclusive bounds, strings with
lengths, patterns and formats. Every answer validates as an answer is checked, its formats
asserted too; the drawn schemas all have values, so an error is a failure."""

from __future__ import annotations

import asyncio
import json
import string
from typing import Any

import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from irgraph.ir.schema_validator import answer_validator
from irgraph.providers import ModelRequest
from irgraph.testing import FakeProvider
from irgraph.testing.fake_values import fake_value

_NAMES = st.text(string.ascii_lowercase, min_size=1, max_size=5)
#: Patterns from public API schemas (codes, slugs, versions, phone numbers, colours).
_PATTERNS = [
    r"^[A-Z]{3}-\d{4}$",
    r"^[a-z0-9]+(?:-[a-z0-9]+)*$",
    r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)$",
    r"^\+?[1-9]\d{1,14}$",
    r"^#(?:[0-9a-fA-F]{3}){1,2}$",
    r"^[A-Z]{2}$",
    r"^(?=.*\d)(?=.*[a-z]).{8,}$",
    r"\d",
]
_FORMATS = ["email", "date", "date-time", "time", "uuid", "uri", "ipv4", "ipv6"]
#: Formats narrowed by a pattern, as API schemas write them: a year, a company's addresses.
_FORMATTED_PATTERNS = [
    ("date", "^20[3-9][0-9]-"),
    ("date", "-(0[1-9]|1[0-2])-15$"),
    ("date-time", "Z$"),
    ("date-time", "^2031-06"),
    ("email", "@acme\\.org$"),
    ("uri", "^https://"),
    ("ipv4", "^10\\."),
    ("uuid", "^[0-9a-f-]{36}$"),
]


@st.composite
def _strings(draw: st.DrawFn) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "string"}
    kind = draw(st.sampled_from(["plain", "pattern", "format", "format and pattern"]))
    if kind == "pattern":
        schema["pattern"] = draw(st.sampled_from(_PATTERNS))
        if draw(st.booleans()):
            schema["minLength"] = draw(st.integers(1, 2))  # the shortest, ^[A-Z]{2}$
        if draw(st.booleans()):  # room for each pattern's texts
            schema["maxLength"] = draw(st.integers(16, 64))
    elif kind == "format":
        schema["format"] = draw(st.sampled_from(_FORMATS))
    elif kind == "format and pattern":
        schema["format"], schema["pattern"] = draw(st.sampled_from(_FORMATTED_PATTERNS))
    else:
        low = draw(st.integers(0, 12))
        schema["minLength"] = low
        if draw(st.booleans()):
            schema["maxLength"] = low + draw(st.integers(0, 20))
    return schema


@st.composite
def _numbers(draw: st.DrawFn) -> dict[str, Any]:
    step = draw(st.sampled_from([0.01, 0.05, 0.1, 0.25, 0.5, 1, 5]))
    kind = "integer" if isinstance(step, int) and draw(st.booleans()) else "number"
    schema: dict[str, Any] = {"type": kind}
    low = draw(st.none() | st.integers(-50, 50).map(lambda n: round(n * 0.1, 1)))
    if low is not None:
        schema["exclusiveMinimum" if draw(st.booleans()) else "minimum"] = low
    if draw(st.booleans()):
        gap = 3 * step + draw(st.integers(0, 30))  # two multiples between, at least
        top = (low if low is not None else 0) + gap
        schema["exclusiveMaximum" if draw(st.booleans()) else "maximum"] = round(top, 2)
    if draw(st.booleans()):
        schema["multipleOf"] = step
    return schema


#: Leaves with more than one value: one of them can be refused.
_SEVERAL = st.one_of(
    _strings().filter(lambda leaf: leaf.get("maxLength") != 0),
    _numbers(),
    st.just({"type": "boolean"}),
)
_MEMBERS = st.one_of(st.none(), st.booleans(), st.integers(-3, 3), st.text("abc", max_size=2))
_LEAVES = st.one_of(
    _strings(),
    _numbers(),
    st.lists(_MEMBERS, min_size=1, max_size=4, unique_by=json.dumps).map(lambda m: {"enum": m}),
    _MEMBERS.map(lambda value: {"const": value}),
    st.just({"type": "boolean"}),
    st.just({"$ref": "#/$defs/Address"}),
)


def _extend(children: st.SearchStrategy[dict[str, Any]]) -> st.SearchStrategy[dict[str, Any]]:
    @st.composite
    def objects(draw: st.DrawFn) -> dict[str, Any]:
        properties = draw(st.dictionaries(_NAMES, children, min_size=1, max_size=4))
        required = draw(st.lists(st.sampled_from(sorted(properties)), unique=True))
        schema = {"type": "object", "properties": properties, "required": required}
        return {**schema, "additionalProperties": draw(st.booleans())}

    @st.composite
    def arrays(draw: st.DrawFn) -> dict[str, Any]:
        items = draw(children)
        low = draw(st.integers(0, 4))
        schema: dict[str, Any] = {"type": "array", "minItems": low}
        if draw(st.booleans()):
            schema["maxItems"] = low + draw(st.integers(0, 3))
        if draw(st.booleans()):  # items that can differ: codes, emails, named objects
            name = {"name": {"type": "string", "minLength": 1}}
            properties = {**(items.get("properties") or {}), **name}
            named = {"type": "object", "properties": properties, "required": ["name"]}
            varied = _strings().filter(lambda string: "minLength" not in string)
            items = draw(st.just(named) | varied)
            schema["uniqueItems"] = True
        return {**schema, "items": items}

    @st.composite
    def tagged(draw: st.DrawFn) -> dict[str, Any]:
        bodies = draw(st.lists(children, min_size=1, max_size=3))
        options = [
            {
                "type": "object",
                "properties": {"kind": {"const": f"kind{index}"}, "body": body},
                "required": ["kind", "body"],
            }
            for index, body in enumerate(bodies)
        ]
        return {"oneOf": options, "discriminator": {"propertyName": "kind"}}

    @st.composite
    def conditional(draw: st.DrawFn) -> dict[str, Any]:
        """A country's postal code: a pattern chosen by another property's value."""
        country = {"enum": ["US", "CA", "GB"]}
        code = {"type": "string", "pattern": r"^[0-9]{5}$"}
        schema = {
            "type": "object",
            "properties": {"country": country, "postal": {"type": "string"}},
            "required": ["country", "postal"],
            "if": {"properties": {"country": {"const": draw(st.sampled_from(country["enum"]))}}},
            "then": {"properties": {"postal": code}},
            "else": {"properties": {"postal": {"pattern": "^[A-Z][0-9][A-Z] [0-9][A-Z][0-9]$"}}},
        }
        if draw(st.booleans()):  # a card or an account number, never both
            schema["properties"] |= {"card": {"type": "string"}, "iban": {"type": "string"}}
            schema["not"] = {"required": ["card", "iban"]}
        return schema

    return st.one_of(
        objects(),
        arrays(),
        tagged(),
        conditional(),
        children.map(lambda option: {"anyOf": [option, {"type": "null"}]}),
        children.map(lambda option: {"allOf": [option], "description": "as pydantic 1 wrote"}),
        _SEVERAL.map(lambda leaf: {**leaf, "not": {"const": fake_value(leaf)}}),
    )


_ADDRESS = {
    "type": "object",
    "properties": {
        "city": {"type": "string", "minLength": 1},
        "zip": {"type": "string", "pattern": r"^\d{5}$"},
        "email": {"type": "string", "format": "email"},
    },
    "required": ["city", "zip"],
}
schemas = st.recursive(_LEAVES, _extend, max_leaves=10).map(
    lambda schema: {**schema, "$defs": {"Address": _ADDRESS}}
)


def assert_answers(schema: dict[str, Any], seed: int) -> Any:
    """The value made for ``schema`` validates, every ``format`` in it asserted."""
    value = fake_value(schema, seed)
    checker = jsonschema.FormatChecker()
    checker.checkers = dict(jsonschema.Draft202012Validator.FORMAT_CHECKER.checkers)
    checker.checks("uri")(lambda text: "://" in text)
    validator = type(answer_validator(schema))(schema, format_checker=checker)
    errors = [error.message for error in validator.iter_errors(value)]
    assert not errors, (value, errors)
    return value


@settings(suppress_health_check=[HealthCheck.too_slow])
@given(schemas, st.integers(0, 2**32))
def test_every_real_world_schema_gets_a_valid_answer(schema, seed):
    assert_answers(schema, seed)


@settings(max_examples=20, suppress_health_check=[HealthCheck.too_slow])
@given(schemas)
def test_the_fake_provider_answers_them_as_json(schema):
    request = ModelRequest("p", "extractor", "Go.", output_schema=schema)
    answer = json.loads(asyncio.run(FakeProvider().complete(request)))
    assert answer_validator(schema).is_valid(answer)


@pytest.mark.parametrize(
    "schema",
    [
        # Decimal steps between exclusive bounds: 0.3 / 0.05 is 5.999... in binary.
        {"type": "number", "exclusiveMinimum": 0.3, "exclusiveMaximum": 0.4, "multipleOf": 0.05},
        {"type": "integer", "minimum": 3, "multipleOf": 2.0},
        # Draft 7 tuples (pydantic 1 writes them): a list of items.
        {
            "$schema": "http://json-schema.org/draft-07/schema#",
            "type": "array",
            "items": [{"type": "integer"}, {"type": "string", "format": "date"}],
            "additionalItems": False,
            "minItems": 2,
        },
        # At most as many properties as maxProperties, the required ones kept.
        {
            "type": "object",
            "properties": {"a": {"type": "string"}, "b": {"type": "string"}},
            "required": ["b"],
            "maxProperties": 1,
        },
        # oneOf options that overlap: a value of one only.
        {"oneOf": [{"type": "integer"}, {"type": "number"}]},
        # Codes that must differ.
        {
            "type": "array",
            "items": {"type": "string", "pattern": r"^[A-Z]{3}-\d{4}$"},
            "minItems": 5,
            "uniqueItems": True,
        },
        {
            "type": "array",
            "items": {"type": "string", "pattern": "^(low|mid|high)$"},
            "minItems": 3,
            "uniqueItems": True,
        },
        # Items of a union that must differ, a value outside one choice: the other choices.
        {
            "type": "array",
            "items": {"anyOf": [{"type": "boolean"}, {"type": "string", "format": "date"}]},
            "minItems": 4,
            "uniqueItems": True,
        },
        {
            "type": "object",
            "properties": {"v": {"anyOf": [{"const": "a"}, {"type": "integer"}]}},
            "required": ["v"],
            "not": {"properties": {"v": {"const": "a"}}},
        },
        # A card or an account number, never both.
        {
            "type": "object",
            "properties": {"card": {"type": "string"}, "iban": {"type": "string"}},
            "not": {"required": ["card", "iban"]},
        },
        # References as hand-written schemas make them: to the root, to a property, an anchor.
        {
            "type": "object",
            "properties": {
                "name": {"type": "string"},
                "children": {"type": "array", "items": {"$ref": "#"}, "minItems": 1},
            },
            "required": ["name"],
        },
        {
            "type": "object",
            "properties": {
                "a": {"type": "string", "pattern": "^x+$"},
                "b": {"$ref": "#/properties/a"},
            },
            "required": ["a", "b"],
        },
        {
            "$defs": {"C": {"$anchor": "colour", "enum": ["red", "blue"]}, "a/b": {"const": 1}},
            "type": "array",
            "prefixItems": [{"$ref": "#/$defs/a~1b"}],
            "items": {"$ref": "#colour"},
            "minItems": 3,
        },
        # A card number asks for a billing address; draft 7's dependencies, both kinds.
        {
            "type": "object",
            "properties": {"card": {"type": "string", "pattern": "^[0-9]{16}$"}},
            "required": ["card"],
            "dependentRequired": {"card": ["billing"]},
        },
        {
            "type": "object",
            "properties": {"a": {"type": "string"}},
            "required": ["a"],
            "dependentSchemas": {"a": {"properties": {"b": {"minimum": 5}}, "required": ["b"]}},
        },
        {
            "$schema": "http://json-schema.org/draft-07/schema#",
            "type": "object",
            "properties": {"a": {"type": "string"}, "c": {"type": "boolean"}},
            "dependencies": {
                "a": ["c"],
                "c": {"properties": {"d": {"const": 1}}, "required": ["d"]},
            },
        },
        # Property names under a pattern.
        {
            "type": "object",
            "propertyNames": {"pattern": "^[A-Z]{2}$"},
            "additionalProperties": {"type": "integer"},
            "minProperties": 2,
        },
    ],
)
def test_schemas_fake_provider_refused_before_get_valid_answers(schema):
    for seed in range(3):
        assert_answers(schema, seed)


def test_a_pydantic_dict_keyed_by_an_enum_with_a_minimum_size_gets_its_members_as_keys():
    """``dict[Color, int]`` is an object whose propertyNames refer to the enum: its keys are
    the members, not ``property_1``."""
    import enum

    from pydantic import BaseModel, Field

    from irgraph import Agent, run

    class Color(enum.StrEnum):
        red = "red"
        green = "green"

    class Palette(BaseModel):
        counts: dict[Color, int] = Field(min_length=2)

    pipeline = Agent("painter").instruct("Paint.").output(Palette).writes("palette")
    palette = run(pipeline, provider=FakeProvider()).state["palette"]
    assert sorted(Palette.model_validate(palette).counts) == [Color.green, Color.red]
