"""A route's compared values are checked against every writer that may have set its key.

The walk knows a key's possible writers (a route's branches, the writer before a route that
writes the key on some branches, transitively); a value is refused only when none of them can
write it, and nothing is checked when one of them may write anything (an input, a transform,
an agent without a schema, or the initial state where a route may leave the key unset).
Values are checked against an output schema's ``type``, ``enum``, ``const``, local ``$ref``,
``allOf``, ``anyOf`` and ``oneOf``, as a route compares them (``1 == 1.0``, ``True != 1``):
a value is refused only when no value the schema allows could equal it. (Constraints such as
``pattern`` and ``maximum``, and ``not``: ``tests/test_route_constraints.py``.)
"""

from __future__ import annotations

import enum
from typing import Any

import jsonschema
import pytest

from irgraph import Agent, Loop, PipelineError, Route, Transform, run, to_graph, validate
from irgraph.ir import AgentNode, SequenceNode
from irgraph.ir.outputs import schema_enum, schema_values
from irgraph.ir.values import canonical
from irgraph.testing import FakeProvider


def classifier(name: str, schema: Any = None, key: str = "k") -> Agent:
    agent = Agent(name).instruct("Classify {text}.")
    if schema is not None:
        agent = agent.output(schema if isinstance(schema, (dict, type)) else {"enum": schema})
    return agent.writes(key)


def act(*values: Any, otherwise: bool = False, name: str = "act") -> Route:
    route = Route(name).on("k")
    for index, value in enumerate(values):
        route = route.when(value, Agent(f"{name}{index}").instruct("Act.").writes("q"))
    if otherwise:
        route = route.otherwise(Agent(f"{name}_else").instruct("Else.").writes("q"))
    return route


def pick(en: Any, other: Any) -> Route:
    return Route("pick").on("lang").when("en", en).otherwise(other)


def aside() -> Agent:
    return Agent("aside").instruct("Note {text}.").writes("note")


def found(pipeline: Any, inputs: Any = ("lang", "text")) -> tuple[list[dict[str, Any]], list[str]]:
    G = to_graph(pipeline, inputs=set(inputs))
    return G.graph["problems"], G.graph["warnings"]


def refused(pipeline: Any, inputs: Any = ("lang", "text")) -> list[dict[str, Any]]:
    problems, _ = found(pipeline, inputs)
    assert problems, "expected the route check to refuse the pipeline"
    for problem in problems:
        assert problem["node"] == "act" and problem["key"] == "k" and problem["hint"]
        assert "Route 'act' has a branch for " in problem["message"]
        assert "so that branch can never run" in problem["message"]
    return problems


# 1. Every possible writer, not one at a time -----------------------------------------------


def test_the_reported_pipeline_is_valid_and_runs_the_branch_of_the_value_written():
    both = pick(classifier("c1", ["x", "y"]), classifier("c2", ["z"]))
    pipeline = both >> act("x", "y", "z")
    assert validate(to_graph(pipeline, inputs={"lang", "text"})) == []
    done = run(pipeline, provider=FakeProvider(), state={"lang": "fr", "text": "t"})
    assert done.state["k"] == "z" and "act2" in done.state["q"]


def test_a_value_no_branch_writer_can_write_is_refused_naming_them_all():
    both = pick(classifier("c1", ["x", "y"]), classifier("c2", ["z"]))
    (problem,) = refused(both >> act("x", "y", "z", "w"))
    assert problem["message"] == (
        'Route \'act\' has a branch for "w", but \'k\' can only be one of "x", "y", "z" '
        "(what agents 'c1' and 'c2' may write there), so that branch can never run."
    )
    assert problem["hint"] == (
        'Use one of "x", "y", "z", or add "w" to the output schema of \'c1\' or \'c2\'.'
    )


