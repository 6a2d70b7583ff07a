"""Answers no model wrote are never handed to a run with a real provider by Prefect's cache.

A run without a provider answers with placeholders, and ``FakeProvider`` makes its answers up.
Trying a pipeline that way under a run key (or with ``cache_across_runs``) and then running it
for real under the same key must ask the model: the real run got the placeholder or fake text
back from the cache, silently, as if the model had written it. A gate a try answered asks again,
even where it asks the same thing: the approval was given to text no model wrote.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest

from irgraph import Agent, Gate, run
from irgraph.backends.prefect_backend import PrefectBackend
from irgraph.providers import ModelRequest
from irgraph.testing import FakeProvider
from tests.support.prefect_env import ensure_prefect_test_env

pytestmark = pytest.mark.prefect
ensure_prefect_test_env()

PIPELINE = Agent("researcher").instruct("Research {topic}.").writes("findings") >> Agent(
    "writer"
).instruct("Write from {findings}.").writes("report")


class RealModel:
    """A provider that does not make its answers up (no ``made_up_answers``): it counts calls."""

    def __init__(self) -> None:
        self.asked: list[str] = []

    async def complete(self, request: ModelRequest) -> str:
        self.asked.append(request.agent)
        return f"real answer to {request.prompt}"


def tried_then_real(tmp_path: Path, first: FakeProvider | None, **options: object) -> RealModel:
    """Run the pipeline with ``first`` (None: no provider), then with a real model under the
    same run key and result_dir; the real model's calls."""
    backend = PrefectBackend(result_dir=str(tmp_path / "results"), **options)  # type: ignore[arg-type]
    state = {"topic": "owls"}
    tried = run(PIPELINE, backend=backend, provider=first, state=state, run_key="report-1")
    assert "real answer" not in tried.state["report"]
    real = RealModel()
    result = run(PIPELINE, backend=backend, provider=real, state=state, run_key="report-1")
    assert result.state["report"].startswith("real answer to Write from real answer")
    assert result.reused == []
    return real


@pytest.mark.parametrize("first", ["none", "fake"])
@pytest.mark.parametrize("across", [False, True])
def test_a_real_run_asks_the_model_after_a_try_under_the_same_key(tmp_path, first, across):
    provider = FakeProvider() if first == "fake" else None
    real = tried_then_real(tmp_path, provider, cache_across_runs=across)
    assert real.asked == ["researcher", "writer"]


def test_a_real_run_still_gets_its_own_answers_back(tmp_path):
    backend = PrefectBackend(result_dir=str(tmp_path / "results"))
    first, again = RealModel(), RealModel()
    for provider in (first, again):
        result = run(
            PIPELINE, backend=backend, provider=provider, state={"topic": "owls"}, run_key="k"
        )
    assert first.asked == ["researcher", "writer"] and again.asked == []
    assert result.reused == ["researcher", "writer"]


def test_a_fake_run_still_gets_its_own_answers_back(tmp_path):
    backend = PrefectBackend(result_dir=str(tmp_path / "results"))
    first, again = FakeProvider(), FakeProvider()
    for provider in (first, again):
        run(PIPELINE, backend=backend, provider=provider, state={"topic": "owls"}, run_key="k")
    assert len(first.calls) == 2 and again.calls == []


GATED = PIPELINE >> Gate("approve", "Publish the report?").writes("verdict")


def gated_run(backend: PrefectBackend, provider: Any, answer: str) -> tuple[Any, list[str]]:
    """A run of :data:`GATED` under run key ``report-1`` whose ``on_gate`` answers ``answer``:
    its result, and the gates ``on_gate`` was asked at."""
    asked: list[str] = []

    def on_gate(request: Any) -> str:
        asked.append(request.node)
        return answer

    options = {"state": {"topic": "owls"}, "run_key": "report-1", "on_gate": on_gate}
    return run(GATED, backend=backend, provider=provider, **options), asked


@pytest.mark.parametrize("first", ["none", "fake"])
def test_a_real_run_asks_a_gate_a_try_under_the_same_key_answered(tmp_path, first):
    """A gate answered in a try (no provider, or FakeProvider) is asked again when a real
    model runs under the same run key, even though it asks the same thing: the approval was
    given to text no model wrote. Each kind of run still gets its own answer back."""
    backend = PrefectBackend(result_dir=str(tmp_path / "results"))
    tries = [
        gated_run(backend, FakeProvider() if first == "fake" else None, answer)
        for answer in ("yes", "never asked")
    ]
    assert [asked for _, asked in tries] == [["approve"], []]
    assert tries[1][0].state["verdict"] == "yes" and "approve" in tries[1][0].reused
    real, asked = gated_run(backend, RealModel(), "no")
    assert asked == ["approve"] and real.state["verdict"] == "no"
    assert real.reused == []
    again, asked = gated_run(backend, RealModel(), "never asked")
    assert asked == [] and again.state["verdict"] == "no"


