"""Mermaid classes: the ``classes`` and ``class_defs`` of
:func:`~irgraph.backends.mermaid.to_mermaid` checked (class names mermaid can parse, CSS a
``classDef`` can hold), and the lines that write them.

>>> defs = checked_class_defs({"failed": {"fill": "#fdd"}})
>>> for line in class_lines({"w": "n2"}, {"w": "failed"}, defs):
...     print(line)
classDef failed fill:#fdd
class n2 failed
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from irgraph.errors import IrgraphError, closest_keys

from .export_options import check_graph_node, checked_mapping

if TYPE_CHECKING:
    import networkx as nx

__all__ = ["checked_classes", "checked_class_defs", "class_lines", "check_defined"]

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


def checked_classes(G: nx.DiGraph, classes: Any) -> dict[str, str]:
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


def checked_class_defs(class_defs: Any) -> dict[str, str]:
    """``class_defs`` checked: class names to their classDef text."""
    if class_defs is None:
        return {}
    example = "e.g. class_defs={'failed': 'fill:#fdd,stroke:#c00'}"
    class_defs = checked_mapping(class_defs, "class_defs", "mermaid class names to CSS", example)
    return {
        _check_class_name(name, "a key of class_defs"): _css_text(name, css)
        for name, css in class_defs.items()
    }


def check_defined(classes: dict[str, str], defs: dict[str, str]) -> None:
    """Refuse a class of ``classes`` that ``defs`` leaves undefined while defining one whose
    name is close: surely a misspelling, which mermaid would draw as an uncoloured node. A
    class with no close definition may be styled by the page's own CSS, so it is let be."""
    for node, name in classes.items():
        if name in defs:
            continue
        close = [d for d in defs if d.lower() == name.lower()] or closest_keys(name, defs)
        if close:
            raise IrgraphError(
                f"The class {name!r} of node {node!r} is not in class_defs, so mermaid would "
                f"draw the node uncoloured; class_defs defines {close[0]!r}. Did you mean "
                f"{close[0]!r}? Write classes={{{node!r}: {close[0]!r}}}, or add {name!r} to "
                "class_defs."
            )


def class_lines(ids: dict[str, str], classes: dict[str, str], defs: dict[str, str]) -> list[str]:
    """``classDef`` lines for ``defs`` (checked), then a ``class`` line per class used."""
    lines = [f"classDef {name} {css}" for name, css in defs.items()]
    for name in {**{name: "" for name in classes.values()}, **defs}:
        members = [ids[node] for node, css in classes.items() if css == name]
        if members:
            lines.append(f"class {','.join(members)} {name}")
    return lines
