"""A route's compared values are checked against the writer's whole schema, constraints too.

The runtime validates each structured answer against its schema before it writes the value,
so a value of the right type that a ``pattern``, ``maximum``, ``minLength``, ``multipleOf`` or
``not`` refuses never reaches state: a branch for it can never run, and is refused before the
run, as a value of the wrong type is. Values of an ``enum`` that the schema's constraints
refuse are not warned of as uncovered. A route compares numbers by value (``1 == 1.0``), so a
value is refused only when no spelling of it validates.
"""

from __future__ import annotations

import json
from typing import Any

import jsonschema
import pytest
from hypothesis import given
from hypothesis import strategies as st

from irgraph import Agent, Loop, MapOver, PipelineError, Route, RunError, run, to_graph, validate
from irgraph.providers import ModelRequest
from irgraph.route_values import refusal


class Answers:
    """Answers agent ``score`` with ``value`` as JSON, every other agent with its name."""

    def __init__(self, value: Any) -> None:
        self.value = value

    async def complete(self, request: ModelRequest) -> str:
        return json.dumps(self.value) if request.agent == "score" else request.agent


def scored(schema: Any, *values: Any, otherwise: bool = True) -> Any:
    route = Route("act").on("n")
    for index, value in enumerate(values):
        route = route.when(value, Agent(f"act{index}").instruct("Act.").writes("q"))
    if otherwise:
        route = route.otherwise(Agent("act_else").instruct("Else.").writes("q"))
    return Agent("score").instruct("Score it.").output(schema).writes("n") >> route


def problems(pipeline: Any) -> list[dict[str, Any]]:
    return to_graph(pipeline).graph["problems"]


RANGE = {"type": "integer", "minimum": 0, "maximum": 10}
DRAFT4 = "http://json-schema.org/draft-04/schema#"


def test_a_number_past_the_maximum_is_refused_naming_the_writer_and_the_constraint():
    with pytest.raises(PipelineError) as info:
        validate(to_graph(scored(RANGE, 5, 15)))
    error = info.value
    assert (error.node, error.key) == ("act", "n")
    assert str(error).startswith(
        "Route 'act' has a branch for 15, but the output schema of agent 'score' refuses it: "
        "15 is greater than the maximum of 10; a structured answer is checked against its "
        "schema before it is written, so that branch can never run."
    )
    assert "change the output schema of 'score' to allow it" in str(error)
    assert validate(to_graph(scored(RANGE, 0, 10))) == []


def test_the_refused_value_really_never_reaches_state_and_an_allowed_one_takes_its_branch():
    # what the check says must be what a run does: 15 fails the output check, 10 routes
    with pytest.raises(RunError, match="does not match the output schema"):
        run(scored(RANGE, 5), provider=Answers(15))
    done = run(scored(RANGE, 5, 10), provider=Answers(10))
    assert done.state["q"] == "act1"


def test_a_pattern_refuses_a_string_it_does_not_match():
    schema = {"type": "string", "pattern": "^[a-z]+$"}
    (problem,) = problems(scored(schema, "bug", "Bug"))
    assert 'branch for "Bug"' in problem["message"]
    assert "'Bug' does not match '^[a-z]+$'" in problem["message"]


@pytest.mark.parametrize(
    ("schema", "refused", "kept"),
    [
        ({"type": "string", "minLength": 3}, ["ab"], ["abc"]),
        ({"type": "string", "maxLength": 2}, ["abc"], ["ab"]),
        ({"type": "integer", "multipleOf": 5}, [7], [10]),
        ({"type": "number", "exclusiveMinimum": 0}, [0.0], [0.5, 1]),
        ({"not": {"type": "string"}}, ["a"], [1, None]),
        ({"type": "string", "pattern": "^[0-9]+$"}, ["a"], ["7"]),
        # an anchor, and a $ref to a part with an $id of its own, resolve as the runtime's do
        ({"$ref": "#c", "$defs": {"C": {"$anchor": "c", "enum": [1]}}}, ["a"], [1]),
        (
            {
                "$defs": {"C": {"$id": "https://example.com/c", "enum": [1]}},
                "anyOf": [{"$ref": "#/$defs/C"}],
            },
            ["a"],
            [1],
        ),
        # 2.0 is spelled 2 by a model too: an integer schema does not refuse it
        ({"type": "integer", "maximum": 3}, [4.0], [2.0, 3]),
        # draft 4 has no integer 2.0, but a model answering 2 routes to .when(2.0, ...)
        ({"$schema": DRAFT4, "type": "integer"}, [2.5], [2.0]),
        # and a draft-4 answer 1.0, which is no integer there, routes to .when(1, ...)
        ({"$schema": DRAFT4, "not": {"type": "integer"}}, [], [1, 0.5]),
    ],
)
def test_each_constraint_refuses_exactly_the_values_it_does(schema, refused, kept):
    found = problems(scored(schema, *refused, *kept))
    told = [p["message"].split(", but")[0].split(" for ", 1)[1] for p in found]
    assert told == [json.dumps(v) for v in refused]


