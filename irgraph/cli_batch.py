"""``irgraph batch``: one pipeline over a JSON Lines file of initial states.

Each non-blank line of the inputs file (``-``: standard input) is one item, an initial state;
its *index* is its position among the non-blank lines, from 0. The file is read as the batch
goes (:func:`irgraph.batch.run_many` pulls the next line only when an item finishes), so it may
be bigger than memory. Each result is appended to the output file as it completes, one JSON
line, flushed::

    {"index": 0, "key": "<hash of the input line>", "state": {...}, "pipeline": "<digest>"}
    {"index": 1, "key": "...", "error": {"type": "RunError", "message": "..."}, "pipeline": ...}

A line that is not a JSON object is that item's error (naming the file and line); the rest go
on. Running the same command again resumes: a result line with a state whose index and input
hash both match is kept and its item not run again, a line that moved gets the kept result of
its content (:mod:`irgraph.cli_batch_kept`); failed items and items whose line changed run
again, the result of a line removed or changed kept past the inputs' end; a file none of whose
kept results is of a line of the inputs (another data set's) is refused rather than replaced. A
file holding results of another version of the pipeline (another digest, as
:func:`irgraph.batch_pipeline.digest_of_described` makes it) is refused before any item runs;
lines without a digest (an earlier irgraph's) resume as this pipeline's, with a note, and are
given its digest (so the note is said once). A file with lines not kept has its kept lines
rewritten first (temporary file + ``os.replace``), so a line cut short by a crash is dropped
rather than appended to; a file of kept lines only is appended to as it is. On a work pool,
the same command run after one killed outright takes over the chunks it left on the workers
(their answers taken, the running ones waited for), a batch without ``--batch-key`` named by
its results file (:func:`~irgraph.cli_batch_options.named_by_output`).

Progress goes to standard error: on a terminal one line redrawn up to 10 times a second (done,
failed, in flight, rate, and the ETA when the inputs are a regular file, counted up front);
otherwise a plain line every 10 seconds. The summary goes to standard output. Exit codes: 0
every item completed, 1 some failed, 2 bad command line (or a batch refused before any item
runs), 130 Ctrl-C and 143 ``SIGTERM`` (results so far kept).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
from collections import deque
from collections.abc import Generator, Iterator
from typing import IO, Any, TextIO, cast

from irgraph.batch_clock import clock_of
from irgraph.batch_files import json_text
from irgraph.cli_batch_answers import check_answers, check_kept_answers, given_answers
from irgraph.cli_batch_inputs import Inputs, Line, initial_reads, line_key
from irgraph.cli_batch_kept import (
    Appended,
    copied_results,
    moved_results,
    other_inputs,
    past_the_end,
    read_once,
)
from irgraph.cli_batch_options import batch_backend, held_output, setup_mistake
from irgraph.cli_batch_results import (
    check_output,
    check_pipeline,
    compact,
    failed_note,
    input_words,
    keep_completed,
    result_record,
    scan_results,
)
from irgraph.cli_choices import check_provider
from irgraph.cli_gates import gate_handler, parse_answers
from irgraph.cli_inputs import CliError, check_modules
from irgraph.cli_progress import Meter, rate_text
from irgraph.cli_signals import exit_code, terminated
from irgraph.errors import IrgraphError, PipelineError, RunError
from irgraph.providers import makes_answers_up

__all__ = ["batch_command", "line_key"]


# The command -----------------------------------------------------------------------------


class _Batch:
    """One ``irgraph batch`` command: the lines handed to ``run_many`` and the results."""

    def __init__(self, args: argparse.Namespace, inputs: Inputs, meter: Meter) -> None:
        self.args = args
        self.inputs = inputs
        self.meter = meter
        self.kept: dict[int, str] = {}
        self.offsets: dict[int, int] = {}  # a kept result's index -> its offset in the file
        self.moved: dict[int, int] = {}  # a moved line's index -> the index of its kept result
        self.count: int | None = None  # the number of items, counted up front (a regular file)
        self.pending: dict[int, Line] = {}  # run_many's index -> the line it runs
        self.current: Any = None  # the item being written: Ctrl-C may land before it is
        self.bad: deque[Line] = deque()  # lines that are not states, to report
        self.untidy = False  # a kept line was run again (its older line stands twice), or Ctrl-C
        self.read: int | None = None  # the number of items, once every line has been read
        self.stopped = False  # by --fail-fast
        self.out: IO[str] | None = None
        self.made_up = False  # the provider makes its answers up (fake): the lines say so
        self.pipeline: str | None = None  # the digest of the pipeline: every line records it
        self.answers: dict[str, str] = {}  # --answer by gate id: a gated pipeline's lines record it
        self.elsewhere = 0  # lines read once that ran, their result kept at another index
        self.appended: Appended | None = None  # lines read past the count: their results
        self.unplaced: dict[int, str] = {}  # the counted lines not in their result's place
        self.failures: list[str] = []  # the first few failed items, as "index (file:line)"

    def states(self) -> Iterator[dict[str, Any]]:
        """The states to run, skipping the resumed items (in run_many's helper thread)."""
        index, keys = -1, set(self.kept.values()) if self.count is None else set()
        for line in self.inputs.lines(self.resumed):
            index = line.index
            kept = self.kept.get(line.index)
            if kept != line.key and self.count is None:  # read once: in place only
                self.elsewhere += line.key in keys  # (the last line's index may hold none)
            if self.resumed(line.index, line.key):
                self.meter.resumed += 1
                continue
            self.untidy = self.untidy or kept is not None  # its index will have two lines
            # (a moved line's copy makes it untidy as it is written)
            if line.problem is not None:
                self.bad.append(line)
                continue
            self.pending[self.meter.started] = line
            self.meter.started += 1
            yield line.state
        self.read = index + 1

    def resumed(self, index: int, key: str) -> bool:
        """Whether the line at ``index`` (its key ``key``) has a kept result, here or moved;
        a line appended since the count, one that no counted line took (:class:`Appended`)."""
        if index in self.moved or self.count is None or index < self.count:
            return index in self.moved or self.kept.get(index) == key
        if self.appended is None:
            self.appended = Appended(self.count, self.unplaced, self.kept, self.moved)
        return self.appended.claim(index, key)

    def write(self, line: Line, item: Any = None) -> None:
        record = result_record(
            line, item, self.inputs.where, self.made_up, self.pipeline, self.answers
        )
        assert self.out is not None
        self.out.write(json_text(record, default=str) + "\n")
        self.out.flush()
        meter = self.meter
        if "state" in record:
            if getattr(item, "resumed", False):  # kept under --batch-key by an earlier run
                meter.resumed += 1
            else:
                meter.done += 1
            return
        meter.failed += 1
        where = f"{self.inputs.where}:{line.number}"
        if len(self.failures) < 5:
            self.failures.append(f"{line.index} ({where})")
        if line.problem is not None:
            meter.note(line.problem)
        else:
            error = record["error"]
            told = error["message"].removeprefix(f"Item {line.index} ({where}): ")
            meter.note(f"item {line.index} ({where}) failed: {error['type']}: {told}")

    def hand(self, item: Any) -> None:
        """Write ``item``'s result line, then forget its inputs line: a Ctrl-C before the line
        is written leaves it pending, and :meth:`keep` writes it (one after it, a line twice,
        which closing tidies)."""
        self.write(self.pending[item.index], item)
        del self.pending[item.index]

    def keep(self, stop: BaseException) -> None:
        """Write the items completed when ``stop`` (Ctrl-C) came: the one in hand, if its line
        was not written, and those completed beside it or as it stopped (its ``partial``)."""
        self.untidy = True
        late = getattr(getattr(stop, "partial", None), "results", ())
        held = [] if self.current is None else [self.current]
        for item in [*held, *late]:
            line = self.pending.pop(item.index, None)
            if line is not None:
                self.write(line, item)

    def copy_moved(self) -> None:
        """Write the kept result of every moved line under its new index, before any item
        runs: however the batch ends, no older line is tidied away before its copy is in."""
        assert self.out is not None
        self.out.writelines(copied_results(self.args.output, self.moved, self.offsets))
        self.untidy = self.untidy or bool(self.moved)

    def drain(self) -> None:
        """Write the lines read that are not states, and the copies of kept results that
        appended lines took (then their old lines may go, as a moved line's)."""
        while self.appended is not None and self.appended.late:
            index, source = self.appended.late[0]
            assert self.out is not None
            self.out.writelines(copied_results(self.args.output, {index: source}, self.offsets))
            self.out.flush()
            self.moved[index] = source
            self.untidy = True
            self.appended.late.popleft()
        while self.bad:
            self.write(self.bad[0])
            self.bad.popleft()

    def stop_early(self) -> bool:
        self.stopped = bool(self.args.fail_fast and self.meter.failed)
        return self.stopped

    def close(self, output: str) -> None:
        """Close the output file; drop the lines that newer ones replaced, one that Ctrl-C
        cut short, and the old lines of moved results past the inputs' end (their copies
        stand for them). The other results of lines past the inputs' end (inputs shortened
        since they ran) are kept: :meth:`past_the_end` says so."""
        if self.out is not None:
            self.out.close()
        if self.untidy:
            # lines appended as it ran count too; unread standard input: past every index
            known = self.count is not None or self.read is not None
            end = max(self.count or 0, self.read or 0) if known else None
            copied = set(self.moved.values())  # the file began with a line for each offset
            relocated = compact(output, end, copied, len(self.offsets))
            for index in copied:  # past the end, its copy stands for it
                if end is not None and index >= end:
                    self.kept.pop(index, None)
            self.kept.update(relocated)

    def past_the_end(self, output: str) -> str | None:
        """The note for results kept past the end of the inputs (the old lines of moved
        results dropped by :meth:`close`): :func:`irgraph.cli_batch_kept.past_the_end`."""
        return past_the_end(self.kept, self.read, self.inputs.path, output)

    def read_once(self) -> str | None:
        """The note for inputs read once (standard input, a pipe) whose lines that moved ran
        again: :func:`irgraph.cli_batch_kept.read_once`."""
        return read_once(self.elsewhere, self.inputs.path, self.args)

    def nothing_read(self, output: str) -> str | None:
        """The note for inputs that hold no item (read to their end), else ``None``."""
        if self.read != 0:
            return None
        where = (
            "Standard input" if self.inputs.path == "-" else f"The inputs file {self.inputs.path!r}"
        )
        kept = len(self.kept)
        left = (
            f"; the {kept} {'result' if kept == 1 else 'results'} already in {output} "
            "are left as they were"
            if kept
            else ""
        )
        return (
            f"note: {where} holds no items (no line that is not blank), so no item ran{left}; "
            "give one JSON object per line."
        )

    def summary(self, output: str) -> str:
        meter = self.meter
        elapsed = meter.elapsed()
        ran = meter.done + meter.failed  # resumed items took no time: no rate when none ran
        rate = f" ({rate_text(ran / elapsed)})" if ran and elapsed > 0 else ""
        return (
            f"{meter.done} done, {meter.failed} failed, {meter.resumed} resumed in "
            f"{elapsed:.2f} s{rate}; results in {output}"
        )


def _gates(args: argparse.Namespace, target: Any) -> Any:
    """The ``on_gate`` handler answering every item's gates from ``--answer``, or ``None``.
    A gate without an answer, or an answer for no gate, is refused before any item runs (and
    pays for its agents). On a work pool a gate pauses its chunk's flow run instead, answered
    on the Prefect server."""
    answers = parse_answers(args.answer)
    if args.work_pool is not None:
        if answers:
            raise CliError(
                f"--answer cannot reach the workers of the work pool {args.work_pool!r}: there "
                "a gate pauses its chunk's flow run until it is answered on the Prefect server "
                "(its UI, or irgraph.backends.prefect_backend.resume_gate); drop --answer."
            )
        return None
    from irgraph.graph import to_graph

    G = to_graph(target)
    handler = gate_handler(G, answers)
    args.gate_answers = given_answers(G, answers)  # checked by gate_handler: for the lines
    return handler


def batch_target(args: argparse.Namespace) -> Any:
    """The pipeline ``irgraph batch`` runs; the two arguments given the wrong way round
    (``irgraph batch inputs.jsonl module:attr``) are told as such."""
    from irgraph.cli_inputs import load_target

    def names_a_pipeline(text: str) -> bool:
        return text.endswith((".py", ".graphml")) or (":" in text and not os.path.exists(text))

    if names_a_pipeline(args.inputs) and not names_a_pipeline(args.target):
        if args.target == "-" or args.target.endswith((".jsonl", ".ndjson")):
            raise CliError(
                f"The pipeline comes first, then the inputs: irgraph batch {args.inputs} "
                f"{args.target} -o {args.output} (the two were given the other way round)."
            )
    try:
        return load_target(args.target)
    except RunError:
        raise
    except IrgraphError as error:  # a saved pipeline refused: the batch is, before any item
        raise CliError(input_words(str(error), error, "batch")) from None


def batch_command(args: argparse.Namespace, target: Any, out: TextIO) -> int:
    """Run ``irgraph batch``; returns the exit code."""
    allow = check_modules(args.allow_module)
    on_gate = _gates(args, target)
    backend = batch_backend(args)
    if args.batch_key is not None and not args.batch_key.strip():
        raise CliError("--batch-key is empty; give the batch a name, e.g. --batch-key evals-v1.")
    check_output(args.output, args.inputs)
    with held_output(args):  # a pool batch without --batch-key: named by -o
        return _batch_held(args, target, out, allow, on_gate, backend)


def _batch_held(
    args: argparse.Namespace, target: Any, out: TextIO, allow: Any, on_gate: Any, backend: Any
) -> int:
    """``irgraph batch`` once its options are checked and its results file is held."""
    from irgraph.batch import BatchError, run_many

    # A work pool's workers have a provider of their own.
    provider = None if args.work_pool else check_provider(args.provider)
    made_up = makes_answers_up(provider)
    found = scan_results(args.output, real=not made_up)
    inputs = Inputs(args.inputs, lambda: initial_reads(target))
    try:  # one pass: the items to count, and the lines a kept result may have moved from
        kept = {i: key for i, (_, key, ok, _) in found.items() if ok}
        count, unplaced = inputs.survey(kept)
        mistake = other_inputs(unplaced, count, kept, args.inputs, args.output)
        if mistake is not None:
            raise CliError(mistake)
    except BaseException:
        inputs.close()
        raise
    meter = Meter(count, sys.stderr)
    batch = _Batch(args, inputs, meter)
    batch.count = count
    batch.made_up = made_up
    try:
        results = run_many(  # checks the pipeline and every option before any line is read
            target,
            batch.states(),
            backend=backend,
            provider=provider,
            max_concurrency=args.max_concurrency,
            max_items=args.max_items,
            batch_key=args.batch_key,
            fail_fast=args.fail_fast,
            allow=allow,
            **({} if on_gate is None else {"on_gate": on_gate}),
        )
    except (PipelineError, IrgraphError) as error:  # refused before any item ran
        inputs.close()
        if isinstance(error, RunError):
            raise
        raise setup_mistake(error, args, found, target) from None
    except BaseException:
        inputs.close()
        raise
    meter.follow(clock_of(results))  # timed from the first item, a server's start told
    try:  # the results file holds this pipeline's results (or older lines, which resume)
        note = _check_pipeline(args.output, found, target, batch)
    except BaseException:
        inputs.close()
        cast("Generator[Any, None, None]", results).close()
        raise
    if note is not None:
        print(f"irgraph: {note}", file=sys.stderr)
    batch.answers = getattr(args, "gate_answers", {})
    try:  # the kept results, and items, ran with these answers
        check_answers(args.output, found, batch.answers, args.batch_key)
        if args.batch_key is not None:
            from irgraph.batch_store import default_directory

            check_kept_answers(default_directory(args.batch_key), batch.answers)
    except BaseException:
        inputs.close()
        cast("Generator[Any, None, None]", results).close()
        raise
    try:
        batch.kept, batch.offsets = keep_completed(args.output, found, batch.pipeline, count)
        batch.moved = moved_results(unplaced, count, batch.kept)
        batch.unplaced = unplaced
        batch.out = open(args.output, "a", encoding="utf-8")  # closed below
        batch.copy_moved()
    except OSError as exc:
        raise CliError(
            f"Cannot write the results file {args.output!r}: {exc.strerror}; choose a file you "
            "may write."
        ) from None
    ending, code = "", 1
    refused: IrgraphError | None = None
    try:
        # run_many's iterator is a generator: closing it cancels the items in flight.
        with meter, contextlib.closing(cast("Generator[Any, None, None]", results)):
            for item in results:
                batch.current = item
                batch.drain()
                batch.hand(item)
                meter.finished += 1
                if batch.stop_early():
                    break
            else:
                batch.drain()
    except KeyboardInterrupt as stop:
        ending = "Terminated (SIGTERM)" if terminated(stop) else "Interrupted"
        code = exit_code(stop)
        batch.keep(stop)  # what completed as it stopped, never written: not run again
    except BatchError as error:
        batch.drain()
        batch.write(batch.pending.pop(error.index), error.item)
        batch.stopped = True
    except PipelineError as error:  # a work pool's batch refused before any item ran
        refused = error
    except IrgraphError as error:  # its server unreachable before any item ran: refused too
        if not isinstance(error, ConnectionError) or meter.finished:
            raise
        refused = error
    finally:
        batch.close(args.output)
    if refused is not None:  # a mistake in the setup (deployment, pool), as above: exit 2
        raise setup_mistake(refused, args, found, target) from None
    if batch.stopped and not ending:
        ending = "Stopped at the first failure (--fail-fast)"
    if ending:
        print(
            f"{ending}: {batch.summary(args.output)}. Re-run the same command to resume.", file=out
        )
        if (note := batch.read_once()) is not None:
            print(f"irgraph: {note}", file=sys.stderr)
        return code  # 1 for --fail-fast
    print(f"Finished: {batch.summary(args.output)}.", file=out)
    notes = [batch.nothing_read(args.output), batch.past_the_end(args.output), batch.read_once()]
    notes.append(failed_note(meter.failed, batch.failures, args.output))
    for note in notes:
        if note is not None:
            print(f"irgraph: {note}", file=sys.stderr)
    return 1 if meter.failed else 0


def _check_pipeline(output: str, found: Any, target: Any, batch: _Batch) -> str | None:
    """Record the pipeline's digest for the lines ``batch`` writes, and check the results
    file ``output`` (scanned into ``found``) against it (:func:`check_pipeline`)."""
    from irgraph.batch_pipeline import described_json, digest_of_described

    described = json.loads(described_json(target))
    batch.pipeline = digest_of_described(described)
    return check_pipeline(output, found, batch.pipeline, described)
