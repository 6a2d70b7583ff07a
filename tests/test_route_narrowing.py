"""A route's values are checked against what the routes before it let through.

In a route's branch for a value, the key it compares holds that value; after a route with no
``otherwise`` (and no predicate), a value none of its cases takes has failed the run there,
so the key holds one of its values unless a branch wrote it. A later route's branch for any
other value can never run.
"""

from __future__ import annotations

from typing import Any

import pytest

from irgraph import Agent, Loop, PipelineError, Route, RunError, run, to_graph, validate
from irgraph.testing import FakeProvider
from tests.support.route_samples import spam_then_bugs

KINDS = {"type": "string", "enum": ["bug", "feature", "question"]}


def step(name: str) -> Agent:
    return Agent(name).instruct(f"{name}.").writes(f"out_{name}")


def classify() -> Agent:
    return Agent("classify").instruct("Classify {ticket}.").output(KINDS).writes("kind")


def first() -> Route:
    return Route("first").on("kind").when("bug", step("fix")).when("feature", step("spec"))


def problems(pipeline: Any, inputs: Any = ("ticket",)) -> list[str]:
    with pytest.raises(PipelineError) as caught:
        validate(to_graph(pipeline, inputs=set(inputs)))
    return [problem.message for problem in caught.value.problems]


def anything(state: Any) -> bool:
    return True


def about_then(pipeline: Any) -> list[str]:
    """The warnings about route 'then' (validate raises any problem)."""
    return [w for w in validate(to_graph(pipeline, inputs={"ticket"})) if "'then'" in w]


def test_a_value_a_route_without_otherwise_never_lets_through_is_refused_at_the_next():
    then = Route("then").on("kind").when("question", step("answer")).otherwise(step("other"))
    pipeline = classify() >> first() >> then
    assert problems(pipeline) == [
        "Route 'then' has a branch for \"question\", but 'kind' can only be one of \"bug\", "
        "\"feature\" when 'then' runs: route 'first' before it has no branch for any other "
        "value and no otherwise, so a run with another value fails there; so that branch can "
        "never run."
    ]
    # the run does fail at 'first' on "question": 'answer' never runs
    with pytest.raises(RunError) as failed:
        run(
            classify() >> first() >> Route("then").on("kind").otherwise(step("other")),
            provider=FakeProvider(responses={"classify": '"question"'}),
            state={"ticket": "How?"},
        )
    assert failed.value.node == "first"
    # the fix the message gives: a branch for it in 'first'
    fixed = classify() >> first().when("question", step("ask")) >> then
    assert validate(to_graph(fixed, inputs={"ticket"})) == []
    done = run(
        fixed, provider=FakeProvider(responses={"classify": '"question"'}), state={"ticket": "?"}
    )
    assert "out_answer" in done.state


def test_an_input_compared_by_a_route_without_otherwise_is_narrowed_too():
    then = Route("then").on("kind").when("question", step("answer")).otherwise(step("other"))
    (problem,) = problems(first() >> then, inputs=("kind",))
    assert problem.startswith("Route 'then' has a branch for \"question\", but 'kind' can only")


def test_a_route_in_a_branch_for_one_value_cannot_take_another():
    inner = Route("inner").on("kind").when("feature", step("spec")).otherwise(step("other"))
    outer = Route("outer").on("kind").when("bug", inner).otherwise(step("rest"))
    assert problems(classify() >> outer) == [
        "Route 'inner' has a branch for \"feature\", but 'kind' can only be \"bug\" when "
        "'inner' runs: 'inner' is in the branch of route 'outer' for \"bug\"; so that branch "
        "can never run."
    ]


def test_what_a_branch_writes_or_a_later_write_or_an_otherwise_is_not_narrowed():
    rewrite = Agent("again").instruct("Again.").output(KINDS).writes("kind")
    then = Route("then").on("kind").when("question", step("answer")).otherwise(step("other"))
    rewrites = Route("first").on("kind").when("bug", rewrite).when("feature", step("spec"))
    assert about_then(classify() >> rewrites >> then) == []
    done = run(
        classify() >> rewrites >> then,
        provider=FakeProvider(responses={"classify": '"bug"', "again": '"question"'}),
        state={"ticket": "?"},
    )
    assert "out_answer" in done.state
    later = classify() >> first() >> rewrite >> then
    assert about_then(later) == []
    lenient = classify() >> first().otherwise(step("rest")) >> then
    assert validate(to_graph(lenient, inputs={"ticket"})) == []
    guessed = first().when(anything, step("rest"))
    assert validate(to_graph(classify() >> guessed >> then, inputs={"ticket"})) == []


