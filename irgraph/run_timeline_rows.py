"""Which rows a run's timeline draws, and in what order: a bar per execution, nested as the run
was. The executions of one pass (an iteration of a loop, an item of a map-over) follow the row
of their loop or map-over, in the order of the passes, under a header row that names the pass
(``rounds iteration 2``) when it holds more than one row; a row under a header names only what
the header does not (``plan``, not ``plan (rounds iteration 2)``).

Big parts fold, the count of what they stand for on their summary row:

- the passes of one run of a loop or map-over, when there are more than :data:`MANY` of them
  (200 items drew 200 bars; inside a loop, counted over all its iterations: a map-over of
  five items in a loop of three) or they would draw more than :data:`PASS_ROWS` rows (a loop
  of six passes with a fan-out in each), show the first :data:`FIRST`, the failed ones and
  the one on the critical path, and one summary row for the rest: how many, when they ran and
  how long each took (the shortest, the median, the longest);
- nodes side by side (a fan-out's branches) when they would draw more than :data:`BESIDE`
  bars over all the passes of the loop or map-over they are in (at the top, 20 branches; in
  a loop of six iterations, four): the first :data:`FIRST`, the failed ones and the critical
  one, and a summary of the rest.

``timeline.all_bars()`` draws every bar again.

>>> bars = [Execution("define", (("each", i),), 0.0, 0.01, "done") for i in range(30)]
>>> rows = shown_rows(bars, set())
>>> [row.path if isinstance(row, Execution) else "..." for row in rows][:4]
[(('each', 0),), (('each', 1),), (('each', 2),), '...']
>>> rows[-1].took()
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

__all__ = ["Many", "Pass", "Row", "shown_rows", "hidden_count", "nesting", "where_of"]
__all__ += ["MANY", "FIRST", "BESIDE", "PASS_ROWS"]

#: The passes of one run of a loop or map-over fold past this many...
MANY = 12
#: ...keeping this many of the first (and those on the critical path or failed).
FIRST = 3
#: They fold too when they would draw more rows than this in all (each pass a few rows).
PASS_ROWS = 40
#: More bars than this of nodes side by side (a fan-out's branches, in all the passes of the
#: loop or map-over they are in) fold too: the diagram folds such a column past as many
#: (:data:`irgraph.run_diagram_big.MANY`).
BESIDE = 20


def _word(graph: nx.DiGraph | None, scope: str) -> str:
    """What one pass of ``scope`` is: an iteration of a loop, an item of a map-over."""
    kind = graph.nodes[scope].get("kind") if graph is not None and scope in graph else None
    return "iteration" if kind == "loop" else "item"


def where_of(path: Path, graph: nx.DiGraph | None, shown: int = 0) -> str:
    """``"rounds iteration 1, each item 3"``: the passes of ``path`` past its first ``shown``
    (those a header row above already names)."""
    return ", ".join(f"{scope} {_word(graph, scope)} {i}" for scope, i in path[shown:])


def _span(bars: Iterable[Execution], measured: float) -> tuple[float, float]:
    bars = list(bars)
    start = min(bar.working for bar in bars)
    return start, max(bar.end if bar.end is not None else measured for bar in bars)


def _most(bars: Iterable[Execution]) -> str:
    """The status most of ``bars`` had; failed or cancelled if any was (a pass's colour)."""
    counts = Counter(bar.status for bar in bars)
    return next((s for s in ("failed", "cancelled") if s in counts), counts.most_common(1)[0][0])


@attrs.frozen
class Pass:
    """A header row: iteration ``index`` of loop ``scope`` (or its item ``index``, of a
    map-over) under ``within``; ``bars`` are every execution in it, drawn in the rows under
    it."""

    scope: str
    within: Path
    index: int
    bars: tuple[Execution, ...]
    critical: bool = False

    @property
    def path(self) -> Path:
        return (*self.within, (self.scope, self.index))

    @property
    def start(self) -> float:
        return min(bar.working for bar in self.bars)

    def end(self, measured: float) -> float:
        return _span(self.bars, measured)[1]

    @property
    def status(self) -> str:
        return _most(self.bars)

    def label(self, graph: nx.DiGraph | None = None, shown: int = 0) -> str:
        """``"rounds iteration 2"`` (and the passes around it a header above does not name)."""
        return "".join(self.parts(graph, shown))

    def parts(self, graph: nx.DiGraph | None, shown: int = 0) -> tuple[str, str]:
        """Its label as what may be cut and what stays: ``("rounds", " iteration 2")``."""
        around = where_of(self.within, graph, shown)
        return f"{around}, {self.scope}" if around else self.scope, (
            f" {_word(graph, self.scope)} {self.index}"
        )

    def took(self, measured: float) -> str:
        """``"7 ms, 10 bars"``: from its first start to its last end, and how many it holds."""
        start, end = _span(self.bars, measured)
        many = len(self.bars)
        return f"{seconds_text(end - start)}, {many} bar{'s' if many != 1 else ''}"


@attrs.frozen
class Many:
    """The bars the chart does not draw one by one: ``passes`` passes of ``scope`` (a loop's
    iterations or a map-over's items, in its run under ``within``; ``node`` is the one node
    they ran, or ``scope`` when they ran more), or with no ``scope`` the bars of ``node``'s
    branches side by side."""

    node: str
    scope: str
    within: Path
    bars: tuple[Execution, ...]
    critical: bool = False  # whether some of them are on the critical path (a loop's)
    passes: int = 0

    @property
    def start(self) -> float:
        return min(bar.working for bar in self.bars)

    def end(self, measured: float) -> float:
        """When the last of them ended (the run's end for one that never did)."""
        return _span(self.bars, measured)[1]

    @property
    def status(self) -> str:
        """The status most of them had (the colour of the summary bar)."""
        return Counter(bar.status for bar in self.bars).most_common(1)[0][0]

    @property
    def path(self) -> Path:
        """Where its row sits: among its passes (with a scope), or beside its branches."""
        return (*self.within, (self.scope, -1)) if self.scope else self.within

    def word(self, graph: nx.DiGraph | None, scope: str | None = None) -> str:
        """What one run of ``scope`` (default: this one's) is: an iteration or an item (or,
        for a fan-out's side-by-side nodes, with no scope of their own, a branch)."""
        scope = self.scope if scope is None else scope
        return _word(graph, scope) if scope else "branch"

    def _count(self, graph: nx.DiGraph | None) -> str:
        many = self.passes or len(self.bars)
        return (
            f"{many} more {self.word(graph)}{'' if many == 1 else 'es' if not self.scope else 's'}"
        )

    def label(self, graph: nx.DiGraph | None = None, shown: int = 0) -> str:
        """``"… define (define_all, 197 more items)"``: where the rest ran (inside a loop:
        ``"… define (rounds iteration 2, each, 16 more items)"``, the passes a header above
        names left out); ``"… rounds (3 more iterations, 30 bars)"`` for passes of more
        than one node; ``"… 294 more branches beside a0"`` for a fan-out's."""
        return "".join(self.parts(graph, shown))

    def parts(self, graph: nx.DiGraph | None, shown: int = 0) -> tuple[str, str]:
        """Its label as what may be cut (the node) and what stays (the count)."""
        where = where_of(self.within, graph, shown)
        if not self.scope:
            return f"\u2026 {self._count(graph)} beside {self.node}", (
                f" ({where})" if where else ""
            )
        where = f"{where}, " if where else ""
        scope = "" if self.node == self.scope else f"{self.scope}, "
        bars = f", {len(self.bars)} bars" if self.node == self.scope else ""
        return f"\u2026 {self.node}", f" ({where}{scope}{self._count(graph)}{bars})"

    def took(self, graph: nx.DiGraph | None = None) -> str:
        """``"197 more items: 8 ms to 12 ms each, median 11 ms (190 done, 7 cancelled)"``
        (the shortest and longest joined by an en dash); of passes of many nodes, how long
        each pass took."""
        if self.node == self.scope:
            passes: dict[int, list[Execution]] = {}
            for bar in self.bars:
                passes.setdefault(bar.path[len(self.within)][1], []).append(bar)
            times = sorted(
                end - start
                for start, end in (_span(p, float("nan")) for p in passes.values())
                if end == end
            )
        else:
            times = sorted(bar.duration for bar in self.bars if bar.duration is not None)
        text = self._count(graph)
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


Row = Execution | Many | Pass


def shown_rows(
    bars: Sequence[Execution],
    on_path: set[tuple[str, Path]],
    every: bool = False,
    graph: nx.DiGraph | None = None,
) -> list[Row]:
    """The chart's rows, nested as the run was (see the module's docstring): ``bars``
    themselves, pass headers, and (unless ``every``) a summary :class:`Many` in place of the
    passes or branches that fold; ``graph`` says which nodes are side by side."""
    beside = _side_by_side(graph) if graph is not None and not every else {}
    ordered = sorted(bars, key=lambda bar: (bar.start, bar.node))
    return _Rows(on_path, every, beside).of(ordered, (), 1)


@attrs.frozen
class _Rows:
    """What :func:`shown_rows` builds the rows with, one level of passes at a time."""

    on_path: set[tuple[str, Path]]
    every: bool
    beside: dict[str, str]

    def of(self, bars: list[Execution], within: Path, passes: int) -> list[Row]:
        """The rows of ``bars`` (all of them at or inside ``within``, one of ``passes``
        passes of its scope): those at ``within`` in start order, after each loop or
        map-over the passes it ran."""
        level = len(within)
        own = [bar for bar in bars if len(bar.path) == level]
        inner: dict[str, dict[int, list[Execution]]] = {}
        for bar in bars:
            if len(bar.path) > level:
                scope, index = bar.path[level]
                inner.setdefault(scope, {}).setdefault(index, []).append(bar)
        rows: list[Row] = []
        for row in self._branches(own, within, passes):
            rows.append(row)
            if isinstance(row, Execution) and row.node in inner:
                rows += self._passes(row.node, within, inner.pop(row.node), passes)
        for scope in sorted(
            inner, key=lambda s: min(b.start for p in inner[s].values() for b in p)
        ):
            rows += self._passes(scope, within, inner[scope], passes)  # never started, by its trace
        return rows

    def _passes(
        self, scope: str, within: Path, passes: dict[int, list[Execution]], around: int
    ) -> list[Row]:
        """The rows of each pass of one run of ``scope``: a header and the pass's rows (or its
        one row alone), all but the first few folded into one summary when they are many (in
        all the ``around`` passes of the loop or map-over the run is in)."""
        drawn: dict[int, list[Row]] = {}
        for index in sorted(passes):
            path = (*within, (scope, index))
            rows = self.of(passes[index], path, len(passes))
            if len(rows) > 1:
                on = self._on(passes[index])
                rows.insert(0, Pass(scope, within, index, tuple(passes[index]), on))
            drawn[index] = rows
        if self.every or (
            len(passes) * around <= MANY and sum(map(len, drawn.values())) <= PASS_ROWS
        ):
            return [row for rows in drawn.values() for row in rows]
        order = sorted(passes)
        failed = [i for i in order if any(bar.status == "failed" for bar in passes[i])][:FIRST]
        # a map-over's one item the run waited for; of a loop's iterations (all of them on
        # the path) the last, the summary outlined as critical for the others
        critical = [i for i in order if self._on(passes[i])][-1:]
        kept = {*order[:FIRST], *failed, *critical}
        folded = [i for i in order if i not in kept]
        if len(folded) < 2:  # a summary of one pass is no shorter than the pass
            return [row for rows in drawn.values() for row in rows]
        hidden = tuple(bar for i in folded for bar in passes[i])
        nodes = {bar.node for bar in hidden}
        node = next(iter(nodes)) if len(hidden) == len(folded) and len(nodes) == 1 else scope
        many = Many(node, scope, within, hidden, self._on(hidden), len(folded))
        rows = []
        for index in order:
            if index in kept:
                rows += drawn[index]
            elif index == folded[0]:
                rows.append(many)
        return rows

    def _on(self, bars: Iterable[Execution]) -> bool:
        return any((bar.node, bar.path) in self.on_path for bar in bars)

    def _branches(self, own: list[Execution], within: Path, passes: int) -> list[Row]:
        """``own`` (the executions at one path, in start order) with each group of nodes side
        by side that draws more than :data:`BESIDE` bars in all of the ``passes`` cut to its
        first :data:`FIRST`, failed and critical ones and a summary of the rest."""
        groups: dict[str, list[Execution]] = {}
        for bar in own:
            if bar.node in self.beside:
                groups.setdefault(self.beside[bar.node], []).append(bar)
        hidden: dict[Execution, str] = {}
        for first, group in groups.items():
            if len(group) * passes <= BESIDE or len(group) <= FIRST + 1:
                continue
            failed = [bar for bar in group if bar.status == "failed"][:FIRST]
            critical = [bar for bar in group if (bar.node, bar.path) in self.on_path][-1:]
            kept = {*group[:FIRST], *failed, *critical}
            hidden.update((bar, first) for bar in group if bar not in kept)
        rows: list[Row] = []
        summed: set[str] = set()
        for bar in own:
            lead = hidden.get(bar)
            if lead is None:
                rows.append(bar)
            elif lead not in summed:
                summed.add(lead)
                rest = tuple(b for b in own if hidden.get(b) == lead)
                rows.append(Many(lead, "", within, rest, self._on(rest)))
        return rows


def hidden_count(rows: Iterable[Row]) -> int:
    """How many bars the summary rows stand for."""
    return sum(len(row.bars) for row in rows if isinstance(row, Many))


def nesting(rows: Sequence[Row], graph: nx.DiGraph | None = None) -> list[tuple[int, int]]:
    """Each row's depth (how far it is indented: a level per loop, map-over or route of
    ``graph`` it is in, as in the node table, and one per header above it) and how many of
    its path's passes the headers above it name."""
    found: list[tuple[int, int]] = []
    headers: list[Path] = []  # the paths of the headers the row is under
    for row in rows:
        path = row.within if isinstance(row, Pass) else row.path
        while headers and path[: len(headers[-1])] != headers[-1]:
            headers.pop()
        shown = len(headers[-1]) if headers else 0
        # a header or a summary of passes sits a level inside its loop or map-over
        if isinstance(row, Pass) or (isinstance(row, Many) and row.scope):
            node, inside = row.scope, True
        else:
            node, inside = row.node, False
        level = _scopes_around(graph, node)
        level = len(path) + isinstance(row, Pass) if level is None else level + inside
        found.append((level + len(headers), shown))
        if isinstance(row, Pass):
            headers.append(row.path)
    return found


def _scopes_around(graph: nx.DiGraph | None, node: str) -> int | None:
    """How many loops, map-overs and routes ``node`` is inside (``None``: not in ``graph``)."""
    if graph is None or node not in graph:
        return None
    depth, parent = 0, graph.nodes[node].get("parent")
    while parent is not None and parent in graph:
        depth, parent = depth + 1, graph.nodes[parent].get("parent")
    return depth


def _side_by_side(graph: nx.DiGraph) -> dict[str, str]:
    """Each node (not a loop, map-over or route) of a group of more than :data:`FIRST` + 1 in
    one scope (one branch of a route) with the same predecessors, to the group's first node: a
    fan-out's branches."""
    from irgraph.schema import SCOPE_KINDS, scope_predecessors

    found: dict[str, str] = {}
    for preds in scope_predecessors(graph).values():
        groups: dict[tuple[object, tuple[str, ...]], list[str]] = {}
        for node, before in preds.items():
            if graph.nodes[node].get("kind") not in SCOPE_KINDS:
                branch = graph.nodes[node].get("branch")  # a route's branches are apart
                groups.setdefault((branch, tuple(sorted(before))), []).append(node)
        for group in groups.values():
            if len(group) > FIRST + 1:
                found.update((node, group[0]) for node in group)
    return found