def test_a_module_for_a_real_provider_asks_a_gate_a_fake_modules_run_answered(tmp_path):
    """As in process, with generated modules under one run key and result directory: one
    for the fake provider, then one for a real provider (this file's RealModel)."""
    from irgraph.backends.prefect_runtime import answering
    from irgraph.backends.prefect_worker import PrefectWorkerConfig, generate_flow_code
    from tests.support.resume_worker import load_flow_module

    compiled = PrefectBackend().compile(GATED.to_ir())
    real = f"{__name__}:RealModel"
    verdicts = []
    runs = [("fake", "yes"), ("fake", "never asked"), (real, "no"), (real, "never asked")]
    for number, (spec, answer) in enumerate(runs):
        config = PrefectWorkerConfig("report", "pool", provider=spec, result_dir="results")
        path = tmp_path / f"flow_{number}.py"
        path.write_text(generate_flow_code(compiled, config), encoding="utf-8")
        module = load_flow_module(path, f"report_flow_{number}_{uuid.uuid4().hex[:8]}")
        with answering({"approve": answer}):
            final = asyncio.run(module.report_flow({"topic": "owls"}, "report-1"))
        verdicts.append(final["verdict"])
    assert verdicts == ["yes", "yes", "no", "no"]  # each kind of run keeps its own answer


def test_a_module_regenerated_for_a_real_provider_asks_it_under_a_fake_runs_key(tmp_path):
    from irgraph.backends.prefect_worker import PrefectWorkerConfig, generate_flow_code
    from tests.support.prefect_children import child_env

    compiled = PrefectBackend().compile(PIPELINE.to_ir())
    log = tmp_path / "calls.log"
    log.touch()
    env = {**child_env(tmp_path / "home"), "IRGRAPH_TEST_CALL_LOG": str(log)}
    finals = []
    for spec in ("fake", "tests.support.counting_provider:make"):
        config = PrefectWorkerConfig("report", "pool", provider=spec, result_dir="results")
        (tmp_path / "flow.py").write_text(generate_flow_code(compiled, config), encoding="utf-8")
        command = ["flow.py", "run", "--state", '{"topic": "owls"}', "--run-key", "report-1"]
        out = subprocess.run(
            [sys.executable, *command],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=180,
        )
        assert out.returncode == 0, out.stderr[-3000:]
        finals.append(json.loads(out.stdout.strip().splitlines()[-1]))
    called = [line.split("\t")[2] for line in log.read_text().splitlines()]
    assert called == ["researcher", "writer"]  # the counting provider was asked, not skipped
    assert finals[0]["report"] == "<writer: Write from <researcher: Research owls.>.>"
    assert finals[1] == finals[0]  # it answers as the fake does, so only the calls tell


def kept_by_an_older_irgraph(results: Path, answer: str) -> None:
    """Keep ``answer`` to :data:`GATED`'s gate as an irgraph from before tries kept their
    gate answers apart did in a try: under the run key ``report-1`` itself."""
    from prefect import flow
    from prefect.settings import PREFECT_RESULTS_LOCAL_STORAGE_PATH, temporary_settings

    from irgraph.backends.prefect_gates import answered_once

    async def asking() -> str:
        return answer

    @flow
    async def older_try() -> tuple[str, bool]:
        return await answered_once(asking, "report-1", "approve", (), "Publish the report?")

    with temporary_settings({PREFECT_RESULTS_LOCAL_STORAGE_PATH: str(results)}):
        assert asyncio.run(older_try()) == (answer, False)


@pytest.mark.parametrize("first", ["none", "fake"])
def test_a_try_takes_the_gate_answer_an_older_irgraphs_try_kept(tmp_path, first):
    """After an upgrade, a try under the same run key is not asked again: with no answer of
    its own kept apart, it takes the one kept under the run key itself."""
    kept_by_an_older_irgraph(tmp_path / "results", "yes")
    backend = PrefectBackend(result_dir=str(tmp_path / "results"))
    provider = FakeProvider() if first == "fake" else None
    tried, asked = gated_run(backend, provider, "never asked")
    assert asked == [] and tried.state["verdict"] == "yes" and "approve" in tried.reused


def test_a_fake_module_takes_the_gate_answer_an_older_fake_module_kept(tmp_path):
    """A module generated for the fake provider by an older irgraph (its gate call passes no
    provider) kept its answers under the run key; regenerated, it still takes them."""
    from irgraph.backends.prefect_runtime import answering
    from irgraph.backends.prefect_worker import PrefectWorkerConfig, generate_flow_code
    from tests.support.resume_worker import load_flow_module

    compiled = PrefectBackend().compile(GATED.to_ir())
    config = PrefectWorkerConfig("report", "pool", provider="fake", result_dir="results")
    code = generate_flow_code(compiled, config)
    older = "".join(line for line in code.splitlines(True) if "provider=PROVIDER" not in line)
    assert older != code
    verdicts = []
    for number, (text, answer) in enumerate([(older, "yes"), (code, "never asked")]):
        path = tmp_path / f"flow_{number}.py"
        path.write_text(text, encoding="utf-8")
        module = load_flow_module(path, f"report_flow_{number}_{uuid.uuid4().hex[:8]}")
        with answering({"approve": answer}):
            final = asyncio.run(module.report_flow({"topic": "owls"}, "report-1"))
        verdicts.append(final["verdict"])
    assert verdicts == ["yes", "yes"]
