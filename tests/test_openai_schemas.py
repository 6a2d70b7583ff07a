"""OpenAI's structured-output mode takes only an object schema at the root: a string enum (the
routing guide's ``CATEGORIES``), an array or a root ``anyOf`` was sent as it is. Such a schema
is sent wrapped as ``{"value": <schema>}`` and the reply's value taken back out, so the agent
still writes the value its own schema describes. Checked end to end through the real
``openai`` client against the local test server."""

from __future__ import annotations

import asyncio
import pickle

import pytest

from irgraph import Agent, RunError, run
from irgraph.ir.output_replies import sent_text
from irgraph.openai_request import sent_schema, unwrapped_answer
from irgraph.providers import ModelRequest
from tests.support.openai_server import OpenAIServer, openai_server
from tests.test_openai_provider import collect, make
from tests.test_schema_bundle import resolves_alone

__all__ = ["openai_server"]  # the fixture, re-exported so pytest finds it here

CATEGORIES = {"type": "string", "enum": ["bug", "feature", "question"]}


def test_a_string_enum_is_sent_wrapped_and_its_value_written(openai_server: OpenAIServer):
    openai_server.reply = '{"value": "bug"}'
    agent = Agent("classify").instruct("Classify {t}.").output(CATEGORIES).writes("category")
    result = run(agent, provider=make(openai_server), state={"t": "a crash"})
    assert result.state["category"] == "bug"
    sent = openai_server.requests[0].body["response_format"]["json_schema"]["schema"]
    assert sent == {
        "type": "object",
        "properties": {"value": CATEGORIES},
        "required": ["value"],
        "additionalProperties": False,
    }


def test_definitions_stay_at_the_root_where_their_references_point():
    schema = {
        "type": "array",
        "items": {"$ref": "#/$defs/Tag"},
        "$defs": {"Tag": {"enum": ["a", "b"]}},
    }
    sent = sent_schema(schema)
    assert sent["$defs"] == schema["$defs"]
    assert sent["properties"]["value"] == {"type": "array", "items": {"$ref": "#/$defs/Tag"}}
    import jsonschema

    jsonschema.validate({"value": ["a", "b"]}, sent)  # the references resolve


def test_an_object_schema_is_sent_as_it_is():
    schema = {"type": "object", "properties": {"n": {"type": "integer"}}}
    assert sent_schema(schema) == schema


def test_a_server_answering_the_bare_value_is_still_understood(openai_server: OpenAIServer):
    openai_server.reply = '"feature"'  # a compatible server that ignored the wrapper
    agent = Agent("classify").instruct("Classify.").output(CATEGORIES).writes("category")
    assert run(agent, provider=make(openai_server)).state["category"] == "feature"


def test_a_wrapped_reply_streams_as_its_value(openai_server: OpenAIServer):
    openai_server.reply = '{"value": ["a", "b"]}'
    openai_server.chunks = ['{"va', 'lue": ["a",', ' "b"]}']
    request = ModelRequest("t", "t", "Tags.", output_schema={"type": "array"})
    chunks = asyncio.run(collect(make(openai_server).stream(request)))
    assert "".join(chunks) == '["a", "b"]'


def test_references_to_the_schemas_own_root_follow_it_under_value():
    """'#' and '#/items' pointed at the wrapper after wrapping (a different schema, or none)."""
    import jsonschema

    recursive = {"type": "array", "items": {"anyOf": [{"type": "string"}, {"$ref": "#"}]}}
    jsonschema.validate({"value": ["a", ["b", ["c"]]]}, sent_schema(recursive))
    nested = {
        "type": "array",
        "items": {
            "type": "object",
            "properties": {"kids": {"type": "array", "items": {"$ref": "#/items"}}},
        },
    }
    jsonschema.validate({"value": [{"kids": [{"kids": []}]}]}, sent_schema(nested))
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"value": [{"kids": [5]}]}, sent_schema(nested))


@pytest.mark.parametrize("stream", [False, True])
def test_feedback_and_the_error_quote_the_wrapped_reply_the_model_sent(
    openai_server: OpenAIServer, stream: bool
):
    openai_server.reply = '{"value": "crash"}'  # not in the enum, each time
    agent = Agent("classify").instruct("Classify.").output(CATEGORIES, retries=1)
    with pytest.raises(RunError) as caught:
        run(agent.writes("category"), provider=make(openai_server), chunks=stream)
    again = openai_server.requests[1].body["messages"][-1]["content"]
    assert 'Previous reply: \'{"value": "crash"}\'' in again
    assert 'The last reply was \'{"value": "crash"}\'' in str(caught.value)


def test_a_taken_out_value_keeps_what_was_sent_through_pickle():
    reply = unwrapped_answer('{"value": "bug"}')
    assert pickle.loads(pickle.dumps(reply)) == '"bug"'
    assert sent_text(pickle.loads(pickle.dumps(reply))) == '{"value": "bug"}'


def test_a_definition_referring_to_the_root_follows_it_under_value():
    """'#' in a definition pointed at the wrapper (an object) once the root moved under value."""
    import jsonschema

    tree = {
        "type": "array",
        "items": {"$ref": "#/$defs/Node"},
        "$defs": {"Node": {"anyOf": [{"type": "string"}, {"$ref": "#"}]}},
    }
    jsonschema.validate({"value": ["a", ["b", ["c"]]]}, sent_schema(tree))
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"value": ["a", [5]]}, sent_schema(tree))


META_2020 = "https://json-schema.org/draft/2020-12/schema"


def test_a_meta_schema_reference_is_sent_with_the_meta_schema_in_it(openai_server: OpenAIServer):
    """An agent that writes a JSON Schema: the server is sent the 2020-12 meta-schema itself
    (its vocabularies and dynamic references made local), which it need not fetch."""
    import jsonschema

    openai_server.reply = '{"value": {"type": "string"}}'
    agent = Agent("design").instruct("A schema for {t}.").output({"$ref": META_2020})
    result = run(agent.writes("schema"), provider=make(openai_server), state={"t": "names"})
    assert result.state["schema"] == {"type": "string"}
    sent = openai_server.requests[0].body["response_format"]["json_schema"]["schema"]
    resolves_alone(sent)
    assert "draft_2020-12_meta_applicator" in sent["$defs"]
    check = jsonschema.Draft202012Validator(sent)
    assert check.is_valid({"value": {"type": "object", "properties": {"n": {"type": "integer"}}}})
    assert not check.is_valid({"value": {"type": 5}})
    assert not check.is_valid({"value": {"properties": {"n": {"minLength": -1}}}})  # nested


def test_a_draft_07_reference_inside_an_object_schema_points_at_its_copy(
    openai_server: OpenAIServer,
):
    schema = {
        "type": "object",
        "properties": {"schema": {"$ref": "http://json-schema.org/draft-07/schema#"}},
        "$defs": {"draft-07_schema": {"type": "string"}},  # a name of the user's own: kept
    }
    openai_server.reply = '{"schema": {"type": "integer", "minimum": 0}}'
    agent = Agent("design").instruct("A schema.").output(schema).writes("answer")
    assert run(agent, provider=make(openai_server)).state["answer"]["schema"]["minimum"] == 0
    sent = openai_server.requests[0].body["response_format"]["json_schema"]["schema"]
    resolves_alone(sent)
    assert sent["properties"]["schema"] == {"$ref": "#/$defs/draft-07_schema_2"}
    assert sent["$defs"]["draft-07_schema"] == {"type": "string"}
    assert sent["$defs"]["draft-07_schema_2"]["properties"]["minimum"] == {"type": "number"}