def test_in_a_loop_a_write_later_in_the_body_reaches_the_next_pass_unnarrowed():
    then = Route("then").on("kind").when("question", step("answer")).otherwise(step("other"))
    body = first() >> then >> Agent("again").instruct("Again.").output(KINDS).writes("kind")
    pipeline = classify() >> Loop("L").step(body).max_iterations(2)
    (problem,) = problems(pipeline)  # 'first' lets no "question" through, on any pass
    assert "Route 'then' has a branch for \"question\"" in problem
    body = then >> first() >> Agent("again").instruct("Again.").output(KINDS).writes("kind")
    pipeline = classify() >> Loop("L").step(body).max_iterations(2)
    assert about_then(pipeline) == []


def test_values_no_route_before_lets_through_are_not_warned_of_as_uncovered():
    then = Route("then").on("kind").when("bug", step("fix2")).when("feature", step("spec2"))
    assert about_then(classify() >> first() >> then) == []


def test_a_value_no_writer_allows_is_told_by_the_writers_schema_not_by_the_route_before():
    """The route before was named for a value outside the enum too: its fix (a branch for
    it there) would only move the problem to that route."""
    then = Route("then").on("kind").when("urgent", step("page")).otherwise(step("other"))
    assert problems(classify() >> first() >> then) == [
        "Route 'then' has a branch for \"urgent\", but 'kind' can only be one of \"bug\", "
        '"feature", "question" (the enum of agent \'classify\'), so that branch can never run.'
    ]


def test_true_is_not_let_through_by_a_branch_for_one():
    counted = Agent("count").instruct("Count.").output({"type": ["integer", "boolean"]})
    ones = Route("first").on("n").when(1, step("one")).when(2, step("two"))
    then = Route("then").on("n").when(True, step("yes")).otherwise(step("other"))
    (problem,) = problems(counted.writes("n") >> ones >> then)
    assert problem.startswith("Route 'then' has a branch for true, but 'n' can only be one of 1, 2")


def test_a_route_with_an_otherwise_between_is_not_named_as_letting_no_other_value_through():
    """After 'first' (no otherwise), 'middle' (with one) takes "bug" into a branch of its
    own: only 'first' keeps "question" out, so only it is named, and its fix is the one that
    works (a branch in 'middle' would never be reached by "question")."""
    middle = Route("middle").on("kind").when("bug", step("triage")).otherwise(step("rest"))
    then = Route("then").on("kind").when("question", step("answer")).otherwise(step("other"))
    (problem,) = problems(classify() >> first() >> middle >> then)
    assert problem == (
        "Route 'then' has a branch for \"question\", but 'kind' can only be one of \"bug\", "
        "\"feature\" when 'then' runs: route 'first' before it has no branch for any other "
        "value and no otherwise, so a run with another value fails there; so that branch can "
        "never run."
    )
    fixed = classify() >> first().when("question", step("ask")) >> middle >> then
    assert validate(to_graph(fixed, inputs={"ticket"})) == []
    done = run(
        fixed, provider=FakeProvider(responses={"classify": '"question"'}), state={"ticket": "?"}
    )
    assert "out_answer" in done.state


def hints(pipeline: Any) -> list[str]:
    with pytest.raises(PipelineError) as caught:
        validate(to_graph(pipeline, inputs={"ticket"}))
    return [str(problem.hint) for problem in caught.value.problems]


def test_a_route_in_a_branch_of_a_route_without_otherwise_is_told_how_the_value_gets_there():
    """Moving 'inner' just out of the branch of 'first' (no otherwise) leaves it after
    'first', where "question" fails the run: the hint says to let it through 'first' too."""
    inner = Route("inner").on("kind").when("question", step("answer")).otherwise(step("other"))
    outer = Route("first").on("kind").when("bug", inner).when("feature", step("spec"))
    assert hints(classify() >> outer) == [
        "Remove the branch for \"question\" from 'inner', or move 'inner' out of that branch "
        "to after 'first', and give 'first' .when('question', step) or .otherwise(step)."
    ]
    moved = classify() >> first().otherwise(step("rest")) >> inner
    assert validate(to_graph(moved, inputs={"ticket"})) == []
    done = run(
        moved, provider=FakeProvider(responses={"classify": '"question"'}), state={"ticket": "?"}
    )
    assert "out_answer" in done.state
    lenient = Route("outer").on("kind").when("bug", inner).otherwise(step("rest"))
    assert hints(classify() >> lenient) == [
        "Remove the branch for \"question\" from 'inner', or move 'inner' out of that branch."
    ]


