"""Gates on Prefect, found by an outside trial: ``resume_gate`` with a flow run id that names
no run on the server raised Prefect's ``ObjectNotFound`` whose message is "None" (now an
IrgraphError names the id and the server it asked, and where the right id comes from); a gate
nobody answered in time failed with "paused and never resumed" (now it names its timeout).

On this process's temporary server.
"""

from __future__ import annotations

import uuid

import pytest

from irgraph import Agent, Gate, run
from irgraph.backends.prefect_backend import PrefectBackend, resume_gate
from irgraph.errors import IrgraphError, RunError
from irgraph.testing import FakeProvider
from tests.support.prefect_env import ensure_prefect_test_env

pytestmark = pytest.mark.prefect
ensure_prefect_test_env()


def test_resuming_a_flow_run_the_server_does_not_have_names_the_run_and_the_server() -> None:
    missing = str(uuid.uuid4())
    with pytest.raises(IrgraphError) as raised:
        resume_gate(missing, "yes", timeout=30)
    said = str(raised.value)
    assert said.startswith(f"There is no flow run {missing} on "), said
    assert "so the answer was not given" in said and "Use the id on_paused is given" in said


def test_a_gate_nobody_answers_in_time_says_so_and_how_to_allow_more() -> None:
    """Prefect said only "Flow run was paused and never resumed"; now the gate's RunError
    says its timeout ran out and which option allows more, Prefect's error chained."""
    pipeline = Agent("writer").instruct("Draft {topic}.").writes("draft") >> Gate(
        "approve", "Publish {draft}?"
    ).writes("verdict")
    backend = PrefectBackend(provider=FakeProvider(), gate_timeout=1)
    with pytest.raises(RunError) as raised:
        run(pipeline, backend=backend, state={"topic": "owls"}, on_paused=lambda r, i: None)
    error = raised.value
    assert error.node == "approve" and error.completed == ["writer"]
    assert "Nobody answered within 1 s, the gate's timeout" in str(error)
    assert "PrefectBackend(gate_timeout=...)" in str(error)
    assert type(error.__cause__.__cause__).__name__ == "FlowPauseTimeout"  # type: ignore[union-attr]
