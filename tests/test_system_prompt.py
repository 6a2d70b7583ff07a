"""A system prompt is a template like the instruction: ``{key}`` reads a state key (a data
edge from its writer, checked by ``validate``), ``{key?}`` reads it if set, ``{{``/``}}`` are
literal braces; every backend that calls a model fills it, as the reference interpreter
does."""

from __future__ import annotations

import asyncio
import io

import pytest

from irgraph import Agent, PipelineError, RunError, Transform, run, to_graph, validate
from irgraph.backends.asyncio_backend import AsyncioBackend
from irgraph.backends.mermaid import to_mermaid
from irgraph.backends.plain_agents import plain_request, system_plain_request
from irgraph.backends.plan import Step
from irgraph.cli import main
from irgraph.ir import from_json, to_json
from irgraph.testing import FakeProvider
from irgraph.testing.reference import interpret
from tests.support.modules import importable

PERSONA = Agent("persona").instruct("Pick a persona for {topic}.").writes("persona")
WRITER = (
    Agent("w").system("You are {persona}.{tone?} Use {{braces}}.").instruct("Write on {topic}.")
)
PIPELINE = PERSONA >> WRITER
STATE = {"topic": "owls"}
PERSONA_REPLY = "<persona: Pick a persona for owls.>"  # FakeProvider's answer
SYSTEM = f"You are {PERSONA_REPLY}. Use {{braces}}."


def test_a_key_in_a_system_prompt_is_a_data_edge_from_its_writer():
    G = to_graph(PIPELINE, inputs={"topic"})
    assert G.edges["persona", "w"]["keys"] == ["persona"]
    assert G.nodes["w"]["reads"] == ["topic", "persona"]
    assert G.nodes["w"]["optional_reads"] == ["tone"]
    assert validate(G) == []
    assert 'n1 -->|"persona"| n2' in to_mermaid(G)


def test_a_system_key_nothing_writes_is_a_problem_naming_the_agent_and_the_key():
    with pytest.raises(PipelineError) as caught:
        validate(to_graph(WRITER, inputs={"topic"}))
    message = str(caught.value)
    assert "'w' reads {persona} in its system prompt, but no step before it writes" in message
    assert "{tone}" not in message  # an optional key may be unset
    with pytest.raises(PipelineError, match=r"'w' reads \{topic\}, but no step"):
        validate(to_graph(WRITER, inputs={"persona"}))  # the instruction's: said as before


def test_a_key_both_prompts_read_is_required_if_either_requires_it():
    agent = Agent("w").system("As {a?}.").instruct("Go {a} {b?}.").to_ir()
    assert (agent.reads, agent.optional_reads) == (("a",), ("b",))


def test_braces_that_are_no_key_are_refused_where_the_system_prompt_is_written():
    with pytest.raises(PipelineError) as caught:
        Agent("w").system('Reply as JSON like {"a": 1}.')
    message = str(caught.value)
    assert message.startswith("The system prompt of 'w' contains")
    assert "Write a literal brace as '{{' or '}}'." in message


def test_the_asyncio_backend_fills_the_system_prompt_on_its_plain_path():
    fake = FakeProvider()
    run(PIPELINE, provider=fake, state=STATE)
    request = fake.calls[1]
    assert request.system == SYSTEM
    assert dict(request.state) == {"topic": "owls", "persona": PERSONA_REPLY}


def test_the_asyncio_backend_fills_the_system_prompt_on_its_general_path():
    fake = FakeProvider()
    events: list[object] = []
    run(PIPELINE, provider=fake, state={**STATE, "tone": " Be kind."}, on_event=events.append)
    assert fake.calls[1].system == SYSTEM.replace(". Use", ". Be kind. Use")
    assert "tone" in fake.calls[1].state


def test_a_system_prompt_with_no_key_to_fill_is_made_once_when_the_run_is_planned():
    plain = Step("w", "agent", Agent("w").system("Be brief.").to_ir())
    braces = Step("w", "agent", Agent("w").system("Use {{x}}.").to_ir())
    templated = Step("w", "agent", WRITER.to_ir())
    assert plain.plain_request is braces.plain_request is plain_request
    assert (plain.request["system"], braces.request["system"]) == ("Be brief.", "Use {x}.")
    assert templated.plain_request is system_plain_request


def no_persona(topic: str) -> None:
    return None


def test_a_required_system_key_holding_none_fails_the_run_naming_the_agent():
    blank = Transform("blank", no_persona).reads("topic").writes("persona")
    with pytest.raises(RunError) as caught:
        run(blank >> WRITER, provider=FakeProvider(), state=STATE)
    assert caught.value.node == "w"
    assert "the state holds None for 'persona'" in str(caught.value)
    with pytest.raises(PipelineError, match="holds None for 'persona', which 'w' requires"):
        run(WRITER, provider=FakeProvider(), state={**STATE, "persona": None})


def test_the_reference_interpreter_fills_the_system_prompt_as_the_backends_do():
    fake = FakeProvider()
    reference = asyncio.run(interpret(PIPELINE.to_ir(), FakeProvider(), dict(STATE)))
    AsyncioBackend(provider=fake).compile(PIPELINE.to_ir()).run(state=STATE)
    assert [r.system for r in reference.requests] == [c.system for c in fake.calls]
    assert reference.requests[1].system == SYSTEM


def test_the_system_template_survives_json():
    loaded = from_json(to_json(WRITER.to_ir()))
    assert loaded.reads == ("topic", "persona")
    assert loaded.optional_reads == ("tone",)


def test_irgraph_check_names_a_system_key_nothing_writes(tmp_path, monkeypatch, capsys):
    module = importable(
        tmp_path,
        monkeypatch,
        "system_prompt_pipeline",
        "from irgraph import Agent\nw = Agent('w').system('You are {persona}.').instruct('Go.')\n",
    )
    assert main(["check", f"{module}:w"], out=io.StringIO()) != 0
    assert "'w' reads {persona} in its system prompt, but no" in capsys.readouterr().err


def test_ask_appends_the_prompt_to_the_instruction_even_when_the_system_prompt_reads_it():
    fake = FakeProvider()
    assert Agent("a").system("About {prompt}.").ask("owls", provider=fake) == "<a: owls>"
    assert fake.calls[0].system == "About owls."
