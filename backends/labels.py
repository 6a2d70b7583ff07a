"""What the exporters write for nodes: drawing ids, label text and scope titles.

Shared by :mod:`irgraph.backends.mermaid` and :mod:`irgraph.backends.dot`, so both draw the
same words for the same graph and differ only in syntax and escaping.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
    import networkx as nx

__all__ = [
    "node_ids",
    "label_text",
    "wrapped",
    "word_breaks",
    "elided",
    "LABEL_WIDTH",
    "scope_title",
    "node_label",
    "root_title",
    "drawn_parent",
    "drawn_edges",
    "DrawnEdge",
]

#: Scopes drawn as a box around their body; a route is drawn as a decision among its
#: branches, whose nodes sit at the route's own level.
BOXES = ("loop", "map_over")


def node_ids(G: nx.DiGraph, *, start: int = 1) -> dict[str, str]:
    """Drawing ids ``n1``, ``n2``, ... for the graph's nodes, in the graph's (reading) order.

    Graph ids are free text (``"writer#2"``, any agent name); diagram languages want plain
    identifiers, so exporters number the nodes and put the real id in the label.

    >>> import networkx as nx
    >>> node_ids(nx.DiGraph([("a", "b")]))
    {'a': 'n1', 'b': 'n2'}
    """
    return {node: f"n{i}" for i, node in enumerate(G.nodes, start)}


def label_text(text: str) -> str:
    """The text a diagram shows for ``text``: line breaks made ``\\n``; control characters
    (other than line breaks and tabs) and lone surrogates, which have no glyph and which
    Graphviz and browsers mangle, become U+FFFD. Everything else is kept as it is.

    >>> label_text("a\\r\\nb\\x00")
    'a\\nb\\ufffd'
    """
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if text.isprintable():
        return text
    return "".join(
        "\ufffd" if unicodedata.category(ch) in ("Cc", "Cs") and ch not in "\n\t" else ch
        for ch in text
    )


#: How wide a label's line may be, in characters (a wide CJK one counts two), before it is
#: broken: about the 200 pixels at which mermaid wraps a label itself.
LABEL_WIDTH = 28

#: A label's pieces: runs of spaces, and words cut after ``_``, ``-``, ``/`` or ``.``, where
#: a long ``snake_case`` or dotted name may break; a folded part's count (``· 2 nodes``) is
#: one piece, kept whole.
_PIECES = re.compile(r"· \d+ nodes?$| +|[^ _/.-]*[_/.-]+|[^ _/.-]+")

#: A line's words (runs of anything but spaces), its spaces, and a folded part's count.
_WORDS = re.compile(r"· \d+ nodes?$| +|[^ ]+")

#: A word holding a key and its field (``verdict.category``, in ``(route on verdict.category)``):
#: kept whole when it fits on a line, as a key path read broken after its dot reads wrong.
_KEY_PATH = re.compile(r"\w\.\w")


def _cells(text: str) -> int:
    """How many columns ``text`` takes: two for a wide (CJK) character, else one."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def wrapped(text: str, width: int = LABEL_WIDTH) -> str:
    """``text`` with each line longer than ``width`` broken at spaces (a space where a line
    breaks is dropped) or after ``_``, ``-``, ``/`` and ``.``, so a long name draws as a
    block of lines rather than a very wide box; a word longer than a line is broken where
    its next ``CamelCase`` word or a number begins too (:func:`_cased`); a dotted key path
    (``verdict.category``) is broken only when it is longer than a line. Graphviz never
    breaks a label itself; a word with nowhere to break stays whole.

    >>> print(wrapped("research the topic and summarise every source"))
    research the topic and
    summarise every source
    >>> print(wrapped("summarise_every_source_with_citations"))
    summarise_every_source_with_
    citations
    >>> print(wrapped("SummarizeQuarterlyFinancialReportsAgent"))
    SummarizeQuarterlyFinancial
    ReportsAgent
    >>> print(wrapped("triage (route on verdict.category)"))
    triage (route on
    verdict.category)
    """
    lines: list[str] = []
    for line in text.split("\n"):
        if _cells(line) <= width:
            lines.append(line)
            continue
        current, spaces = "", ""
        for piece in _pieces(line, width, width):
            if piece.startswith(" "):
                spaces = piece
                continue
            if current.strip() and _cells(current + spaces + piece) > width:
                lines.append(current)
                current = piece
            else:
                current += spaces + piece
            spaces = ""
        lines.append(current + spaces)
    return "\n".join(lines)