def test_values_no_writer_writes_warn_once_naming_every_writer():
    both = pick(classifier("c1", ["x", "y"]), classifier("c2", ["y", "z"]))
    problems, (warning,) = found(both >> act("x", "y"))
    assert problems == []
    assert warning == (
        "Route 'act' has no branch for \"z\" (values agents 'c1' and 'c2' may write to 'k') "
        "and no otherwise, so the run fails if it gets one; add .when(...) for each, or "
        ".otherwise(step)."
    )
    assert found(both >> act("x", "y", "z")) == ([], [])


def test_the_writer_before_a_route_that_writes_the_key_on_some_branches_counts_too():
    some = pick(classifier("c2", ["z"]), aside())
    assert found(classifier("c1", ["x", "y"]) >> some >> act("x", "y", "z")) == ([], [])
    (problem,) = refused(classifier("c1", ["x", "y"]) >> some >> act("x", "w", otherwise=True))
    assert '\'k\' can only be one of "x", "y", "z"' in problem["message"]
    assert "agents 'c1' and 'c2'" in problem["message"]


def test_a_loop_whose_body_writes_the_key_only_on_some_branches_keeps_the_earlier_writer():
    body = Loop("l").step(pick(classifier("c2", ["z"]), aside())).max_iterations(2)
    pipeline = classifier("c1", ["x", "y"]) >> body >> act("x", "y", "z")
    problems, _ = found(pipeline)
    assert problems == []
    (problem,) = refused(classifier("c1", ["x", "y"]) >> body >> act("x", "y", "z", "w"))
    assert "agents 'c1' and 'c2'" in problem["message"]


def test_writers_are_followed_through_several_routes():
    first = Route("r1").on("lang").when("en", classifier("c0", ["a"]))
    first = first.otherwise(classifier("c1", ["b"]))
    second = Route("r2").on("text").when("t", classifier("c2", ["c"])).otherwise(aside())
    assert found(first >> second >> act("a", "b", "c")) == ([], [])
    (problem,) = refused(first >> second >> act("a", "b", "c", "d"))
    message = problem["message"]
    assert "can only be one of \"a\", \"b\", \"c\" (what agents 'c0', 'c1' and 'c2'" in message


def test_an_input_a_branch_may_overwrite_is_not_checked():
    some = pick(classifier("c2", ["z"]), aside())
    # Declared: the key is an input, or the enum agent's value.
    assert found(some >> act("x", "z"), inputs=("lang", "text", "k")) == ([], [])
    # Undeclared: the run's initial state may hold it, as here.
    pipeline = some >> act("x", "z")
    assert validate(to_graph(pipeline), allow_unbound=True) == []
    done = run(pipeline, provider=FakeProvider(), state={"lang": "fr", "text": "t", "k": "x"})
    assert "act0" in done.state["q"]


def first_word(lang: str) -> str:
    return "w"


def test_a_transform_or_a_plain_agent_on_another_branch_turns_the_check_off():
    transform = Transform("t", first_word).reads("lang").writes("k")
    assert found(pick(classifier("c2", ["z"]), transform) >> act("z", "w")) == ([], [])
    problems, warnings = found(pick(classifier("c2", ["z"]), classifier("p")) >> act("z", "w"))
    # The free-text writer still gets its warning, and nothing else is said.
    assert problems == [] and len(warnings) == 1
    assert "agent 'p' writes it as free text" in warnings[0]


def test_an_agent_with_an_empty_schema_may_write_anything_and_is_not_free_text():
    problems, warnings = found(pick(classifier("c2", ["z"]), classifier("any", {})) >> act("w"))
    assert problems == [] and warnings == []


def test_a_route_in_a_loop_sees_what_the_body_wrote_on_the_previous_iteration():
    body = Loop("l").step(act("x", "z", otherwise=True) >> classifier("c2", ["z"]))
    assert found(classifier("c1", ["x"]) >> body.max_iterations(3))[0] == []


