"""Where the design's floor is for a wide fan-out (issue 20): irgraph against a task per
branch that does nothing but end, and against a task per branch that does a plain agent's
every piece (the prompt, the ``ModelRequest``, the provider's call, the call record, the two
trace events, the write), all as multiples of the task-per-node floor measured in the same
run, interleaved.

On Python 3.11 a branch that may suspend needs a task of its own: a provider's first step
run in the scope's task would bind ``asyncio.timeout`` and anyio's cancel scopes (httpx,
OpenAI) to the wrong task, and set its context variables in the scope's context. From 3.12,
``eager_start`` gives a branch its own task without a trip through the loop, so one that
answers at once costs no scheduling at all. The "task + agent" row is therefore the lowest a
scheduler keeping the agent's record can go on 3.11; "task only" is what the task alone costs.

    .venv/bin/python bench/fan_limit.py [--width 10000] [--repeats 15]

Times are CPU seconds of this thread (``time.thread_time``), which a busy machine disturbs
less than the wall clock; every number is the best of ``--repeats`` runs after a
``gc.collect()``.
"""

from __future__ import annotations

import argparse
import asyncio
import platform
import time
from collections.abc import Awaitable, Callable
from typing import Any

from irgraph.backends.asyncio_backend import AsyncioBackend
from irgraph.backends.plain_agents import plain_answer, plain_request
from irgraph.backends.scheduler import Scheduler

from cli_args import positive
from floors import LeanProvider, dag_of, task_per_node_floor
from timing import best_of
from workloads import SEED, fan


async def tasks_only(width: int) -> None:
    """A task per branch that writes one key and ends; the last one wakes the caller."""
    loop = asyncio.get_running_loop()
    done = loop.create_future()
    state: dict[str, Any] = {}
    left = width

    async def branch(key: int) -> None:
        nonlocal left
        state[f"k{key}"] = "x"
        left -= 1
        if not left:
            done.set_result(None)

    running = [loop.create_task(branch(key)) for key in range(width)]  # kept, as asyncio asks
    await done
    del running


def tasks_with_agents(runnable: Any, provider: LeanProvider) -> Callable[[], Awaitable[None]]:
    """A task per branch that runs the branch's plain agent as the scheduler's fast path
    does (:mod:`irgraph.backends.plain_agents`), with no scheduler around it."""
    branches = [step for step in runnable._plan.steps if step.op.name.startswith("b")]

    async def run() -> None:
        loop = asyncio.get_running_loop()
        done = loop.create_future()
        record = Scheduler(
            provider,
            on_event=None,
            on_gate=None,
            max_concurrency=None,
            timeout=None,
            chunks=False,
        )
        state: dict[str, Any] = {**SEED, "s": "x"}
        left = len(branches)
        complete, now = provider.complete, time.monotonic

        async def branch(step: Any) -> None:
            nonlocal left
            begun = now()
            request = plain_request(record, step, state, (), begun)
            value = await complete(request)
            plain_answer(record, step, state, (), request, begun, value)
            left -= 1
            if not left:
                done.set_result(None)

        running = [loop.create_task(branch(step)) for step in branches]
        await done
        del running

    return run


async def main(width: int, repeats: int) -> None:
    provider = LeanProvider()
    runnable = AsyncioBackend(provider=provider).compile(fan(width, 10).to_ir(), inputs=SEED)
    predecessors, written = dag_of(runnable.graph)
    nodes = len(runnable.graph)
    variants: dict[str, Callable[[], Awaitable[Any]]] = {
        "task floor": lambda: task_per_node_floor(predecessors, written, 0.0),
        "task only, per branch": lambda: tasks_only(width),
        "task + agent, per branch": tasks_with_agents(runnable, provider),
        "irgraph (arun)": lambda: runnable.arun(SEED),
    }
    best = await best_of(variants, repeats, time.thread_time)
    floor = best["task floor"]
    print(f"Python {platform.python_version()}, fan-out of {width}, best of {repeats}, CPU time")
    print(f"{'variant':28} {'us/branch':>10} {'x task floor':>13}")
    for name, took in best.items():
        print(f"{name:28} {took / nodes * 1e6:10.2f} {took / floor:12.2f}x")
    ratio = best["irgraph (arun)"] / floor
    verdict = "PASS" if ratio <= 0.8 else "MISS"
    print(f"#20 goal: fan-out <= 0.8x the task floor: irgraph {ratio:.2f}x {verdict}")
    spent = best["irgraph (arun)"] - best["task + agent, per branch"]
    print(f"irgraph's scheduling beyond task + agent: {spent / nodes * 1e6:.2f} us per branch")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--width", type=positive, default=10_000)
    parser.add_argument("--repeats", type=positive, default=15)
    args = parser.parse_args()
    asyncio.run(main(args.width, args.repeats))
