"""Results an earlier ``irgraph batch`` kept that are not in their line's place any more.

A result is kept for the input line at its index with the same content (the line's hash, its
*key*). A line inserted or removed above others moves them all: their results are still in
the results file, at the old indices, so :func:`moved_results` pairs each moved line with a
kept result of the same content that no line in place claims, and :func:`copied_results` writes
that result again under the line's new index, instead of running (and paying for) the item
again. Each kept result stands for one line: the same line given twice (to sample a model
twice, say) runs its second copy. Results of lines past the end of the inputs (a shortened
file) are kept too, as :func:`past_the_end` notes.

A result is paid for, so the file never drops one whose line may come back: a line removed
from the middle (the next line's moved result takes its index), a line changed (its new
result takes it), a result past the end when a new line reaches its index. When the file is
tidied, :func:`relocations` gives each such result a new index past the inputs' end, unless the
file keeps the same result (a moved line's copy) or a newer result of the same line.

Lines appended to the inputs while the batch runs (an upstream step still writing them) come
after the lines counted at its start: :class:`Appended` pairs each with a kept result the
counted lines left, as :func:`moved_results` would have had the line been there from the start.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter, deque
from collections.abc import Collection, Hashable, Iterator, Mapping
from typing import Any

from irgraph.batch_files import json_text

__all__ = [
    "Appended",
    "copied_results",
    "moved_results",
    "other_inputs",
    "past_the_end",
    "read_once",
    "relocations",
    "renumbered",
]


def moved_results(
    unplaced: Mapping[int, str], count: int | None, kept: Mapping[int, str]
) -> dict[int, int]:
    """``{index of an input line: the index its kept result is copied from}`` for the lines
    whose kept result is at another index. ``unplaced`` is ``{index: key}`` of the inputs'
    lines whose key is not that of the result kept at their index, ``count`` the number of
    lines (:meth:`irgraph.cli_batch_inputs.Inputs.survey` reads both in one pass), ``kept``
    ``{index: key}`` of the kept results. Standard input (``count`` ``None``), read once, is
    not looked ahead in: its lines resume in place only."""
    if count is None or not kept or not unplaced:
        return {}
    first: dict[str, int] = {}  # key -> the first kept result of it no line claims in place
    more: dict[str, deque[int]] = {}  # key -> the next ones (a line given many times)
    for index, key in sorted(kept.items()):
        if index >= count or index in unplaced:
            if key in first:
                more.setdefault(key, deque()).append(index)
            else:
                first[key] = index
    moved = {}
    for index, key in unplaced.items():
        source = first.pop(key, None)
        if source is not None:
            moved[index] = source
            if more.get(key):
                first[key] = more[key].popleft()
    return moved


class Appended:
    """The kept results that lines appended to the inputs after they were counted may take:
    those no counted line claims in place (past the counted end ``count``, or at the index of
    a line of ``unplaced``) and no moved line took (``moved``, as :func:`moved_results` pairs
    them), each for one line. A line appended at the index of such a
    result of its content takes it in place, else takes the first other one of its content
    (:attr:`late` lists ``(index, source)`` for the copy to write), else runs. Without this, an
    appended line resumed in place a result already copied to a moved line (one result for two
    lines) and ran one kept at another index (paid twice)."""

    def __init__(
        self,
        count: int,
        unplaced: Collection[int],
        kept: Mapping[int, str],
        moved: Mapping[int, int],
    ) -> None:
        taken = set(moved.values())
        self.spare: dict[str, list[int]] = {}  # key -> the free results of it, by index
        for index, key in sorted(kept.items()):
            if (index >= count or index in unplaced) and index not in taken:
                self.spare.setdefault(key, []).append(index)
        self.claims: dict[int, int] = {}  # an appended line's index -> its result's index
        self.late: deque[tuple[int, int]] = deque()  # (index, source) copies to write

    def claim(self, index: int, key: str) -> bool:
        """Whether the appended line at ``index`` (its key ``key``) resumes a kept result;
        asked again for the same line, the same answer."""
        if index in self.claims:
            return True
        free = self.spare.get(key)
        if not free:
            return False
        source = index if index in free else free[0]
        free.remove(source)
        self.claims[index] = source
        if source != index:
            self.late.append((index, source))
        return True


def _any_moved(unplaced: Mapping[int, str], count: int, kept: Mapping[int, str]) -> bool:
    """Whether :func:`moved_results` would move any line, without pairing them all: some
    line not in place has the key of a kept result no line claims in place."""
    free = {key for index, key in kept.items() if index >= count or index in unplaced}
    return not free.isdisjoint(unplaced.values())


def copied_results(
    output: str, moved: Mapping[int, int], offsets: Mapping[int, int]
) -> Iterator[str]:
    """The result lines of ``output`` at ``offsets`` (``{index: offset}``) of the kept results
    that ``moved`` (``{new index: old index}``) copies, each as the result of its new index;
    the file is read once, front to back."""
    with open(output, "rb") as file:
        for index, source in sorted(moved.items(), key=lambda pair: offsets[pair[1]]):
            file.seek(offsets[source])
            yield _reindexed(file.readline(), source, index)


def _reindexed(raw: bytes, source: int, index: int) -> str:
    """The result line ``raw`` (of the index ``source``) as the result of ``index``: its
    leading index replaced, as every line this irgraph writes starts with it, else the line's
    JSON read and written again with ``index`` first."""
    head = b'{"index": %d, ' % source
    if raw.startswith(head) and raw.endswith(b"\n"):
        return f'{{"index": {index}, ' + raw[len(head) :].decode("utf-8")
    record = json.loads(raw)
    record.pop("index", None)
    return json_text({"index": index, **record}) + "\n"


#: The start of a result line as this irgraph writes it: its index first.
_INDEX = re.compile(rb'\{"index": (0|[1-9][0-9]*), ')


def renumbered(raw: bytes, index: int) -> bytes:
    """The result line ``raw`` as the result of ``index``, ending with a newline."""
    match = _INDEX.match(raw)
    if match is not None:
        return _reindexed(raw.rstrip(b"\r\n") + b"\n", int(match[1]), index).encode("utf-8")
    return _reindexed(raw, -1, index).encode("utf-8")


def relocations(
    path: str,
    kept: Mapping[int, tuple[int, Hashable]],
    dropped: Mapping[int, tuple[int, Hashable]],
    end: int,
) -> dict[int, int]:
    """``{line number: new index}`` of the completed result lines of ``path`` that a tidying
    would drop (``dropped``: ``{line number: (index, key)}``) though the lines it keeps
    (``kept``, the same form) do not hold their result: each keeps its index when it is past
    the inputs' end (from ``end`` on) and no other line has it, else gets the first such index
    no line has, so that its inputs line, given again, resumes instead of paying for its item
    twice. Two lines hold the same result when they are the same but for their index (a moved
    line's copy); the file is read once, when needed."""
    if not dropped:
        return {}
    keys = Counter(key for _, key in dropped.values())
    held_keys = {key for _, key in kept.values()}
    # only a result of a line the file keeps a result of (or drops twice) may be a copy
    alike = {key for key, count in keys.items() if count > 1 or key in held_keys}
    wanted = {n for n, (_, key) in [*dropped.items(), *kept.items()] if key in alike}
    results = dict.fromkeys(dropped, b"")
    if wanted:
        with open(path, "rb") as file:
            for number, raw in enumerate(file):
                if number in wanted:
                    results[number] = _without_index(raw)
    held = {(key, results[number]) for number, (_, key) in kept.items() if number in results}
    lost = []  # the dropped lines holding a result no other line holds
    for number, (index, key) in sorted(dropped.items()):
        if (key, results[number]) not in held:
            held.add((key, results[number]))
            lost.append((number, index))
    taken = {index for index, _ in kept.values()}
    moves = {}
    for number, index in lost:  # first those that stay in their own place, past the end
        if index >= end and index not in taken:
            moves[number] = index
            taken.add(index)
    fresh = end
    for number, _ in lost:
        if number not in moves:
            while fresh in taken:
                fresh += 1
            moves[number] = fresh
            taken.add(fresh)
    return moves


def _without_index(raw: bytes) -> bytes:
    """A digest of the result line ``raw`` without its index, to tell copies of one result
    (:func:`_reindexed` makes them) from other results of the same line: the rest of a line
    this irgraph wrote, else its JSON without the index, as a copy writes it."""
    match = _INDEX.match(raw)
    if match is not None:
        rest = raw[match.end() :].rstrip()
    else:
        record = json.loads(raw)
        record.pop("index", None)
        rest = json_text(record).encode("utf-8")[1:]
    return hashlib.blake2b(rest, digest_size=16).digest()


def other_inputs(
    unplaced: Mapping[int, str], count: int | None, kept: Mapping[int, str], path: str, output: str
) -> str | None:
    """Why the results file ``output`` is refused for the inputs file ``path`` (``count``
    lines, ``unplaced`` as :func:`moved_results` takes it), else ``None``: none of the
    results it keeps (``kept``) is of a line of these inputs, in place or moved, and running
    them would replace some. Another data set's inputs given the same ``-o`` (a command line
    edited from the last one) would otherwise replace results paid for, without a word."""
    if count is None or not kept or len(unplaced) < count or _any_moved(unplaced, count, kept):
        return None
    replaced = sorted(i for i in kept if i < count)
    if not replaced:
        return None  # every kept result is past the end: kept, with past_the_end's note
    many = len(replaced) > 1
    which = f"items {replaced[0]} to {replaced[-1]}" if many else f"item {replaced[0]}"
    if many and replaced[-1] - replaced[0] + 1 != len(replaced):
        which = f"{len(replaced)} items from {replaced[0]} to {replaced[-1]}"
    results = "results" if len(kept) > 1 else "result"
    return (
        f"-o {output!r} holds {len(kept)} completed {results}, none of them of a line of the "
        f"inputs file {path!r}: the results of other inputs (another data set's, or every "
        f"line changed since), and running these would replace the results of {which}. Write "
        f"the results of {path} to a new -o file; to run every item again in this one, delete "
        f"{output} first."
    )


def past_the_end(kept: Mapping[int, str], read: int | None, path: str, output: str) -> str | None:
    """The note for results ``output`` keeps of items past the end of inputs (``path``, of
    ``read`` items) that hold some (a shortened file, or a part of one; lines removed or
    changed, their results moved there), else ``None``: they are another run's, kept so that
    the lines, given again, resume rather than pay twice."""
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
        f"({read} items): an earlier run's, of lines these inputs no longer hold (removed, "
        f"changed, or past a shorter file's end). {they.capitalize()} {are} left in the file "
        "so that those lines, given again, resume instead of running again; for a file of "
        "these inputs' results only, write to a new -o file."
    )


def read_once(count: int, path: str, args: Any) -> str | None:
    """The note for inputs read once (``path`` standard input or a pipe, not looked ahead in)
    of which ``count`` lines ran again though the results file holds their result under
    another index (lines that moved), else ``None``: a regular file would have resumed them."""
    if not count:
        return None
    where = "Standard input is" if path == "-" else f"The inputs {path!r} are not a file and are"
    lines, them = ("line", "it") if count == 1 else ("lines", "them")
    return (
        f"note: {where} read once, so {count} {lines} whose result -o {args.output!r} holds "
        f"under another index (lines that moved) ran again: such inputs resume lines only in "
        f"their own places. To resume moved lines without running {them}, save the inputs to "
        f"a file and give it: irgraph batch {args.target} inputs.jsonl -o {args.output}."
    )
