"""Where a keyed batch keeps what it has done, so running it again pays for nothing twice.

A store is a directory of JSON files (by default ``.irgraph-batches/<batch key>/``)::

    batch-<batch key hash>.json            the pipeline the batch was started with
    items/<item key>.json                  a completed item: its final state and outputs
    answers/<item key>/<answer key>.json   one agent answer of an item still under way

An item's key hashes the batch key with the item's canonical JSON, so the same data set,
reordered or grown, resumes item by item (identical items share one key and one result). An
answer's key hashes what was asked (every field of the request but the state: node, agent,
prompt, model, system prompt, settings, output schema, attempt, feedback) and how often this
item asked it before, so a half-done item asked
again gets its completed agents' answers back from disk and only the rest go to the model.
When an item completes, its answers are dropped: its final state stands for them. Identical
items in flight at once share their model calls: the second waits for the first's answer, and
the answers stay until the last of them completes.

What was kept is only good for the pipeline that computed it, so a store remembers, per batch
key, the pipeline the batch was started with, and refuses (:class:`PipelineError`, before any
item runs) to resume it with another. "The pipeline" is its IR, everything that decides what
is asked and what is done with the answer: the nodes and how they nest, their names and pinned
ids, instructions, models, system prompts, model settings, output schemas and retries,
timeouts, loop and route conditions, and transforms and predicates by import path (a lambda by
its code). Descriptions do not count, nor does the code behind an import path, nor the
provider or run options: resuming with another provider, say one that no longer fails, is what
resuming is for. The same IR built another way (an explicit ``Pipeline`` for ``>>``, or read
back from its JSON) resumes.

Every file is written under a temporary name and renamed into place (``os.replace``), so a
crash or Ctrl-C leaves a whole file or none.

>>> from irgraph import Agent
>>> writer = Agent("w").instruct("Write about {topic}.").writes("text")
>>> store = BatchStore(".irgraph-batches/evals-v1", "evals-v1", writer)  # nothing is written yet
>>> store.item_key({"topic": "owls"}, 0) == store.item_key({"topic": "owls"}, 7)
True
"""

from __future__ import annotations

import asyncio
import hashlib
import inspect
import json
import os
import re
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import attrs

from irgraph.errors import PipelineError, RunError
from irgraph.events import RunResult
from irgraph.graph import root_of
from irgraph.ir.functions import FunctionRef
from irgraph.ir.values import JsonObject, canonical, json_problem
from irgraph.providers import ModelProvider, ModelRequest

__all__ = ["BatchStore", "RememberingProvider", "default_directory", "pipeline_description"]

_FORMAT = "irgraph-batch-item"
_BATCH_FORMAT = "irgraph-batch"
#: IR fields that change nothing a run does, so editing them does not change the pipeline.
_NOT_RUN = frozenset({"description"})
_FIELD_WORDS = {"fn": "function", "output": "output schema", "until": "loop condition"}
_ASKED = tuple(field.name for field in attrs.fields(ModelRequest) if field.eq)
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def _digest(value: Any) -> str:
    return hashlib.sha256(canonical(value).encode("utf-8")).hexdigest()[:32]


def _plain(value: Any) -> Any:
    # Settings and schemas hold read-only JSON mappings, which json takes as plain dicts.
    return dict(value) if isinstance(value, Mapping) else repr(value)


def _request_digest(value: Any) -> str:
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), default=_plain)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


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


