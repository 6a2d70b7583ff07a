"""An output schema referring to a JSON Schema meta-schema is sent self-contained: every
meta-schema it reaches copied under its definitions, every reference local, and the copy
allowing exactly what the original allows as ``jsonschema`` (with its bundled meta-schemas)
checks it. The end-to-end request is checked in ``tests/test_openai_schemas.py``."""

from __future__ import annotations

import jsonschema
import pytest

from irgraph.schema_bundle import self_contained

#: Candidate JSON Schemas, valid and not, some only at depth (reached by dynamic references).
INSTANCES = [
    {"type": "string"},
    {"type": 5},
    True,
    5,
    {"properties": {"a": {"type": "integer", "minimum": 0}}},
    {"properties": {"a": {"type": 5}}},
    {"items": {"minLength": -1}},
    {"allOf": []},
    {"required": "x"},
    {"$defs": {"A": {"enum": "no"}}},
    {"definitions": {"A": {"maxItems": "3"}}},
    {"anyOf": [{"not": {"pattern": 1}}]},
]


def _references(part: object) -> list[str]:
    """Every reference of ``part``, by keyword: ``$ref``, ``$dynamicRef``, ``$recursiveRef``."""
    if isinstance(part, dict):
        words = ("$ref", "$dynamicRef", "$recursiveRef")  # a property named "$ref" is no ref
        own = [f"{k} {part[k]}" for k in words if isinstance(part.get(k), str)]
        return own + [ref for value in part.values() for ref in _references(value)]
    if isinstance(part, list):
        return [ref for value in part for ref in _references(value)]
    return []


def resolves_alone(sent: dict) -> None:
    """Each reference of ``sent`` is a local ``$ref`` that resolves with no other document."""
    from referencing import Registry
    from referencing.jsonschema import DRAFT202012

    refs = _references(sent)
    assert refs and all(ref.startswith("$ref #") for ref in refs), refs
    resolver = Registry().resolver_with_root(DRAFT202012.create_resource(sent))
    for ref in refs:
        resolver.lookup(ref.removeprefix("$ref "))  # Unresolvable: it needs another document


@pytest.mark.parametrize(
    "meta",
    [
        "https://json-schema.org/draft/2020-12/schema",
        "https://json-schema.org/draft/2019-09/schema",
        "http://json-schema.org/draft-07/schema#",
        "http://json-schema.org/draft-06/schema#",
        "http://json-schema.org/draft-04/schema#",
        "https://json-schema.org/draft/2020-12/meta/applicator",
        "http://json-schema.org/draft-07/schema#/definitions/simpleTypes",
    ],
)
def test_each_shipped_meta_schema_is_copied_in_and_allows_what_it_allowed(meta):
    schema = {"$ref": meta}
    sent = self_contained(schema)
    resolves_alone(sent)
    original = jsonschema.validators.validator_for(schema)(schema)
    copied = jsonschema.Draft202012Validator(sent)
    assert [copied.is_valid(i) for i in INSTANCES] == [original.is_valid(i) for i in INSTANCES]
    assert schema == {"$ref": meta}  # the schema given is left as it was


def test_an_extension_of_the_meta_schema_keeps_its_keywords_at_every_depth():
    """Its own $dynamicAnchor is the outermost: a nested schema must follow it too."""
    extension = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://example.com/strict-schema",
        "$dynamicAnchor": "meta",
        "$ref": "https://json-schema.org/draft/2020-12/schema",
        "properties": {"x-secret": {"type": "boolean"}},
    }
    sent = self_contained(extension)
    resolves_alone({k: v for k, v in sent.items() if k != "$id"})
    instances = [*INSTANCES, {"properties": {"a": {"x-secret": 1}}}, {"x-secret": True}]
    original = jsonschema.Draft202012Validator(extension)
    copied = jsonschema.Draft202012Validator(sent)
    assert [copied.is_valid(i) for i in instances] == [original.is_valid(i) for i in instances]
    assert not copied.is_valid({"properties": {"a": {"x-secret": 1}}})


def test_a_reference_in_data_or_to_the_schemas_own_definitions_is_left_alone():
    schema = {
        "type": "object",
        "properties": {"tag": {"$ref": "#/$defs/Tag"}, "kind": {"const": {"$ref": "x"}}},
        "$defs": {"Tag": {"enum": [{"$ref": "https://json-schema.org/draft/2020-12/schema"}]}},
    }
    assert self_contained(schema) == schema  # an enum or const value is data, not a schema
    plain = {"type": "array", "items": {"$ref": "#/$defs/T"}, "$defs": {"T": {"type": "string"}}}
    assert self_contained(plain) is plain


def test_a_reference_inside_a_subschema_with_its_own_id_is_left_as_it_is():
    """A '#/$defs/...' pointer written there would start at that subschema, and reach nothing."""
    inner = {
        "$id": "https://example.com/inner",
        "properties": {"s": {"$ref": "https://json-schema.org/draft/2020-12/schema"}},
    }
    schema = {
        "properties": {"x": {"$ref": "https://example.com/inner"}, "y": inner["properties"]["s"]},
        "$defs": {"inner": inner},
    }
    sent = self_contained(schema)
    assert sent["$defs"]["inner"] == inner
    assert sent["properties"]["y"] == {"$ref": "#/$defs/draft_2020-12_schema"}
    check = jsonschema.Draft202012Validator(sent)
    assert check.is_valid({"x": {"s": {"type": "string"}}, "y": {"type": "string"}})
    assert not check.is_valid({"x": {"s": {"type": 5}}})
    assert not check.is_valid({"y": {"type": 5}})
