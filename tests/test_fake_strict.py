"""FakeProvider refuses configuration that would send a test down the wrong path: a name in
``responses``/``fail``/``latency`` that looks like a typo of the agent being asked, a function
answer that is not text, an empty list of answers; ``unused()``/``assert_used()`` name what no
agent asked for. Also: the messages for integer bounds that leave no value, and the docs'
claims about streaming and the hypothesis example."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path
from typing import Any

import pytest

from irgraph import Agent, PipelineError, Route, RunError, run
from irgraph.providers import ModelRequest
from irgraph.testing import FakeProvider
from irgraph.testing.fake import FakeProviderError
from irgraph.testing.fake_values import UnsupportedSchema, fake_value

DOCS = Path(__file__).resolve().parents[1] / "docs"
CAT = {"type": "string", "enum": ["bug", "feature"]}
TICKET = {"t": "x"}


def triage() -> Any:
    return Agent("classify").instruct("Classify {t}").output(CAT).writes("cat") >> Route("r").on(
        "cat"
    ).when("bug", Agent("fix").instruct("f").writes("o")).otherwise(
        Agent("ans").instruct("a").writes("o")
    )


def failure(pipeline: Any, fake: FakeProvider, state: dict[str, Any] | None = None) -> RunError:
    with pytest.raises(RunError) as info:
        run(pipeline, provider=fake, state=state or {})
    return info.value


def ask(fake: FakeProvider, agent: str, **fields: Any) -> str:
    return asyncio.run(fake.complete(ModelRequest(agent, agent, "Go.", **fields)))


# --- names that look like a typo of the asked agent ------------------------------------------


def test_a_misspelt_response_is_refused_before_the_run_naming_the_agent_meant():
    fake = FakeProvider(responses={"clasify": '"bug"'})
    with pytest.raises(PipelineError) as info:
        run(triage(), provider=fake, state=TICKET)
    message = str(info.value)
    assert fake.calls == []
    assert "'clasify' in responses= names no agent of this pipeline" in message
    assert "did you mean 'classify'?" in message
    assert "check_names=False" in message  # the way out when the name is another pipeline's


def test_a_misspelt_failure_is_refused_before_the_run_naming_the_agent_meant():
    fake = FakeProvider(responses={"classify": '"bug"'}, fail={"fixx": 1})
    with pytest.raises(PipelineError, match="'fixx' in fail=.*did you mean 'fix'"):
        run(triage(), provider=fake, state=TICKET)


def test_a_misspelt_response_asked_directly_fails_the_call_naming_the_agent():
    with pytest.raises(FakeProviderError) as info:
        ask(FakeProvider(responses={"clasify": '"bug"'}), "classify", output_schema=CAT)
    message = str(info.value)
    assert "no answer is configured for agent 'classify'" in message
    assert "'clasify' in responses= is close: did you mean it?" in message
    assert "check_names=False" in message


def test_a_misspelt_latency_is_refused_when_the_agent_is_asked():
    fake = FakeProvider(latency={"writr": 0.01})
    with pytest.raises(
        FakeProviderError, match="no latency is configured for agent 'writer'; 'writr' in latency="
    ):
        ask(fake, "writer")


def test_a_name_that_differs_only_in_case_is_refused():
    fake = FakeProvider(responses={"Classify": '"bug"'})
    with pytest.raises(
        FakeProviderError, match="'Classify' in responses= differs from it only in case"
    ):
        ask(fake, "classify", output_schema=CAT)


def test_every_close_name_is_told_at_once():
    fake = FakeProvider(responses={"clasify": '"bug"'}, fail={"classifyy": 1})
    with pytest.raises(FakeProviderError) as info:
        ask(fake, "classify", output_schema=CAT)
    assert "'clasify' in responses=" in str(info.value)
    assert "'classifyy' in fail=" in str(info.value)


@pytest.mark.parametrize(
    ("asked", "configured"),
    [
        ("writer", "writer2"),  # the names irgraph.testing.strategies gives agents
        ("writer3", "writer2"),
        ("branch_0", "branch_1"),
        ("researcher_a", "researcher_b"),
        ("step1", "step2"),
    ],
)
def test_sibling_names_are_not_typos(asked, configured):
    fake = FakeProvider(responses={configured: "theirs"}, fail={configured: 1})
    assert ask(fake, asked) == f"<{asked}: Go.>"


def test_a_configured_name_already_asked_is_another_agent_not_a_typo():
    pipeline = Agent("fixes").instruct("a").writes("x") >> Agent("fixer").instruct("b").writes("y")
    result = run(pipeline, provider=FakeProvider(responses={"fixes": "done"}), state={})
    assert result.state == {"x": "done", "y": "<fixer: b>"}


def test_check_names_false_lets_a_close_name_pass_and_unused_still_tells_it():
    pipeline = Agent("fixer").instruct("b").writes("y")
    with pytest.raises(PipelineError, match="'fixes' in responses=.*did you mean 'fixer'"):
        run(pipeline, provider=FakeProvider(responses={"fixes": "done"}), state={})

    fake = FakeProvider(responses={"fixes": "done"}, check_names=False)
    assert run(pipeline, provider=fake, state={}).state == {"y": "<fixer: b>"}
    assert fake.unused() == {"responses": ["fixes"]}

    typo = FakeProvider(responses={"clasify": '"bug"'}, fail={"fixx": 1}, check_names=False)
    assert run(triage(), provider=typo, state=TICKET).outputs["r"] == "otherwise"
    assert typo.unused() == {"responses": ["clasify"], "fail": ["fixx"]}


# --- unused() and assert_used() ---------------------------------------------------------------


def test_unused_names_the_configured_agents_no_call_asked_for():
    fake = FakeProvider(responses={"classify": '"feature"'}, fail={"fix": 1}, latency={"ans": 0})
    assert fake.unused() == {"responses": ["classify"], "fail": ["fix"], "latency": ["ans"]}
    run(triage(), provider=fake, state=TICKET)
    assert fake.unused() == {"fail": ["fix"]}  # the route took the other branch
    with pytest.raises(AssertionError) as info:
        fake.assert_used()
    message = str(info.value)
    assert "'fix' in fail=" in message and "no agent asked for it" in message
    assert "'classify', 'ans'" in message  # who was asked


def test_assert_used_suggests_the_asked_agent_a_typo_was_meant_for():
    fake = FakeProvider(responses={"clasify": '"bug"'}, check_names=False)
    run(triage(), provider=fake, state=TICKET)
    with pytest.raises(AssertionError, match="'clasify' in responses=.*Did you mean 'classify'"):
        fake.assert_used()


def test_assert_used_passes_when_every_name_was_asked_for():
    fake = FakeProvider(responses={"classify": '"bug"', "fix": "Fixed."}, latency=0.0)
    run(triage(), provider=fake, state=TICKET)
    assert fake.unused() == {}
    fake.assert_used()


# --- function answers and lists ---------------------------------------------------------------


def test_a_function_answer_that_is_none_is_an_error_naming_the_agent_and_the_value():
    fake = FakeProvider(responses={"w": lambda request: None})
    error = failure(Agent("w").instruct("a").writes("x"), fake)
    assert error.node == "w"
    assert isinstance(error.__cause__, TypeError)
    assert "response function for agent 'w' returned None (NoneType), not a str" in str(error)
    assert "json.dumps" in str(error)


@pytest.mark.parametrize("value", [{"n": 1}, 3, ["a"], b"bytes"])
def test_a_function_answer_that_is_not_a_str_is_refused(value):
    fake = FakeProvider(responses={"w": lambda request: value})
    with pytest.raises(TypeError, match=f"agent 'w' returned {re.escape(repr(value))}"):
        ask(fake, "w")


def test_an_async_response_function_is_refused_with_how_to_fix_it():
    async def answer(request: ModelRequest) -> str:
        return "hi"

    with pytest.raises(TypeError, match="agent 'w' returned a coroutine.*plain def"):
        ask(FakeProvider(responses={"w": answer}), "w")


def test_a_function_answer_that_is_a_str_is_the_answer():
    fake = FakeProvider(responses={"w": lambda request: json.dumps({"n": len(request.prompt)})})
    assert ask(fake, "w") == '{"n": 3}'


@pytest.mark.parametrize("empty", [[], ()])
def test_an_empty_list_of_answers_is_refused_when_the_fake_is_made(empty):
    with pytest.raises(ValueError, match="response for 'w' is an empty list") as info:
        FakeProvider(responses={"w": empty})
    assert isinstance(info.value, PipelineError)
    assert "at least one answer" in str(info.value)


@pytest.mark.parametrize("option", ["responses", "fail", "latency"])
def test_a_name_that_is_not_a_str_is_refused(option):
    value = {"responses": "ok", "fail": 1, "latency": 0.1}[option]
    with pytest.raises(PipelineError, match=f"FakeProvider's {option} are keyed by agent name"):
        FakeProvider(**{option: {3: value}})


# --- integer and number bounds that leave no value --------------------------------------------


def test_an_integer_schema_with_minimum_above_maximum_says_so():
    # .output() and validate refuse such a schema; a request may still carry one
    schema = {"type": "integer", "minimum": 3, "maximum": 2}
    with pytest.raises(FakeProviderError) as info:
        ask(FakeProvider(), "z", output_schema=schema)
    message = str(info.value)
    assert "multipleOf" not in message
    assert "no integer lies between minimum 3 and maximum 2" in message
    assert "no answer can match it: fix the schema" in message


@pytest.mark.parametrize(
    ("schema", "expected"),
    [
        (
            {"type": "integer", "minimum": 2.5, "maximum": 2.7},
            "no integer lies between minimum 2.5 and maximum 2.7",
        ),
        (
            {"type": "integer", "exclusiveMinimum": 3, "exclusiveMaximum": 4},
            "no integer lies between exclusiveMinimum 3 and exclusiveMaximum 4",
        ),
        (
            {"type": "number", "minimum": 3, "maximum": 2},
            "no number lies between minimum 3 and maximum 2",
        ),
        (
            {"type": "integer", "minimum": 1, "maximum": 4, "multipleOf": 5},
            "no multiple of 5 lies between minimum 1 and maximum 4",
        ),
    ],
)
def test_bounds_that_leave_no_value_are_named(schema, expected):
    with pytest.raises(UnsupportedSchema, match=re.escape(expected)):
        fake_value(schema)


# --- the docs ---------------------------------------------------------------------------------


def test_the_asyncio_guide_says_how_fakeprovider_streams():
    text = " ".join((DOCS / "guides" / "asyncio.md").read_text(encoding="utf-8").split())
    assert "word by word" not in text
    assert "chunks of 8 characters" in text

    async def chunks() -> list[str]:
        request = ModelRequest("w", "w", "Write about owls.")
        return [chunk async for chunk in FakeProvider().stream(request)]

    assert asyncio.run(chunks()) == ["<w: Writ", "e about ", "owls.>"]


def test_the_hypothesis_examples_in_the_testing_docs_do_not_time_their_inputs():
    text = (DOCS / "testing.md").read_text(encoding="utf-8")
    block = next(b for b in text.split("```python") if "def test_every_graph_is_a_valid_dag" in b)
    assert "suppress_health_check=[HealthCheck.too_slow]" in block and "deadline=None" in block
    assert block.count("@PIPELINES\n@given(") == block.count("@given(") == 2


def test_the_to_code_example_in_the_testing_docs_runs_pasted_alone():
    """A reader copies the one block they need: it imports what it uses."""
    text = (DOCS / "testing.md").read_text(encoding="utf-8")
    block = next(b for b in text.split("```python") if "find(strategies.pipelines()" in b)
    exec(compile(block.split("```")[0], "testing.md", "exec"), {"print": lambda *args: None})


def two_parameters(request, extra):
    return "ok"


@pytest.mark.parametrize(
    ("function", "told"),
    [
        (lambda: "ok", "too many positional arguments"),
        (two_parameters, "missing a required argument: 'extra'"),
    ],
)
def test_a_response_function_that_cannot_take_the_request_is_refused_when_made(function, told):
    """It failed as a bare TypeError at the agent's first call, in the middle of the run."""
    with pytest.raises(PipelineError) as info:
        FakeProvider(responses={"w": function})
    message = str(info.value)
    assert message.startswith("FakeProvider's response function for 'w' (") and told in message
    assert "lambda request:" in message
    fine = FakeProvider(responses={"w": lambda request, extra=1: request.prompt.upper()})
    assert run(Agent("w").instruct("hi"), provider=fine).output == "HI"


