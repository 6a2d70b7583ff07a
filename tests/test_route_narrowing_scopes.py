"""A loop's stop key and a map-over's list are checked against what the routes before them
let through, as a route's compared values are (:mod:`irgraph.reaching` narrows them).

A pass that ends past a route with no ``otherwise`` holds one of its values; one whose route
took a value to a branch that writes the key again holds what that branch wrote. A map-over
whose list a route compared with a value (never a list) can only iterate that value.
"""

from __future__ import annotations

from typing import Any

import pytest

from irgraph import (
    Agent,
    Loop,
    MapOver,
    PipelineError,
    Route,
    RunError,
    Transform,
    run,
    to_graph,
    validate,
)
from irgraph.testing import FakeProvider
from tests.support.route_samples import spam_then_bugs

KINDS = {"type": "string", "enum": ["bug", "feature", "question"]}
STEPS = {"type": ["array", "string"], "items": {"type": "string"}}  # a list, or "none"


def step(name: str) -> Agent:
    return Agent(name).instruct(f"{name}.").writes(f"out_{name}")


def classify() -> Agent:
    return Agent("classify").instruct("Classify {ticket}.").output(KINDS).writes("kind")


def first() -> Route:
    return Route("first").on("kind").when("bug", step("fix")).when("feature", step("spec"))


def until_question(body: Any) -> Loop:
    return Loop("L").step(body).until("kind", equals="question").max_iterations(3)


def about_loop(pipeline: Any) -> list[str]:
    return [w for w in validate(to_graph(pipeline, inputs={"ticket"})) if "Loop 'L'" in w]


def passes(pipeline: Any, answers: dict[str, str]) -> int:
    """How many passes of the loop a run with ``answers`` makes."""
    done = run(pipeline, provider=FakeProvider(responses=answers), state={"ticket": 1})
    return [e.node for e in done.trace if e.event == "start"].count("classify")


def test_a_stop_value_a_route_in_the_body_never_lets_through_is_warned_of():
    """'classify' may write "question", so the loop was said to stop on it; but a pass that
    gets it fails at 'first', and every other pass goes on: it never stops early."""
    pipeline = until_question(classify() >> first())
    assert about_loop(pipeline) == [
        "Loop 'L' stops when 'kind' equals \"question\", but no pass can end with it: route "
        "'first' has no branch for \"question\" and no otherwise, so a run that gets it fails "
        "there; so it never stops early (give 'first' .when('question', step) or "
        ".otherwise(step) to let it through)."
    ]
    with pytest.raises(RunError) as failed:
        run(
            pipeline,
            provider=FakeProvider(responses={"classify": '"question"'}),
            state={"ticket": 1},
        )
    assert failed.value.node == "first"
    # the fix the warning gives: the loop then stops on "question"
    fixed = until_question(classify() >> first().otherwise(step("answer")))
    assert about_loop(fixed) == []
    done = run(
        fixed, provider=FakeProvider(responses={"classify": '"question"'}), state={"ticket": 1}
    )
    assert [e.node for e in done.trace if e.event == "start"].count("classify") == 1


def test_a_stop_value_two_routes_keep_out_on_the_way_names_both():
    second = Route("second").on("kind").when("bug", step("fix2")).when("feature", step("spec2"))
    assert about_loop(until_question(classify() >> first() >> second)) == [
        "Loop 'L' stops when 'kind' equals \"question\", but no pass can end with it: routes "
        "'first' and 'second' have no branch for \"question\" and no otherwise, so a run that "
        "gets it fails there; so it never stops early (give each of 'first' and 'second' "
        ".when('question', step) or .otherwise(step) to let it through)."
    ]


def test_a_stop_value_outside_the_writers_enum_is_told_as_such_not_as_a_route_in_the_way():
    """'first' keeps "wontfix" out, but 'classify' never writes it at all: a branch for it in
    'first' (what a route-centred warning would say to add) is an error of its own."""
    pipeline = Loop("L").step(classify() >> first()).until("kind", equals="wontfix")
    assert about_loop(pipeline.max_iterations(3)) == [
        "Loop 'L' stops when 'kind' equals \"wontfix\", but agent 'classify' only writes one "
        'of "bug", "feature", "question", so it never stops early. Stop on one of them '
        "(.until('kind', equals='bug')), or add 'wontfix' to the enum of 'classify'."
    ]
    with pytest.raises(PipelineError, match="can never run"):
        validate(to_graph(classify() >> first().when("wontfix", step("x")), inputs={"ticket"}))


