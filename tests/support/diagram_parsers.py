"""Read our diagrams back into plain structures, for the exporter property tests.

:func:`parse_mermaid` reads the subset of mermaid flowchart syntax the exporters write —
``graph DIR``, node declarations with a shape and a quoted label, ``subgraph ID["title"]`` ...
``end``, ``-->`` control edges (``-->|"case"|`` for a route's branch), dashed ``-.->`` /
``-. "label" .->`` data edges, ``classDef``, ``class`` lines and ``:::class`` suffixes — and
refuses everything else, so a line the exporter gets wrong is an error here rather than
something mermaid quietly draws differently.
:func:`parse_dot` reads DOT text back with :mod:`tests.support.dot_reader`. Both decode
labels the way the renderer shows them (mermaid's ``#name;``/``#35;`` entity codes; DOT's
backslash escapes and Graphviz's ``&...;`` entities) and refuse raw text a renderer would read
as markup, so a label that comes back equal to the name is a label that draws as the name.

:func:`expected_edges`, :func:`expected_scope_title` and :func:`expected_root_title` say what a
picture of a graph should hold, worked out from the graph's attributes alone. None of this
shares code with :mod:`irgraph.backends` or :mod:`irgraph.schema`: it is the other side of the
contract the exporters keep.
"""

from __future__ import annotations

import html
import json
import re
import string
import unicodedata
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from tests.support.dot_reader import DiagramSyntaxError, DotGraph, read_dot

if TYPE_CHECKING:
    import networkx as nx

__all__ = [
    "DiagramSyntaxError",
    "MermaidNode",
    "MermaidDiagram",
    "DotDiagram",
    "parse_mermaid",
    "parse_dot",
    "decode_mermaid_label",
    "decode_mermaid_title",
    "decode_dot_label",
    "shown",
    "mermaid_shown",
    "expected_edges",
    "expected_conditions",
    "expected_box",
    "expected_frames",
    "wrapped_as",
    "WRAP",
    "expected_scope_title",
    "expected_root_title",
    "title_as_drawn",
]


def shown(text: str) -> str:
    """What a diagram should show for ``text``: line breaks as ``\\n``, characters without a
    glyph (controls other than line breaks and tabs, lone surrogates) as U+FFFD."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return "".join(
        "\ufffd" if unicodedata.category(ch) in ("Cc", "Cs") and ch not in "\n\t" else ch
        for ch in text
    )


# Mermaid turns entity codes into these pairs while it parses, so text holding them must have
# them broken by an invisible word joiner.
_MERMAID_PLACEHOLDERS = ("\ufb02\u00b0", "\u00b6\u00df")


def mermaid_shown(text: str) -> str:
    """:func:`shown`, with a word joiner inside mermaid's placeholder pairs (``ﬂ°``, ``¶ß``)."""
    text = shown(text)
    for pair in _MERMAID_PLACEHOLDERS:
        text = text.replace(pair, pair[0] + "\u2060" + pair[1])
    return text


# -- what a picture of a graph should hold, from the graph alone ---------------------------


def expected_box(G: nx.DiGraph, node: str) -> str | None:
    """The loop or map-over ``node`` is drawn inside (``None`` at the top): a route is a
    decision drawn beside its branches, not a box around them."""
    parent = G.nodes[node]["parent"]
    while parent is not None and G.nodes[parent]["kind"] == "route":
        parent = G.nodes[parent]["parent"]
    return parent


#: The width DOT labels are broken at (``irgraph.backends.labels.LABEL_WIDTH``); the root's
#: title, a heading, at twice that.
WRAP = 28


#: The width mermaid's one-line title is kept to (``irgraph.backends.mermaid_labels.TITLE_WIDTH``).
TITLE = 72


