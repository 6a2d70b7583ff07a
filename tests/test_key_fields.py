"""A field of a state key (``t.category``) where a whole key is expected: the error says state
keys are flat, and its hint's code, pasted as written, gets the field."""

from __future__ import annotations

import re
from typing import Any

import pytest

from irgraph import Agent, Loop, MapOver, PipelineError, Route, Transform, run, to_graph, validate
from irgraph.key_fields import field_of
from irgraph.testing import FakeProvider

SCHEMA = {
    "type": "object",
    "properties": {
        "category": {"enum": ["bug", "other"]},
        "items": {"type": "array", "items": {"type": "string"}, "minItems": 1},
    },
    "required": ["category", "items"],
}


def classify() -> Agent:
    return Agent("classify").instruct("Classify {ticket}.").output(SCHEMA).writes("t")


def refusal(make: Any) -> PipelineError:
    with pytest.raises(PipelineError) as caught:
        make()
    return caught.value


def transform_of(hint: str) -> Transform:
    """The ``Transform(...)...writes(...)`` the hint shows, built as a user pasting it would."""
    code = re.search(r"Transform\(.*?\.writes\('\w+'\)", hint)
    assert code is not None, hint
    return eval(code.group(), {"Transform": Transform})  # our own hint, pasted


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("t.category", ("t", "['category']")),
        ("t['items'][0]", ("t", "['items'][0]")),
        ('t["a b"]', ("t", "['a b']")),
        ("t[category]", ("t", "['category']")),
        ("t", None),
        ("café", None),
        ("t.", None),
        ("2t.a", None),
        (3, None),
    ],
)
def test_field_of(text: Any, expected: Any) -> None:
    assert field_of(text) == expected


def test_route_on_an_item_says_how_and_the_hint_runs() -> None:
    error = refusal(lambda: Route("r").on("t['items'][0]"))
    assert error.node == "r" and error.key == "t"
    said = "takes a state key, or a key and its fields as a dotted path ('verdict.category')"
    assert said in str(error) and "reads an item of a list in 't' by its index" in str(error)
    assert "state['t']['items'][0] == value" in str(error)
    dotted = refusal(lambda: Route("r").on("t.items.0"))  # Jinja's way: the same item
    assert "by its index" in str(dotted) and "state['t']['items'][0] == value" in str(dotted)
    pick = transform_of(str(error))
    fix = Agent("fix").instruct("Fix {ticket}.").writes("answer")
    other = Agent("other").instruct("Answer {ticket}.").writes("answer")
    route = Route("r").on("t_items_0").when("bug", fix).otherwise(other)
    pipeline = classify() >> pick >> route
    validate(to_graph(pipeline, inputs={"ticket"}))
    result = run(pipeline, provider=FakeProvider(), state={"ticket": "crash"})
    assert result.state["t_items_0"] == result.state["t"]["items"][0]


def test_route_on_a_field_in_brackets_is_told_its_dotted_path() -> None:
    error = refusal(lambda: Route("r").on("t['category']"))
    assert "takes a field of a key as a dotted path, 't.category'" in str(error)
    assert error.problems[0].hint == "Write .on('t.category')."


def test_template_item_says_how_and_the_hint_runs() -> None:
    error = refusal(lambda: Agent("u").instruct("First {t[items][0]}."))
    assert error.node == "u" and error.key == "t"
    assert "reads a field of 't'" in str(error) and "{t} gives the whole value" in str(error)
    assert "never a list's item by its index" in str(error) and "use {t_items_0}" in str(error)
    pipeline = classify() >> transform_of(str(error)) >> Agent("u").instruct("Use {t_items_0}.")
    validate(to_graph(pipeline, inputs={"ticket"}))
    result = run(pipeline, provider=FakeProvider(), state={"ticket": "crash"})
    assert result.state["t_items_0"] == result.state["t"]["items"][0]


@pytest.mark.parametrize("written", ["{t['category']}", '{t["category"]}', "{t[category]}"])
def test_template_field_in_brackets_is_told_its_dotted_path_which_runs(written: str) -> None:
    error = refusal(lambda: Agent("u").instruct(f"Fix the {written}."))
    assert error.node == "u" and error.key == "t"
    assert "reads a field of 't'" in str(error) and "its dotted path, {t.category}" in str(error)
    assert error.problems[0].hint.startswith("Write {t.category}:")
    pipeline = classify() >> Agent("u").instruct("Fix the {t.category}.").writes("fixed")
    validate(to_graph(pipeline, inputs={"ticket"}))
    result = run(pipeline, provider=FakeProvider(), state={"ticket": "crash"})
    assert result.state["fixed"] == f"<u: Fix the {result.state['t']['category']}.>"


def test_until_over_and_writes_name_their_fix() -> None:
    until = refusal(lambda: Loop("l").step(classify()).until("t['items'][0]", equals="bug"))
    assert ".until(lambda state: state['t']['items'][0] == value)" in str(until)
    dotted = refusal(lambda: Loop("l").step(classify()).until("t['category']", equals="bug"))
    assert dotted.problems[0].hint == "Write .until('t.category')."
    over = refusal(lambda: MapOver("m").over("t['items']"))
    assert over.problems[0].hint == "Write .over('t.items')."
    indexed = refusal(lambda: MapOver("m").over("t['items'][0]"))
    assert "Transform('t_items_0', lambda t: t['items'][0])" in str(indexed)
    pipeline = classify() >> MapOver("m").over("t.items").step(
        Agent("r").instruct("Read {item}.").writes("n")
    ).writes("notes")
    result = run(pipeline, provider=FakeProvider(), state={"ticket": "crash"})
    assert len(result.state["notes"]) == len(result.state["t"]["items"])
    writes = refusal(lambda: Agent("a").writes("t.category"))
    assert "Write the whole value to 't'" in str(writes)
    assert "{t.category} in a template, .on('t.category') in a route" in str(writes)
    item = refusal(lambda: Agent("a").writes("t[0]"))
    assert "Transform('t_0', lambda t: t[0])" in str(item)


def test_a_key_that_is_no_field_keeps_its_message() -> None:
    error = refusal(lambda: MapOver("m").collect("café"))
    assert "must be a state key (ASCII letters" in str(error)
    assert "field" not in str(error)
    over = refusal(lambda: MapOver("m").over("café"))  # a path is fine there, said so
    assert "must be a state key (ASCII letters" in str(over)
    assert "or a key and its fields ('plan.topics') (got 'café'" in str(over)