def test_a_stop_value_a_route_takes_to_a_branch_that_writes_the_key_again_is_warned_of():
    """'classify' may write "question", but 'r' takes it to 're', which never does: every
    pass ends with "bug" or "feature" (the walk's writers, 're' and 'classify', counted the
    value 'r' replaces)."""
    again = Agent("re").instruct("Again.").output({"enum": ["bug", "feature"]}).writes("kind")
    pipeline = until_question(
        classify() >> Route("r").on("kind").when("question", again).otherwise(step("other"))
    )
    assert about_loop(pipeline) == [
        "Loop 'L' stops when 'kind' equals \"question\", but no pass can end with it: route "
        "'r' takes \"question\" to its branch for it, which writes 'kind'; agent 're' never "
        "writes \"question\" to 'kind'; so it never stops early."
    ]
    assert passes(pipeline, {"classify": '"question"', "re": '"bug"'}) == 3


def test_a_stop_value_some_pass_may_end_with_is_not_warned_of():
    lenient = until_question(classify() >> first().otherwise(step("rest")))
    assert about_loop(lenient) == []
    again = Agent("re").instruct("Again.").output(KINDS).writes("kind")
    rewritten = until_question(classify() >> Route("r").on("kind").when("question", again))
    assert about_loop(rewritten.max_iterations(2)) == []
    # a write after the route brings "question" back
    after = until_question(classify() >> first() >> Agent("last").output(KINDS).writes("kind"))
    assert about_loop(after) == []


def test_a_stop_value_kept_out_after_an_earlier_route_left_other_values_out_is_warned_of():
    """'drop' takes "spam" to 'junk', which writes 'kind' again, so after it 'classify''s
    value is anything but "spam"; 'bugs' then takes everything but "bug" to 'ask', which
    writes 'kind' too: a pass ends with "bug" or "asked", never "feature". The value was told
    as 'drop' left it (any but "spam"), and the loop was said to stop on it."""
    pipeline = until_question(spam_then_bugs()).until("kind", equals="feature")
    assert about_loop(pipeline) == [
        "Loop 'L' stops when 'kind' equals \"feature\", but no pass can end with it: route "
        "'bugs' takes any other value to a branch that writes 'kind'; agent 'ask' never "
        "writes \"feature\" to 'kind'; so it never stops early."
    ]
    assert passes(pipeline, {"classify": '"feature"', "ask": '"asked"'}) == 3


def plan() -> Agent:
    return Agent("plan").instruct("List the steps for {ticket}.").output(STEPS).writes("steps")


def each() -> MapOver:
    work = Agent("do").instruct("Do {step}.").writes("done")
    return MapOver("each").over("steps", item="step").step(work).writes("dones")


def told(pipeline: Any) -> list[tuple[str, str]]:
    with pytest.raises(PipelineError) as caught:
        validate(to_graph(pipeline, inputs={"ticket"}))
    return [(p.message, str(p.hint)) for p in caught.value.problems]


def test_a_map_over_in_a_routes_branch_for_a_value_of_its_list_key_is_refused():
    """In the branch for "none", 'steps' is the string "none": the run failed at 'each'
    ("not a list"), though validate said nothing."""
    wrong = plan() >> Route("r").on("steps").when("none", each()).otherwise(step("other"))
    assert told(wrong) == [
        (
            "MapOver 'each' iterates over 'steps', but 'steps' can only be \"none\" when 'each' "
            "runs, not a list: 'each' is in the branch of route 'r' for \"none\"; so 'each' can "
            "never run without failing.",
            "Move 'each' out of that branch, to where 'steps' holds a list.",
        )
    ]
    fake = FakeProvider(responses={"plan": '"none"'})
    with pytest.raises(PipelineError):  # before any call, where it failed at 'each'
        run(wrong, provider=fake, state={"ticket": 1})
    assert fake.calls == []
    right = plan() >> Route("r").on("steps").when("none", step("other")).otherwise(each())
    assert validate(to_graph(right, inputs={"ticket"})) == []
    done = run(right, provider=FakeProvider(responses={"plan": '["a"]'}), state={"ticket": 1})
    assert done.state["dones"] == ["<do: Do a.>"]