def title_as_drawn(drawn: str, title: str, width: int = TITLE) -> bool:
    """Whether ``drawn`` is how mermaid's one-line title shows ``title`` (both as shown, word
    joiners aside): the title itself when it is at most ``width`` columns, else a line of at
    most ``width`` columns: a beginning of the title, ``…``, and an end of it, which keeps
    its ``(sequence)`` or ``(parallel)`` whole."""
    drawn, title = drawn.replace("\u2060", ""), title.replace("\u2060", "")
    if _columns(title) <= width:
        return drawn == title
    if _columns(drawn) > width or not title.endswith(("(sequence)", "(parallel)")):
        return False
    kind = title[title.rindex(" (") :]
    for at in (i for i, ch in enumerate(drawn) if ch == "…"):
        head, tail = drawn[:at].rstrip(" "), drawn[at + 1 :].lstrip(" ")
        if (
            head.strip()
            and title.startswith(head)
            and title.endswith(tail)
            and tail.endswith(kind)
            and len(head) + len(tail) < len(title)
        ):
            return True
    return False


def _case_change(text: str, i: int) -> bool:
    """Whether a new word of a ``CamelCase`` name, or a number, begins at ``text[i]``: a
    capital after a small letter or a digit, the last capital of a run before a small
    letter, or a digit after a word of two letters or more."""
    if not 0 < i < len(text):
        return False
    before, ch, after = text[i - 1], text[i], text[i + 1 : i + 2]
    if ch.isdigit():
        return before.isalpha() and text[i - 2 : i - 1].isalpha() and not _case_change(text, i - 1)
    return ch.isupper() and (
        before.islower() or before.isdigit() or (before.isupper() and after.islower())
    )


