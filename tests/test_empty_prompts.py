"""An agent with no instruction sends its model an empty prompt: a warning, found by an outside
trial where ``validate`` returned ``[]`` for it."""

from __future__ import annotations

from irgraph import Agent, compile, to_graph, validate


def test_an_agent_with_no_instruction_is_warned_of_with_the_call_to_add() -> None:
    pipeline = Agent("a").writes("x") >> Agent("b").instruct("B {x}")
    (warning,) = validate(to_graph(pipeline))
    assert warning.startswith("Agent 'a' has no instruction, so its model is sent an empty prompt")
    assert "Agent('a').instruct(\"...\")" in warning
    assert compile(pipeline, backend="asyncio").warnings == [warning]


def test_an_agent_with_only_a_system_prompt_is_told_its_user_message_is_empty() -> None:
    pipeline = Agent("a").system("You are a poet. Write a haiku.").writes("x")
    (warning,) = validate(to_graph(pipeline))
    assert warning.startswith("Agent 'a' has a system prompt but no instruction")
    assert "user message is empty" in warning and "Agent('a').instruct(\"...\")" in warning


def test_a_blank_instruction_is_warned_of_and_an_instructed_agent_is_not() -> None:
    (warning,) = validate(to_graph(Agent("a").instruct("  \n")))
    assert "Agent 'a' has no instruction" in warning
    assert validate(to_graph(Agent("a").instruct("Go.").system("Be brief."))) == []


def test_a_reused_agent_name_is_named_by_its_node_id_and_its_builder_name() -> None:
    pipeline = Agent("a").instruct("Go.").writes("x") >> Agent("a").writes("y")
    (warning,) = validate(to_graph(pipeline))
    assert warning.startswith("Agent 'a#2' has no instruction")
    assert "Agent('a').instruct" in warning
