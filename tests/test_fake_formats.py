"""FakeProvider's made-up strings for a ``format`` (email, date, uuid...) and for several
``pattern`` s at once: each value validates, its format too (checked as a format-asserting
validator checks it), other values come where a ``not`` or ``uniqueItems`` asks for them, and a
schema no text is found for names the agent and the place in the value."""

from __future__ import annotations

import asyncio
import datetime
import json
import re
import urllib.parse
from typing import Any

import jsonschema
import pytest
from hypothesis import given
from hypothesis import strategies as st

from irgraph import Agent, run
from irgraph.providers import ModelRequest
from irgraph.testing import FakeProvider
from irgraph.testing.fake import FakeProviderError
from irgraph.testing.fake_values import UnsatisfiableSchema, UnsupportedSchema, fake_value

#: Formats jsonschema cannot check without packages irgraph does not install.
_OWN_CHECKS = {
    "uri": lambda text: bool(urllib.parse.urlsplit(text).scheme and "://" in text),
    "hostname": lambda text: bool(re.fullmatch(r"[a-z0-9-]+(\.[a-z0-9-]+)+", text)),
    "duration": lambda text: bool(re.fullmatch(r"P\d+D", text)),
}
FORMATS = ["email", "date", "date-time", "time", "uuid", "ipv4", "ipv6", "uri", "hostname"]
FORMATS += ["duration", "json-pointer"]


def checked(schema: dict[str, Any], seed: int = 0) -> Any:
    """The value made for ``schema``, valid under it with every ``format`` asserted."""
    value = fake_value(schema, seed)
    checker = jsonschema.FormatChecker()  # a copy of the 2020-12 checks, to add to
    checker.checkers = dict(jsonschema.Draft202012Validator.FORMAT_CHECKER.checkers)
    for form, check in _OWN_CHECKS.items():
        checker.checks(form)(check)
    jsonschema.Draft202012Validator(schema, format_checker=checker).validate(value)
    return value


def refusal(schema: dict[str, Any], agent: str) -> str:
    """What FakeProvider raises when agent ``agent`` asks it for a value of ``schema``."""
    request = ModelRequest("p", agent, "Go.", output_schema=schema)
    with pytest.raises(FakeProviderError) as caught:
        asyncio.run(FakeProvider().complete(request))
    return str(caught.value)


def test_each_format_is_written_as_its_format():
    for form in FORMATS:
        checked({"type": "string", "format": form})
    assert datetime.date.fromisoformat(checked({"type": "string", "format": "date"}))


@pytest.mark.parametrize("form", FORMATS)
def test_formatted_strings_differ_where_unique_items_asks(form):
    schema = {
        "type": "array",
        "items": {"type": "string", "format": form},
        "minItems": 5,
        "uniqueItems": True,
    }
    assert len(set(checked(schema))) == 5


@pytest.mark.parametrize("form", FORMATS)
def test_a_not_gets_another_formatted_string(form):
    simplest = fake_value({"type": "string", "format": form})
    schema = {"type": "string", "format": form, "not": {"enum": [simplest]}}
    assert checked(schema) != simplest


def test_an_email_of_a_minimum_length_is_still_an_email():
    value = checked({"type": "string", "format": "email", "minLength": 30, "maxLength": 40})
    assert value.endswith("@example.com") and len(value) == 30


def test_a_list_of_emails_runs_on_the_fake_provider():
    schema = {
        "type": "object",
        "properties": {
            "invitees": {
                "type": "array",
                "items": {"type": "string", "format": "email"},
                "minItems": 2,
                "uniqueItems": True,
            },
            "on": {"type": "string", "format": "date", "not": {"const": "2024-01-01"}},
        },
        "required": ["invitees", "on"],
    }
    pipeline = Agent("planner").instruct("Plan {topic}.").output(schema).writes("plan")
    plan = run(pipeline, provider=FakeProvider(), state={"topic": "lunch"}).state["plan"]
    assert len(set(plan["invitees"])) == 2 and plan["on"] != "2024-01-01"


