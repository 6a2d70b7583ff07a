"""How the run view's pictures are written: text cut to fit a box and escaped for SVG, and a
file saved in the format its suffix names (:mod:`irgraph.run_view`, :mod:`irgraph.run_diagram`,
:mod:`irgraph.run_timeline`)."""

from __future__ import annotations

import html
import os
import unicodedata
from collections.abc import Callable, Mapping

from irgraph.errors import IrgraphError, unexpanded_home
from irgraph.run_status import clean, shorten

__all__ = ["save_as", "xml_text", "xml_attr", "middle", "one_line", "text_width", "fitted"]

_NARROW = frozenset(" .,:;'|!()[]{}ijlIft/\\`\u00b7")
_WIDE = frozenset("mwMW@%\u2026")


def middle(text: str, width: int) -> str:
    """``text`` cut to ``width`` characters in its middle, so a label keeps its node's name
    and its innermost item or iteration: ``define (outer iter…, each item 12)``.

    >>> middle("define (outer iteration 0, each item 12)", 30)
    'define (outer …, each item 12)'
    """
    if len(text) <= width:
        return text
    head = (width - 1) // 2
    return text[:head] + "\u2026" + text[len(text) - (width - 1 - head) :]


def one_line(text: str, width: int) -> str:
    """``text`` (a node's name, or a label holding names) as a line of the run view's text
    shows it: each character that does not print escaped as in a ``repr`` (a line break as
    ``\\n``), so that the line stays one line, and cut to ``width`` in its middle.

    >>> print(one_line("two\\nlines", 20), one_line("x" * 30, 9))
    two\\nlines xxxx…xxxx
    """
    if not text.isprintable():
        text = "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in text)
    return middle(text, width)


def text_width(text: str, size: float = 12.0, bold: bool = False) -> float:
    """About how many pixels wide ``text`` is drawn in the pictures' sans-serif font at
    ``size``: an estimate that errs wide, so that text cut to fit a box stays inside it.

    >>> text_width("iii") < text_width("abc") < text_width("MWM") < text_width("MWM", bold=True)
    True
    """
    ems = 0.0
    for ch in text:
        if unicodedata.east_asian_width(ch) in "WF":
            ems += 1.0
        elif ch in _WIDE:
            ems += 1.0
        elif ch in _NARROW:
            ems += 0.34
        else:
            ems += 0.72 if ch.isupper() else 0.64 if ch.isdigit() else 0.6
    return ems * size * (1.15 if bold else 1.0)


def fitted(
    text: str, room: float, size: float = 12.0, bold: bool = False, *, end: bool = False
) -> str:
    """``text`` on one line with as many characters as fit ``room`` pixels
    (:func:`text_width`), cut in its middle (:func:`middle`), or at its ``end``; at least an
    ellipsis."""
    text = " ".join(clean(text).split())
    cut: Callable[[int], str] = (lambda n: shorten(text, n)) if end else (lambda n: middle(text, n))
    n = min(len(text), int(room / (0.34 * size)) + 2)  # no more than the narrowest fit
    while n > 1 and text_width(cut(n), size, bold) > room:
        n -= 1
    return cut(n)


def save_as(
    path: str | os.PathLike[str], what: str, kinds: Mapping[str, Callable[[], str]]
) -> None:
    """Write the text ``kinds`` gives for ``path``'s suffix, or say which suffixes there are."""
    if not isinstance(path, (str, os.PathLike)):
        raise IrgraphError(
            f"Cannot save the run's {what}: save() takes a file path whose suffix says the "
            f"format ({', '.join(kinds)}), such as 'run{next(iter(kinds))}' (got {path!r} of "
            f"type {type(path).__name__})."
        )
    name = os.fspath(path)
    stem, suffix = os.path.splitext(name)
    if os.path.isdir(name):
        example = os.path.join(name, f"run{next(iter(kinds))}")
        raise IrgraphError(
            f"Cannot save the run's {what} as {name!r}: it is a directory; name a file in it, "
            f"e.g. {example!r} (the suffix picks the format: {', '.join(kinds)})."
        )
    if suffix.lower() not in kinds:
        *others, last = kinds
        formats = f"{', '.join(others)} or {last}" if others else last
        got = f"not {suffix}" if suffix else f"but {name!r} has no suffix"
        names = " or ".join(repr(stem + kind) for kind in kinds)
        raise IrgraphError(
            f"Cannot save the run's {what} as {name!r}: the suffix picks the format, and "
            f"the {what} is saved as {formats}, {got}; save it as {names}."
        )
    folder = os.path.dirname(os.fspath(path))
    if folder and not os.path.isdir(folder):
        why = unexpanded_home(path) or (
            f"there is no directory {folder!r}; create it first (os.makedirs) or save it elsewhere."
        )
        raise IrgraphError(f"Cannot save the run's {what} as {os.fspath(path)!r}: {why}")
    text = kinds[suffix.lower()]()  # made before the file is opened: a failure leaves no empty file
    with open(path, "w", encoding="utf-8") as out:
        out.write(text)


def xml_text(text: str) -> str:
    """``text`` escaped for XML/SVG element content (``html`` is already loaded where
    ``xml.sax.saxutils`` would pull in ``urllib`` and ``email`` at ``import irgraph``)."""
    return html.escape(clean(text), quote=False)


def xml_attr(text: str) -> str:
    """``text`` as a quoted XML/SVG attribute value; a character XML refuses (a control
    character in a node's name) becomes U+FFFD.

    >>> xml_attr('a "b" & <c>\x1b')
    '"a &quot;b&quot; &amp; &lt;c&gt;\ufffd"'
    """
    return '"' + html.escape(clean(text), quote=True) + '"'
