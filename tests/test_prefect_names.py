"""Names Prefect refuses: irgraph names become Prefect names Prefect accepts (in process and
in generated code), and the names a user gives Prefect directly are checked up front."""

from __future__ import annotations

import asyncio
import json
import re
from uuid import UUID

import pytest
from hypothesis import given
from hypothesis import strategies as st

from irgraph import Agent, FanOut, Gate, Pipeline, PipelineError, run
from irgraph.backends.prefect_backend import PrefectBackend
from irgraph.backends.prefect_runtime import agent_run_name, is_prefect_name, prefect_name
from irgraph.backends.prefect_worker import PrefectWorkerConfig
from irgraph.providers import ModelRequest
from irgraph.testing import FakeProvider
from tests.support.prefect_env import ensure_prefect_test_env
from tests.test_prefect_worker import asyncio_state, generated, run_flow_process

ensure_prefect_test_env()

# Every kind of character Prefect refuses somewhere: its banned / % & < >, control characters
# (not sendable in an HTTP header), a lone surrogate (not UTF-8), and only quotes.
ODD = ["research/v2", "50% & more", "<b>bold</b>", "line\nbreak", "nul\x00", "lone \ud800", "'"]


def odd_pipeline() -> Pipeline:
    pipeline = Pipeline("research/v2 <%&>")
    for index, name in enumerate(ODD):
        pipeline = pipeline.step(
            Agent(name).instruct(f"Step {index} on {{topic}}.").writes(f"k{index}")
        )
    return pipeline.step(
        FanOut("a/b")
        .branch(Agent("x/1").instruct("{k0}").writes("x1"))
        .branch(Gate("ok?/&", "Fine?").writes("fine"))
    )


def test_prefect_name_keeps_names_prefect_accepts_and_maps_the_rest():
    assert [prefect_name(n) for n in ("research", "research v2", "émoji 🦉")] == [
        "research",
        "research v2",
        "émoji 🦉",
    ]
    mapped = prefect_name("research/v2")
    assert re.fullmatch(r"research-v2-[0-9a-f]{8}", mapped)
    assert prefect_name("research/v2") == mapped  # the same name always maps the same way
    assert prefect_name("research&v2") != mapped  # and two names never share one
    assert prefect_name("/").startswith("irgraph-") and prefect_name("'").startswith("irgraph-")
    assert len(prefect_name("x" * 500)) == 80


@given(st.text(min_size=1))
def test_every_name_maps_to_one_prefect_accepts(name):
    from prefect.types.names import WITHOUT_BANNED_CHARACTERS

    mapped = prefect_name(name)
    assert is_prefect_name(mapped) and len(mapped) <= 80
    assert re.match(WITHOUT_BANNED_CHARACTERS, mapped)
    mapped.encode("utf-8")
    assert mapped == name or not is_prefect_name(name) or len(name) > 80


@given(st.text(min_size=1), st.text(min_size=1))
def test_different_names_get_different_prefect_names(first, second):
    if first != second:
        assert prefect_name(first) != prefect_name(second)


def test_task_run_names_are_prefect_names_with_the_position():
    request = ModelRequest("critic/1", "critic/1", "p", None, {})
    assert agent_run_name({"request": request, "path": (("loop", 2),)}) == prefect_name(
        "critic/1[2]"
    )
    request = ModelRequest("critic", "critic", "p", None, {})
    assert agent_run_name({"request": request, "path": (("loop", 2),)}) == "critic[2]"


# Runs -----------------------------------------------------------------------------------


async def flow_name_of(run_id: str) -> str:
    from prefect import get_client

    async with get_client() as client:
        flow_run = await client.read_flow_run(UUID(run_id))
        return (await client.read_flow(flow_run.flow_id)).name


@pytest.mark.prefect
def test_a_pipeline_and_nodes_with_names_prefect_refuses_run_as_on_asyncio():
    pipeline = odd_pipeline()
    state = {"topic": "owls"}
    result = run(
        pipeline,
        backend=PrefectBackend(provider=FakeProvider(), gate_timeout=60),
        state=state,
        on_gate=lambda request: "fine",
    )
    expected = run(
        pipeline, backend="asyncio", provider=FakeProvider(), state=state, on_gate=lambda r: "fine"
    ).state
    assert result.state == expected
    assert asyncio.run(flow_name_of(result.run_id)) == prefect_name("research/v2 <%&>")


@pytest.mark.prefect
@pytest.mark.slow
def test_generated_code_for_names_prefect_refuses_runs_as_on_asyncio(tmp_path):
    pipeline = Pipeline("p")
    for index, name in enumerate(ODD):
        pipeline = pipeline.step(Agent(name).instruct(f"Step {index}.").writes(f"k{index}"))
    path = tmp_path / "odd_flow.py"
    path.write_text(generated(pipeline, flow_name=prefect_name("research/v2")), encoding="utf-8")
    final = run_flow_process([str(path), "run", "--state", json.dumps({})], tmp_path)
    assert final == asyncio_state(pipeline, {})


# Names given to Prefect as they are --------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("flow_name", "research/v2"),
        ("flow_name", "line\nbreak"),
        ("work_pool", "' '"),
        ("work_pool", "gpu&cpu"),
        ("deployment_name", "nightly/1"),
        ("deployment_name", ""),
    ],
)
def test_config_refuses_a_name_prefect_refuses_naming_the_field_and_a_name_that_works(field, value):
    with pytest.raises(PipelineError) as info:
        PrefectWorkerConfig(**{"flow_name": "f", "work_pool": "p", field: value})
    error = info.value
    assert f"PrefectWorkerConfig.{field} must be a name Prefect accepts" in str(error)
    assert repr(value) in str(error) and error.got == value
    if value.strip():
        assert f"Use e.g. {prefect_name(value)!r}." in str(error)


@pytest.mark.parametrize("value", [5, "", "res\x00ults", b"results"])
def test_config_refuses_a_result_dir_that_is_not_a_directory_path(value):
    with pytest.raises(PipelineError, match="PrefectWorkerConfig.result_dir must be a directory"):
        PrefectWorkerConfig("f", work_pool="p", result_dir=value)


def test_config_takes_a_path_for_the_result_dir(tmp_path):
    assert PrefectWorkerConfig("f", work_pool="p", result_dir=tmp_path).result_dir == str(tmp_path)


def test_a_flow_name_or_work_pool_prefect_refuses_is_refused_before_prefect_starts():
    with pytest.raises(PipelineError, match="The run option flow_name must be a name Prefect"):
        run(Agent("a").instruct("x"), backend=PrefectBackend(), flow_name="a/b")
    with pytest.raises(PipelineError, match="PrefectBackend's work_pool must be a name Prefect"):
        PrefectBackend(work_pool="gpu/1")