def _pieces(line: str, width: int, cased_over: int) -> list[str]:
    """The pieces :func:`wrapped` may break ``line`` between: its words cut after ``_``,
    ``-``, ``/`` or ``.``, but a word holding a dotted key path that fits on a line whole; a
    word wider than ``cased_over`` columns is cut at its case changes and digits too."""
    pieces: list[str] = []
    for word in _WORDS.findall(line):
        if _KEY_PATH.search(word) and _cells(word) <= width:
            pieces.append(word)
        elif _cells(word) > cased_over:
            pieces += [part for piece in _PIECES.findall(word) for part in _cased(piece)]
        else:
            pieces += _PIECES.findall(word)
    return pieces


def _cased(piece: str) -> list[str]:
    """``piece`` cut where a ``CamelCase`` or ``camelCase`` name's next word begins: before
    a capital after a small letter or digit (``SummarizeReports``, ``gpt4Agent``), before
    the last capital of a run that a small letter follows (``HTTPServer``), and before a
    digit after a word of two letters or more (``report2024``; ``x3`` and ``V2`` stay whole).

    >>> _cased("parseHTTPServer2024ResponseV2")
    ['parse', 'HTTP', 'Server', '2024', 'Response', 'V2']
    """
    cuts = [0]
    for i in range(1, len(piece)):
        before, ch = piece[i - 1], piece[i]
        if (
            (ch.isupper() and (before.islower() or before.isdigit()))
            or (ch.isupper() and before.isupper() and piece[i + 1 : i + 2].islower())
            or (ch.isdigit() and before.isalpha() and i - cuts[-1] >= 2)
        ):
            cuts.append(i)
    return [piece[a:b] for a, b in zip(cuts, [*cuts[1:], len(piece)], strict=True)]


def word_breaks(text: str, longer_than: int) -> list[int]:
    """Where a drawing may break ``text`` inside a word (a run without spaces) wider than
    ``longer_than`` columns: the indexes :func:`wrapped` may break such a word before (after
    ``_``, ``-``, ``/`` or ``.``, and where a ``CamelCase`` word or a number begins; a
    dotted key path that fits on a line is kept whole).

    For pictures whose renderer wraps lines at spaces itself (mermaid), so a long
    ``snake_case`` or ``CamelCase`` name can wrap where the DOT picture breaks it.

    >>> word_breaks("summarise_every_source", 12)
    [10, 16]
    >>> word_breaks("SummarizeEverySource", 12)
    [9, 14]
    >>> word_breaks("short_name and words", 12)
    []
    """
    breaks: list[int] = []
    offset = 0
    for line in text.split("\n"):
        for word in _WORDS.finditer(line):
            if word.group().startswith(" ") or _cells(word.group()) <= longer_than:
                continue
            at = offset + word.start()
            for piece in _pieces(word.group(), LABEL_WIDTH, longer_than)[:-1]:
                at += len(piece)
                breaks.append(at)
        offset += len(line) + 1
    return breaks


#: A title's kind at its end, ``" (sequence)"``, kept whole when the title is shortened.
_KIND = re.compile(r" \([^()\n]*\)$")


