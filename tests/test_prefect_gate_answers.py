"""On the Prefect backend a gate's answer is text: anything else is refused, naming the gate,
instead of reaching the pipeline as '42' or 'None'."""

from __future__ import annotations

import pytest

from irgraph import Agent, Gate, IrgraphError, RunError, run
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
