"""Instructions per node, counted by valgrind (issue 20): irgraph's chain and fan-out against
the task-per-node floor, and the fan-out's task + plain agent, on a count that a busy machine
does not move.

Timings on this shared two-core machine move by 2x with the helpers' load, and a change worth
2% of a run drowns in that. The number of instructions a run executes does not depend on the
load: ``valgrind --tool=callgrind`` counts them (about fifty times slower). Each variant runs in
a child process twice, once with ``--runs`` runs after two warm-up ones and once with none;
the difference, divided by the runs and the nodes, is what one node costs. An instruction is
not a fixed time (cache misses and branch mispredictions are not counted), so use the counts to
compare two versions of the code, and the timed scripts (``chain_limit.py``, ``fan_limit.py``)
for the goals. The children run with ``PYTHONHASHSEED=0`` unless it is set: a random seed
moves a chained agent's count by a few hundred instructions from run to run (set sizes, hash
collisions), a fixed one gives the same count every time.

    .venv/bin/python bench/instructions.py [--agents 1000] [--width 2000] [--runs 5]
        [--only irgraph] [--workloads chain]

``--only`` counts just the variants whose name holds the given text (an A/B of irgraph's code
need not count the floors again, which are most of the counting time); the ratios then need
the floor, so they are left out unless it was counted. ``--workloads`` picks chain or fan.

Needs ``valgrind`` on PATH (``apt-get install valgrind``); without it, says so and exits 0.
``--child WORKLOAD VARIANT SIZE RUNS`` is one child's run, without valgrind.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Awaitable, Callable
from typing import Any

from cli_args import positive

#: The variants of each workload, the first being the baseline of its ratios.
VARIANTS = {
    "chain": ["task floor", "irgraph (arun)"],
    "fan": ["task floor", "task + agent, per branch", "irgraph (arun)"],
}


def variant(workload: str, name: str, size: int) -> tuple[Callable[[], Awaitable[Any]], int]:
    """The coroutine function that runs ``name`` once, and how many nodes a run has."""
    from irgraph.backends.asyncio_backend import AsyncioBackend

    from fan_limit import tasks_with_agents
    from floors import LeanProvider, dag_of, task_per_node_floor
    from workloads import SEED, chain, fan

    provider = LeanProvider()
    pipeline = chain(size) if workload == "chain" else fan(size, 10)
    runnable = AsyncioBackend(provider=provider).compile(pipeline.to_ir(), inputs=SEED)
    nodes = len(runnable.graph)
    if name == "task floor":
        predecessors, written = dag_of(runnable.graph)
        return (lambda: task_per_node_floor(predecessors, written, 0.0)), nodes
    if name == "task + agent, per branch":
        return tasks_with_agents(runnable, provider), nodes
    return (lambda: runnable.arun(SEED)), nodes


async def child(workload: str, name: str, size: int, runs: int) -> None:
    """Two warm-up runs of the variant, then ``runs`` more."""
    once, _ = variant(workload, name, size)
    for _ in range(2 + runs):
        await once()


def counted(workload: str, name: str, size: int, runs: int) -> int:
    """The instructions valgrind counts for a child doing ``runs`` runs (and its set-up)."""
    command = [sys.executable, __file__, "--child", workload, name, str(size), str(runs)]
    done = subprocess.run(
        ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", *command],
        env={**os.environ, "PYTHONHASHSEED": os.environ.get("PYTHONHASHSEED", "0")},
        capture_output=True,
        text=True,
        check=False,
    )
    found = re.search(r"Collected : (\d+)", done.stderr)
    if done.returncode != 0 or found is None:
        raise SystemExit(f"valgrind failed for {workload}/{name}:\n{done.stderr[-2000:]}")
    return int(found[1])


def main(agents: int, width: int, runs: int, only: str, workloads: list[str]) -> None:
    print(f"instructions per node, {runs} runs counted, Python {sys.version.split()[0]}")
    print(f"{'workload':9} {'variant':28} {'instr/node':>11} {'x floor':>8}")
    for workload, size in (("chain", agents), ("fan", width)):
        if workload not in workloads:
            continue
        base = 0.0
        for name in VARIANTS[workload]:
            if only not in name:
                continue
            _, nodes = variant(workload, name, size)
            per_node = (counted(workload, name, size, runs) - counted(workload, name, size, 0)) / (
                runs * nodes
            )
            if name == VARIANTS[workload][0]:
                base = per_node
            ratio = f"{per_node / base:7.2f}x" if base else ""
            print(f"{workload:9} {name:28} {per_node:11.0f} {ratio}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", type=positive, default=1000)
    parser.add_argument("--width", type=positive, default=2000)
    parser.add_argument("--runs", type=positive, default=5)
    parser.add_argument("--only", default="", help="count only variants whose name holds it")
    parser.add_argument("--workloads", nargs="+", choices=list(VARIANTS), default=list(VARIANTS))
    parser.add_argument("--child", nargs=4, metavar=("WORKLOAD", "VARIANT", "SIZE", "RUNS"))
    args = parser.parse_args()
    if args.child:
        workload, name, size, runs = args.child
        asyncio.run(child(workload, name, int(size), int(runs)))
    elif shutil.which("valgrind") is None:
        print("valgrind is not installed (apt-get install valgrind): no instruction counts.")
    else:
        main(args.agents, args.width, args.runs, args.only, args.workloads)
