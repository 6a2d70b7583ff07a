"""Gates in a work-pool chunk: the items of one chunk run in one flow run, each under its own
run key, and each item's gate pauses and takes its own answer.

Real parts: the generated module's batch flow run as ``python flow.py run-batch`` (what a
worker runs for a chunk) against the suite's temporary Prefect server, answered from this
process with :func:`resume_when_paused` as a person would from the server.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from irgraph import Agent, Gate
from irgraph.backends.prefect_runtime import resume_when_paused
from tests.support.prefect_children import child_env
from tests.test_prefect_worker import generated

pytestmark = pytest.mark.prefect

GATED = Agent("writer").instruct("Draft {topic}.").writes("draft") >> Gate(
    "approve", "Publish {draft}?"
).writes("verdict")


async def answer_each_pause(flow_name: str, child: subprocess.Popen[str]) -> list[str]:
    """Resume every pause of the flow runs named ``flow_name`` with a new answer each
    ("answer-0", "answer-1", ...), until ``child`` ends; give the answers given."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        FlowFilter,
        FlowFilterName,
        FlowRunFilter,
        FlowRunFilterState,
        FlowRunFilterStateType,
    )
    from prefect.client.schemas.sorting import FlowRunSort

    paused = FlowRunFilter(state=FlowRunFilterState(type=FlowRunFilterStateType(any_=["PAUSED"])))
    named = FlowFilter(name=FlowFilterName(any_=[flow_name]))
    given: list[str] = []
    answered: set[tuple[str, str]] = set()
    async with get_client() as client:
        while child.poll() is None:
            runs = await client.read_flow_runs(
                flow_filter=named, flow_run_filter=paused, sort=FlowRunSort.ID_DESC, limit=5
            )
            for run in runs:
                key = run.state.state_details.pause_key
                if (str(run.id), key) not in answered:
                    answered.add((str(run.id), key))
                    answer = f"answer-{len(given)}"
                    await resume_when_paused(str(run.id), answer, key=key, timeout=60)
                    given.append(answer)
            await asyncio.sleep(0.1)
    return given


def test_each_item_of_a_chunk_is_asked_at_its_gate_and_keeps_its_own_answer(tmp_path: Path):
    flow_name = f"pool_gates_{uuid.uuid4().hex[:8]}"
    (tmp_path / "gated_flow.py").write_text(
        generated(GATED, flow_name=flow_name, result_dir="results"), encoding="utf-8"
    )
    items = [
        {"index": 0, "state": {"topic": "owls"}, "run_key": "item-owls"},
        {"index": 1, "state": {"topic": "bats"}, "run_key": "item-bats"},
    ]
    child = subprocess.Popen(
        [sys.executable, "gated_flow.py", "run-batch", "--items", json.dumps(items)],
        cwd=tmp_path,
        env=child_env(tmp_path / "home"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        given = asyncio.run(answer_each_pause(f"{flow_name}-batch", child))
        out, err = child.communicate(timeout=180)
    finally:
        child.kill()
    assert child.returncode == 0, err[-3000:]
    results = json.loads(out.strip().splitlines()[-1])
    verdicts = {result["index"]: result["state"]["verdict"] for result in results}
    assert sorted(given) == ["answer-0", "answer-1"]  # both items were asked
    assert sorted(verdicts.values()) == ["answer-0", "answer-1"]  # each kept its own answer
