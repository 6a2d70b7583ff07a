"""Findings of the third outside trial about output schemas, settings, route and loop
predicates, and retry feedback: each is refused (or warned about) where the pipeline is built,
with a message naming the agent or node and the fix, instead of failing after model calls."""

from __future__ import annotations

import json
import warnings
from typing import Any, Literal

import attrs
import pytest

from irgraph import Agent, Loop, PipelineError, Route, RunError, run, to_graph, validate
from irgraph.ir import FunctionRef, RouteCase, from_json, to_json
from irgraph.testing import FakeProvider

# 1. A $ref that does not resolve inside the schema -------------------------------------------

DANGLING = {
    "type": "object",
    "properties": {"sev": {"$ref": "#/$defs/Severity"}},
    "required": ["sev"],
}


@pytest.mark.parametrize(
    ("schema", "ref", "words"),
    [
        (DANGLING, "#/$defs/Severity", "which the schema does not define"),
        (
            {"$ref": "https://example.com/severity.json"},
            "https://example.com/severity.json",
            "never fetches",
        ),
        (
            {
                "$defs": {"A": {"type": "array", "items": {"$ref": "#/$defs/B"}}},
                "$ref": "#/$defs/A",
            },
            "#/$defs/B",
            "which the schema does not define",
        ),
    ],
)
def test_an_output_schema_with_a_ref_that_does_not_resolve_is_refused_at_output(
    schema: dict[str, Any], ref: str, words: str
) -> None:
    with pytest.raises(PipelineError) as info:
        Agent("extract").instruct("Extract {t}").output(schema, retries=2)
    message = str(info.value)
    assert info.value.node == "extract" and info.value.got == ref
    assert f"The output schema of 'extract' refers to {ref!r}" in message
    assert words in message and "$defs" in message and "inline" in message


def test_an_ir_file_with_a_dangling_ref_is_refused_when_read() -> None:
    text = to_json(Agent("extract").instruct("Extract.").output({"type": "string"}).to_ir())
    data = json.loads(text)
    data["root"]["output"] = DANGLING
    with pytest.raises(PipelineError, match="'extract' refers to '#/\\$defs/Severity'"):
        from_json(json.dumps(data))


@pytest.mark.parametrize(
    ("schema", "value"),
    [
        (
            {"$defs": {"S": {"enum": ["low"]}}, "properties": {"sev": {"$ref": "#/$defs/S"}}},
            {"sev": "low"},
        ),
        ({"$defs": {"S": {"$anchor": "sev", "enum": ["low"]}}, "$ref": "#sev"}, "low"),
        (
            {
                "$defs": {"L": {"type": "array", "items": {"$ref": "#/$defs/L"}}},
                "$ref": "#/$defs/L",
            },
            [[]],
        ),
        (
            {
                "$id": "https://example.com/root.json",
                "$defs": {"S": {"$id": "sev.json", "enum": ["low"]}},
                "$ref": "sev.json",
            },
            "low",
        ),
        (
            {
                "$schema": "http://json-schema.org/draft-07/schema#",
                "definitions": {"S": {"enum": ["low"]}},
                "$ref": "#/definitions/S",
            },
            "low",
        ),
    ],
)
def test_references_inside_the_schema_are_accepted_and_run(
    schema: dict[str, Any], value: Any
) -> None:
    agent = Agent("extract").instruct("Extract.").output(schema).writes("meta")
    fake = FakeProvider(responses={"extract": json.dumps(value)})
    assert run(agent, provider=fake).state["meta"] == value


