"""The pipeline diagram of one run: every node coloured by what happened to it, with its
duration, drawn as SVG by irgraph itself (no Graphviz, no JavaScript) or written as mermaid.

The layout is layered, left to right, from the graph's edges as each scope sees them
(:func:`irgraph.schema.scope_predecessors`): a node's column is one more than its furthest
predecessor's, loops, map-overs and routes are boxes around their bodies (a route's branches
stack inside its box). A scope whose columns are wider than a notebook by far (a long chain)
wraps them into rows, an arrow to the next row running back along the gap between them, and
a column of hundreds of parallel nodes shows a few and a summary box for the rest
(:mod:`irgraph.run_diagram_big`).
Each node is a ``<g class="node status-done" data-node="...">`` and
each arrow a ``<path class="edge" data-from="..." data-to="...">``, so a program (and a
test) can read the picture back; an arrow that skips a column arches over the boxes between.
"""

from __future__ import annotations

import bisect
import hashlib
import itertools
import os
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import attrs

from irgraph.errors import IrgraphError, keyword_options
from irgraph.live import text_columns
from irgraph.run_diagram_big import GAP_ROW, Folds, wrapped, wrapped_edge
from irgraph.run_files import fitted, one_line, save_as, text_width
from irgraph.run_files import xml_attr as quoteattr
from irgraph.run_files import xml_text as escape
from irgraph.run_status import STATUSES, RunFacts, seconds_text, shorten
from irgraph.schema import scope_predecessors, scopes

if TYPE_CHECKING:
    import networkx as nx

__all__ = ["StatusDiagram", "status_mermaid", "svg_open", "legend", "kind_word"]

_DRAWN = itertools.count(1)  # numbers each picture's arrowhead id (with a digest of its run)

NODE_W, NODE_H = 170.0, 44.0
GAP_X, GAP_Y, PAD, TITLE_H = 44.0, 14.0, 10.0, 20.0
FONT = "font-family='system-ui, -apple-system, Segoe UI, Helvetica, Arial, sans-serif'"
_DASHED = ("not_started", "skipped", "no_items", "not_reached")  # outlined dashed: no work done
_TITLE_X = 8.0  # a scope's title, from its box's left edge (and as much room to the right)


def kind_word(kind: object) -> str:
    """A node kind as the view writes it, in its diagram, tooltips and node table alike:
    ``map-over`` for the graph's ``map_over`` (the others are words already).

    >>> kind_word("map_over"), kind_word("agent")
    ('map-over', 'agent')
    """
    return str(kind or "").replace("_", "-")


@attrs.frozen
class Rect:
    node: str
    x: float
    y: float
    w: float
    h: float
    scope: bool
    row: int = 0  # which row of its scope's wrapped columns (:data:`WRAP_W`) it stands in
    above: float = 0.0  # the middle of the gap above that row: where an arrow into it runs


def svg_open(width: float, height: float, label: str) -> str:
    return (
        f"<svg xmlns='http://www.w3.org/2000/svg' width='{width:.0f}' height='{height:.0f}' "
        f"viewBox='0 0 {width:.0f} {height:.0f}' role='img' aria-label={quoteattr(label)} "
        f"{FONT} font-size='12'>"
    )


def _columns(members: list[str], before: dict[str, list[str]]) -> list[list[str]]:
    """The nodes of one scope by layer: a node one layer right of its furthest predecessor."""
    layer: dict[str, int] = {}

    def depth(node: str, seen: frozenset[str] = frozenset()) -> int:
        if node not in layer:
            preds = [p for p in before.get(node, ()) if p in before and p not in seen]
            layer[node] = 1 + max((depth(p, seen | {node}) for p in preds), default=-1)
        return layer[node]

    columns: list[list[str]] = []
    for node in members:
        column = depth(node)
        while len(columns) <= column:
            columns.append([])
        columns[column].append(node)
    return columns


