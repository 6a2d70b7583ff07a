"""Scheduler benchmark: irgraph's asyncio backend against two plain-asyncio floors.

Four workloads, built with the irgraph builder, each compiled once with
``AsyncioBackend(provider=...).compile(pipeline.to_ir(), inputs=...)``; what is timed is
``await runnable.arun(...)`` (compile time is reported on its own):

- W1: a chain of N agents (N = 10, 100, 1000), no latency; agent i reads ``{k<i-1>}`` and
  writes ``k<i>``.
- W2: start -> W parallel agents -> join (W = 10, 100, 1000), 50 ms per call; the join reads
  every branch key. Ideal makespan: 3 calls = 150 ms.
- W3: 10 layers x 10 wide, 50 ms per call, every node reads every key of the layer before
  (a sequence of FanOuts). Ideal makespan: 10 calls = 500 ms.
- W4: start -> 10 000 parallel agents -> join, no latency; the join reads three keys.

The floors run the very DAG irgraph compiled (``runnable.graph``), in the same process and the
same event loop, right before each irgraph measurement:

- task-per-node: one asyncio task per node, driven by a ``graphlib.TopologicalSorter``
  ``prepare``/``get_ready``/``done`` loop around ``asyncio.wait(FIRST_COMPLETED)``;
- inline: a tree-walking interpreter over the IR, where a sequence is a loop of awaits and a
  parallel block is ``asyncio.gather``.

A floor node is ``await asyncio.sleep(latency)`` (nothing at 0 latency) plus a dict write.
irgraph runs with a lean provider (``complete`` returns ``"x"``, after sleeping the latency)
and, in a second column, with ``irgraph.testing.FakeProvider`` (answering ``"x"`` for every
agent, so prompts do not grow along a chain). LangGraph and adk-fluent columns are added when
those packages are importable. Every number is the best (minimum) of several runs, with
``gc.collect()`` before each. Nothing here asserts on time: the script prints tables.

A last table (W5) runs a sequence of 10 independent 50 ms agents feeding one summariser on the
default (topological) schedule and on ``schedule="dataflow"``.

This file is the driver (measuring, ``--quick``, ``--profile``); the pipelines are in
``workloads.py``, the floors and the lean provider in ``floors.py``, the LangGraph and
adk-fluent adapters in ``peers.py`` and the tables in ``report.py``, all next to it.

    .venv/bin/python bench/scheduler.py [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import platform
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any

from irgraph.backends.asyncio_backend import AsyncioBackend
from irgraph.backends.drivers import EAGER
from irgraph.testing import FakeProvider

from cli_args import positive
from floors import LeanProvider, dag_of, inline_floor, task_per_node_floor
from peers import PEERS, Timer, available_peers
from report import report, report_dataflow
from workloads import SEED, Workload, fan, sources_then_summary, workloads


async def best_of(timer: Timer, repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        gc.collect()
        best = min(best, await timer())
    return best


def timer_of(
    work: Callable[[], Awaitable[Any]], check: Callable[[Any], None] | None = None
) -> Timer:
    async def timed() -> float:
        start = time.perf_counter()
        result = await work()
        elapsed = time.perf_counter() - start
        if check is not None:
            check(result)
        return elapsed

    return timed


def checker(keys: set[str]) -> Callable[[Any], None]:
    def check(result: Any) -> None:
        state = result if isinstance(result, dict) else result.state
        missing = keys - state.keys()
        if missing:
            raise AssertionError(f"run finished without writing {sorted(missing)[:3]}...")

    return check


def repeats_for(workload: Workload, nodes: int, quick: bool) -> int:
    if workload.latency:
        return 2 if quick else 5
    base = max(7, min(200, 20_000 // nodes))
    return max(3, base // 5) if quick else base


async def measure(workload: Workload, quick: bool, peers: dict[str, str]) -> dict[str, Any]:
    latency = workload.latency
    gc.collect()
    start = time.perf_counter()
    root = workload.build().to_ir()
    build_s = time.perf_counter() - start
    backend = AsyncioBackend(provider=LeanProvider(latency))
    compile_s = float("inf")
    for _ in range(1 if quick else 3):
        gc.collect()
        start = time.perf_counter()
        runnable = backend.compile(root, inputs=SEED.keys())
        compile_s = min(compile_s, time.perf_counter() - start)
    graph = runnable.graph
    predecessors, written = dag_of(graph)
    check = checker(set(written.values()))
    agents = {nid: "x" for nid in graph}
    timers: dict[str, Timer] = {
        "task floor": timer_of(lambda: task_per_node_floor(predecessors, written, latency), check),
        "inline floor": timer_of(lambda: inline_floor(root, latency), check),
        "irgraph": timer_of(lambda: runnable.arun(SEED), check),
        "irgraph+Fake": timer_of(
            lambda: runnable.arun(SEED, provider=FakeProvider(latency, responses=agents)), check
        ),
    }
    repeats = repeats_for(workload, len(graph), quick)
    best = {name: float("inf") for name in timers}
    for _ in range(repeats):  # interleaved, so the floors run right before each measurement
        for name, timer in timers.items():
            best[name] = min(best[name], await best_of(timer, 1))
    result: dict[str, Any] = {
        "workload": workload,
        "nodes": len(graph),
        "edges": graph.number_of_edges(),
        "build": build_s,
        "compile": compile_s,
        "repeats": repeats,
        **best,
    }
    for name, why in peers.items():
        if why:
            continue
        try:
            result[name] = await best_of(PEERS[name](graph, root, latency), min(repeats, 3))
        except Exception as exc:  # a peer's API drifted: report it, keep the other columns
            result[name] = f"{type(exc).__name__}: {exc}"[:60]
    return result


async def warm_up() -> None:
    """Pay the first-use costs (lazy imports, code paths) before anything is timed."""
    root = fan(3, join_reads=3).to_ir()
    runnable = AsyncioBackend(provider=LeanProvider()).compile(root, inputs=SEED.keys())
    predecessors, written = dag_of(runnable.graph)
    await runnable.arun(SEED)
    await task_per_node_floor(predecessors, written, 0.0)
    await inline_floor(root, 0.0)


def gc_counts() -> Callable[[], str]:
    """Start counting garbage collections per generation; call the result to stop and show."""
    counts = [0, 0, 0]

    def seen(phase: str, info: dict[str, int]) -> None:
        if phase == "stop":
            counts[info["generation"]] += 1

    gc.callbacks.append(seen)

    def stop() -> str:
        gc.callbacks.remove(seen)
        return "/".join(map(str, counts))

    return stop


async def profile(family: str, top: int) -> None:
    """cProfile irgraph on the largest workload of ``family``; show GC work beside the floor."""
    import cProfile
    import pstats

    workload = [w for w in workloads() if w.family == family][-1]
    root = workload.build().to_ir()
    runnable = AsyncioBackend(provider=LeanProvider(workload.latency)).compile(
        root, inputs=SEED.keys()
    )
    predecessors, written = dag_of(runnable.graph)
    await runnable.arun(SEED)
    for name, work in [
        ("task floor", lambda: task_per_node_floor(predecessors, written, workload.latency)),
        ("irgraph", lambda: runnable.arun(SEED)),
    ]:
        gc.collect()
        stop = gc_counts()
        elapsed = await timer_of(work)()
        print(
            f"{workload.label}, {name}: {elapsed * 1e3:.1f} ms, "
            f"garbage collections gen0/gen1/gen2 = {stop()}"
        )
    gc.collect()
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(3):
        await runnable.arun(SEED)
    profiler.disable()
    print(f"\ncProfile of 3 irgraph runs of {workload.label}, irgraph code by own time:")
    pstats.Stats(profiler).sort_stats("tottime").print_stats(r"irgraph|backends", top)


async def main(quick: bool) -> None:
    await warm_up()
    peers = available_peers()
    print(
        f"irgraph scheduler benchmark - Python {platform.python_version()} "
        f"({sys.implementation.name}), {type(asyncio.get_running_loop()).__name__}, drivers "
        f"{'start eagerly' if EAGER else 'wait for the loop'}, "
        f"{'quick' if quick else 'full'} run; every number is the best (minimum) of its runs"
    )
    print(
        "irgraph = AsyncioBackend with a lean provider (returns 'x'); +Fake = the same runnable "
        "with irgraph.testing.FakeProvider; floors run the same DAG, interleaved with irgraph"
    )
    results = []
    for workload in workloads():
        print(f"  measuring {workload.label} ...", file=sys.stderr, flush=True)
        results.append(await measure(workload, quick, peers))
    report(results, peers)
    await dataflow_table(quick)


async def dataflow_table(quick: bool) -> None:
    """W5: a sequence of 10 independent 50 ms agents feeding one summariser, on the default
    (control-order) schedule and on ``schedule="dataflow"``; ideal 100 ms."""

    pipeline = sources_then_summary(10)
    times = {}
    for schedule in ("topological", "dataflow"):
        backend = AsyncioBackend(provider=LeanProvider(0.05), schedule=schedule)
        runnable = backend.compile(pipeline.to_ir(), inputs=())
        times[schedule] = await best_of(timer_of(lambda r=runnable: r.arun({})), 2 if quick else 5)
    report_dataflow(times)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats, for a fast look")
    parser.add_argument(
        "--profile",
        choices=["W1", "W2", "W3", "W4"],
        help="instead of the tables, profile irgraph on this workload",
    )
    parser.add_argument("--top", type=positive, default=15, help="functions shown by --profile")
    args = parser.parse_args()
    if not args.profile and "--top" in sys.argv[1:]:
        parser.error("--top says how many functions --profile shows; give --profile too")
    asyncio.run(profile(args.profile, args.top) if args.profile else main(args.quick))
