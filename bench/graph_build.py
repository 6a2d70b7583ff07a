"""Graph-building benchmark: builder construction, ``to_ir``, ``to_graph`` and ``validate``
for pipelines of 100, 1 000 and 10 000 agents.

Two shapes, each built two ways:

- chain: agent i reads ``{k<i-1>}`` and writes ``k<i>``;
- fan-out: ``start`` writes ``topic``, N parallel agents read it and write ``k<i>``, and a
  ``join`` agent reads every ``k<i>`` (a map-reduce shape; the join has N in-edges and N reads);
- ``ops`` combines the agents with ``functools.reduce`` over ``>>`` / ``|``; ``step`` calls
  ``Pipeline.step`` / ``FanOut.branch`` in a loop.

Each phase is timed on its own with ``time.perf_counter``, gc enabled (a real program has it
on, and the graph allocates many small dicts), and the best of ``--runs`` runs is reported.
The headline column is ``all in``, the sum of the four phases, from builder calls to a
validated graph; targets (issue #20): at most 0.3 s at 10 000 agents, and at most 12x the
1 000-agent time (linear would be 10x). ``graph+val`` times ``validate(to_graph(ir))`` in one
go, also with the cyclic gc off, to show what the gc costs. ``--profile`` prints the top
functions of one 10 000-agent fan-out build under cProfile.

    .venv/bin/python bench/graph_build.py [--runs 5] [--profile]
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import platform
import pstats
import sys
import time
from collections.abc import Callable
from functools import reduce
from typing import Any

from irgraph import Agent, FanOut, Pipeline, to_graph, validate
from irgraph.builder import Builder

from cli_args import positive

SIZES = (100, 1_000, 10_000)
TARGET_SECONDS = 0.3
TARGET_RATIO = 12.0


def chain_agents(n: int) -> list[Agent]:
    first = Agent("a0").instruct("Start.").writes("k0")
    return [first] + [
        Agent(f"a{i}").instruct(f"Use {{k{i - 1}}}.").writes(f"k{i}") for i in range(1, n)
    ]


def chain_ops(n: int) -> Builder:
    return reduce(lambda a, b: a >> b, chain_agents(n))


def chain_step(n: int) -> Builder:
    pipeline = Pipeline("chain")
    for agent in chain_agents(n):
        pipeline = pipeline.step(agent)
    return pipeline


def fan_parts(n: int) -> tuple[Agent, list[Agent], Agent]:
    start = Agent("start").instruct("Plan.").writes("topic")
    branches = [Agent(f"a{i}").instruct("Study {topic}.").writes(f"k{i}") for i in range(n - 2)]
    join = Agent("join").instruct(" ".join(f"{{k{i}}}" for i in range(n - 2)))
    return start, branches, join


def fan_ops(n: int) -> Builder:
    start, branches, join = fan_parts(n)
    return start >> reduce(lambda a, b: a | b, branches) >> join


def fan_step(n: int) -> Builder:
    start, branches, join = fan_parts(n)
    fan = FanOut("fan")
    for agent in branches:
        fan = fan.branch(agent)
    return Pipeline("map_reduce").step(start).step(fan).step(join)


SHAPES: dict[str, Callable[[int], Builder]] = {
    "chain/ops": chain_ops,
    "chain/step": chain_step,
    "fan-out/ops": fan_ops,
    "fan-out/step": fan_step,
}


def best_of(runs: int, fn: Callable[[], Any], *, gc_off: bool = False) -> tuple[float, Any]:
    best, result = float("inf"), None
    for _ in range(runs):
        # The previous run's result is freed here, outside the timed window, and not held
        # during the run: a program builds one graph at a time, and a second 10 000-node graph
        # alive would make each pass of the cyclic gc in the run twice the work.
        result = value = None
        gc.collect()
        if gc_off:
            gc.disable()
        try:
            start = time.perf_counter()
            value = fn()
            best = min(best, time.perf_counter() - start)
            result = value
        finally:
            gc.enable()
    return best, result


def checked_graph(root: Any) -> Any:
    G = to_graph(root)
    validate(G)
    return G  # returned, so freeing it is not timed (as for to_graph alone)


def measure(make: Callable[[int], Builder], n: int, runs: int) -> dict[str, float]:
    build, builder = best_of(runs, lambda: make(n))
    to_ir, root = best_of(runs, builder.to_ir)
    graph, G = best_of(runs, lambda: to_graph(root))
    check, warnings = best_of(runs, lambda: validate(G))
    both, _ = best_of(runs, lambda: checked_graph(root))
    no_gc, _ = best_of(runs, lambda: checked_graph(root), gc_off=True)
    agents = sum(1 for _, kind in G.nodes(data="kind") if kind == "agent")
    assert agents == n and warnings == [], (agents, warnings)
    return {
        "build": build,
        "to_ir": to_ir,
        "to_graph": graph,
        "validate": check,
        "all_in": build + to_ir + graph + check,
        "both": both,
        "no_gc": no_gc,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=positive, default=5, help="best of this many runs")
    parser.add_argument("--profile", action="store_true", help="cProfile a 10k fan-out build")
    args = parser.parse_args()
    to_graph(Agent("warm_up"))  # import networkx outside the timings

    print(f"Python {platform.python_version()} on {platform.machine()}, best of {args.runs}")
    columns = ("build", "to_ir", "to_graph", "validate", "all_in", "both", "no_gc")
    titles = ("build", "to_ir", "to_graph", "validate", "all in", "graph+val", "(gc off)")
    header = f"{'shape':<14}{'agents':>7}" + "".join(f"{t:>11}" for t in titles)
    print(header)
    print("-" * len(header))
    ok = True
    for shape, make in SHAPES.items():
        results = {n: measure(make, n, args.runs) for n in SIZES}
        for n, r in results.items():
            print(f"{shape:<14}{n:>7}" + "".join(f"{r[c] * 1e3:>9.1f}ms" for c in columns))
        big, mid = results[SIZES[-1]], results[SIZES[-2]]
        ratio = big["all_in"] / mid["all_in"]
        verdict = "PASS" if big["all_in"] <= TARGET_SECONDS and ratio <= TARGET_RATIO else "MISS"
        ok = ok and verdict == "PASS"
        print(
            f"{'':<14}all in: 10k {big['all_in']:.3f} s (target <= {TARGET_SECONDS} s), "
            f"10k/1k {ratio:.1f}x (target <= {TARGET_RATIO:g}x): {verdict}"
        )
    print(
        "all in = build + to_ir + to_graph + validate; graph+val = validate(to_graph(ir)); "
        "(gc off) = the same with the cyclic gc disabled"
    )

    if args.profile:
        root = fan_ops(10_000).to_ir()
        profiler = cProfile.Profile()
        profiler.enable()
        validate(to_graph(root))
        profiler.disable()
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(15)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
