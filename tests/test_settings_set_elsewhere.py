"""A setting naming a request field irgraph fills itself (``model``, ``messages``,
``response_format``, ...) is refused where it is written, naming the agent and the method
that sets it: sent, it would go beside irgraph's own fields and win, so a request would ask
another model, drop the prompt or ignore the output schema, with no word said."""

from __future__ import annotations

import json
import re

import pytest

from irgraph import Agent, PipelineError
from irgraph.ir import from_json

METHODS = {
    "model": r"\.model\('gpt-4o'\)",
    "messages": r"\.system\('\.\.\.'\) and \.instruct\('\.\.\.'\)",
    "system": r"\.system\('\.\.\.'\)",
    "prompt": r"\.instruct\('\.\.\.'\)",
    "response_format": r"\.output\(schema\)",
    "stream": "streams a reply where it shows it",
    "timeout": r"\.timeout\(seconds\)",
}
VALUES = {
    "model": "gpt-4o",
    "messages": [{"role": "user", "content": "something else"}],
    "system": "Be brief.",
    "prompt": "Say hi.",
    "response_format": {"type": "json_object"},
    "stream": True,
    "timeout": 30,
}


@pytest.mark.parametrize("name", sorted(METHODS))
def test_a_setting_irgraph_sets_itself_is_refused_by_settings(name):
    with pytest.raises(PipelineError, match=f"'triage' cannot take the setting '{name}'") as caught:
        Agent("triage").instruct("Classify {ticket}.").settings(**{name: VALUES[name]})
    assert caught.value.node == "triage"
    assert f"Leave '{name}' out of the settings" in str(caught.value)
    assert caught.value.problems[0].hint is not None
    assert re.search(METHODS[name], caught.value.problems[0].hint)


@pytest.mark.parametrize("name", sorted(METHODS))
def test_a_setting_irgraph_sets_itself_is_refused_in_a_json_file(name):
    root = {"kind": "AgentNode", "name": "triage", "settings": {name: VALUES[name]}}
    text = json.dumps({"format": "irgraph-ir", "version": 1, "root": root})
    with pytest.raises(PipelineError, match=f"'triage' cannot take the setting '{name}'"):
        from_json(text)


def test_settings_of_the_provider_still_pass_through():
    agent = Agent("a").settings(temperature=0, top_k=5, response_schema_name="x", user="ann")
    assert dict(agent.to_ir().settings) == {
        "temperature": 0,
        "top_k": 5,
        "response_schema_name": "x",
        "user": "ann",
    }
