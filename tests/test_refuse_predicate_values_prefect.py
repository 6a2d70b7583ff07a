"""A route's or loop's predicate answering text is refused on Prefect as on asyncio (issue
#17): in process and in generated flow code, the run fails at the route or loop naming the
predicate and the value, where the text counted as true and took the branch."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest

from irgraph import Agent, Loop, Route, run
from irgraph.backends.prefect_backend import PrefectBackend
from irgraph.backends.prefect_worker import PrefectWorkerConfig, generate_flow_code
from irgraph.builder import Builder
from irgraph.errors import RunError
from irgraph.run import run_coroutine
from irgraph.testing import FakeProvider
from tests.support.prefect_env import ensure_prefect_test_env
from tests.support.resume_worker import load_flow_module, with_provider

pytestmark = pytest.mark.prefect
ensure_prefect_test_env()

STATE = {"verdict": "no"}
ROUTE_FAILURE = "Node 'triage' failed: TypeError: its predicate 'verdict' returned 'no' (a str)"
LOOP_FAILURE = "Node 'review' failed: TypeError: its until predicate 'verdict' returned 'no'"


def verdict(state: Any) -> Any:
    return state["verdict"]


TRIAGE = (
    Route("triage")
    .when(verdict, Agent("fixer").instruct("Fix.").writes("patch"))
    .otherwise(Agent("replier").instruct("Reply.").writes("reply"))
)
REVIEW = Loop("review").step(Agent("critic").writes("notes")).until(verdict).max_iterations(3)


def flow_module(pipeline: Builder, folder: Path, name: str) -> Any:
    compiled = PrefectBackend().compile(pipeline.to_ir())
    code = generate_flow_code(compiled, PrefectWorkerConfig("refused", "local"))
    path = folder / f"{name}.py"
    path.write_text(code, encoding="utf-8")
    return load_flow_module(path, f"{name}_{uuid.uuid4().hex[:8]}")


def test_a_predicate_answering_text_fails_in_process_and_in_generated_code(tmp_path):
    for pipeline, failure in ((TRIAGE, ROUTE_FAILURE), (REVIEW, LOOP_FAILURE)):
        in_process = FakeProvider()
        with pytest.raises(RunError) as info:
            run(pipeline, backend=PrefectBackend(provider=in_process), state=STATE)
        assert str(info.value).startswith(failure)
        generated = FakeProvider()
        module = with_provider(
            flow_module(pipeline, tmp_path, f"f{uuid.uuid4().hex[:6]}"), generated
        )
        with pytest.raises(RunError) as info:
            run_coroutine(module.refused_flow(dict(STATE)))
        assert str(info.value).startswith(failure)
        assert [c.agent for c in in_process.calls] == [c.agent for c in generated.calls]
