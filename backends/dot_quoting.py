r"""DOT strings: text quoted so Graphviz draws it as given, other attribute values quoted as
they are, and the ``node_attrs`` a user gives :func:`~irgraph.backends.dot.to_dot`, checked
and quoted.

Graphviz reads escapes differently by attribute: a label's backslashes once (after replacing
``\N`` ... by names), a tooltip's twice, a colour's or font's not at all; a link or id is
written into an SVG as given, so XML's ``&``, ``"`` and ``<`` go in as entities. Each kind of
attribute gets the quoting that makes it come out as the text given.

>>> print(dot_text('a "b" & c'), dot_value("Helvetica Neue"))
"a \"b\" &amp; c" "Helvetica Neue"
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from irgraph.errors import IrgraphError

from .export_options import check_graph_node, checked_mapping
from .labels import label_text

__all__ = ["dot_text", "dot_value", "checked_node_attrs", "TEXT_ATTRS", "LINK_ATTRS"]

#: Node attributes Graphviz draws as text: ``node_attrs`` values for them are drawn as given.
TEXT_ATTRS = frozenset({"label", "xlabel", "tooltip"})
#: Node attributes Graphviz writes into the SVG as given (a link, its target, the node's id):
#: their backslashes are read once after replacing \N ... by names, as a label's, and an
#: ``&``, ``"`` or ``<`` is written as an entity (:func:`_entities`).
LINK_ATTRS = frozenset({"URL", "href", "id", "target"})
_ATTR_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def dot_text(text: str, *, tooltip: bool = False) -> str:
    """Quote ``text`` as a DOT string that Graphviz draws as exactly ``text`` (as
    :func:`~irgraph.backends.labels.label_text` shows it).

    Graphviz reads a label's backslashes once, after replacing ``\\N``, ``\\G``, ``\\L``
    ... by names (a doubled backslash keeps them), but a ``tooltip``'s twice: first for its
    line breaks, then for those names; so a backslash is written twice in a label and four
    times in a tooltip (``tooltip=True``).

    >>> print(dot_text('say "hi"\\nto C:\\\\ & co'))
    "say \\"hi\\"\\nto C:\\\\ &amp; co"
    >>> print(dot_text("C:\\\\N", tooltip=True))
    "C:\\\\\\\\N"
    """
    backslash = "\\\\\\\\" if tooltip else "\\\\"
    out: list[str] = []
    for ch in label_text(text):
        if ch == "\\":
            out.append(backslash)
        elif ch == '"':
            out.append('\\"')
        elif ch == "\n":
            out.append("\\n")
        elif ch == "&":
            out.append("&amp;")  # Graphviz reads &...; entities in every label
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def dot_value(value: str) -> str:
    r"""Quote ``value`` as a DOT string, for attributes not drawn as text (colours, fonts,
    styles; :func:`dot_text` quotes those that are): quotes escaped and line breaks written
    ``\n``, so any value makes valid DOT. Graphviz keeps a backslash of such a value as it
    is (``fontname="C:\Fonts"`` is the font ``C:\Fonts``), so one is written as it is; only
    an odd run of them before a quote or the end, which would swallow the quote, is doubled.

    >>> print(dot_value('a "b"'), dot_value("C:\\Fonts\\x"), dot_value("end\\"))
    "a \"b\"" "C:\Fonts\x" "end\\"
    """
    out = _LAST_BACKSLASHES.sub(_even, value).replace('"', '\\"')
    return '"' + out.replace("\r", "\\r").replace("\n", "\\n") + '"'


def _escaped(value: str) -> str:
    """Quote ``value`` as a DOT string for an attribute Graphviz reads escapes in (a link,
    an id): every backslash doubled, so ``\\N`` and the like are written as given."""
    out = value.replace("\\", "\\\\").replace('"', '\\"')
    return '"' + out.replace("\r", "\\r").replace("\n", "\\n") + '"'


#: A run of backslashes that a quote (escaped as ``\\"``) or the closing quote follows.
_LAST_BACKSLASHES = re.compile(r'\\+(?="|\Z)')


def _even(run: re.Match[str]) -> str:
    """A run of backslashes before a quote, written so DOT's lexer, which takes them in
    pairs, does not pair the last with the quote: as it is if even, else doubled."""
    found = run.group()
    return found if len(found) % 2 == 0 else found * 2


def checked_node_attrs(G: Any, node_attrs: Any) -> dict[str, dict[str, str]]:
    """``node_attrs`` checked against the graph ``G``, with each value quoted for DOT."""
    if node_attrs is None:
        return {}
    example = "e.g. node_attrs={'writer': {'style': 'filled', 'fillcolor': '#fdd'}}"
    given = checked_mapping(
        node_attrs, "node_attrs", "graph nodes to dicts of DOT attributes", example
    )
    checked: dict[str, dict[str, str]] = {}
    for node, attrs in given.items():
        check_graph_node(G, node, "node_attrs")
        if not isinstance(attrs, Mapping):
            raise IrgraphError(
                f"node_attrs[{node!r}] must be a dict of DOT attributes (got the "
                f"{type(attrs).__name__} {attrs!r:.80}); e.g. {{{node!r}: {{'color': 'red'}}}}."
            )
        quoted: dict[str, str] = {}
        for name, value in attrs.items():
            if not isinstance(name, str) or not _ATTR_NAME.fullmatch(name):
                raise IrgraphError(
                    f"node_attrs[{node!r}] has the attribute name {name!r}, which is not a DOT "
                    "attribute name; use Graphviz's names, e.g. 'fillcolor' or 'penwidth'."
                )
            if isinstance(value, bool):
                text = "true" if value else "false"
            elif isinstance(value, (str, int, float)):
                text = str(value)
            else:
                raise IrgraphError(
                    f"node_attrs[{node!r}][{name!r}] is the {type(value).__name__} {value!r:.80}"
                    "; a DOT attribute value is a string, number or bool, e.g. 'red' or 2."
                )
            if name == "fontname":
                _check_font(node, text)
            if name in TEXT_ATTRS:
                quoted[name] = dot_text(text, tooltip=name == "tooltip")
            elif name in LINK_ATTRS:  # SVG writes them with &...; entities read as such
                quoted[name] = _escaped(_entities(text))
            else:
                quoted[name] = dot_value(text)
        checked[node] = quoted
    return checked


def _entities(text: str) -> str:
    """``text`` with the characters XML cannot hold in an attribute written as entities,
    which Graphviz keeps as they are in an SVG (and some versions write a bare ``&``, ``"``
    or ``<`` of a link as is, which is not XML)."""
    return text.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")


def _check_font(node: str, font: str) -> None:
    """Refuse a font name Graphviz would break an SVG with: it writes the name into the
    ``font-family="..."`` attribute as it is, so a ``"``, ``<`` or ``&`` made the picture
    invalid XML (and no font is named with one)."""
    bad = next((ch for ch in '"<&' if ch in font), None)
    if bad is not None:
        raise IrgraphError(
            f"node_attrs[{node!r}]['fontname'] is {font!r:.80}, which holds {bad!r}: Graphviz "
            'writes a font name into an SVG as it is (font-family="..."), so the picture '
            "would not be valid SVG. Give the font's name without '\"', '<' or '&', e.g. "
            "'Helvetica'."
        )