@pytest.mark.parametrize(
    "ref",
    [
        "https://json-schema.org/draft/2020-12/schema",
        "http://json-schema.org/draft-07/schema#",
        "https://json-schema.org/draft/2020-12/meta/validation",
    ],
)
def test_a_ref_to_a_meta_schema_is_checked_offline_against_the_one_jsonschema_ships(
    ref: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import socket

    def offline(*args: Any) -> None:
        raise OSError("this test runs offline: no schema may be fetched")

    monkeypatch.setattr(socket.socket, "connect", offline)
    schema = {"type": "object", "properties": {"schema": {"$ref": ref}}, "required": ["schema"]}
    agent = Agent("design").instruct("Design.").output(schema, retries=1).writes("design")
    replies = ['{"schema": {"type": 3}}', '{"schema": {"type": "string"}}']
    fake = FakeProvider(responses={"design": replies})
    assert run(agent, provider=fake).state["design"] == {"schema": {"type": "string"}}
    assert fake.calls[1].feedback is not None  # {"type": 3} is no JSON Schema: asked again


# 2. A pydantic model with no JSON Schema; what a model's schema means --------------------------


class Thing:
    """A class pydantic has no JSON Schema for."""


def test_a_pydantic_model_without_a_json_schema_is_a_pipeline_error_naming_agent_and_model() -> (
    None
):
    from pydantic import BaseModel, ConfigDict
    from pydantic.errors import PydanticInvalidForJsonSchema

    class WithArbitrary(BaseModel):
        model_config = ConfigDict(arbitrary_types_allowed=True)
        thing: Thing

    with pytest.raises(PipelineError) as info:
        Agent("a").output(WithArbitrary)
    message = str(info.value)
    assert info.value.node == "a" and info.value.got is WithArbitrary
    assert message.startswith("The output model of 'a', ")
    assert "WithArbitrary, has no JSON Schema" in message and "Thing" in message
    assert "pass a JSON Schema dict" in message
    assert isinstance(info.value.__cause__, PydanticInvalidForJsonSchema)


def test_a_pydantic_model_is_checked_by_its_json_schema_only_and_stored_as_json_data() -> None:
    """What the docs say of .output(Model): validators do not run, the value is a dict."""
    from pydantic import BaseModel, field_validator

    class Even(BaseModel):
        n: int

        @field_validator("n")
        @classmethod
        def even(cls, value: int) -> int:
            if value % 2:
                raise ValueError("n must be even")
            return value

    with pytest.warns(UserWarning, match=r"Even\.even \(@field_validator\)"):
        agent = Agent("a").instruct("Count.").output(Even).writes("y")
    value = run(agent, provider=FakeProvider(responses={"a": '{"n": 3}'})).state["y"]
    assert value == {"n": 3} and type(value) is dict


# 3. Route and loop predicates that cannot take the state ----------------------------------------


def two(a: Any, b: Any) -> bool:
    return True


STEP = Agent("x").instruct("x").writes("o")
OTHER = Agent("y").instruct("y").writes("o")


@pytest.mark.parametrize(
    ("predicate", "shown", "failure"),
    [
        (two, "two(a, b)", "missing a required argument: 'b'"),
        (lambda: True, "<lambda>()", "too many positional arguments"),
        (lambda state, *, k: True, "<lambda>(state, *, k)", "missing a required argument: 'k'"),
    ],
)
def test_a_route_or_loop_predicate_that_cannot_take_the_state_is_refused_when_given(
    predicate: Any, shown: str, failure: str
) -> None:
    with pytest.raises(PipelineError) as info:
        Route("r").when(predicate, STEP)
    assert info.value.node == "r" and info.value.got is predicate
    assert str(info.value).startswith(f"Route 'r' calls its predicate {shown} with one ")
    assert failure in str(info.value) and ".when(lambda state: " in str(info.value)

    with pytest.raises(PipelineError) as info:
        Loop("l").step(STEP).until(predicate)
    assert info.value.node == "l"
    assert str(info.value).startswith(f"Loop 'l' calls its predicate {shown} with one ")
    assert failure in str(info.value) and ".until(lambda state: " in str(info.value)


@pytest.mark.parametrize("predicate", [lambda state: True, lambda s, extra=1: True, bool, len])
def test_predicates_callable_with_the_state_alone_are_accepted(predicate: Any) -> None:
    Route("r").when(predicate, STEP).otherwise(OTHER).to_ir()
    Loop("l").step(STEP).until(predicate).to_ir()


def test_a_predicate_named_by_path_is_checked_by_validate_when_its_module_is_imported() -> None:
    """An IR read from data names its predicate by path; validate checks it without
    importing anything, when the module is imported already (as this one is)."""
    ref = FunctionRef(f"{__name__}:two")
    loop = attrs.evolve(Loop("l").step(STEP).until(lambda s: True).to_ir(), until=ref)
    route = Route("r").when(lambda s: True, STEP).otherwise(OTHER).to_ir()
    route = attrs.evolve(route, cases=(RouteCase("test", ref), route.cases[1]))
    for node, kind, nid in ((loop, "Loop", "l"), (route, "Route", "r")):
        with pytest.raises(PipelineError, match=f"{kind} '{nid}' calls its predicate two\\("):
            validate(to_graph(node))


def test_a_bad_predicate_fails_before_any_model_call() -> None:
    fake = FakeProvider()
    with pytest.raises(PipelineError):
        run(Agent("first").instruct("go").writes("f") >> Route("r").when(two, STEP), provider=fake)
    assert fake.calls == []


# 4. Route advice that pointed at a call that cannot work -----------------------------------------


def _route_problem(schema: Any, value: Any) -> str:
    """The message of the one problem of a route comparing ``value`` with what an agent of
    output ``schema`` writes."""
    classify = Agent("cl").instruct("Classify {x}.").output(schema).writes("t")
    route = Route("r").on("t").when(value, Agent("f").writes("p")).otherwise(OTHER.writes("p"))
    with pytest.raises(PipelineError) as info:
        validate(to_graph(classify >> route, inputs={"x"}))
    (problem,) = info.value.problems
    assert problem.node == "r" and problem.key == "t"
    return str(problem)


@pytest.mark.parametrize(
    ("schema", "change"),
    [
        ({"type": "string"}, "add \"null\" to its type (e.g. 'type': ['string', 'null'])"),
        ({"type": "integer"}, "add \"null\" to its type (e.g. 'type': ['integer', 'null'])"),
        ({"enum": ["bug", "feature"]}, "add null to the enum of 'cl'"),
    ],
)
def test_when_none_on_a_key_never_null_says_so_and_never_suggests_the_string_null(
    schema: dict[str, Any], change: str
) -> None:
    message = _route_problem(schema, None)
    assert ".when('null'" not in message and "Write .when(" not in message
    assert f"No writer gives 't' null: to let it be null, {change}" in message
    assert ".when(lambda state: state.get('t') is None, ...)" in message


def test_a_value_compared_with_an_object_points_to_a_route_on_the_field() -> None:
    from pydantic import BaseModel

    class Ticket(BaseModel):
        title: str
        category: Literal["bug", "feature"]
        urgent: bool

    message = _route_problem(Ticket, "bug")
    assert "Use an object" not in message
    assert "A route compares 't' as a whole" in message
    assert "to compare its field 'category', route on it: .on('t.category')" in message
    message = _route_problem(Ticket, 7)  # no field holds it: a predicate on the first field
    assert "use a predicate: .when(lambda state: state['t']['title'] == 7, ...)" in message


def test_a_value_compared_with_a_list_points_to_a_membership_predicate() -> None:
    message = _route_problem({"type": "array", "items": {"type": "string"}}, "bug")
    assert "Use a list" not in message
    assert ".when(lambda state: 'bug' in state['t'], ...)" in message


# 5. Retry feedback quoting a very long reply ---------------------------------------------------


def test_feedback_on_a_very_long_reply_quotes_it_cut_and_says_so() -> None:
    agent = Agent("e").instruct("x {t}").output({"type": "integer"}, retries=1).writes("v")
    big = '"' + "start" + "x" * 100_000 + "end" + '"'
    fake = FakeProvider(responses={"e": [big, "3"]})
    assert run(agent, provider=fake, state={"t": 1}).state["v"] == 3
    feedback = fake.calls[1].feedback
    assert feedback is not None and len(feedback) < 5_000
    # Both quotes, the value in the schema error and the reply itself, keep start and end.
    assert feedback.count("characters cut ...]") == 2 and feedback.count("start") == 2
    assert "end' is not of type 'integer'" in feedback and "Previous reply: '\"start" in feedback


def test_a_run_that_fails_on_a_very_long_reply_says_so_briefly() -> None:
    agent = Agent("e").instruct("x {t}").output({"type": "integer"}, retries=1).writes("v")
    big = '"' + "x" * 100_000 + '"'
    with pytest.raises(RunError) as info:
        run(agent, provider=FakeProvider(responses={"e": [big, big]}), state={"t": 1})
    assert len(str(info.value)) < 3_000 and "is not of type 'integer'" in str(info.value)


def test_feedback_on_a_short_reply_quotes_it_whole() -> None:
    agent = Agent("e").instruct("x {t}").output({"type": "integer"}, retries=1).writes("v")
    fake = FakeProvider(responses={"e": ['"three"', "3"]})
    run(agent, provider=fake, state={"t": 1})
    assert fake.calls[1].feedback == (
        "Your previous reply was not usable: the reply does not match the output schema: "
        "'three' is not of type 'integer' (at the top level). Previous reply: '\"three\"'. "
        "Answer again with JSON that matches the schema, and nothing else."
    )


# 6. Misspelt model settings ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "meant"),
    [("temprature", "temperature"), ("max_token", "max_tokens"), ("topp", "top_p")],
)
def test_a_setting_close_to_a_known_one_warns_at_settings_naming_agent_setting_and_meant(
    name: str, meant: str
) -> None:
    with pytest.warns(UserWarning) as record:
        agent = Agent("w").instruct("hi").settings(**{name: 0.5})
    (warning,) = record
    message = str(warning.message)
    assert message.startswith(f"Agent 'w' has the setting {name!r}, which irgraph does not")
    assert f"did you mean {meant!r}?" in message and f".settings({meant}=...)" in message
    assert warning.filename == __file__  # it points at the .settings() call
    # Still sent: it may be a provider's own option.
    fake = FakeProvider()
    run(agent, provider=fake)
    assert fake.calls[0].settings == {name: 0.5}


@pytest.mark.parametrize(
    "values",
    [
        {"temperature": 0.2, "max_tokens": 100, "top_p": 0.5},
        {"top_k": 5, "min_p": 0.1, "max_completion_tokens": 50, "custom": [1]},
    ],
)
def test_known_and_unlike_settings_do_not_warn(values: dict[str, Any]) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        Agent("w").settings(**values)


def test_a_misspelt_setting_warns_once_not_on_every_later_settings_call() -> None:
    with pytest.warns(UserWarning):
        agent = Agent("w").settings(temprature=0.2)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        agent.settings(max_tokens=5)


def test_a_schema_warning_points_at_the_output_call() -> None:
    """``.output()`` is wrapped by the builders' keyword check: its warning must still point
    at the caller's line, not at the wrapper."""
    with pytest.warns(UserWarning, match="fix the bounds") as record:  # "n" may be left out
        Agent("w").instruct("hi").output(
            {"type": "object", "properties": {"n": {"type": "integer", "minimum": 3, "maximum": 1}}}
        )
    assert [warning.filename for warning in record] == [__file__]
