"""Batch benchmark: ``run_many`` / ``arun_many`` over a data set, against hand-written floors.

One run measures, in this order (the floors right before what they are compared with):

1. Makespan of an N-item batch (default 1 000) of a 3-agent chain, every call 50 ms
   (``floors.LeanProvider``), at most C model calls in flight (default 200): a hand-written
   ``asyncio.gather`` over the items with an ``asyncio.Semaphore(C)`` around each call (the
   floor), ``arun_many(..., max_concurrency=C)``, ``run_many(...)`` (its blocking twin, whose
   loop runs in a helper thread) and LangGraph's ``abatch(inputs, config={"max_concurrency":
   C})`` of the same 3-node graph when ``langgraph`` is installed. Ideal: N x 3 calls / C in
   flight x 50 ms (0.75 s for 1 000 items at C = 200).
2. Memory: the tracemalloc peak of one run of each, divided by the most items it had in
   flight at once (started, not yet handed to the caller).
3. Prefect (skipped by ``--skip-prefect``): per-item cost of a few items, no latency, one at
   a time and 10 at a time, on a temporary ``PREFECT_HOME`` and Prefect's temporary local
   server with irgraph's lean settings: a hand-written async flow per item (three cached async
   tasks awaited in turn, results persisted) against irgraph's Prefect backend
   (``PrefectRunnable.arun`` per item, and ``run_many(backend="prefect")`` when it exists),
   each also inside one held Prefect client context (``AsyncClientContext`` and
   ``SyncClientContext``), which spares every flow run opening two clients of its own.

Every agent reads the key the previous one wrote (``{seed}`` -> k0 -> k1 -> k2). Every number
is the best (minimum) of its runs, with ``gc.collect()`` before each; ratios are to the floor
of the same run. Nothing asserts on time: the script prints tables.

    .venv/bin/python bench/batch.py [--quick] [--skip-prefect] [--profile]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import hashlib
import importlib.util
import math
import os
import platform
import shutil
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

from irgraph import Pipeline, arun_many, run_many
from irgraph.errors import IrgraphError
from irgraph.providers import ModelRequest

from cli_args import positive
from floors import LeanProvider
from workloads import LATENCY, chain

# The chain as the floors run it: (agent, template, key written); workloads.chain(3) builds it.
STEPS = (
    ("a0", "Start from {seed}.", "k0"),
    ("a1", "Go on from {k0}.", "k1"),
    ("a2", "Go on from {k1}.", "k2"),
)
CALLS = len(STEPS)


class InFlight:
    """Counts items started and not yet finished; ``most`` is the high-water mark."""

    def __init__(self) -> None:
        self.now = 0
        self.most = 0

    def start(self) -> None:
        self.now += 1
        self.most = max(self.most, self.now)

    def finish(self) -> None:
        self.now -= 1


def seeds(n: int, counter: InFlight | None = None) -> Iterator[dict[str, str]]:
    for i in range(n):
        if counter is not None:
            counter.start()
        yield {"seed": f"question {i}"}


async def ask(provider: LeanProvider, name: str, template: str, state: dict[str, Any]) -> str:
    """One agent call as the floors make it: render the prompt, build a request, complete."""
    return await provider.complete(ModelRequest(name, name, template.format(**state)))


def check(answers: list[Any], n: int, who: str) -> None:
    """Every runner returns each item's last answer (so results held do not blur memory)."""
    if len(answers) != n or any(answer != "x" for answer in answers):
        raise AssertionError(f"{who}: {len(answers)} answers, not {n} complete items")


# Runners: each does one batch and returns the final states ---------------------------------


async def floor(n: int, limit: int, provider: LeanProvider, counter: InFlight) -> list[Any]:
    """asyncio.gather over every item; a semaphore of ``limit`` slots around each call."""
    slots = asyncio.Semaphore(limit)

    async def item(state: dict[str, Any]) -> str:
        state = dict(state)
        for name, template, writes in STEPS:
            async with slots:
                state[writes] = await ask(provider, name, template, state)
        counter.finish()
        return str(state["k2"])

    return list(await asyncio.gather(*(item(s) for s in seeds(n, counter))))


async def ours_async(
    pipeline: Pipeline, n: int, limit: int, provider: LeanProvider, counter: InFlight
) -> list[Any]:
    states = []
    results = arun_many(pipeline, seeds(n, counter), provider=provider, max_concurrency=limit)
    async for item in results:
        counter.finish()
        if not item.ok:
            raise AssertionError(f"item {item.index} failed: {item.error}")
        states.append(item.state["k2"])  # type: ignore[index]
    return states


