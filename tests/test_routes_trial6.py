"""Findings of the sixth outside trial (routes and structured outputs): a misspelt schema
keyword (``enums``) was ignored silently, switching the route checks off; a schema no value
satisfies passed; a second ``.on()`` replaced the first; ``.when(nan)`` named no route."""

from __future__ import annotations

import math
import re
import warnings
from typing import Any, Literal

import pytest

from irgraph import Agent, PipelineError, Route, to_graph, validate
from irgraph.ir import AgentNode


@pytest.mark.parametrize(
    ("schema", "word", "meant", "where"),
    [
        ({"type": "string", "enums": ["bug"]}, "enums", "enum", "the top level"),
        ({"type": "string", "Enum": ["bug"]}, "Enum", "enum", "the top level"),
        ({"type": "object", "requried": ["a"]}, "requried", "required", "the top level"),
        # four letters, one off or two swapped: too short for difflib's 0.8
        ({"type": "string", "enun": ["bug"]}, "enun", "enum", "the top level"),
        ({"tpye": "string", "enum": ["bug"]}, "tpye", "type", "the top level"),
        ({"type": "string", "enum": ["a"], "Tpye": "x"}, "Tpye", "type", "the top level"),
        (
            {"type": "array", "items": {"type": "integer", "minimun": 3}},
            "minimun",
            "minimum",
            "/items",
        ),
    ],
)
def test_a_misspelt_schema_keyword_is_warned_of_when_given_and_by_validate(
    schema, word, meant, where
):
    said = f"has {word!r} (at {where}), which JSON Schema does not know; did you mean {meant!r}?"
    with pytest.warns(UserWarning, match=None) as caught:
        agent = Agent("c").instruct("Classify.").output(schema).writes("k")
    assert any(said in str(w.message) for w in caught)
    assert any(said in w for w in validate(to_graph(agent)))


def test_a_property_named_like_a_keyword_is_no_misspelling():
    schema = {"type": "object", "properties": {"enums": {"type": "string"}}}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        agent = Agent("c").instruct("Classify.").output(schema).writes("k")
    assert validate(to_graph(agent)) == []


def refused_both_ways(schema: dict, said: str) -> None:
    """``schema`` fails every reply: ``.output()`` refuses it, naming the agent, and so does
    ``validate`` for IR built without the builder, before any call is paid for."""
    with pytest.raises(PipelineError, match=re.escape(said)) as caught:
        Agent("c").instruct("Classify.").output(schema)
    assert caught.value.node == "c" and "the run would fail at this agent" in str(caught.value)
    G = to_graph(AgentNode("c", "Classify.", writes="k", output=schema))
    with pytest.raises(PipelineError, match=re.escape(said)) as caught:
        validate(G)
    assert caught.value.node == "c"


@pytest.mark.parametrize(
    "schema",
    [
        {"type": "string", "enum": [1, 2]},
        {"enum": []},
        {"type": "integer", "const": "a"},
        {"allOf": [{"type": "string"}, {"type": "integer"}]},
    ],
)
def test_a_schema_no_value_satisfies_is_refused_before_any_call(schema):
    refused_both_ways(schema, "allows no value at all")


@pytest.mark.parametrize(
    ("schema", "said"),
    [
        ({"type": "integer", "minimum": 5, "maximum": 1}, "the top level asks for a number"),
        ({"type": "array", "minItems": 4, "maxItems": 2}, "asks for an array's length"),
        (
            {
                "type": "object",
                "properties": {"name": {"type": "string", "minLength": 3, "maxLength": 2}},
                "required": ["name"],
            },
            "/properties/name asks for a string's length",
        ),
    ],
)
def test_bounds_no_value_is_within_every_reply_must_meet_are_refused(schema, said):
    """``Field(ge=5, le=1)`` (minimum 5, maximum 1) or minLength over maxLength passed
    without a word, and every reply then failed the schema at run time."""
    refused_both_ways(schema, said)


@pytest.mark.parametrize(
    ("schema", "said"),
    [
        (  # a reply may leave the property out
            {"type": "object", "properties": {"name": {"minLength": 3, "maxLength": 2}}},
            "/properties/name asks for a string's length",
        ),
        (  # required, but of any type: a number has no length
            {
                "type": "object",
                "properties": {"name": {"minLength": 3, "maxLength": 2}},
                "required": ["name"],
            },
            "/properties/name asks for a string's length",
        ),
        (  # any value but a number passes minimum and maximum
            {"minimum": 5, "maximum": 1},
            "the top level asks for a number",
        ),
        (  # a reply need not be an object: "properties" and "required" bind objects only
            {
                "properties": {"n": {"type": "integer", "minimum": 5, "maximum": 1}},
                "required": ["n"],
            },
            "/properties/n asks for a number",
        ),
    ],
)
def test_bounds_some_replies_escape_are_warned_of(schema, said):
    with pytest.warns(UserWarning, match=said):
        agent = Agent("c").instruct("Classify.").output(schema).writes("k")
    assert any(said in w and "no reply can match" in w for w in validate(to_graph(agent)))


