"""Routes, agent settings, structured outputs and ``until(key, equals=)`` on Prefect (#17).

The issue's triage example — a structured ``category`` (asked again once: its first reply is
not in the enum), a route on it, a review loop until ``verdict == "approved"`` — ends in the
same final state on asyncio, on Prefect in process and in generated flow code. A changed
temperature changes an agent's cache key, so a stored answer is not reused; and a structured
output asked again after a crash replays its earlier attempts from the cache instead of
paying for them twice.

Generated flows run in this process, or in a child on this process's temporary server
(tests/support/prefect_children), never on a server of their own.
"""

from __future__ import annotations

import json
import sys
import tempfile
import uuid
from pathlib import Path
from typing import Any

import pytest

from irgraph import Agent, Loop, Route, Transform, run
from irgraph.backends.asyncio_backend import AsyncioBackend
from irgraph.backends.prefect_backend import PrefectBackend
from irgraph.backends.prefect_worker import PrefectWorkerConfig, generate_flow_code
from irgraph.builder import Builder
from irgraph.errors import RunError
from irgraph.run import run_coroutine
from irgraph.testing import FakeProvider
from tests.support.prefect_children import shared_api_url
from tests.support.prefect_env import ensure_prefect_test_env
from tests.support.resume_worker import CallLog, load_flow_module, with_provider

pytestmark = pytest.mark.prefect
ensure_prefect_test_env()

CATEGORY = {"type": "string", "enum": ["bug", "feature", "question"]}


def triage(temperature: float = 0.2) -> Builder:
    classify = (
        Agent("classify")
        .instruct("Classify this ticket: {ticket}")
        .output(CATEGORY, retries=1)
        .writes("category")
    )
    route = (
        Route("triage")
        .on("category")
        .when("bug", Agent("fixer").instruct("Fix {ticket}").writes("patch"))
        .when("feature", Agent("specifier").instruct("Specify {ticket}").writes("spec"))
        .otherwise(Agent("replier").instruct("Answer {ticket}").writes("reply"))
    )
    critic = (
        Agent("critic")
        .instruct("Review: {patch?}{spec?}{reply?}")
        .system("You are a strict reviewer.")
        .settings(temperature=temperature)
        .writes("verdict")
    )
    review = Loop("review").step(critic).until("verdict", equals="approved").max_iterations(3)
    return classify >> route >> review


TRIAGE = triage()
STATE = {"ticket": "The app crashes on start."}
REPLIES: dict[str, Any] = {
    "classify": ["a crash, I think", '"bug"'],  # not JSON first: asked again
    "fixer": "Check the config file exists.",
    "critic": ["Revise: add a test.", "approved", "never asked"],
}
EXPECTED = {
    **STATE,
    "category": "bug",
    "patch": "Check the config file exists.",
    "verdict": "approved",
}


def fake() -> FakeProvider:
    return FakeProvider(responses=REPLIES)


def flow_module(pipeline: Builder, folder: Path, name: str, **config: Any) -> Any:
    compiled = PrefectBackend().compile(pipeline.to_ir())
    code = generate_flow_code(compiled, PrefectWorkerConfig("triage", "local", **config))
    path = folder / f"{name}.py"
    path.write_text(code, encoding="utf-8")
    return load_flow_module(path, f"{name}_{uuid.uuid4().hex[:8]}")


def asked(provider: FakeProvider) -> list[tuple[str, int]]:
    return [(call.agent, call.attempt) for call in provider.calls]


