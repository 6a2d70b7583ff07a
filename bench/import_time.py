"""How much `import irgraph` adds to importing its two dependencies (networkx, attrs).

Plain script: each measurement is a fresh interpreter (`python -X importtime` would also do);
the runs of all commands are interleaved (a machine shared with other work slows them alike)
and the table shows the best run of each. Target (issue #20): irgraph adds at most 40 ms over
`import attrs`. Only the builder and the IR load with the package; to_graph, validate, the
pictures, running (asyncio, the batch store), progress displays and the run view load on first
use of their names, and networkx on the first to_graph.

The commands run with Python's bytecode cache on (in a temporary PYTHONPYCACHEPREFIX, so the
source tree stays clean, removed as the script ends, by a Ctrl-C or a failed command too), as
for an installed package, whose .pyc files pip writes, and as attrs and networkx are measured.
A checkout run with PYTHONDONTWRITEBYTECODE=1 compiles irgraph's modules from source on every
import instead, which costs more than the imports.

    python bench/import_time.py [--runs N]
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

from cli_args import positive

TARGET_MS = 40.0
#: Set by a Ctrl-C (SIGINT) while the script runs.
CTRL_C: list[int] = []


def run_once(code: str, env: dict[str, str]) -> float:
    """Wall time, in ms, of a fresh interpreter running ``code``; a Ctrl-C meanwhile is raised
    once that interpreter has ended (so no command goes on writing to the cache as it goes)."""
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", code], env=env)
    took = (time.perf_counter() - start) * 1000
    if CTRL_C:
        raise KeyboardInterrupt
    if done.returncode:
        raise subprocess.CalledProcessError(done.returncode, done.args)
    return took


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=positive, default=10)
    args = parser.parse_args()
    # A Ctrl-C is noted, not raised at once: raised inside subprocess.run it can leave the
    # command being started running, writing to the cache after the cache is removed.
    signal.signal(signal.SIGINT, lambda signum, frame: CTRL_C.append(signum))
    cache = tempfile.mkdtemp(prefix="irgraph-pycache-")
    try:
        measure(args.runs, cache)
    except KeyboardInterrupt:
        print("Stopped by Ctrl-C: no table.", file=sys.stderr)
        sys.exit(130)
    finally:  # a Ctrl-C or a failed command too: the cache is this run's alone
        shutil.rmtree(cache, ignore_errors=True)


def measure(runs: int, cache: str) -> None:
    """Time each command ``runs`` times with its bytecode under ``cache``; print the table."""
    cached = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    cached["PYTHONPYCACHEPREFIX"] = cache
    rows = [
        ("python (nothing)", "pass", cached),
        ("import attrs", "import attrs", cached),
        ("import attrs, networkx", "import attrs, networkx", cached),
        ("import irgraph", "import irgraph", cached),
        (
            "import irgraph + first to_graph",
            "import irgraph; irgraph.to_graph(irgraph.Agent('a').instruct('x'))",
            cached,
        ),
    ]
    for _, code, env in rows:  # writes the bytecode cache; not timed
        run_once(code, env)
    times = dict.fromkeys((label for label, _, _ in rows), float("inf"))
    for _ in range(runs):
        for label, code, env in rows:
            times[label] = min(times[label], run_once(code, env))
    base = times["python (nothing)"]
    print(f"{'command':36} {'best ms':>8} {'over python':>12}")
    for label, _, _ in rows:
        print(f"{label:36} {times[label]:8.1f} {times[label] - base:12.1f}")
    added = times["import irgraph"] - times["import attrs"]
    verdict = "PASS" if added <= TARGET_MS else "MISS"
    print(
        f"\nimport irgraph adds {added:.1f} ms over import attrs "
        f"(target <= {TARGET_MS:g} ms): {verdict}"
    )
    lazy = times["import irgraph + first to_graph"] - times["import irgraph"]
    print(f"networkx, loaded on the first to_graph, costs {lazy:.1f} ms then.")


if __name__ == "__main__":
    main()
