"""The lines of ``irgraph batch``'s inputs file: each one JSON object, an initial state, or a
problem naming the file and line (not JSON, not an object, ``NaN``, a key given twice); and
the hash of a line's text that its result line records, to resume by."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import attrs

from irgraph.ir.values import NotJsonNumber, refuse_constant

__all__ = ["Line", "line_key", "parse_line"]

_EXAMPLE = '{"topic": "owls"}'


def line_key(raw: bytes | str) -> str:
    """The hash of an input line's content (surrounding whitespace left out).

    >>> line_key('{"topic": "owls"}\\n') == line_key(b'{"topic": "owls"}')
    True
    """
    data = raw.encode("utf-8") if isinstance(raw, str) else raw
    return hashlib.sha256(data.strip()).hexdigest()[:16]


@attrs.frozen
class Line:
    index: int
    number: int  # the line number in the file, from 1
    key: str
    state: Any = None
    problem: str | None = None


def parse_line(where: str, number: int, raw: bytes | str) -> tuple[Any, str | None]:
    place = f"{where}:{number}"
    hint = f"each line must be one JSON object (an initial state), such as {_EXAMPLE}"
    try:
        text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
    except UnicodeDecodeError as exc:
        return None, f"{place} is not UTF-8 text (byte {exc.start}); save the file as UTF-8."
    # A position past the line's end is no help; a byte-order mark (Windows editors write
    # one) is not part of the JSON.
    text = text.rstrip("\r\n").removeprefix("\ufeff") if number == 1 else text.rstrip("\r\n")
    try:
        state = json.loads(text, parse_constant=refuse_constant, object_pairs_hook=_unique)
    except RecursionError:
        return None, f"{place} nests its JSON too deeply to read; {hint}."
    except _TwiceGiven as exc:
        return None, (
            f"{place} gives the key {exc.key!r} twice in one object, and JSON keeps only one "
            f"of the two values; give it once ({hint})."
        )
    except NotJsonNumber as exc:
        return None, f"{place} holds {exc}, which is not JSON (write a number or null); {hint}."
    except json.JSONDecodeError as exc:
        return None, f"{place} is not valid JSON ({exc.msg} at column {exc.colno}); {hint}."
    except ValueError as exc:
        return None, f"{place} is not valid JSON ({exc}); {hint}."
    if not isinstance(state, dict):
        return None, f"{place} holds a JSON {_JSON_KINDS[type(state)]}, not an object; {hint}."
    return state, None


class _TwiceGiven(ValueError):
    """A JSON object of an input line gives ``key`` twice."""

    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _unique(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A JSON object of an input line as a dict, refusing a key given twice (``json`` would
    keep the last value without a word)."""
    made: dict[str, Any] = {}
    for key, value in pairs:
        if key in made:
            raise _TwiceGiven(key)
        made[key] = value
    return made


_JSON_KINDS = {
    list: "array",
    str: "string",
    int: "number",
    float: "number",
    bool: "boolean",
    type(None): "null",
}
