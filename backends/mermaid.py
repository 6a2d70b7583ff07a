"""Mermaid flowcharts of pipeline graphs.

:func:`to_mermaid` draws the very graph the backends execute (``irgraph.to_graph``), as a list
of lines joined at the end, and never changes it:

- a composite root's ``"name (sequence)"`` or ``"name (parallel)"`` is the diagram's title
  (front matter: ``---`` / ``title: "..."`` / ``---`` before ``graph TD``);
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
entity codes (``#quot;``, ``#35;``, ...), so any agent name draws as itself and cannot be
read as syntax. The output depends only on the graph, so it is the same in every process.

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

import json
import re
import unicodedata
from collections.abc import Mapping
from functools import partial
from typing import TYPE_CHECKING, Any

from irgraph import checks
from irgraph.errors import IrgraphError, keyword_options
from irgraph.exporter_calls import called_as, exporter_options
from irgraph.graph import as_graph

from .clusters import Block, Container, drawn_children
from .export_options import check_graph_node, checked_mapping
from .folding import fold, folded_value
from .labels import (
    BOXES,
    drawn_edges,
    drawn_parent,
    label_text,
    node_ids,
    node_label,
    root_title,
    scope_title,
    word_breaks,
)

if TYPE_CHECKING:
    import networkx as nx

__all__ = ["to_mermaid", "mermaid_ids", "mermaid_text", "mermaid_title", "DIRECTIONS", "STYLES"]

DIRECTIONS = ("TD", "TB", "BT", "LR", "RL")
STYLES = ("default", "seed")
_CLASS_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")  # fullmatch: "$" would let "done\n" pass
# Words mermaid's flowchart lexer reads as keywords where a class name goes, so a chart using
# one as a class cannot be parsed (checked with mermaid 11.12; case-sensitive: "End" is fine).
_KEYWORDS = frozenset(
    "end graph flowchart subgraph style linkStyle classDef class click call href interpolate "
    "_self _blank _parent _top".split()
)
# A CSS declaration list as mermaid's classDef reads it: "property:value" pairs, separated by
# commas; values of letters, digits, spaces and # . % ! + / _ - (mermaid cannot parse
# parentheses, quotes, braces, <, =, @, ...; a line break would start a new mermaid statement).
_CSS_PROPERTY = re.compile(r"-?[A-Za-z][A-Za-z0-9-]*")
_CSS_VALUE = re.compile(r"[A-Za-z0-9#.%!+/_ -]*[A-Za-z0-9#.%!+/_-]")
_CSS_EXAMPLE = "e.g. 'fill:#fdd,stroke:#c00' or {'fill': '#fdd', 'stroke-width': '2px'}"

_SHAPES = {
    "agent": ('["', '"]'),
    "transform": ('[/"', '"/]'),
    "gate": ('{{"', '"}}'),
    "route": ('{"', '"}'),
    "folded": ('[["', '"]]'),
}
_NAMED = {'"': "#quot;", "#": "#35;", "<": "#lt;", ">": "#gt;", "&": "#amp;"}
# Even inside quotes mermaid reads ``%%{`` as a directive, a leading backtick as markdown,
# ``style...:...#...;`` as a style line, ``*`` as emphasis (``_`` only sometimes: see
# _emphasis_openers), and a backslash before an entity code as an escape.
_NUMBERED = frozenset("%`:*\\")
# Mermaid's own placeholders for entity codes; in a label they would turn into "&" and ";".
_PLACEHOLDERS = (("\ufb02\u00b0", "\ufb02\u2060\u00b0"), ("\u00b6\u00df", "\u00b6\u2060\u00df"))
_LONG_WORD = 20  # a word wider than this many columns (~200 px, mermaid's box) gets <wbr> tags
_TITLE_FORMS = str.maketrans({"&": "\uff06", "<": "\uff1c", ">": "\uff1e"})


def mermaid_text(text: str, *, wrap: bool = True, in_node: bool = True) -> str:
    """Write ``text`` (as :func:`~irgraph.backends.labels.label_text` shows it) for a quoted mermaid
    label: entity codes for anything mermaid could read as syntax or that does not print.
    The pairs mermaid uses internally as entity placeholders (``ﬂ°``, ``¶ß``) get an invisible
    word joiner between them, the one case where the drawn text is not exactly ``text``.

    Mermaid wraps at spaces only, so a word wider than its 200-pixel boxes (a long snake_case
    name) gets ``<wbr>`` tags where DOT may break it: no character more is drawn or copied.
    With a tag mermaid decodes a node's (``in_node``) entity codes before markdown, so ``_ * `
    \\`` get a backslash there and a line break is drawn as one (else as a space). The seed
    style (``wrap=False``) has no tags.

    >>> mermaid_text('say "hi" #1')
    'say #quot;hi#quot; #35;1'
    >>> mermaid_text("summarise_customer_feedback")
    'summarise_<wbr>customer_<wbr>feedback'
    """
    text = label_text(text)
    for pair, joined in _PLACEHOLDERS:
        text = text.replace(pair, joined)
    breaks = set(word_breaks(text, _LONG_WORD) if wrap else ())
    escaped, backslash = _emphasis_openers(text, breaks), bool(breaks) and in_node
    out: list[str] = []
    for i, ch in enumerate(text):
        out += ["<wbr>"] if i in breaks else []
        if i in escaped:
            out.append("#92;_" if backslash else "#95;")
        elif backslash and ch in "*`\\":  # markdown, read after the codes are decoded
            out.append(f"#92;#{ord(ch)};")
        elif ch in _NAMED:
            out.append(_NAMED[ch])
        elif ch in _NUMBERED or not ch.isprintable():
            out.append(f"#{ord(ch)};")
        else:
            out.append(ch)
    return "".join(out)


def mermaid_title(text: str) -> str:
    """The front-matter line that makes ``text`` the diagram's title. Mermaid shows the title
    as text after passing it through an HTML sanitizer, which would show ``&`` as ``&amp;``
    and drop what looks like a tag, so ``&``, ``<`` and ``>`` are written as their
    full-width forms (U+FF06, U+FF1C, U+FF1E), and mermaid's placeholder pairs get a word
    joiner.

    >>> mermaid_title('R&D "plan" (sequence)') == 'title: "R\\uff06D \\\\"plan\\\\" (sequence)"'
    True
    """
    text = label_text(text)
    for pair, joined in _PLACEHOLDERS:
        text = text.replace(pair, joined)
    text = text.translate(_TITLE_FORMS)
    return f"title: {json.dumps(text, ensure_ascii=False)}"


def _side(text: str, i: int, breaks: set[int], before: bool) -> str:
    """Markdown's class of ``text[i]``, ``before`` or after a ``_`` run: space, punct or word."""
    if i < 0 or i >= len(text):
        return "space"
    if (i + 1 if before else i) in breaks:
        return "punct"  # the tag's > or <
    ch = text[i]
    if ch in _NAMED or ch in _NUMBERED or not ch.isprintable():
        return "punct"  # written as an entity code
    if ch.isspace():
        return "space"
    return "punct" if unicodedata.category(ch)[0] in "PS" else "word"


