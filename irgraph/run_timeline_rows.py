"""Which rows a run's timeline draws: a bar per execution, except where one node ran many
times in one map-over or loop (a map-over of 200 items drew 200 bars, a chart thousands of
pixels tall). Such a group shows its first few bars, the ones on the critical path and the
failed ones, and one summary row for the rest: how many, when they ran (a light bar from
the first start to the last end) and how long each took (the shortest, the median, the
longest). So do a fan-out's hundreds of branches (nodes side by side). ``timeline.all_bars()``
draws every bar again.

>>> bars = [Execution("define", (("each", i),), 0.0, 0.01, "done") for i in range(30)]
>>> [getattr(row, "path", "...") for row in shown_rows(bars, set())][:4]
[(('each', 0),), (('each', 1),), (('each', 2),), '...']
>>> shown_rows(bars, set())[-1].took()
'27 more items: 10 ms each'
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

import attrs

from irgraph.run_status import STATUSES, Execution, Path, seconds_text

if TYPE_CHECKING:
    import networkx as nx

__all__ = ["Many", "shown_rows", "hidden_count", "MANY", "FIRST"]

#: A node's bars in one map-over or loop are summarised past this many...
MANY = 12
#: ...keeping this many of the first to start (and those on the critical path or failed).
FIRST = 3
#: More nodes side by side than this (a fan-out's branches) are summarised too: the diagram
#: folds such a column past as many (:data:`irgraph.run_diagram_big.MANY`).
BESIDE = 20


@attrs.frozen
class Many:
    """The bars of ``node`` in one instance of ``scope`` (a map-over's items or a loop's
    iterations, under ``within``) that the chart does not draw one by one."""

    node: str
    scope: str
    within: Path
    bars: tuple[Execution, ...]
    critical: bool = False  # whether some of them are on the critical path (a loop's)

    @property
    def start(self) -> float:
        return min(bar.working for bar in self.bars)

    def end(self, measured: float) -> float:
        """When the last of them ended (the run's end for one that never did)."""
        return max(bar.end if bar.end is not None else measured for bar in self.bars)

    @property
    def status(self) -> str:
        """The status most of them had (the colour of the summary bar)."""
        return Counter(bar.status for bar in self.bars).most_common(1)[0][0]

    def word(self, graph: nx.DiGraph | None, scope: str | None = None) -> str:
        """What one run of ``scope`` (default: this one's) is: an iteration or an item (or,
        for a fan-out's side-by-side nodes, with no scope of their own, a branch)."""
        scope = self.scope if scope is None else scope
        if not scope:
            return "branch"
        kind = graph.nodes[scope].get("kind") if graph is not None and scope in graph else None
        return "iteration" if kind == "loop" else "item"

    def label(self, graph: nx.DiGraph | None = None) -> str:
        """``"… define (define_all, 197 more items)"``: where the rest ran (inside a loop:
        ``"… define (rounds iteration 2, each, 16 more items)"``)."""
        where = ", ".join(f"{scope} {self.word(graph, scope)} {i}" for scope, i in self.within)
        many = len(self.bars)
        if not self.scope:  # a fan-out's: ``… 294 more branches beside a0 (each item 2)``
            return f"\u2026 {many} more branches beside {self.node}" + (
                f" ({where})" if where else ""
            )
        where = f"{where}, " if where else ""
        return f"\u2026 {self.node} ({where}{self.scope}, {many} more {self.word(graph)}s)"

    def took(self, graph: nx.DiGraph | None = None) -> str:
        """``"197 more items: 8 ms to 12 ms each, median 11 ms (190 done, 7 cancelled)"``
        (the shortest and longest joined by an en dash)."""
        times = sorted(bar.duration for bar in self.bars if bar.duration is not None)
        text = f"{len(self.bars)} more {self.word(graph)}s".replace("branchs", "branches")
        if times:
            low, high = seconds_text(times[0]), seconds_text(times[-1])
            median = seconds_text(statistics.median(times))
            spread = f"{low}\u2013{high} each, median {median}" if low != high else f"{low} each"
            text += f": {spread}"
        waited = max(bar.waited for bar in self.bars)
        if waited >= 0.0005:  # as a bar's own wait is told
            text += f", waited up to {seconds_text(waited)} for a slot"
        counts = Counter(bar.status for bar in self.bars)
        if len(counts) > 1:
            text += " (" + ", ".join(f"{n} {STATUSES[s][0]}" for s, n in counts.items()) + ")"
        return text


def shown_rows(
    bars: Sequence[Execution],
    on_path: set[tuple[str, Path]],
    every: bool = False,
    graph: nx.DiGraph | None = None,
) -> list[Execution | Many]:
    """The chart's rows, in start order: ``bars`` themselves, or (unless ``every``) with the
    bars of a node's many items or iterations past the first :data:`FIRST` (the critical and
    failed ones apart) given as one :class:`Many` where the first of them would have been;
    so too the bars of more than :data:`BESIDE` nodes side by side in ``graph`` (a fan-out of
    hundreds of agents: the same scope, the same predecessors)."""
    groups: dict[tuple[str, Path, str], list[Execution]] = {}
    beside = _side_by_side(graph) if graph is not None and not every else {}
    for bar in bars:
        if bar.node in beside:
            groups.setdefault((beside[bar.node], bar.path, ""), []).append(bar)
        elif bar.path:
            groups.setdefault((bar.node, bar.path[:-1], bar.path[-1][0]), []).append(bar)
    hidden: dict[Execution, tuple[str, Path, str]] = {}
    for key, group in groups.items():
        if every or len(group) <= (MANY if key[2] else BESIDE):
            continue
        failed = [bar for bar in group if bar.status == "failed"][:FIRST]
        # a map-over's one item the run waited for; of a loop's iterations (all of them on
        # the path) the last, the summary outlined as critical for the others
        critical = [bar for bar in group if (bar.node, bar.path) in on_path][-1:]
        kept = {*group[:FIRST], *failed, *critical}
        hidden.update((bar, key) for bar in group if bar not in kept)
    rows: list[Execution | Many] = []
    summed: set[tuple[str, Path, str]] = set()
    for bar in bars:
        hid = hidden.get(bar)
        if hid is None:
            rows.append(bar)
        elif hid not in summed:
            summed.add(hid)
            rest = tuple(b for b in groups[hid] if hidden.get(b) == hid)
            on = any((b.node, b.path) in on_path for b in rest)
            rows.append(Many(hid[0], hid[2], hid[1], rest, on))
    return rows


def hidden_count(rows: Iterable[Execution | Many]) -> int:
    """How many bars the summary rows stand for."""
    return sum(len(row.bars) for row in rows if isinstance(row, Many))


def _side_by_side(graph: nx.DiGraph) -> dict[str, str]:
    """Each node (not a loop, map-over or route) of a group of more than :data:`BESIDE` in one
    scope with the same predecessors, to the group's first node: a fan-out's branches."""
    from irgraph.schema import SCOPE_KINDS, scope_predecessors

    found: dict[str, str] = {}
    for preds in scope_predecessors(graph).values():
        groups: dict[tuple[str, ...], list[str]] = {}
        for node, before in preds.items():
            if graph.nodes[node].get("kind") not in SCOPE_KINDS:
                groups.setdefault(tuple(sorted(before)), []).append(node)
        for group in groups.values():
            if len(group) > BESIDE:
                found.update((node, group[0]) for node in group)
    return found