def _write_atomically(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            json.dump(data, file, ensure_ascii=False)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _read(path: Path) -> Any:
    """The JSON in ``path``, or ``None`` when there is none (an unreadable file counts as
    none: that work is done again rather than trusted)."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _json(pipeline: Any) -> str:
    return json.dumps(pipeline_description(pipeline), sort_keys=True, default=repr)


def pipeline_description(pipeline: Any) -> Any:
    """The pipeline as plain JSON data, as a batch compares it: its IR node by node (the
    node's class as ``"type"``), fields that change nothing a run does left out, functions
    by their path.

    >>> from irgraph import Agent
    >>> described = pipeline_description(Agent("w").model("m").describe("Drafts."))
    >>> described["type"], described["model"], "description" in described
    ('AgentNode', 'm', False)
    """
    return _described(root_of(pipeline))


def _described(value: Any) -> Any:
    if isinstance(value, FunctionRef):
        return value.ref
    if isinstance(value, JsonObject):
        return value.to_dict()
    if attrs.has(type(value)):
        fields = (f.name for f in attrs.fields(type(value)) if f.eq and f.name not in _NOT_RUN)
        return {"type": type(value).__name__, **{n: _described(getattr(value, n)) for n in fields}}
    if isinstance(value, (list, tuple)):
        return [_described(item) for item in value]
    return value


def _difference(old: Any, new: Any) -> str:
    """How the pipeline ``new`` differs from ``old`` (both described), in a few words: the
    first node found changed, its steps before its own fields (a changed step renames the
    sequences around it)."""
    if not (isinstance(old, dict) and isinstance(new, dict)):
        return "it is another pipeline"
    was, now = old.get("name"), new.get("name")
    if old.get("type") != new.get("type"):
        return f"its node '{now}' stands where '{was}' was"
    before, after = old.get("children"), new.get("children")
    if isinstance(before, list) and isinstance(after, list) and len(before) != len(after):
        parts = "branches" if new.get("type") in ("ParallelNode", "RouteNode") else "steps"
        return f"its node '{was}' has {len(after)} {parts} where it had {len(before)}"
    for step_was, step_now in zip(before or [], after or [], strict=False):
        if step_was != step_now:
            return _difference(step_was, step_now)
    for field in sorted((set(old) | set(new)) - {"name", "children"}):
        if old.get(field) != new.get(field):
            return f"its node '{was}' has another {_FIELD_WORDS.get(field, field)}"
    return f"its node '{was}' is named '{now}' now" if was != now else "it is another pipeline"


class BatchStore:
    """The completed items and agent answers of one keyed batch, in ``directory``.

    With ``pipeline`` (a builder or IR node) the store checks, here, that the batch was not
    started with another pipeline (:class:`PipelineError` naming the key, the directory and
    the difference), and records the pipeline before it first writes anything.
    """

    def __init__(
        self, directory: str | os.PathLike[str], batch_key: str, pipeline: Any = None
    ) -> None:
        self.directory = Path(directory)
        self.batch_key = batch_key
        # Through JSON, so that it compares equal to the one read back from the record.
        self._pipeline = None if pipeline is None else json.loads(_json(pipeline))
        self._claimed = pipeline is None
        # Answers being asked right now, by file: an identical item in flight waits for them.
        self._asking: dict[Path, asyncio.Future[str]] = {}
        # Items in flight by key: an item's answers stay until the last of its copies is done.
        self._running: dict[str, int] = {}
        if self._pipeline is not None:
            self._check_pipeline()

    @property
    def record(self) -> Path:
        """The file that records the pipeline this batch key was started with."""
        return self.directory / f"batch-{_digest(self.batch_key)[:16]}.json"

    def _check_pipeline(self) -> None:
        kept = _read(self.record)
        if not isinstance(kept, dict) or kept.get("format") != _BATCH_FORMAT:
            return  # not started yet (a file that is not ours is written over)
        self._claimed = kept.get("pipeline") == self._pipeline
        if self._claimed:
            return
        raise PipelineError(
            f"Batch {self.batch_key!r} in {self.directory} was started with another pipeline: "
            f"{_difference(kept.get('pipeline'), self._pipeline)}. Its kept items and answers "
            "came from that pipeline, so resuming would mix the two.",
            hint=f"To run the changed pipeline, give it a new batch_key; to start this batch "
            f"over with it, delete the directory {self.directory}.",
        )

    def _claim(self) -> None:
        """Record the pipeline, once, before the first item or answer is written."""
        if not self._claimed:
            record = {
                "format": _BATCH_FORMAT,
                "version": 1,
                "batch_key": self.batch_key,
                "pipeline": self._pipeline,
            }
            _write_atomically(self.record, record)
            self._claimed = True

    def item_key(self, state: Any, index: int) -> str:
        """The key of an item: the batch key and the item's content, hashed. The item must be
        JSON data, or the error names it by ``index``."""
        problem = json_problem(state, "state")
        if problem:
            raise PipelineError(
                f"Item {index} of the batch is not JSON data ({problem}), so it has no key to "
                "resume by.",
                hint="A keyed batch (batch_key=...) keys every item by its JSON content: give "
                "states of JSON values (dicts, lists, str, numbers, bool, None), or leave "
                "batch_key unset.",
            )
        return _digest([self.batch_key, state])

    def _item_path(self, key: str) -> Path:
        return self.directory / "items" / f"{key}.json"

    def load(self, key: str) -> RunResult | None:
        """The result of a completed item, or ``None`` when it has not completed."""
        data = _read(self._item_path(key))
        if not isinstance(data, dict) or data.get("format") != _FORMAT:
            return None
        return RunResult(
            data["state"],
            [],
            data["outputs"],
            backend=data["backend"],
            warnings=data["warnings"],
            placeholder=data["placeholder"],
        )

    def save(self, key: str, index: int, result: RunResult) -> None:
        """Keep a completed item's result, then drop its agent answers."""
        for name, value in (("final state", result.state), ("outputs", result.outputs)):
            problem = json_problem(value, name)
            if problem:
                raise RunError(
                    f"Item {index} of the batch ran, but its {name} cannot be kept as JSON "
                    f"({problem}). A keyed batch keeps each item's final state and outputs as "
                    "JSON: have the pipeline write JSON values, or leave batch_key unset.",
                    state=result.state,
                    completed=list(result.outputs),
                )
        record = {
            "format": _FORMAT,
            "version": 1,
            "key": key,
            "state": result.state,
            "outputs": result.outputs,
            "backend": result.backend,
            "warnings": result.warnings,
            "placeholder": result.placeholder,
        }
        self._claim()
        _write_atomically(self._item_path(key), record)
        running = self._running.pop(key, 1) - 1
        if running > 0:  # an identical item is still under way and may read them
            self._running[key] = running
        else:
            shutil.rmtree(self.directory / "answers" / key, ignore_errors=True)

    def answers(self, key: str, provider: ModelProvider) -> RememberingProvider:
        """``provider``, with the answers of item ``key`` kept in (and taken from) the store,
        for one run of the item (:meth:`save` ends it)."""
        self._running[key] = self._running.get(key, 0) + 1
        return RememberingProvider(provider, self, key)


class RememberingProvider:
    """A provider that keeps every answer of item ``key`` in ``store`` and answers from there
    when the same request (counted: the first, second, ... time it is asked) comes again. An
    identical item asking the same request at the same time waits for this answer instead of
    asking too (and asks after all if this asker fails or is cancelled)."""

    def __init__(self, provider: ModelProvider, store: BatchStore, key: str) -> None:
        self.provider = provider
        self.store = store
        self.directory = store.directory / "answers" / key
        self._asked: dict[str, int] = {}

    async def complete(self, request: ModelRequest) -> str:
        # What was asked: every field that makes two requests equal (all but the state).
        digest = _request_digest([getattr(request, name) for name in _ASKED])
        times = self._asked.get(digest, 0)
        self._asked[digest] = times + 1
        path = self.directory / f"{digest}-{times}.json"
        while True:
            kept = _read(path)
            if isinstance(kept, dict) and isinstance(kept.get("answer"), str):
                return str(kept["answer"])
            other = self.store._asking.get(path)
            if other is None:
                break
            try:
                return await asyncio.shield(other)
            except BaseException:
                task = asyncio.current_task()
                if not other.done() or (task is not None and task.cancelling()):
                    raise  # this item was cancelled itself
        return await self._ask(request, path)

    async def _ask(self, request: ModelRequest, path: Path) -> str:
        answer = self.provider.complete(request)
        if not inspect.isawaitable(answer):
            raise TypeError(
                f"{type(self.provider).__name__}.complete() returned a "
                f"{type(answer).__name__}, not an awaitable; define it with async def"
            )
        shared: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self.store._asking[path] = shared
        try:
            text = await answer
            if isinstance(text, str):  # anything else is refused by the scheduler, not kept
                self.store._claim()
                _write_atomically(path, {"answer": text})
                shared.set_result(text)
        finally:
            del self.store._asking[path]
            if not shared.done():
                shared.cancel()  # whoever waits asks for itself
        return text
