"""A template with one ``{key}`` or none is filled without walking its parts
(``Template.simple``, in ``filled`` and inline in a plain agent's request): the prompt, the
values and the errors must be what the walk of the parts gives, whatever the value is."""

from __future__ import annotations

from typing import Any

import pytest

from irgraph import Agent, RunError, Transform
from irgraph.backends.asyncio_backend import AsyncioBackend
from irgraph.templates import filled, parse_template, render, template_values
from irgraph.testing import FakeProvider


class Shown(str):
    """A str subclass whose prompt text is its ``str()``, not its characters."""

    def __str__(self) -> str:
        return "shown"


TEMPLATES = ["{a}", "x{a}", "{a}y", "Go on from {a}.", "{{x}} {a} {{y}}", "x", "", "{{a}}"]
VALUES: list[Any] = ["A", "", Shown("raw"), 3, {"k": [1]}, None]


def _walked(template: Any, state: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """What the walk of the parts gives: the values, then the text rendered from them."""
    values = template_values(template, state)
    return render(template, values), values


def _outcome(fill: Any, *args: Any) -> Any:
    try:
        return fill(*args)
    except (KeyError, ValueError) as error:
        return type(error), str(error)


@pytest.mark.parametrize("text", TEMPLATES)
@pytest.mark.parametrize("value", VALUES, ids=repr)
def test_a_simple_template_fills_as_the_walk_of_its_parts(text: str, value: Any) -> None:
    template = parse_template(text)
    assert template.simple is not None
    for state in ({"a": value, "b": "other"}, {"b": "other"}):
        assert _outcome(filled, template, state) == _outcome(_walked, template, state)


def test_templates_with_more_than_one_key_or_an_optional_one_are_not_simple() -> None:
    for text in ("{a}{b}", "{a} {a}", "{a?}", "{a.b}", "x {a} {b?}"):
        assert parse_template(text).simple is None


@pytest.mark.parametrize("value", VALUES, ids=repr)
def test_a_plain_agents_prompt_is_the_general_paths_for_any_value(value: Any) -> None:
    pipeline = Transform("t", lambda: value).writes("a") >> Agent("w").instruct("From {a}.")
    runnable = AsyncioBackend(provider=FakeProvider()).compile(pipeline.to_ir(), inputs={})
    made = []
    for options in ({}, {"on_event": lambda event: None}):  # a handler: the general path
        try:
            result = runnable.run({}, **options)
            made.append([(c.node, c.prompt) for c in result.calls])
        except RunError as error:
            made.append((str(error), type(error.__cause__)))
    fast, general = made
    assert fast == general
    if isinstance(value, str):
        assert fast == [("w", f"From {value if type(value) is str else 'shown'}.")]
