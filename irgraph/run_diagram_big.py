"""How the run diagram (:mod:`irgraph.run_diagram`) draws a big scope so that a notebook can
show it: columns wider than a notebook wrap into rows (an arrow to a later row runs down the
gap under its row and, past a row between, along the left margin, never through a row's
nodes), and a column of many parallel nodes (a fan-out of hundreds of agents, 17 000 px tall
in one column) shows its first few and the failed ones, the rest folded into one summary box
that says how many, their statuses and how long they took (``diagram.all_nodes()`` draws
each, the text lists them all).
"""

from __future__ import annotations

import statistics
from typing import TYPE_CHECKING

import attrs

from irgraph.run_files import fitted, text_width
from irgraph.run_files import xml_attr as quoteattr
from irgraph.run_files import xml_text as escape
from irgraph.run_status import STATUSES, RunFacts, seconds_text, shorten

if TYPE_CHECKING:
    import networkx as nx

__all__ = ["Folds", "wrapped", "wrapped_edge", "WRAP_AT", "WRAP_W", "GAP_ROW", "MANY", "SHOWN"]

#: A scope's columns wider than this in all (pixels: nine nodes or so) wrap into rows no
#: wider than :data:`WRAP_W` (a notebook's width), read left to right and then down, so a
#: chain of 300 agents is a page to scroll down rather than one row 64 000 pixels wide; a
#: narrower one is drawn in one row, as it always was.
WRAP_AT, WRAP_W = 2000.0, 1100.0
GAP_ROW = 30.0  # between wrapped rows: the arrow from one row to the next runs in it
#: A column of more than ``MANY`` nodes (over 1 100 px tall) shows its first ``SHOWN`` and
#: the failed ones, and one summary box for the rest; a smaller one is drawn whole, as before.
MANY, SHOWN = 20, 6


