"""A system prompt is sent as written (only the instruction is a template): a ``{key}`` in it
reached the model as is, and nothing said so. ``validate`` and ``irgraph check`` warn."""

from __future__ import annotations

import io

from irgraph import Agent, to_graph, validate
from irgraph.cli import main
from irgraph.testing import FakeProvider
from tests.support.modules import importable


def test_a_key_in_a_system_prompt_is_a_warning_naming_the_agent_and_the_key():
    agent = Agent("w").system("You are {persona}, {persona?}.").instruct("Go {topic}.")
    warnings = validate(to_graph(agent, inputs={"topic"}))
    assert len(warnings) == 1
    assert warnings[0].startswith("Agent 'w''s system prompt holds {persona}, which is sent")
    assert "Put the keys in .instruct(...)" in warnings[0]


def test_braces_that_are_no_key_are_no_warning():
    agent = Agent("w").system('Reply as JSON like {"a": 1} or {}.').instruct("Go.")
    assert validate(to_graph(agent)) == []


def test_the_prompt_is_sent_as_written_as_the_warning_says():
    fake = FakeProvider()
    from irgraph import run

    run(Agent("w").system("You are {persona}.").instruct("Go."), provider=fake)
    assert fake.calls[0].system == "You are {persona}."


def test_irgraph_check_prints_the_warning(tmp_path, monkeypatch):
    module = importable(
        tmp_path,
        monkeypatch,
        "system_prompt_pipeline",
        "from irgraph import Agent\nw = Agent('w').system('You are {persona}.').instruct('Go.')\n",
    )
    out = io.StringIO()
    assert main(["check", f"{module}:w"], out=out) == 0
    assert "warning: Agent 'w''s system prompt holds {persona}" in out.getvalue()


def test_doubled_braces_are_no_key():
    agent = Agent("w").system("Use {{braces}} literally.").instruct("Go.")
    assert validate(to_graph(agent)) == []
