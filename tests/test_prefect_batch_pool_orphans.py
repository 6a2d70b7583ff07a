"""``irgraph batch --work-pool`` killed outright (``kill -9``), then run again, keyed or not:
the chunks the killed process left on the workers are taken over before anything is sent. A
chunk still running is waited for, as if the new process had sent it (cancelling it would
throw away the model calls under way and pay for them again); a chunk that completed with
nobody watching gives its answers as they are; a chunk whose items the inputs no longer hold
is cancelled. No item is sent twice, no call paid twice.

Everything is real, as in :mod:`tests.test_prefect_batch_pool_stop` (whose pool this module
makes a copy of: the suite's Prefect server, a process work pool, the deployed flow module and
one worker). The items' "check" calls stall while a file exists, so their chunks are still
running, in a known place, when their sender is killed. An unkeyed batch is named by its
results file and the generation its lock file keeps (``output_lock``), so the test reads that
file to know the batch's tag.

A failed item's ``RunError`` at the sender carries the record of its run on the worker.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import uuid
from pathlib import Path
from typing import Any

import pytest

from irgraph import run_many
from irgraph.backends.prefect_orphans import ORPHANED, SENDING_FOR, batch_tag, sending_for
from irgraph.batch_clock import clock_of
from irgraph.batch_store import BatchStore, default_directory
from tests.support.prefect_children import child_env, shared_api_url
from tests.test_prefect_batch_pool import calls
from tests.test_prefect_batch_pool_stop import (  # noqa: F401  (pool: the module's fixture)
    CHAIN,
    IRGRAPH_BATCH,
    Pool,
    chunk_runs,
    final_runs,
    on_server,
    paid,
    pool,
    until,
)

CHAIN_MODULE = (
    "from irgraph import Agent\n"
    'chain = Agent("draft").instruct("Draft about {topic}.").writes("draft") >> Agent(\n'
    '    "check").instruct("Check {draft}.").writes("checked")\n'
)


class Batch:
    """``irgraph batch`` of three "slow" items in two chunks, in ``folder``, as processes."""

    def __init__(self, pool: Pool, folder: Path, key: str | None) -> None:  # noqa: F811
        self.pool, self.folder, self.key = pool, folder, key
        self.token = uuid.uuid4().hex[:8]
        (folder / "chain.py").write_text(CHAIN_MODULE, encoding="utf-8")
        topics = [f"slow {number} {self.token}" for number in range(3)]
        (folder / "in.jsonl").write_text("".join(json.dumps({"topic": t}) + "\n" for t in topics))
        self.env = child_env(folder / "home")
        self.logs: list[Any] = []
        self.processes: list[subprocess.Popen[bytes]] = []

    def start(self, *extra: str) -> subprocess.Popen[bytes]:
        command = [
            *IRGRAPH_BATCH,
            *("chain.py:chain", "in.jsonl", "-o", "out.jsonl", "--backend", "prefect"),
            *("--work-pool", self.pool.backend.work_pool, "--deployment", "chain/chain"),
            *("--chunk-size", "2", *extra),
            *(() if self.key is None else ("--batch-key", self.key)),
        ]
        number = len(self.processes)
        logs = [(self.folder / f"{name}{number}.txt").open("w") for name in ("out", "err")]
        self.logs += logs
        process = subprocess.Popen(
            command, cwd=self.folder, env=self.env, stdout=logs[0], stderr=logs[1]
        )
        self.processes.append(process)
        return process

    def said(self, number: int, stream: str = "out") -> str:
        return (self.folder / f"{stream}{number}.txt").read_text()

    def stalled(self) -> int:
        return sum(
            what == "stall" and self.token in prompt for what, _, _, prompt in calls(self.pool.log)
        )

    def tag(self) -> str:
        """The tag of the batch's chunks: of its store, or of its results file."""
        if self.key is not None:
            store = self.folder.resolve() / default_directory(self.key)
            tag = batch_tag(BatchStore(store, self.key))
            assert tag is not None
            return tag
        lock = (self.folder / ".out.jsonl.lock").read_text()  # the killed command's
        generation = lock.splitlines()[0]
        with sending_for(os.path.realpath(self.folder / "out.jsonl"), generation):
            named = SENDING_FOR.get()
        assert named is not None
        return named.tag

    def results(self) -> list[dict[str, Any]]:
        lines = (self.folder / "out.jsonl").read_text().splitlines()
        return sorted((json.loads(line) for line in lines), key=lambda line: line["index"])

    def close(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.kill()
                process.wait()
        for log in self.logs:
            log.close()


def checked(batch: Batch) -> None:
    """Every item's result is in the results file, and each model call was paid once."""
    states = [line["state"] for line in batch.results()]
    assert [state["checked"] for state in states] == [
        f"<check: Check <draft: Draft about slow {number} {batch.token}.>.>" for number in range(3)
    ]
    bills = paid(batch.pool, batch.token)
    assert len(bills) == 6 and set(bills.values()) == {1}, bills


@pytest.mark.prefect
@pytest.mark.slow
@pytest.mark.parametrize("keyed", [False, True], ids=["unkeyed", "keyed"])
def test_a_batch_run_again_after_kill_9_waits_for_the_chunks_its_killed_sender_left_running(
    pool: Pool,  # noqa: F811
    tmp_path: Path,
    keyed: bool,
) -> None:
    batch = Batch(pool, tmp_path, f"left-{uuid.uuid4().hex[:8]}" if keyed else None)
    pool.stall.touch()

    async def killed_then_run_again() -> tuple[list[str], str]:
        first = batch.start("--max-concurrency", "3")
        await until(lambda: batch.stalled() == 3 or first.poll() is not None, "3 stalls", pool)
        first.kill()  # kill -9: the sender cancels nothing
        first.wait()
        tag = batch.tag()
        left = sorted(run.state.type.value for run in await chunk_runs(batch.token, pool))
        batch.start("--max-concurrency", "4")
        # the batch run again took over the killed sender's concurrency limit for the chunks
        # it waits for, and gave it the new bound: then it has found them
        await until_limited(tag, 4, pool)
        return left, tag

    try:
        left, tag = on_server(killed_then_run_again)
        pool.stall.unlink()  # the chunks left may finish now
        again = batch.processes[-1]
        again.wait(timeout=300)
    finally:
        pool.stall.unlink(missing_ok=True)
        batch.close()
    assert left == ["RUNNING", "RUNNING"]
    assert again.returncode == 0, batch.said(1, "err")
    assert batch.said(1).startswith("Finished: 3 done, 0 failed, 0 resumed"), batch.said(1)
    checked(batch)
    # no chunk was sent again: the two the killed sender left completed, waited for
    runs = on_server(lambda: chunk_runs(batch.token, pool))
    assert sorted(run.state.type.value for run in runs) == ["COMPLETED", "COMPLETED"]
    assert on_server(lambda: limits(tag)) == {}  # the limit it took over is gone too


@pytest.mark.prefect
@pytest.mark.slow
def test_an_unkeyed_batch_run_again_after_kill_9_takes_what_the_chunks_it_left_completed(
    pool: Pool,  # noqa: F811
    tmp_path: Path,
) -> None:
    batch = Batch(pool, tmp_path, None)
    pool.stall.touch()

    async def killed() -> list[str]:
        first = batch.start()
        await until(lambda: batch.stalled() == 3 or first.poll() is not None, "3 stalls", pool)
        first.kill()
        first.wait()
        pool.stall.unlink()  # the chunks complete on the worker, their sender gone
        return await final_runs(batch.token, 2, pool)

    try:
        ended = on_server(killed)
        again = batch.start()
        again.wait(timeout=300)
    finally:
        pool.stall.unlink(missing_ok=True)
        batch.close()
    assert ended == ["COMPLETED", "COMPLETED"]
    assert again.returncode == 0, batch.said(1, "err")
    assert batch.said(1).startswith("Finished: 0 done, 0 failed, 3 resumed"), batch.said(1)
    checked(batch)
    assert len(on_server(lambda: chunk_runs(batch.token, pool))) == 2  # none sent again
    assert not (tmp_path / ".out.jsonl.lock").exists()  # a new generation next time


@pytest.mark.prefect
@pytest.mark.slow
def test_a_chunk_left_running_whose_items_the_inputs_no_longer_hold_is_cancelled(
    pool: Pool,  # noqa: F811
    tmp_path: Path,
) -> None:
    batch = Batch(pool, tmp_path, None)
    pool.stall.touch()

    async def killed_then_run_again() -> tuple[list[str], list[str]]:
        from prefect.client.orchestration import get_client

        first = batch.start()
        await until(lambda: batch.stalled() == 3 or first.poll() is not None, "3 stalls", pool)
        first.kill()
        first.wait()
        inputs = tmp_path / "in.jsonl"  # the third item, alone in its chunk, is dropped
        inputs.write_text("".join(inputs.read_text().splitlines(keepends=True)[:2]))
        [alone] = [
            run for run in await chunk_runs(batch.token, pool) if len(run.parameters["items"]) == 1
        ]
        batch.start()

        async def cancelled() -> bool:
            # Cancelled, not only Cancelling: its worker has ended its process, so its stalled
            # "check" cannot go on (and be paid) once the stall is lifted below; Cancelling
            # alone left that to a race with the worker, which a loaded machine lost.
            runs = {run.id: run for run in await chunk_runs(batch.token, pool)}
            return runs[alone.id].state.type.value == "CANCELLED"

        deadline = asyncio.get_running_loop().time() + 120
        while not await cancelled():
            waited = asyncio.get_running_loop().time() < deadline
            assert waited, f"the chunk no item claims was not cancelled\n{pool.processes.tail()}"
            await asyncio.sleep(0.2)
        pool.stall.unlink()  # the chunk it waits for may finish now
        ended = await final_runs(batch.token, 2, pool)
        async with get_client() as client:
            states = await client.read_flow_run_states(alone.id)
        return ended, [f"{state.type.value}: {state.message}" for state in states][-2:]

    try:
        ended, alone = on_server(killed_then_run_again)
        again = batch.processes[-1]
        again.wait(timeout=300)
    finally:
        pool.stall.unlink(missing_ok=True)
        batch.close()
    assert ended == ["CANCELLED", "COMPLETED"]
    assert alone[0] == f"CANCELLING: {ORPHANED}" and alone[1].startswith("CANCELLED"), alone
    assert again.returncode == 0, batch.said(1, "err")
    assert batch.said(1).startswith("Finished: 2 done, 0 failed, 0 resumed"), batch.said(1)
    assert [line["index"] for line in batch.results()] == [0, 1]
    checks = {prompt for (node, prompt) in paid(pool, batch.token) if node == "check"}
    assert len(checks) == 2 and set(paid(pool, batch.token).values()) == {1}


@pytest.mark.prefect
@pytest.mark.slow
@pytest.mark.filterwarnings("ignore:A batch on work pool .* without batch_key:UserWarning")
def test_a_failed_item_on_a_work_pool_carries_the_record_of_its_run_on_the_worker(
    pool: Pool,  # noqa: F811
) -> None:
    from prefect.settings import PREFECT_API_URL, temporary_settings

    token = uuid.uuid4().hex[:8]
    with temporary_settings({PREFECT_API_URL: shared_api_url()}):
        results = run_many(CHAIN, [{"topic": f"fails {token}"}], backend=pool.backend)
        [item] = list(results)
    # the batch was timed from its first chunk: irgraph batch --work-pool said "in 0.00 s"
    clock = clock_of(results)
    assert clock is not None and clock.began is not None
    error = item.error
    assert error is not None and str(error).startswith("Item 0 failed on the work pool: ")
    assert "the model refused 'check'" in str(error)
    assert (error.node, error.completed) == ("check", ["draft"])
    assert error.state["draft"] == f"<draft: Draft about fails {token}.>"
    assert [(event.node, event.event) for event in error.trace][:3] == [
        ("draft", "start"),
        ("draft", "end"),
        ("check", "start"),
    ]  # (a generated flow's record ends the failed node at the error's .ended)
    assert [(call.node, call.answer is None) for call in error.calls] == [
        ("draft", False),
        ("check", True),
    ]
    assert error.outputs == {"draft": f"<draft: Draft about fails {token}.>"}
    view = str(error.view())  # the pipeline's graph came with it
    assert "measured <1 ms" not in view and "not recorded" not in view, view
    assert "done         draft" in view and "failed       check" in view, view


async def until_limited(tag: str, slots: int, pool: Pool) -> None:  # noqa: F811
    """Wait until a concurrency limit of the batch ``tag`` has ``slots`` slots."""
    deadline = asyncio.get_running_loop().time() + 120
    while slots not in (await limits(tag)).values():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"no limit of {slots} for {tag}\n{pool.processes.tail()}")
        await asyncio.sleep(0.2)


async def limits(tag: str) -> dict[str, int]:
    """The global concurrency limits on the server made for the batch ``tag``: their slots."""
    from prefect.client.orchestration import get_client

    found: dict[str, int] = {}
    async with get_client() as client:
        offset = 0
        while page := await client.read_global_concurrency_limits(limit=200, offset=offset):
            found |= {limit.name: limit.limit for limit in page}
            offset += len(page)
    return {name: slots for name, slots in found.items() if name.startswith(f"{tag}-")}