@pytest.mark.parametrize(
    "parts",
    [
        ["^a", "b$"],
        ["b$", "^a"],
        ["^[A-Z]{2}", "\\d{3}$"],
        ["^[a-z0-9]+$", "\\d"],
        ["^\\d{3}$", "^[0-5]+$"],
        ["^.{3,}$", "^[a-z]+$", "x"],
    ],
)
def test_several_patterns_in_one_all_of_get_a_text_matching_each(parts):
    schema = {"type": "string", "allOf": [{"pattern": part} for part in parts]}
    value = checked(schema)
    assert all(re.search(part, value) for part in parts)


def test_a_pattern_with_lookaheads_gets_a_text_matching_it():
    """A password rule as schemas write it: a digit, a lower and an upper case letter."""
    schema = {"type": "string", "pattern": "^(?=.*\\d)(?=.*[a-z])(?=.*[A-Z]).{8,}$"}
    assert len(checked(schema)) >= 8


@given(st.lists(st.sampled_from(["^a", "b$", "\\d", "^[a-z0-9]+$", "^.{2,6}$", "c"]), max_size=4))
def test_patterns_split_across_all_of_get_a_text_matching_all_or_name_them(parts):
    schema = {"type": "string", "allOf": [{"pattern": part} for part in parts]}
    try:
        value = checked(schema)
    except UnsupportedSchema as error:
        assert error.keyword == "pattern" and all(repr(p) in str(error) for p in set(parts))
        return
    assert all(re.search(part, value) for part in parts)


def test_a_pattern_no_text_is_found_for_names_the_agent_the_place_and_the_patterns():
    code = {"allOf": [{"type": "string", "pattern": "^[a-z]+$"}, {"pattern": "\\d"}]}
    schema = {
        "type": "object",
        "properties": {
            "contacts": {
                "type": "array",
                "minItems": 2,
                "items": {"type": "object", "properties": {"code": code}, "required": ["code"]},
            }
        },
        "required": ["contacts"],
    }
    with pytest.raises(UnsupportedSchema) as info:
        fake_value(schema)
    assert info.value.path == ["contacts", 0, "code"]
    message = refusal(schema, "parser")
    assert "agent 'parser'" in message and "value['contacts'][0]['code']" in message
    assert "'^[a-z]+$' and '\\\\d'" in message and "responses={'parser'" in message


def test_pydantic_network_types_and_json_fields_get_values_pydantic_reads():
    """pydantic writes its own formats (``ipvanyaddress``, ``ipv4network``...) and
    ``Json[int]`` as JSON text of an integer: each answer is one the model validates."""
    from ipaddress import IPv4Network, IPv6Interface

    from pydantic import BaseModel, Field, IPvAnyAddress, IPvAnyInterface, Json

    class Hosts(BaseModel):
        hosts: list[IPvAnyAddress] = Field(min_length=3)
        subnet: IPv4Network
        link: IPv6Interface
        gateway: IPvAnyInterface
        port: Json[int]

    value = checked(Hosts.model_json_schema())
    Hosts.model_validate(value)
    assert isinstance(json.loads(value["port"]), int)


def test_a_formatted_string_no_value_is_found_for_names_the_agent_the_place_and_the_not():
    """Every date FakeProvider writes starts with 2: the error says where, and what refused."""
    when = {"type": "string", "format": "date", "not": {"pattern": "^2"}}
    schema = {"type": "object", "properties": {"when": when}, "required": ["when"]}
    message = refusal(schema, "planner")
    assert "agent 'planner'" in message and "value['when']" in message
    assert "'not' schema {'pattern': '^2'}" in message


