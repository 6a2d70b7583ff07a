"""A map-over's list is checked against every writer whose value may reach it, as a route's
key is: in a loop, a writer later in the body gives the list the next pass iterates."""

from __future__ import annotations

import pytest

from irgraph import (
    Agent,
    Loop,
    MapOver,
    PipelineError,
    RunError,
    Transform,
    run,
    to_graph,
    validate,
)
from irgraph.testing import FakeProvider

LIST = {"type": "array", "items": {"type": "string"}}


def each_step() -> MapOver:
    step = Agent("try").instruct("Try {step}.").writes("outcome")
    return MapOver("try_each").over("steps", item="step").step(step).collect("outcome")


def looped(rewrite: Agent) -> Loop:
    first = Agent("plan").instruct("Plan.").output(LIST).writes("steps")
    return first >> Loop("rounds").step(each_step().writes("outcomes") >> rewrite).max_iterations(2)


def test_a_list_rewritten_as_free_text_later_in_the_loop_body_is_refused():
    """The second pass iterates what 'replan' wrote: text, on which the run failed at
    'try_each' ("whose value is a str, not a list"); validate said nothing."""
    replan = Agent("replan").instruct("Plan again after {outcomes}.").writes("steps")
    pipeline = looped(replan)
    fake = FakeProvider(responses={"plan": '["a"]', "replan": "b, c"})
    with pytest.raises(PipelineError) as caught:
        run(pipeline, provider=fake)
    assert fake.calls == []
    assert str(caught.value).startswith(
        "MapOver 'try_each' iterates over 'steps', but agent 'replan' writes it as free text, "
        "not a list. Give 'replan' .output({'type': 'array', 'items': {'type': 'string'}})"
    )
    fixed = looped(replan.output(LIST))  # the fix the message gives
    assert validate(to_graph(fixed)) == []
    done = run(fixed, provider=FakeProvider(responses={"plan": '["a"]', "replan": '["b", "c"]'}))
    assert done.state["outcomes"] == ["<try: Try b.>", "<try: Try c.>"]


def test_a_list_written_as_text_only_before_the_loop_is_told_once():
    """The walk already sees a writer before the map-over: it is not told twice."""
    text = Agent("plan").instruct("Plan.").writes("steps")
    again = Agent("replan").instruct("Plan again after {outcomes}.").output(LIST).writes("steps")
    loop = Loop("rounds").step(each_step().writes("outcomes") >> again).max_iterations(2)
    with pytest.raises(PipelineError) as caught:
        validate(to_graph(text >> loop))
    assert len(caught.value.problems) == 1
    assert "agent 'plan' writes it as free text" in str(caught.value)


@pytest.mark.parametrize(
    ("value", "told"),
    [(3, "an int"), ({"a": 1}, "a dict"), ("ab", "a str"), (None, "None (no value)")],
)
def test_a_map_over_of_a_value_that_is_no_list_says_what_it_is_in_good_english(value, told):
    written = Transform("fetch", lambda source: value).reads("source").writes("steps")
    with pytest.raises(RunError) as caught:
        run(written >> each_step().writes("outcomes"), state={"source": "s"})
    assert f"'steps', whose value is {told}, not a list" in str(caught.value)


@pytest.mark.parametrize(
    ("schema", "told"),
    [
        ({"$defs": {"Plan": {"type": "object"}}, "$ref": "#/$defs/Plan"}, "object"),
        ({"anyOf": [{"type": "integer"}, {"type": "number", "minimum": 0}]}, "number"),
        ({"allOf": [{"type": "string"}, {"minLength": 1}]}, "string"),
    ],
)
def test_a_list_written_by_a_schema_that_says_its_type_through_ref_or_anyof_is_checked(
    schema, told
):
    """The type a schema gives only through a ``$ref`` (how a pydantic model's schema may
    point into its ``$defs``), an ``anyOf`` or an ``allOf`` was not looked at: validate said
    nothing, and the run failed at the map-over after the model call was paid for."""
    plan = Agent("plan").instruct("Plan.").output(schema).writes("steps")
    with pytest.raises(PipelineError) as caught:
        validate(to_graph(plan >> each_step().writes("outcomes")))
    assert str(caught.value).startswith(
        f"MapOver 'try_each' iterates over 'steps', but agent 'plan' writes it as a JSON "
        f"{told}, not a list."
    )
    listed = {"$defs": {"Steps": LIST}, "$ref": "#/$defs/Steps"}
    fine = Agent("plan").instruct("Plan.").output(listed).writes("steps")
    assert validate(to_graph(fine >> each_step().writes("outcomes"))) == []
