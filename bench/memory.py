"""Heap per node during a run (issue 20): the peak ``tracemalloc`` sees while the asyncio
backend runs a chain and a fan-out of N agents, over N, against the task-per-node floor.

What counts is what a run allocates: the compiled runnable is built before tracing starts,
and the result is kept until the peak is read (its trace, outputs, calls and state are part
of what a run leaves). Linear growth shows as a flat bytes-per-node column; under the table,
each workload's slope, the bytes per node of a least-squares line through (nodes, peak) over
all sizes, which a peak taken as one dict or set doubles its table (old and new held at once)
moves less than it moves one size's column (bench/README.md, "Lumps in the peak").

    .venv/bin/python bench/memory.py [--sizes 1000,10000,20000]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import platform
import statistics
import tracemalloc
from collections.abc import Awaitable, Callable
from typing import Any

from irgraph.backends.asyncio_backend import AsyncioBackend

from cli_args import sizes
from floors import LeanProvider, dag_of, task_per_node_floor
from workloads import chain, fan


def peak(work: Callable[[], Awaitable[Any]]) -> int:
    """Peak traced bytes while ``work`` runs, with what it returns still held."""
    gc.collect()
    tracemalloc.start()
    try:
        kept = asyncio.run(work())
        size = tracemalloc.get_traced_memory()[1]
        del kept
    finally:
        tracemalloc.stop()
    return size


def slope(points: list[tuple[int, int]]) -> str:
    """Bytes per node of the least-squares line through ``(nodes, peak)``, as text."""
    if len({nodes for nodes, _ in points}) < 2:
        return "-"
    nodes, peaks = zip(*points, strict=True)
    return f"{statistics.linear_regression(nodes, peaks).slope:.0f}"


def main(sizes: list[int]) -> None:
    print(f"Python {platform.python_version()}; peak heap of one run (tracemalloc), bytes per node")
    print("| workload | nodes | irgraph peak MB | irgraph B/node | floor peak MB | floor B/node |")
    print("|---|---|---|---|---|---|")
    fits: list[str] = []
    for name, build in (("chain", chain), ("fan-out", lambda n: fan(n, 10))):
        points: dict[str, list[tuple[int, int]]] = {"irgraph": [], "floor": []}
        for n in sizes:
            pipeline = build(n)
            runnable = AsyncioBackend(provider=LeanProvider(0.0)).compile(
                pipeline.to_ir(), inputs=["seed"]
            )
            nodes = runnable.graph.number_of_nodes()
            dag = dag_of(runnable.graph)
            ours = peak(lambda: runnable.arun({"seed": "s"}))  # noqa: B023 - called at once
            floor = peak(lambda: task_per_node_floor(*dag, 0.0))  # noqa: B023 - called at once
            print(
                f"| {name} | {nodes} | {ours / 1e6:.1f} | {ours / nodes:.0f} | "
                f"{floor / 1e6:.1f} | {floor / nodes:.0f} |"
            )
            points["irgraph"].append((nodes, ours))
            points["floor"].append((nodes, floor))
        fits.append(
            f"{name}: irgraph {slope(points['irgraph'])} B/node, "
            f"floor {slope(points['floor'])} B/node"
        )
    print("\nSlope of the peak over the sizes (least squares), " + "; ".join(fits))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=sizes, default=[1000, 10000, 20000])
    args = parser.parse_args()
    main(args.sizes)