def test_a_route_in_the_otherwise_branch_of_a_route_on_its_key_cannot_take_that_routes_values():
    """'outer' takes "bug" to its own branch, so in its otherwise branch 'kind' is never
    "bug": the branch of 'inner' for it was accepted, though no run could take it."""
    inner = (
        Route("inner")
        .on("kind")
        .when("bug", step("never"))
        .when("feature", step("spec"))
        .when("question", step("answer"))
    )
    outer = Route("outer").on("kind").when("bug", step("fix")).otherwise(inner)
    assert problems(classify() >> outer) == [
        "Route 'inner' has a branch for \"bug\", but 'kind' cannot be \"bug\" when 'inner' "
        "runs: 'inner' is in the otherwise branch of route 'outer', which takes \"bug\" to a "
        "branch of its own; so that branch can never run."
    ]
    assert hints(classify() >> outer) == [
        "Remove the branch for \"bug\" from 'inner', or move 'inner' out of that branch."
    ]
    # a run with "bug" takes 'fix': 'inner' (without that branch) never meets it
    inner = Route("inner").on("kind").when("feature", step("spec")).otherwise(step("never"))
    fixed = classify() >> Route("outer").on("kind").when("bug", step("fix")).otherwise(inner)
    done = run(fixed, provider=FakeProvider(responses={"classify": '"bug"'}), state={"ticket": "?"})
    assert "out_fix" in done.state and "out_never" not in done.state


def test_a_route_in_the_otherwise_branch_is_not_told_of_values_it_cannot_meet_as_uncovered():
    """With no branch for "bug" (which 'outer' takes first), 'inner' was warned that a run
    with "bug" would fail at it."""
    inner = Route("inner").on("kind").when("feature", step("spec")).when("question", step("q"))
    outer = Route("outer").on("kind").when("bug", step("fix")).otherwise(inner)
    assert validate(to_graph(classify() >> outer, inputs={"ticket"})) == []


def test_a_later_branch_of_a_route_on_an_input_leaves_out_the_values_of_the_earlier_ones():
    """In a predicate's branch, after a branch for "x", or in the otherwise: the input is not
    "x" there, whatever else it holds."""
    inner = Route("inner").on("mode").when("x", step("never")).otherwise(step("other"))
    for later in (
        Route("outer").on("mode").when("x", step("fix")).when(anything, inner),
        Route("outer").on("mode").when("x", step("fix")).otherwise(inner),
    ):
        (problem,) = problems(later, inputs=("mode",))
        assert problem.startswith(
            "Route 'inner' has a branch for \"x\", but 'mode' cannot be \"x\" when 'inner' runs:"
        )
    # a predicate before the branch for "x" may take "x" too: 'inner' may still meet it
    first = Route("outer").on("mode").when(anything, inner).when("x", step("fix"))
    assert validate(to_graph(first, inputs={"mode"})) == []
    # after 'outer' (with an otherwise) any value gets past: nothing is left out
    after = Route("outer").on("mode").when("x", step("fix")).otherwise(step("rest")) >> inner
    assert validate(to_graph(after, inputs={"mode"})) == []
    nested = (
        Route("outer")
        .on("mode")
        .when("x", step("fix"))
        .otherwise(Route("middle").on("mode").when("y", step("why")).otherwise(inner))
    )
    (problem,) = problems(nested, inputs=("mode",))
    assert "in the otherwise branch of route 'outer'" in problem


def test_a_value_one_route_lets_through_and_an_enclosing_one_takes_first_names_each():
    """'first' lets only "bug" and "feature" through; in the otherwise branch of 'second',
    "bug" is gone too: each value 'inner' compares is told by the route that keeps it out,
    and each fix is the one that works."""
    inner = (
        Route("inner")
        .on("kind")
        .when("bug", step("a"))
        .when("feature", step("b"))
        .when("question", step("c"))
    )
    second = Route("second").on("kind").when("bug", step("fix2")).otherwise(inner)
    told = problems(classify() >> first() >> second)
    assert told == [
        "Route 'inner' has a branch for \"bug\", but 'kind' cannot be \"bug\" when 'inner' "
        "runs: 'inner' is in the otherwise branch of route 'second', which takes \"bug\" to a "
        "branch of its own; so that branch can never run.",
        "Route 'inner' has a branch for \"question\", but 'kind' can only be \"feature\" when "
        "'inner' runs: route 'first' before it has no branch for any other value and no "
        "otherwise, so a run with another value fails there; so that branch can never run.",
    ]


