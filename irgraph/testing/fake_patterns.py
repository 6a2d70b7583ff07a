"""Text that matches a JSON Schema ``pattern``: what :class:`~irgraph.testing.FakeProvider`
answers for a string such as pydantic's ``Field(pattern=r"^[A-Z]{2}-\\d{3}$")``.

:func:`text_matching` reads the regular expression with Python's own parser and writes the
shortest text it describes: each repeat as few times as it allows, the first alternative, a
character set's first member (a letter, digit or space for ``\\w``, ``\\d``, ``\\s``), then as
many more repeats of the first repeat that allows them as ``minLength`` needs (or, for a
pattern that only searches, ``x`` s around the text). The text is checked as JSON Schema
checks a pattern (``re.search``) and against the length limits; a pattern whose shortest text
fails them (a lookahead that refuses it, say) gives ``None``. What a lookahead looks for is put
in too (before the text, over its start, after it), which is how two patterns of one
``allOf``, joined by :func:`both_patterns`, both find the text.
:func:`formatted_text` writes a string ``format`` (``email``, ``date``, ``uuid``, pydantic's
``ipvanyaddress``...), another text for each variant, so that a ``not`` or ``uniqueItems`` gets
one.

>>> text_matching(r"^[A-Z]{2}-\\d{3}$")
'AA-000'
>>> text_matching(r"^(bug|feature)$")
'bug'
>>> text_matching(r"^a+$", low=3)
'aaa'
>>> text_matching(both_patterns("^[A-Z]", "[0-9]$"))
'A0'
>>> formatted_text("email", 2), formatted_text("date", 31)
('user2@example.com', '2024-02-01')
"""

from __future__ import annotations

import base64
import datetime
import itertools
import re
import string
from collections.abc import Iterator

# The parser Python's re module compiles with (private, but the same from 3.11 to 3.13).
from re import _constants as sre  # type: ignore[attr-defined]
from re import _parser as sre_parse  # type: ignore[attr-defined]
from typing import Any

__all__ = ["both_patterns", "formatted_text", "known_format", "pattern_parts", "text_matching"]

#: More repeats tried than ``minLength`` needs, for the pieces lookaheads add.
_LOOKAHEAD_ROOM = 8
#: The patterns each pattern :func:`both_patterns` made joins (a few per schema, so small).
_JOINED: dict[str, tuple[str, ...]] = {}
#: Up to this many lookahead pieces are tried in every order (24 orders).
_MAX_ORDERED = 4

#: Characters tried, in order, for a negated set (``[^,]``) or ``.``.
_CANDIDATES = "x" + string.ascii_letters + string.digits + " _-.:/@" + string.punctuation
#: The characters of a category, in the order tried (the first is the one written first).
_CATEGORY_CHAR = {
    sre.CATEGORY_DIGIT: string.digits,
    sre.CATEGORY_NOT_DIGIT: string.ascii_lowercase,
    sre.CATEGORY_SPACE: " ",
    sre.CATEGORY_NOT_SPACE: string.ascii_lowercase,
    sre.CATEGORY_WORD: string.ascii_lowercase + string.digits,
    sre.CATEGORY_NOT_WORD: " -.,",
}
#: At most this many characters of a set are tried, for the variants.
_SET_CHOICES = 16
_REPEATS = {sre.MAX_REPEAT, sre.MIN_REPEAT, getattr(sre, "POSSESSIVE_REPEAT", sre.MAX_REPEAT)}


class _Unwritable(Exception):
    """The pattern uses something this module cannot write text for."""