def _columns(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def wrapped_as(drawn: str, text: str, width: int = WRAP) -> bool:
    """Whether ``drawn`` is ``text`` broken into lines as a DOT label is: the same text
    with line breaks put in place of spaces, after ``_``, ``-``, ``/`` or ``.``, or where a
    ``CamelCase`` word's next word or a number begins, each line at most ``width`` columns
    (a wide character two) unless it could break nowhere, and no line broken that fitted
    whole."""
    pos = 0
    lines = drawn.split("\n")
    for i, line in enumerate(lines):
        if not text.startswith(line, pos):
            return False
        pos += len(line)
        unbreakable = re.fullmatch(r"[^ _/.-]*[_/.-]*", line.strip()) is not None and not any(
            _case_change(line, j) for j in range(1, len(line))
        )
        if _columns(line) > width and not unbreakable:
            return False
        if i == len(lines) - 1:
            break
        if text.startswith("\n", pos):
            pos += 1
        elif text.startswith(" ", pos):
            pos = len(text) - len(text[pos:].lstrip(" "))
        elif not line or (line[-1] not in "_/.-" and not _case_change(text, pos)):
            return False
    given = text.split("\n")
    return pos == len(text) and all(line in lines for line in given if _columns(line) <= width)


def _step_name(G: nx.DiGraph, entry: Any) -> str:
    """The name a tree entry's step was built with: a node's label, a block's name."""
    if isinstance(entry, str) or "node" in entry:
        node = entry if isinstance(entry, str) else entry["node"]
        return str(G.nodes[node].get("label") or node)
    return str(entry["name"])


def _operators_name(G: nx.DiGraph, entry: dict[str, Any]) -> bool:
    """Whether a block has the name ``>>`` or ``|`` gives two steps or more: ``a_then_b``,
    ``a_then_b_then_..._then_e``, ``b_and_c``."""
    names = [_step_name(G, child) for child in entry["children"]]
    word = {"sequence": "_then_", "parallel": "_and_"}[entry["kind"]]
    if len(names) < 2:
        return False
    shown = names if len(names) <= 4 else [*names[:2], "...", names[-1]]
    return bool(entry["name"] == word.join(shown))


def expected_frames(
    G: nx.DiGraph,
) -> tuple[dict[str, str | None], dict[str, tuple[str, str | None]]]:
    """The frame each node is drawn in (``None`` at the top): a loop's or map-over's id, or
    ``"b1"``, ``"b2"``, ... for the named blocks holding nodes, in the tree's order; and each
    block's title and the frame it is drawn in. A block is named unless it has the name
    ``>>`` or ``|`` gives it; the root block is the title, not a frame."""
    frame_of: dict[str, str | None] = {}
    blocks: dict[str, tuple[str, str | None]] = {}

    def leaves(entry: Any) -> int:
        if isinstance(entry, str):
            return 1
        return ("node" in entry) + sum(leaves(child) for child in entry.get("children", ()))

    def walk(entry: Any, frame: str | None, root: bool) -> None:
        if isinstance(entry, str):
            frame_of[entry] = frame
            return
        if "node" in entry:
            frame_of[entry["node"]] = frame
            if G.nodes[entry["node"]]["kind"] in ("loop", "map_over"):
                frame = entry["node"]
        elif not root and leaves(entry) and not _operators_name(G, entry):
            block = f"b{len(blocks) + 1}"
            blocks[block] = (f"{entry['name']} ({entry['kind']})", frame)
            frame = block
        for child in entry.get("children", ()):
            walk(child, frame, False)

    walk(G.graph["tree"], None, True)
    return frame_of, blocks


def _outward(G: nx.DiGraph, node: str) -> list[str]:
    """``node``, then each box around it, innermost first."""
    chain = [node]
    while (box := expected_box(G, chain[-1])) is not None:
        chain.append(box)
    return chain


def _route_edge(G: nx.DiGraph, u: str, v: str, data: dict[str, Any]) -> tuple[bool, str | None]:
    """Whether the edge ``u -> v`` is drawn as control, and its condition. A route's edge to
    a branch entry is labelled with its case; its own edge to what follows is no arrow (a
    branch runs in between), unless some case has no branch: then it is those cases' arrow."""
    if G.nodes[u]["kind"] != "route" or not data["control"]:
        return bool(data["control"]), None
    if "condition" in data:
        return True, data["condition"]
    cases = G.nodes[u]["cases"]
    with_nodes = {G.nodes[n]["branch"] for n in G if G.nodes[n]["parent"] == u}
    empty = [case["label"] for i, case in enumerate(cases) if i not in with_nodes]
    return (True, ", ".join(empty)) if empty else (False, None)


def _expected(G: nx.DiGraph) -> dict[tuple[str, str], tuple[bool, list[str], str | None]]:
    merged: dict[tuple[str, str], tuple[bool, set[str], str | None]] = {}
    for u, v, data in G.edges(data=True):
        control, condition = _route_edge(G, u, v, data)
        up, down = _outward(G, u), _outward(G, v)
        if u in down or v in up:
            continue  # a box and its own body
        shared = next(s for s in [*up[1:], None] if s is None or s in down)
        ends = (
            next(a for a in up if expected_box(G, a) == shared),
            next(b for b in down if expected_box(G, b) == shared),
        )
        if ends != (u, v):
            condition = None
        was, keys, label = merged.get(ends, (False, set(), None))
        merged[ends] = (was or control, keys | set(data["keys"]), label or condition)
    return {
        ends: (control, sorted(keys), label if control else None)
        for ends, (control, keys, label) in merged.items()
        if control or keys
    }


def expected_edges(G: nx.DiGraph) -> dict[tuple[str, str], tuple[bool, list[str]]]:
    """``(u, v) -> (control, keys)`` for every arrow a picture holds: a loop or map-over is
    one box, so an edge joins the ends' enclosing nodes in the innermost box holding both;
    arrows between a box and its own body are not drawn; arrows that land on one pair merge.
    A route is drawn beside its branches (see :func:`expected_conditions`)."""
    return {ends: (control, keys) for ends, (control, keys, _) in _expected(G).items()}


def expected_conditions(G: nx.DiGraph) -> dict[tuple[str, str], str]:
    """``(route, entry) -> case label`` for every labelled control arrow of a picture."""
    return {ends: label for ends, (_, _, label) in _expected(G).items() if label is not None}


def expected_scope_title(node: str, data: dict[str, Any]) -> str:
    """``"refine (loop, max 3, until done)"``, ``"each (map over papers as paper)"``,
    ``"triage (route on category)"``."""
    if data["kind"] == "route":
        return f"{node} (route)" if data["on"] is None else f"{node} (route on {data['on']})"
    if data["kind"] == "loop":
        parts = ["loop"]
        if data["max_iterations"] is not None:
            parts.append(f"max {data['max_iterations']}")
        if data["until"] is not None and data.get("until_equals"):
            parts.append(
                f"until {data['until']} = {json.dumps(data['until_equals'][0], ensure_ascii=False)}"
            )
        elif data["until"] is not None:
            parts.append(f"until {data['until']}")
        elif data["until_function"] is not None:
            parts.append(f"until {data['until_function'].split(':')[-1]}")
        return f"{node} ({', '.join(parts)})"
    return f"{node} (map over {data['over']} as {data['item']})"


def expected_root_title(G: nx.DiGraph) -> str | None:
    """``"name (sequence)"`` or ``"name (parallel)"`` for a composite root, else ``None``."""
    tree = G.graph["tree"]
    if isinstance(tree, dict) and tree.get("kind") in ("sequence", "parallel"):
        return f"{tree['name']} ({tree['kind']})"
    return None


# -- mermaid --------------------------------------------------------------------------------

_ID = r"[A-Za-z_][A-Za-z0-9_]*"
_LABEL = r'"([^"]*)"'
# Longest opener first: [[ before [, [/ before [, {{ before {.
_SHAPES = (
    ("subroutine", r"\[\[", r"\]\]"),
    ("parallelogram", r"\[/", r"/\]"),
    ("hexagon", r"\{\{", r"\}\}"),
    ("rhombus", r"\{", r"\}"),
    ("box", r"\[", r"\]"),
)
_NODES = tuple(
    (name, re.compile(rf"^({_ID}){opener}{_LABEL}{closer}(?::::({_ID}))?$"))
    for name, opener, closer in _SHAPES
)
_SUBGRAPH = re.compile(rf"^subgraph ({_ID})\[{_LABEL}\]$")
_CONTROL = re.compile(rf"^({_ID}) -->(?:\|{_LABEL}\|)? ({_ID})$")
_DATA = re.compile(rf"^({_ID}) -(?:\.->|\. {_LABEL} \.->) ({_ID})$")
_CLASSDEF = re.compile(rf"^classDef ({_ID}) (\S.*)$")
_CLASS = re.compile(rf"^class ({_ID}(?:,{_ID})*) ({_ID})$")
_HEADER = re.compile(r"^(?:graph|flowchart) (TD|TB|BT|LR|RL)$")
_ENTITY = re.compile(r"#(\w+);")
# Raw characters a mermaid label reads as markup: HTML, markdown emphasis and code, escapes.
_MERMAID_MARKUP = set('"<>&`*\\')


@dataclass
class MermaidNode:
    """A declared node or subgraph: its shape (``"subgraph"`` for a subgraph), decoded label,
    the subgraph it sits in (``None`` at the top) and its ``:::`` class, if any."""

    id: str
    shape: str
    label: str
    scope: str | None
    css: str | None = None


@dataclass
class MermaidDiagram:
    direction: str
    title: str | None = None  # from front matter, as mermaid shows it
    nodes: dict[str, MermaidNode] = field(default_factory=dict)
    subgraphs: dict[str, MermaidNode] = field(default_factory=dict)
    control: list[tuple[str, str]] = field(default_factory=list)
    conditions: dict[tuple[str, str], str] = field(default_factory=dict)  # labelled arrows
    data: list[tuple[str, str, str | None]] = field(default_factory=list)
    class_defs: dict[str, str] = field(default_factory=dict)
    classes: dict[str, list[str]] = field(default_factory=dict)  # class name -> ids

    def members(self, css: str) -> list[str]:
        """Ids given class ``css``, by ``class`` lines or ``:::``, in the order written."""
        inline = [n.id for n in self.nodes.values() if n.css == css]
        return inline + self.classes.get(css, [])


def _kind(text: str, i: int) -> str:
    if i < 0 or i >= len(text) or text[i].isspace():
        return "space"
    return "punct" if unicodedata.category(text[i])[0] in "PS" else "word"


def _underscore_emphasis(raw: str) -> bool:
    """Whether a run of ``_`` could open emphasis and a later run could close it, by
    CommonMark's flanking rules for underscores (mermaid reads labels as markdown)."""
    opened = False
    for run in re.finditer(r"_+", raw):
        before, after = _kind(raw, run.start() - 1), _kind(raw, run.end())
        left = after != "space" and (after != "punct" or before != "word")
        right = before != "space" and (before != "punct" or after != "word")
        if opened and right and (not left or after == "punct"):
            return True
        opened = opened or (left and (not right or before == "punct"))
    return False


def decode_mermaid_label(raw: str, *, in_node: bool = False) -> str:
    """The text mermaid shows for a quoted label written as ``raw`` (between the quotes).

    A ``<wbr>`` tag (a place a line may break) shows nothing; it reads as punctuation to
    markdown. With one, mermaid decodes a node's (``in_node``) entity codes before it reads
    markdown (checked in tests/mermaid_check), so there a backslash escapes them instead.
    """
    if "<wbr>" in raw and in_node:
        return _decoded_first(raw)
    if "<wbr>" in raw:
        decode_mermaid_label(raw.replace("<wbr>", "#60;"))  # the tag is punctuation to markdown
        return decode_mermaid_label(raw.replace("<wbr>", ""))
    for ch in raw:
        if ch in _MERMAID_MARKUP or not ch.isprintable():
            raise DiagramSyntaxError(f"raw {ch!r} in the label {raw!r} is read as markup")
    if "%%" in raw:
        raise DiagramSyntaxError(f"'%%' in the label {raw!r} starts a directive or comment")
    for pair in _MERMAID_PLACEHOLDERS:
        if pair in raw:
            raise DiagramSyntaxError(f"{pair!r} in the label {raw!r} is an entity placeholder")
    if _underscore_emphasis(raw):
        raise DiagramSyntaxError(f"underscores in the label {raw!r} make markdown emphasis")

    def entity(match: re.Match[str]) -> str:
        code = match.group(1)
        if code.isdigit():
            return chr(int(code))
        decoded = html.unescape(f"&{code};")
        if decoded == f"&{code};":
            raise DiagramSyntaxError(f"#{code}; in the label {raw!r} is no entity")
        return decoded

    return _ENTITY.sub(entity, raw)


def _decoded_first(raw: str) -> str:
    """What mermaid shows for a node label holding ``<wbr>`` tags: its entity codes decoded
    (``&lt;``, ``&gt;`` and ``&amp;`` stay codes), then read as markdown, where a backslash
    escapes the punctuation after it."""
    bare = raw.replace("<wbr>", "")
    decode_mermaid_label(bare.replace("_", "#95;"))  # no raw markup, directive, placeholder
    pieces: list[tuple[str, str]] = []  # (what shows, what markdown reads)
    for token in re.finditer(r"<wbr>|#\w+;|.", raw, re.S):
        if token.group() == "<wbr>":
            pieces.append(("", "<"))
        elif token.group()[1:-1] in ("lt", "gt", "amp"):
            pieces.append((decode_mermaid_label(token.group()), "&"))
        else:
            ch = decode_mermaid_label(token.group())
            pieces.append((ch, ch))
    shown, markdown, i = [], [], 0
    while i < len(pieces):
        ch = pieces[i][1]
        if ch == "\\" and i + 1 < len(pieces) and pieces[i + 1][1] in string.punctuation:
            shown.append(pieces[i + 1][0])
            markdown.append("!")  # a literal: punctuation, never a delimiter
            i += 2
            continue
        if ch in ("*", "`"):
            raise DiagramSyntaxError(f"{ch!r} in the label {raw!r} is read as markdown")
        shown.append(pieces[i][0])
        markdown.append(ch)
        i += 1
    if _underscore_emphasis("".join(markdown)):
        raise DiagramSyntaxError(f"underscores in the label {raw!r} make markdown emphasis")
    return "".join(shown)


def _node(line: str) -> tuple[str, str, str, str | None] | None:
    for shape, pattern in _NODES:
        match = pattern.match(line)
        if match is not None:
            label = decode_mermaid_label(match.group(2), in_node=True)
            return match.group(1), shape, label, match.group(3)
    return None


def decode_mermaid_title(line: str) -> str:
    """The title mermaid shows for the front-matter line ``title: "..."`` (a JSON string, which
    YAML reads the same). Mermaid passes titles through an HTML sanitizer and shows the
    result as text, so a raw ``&``, ``<`` or ``>`` would not show as itself."""
    if not line.startswith("title: "):
        raise DiagramSyntaxError(f"the front matter holds {line!r}, not a title")
    try:
        title = json.loads(line[len("title: ") :])
    except ValueError:
        raise DiagramSyntaxError(f"{line!r} is no quoted title") from None
    if not isinstance(title, str):
        raise DiagramSyntaxError(f"{line!r} is no quoted title")
    for ch in title:
        if ch in "&<>" or (unicodedata.category(ch) in ("Cc", "Cs") and ch not in "\n\t"):
            raise DiagramSyntaxError(f"raw {ch!r} in the title {title!r} would not show")
    for pair in _MERMAID_PLACEHOLDERS:
        if pair in title:
            raise DiagramSyntaxError(f"{pair!r} in the title {title!r} is an entity placeholder")
    return title


def parse_mermaid(text: str) -> MermaidDiagram:
    """Read a flowchart our exporters wrote; :class:`DiagramSyntaxError` on anything else
    (a redeclared id, an edge to an undeclared id, an unclosed subgraph...). Front matter
    may come first: ``---``, ``title: "..."``, ``---``."""
    lines = text.splitlines()
    title = None
    if lines[:1] == ["---"]:
        if len(lines) < 3 or lines[2] != "---":
            raise DiagramSyntaxError(f"the front matter is not one title line: {lines[:3]!r}")
        title = decode_mermaid_title(lines[1])
        lines = lines[3:]
    header = _HEADER.match(lines[0]) if lines else None
    if header is None:
        raise DiagramSyntaxError(f"line 1 is no flowchart header: {lines[:1]!r}")
    diagram = MermaidDiagram(header.group(1), title)
    open_scopes: list[str] = []
    declared: set[str] = set()
    references: list[tuple[int, str, str]] = []
    for number, full in enumerate(lines[1:], 2):
        line = full.strip()
        where = f"line {number} ({full!r})"
        scope = open_scopes[-1] if open_scopes else None
        try:
            if line == "end":
                if not open_scopes:
                    raise DiagramSyntaxError("'end' closes no subgraph")
                open_scopes.pop()
            elif match := _SUBGRAPH.match(line):
                sid = match.group(1)
                if sid in declared:
                    raise DiagramSyntaxError(f"{sid} is declared twice")
                label = decode_mermaid_label(match.group(2))
                diagram.subgraphs[sid] = MermaidNode(sid, "subgraph", label, scope)
                declared.add(sid)
                open_scopes.append(sid)
            elif node := _node(line):
                nid, shape, label, css = node
                if nid in declared:
                    raise DiagramSyntaxError(f"{nid} is declared twice")
                diagram.nodes[nid] = MermaidNode(nid, shape, label, scope, css)
                declared.add(nid)
            elif match := _CONTROL.match(line):
                u, raw, v = match.groups()
                diagram.control.append((u, v))
                if raw is not None:
                    diagram.conditions[u, v] = decode_mermaid_label(raw)
                references += [(number, u, v)]
            elif match := _DATA.match(line):
                raw = match.group(2)
                keys = None if raw is None else decode_mermaid_label(raw)
                diagram.data.append((match.group(1), match.group(3), keys))
                references += [(number, match.group(1), match.group(3))]
            elif match := _CLASSDEF.match(line):
                diagram.class_defs[match.group(1)] = match.group(2)
            elif match := _CLASS.match(line):
                ids = match.group(1).split(",")
                diagram.classes.setdefault(match.group(2), []).extend(ids)
                references += [(number, nid, nid) for nid in ids]
            else:
                raise DiagramSyntaxError("not a statement our exporters write")
        except DiagramSyntaxError as error:
            raise DiagramSyntaxError(f"{where}: {error}") from None
    if open_scopes:
        raise DiagramSyntaxError(f"subgraph {open_scopes[-1]} is never closed")
    for number, u, v in references:
        for end in (u, v):
            if end not in declared:
                raise DiagramSyntaxError(f"line {number} names {end}, which is never declared")
    for css in diagram.classes:
        if css not in diagram.class_defs:
            raise DiagramSyntaxError(f"class {css} is used but never defined")
    return diagram


# -- DOT ------------------------------------------------------------------------------------

_DOT_ESCAPE = re.compile(r"\\(.)", re.DOTALL)
_DOT_ENTITY = re.compile(r"&(#[0-9]+|#[xX][0-9a-fA-F]+|[A-Za-z][A-Za-z0-9]*);")


def decode_dot_label(value: str) -> str:
    """The text Graphviz draws for the quoted DOT string ``value``: ``\\"``, ``\\\\`` and the
    line breaks ``\\n``/``\\l``/``\\r``, then ``&...;`` entities. Graphviz's substitutions
    (``\\N`` the node name, ``\\G``, ``\\E``, ``\\T``, ``\\H``, ``\\L``) are refused."""
    if len(value) < 2 or value[0] != '"' or value[-1] != '"':
        raise DiagramSyntaxError(f"the label {value!r} is not a quoted string")

    def escape(match: re.Match[str]) -> str:
        ch = match.group(1)
        if ch in "nlr":
            return "\n"
        if ch in '\\"':
            return ch
        if ch in "NGETHL":
            raise DiagramSyntaxError(f"\\{ch} in the label {value!r} is a Graphviz substitution")
        return "\\" + ch  # Graphviz keeps an unknown escape as written

    body = value[1:-1]
    if re.search(r'(?<!\\)(?:\\\\)*"', body):
        raise DiagramSyntaxError(f"an unescaped quote ends the label {value!r} early")
    unescaped = _DOT_ESCAPE.sub(escape, body)
    return _DOT_ENTITY.sub(lambda m: html.unescape(m.group(0)), unescaped)


@dataclass
class DotDiagram:
    """A DOT graph read back: graph attributes, nodes (``id -> attributes``, labels decoded),
    the cluster each node sits in, clusters (``name -> (decoded label, parent cluster)``)
    and edges ``(source, target, attributes)`` with decoded labels."""

    graph: dict[str, Any]
    nodes: dict[str, dict[str, Any]] = field(default_factory=dict)
    cluster_of: dict[str, str | None] = field(default_factory=dict)
    clusters: dict[str, tuple[str, str | None]] = field(default_factory=dict)
    edges: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)