def test_an_enum_value_the_constraints_refuse_is_not_warned_of_as_uncovered():
    schema = {"type": "string", "enum": ["ab", "cd", "x"], "minLength": 2}
    assert validate(to_graph(scored(schema, "ab", "cd", otherwise=False))) == []
    # without the constraint, "x" is a value the route leaves to fail the run
    (warning,) = validate(
        to_graph(scored({"enum": ["ab", "cd", "x"]}, "ab", "cd", otherwise=False))
    )
    assert 'no branch for "x"' in warning


def test_a_value_one_of_several_writers_allows_is_kept():
    pick = (
        Route("pick")
        .on("lang")
        .when("en", Agent("score").instruct("S.").output(RANGE).writes("n"))
        .otherwise(
            Agent("big").instruct("B.").output({"type": "integer", "minimum": 100}).writes("n")
        )
    )
    route = (
        Route("act")
        .on("n")
        .when(50, Agent("mid").instruct("M."))
        .otherwise(Agent("o").instruct("O."))
    )
    (problem,) = to_graph(pick >> route, inputs={"lang"}).graph["problems"]
    assert "agents 'score' and 'big' refuse it" in problem["message"]
    route = (
        Route("act")
        .on("n")
        .when(150, Agent("mid").instruct("M."))
        .otherwise(Agent("o").instruct("O."))
    )
    assert to_graph(pick >> route, inputs={"lang"}).graph["problems"] == []


def test_a_route_on_a_map_over_item_reads_the_items_constraints_and_definitions():
    schema = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "array",
        "items": {"$ref": "#/$defs/Code"},
        "$defs": {"Code": {"type": "string", "pattern": "^E[0-9]{3}$"}},
    }
    route = (
        Route("act")
        .on("k")
        .when("E100", Agent("a").instruct("A.").writes("q"))
        .when("X1", Agent("b").instruct("B.").writes("q"))
    )
    lister = Agent("list").instruct("List.").output(schema).writes("ks")
    each = (
        MapOver("each")
        .over("ks", item="k")
        .step(route.otherwise(Agent("c").instruct("C.").writes("q")))
    )
    pipeline = lister >> each.writes("qs")
    (problem,) = to_graph(pipeline).graph["problems"]
    assert 'branch for "X1"' in problem["message"]
    assert (
        "the item schema of the list that agent 'list' writes to 'ks' refuses it: 'X1' does "
        "not match '^E[0-9]{3}$'"
    ) in problem["message"]
    assert "change the output schema of the items of 'list' to allow it" in problem["hint"]


def test_a_loop_that_waits_for_a_value_the_schema_refuses_is_warned_of():
    loop = (
        Loop("again")
        .step(Agent("score").instruct("Score it.").output(RANGE).writes("n"))
        .until("n", equals=11)
        .max_iterations(3)
    )
    (warning,) = validate(to_graph(loop))
    assert warning == (
        "Loop 'again' stops when 'n' equals 11, but the output schema of agent 'score' refuses "
        "it (11 is greater than the maximum of 10), so it never stops early. Stop on a value "
        "the schema allows, or change the output schema of 'score' to allow 11."
    )
    fine = (
        Loop("again")
        .step(Agent("score").instruct("S.").output(RANGE).writes("n"))
        .until("n", equals=10)
    )
    assert validate(to_graph(fine.max_iterations(3))) == []