def test_every_route_that_keeps_a_value_out_on_its_way_is_named_not_only_the_last():
    """'first' and 'second' both fail a run with "question": the message named only
    'second', whose fix alone leaves the run failing at 'first'."""
    second = Route("second").on("kind").when("bug", step("fix2")).when("feature", step("spec2"))
    then = Route("then").on("kind").when("question", step("answer")).otherwise(step("other"))
    pipeline = classify() >> first() >> second >> then
    assert problems(pipeline) == [
        "Route 'then' has a branch for \"question\", but 'kind' can only be one of \"bug\", "
        "\"feature\" when 'then' runs: routes 'first' and 'second' before it have no branch for "
        "any other value and no otherwise, so a run with another value fails there; so that "
        "branch can never run."
    ]
    assert hints(pipeline) == [
        "Remove the branch for \"question\" from 'then', or give each of 'first' and 'second' "
        ".when('question', step) or .otherwise(step)."
    ]
    # the fix of 'second' alone still fails the run at 'first' on "question"
    half = classify() >> first() >> second.otherwise(step("rest"))
    (told,) = problems(half >> then)
    assert "route 'first' before it has no branch" in told
    with pytest.raises(RunError) as failed:
        run(half, provider=FakeProvider(responses={"classify": '"question"'}), state={"ticket": 1})
    assert failed.value.node == "first"
    # a value only the later route keeps out names it alone
    only = Route("only").on("kind").when("bug", step("fix3"))
    late = Route("then").on("kind").when("feature", step("answer")).otherwise(step("other"))
    (told,) = problems(classify() >> first() >> only >> late)
    assert "route 'only' before it has no branch" in told and "'first'" not in told
    # each given the branch: "question" gets to 'answer'
    both = classify() >> first().otherwise(step("r1")) >> second.otherwise(step("r2")) >> then
    assert validate(to_graph(both, inputs={"ticket"})) == []
    done = run(
        both, provider=FakeProvider(responses={"classify": '"question"'}), state={"ticket": 1}
    )
    assert "out_answer" in done.state


def test_a_value_only_a_writer_kept_out_by_a_route_with_an_otherwise_writes_is_refused():
    """'classify' may write "feature" and 'ask' may reach 'then', but 'ask' never writes it
    and 'bugs' takes 'classify''s "feature" to 'ask': the branch was accepted (each writer's
    values and what the routes let through were counted apart, and 'classify''s value was
    told as 'drop' left it: anything but "spam")."""
    then = Route("then").on("kind").when("bug", step("a")).when("feature", step("b"))
    pipeline = spam_then_bugs() >> then.when("asked", step("c")).otherwise(step("d"))
    assert problems(pipeline) == [
        "Route 'then' has a branch for \"feature\", but 'kind' cannot be \"feature\" when "
        "'then' runs: route 'bugs' before it takes any other value to a branch that writes "
        "'kind', and agent 'ask' never writes \"feature\" to 'kind'; so that branch can never "
        "run."
    ]
    assert hints(pipeline) == [
        "Remove the branch for \"feature\" from 'then', or give 'bugs' .when('feature', step) "
        "with a step that leaves 'kind' as it is."
    ]
    # without that branch: a run with "feature" gets to 'then' as 'ask''s "asked"
    fixed = spam_then_bugs() >> Route("then").on("kind").when("bug", step("a")).when(
        "asked", step("c")
    )
    assert validate(to_graph(fixed, inputs={"ticket"})) == []
    answers = {"classify": '"feature"', "ask": '"asked"'}
    done = run(fixed, provider=FakeProvider(responses=answers), state={"ticket": "?"})
    assert "out_c" in done.state


def test_a_route_with_an_otherwise_is_not_told_as_failing_a_run_with_another_value():
    """'inner' (no otherwise) and 'outer' (whose otherwise writes 'kind' again before
    'inner') each let only "bug" through: 'outer' was said to have no otherwise too."""
    again = Agent("again").instruct("Again.").output(KINDS).writes("kind")
    inner = Route("inner").on("kind").when("bug", step("fix2"))
    outer = Route("outer").on("kind").when("bug", step("fix")).otherwise(again >> inner)
    then = Route("then").on("kind").when("feature", step("spec")).otherwise(step("rest"))
    assert problems(classify() >> outer >> then) == [
        "Route 'then' has a branch for \"feature\", but 'kind' can only be \"bug\" when 'then' "
        "runs: route 'inner' before it has no branch for any other value and no otherwise, so "
        "a run with another value fails there, and route 'outer' before it takes any other "
        "value to a branch that writes 'kind'; so that branch can never run."
    ]