def _decoded(attributes: dict[str, Any], line: int) -> dict[str, Any]:
    out = dict(attributes)
    if "label" in out:
        try:
            out["label"] = decode_dot_label(out["label"])
        except DiagramSyntaxError as error:
            raise DiagramSyntaxError(f"line {line}: {error}") from None
    return out


def parse_dot(text: str) -> DotDiagram:
    """Read DOT text back with :func:`~tests.support.dot_reader.read_dot` (a node declared
    twice, an edge to an undeclared node or a subgraph that is no cluster is a
    :class:`DiagramSyntaxError`, naming the line)."""
    graph = read_dot(text)
    diagram = DotDiagram(_decoded(graph.attributes, graph.line))
    lines: dict[str, int] = {}

    def walk(g: DotGraph, cluster: str | None) -> None:
        for node in g.nodes:
            if node.name in lines:
                raise DiagramSyntaxError(
                    f"line {node.line}: node {node.name} is declared twice "
                    f"(first on line {lines[node.name]})"
                )
            lines[node.name] = node.line
            diagram.nodes[node.name] = _decoded(node.attributes, node.line)
            diagram.cluster_of[node.name] = cluster
        for edge in g.edges:
            attributes = _decoded(edge.attributes, edge.line)
            diagram.edges.append((edge.source, edge.target, attributes))
        for sub in g.subgraphs:
            if sub.name is None or not sub.name.startswith("cluster"):
                shown = "an anonymous subgraph" if sub.name is None else f"subgraph {sub.name}"
                raise DiagramSyntaxError(f"line {sub.line}: {shown} is not a cluster")
            label = sub.attributes.get("label")
            title = "" if label is None else _decoded({"label": label}, sub.line)["label"]
            diagram.clusters[sub.name] = (title, cluster)
            walk(sub, sub.name)

    walk(graph, None)
    for g in _graphs(graph):
        for edge in g.edges:
            for end in (edge.source, edge.target):
                if end not in diagram.nodes:
                    raise DiagramSyntaxError(
                        f"line {edge.line}: the edge {edge.source} -> {edge.target} names "
                        f"{end}, never declared"
                    )
    return diagram


def _graphs(graph: DotGraph) -> list[DotGraph]:
    """``graph`` and every subgraph in it."""
    return [graph, *(g for sub in graph.subgraphs for g in _graphs(sub))]
