"""Mermaid flowcharts of pipeline graphs.

:func:`to_mermaid` draws the very graph the backends execute (``irgraph.to_graph``), as a list
of lines joined at the end, and never changes it:

- a composite root gets a title node: ``[["name (sequence)"]]``, or for a parallel root the
  diamond ``{"name (parallel)"}`` with an arrow to each branch;
- agents are boxes ``["name"]``, transforms parallelograms ``[/"name"/]``, gates hexagons
  ``{{"name"}}``;
- loop and map-over scopes are ``subgraph`` blocks holding their body; arrows to and from a
  scope attach to the block;
- a route is a decision, the diamond ``{"triage (route on category)"}``, drawn beside its
  branches: an arrow to each branch entry labelled with the case, ``-->|"#quot;bug#quot;"|``,
  and arrows from each branch's exits to what follows the route;
- control edges are ``-->``; data edges are dashed and carry their keys,
  ``-. "findings" .->``, and exist only where the graph has them: from a key's writer to its
  actual readers, never backwards.

Mermaid ids are generated (``n1``, ``n2``, ...) and every label is written with mermaid's
entity codes (``#quot;``, ``#35;``, ...), so any agent name draws as itself and cannot be
read as syntax. The output depends only on the graph, so it is the same in every process.

>>> from irgraph import Agent
>>> print(to_mermaid(Agent("a").writes("x") >> Agent("b").instruct("Use {x}.")))
graph TD
n1[["a_then_b (sequence)"]]
n2["a"]
n3["b"]
n2 --> n3
n2 -. "x" .-> n3
"""

from __future__ import annotations

import unicodedata
from typing import TYPE_CHECKING, Any

from irgraph import checks
from irgraph.errors import IrgraphError
from irgraph.graph import as_graph

from .labels import BOXES, drawn_edges, drawn_parent, label_text, node_ids, root_title, scope_title

if TYPE_CHECKING:
    import networkx as nx

__all__ = ["to_mermaid", "mermaid_ids", "mermaid_text", "DIRECTIONS"]

DIRECTIONS = ("TD", "TB", "BT", "LR", "RL")

_SHAPES = {
    "agent": ('["', '"]'),
    "transform": ('[/"', '"/]'),
    "gate": ('{{"', '"}}'),
    "route": ('{"', '"}'),
}
_NAMED = {'"': "#quot;", "#": "#35;", "<": "#lt;", ">": "#gt;", "&": "#amp;"}
# Even inside quotes mermaid reads ``%%{`` as a directive, a leading backtick as markdown,
# ``style...:...#...;`` as a style line, ``*`` as emphasis (``_`` only sometimes: see
# _emphasis_openers), and a backslash before an entity code as an escape.
_NUMBERED = frozenset("%`:*\\")
# Mermaid's own placeholders for entity codes; in a label they would turn into "&" and ";".
_PLACEHOLDERS = (("\ufb02\u00b0", "\ufb02\u2060\u00b0"), ("\u00b6\u00df", "\u00b6\u2060\u00df"))


def mermaid_text(text: str) -> str:
    """Write ``text`` (as :func:`~irgraph.backends.labels.label_text` shows it) for a quoted mermaid
    label: entity codes for anything mermaid could read as syntax or that does not print
    (a line break too: ``<br>`` would make mermaid decode the codes before reading markdown,
    so mermaid draws it as a space). The two character pairs
    mermaid uses internally as entity placeholders (``ﬂ°``, ``¶ß``) get an invisible word
    joiner between them, the one case where the drawn text is not exactly ``text``.

    >>> mermaid_text('say "hi" #1')
    'say #quot;hi#quot; #35;1'
    """
    text = label_text(text)
    for pair, joined in _PLACEHOLDERS:
        text = text.replace(pair, joined)
    escaped = _emphasis_openers(text)
    out: list[str] = []
    for i, ch in enumerate(text):
        if i in escaped:
            out.append("#95;")
        elif ch in _NAMED:
            out.append(_NAMED[ch])
        elif ch in _NUMBERED or not ch.isprintable():
            out.append(f"#{ord(ch)};")
        else:
            out.append(ch)
    return "".join(out)


def _side(text: str, i: int) -> str:
    """Markdown's class of the character at ``i`` as written: space, punctuation or word."""
    if i < 0 or i >= len(text):
        return "space"
    ch = text[i]
    if ch in _NAMED or ch in _NUMBERED or not ch.isprintable():
        return "punct"  # written as an entity code
    if ch.isspace():
        return "space"
    return "punct" if unicodedata.category(ch)[0] in "PS" else "word"


