"""Where a keyed batch keeps what it has done, so running it again pays for nothing twice.

A store is a directory of JSON files (by default ``.irgraph-batches/<batch key>/``)::

    items/<item key>.json                  a completed item: its final state and outputs
    answers/<item key>/<answer key>.json   one agent answer of an item still under way

An item's key hashes the batch key with the item's canonical JSON, so the same data set,
reordered or grown, resumes item by item (identical items share one key and one result). An
answer's key hashes what was asked (node, agent, model, prompt, system prompt, settings,
output schema, attempt) and how often this item asked it before, so a half-done item asked
again gets its completed agents' answers back from disk and only the rest go to the model.
When an item completes, its answers are dropped: its final state stands for them.

Every file is written under a temporary name and renamed into place (``os.replace``), so a
crash or Ctrl-C leaves a whole file or none.

>>> store = BatchStore(".irgraph-batches/evals-v1", "evals-v1")  # nothing is written yet
>>> store.item_key({"topic": "owls"}, 0) == store.item_key({"topic": "owls"}, 7)
True
"""

from __future__ import annotations

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

from irgraph.errors import PipelineError, RunError
from irgraph.events import RunResult
from irgraph.ir.values import canonical, json_problem
from irgraph.providers import ModelProvider, ModelRequest

__all__ = ["BatchStore", "RememberingProvider", "default_directory"]

_FORMAT = "irgraph-batch-item"
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


class BatchStore:
    """The completed items and agent answers of one keyed batch, in ``directory``."""

    def __init__(self, directory: str | os.PathLike[str], batch_key: str) -> None:
        self.directory = Path(directory)
        self.batch_key = batch_key

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
        _write_atomically(self._item_path(key), record)
        shutil.rmtree(self.directory / "answers" / key, ignore_errors=True)

    def answers(self, key: str, provider: ModelProvider) -> RememberingProvider:
        """``provider``, with the answers of item ``key`` kept in (and taken from) the store."""
        return RememberingProvider(provider, self.directory / "answers" / key)


class RememberingProvider:
    """A provider that keeps every answer in ``directory`` and answers from there when the
    same request (counted: the first, second, ... time it is asked) comes again."""

    def __init__(self, provider: ModelProvider, directory: Path) -> None:
        self.provider = provider
        self.directory = directory
        self._asked: dict[str, int] = {}

    async def complete(self, request: ModelRequest) -> str:
        asked = [
            request.node,
            request.agent,
            request.model,
            request.prompt,
            request.system,
            request.settings,
            request.output_schema,
            request.attempt,
            request.feedback,
        ]
        digest = _request_digest(asked)
        times = self._asked.get(digest, 0)
        self._asked[digest] = times + 1
        path = self.directory / f"{digest}-{times}.json"
        kept = _read(path)
        if isinstance(kept, dict) and isinstance(kept.get("answer"), str):
            return str(kept["answer"])
        answer = self.provider.complete(request)
        if not inspect.isawaitable(answer):
            raise TypeError(
                f"{type(self.provider).__name__}.complete() returned a "
                f"{type(answer).__name__}, not an awaitable; define it with async def"
            )
        text = await answer
        if isinstance(text, str):  # anything else is refused by the scheduler, not kept
            _write_atomically(path, {"answer": text})
        return text