def test_the_triage_example_ends_alike_on_asyncio_prefect_and_generated_code(tmp_path):
    on_asyncio = fake()
    local = run(TRIAGE, backend=AsyncioBackend(provider=on_asyncio), state=STATE)
    in_process = fake()
    prefect = run(TRIAGE, backend=PrefectBackend(provider=in_process), state=STATE)
    generated = fake()
    module = with_provider(flow_module(TRIAGE, tmp_path, "triage_flow"), generated)
    final = run_coroutine(module.triage_flow(dict(STATE)))

    assert local.state == EXPECTED
    assert prefect.state == EXPECTED
    assert final == EXPECTED
    calls = [("classify", 1), ("classify", 2), ("fixer", 1), ("critic", 1), ("critic", 1)]
    assert asked(on_asyncio) == asked(in_process) == asked(generated) == calls
    retry = generated.calls[1]
    assert retry.feedback and "not JSON" in retry.feedback
    critic = generated.calls[-1]
    assert (critic.system, dict(critic.settings)) == (
        "You are a strict reviewer.",
        {"temperature": 0.2},
    )
    assert prefect.outputs["triage"] == '"bug"'


def test_a_generated_route_without_a_branch_for_the_value_fails_naming_it(tmp_path):
    no_default = Agent("classify").instruct("{ticket}").output(CATEGORY).writes(
        "category"
    ) >> Route("triage").on("category").when("bug", Agent("fixer").writes("patch"))
    provider = FakeProvider(responses={"classify": '"question"'})
    module = with_provider(flow_module(no_default, tmp_path, "partial_flow"), provider)
    with pytest.raises(RunError, match=r"Route 'triage' has no branch for category = \"question\""):
        run_coroutine(module.triage_flow(dict(STATE)))
    assert asked(provider) == [("classify", 1)]


def is_urgent(state: Any) -> bool:
    return bool(state["priority"] > 2)


def test_a_generated_route_whose_predicate_raises_says_the_predicate_did(tmp_path):
    route = (
        Route("triage")
        .when(is_urgent, Agent("pager").writes("page"))
        .otherwise(Agent("queue").writes("queued"))
    )
    module = with_provider(flow_module(route, tmp_path, "urgent_flow"), FakeProvider())
    with pytest.raises(RunError) as info:
        run_coroutine(module.triage_flow(dict(STATE)))
    assert str(info.value).startswith(
        "Node 'triage' failed: its predicate 'is_urgent' raised KeyError: 'priority'; the state "
        "held the key 'ticket', not 'priority'."
    )
    assert isinstance(info.value.__cause__, KeyError)


def is_approved(state: Any) -> bool:
    return bool(state["approval"] == "yes")


def test_a_generated_loop_whose_until_predicate_raises_names_the_loop_and_predicate(tmp_path):
    critic = Agent("critic").writes("verdict")
    review = Loop("review").step(critic).until(is_approved).max_iterations(3)
    rounds = Loop("rounds").step(review).max_iterations(2)  # the error says where it ran
    on_asyncio = pytest.raises(RunError, match="Node 'review' failed at rounds.0.: its until")
    with on_asyncio:
        run(rounds, state=STATE)
    module = with_provider(flow_module(rounds, tmp_path, "review_flow"), FakeProvider())
    with pytest.raises(RunError) as info:
        run_coroutine(module.triage_flow(dict(STATE)))
    assert str(info.value).startswith(
        "Node 'review' failed at rounds[0]: its until predicate 'is_approved' raised KeyError: "
        "'approval'; the state held the keys 'ticket' and 'verdict', not 'approval'."
    )
    assert isinstance(info.value.__cause__, KeyError)


async def critic_is_done(state: Any) -> bool:
    return len(state["rounds"]) == 3


def count_round(rounds: list[int]) -> list[int]:
    return [*rounds, 1]


def test_a_generated_loop_awaits_an_async_until_predicate(tmp_path):
    counting = Transform("count", count_round).reads("rounds").writes("rounds")
    review = Loop("review").step(counting).until(critic_is_done).max_iterations(5)
    module = with_provider(flow_module(review, tmp_path, "async_until_flow"), FakeProvider())
    final = run_coroutine(module.triage_flow({**STATE, "rounds": []}))
    assert final["rounds"] == [1, 1, 1]  # a coroutine is no answer: its value stops the loop


