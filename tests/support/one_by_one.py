"""A backend of a user's own, written from the docs: one pass over the graph, running its
agents one after another in a topological order (text agents only, no gates, no parallel
runs). Its ``arun`` takes just the options it honours (no ``provider``, ``on_gate`` or
``max_concurrency``); ``flaw`` makes it wrong in one way the conformance suite must name."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import networkx as nx

from irgraph import (
    EngineCapabilities,
    Event,
    ModelRequest,
    PipelineError,
    RunError,
    RunResult,
    to_graph,
    validate,
)
from irgraph.templates import filled, parse_template


class OneByOne:
    """A compiled pipeline of the one-by-one backend."""

    def __init__(self, node: Any, graph: nx.DiGraph, provider: Any, flaw: str) -> None:
        self.node, self.graph, self.provider, self.flaw = node, graph, provider, flaw

    def run(self, state: Any = None, *, timeout: float | None = None) -> RunResult:
        return asyncio.run(self.arun(state, timeout=timeout))

    async def arun(self, state: Any = None, *, timeout: float | None = None) -> RunResult:
        G, state = self.graph, dict(state or {})
        trace: list[Event] = []
        outputs: dict[str, Any] = {}
        done: list[str] = []
        # The run's timeout bounds each agent with no timeout of its own (an agent's own wins).
        end = None if timeout is None else asyncio.get_running_loop().time() + timeout
        for nid in nx.topological_sort(G):
            await self.agent(nid, G.nodes[nid], state, trace, outputs, done, end)
        return RunResult(state, trace, outputs, backend="one-by-one", graph=G)

    async def agent(
        self,
        nid: str,
        agent: dict[str, Any],
        state: dict[str, Any],
        trace: list[Event],
        outputs: dict[str, Any],
        done: list[str],
        end: float | None,
    ) -> None:
        named = None if self.flaw == "events-by-name" and "#" in nid else nid
        trace.append(Event(named, "start", time.monotonic()))  # type: ignore[arg-type]
        prompt, values = filled(parse_template(agent["instruction"]), state)
        system, more = filled(parse_template(agent["system"]), state)
        request = ModelRequest(
            nid,
            agent["label"],
            prompt,
            agent["model"],
            state={**values, **more},
            system=system,
            settings=agent["settings"],
        )
        try:
            own = agent["timeout"]
            limit = end if own is None else asyncio.get_running_loop().time() + own
            async with asyncio.timeout_at(limit):
                answer = await self.provider.complete(request)
        except Exception as error:
            if self.flaw == "raw-timeouts" and isinstance(error, TimeoutError):
                raise
            why = f"Agent {nid!r} failed: {error!r}"
            raise RunError(why, node=nid, state=state, completed=done) from error
        for key in agent["writes"]:
            state[key] = answer
        outputs[nid] = answer
        done.append(nid)
        trace.append(Event(named, "end", time.monotonic()))  # type: ignore[arg-type]


class OneByOneBackend:
    """Runs text agents one after another; refuses anything else when it compiles."""

    name = "one-by-one"
    capabilities = EngineCapabilities()

    def __init__(self, provider: Any = None, flaw: str = "") -> None:
        self.provider, self.flaw = provider, flaw

    def compile(self, ir: Any, *, inputs: Any = None) -> OneByOne:
        G = to_graph(ir, inputs=inputs)
        validate(G)
        others = [n for n in G if G.nodes[n]["kind"] != "agent" or G.nodes[n]["output"]]
        if others:
            raise PipelineError(f"The one-by-one backend runs text agents only, not {others}.")
        return OneByOne(ir, G, self.provider, self.flaw)