def _emphasis_openers(text: str, breaks: set[int]) -> set[int]:
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
        before, after = _side(text, i - 1, breaks, True), _side(text, end, breaks, False)
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


def _check_class_name(name: Any, where: str) -> str:
    """``name`` if mermaid reads it as a class name; else an error naming ``where`` it came
    from."""
    if not isinstance(name, str) or not _CLASS_NAME.fullmatch(name):
        raise IrgraphError(
            f"The mermaid class name {name!r} ({where}) is not a plain identifier; use "
            "letters, digits and underscores, e.g. 'failed' or 'not_reached'."
        )
    if name in _KEYWORDS:
        raise IrgraphError(
            f"The mermaid class name {name!r} ({where}) is a mermaid keyword, so mermaid "
            f"could not parse the chart; pick another name, e.g. '{name}_step' (keywords are "
            f"case-sensitive, so {name.capitalize()!r} works too)."
        )
    if name == "default":
        raise IrgraphError(
            f"The mermaid class name 'default' ({where}) is the class mermaid gives every "
            "node, so it would colour the whole chart; pick another name, e.g. 'plain'."
        )
    return name


def _checked_classes(G: nx.DiGraph, classes: Any) -> dict[str, str]:
    """``classes`` checked: a mapping from nodes of ``G`` to mermaid class names."""
    if classes is None:
        return {}
    example = "e.g. classes={'writer': 'failed'}, with class_defs={'failed': 'fill:#fdd'}"
    given = checked_mapping(classes, "classes", "graph nodes to mermaid class names", example)
    for node, name in given.items():
        check_graph_node(G, node, "classes")
        _check_class_name(name, f"the class of node {node!r}")
    return dict(classes)