def test_a_changed_temperature_is_asked_again_in_process_and_in_generated_code(tmp_path):
    def critic(temperature: float) -> Builder:
        return Agent("critic").instruct("Review {ticket}").settings(temperature=temperature)

    run_key = f"temperature_{uuid.uuid4().hex[:8]}"
    results = tmp_path / "results"
    in_process = []
    for temperature in (0.2, 0.2, 0.9):
        provider = FakeProvider()
        backend = PrefectBackend(provider=provider, result_dir=results)
        run(critic(temperature), backend=backend, state=STATE, run_key=run_key)
        in_process.append(len(provider.calls))
    assert in_process == [1, 0, 1]  # the same settings replay; a new temperature asks

    generated = []
    for number, temperature in enumerate((0.2, 0.2, 0.9)):
        provider = FakeProvider()
        module = flow_module(critic(temperature), tmp_path, f"t{number}", result_dir="stored")
        run_coroutine(with_provider(module, provider).triage_flow(dict(STATE), run_key))
        generated.append(len(provider.calls))
    assert generated == [1, 0, 1]


@pytest.mark.slow
def test_a_structured_output_asked_again_replays_its_attempts_after_a_crash(tmp_path):
    """Attempts 1 and 2 of ``classify`` do not match its schema and are stored; the process
    dies in attempt 3. The resumed run asks attempt 3 only, then goes on."""
    from tests.test_prefect_cache_keys import crash_at

    shared_api_url()
    pipeline = Agent("classify").instruct("Classify {ticket}").output(CATEGORY, retries=2).writes(
        "category"
    ) >> Agent("replier").instruct("Answer the {category}").writes("reply")
    by_attempt = {"classify": ["no", "still no", '"question"']}
    run_key = f"crash_{uuid.uuid4().hex[:8]}"
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        compiled = PrefectBackend().compile(pipeline.to_ir())
        config = PrefectWorkerConfig("keys", work_pool="local", result_dir="results")
        path = folder / "keys_flow.py"
        path.write_text(generate_flow_code(compiled, config), encoding="utf-8")
        results, log = folder / "results", folder / "calls.log"
        worker = [sys.executable, "-m", "tests.support.resume_worker", "generated", str(path)]
        worker += [json.dumps(STATE), str(log), run_key, "3", json.dumps(by_attempt)]
        before, stored = crash_at(pipeline, worker, folder, log, results, 3)

        calls = CallLog(by_attempt=by_attempt)
        module = with_provider(load_flow_module(path, f"resumed_{run_key}"), calls)
        final = run_coroutine(module.keys_flow(dict(STATE), run_key))
    done = [entry["key"] for entry in before if entry["event"] == "done"]
    assert len(done) == 2 and set(done) <= stored  # attempts 1 and 2, stored
    assert [(call.agent, call.attempt) for call in calls.calls] == [("classify", 3), ("replier", 1)]
    assert final["category"] == "question"


def test_a_system_prompt_reading_the_state_is_filled_in_process_and_in_generated_code(tmp_path):
    pipeline = Agent("persona").instruct("A persona for {ticket}").writes("persona") >> Agent(
        "replier"
    ).system("You are {persona}.{tone?} Use {{braces}}.").instruct("Answer {ticket}").writes(
        "reply"
    )
    expected = "You are <persona: A persona for The app crashes on start.>. Use {braces}."
    in_process = FakeProvider()
    run(pipeline, backend=PrefectBackend(provider=in_process), state=STATE)
    generated = FakeProvider()
    module = with_provider(flow_module(pipeline, tmp_path, "persona_flow"), generated)
    run_coroutine(module.triage_flow(dict(STATE)))
    for provider in (in_process, generated):
        replier = provider.calls[-1]
        assert replier.system == expected
        assert set(replier.state) == {"ticket", "persona"}
