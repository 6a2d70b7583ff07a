"""A child process for the crash-resume properties of tests/test_prefect_cache_keys.py.

``python -m tests.support.resume_worker backend IR.json STATE LOG RUN_KEY HANG_FROM RESULTS``
runs an IR file on :class:`PrefectBackend`; ``... generated FLOW.py STATE LOG RUN_KEY
HANG_FROM`` runs a generated flow module through its own ``main(["run", ...])``, its provider
swapped for a :class:`CallLog`. An optional last argument, a JSON object of agent name to
a list of replies, answers each agent's attempt n with its n-th reply (a structured output
asked again: the same in the crashed run and the resumed one). Either way every agent call is
logged to ``LOG``, and from the ``HANG_FROM``-th call on no call answers, so the parent can
SIGKILL the process at a known point and then check what a resumed run calls again.
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

from irgraph import run
from irgraph.backends.prefect_backend import PrefectBackend
from irgraph.ir import from_json
from irgraph.providers import ModelRequest
from irgraph.testing import FakeProvider

# Where drawn pipelines' transforms and predicates live.
ALLOW = ("irgraph.testing.strategies", "irgraph.testing.predicates")


def current_call() -> tuple[str, str]:
    """The name of the Prefect task run an agent call runs in, and the key Prefect caches its
    result under: the key of the task's transaction, which our ``cache_key_fn`` gave."""
    from prefect.context import TaskRunContext
    from prefect.transactions import get_transaction

    context = TaskRunContext.get()
    transaction = get_transaction()
    assert context is not None and transaction is not None, "an agent call outside a task run"
    assert transaction.key is not None, f"task run {context.task_run.name!r} has no cache key"
    return context.task_run.name, transaction.key


class CallLog(FakeProvider):
    """:class:`FakeProvider`'s answers; every call is recorded in ``runs`` as (task run name,
    cache key), and, with ``log``, appended to that file as a JSON line when it starts and when
    it is done. From call number ``hang_from`` on, calls never answer."""

    def __init__(
        self,
        log: str | None = None,
        hang_from: int | None = None,
        by_attempt: dict[str, list[str]] | None = None,
    ) -> None:
        answers = {agent: _by_attempt(replies) for agent, replies in (by_attempt or {}).items()}
        super().__init__(responses=answers)
        self.log = log
        self.hang_from = hang_from
        self.runs: list[tuple[str, str]] = []
        self.started = 0

    async def complete(self, request: ModelRequest) -> str:
        name, key = current_call()
        self.started += 1
        self._write("start", name, key)
        if self.hang_from is not None and self.started >= self.hang_from:
            await asyncio.sleep(3600)
        answer = await super().complete(request)
        self.runs.append((name, key))
        self._write("done", name, key)
        return answer

    def _write(self, event: str, name: str, key: str) -> None:
        if self.log is not None:
            with open(self.log, "a", encoding="utf-8") as f:
                f.write(json.dumps({"event": event, "run": name, "key": key}) + "\n")


def _by_attempt(replies: list[str]) -> Any:
    return lambda request: replies[min(request.attempt, len(replies)) - 1]


def read_log(log: Path) -> list[dict[str, str]]:
    """The entries a :class:`CallLog` wrote (none if it wrote nothing yet)."""
    if not log.exists():
        return []
    lines = log.read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.endswith("}")]


def load_flow_module(path: Path, name: str) -> ModuleType:
    """Import a generated flow module from its file, under a module name of its own."""
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def with_provider(module: ModuleType, provider: Any) -> ModuleType:
    """Make a generated module's agent tasks call ``provider`` (they look up
    ``model_provider(PROVIDER)`` in the module's globals on every call)."""
    module.model_provider = lambda spec: provider
    return module


def main(argv: list[str]) -> None:
    mode, source, state, log, run_key, hang_from, *rest = argv
    replies = rest.pop() if rest and rest[-1].startswith("{") else "{}"
    provider = CallLog(log, int(hang_from), json.loads(replies))
    if mode == "backend":
        ir = from_json(Path(source).read_text(encoding="utf-8"), allow=ALLOW)
        backend = PrefectBackend(provider=provider, result_dir=rest[0])
        run(ir, backend=backend, state=json.loads(state), run_key=run_key)
    else:
        module = with_provider(load_flow_module(Path(source), "crashing_flow"), provider)
        module.main(["run", "--state", state, "--run-key", run_key])


if __name__ == "__main__":
    main(sys.argv[1:])