def _css_problem(css: str) -> str | None:
    """What is wrong with the CSS declaration list ``css``, if anything."""
    if "\n" in css or "\r" in css:
        return "it has a line break, which would start a new mermaid statement"
    if not css.isprintable():
        return "it has a character that does not print"
    pieces = [piece.strip() for piece in re.split(r"[,;]", css)]
    if pieces and not pieces[-1]:
        pieces.pop()  # a separator at the end
    if not pieces:
        return "it is empty"
    for piece in pieces:
        prop, colon, value = (part.strip() for part in piece.partition(":"))
        if not colon and pieces.index(piece) > 0 and _CSS_VALUE.fullmatch(piece):
            return (
                f"{piece!r} is not a 'property:value' declaration (a comma separates "
                "declarations: write the parts of a value with spaces, e.g. "
                "'stroke-dasharray:5 5')"
            )
        if not colon or not value:
            return f"{piece!r} is not a 'property:value' declaration"
        if not _CSS_PROPERTY.fullmatch(prop):
            return f"{prop!r} is not a CSS property name (letters, digits and -)"
        if not _CSS_VALUE.fullmatch(value) or "%%" in value:
            return (
                f"the value {value!r} of {prop!r} has a character mermaid cannot read in a "
                "classDef (use letters, digits, spaces and # . % ! + / _ -)"
            )
    return None


def _css_text(name: str, css: Any) -> str:
    """The classDef text of class ``name``'s ``css``: a string of declarations separated by
    commas or semicolons, or a mapping of properties to values; written with commas."""
    if isinstance(css, Mapping):
        for prop, value in css.items():
            if (
                not isinstance(prop, str)
                or type(value) not in (str, int, float)
                or any(mark in f"{prop}{value}" for mark in ",;:")
            ):
                raise IrgraphError(
                    f"The CSS of mermaid class {name!r} maps {prop!r} to {value!r}; properties "
                    "must be strings and values strings or numbers, one declaration each (no "
                    f", ; or :), {_CSS_EXAMPLE}."
                )
        text = ",".join(f"{prop}:{value}" for prop, value in css.items())
    elif isinstance(css, str):
        text = css
    else:
        raise IrgraphError(
            f"The CSS of mermaid class {name!r} must be a string or a dict of properties (got "
            f"the {type(css).__name__} {css!r:.80}); {_CSS_EXAMPLE}."
        )
    problem = _css_problem(text)
    if problem is not None:
        raise IrgraphError(
            f"The CSS of mermaid class {name!r}, {text!r}, is not a list of CSS declarations: "
            f"{problem}. Write declarations separated by commas, {_CSS_EXAMPLE}."
        )
    pieces = (piece.partition(":") for piece in re.split(r"[,;]", text) if piece.strip())
    return ",".join(f"{prop.strip()}:{value.strip()}" for prop, _, value in pieces)


def _checked_class_defs(class_defs: Any) -> dict[str, str]:
    """``class_defs`` checked: class names to their classDef text."""
    if class_defs is None:
        return {}
    example = "e.g. class_defs={'failed': 'fill:#fdd,stroke:#c00'}"
    class_defs = checked_mapping(class_defs, "class_defs", "mermaid class names to CSS", example)
    return {
        _check_class_name(name, "a key of class_defs"): _css_text(name, css)
        for name, css in class_defs.items()
    }


def _class_lines(ids: dict[str, str], classes: dict[str, str], defs: dict[str, str]) -> list[str]:
    """``classDef`` lines for ``defs`` (checked), then a ``class`` line per class used."""
    lines = [f"classDef {name} {css}" for name, css in defs.items()]
    for name in {**{name: "" for name in classes.values()}, **defs}:
        members = [ids[node] for node, css in classes.items() if css == name]
        if members:
            lines.append(f"class {','.join(members)} {name}")
    return lines


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
    given = _checked_classes(graph, classes)
    defs = _checked_class_defs(class_defs)
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
    lines += _class_lines(ids, folded_value(G, drawn, given), defs)
    if title is not None and not seed:  # front matter: mermaid draws it as the title
        lines[:0] = ["---", mermaid_title(title), "---"]
    return "\n".join(lines)