def _layout(
    G: nx.DiGraph,
    scope: str | None,
    members: dict[str | None, list[str]],
    before: dict[str | None, dict[str, list[str]]],
    titles: dict[str, str],
    folds: Folds,
) -> tuple[float, float, list[Rect]]:
    """Width, height and the boxes of one scope's nodes (inner ones too), from (0, 0); a
    scope's box is as wide as its title (``titles``) up to a limit (then the title is cut);
    a long column of parallel nodes is cut short, a summary box for the rest (``folds``)."""
    sizes: dict[str, tuple[float, float]] = {}
    inner: dict[str, list[Rect]] = {}
    columns = folds.columns(_columns(members[scope], before[scope]))
    for node in itertools.chain.from_iterable(columns):
        if node in folds.hidden:
            continue  # as wide as the rest of its column, below
        if node in members:  # a scope: a box around its body
            w, h, body = _layout(G, node, members, before, titles, folds)
            title_w = text_width(titles[node], bold=True) + 2 * _TITLE_X
            wide = max(w + 2 * PAD, NODE_W, min(title_w, 2.5 * NODE_W))
            sizes[node] = (wide, max(h, NODE_H - TITLE_H) + 2 * PAD + TITLE_H)
            inner[node] = body
        else:
            sizes[node] = (NODE_W, NODE_H)
    for column in columns:  # a summary box as wide as its column: arrows pass no box by it
        for box in (n for n in column if n in folds.hidden):
            wide = max(sizes[n][0] for n in column if n != box)
            sizes[box] = (wide, folds.height(box, wide))
    heights = [sum(sizes[n][1] for n in col) + GAP_Y * (len(col) - 1) for col in columns]
    widths = [max(sizes[n][0] for n in col) for col in columns]
    rects: list[Rect] = []
    top, most_w = 0.0, 0.0
    for row, picked in enumerate(wrapped(widths, GAP_X)):
        row_h = max(heights[i] for i in picked)
        x = 0.0
        for i in picked:
            y = top + (row_h - heights[i]) / 2
            for node in columns[i]:
                w, h = sizes[node]
                left = x + (widths[i] - w) / 2
                rects.append(Rect(node, left, y, w, h, node in members, row, top - GAP_ROW / 2))
                for r in inner.get(node, ()):
                    down = y + PAD + TITLE_H
                    rects.append(
                        attrs.evolve(r, x=r.x + left + PAD, y=r.y + down, above=r.above + down)
                    )
                y += h + GAP_Y
            x += widths[i] + GAP_X
        most_w = max(most_w, x - GAP_X)
        top += row_h + GAP_ROW
    return most_w, max(top - GAP_ROW, 0.0), rects


def _edges(
    G: nx.DiGraph, before: dict[str | None, dict[str, list[str]]], alias: dict[str, str]
) -> list[tuple[str, str]]:
    """Each arrow once, a folded node's drawn to or from its summary box (``alias``)."""
    pairs = (
        (alias.get(u, u), alias.get(v, v))
        for preds in before.values()
        for v, us in preds.items()
        for u in us
    )
    return list(dict.fromkeys((u, v) for u, v in pairs if u != v))


def _detail(facts: RunFacts, node: str) -> str:
    """``"done · 3x 12 ms"`` (with a multiplication sign): the status, how many times the node
    ran (as the table's ``runs``: a failed or stopped one counts) and the mean duration of
    the runs that ended; ``"cancelled · 2 of 6, 12 ms"`` when some items never started (they
    waited for a model-call slot until the run stopped; while it goes, ``"running · 2 of 6"``
    when some wait for a slot now)."""
    mine = facts.of(node)
    started = [e for e in mine if e.status not in ("not_started", "waiting")]
    runs = [e for e in started if facts.took(e) is not None]  # a failed one: until it failed
    word = STATUSES[facts.status[node]][0]
    times = f"{len(mine)}\u00d7 " if len(mine) > 1 else ""
    if len(mine) > 1 and len(started) < len(mine):
        times = f"{len(started)} of {len(mine)}, "
    G = facts.graph
    if G.nodes[node].get("kind") == "map_over" and any(  # over an empty list: nothing ran
        facts.status.get(n) == "no_items" and G.nodes[n].get("parent") == node for n in G
    ):
        times = "0 items, "
    if G.nodes[node].get("kind") == "loop" and len(mine) == 1:  # did it stop early?
        times = _iterations(facts, node)
    if not runs:
        return f"{word} \u00b7 {times[:-1].rstrip(',')}" if times else word
    mean = sum(facts.took(e) or 0.0 for e in runs) / len(runs)
    return f"{word} \u00b7 {times}{seconds_text(mean)}"


