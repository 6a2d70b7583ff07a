"""The results file of ``irgraph batch``: its lines, and keeping them across runs.

One JSON line per item, ``{"index": I, "key": K, "state": {...}}`` for an item that completed
and ``{"index": I, "key": K, "error": {"type": ..., "message": ...}}`` for one that failed, its
message worded for the command line: it names the item by its index and line in the inputs
file (not by ``run_many``'s own count, which skips the lines that are not states or were
resumed) and its advice by the command's options. Each line ends with ``"pipeline": D``, the
digest of the pipeline that wrote it: a file holding another version's results is refused. A
resumed batch keeps the completed lines and, when the file holds others, rewrites it in place
(a temporary file renamed over it); a file of kept lines only is appended to as it is.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import stat
import tempfile
from collections.abc import Collection, Mapping
from typing import Any

from irgraph.cli_batch_kept import relocations, renumbered
from irgraph.cli_batch_scan import Found, result_of, scan_results
from irgraph.cli_inputs import CliError
from irgraph.cli_live import failure_text
from irgraph.ir.values import json_problem

__all__ = [
    "check_output",
    "check_pipeline",
    "compact",
    "failed_note",
    "input_words",
    "keep_completed",
    "result_record",
    "scan_results",
]


def _rewrite(
    path: str,
    lines: set[int],
    stamps: Mapping[int, str] | None = None,
    moves: Mapping[int, int] | None = None,
) -> dict[int, int]:
    """Keep only the lines numbered ``lines`` of ``path``, atomically; a line numbered in
    ``stamps`` gets that pipeline digest as its last member (the rest of it unchanged), one
    numbered in ``moves`` that index. Returns ``{line number: offset in the rewritten file}``
    of the lines kept."""
    stamps, moves = stamps or {}, moves or {}
    path = os.path.realpath(path)  # through a symlink: the file it names, the link kept
    folder = os.path.dirname(path)
    handle, temporary = tempfile.mkstemp(dir=folder, prefix=".irgraph-batch-", suffix=".tmp")
    offsets, offset = {}, 0
    try:
        os.chmod(temporary, stat.S_IMODE(os.stat(path).st_mode))
        with os.fdopen(handle, "wb") as copy, open(path, "rb") as file:
            for number, raw in enumerate(file):
                if number in stamps:  # a result line: a JSON object, its "}" last
                    member = f', "pipeline": {json.dumps(stamps[number])}}}'
                    raw = raw.rstrip()[:-1] + member.encode()
                if number in moves:
                    raw = renumbered(raw, moves[number])
                if number in lines:
                    raw = raw if raw.endswith(b"\n") else raw + b"\n"
                    copy.write(raw)
                    offsets[number] = offset
                    offset += len(raw)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
    return offsets


def _whole(path: str, lines: set[int]) -> dict[int, int] | None:
    """``{line number: offset}`` of the lines of ``path`` when they are all numbered in
    ``lines`` and the last ends with a newline (a rewrite would copy the file as it is), else
    ``None``."""
    offsets, offset, raw = {}, 0, b"\n"
    with open(path, "rb") as file:
        for number, raw in enumerate(file):
            if number not in lines:
                return None
            offsets[number] = offset
            offset += len(raw)
    return offsets if raw.endswith(b"\n") else None


def keep_completed(
    path: str, found: Found, pipeline: str | None = None, end: int | None = None
) -> tuple[dict[int, str], dict[int, int]]:
    """Prepare the results file ``path`` (scanned into ``found``) for a resumed batch: keep the
    last completed result line of each index, drop the rest (errors, duplicates, a half-written
    line), and return ``{index: key}`` of those kept and ``{index: offset}`` of their lines in
    the file (to copy a moved line's result from). A kept line an earlier irgraph wrote
    (without a digest) gets the digest of ``pipeline``, which resumes it as its own (as
    :func:`check_pipeline`'s note says, once): from then on it is checked like the others. A
    completed line a later one replaced (a run killed before it tidied the file) keeps its
    result under a new index from ``end`` (the inputs' count; else past every index) on."""
    if not os.path.exists(path):
        return {}, {}
    kept = {index: (number, key) for index, (number, key, ok, _) in found.items() if ok}
    stamps = {
        number: pipeline
        for number, _, ok, digest in found.values()
        if ok and digest is None and pipeline is not None
    }
    start = max(found, default=-1) + 1 if end is None else end
    lines = {number: (index, key) for index, (number, key) in kept.items()}
    moves = relocations(path, lines, found.superseded, start)
    for number, index in moves.items():
        kept[index] = (number, found.superseded[number][1])
    offsets = None if stamps or moves else _whole(path, set(lines))  # kept whole: not written
    offsets = _rewrite(path, set(lines) | set(moves), stamps, moves) if offsets is None else offsets
    return (
        {index: key for index, (_, key) in kept.items()},
        {index: offsets[number] for index, (number, _) in kept.items()},
    )


def check_pipeline(path: str, found: Found, digest: str, described: Any) -> str | None:
    """Refuse the results file ``path`` (scanned into ``found``) when a result it would resume
    was written by another pipeline than this one (``digest``, ``described``), saying what
    changed when the record of a keyed batch still holds that pipeline; a lines-only key would
    give that pipeline's results as this one's. Returns a note when it resumes results written
    before lines recorded their pipeline: they resume as this pipeline's, as they did, and
    :func:`keep_completed` then marks them so (the note is given once)."""
    from irgraph.batch_pipeline import difference, recorded_pipeline, same_pipeline_digests
    from irgraph.ir.values import json_key

    kept = [pipeline for _, _, ok, pipeline in found.values() if ok]
    ours = {digest} | same_pipeline_digests(described)  # with an earlier irgraph's digest
    for other in sorted({p for p in kept if p is not None} - ours):
        was = recorded_pipeline(other)
        if was is not None and json_key(was) == json_key(described):
            continue  # the same pipeline as a run compares it: 1.0 written for 1, say
        changed = (
            f"{difference(was, described)}"
            if was is not None
            else "what changed cannot be told (the file records only a digest of each pipeline)"
        )
        raise CliError(
            f"-o {path!r} holds results of another version of the pipeline (pipeline {other}, "
            f"this one is {digest}): {changed}. Resuming would give that version's results "
            f"as this one's; write the results to a new -o file, or delete {path} to run every "
            "item again with this pipeline."
        )
    count = kept.count(None)
    if not count:
        return None
    results, their, they = (
        ("result", "its", "it is") if count == 1 else ("results", "their", "they are")
    )
    return (
        f"note: -o {path!r} has {count} {results} written by an earlier irgraph, which did not "
        f"record {their} pipeline; {they} resumed as this pipeline's and marked so in the file "
        "(this is said once). If the pipeline changed since, write the results to a new -o "
        "file."
    )


def compact(
    path: str, end: int | None = None, copied: Collection[int] = (), began: int = 0
) -> dict[int, str]:
    """Keep the last result line of each index, but those of the indices ``copied`` (moved
    lines' results, copied to their new index) from ``end`` (the inputs' end) on; a completed
    line dropped keeps its result under a new index from ``end`` (else past every index) on
    when no line kept holds it (:func:`irgraph.cli_batch_kept.relocations`), but for the
    first ``began`` lines (those the run began with) at an index in ``copied``, which have a
    copy. Returns ``{new index: key}`` of the lines that got a new index."""
    drop = {index for index in copied if end is not None and index >= end}
    last: dict[int, tuple[int, bytes, bool]] = {}
    dropped: dict[int, tuple[int, bytes]] = {}
    head = _HEAD.match
    with open(path, "rb") as file:
        for number, raw in enumerate(file):
            match = head(raw) if raw.endswith(b"}\n") else None
            if match is not None:  # a line this irgraph wrote: read from its start, no JSON
                index, key, ok = int(match[1]), match[2], match[3] == b"state"
            elif (result := result_of(raw)) is not None:
                index, key, ok = result[0], result[1].encode(), result[2]
            else:
                continue
            before = last.get(index)
            if before is not None and before[2] and before[1] != key:
                if before[0] >= began or index not in copied:  # not a copied result
                    dropped[before[0]] = (index, before[1])
            last[index] = (number, key, ok)
    kept = {}
    for index, (number, key, ok) in last.items():
        if ok and (index in drop or (end is not None and index >= end)):
            if number >= began or index not in copied:  # past the end: kept unless copied
                dropped[number] = (index, key)
        elif index not in drop:
            kept[number] = (index, key)
    start = max(last, default=-1) + 1 if end is None else end
    moves = relocations(path, kept, dropped, start)
    _rewrite(path, set(kept) | set(moves), moves=moves)
    return {index: dropped[number][1].decode() for number, index in moves.items()}


#: The start of a result line as :func:`result_record` writes it (its index first).
_HEAD = re.compile(rb'\{"index": (0|[1-9][0-9]*), "key": "([0-9a-f]+)", "(state|error)": \{')


def check_output(path: str, inputs: str) -> None:
    if not path or path == "-":
        raise CliError(
            f"-o needs a file name (got {path!r}), e.g. -o results.jsonl; the results go to a "
            "file so that running the command again can resume."
        )
    if os.path.isdir(path):
        example = os.path.join(path, "results.jsonl")
        raise CliError(f"-o {path!r} is a directory; give a file in it, e.g. -o {example}.")
    if os.path.exists(path) and not os.path.isfile(path):  # reading a pipe back would hang
        raise CliError(
            f"-o {path!r} is not a regular file (a pipe, a terminal or a device), but irgraph "
            "batch reads its results file back to resume and appends to it; write the results "
            "to a file (-o results.jsonl), and follow them as they come with tail -f "
            "results.jsonl."
        )
    folder = os.path.dirname(path)
    if folder and not os.path.isdir(folder):
        raise CliError(
            f"Cannot write {path!r}: there is no directory {folder!r}; create it first "
            f"(mkdir -p {folder}) or write the results elsewhere."
        )
    # a missing inputs file is the reader's to report, with its own advice
    both = inputs != "-" and os.path.exists(path) and os.path.exists(inputs)
    if both and os.path.samefile(path, inputs):
        raise CliError(f"-o {path!r} is the inputs file; write the results to another file.")


def result_record(
    line: Any,
    item: Any,
    where: str,
    made_up: bool = False,
    pipeline: str | None = None,
    answers: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """The result line of the inputs line ``line`` (read from ``where``): the item's final
    state, or its error worded for the command line, and the digest of the ``pipeline`` that
    ran it. A state that a ``made_up`` provider's answers made says so (``"made_up": true``):
    a run with a real provider runs it again; one a gated pipeline made records the gates'
    ``answers`` (:mod:`irgraph.cli_batch_answers`)."""
    record: dict[str, Any] = {"index": line.index, "key": line.key}
    if line.problem is not None:
        record["error"] = {"type": "InputError", "message": line.problem}
    elif item.ok and (unwritable := _unwritable(item.state)) is not None:
        record["error"] = {
            "type": "OutputError",
            "message": f"Item {line.index} ({where}:{line.number}) ran, but its final state "
            f"cannot be written as JSON: {unwritable}. Have the pipeline "
            "write JSON values (a list for a set or tuple, a finite number, a dict with string "
            "keys); the item runs again when the command is run again.",
        }
    elif item.ok:
        record["state"] = item.state
        if made_up:
            record["made_up"] = True
        if answers:
            record["answers"] = dict(answers)
    else:
        message = failure_text(item.error)  # without the advice only Python can follow
        message = command_line_words(message, item.index, f"{line.index} ({where}:{line.number})")
        message = input_words(message, item.error, "batch")
        named = f"Item {line.index} ({where}:{line.number})"
        if not message.startswith(f"{named} "):  # a line's error names it: index is not line
            message = f"{named}: {message}"
        record["error"] = {"type": type(item.error).__name__, "message": message}
    if pipeline is not None:  # last: a line starts as it always did
        record["pipeline"] = pipeline
    return record


def failed_note(failed: int, named: list[str], output: str) -> str | None:
    """The note after a finished batch of which ``failed`` items failed (``named``: the
    first few, as ``index (file:line)``), else ``None``: which, where their errors are, and
    that running the command again retries only them (the failures told as they came may
    have scrolled away under the progress).

    >>> print(failed_note(3, ["1 (in.jsonl:2)", "4 (in.jsonl:5)"], "out.jsonl"))
    3 items failed: items 1 (in.jsonl:2), 4 (in.jsonl:5) and 1 more, each with its error on
    its line in 'out.jsonl'; fix the cause and run the same command again: only the failed
    items run again, the completed ones are kept.
    """
    if not failed:
        return None
    items = "1 item" if failed == 1 else f"{failed} items"
    more = f" and {failed - len(named)} more" if failed > len(named) else ""
    which = ("item " if len(named) == 1 else "items ") + ", ".join(named)
    each = "" if failed == 1 else "each "
    return (
        f"{items} failed: {which}{more}, {each}with its error on its line in {output!r}; fix "
        "the cause and run the same command again: only the failed items run again, the "
        "completed ones are kept."
    )


def _unwritable(state: Any) -> str | None:
    """Why the final state ``state`` cannot be a results line's JSON (a set, ``inf``, an
    object), or ``None`` when it can (a tuple is written as a list)."""
    try:
        json.dumps(state, allow_nan=False)
    except (TypeError, ValueError) as exc:
        return json_problem(state, "state") or str(exc)
    return None


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
    message = _STATE_ADVICE.sub(r"\1 in the inputs line", message)  # a line's value, not --state
    return message.replace(UNKEYED, "drop --batch-key")


#: A value's advice as run() and irgraph run say it: ``state={...} (on the command line
#: --state-json '{...}', not --state)``; a batch takes the JSON object in the line.
_STATE_ADVICE = re.compile(
    r"state=\{.*?\} \(on the command line --state-json '(.*?)'(?:, not --state)?\)"
)


def input_words(message: str, error: BaseException, command: str) -> str:
    """``message`` (of ``error``) with each problem's advice on declaring a key as an input
    (``to_graph(..., inputs=...)``) put as ``irgraph command`` takes it: a key of each inputs
    line for ``batch``, ``--state``/``--input`` for the others."""
    from irgraph.cli_state_types import list_option, object_option
    from irgraph.errors import suggestion_text
    from irgraph.unbound_problems import declare_input_advice

    for problem in getattr(error, "problems", ()):
        key = problem.key
        if key is None:
            continue
        if command == "batch":
            words = f'give it in each line of the inputs (e.g. {{"{key}": ...}})'
            unread = problem.unread_inputs
            if len(unread) == 1:  # the line's key, more likely than the pipeline's, is wrong
                said = suggestion_text(problem.suggestion) + problem.unread_text()
                others = [s for s in problem.suggestion if s not in unread]
                message = message.replace(
                    said,
                    f"{suggestion_text(others)} The line gives '{unread[0]}', which nothing reads: "
                    f"if it is '{key}' misspelled, write '{key}' in the line.",
                )
        elif problem.over:  # a map-over's list (or an object holding it): JSON
            words = (
                f"give it a list with {list_option(problem.over, problem.fields)} (--state gives "
                f"text; or declare it with --input {key})"
            )
        elif problem.fields:  # --state gives text: no fields
            words = (
                f"give it an object with {object_option(key, list(problem.fields))} (--state "
                f"gives text, which has no fields; or declare it with --input {key})"
            )
        else:
            words = f"give it a value with --state {key}=... (or declare it with --input {key})"
        message = message.replace(declare_input_advice(key), words)
    return message


_NOT_JSON_LINE = (
    "A keyed batch (--batch-key) keys every item by its JSON content: write the line with JSON "
    "values only (NaN and Infinity are not JSON), or drop --batch-key."
)