def ours_blocking(
    pipeline: Pipeline, n: int, limit: int, provider: LeanProvider, counter: InFlight
) -> list[Any]:
    states = []
    for item in run_many(pipeline, seeds(n, counter), provider=provider, max_concurrency=limit):
        counter.finish()
        states.append(item.state["k2"])  # type: ignore[index]
    return states


def langgraph_batch(provider: LeanProvider, counter: InFlight) -> Callable[..., Awaitable[Any]]:
    """The same chain as a LangGraph StateGraph (START -> a0 -> a1 -> a2 -> END), whose nodes
    render the same prompts and call the same provider; ``abatch`` runs the items."""
    from typing import TypedDict

    from langgraph.graph import END, START, StateGraph

    class BatchState(TypedDict):
        seed: str
        k0: str
        k1: str
        k2: str

    builder = StateGraph(BatchState)
    previous = START
    for name, template, writes in STEPS:

        async def node(state: dict[str, Any], name: str = name, template: str = template,
                       writes: str = writes) -> dict[str, str]:  # fmt: skip
            if writes == "k0":
                counter.start()
            answer = await ask(provider, name, template, state)
            if writes == "k2":
                counter.finish()
            return {writes: answer}

        builder.add_node(name, node)
        builder.add_edge(previous, name)
        previous = name
    builder.add_edge(previous, END)
    graph = builder.compile()

    async def run(n: int, limit: int) -> list[Any]:
        inputs = [{"seed": f"question {i}"} for i in range(n)]
        outputs = await graph.abatch(inputs, config={"max_concurrency": limit})  # type: ignore[arg-type]
        return [output["k2"] for output in outputs]

    return run


# Measuring ---------------------------------------------------------------------------------


def timed(work: Callable[[], Any], n: int, who: str) -> float:
    """Seconds one batch took (a coroutine function runs on a fresh event loop)."""
    gc.collect()
    start = time.perf_counter()
    outcome = work()
    if asyncio.iscoroutine(outcome):
        elapsed, answers = asyncio.run(_timed_on_loop(outcome))
    else:
        elapsed, answers = time.perf_counter() - start, outcome
    check(answers, n, who)
    return elapsed


async def _timed_on_loop(work: Awaitable[list[Any]]) -> tuple[float, list[Any]]:
    start = time.perf_counter()
    answers = await work
    return time.perf_counter() - start, answers


def peak_memory(work: Callable[[InFlight], Any]) -> tuple[int, int]:
    """tracemalloc peak (bytes) of one batch, and the most items it had in flight."""
    counter = InFlight()
    gc.collect()
    tracemalloc.start()
    outcome = work(counter)
    if asyncio.iscoroutine(outcome):
        asyncio.run(outcome)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak, counter.most


def batch_tables(n: int, limit: int, repeats: int) -> None:
    provider = LeanProvider(LATENCY)
    pipeline = chain(CALLS)
    ideal = math.ceil(n * CALLS / limit) * LATENCY
    runners: dict[str, Callable[[InFlight], Any]] = {
        "floor: gather + Semaphore": lambda c: floor(n, limit, provider, c),
        "irgraph arun_many": lambda c: ours_async(pipeline, n, limit, provider, c),
        "irgraph run_many": lambda c: ours_blocking(pipeline, n, limit, provider, c),
    }
    peers = "installed" if importlib.util.find_spec("langgraph") else "not installed"
    if peers == "installed":
        runners["LangGraph abatch"] = lambda c: langgraph_batch(provider, c)(n, limit)
    for work in runners.values():  # warm up: lazy imports, first-use code paths
        timed(lambda w=work: w(InFlight()), n, "warm-up")
    best = {name: math.inf for name in runners}
    for _ in range(repeats):  # interleaved, the floor right before the others
        for name, work in runners.items():
            best[name] = min(best[name], timed(lambda w=work: w(InFlight()), n, name))
    memory = {name: peak_memory(work) for name, work in runners.items()}

    print(
        f"\n{n} items x {CALLS} chained agents, {LATENCY * 1e3:.0f} ms per call, "
        f"max_concurrency={limit}: ideal makespan = ceil({n * CALLS} calls / {limit}) x "
        f"{LATENCY * 1e3:.0f} ms = {ideal:.3f} s; best of {repeats}; LangGraph: {peers}"
    )
    head = f"| {'runner':<26} | makespan | x ideal | x floor | peak MB | in flight | KB/item |"
    print(head)
    print("|" + "|".join("-" * (len(cell)) for cell in head.split("|")[1:-1]) + "|")
    base = best["floor: gather + Semaphore"]
    for name, seconds in best.items():
        peak, most = memory[name]
        print(
            f"| {name:<26} | {seconds:7.3f}s | {seconds / ideal:7.2f} | {seconds / base:7.2f} |"
            f" {peak / 2**20:7.1f} | {most:9d} | {peak / 1024 / max(most, 1):7.1f} |"
        )
    ours = best["irgraph arun_many"]
    verdict = "PASS" if ours <= 1.1 * ideal else "MISS"
    print(f"{verdict}: arun_many makespan {ours / ideal:.2f}x ideal (goal <= 1.10x)")


