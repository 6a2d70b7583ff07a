"""The inputs file of ``irgraph batch``: its non-blank lines as items, read as the batch goes.

Each non-blank line (``-``: standard input) is one item, an initial state; its *index* is its
position among the non-blank lines, from 0, and its *key* a hash of its text
(:func:`line_key`), which the results file records so that a changed line runs again. A line
that is not a JSON object is that item's problem, naming the file and line
(:mod:`irgraph.cli_batch_lines` reads each line); a file whose first line shows another format
(a JSON array, indented JSON, CSV) is refused before any item runs.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import stat
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import IO, Any

from irgraph.cli_batch_lines import Line, blank, line_key, other_format, parse_line
from irgraph.cli_files import nearby
from irgraph.cli_inputs import CliError

__all__ = ["Inputs", "Line", "initial_reads", "line_key"]


def initial_reads(target: Any) -> list[str]:
    """The keys ``target`` reads from each item's initial state (none known for a pipeline
    that does not build: its own error comes once the inputs are read)."""
    from irgraph.errors import IrgraphError
    from irgraph.graph import to_graph
    from irgraph.validate import required_inputs

    try:
        return sorted(required_inputs(to_graph(target)))
    except IrgraphError:
        return []


class Inputs:
    """The inputs file, opened (and checked) up front and read line by line; ``reads`` gives
    the keys the pipeline reads from its initial state, for advice on a file of plain text."""

    def __init__(self, path: str, reads: Callable[[], Sequence[str]] = tuple) -> None:
        self.path = path
        self.reads = reads
        self.where = "<stdin>" if path == "-" else path
        self.file: IO[Any]
        if path == "-":
            self.file = getattr(sys.stdin, "buffer", sys.stdin)
            self.head = self._first()
            return
        if os.path.isdir(path):
            raise CliError(f"The inputs {path!r} are a directory; give a JSON Lines file.")
        try:
            self.file = open(path, "rb")  # closed by close()
        except OSError as exc:
            close = nearby(path) if isinstance(exc, FileNotFoundError) else ""
            raise CliError(
                f"Cannot read the inputs file {path!r}: {exc.strerror}; give a JSON Lines file "
                "you may read (a relative path starts at the current directory), or - for "
                f"standard input.{close}"
            ) from None
        try:
            self.head = self._first()
        except BaseException:
            self.file.close()
            raise

    def _first(self) -> list[Any]:
        """The lines read up to and with the first non-blank one (a pipe cannot be read
        twice: they are the first lines :meth:`lines` gives), refusing inputs whose first line
        shows they are not JSON Lines."""
        head = []
        for raw in self.file:
            head.append(raw)
            if not blank(raw):
                problem = other_format(self.where, raw, self.reads)
                if problem is not None:
                    raise CliError(problem)
                break
        return head

    def survey(self, kept: Mapping[int, str]) -> tuple[int | None, dict[int, str]]:
        """One pass over a regular inputs file before the batch reads it: the number of
        items, and ``{index: key}`` of the lines whose key is not that of the result ``kept``
        (``{index: key}``) at their index, the lines a kept result may have moved from (none
        hashed when nothing is kept). Standard input or a pipe, read once: ``(None, {})``."""
        if self.path == "-" or not stat.S_ISREG(os.fstat(self.file.fileno()).st_mode):
            return None, {}
        count, unplaced = 0, {}
        with open(self.path, "rb") as file:
            for raw in file:
                if blank(raw):
                    continue
                if kept and kept.get(count) != (key := line_key(raw)):
                    unplaced[count] = key
                count += 1
        return count, unplaced

    def close(self) -> None:
        if self.path != "-":
            self.file.close()

    def lines(self, resumed: Callable[[int, str], bool] | None = None) -> Iterator[Line]:
        """The items, in order; a line that ``resumed(index, key)`` says is resumed is not
        parsed (its result is kept: it does not run), its ``state`` ``None``."""
        index = 0
        with contextlib.closing(self):
            for number, raw in enumerate(itertools.chain(self.head, self.file), 1):
                if blank(raw):
                    continue
                key = line_key(raw)
                if resumed is not None and resumed(index, key):
                    yield Line(index, number, key)
                else:
                    state, problem = parse_line(self.where, number, raw)
                    yield Line(index, number, key, state, problem)
                index += 1
