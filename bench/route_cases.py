"""A route of many cases, from builder to validated graph: it should cost what as many agents
side by side cost, growing linearly with the cases.

For N in ``--sizes``: a classifier writes ``cat``, a route on ``cat`` has N cases (whole
numbers) and an otherwise, each branch one agent writing ``out``, and a last agent reads
``out`` (so the routes' narrowing of ``cat`` and ``out`` is worked out for every branch). The
baseline is the same agents in a ``FanOut`` (N agents side by side, each writing a key of its
own, read by one join). Times are ``to_graph`` + ``validate``, CPU seconds of this thread,
best of ``--repeats``, interleaved (``timing.best_of``).

    .venv/bin/python bench/route_cases.py [--sizes 300,1000,3000] [--repeats 3]

Before the route checks found values by hash (2026-12-05), 3 000 cases took ~4.4 s here
(every value compared with every other, several times over); the table says what they cost
now.
"""

from __future__ import annotations

import argparse
import asyncio
import platform
import time
from typing import Any

from irgraph import Agent, FanOut, Pipeline, Route, to_graph, validate

from cli_args import positive, sizes
from timing import best_of


def routed(n: int) -> Pipeline:
    route = Route("triage").on("cat")
    for i in range(n):
        route = route.when(i, Agent(f"a{i}").instruct("Handle {x}.").writes("out"))
    route = route.otherwise(Agent("other").instruct("Handle {x} anyway.").writes("out"))
    return (
        Pipeline("routed")
        .step(Agent("classify").instruct("Classify {x}.").writes("cat"))
        .step(route)
        .step(Agent("report").instruct("Report {out}."))
    )


def side_by_side(n: int) -> Pipeline:
    block = FanOut("all")
    for i in range(n):
        block = block.branch(Agent(f"a{i}").instruct("Handle {x}.").writes(f"k{i}"))
    reads = " ".join(f"{{k{i}}}" for i in range(n))
    return (
        Pipeline("side_by_side")
        .step(Agent("classify").instruct("Classify {x}.").writes("cat"))
        .step(block)
        .step(Agent("report").instruct(f"Report {reads}."))
    )


def checked(pipeline: Pipeline) -> Any:
    async def work() -> None:
        validate(to_graph(pipeline, inputs={"x"}))

    return work


async def main(counts: list[int], repeats: int) -> None:
    print(f"Python {platform.python_version()}, best of {repeats}, CPU seconds")
    print(f"| {'cases':>6} | {'route':>8} | {'fan-out':>8} | {'route x fan-out':>15} |")
    for n in counts:
        best = await best_of(
            {"route": checked(routed(n)), "fan": checked(side_by_side(n))},
            repeats,
            time.thread_time,
        )
        ratio = best["route"] / best["fan"]
        print(f"| {n:>6} | {best['route']:>8.3f} | {best['fan']:>8.3f} | {ratio:>14.2f}x |")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=sizes, default=[300, 1000, 3000])
    parser.add_argument("--repeats", type=positive, default=3)
    options = parser.parse_args()
    asyncio.run(main(options.sizes, options.repeats))