def elided(text: str, width: int) -> str:
    """``text`` on one line of at most ``width`` columns, for a picture that draws a line
    as it is, however long (mermaid's title): a longer one keeps its beginning and its end,
    cut where :func:`wrapped` may break them, with ``…`` for the middle; a title's kind at
    its end (``" (sequence)"``) is kept whole.

    >>> elided("a_then_b (sequence)", 56)
    'a_then_b (sequence)'
    >>> elided("summarise_feedback_then_check_claims_then_WriteQuarterlyReport (sequence)", 56)
    'summarise_feedback_then_…QuarterlyReport (sequence)'
    """
    if _cells(text) <= width:
        return text
    kind = _KIND.search(text)
    end = kind.group() if kind is not None and _cells(kind.group()) <= width // 2 else ""
    name = text[: len(text) - len(end)]
    pieces = _pieces(name, width, 0)
    budget = width - _cells(end) - 3  # the ellipsis and the spaces around it
    head: list[str] = []
    tail: list[str] = []
    used, first, last, turn = 0, 0, len(pieces), 0
    while first < last:
        at = first if turn % 2 == 0 else last - 1
        if used + _cells(pieces[at]) > budget:
            other = last - 1 if turn % 2 == 0 else first
            if other == at or used + _cells(pieces[other]) > budget:
                break
            turn += 1
            continue
        used += _cells(pieces[at])
        if turn % 2 == 0:
            head.append(pieces[at])
            first += 1
        else:
            tail.insert(0, pieces[at])
            last -= 1
        turn += 1
    before, after = "".join(head), "".join(tail)
    if not before:  # its first piece is longer than the line: cut it by characters
        after = after or _fitting(name[::-1], budget // 2)[::-1]
        before = _fitting(name, budget - _cells(after))
    spaced_before = before.endswith(" ") or name[len(before)] == " "
    spaced_after = after.startswith(" ") or name[len(name) - len(after) - 1] == " "
    return (
        before.rstrip(" ") + (" …" if spaced_before else "…")
        + (" " if spaced_after else "") + after.lstrip(" ") + end
    )  # fmt: skip


def _fitting(text: str, width: int) -> str:
    """The longest beginning of ``text`` at most ``width`` columns wide."""
    used = 0
    for i, ch in enumerate(text):
        used += _cells(ch)
        if used > width:
            return text[:i]
    return text


def scope_title(node: str, data: dict[str, Any]) -> str:
    """The title of a loop or map-over scope, e.g. ``"refine (loop, max 3, until done)"``,
    or of a route's decision, ``"triage (route on category)"``."""
    kind = data.get("kind")
    if kind == "route":
        on = data.get("on")
        return f"{node} (route on {on})" if on is not None else f"{node} (route)"
    if kind == "loop":
        parts = ["loop"]
        if data.get("max_iterations") is not None:
            parts.append(f"max {data['max_iterations']}")
        if data.get("until") is not None and data.get("until_equals"):
            value = json.dumps(data["until_equals"][0], ensure_ascii=False)
            parts.append(f"until {data['until']} = {value}")
        elif data.get("until") is not None:
            parts.append(f"until {data['until']}")
        elif data.get("until_function") is not None:
            parts.append(f"until {data['until_function'].rpartition(':')[2]}")
        return f"{node} ({', '.join(parts)})"
    if kind == "map_over":
        over = data.get("over")
        what = f"map over {over} as {data.get('item')}" if over else "map over"
        return f"{node} ({what})"
    return f"{node} ({kind})"


def node_label(node: str, data: dict[str, Any]) -> str:
    """The text drawn for a node that is not a box: its id, a route's decision title, or a
    folded part's title (see :mod:`irgraph.backends.folding`)."""
    kind = data.get("kind")
    if kind == "route":
        return scope_title(node, data)
    if kind == "folded":
        return str(data["title"])
    return node


def root_title(G: nx.DiGraph) -> str | None:
    """``"name (sequence)"`` or ``"name (parallel)"`` for a composite root, else ``None``."""
    tree = G.graph.get("tree")
    if isinstance(tree, dict) and tree.get("kind") in ("sequence", "parallel"):
        return f"{tree['name']} ({tree['kind']})"
    return None


def drawn_parent(G: nx.DiGraph, node: str) -> str | None:
    """The box ``node`` is drawn in: its nearest enclosing loop or map-over (``None`` at the
    top level). A route's branches are drawn beside the route, not inside a box for it."""
    parent: str | None = G.nodes[node]["parent"]
    while parent is not None and G.nodes[parent].get("kind") not in BOXES:
        parent = G.nodes[parent]["parent"]
    return parent


def _outward(G: nx.DiGraph, node: str) -> list[str]:
    """``node`` and the boxes around it, innermost first."""
    chain = [node]
    while (parent := drawn_parent(G, chain[-1])) is not None:
        chain.append(parent)
    return chain


class DrawnEdge(NamedTuple):
    """One arrow of a picture: ``control`` drawn solid, ``keys`` the state keys it carries,
    ``condition`` the case label of a route's arrow to a branch (else ``None``)."""

    u: str
    v: str
    control: bool
    keys: list[str]
    condition: str | None


def _skipped_cases(G: nx.DiGraph, route: str) -> str | None:
    """The labels of a route's cases that have no node (an empty branch, a problem
    ``validate`` reports), or ``None`` when every case has a branch."""
    taken = {G.nodes[n]["branch"] for n in G.succ[route] if G.nodes[n]["parent"] == route}
    labels = [
        case.get("label", "?") for i, case in enumerate(G.nodes[route]["cases"]) if i not in taken
    ]
    return ", ".join(labels) if labels else None


def drawn_edges(G: nx.DiGraph) -> Iterator[DrawnEdge]:
    """The arrows a picture draws, in graph order: a loop or map-over is one box, so an edge
    joins its ends' enclosing nodes in the innermost box that holds both (a read inside a
    loop from a writer outside is an arrow into the loop; a writer in a nested box is that
    box); arrows between a box and its own body are not drawn, and arrows that land on one
    pair merge.

    A route is a decision drawn beside its branches: its arrow to each branch entry carries
    the case's ``condition``, and each branch's exits lead to what follows the route. The
    graph's own edge from the route to what follows is not drawn (a branch runs in between),
    unless a case has no branch; then it is that case's arrow.

    >>> from irgraph import Agent, Loop, to_graph
    >>> inner = Loop("inner").step(Agent("w").writes("x")).max_iterations(2)
    >>> G = to_graph(Loop("outer").step(inner >> Agent("r").instruct("{x}")).max_iterations(2))
    >>> list(drawn_edges(G))
    [DrawnEdge(u='inner', v='r', control=True, keys=['x'], condition=None)]
    """
    merged: dict[tuple[str, str], tuple[bool, set[str], str | None]] = {}
    for u, v, data in G.edges(data=True):
        control, condition = bool(data["control"]), data.get("condition")
        if G.nodes[u]["kind"] == "route" and condition is None and control:
            condition = _skipped_cases(G, u)
            control = condition is not None  # else the branches stand between
        up, down = _outward(G, u), _outward(G, v)
        if u in down or v in up:
            continue  # a box and its own body
        around_v = set(down[1:])
        shared = next((s for s in up[1:] if s in around_v), None)
        ends = (
            next(a for a in up if drawn_parent(G, a) == shared),
            next(b for b in down if drawn_parent(G, b) == shared),
        )
        if ends != (u, v):
            condition = None  # lifted to a box: the box's arrow, not the route's
        old_control, keys, old_condition = merged.get(ends, (False, set(), None))
        merged[ends] = (
            old_control or control,
            keys | set(data["keys"]),
            old_condition or condition,
        )
    for (u, v), (control, keys, condition) in merged.items():
        if control or keys:
            yield DrawnEdge(u, v, control, sorted(keys), condition if control else None)
