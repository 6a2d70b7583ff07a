"""An agent with no instruction sends its model an empty prompt: a warning, found by an outside
trial where ``validate`` returned ``[]`` for it; and one whose instruction reads only optional
keys, none of them set, is warned of as the run sends it (once per agent per run)."""

from __future__ import annotations

import json
import warnings
from collections.abc import Callable

import pytest

from irgraph import Agent, MapOver, compile, run, to_graph, validate
from irgraph.backends.asyncio_backend import AsyncioBackend
from irgraph.builder import Builder
from irgraph.testing import FakeProvider


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


# At run time: an instruction that reads only optional keys renders empty when none is set.
LIST = {"type": "array", "items": {"type": "string"}}


def told(call: Callable[[], object]) -> list[str]:
    """The warnings ``call()`` gives, each one every time it is given."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        call()
    return [str(w.message) for w in caught if "empty prompt" in str(w.message)]


def each_item_unnoted() -> Builder:
    """A map-over of three items whose step says only ``{note?}``, after an agent that does."""
    step = Agent("c").instruct("{note?}").writes("o")
    return (
        Agent("a").instruct("List.").output(LIST).writes("xs")
        >> Agent("b").instruct("{note?}").writes("y")
        >> MapOver("m").over("xs").step(step).writes("os")
    )


def fake() -> FakeProvider:
    return FakeProvider(responses={"a": json.dumps(["1", "2", "3"])})


@pytest.mark.parametrize("how", ["plain", "on_event", "dataflow"])
def test_an_instruction_that_renders_empty_is_warned_of_once_per_agent_per_run(how: str) -> None:
    """Before, the model got an empty prompt without a word. ``plain``: the driver's own agent
    calls; ``on_event``: the scheduler's calls (a handler keeps agents off the fast path)."""
    backend = AsyncioBackend(schedule="dataflow" if how == "dataflow" else "topological")
    options = {"on_event": lambda event: None} if how == "on_event" else {}
    first = told(lambda: run(each_item_unnoted(), backend=backend, provider=fake(), **options))
    assert len(first) == 2, first  # 'b' once and 'c' once, though 'c' ran three times
    assert first[0].startswith(
        "Agent 'b' was sent an empty prompt: its instruction '{note?}' reads 'note' only if "
        "set, and this run's state holds no value for it. Give 'note' a value in the state"
    )
    assert "Agent('b').instruct(...)" in first[0] and first[1].startswith("Agent 'c' was sent")
    again = told(lambda: run(each_item_unnoted(), backend=backend, provider=fake(), **options))
    assert again == first  # each run warns again
    noted = {"note": "Be brief."}
    assert told(lambda: run(each_item_unnoted(), provider=fake(), state=noted, **options)) == []


def test_a_structured_answer_from_an_empty_prompt_is_warned_of_naming_each_key() -> None:
    pipeline = Agent("k").instruct("{topic?}{style?}").output({"type": "string"}).writes("x")
    (warning,) = told(lambda: run(pipeline, provider=FakeProvider(), state={"style": ""}))
    assert warning.startswith(
        "Agent 'k' was sent an empty prompt: its instruction '{topic?}{style?}' reads 'topic' "
        "only if set"
    )
    empty = {"topic": "", "style": ""}
    (warning,) = told(lambda: run(pipeline, provider=FakeProvider(), state=empty))
    assert warning.startswith(
        "Agent 'k' was sent an empty prompt: its instruction '{topic?}{style?}' rendered as "
        "empty text ('topic' and 'style' held empty text). Give 'topic' and 'style' a value"
    )


def test_an_agent_with_no_instruction_is_left_to_validate_at_run_time() -> None:
    assert told(lambda: run(Agent("a").writes("x"), provider=FakeProvider())) == []
