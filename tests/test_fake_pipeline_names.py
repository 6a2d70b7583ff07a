"""A FakeProvider configured for a misspelt agent name refuses the run before its first node,
on every runner (asyncio, in-process Prefect, run_many), naming the name, the pipeline's agents
and the agent meant; a fake shared by several pipelines is not refused for another's agents."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from irgraph import Agent, PipelineError, Route, run, run_many
from irgraph.backends.prefect_backend import PrefectBackend
from irgraph.providers import ModelRequest, agent_names
from irgraph.testing import FakeProvider
from irgraph.testing.fake import FakeProviderError

STATE = {"topic": "owls"}


def edited() -> Any:
    return Agent("writer").instruct("Write about {topic}.").writes("draft") >> Agent(
        "editors"
    ).instruct("Edit {draft}.").writes("final")


def refusal(fake: FakeProvider, pipeline: Any = None, **options: Any) -> str:
    with pytest.raises(PipelineError) as info:
        run(edited() if pipeline is None else pipeline, provider=fake, state=STATE, **options)
    assert fake.calls == []  # refused before the first node asked its model
    return str(info.value)


@pytest.mark.parametrize(
    ("option", "value", "what"),
    [("fail", 1, "failure"), ("responses", "Fine.", "answer"), ("latency", 0.01, "latency")],
)
def test_a_misspelt_name_is_refused_before_the_first_node(option, value, what):
    message = refusal(FakeProvider(**{option: {"editor": value}}))
    assert f"'editor' in {option}= names no agent of this pipeline" in message
    assert f"its {what} would never be used: did you mean 'editors'?" in message
    assert "(its agents: 'editors', 'writer')" in message
    assert f"Rename 'editor' to 'editors' ({option}={{'editors': ...}})" in message


def test_a_misspelt_name_of_a_branch_the_run_would_not_reach_is_refused_too():
    triage = Agent("classify").instruct("Classify {topic}.").writes("cat") >> Route("r").on(
        "cat"
    ).when("bug", Agent("fix").instruct("Fix.").writes("o")).otherwise(
        Agent("answer").instruct("Answer.").writes("o")
    )
    message = refusal(FakeProvider(fail={"fixx": 1}), triage)
    assert "did you mean 'fix'?" in message


def test_every_misspelt_name_is_told_at_once():
    message = refusal(FakeProvider(responses={"Writer": "Owls."}, fail={"editor": 1}))
    assert "'Writer' in responses=" in message and "did you mean 'writer'?" in message
    assert "'editor' in fail=" in message


def test_a_run_many_refuses_it_once_before_any_item():
    fake = FakeProvider(fail={"editor": 1})
    with pytest.raises(PipelineError, match="'editor' in fail=.*did you mean 'editors'"):
        list(run_many(edited(), [STATE, {"topic": "bats"}], provider=fake))
    assert fake.calls == []


def test_an_in_process_prefect_run_refuses_it_before_prefect_starts():
    message = refusal(FakeProvider(responses={"editor": "Fine."}), backend=PrefectBackend())
    assert "'editor' in responses=" in message and "did you mean 'editors'?" in message
    own = FakeProvider(fail={"editor": 1})
    with pytest.raises(PipelineError, match="'editor' in fail=.*did you mean 'editors'"):
        run(edited(), backend=PrefectBackend(provider=own), state=STATE)
    assert own.calls == []


def test_the_backend_s_own_provider_is_checked_as_a_given_one_is():
    from irgraph.backends.asyncio_backend import AsyncioBackend

    fake = FakeProvider(fail={"editor": 1})
    with pytest.raises(PipelineError, match="did you mean 'editors'"):
        run(edited(), backend=AsyncioBackend(provider=fake), state=STATE)
    assert fake.calls == []


def test_a_name_far_from_every_agent_may_be_another_pipeline_s_and_is_left_to_unused():
    fake = FakeProvider(responses={"summarize": "Short."})
    assert run(edited(), provider=fake, state=STATE).state["final"].startswith("<editors:")
    assert fake.unused() == {"responses": ["summarize"]}


def test_a_fake_shared_by_two_pipelines_is_not_refused_for_either_s_agents():
    fixes = Agent("fixes").instruct("Fix {topic}.").writes("patch")
    fixer = Agent("fixer").instruct("Fix {topic} again.").writes("patch")
    fake = FakeProvider(responses={"fixes": "Done.", "writer": "Owls."})
    assert run(fixes, provider=fake, state=STATE).state["patch"] == "Done."
    assert run(edited(), provider=fake, state=STATE).state["draft"] == "Owls."
    # 'fixes' is close to 'fixer', but an agent of a pipeline this fake ran: not a typo
    assert run(fixer, provider=fake, state=STATE).state["patch"].startswith("<fixer:")
    assert fake.unused() == {}


def test_a_close_name_of_a_pipeline_not_run_yet_is_refused_with_the_way_out():
    fixer = Agent("fixer").instruct("Fix {topic}.").writes("patch")
    message = refusal(FakeProvider(responses={"fixes": "Done."}), fixer)
    assert "did you mean 'fixer'?" in message
    assert "run that pipeline first, or make the FakeProvider with check_names=False" in message
    fake = FakeProvider(responses={"fixes": "Done."}, check_names=False)
    assert run(fixer, provider=fake, state=STATE).state["patch"].startswith("<fixer:")


def test_two_close_names_that_are_both_agents_of_the_pipeline_run():
    pipeline = Agent("fixer").instruct("b").writes("y") >> Agent("fixes").instruct("a").writes("x")
    fake = FakeProvider(responses={"fixes": "done"})
    assert run(pipeline, provider=fake, state={}).state == {"y": "<fixer: b>", "x": "done"}


def test_a_direct_call_still_refuses_a_close_name_at_the_call():
    fake = FakeProvider(responses={"fixes": "done"})
    with pytest.raises(FakeProviderError, match="'fixes' in responses= is close"):
        asyncio.run(fake.complete(ModelRequest("fixer", "fixer", "Go.")))


def test_agent_names_are_those_requests_carry_inside_loops_and_repeated_names():
    body = Agent("critic").instruct("Critique {draft?}.").writes("draft") * 2
    pipeline = Agent("writer").instruct("W.").writes("x") >> body >> Agent("writer").instruct("V.")
    from irgraph import to_graph

    assert agent_names(to_graph(pipeline)) == {"writer", "critic"}


def test_a_shared_fixture_runs_a_pipeline_whose_agent_is_close_to_another_pipeline_s():
    def fixture() -> FakeProvider:  # one fake configured for two pipelines, as conftest.py would
        return FakeProvider(responses={"checker": "Checked.", "planner": "A plan."})

    check = Agent("check").instruct("Check {topic}.").writes("verdict")
    planned = Agent("planner").instruct("Plan {topic}.").writes("plan") >> Agent(
        "checker"
    ).instruct("Check {plan}.").writes("verdict")
    first = fixture()  # 'checker' is close to 'check', but 'planner' is of a pipeline not run
    assert run(check, provider=first, state=STATE).state["verdict"].startswith("<check:")
    assert first.unused() == {"responses": ["checker", "planner"]}
    assert run(planned, provider=fixture(), state=STATE).state["verdict"] == "Checked."


def test_a_misspelling_beside_the_pipeline_s_own_agents_is_still_refused():
    fake = FakeProvider(responses={"writer": "Owls.", "editor": "Fine."})
    assert "did you mean 'editors'?" in refusal(fake)


class _TakesNoNames:
    async def complete(self, request: ModelRequest) -> str:
        return "ok"

    def check_agents(self) -> None:  # forgot the names
        pass


class _AsyncCheck:
    checked = False

    async def complete(self, request: ModelRequest) -> str:
        return "ok"

    async def check_agents(self, names: Any) -> None:
        _AsyncCheck.checked = True  # never runs: nothing awaits it


def test_a_provider_s_check_agents_that_cannot_take_the_names_is_told_with_the_def_to_write():
    with pytest.raises(TypeError) as info:
        run(edited(), provider=_TakesNoNames(), state=STATE)
    message = str(info.value)
    assert message.startswith("_TakesNoNames.check_agents() is called before a run with one ")
    assert "Define it as def check_agents(self, names): ..." in message


def test_an_async_check_agents_is_refused_rather_than_never_run():
    with pytest.raises(TypeError, match=r"_AsyncCheck.check_agents\(\) returned an awaitable"):
        run(edited(), provider=_AsyncCheck(), state=STATE)
    assert not _AsyncCheck.checked