def test_a_route_in_a_loop_still_refuses_what_no_writer_of_the_body_makes():
    body = Loop("l").step(act("x", "q", otherwise=True) >> classifier("c2", ["z"]))
    (problem,) = refused(classifier("c1", ["x"]) >> body.max_iterations(3))
    assert all(part in problem["message"] for part in ('"q"', "'c1'", "'c2'"))


def test_one_enum_writer_keeps_its_message_word_for_word():
    category = {"type": "string", "enum": ["bug", "feature", "question"]}
    classify = Agent("classify").instruct("Classify {ticket}.").output(category)
    fix = Agent("fix").instruct("Fix {ticket}.").writes("patch")
    reply = Agent("reply").instruct("Reply to {ticket}.").writes("reply")
    triage = Route("triage").on("category").when("bugs", fix).otherwise(reply)
    with pytest.raises(PipelineError) as caught:
        validate(to_graph(classify.writes("category") >> triage, inputs={"ticket"}))
    assert str(caught.value) == (
        "Route 'triage' has a branch for \"bugs\", but 'category' can only be one of \"bug\", "
        '"feature", "question" (the enum of agent \'classify\'), so that branch can never '
        'run. Use one of "bug", "feature", "question", or add "bugs" to the enum of '
        "'classify'."
    )


# 2. Types, $ref, const ---------------------------------------------------------------------


def test_a_string_on_an_integer_schema_is_refused_with_the_number_to_write_instead():
    (problem,) = refused(classifier("n", {"type": "integer"}) >> act("1", 1, 2.0))
    assert problem["message"] == (
        "Route 'act' has a branch for \"1\", but 'k' can only be an integer (the output "
        "schema of agent 'n'), so that branch can never run."
    )
    assert problem["hint"].startswith("Write .when(1, ...): a route compares JSON values")


def test_numbers_compare_by_value_and_a_boolean_is_never_a_number():
    problems = refused(classifier("n", {"type": "integer"}) >> act(1, 2.0, 2.5, True))
    assert [p["message"].split(",")[0] for p in problems] == [
        "Route 'act' has a branch for 2.5",
        "Route 'act' has a branch for true",
    ]
    assert found(classifier("n", {"type": "number"}) >> act(1, 2.5, -3.0)) == ([], [])
    (problem,) = refused(classifier("n", {"type": "number"}) >> act(1, False))
    assert "can only be a number" in problem["message"]


def test_a_boolean_schema_refuses_strings_and_numbers_and_warns_of_the_value_left_over():
    flag = classifier("ok", {"type": "boolean"})
    problems = refused(flag >> act("true", 1, True, otherwise=True))
    assert [p["message"].split(",")[0] for p in problems] == [
        "Route 'act' has a branch for \"true\"",
        "Route 'act' has a branch for 1",
    ]
    message = problems[0]["message"]
    assert "can only be one of true, false (the output schema of agent 'ok')" in message
    assert problems[0]["hint"].startswith("Write .when(True, ...)")
    problems, (warning,) = found(flag >> act(True))
    assert problems == []
    assert warning == (
        "Route 'act' has no branch for false (values agent 'ok' may write to 'k') and no "
        "otherwise, so the run fails if it gets one; add .when(...) for each, or "
        ".otherwise(step)."
    )
    assert found(flag >> act(True, False)) == ([], [])


class Colour(enum.StrEnum):
    RED = "red"
    BLUE = "blue"


def test_an_enum_behind_a_ref_is_checked_as_an_inline_one():
    ref = {"$defs": {"C": {"enum": ["red", "blue"]}}, "$ref": "#/$defs/C"}
    (problem,) = refused(classifier("c", ref) >> act("red", "green", otherwise=True))
    message = problem["message"]
    assert 'a branch for "green", but \'k\' can only be one of "red", "blue"' in message
    _, (warning,) = found(classifier("c", ref) >> act("red"))
    assert 'no branch for "blue"' in warning
    pydantic = pytest.importorskip("pydantic")
    root = pydantic.RootModel[Colour]
    (problem,) = refused(classifier("c", root) >> act("red", "green", otherwise=True))
    assert 'one of "red", "blue" (the output schema of agent \'c\')' in problem["message"]
    maybe = pydantic.TypeAdapter(Colour | None).json_schema()
    assert found(classifier("c", maybe) >> act("red", "blue", None)) == ([], [])
    (problem,) = refused(classifier("c", maybe) >> act("red", "blue", None, "green"))
    assert 'can only be one of "red", "blue", null' in problem["message"]


