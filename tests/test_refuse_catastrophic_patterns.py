"""An output schema's ``pattern`` that a reply can make backtrack for hours is refused where it
is given (issue #17): ``re`` holds the GIL while it matches, so a hostile reply such as
``"aaaaaaaaaaaaaaaaaaaaaaaaaaaaa!"`` against ``^(a+)+$`` stalled the whole process, past the
agent's ``.timeout()`` (a thread would not help: the event loop waits with it). Patterns that
match each text one way only, the usual ones, are taken."""

from __future__ import annotations

import pytest
from pydantic import BaseModel, Field

from irgraph import Agent, PipelineError, run
from irgraph.ir import from_json, to_json
from irgraph.ir.schema_patterns import OPTIONS, REPEATS, catastrophic
from irgraph.testing import FakeProvider

HOSTILE = {"type": "string", "pattern": "^(a+)+$"}


def test_a_nested_repeat_is_refused_at_output_naming_agent_pattern_and_place():
    schema = {"type": "object", "properties": {"answer": HOSTILE}}
    with pytest.raises(PipelineError) as info:
        Agent("judge").output(schema)
    message = str(info.value)
    assert message.startswith(
        "The output schema of 'judge' has the pattern '^(a+)+$' (at /properties/answer/pattern), "
        "whose repeat inside a repeat can take exponential time on a reply that almost matches"
    )
    assert "no .timeout() can stop it" in message
    assert "'^(a+)+$' matches what '^a+$' does" in message
    assert info.value.problems[0].node == "judge"


def test_the_hostile_reply_never_reaches_the_check():
    fake = FakeProvider(responses={"judge": '"aaaaaaaaaaaaaaaaaaaaaaaaaaaaa!"'})
    with pytest.raises(PipelineError, match="'judge' has the pattern"):
        run(Agent("judge").instruct("Say a.").output(HOSTILE), provider=fake)
    assert fake.calls == []


def test_pattern_properties_and_pydantic_patterns_are_refused_too():
    keyed = {"type": "object", "patternProperties": {"^(x+x+)+y$": {"type": "string"}}}
    with pytest.raises(PipelineError, match=r"at /patternProperties/\^\(x\+x\+\)\+y\$"):
        Agent("a").output(keyed)

    class Verdict(BaseModel):
        words: str = Field(pattern=r"^(\w+\s?)*$")

    with pytest.raises(PipelineError, match=r"at /properties/words/pattern"):
        Agent("a").output(Verdict)


def test_ir_json_holding_such_a_pattern_is_refused():
    text = to_json(Agent("judge").output({"type": "string", "pattern": "^a+$"}).to_ir())
    with pytest.raises(PipelineError, match="'judge' has the pattern"):
        from_json(text.replace('"^a+$"', '"^(a+)+$"'))


@pytest.mark.parametrize(
    ("pattern", "shape"),
    [
        ("^(a+)+$", REPEATS),
        ("(a*)*", REPEATS),
        (r"^(\w+\s?)+$", REPEATS),
        ("(.*,)+x", REPEATS),
        (r"(-?\d+)+$", REPEATS),
        ("^((ab)+c?)+$", REPEATS),
        ("(?i)(A+a)+", REPEATS),
        ("(?=(a+)+$)", REPEATS),
        ("(a|a)*", OPTIONS),
        ("(a|aa)+$", OPTIONS),
        (r"(.|\s)*x", OPTIONS),
    ],
)
def test_patterns_that_split_a_text_many_ways_are_found(pattern, shape):
    assert catastrophic(pattern) == shape


@pytest.mark.parametrize(
    "pattern",
    [
        "^a+$",
        "^[a-z0-9]+(-[a-z0-9]+)*$",
        r"^([a-z]+\.)+[a-z]+$",
        r"^(\d+,)*\d+$",
        r"^(\w+\s)*\w+$",
        r"^[\w.+-]+@[\w-]+(\.[\w-]+)+$",
        r"^https?://([\w-]+\.)+[\w-]+(/[\w./?%&=-]*)?$",
        "^(a+b+)+$",
        r"(.|\n)*",
        r"^(?:[01]\d|2[0-3]):[0-5]\d$",
        "^(?>a+)+$",
        "^[0-9a-f]{8}-([0-9a-f]{4}-){3}[0-9a-f]{12}$",
        r"(\w|\d)+$",  # re reads it as one class
        "(bar|baz)+",
        "(x|xy|xyz)+$",
        r"^(\w+(\s\w+)*\s?)?$",  # the hint's rewrite of (\w+\s?)*
    ],
)
def test_patterns_that_match_each_text_one_way_are_taken(pattern):
    assert catastrophic(pattern) is None
    Agent("a").output({"type": "string", "pattern": pattern})


def test_a_pattern_inside_enum_data_is_no_schema_and_is_taken():
    Agent("a").output({"enum": [{"pattern": "^(a+)+$"}, {"pattern": "(a*)*"}]})
