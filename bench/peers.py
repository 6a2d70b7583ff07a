"""Optional peer columns: the same DAG run by LangGraph and by adk-fluent.

Each adapter mirrors the compiled graph (LangGraph) or the IR tree (adk-fluent) with nodes
that only sleep the latency and write ``"x"``, and returns a ``Timer`` for one run. The
imports are inside the adapters, so the benchmark runs without these packages and
``available_peers`` says which columns are skipped.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

from irgraph.ir import Node, ParallelNode, SequenceNode

from floors import dag_of
from workloads import SEED

# An async callable that does one run and returns how many seconds it took.
Timer = Callable[[], Awaitable[float]]


def langgraph_timer(graph: Any, latency: float) -> Timer:
    """The same DAG as a LangGraph StateGraph: a channel per key, a join edge per node."""
    from typing import TypedDict

    from langgraph.graph import END, START, StateGraph

    predecessors, written = dag_of(graph)
    schema = TypedDict("BenchState", {key: str for key in ["seed", *written.values()]})  # type: ignore[misc]
    builder = StateGraph(schema)

    def make(key: str) -> Callable[[dict[str, Any]], Awaitable[dict[str, str]]]:
        async def node(state: dict[str, Any]) -> dict[str, str]:
            if latency:
                await asyncio.sleep(latency)
            return {key: "x"}

        return node

    for nid, key in written.items():
        builder.add_node(nid, make(key))
    for nid, before in predecessors.items():
        if not before:
            builder.add_edge(START, nid)
        else:
            builder.add_edge(sorted(before) if len(before) > 1 else next(iter(before)), nid)
        if graph.out_degree(nid) == 0:
            builder.add_edge(nid, END)
    compiled = builder.compile()
    config = {"recursion_limit": len(written) + 10}

    async def timed() -> float:
        start = time.perf_counter()
        await compiled.ainvoke(dict(SEED), config)
        return time.perf_counter() - start

    return timed


def adk_fluent_timer(root: Node, latency: float) -> Timer:
    """The same IR tree as adk-fluent builders (Pipeline/FanOut), run by an ADK runner."""
    from adk_fluent import Agent as AdkAgent
    from adk_fluent import FanOut as AdkFanOut
    from adk_fluent import Pipeline as AdkPipeline
    from google.adk.models.base_llm import BaseLlm
    from google.adk.models.llm_response import LlmResponse
    from google.adk.runners import InMemoryRunner
    from google.genai import types

    class BenchLlm(BaseLlm):  # type: ignore[misc]
        delay: float = 0.0

        async def generate_content_async(self, llm_request: Any, stream: bool = False) -> Any:
            if self.delay:
                await asyncio.sleep(self.delay)
            yield LlmResponse(content=types.Content(role="model", parts=[types.Part(text="x")]))

    llm = BenchLlm(model="bench", delay=latency)

    def mirror(node: Node) -> Any:
        if isinstance(node, SequenceNode):
            pipeline = AdkPipeline(node.name)
            for child in node.children:
                pipeline = pipeline.step(mirror(child))
            return pipeline
        if isinstance(node, ParallelNode):
            block = AdkFanOut(node.name)
            for child in node.children:
                block = block.branch(mirror(child))
            return block
        return (
            AdkAgent(node.name)
            .model(llm)
            .instruct(node.instruction)  # type: ignore[union-attr]
            .output_key(node.writes)
        )  # type: ignore[union-attr]

    runner = InMemoryRunner(agent=mirror(root).build(), app_name="bench")
    message = types.Content(role="user", parts=[types.Part(text="go")])

    async def timed() -> float:
        session = await runner.session_service.create_session(
            app_name="bench", user_id="bench", state=dict(SEED)
        )
        start = time.perf_counter()
        async for _ in runner.run_async(
            user_id="bench", session_id=session.id, new_message=message
        ):
            pass
        return time.perf_counter() - start

    return timed


PEERS: dict[str, Callable[[Any, Node, float], Timer]] = {
    "langgraph": lambda graph, root, latency: langgraph_timer(graph, latency),
    "adk_fluent": lambda graph, root, latency: adk_fluent_timer(root, latency),
}


def available_peers() -> dict[str, str]:
    """Peer name -> "" if importable, else why its column is skipped."""
    import importlib.util

    return {name: "" if importlib.util.find_spec(name) else "not installed" for name in PEERS}
