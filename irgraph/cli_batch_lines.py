"""The lines of ``irgraph batch``'s inputs file: each one JSON object, an initial state, or a
problem naming the file and line (not JSON, not an object, ``NaN``, a key given twice); the
hash of a line's text that its result line records, to resume by; and a file in another format
than JSON Lines, told by its first line."""

from __future__ import annotations

import ast
import hashlib
import json
import math
import os
import shlex
import sys
from collections.abc import Callable, Sequence
from typing import Any

import attrs

from irgraph.ir.values import NotJsonNumber, refuse_constant

__all__ = [
    "Line",
    "blank",
    "line_key",
    "other_format",
    "parse_line",
    "unique_keys",
    "KeyGivenTwice",
    "TooBig",
    "finite",
    "strict_json",
]

_EXAMPLE = '{"topic": "owls"}'
#: The UTF-8 byte-order mark, as some editors (Notepad, Excel's CSV UTF-8) start a file with.
_BOM = b"\xef\xbb\xbf"


def line_key(raw: bytes | str) -> str:
    """The hash of an input line's content (surrounding whitespace and a UTF-8 byte-order mark
    left out, as :func:`parse_line` leaves them: saving the file without the mark that a
    Windows editor wrote changes no line).

    >>> line_key('{"topic": "owls"}\\n') == line_key(b'{"topic": "owls"}')
    True
    >>> line_key(b'\\xef\\xbb\\xbf{"topic": "owls"}\\r\\n') == line_key('{"topic": "owls"}')
    True
    """
    data = raw.encode("utf-8") if isinstance(raw, str) else raw
    return hashlib.sha256(data.strip().removeprefix(_BOM).strip()).hexdigest()[:16]


def blank(raw: bytes | str) -> bool:
    """Whether the input line ``raw`` holds no item: white space only, or a UTF-8 byte-order
    mark and white space (the first line of an empty file that Notepad saved "with BOM").

    >>> blank(b"  \\r\\n"), blank(b"\\xef\\xbb\\xbf\\r\\n"), blank(b'{"topic": "owls"}')
    (True, True, False)
    """
    if isinstance(raw, str):  # standard input without a binary buffer
        return not raw.strip().removeprefix("\ufeff").strip()
    return not raw.strip().removeprefix(_BOM).strip()


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
    # one, and files joined with cat keep each one's) is not part of the JSON.
    text = text.rstrip("\r\n").removeprefix("\ufeff")
    try:
        state = strict_json(text)
    except RecursionError:
        return None, f"{place} nests its JSON too deeply to read; {hint}."
    except KeyGivenTwice as exc:
        return None, (
            f"{place} gives the key {exc.key!r} twice in one object, and JSON keeps only one "
            f"of the two values; give it once ({hint})."
        )
    except NotJsonNumber as exc:
        return None, f"{place} holds {exc}, which is not JSON (write a number or null); {hint}."
    except TooBig as exc:
        return None, (
            f"{place} holds the number {exc.shown}, too large for a floating-point number (it "
            f"would read as infinity); write it as a string, or a smaller number ({hint})."
        )
    except json.JSONDecodeError as exc:
        if exc.msg.startswith("Invalid control character"):  # a raw tab in a string, say
            char = json.dumps(exc.doc[exc.pos])[1:-1]
            return None, (
                f"{place} is not valid JSON (a raw control character in a string at column "
                f"{exc.colno}); write it escaped, as {char}, which json.dumps(state) does "
                f"({hint})."
            )
        said = f"{place} is not valid JSON ({exc.msg} at column {exc.colno})"
        if exc.msg == "Extra data" and "\r" in text[: exc.pos]:  # lines that end in \r alone
            return None, (
                f"{said}: its lines end in a carriage return alone (\\r, as old Mac editors "
                "write), so the file reads as one line; save it with \\n (or \\r\\n) line "
                f"ends ({hint})."
            )
        return None, f"{said}; {_python_literal(text) or hint}."
    except ValueError as exc:
        if "integer string conversion" in str(exc):  # Python's limit, sys.int_info
            return None, (
                f"{place} holds a whole number of more than "
                f"{sys.get_int_max_str_digits()} digits, more than Python reads from "
                f"text; write it as a string ({hint})."
            )
        return None, f"{place} is not valid JSON ({exc}); {hint}."
    if not isinstance(state, dict):
        return None, f"{place} holds a JSON {_JSON_KINDS[type(state)]}, not an object; {hint}."
    return state, None


#: The longest line of JSON an error shows as the fix of a Python literal.
_SHOWN = 200
#: The longest line read as a Python literal to advise on (a parse of a huge line is slow).
_READ = 100_000


