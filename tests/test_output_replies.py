"""Replies that Python's json reads but that are no usable JSON are refused and asked again."""

from __future__ import annotations

import pytest

from irgraph import Agent, run
from irgraph.ir.outputs import OutputError, parse_reply
from irgraph.testing import FakeProvider

SCORE = {"type": "number", "minimum": 0, "maximum": 10}


@pytest.mark.parametrize("word", ["NaN", "Infinity", "-Infinity", "[1, NaN]"])
def test_nan_and_infinity_are_not_json_numbers(word):
    with pytest.raises(OutputError, match="not JSON"):
        parse_reply(word, {}, node="score")


def test_a_nan_reply_is_asked_again_not_written():
    fake = FakeProvider(responses={"score": ["NaN", "Infinity", "5"]})
    agent = Agent("score").instruct("Score it.").output(SCORE, retries=2).writes("score")
    result = run(agent, provider=fake, state={})
    assert result.state["score"] == 5
    assert [call.attempt for call in fake.calls] == [1, 2, 3]
    assert "NaN is not a JSON number" in (fake.calls[1].feedback or "")


def test_a_reply_nested_too_deeply_is_asked_again():
    deep = "[" * 100_000 + "]" * 100_000
    fake = FakeProvider(responses={"a": [deep, "[1]"]})
    agent = Agent("a").instruct("List.").output({"type": "array"}, retries=1).writes("v")
    assert run(agent, provider=fake, state={}).state["v"] == [1]
    assert "nested too deeply" in (fake.calls[1].feedback or "")
