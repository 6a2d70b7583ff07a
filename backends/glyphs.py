"""Characters a PNG's labels hold that no installed font has, told as a warning naming where.

Graphviz draws a PNG with this machine's fonts, through fontconfig, which falls back to any
installed font that has a character; one that no font has is drawn as a box, with no word from
Graphviz. :func:`warn_unfonted` asks fontconfig (``fc-list ':charset=...'``, as ``.ci/run``
does) about each non-ASCII character of a picture's labels, remembering each answer, so a
picture of ASCII labels costs nothing; without fontconfig it says nothing.
"""

from __future__ import annotations

import functools
import html
import shutil
import subprocess
import sys
import unicodedata
import warnings
from collections.abc import Iterable, Iterator
from types import FrameType
from typing import Any

__all__ = ["unfonted", "warn_unfonted", "FONT_HINT"]

#: Fonts to install for the characters most often missing.
FONT_HINT = (
    "e.g. apt-get install fonts-noto-color-emoji (emoji) or fonts-wqy-microhei (Chinese, "
    "Japanese, Korean)"
)

#: Categories drawn with no glyph of their own: marks and joiners, controls, spaces.
_NO_GLYPH = frozenset({"Mn", "Me", "Cf", "Cc", "Zs", "Zl", "Zp"})


def _drawn(ch: str) -> bool:
    """Whether ``ch`` is a non-ASCII character a font must have a glyph for."""
    return ord(ch) > 127 and unicodedata.category(ch) not in _NO_GLYPH


@functools.lru_cache(maxsize=4096)
def _in_one_font(chars: str) -> bool | None:
    """Whether one installed font has every character of ``chars``, by fontconfig's
    ``fc-list``; ``None`` when fontconfig is not installed or cannot tell."""
    program = shutil.which("fc-list")
    if program is None:
        return None
    charset = " ".join(f"{ord(ch):x}" for ch in chars)
    try:
        done = subprocess.run(
            [program, f":charset={charset}", "family"],
            capture_output=True,
            timeout=30,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return bool(done.stdout.strip()) if done.returncode == 0 else None


def unfonted(text: Iterable[str]) -> list[str] | None:
    """The characters of ``text`` that no installed font has, each once, in code point order;
    ``None`` when fontconfig is not installed (or fails), so it cannot tell. ASCII is never
    asked about, and one question covers every character when one font has them all.

    >>> unfonted("plain ASCII")
    []
    """
    wanted = sorted({ch for ch in text if _drawn(ch)})
    if not wanted:
        return []
    if _in_one_font("".join(wanted)):
        return []
    missing: list[str] = []
    for ch in wanted:
        found = _in_one_font(ch)
        if found is None:
            return None
        if not found:
            missing.append(ch)
    return missing


def _text(value: Any) -> str:
    """What Graphviz draws for a label written by :func:`~irgraph.backends.dot.dot_text`: the
    name it holds, with the lines :func:`~irgraph.backends.labels.wrapped` broke it into
    joined again."""
    raw = str(value)
    if len(raw) >= 2 and raw[0] == raw[-1] == '"':
        raw = raw[1:-1]
    lines = raw.replace("\\\\", "\x00").replace('\\"', '"').split("\\n")
    joined = lines[0]
    for line in lines[1:]:
        joined += line if joined[-1:] in "_-/." else " " + line
    return html.unescape(joined.replace("\x00", "\\"))


def _labels(dot: Any) -> Iterator[tuple[str, str]]:
    """Each text a pydot picture draws, as ``(where, text)``: its title, its boxes' titles,
    its nodes' labels (and ``xlabel``) and its arrows' labels."""
    names: dict[str, str] = {}

    def walk(graph: Any, top: bool) -> Iterator[tuple[str, str]]:
        if graph.get("label") is not None:
            title = _text(graph.get("label"))
            yield f"{'the title' if top else 'the box'} {title!r}", title
        for node in graph.get_nodes():
            label = node.get("label")
            name = names[node.get_name()] = _text(label) if label is not None else node.get_name()
            if label is not None:
                yield f"node {name!r}", name
            if node.get("xlabel") is not None:
                xlabel = _text(node.get("xlabel"))
                yield f"the xlabel {xlabel!r} of node {name!r}", xlabel
        for sub in graph.get_subgraphs():
            yield from walk(sub, False)

    yield from walk(dot, True)
    for edge in dot.get_edges():
        if edge.get("label") is not None:
            u, v = (names.get(end, end) for end in (edge.get_source(), edge.get_destination()))
            label = _text(edge.get("label"))
            yield f"the label {label!r} of the arrow from {u!r} to {v!r}", label


def _named(ch: str) -> str:
    """``ch`` for a message: itself and its code point, with its Unicode name if it has one."""
    name = unicodedata.name(ch, "")
    why = _NO_FONT_HAS.get(unicodedata.category(ch), "")
    return f"{ch!r} (U+{ord(ch):04X}{' ' + name if name else ''}{why})"


#: Characters no font installed for them would draw: said so, not sent to install one.
_NO_FONT_HAS = {
    "Cn": ", unassigned in Unicode: no font has it",
    "Co": ", private use: only a font made for it has it",
    "Cs": ", a lone surrogate: no font has it",
}


def warn_unfonted(dot: Any, fmt: str = "PNG") -> None:
    """Warn (``UserWarning``) when a label of the pydot picture ``dot`` has characters no
    installed font has, which Graphviz draws in a ``fmt`` picture as boxes: the characters,
    where each is, and how to get a font. Silent when fontconfig cannot tell."""
    places = [(where, text) for where, text in _labels(dot) if any(map(_drawn, text))]
    if not places:
        return
    missing = unfonted("".join(text for _, text in places))
    if not missing:
        return
    lacking = set(missing)
    found = [where for where, text in places if lacking & set(text)]
    shown = ", ".join(found[:5]) + (f" and {len(found) - 5} more" if len(found) > 5 else "")
    several = len(missing) > 1
    fixes = [
        f"Install a font that has {'them' if several else 'it'}, {FONT_HINT}, or draw an SVG "
        "(to_svg, or irgraph show -o name.svg), which the viewer's fonts draw."
    ]
    kinds = {unicodedata.category(ch) for ch in missing}
    if kinds <= set(_NO_FONT_HAS):  # no font to install has them
        fix = f"Rename what holds {'them' if several else 'it'} (a character pasted by mistake?)"
        if "Co" in kinds:  # a private-use character: its own font draws it, in an SVG
            fix += ", or draw an SVG (to_svg, or irgraph show -o name.svg) for a viewer with "
            fix += "the font made for it"
        fixes = [fix + "."]
    warnings.warn(
        f"No installed font has {'these characters' if several else 'the character'} "
        f"{', '.join(map(_named, missing))}, so the {fmt} draws "
        f"{'each as a box' if several else 'it as a box'}: in {shown}. {fixes[0]}",
        UserWarning,
        stacklevel=_outside_irgraph(),
    )


def _outside_irgraph() -> int:
    """The ``stacklevel`` (of :func:`warn_unfonted`'s ``warnings.warn``) of the first frame
    outside irgraph: the user's call of ``to_png``, ``render`` or ``show``; ``1`` (this module)
    under the ``irgraph`` command, which says irgraph's warnings on one line."""
    frame: FrameType | None = sys._getframe(2)
    level = 2
    while frame is not None:
        name = str(frame.f_globals.get("__name__", ""))
        if name.startswith("irgraph.cli"):
            return 1
        if not name.startswith("irgraph"):
            return level
        frame, level = frame.f_back, level + 1
    return 1
