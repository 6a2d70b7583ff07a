"""The names at the left of the timeline's rows (:mod:`irgraph.run_timeline`), fitted to its
margin: indented a step per level of nesting (the passes a row is in, the header rows above
it), and a long node name cut at its end with an ellipsis while the pass it ran in stays
(``summarise_every_finding_… (each item 3)`` still says which item it was) and never runs
under the bars. The whole name is the row's tooltip (an SVG ``<title>``).

>>> fit_columns("summarise_every_finding_of_the_step", " (each item 3)", 30)
'summarise_every… (each item 3)'
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING

from irgraph.live import text_columns
from irgraph.run_files import middle, one_line, text_width
from irgraph.run_status import Execution, clean
from irgraph.run_timeline_rows import Row, where_of

if TYPE_CHECKING:
    import networkx as nx

__all__ = [
    "parts",
    "full_label",
    "fit_pixels",
    "fit_columns",
    "text_label",
    "INDENT",
    "MOST_INDENT",
]

#: Pixels a row is indented per level of nesting, and at most (many levels leave the name
#: room enough still).
INDENT, MOST_INDENT = 12.0, 96.0


def parts(row: Row, graph: nx.DiGraph | None, shown: int) -> tuple[str, str]:
    """A row's label as its name, which may be cut, and the rest, which tells rows of one
    node apart (``("define", " (each item 3)")``), the passes its headers name (the first
    ``shown``) left out."""
    if isinstance(row, Execution):
        where = where_of(row.path, graph, shown)
        return row.node, f" ({where})" if where else ""
    return row.parts(graph, shown)


def full_label(row: Row, graph: nx.DiGraph | None) -> str:
    """What the row is, every pass it ran in named: its tooltip."""
    return "".join(parts(row, graph, 0))


def _fit(name: str, tail: str, room: float, measure: Callable[[str], float], most: int) -> str:
    """``name + tail`` as wide as ``room`` at most by ``measure``: the name cut at its end
    first (the pass it ran in is what tells two rows of one node apart), then the tail in
    its middle, to half the room; no more than ``most`` characters of either fit."""
    if measure(name + tail) <= room:
        return name + tail
    if tail and measure(tail) > room / 2:
        tail = _cut_tail(tail, room / 2, measure, most)
        if measure(name + tail) <= room:
            return name + tail
    keep = min(len(name), most)
    while keep > 1 and measure(name[: keep - 1] + "\u2026" + tail) > room:
        keep -= 1
    return name[: keep - 1] + "\u2026" + tail


#: The end of a label's tail that says which pass or how many: `` item 3)``,
#: ``, 196 more items)``, ``, 2 more iterations, 20 bars)``.
_COUNT = re.compile(r"(?: [a-z]+ \d+|, \d+ more [a-z]+(?:, \d+ bars)?)\)$")


def _cut_tail(tail: str, room: float, measure: Callable[[str], float], most: int) -> str:
    """``tail`` as wide as ``room`` at most: the scope names in it cut at their end, the
    pass's number or the summary's count at its end kept whole (``" (define_ev… item 3)"``);
    in its middle when even that is too wide."""
    found = _COUNT.search(tail)
    if found is not None:
        head, count = tail[: found.start()], found.group()
        keep = len(head)
        while keep > 2 and measure(head[:keep] + "\u2026" + count) > room:
            keep -= 1
        if measure(head[:keep] + "\u2026" + count) <= room:  # " (…, 3 more items)" at least
            return head[:keep] + "\u2026" + count
    keep = min(len(tail), most)
    while keep > 1 and measure(middle(tail, keep)) > room:
        keep -= 1
    return middle(tail, keep)


def fit_pixels(name: str, tail: str, room: float, size: float = 11.0, bold: bool = False) -> str:
    """:func:`_fit` by the width the pictures' font draws at ``size`` (errs wide)."""
    lead = " " if tail.startswith(" ") else ""
    name, tail = " ".join(clean(name).split()), lead + " ".join(clean(tail).split())
    return _fit(name, tail, room, lambda text: text_width(text, size, bold), int(room / 3.7) + 2)


def fit_columns(name: str, tail: str, columns: int) -> str:
    """:func:`_fit` by terminal columns, each character that does not print escaped."""
    name, tail = one_line(name, 10**9), one_line(tail, 10**9)
    return _fit(name, tail, columns, text_columns, 2 * columns + 2)


def text_label(row: Row, graph: nx.DiGraph | None, depth: int, named: int) -> str:
    """A row's name in the text: indented two spaces a level (eight levels at most), cut to
    60 columns in all, the pass it ran in kept (``named``: the passes its headers name)."""
    indent = "  " * min(depth, 8)
    name, tail = parts(row, graph, named)
    return indent + fit_columns(name, tail, 60 - len(indent))