def text_matching(
    pattern: str,
    low: int = 0,
    high: int | None = None,
    preferred: str | None = None,
    variant: int = 0,
) -> str | None:
    """The shortest text ``pattern`` finds (by ``re.search``) with a length from ``low`` to
    ``high``, or ``preferred`` when that matches already; ``None`` when none is found. A
    ``variant`` above 0 picks other characters and alternatives (``[A-Z]{2}``: ``BA``, ``CA``...),
    for a ``not`` or ``uniqueItems`` that asks for another text."""
    try:
        compiled = re.compile(pattern)
        parsed = sre_parse.parse(pattern)
    except (re.error, RecursionError, OverflowError):
        return None

    def fits(text: str) -> bool:
        return (
            low <= len(text) and (high is None or len(text) <= high) and bool(compiled.search(text))
        )

    if preferred is not None and fits(preferred):
        return preferred
    for extra in range(low + 1 + _LOOKAHEAD_ROOM):
        wanted: list[str] = []
        try:
            text = _write(parsed, [extra, variant], {}, wanted)
        except _Unwritable:
            return None
        found = next((c for c in _padded(_with_lookaheads(text, wanted), low) if fits(c)), None)
        if found is not None:
            return found
        if len(text) >= low + sum(map(len, wanted)):  # more repeats only make it longer
            break
    return None


def both_patterns(first: str, second: str) -> str | None:
    """One pattern that finds what both patterns find (each, by ``re.search``, anywhere in
    the text): a lookahead for each, from the start. ``None`` when the two cannot be joined
    (a numbered back-reference would point at the other pattern's group, a group name
    repeats, or either is no regular expression)."""
    joined = "^" + "".join(f"(?=[\\s\\S]*?(?:{part}))" for part in (first, second))
    try:
        if re.compile(first).groups and _refers_back(sre_parse.parse(second).data):
            return None
        re.compile(joined)
    except (re.error, RecursionError, OverflowError):
        return None
    _JOINED[joined] = (*pattern_parts(first), *pattern_parts(second))
    return joined


def pattern_parts(pattern: str) -> tuple[str, ...]:
    """The patterns :func:`both_patterns` joined into ``pattern`` (itself when none did),
    for an error that quotes the schema's own patterns."""
    return _JOINED.get(pattern, (pattern,))


def _refers_back(items: Any) -> bool:
    """Whether parsed pattern ``items`` refer back to a group (``\\1``, ``(?(1)...)``)."""
    if isinstance(items, sre_parse.SubPattern):
        items = items.data
    if isinstance(items, (list, tuple)):
        if items and items[0] in (sre.GROUPREF, sre.GROUPREF_EXISTS):
            return True
        return any(_refers_back(item) for item in items)
    return False


def _padded(texts: Iterator[str], low: int) -> Iterator[str]:
    """Each of ``texts``, then, when shorter than ``low``, with ``x`` s after or before it:
    a pattern that only searches (``\\d``, "a digit somewhere") takes any text around."""
    for text in texts:
        yield text
        if len(text) < low:
            yield text + "x" * (low - len(text))
            yield "x" * (low - len(text)) + text


def _with_lookaheads(text: str, wanted: list[str]) -> Iterator[str]:
    """``text``, then texts that also hold what its lookaheads look for (``wanted``): those
    pieces in each order before it, over its start, after it, or over each other."""
    yield text
    pieces = list(dict.fromkeys(piece for piece in wanted if piece))
    orders = (
        itertools.permutations(pieces)
        if len(pieces) <= _MAX_ORDERED
        else [tuple(pieces), tuple(reversed(pieces))]
    )
    for order in orders:
        joined = "".join(order)
        yield joined + text[len(joined) :]
        yield joined + text
        yield text + joined
        overlaid = text
        for piece in order:
            overlaid = piece + overlaid[len(piece) :]
        yield overlaid


