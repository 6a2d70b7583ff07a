"""The deepest pipeline irgraph takes (scopes nested checks.MAX_DEPTH levels) runs on Prefect
and becomes flow code, without a RecursionError anywhere on the way."""

from __future__ import annotations

import ast

import pytest

from irgraph import Agent, Loop, checks, run
from irgraph.backends.prefect_backend import PrefectBackend
from irgraph.testing import FakeProvider
from tests.support.prefect_env import ensure_prefect_test_env
from tests.test_prefect_worker import asyncio_state, generated, run_flow_process

pytestmark = pytest.mark.prefect
ensure_prefect_test_env()


def deepest() -> Loop:
    """One agent inside MAX_DEPTH loops of one iteration each."""
    pipeline: Agent | Loop = Agent("core").instruct("Answer {topic}.").writes("answer")
    for level in range(checks.MAX_DEPTH):
        pipeline = Loop(f"loop_{level}").step(pipeline).max_iterations(1)
    assert isinstance(pipeline, Loop)
    return pipeline


STATE = {"topic": "owls"}


def test_the_deepest_pipeline_runs_in_process_as_on_asyncio():
    result = run(deepest(), backend=PrefectBackend(provider=FakeProvider()), state=STATE)
    assert result.state == asyncio_state(deepest(), STATE)
    assert result.state["answer"] == "<core: Answer owls.>"


@pytest.mark.slow
def test_the_deepest_pipeline_becomes_flow_code_that_compiles_and_runs(tmp_path):
    code = generated(deepest(), flow_name="deep")
    tree = ast.parse(code)
    compile(tree, "deep_flow.py", "exec")
    loops = [
        node.name
        for node in tree.body
        if isinstance(node, ast.AsyncFunctionDef) and node.name.startswith("loop_")
    ]
    assert len(loops) == checks.MAX_DEPTH
    path = tmp_path / "deep_flow.py"
    path.write_text(code, encoding="utf-8")
    final = run_flow_process([str(path), "run", "--state", '{"topic": "owls"}'], tmp_path)
    assert final == asyncio_state(deepest(), STATE)
