"""A map-over over a field of a key (``.over("plan.topics")``) on Prefect: the in-process
backend and generated flow code iterate ``state["plan"]["topics"]`` as the asyncio backend
does, refuse an initial ``plan`` without the list in its words before any task runs, and fail
at the map-over in its words when a step wrote ``plan`` without the field. Before, ``.over``
took a whole key only.

Generated flows run in this process (tests/test_prefect_generated_failures.py's way).
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest

from irgraph import Agent, MapOver, PipelineError, RunError, Transform, run
from irgraph.backends.prefect_backend import PrefectBackend
from irgraph.builder import Builder
from irgraph.run import run_coroutine
from irgraph.testing import FakeProvider
from tests.support.prefect_env import ensure_prefect_test_env
from tests.support.resume_worker import load_flow_module, with_provider
from tests.test_prefect_generated_failures import generated, said

pytestmark = pytest.mark.prefect
ensure_prefect_test_env()

SCHEMA = {
    "type": "object",
    "properties": {"topics": {"type": "array", "items": {"type": "string"}}},
    "required": ["topics"],
}
STATE = {"subject": "owls"}


def titled(subject: str) -> dict[str, Any]:
    return {"title": subject}


def drafts() -> Builder:
    return (
        MapOver("drafts")
        .over("plan.topics", item="topic")
        .step(Agent("draft").instruct("Draft {topic} on {subject}.").writes("section"))
        .writes("sections")
    )


def planned() -> Builder:
    return Agent("planner").instruct("Plan {subject}.").output(SCHEMA).writes("plan") >> drafts()


def provider() -> FakeProvider:
    return FakeProvider(responses={"planner": '{"topics": ["hunting", "sleep"]}'})


def flow_of(pipeline: Builder, folder: Path, name: str, given: FakeProvider) -> Any:
    path, flow = generated(pipeline, folder, name)
    module = with_provider(load_flow_module(path, f"{name}_{uuid.uuid4().hex[:8]}"), given)
    return getattr(module, flow)


EXPECTED = ["<draft: Draft hunting on owls.>", "<draft: Draft sleep on owls.>"]


def test_the_prefect_backend_and_generated_code_iterate_the_field(tmp_path: Path) -> None:
    on_asyncio = run(planned(), provider=provider(), state=STATE).state
    assert on_asyncio["sections"] == EXPECTED
    on_prefect = run(planned(), backend=PrefectBackend(provider=provider()), state=STATE)
    assert on_prefect.state == on_asyncio
    flow = flow_of(planned(), tmp_path, "fields", provider())
    assert run_coroutine(flow(dict(STATE))) == on_asyncio


def test_generated_code_fails_at_the_map_over_as_in_process(tmp_path: Path) -> None:
    pipeline = Transform("outline", titled).reads("subject").writes("plan") >> drafts()

    def failure(call: Any) -> RunError:
        with pytest.raises(RunError) as raised:
            call()
        return raised.value

    on_asyncio = failure(lambda: run(pipeline, provider=FakeProvider(), state=STATE))
    assert "'plan' has no field 'topics' (its keys: 'title')" in str(on_asyncio)
    flow = flow_of(pipeline, tmp_path, "lacking", FakeProvider())
    assert said(failure(lambda: run_coroutine(flow(dict(STATE))))) == said(on_asyncio)
    backend = PrefectBackend(provider=FakeProvider())
    assert said(failure(lambda: run(pipeline, backend=backend, state=STATE))) == said(on_asyncio)


def test_a_generated_flow_refuses_an_initial_value_without_the_list(tmp_path: Path) -> None:
    pipeline = Agent("first").instruct("Think of {subject}.").writes("idea") >> drafts()
    state = {**STATE, "plan": {"title": "t"}}
    with pytest.raises(PipelineError) as in_process:
        run(pipeline, provider=FakeProvider(), state=state)
    calls = FakeProvider()
    flow = flow_of(pipeline, tmp_path, "refusing", calls)
    with pytest.raises(PipelineError) as in_flow:
        run_coroutine(flow(dict(state)))
    assert str(in_flow.value) == str(in_process.value)
    assert "the initial state's 'plan' has no field 'topics'" in str(in_flow.value)
    assert calls.calls == []
