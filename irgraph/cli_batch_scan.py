"""The results file of ``irgraph batch`` read for a resume: the last result line of each
index, and the completed lines later ones replaced.

A resume reads every line of a file that may hold millions, so a line as this irgraph writes
it (``{`` first, UTF-8) is decoded as UTF-8 and read by the JSON decoder directly, without
:func:`json.loads`'s detour that detects the text's encoding first; any other line is read by
:func:`json.loads`: both accept and refuse the same lines.
"""

from __future__ import annotations

import json
import os
from typing import Any

from irgraph.cli_inputs import CliError

__all__ = ["Found", "result_of", "scan_results"]


class Found(dict[int, tuple[int, str, bool, str | None]]):
    """``{index: (line number, key, has state, pipeline digest or None)}`` of the last result
    line of each index; ``superseded`` is ``{line number: (index, key)}`` of the completed
    lines a later line of their index with another key replaced (a moved line's copy, a changed
    line's result): their results are kept when the file is tidied
    (:func:`irgraph.cli_batch_kept.relocations`)."""

    def __init__(self) -> None:
        super().__init__()
        self.superseded: dict[int, tuple[int, str]] = {}


_decode = json.JSONDecoder().raw_decode  # json.loads's own decoder, without its detours


def _json(raw: bytes) -> Any:
    """``json.loads(raw)``, read without detecting the encoding when ``raw`` starts as a
    result line does: ``{`` then a byte that is not NUL is UTF-8 to :func:`json.loads` too (no
    byte-order mark, not UTF-16 or UTF-32), decoded as it decodes it. What follows the value
    may only be the whitespace it allows."""
    if raw[:1] != b"{" or raw[1:2] == b"\x00":
        return json.loads(raw)
    text = raw.decode("utf-8", "surrogatepass")
    value, end = _decode(text)
    if text[end:].strip(" \t\n\r"):
        raise ValueError(f"Extra data after the JSON value at character {end}")
    return value


def result_of(raw: bytes, real: bool = False) -> tuple[int, str, bool, str | None] | None:
    """``(index, key, has state, pipeline)`` of a result line, ``None`` for any other line;
    ``pipeline`` is the digest of the pipeline that wrote it (``None`` in a line written
    before lines recorded it). For a ``real`` provider's run, a state that a made-up
    provider's run wrote does not count."""
    try:
        record = _json(raw)
    except (ValueError, RecursionError):
        return None
    if not isinstance(record, dict):
        return None
    index, key, has_state = record.get("index"), record.get("key"), "state" in record
    if type(index) is not int or index < 0 or not isinstance(key, str):
        return None
    if not isinstance(record.get("state" if has_state else "error"), dict):
        return None
    if real and record.get("made_up") is True:
        has_state = False  # a made-up answer's state does not stand for a real provider's
    pipeline = record.get("pipeline")
    return index, key, has_state, pipeline if isinstance(pipeline, str) else None


def scan_results(path: str, *, real: bool = False) -> Found:
    """The last result line of each index in the results file ``path``: ``{index: (line
    number, key, has state, pipeline)}``; nothing when there is no such file. Only the last
    line may be something else, and only a line a crash cut short (no newline, the start of a
    result line): a file with other lines is refused, untouched, since it is not the results
    file of a batch and the rewrite would lose them. For a ``real`` provider's run, the lines a
    made-up provider's run wrote (``"made_up": true``) count as not completed."""
    found = Found()
    if not os.path.exists(path):
        return found
    odd = None
    with open(path, "rb") as file:
        for number, raw in enumerate(file):
            result = result_of(raw, real)
            if odd is not None or (result is None and not _cut_short(raw)):
                line = number + 1 if odd is None else odd + 1
                if found:  # result lines around it: a results file, damaged or edited
                    raise CliError(
                        f"-o {path!r} holds results of a batch, but its line {line} is not a "
                        "result line; only the last line may be cut short (by a run that was "
                        "killed), so this one was damaged or edited, and resuming would drop it "
                        f"when the file is rewritten. Fix or delete line {line}, or write the "
                        "results to a new file."
                    )
                raise CliError(
                    f"-o {path!r} is not the results file of a batch: its line {line} is not "
                    "a result line; write the results to a new file (or delete this one)."
                )
            if result is None:
                odd = number
                continue
            index, key = result[0], result[1]
            before = found.get(index)
            if before is not None and before[2] and before[1] != key:
                found.superseded[before[0]] = (index, before[1])
            found[index] = (number, *result[1:])
    return found


def _cut_short(raw: bytes) -> bool:
    """Whether ``raw`` can be a result line that a crash cut short: no newline at its end, and
    the start of a result line (each begins with its index), or only NUL bytes: a file system
    that lost the machine mid-write (ext4, XFS) fills the blocks it had not written with zeros,
    which follow the last whole line."""
    if raw.endswith(b"\n") or not raw:
        return False
    return b'{"index": '.startswith(raw[:10].rstrip(b"\x00")) or not raw.strip(b"\x00")
