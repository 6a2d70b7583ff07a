"""The agent answers of a keyed batch's item under way, kept in its store as they come and
taken back when the item asks again, so an item run again after a crash or a Ctrl-C pays only
for what it had not been answered.

Each answer is one file, ``answers/<item key>/<answer key>.json`` in the batch's store
(:mod:`irgraph.batch_store`); its key hashes what was asked (every field of the request but
the state) and how often the item asked it before.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import attrs

from irgraph.batch_files import read_json as _read
from irgraph.batch_files import write_atomically as _write_atomically
from irgraph.providers import ModelProvider, ModelRequest, completion

__all__ = ["RememberingProvider"]

_ASKED = tuple(field.name for field in attrs.fields(ModelRequest) if field.eq)


def _plain(value: Any) -> Any:
    # Settings and schemas hold read-only JSON mappings, which json takes as plain dicts.
    return dict(value) if isinstance(value, Mapping) else repr(value)


def _digest_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


def _request_digest(value: Any) -> str:
    return _digest_text(json.dumps(value, sort_keys=True, separators=(",", ":"), default=_plain))


class RememberingProvider:
    """A provider that keeps every answer of item ``key`` in ``store`` and answers from there
    when the same request (counted: the first, second, ... time it is asked) comes again. An
    identical item asking the same request at the same time waits for this answer instead of
    asking too (and asks after all if this asker fails or is cancelled)."""

    def __init__(self, provider: ModelProvider, store: Any, key: str) -> None:
        # store: the BatchStore (whose module imports this one)
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
            if (
                isinstance(kept, dict)
                and isinstance(kept.get("answer"), str)
                and self.store._trusted(kept)
                and (kept.get("made_up") is not True or self.store.made_up)
            ):
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
        answer = completion(self.provider, request)
        shared: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self.store._asking[path] = shared
        try:
            text = await answer
            if isinstance(text, str):  # anything else is refused by the scheduler, not kept
                # Keeping it only spares asking again after a crash: a store that cannot be
                # written fails the item when it completes (save), not the agent here.
                with contextlib.suppress(OSError):
                    self.store._claim()
                    made_up = self.store.made_up
                    _write_atomically(
                        path, {"answer": text, "pipeline": self.store._stamp, "made_up": made_up}
                    )
                shared.set_result(text)
        finally:
            del self.store._asking[path]
            if not shared.done():
                shared.cancel()  # whoever waits asks for itself
        return text
