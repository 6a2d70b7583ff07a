"""The results file of ``irgraph batch``: its lines, and keeping them across runs.

One JSON line per item, ``{"index": I, "key": K, "state": {...}}`` for an item that completed
and ``{"index": I, "key": K, "error": {"type": ..., "message": ...}}`` for one that failed, its
message worded for the command line: it names the item by its index and line in the inputs
file (not by ``run_many``'s own count, which skips the lines that are not states or were
resumed) and its advice by the command's options. A resumed batch keeps the completed lines
and rewrites the file in place (a temporary file renamed over it).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import stat
import tempfile
from typing import Any

from irgraph.cli_inputs import CliError
from irgraph.cli_live import failure_text

__all__ = [
    "check_output",
    "compact",
    "input_words",
    "keep_completed",
    "result_record",
    "scan_results",
]


def _result(raw: bytes) -> tuple[int, str, bool] | None:
    """``(index, key, has state)`` of a result line, ``None`` for any other line."""
    try:
        record = json.loads(raw)
    except (ValueError, RecursionError):
        return None
    if not isinstance(record, dict):
        return None
    index, key, has_state = record.get("index"), record.get("key"), "state" in record
    if type(index) is not int or index < 0 or not isinstance(key, str):
        return None
    if not isinstance(record.get("state" if has_state else "error"), dict):
        return None
    return index, key, has_state


def scan_results(path: str) -> dict[int, tuple[int, str, bool]]:
    """The last result line of each index in the results file ``path``: ``{index: (line
    number, key, has state)}``; nothing when there is no such file. Only the last line may be
    something else (cut short by a crash): a file with other lines is refused, untouched, since
    it is not the results file of a batch and the rewrite would lose them."""
    found: dict[int, tuple[int, str, bool]] = {}
    if not os.path.exists(path):
        return found
    odd = None
    with open(path, "rb") as file:
        for number, raw in enumerate(file):
            if odd is not None:
                raise CliError(
                    f"-o {path!r} is not the results file of a batch: its line {odd + 1} is not "
                    "a result line; write the results to a new file (or delete this one)."
                )
            result = _result(raw)
            if result is None:
                odd = number
            else:
                found[result[0]] = (number, result[1], result[2])
    return found


def _rewrite(path: str, lines: set[int]) -> None:
    """Keep only the lines numbered ``lines`` of ``path``, atomically."""
    folder = os.path.dirname(os.path.abspath(path))
    handle, temporary = tempfile.mkstemp(dir=folder, prefix=".irgraph-batch-", suffix=".tmp")
    try:
        os.chmod(temporary, stat.S_IMODE(os.stat(path).st_mode))
        with os.fdopen(handle, "wb") as copy, open(path, "rb") as file:
            for number, raw in enumerate(file):
                if number in lines:
                    copy.write(raw if raw.endswith(b"\n") else raw + b"\n")
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


def keep_completed(path: str, found: dict[int, tuple[int, str, bool]]) -> dict[int, str]:
    """Prepare the results file ``path`` (scanned into ``found``) for a resumed batch: keep the
    last completed result line of each index, drop the rest (errors, duplicates, a half-written
    line), and return ``{index: key}`` of those kept."""
    if not os.path.exists(path):
        return {}
    kept = {index: (number, key) for index, (number, key, ok) in found.items() if ok}
    _rewrite(path, {number for number, _ in kept.values()})
    return {index: key for index, (_, key) in kept.items()}


def compact(path: str, total: int | None) -> None:
    """Keep the last result line of each index (below ``total`` when given)."""
    found = scan_results(path)
    _rewrite(path, {n for index, (n, _, _) in found.items() if total is None or index < total})


def check_output(path: str, inputs: str) -> None:
    if not path or path == "-":
        raise CliError(
            f"-o needs a file name (got {path!r}), e.g. -o results.jsonl; the results go to a "
            "file so that running the command again can resume."
        )
    if os.path.isdir(path):
        example = os.path.join(path, "results.jsonl")
        raise CliError(f"-o {path!r} is a directory; give a file in it, e.g. -o {example}.")
    folder = os.path.dirname(path)
    if folder and not os.path.isdir(folder):
        raise CliError(
            f"Cannot write {path!r}: there is no directory {folder!r}; create it first "
            f"(mkdir -p {folder}) or write the results elsewhere."
        )
    if inputs != "-" and os.path.exists(path) and os.path.samefile(path, inputs):
        raise CliError(f"-o {path!r} is the inputs file; write the results to another file.")


def result_record(line: Any, item: Any, where: str) -> dict[str, Any]:
    """The result line of the inputs line ``line`` (read from ``where``): the item's final
    state, or its error worded for the command line."""
    record: dict[str, Any] = {"index": line.index, "key": line.key}
    if line.problem is not None:
        record["error"] = {"type": "InputError", "message": line.problem}
    elif item.ok:
        record["state"] = item.state
    else:
        message = failure_text(item.error)  # without the advice only Python can follow
        message = command_line_words(message, item.index, f"{line.index} ({where}:{line.number})")
        message = input_words(message, item.error, "batch")
        record["error"] = {"type": type(item.error).__name__, "message": message}
    return record


def command_line_words(message: str, index: int, item: str) -> str:
    """An item's error ``message`` from ``run_many`` as the command line says it: the item
    named ``item`` (its index and line in the inputs file) where ``run_many`` names it by its
    own ``index`` (which counts only the lines it was handed), and the advice by the options.

    >>> command_line_words("Item 0 of the batch ran, but ... or leave batch_key unset.", 0, "4")
    'Item 4 ran, but ... or drop --batch-key.'
    """
    from irgraph.batch_store import NOT_JSON_HINT, UNKEYED

    message = re.sub(rf"^Item {index}(?: of the batch)?(?=\W)", f"Item {item}", message)
    message = message.replace(NOT_JSON_HINT, _NOT_JSON_LINE)
    return message.replace(UNKEYED, "drop --batch-key")


def input_words(message: str, error: BaseException, command: str) -> str:
    """``message`` (of ``error``) with each problem's advice on declaring a key as an input
    (``to_graph(..., inputs=...)``) put as ``irgraph command`` takes it: a key of each inputs
    line for ``batch``, ``--state``/``--input`` for the others."""
    from irgraph.validate import declare_input_advice

    for problem in getattr(error, "problems", ()):
        key = problem.key
        if key is None:
            continue
        if command == "batch":
            words = f'give it in each line of the inputs (e.g. {{"{key}": ...}})'
        else:
            words = f"give it a value with --state {key}=... (or declare it with --input {key})"
        message = message.replace(declare_input_advice(key), words)
    return message


_NOT_JSON_LINE = (
    "A keyed batch (--batch-key) keys every item by its JSON content: write the line with JSON "
    "values only (NaN and Infinity are not JSON), or drop --batch-key."
)