def _iterations(facts: RunFacts, loop: str) -> str:
    """``"2 of max 5 iterations, "``: how many iterations a loop that ran once began, so a
    loop whose ``until`` stopped it early tells itself apart from one that ran out."""
    began = {i for e in facts.executions for scope, i in e.path if scope == loop}
    most = facts.graph.nodes[loop].get("max_iterations")
    limit = f" of max {most}" if most else ""
    return f"{len(began)}{limit} iteration{'s' if (most or len(began)) != 1 else ''}, "


def _crosses(row: tuple[list[float], list[Rect]], a: Rect, b: Rect) -> bool:
    """Whether a straight arrow from ``a`` to ``b`` would cross a box of ``row`` (their
    scope's nodes' lefts and boxes, by ``x``) that stands between them."""
    x1, y1, x2, y2 = a.x + a.w, a.y + a.h / 2, b.x, b.y + b.h / 2
    lefts, boxes = row
    for r in boxes[bisect.bisect_right(lefts, x1) : bisect.bisect_left(lefts, x2)]:
        if r.x + r.w > x2:
            continue
        y = y1 + (y2 - y1) * (r.x + r.w / 2 - x1) / max(x2 - x1, 1e-9)
        if r.y <= y <= r.y + r.h:
            return True
    return False


def legend(statuses: Iterable[str], x: float, y: float) -> tuple[str, float]:
    """A row of coloured swatches naming ``statuses``; the SVG text and its width."""
    parts = []
    for status in statuses:
        word, fill, line = STATUSES[status]
        parts.append(
            f"<rect x='{x:.1f}' y='{y:.1f}' width='12' height='12' rx='2' fill='{fill}' "
            f"stroke='{line}'/><text x='{x + 16:.1f}' y='{y + 10:.1f}'>{escape(word)}</text>"
        )
        x += 28 + 7 * len(word)
    return "".join(parts), x


