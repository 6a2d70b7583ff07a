"""Prefect backend against a hand-written async Prefect flow: cost per chained agent, and the
makespan of a fan-out (issue 20).

Both run the same work on Prefect's temporary local server with irgraph's lean settings: a
chain of N agents (each reads the key the one before wrote) in one flow run, and a fan-out
(start -> W agents -> join). The hand-written flow is what a user would write with the same
caching as the backend's agent tasks: one async ``@task`` per agent, defined once,
``persist_result=True`` and a ``cache_key_fn`` of flow run id + agent + prompt hash, awaited in
turn (the chain) or gathered (the fan-out), calling the same provider with the same
``ModelRequest``. The backend runs ``PrefectBackend().compile(...)`` once, then
``runnable.arun(state)`` per flow run. Runs are interleaved, best of ``--repeats``, with
``gc.collect()`` before each; CPU is this process only (the server is another).

    .venv/bin/python bench/prefect_chain.py [--agents N] [--width W] [--repeats R] [--profile]

Nothing asserts on time: the script prints a table.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import hashlib
import math
import platform
import shutil
import time
from collections.abc import Awaitable, Callable
from typing import Any

from irgraph import Pipeline
from irgraph.providers import ModelRequest

from batch import prefect_environment
from cli_args import at_least, positive
from floors import LeanProvider
from workloads import chain, fan

Runner = Callable[[], Awaitable[dict[str, Any]]]


def _cached_task(provider: LeanProvider, name: str) -> Any:
    from prefect import task

    def cache_key(context: Any, parameters: dict[str, Any]) -> str:
        return str(parameters["key"])

    @task(name=name, persist_result=True, cache_key_fn=cache_key, log_prints=False)
    async def call(request: ModelRequest, key: str) -> str:
        return await provider.complete(request)

    return call


def _ask(call: Any, run: str, name: str, prompt: str) -> Awaitable[str]:
    digest = hashlib.sha256(prompt.encode()).hexdigest()[:16]
    return call(ModelRequest(name, name, prompt), f"{run}-{name}-{digest}")  # type: ignore[no-any-return]


def handwritten_chain(provider: LeanProvider, n: int) -> Runner:
    from prefect import flow
    from prefect.runtime import flow_run

    calls = [_cached_task(provider, f"a{i}") for i in range(n)]

    @flow(name="handwritten-chain", validate_parameters=False, log_prints=False)
    async def chain_flow(seed: str) -> dict[str, Any]:
        run = flow_run.get_id()
        state: dict[str, Any] = {"seed": seed}
        previous = seed
        for i, call in enumerate(calls):
            prompt = f"Start from {previous}." if i == 0 else f"Go on from {previous}."
            previous = state[f"k{i}"] = await _ask(call, run, f"a{i}", prompt)
        return state

    return lambda: chain_flow("question")


def handwritten_fan(provider: LeanProvider, width: int) -> Runner:
    from prefect import flow
    from prefect.runtime import flow_run

    start, join = _cached_task(provider, "start"), _cached_task(provider, "join")
    branches = [_cached_task(provider, f"b{i}") for i in range(width)]

    @flow(name="handwritten-fan", validate_parameters=False, log_prints=False)
    async def fan_flow(seed: str) -> dict[str, Any]:
        run = flow_run.get_id()
        state: dict[str, Any] = {"seed": seed}
        state["s"] = await _ask(start, run, "start", f"Begin {seed}.")
        answers = await asyncio.gather(
            *(_ask(call, run, f"b{i}", f"Take {state['s']}.") for i, call in enumerate(branches))
        )
        state.update({f"k{i}": answer for i, answer in enumerate(answers)})
        state["out"] = await _ask(join, run, "join", "Join " + " ".join(answers) + ".")
        return state

    return lambda: fan_flow("question")


def ours(pipeline: Pipeline, provider: LeanProvider) -> Runner:
    from irgraph.backends.prefect_backend import PrefectBackend

    runnable = PrefectBackend(provider=provider).compile(pipeline.to_ir(), inputs=["seed"])

    async def one() -> dict[str, Any]:
        return (await runnable.arun({"seed": "question"})).state

    return one


async def measure(runners: dict[str, Runner], repeats: int) -> dict[str, tuple[float, float]]:
    for work in runners.values():  # first-use costs (the temporary server starts here)
        await work()
    best = {name: (math.inf, math.inf) for name in runners}
    for _ in range(repeats):
        for name, work in runners.items():
            gc.collect()
            wall, cpu = time.perf_counter(), time.process_time()
            await work()
            took = (time.perf_counter() - wall, time.process_time() - cpu)
            best[name] = (min(best[name][0], took[0]), min(best[name][1], took[1]))
    return best


async def main(n: int, width: int, repeats: int) -> None:
    provider = LeanProvider(0.0)
    slow = LeanProvider(0.05)
    chains = {
        "hand-written chain": handwritten_chain(provider, n),
        "irgraph chain": ours(chain(n), provider),
        "hand-written chain of 1": handwritten_chain(provider, 1),
        "irgraph chain of 1": ours(chain(1), provider),
    }
    fans = {
        "hand-written fan-out": handwritten_fan(slow, width),
        "irgraph fan-out": ours(fan(width, width), slow),
    }
    best = await measure({**chains, **fans}, repeats)
    import prefect

    print(
        f"Prefect {prefect.__version__}, Python {platform.python_version()}, temporary server, "
        f"lean settings; best of {repeats}, interleaved"
    )
    print(
        f"\nChain of {n} agents, no latency, one flow run "
        "(per agent: (chain N - chain 1) / (N - 1))"
    )
    print(
        "| runner | flow run ms | per agent ms | x hand-written | CPU per agent ms "
        "| x hand-written |"
    )
    print("|---|---|---|---|---|---|")
    rows = {}
    for who in ("hand-written", "irgraph"):
        (wall, cpu), (wall1, cpu1) = best[f"{who} chain"], best[f"{who} chain of 1"]
        rows[who] = ((wall - wall1) / (n - 1), (cpu - cpu1) / (n - 1), wall)
    for who, (per, cpu, wall) in rows.items():
        base, base_cpu, _ = rows["hand-written"]
        print(
            f"| {who} | {wall * 1e3:.1f} | {per * 1e3:.2f} | {_ratio(per, base)} | "
            f"{cpu * 1e3:.2f} | {_ratio(cpu, base_cpu)} |"
        )
    print(f"\nper chained agent <= 1.1x hand-written: {chain_verdict(rows)}")
    print(f"\nFan-out start -> {width} agents -> join, 50 ms per call (ideal 150 ms)")
    print("| runner | makespan ms | x hand-written |")
    print("|---|---|---|")
    base = best["hand-written fan-out"][0]
    for name in fans:
        print(f"| {name} | {best[name][0] * 1e3:.1f} | {best[name][0] / base:.2f} |")
    ratio = best["irgraph fan-out"][0] / base
    print(f"\nfan-out makespan <= hand-written: {ratio:.2f}x {'PASS' if ratio <= 1.0 else 'MISS'}")


def _ratio(value: float, base: float) -> str:
    """``value / base`` for a table cell; a dash when either is not a positive time."""
    return f"{value / base:.2f}" if value > 0 and base > 0 else "-"


def chain_verdict(rows: dict[str, tuple[float, float, float]]) -> str:
    """The per-agent ratio and PASS/MISS, or why there is none: with few agents or repeats
    the chain of N can come out no slower than the chain of 1, which leaves no per-agent
    cost to compare."""
    ours, theirs = rows["irgraph"][0], rows["hand-written"][0]
    if ours <= 0 or theirs <= 0:
        return (
            "not measured (a chain of N ran no slower than the chain of 1, so the run's noise "
            "is larger than the agents' cost); run with more --agents or --repeats"
        )
    verdict = ours / theirs
    return f"{verdict:.2f}x {'PASS' if verdict <= 1.1 else 'MISS'}"


async def profile(n: int, top: int) -> None:
    import cProfile
    import pstats

    work = ours(chain(n), LeanProvider(0.0))
    await work()
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(3):
        await work()
    profiler.disable()
    print(f"cProfile of 3 irgraph flow runs of a chain of {n} agents, by cumulative time:")
    pstats.Stats(profiler).sort_stats("cumulative").print_stats(top)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--agents",
        type=at_least(2),
        default=60,
        help="at least 2: per agent is (chain of N - chain of 1) / (N - 1)",
    )
    parser.add_argument("--width", type=positive, default=20)
    parser.add_argument("--repeats", type=positive, default=5)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--top", type=positive, default=40)
    args = parser.parse_args()
    home = prefect_environment()
    try:
        asyncio.run(
            profile(args.agents, args.top)
            if args.profile
            else main(args.agents, args.width, args.repeats)
        )
    finally:
        shutil.rmtree(home, ignore_errors=True)
