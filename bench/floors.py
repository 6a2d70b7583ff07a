"""The plain-asyncio floors irgraph is measured against, and the cheapest provider.

Both floors run the very DAG irgraph compiled, with no irgraph code on the hot path, so each
irgraph number has a same-run reference that absorbs machine noise:

- ``task_per_node_floor``: one asyncio task per node, driven by a ``graphlib.TopologicalSorter``
  ``prepare``/``get_ready``/``done`` loop around ``asyncio.wait(FIRST_COMPLETED)``;
- ``inline_floor``: a tree-walking interpreter over the IR, where a sequence is a loop of
  awaits and a parallel block is ``asyncio.gather``.

``LeanProvider`` is what irgraph runs with, so that the provider costs next to nothing.
"""

from __future__ import annotations

import asyncio
import graphlib
from typing import Any

from irgraph.ir import Node, ParallelNode, SequenceNode
from irgraph.providers import ModelRequest

from workloads import SEED


def dag_of(graph: Any) -> tuple[dict[str, set[str]], dict[str, str]]:
    """Predecessor sets and written key of every node of a compiled graph."""
    predecessors = {nid: set(graph.predecessors(nid)) for nid in graph}
    written = {nid: data["writes"][0] for nid, data in graph.nodes(data=True)}
    return predecessors, written


async def task_per_node_floor(
    predecessors: dict[str, set[str]], written: dict[str, str], latency: float
) -> dict[str, Any]:
    state = dict(SEED)

    async def node(key: str) -> None:
        if latency:
            await asyncio.sleep(latency)
        state[key] = "x"

    sorter = graphlib.TopologicalSorter(predecessors)
    sorter.prepare()
    running: dict[asyncio.Task[None], str] = {}
    while sorter.is_active():
        for nid in sorter.get_ready():
            running[asyncio.create_task(node(written[nid]))] = nid
        done, _ = await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
        for task in done:
            task.result()
            sorter.done(running.pop(task))
    return state


async def inline_floor(root: Node, latency: float) -> dict[str, Any]:
    state = dict(SEED)

    async def walk(node: Node) -> None:
        if isinstance(node, SequenceNode):
            for child in node.children:
                await walk(child)
        elif isinstance(node, ParallelNode):
            await asyncio.gather(*(walk(child) for child in node.children))
        else:
            if latency:
                await asyncio.sleep(latency)
            state[node.writes] = "x"  # type: ignore[union-attr]

    await walk(root)
    return state


class LeanProvider:
    """The cheapest provider: answer ``"x"``, after ``latency`` seconds if any."""

    def __init__(self, latency: float = 0.0) -> None:
        self.latency = latency

    async def complete(self, request: ModelRequest) -> str:
        if self.latency:
            await asyncio.sleep(self.latency)
        return "x"