def test_a_map_over_after_a_route_that_lets_only_its_values_through_is_refused():
    before = plan() >> Route("r").on("steps").when("none", step("other")) >> each()
    ((message, hint),) = told(before)
    assert message.endswith(
        "route 'r' before it has no branch for any other value and no otherwise, so a run "
        "with another value fails there; so 'each' can never run without failing."
    )
    assert hint == "Give 'r' .otherwise(step), so that a list gets past it."
    fixed = plan() >> Route("r").on("steps").when("none", step("other")).otherwise(step("x"))
    assert validate(to_graph(fixed >> each(), inputs={"ticket"})) == []


def test_a_map_over_after_a_route_whose_other_branches_write_its_list_key_is_told_so():
    """'r' takes any value but "none" to 'again', whose answer 'r3' lets through only as
    "later": the hint said to give 'r' an otherwise, which it has."""
    again = Agent("again").instruct("Again.").output(STEPS).writes("steps")
    later = again >> Route("r3").on("steps").when("later", step("wait"))
    pipeline = plan() >> Route("r").on("steps").when("none", step("x")).otherwise(later)
    ((message, hint),) = told(pipeline >> each())
    assert message.endswith(
        "route 'r3' before it has no branch for any other value and no otherwise, so a run "
        "with another value fails there, and route 'r' before it takes any other value to a "
        "branch that writes 'steps'; so 'each' can never run without failing."
    )
    assert hint == (
        "Give 'r3' .otherwise(step), or give 'r' a branch that leaves 'steps' as it is, so "
        "that a list gets past it."
    )


def judged(route: Route) -> Loop:
    """A loop whose body's 'judge' answers 'verdict' in free text, compared by ``route``."""
    judge = Agent("judge").instruct("Judge {ticket}.").writes("verdict")
    return Loop("L").step(judge >> route).until("verdict").max_iterations(3)


def reset() -> str:
    return ""


def test_a_free_text_stop_key_a_route_lets_through_only_as_its_values_is_not_warned_of():
    """'r' lets 'judge''s answer end a pass only as "done" ('reset' empties any other): the
    loop was warned that any answer (even 'no') stops it, though "no" goes on to a new pass."""
    resets = Route("r").on("verdict").when("done", step("ship"))
    resets = resets.otherwise(Transform("reset", reset).writes("verdict"))
    assert about_loop(judged(resets)) == []
    answers = FakeProvider(responses={"judge": "no"})
    done = run(judged(resets), provider=answers, state={"ticket": 1})
    assert [e.node for e in done.trace if e.event == "start"].count("judge") == 3
    # values that are all truthy: every pass that ends stops the loop, said so
    strict = Route("r").on("verdict").when("done", step("ship")).when("again", step("redo"))
    assert about_loop(judged(strict)) == [
        "Loop 'L' stops once 'verdict' is truthy, but a pass can only end with 'verdict' as "
        'one of "done", "again" (what route \'r\' lets through), all truthy, so the loop '
        "always stops after its first pass; stop on one of them: .until('verdict', "
        "equals='done')."
    ]
    # with an otherwise that leaves 'verdict' alone, any answer still ends a pass
    lenient = Route("r").on("verdict").when("done", step("ship")).otherwise(step("redo"))
    assert about_loop(judged(lenient)) == [
        "Loop 'L' stops once 'verdict' is truthy, but agent 'judge' writes it as free text, "
        "so any answer (even 'no') stops it; write .until('verdict', equals='...') or give "
        "'judge' .output({'type': 'boolean'})."
    ]
    done = run(judged(lenient), provider=answers, state={"ticket": 1})
    assert [e.node for e in done.trace if e.event == "start"].count("judge") == 1


def test_a_free_text_stop_key_written_only_before_the_loop_is_one_warning_saying_both():
    """The loop was warned twice: that free text stops it on any answer, and that its body
    never writes the key."""
    draft = Agent("draft").instruct("Draft {ticket}.").writes("draft")
    check = Agent("check").instruct("Check {draft}.").writes("verdict")
    pipeline = draft >> Loop("L").step(check).until("draft").max_iterations(3)
    assert about_loop(pipeline) == [
        "Loop 'L' stops once 'draft' is truthy, but nothing in its body writes 'draft', and "
        "agent 'draft' writes it before the loop as free text, where any answer (even 'no') "
        "is truthy: every pass ends with that answer, so the loop always stops after its "
        "first pass, whatever the body answers. Write 'draft' in the body (.writes('draft') "
        "on a body step) and compare it with .until('draft', equals='...'), or stop on a key "
        "the body writes ('verdict')."
    ]
    done = run(pipeline, provider=FakeProvider(responses={"draft": "no"}), state={"ticket": 1})
    assert [e.node for e in done.trace if e.event == "start"].count("check") == 1