def test_a_schema_the_check_cannot_apply_lets_every_value_through():
    looping = {"$ref": "#/$defs/L", "$defs": {"L": {"$ref": "#/$defs/L"}}}
    assert refusal("a", looping) is None and refusal(1, looping) is None
    # Such a schema no longer reaches a route: it is refused where it is given, since no
    # reply could be checked against it (tests/test_schema_ref_loops.py).
    with pytest.raises(PipelineError, match="refers to itself without end"):
        scored(looping, "a", 1)


_NUMBER_SCHEMAS = st.fixed_dictionaries(
    {"type": st.sampled_from(["integer", "number"])},
    optional={
        "minimum": st.integers(-3, 3),
        "maximum": st.integers(-3, 3),
        "exclusiveMaximum": st.integers(-3, 3),
        "multipleOf": st.sampled_from([1, 2, 0.5]),
    },
)
_STRING_SCHEMAS = st.fixed_dictionaries(
    {"type": st.just("string")},
    optional={
        "minLength": st.integers(0, 3),
        "maxLength": st.integers(0, 3),
        "pattern": st.sampled_from(["^a", "b$", "^[ab]*$"]),
    },
)
_VALUES = st.one_of(
    st.integers(-4, 4), st.sampled_from([0.5, 1.0, -2.0, 2.5]), st.text("abc", max_size=4)
)


def _case(value: Any) -> tuple[str, Any]:
    """A route's case for ``value``: numbers by value (``1`` and ``1.0`` are one case)."""
    return ("text", value) if isinstance(value, str) else ("number", float(value))


@given(
    schema=st.one_of(_NUMBER_SCHEMAS, _STRING_SCHEMAS),
    values=st.lists(_VALUES, max_size=4, unique_by=_case),
)
def test_a_value_is_refused_exactly_when_no_spelling_of_it_validates(schema, values):
    # the ground truth is what the runtime's output check does: jsonschema on the answer
    validator = jsonschema.validators.validator_for(schema)(schema)

    def valid(value: Any) -> bool:
        spellings = [value]
        if isinstance(value, float) and value.is_integer():
            spellings.append(int(value))
        elif isinstance(value, int):
            spellings.append(float(value))
        return any(validator.is_valid(s) for s in spellings)

    try:
        pipeline = scored(schema, *values)
    except PipelineError as error:  # no value passes it: refused where it is given
        assert "the run would fail at this agent" in str(error)
        assert not any(valid(v) for v in [*values, 0, 1, -1, 0.5, "", "a", "ab", "b"])
        return
    found = problems(pipeline)
    told = {p["message"].split(", but")[0].split(" for ", 1)[1] for p in found}
    assert told == {json.dumps(v) for v in values if not valid(v)}


def either(name: str, key: str, value: Any, writes: str) -> Route:
    """Route ``name`` on ``key``: ``value`` to one agent, anything else to another."""
    yes = Agent(f"{name}_yes").instruct(f"Yes {{{key}}}.").writes(writes)
    return (
        Route(name)
        .on(key)
        .when(value, yes)
        .otherwise(Agent(f"{name}_no").instruct("No.").writes(writes))
    )


# Found by an outside trial -------------------------------------------------------------------

E2 = {"type": "array", "items": {"type": "string", "enum": ["a", "b"]}}


def test_a_list_a_loop_writes_again_lets_a_route_on_its_item_compare_the_new_items():
    """The item was judged by the first list's writer only, though a later agent in the loop
    writes the list again: a value a run really produced was refused."""
    again = {"type": "array", "items": {"type": "string", "enum": ["c", "d"]}}
    route = either("r", "it", "c", "out")
    body = MapOver("m").over("lst", item="it").step(route).writes("outs")
    rewrite = Agent("w2").instruct("Again {outs}.").output(again).writes("lst")
    first = Agent("w").instruct("List {t}.").output(E2).writes("lst")
    pipeline = first >> Loop("L").step(body >> rewrite).max_iterations(2)
    assert to_graph(pipeline, inputs={"t"}).graph["problems"] == []


def test_prefix_items_have_schemas_of_their_own_so_the_item_is_not_judged_by_items():
    schema = {"type": "array", "prefixItems": [{"const": "head"}], "items": {"enum": ["a", "b"]}}
    route = either("r", "it", "head", "o")
    lister = Agent("w").instruct("List {t}.").output(schema).writes("lst")
    pipeline = lister >> MapOver("m").over("lst", item="it").step(route).writes("outs")
    assert to_graph(pipeline, inputs={"t"}).graph["problems"] == []