def _python_literal(text: str) -> str | None:
    """The advice for a line that is not JSON but reads as a Python dict literal (written by
    ``str(state)`` or ``print(state)``, or by hand: single quotes, ``True``, ``None``, a
    trailing comma): the line in JSON when it is short; else ``None``.

    >>> print(_python_literal("{'topic': 'owls', 'draft': None,}"))
    in JSON it is {"topic": "owls", "draft": null} (a Python dict's single quotes, True,
    False, None and a trailing comma are not JSON: write each line with json.dumps(state),
    not str(state))
    """
    if not text.lstrip().startswith("{") or len(text) > _READ:
        return None
    try:
        value = ast.literal_eval(text.strip())
        written = json.dumps(value, ensure_ascii=False, allow_nan=False)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return None
    if not isinstance(value, dict):
        return None
    shown = f"in JSON it is {written}" if len(written) <= _SHOWN else "it reads as a Python dict"
    return (
        f"{shown} (a Python dict's single quotes, True, False, None and a trailing comma are "
        "not JSON: write each line with json.dumps(state), not str(state))"
    )


def strict_json(text: str) -> Any:
    """``text`` read as JSON the way every state given as text is (an inputs line,
    ``--state-json``): ``NaN`` and ``Infinity`` (:class:`NotJsonNumber`), a number that would
    read as infinity (:class:`TooBig`) and a key given twice in one object
    (:class:`KeyGivenTwice`) refused."""
    return json.loads(
        text, parse_constant=refuse_constant, parse_float=finite, object_pairs_hook=unique_keys
    )


class TooBig(ValueError):
    """A JSON number too large for a float (``1e999``): Python reads it as infinity."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.shown = text if len(text) <= 30 else f"{text[:12]}...{text[-12:]}"


def finite(text: str) -> float:
    """``json.loads``'s ``parse_float``: the number, refused when it is infinite."""
    value = float(text)
    if math.isinf(value):
        raise TooBig(text)
    return value


