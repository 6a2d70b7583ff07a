"""The inputs file of ``irgraph batch``: its non-blank lines as items, read as the batch goes.

Each non-blank line (``-``: standard input) is one item, an initial state; its *index* is its
position among the non-blank lines, from 0, and its *key* a hash of its text
(:func:`line_key`), which the results file records so that a changed line runs again. A line
that is not a JSON object is that item's problem, naming the file and line.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import stat
import sys
from collections.abc import Iterator
from typing import IO, Any

import attrs

from irgraph.cli_inputs import CliError
from irgraph.ir.values import NotJsonNumber, refuse_constant

__all__ = ["Inputs", "Line", "line_key"]

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


def _parse(where: str, number: int, raw: bytes | str) -> tuple[Any, str | None]:
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
        state = json.loads(text, parse_constant=refuse_constant)
    except RecursionError:
        return None, f"{place} nests its JSON too deeply to read; {hint}."
    except NotJsonNumber as exc:
        return None, f"{place} holds {exc}, which is not JSON (write a number or null); {hint}."
    except json.JSONDecodeError as exc:
        return None, f"{place} is not valid JSON ({exc.msg} at column {exc.colno}); {hint}."
    except ValueError as exc:
        return None, f"{place} is not valid JSON ({exc}); {hint}."
    if not isinstance(state, dict):
        return None, f"{place} holds a JSON {_JSON_KINDS[type(state)]}, not an object; {hint}."
    return state, None


_JSON_KINDS = {
    list: "array",
    str: "string",
    int: "number",
    float: "number",
    bool: "boolean",
    type(None): "null",
}


class Inputs:
    """The inputs file, opened (and checked) up front and read line by line."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.where = "<stdin>" if path == "-" else path
        self.file: IO[Any]
        if path == "-":
            self.file = getattr(sys.stdin, "buffer", sys.stdin)
            return
        if os.path.isdir(path):
            raise CliError(f"The inputs {path!r} are a directory; give a JSON Lines file.")
        try:
            self.file = open(path, "rb")  # closed by close()
        except OSError as exc:
            raise CliError(
                f"Cannot read the inputs file {path!r}: {exc.strerror}; give a JSON Lines file "
                "you may read (a relative path starts at the current directory), or - for "
                "standard input."
            ) from None

    def count(self) -> int | None:
        """The number of items, when the inputs are a regular file (else ``None``)."""
        if self.path == "-" or not stat.S_ISREG(os.fstat(self.file.fileno()).st_mode):
            return None
        with open(self.path, "rb") as file:
            return sum(1 for raw in file if raw.strip())

    def close(self) -> None:
        if self.path != "-":
            self.file.close()

    def lines(self) -> Iterator[Line]:
        index = 0
        with contextlib.closing(self):
            for number, raw in enumerate(self.file, 1):
                if not raw.strip():
                    continue
                state, problem = _parse(self.where, number, raw)
                yield Line(index, number, line_key(raw), state, problem)
                index += 1
