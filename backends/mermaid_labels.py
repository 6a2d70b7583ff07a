"""Text as mermaid draws it: a label's entity codes, its ``<wbr>`` break points and markdown
kept literal, and the front-matter title line.

Mermaid reads a quoted label as HTML and markdown after decoding its entity codes
(``#quot;``, ``#35;``), so every character that could be read as syntax is written as one;
the output depends only on the text.
"""

from __future__ import annotations

import json
import unicodedata

from .labels import elided, label_text, word_breaks

__all__ = ["mermaid_text", "mermaid_title", "TITLE_WIDTH"]

_NAMED = {'"': "#quot;", "#": "#35;", "<": "#lt;", ">": "#gt;", "&": "#amp;"}
# Even inside quotes mermaid reads ``%%{`` as a directive, a leading backtick as markdown,
# ``style...:...#...;`` as a style line, ``*`` as emphasis (``_`` only sometimes: see
# _emphasis_openers), and a backslash before an entity code as an escape.
_NUMBERED = frozenset("%`:*\\")
# Mermaid's own placeholders for entity codes; in a label they would turn into "&" and ";".
_PLACEHOLDERS = (("\ufb02\u00b0", "\ufb02\u2060\u00b0"), ("\u00b6\u00df", "\u00b6\u2060\u00df"))
_LONG_WORD = 20  # a word wider than this many columns (~200 px, mermaid's box) gets <wbr> tags
#: How wide the title may be, in columns: mermaid draws it on one line, however long (a line
#: break or ``<br>`` in it is shown as it is), and widens the picture to hold it. 72 columns
#: are about 700 pixels in mermaid's title font, a page's or a notebook's text column.
TITLE_WIDTH = 72
_TITLE_FORMS = str.maketrans({"&": "\uff06", "<": "\uff1c", ">": "\uff1e"})


def mermaid_text(text: str, *, wrap: bool = True, in_node: bool = True) -> str:
    """Write ``text`` (as :func:`~irgraph.backends.labels.label_text` shows it) for a quoted mermaid
    label: entity codes for anything mermaid could read as syntax or that does not print.
    The pairs mermaid uses internally as entity placeholders (``ﬂ°``, ``¶ß``) get an invisible
    word joiner between them, the one case where the drawn text is not exactly ``text``.

    Mermaid wraps at spaces only, so a word wider than its 200-pixel boxes (a long snake_case
    or CamelCase name) gets ``<wbr>`` tags where DOT may break it: no character more is
    drawn or copied. With a tag mermaid decodes a node's (``in_node``) entity codes before
    markdown, so ``_ * ` \\`` get a backslash there and a line break is drawn as one (else
    as a space). The seed style (``wrap=False``) has no tags.

    >>> mermaid_text('say "hi" #1')
    'say #quot;hi#quot; #35;1'
    >>> mermaid_text("summarise_customer_feedback")
    'summarise_<wbr>customer_<wbr>feedback'
    >>> mermaid_text("SummarizeCustomerFeedback")
    'Summarize<wbr>Customer<wbr>Feedback'
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

    Mermaid draws a title on one line only, and makes the whole picture as wide as it, so a
    title longer than :data:`TITLE_WIDTH` columns keeps its beginning and end, with ``…``
    for the middle (:func:`~irgraph.backends.labels.elided`).

    >>> mermaid_title('R&D "plan" (sequence)') == 'title: "R\\uff06D \\\\"plan\\\\" (sequence)"'
    True
    >>> name = "research_the_topic_then_check_every_claim_then_write_the_report_for_the_board"
    >>> print(mermaid_title(f"{name} (sequence)"))
    title: "research_the_topic_then_check_…the_report_for_the_board (sequence)"
    """
    text = elided(label_text(text).translate(_TITLE_FORMS), TITLE_WIDTH)
    for pair, joined in _PLACEHOLDERS:
        text = text.replace(pair, joined)
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