def test_const_and_a_string_type_are_checked():
    (problem,) = refused(classifier("c", {"const": "go"}) >> act("go", "stop"))
    assert "'k' can only be \"go\" (the output schema of agent 'c')" in problem["message"]
    (problem,) = refused(classifier("c", {"type": "string"}) >> act("1", 1, otherwise=True))
    assert "a branch for 1, but 'k' can only be a string" in problem["message"]
    assert problem["hint"].startswith("Write .when('1', ...)")
    nullable = {"type": ["string", "null"]}
    (problem,) = refused(classifier("c", nullable) >> act("a", None, 1, otherwise=True))
    assert "can only be a string, or null" in problem["message"]


@pytest.mark.parametrize(
    ("schema", "values"),
    [
        ({}, ["a", 1, None]),
        # Draft 7: $ref replaces its siblings, so the enum's 1 is allowed despite "type".
        (
            {
                "$schema": "http://json-schema.org/draft-07/schema#",
                "definitions": {"C": {"enum": ["a", 1]}},
                "$ref": "#/definitions/C",
                "type": "string",
            },
            ["a", 1],
        ),
    ],
)
def test_what_the_check_cannot_tell_is_let_through(schema, values):
    assert found(classifier("c", schema) >> act(*values, otherwise=True))[0] == []


def test_a_schema_looping_on_itself_tells_no_values_and_is_refused_where_given():
    looping = {"$ref": "#/$defs/Loop", "$defs": {"Loop": {"$ref": "#/$defs/Loop"}}}
    assert schema_values(looping) is None  # nothing the route check could go by
    with pytest.raises(PipelineError, match="refers to itself without end"):
        classifier("c", looping)  # tests/test_schema_ref_loops.py


#: Schemas and the values compared with them: a value is refused only when no value that
#: validates against the schema equals it as a route compares (1 == 1.0, True != 1).
SCHEMAS = [
    {"type": "integer"},
    {"type": "number"},
    {"type": "string"},
    {"type": "boolean"},
    {"type": "null"},
    {"type": ["integer", "boolean"]},
    {"type": "object"},
    {"type": "array"},
    {"enum": ["a", 1, True, None]},
    {"enum": [1.0, "b"]},
    {"const": 2},
    {"type": "string", "enum": ["a", 1]},
    {"type": "integer", "enum": [1.5, 2.0, "2"]},
    {"allOf": [{"type": "number"}, {"type": "integer"}]},
    {"anyOf": [{"type": "string"}, {"const": False}]},
    {"oneOf": [{"enum": ["a"]}, {"type": "integer"}]},
    {"$defs": {"N": {"type": "integer"}}, "$ref": "#/$defs/N", "type": "number"},
    {"$defs": {"N": {"type": "integer"}}, "allOf": [{"$ref": "#/$defs/N"}, False]},
]
VALUES = ["a", "b", "1", "true", 1, 1.0, 2, 2.0, 1.5, True, False, None, 0]