def _write(items: Any, extra: list[int], groups: dict[int, str], wanted: list[str]) -> str:
    """The text of a parsed (sub)pattern; ``extra[0]`` more repeats are given to the first
    repeats that allow them, and ``extra[1]`` (the variant) picks among the choices, as the
    digits of a number whose places are the choices met. A lookahead writes nothing but adds
    the text it looks for to ``wanted``."""
    out: list[str] = []
    for op, av in items:
        if op is sre.LITERAL:
            out.append(chr(av))
        elif op is sre.NOT_LITERAL:
            out.append(_pick([c for c in _CANDIDATES if ord(c) != av], extra))
        elif op is sre.ANY:
            out.append(_pick(_CANDIDATES, extra))
        elif op is sre.IN:
            out.append(_pick(_members(av), extra))
        elif op in _REPEATS:
            least, most, body = av
            count = least
            if extra[0] and (most is sre.MAXREPEAT or most > least):
                more = extra[0] if most is sre.MAXREPEAT else min(extra[0], most - least)
                count, extra[0] = count + more, extra[0] - more
            out.append("".join(_write(body, extra, groups, wanted) for _ in range(count)))
        elif op is sre.SUBPATTERN:
            group, _, _, body = av
            text = _write(body, extra, groups, wanted)
            if group:
                groups[group] = text
            out.append(text)
        elif op is getattr(sre, "ATOMIC_GROUP", None):
            out.append(_write(av, extra, groups, wanted))
        elif op is sre.BRANCH:
            out.append(_write(_pick(av[1], extra), extra, groups, wanted))
        elif op is sre.GROUPREF:
            out.append(groups.get(av, ""))
        elif op is sre.GROUPREF_EXISTS:
            group, yes, no = av
            out.append(_write(yes if group in groups else (no or []), extra, groups, wanted))
        elif op is sre.ASSERT and av[0] == 1:  # a lookahead: the text it looks for, apart
            wanted.append(_write(av[1], [0, 0], groups, wanted))
        elif op in (sre.AT, sre.ASSERT, sre.ASSERT_NOT):
            continue  # anchors and lookarounds write nothing: the final check holds them
        else:
            raise _Unwritable(str(op))
    return "".join(out)


def _pick(options: Any, extra: list[int]) -> Any:
    """The option the variant left in ``extra[1]`` picks (its next digit), the first for 0."""
    count = len(options)
    index, extra[1] = extra[1] % count, extra[1] // count
    return options[index]


def _members(members: list[tuple[Any, Any]]) -> str:
    """Characters of a set (``[a-z_]``, ``[^,]``), its first member first, a few of each
    range; for a negated set the candidates it does not hold."""
    if members and members[0][0] is sre.NEGATE:
        rest = members[1:]
        return "".join(c for c in _CANDIDATES if not _holds(rest, c))[:_SET_CHOICES] or "x"
    out = ""
    for op, av in members:
        if op is sre.LITERAL:
            out += chr(av)
        elif op is sre.RANGE:
            out += "".join(map(chr, range(av[0], min(av[1], av[0] + _SET_CHOICES - 1) + 1)))
        elif op is sre.CATEGORY and av in _CATEGORY_CHAR:
            out += _CATEGORY_CHAR[av]
        elif not out:
            raise _Unwritable(str(op))
    return "".join(dict.fromkeys(out))[:_SET_CHOICES]


def _holds(members: list[tuple[Any, Any]], char: str) -> bool:
    """Whether a set's members hold ``char``."""
    for op, av in members:
        if op is sre.LITERAL and ord(char) == av:
            return True
        if op is sre.RANGE and av[0] <= ord(char) <= av[1]:
            return True
        if op is sre.CATEGORY and av in _CATEGORY_CHAR:
            return bool(re.fullmatch(_CATEGORY_RE[av], char))
    return False


_CATEGORY_RE = {
    sre.CATEGORY_DIGIT: r"\d",
    sre.CATEGORY_NOT_DIGIT: r"\D",
    sre.CATEGORY_SPACE: r"\s",
    sre.CATEGORY_NOT_SPACE: r"\S",
    sre.CATEGORY_WORD: r"\w",
    sre.CATEGORY_NOT_WORD: r"\W",
}


def formatted_text(
    form: str, variant: int = 0, low: int = 0, high: int | None = None
) -> str | None:
    """A text of the string ``format`` ``form`` (``email``, ``date``, ``uuid``...) with a
    length from ``low`` to ``high``, a different one for each ``variant`` (what a ``not`` or
    ``uniqueItems`` asks for); ``None`` for a format this does not know or lengths it cannot
    meet."""
    made = _FORMATTED.get(form)
    if made is None:
        return None
    text = made(variant)
    if len(text) < low and form in ("date-time", "time"):  # a fraction of a second: ".000"
        text = text[:-1] + "." + "0" * (max(low - len(text), 2) - 1) + "Z"
    if len(text) < low and form in _PADDED:  # longer where the format has room: "userxx@..."
        at = _PADDED[form](text)
        text = text[:at] + "x" * (low - len(text)) + text[at:]
    return text if low <= len(text) and (high is None or len(text) <= high) else None


