"""Where a keyed batch keeps what it has done, so running it again pays for nothing twice.

A store is a directory of JSON files (by default ``.irgraph-batches/<batch key>/``)::

    batch-<batch key hash>.json            the pipeline the batch was started with (and the
                                           generation its Prefect run keys carry)
    items/<item key>.json                  a completed item: its final state, outputs, calls
    answers/<item key>/<answer key>.json   one agent answer of an item still under way

An item's key hashes the batch key with the item's canonical JSON, so the same data set,
reordered or grown, resumes item by item (identical items share one key and one result). An
answer's key hashes what was asked (every field of the request but the state) and how often
the item asked it before: a half-done item gets its agents' answers back from disk.
When an item completes, its answers are dropped: its final state stands for them. Identical
items are one item to :func:`irgraph.batch.run_many`, run once (a copy waits for the run under
way); two runs of one key in flight at once share their model calls.

What was kept is only good for the pipeline that computed it, so a store remembers, per batch
key, the pipeline the batch was started with (the *record*, ``batch-<hash>.json``), and refuses
(:class:`PipelineError`, before any item runs) to resume it with another. Every kept item and
answer is stamped too, with its batch key and a digest of the pipeline, and only one stamped
with this batch's is trusted: a record deleted or damaged (or a store directory deleted while
the batch ran) never lets another pipeline's work be resumed. Without a readable record, the
batch is refused when it keeps items stamped with another pipeline, and resumes (writing the
record again) when it keeps only its own. "The pipeline" is its IR, everything that decides what
is asked and what is done with the answer: the nodes and how they nest, their names and pinned
ids, instructions, models, system prompts, model settings, output schemas and retries,
timeouts, loop and route conditions (numbers by value: ``1.0`` is ``1``), and transforms and
predicates by import path (a lambda by its code, defaults and captured values, a partial by its
function and arguments, a callable object by its class and attributes: :mod:`irgraph.ir.identity`).
Descriptions do not count, nor does the code behind an import path, nor the provider or run
options: resuming with another provider, say one that no longer fails, is what resuming is for.
The same IR built another way (an explicit ``Pipeline`` for ``>>``, or read back from its JSON)
resumes; what a provider making answers up (``FakeProvider``) kept is marked, and a real
provider's run asks.

Every file is written under a temporary name and renamed into place (``os.replace``), so a
crash or Ctrl-C leaves a whole file or none; a file that is not whole, or not what it should
be, counts as not there (that work is done again rather than trusted). A store that is a file
is refused before any item runs; an item whose result cannot be written fails with a
:class:`RunError` naming the file (its answers stay kept). A run without a provider
(placeholder answers) keeps nothing.

>>> from irgraph import Agent
>>> writer = Agent("w").instruct("Write about {topic}.").writes("text")
>>> store = BatchStore(".irgraph-batches/evals-v1", "evals-v1", writer)  # nothing is written yet
>>> store.item_key({"topic": "owls"}, 0) == store.item_key({"topic": "owls"}, 7)
True
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import os
import re
import shutil
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from irgraph.batch_answers import RememberingProvider
from irgraph.batch_calls import calls_json, kept_calls
from irgraph.batch_files import read_json as _read
from irgraph.batch_files import write_atomically as _write_atomically
from irgraph.batch_items import unkept
from irgraph.batch_pipeline import RECORD_FORMAT as _BATCH_FORMAT
from irgraph.batch_pipeline import described_json, difference, pipeline_description, pipeline_stamps
from irgraph.errors import PipelineError
from irgraph.events import RunResult
from irgraph.ir.values import canonical, json_key, json_problem
from irgraph.providers import ModelProvider

__all__ = ["BatchStore", "RememberingProvider", "default_directory", "pipeline_description"]

_FORMAT = "irgraph-batch-item"
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
#: How an item's error tells to run the batch without a key (``irgraph batch`` words it its
#: own way, from these two).
UNKEYED = "leave batch_key unset"
NOT_JSON_HINT = (
    "A keyed batch (batch_key=...) keys every item by its JSON content: give states of JSON "
    f"values (dicts, lists, str, numbers, bool, None), or {UNKEYED}."
)


def _digest(value: Any) -> str:
    # a lone surrogate (half an emoji) is no UTF-8; its escape-free bytes hash it all the same
    return hashlib.sha256(canonical(value).encode("utf-8", "surrogatepass")).hexdigest()[:32]


def default_directory(batch_key: str) -> Path:
    """``.irgraph-batches/<batch key>`` under the current directory; a key that is not a safe
    file name is spelled safely, with a hash so two keys never share a directory.

    >>> default_directory("evals-v1").as_posix(), default_directory("a/b").name[:4]
    ('.irgraph-batches/evals-v1', 'a-b-')
    """
    safe = _UNSAFE.sub("-", batch_key).strip(".-") or "batch"
    if safe != batch_key:
        safe = f"{safe}-{_digest(batch_key)[:8]}"
    return Path(".irgraph-batches") / safe


class BatchStore:
    """The completed items and agent answers of one keyed batch, in ``directory``.

    With ``pipeline`` (a builder or IR node) the store checks, here, that the batch was not
    started with another pipeline (:class:`PipelineError` naming the key, the directory and
    the difference) and that ``directory`` can be a store (not a file), and records the
    pipeline before it first writes anything. ``graph`` (the pipeline's graph) goes with every
    kept result, so that its run view shows the pipeline's nodes as reused.
    """

    def __init__(
        self,
        directory: str | os.PathLike[str],
        batch_key: str,
        pipeline: Any = None,
        *,
        graph: Any = None,
        made_up: bool = False,
    ) -> None:
        self.directory, self.batch_key, self.graph = Path(directory), batch_key, graph
        # The run's provider makes answers up (FakeProvider): what it keeps is marked, and a
        # run with a real provider takes none of it (a real answer serves a made-up run).
        self.made_up = made_up
        # Through JSON, so that it compares equal to the one read back from the record.
        described = None if pipeline is None else described_json(pipeline)
        self._pipeline = None if described is None else json.loads(described)
        # Every kept item and answer carries the stamp: only this pipeline's stamps are trusted.
        self._stamp, self._stamps = pipeline_stamps(self._pipeline)
        # A record of the first version vouches for items and answers kept before stamps.
        self._unstamped_trusted = pipeline is None
        self._claimed = pipeline is None
        # Tells the items kept by this run (an identical item done earlier) from older ones.
        self._run = uuid.uuid4().hex
        # In the run keys a backend keeps answers under (Prefect), recorded with the pipeline:
        # a deleted directory starts the batch over there too (a record without one: none).
        self._generation: Any = None
        self._recorded = False  # a record of this pipeline was there: its generation stands
        # Answers being asked right now, by file: an identical item in flight waits for them.
        self._asking: dict[Path, asyncio.Future[str]] = {}
        # Items in flight by key: an item's answers stay until the last of its copies is done.
        self._running: dict[str, int] = {}
        if self._pipeline is not None:
            self._check_places()
            self._check_pipeline()

    @property
    def record(self) -> Path:
        """The file that records the pipeline this batch key was started with."""
        return self.directory / f"batch-{_digest(self.batch_key)[:16]}.json"

    def _check_places(self) -> None:
        """Refuse a store the batch could not write to: a file, or a directory under one, or
        one with files where its directories go (or a directory where its record goes)."""
        place = self.directory
        while not os.path.lexists(place) and place.parent != place:
            place = place.parent
        if not place.is_dir():
            where = "is" if place == self.directory else f"would be under {place}, which is"
            raise PipelineError(
                f"The store of batch {self.batch_key!r}, {self.directory}, {where} a file, not "
                "a directory; a batch keeps its items as files in a directory.",
                hint=f"Give the batch a store that is a directory (store=...; it is created "
                f"when missing), or move the file {place} away.",
            )
        for path, want in (
            (self.directory / "items", "a directory"),
            (self.directory / "answers", "a directory"),
            (self.record, "a file"),
        ):
            if os.path.lexists(path) and path.is_dir() != (want == "a directory"):
                raise PipelineError(
                    f"The store of batch {self.batch_key!r}, {self.directory}, cannot be used: "
                    f"{path} should be {want} and is not.",
                    hint=f"Move {path} away, or give the batch another store (store=...).",
                )

    def _check_pipeline(self) -> None:
        kept = _read(self.record)
        if isinstance(kept, dict) and kept.get("format") == _BATCH_FORMAT and "pipeline" in kept:
            self._claimed = json_key(kept["pipeline"]) == json_key(self._pipeline)  # True != 1
            if self._claimed:
                self._generation, self._recorded = kept.get("generation"), True
                self._unstamped_trusted = kept.get("version") == 1
                self._stamps |= pipeline_stamps(kept["pipeline"])[1]  # an earlier irgraph's
                return
            raise PipelineError(
                f"Batch {self.batch_key!r} in {self.directory} was started with another "
                f"pipeline: {difference(kept['pipeline'], self._pipeline)}. Its kept items and "
                "answers came from that pipeline, so resuming would mix the two.",
                hint=f"To run the changed pipeline, give it a new batch_key; to start this "
                f"batch over with it, delete the directory {self.directory}.",
            )
        # No record (not started yet, or deleted) or a damaged one: the items' stamps tell.
        other = self._other_pipelines_item()
        if other is None:
            return  # nothing kept, or only this pipeline's: the record is written again
        state = "missing" if not os.path.lexists(self.record) else "not a batch record"
        raise PipelineError(
            f"Batch {self.batch_key!r} in {self.directory} keeps items computed by another "
            f"pipeline (such as {other}), and the file recording the pipeline it was started "
            f"with, {self.record}, is {state}, so what changed cannot be told. Resuming would "
            "mix the two pipelines' results.",
            hint=f"To run this pipeline, give it a new batch_key; to start this batch over "
            f"with it, delete the directory {self.directory}.",
        )

    def _other_pipelines_item(self) -> Path | None:
        """A kept item of this batch key stamped with another pipeline, if any (read only
        when the record is missing or damaged)."""
        with contextlib.suppress(OSError), os.scandir(self.directory / "items") as entries:
            for entry in entries:
                if not entry.name.endswith(".json") or entry.name.startswith("."):
                    continue
                data = _read(Path(entry.path))
                if (
                    isinstance(data, dict)
                    and data.get("batch_key") == self.batch_key
                    and not self._ours(data.get("pipeline"))
                ):
                    return Path(entry.path)
        return None

    def _claim(self) -> None:
        """Record the pipeline before an item or answer is written: once, and again should the
        record have gone meanwhile (its directory deleted while the batch runs, say)."""
        if self._pipeline is None or (self._claimed and self.record.is_file()):
            return
        record = {
            "format": _BATCH_FORMAT,
            "version": 2,
            "batch_key": self.batch_key,
            "pipeline": self._pipeline,
            **({} if self._generation is None else {"generation": self._generation}),
        }
        _write_atomically(self.record, record)
        self._claimed = True

    def run_key(self, key: str) -> str:
        """The run key of item ``key`` on a backend that keeps agents' answers under it
        (Prefect), after recording the pipeline: it names this store's record, so deleting
        the directory (a new record) starts the batch over there too, where the answers kept
        under the old run keys would have come back."""
        if self._pipeline is not None and not self._recorded and self._generation is None:
            self._generation = uuid.uuid4().hex[:12]  # written with the record, next line
        self._claim()
        generation = self._generation
        return f"irgraph-batch-{key}" + (f"-{generation}" if isinstance(generation, str) else "")

    def _trusted(self, data: Mapping[str, Any]) -> bool:
        """Whether a kept file (an item or answer) is this batch's, by its stamp."""
        if self._pipeline is None:
            return True
        if "pipeline" not in data:  # kept before stamps: only a first-version record vouches
            return self._unstamped_trusted
        return self._ours(data["pipeline"])

    def _ours(self, stamp: Any) -> bool:
        """Whether ``stamp`` (a kept file's) names this batch's pipeline."""
        return isinstance(stamp, str) and stamp in self._stamps

    def item_key(self, state: Any, index: int) -> str:
        """The key of an item: the batch key and the item's content, hashed. The item must be
        JSON data, or the error names it by ``index``."""
        problem = json_problem(state, "state")
        if problem:
            raise PipelineError(
                f"Item {index} of the batch is not JSON data ({problem}), so it has no key to "
                "resume by.",
                hint=NOT_JSON_HINT,
            )
        return _digest([self.batch_key, state])

    def _item_path(self, key: str) -> Path:
        return self.directory / "items" / f"{key}.json"

    def load(self, key: str) -> RunResult | None:
        """The result of a completed item, or ``None`` when it has not completed."""
        found = self.find(key)
        return None if found is None else found[0]

    def find(self, key: str) -> tuple[RunResult, bool] | None:
        """The result of a completed item and whether an earlier run kept it (``False``: this
        run did, for an identical item), or ``None`` when it has not completed. A file that is
        not a whole item of this batch and pipeline counts as not completed, as does a result
        of placeholder answers (kept by an earlier version)."""
        data = _read(self._item_path(key))
        if not _whole_item(data, key) or not self._trusted(data) or data["placeholder"]:
            return None
        if data.get("made_up") is True and not self.made_up:
            return None  # a made-up result does not stand for a real provider's
        calls, gates = kept_calls(data)  # what its agents were asked, for its run view
        kept = {"backend": data["backend"], "warnings": data["warnings"], "graph": self.graph}
        result = RunResult(data["state"], [], data["outputs"], calls=calls, gates=gates, **kept)
        return result, data.get("run") != self._run

    def save(self, key: str, index: int, result: RunResult) -> None:
        """Keep a completed item's result, then drop its agent answers. A result of
        placeholder answers (a run without a provider) is not kept. A result that cannot be
        kept is a :class:`RunError` naming the item and the file, and whether its answers stay."""
        kept = False
        try:
            for name, value in (("final state", result.state), ("outputs", result.outputs)):
                problem = json_problem(value, name)
                if problem:
                    raise unkept(
                        f"Item {index} of the batch ran, but its {name} cannot be kept as JSON "
                        f"({problem}). A keyed batch keeps each item's final state and outputs "
                        f"as JSON: have the pipeline write JSON values, or {UNKEYED}.",
                        result,
                    )
            if result.placeholder:
                return  # placeholder answers are no work to resume
            path = self._item_path(key)
            record = {
                "format": _FORMAT,
                "version": 2,
                "key": key,
                "batch_key": self.batch_key,
                "pipeline": self._stamp,
                "run": self._run,
                "state": result.state,
                "outputs": result.outputs,
                "backend": result.backend,
                "warnings": result.warnings,
                "placeholder": result.placeholder,
                "made_up": self.made_up,
                **calls_json(result.calls, result.gates),
            }
            writing = self.record  # first, should it not be there
            try:
                self._claim()
                writing = path
                _write_atomically(path, record)
            except OSError as exc:
                told = any((self.directory / "answers" / key).glob("*.json"))  # its answers
                left = "what its agents answered stays kept" if told else "no answer was kept"
                raise unkept(
                    f"Item {index} of the batch ran, but its result could not be kept in "
                    f"{writing} ({exc.strerror or exc}). Its final state is in this item's "
                    f"result, and {left}: make the store {self.directory} writable (disk "
                    "space, permissions, a file in the way) and run the batch again to keep "
                    f"it{' without asking the model again' if told else ''}.",
                    result,
                ) from exc
            kept = True
        finally:
            if self._release(key) and kept:
                shutil.rmtree(self.directory / "answers" / key, ignore_errors=True)

    def _release(self, key: str) -> bool:
        """One copy of item ``key`` is done; whether it was the last one in flight."""
        running = self._running.pop(key, 1) - 1
        if running > 0:  # an identical item is still under way and may read its answers
            self._running[key] = running
        return running <= 0

    def answers(self, key: str, provider: ModelProvider) -> RememberingProvider:
        """``provider``, with the answers of item ``key`` kept in (and taken from) the store,
        for one run of the item (:meth:`save` ends it)."""
        self._running[key] = self._running.get(key, 0) + 1
        return RememberingProvider(provider, self, key)


def _whole_item(data: Any, key: str) -> bool:
    """Whether ``data`` (read from the file of item ``key``) is a whole kept item."""
    return (
        isinstance(data, dict)
        and data.get("format") == _FORMAT
        and data.get("key", key) == key
        and isinstance(data.get("state"), dict)
        and isinstance(data.get("outputs"), dict)
        and isinstance(data.get("backend"), str)
        and isinstance(data.get("warnings"), list)
        and all(isinstance(warning, str) for warning in data["warnings"])
        and isinstance(data.get("placeholder"), bool)
    )