def equal_instances(value: Any) -> list[Any]:
    """Every JSON value a route's ``value`` equals (a number as an int and as a float)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return [value, float(value)] + ([int(value)] if float(value).is_integer() else [])
    return [value]


@pytest.mark.parametrize("schema", SCHEMAS)
def test_a_value_is_refused_exactly_when_no_value_the_schema_allows_equals_it(schema):
    validator = jsonschema.validators.validator_for(schema)(schema)
    allowed = schema_values(schema)
    for value in VALUES:
        matches = any(validator.is_valid(v) for v in equal_instances(value))
        # None: the check cannot tell (here, a schema nothing passes), so it refuses nothing.
        admitted = allowed is None or allowed.admits(value)
        assert admitted == (matches or allowed is None), (schema, value)
    try:
        pipeline: Any = classifier("c", schema) >> act(*VALUES, otherwise=True)
    except PipelineError:  # a schema no value passes is refused where it is given: as IR
        writer = AgentNode("c", "Classify {text}.", writes="k", output=schema)
        pipeline = SequenceNode("p", (writer, act(*VALUES, otherwise=True).to_ir()))
    problems, _ = found(pipeline)
    # 1 and 1.0 (2 and 2.0) are also one case twice, a problem of its own: not counted here;
    # nor is the writer's schema that no value passes (a problem of its own too)
    problems = [
        p
        for p in problems
        if "only the first could ever run" not in p["message"] and p["node"] == "act"
    ]
    told = {p["message"].split(", but")[0].split(" for ", 1)[1] for p in problems}
    assert told == {canonical(v) for v in VALUES if not (allowed is None or allowed.admits(v))}


def test_schema_enum_lists_the_values_of_refs_consts_and_booleans():
    assert schema_enum({"type": "string", "enum": ["bug", "feature"]}) == ["bug", "feature"]
    assert schema_enum({"$defs": {"C": {"enum": ["a"]}}, "$ref": "#/$defs/C"}) == ["a"]
    assert schema_enum({"type": "boolean"}) == [True, False]
    assert schema_enum({"const": None}) == [None]
    assert schema_enum({"type": "integer"}) is None and schema_enum(None) is None


def _each_item(route: Any, lister_schema: Any) -> Any:
    from irgraph import MapOver

    lister = Agent("list").instruct("List {text}.").output(lister_schema).writes("ks")
    return lister >> MapOver("each").over("ks", item="k").step(route).writes("qs")


ITEMS = {"type": "array", "items": {"type": "string", "enum": ["bug", "question"]}}


def test_a_route_on_a_map_over_item_is_checked_against_the_lists_item_schema():
    """A route inside a map-over compared the item with anything: the list's item schema was
    not seen, so a branch that could never run went unnoticed."""
    with pytest.raises(PipelineError) as info:
        validate(to_graph(_each_item(act("bug", "feature"), ITEMS), inputs={"text"}))
    message = str(info.value)
    assert '\'k\' can only be one of "bug", "question"' in message
    assert "the enum of the items agent 'list' writes to 'ks'" in message
    assert info.value.node == "act"
    warned = validate(to_graph(_each_item(act("bug"), ITEMS), inputs={"text"}))
    assert warned == [
        "Route 'act' has no branch for \"question\" (values the items of 'ks' may hold as 'k') "
        "and no otherwise, so the run fails if it gets one; add .when(...) for each, or "
        ".otherwise(step)."
    ]
    covered = _each_item(act("bug", "question"), ITEMS)
    assert validate(to_graph(covered, inputs={"text"})) == []
    result = run(covered, provider=FakeProvider(), state={"text": "t"})
    assert len(result.state["qs"]) == len(result.state["ks"])


@pytest.mark.parametrize("schema", [{"type": "array"}, {"type": "array", "items": True}])
def test_a_list_of_unknown_items_lets_a_route_on_its_item_compare_anything(schema):
    assert validate(to_graph(_each_item(act("anything"), schema), inputs={"text"})) == []


def test_a_list_whose_items_are_a_local_ref_is_checked_through_it():
    schema = {
        "type": "array",
        "items": {"$ref": "#/$defs/Kind"},
        "$defs": {"Kind": {"type": "string", "enum": ["bug", "question"]}},
    }
    with pytest.raises(PipelineError, match='\'k\' can only be one of "bug", "question"'):
        validate(to_graph(_each_item(act("bug", "feature"), schema), inputs={"text"}))
    assert validate(to_graph(_each_item(act("bug", "question"), schema), inputs={"text"})) == []
