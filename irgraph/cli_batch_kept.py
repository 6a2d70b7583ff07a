"""The results a resumed ``irgraph batch`` keeps: found by index, or by text for lines that moved.

A kept result is matched to its inputs line by index and key (the hash of the line's text).
When the line at an index has another text than the result kept there (a line was inserted or
deleted above it, or the lines were reordered), a kept result of the same text at another index
is taken instead and written again under the line's index, so editing the middle of the inputs
runs only the lines that are new. Each kept result is taken once: identical lines are separate
items (samples of one prompt, say), so a second copy of a line runs unless it has a result of
its own. The notes told when a batch ends about the results it kept are here too.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from irgraph.cli_batch_lines import Line

__all__ = ["KeptResults", "moved_note", "nothing_read_note", "past_the_end_note"]


class KeptResults:
    """The completed results of the results file ``path`` a resumed batch starts with: ``{index:
    (key, byte offset of its line)}`` (:func:`irgraph.cli_batch_results.keep_completed`)."""

    def __init__(self, path: str = "", kept: Mapping[int, tuple[str, int]] | None = None) -> None:
        self.path = path
        self.keys = {index: key for index, (key, _) in (kept or {}).items()}
        self.offsets = {index: offset for index, (_, offset) in (kept or {}).items()}
        self.taken: set[int] = set()  # indexes whose result stands for a line of this run
        self.moved: set[int] = set()  # of those, the ones taken by a line at another index
        self._by_key: dict[str, list[int]] | None = None  # built when a first line moved

    def __len__(self) -> int:
        return len(self.keys)

    def get(self, index: int) -> str | None:
        """The key of the result kept at ``index``, if any."""
        return self.keys.get(index)

    def resumes(self, line: Line) -> bool:
        """Whether the result kept at ``line``'s index is this line's (same text), and not
        taken by another line already; it is taken now."""
        if self.keys.get(line.index) != line.key or line.index in self.taken:
            return False
        self.taken.add(line.index)
        return True

    def moved_result(self, line: Line) -> str | None:
        """A result kept at another index for a line of ``line``'s text, as the JSON line that
        keeps it under ``line``'s index (the result taken), or ``None`` when there is none."""
        if self._by_key is None:
            self._by_key = {}
            for index in sorted(self.keys):
                self._by_key.setdefault(self.keys[index], []).append(index)
        for index in self._by_key.get(line.key, ()):
            if index not in self.taken:
                text = self._line_at(index, line.index)
                if text is not None:
                    self.taken.add(index)
                    self.moved.add(index)
                    return text
        return None

    def _line_at(self, index: int, new_index: int) -> str | None:
        """The result line kept at ``index``, its index made ``new_index``; ``None`` if the
        line cannot be read back as it was (the file changed under the batch)."""
        try:
            with open(self.path, "rb") as file:
                file.seek(self.offsets[index])
                record = json.loads(file.readline())
        except (OSError, ValueError):
            return None
        if not isinstance(record, dict) or record.get("index") != index:
            return None
        record["index"] = new_index  # first in the line, as every result line starts
        return json.dumps(record, ensure_ascii=False) + "\n"

    def beyond(self, read: int | None) -> list[int]:
        """The indexes of the kept results past the end of inputs of ``read`` items (none
        when they were not read to the end), but those a line of this run took."""
        if not read:
            return []
        return sorted(i for i in self.keys if i >= read and i not in self.moved)

    def dropped(self, read: int | None) -> set[int]:
        """The indexes whose lines the results file no longer needs once inputs of ``read``
        items were read to their end: results past the end that moved to a line of this run."""
        if read is None:
            return set()
        return {i for i in self.moved if i >= read}


def past_the_end_note(kept: KeptResults, read: int | None, output: str, inputs: str) -> str | None:
    """The note for results ``output`` keeps of items past the end of the inputs ``inputs``
    (``-``: standard input) of ``read`` items (a shortened file, or a part of one), else
    ``None``: they are another run's, kept so that the lines, given again, resume rather than
    pay twice."""
    beyond = kept.beyond(read)
    if not beyond:
        return None
    count = len(beyond)
    which = f"item {beyond[0]}" if count == 1 else f"items {beyond[0]} to {beyond[-1]}"
    if count > 1 and beyond[-1] - beyond[0] + 1 != count:
        which = f"{count} items from {beyond[0]} to {beyond[-1]}"
    results, they, are = ("result", "it", "is") if count == 1 else ("results", "they", "are")
    where = "standard input" if inputs == "-" else f"the inputs file {inputs!r}"
    return (
        f"note: -o {output!r} keeps the {results} of {which}, past the end of {where} "
        f"({read} items): an earlier run's, from inputs with more "
        f"lines. {they.capitalize()} {are} left in the file so that those lines, given "
        f"again, resume instead of running again; for a file of these inputs' results only, "
        "write to a new -o file."
    )


def nothing_read_note(kept: KeptResults, read: int | None, output: str, inputs: str) -> str | None:
    """The note for inputs ``inputs`` that hold no item (read to their end), else ``None``."""
    if read != 0:
        return None
    where = "Standard input" if inputs == "-" else f"The inputs file {inputs!r}"
    count = len(kept)
    left = (
        f"; the {count} {'result' if count == 1 else 'results'} already in {output} "
        "are left as they were"
        if count
        else ""
    )
    return (
        f"note: {where} holds no items (no line that is not blank), so no item ran{left}; "
        "give one JSON object per line."
    )


def moved_note(kept: KeptResults) -> str | None:
    """The note for results that resumed under another index than they were written with."""
    count = len(kept.moved)
    if not count:
        return None
    results, were = ("result", "was") if count == 1 else ("results", "were")
    return (
        f"note: {count} {results} {were} resumed from another line of the results file (their "
        "input lines moved: a line was inserted, deleted or moved above them) and written again "
        "under the lines' new positions."
    )
