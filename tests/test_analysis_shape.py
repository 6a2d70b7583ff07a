"""``items=``, ``iterations=`` and ``branches=`` each count one kind of node: a node of another
kind is refused with the argument that counts it, and a name no node has with the closest
names, also of another kind."""

from __future__ import annotations

from typing import Any

import pytest

from irgraph import Agent, Loop, MapOver, Route
from irgraph.analysis import makespan, parallelizable
from irgraph.errors import PipelineError


def _pipeline() -> Agent:
    return (
        Agent("plan").instruct("Plan.").writes("draft")
        >> Loop("refine")
        .step(Agent("edit").instruct("Edit {draft}.").writes("draft"))
        .max_iterations(3)
        >> MapOver("each")
        .over("papers")
        .step(Agent("read").instruct("Read {item}.").writes("note"))
        .writes("notes")
        >> Route("triage")
        .on("draft")
        .when("bug", Agent("fix").instruct("Fix {draft}."))
        .otherwise(Agent("reply").instruct("Reply to {draft}."))
    )


def _refusal(**counts: Any) -> PipelineError:
    with pytest.raises(PipelineError) as refused:
        makespan(_pipeline(), 1.0, **counts)
    with pytest.raises(PipelineError) as again:  # the same check, for both analyses
        parallelizable(_pipeline(), 1.0, **counts)
    assert str(again.value) == str(refused.value)
    return refused.value


def test_a_loop_in_items_is_pointed_to_iterations():
    error = _refusal(items={"refine": 2})
    assert "items names 'refine', which is a loop, not a map-over" in str(error)
    assert error.problems[0].hint == "Give it in iterations= instead: iterations={'refine': 2}."
    assert error.problems[0].node == "refine"
    assert makespan(_pipeline(), 1.0, iterations={"refine": 2}) == 5.0  # the fix works


def test_a_map_over_in_iterations_is_pointed_to_items():
    error = _refusal(iterations={"each": 4})
    assert "iterations names 'each', which is a map-over, not a loop" in str(error)
    assert error.problems[0].hint == "Give it in items= instead: items={'each': 4}."


def test_a_route_or_a_scope_in_the_wrong_counts_is_pointed_to_its_own():
    assert "branches={'triage': CASE} (a case's value, label or index)" in str(
        _refusal(items={"triage": 1})
    )
    assert "iterations= instead: iterations={'refine': n}" in str(
        _refusal(branches={"refine": "bug"})
    )


def test_a_step_inside_a_scope_is_pointed_to_the_scope():
    error = _refusal(items={"read": 3})
    assert "'read', which is an agent, not a map-over; it runs inside map-over 'each'" in str(error)
    assert error.problems[0].hint == "Name the map-over: items={'each': 3}."
    assert "branches={'triage': 'bug'}" in str(_refusal(branches={"fix": "x"}))
    assert "'plan', which is an agent, not a loop. Its loops: refine." in str(
        _refusal(iterations={"plan": 2})
    )


def test_an_unknown_name_is_told_the_closest_node_of_any_counted_kind():
    assert "Did you mean 'each'?" in str(_refusal(items={"eahc": 2}))
    near_a_loop = str(_refusal(items={"refin": 2}))
    assert "Did you mean loop 'refine'? It is counted by iterations=: iterations=" in near_a_loop
    assert "{'refine': 2}" in near_a_loop
    assert "Did you mean map-over 'each'?" in str(_refusal(iterations={"eech": 2}))
    assert "Did you mean" not in str(_refusal(iterations={"zzz": 2}))


@pytest.mark.parametrize(
    ("counts", "said", "hint"),
    [
        ({"items": {"each": "3"}}, "items of 'each' must be", "items={'each': 3}"),
        ({"items": {"each": 2.5}}, "items of 'each' must be", "items={'each': 3}"),
        (
            {"iterations": {"refine": 2.5}},
            "iterations of 'refine' must be a whole number (",
            "n from 1 to 3",
        ),
        (
            {"iterations": {"refine": "2"}},
            "iterations of 'refine' must be a whole number (",
            "n from 1 to 3",
        ),
    ],
)
def test_a_count_that_is_no_whole_number_is_told_the_call_to_write(
    counts: dict[str, Any], said: str, hint: str
) -> None:
    """A count of the wrong type (text from a config file, a float) was refused with no hint,
    and a loop's as 'at least 0', though a loop runs at least once; now each names the call."""
    refused = _refusal(**counts)
    assert said in str(refused) and hint in refused.problems[0].hint


@pytest.mark.parametrize("state", [["papers"], "papers"])
def test_a_state_that_is_no_dict_is_refused_naming_the_keys_read(state: Any) -> None:
    """``state=['papers']`` (the keys, not the state) crashed with ``TypeError: list indices
    must be integers or slices, not str`` from inside the analysis."""
    refused = _refusal(state=state)
    assert "state= must be the initial state, a dict" in str(refused)
    assert "state={'papers': ..., 'draft': ...}" in refused.problems[0].hint


def test_a_case_no_route_has_is_told_the_closest_value_and_the_call() -> None:
    """``branches={'triage': 'Bug'}`` was told no 'did you mean', as the value was compared
    with the labels in their quotes (``"bug"``), and the hint listed labels alone."""
    refused = _refusal(branches={"triage": "Bug"})
    assert "Did you mean 'bug'?" in str(refused)
    hint = refused.problems[0].hint
    assert '0: "bug", 1: otherwise' in hint and "branches={'triage': 'bug'}" in hint