def _emphasis_openers(text: str) -> set[int]:
    """Indexes of the underscores to write as ``#95;``.

    Mermaid reads labels as markdown, where ``_`` runs can open or close emphasis (CommonMark's
    flanking rules). Writing every run that could open, and has a run after it that could
    close, as entity codes leaves nothing to pair, while ``snake_case`` and ``a_..._b`` stay
    as typed.
    """
    runs: list[tuple[int, int, bool, bool]] = []
    i = 0
    while i < len(text):
        if text[i] != "_":
            i += 1
            continue
        end = i
        while end < len(text) and text[end] == "_":
            end += 1
        before, after = _side(text, i - 1), _side(text, end)
        left = after != "space" and (after != "punct" or before != "word")
        right = before != "space" and (before != "punct" or after != "word")
        runs.append((i, end, left and (not right or before == "punct"),
                     right and (not left or after == "punct")))  # fmt: skip
        i = end
    escaped: set[int] = set()
    for n, (start, end, opens, _) in enumerate(runs):
        if opens and any(closes for _, _, _, closes in runs[n + 1 :]):
            escaped.update(range(start, end))
    return escaped


def mermaid_ids(G: nx.DiGraph) -> dict[str, str]:
    """The mermaid id of each graph node (``n1`` is the root title when there is one)."""
    return node_ids(G, start=2 if root_title(G) is not None else 1)


def _children(G: nx.DiGraph) -> dict[str | None, list[str]]:
    """The nodes drawn in each box (``None``: the top), in graph order."""
    children: dict[str | None, list[str]] = {}
    for node in G.nodes:
        children.setdefault(drawn_parent(G, node), []).append(node)
    return children


def _node_lines(
    G: nx.DiGraph,
    node: str,
    ids: dict[str, str],
    children: dict[str | None, list[str]],
    pad: str,
) -> list[str]:
    data: dict[str, Any] = G.nodes[node]
    mid = ids[node]
    if data.get("kind") in BOXES:
        lines = [f'{pad}subgraph {mid}["{mermaid_text(scope_title(node, data))}"]']
        for child in children.get(node, ()):
            lines += _node_lines(G, child, ids, children, pad + "    ")
        lines.append(f"{pad}end")
        return lines
    kind = data.get("kind", "agent")
    start, end = _SHAPES.get(kind, _SHAPES["agent"])
    text = scope_title(node, data) if kind == "route" else node
    return [f"{pad}{mid}{start}{mermaid_text(text)}{end}"]


def to_mermaid(G_or_pipeline: Any, *, direction: str = "TD", data_edges: bool = True) -> str:
    """Return the mermaid flowchart of a pipeline graph, builder or IR node.

    ``direction`` is mermaid's (``"TD"`` top-down, ``"LR"`` left-right, ...);
    ``data_edges=False`` leaves out the dashed key arrows.
    """
    if direction not in DIRECTIONS:
        raise IrgraphError(
            f"direction must be one of {', '.join(DIRECTIONS)} (got {direction!r}); "
            "e.g. direction='LR' for left to right."
        )
    checks.flag.check(data_edges, "the data_edges argument of to_mermaid()")
    G = as_graph(G_or_pipeline)
    ids = mermaid_ids(G)
    children = _children(G)
    lines = [f"graph {direction}"]
    title = root_title(G)
    if title is not None:
        shape = '{"%s"}' if title.endswith("(parallel)") else '[["%s"]]'
        lines.append("n1" + shape % mermaid_text(title))
    for node in children.get(None, ()):
        lines += _node_lines(G, node, ids, children, "")
    if title is not None and title.endswith("(parallel)"):
        lines += [
            f"n1 --> {ids[node]}" for node in children.get(None, ()) if G.in_degree(node) == 0
        ]
    # Edges as each scope sees them: a scope is one box, so what enters or leaves its body is
    # drawn to or from the box.
    edges = list(drawn_edges(G))
    for u, v, control, _, condition in edges:
        if condition is not None:
            lines.append(f'{ids[u]} -->|"{mermaid_text(condition)}"| {ids[v]}')
        elif control:
            lines.append(f"{ids[u]} --> {ids[v]}")
    if data_edges:
        for u, v, _, keys, _ in edges:
            if keys:
                label = mermaid_text(", ".join(keys))
                lines.append(f'{ids[u]} -. "{label}" .-> {ids[v]}')
    return "\n".join(lines)