@pytest.mark.parametrize(
    ("schema", "pattern"),
    [
        ({"type": "string", "format": "date"}, "^2030-"),
        ({"type": "string", "format": "date"}, "-12-"),
        ({"type": "string", "format": "date-time"}, "^1999"),
        ({"type": "string", "format": "time"}, "^12:"),
        ({"type": "string", "format": "ipv4"}, "^10\\."),
        ({"type": "string", "format": "email"}, "@acme\\.org$"),
        ({"allOf": [{"format": "date"}, {"type": "string", "pattern": "^2030-"}]}, "^2030-"),
    ],
)
def test_a_format_with_a_pattern_gets_a_text_of_both(schema, pattern):
    """A deadline "in 2030" is a date its pattern finds, not the pattern's text alone."""
    if "allOf" not in schema:
        schema = {**schema, "pattern": pattern}
    for seed in range(3):
        assert re.search(pattern, checked(schema, seed))


@pytest.mark.parametrize(
    "schema",
    [
        {"type": "string", "format": "email", "minLength": 30},
        {"type": "string", "format": "email", "maxLength": 8},
        {"type": "string", "format": "date-time", "minLength": 25},
        {"type": "string", "format": "time", "minLength": 12, "maxLength": 12},
        {"type": "string", "format": "ipv4", "minLength": 14},
        {"type": "string", "format": "hostname", "minLength": 30},
        {"type": "string", "format": "uri", "minLength": 40},
    ],
)
def test_a_format_with_length_bounds_it_can_meet_gets_a_text_within_them(schema):
    value = checked(schema)
    assert schema.get("minLength", 0) <= len(value) <= schema.get("maxLength", len(value))


def test_a_format_whose_texts_all_lie_outside_the_length_bounds_is_refused_naming_the_place():
    due = {"type": "string", "format": "date", "minLength": 20}
    schema = {"type": "object", "properties": {"due": due}, "required": ["due"]}
    with pytest.raises(UnsatisfiableSchema) as info:
        fake_value(schema)
    assert info.value.path == ["due"] and info.value.keyword == "format"
    message = refusal(schema, "planner")
    assert "agent 'planner'" in message and "value['due']" in message
    assert "'date' text is 10 characters long" in message and "minLength 20" in message
    assert "fix the schema" in message


def test_pydantic_uuid_versions_base64_and_colours_get_values_pydantic_reads():
    """pydantic writes ``uuid1``... ``base64`` and ``color`` formats: texts of each, which
    the model validates (a version-1 UUID, base64 of UTF-8 text, a hex colour)."""
    from pydantic import UUID1, UUID3, UUID4, UUID5, Base64Str, Base64UrlStr, BaseModel, Field
    from pydantic_extra_types.color import Color

    class Keys(BaseModel):
        first: UUID1
        named: UUID3
        sha: UUID5
        many: list[UUID4] = Field(min_length=3, json_schema_extra={"uniqueItems": True})
        blob: Base64Str
        url_blob: Base64UrlStr
        colours: list[Color] = Field(min_length=2, json_schema_extra={"uniqueItems": True})

    pipeline = Agent("keeper").instruct("Keys.").output(Keys).writes("keys")
    keys = Keys.model_validate(run(pipeline, provider=FakeProvider()).state["keys"])
    assert (keys.first.version, keys.named.version, keys.sha.version) == (1, 3, 5)
    assert len({key.version for key in keys.many}) == 1 and keys.blob == "text"


def test_dates_a_pattern_narrows_differ_where_unique_items_asks():
    """Deadlines in the 2030s, all different: the days after the first the pattern allows."""
    day = {"type": "string", "format": "date", "pattern": "^20[3-9][0-9]-"}
    dates = checked({"type": "array", "items": day, "minItems": 4, "uniqueItems": True})
    assert len(set(dates)) == 4 and all(date.startswith("203") for date in dates)
    other = checked({**day, "not": {"const": fake_value(day)}})
    assert other != fake_value(day) and other.startswith("203")
