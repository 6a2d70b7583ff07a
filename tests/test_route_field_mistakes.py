"""A new user's mistakes with routes on a field, each told with the fix that works.

A route on a field of a list (the list itself, not each item), a route on a whole object with a
value one of its fields holds, and a loop stopping on a field of a list: each hint names what
to write now that routes compare fields (``.on("verdict.category")``, the map-over's item),
rather than ``.on()`` of the list itself, which compares a list no value equals.
"""

from __future__ import annotations

from typing import Any

import pytest

from irgraph import Agent, Loop, MapOver, PipelineError, Route, to_graph, validate

VERDICT = {
    "type": "object",
    "properties": {"category": {"enum": ["bug", "feature"]}, "reason": {"type": "string"}},
    "required": ["category", "reason"],
}
LISTED = {"type": "array", "items": VERDICT}


def problem(pipeline: Any) -> str:
    with pytest.raises(PipelineError) as caught:
        validate(to_graph(pipeline, inputs={"ticket"}))
    (found,) = caught.value.problems
    return f"{found.message} {found.hint}"


def by_category(on: str, write: str = "res") -> Route:
    route = Route("by_category").on(on).when("bug", Agent("fix").instruct("fix").writes(write))
    return route.otherwise(Agent("other").instruct("other").writes(write))


def lister() -> Agent:
    return Agent("judge").instruct("Judge each of {ticket}.").output(LISTED).writes("verdicts")


def test_a_route_on_a_field_of_a_list_says_to_map_over_it_not_to_route_on_the_list() -> None:
    said = problem(lister() >> by_category("verdicts.category"))
    assert "writes 'verdicts' as a JSON array, which has no fields" in said
    assert ".on('verdicts')" not in said  # a list never equals "bug"
    assert (
        "'verdicts' holds a list: to compare 'category' of each of its items, map over it, "
        "MapOver(...).over('verdicts', item='item'), with a step Route(...).on('item.category')"
    ) in said


def test_a_route_in_a_map_over_on_the_list_is_pointed_to_the_item() -> None:
    each = MapOver("each").over("verdicts", item="v").step(by_category("verdicts.category"))
    said = problem(lister() >> each.collect("res").writes("results"))
    assert (
        "Did you mean 'v.category', of each item of 'verdicts' (map-over 'each' names it 'v')? "
        "Write .on('v.category')."
    ) in said
    each = MapOver("each").over("verdicts", item="v").step(by_category("v.category"))
    assert validate(to_graph(lister() >> each.collect("res").writes("r"), inputs={"ticket"})) == []


def test_a_route_on_a_whole_object_points_to_the_field_holding_the_value() -> None:
    judge = Agent("judge").instruct("Classify {ticket}.").output(VERDICT).writes("verdict")
    said = problem(judge >> by_category("verdict"))
    assert "to compare its field 'category', route on it: .on('verdict.category')" in said


def test_a_loop_stopping_on_a_field_of_a_list_is_told_to_use_a_predicate() -> None:
    body = Agent("check").instruct("Check {ticket}.").output(LISTED).writes("verdicts")
    loop = Loop("again").step(body).until("verdicts.category", equals="bug").max_iterations(2)
    (warning,) = validate(to_graph(loop, inputs={"ticket"}))
    assert "writes 'verdicts' as a JSON array, which has no fields" in warning
    assert "look into it with a predicate, .until(lambda state: ...)" in warning
    assert ".until('verdicts')" not in warning


def test_a_mistyped_value_of_a_fields_enum_names_the_field_whose_enum_to_change() -> None:
    judge = Agent("judge").instruct("Classify {ticket}.").output(VERDICT).writes("verdict")
    route = Route("by_category").on("verdict.category").when("bgu", Agent("fix").writes("res"))
    said = problem(judge >> route.otherwise(Agent("other").writes("res")))
    assert "(the enum of the field 'category' of agent 'judge')" in said
    assert 'Use one of "bug", "feature", or add "bgu" to the enum of the field' in said
    assert "the field 'category' of 'judge'." in said


def test_a_field_of_a_gates_answer_is_warned_of_for_a_route_and_a_loop() -> None:
    from irgraph import Gate

    gate = Gate("approve").message("Approve {ticket}?").writes("verdict")
    (warning,) = validate(to_graph(gate >> by_category("verdict.category"), inputs={"ticket"}))
    assert warning.startswith(
        "Route 'by_category' compares 'verdict.category', a field of 'verdict', but gate "
        "'approve' writes 'verdict' as a person's answer, which is text (unless an on_gate "
        "handler returns an object), with no fields, so the route never finds it there;"
    )
    body = Agent("w").instruct("{ticket}").writes("draft") >> gate
    loop = Loop("l").step(body).until("verdict.ok", equals=True).max_iterations(2)
    (warning,) = validate(to_graph(loop, inputs={"ticket"}))
    assert warning.startswith("Loop 'l' stops on 'verdict.ok', a field of 'verdict', but gate")
    assert "so the loop never stops early;" in warning


def test_a_fields_value_spelt_loosely_at_run_time_says_where_the_enum_goes() -> None:
    from irgraph import RunError, run
    from irgraph.testing import FakeProvider

    loose = {"type": "object", "properties": {"category": {"type": "string"}}}
    judge = Agent("judge").instruct("Classify {ticket}.").output(loose).writes("verdict")
    route = Route("by_category").on("verdict.category").when("bug", Agent("fix").writes("r"))
    reply = FakeProvider(responses={"judge": '{"category": "Bug."}'})
    with pytest.raises(RunError) as caught:
        run(judge >> route, provider=reply, state={"ticket": "t"})
    said = str(caught.value)
    assert "give the field 'category' an enum in the output schema of the agent writing " in said
    assert "'verdict' so that it answers one of the branches' values" in said
    assert "a Transform that reads 'verdict' and writes it again" in said
    assert "agent that writes 'verdict.category'" not in said