def wrapped(widths: list[float], gap: float) -> list[list[int]]:
    """The columns (by index) of each row: one row when they fit in :data:`WRAP_AT`, else
    rows of about even width, none wider than :data:`WRAP_W` (a column wider alone has its
    own row); ``gap`` is the room between two columns.

    >>> wrapped([170.0] * 9, 44.0), [len(row) for row in wrapped([170.0] * 20, 44.0)]
    ([[0, 1, 2, 3, 4, 5, 6, 7, 8]], [5, 5, 5, 5])
    """
    total = sum(widths) + gap * (len(widths) - 1)
    if total <= WRAP_AT:
        return [list(range(len(widths)))]
    goal = total / -(-total // WRAP_W)  # as wide as each of the fewest rows that fit
    rows: list[list[int]] = [[]]
    used = -gap  # the width of the row so far, as the gap before its next column adds
    for i, w in enumerate(widths):
        if rows[-1] and (used + gap + w > WRAP_W or used + gap + w / 2 > goal):
            rows.append([])
            used = -gap
        rows[-1].append(i)
        used += gap + w
    return rows


def wrapped_edge(
    G: nx.DiGraph,
    ends: tuple[str, str, float, float, float, float],
    bands: tuple[float, float],
    margin: float,
    arrow: str,
) -> str:
    """The arrow from ``u`` to ``v`` in a later row (``ends``: the two and the points they
    leave and enter at): right out of ``u``, down to the gap under its row (``bands[0]``),
    along it to the left of ``v`` and in. Past a row between (``bands[1]``, the gap above
    ``v``'s row, is lower) it runs left along the first gap to the scope's left ``margin``,
    down the margin, and right along the second: straight down it crossed the row's nodes."""
    u, v, x1, y1, x2, y2 = ends
    under, band = bands
    right, left = x1 + 8.0, x2 - 8.0  # inside a box's padding (10), or the margin (12)
    around = "" if under == band else f"L{margin:.1f},{under:.1f} L{margin:.1f},{band:.1f} "
    data = G.get_edge_data(u, v) or {}
    dash = "" if data.get("control", True) else " stroke-dasharray='5 3'"
    return (
        f"<path class='edge wrapped' data-from={quoteattr(u)} data-to={quoteattr(v)} "
        f"d='M{x1:.1f},{y1:.1f} L{right:.1f},{y1:.1f} L{right:.1f},{under:.1f} {around}"
        f"L{left:.1f},{band:.1f} L{left:.1f},{y2:.1f} L{x2:.1f},{y2:.1f}' fill='none' "
        f"stroke='#777' stroke-width='1.2'{dash} stroke-linejoin='round' "
        f"marker-end='url(#{arrow})'/>"
    )


@attrs.define
class Folds:
    """Which nodes a diagram folds into summary boxes: ``hidden`` holds, by summary box
    (an id no node has), the nodes of a long column it stands for; ``every`` draws all."""

    facts: RunFacts
    every: bool = False
    hidden: dict[str, list[str]] = attrs.field(factory=dict)

    def columns(self, columns: list[list[str]]) -> list[list[str]]:
        """``columns`` with each of more than :data:`MANY` nodes cut to its first
        :data:`SHOWN` and failed ones, and a summary box for the rest."""
        if self.every:
            return columns
        status, out = self.facts.status, []
        for column in columns:
            if len(column) <= MANY:
                out.append(column)
                continue
            kept = [n for i, n in enumerate(column) if i < SHOWN or status[n] == "failed"]
            rest = [n for n in column if n not in set(kept)]
            box = f"\u2026 {len(rest)} more after {kept[-1]}"
            while box in status:  # never a node's id
                box += "\u2026"
            self.hidden[box] = rest
            out.append([*kept, box])
        return out

    def stands_for(self, G: nx.DiGraph) -> dict[str, str]:
        """The summary box each folded node (or a node inside a folded scope) is drawn as."""
        alias = {node: box for box, nodes in self.hidden.items() for node in nodes}
        for node in G:
            parent = G.nodes[node].get("parent")
            while parent is not None and node not in alias:
                if parent in alias:
                    alias[node] = alias[parent]
                parent = G.nodes[parent].get("parent")
        return alias

    def parent(self, G: nx.DiGraph, node: str) -> str | None:
        """The scope ``node`` (or the nodes a summary box stands for) is drawn in."""
        parent: str | None = G.nodes[self.hidden.get(node, [node])[0]].get("parent")
        return parent

    def height(self, box: str, width: float) -> float:
        """How tall the summary box is drawn ``width`` wide: a line of text each."""
        return 13.0 + 15.0 * len(self._said(box, width)[0])

    def _said(self, box: str, width: float) -> tuple[list[str], str, tuple[str, str]]:
        """The summary box's lines (``… and 290 more``, the statuses, ``288 done, 2
        cancelled``, on as many lines as they need, how long each took), its tooltip (the
        median, the names by status) and its fill and line colours."""
        nodes, facts = self.hidden[box], self.facts
        counts: dict[str, int] = {}
        for node in nodes:
            counts[facts.status[node]] = counts.get(facts.status[node], 0) + 1
        lines = [f"\u2026 and {len(nodes)} more", ""]
        for status, count in counts.items():
            said = f"{count} {STATUSES[status][0]}"
            joined = f"{lines[-1]}, {said}" if lines[-1] else said
            if lines[-1] and text_width(joined, 11) > width - 12:
                lines.append(said)
            else:
                lines[-1] = joined
        took = sorted(t for n in nodes for e in facts.of(n) if (t := facts.took(e)) is not None)
        median = ""
        if took:
            low, high = seconds_text(took[0]), seconds_text(took[-1])
            lines.append(f"{low} each" if low == high else f"{low} \u2013 {high} each")
            median = f"; {lines[-1]}, median {seconds_text(statistics.median(took))}"
        colours = ("#f4f4f4", "#999")  # of mixed statuses: grey, else its status's colours
        if len(counts) == 1:
            colours = STATUSES[next(iter(counts))][1:]
        names = " ".join(_names(facts, nodes, status) for status in sorted(counts, key=_done_last))
        mix = ", ".join(f"{n} {STATUSES[s][0]}" for s, n in counts.items())
        who = "error" if facts.outcome == "Run failed" else "result"  # a RunError's view too
        tip = (
            f"{len(nodes)} more side by side in this column: {mix}{median}. "
            f"{who}.view().diagram.all_nodes() draws each; print({who}.view()) lists them. "
            f"{names}"
        )
        return lines, tip, colours

    def box(self, box: str, x: float, y: float, w: float, h: float) -> str:
        """The summary box, drawn at ``x``, ``y``, ``w`` wide and ``h`` tall."""
        lines, tip, (fill, line) = self._said(box, w)
        parts = []
        for i, said in enumerate(lines):
            size, bold = (12, " font-weight='600'") if i == 0 else (11, "")
            cut = fitted(said, w - 12, size, bool(bold), end=True)
            parts.append(
                f"<text x='{x + w / 2:.1f}' y='{y + 17 + 15 * i:.1f}' text-anchor='middle' "
                f"font-size='{size}'{bold} fill='#333'>{escape(cut)}</text>"
            )
        return (
            f"<g class='nodes-summary' data-count='{len(self.hidden[box])}' "
            f"data-node={quoteattr(box)}><title>{escape(shorten(tip, 900))}</title>"
            f"<rect x='{x:.1f}' y='{y:.1f}' width='{w:.1f}' height='{h:.1f}' rx='5' "
            f"fill='{fill}' stroke='{line}' stroke-width='1.5' stroke-dasharray='6 3'/>"
            f"{''.join(parts)}</g>"
        )


def _done_last(status: str) -> bool:
    return status == "done"


def _names(facts: RunFacts, nodes: list[str], status: str, most: int = 40) -> str:
    """``cancelled: a26, a27.``: the folded nodes of one status, for the box's tooltip (those
    that did not finish first, so that which were stopped shows before a long list)."""
    mine = [node for node in nodes if facts.status[node] == status]
    more = ", \u2026" if len(mine) > most else ""
    return f"{STATUSES[status][0]}: {', '.join(mine[:most])}{more}."
