"""Settings sent to a provider are refused where they are given when no model or server takes
them (issue #15): a ``max_tokens``, ``seed`` or ``output_retries`` of ``10**30`` failed late, at
the model call after the steps before it ran, or asked again for ever, where the builder and
IR JSON now name the agent, the setting and its range."""

from __future__ import annotations

import pytest

from irgraph import Agent, PipelineError
from irgraph.ir import from_json, to_json

HUGE = 10**30


@pytest.mark.parametrize(
    ("setting", "value", "range_"),
    [
        ("max_tokens", HUGE, "a whole number from 1 to 10,000,000"),
        ("max_tokens", 10_000_001, "a whole number from 1 to 10,000,000"),
        ("seed", HUGE, "from -9223372036854775808 to 9223372036854775807"),
        ("seed", -(2**63) - 1, "from -9223372036854775808 to 9223372036854775807"),
    ],
)
def test_a_setting_out_of_its_range_is_refused_naming_agent_setting_and_range(
    setting, value, range_
):
    with pytest.raises(PipelineError) as info:
        Agent("writer").settings(**{setting: value})
    message = str(info.value)
    assert message.startswith(f"The setting {setting} of 'writer' must be ")
    assert range_ in message


def test_the_ends_of_each_range_are_taken():
    agent = Agent("w").settings(max_tokens=10_000_000, seed=2**63 - 1).output({}, retries=100)
    assert Agent("w").settings(max_tokens=1, seed=-(2**63)).to_ir().settings["seed"] == -(2**63)
    assert agent.to_ir().output_retries == 100


def test_output_retries_past_a_hundred_are_refused_where_given():
    with pytest.raises(PipelineError) as info:
        Agent("writer").output({"type": "string"}, retries=HUGE)
    assert str(info.value).startswith(
        "The retries argument of 'writer'.output() must be a whole number from 0 to 100"
    )
    with pytest.raises(PipelineError, match="from 0 to 100 .got 101"):
        Agent("writer").output({"type": "string"}, retries=101)


def test_ir_json_with_huge_retries_or_settings_is_refused_too():
    text = to_json(Agent("writer").output({"type": "string"}, retries=3).to_ir())
    with pytest.raises(PipelineError, match="output_retries of AgentNode 'writer' must be a whole"):
        from_json(text.replace('"output_retries": 3', f'"output_retries": {HUGE}'))
    tokens = to_json(Agent("writer").settings(max_tokens=400).to_ir())
    with pytest.raises(PipelineError, match="The setting max_tokens of 'writer' must be"):
        from_json(tokens.replace('"max_tokens": 400', f'"max_tokens": {HUGE}'))
