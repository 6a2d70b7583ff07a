"""A batch stopped by a cancel or Ctrl-C, as it starts or later, says what it handed over and
how to resume (``.partial``, a :class:`BatchStopped`), keeps every item that completed, and
resumes from them, on asyncio and on Prefect."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path
from typing import Any

import pytest

from irgraph import Agent, arun_many, run_many
from irgraph.batch_stop import BatchStopped
from irgraph.testing import FakeProvider

ROOT = Path(__file__).resolve().parents[1]
CHAIN = Agent("draft").instruct("Draft {topic}.").writes("draft") >> Agent("edit").instruct(
    "Edit {draft}."
).writes("text")
ITEMS = [{"topic": f"topic {number}"} for number in range(5)]
BACKENDS = ["asyncio", pytest.param("prefect", marks=[pytest.mark.prefect, pytest.mark.slow])]


async def _cancelled(backend: str, store: Path, key: str, after: int) -> tuple[Any, list[Any]]:
    """Run the keyed batch and cancel it (as Ctrl-C does) once ``after`` items were handed
    over, or, with ``after=0``, once it has read its first state: its ``partial``, and the
    items it handed over."""
    handed: list[Any] = []
    first_read = asyncio.Event()

    def states() -> Any:
        for state in ITEMS:
            first_read.set()
            yield state

    async def consume() -> None:
        results = arun_many(  # one item at a time: each is awaited, where a cancel lands
            CHAIN,
            states(),
            backend=backend,
            provider=FakeProvider(),
            batch_key=key,
            store=store,
            max_items=1,
        )
        async for item in results:
            handed.append(item)
            if len(handed) == after:
                asyncio.current_task().cancel()  # type: ignore[union-attr]

    consumer = asyncio.ensure_future(consume())
    if after == 0:
        await first_read.wait()
        consumer.cancel()
    with pytest.raises(asyncio.CancelledError) as stopped:
        await consumer
    return getattr(stopped.value, "partial", None), handed


def _kept(store: Path) -> list[Path]:
    return sorted((store / "items").glob("*.json")) if (store / "items").exists() else []


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("after", [0, 2])
def test_a_cancelled_batch_says_what_it_handed_over_and_how_to_resume(tmp_path, backend, after):
    key = f"stop-{uuid.uuid4().hex[:8]}"
    partial, handed = asyncio.run(_cancelled(backend, tmp_path, key, after))
    assert isinstance(partial, BatchStopped) and partial.cancelled
    assert (partial.handed, partial.failed) == (after, 0)
    # the item in flight may complete as the cancel reaches it: then the record has it
    late = {item.index for item in partial.results}
    assert all(item.ok for item in partial.results) and late.isdisjoint(range(after))
    assert (partial.batch_key, partial.store) == (key, str(tmp_path))
    assert len(handed) == after
    assert f"run the same batch again with batch_key={key!r} and store={str(tmp_path)!r}" in str(
        partial
    )
    assert len(_kept(tmp_path)) == after + len(late)  # every item that completed is kept

    again = list(
        run_many(
            CHAIN, ITEMS, backend=backend, provider=FakeProvider(), batch_key=key, store=tmp_path
        )
    )
    assert all(item.ok for item in again) and len(again) == len(ITEMS)
    resumed = {item.index for item in again if item.resumed}
    assert {item.index for item in handed} | late <= resumed
    whole = {item.index: item.state for item in run_many(CHAIN, ITEMS, provider=FakeProvider())}
    assert {item.index: item.state for item in again} == whole
    assert len(_kept(tmp_path)) == len(ITEMS)


def test_an_unkeyed_cancelled_batch_says_nothing_was_kept():
    async def cancelled() -> Any:
        async def consume() -> None:
            async for _ in arun_many(CHAIN, ITEMS, provider=FakeProvider(), max_items=1):
                asyncio.current_task().cancel()  # type: ignore[union-attr]

        with pytest.raises(asyncio.CancelledError) as stopped:
            await asyncio.ensure_future(consume())
        return stopped.value.partial  # type: ignore[attr-defined]

    partial = asyncio.run(cancelled())
    assert (partial.handed, partial.batch_key, partial.store) == (1, None, None)
    # the next item, started as the first was handed over, may complete as the cancel lands
    late = " 1 more completed as it stopped: .results holds them." if partial.results else ""
    assert [item.index for item in partial.results] == ([1] if late else [])
    assert str(partial) == (
        f"The batch was stopped after 1 item was handed over.{late} It had no batch_key, so "
        "nothing was kept and running it again runs every item again; pass batch_key='a name' "
        "to make a batch resumable."
    )


# A real Ctrl-C (SIGINT to the main thread) while run_many waits for its first item, sent by
# the model's first call once the main thread waits for it (irgraph.thread_done); the
# KeyboardInterrupt is printed as JSON.
INTERRUPTED = textwrap.dedent(
    """
    import json, signal, sys, threading
    from irgraph import thread_done
    from irgraph import Agent, run_many
    from irgraph.testing import FakeProvider

    signal.signal(signal.SIGINT, signal.default_int_handler)
    main = threading.main_thread()

    class Interrupting(FakeProvider):
        sent = False  # one Ctrl-C: the items' first calls all come before any is recorded

        async def complete(self, request):
            if not Interrupting.sent:
                Interrupting.sent = True
                while sys._current_frames()[main.ident].f_code.co_filename != thread_done.__file__:
                    await asyncio.sleep(0.001)
                signal.pthread_kill(main.ident, signal.SIGINT)
            return await super().complete(request)

    import asyncio
    chain = Agent("draft").instruct("Draft {topic}.").writes("draft") >> Agent("edit").instruct(
        "Edit {draft}."
    ).writes("text")
    items = [{"topic": f"topic {number}"} for number in range(5)]
    try:
        for item in run_many(chain, items, provider=Interrupting(), batch_key=sys.argv[1],
                             store=sys.argv[2]):
            pass
    except KeyboardInterrupt as stop:
        p, notes = stop.partial, getattr(stop, "__notes__", [])
        print(json.dumps({"type": type(p).__name__, "handed": p.handed, "message": str(p),
                          "notes": notes}))
        sys.exit(130)
    """
)


def _stopped_child(script: str, key: str, store: Path) -> dict[str, Any]:
    """Run ``script`` with the batch key and store as its arguments; what it printed last
    of the partial of the Ctrl-C it was sent, once it exited with 130."""
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    }
    done = subprocess.run(
        [sys.executable, "-c", script, key, str(store)],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert done.returncode == 130, done.stderr
    said: dict[str, Any] = json.loads(done.stdout.splitlines()[-1])
    assert said["type"] == "BatchStopped" and said["handed"] == 0
    return said


def test_ctrl_c_as_run_many_starts_says_how_to_resume_and_resuming_finishes(tmp_path):
    key = f"stop-{uuid.uuid4().hex[:8]}"
    said = _stopped_child(INTERRUPTED, key, tmp_path)
    assert said["message"].startswith(f"The batch {key!r} was stopped before any item was handed")
    assert f"batch_key={key!r} and store={str(tmp_path)!r}" in said["message"]
    # the interrupt's traceback says it too (a note), not only "KeyboardInterrupt"
    assert said["notes"] == [said["message"]]
    again = list(run_many(CHAIN, ITEMS, provider=FakeProvider(), batch_key=key, store=tmp_path))
    assert all(item.ok for item in again) and len(_kept(tmp_path)) == len(ITEMS)


class Interrupted:
    """A pipeline whose making is interrupted (Ctrl-C while the batch checks it)."""

    def to_ir(self) -> object:
        raise KeyboardInterrupt


@pytest.mark.parametrize("many", [run_many, arun_many])
@pytest.mark.parametrize("keyed", ["store", "default store", "no key"])
def test_ctrl_c_while_the_batch_is_checked_says_nothing_was_handed_over(tmp_path, many, keyed):
    key = None if keyed == "no key" else "checked-v1"
    store = tmp_path if keyed == "store" else None
    with pytest.raises(KeyboardInterrupt) as info:
        many(Interrupted(), ITEMS, provider=FakeProvider(), batch_key=key, store=store)
    partial = info.value.partial  # type: ignore[attr-defined]
    assert isinstance(partial, BatchStopped) and (partial.handed, partial.results) == (0, [])
    assert partial.batch_key == key
    shown = {"store": str(tmp_path), "default store": os.path.join(".irgraph-batches", key or "")}
    assert partial.store == shown.get(keyed)
    said = str(partial)
    assert info.value.__notes__ == [said]  # in the interrupt's traceback
    assert said.startswith("The batch " + ("" if key is None else "'checked-v1' "))
    assert ("nothing was kept" in said) == (key is None)


# Ctrl-C under asyncio.run: asyncio cancels the main task, so the batch raises CancelledError
# carrying its partial, and asyncio.run then raises a KeyboardInterrupt of its own, holding
# that CancelledError as __context__ (the SIGINT is sent by the model's first call).
UNDER_ASYNCIO_RUN = textwrap.dedent(
    """
    import asyncio, json, os, signal, sys
    from irgraph import Agent, arun_many
    from irgraph.testing import FakeProvider

    class Interrupting(FakeProvider):
        async def complete(self, request):
            if not self.calls:
                os.kill(os.getpid(), signal.SIGINT)
                await asyncio.sleep(60)
            return await super().complete(request)

    async def main():
        items = [{"topic": f"topic {number}"} for number in range(3)]
        writer = Agent("w").instruct("Write {topic}.").writes("text")
        async for _ in arun_many(writer, items, provider=Interrupting(), batch_key=sys.argv[1],
                                 store=sys.argv[2], max_items=1):
            pass

    try:
        asyncio.run(main())
    except KeyboardInterrupt as stop:
        p, notes = stop.__context__.partial, getattr(stop.__context__, "__notes__", [])
        print(json.dumps({"type": type(p).__name__, "handed": p.handed, "message": str(p),
                          "notes": notes}))
        sys.exit(130)
    """
)


def test_ctrl_c_under_asyncio_run_keeps_the_partial_in_the_interrupts_context(tmp_path):
    key = f"stop-{uuid.uuid4().hex[:8]}"
    said = _stopped_child(UNDER_ASYNCIO_RUN, key, tmp_path)
    assert f"batch_key={key!r} and store={str(tmp_path)!r}" in said["message"]
    assert said["notes"] == [said["message"]]


def test_an_item_that_completes_as_the_batch_is_cancelled_is_in_its_record(tmp_path):
    """The model's answer comes back in the very step that cancels the batch: the item
    completes (and is kept) while the batch stops, too late to be handed over."""
    consumer: list[asyncio.Task[None]] = []

    class CancellingAsItAnswers:
        async def complete(self, request: Any) -> str:
            consumer[0].cancel()
            return "an answer"

    async def cancelled() -> Any:
        async def consume() -> None:
            async for _ in arun_many(
                Agent("w").instruct("Write {topic}.").writes("text"),
                [{"topic": "owls"}],
                provider=CancellingAsItAnswers(),
                batch_key="late",
                store=tmp_path,
            ):
                raise AssertionError("no item is handed over to a cancelled consumer")

        consumer.append(asyncio.ensure_future(consume()))
        with pytest.raises(asyncio.CancelledError) as stopped:
            await consumer[0]
        return stopped.value.partial  # type: ignore[attr-defined]

    partial = asyncio.run(cancelled())
    assert partial.handed == 0 and [item.state["text"] for item in partial.results] == ["an answer"]
    assert [path.stem for path in _kept(tmp_path)] == [partial.results[0].key]
    assert "1 more completed as it stopped: .results holds them." in str(partial)
