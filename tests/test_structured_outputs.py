"""Agents with settings, a system prompt and an output schema on the asyncio scheduler
(issue #17, the shared run semantics, rules 2-5): the parsed value goes to state, replies that
do not match are asked again with feedback, and each attempt is one model call with its own
timeout."""

from __future__ import annotations

import asyncio
import json
import time

import pytest

from irgraph import Agent, Loop, RunError, Transform, run
from irgraph.backends.asyncio_backend import AsyncioBackend
from irgraph.backends.scheduler import Scheduler
from irgraph.providers import ModelRequest
from irgraph.templates import as_text
from irgraph.testing import FakeProvider
from irgraph.testing.fake import FunctionProvider

REPORT = {
    "type": "object",
    "properties": {"title": {"type": "string"}, "score": {"type": "integer", "minimum": 1}},
    "required": ["title", "score"],
}


def reporter(retries: int = 0) -> Agent:
    return (
        Agent("reporter")
        .instruct("Report on {topic}.")
        .output(REPORT, retries=retries)
        .writes("report")
    )


def test_the_parsed_value_is_written_not_the_text():
    fake = FakeProvider(responses={"reporter": '{"title": "Owls", "score": 4}'})
    result = run(reporter(), provider=fake, state={"topic": "owls"})

    assert result.state["report"] == {"title": "Owls", "score": 4}
    assert result.outputs["reporter"] == {"title": "Owls", "score": 4}


def test_templates_downstream_render_the_value_as_json():
    pipeline = reporter() >> Agent("editor").instruct("Edit {report}.").writes("edited")
    fake = FakeProvider(responses={"reporter": '{"title": "Owls", "score": 4}'})
    run(pipeline, provider=fake, state={"topic": "owls"})

    value = {"title": "Owls", "score": 4}
    assert fake.calls_of("editor")[0].prompt == f"Edit {as_text(value)}."
    assert json.loads(fake.calls_of("editor")[0].prompt[5:-1]) == value


def test_a_pydantic_model_a_transform_wrote_renders_as_its_json_in_a_template():
    pydantic = pytest.importorskip("pydantic")

    class Report(pydantic.BaseModel):
        title: str
        score: int

    made = Transform("make", lambda topic: Report(title=topic, score=4)).reads("topic")
    pipeline = made.writes("report") >> Agent("editor").instruct("Edit {report} ({extra})")
    fake = FakeProvider()
    run(pipeline, provider=fake, state={"topic": "Owls", "extra": [Report(title="a", score=1)]})
    # str(model) would be Python's title='Owls' score=4, which no model reads as JSON
    prompt = fake.calls_of("editor")[0].prompt
    assert prompt == 'Edit {"title": "Owls", "score": 4} ([{"title": "a", "score": 1}])'


def test_transforms_receive_the_python_value():
    pipeline = reporter() >> Transform("bump", lambda report: report["score"] + 1).reads(
        "report"
    ).writes("next_score")
    fake = FakeProvider(responses={"reporter": '{"title": "Owls", "score": 4}'})
    assert run(pipeline, provider=fake, state={"topic": "owls"}).state["next_score"] == 5


def test_without_a_configured_response_the_fake_answers_a_valid_value():
    result = run(reporter(), provider=FakeProvider(), state={"topic": "owls"})
    assert isinstance(result.state["report"]["score"], int)
    assert result.state["report"]["score"] >= 1


def test_a_fenced_json_reply_is_accepted():
    fake = FakeProvider(responses={"reporter": '```json\n{"title": "Owls", "score": 2}\n```'})
    result = run(reporter(), provider=fake, state={"topic": "owls"})
    assert result.state["report"] == {"title": "Owls", "score": 2}


def test_a_bad_reply_is_asked_again_with_feedback_then_succeeds():
    fake = FakeProvider(
        responses={
            "reporter": [
                "Sure! Here it is.",
                '{"title": "Owls", "score": 0}',
                '{"title": "Owls", "score": 3}',
            ]
        }
    )
    result = run(reporter(retries=2), provider=fake, state={"topic": "owls"})

    assert result.state["report"] == {"title": "Owls", "score": 3}
    calls = fake.calls_of("reporter")
    assert [c.attempt for c in calls] == [1, 2, 3]
    assert {c.prompt for c in calls} == {"Report on owls."}  # the same prompt each time
    assert calls[0].feedback is None
    assert "not JSON" in calls[1].feedback and "'Sure! Here it is.'" in calls[1].feedback
    assert "minimum" in calls[2].feedback or "less than" in calls[2].feedback
    assert [e.event for e in result.events("reporter")] == ["start", "end"]


def test_exhausted_retries_fail_the_run_naming_node_schema_error_and_reply():
    bad = '{"title": "Owls", "score": "high"}'
    pipeline = Agent("intro").instruct("Hi.").writes("hello") >> reporter(retries=1)
    fake = FakeProvider(responses={"reporter": bad})
    with pytest.raises(RunError) as info:
        run(pipeline, provider=fake, state={"topic": "owls"})

    error = info.value
    message = str(error)
    assert error.node == "reporter"
    assert "Node 'reporter' failed" in message and "2 attempts" in message
    assert "'high' is not of type 'integer'" in message
    assert repr(bad) in message
    assert "retries=n" in message
    assert len(fake.calls_of("reporter")) == 2
    assert error.completed == ["intro"] and "report" not in error.state


