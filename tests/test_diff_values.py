"""What a diff tells of a change: the old and the new value told apart as the run tells them
(``1`` is not ``"1"``), and an edited node paired with the old node it reads like."""

from __future__ import annotations

import pytest

from irgraph import Agent, Loop, Route, to_graph
from irgraph.analysis import diff


def _loop(**until):
    step = Agent("a").instruct("A {t}").writes("x")
    return Loop("l").step(step).max_iterations(3).until("x", **until)


def _route(value):
    return Route("r").on("t").when(value, Agent("p").writes("o")).otherwise(Agent("q").writes("o"))


@pytest.mark.parametrize(
    ("old", "new", "line"),
    [
        ({"equals": 1}, {"equals": "1"}, '~ node l: until_equals (1 -> "1")'),
        ({"equals": "ok"}, {"equals": "done"}, '~ node l: until_equals ("ok" -> "done")'),
        ({}, {"equals": None}, "~ node l: until_equals (truthy -> null)"),
        ({"equals": "null"}, {"equals": None}, '~ node l: until_equals ("null" -> null)'),
    ],
)
def test_a_loops_changed_stop_value_shows_both_values_as_json(old, new, line):
    """``until(equals=1)`` -> ``until(equals="1")`` printed ``until_equals ([1] -> 1)``, and a
    string stop value lost its quotes, so ``"1"`` and ``1`` looked alike."""
    change = diff(to_graph(_loop(**old), inputs={"t"}), to_graph(_loop(**new), inputs={"t"}))
    assert line in str(change).splitlines()


@pytest.mark.parametrize(
    ("old", "new", "line"),
    [
        (1, "1", '~ node r: cases (1, otherwise -> "1", otherwise)'),
        (True, "true", '~ node r: cases (true, otherwise -> "true", otherwise)'),
    ],
)
def test_a_routes_changed_case_value_shows_the_values_as_json(old, new, line):
    """A route's cases printed each value through str(): ``.when(1)`` -> ``.when("1")`` read
    ``cases ([{"equals": "1"}, ...] -> [{"equals": "1"}, ...])``, the same text twice, and
    ``True`` read ``"True"``."""
    change = diff(to_graph(_route(old), inputs={"t"}), to_graph(_route(new), inputs={"t"}))
    assert line in str(change).splitlines()


def test_a_route_with_a_case_added_says_its_cases_by_their_labels():
    """A case added to a route of three showed as ``cases`` alone: both lists of cases, as
    JSON, were too long to show."""
    fix, spec, answer = (Agent(n).writes("o") for n in ("fix", "spec", "answer"))
    old = Route("triage").on("t").when("bug", fix).when("question", answer).otherwise(spec)
    new = Route("triage").on("t").when("bug", fix).when("feature", spec).when("question", answer)
    change = diff(to_graph(old, inputs={"t"}), to_graph(new.otherwise(Agent("x")), inputs={"t"}))
    said = '"bug", "question", otherwise -> "bug", "feature", "question", otherwise'
    assert f"~ node triage: cases ({said})" in str(change).splitlines()


def test_of_two_edited_nodes_of_one_name_a_node_pairs_with_the_one_it_reads_like():
    """writer, critic, writer with the first writer removed and the others edited: the new
    'Revise {topic} ...' writer was paired with the removed 'Draft {topic}.' one (both were as
    alike by equal settings), so the diff said the kept writer's instruction became another,
    the critic moved first, and the second writer was removed."""
    draft = Agent("writer").instruct("Draft {topic}.").writes("draft")
    critic = Agent("critic").instruct("Critique {draft}.").writes("notes")
    revise = Agent("writer").instruct("Revise {draft} using {notes}.").writes("draft")
    new = Agent("critic").instruct("Critique {topic}.").writes("notes") >> revise.instruct(
        "Revise {topic} using {notes}."
    )
    change = diff(
        to_graph(draft >> critic >> revise, inputs={"topic"}), to_graph(new, inputs={"topic"})
    )
    assert change.removed == ["writer"] and change.renumbered == {"writer": "writer#2"}
    lines = str(change).splitlines()
    assert '~ node critic: instruction ("Critique {draft}." -> "Critique {topic}.")' in lines
    revised = '("Revise {draft} using {notes}." -> "Revise {topic} using {notes}.")'
    assert f"~ node writer: instruction {revised}" in lines


def _judge(output=None, **settings):
    judge = Agent("judge").instruct("Judge {t}.").settings(**settings)
    return to_graph(judge.output(output) if output is not None else judge, inputs={"t"})


_VERDICT = {
    "type": "object",
    "properties": {"category": {"type": "string", "enum": ["bug", "question"]}},
    "required": ["category"],
}


def test_a_changed_output_schema_says_the_part_of_it_that_changed():
    """An enum value added to an agent's output schema showed as ``~ node judge: output``
    alone (the whole schema, as JSON, too long to show), so a user could not tell from the
    diff what the route on it would now see."""
    wider = {**_VERDICT, "properties": {"category": {"type": "string", "enum": ["bug", "q"]}}}
    change = str(diff(_judge(_VERDICT), _judge(wider))).splitlines()
    old, new = 'category.enum=["bug", "question"]', 'category.enum=["bug", "q"]'
    assert f"~ node judge: output (properties.{old} -> properties.{new})" in change
    dropped = {**_VERDICT, "required": []}
    assert (
        '~ node judge: output (required=["category"] -> required=[])'
        in str(diff(_judge(_VERDICT), _judge(dropped))).splitlines()
    )


def test_an_output_schema_set_or_dropped_and_long_settings_say_what_changed():
    """A schema given to a free-text agent, or a long dict of model settings changed, named
    only the setting."""
    given, dropped = diff(_judge(), _judge(_VERDICT)), diff(_judge(_VERDICT), _judge())
    assert str(given) == "~ node judge: output (free text -> JSON Schema)"
    assert str(dropped) == "~ node judge: output (JSON Schema -> free text)"
    many = {"max_tokens": 1000, "top_p": 0.9, "stop": ["END", "STOP"], "seed": 7}
    change = diff(_judge(temperature=0.2, **many), _judge(temperature=0.7, **many))
    assert str(change) == "~ node judge: settings (temperature=0.2 -> temperature=0.7)"
    extra = diff(_judge(**many), _judge(**many, temperature=0.7))
    assert str(extra) == "~ node judge: settings (no temperature -> temperature=0.7)"