def known_format(form: str) -> bool:
    """Whether :func:`formatted_text` writes texts of the format ``form``."""
    return form in _FORMATTED


def _moment(variant: int) -> datetime.datetime:
    """The moment of a ``variant``: a day later for each."""
    start = datetime.datetime(2024, 1, 1, tzinfo=datetime.UTC)
    return start + datetime.timedelta(days=variant)


def _time(variant: int) -> str:
    hours, rest = divmod(variant % 86400, 3600)
    return f"{hours:02}:{rest // 60:02}:{rest % 60:02}Z"


def _address(variant: int) -> str:
    if variant == 0:
        return "192.0.2.1"
    return "10." + ".".join(str(variant >> shift & 255) for shift in (16, 8, 0))


def _email(variant: int) -> str:
    return f"user{variant or ''}@example.com"


def _versioned(version: int) -> Any:
    """The texts of a UUID of ``version`` (pydantic's ``uuid1``... formats check it)."""
    return lambda n: f"00000000-0000-{version}000-8000-{n % 16**12:012x}"


def _uri(variant: int) -> str:
    return f"https://example.com/{variant or ''}"


_FORMATTED: dict[str, Any] = {
    "date-time": lambda n: _moment(n).strftime("%Y-%m-%dT%H:%M:%SZ"),
    "date": lambda n: _moment(n).date().isoformat(),
    "time": _time,
    "duration": lambda n: f"P{n + 1}D",
    "email": _email,
    "idn-email": _email,
    "uri": _uri,
    "iri": _uri,
    "uri-reference": _uri,
    "iri-reference": _uri,
    "uri-template": _uri,
    "hostname": lambda n: f"host{n or ''}.example.com",
    "idn-hostname": lambda n: f"host{n or ''}.example.com",
    "ipv4": _address,
    "ipv6": lambda n: f"2001:db8::{n + 1:x}",
    "uuid": lambda n: f"00000000-0000-4000-8000-{n % 16**12:012x}",
    # pydantic's UUID1, UUID3..., Base64Str and pydantic_extra_types' Color.
    **{f"uuid{v}": _versioned(v) for v in (1, 3, 4, 5, 6, 7, 8)},
    "base64": lambda n: base64.b64encode(f"text{n or ''}".encode()).decode(),
    "base64url": lambda n: base64.urlsafe_b64encode(f"text{n or ''}".encode()).decode(),
    "color": lambda n: f"#{n % 16**6:06x}",
    # pydantic's own: IPvAnyAddress, IPv4Network, IPvAnyInterface, NameEmail, a DSN.
    "ipvanyaddress": _address,
    "ipv4network": lambda n: f"{_address(n)}/32",
    "ipvanynetwork": lambda n: f"{_address(n)}/32",
    "ipv4interface": lambda n: f"{_address(n)}/24",
    "ipvanyinterface": lambda n: f"{_address(n)}/24",
    "ipv6network": lambda n: f"2001:db8::{n + 1:x}/128",
    "ipv6interface": lambda n: f"2001:db8::{n + 1:x}/64",
    "name-email": lambda n: f"User <{_email(n)}>",
    "multi-host-uri": lambda n: f"postgres://user@localhost:5432/db{n or ''}",
    "json-pointer": lambda n: f"/item{n or ''}",
    "relative-json-pointer": lambda n: str(n),
    "regex": lambda n: f"item{n or ''}",
}
#: Where a format's text takes more characters without leaving the format.
_PADDED: dict[str, Any] = {
    "email": lambda text: text.index("@"),
    "idn-email": lambda text: text.index("@"),
    "uri": len,
    "iri": len,
    "uri-reference": len,
    "iri-reference": len,
    "json-pointer": len,
    "regex": len,
}
