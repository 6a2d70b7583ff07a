"""On the Prefect backend a gate's answer is text: anything else is refused, naming the gate,
instead of reaching the pipeline as '42' or 'None'."""

from __future__ import annotations

from typing import Any

import pytest

from irgraph import Agent, Gate, IrgraphError, Loop, RunError, run
from irgraph.backends.prefect_backend import PrefectBackend, resume_gate, text_answer
from irgraph.testing import FakeProvider
from tests.support.prefect_env import ensure_prefect_test_env

ensure_prefect_test_env()

GATED = Agent("writer").instruct("Draft {topic}.").writes("draft") >> Gate(
    "approve", "Publish {draft}?"
).writes("verdict")


@pytest.mark.parametrize("answer", [42, None, {"a": 1}])
def test_a_non_text_answer_is_refused_before_prefect_is_asked(answer):
    with pytest.raises(IrgraphError, match="resume_gate\\('run-1', ...\\)'s answer is .* not text"):
        resume_gate("run-1", answer)  # type: ignore[arg-type]
    with pytest.raises(IrgraphError, match="json.dumps"):
        text_answer(answer, "the answer")


def test_an_on_gate_answer_that_is_not_text_fails_the_gate():
    with pytest.raises(RunError, match="gate 'approve'.* is int 42, not text") as info:
        run(
            GATED,
            backend=PrefectBackend(provider=FakeProvider()),
            state={"topic": "owls"},
            on_gate=lambda request: 42,
        )
    assert info.value.node == "approve" and info.value.state["draft"]


def test_a_gate_does_not_use_up_a_flow_retry():
    """Prefect counts a resumed run as one more run: without giving that back, flow_retries=1
    left no retry for a failure after a gate. With none asked for, there is still none."""
    published = GATED >> Agent("pub").instruct("Publish {draft} {verdict}.").writes("out")
    for retries, calls in ((1, ["writer", "pub", "pub"]), (0, ["writer", "pub"])):
        fake = FakeProvider(fail={"pub": 1})
        backend = PrefectBackend(provider=fake, flow_retries=retries)
        try:
            result = run(
                published, backend=backend, state={"topic": "owls"}, on_gate=lambda r: "yes"
            )
        except RunError as error:
            assert retries == 0 and error.node == "pub"
        else:
            assert retries == 1 and result.state["out"]
        assert [call.agent for call in fake.calls] == calls


PUBLISHED = GATED >> Agent("pub").instruct("Publish {draft} {verdict}.").writes("out")


def asking(asked: list[str], answer: str = "yes") -> Any:
    def on_gate(request: Any) -> str:
        asked.append(request.node)
        return answer

    return on_gate


def test_a_retried_run_does_not_ask_a_gate_again():
    """The gate's answer is kept as the agents' are: the flow retry after 'pub' fails finds
    it, so the person (here on_gate) is asked once, and the run says the answer was reused."""
    asked: list[str] = []
    fake = FakeProvider(fail={"pub": 1})
    result = run(
        PUBLISHED,
        backend=PrefectBackend(provider=fake, flow_retries=1),
        state={"topic": "owls"},
        on_gate=asking(asked),
    )
    assert asked == ["approve"]
    assert result.state["verdict"] == "yes" and result.state["out"]
    assert {"writer", "approve"} <= set(result.reused)
    assert [call.agent for call in fake.calls] == ["writer", "pub", "pub"]


def test_a_run_resumed_with_its_run_key_does_not_ask_a_gate_again(tmp_path):
    """A new run with the failed run's key and result storage (as after a crash) finds the
    gate's answer; another run key, or the gate asking something else, asks again."""
    asked: list[str] = []
    options: dict[str, Any] = {"state": {"topic": "owls"}, "on_gate": asking(asked)}
    failing = PrefectBackend(provider=FakeProvider(fail={"pub": 1}), result_dir=tmp_path)
    with pytest.raises(RunError) as info:
        run(PUBLISHED, backend=failing, run_key="k1", **options)
    assert info.value.node == "pub" and asked == ["approve"]

    backend = PrefectBackend(provider=FakeProvider(), result_dir=tmp_path)
    resumed = run(PUBLISHED, backend=backend, run_key="k1", **options)
    assert asked == ["approve"] and {"writer", "approve"} <= set(resumed.reused)
    assert resumed.state["verdict"] == "yes"

    run(PUBLISHED, backend=backend, run_key="k2", **options)
    assert asked == ["approve", "approve"]
    other = {**options, "state": {"topic": "larks"}}  # another draft: another question
    changed = run(PUBLISHED, backend=backend, run_key="k1", **other)
    assert asked == ["approve", "approve", "approve"] and "approve" not in changed.reused


def test_each_iteration_of_a_loop_asks_its_gate():
    """Kept answers are per loop position: iteration 2 is not answered by iteration 1."""
    asked: list[str] = []
    looped = Agent("writer").instruct("Draft {topic}.").writes("draft") >> Loop("rounds").step(
        Gate("approve", "Publish {draft}?").writes("verdict")
    ).step(Agent("fix").instruct("Fix {draft} per {verdict}.").writes("draft")).max_iterations(2)
    backend = PrefectBackend(provider=FakeProvider())
    result = run(looped, backend=backend, state={"topic": "owls"}, on_gate=asking(asked))
    assert asked == ["approve", "approve"] and "approve" not in result.reused
