"""Routes on a field of an object are narrowed by the routes before them on the same field.

As for a key (``tests/test_route_narrowing.py``): in a route's branch for a value, the field
``verdict.category`` holds that value, in its otherwise none of the values its earlier
branches take, and after a route with no otherwise only its values get past; a nested route's
branch no value can reach is refused with the same words as for a key. A write of the key
(``verdict``) is a new value of every field of it, and a route on the whole key or on another
field narrows nothing here.
"""

from __future__ import annotations

from typing import Any

import pytest

from irgraph import Agent, Loop, MapOver, PipelineError, Route, to_graph, validate

VERDICT = {
    "type": "object",
    "properties": {
        "category": {"enum": ["bug", "feature", "question"]},
        "urgency": {"enum": ["low", "high"]},
    },
    "required": ["category", "urgency"],
}


def step(name: str) -> Agent:
    return Agent(name).instruct(f"{name}.").writes(f"out_{name}")


def judge(name: str = "judge") -> Agent:
    return Agent(name).instruct("Classify {ticket}.").output(VERDICT).writes("verdict")


def problems(pipeline: Any) -> list[str]:
    with pytest.raises(PipelineError) as caught:
        validate(to_graph(pipeline, inputs={"ticket"}))
    return [problem.message for problem in caught.value.problems]


def test_a_nested_route_in_the_otherwise_of_one_on_the_same_field_is_refused() -> None:
    rest = Route("rest").on("verdict.category").when("bug", step("again")).otherwise(step("b"))
    outer = Route("triage").on("verdict.category").when("bug", step("fix")).otherwise(rest)
    assert problems(judge() >> outer) == [
        "Route 'rest' has a branch for \"bug\", but 'verdict.category' cannot be \"bug\" when "
        "'rest' runs: 'rest' is in the otherwise branch of route 'triage', which takes \"bug\" "
        "to a branch of its own; so that branch can never run."
    ]


def test_a_nested_route_in_the_branch_for_a_value_cannot_take_another() -> None:
    inner = Route("inner").on("verdict.category").when("feature", step("spec"))
    outer = Route("triage").on("verdict.category").when("bug", inner.otherwise(step("x")))
    found = problems(judge() >> outer.otherwise(step("y")))
    assert len(found) == 1
    assert found[0].startswith(
        "Route 'inner' has a branch for \"feature\", but 'verdict.category' can only be \"bug\" "
        "when 'inner' runs"
    )


def test_after_a_route_on_the_field_with_no_otherwise_only_its_values_get_past() -> None:
    first = Route("first").on("verdict.category").when("bug", step("fix"))
    first = first.when("feature", step("spec"))
    later = Route("later").on("verdict.category").when("question", step("ask"))
    found = problems(judge() >> first >> later.otherwise(step("z")))
    assert len(found) == 1 and "'verdict.category' can only be one of" in found[0]


def test_a_write_of_the_key_another_field_or_the_whole_key_narrow_nothing() -> None:
    rewrite = judge("again")  # a branch that writes the key anew: any category again
    rest = Route("rest").on("verdict.category").when("bug", step("fix2")).otherwise(step("b"))
    outer = (
        Route("triage").on("verdict.category").when("bug", step("fix")).otherwise(rewrite >> rest)
    )
    assert validate(to_graph(judge() >> outer, inputs={"ticket"})) == []
    other = Route("rest").on("verdict.urgency").when("high", step("page")).otherwise(step("c"))
    outer = Route("triage").on("verdict.category").when("bug", step("fix")).otherwise(other)
    assert validate(to_graph(judge() >> outer, inputs={"ticket"})) == []


def test_a_route_before_whose_branch_writes_the_key_again_names_the_key_it_writes() -> None:
    no_bugs = {**VERDICT, "properties": {**VERDICT["properties"], "category": {"enum": ["x"]}}}
    again = Agent("again").instruct("Again {ticket}.").output(no_bugs).writes("verdict")
    first = Route("first").on("verdict.category").when("bug", again).otherwise(step("a"))
    later = Route("later").on("verdict.category").when("bug", step("fix")).otherwise(step("b"))
    (found,) = problems(judge() >> first >> later)
    assert "route 'first' before it takes \"bug\" to its branch for it, which writes 'verdict'" in (
        found
    )
    assert "agent 'again' never writes \"bug\" to 'verdict.category'" in found


def test_a_loop_stopping_on_a_field_a_route_in_its_body_keeps_out_is_warned_of() -> None:
    strict = Route("triage").on("verdict.category").when("bug", step("fix"))
    body = judge() >> strict.when("feature", step("spec"))
    loop = Loop("again").step(body).until("verdict.category", equals="question")
    warnings = validate(to_graph(loop.max_iterations(3), inputs={"ticket"}))
    assert warnings[1:] == [
        "Loop 'again' stops when 'verdict.category' equals \"question\", but no pass can end "
        "with it: route 'triage' has no branch for \"question\" and no otherwise, so a run that "
        "gets it fails there; so it never stops early (give 'triage' .when('question', step) or "
        ".otherwise(step) to let it through)."
    ]
    letting = Loop("again").step(judge() >> strict.otherwise(step("o")))
    letting = letting.until("verdict.category", equals="question").max_iterations(3)
    assert validate(to_graph(letting, inputs={"ticket"})) == []


def test_nested_routes_on_a_field_of_a_map_over_item_are_narrowed() -> None:
    listing = Agent("list").instruct("Judge each of {ticket}.")
    listing = listing.output({"type": "array", "items": VERDICT}).writes("verdicts")
    rest = Route("rest").on("v.category").when("bug", Agent("again").writes("res"))
    rest = rest.otherwise(Agent("b").writes("res"))
    outer = Route("triage").on("v.category").when("bug", Agent("fix").writes("res"))
    each = MapOver("each").over("verdicts", item="v").step(outer.otherwise(rest))
    (found,) = problems(listing >> each.collect("res").writes("results"))
    assert found.startswith("Route 'rest' has a branch for \"bug\", but 'v.category' cannot be")
