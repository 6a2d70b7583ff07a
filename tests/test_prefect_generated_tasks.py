"""Generated flow code keeps every setting of the pipeline and the worker config.

A property over drawn pipelines imports each generated module and reads its Prefect task
objects (real ``prefect.Task`` instances): one per agent, with the agent's timeout, the
config's retries, persisted results and irgraph's cache key. One run of a generated flow then
shows the settings act: an agent over its timeout fails the flow, and a map-over never has
more items in flight than its ``max_concurrency``.
"""

from __future__ import annotations

import asyncio
import importlib.util
import itertools
import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings

from irgraph import Agent, MapOver, RunError, Transform
from irgraph.ir import AgentNode, Node
from irgraph.testing.held import HeldProvider
from irgraph.testing.strategies import pipelines_with_inputs
from tests.support.prefect_env import ensure_prefect_test_env

pytestmark = pytest.mark.prefect
ensure_prefect_test_env()  # before the first import of prefect, which reads the settings
_count = itertools.count()


def agents(root: Node) -> list[AgentNode]:
    found, stack = [], [root]
    while stack:
        node = stack.pop()
        if isinstance(node, AgentNode):
            found.append(node)
        stack.extend(getattr(node, "children", ()))
    return found


def load(code: str, folder: Path) -> Any:
    name = f"generated_flow_{next(_count)}"
    path = folder / f"{name}.py"
    path.write_text(code, encoding="utf-8")
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def generate(pipeline: Any, **config: Any) -> str:
    from irgraph.backends.prefect_backend import PrefectBackend
    from irgraph.backends.prefect_worker import PrefectWorkerConfig, generate_flow_code

    compiled = PrefectBackend().compile(pipeline.to_ir())
    return generate_flow_code(compiled, PrefectWorkerConfig("generated", "local", **config))


@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@given(pipelines_with_inputs(max_depth=2))
def test_each_agent_is_a_task_with_its_settings(tmp_path_factory: Any, case: Any) -> None:
    from prefect import Task

    pipeline, _ = case
    module = load(generate(pipeline, task_retries=2), tmp_path_factory.mktemp("flows"))
    tasks = [v for v in vars(module).values() if isinstance(v, Task)]
    ir_agents = agents(pipeline.to_ir())
    assert len(tasks) == len(ir_agents)
    by_timeout = sorted((a.timeout or 0.0) for a in ir_agents)
    assert sorted((t.timeout_seconds or 0.0) for t in tasks) == by_timeout
    for task in tasks:
        assert task.retries == 2
        assert task.persist_result is True
        assert task.cache_key_fn is module.AGENT_CACHE_KEY


def held_in_pairs() -> HeldProvider:
    """The fake model of the generated map-over flow below: each call waits until two are in
    flight, so the bound is reached however slowly the machine starts the second."""
    return HeldProvider(2, latency=0.05)


def test_a_generated_flow_enforces_timeouts_and_map_concurrency(tmp_path: Path) -> None:
    from irgraph.backends.prefect_runtime import model_provider

    fake = model_provider("fake")
    mapped = (
        MapOver("each")
        .over("papers", item="paper")
        .step(Agent("summarise").instruct("Sum {paper}.").writes("summary"))
        .collect("summary")
        .writes("summaries")
        .max_concurrency(2)
    )
    module = load(generate(mapped, provider=f"{__name__}:held_in_pairs"), tmp_path)
    fake.latency = 0.2
    try:
        final = asyncio.run(module.generated_flow(state={"papers": list("abcde")}))
        assert len(final["summaries"]) == 5
        held = model_provider(f"{__name__}:held_in_pairs")  # the one the flow asked
        assert isinstance(held, HeldProvider) and len(held.calls) == 5
        assert held.max_in_flight == 2  # the bound, reached: five items, two at a time

        slow = Agent("writer").instruct("Write.").writes("text").timeout(0.05)
        module = load(generate(slow), tmp_path)
        with pytest.raises(Exception) as failed:
            asyncio.run(module.generated_flow(state={}))
        assert "timeout" in f"{type(failed.value).__name__} {failed.value}".lower()

        # A plain function runs off the event loop, so its timeout fires while it blocks.
        blocking = Transform("wait", time.sleep).reads("seconds").writes("done").timeout(0.2)
        module = load(generate(blocking), tmp_path)
        with pytest.raises(RunError, match="Node 'wait' failed: TimeoutError: it took") as late:
            asyncio.run(module.generated_flow(state={"seconds": 3}))
        assert isinstance(late.value.__cause__, TimeoutError)
    finally:
        fake.latency = 0.0
