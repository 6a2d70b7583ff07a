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

    .venv/bin/python bench/scheduler.py [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import graphlib
import platform
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any

import attrs

from irgraph import Agent, FanOut, Pipeline
from irgraph.backends.asyncio_backend import AsyncioBackend
from irgraph.ir import Node, ParallelNode, SequenceNode
from irgraph.providers import ModelRequest
from irgraph.testing import FakeProvider

LATENCY = 0.05
SEED = {"seed": "go"}
Timer = Callable[[], Awaitable[float]]


@attrs.frozen
class Workload:
    """One DAG shape: how to build it, its call latency and its ideal makespan."""

    family: str
    label: str
    build: Callable[[], Pipeline]
    latency: float = 0.0
    ideal: float | None = None


# workloads ----------------------------------------------------------------------------
def chain(n: int) -> Pipeline:
    pipeline = Pipeline("chain").step(Agent("a0").instruct("Start from {seed}.").writes("k0"))
    for i in range(1, n):
        pipeline = pipeline.step(
            Agent(f"a{i}").instruct(f"Go on from {{k{i - 1}}}.").writes(f"k{i}")
        )
    return pipeline


def fan(width: int, join_reads: int) -> Pipeline:
    branches = FanOut("branches")
    for i in range(width):
        branches = branches.branch(Agent(f"b{i}").instruct("Take {s}.").writes(f"k{i}"))
    template = "Join " + " ".join(f"{{k{i}}}" for i in range(min(join_reads, width))) + "."
    return (
        Pipeline("fan")
        .step(Agent("start").instruct("Begin {seed}.").writes("s"))
        .step(branches)
        .step(Agent("join").instruct(template).writes("out"))
    )


def layers(depth: int, width: int) -> Pipeline:
    pipeline = Pipeline("layers")
    previous = "{seed}"
    for layer in range(depth):
        block = FanOut(f"layer{layer}")
        for i in range(width):
            block = block.branch(
                Agent(f"n{layer}_{i}").instruct(f"Use {previous}.").writes(f"k{layer}_{i}")
            )
        pipeline = pipeline.step(block)
        previous = " ".join(f"{{k{layer}_{i}}}" for i in range(width))
    return pipeline


def workloads() -> list[Workload]:
    return [
        *(Workload("W1", f"W1 chain N={n}", lambda n=n: chain(n)) for n in (10, 100, 1000)),
        Workload("W4", "W4 fan 10000", lambda: fan(10_000, join_reads=3)),
        *(
            Workload("W2", f"W2 fan W={w}", lambda w=w: fan(w, join_reads=w), LATENCY, 3 * LATENCY)
            for w in (10, 100, 1000)
        ),
        Workload("W3", "W3 10x10 layers", lambda: layers(10, 10), LATENCY, 10 * LATENCY),
    ]


# floors -------------------------------------------------------------------------------
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


# optional peers -----------------------------------------------------------------------
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


# measuring ----------------------------------------------------------------------------
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


# reporting ----------------------------------------------------------------------------
def table(title: str, header: list[Any], rows: list[list[Any]]) -> None:
    cells = [[str(cell) for cell in row] for row in [header, *rows]]
    widths = [max(map(len, column)) for column in zip(*cells, strict=True)]

    def line(row: list[str]) -> str:
        first, *rest = zip(row, widths, strict=True)
        return "  ".join([first[0].ljust(first[1]), *(c.rjust(w) for c, w in rest)])

    print(f"\n{title}")
    print(line(cells[0]))
    print("-" * len(line(cells[0])))
    for row in cells[1:]:
        print(line(row))


def ratio(value: Any, floor: float) -> str:
    return f"{value / floor:.2f}x" if isinstance(value, float) else "-"


def per_node(value: Any, nodes: int) -> str:
    return f"{value / nodes * 1e6:.1f}" if isinstance(value, float) else str(value)


def millis(value: Any) -> str:
    return f"{value * 1e3:.1f}" if isinstance(value, float) else str(value)


def report(results: list[dict[str, Any]], peers: dict[str, str]) -> None:
    present = [name for name, why in peers.items() if not why]
    table(
        "Build and compile (best of up to 3 compiles; build is builder + to_ir, once)",
        ["workload", "nodes", "edges", "build ms", "compile ms", "compile us/node"],
        [
            [
                r["workload"].label,
                r["nodes"],
                r["edges"],
                millis(r["build"]),
                millis(r["compile"]),
                per_node(r["compile"], r["nodes"]),
            ]
            for r in results
        ],
    )

    flat = [r for r in results if not r["workload"].latency]
    header = [
        "workload",
        "runs",
        "task floor",
        "inline floor",
        "irgraph",
        "x task",
        "x inline",
        "+Fake",
        "x task",
    ]
    for name in present:
        header += [name, "x task"]
    rows = []
    for r in flat:
        floor, nodes = r["task floor"], r["nodes"]
        row = [
            r["workload"].label,
            r["repeats"],
            per_node(floor, nodes),
            per_node(r["inline floor"], nodes),
            per_node(r["irgraph"], nodes),
            ratio(r["irgraph"], floor),
            ratio(r["irgraph"], r["inline floor"]),
            per_node(r["irgraph+Fake"], nodes),
            ratio(r["irgraph+Fake"], floor),
        ]
        for name in present:
            row += [per_node(r[name], nodes), ratio(r[name], floor)]
        rows.append(row)
    table(
        "No latency: us per node, best of `runs` (x task = / task-per-node floor, "
        "x inline = / inline floor)",
        header,
        rows,
    )

    timed = [r for r in results if r["workload"].latency]
    header = [
        "workload",
        "runs",
        "ideal ms",
        "task floor",
        "x ideal",
        "inline floor",
        "irgraph",
        "x floor",
        "x ideal",
        "+Fake",
        "x floor",
        "x ideal",
    ]
    for name in present:
        header += [name, "x floor", "x ideal"]
    rows = []
    for r in timed:
        floor, ideal = r["task floor"], r["workload"].ideal
        row = [
            r["workload"].label,
            r["repeats"],
            millis(ideal),
            millis(floor),
            ratio(floor, ideal),
            millis(r["inline floor"]),
        ]
        for name in ["irgraph", "irgraph+Fake", *present]:
            row += [millis(r[name]), ratio(r[name], floor), ratio(r[name], ideal)]
        rows.append(row)
    table(
        f"{LATENCY * 1e3:g} ms per call: makespan in ms, best of `runs` "
        "(x floor = / task-per-node floor's makespan)",
        header,
        rows,
    )

    by_label = {r["workload"].label: r for r in results}
    targets = [
        ("W1 N=1000 <= 0.35x task floor", "W1 chain N=1000", 0.35),
        ("W4 <= 1.5x task floor", "W4 fan 10000", 1.5),
        ("W2 W=1000 makespan <= 1.05x floor", "W2 fan W=1000", 1.05),
        ("W3 makespan <= 1.05x floor", "W3 10x10 layers", 1.05),
    ]
    rows = []
    for text, label, limit in targets:
        r = by_label[label]
        value = r["irgraph"] / r["task floor"]
        rows.append([text, f"{value:.2f}x", "PASS" if value <= limit else "MISS"])
    r = by_label["W4 fan 10000"]
    seconds = r["build"] + r["compile"]
    rows.append(
        [
            "10k agents built + compiled < 0.5 s",
            f"{seconds:.2f} s",
            "PASS" if seconds < 0.5 else "MISS",
        ]
    )
    table("Targets (irgraph with the lean provider)", ["target", "measured", "result"], rows)
    skipped = [f"{name} ({why})" for name, why in peers.items() if why]
    if skipped:
        print(f"\nPeer columns skipped: {', '.join(skipped)}.")


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
        f"({sys.implementation.name}), {type(asyncio.get_running_loop()).__name__}, "
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


class _Sleeper:
    """A lean provider that answers after a fixed latency."""

    def __init__(self, latency: float) -> None:
        self.latency = latency

    async def complete(self, request: Any) -> str:
        await asyncio.sleep(self.latency)
        return "x"


async def dataflow_table(quick: bool) -> None:
    """W5: a sequence of 10 independent 50 ms agents feeding one summariser, on the default
    (control-order) schedule and on ``schedule="dataflow"``; ideal 100 ms."""

    pipeline = Pipeline("w5")
    for i in range(10):
        pipeline = pipeline.step(Agent(f"s{i}").instruct(f"Source {i}.").writes(f"r{i}"))
    pipeline = pipeline.step(Agent("summary").instruct(" ".join(f"{{r{i}}}" for i in range(10))))
    rows = []
    times = {}
    for schedule in ("topological", "dataflow"):
        backend = AsyncioBackend(provider=_Sleeper(0.05), schedule=schedule)
        runnable = backend.compile(pipeline.to_ir(), inputs=())
        best = await best_of(timer_of(lambda r=runnable: r.arun({})), 2 if quick else 5)
        times[schedule] = best
        rows.append([schedule, millis(best), f"{best / 0.1:.2f}x"])
    table(
        "W5 sequence of 10 independent 50 ms agents -> summariser (ideal 100 ms)",
        ["schedule", "makespan ms", "x ideal"],
        rows,
    )
    verdict = "PASS" if times["dataflow"] <= 0.12 else "MISS"
    print(f"dataflow makespan <= 1.2x 100 ms: {times['dataflow'] * 1000:.1f} ms  {verdict}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats, for a fast look")
    parser.add_argument(
        "--profile",
        choices=["W1", "W2", "W3", "W4"],
        help="instead of the tables, profile irgraph on this workload",
    )
    parser.add_argument("--top", type=int, default=15, help="functions shown by --profile")
    args = parser.parse_args()
    asyncio.run(profile(args.profile, args.top) if args.profile else main(args.quick))