class KeyGivenTwice(ValueError):
    """A JSON object (of an input line, or ``--state-json``) gives ``key`` twice."""

    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A JSON object as a dict, refusing a key given twice (``json`` would keep the last
    value without a word): the ``object_pairs_hook`` of input lines and ``--state-json``."""
    made: dict[str, Any] = {}
    for key, value in pairs:
        if key in made:
            raise KeyGivenTwice(key)
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


def other_format(
    where: str, raw: bytes | str, reads: Callable[[], Sequence[str]] = tuple
) -> str | None:
    """Why an inputs file whose first non-blank line is ``raw`` is in another format than JSON
    Lines (a JSON array, a JSON document spread over lines, CSV or TSV, a ``.txt`` file of
    plain lines, UTF-16 or binary, a batch's results file), or ``None``. ``reads`` gives the
    keys the pipeline reads from its initial state, asked only for a plain-text file's advice.

    Read line by line, such a file is items that each fail, or worse, an element of a
    pretty-printed array that happens to fit on one line runs alone; so it is refused whole.

    >>> print(other_format("t.json", "[")[:56])
    't.json' holds a JSON array (its first line starts with
    >>> other_format("t.jsonl", '{"topic": "owls"}') is None
    True
    """
    stdin = where == "<stdin>"
    name = "The standard input" if stdin else repr(where)
    if isinstance(raw, bytes) and (raw.startswith((b"\xff\xfe", b"\xfe\xff")) or b"\0" in raw):
        return _not_utf8(name, where, raw)
    try:
        text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
    except UnicodeDecodeError:
        return None  # that line's own problem
    text = text.strip().removeprefix("\ufeff")
    opened = "sys.stdin" if stdin else "open(sys.argv[1], encoding='utf-8', newline='')"
    convert = " in the pipe before irgraph batch" if stdin else ""
    convert = convert or f" {shlex.quote(where)} > {shlex.quote(_jsonl(where))}"
    lines = (
        "but irgraph batch reads JSON Lines: one JSON object per line, each an initial state, "
        f"such as {_EXAMPLE}"
    )
    if _result_line(text):
        out = " in the pipe before irgraph batch" if stdin else ""
        out = out or f" {shlex.quote(where)} > {shlex.quote(_jsonl(where, '-states'))}"
        return (
            f"{name} holds the results of an irgraph batch (its first line is a result line: "
            f'{{"index": ..., "key": ..., "state": ...}}), {lines}. To run a pipeline over '
            "a batch's final states, write each completed line's state on a line: python -c "
            "\"import json, sys; [print(json.dumps(r['state'])) for r in map(json.loads, "
            f"{opened}) if 'state' in r]\"{out}"
        )
    suffix = os.path.splitext(where)[1].lower()
    if suffix in (".csv", ".tsv") and not _object(text):
        tab = ", delimiter='\\t'" if suffix == ".tsv" else ""
        return (
            f"{name} is a {suffix[1:].upper()} file, {lines}. Convert it, a row per line with "
            "the header's names as keys (every value then a string): python -c \"import csv, "
            "json, sys; [print(json.dumps(row)) for row in "
            f'csv.DictReader({opened}{tab})]"{convert}'
        )
    if suffix == ".txt" and text[:1] not in ("{", "[") and not _json(text):
        keys = sorted(reads())
        key, which = _line_key(keys)
        return (
            f"{name} is plain text (its first line is no JSON), {lines}. To run the pipeline "
            f"once per line, with the line as the value of {which}, convert it: python -c "
            '"import json, sys; '
            f"[print(json.dumps({{{key!r}: line.strip()}})) for line in "
            f'{opened} if line.strip()]"{convert}'
        )
    if text.startswith("[") and _array_of_states(text):
        return (
            f"{name} holds a JSON array (its first line starts with '['), {lines}. Write each "
            'element on a line of its own: python -c "import json, sys; '
            f'[print(json.dumps(state)) for state in json.load({opened})]"{convert}'
        )
    if text == "{":  # as json.dumps(..., indent=2), jq and every pretty-printer start one
        return (
            f"{name} holds JSON spread over several lines (its first line is only '{{'), "
            f"{lines}. Write each state on a single line "
            "(json.dumps(state) without indent=); a whole file of one state: python -c "
            f'"import json, sys; print(json.dumps(json.load({opened})))"{convert}'
        )
    return None


def _line_key(keys: list[str]) -> tuple[str, str]:
    """The key a plain-text line is converted to, and how the advice names it: the one key
    the pipeline reads, or ``KEY`` standing for one of several (or of none known).

    >>> _line_key(["topic"])
    ('topic', "'topic', the key the pipeline reads")
    >>> _line_key(["a", "b"])[1]
    "KEY (one of the keys the pipeline reads: 'a', 'b'; each line needs them all)"
    """
    if len(keys) == 1:
        return keys[0], f"{keys[0]!r}, the key the pipeline reads"
    if keys:
        named = ", ".join(map(repr, keys))
        return "KEY", f"KEY (one of the keys the pipeline reads: {named}; each line needs them all)"
    return "KEY", "the key the pipeline reads (KEY)"


def _not_utf8(name: str, where: str, raw: bytes) -> str:
    """The problem of inputs whose first line is UTF-16 (by its byte-order mark) or holds a
    NUL byte, which no JSON text does."""
    lines = "but irgraph batch reads JSON Lines in UTF-8, one JSON object per line"
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        if where == "<stdin>":
            return f"{name} is UTF-16 text (it starts with a UTF-16 byte-order mark), {lines}."
        made = shlex.quote(_jsonl(where, "-utf8"))
        return (
            f"{name} is UTF-16 text (it starts with a UTF-16 byte-order mark, as Windows "
            f"PowerShell's > and Out-File write), {lines}. Save it as UTF-8: python -c "
            "\"import sys; open(sys.argv[2], 'w', encoding='utf-8').write(open(sys.argv[1], "
            f"encoding='utf-16').read())\" {shlex.quote(where)} {made}"
        )
    if raw.startswith(b"\x1f\x8b") and where != "<stdin>":
        return (
            f"{name} is compressed with gzip, {lines}. Decompress it first (gunzip -k "
            f"{shlex.quote(where)}), or give its lines on standard input: gunzip -c "
            f"{shlex.quote(where)} | irgraph batch TARGET - -o RESULTS."
        )
    return (
        f"{name} is not text (its first line holds a NUL byte): a spreadsheet or a Parquet "
        f"file, say, {lines}. Convert it first (with pandas: "
        "df.to_json('states.jsonl', orient='records', lines=True))."
    )


def _json(text: str) -> bool:
    try:
        json.loads(text)
    except ValueError:
        return False
    return True


def _object(text: str) -> bool:
    try:
        return isinstance(json.loads(text), dict)
    except ValueError:
        return False


#: The members of a line of ``irgraph batch``'s results file.
_RESULT_MEMBERS = frozenset({"index", "key", "state", "error", "pipeline", "made_up", "answers"})


def _result_line(text: str) -> bool:
    """Whether ``text`` is a line of ``irgraph batch``'s results file (its index, key and
    state or error, and no other member), which no pipeline's initial state is."""
    if not text.startswith('{"index": '):
        return False
    try:
        record = json.loads(text)
    except ValueError:
        return False
    return (
        isinstance(record, dict)
        and record.keys() <= _RESULT_MEMBERS
        and type(record.get("index")) is int
        and isinstance(record.get("key"), str)
        and isinstance(record.get("state", record.get("error")), dict)
    )


def _array_of_states(text: str) -> bool:
    """Whether ``text``, a line starting with ``[``, starts a JSON array of states: one that
    goes on past the line (``[``, ``[{"topic": "owls"},``), or holds objects only. A line
    that is an array of other values (``[1]``) is a bad line of a JSON Lines file."""
    try:
        value = json.loads(text)
    except ValueError:
        return True
    return bool(value) and all(isinstance(item, dict) for item in value)


def _jsonl(where: str, tag: str = "-lines") -> str:
    """The name of the JSON Lines file converted from ``where``, never ``where`` itself."""
    stem, suffix = os.path.splitext(where)
    return f"{stem}{tag}.jsonl" if suffix.lower() == ".jsonl" else f"{stem}.jsonl"
