"""Drawing pipelines with ``irgraph.testing.strategies``: how many draws a second, fresh and
while hypothesis shrinks a failing property, and how much of the shrink is drawing.

Workloads on ``strategies.pipelines(with_gates=True)`` and on
``strategies.pipelines_with_inputs(with_gates=True)`` (what the conformance suite draws),
derandomized (the same examples on every run, and on every version of the code that draws
the same pipelines from the same choices):

- **generate**: ``--examples`` pipelines drawn for a property that passes (hypothesis's
  generate phase alone): pipelines drawn per second, and their choices.
- **shrink**: a planted failing property (the pipeline's graph has ``--nodes`` nodes or
  more), found and shrunk: every call of the test is one pipeline drawn from the choices the
  shrinker tries. Draws per second, the shrink's seconds, and the share of them spent
  drawing (the time inside the strategy, measured around it).

    .venv/bin/python bench/shrink.py [--examples 300] [--nodes 9] [--max-depth 3]

Times are CPU seconds of this process (the machine's other load does not count). Nothing is
asserted: the table is for comparing two versions of the code (run it in each checkout);
bench/README.md has the numbers from before and after the strategies made each strategy
they draw from once.
"""

from __future__ import annotations

import argparse
import platform
import time
from typing import Any

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.control import current_build_context

from irgraph import to_graph
from irgraph.testing import strategies

from cli_args import positive

_SETTINGS = {
    "deadline": None,
    "database": None,
    "derandomize": True,
    "suppress_health_check": list(HealthCheck),
    "report_multiple_bugs": False,
}


class Clock:
    """Seconds spent drawing pipelines, and how many were drawn."""

    def __init__(self) -> None:
        self.drawing = 0.0
        self.draws = 0
        self.choices = 0


STRATEGIES = {
    "pipelines": lambda depth: strategies.pipelines(with_gates=True, max_depth=depth),
    "pipelines_with_inputs": lambda depth: strategies.pipelines_with_inputs(
        with_gates=True, max_depth=depth
    ),
}


def pipeline_of(drawn: Any) -> Any:
    """The pipeline of what a strategy drew (``pipelines_with_inputs`` draws a pair)."""
    return drawn[0] if isinstance(drawn, tuple) else drawn


def timed(clock: Clock, strategy: str, depth: int) -> st.SearchStrategy[Any]:
    """The strategy named ``strategy`` (its ``max_depth``: ``depth``), each draw timed into
    ``clock``."""
    inner = STRATEGIES[strategy](depth)

    @st.composite
    def drawn(draw: st.DrawFn) -> Any:
        start = time.process_time()
        try:
            return draw(inner)
        finally:
            clock.drawing += time.process_time() - start
            clock.draws += 1

    return drawn()


def generate(strategy: str, examples: int, depth: int) -> tuple[Clock, float]:
    clock = Clock()

    @settings(max_examples=examples, phases=[Phase.generate], **_SETTINGS)
    @given(timed(clock, strategy, depth))
    def passes(pipeline: Any) -> None:
        clock.choices += len(current_build_context().data.choices)

    start = time.process_time()
    passes()
    return clock, time.process_time() - start


def shrink(strategy: str, examples: int, nodes: int, depth: int) -> tuple[Clock, float]:
    clock = Clock()

    @settings(max_examples=examples, **_SETTINGS)
    @given(timed(clock, strategy, depth))
    def fails(drawn: Any) -> None:
        assert len(to_graph(pipeline_of(drawn))) < nodes

    start = time.process_time()
    try:
        fails()
    except AssertionError:
        pass
    return clock, time.process_time() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--examples", type=positive, default=300)
    parser.add_argument("--nodes", type=positive, default=9)
    # 3, the strategies' own default; 0 (leaves only) for a quick check that it runs
    parser.add_argument("--max-depth", type=int, choices=range(4), default=3)
    args = parser.parse_args()
    print(f"python {platform.python_version()}, {platform.machine()}")
    print("| workload | strategy | draws | CPU s | draws/s | drawing share | choices/draw |")
    print("|---|---|---|---|---|---|---|")
    for strategy in STRATEGIES:
        made, seconds = generate(strategy, args.examples, args.max_depth)
        print(
            f"| generate | {strategy} | {made.draws} | {seconds:.2f} "
            f"| {made.draws / seconds:.0f} | {made.drawing / seconds:.0%} "
            f"| {made.choices / max(made.draws, 1):.0f} |"
        )
    strategy = "pipelines_with_inputs"
    shrunk, seconds = shrink(strategy, args.examples, args.nodes, args.max_depth)
    print(
        f"| shrink (>= {args.nodes} nodes) | {strategy} | {shrunk.draws} | {seconds:.2f} "
        f"| {shrunk.draws / seconds:.0f} | {shrunk.drawing / seconds:.0%} | |"
    )


if __name__ == "__main__":
    main()