def test_a_pydantic_field_whose_bounds_cross_is_refused():
    import pydantic

    class Verdict(pydantic.BaseModel):
        score: int = pydantic.Field(ge=5, le=1)

    with pytest.raises(PipelineError, match="/properties/score asks for a number of at least 5"):
        Agent("c").instruct("Score.").output(Verdict).writes("k")


@pytest.mark.parametrize(
    ("field", "said"),
    [
        ({"gt": 5, "lt": 5}, "an integer above 5 (exclusiveMinimum) and below 5"),
        ({"ge": 5, "lt": 5}, "an integer at least 5 (minimum) and below 5 (exclusiveMaximum)"),
        ({"gt": 1, "lt": 2}, "an integer above 1 (exclusiveMinimum) and below 2"),
        (
            {"type": "integer", "minimum": 1.2, "maximum": 1.8},  # pydantic takes no int bound
            "an integer at least 1.2 (minimum) and at most 1.8 (maximum)",
        ),
        ({"ge": 1, "le": 4, "multiple_of": 5}, "a multiple of 5 at least 1 (minimum)"),
    ],
)
def test_bounds_that_shut_out_every_value_of_the_type_are_told(field, said):
    """Only bounds that cross (minimum 5, maximum 1) were told: a pydantic Field(gt=5, lt=5),
    or an integer between 1 and 2 exclusive, passed without a word, and every reply failed the
    schema at run time (FakeProvider said so, at the run: no integer lies between them)."""
    import pydantic

    if "type" in field:  # a property a reply may leave out: a warning
        schema: Any = {"type": "object", "properties": {"score": field}}
        with pytest.warns(UserWarning, match=re.escape(f"/properties/score asks for {said}")):
            agent = Agent("c").instruct("Score.").output(schema).writes("k")
        assert any("which none is, so no reply can match" in w for w in validate(to_graph(agent)))
        return
    # the model's field is required: every reply would fail, refused before any call
    schema = pydantic.create_model("Verdict", score=(int, pydantic.Field(**field)))
    with pytest.raises(PipelineError, match=re.escape(f"/properties/score asks for {said}")) as e:
        Agent("c").instruct("Score.").output(schema).writes("k")
    assert "every reply fails the schema" in str(e.value)


@pytest.mark.parametrize(
    "schema",
    [
        {"type": "integer", "exclusiveMinimum": 1, "maximum": 2},  # 2
        {"type": "number", "exclusiveMinimum": 1, "exclusiveMaximum": 1.001},
        {"type": "number", "minimum": 5, "maximum": 5},  # 5
        {"type": "number", "minimum": 0.1, "maximum": 0.3, "multipleOf": 0.2},  # 0.2
        {"type": "integer", "minimum": 1, "maximum": 9, "multipleOf": 1.5},  # 3, beyond it
        {"exclusiveMinimum": 5, "exclusiveMaximum": 5},  # any string
        {"type": ["integer", "string"], "exclusiveMinimum": 5, "exclusiveMaximum": 5},
    ],
)
def test_bounds_some_value_is_within_are_not_warned_of(schema):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        Agent("c").instruct("Score.").output(schema).writes("k")


def test_a_second_on_is_refused_rather_than_replacing_the_first():
    with pytest.raises(PipelineError, match=r"Route 't' already compares 'a'") as caught:
        Route("t").on("a").on("b")
    assert caught.value.node == "t"
    assert Route("t").on("a").on("a").when("x", Agent("x")).to_ir().on == "a"


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_a_non_finite_when_value_is_refused_naming_the_route(value):
    with pytest.raises(PipelineError, match="which is no JSON value") as caught:
        Route("t").on("n").when(value, Agent("x"))
    assert caught.value.node == "t"


def test_the_other_spelling_is_offered_only_when_the_schema_allows_it():
    writer = Agent("c").instruct("Rate.").output({"type": "integer", "minimum": 10}).writes("n")

    def told(value):
        route = Route("r").on("n").when(value, Agent("f")).otherwise(Agent("g"))
        with pytest.raises(PipelineError) as caught:
            validate(to_graph(writer >> route))
        return str(caught.value)

    assert "Write .when(15, ...)" in told("15")
    assert "Write .when(5" not in told("5") and "Use an integer" in told("5")