def test_raising_takes_an_exception():
    from irgraph.testing import raising

    with pytest.raises(PipelineError, match="raising\\(\\) takes the exception to raise"):
        raising("quota")
    with pytest.raises(RunError) as failed:
        run(Agent("w"), provider=raising(ConnectionError))
    assert isinstance(failed.value.__cause__, ConnectionError)


@pytest.mark.parametrize(
    "answers", [{"classify": '"bug"'}, {"check": ['"rejected"', '"approved"']}]
)
def test_answers_given_as_the_first_argument_are_told_to_go_in_responses(answers):
    """FakeProvider({'classify': '"bug"'}), answers by position as a mock model takes them,
    was told that the latency for 'classify' must be a number of seconds."""
    with pytest.raises(PipelineError) as refused:
        FakeProvider(answers)
    told = str(refused.value)
    assert "FakeProvider's first argument is its latency, but it got answers" in told
    assert f"FakeProvider(responses={answers!r})" in told
    assert FakeProvider(responses=answers) is not None


# --- a response given as a value, a response function reading a key no template reads ------


def test_a_response_given_as_a_json_value_is_refused_with_its_json_text():
    with pytest.raises(PipelineError) as info:
        FakeProvider(responses={"judge": {"category": "bug"}})
    assert "responses={'judge': '{\"category\": \"bug\"}'} (json.dumps(value))" in str(info.value)
    with pytest.raises(PipelineError, match=r"responses=\{'judge': \['3', '4'\]\}"):
        FakeProvider(responses={"judge": [3, 4]})  # one answer per call, each as JSON text


def test_a_response_function_reading_a_key_the_agent_does_not_read_names_the_keys_it_has():
    def answer(request: ModelRequest) -> str:
        return request.state["topic"].upper()  # the agent reads {paper}, not {topic}

    pipeline = Agent("summary").instruct("Summarise {paper}.").writes("summary")
    error = failure(pipeline, FakeProvider(responses={"summary": answer}), {"paper": "p"})
    message = str(error)
    assert "response function for agent 'summary' raised KeyError: 'topic'" in message
    assert "request.state holds only the keys the agent's instruction and system" in message
    assert "read ('paper'), not 'topic'. Read {topic} in the agent's instruction" in message
    assert isinstance(error.__cause__.__cause__, KeyError)
