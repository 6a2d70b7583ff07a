"""Instructions of each phase from builder to validated graph (issue 20), counted by valgrind:
``graph_build.py``'s shapes and phases on a count that a busy machine does not move.

``graph_build.py`` times build, ``to_ir``, ``to_graph`` and ``validate``; on this shared
two-core machine those times move 2-3x with the load. Here one child process builds each shape
``--runs`` times under ``valgrind --tool=callgrind --dump-before=getppid``: the child calls
``os.getppid`` between the phases, so callgrind writes the count of each phase to a file of its
own. The last run's counts are printed (the gc on, as in ``graph_build.py``; ``--gc-off`` turns
it off to show what it costs). Compare two versions of the code with it, and time the goal with
``graph_build.py``.

    .venv/bin/python bench/build_instructions.py [--agents 2000] [--runs 2] [--gc-off]

Needs ``valgrind`` on PATH; without it, says so and exits 0. ``--child`` is the child's run.
"""

from __future__ import annotations

import argparse
import gc
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from cli_args import positive

PHASES = ("build", "to_ir", "to_graph", "validate")


def child(agents: int, runs: int, gc_off: bool) -> None:
    """Each shape ``runs`` times, a marker call before the first phase and after each."""
    from irgraph import Agent, to_graph, validate

    from graph_build import SHAPES

    validate(to_graph(Agent("warm_up").instruct("Use {x?}.")))  # imports outside the counts
    if gc_off:
        gc.disable()
    mark = os.getppid
    for make in SHAPES.values():
        for _ in range(runs):
            gc.collect()
            mark()
            builder = make(agents)
            mark()
            root = builder.to_ir()
            mark()
            G = to_graph(root)
            mark()
            validate(G)
            mark()
            builder = root = G = None


def main(agents: int, runs: int, gc_off: bool) -> None:
    from graph_build import SHAPES

    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "cg"
        command = [sys.executable, __file__, "--child", str(agents), str(runs)]
        valgrind = ["valgrind", "--tool=callgrind", "--dump-before=getppid", "--dump-instr=no"]
        done = subprocess.run(
            [*valgrind, f"--callgrind-out-file={out}", *command, *(["--gc-off"] if gc_off else [])],
            capture_output=True,
            text=True,
            check=False,
            env={**os.environ, "PYTHONHASHSEED": "0"},
        )
        parts = sorted(Path(folder).glob("cg.*"), key=lambda p: int(p.suffix[1:]))
        counts = []
        for part in parts:
            found = re.search(r"^totals: (\d+)", part.read_text(), re.M)
            counts.append(int(found[1]) if found else 0)
    if done.returncode != 0 or len(counts) < 5 * runs * len(SHAPES):
        raise SystemExit(f"valgrind failed:\n{done.stderr[-2000:]}")
    # counts[0] is everything up to the first marker; then five parts a run: the four
    # phases, and the gap to the next run's first marker.
    print(f"M instructions per phase, {agents} agents, run {runs} of {runs}", end="")
    print(f", gc {'off' if gc_off else 'on'}, Python {sys.version.split()[0]}")
    print(f"{'shape':14}" + "".join(f"{phase:>11}" for phase in (*PHASES, "all in")))
    for index, shape in enumerate(SHAPES):
        start = 1 + 5 * (index * runs + runs - 1)
        phases = counts[start : start + 4]
        cells = [*phases, sum(phases)]
        print(f"{shape:14}" + "".join(f"{count / 1e6:>10.1f}M" for count in cells))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", type=positive, default=2000)
    parser.add_argument("--runs", type=positive, default=2)
    parser.add_argument("--gc-off", action="store_true", help="count with the cyclic gc off")
    parser.add_argument("--child", nargs=2, type=int, metavar=("AGENTS", "RUNS"))
    args = parser.parse_args()
    if args.child:
        child(args.child[0], args.child[1], args.gc_off)
    elif shutil.which("valgrind") is None:
        print("valgrind is not installed (apt-get install valgrind): no instruction counts.")
    else:
        main(args.agents, args.runs, args.gc_off)
