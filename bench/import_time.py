"""How much `import irgraph` adds to importing its two dependencies (networkx, attrs).

Plain script: each measurement is a fresh interpreter (`python -X importtime` would also do);
the table shows the best of N runs of each command and the difference. Target: irgraph adds
at most ~60 ms over `import attrs` (networkx is imported lazily, on the first to_graph).

    python bench/import_time.py [--runs N]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time


def best_of(code: str, runs: int) -> float:
    """Best wall time, in ms, of a fresh interpreter running ``code``."""
    best = float("inf")
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True)
        best = min(best, time.perf_counter() - start)
    return best * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    rows = [
        ("python (nothing)", "pass"),
        ("import attrs", "import attrs"),
        ("import attrs, networkx", "import attrs, networkx"),
        ("import irgraph", "import irgraph"),
        (
            "import irgraph + first to_graph",
            "import irgraph; irgraph.to_graph(irgraph.Agent('a').instruct('x'))",
        ),
    ]
    times = {label: best_of(code, args.runs) for label, code in rows}
    base = times["python (nothing)"]
    print(f"{'command':36} {'best ms':>8} {'over python':>12}")
    for label, _ in rows:
        print(f"{label:36} {times[label]:8.1f} {times[label] - base:12.1f}")
    added = times["import irgraph"] - times["import attrs"]
    verdict = "PASS" if added <= 60 else "MISS"
    print(f"\nimport irgraph adds {added:.1f} ms over import attrs (target <= 60 ms): {verdict}")
    lazy = times["import irgraph + first to_graph"] - times["import irgraph"]
    print(f"networkx, loaded on the first to_graph, costs {lazy:.1f} ms then.")


if __name__ == "__main__":
    main()
