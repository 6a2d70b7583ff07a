"""Mermaid flowcharts of pipeline graphs.

:func:`to_mermaid` draws the very graph the backends execute (``irgraph.to_graph``), as a list
of lines joined at the end, and never changes it:

- a composite root's ``"name (sequence)"`` or ``"name (parallel)"`` is the diagram's title
  (front matter: ``---`` / ``title: "..."`` / ``---`` before ``graph TD``), on one line:
  a long one keeps its beginning and end (:func:`~irgraph.backends.mermaid_labels.mermaid_title`);
- agents are boxes ``["name"]``, transforms parallelograms ``[/"name"/]``, gates hexagons
  ``{{"name"}}``, folded parts (``collapse=``) subroutines ``[["revise (loop) · 2 nodes"]]``;
- loop and map-over scopes are ``subgraph`` blocks holding their body; arrows to and from a
  scope attach to the block;
- a block the user named (``FanOut("checks")``) is a ``subgraph b1["checks (parallel)"]``
  around what it holds, its arrows meeting the nodes inside (:mod:`~irgraph.backends.clusters`);
- a route is a decision, the diamond ``{"triage (route on category)"}``, drawn beside its
  branches: an arrow to each branch entry labelled with the case, ``-->|"#quot;bug#quot;"|``,
  and arrows from each branch's exits to what follows the route;
- each pair of nodes gets one arrow: solid for control, labelled with the keys it carries
  (``-->|"findings"|``); an arrow that only carries keys is dashed, ``-. "findings" .->``.
  Keys go from a key's writer to its actual readers, never backwards.

``style="seed"`` draws the way the seed pages do, byte for byte: the root as a title node
(``[["name (sequence)"]]``, or the diamond ``{"name (parallel)"}`` with an arrow to each
branch), every control arrow unlabelled, then a dashed arrow for each pair carrying keys.

Mermaid ids are generated (``n1``, ``n2``, ...) and every label is written with mermaid's
entity codes (``#quot;``, ``#35;``, ...; :mod:`~irgraph.backends.mermaid_labels`), so any
agent name draws as itself and cannot be read as syntax; ``classes`` and ``class_defs`` are
checked and written by :mod:`~irgraph.backends.mermaid_classes`. The output depends only on
the graph, so it is the same in every process.

>>> from irgraph import Agent
>>> print(to_mermaid(Agent("a").writes("x") >> Agent("b").instruct("Use {x}.")))
---
title: "a_then_b (sequence)"
---
graph TD
n1["a"]
n2["b"]
n1 -->|"x"| n2
>>> print(to_mermaid(Agent("a").writes("x") >> Agent("b").instruct("Use {x}."), style="seed"))
graph TD
n1[["a_then_b (sequence)"]]
n2["a"]
n3["b"]
n2 --> n3
n2 -. "x" .-> n3
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial
from typing import TYPE_CHECKING, Any

from irgraph import checks
from irgraph.errors import IrgraphError, keyword_options
from irgraph.exporter_calls import called_as, exporter_options
from irgraph.graph import as_graph

from .clusters import Block, Container, drawn_children
from .folding import fold, folded_value
from .labels import BOXES, drawn_edges, drawn_parent, node_ids, node_label, root_title, scope_title
from .mermaid_classes import check_defined, checked_class_defs, checked_classes, class_lines
from .mermaid_labels import mermaid_text, mermaid_title

if TYPE_CHECKING:
    import networkx as nx

__all__ = ["to_mermaid", "mermaid_ids", "mermaid_text", "mermaid_title", "DIRECTIONS", "STYLES"]

DIRECTIONS = ("TD", "TB", "BT", "LR", "RL")
STYLES = ("default", "seed")

_SHAPES = {
    "agent": ('["', '"]'),
    "transform": ('[/"', '"/]'),
    "gate": ('{{"', '"}}'),
    "route": ('{"', '"}'),
    "folded": ('[["', '"]]'),
}


@keyword_options
def mermaid_ids(G: nx.DiGraph, *, style: str = "default", collapse: Any = None) -> dict[str, str]:
    """The mermaid id of each graph node, as :func:`to_mermaid` draws it with the same
    ``style`` and ``collapse``: ``n1``, ``n2``, ... in graph order (in the seed style ``n1`` is
    the root's title node when there is one); a folded node's members share its id."""
    H, drawn = fold(G, collapse)
    seed = isinstance(style, str) and style.lower() == "seed"
    ids = node_ids(H, start=2 if seed and root_title(H) is not None else 1)
    return {node: ids[drawn[node]] for node in G}


def _node_lines(
    G: nx.DiGraph,
    item: str | Block,
    ids: dict[str, str],
    children: dict[Container, list[str | Block]],
    pad: str,
    wrap: bool,
) -> list[str]:
    """The lines of a node, or of a box or cluster with what it holds, indented by ``pad``."""
    if isinstance(item, Block):
        mid, title = item.id, item.title
    else:
        data: dict[str, Any] = G.nodes[item]
        mid = ids[item]
        if data.get("kind") not in BOXES:
            start, end = _SHAPES.get(data.get("kind", "agent"), _SHAPES["agent"])
            return [f"{pad}{mid}{start}{mermaid_text(node_label(item, data), wrap=wrap)}{end}"]
        title = scope_title(item, data)
    lines = [f'{pad}subgraph {mid}["{mermaid_text(title, wrap=wrap, in_node=False)}"]']
    for child in children.get(item, ()):
        lines += _node_lines(G, child, ids, children, pad + "    ", wrap)
    lines.append(f"{pad}end")
    return lines


def _edge_lines(G: nx.DiGraph, ids: dict[str, str], data_edges: bool, seed: bool) -> list[str]:
    """One arrow per pair of nodes, labelled with its case and keys; in the seed style the
    control arrows, then a dashed arrow for each pair that carries keys, by key."""
    lines: list[str] = []
    dashed: list[tuple[str, str]] = []
    arrow = partial(mermaid_text, wrap=not seed, in_node=False)
    for u, v, control, keys, condition in drawn_edges(G):
        label = arrow(", ".join(keys)) if data_edges and keys else None
        if label is not None and (seed or not control):
            dashed.append((label, f'{ids[u]} -. "{label}" .-> {ids[v]}'))
            if not seed:
                lines.append(dashed.pop()[1])
        words = [arrow(condition)] if condition is not None else []
        words += [label] if label is not None and not seed else []
        if control and words:
            lines.append(f'{ids[u]} -->|"{" · ".join(words)}"| {ids[v]}')
        elif control:
            lines.append(f"{ids[u]} --> {ids[v]}")
    return lines + [line for _, line in sorted(dashed, key=lambda pair: pair[0])]


@exporter_options
@keyword_options
def to_mermaid(
    G_or_pipeline: Any,
    *,
    direction: str = "TD",
    data_edges: bool = True,
    style: str = "default",
    collapse: Any = None,
    classes: Mapping[str, str] | None = None,
    class_defs: Mapping[str, str | Mapping[str, str | int | float]] | None = None,
) -> str:
    """Return the mermaid flowchart of a pipeline graph, builder, IR node or compiled pipeline.

    ``direction`` is mermaid's (``"TD"`` top-down, ``"LR"`` left-right, ..., in any case);
    ``data_edges=False`` leaves out the keys (and the dashed arrows that carry only keys).
    ``style="seed"`` (in any case) draws the seed pages' way: the root as a title node, and
    every pair that carries keys as a second, dashed arrow. ``collapse`` folds parts into one
    node each: a depth (``0`` folds every part the root holds; depths count loops, map-overs,
    routes and named ``Pipeline``/``FanOut`` blocks, not the unnamed blocks ``>>`` and ``|``
    make) or ids of loops, map-overs, routes and names of blocks (see
    :mod:`irgraph.backends.folding`).

    ``classes`` maps graph node ids to mermaid class names (letters, digits and ``_``; not a
    mermaid keyword such as ``end`` or ``class``, nor ``default``), defined by ``class_defs``:
    class name to CSS, a string of declarations (``"fill:#fdd,stroke:#c00"``; ``;`` separates
    too) or a dict (``{"fill": "#fdd", "stroke-width": "2px"}``), written with commas. A node
    not in the graph, a keyword, or CSS mermaid cannot read (a line break, parentheses,
    quotes, ...) raises :class:`~irgraph.errors.IrgraphError`.

    Labels are written for mermaid's HTML labels (its default): where the page drawing the
    chart sets ``htmlLabels: false``, a long name's ``<wbr>`` tags (and, in node labels,
    entity codes) show as text; ``style="seed"`` writes no tags (docs/guides/exporters.md).
    """
    if not isinstance(direction, str) or direction.upper() not in DIRECTIONS:  # "lr" is LR
        raise IrgraphError(
            f"direction must be one of {', '.join(DIRECTIONS)} (got {direction!r}); "
            "e.g. direction='LR' for left to right."
        )
    direction = direction.upper()
    style = style.lower() if isinstance(style, str) else style  # "Seed" is seed
    if style not in STYLES:
        raise IrgraphError(
            f"style must be one of {', '.join(map(repr, STYLES))} (got {style!r}); "
            "style='seed' draws the seed pages' way."
        )
    checks.flag.check(data_edges, f"the data_edges argument of {called_as('to_mermaid()')}")
    seed = style == "seed"
    graph = as_graph(G_or_pipeline)
    given = checked_classes(graph, classes)
    defs = checked_class_defs(class_defs)
    check_defined(given, defs)
    G, drawn = fold(graph, collapse)
    ids = node_ids(G, start=2 if seed and root_title(G) is not None else 1)
    children = drawn_children(graph, G)
    lines = [f"graph {direction}"]
    title = root_title(G)
    if title is not None and seed:
        shape = '{"%s"}' if title.endswith("(parallel)") else '[["%s"]]'
        lines.append("n1" + shape % mermaid_text(title, wrap=False))
    for node in children.get(None, ()):
        lines += _node_lines(G, node, ids, children, "", not seed)
    if seed and title is not None and title.endswith("(parallel)"):
        lines += [
            f"n1 --> {ids[node]}"
            for node in G
            if drawn_parent(G, node) is None and G.in_degree(node) == 0
        ]
    # Edges as each scope sees them: a scope is one box, so what enters or leaves its body is
    # drawn to or from the box.
    lines += _edge_lines(G, ids, data_edges, seed)
    lines += class_lines(ids, folded_value(G, drawn, given), defs)
    if title is not None and not seed:  # front matter: mermaid draws it as the title
        lines[:0] = ["---", mermaid_title(title), "---"]
    return "\n".join(lines)