def test_a_long_raw_reply_is_cut_in_the_message():
    fake = FakeProvider(responses={"reporter": "x" * 5000})
    with pytest.raises(RunError) as info:
        run(reporter(), provider=fake, state={"topic": "owls"})
    assert "xxxx..." in str(info.value) and "x" * 300 not in str(info.value)


def test_settings_system_and_schema_reach_the_request():
    agent = (
        Agent("classify")
        .instruct("Classify {text}.")
        .system("You are a triage bot.")
        .settings(temperature=0.2, max_tokens=50)
        .output({"type": "string", "enum": ["bug", "feature"]})
        .writes("category")
    )
    fake = FakeProvider()
    result = run(agent, provider=fake, state={"text": "a crash"})

    request = fake.calls[0]
    assert request.system == "You are a triage bot."
    assert dict(request.settings) == {"temperature": 0.2, "max_tokens": 50}
    assert type(request.settings) is dict
    assert request.output_schema == {"type": "string", "enum": ["bug", "feature"]}
    assert (request.attempt, request.feedback) == (1, None)
    assert result.state["category"] in ("bug", "feature")


def test_a_plain_agent_sends_no_schema_and_writes_text():
    fake = FakeProvider()
    result = run(Agent("w").instruct("Write.").writes("t"), provider=fake)
    assert fake.calls[0].output_schema is None and fake.calls[0].system == ""
    assert result.state["t"] == "<w: Write.>"


def test_a_pydantic_model_class_is_a_schema():
    pydantic = pytest.importorskip("pydantic")

    class Verdict(pydantic.BaseModel):
        approved: bool
        reasons: list[str]

    agent = Agent("judge").instruct("Judge.").output(Verdict).writes("verdict")
    fake = FakeProvider(responses={"judge": '{"approved": true, "reasons": ["clear"]}'})
    result = run(agent, provider=fake)

    assert result.state["verdict"] == {"approved": True, "reasons": ["clear"]}
    Verdict.model_validate(run(agent, provider=FakeProvider()).state["verdict"])


def test_the_timeout_applies_to_each_attempt_separately():
    replies = iter(["no", "still no", '{"title": "Owls", "score": 1}'])

    async def slow(request: ModelRequest) -> str:
        await asyncio.sleep(0.3)
        return next(replies)

    # each attempt has room to spare under the timeout (a loaded machine may stretch one),
    # while the three together take longer than it
    agent = reporter(retries=2).timeout(0.85)
    started = time.monotonic()
    result = run(agent, provider=FunctionProvider(slow), state={"topic": "owls"})

    assert time.monotonic() - started >= 0.9  # longer than the timeout, in three attempts
    assert result.state["report"]["score"] == 1


def test_an_attempt_past_the_timeout_fails_the_node():
    async def second_hangs(request: ModelRequest) -> str:
        if request.attempt > 1:
            await asyncio.sleep(10)
        return "not json"

    with pytest.raises(RunError, match="timeout of 0.1 s") as info:
        run(reporter(retries=3), provider=FunctionProvider(second_hangs), state={"topic": "o"},
            timeout=0.1)  # fmt: skip
    assert info.value.node == "reporter"


def test_each_attempt_goes_through_the_call_hook():
    seen: list[tuple[int, str | None]] = []

    class Recording(Scheduler):
        async def call(self, request, path):
            seen.append((request.attempt, request.feedback and request.feedback[:25]))
            return await super().call(request, path)

    class Backend(AsyncioBackend):
        scheduler_class = Recording

    fake = FakeProvider(responses={"reporter": ["[]", '{"title": "T", "score": 9}']})
    run(reporter(retries=1), backend=Backend(fake), state={"topic": "owls"})
    assert seen == [(1, None), (2, "Your previous reply was n")]


@pytest.mark.parametrize(
    ("answers", "iterations"), [(["no", "approved", "no"], 2), (["no", "no", "no"], 3)]
)
def test_loop_until_equals_stops_on_the_value_not_on_truthiness(answers, iterations):
    loop = (
        Loop("review")
        .step(Agent("critic").instruct("Review.").writes("verdict"))
        .max_iterations(3)
        .until("verdict", equals="approved")
    )
    fake = FakeProvider(responses={"critic": answers})
    run(loop, provider=fake)
    assert len(fake.calls) == iterations


def test_loop_until_equals_compares_structured_values_as_json():
    loop = (
        Loop("count")
        .step(Agent("counter").instruct("Count.").output({"type": "number"}).writes("n"))
        .max_iterations(5)
        .until("n", equals=2)
    )
    fake = FakeProvider(responses={"counter": ["1", "2.0", "3"]})
    run(loop, provider=fake)
    assert len(fake.calls) == 2


def test_ask_works_in_plain_sync_code_and_inside_a_running_loop():
    agent = Agent("helper").instruct("Help with {topic}.")
    fake = FakeProvider()
    assert agent.ask(state={"topic": "owls"}, provider=fake) == "<helper: Help with owls.>"

    async def notebook_cell() -> object:
        # A notebook's cell runs while an event loop is already running in its thread.
        asyncio.get_running_loop()
        return agent.ask(state={"topic": "bats"}, provider=fake)

    assert asyncio.run(notebook_cell()) == "<helper: Help with bats.>"


def test_ask_returns_a_structured_value():
    agent = Agent("scorer").instruct("Score {text}.").output({"type": "integer"})
    assert agent.ask(state={"text": "x"}, provider=FakeProvider(responses={"scorer": "7"})) == 7
