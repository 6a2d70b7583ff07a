"""Where the design's floor is for a chain of agents (issue 20): irgraph against one
hand-folded coroutine that does an agent's every piece inline, with no error handling, no
scheduler and no hooks, and against the same coroutine with pieces taken out, all as
multiples of the task-per-node floor measured in the same run, interleaved.

The folded coroutine is not a scheduler: it walks the compiled chain's steps in order. It
shows what a chained agent costs when the trace events, the prompt, the ``ModelRequest`` and
the call record are all kept, which is the lowest a scheduler keeping them can go.

    .venv/bin/python bench/chain_limit.py [--agents 1000] [--repeats 40]
"""

from __future__ import annotations

import argparse
import asyncio
import platform
import time
from collections.abc import Awaitable, Callable
from types import MappingProxyType
from typing import Any

from irgraph.backends.asyncio_backend import AsyncioBackend
from irgraph.events import CallLog, TraceLog
from irgraph.providers import request_fields, request_from
from irgraph.templates import render, template_values

from cli_args import positive
from floors import LeanProvider, dag_of, task_per_node_floor
from timing import best_of
from workloads import SEED, chain


def chain_steps(runnable: Any) -> list[Any]:
    """The compiled chain's steps, first to last."""
    plan = runnable._plan
    steps, i = [], plan.entries[0]
    while True:
        steps.append(plan.steps[i])
        if not plan.successors[i]:
            return steps
        i = plan.successors[i][0]


def folded(
    steps: list[Any], provider: LeanProvider, *, record: bool, trace: bool, prompt: bool
) -> Callable[[], Awaitable[dict[str, Any]]]:
    """A run of the chain as one coroutine, each piece kept or left out."""
    now, path = time.monotonic, ()
    kept = [request_fields(s.id, s.op.name, s.op.model, s.op.system) for s in steps]  # as Step

    async def run() -> dict[str, Any]:
        state: dict[str, Any] = dict(SEED)
        outputs: dict[str, Any] = {}
        completed: list[str] = []
        calls = CallLog()
        log = TraceLog()
        for step, fields in zip(steps, kept, strict=True):
            nid, op = step.id, step.op
            if trace:
                log.nodes.append(nid), log.starts.append(True)
                log.times.append(now()), log.paths.append(path)
            values = template_values(op.template, state) if prompt else {}
            text = render(op.template, values) if prompt else ""
            if record:
                request = request_from(fields, text, MappingProxyType(values), {})
                start = now()
                answer = await provider.complete(request)
                calls.record(request, path, answer, start, now())
            else:
                answer = await provider.complete(None)  # type: ignore[arg-type]
            state[op.writes] = outputs[nid] = answer
            completed.append(nid)
            if trace:
                log.nodes.append(nid), log.starts.append(False)
                log.times.append(now()), log.paths.append(path)
        return state

    return run


async def main(agents: int, repeats: int) -> None:
    provider = LeanProvider()
    runnable = AsyncioBackend(provider=provider).compile(chain(agents).to_ir(), inputs=SEED)
    steps = chain_steps(runnable)
    predecessors, written = dag_of(runnable.graph)
    every = {"record": True, "trace": True, "prompt": True}
    variants: dict[str, Callable[[], Awaitable[Any]]] = {
        "task floor": lambda: task_per_node_floor(predecessors, written, 0.0),
        "irgraph (arun)": lambda: runnable.arun(SEED),
        "folded, every piece": folded(steps, provider, **every),
        "  without request + call record": folded(steps, provider, **{**every, "record": False}),
        "  without trace events": folded(steps, provider, **{**every, "trace": False}),
        "  without the prompt": folded(steps, provider, **{**every, "prompt": False}),
        "  without any of them": folded(steps, provider, record=False, trace=False, prompt=False),
    }
    best = await best_of(variants, repeats, time.perf_counter)
    floor = best["task floor"]
    print(f"Python {platform.python_version()}, chain of {agents}, best of {repeats}")
    print(f"{'variant':34} {'us/agent':>9} {'x task floor':>13}")
    for name, took in best.items():
        print(f"{name:34} {took / agents * 1e6:9.2f} {took / floor:12.2f}x")
    ratio = best["irgraph (arun)"] / floor
    verdict = "PASS" if ratio <= 0.15 else "MISS"
    print(f"#20 goal: chain <= 0.15x the task floor ({0.15 * floor / agents * 1e6:.2f} us/agent):")
    print(f"irgraph {ratio:.2f}x {verdict}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", type=positive, default=1000)
    parser.add_argument("--repeats", type=positive, default=40)
    args = parser.parse_args()
    asyncio.run(main(args.agents, args.repeats))
