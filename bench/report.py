"""Printing: the benchmark's tables and PASS/MISS target lines.

Measuring and printing are apart so that the driver only collects numbers, and the table
layout (which the README and earlier runs are compared against) lives in one place.
"""

from __future__ import annotations

from typing import Any

from workloads import LATENCY


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
        ("W1 N=1000 <= 0.15x task floor (#20)", "W1 chain N=1000", 0.15),
        ("W4 <= 1.5x task floor", "W4 fan 10000", 1.5),
        ("W4 <= 0.8x task floor (#20)", "W4 fan 10000", 0.8),
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


def report_dataflow(times: dict[str, float]) -> None:
    """The W5 table: makespan per schedule, then the dataflow target line."""
    rows = [[schedule, millis(best), f"{best / 0.1:.2f}x"] for schedule, best in times.items()]
    table(
        "W5 sequence of 10 independent 50 ms agents -> summariser (ideal 100 ms)",
        ["schedule", "makespan ms", "x ideal"],
        rows,
    )
    verdict = "PASS" if times["dataflow"] <= 0.12 else "MISS"
    print(f"dataflow makespan <= 1.2x 100 ms: {times['dataflow'] * 1000:.1f} ms  {verdict}")
