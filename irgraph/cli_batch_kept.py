"""Results an earlier ``irgraph batch`` kept that are not in their line's place any more.

A result is kept for the input line at its index with the same content (the line's hash, its
*key*). A line inserted or removed above others moves them all: their results are still in
the results file, at the old indices, so :func:`moved_results` pairs each moved line with a
kept result of the same content that no line in place claims, and :func:`copied_result` writes
that result again under the line's new index, instead of running (and paying for) the item
again. Each kept result stands for one line: the same line given twice (to sample a model
twice, say) runs its second copy. Results of lines past the end of the inputs (a shortened
file) are kept too, as :func:`past_the_end` notes.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping

from irgraph.cli_batch_lines import line_key

__all__ = ["copied_result", "moved_results", "past_the_end"]


def moved_results(inputs: str, output: str, kept: Mapping[int, str]) -> dict[int, tuple[int, int]]:
    """``{index of an input line: (offset in output of the result to copy for it, the index
    that result was kept at)}``, for the
    lines of the inputs file ``inputs`` whose kept result (``kept``: ``{index: key}`` of the
    results file ``output``) is at another index. Standard input, read once, is not looked
    ahead in: its lines resume in place only."""
    if inputs == "-" or not kept or not os.path.isfile(inputs):
        return {}
    current: dict[int, str] = {}
    with open(inputs, "rb") as file:
        for raw in file:
            if raw.strip():
                current[len(current)] = line_key(raw)
    free: dict[str, list[int]] = {}  # key -> indices of kept results no line claims in place
    for index, key in sorted(kept.items()):
        if current.get(index) != key:
            free.setdefault(key, []).append(index)
    wanted = [(i, key) for i, key in current.items() if kept.get(i) != key and free.get(key)]
    if not wanted:
        return {}
    offsets = _offsets(output)
    moved = {}
    for index, key in wanted:
        place = free[key]
        if place and place[0] in offsets:
            source = place.pop(0)
            moved[index] = offsets[source], source
    return moved


def _offsets(output: str) -> dict[int, int]:
    """``{index: offset}`` of the result lines of ``output`` (the last line of an index)."""
    found, offset = {}, 0
    with open(output, "rb") as file:
        for raw in file:
            try:
                index = json.loads(raw).get("index")
            except (ValueError, AttributeError, RecursionError):
                index = None
            if type(index) is int:
                found[index] = offset
            offset += len(raw)
    return found


def copied_result(output: str, offset: int, index: int) -> str:
    """The result line at ``offset`` of ``output``, as the result of the line at ``index``."""
    with open(output, "rb") as file:
        file.seek(offset)
        record = json.loads(file.readline())
    record.pop("index", None)
    return json.dumps({"index": index, **record}, ensure_ascii=False) + "\n"


def past_the_end(kept: Mapping[int, str], read: int | None, path: str, output: str) -> str | None:
    """The note for results ``output`` keeps of items past the end of inputs (``path``, of
    ``read`` items) that hold some (a shortened file, or a part of one), else ``None``: they
    are another run's, kept so that the lines, given again, resume rather than pay twice."""
    beyond = sorted(i for i in kept if read and i >= read)
    if not beyond:
        return None
    count = len(beyond)
    which = f"item {beyond[0]}" if count == 1 else f"items {beyond[0]} to {beyond[-1]}"
    if count > 1 and beyond[-1] - beyond[0] + 1 != count:
        which = f"{count} items from {beyond[0]} to {beyond[-1]}"
    results, they, are = ("result", "it", "is") if count == 1 else ("results", "they", "are")
    where = "standard input" if path == "-" else f"the inputs file {path!r}"
    return (
        f"note: -o {output!r} keeps the {results} of {which}, past the end of {where} "
        f"({read} items): an earlier run's, from inputs with more "
        f"lines. {they.capitalize()} {are} left in the file so that those lines, given "
        f"again, resume instead of running again; for a file of these inputs' results only, "
        "write to a new -o file."
    )