def profile(n: int, limit: int, top: int) -> None:
    import cProfile
    import pstats

    provider = LeanProvider(LATENCY)
    pipeline = chain(CALLS)
    asyncio.run(ours_async(pipeline, n, limit, provider, InFlight()))
    profiler = cProfile.Profile()
    profiler.enable()
    asyncio.run(ours_async(pipeline, n, limit, provider, InFlight()))
    profiler.disable()
    print(f"cProfile of one arun_many batch of {n} items, by own time:")
    pstats.Stats(profiler).sort_stats("tottime").print_stats(top)


# Prefect -----------------------------------------------------------------------------------


def prefect_environment() -> str:
    """A temporary PREFECT_HOME, Prefect's temporary local server and irgraph's lean
    settings, set before ``prefect`` is first imported. Returns the directory to remove."""
    home = tempfile.mkdtemp(prefix="irgraph-bench-prefect-")
    os.environ["PREFECT_HOME"] = home
    if os.environ.pop("PREFECT_API_URL", None):
        print("(PREFECT_API_URL unset for this run: the benchmark uses a temporary server)")
    from irgraph.backends.prefect_backend import lean_prefect_settings

    lean_prefect_settings()
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")  # no INFO line per flow and task
    return home


def handwritten_flow(provider: LeanProvider) -> Any:
    """What a user would write: an async flow per item, three cached async tasks (one per
    agent, results persisted, cache key = flow run id + agent + prompt hash) awaited in turn."""
    from prefect import flow, task
    from prefect.runtime import flow_run

    def cache_key(context: Any, parameters: dict[str, Any]) -> str:
        return str(parameters["key"])

    def agent(name: str) -> Any:
        @task(name=name, persist_result=True, cache_key_fn=cache_key, log_prints=False)
        async def call(request: ModelRequest, key: str) -> str:
            return await provider.complete(request)

        return call

    agents = [(agent(name), name, template, writes) for name, template, writes in STEPS]

    @flow(name="handwritten-chain", validate_parameters=False, log_prints=False)
    async def item_flow(seed: str) -> dict[str, Any]:
        run = flow_run.get_id()
        state: dict[str, Any] = {"seed": seed}
        for call, name, template, writes in agents:
            prompt = template.format(**state)
            digest = hashlib.sha256(prompt.encode()).hexdigest()[:16]
            state[writes] = await call(ModelRequest(name, name, prompt), f"{run}-{name}-{digest}")
        return state

    return item_flow


async def bounded(n: int, width: int, one: Callable[[int], Awaitable[Any]]) -> list[Any]:
    """``one(i)`` for every item, at most ``width`` at once (one after the other at 1)."""
    if width == 1:
        return [await one(i) for i in range(n)]
    slots = asyncio.Semaphore(width)

    async def item(i: int) -> Any:
        async with slots:
            return await one(i)

    return list(await asyncio.gather(*(item(i) for i in range(n))))


PrefectRunner = Callable[[int, int], Awaitable[list[Any]]]


def clients_held(runner: PrefectRunner) -> PrefectRunner:
    """``runner`` inside one Prefect client context (async and sync) for all its items: each
    flow run then uses these clients instead of opening its own two."""

    async def held(n: int, width: int) -> list[Any]:
        from prefect.context import AsyncClientContext, SyncClientContext

        async with AsyncClientContext.get_or_create():
            with SyncClientContext.get_or_create():
                return await runner(n, width)

    return held


