"""``None`` in the state means "no value", the same way everywhere: an optional ``{key?}``
holding it renders as empty text, a required ``{key}`` holding it is an error naming the key
and the node (before the run for an initial value, at the node for a value written later),
and the command line's ``--state-json '{"topic": null}'`` follows the same rule."""

from __future__ import annotations

import asyncio
import io

import pytest

from irgraph import Agent, Gate, PipelineError, RunError, Transform, run
from irgraph.cli import main
from irgraph.testing import FakeProvider
from irgraph.testing.reference import interpret

WRITER = Agent("writer").instruct("Write about {topic}.").writes("text")


def test_a_required_key_holding_none_is_refused_before_the_run() -> None:
    provider = FakeProvider()
    with pytest.raises(PipelineError) as refused:
        run(WRITER, provider=provider, state={"topic": None})
    error = refused.value
    assert (error.node, error.key) == ("writer", "topic")
    assert "None means no value" in str(error) and "{topic?}" in str(error)
    assert provider.calls == []


def test_every_reader_is_named_gates_included() -> None:
    pipeline = WRITER >> Gate("approve", "Publish {topic}?").writes("ok")
    with pytest.raises(PipelineError) as refused:
        run(pipeline, provider=FakeProvider(), state={"topic": None}, on_gate=lambda r: "yes")
    assert [p.node for p in refused.value.problems] == ["writer", "approve"]


def test_an_optional_key_holding_none_renders_as_empty_text() -> None:
    optional = Agent("writer").instruct("Write about {topic?}.").writes("text")
    result = run(optional, provider=FakeProvider(), state={"topic": None})
    assert result.state["text"] == "<writer: Write about .>"


def test_a_transform_may_read_none() -> None:
    pipeline = Transform("fill", lambda topic: topic or "owls").reads("topic").writes("topic2")
    assert run(pipeline, state={"topic": None}).state["topic2"] == "owls"


def test_none_written_during_the_run_fails_at_the_reader_keeping_what_completed() -> None:
    pipeline = (
        Agent("planner").instruct("Plan.").writes("plan")
        >> Transform("lookup", lambda plan: None).reads("plan").writes("topic")
        >> WRITER
    )
    with pytest.raises(RunError) as failed:
        run(pipeline, provider=FakeProvider())
    error = failed.value
    assert error.node == "writer"
    assert "the state holds None for 'topic'" in str(error) and "{topic?}" in str(error)
    assert error.completed == ["planner", "lookup"] and error.state["plan"]
    # The reference interpreter follows the same rule.
    with pytest.raises(ValueError, match="'topic' holds None"):
        asyncio.run(interpret(pipeline.to_ir(), FakeProvider()))


def test_the_command_line_null_follows_the_same_rule(capsys: pytest.CaptureFixture[str]) -> None:
    target = "irgraph.demo:research_pipeline"
    code = main(["run", target, "--state-json", '{"topic": null}'], out=io.StringIO())
    err = capsys.readouterr().err
    assert code != 0 and "None means no value" in err and "'topic'" in err
    assert "Traceback" not in err