def test_a_route_on_a_map_overs_results_is_not_judged_by_the_item_schema():
    inner = either("ri", "it", "a", "o")
    each = MapOver("m").over("lst", item="it").step(inner).writes("outs")
    after = either("r2", "outs", None, "z")
    lister = Agent("w").instruct("List {t}.").output(E2).writes("lst")
    G = to_graph(lister >> each >> after, inputs={"t"})
    # Judged as the list it is (which no value a route compares with equals), not by the
    # schema of the items of 'lst'.
    (problem,) = G.graph["problems"]
    assert "map-over 'm' writes 'outs' as the list of what its items give" in problem["message"]
    assert G.graph["warnings"] == []


def test_a_number_too_large_for_a_float_is_compared_and_refused_as_json_would():
    # .when(10**400) crashed with OverflowError; a reply of 1e400 was stored as inf
    assert problems(scored({"type": "integer"}, 10**400)) == []

    class Huge(Answers):
        async def complete(self, request: ModelRequest) -> str:
            return "1e400" if request.agent == "score" else request.agent

    with pytest.raises(RunError, match="1e400 is too large a number"):
        run(scored({"type": "number", "maximum": 10}, 5), provider=Huge(None))


def test_a_loop_warns_of_a_stop_value_only_when_no_writer_of_the_key_can_write_it():
    """With two possible writers, one that could write "approved" was ignored: the loop was
    said never to stop early, and a run stopped after one pass."""

    def body(first: list[str], second: list[str]) -> Any:
        return (
            Route("pick")
            .on("mode")
            .when("x", Agent("wx").instruct("X.").output({"enum": first}).writes("verdict"))
            .otherwise(Agent("wy").instruct("Y.").output({"enum": second}).writes("verdict"))
        )

    loop = Loop("L").step(body(["approved", "no"], ["ok", "rejected"]))
    loop = loop.until("verdict", equals="approved").max_iterations(3)
    assert validate(to_graph(loop, inputs={"mode"})) == []
    never = Loop("L").step(body(["maybe", "no"], ["ok", "rejected"]))
    never = never.until("verdict", equals="approved").max_iterations(3)
    assert validate(to_graph(never, inputs={"mode"})) == [
        "Loop 'L' stops when 'verdict' equals \"approved\", but none of its writers can "
        "write it ('wx' or 'wy'), so it never stops early. Stop on a value they write, or let "
        "their output schemas allow it."
    ]


def test_a_route_check_builds_one_validator_per_schema(monkeypatch):
    """A validator was built for each value checked (and each of its spellings, and each
    value of an enum when looking for the uncovered ones)."""
    schema = {"type": "integer", "minimum": 0, "maximum": 1000}
    values = list(range(0, 2000, 50))
    pipeline = scored(schema, *values)
    built: list[Any] = []
    original = jsonschema.validators.validator_for

    def counted(given: Any, *args: Any, **kwargs: Any) -> Any:
        built.append(given)
        return original(given, *args, **kwargs)

    monkeypatch.setattr(jsonschema.validators, "validator_for", counted)
    found = problems(pipeline)
    assert len(found) == len([v for v in values if v > 1000]) == 19
    assert len([b for b in built if b == schema]) == 1


def test_routes_reading_one_writer_check_each_value_against_its_schema_once(monkeypatch):
    """Each route asked the validator again about the same value of the same writer's
    schema (and worked out what the schema allows again): a pipeline with many routes on
    one key spent most of its validation there."""
    schema = {"type": "integer", "minimum": 0, "maximum": 10}
    pipeline: Any = Agent("score").instruct("Score it.").output(schema).writes("score")
    for index in range(40):
        pipeline = pipeline >> (
            Route(f"r{index}")
            .on("score")
            .when(3, Agent(f"low{index}").instruct("Low.").writes(f"low{index}"))
            .otherwise(Agent(f"other{index}").instruct("Other.").writes(f"other{index}"))
        )
    asked: list[Any] = []
    original = jsonschema.exceptions.best_match

    def counted(errors: Any, *args: Any, **kwargs: Any) -> Any:
        asked.append(errors)
        return original(errors, *args, **kwargs)

    monkeypatch.setattr(jsonschema.exceptions, "best_match", counted)
    assert validate(to_graph(pipeline)) == []
    assert len(asked) <= 2  # 3, and its other spelling 3.0
