"""The DAG shapes the scheduler benchmark runs, built with the irgraph builder.

Kept apart from the floors, peers and driver so that every runner (irgraph, the floors, the
peers, ``--profile``) measures exactly the same pipelines: W1-W4 (see ``scheduler.py``) and
the W5 pipeline of the dataflow-schedule table.
"""

from __future__ import annotations

from collections.abc import Callable

import attrs

from irgraph import Agent, FanOut, Pipeline

LATENCY = 0.05
SEED = {"seed": "go"}


@attrs.frozen
class Workload:
    """One DAG shape: how to build it, its call latency and its ideal makespan."""

    family: str
    label: str
    build: Callable[[], Pipeline]
    latency: float = 0.0
    ideal: float | None = None


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


def sources_then_summary(sources: int) -> Pipeline:
    """W5: a sequence of independent agents, then one summariser that reads them all."""
    pipeline = Pipeline("w5")
    for i in range(sources):
        pipeline = pipeline.step(Agent(f"s{i}").instruct(f"Source {i}.").writes(f"r{i}"))
    return pipeline.step(Agent("summary").instruct(" ".join(f"{{r{i}}}" for i in range(sources))))


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
