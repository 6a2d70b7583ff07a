"""Text that matches a JSON Schema ``pattern``: what :class:`~irgraph.testing.FakeProvider`
answers for a string such as pydantic's ``Field(pattern=r"^[A-Z]{2}-\\d{3}$")``.

:func:`text_matching` reads the regular expression with Python's own parser and writes the
shortest text it describes: each repeat as few times as it allows, the first alternative, a
character set's first member (a letter, digit or space for ``\\w``, ``\\d``, ``\\s``), then as
many more repeats of the first repeat that allows them as ``minLength`` needs. The text is
checked as JSON Schema checks a pattern (``re.search``) and against the length limits; a
pattern whose shortest text fails them (a lookahead that refuses it, say) gives ``None``.

>>> text_matching(r"^[A-Z]{2}-\\d{3}$")
'AA-000'
>>> text_matching(r"^(bug|feature)$")
'bug'
>>> text_matching(r"^a+$", low=3)
'aaa'
"""

from __future__ import annotations

import re
import string

# The parser Python's re module compiles with (private, but the same from 3.11 to 3.13).
from re import _constants as sre  # type: ignore[attr-defined]
from re import _parser as sre_parse  # type: ignore[attr-defined]
from typing import Any

__all__ = ["text_matching"]

#: Characters tried, in order, for a negated set (``[^,]``) or ``.``.
_CANDIDATES = "x" + string.ascii_letters + string.digits + " _-.:/@" + string.punctuation
_CATEGORY_CHAR = {
    sre.CATEGORY_DIGIT: "0",
    sre.CATEGORY_NOT_DIGIT: "a",
    sre.CATEGORY_SPACE: " ",
    sre.CATEGORY_NOT_SPACE: "a",
    sre.CATEGORY_WORD: "a",
    sre.CATEGORY_NOT_WORD: " ",
}
_REPEATS = {sre.MAX_REPEAT, sre.MIN_REPEAT, getattr(sre, "POSSESSIVE_REPEAT", sre.MAX_REPEAT)}


class _Unwritable(Exception):
    """The pattern uses something this module cannot write text for."""


def text_matching(
    pattern: str, low: int = 0, high: int | None = None, preferred: str | None = None
) -> str | None:
    """The shortest text ``pattern`` finds (by ``re.search``) with a length from ``low`` to
    ``high``, or ``preferred`` when that matches already; ``None`` when none is found."""
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
    for extra in range(low + 1):
        try:
            text = _write(parsed, [extra], {})
        except _Unwritable:
            return None
        if fits(text):
            return text
        if len(text) >= low:  # more repeats only make it longer
            break
    return None


def _write(items: Any, extra: list[int], groups: dict[int, str]) -> str:
    """The text of a parsed (sub)pattern; ``extra[0]`` more repeats are given to the first
    repeats that allow them."""
    out: list[str] = []
    for op, av in items:
        if op is sre.LITERAL:
            out.append(chr(av))
        elif op is sre.NOT_LITERAL:
            out.append(next(c for c in _CANDIDATES if ord(c) != av))
        elif op is sre.ANY:
            out.append("x")
        elif op is sre.IN:
            out.append(_member(av))
        elif op in _REPEATS:
            least, most, body = av
            count = least
            if extra[0] and (most is sre.MAXREPEAT or most > least):
                more = extra[0] if most is sre.MAXREPEAT else min(extra[0], most - least)
                count, extra[0] = count + more, extra[0] - more
            out.append("".join(_write(body, extra, groups) for _ in range(count)))
        elif op is sre.SUBPATTERN:
            group, _, _, body = av
            text = _write(body, extra, groups)
            if group:
                groups[group] = text
            out.append(text)
        elif op is getattr(sre, "ATOMIC_GROUP", None):
            out.append(_write(av, extra, groups))
        elif op is sre.BRANCH:
            out.append(_write(av[1][0], extra, groups))
        elif op is sre.GROUPREF:
            out.append(groups.get(av, ""))
        elif op is sre.GROUPREF_EXISTS:
            group, yes, no = av
            out.append(_write(yes if group in groups else (no or []), extra, groups))
        elif op in (sre.AT, sre.ASSERT, sre.ASSERT_NOT):
            continue  # anchors and lookarounds write nothing: the final check holds them
        else:
            raise _Unwritable(str(op))
    return "".join(out)


def _member(members: list[tuple[Any, Any]]) -> str:
    """A character of a set (``[a-z_]``, ``[^,]``): its first member, or for a negated set
    the first candidate it does not hold."""
    if members and members[0][0] is sre.NEGATE:
        rest = members[1:]
        return next((c for c in _CANDIDATES if not _holds(rest, c)), "x")
    op, av = members[0]
    if op is sre.LITERAL:
        return chr(av)
    if op is sre.RANGE:
        return chr(av[0])
    if op is sre.CATEGORY and av in _CATEGORY_CHAR:
        return _CATEGORY_CHAR[av]
    raise _Unwritable(str(op))


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