def test_a_stop_key_a_route_writes_on_some_branches_only_is_warned_of():
    from irgraph import Loop

    done = Agent("d").instruct("{ticket}").output({"type": "boolean"}).writes("done")
    route = Route("first").on("kind").when("a", done).otherwise(Agent("reply").instruct("r"))
    loop = Loop("l").step(route).until("done").max_iterations(2)
    said = validate(to_graph(loop, inputs={"ticket", "kind"}))
    assert said == [
        "Loop 'l' stops on 'done', but route 'first' writes it only on some branches (its "
        "branch otherwise does not): an iteration that takes them leaves it unset, and the "
        "loop does not stop early then."
    ]
    every = Route("first").on("kind").when("a", done).otherwise(done)
    assert validate(to_graph(Loop("l").step(every).until("done").max_iterations(2),
                             inputs={"ticket", "kind"})) == []  # fmt: skip


def test_parallel_writers_of_a_routes_key_both_count_for_its_value_check():
    """Beside the clash itself, the route check said 'bug' could never come, reading only
    the last branch's enum."""
    enum = {"type": "string", "enum": ["bug", "feature"]}
    classify = Agent("classify").instruct("{ticket}").output(enum).writes("category")
    other = Agent("c2").instruct("{ticket}").output({"type": "string", "enum": ["x"]})
    route = Route("r").on("category").when("x", Agent("f")).when("bug", Agent("g"))
    with pytest.raises(PipelineError) as caught:
        validate(to_graph((classify | other.writes("category")) >> route, inputs={"ticket"}))
    assert len(caught.value.problems) == 1
    assert "both write 'category'" in str(caught.value)


@pytest.mark.parametrize(
    ("given", "fix"),
    [
        ("string", ".output({'type': 'string'})"),
        (int, "Write int as its JSON Schema: .output({'type': 'integer'})"),
        (list[str], ".output({'items': {'type': 'string'}, 'type': 'array'})"),
        (Literal["bug", "feature"], ".output({'enum': ['bug', 'feature'], 'type': 'string'})"),
        (None, "E.g. .output({'type': 'string', 'enum': ['bug', 'feature']})"),
    ],
)
def test_a_type_given_for_a_schema_is_told_as_the_schema_to_write(given, fix):
    """``.output(list[str])``, ``.output(int)`` or ``.output("string")``, as other frameworks
    take an output type, were told only that a schema dict or model class was wanted, with an
    enum of strings for an example whatever the type."""
    with pytest.raises(PipelineError, match="must be a JSON Schema dict or a pydantic") as refused:
        Agent("c").output(given)
    assert fix in str(refused.value)


def test_a_pydantic_instance_given_for_a_schema_is_told_to_pass_its_class():
    import pydantic

    class Verdict(pydantic.BaseModel):
        kind: str

    with pytest.raises(PipelineError, match=r"Pass the model class, not an instance of it: "):
        Agent("c").output(Verdict(kind="bug"))
    assert Agent("c").output(Verdict).to_ir().output["required"] == ["kind"]


@pytest.mark.parametrize(
    ("schema", "said"),
    [
        (
            {
                "type": "object",
                "properties": {"k": {"type": "string", "enum": [1]}},
                "required": ["k"],
            },
            "at the top level requires 'k', whose schema allows no value at all",
        ),
        (
            {"type": "array", "items": {"enum": []}, "minItems": 2},
            "asks for at least 2 items (minItems), whose schema allows no value at all",
        ),
    ],
)
def test_a_part_a_reply_must_hold_that_allows_no_value_is_refused(schema, said):
    """A schema allowing no value was told only at the top level: a required property or
    the items of a non-empty array allowing none passed, and every reply failed at run time."""
    refused_both_ways(schema, said)


def test_such_a_part_of_a_part_a_reply_may_leave_out_is_warned_of():
    inner = {"type": "object", "properties": {"k": {"enum": []}}, "required": ["k"]}
    with pytest.warns(UserWarning, match="requires 'k', whose schema allows no value at all"):
        agent = (
            Agent("c")
            .instruct("Extract.")
            .output({"type": "object", "properties": {"meta": inner}})
        )
    assert any("no reply can match that part" in w for w in validate(to_graph(agent.writes("k"))))


@pytest.mark.parametrize(
    "schema",
    [
        {"type": "object", "properties": {"k": {"type": "string", "enum": [1]}}},  # optional
        {"type": "array", "items": {"enum": []}},  # may be empty
    ],
)
def test_a_part_a_reply_may_leave_out_is_not_warned_of_as_matching_nothing(schema):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        Agent("c").instruct("Extract.").output(schema).writes("k")