class StatusDiagram:
    """The coloured diagram of a run: ``svg`` (text), displayed inline by Jupyter, and
    :meth:`to_mermaid` for a mermaid flowchart with the same colours."""

    def __init__(self, facts: RunFacts, *, every: bool = False) -> None:
        self.facts = facts
        self.folds = Folds(facts, every)  # a column of hundreds of nodes: a few and a summary
        self.svg = self._draw()

    def all_nodes(self) -> StatusDiagram:
        """The diagram with every node of a long column drawn (a fan-out of 300 agents shows
        its first few and a summary box for the rest): one very tall picture."""
        return StatusDiagram(self.facts, every=True)

    def _draw(self) -> str:
        facts, G = self.facts, self.facts.graph
        members, before = scopes(G), scope_predecessors(G)
        titles = {node: self._title(node) for node in members if node is not None}
        folds = self.folds
        width, height, rects = _layout(G, None, members, before, titles, folds)
        margin, head = 12.0, 26.0
        boxes = {r.node: r for r in rects}
        out = [svg_open(width + 2 * margin, height + 2 * margin + head, "run diagram")]
        arrow = self._arrow_id()
        out.append(
            f"<defs><marker id='{arrow}' viewBox='0 0 10 10' refX='10' refY='5' "
            "markerWidth='7' markerHeight='7' orient='auto-start-reverse'>"
            "<path d='M0,0 L10,5 L0,10 z' fill='#555'/></marker></defs>"
        )
        shown = [s for s in STATUSES if s in facts.status.values()]
        out.append(legend(shown, margin, 6)[0])
        out.append(f"<g transform='translate({margin},{margin + head})'>")
        # scope boxes, then the arrows, then the nodes on top: an arrow that skips a column
        # passes under the boxes between, not over their names, arched so that it does not
        # lie on the arrows between them
        out += [self._node(G, r) for r in rects if r.scope]
        siblings: dict[Any, tuple[list[float], list[Rect]]] = {}
        bands: dict[tuple[Any, int], float] = {}  # the gap above each row of each scope
        for r in sorted(rects, key=lambda r: r.x):
            lefts, row = siblings.setdefault(folds.parent(G, r.node), ([], []))
            lefts.append(r.x)
            row.append(r)
            bands[folds.parent(G, r.node), r.row] = r.above
        for u, v in _edges(G, before, folds.stands_for(G)):
            a, b, parent = boxes[u], boxes[v], folds.parent(G, u)
            x1, y1, x2, y2 = a.x + a.w, a.y + a.h / 2, b.x, b.y + b.h / 2
            if a.row != b.row:  # into a later row: down its gap (around a row between), in
                under = (bands[parent, a.row + 1], b.above)
                side = boxes[parent].x + PAD - 6.0 if parent is not None else -6.0
                out.append(wrapped_edge(G, (u, v, x1, y1, x2, y2), under, side, arrow))
                continue
            bend = max((x2 - x1) / 2, 12.0)
            lift = 0.8 * NODE_H if _crosses(siblings[parent], a, b) else 0.0
            data = G.get_edge_data(u, v) or {}
            dash = "" if data.get("control", True) else " stroke-dasharray='5 3'"  # data only
            out.append(
                f"<path class='edge' data-from={quoteattr(u)} data-to={quoteattr(v)} "
                f"d='M{x1:.1f},{y1:.1f} C{x1 + bend:.1f},{y1 - lift:.1f} "
                f"{x2 - bend:.1f},{y2 - lift:.1f} {x2:.1f},{y2:.1f}' fill='none' stroke='#777' "
                f"stroke-width='1.2'{dash} marker-end='url(#{arrow})'/>"
            )
        out += [
            folds.box(r.node, r.x, r.y, r.w, r.h) if r.node in folds.hidden else self._node(G, r)
            for r in rects
            if not r.scope
        ]
        out.append("</g></svg>")
        return "".join(out)

    def _arrow_id(self) -> str:
        """The arrowhead's id, this picture's own: an id is page-wide, and with one shared by
        every diagram of a notebook, hiding (collapsing) the output that held it first took
        the head off every later diagram's arrows. A digest of the run keeps it apart from
        another kernel's outputs saved in the notebook, the count from this kernel's."""
        run = repr((sorted(self.facts.status.items()), [e.duration for e in self.facts.executions]))
        digest = hashlib.sha1(run.encode(), usedforsecurity=False).hexdigest()[:8]
        return f"irgraph-arrow-{digest}-{next(_DRAWN)}"

    def _node(self, G: nx.DiGraph, r: Rect) -> str:
        status = self.facts.status[r.node]
        _, fill, line = STATUSES[status]
        data: dict[str, Any] = G.nodes[r.node]
        dash = " stroke-dasharray='4 3'" if status in _DASHED else ""
        detail = _detail(self.facts, r.node)
        tip = f"{r.node} ({kind_word(data.get('kind'))}): {detail}"
        head = (
            f"<g class='node status-{status}' data-node={quoteattr(r.node)} "
            f"data-status='{status}'><title>{escape(shorten(tip, 300))}</title>"
        )
        if r.scope:
            title = self._title(r.node, r.w - 2 * _TITLE_X)
            return (
                head + f"<rect x='{r.x:.1f}' y='{r.y:.1f}' width='{r.w:.1f}' height='{r.h:.1f}' "
                f"rx='8' fill='{fill}' fill-opacity='0.35' stroke='{line}' stroke-width='1.5'"
                f"{dash}/><text x='{r.x + _TITLE_X:.1f}' y='{r.y + 15:.1f}' font-weight='600' "
                f"fill='#333'>{escape(title)}</text></g>"
            )
        width = 2.5 if status == "failed" else 1.5
        return (
            head + f"<rect x='{r.x:.1f}' y='{r.y:.1f}' width='{r.w:.1f}' height='{r.h:.1f}' "
            f"rx='5' fill='{fill}' stroke='{line}' stroke-width='{width}'{dash}/>"
            f"<text x='{r.x + r.w / 2:.1f}' y='{r.y + 18:.1f}' text-anchor='middle' "
            f"font-weight='600' fill='#222'>{escape(fitted(r.node, r.w - 12, bold=True))}</text>"
            f"<text x='{r.x + r.w / 2:.1f}' y='{r.y + 34:.1f}' text-anchor='middle' "
            f"font-size='11' fill='#444'>{escape(fitted(detail, r.w - 12, 11, end=True))}</text>"
            "</g>"
        )

    def _title(self, node: str, room: float | None = None) -> str:
        """A scope's title, ``map-over define_all · done · 3x 12 ms``; cut to ``room``
        pixels, its name in the middle first (the kind and status stay whole), then at its
        end."""
        kind = self.facts.graph.nodes[node].get("kind")
        head, tail = (
            f"{kind_word(kind)} ",
            f" \u00b7 {_detail(self.facts, node)}",
        )
        whole = head + node + tail
        # the box was made as wide as the whole title: a sum of the same widths taken in
        # another order may come out a hair wider, which must not cut it
        if room is None or text_width(whole, bold=True) <= room + 0.5:
            return whole
        left = room - text_width(head + tail, bold=True)
        name = fitted(node, max(left, 0.3 * room), bold=True)
        return fitted(head + name + tail, room, bold=True, end=True)

    def to_mermaid(self, direction: str = "LR") -> str:
        """The mermaid flowchart of the pipeline with a ``classDef`` per status and each node
        in its status's class."""
        return status_mermaid(self.facts, direction)

    def _repr_svg_(self) -> str:
        return self.svg

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        return {"image/svg+xml": self.svg, "text/plain": self.text()}

    def text(self) -> str:
        """One line per node, indented inside its scope, a scope named with its kind as its
        box is (``map-over define_all``), and the times in a column:
        ``  done         writer             1.20 s``."""
        G, names, tooks = self.facts.graph, [], []
        for node in self.facts.status:
            depth = 0
            parent = G.nodes[node].get("parent")
            while parent is not None:
                depth += 1
                parent = G.nodes[parent].get("parent")
            kind = G.nodes[node].get("kind")
            kind = f"{kind_word(kind)} " if kind in ("loop", "map_over", "route") else ""
            names.append(f"{'  ' * depth}{kind}{one_line(node, 60)}")
            tooks.append(_detail(self.facts, node).partition(" \u00b7 ")[2])
        wide = max(map(text_columns, names), default=0)
        lines = ["Nodes:"]
        for status, name, took in zip(self.facts.status.values(), names, tooks, strict=True):
            name += " " * (wide - text_columns(name))
            lines.append(f"  {STATUSES[status][0]:<12} {name}  {took}".rstrip())
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.text()

    __repr__ = __str__  # what a plain Python shell echoes: the text view, not an address

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(self.text())

    @keyword_options
    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the diagram to ``path``, as its suffix says: ``.svg``, ``.mmd`` (mermaid
        flowchart with status classes) or ``.txt``."""
        save_as(path, "diagram", {".svg": lambda: self.svg, ".mmd": self.to_mermaid,
                                  ".txt": self.text})  # fmt: skip


def status_mermaid(facts: RunFacts, direction: str = "LR") -> str:
    """The mermaid flowchart of ``facts.graph`` (irgraph's exporter) with status classes."""
    from irgraph.backends.mermaid import mermaid_ids, to_mermaid

    if not facts.traced:
        raise IrgraphError(
            "This run view was drawn from the trace alone (the result carries no pipeline "
            "graph), and a mermaid flowchart needs the pipeline; pass it: "
            "result.diagram(pipeline).to_mermaid(), or save the diagram as .svg or .txt."
        )
    G = facts.graph
    ids = mermaid_ids(G)
    lines = [to_mermaid(G, direction=direction)]
    for status in STATUSES:
        _, fill, line = STATUSES[status]
        dash = ",stroke-dasharray:4 3" if status in _DASHED else ""
        lines.append(f"classDef {status} fill:{fill},stroke:{line},color:#222{dash}")
    by_status: dict[str, list[str]] = {}
    for node, status in facts.status.items():
        by_status.setdefault(status, []).append(ids[node])  # scopes too: their subgraphs
    for status, nodes in by_status.items():
        lines.append(f"class {','.join(nodes)} {status}")
    return "\n".join(lines)
