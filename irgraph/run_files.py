"""How the run view's pictures are written: markup text escaped for SVG, and a file saved in
the format its suffix names (:mod:`irgraph.run_view`, :mod:`irgraph.run_diagram`,
:mod:`irgraph.run_timeline`)."""

from __future__ import annotations

import html
import os
from collections.abc import Callable, Mapping

from irgraph.errors import IrgraphError
from irgraph.run_status import clean

__all__ = ["save_as", "xml_text", "xml_attr"]


def save_as(
    path: str | os.PathLike[str], what: str, kinds: Mapping[str, Callable[[], str]]
) -> None:
    """Write the text ``kinds`` gives for ``path``'s suffix, or say which suffixes there are."""
    suffix = os.path.splitext(os.fspath(path))[1].lower()
    if suffix not in kinds:
        raise IrgraphError(
            f"Cannot save the run's {what} as {os.fspath(path)!r}: the suffix says which "
            f"format to write; use {', '.join(kinds)}."
        )
    folder = os.path.dirname(os.fspath(path))
    if folder and not os.path.isdir(folder):
        raise IrgraphError(
            f"Cannot save the run's {what} as {os.fspath(path)!r}: there is no directory "
            f"{folder!r}; create it first (os.makedirs) or save it elsewhere."
        )
    text = kinds[suffix]()  # made before the file is opened: a failure leaves no empty file
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