async def prefect_runners() -> dict[str, PrefectRunner]:
    from irgraph.backends.prefect_backend import PrefectBackend

    provider = LeanProvider(0.0)
    pipeline = chain(CALLS)
    item_flow = handwritten_flow(provider)
    runnable = PrefectBackend().compile(pipeline.to_ir(), inputs=["seed"])

    async def handwritten(n: int, width: int) -> list[Any]:
        async def one(i: int) -> Any:
            return (await item_flow(f"question {i}"))["k2"]

        return await bounded(n, width, one)

    async def per_item(n: int, width: int) -> list[Any]:
        async def one(i: int) -> Any:
            return (await runnable.arun({"seed": f"question {i}"}, provider=provider)).state["k2"]

        return await bounded(n, width, one)

    runners = {
        "hand-written flow per item": handwritten,
        "hand-written, clients held": clients_held(handwritten),
        "PrefectRunnable.arun per item": per_item,
        "PrefectRunnable.arun, held": clients_held(per_item),
    }
    try:
        arun_many(pipeline, [], backend="prefect", provider=provider, max_items=1)
    except IrgraphError as exc:
        print(f"run_many(backend='prefect') not measured: {str(exc)[:110]}...")
    else:

        async def batch(n: int, width: int) -> list[Any]:
            results = arun_many(
                pipeline, seeds(n), backend="prefect", provider=provider, max_items=width
            )
            return [item.state["k2"] async for item in results]  # type: ignore[index]

        runners["run_many(backend='prefect')"] = batch
    return runners


async def prefect_table(n: int, widths: tuple[int, ...], repeats: int) -> None:
    start = time.perf_counter()
    runners = await prefect_runners()
    for work in runners.values():  # starts the temporary server; first-use costs
        await work(2, 1)
    warm = time.perf_counter() - start
    best = {(name, width): (math.inf, math.inf) for width in widths for name in runners}
    for _ in range(repeats):  # interleaved, the hand-written flow right before ours
        for name, width in best:
            gc.collect()
            wall, cpu = time.perf_counter(), time.process_time()
            answers = await runners[name](n, width)
            took = (time.perf_counter() - wall, time.process_time() - cpu)
            best[name, width] = min(best[name, width], took)
            check(answers, n, name)
    import prefect

    print(
        f"\nPrefect {prefect.__version__}, temporary server and lean settings (warm-up with the "
        f"server start: {warm:.1f} s): {n} items of {CALLS} chained agents, no latency, "
        f"items in flight at once = 1 (per-item cost) or more (throughput); best of {repeats}; "
        "CPU = this process only (the temporary server is another process)"
    )
    head = (
        f"| {'runner':<30} | in flight | total  | ms per item | x hand-written |"
        " CPU ms per item | x hand-written |"
    )
    print(head)
    print("|" + "|".join("-" * (len(cell)) for cell in head.split("|")[1:-1]) + "|")
    for (name, width), (seconds, cpu) in best.items():
        base, base_cpu = best["hand-written flow per item", width]
        print(
            f"| {name:<30} | {width:9d} | {seconds:5.2f}s | {seconds / n * 1e3:11.1f} |"
            f" {seconds / base:14.2f} | {cpu / n * 1e3:15.1f} | {cpu / base_cpu:14.2f} |"
        )
    for ours, theirs in (
        ("PrefectRunnable.arun per item", "hand-written flow per item"),
        ("PrefectRunnable.arun, held", "hand-written, clients held"),
        ("run_many(backend='prefect')", "hand-written flow per item"),
    ):
        if ours in runners:
            ratio = best[ours, 1][0] / best[theirs, 1][0]
            verdict = "PASS" if ratio <= 1.1 else "MISS"
            print(f"{verdict}: {ours}, one item at a time: {ratio:.2f}x {theirs} (goal <= 1.10x)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer items and repeats")
    parser.add_argument("--skip-prefect", action="store_true", help="no Prefect table")
    parser.add_argument(
        "--items", type=positive, help="items in the asyncio batch (1000; quick 400)"
    )
    parser.add_argument("--concurrency", type=positive, default=200, help="max_concurrency (200)")
    parser.add_argument("--prefect-items", type=positive, help="items in the Prefect table (30; 8)")
    parser.add_argument("--prefect-width", type=positive, default=10, help="Prefect items at once")
    parser.add_argument("--profile", action="store_true", help="cProfile arun_many instead")
    args = parser.parse_args()
    n = args.items or (400 if args.quick else 1000)
    if args.profile:
        profile(n, args.concurrency, 25)
        return
    print(
        f"irgraph batch benchmark - Python {platform.python_version()}, "
        f"{os.cpu_count()} CPUs, {'quick' if args.quick else 'full'} run"
    )
    batch_tables(n, args.concurrency, 2 if args.quick else 5)
    if args.skip_prefect:
        return
    if not importlib.util.find_spec("prefect"):
        print("\nPrefect: not installed")
        return
    home = prefect_environment()
    try:
        prefect_n = args.prefect_items or (8 if args.quick else 30)
        asyncio.run(prefect_table(prefect_n, (1, args.prefect_width), 2 if args.quick else 3))
    finally:
        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
