"""``irgraph batch --work-pool --batch-key K`` killed outright (``kill -9``), then run again:
the chunks the killed process left running on the workers are cancelled before anything is
sent, so they do not go on calling the model beside the chunks sent again.

Everything is real, as in :mod:`tests.test_prefect_batch_pool_stop` (whose pool this module
makes a copy of: the suite's Prefect server, a process work pool, the deployed flow module and
one worker). The item's "check" call stalls while a file exists, so its chunk is still running,
in a known place, when its sender is killed.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import uuid
from pathlib import Path
from typing import Any

import pytest

from irgraph.backends.prefect_orphans import ORPHANED, batch_tag
from irgraph.batch_store import BatchStore, default_directory
from tests.support.prefect_children import child_env
from tests.test_prefect_batch_pool import calls
from tests.test_prefect_batch_pool_stop import (  # noqa: F401  (pool: the module's fixture)
    IRGRAPH_BATCH,
    Pool,
    chunk_runs,
    on_server,
    paid,
    pool,
    until,
)

pytestmark = [pytest.mark.prefect, pytest.mark.slow]

CHAIN_MODULE = (
    "from irgraph import Agent\n"
    'chain = Agent("draft").instruct("Draft about {topic}.").writes("draft") >> Agent(\n'
    '    "check").instruct("Check {draft}.").writes("checked")\n'
)


def test_a_keyed_batch_run_again_after_kill_9_cancels_the_chunk_its_killed_sender_left(
    pool: Pool,  # noqa: F811
    tmp_path: Path,
) -> None:
    token = uuid.uuid4().hex[:8]
    (tmp_path / "chain.py").write_text(CHAIN_MODULE, encoding="utf-8")
    (tmp_path / "in.jsonl").write_text(json.dumps({"topic": f"slow {token}"}) + "\n")
    env = child_env(tmp_path / "home")
    # the batch's tag (from its store, which irgraph batch keeps under its directory)
    key = f"orphans-{token}"
    tag = batch_tag(BatchStore(tmp_path.resolve() / default_directory(key), key))
    command = [
        *IRGRAPH_BATCH,
        *("chain.py:chain", "in.jsonl", "-o", "out.jsonl", "--backend", "prefect"),
        *("--work-pool", pool.backend.work_pool, "--deployment", "chain/chain"),
        *("--batch-key", key, "--max-concurrency", "2"),
    ]
    pool.stall.touch()
    logs = [(tmp_path / f"{name}.txt").open("w") for name in ("out", "err", "out2", "err2")]
    first = subprocess.Popen(command, cwd=tmp_path, env=env, stdout=logs[0], stderr=logs[1])
    again: Any = None

    def stalled() -> bool:
        return any(what == "stall" and token in prompt for what, _, _, prompt in calls(pool.log))

    async def killed_then_run_again() -> tuple[str, str, list[str]]:
        from prefect.client.orchestration import get_client

        nonlocal again
        await until(lambda: stalled() or first.poll() is not None, "a stall", pool)
        first.kill()  # kill -9: the sender cancels nothing
        first.wait()
        [left_limit] = await limit_names(tag)  # its --max-concurrency's, on the server
        [orphan] = await chunk_runs(token, pool)
        left = orphan.state.type.value  # still running on the worker, its sender gone
        again = subprocess.Popen(command, cwd=tmp_path, env=env, stdout=logs[2], stderr=logs[3])

        async def ended() -> bool:
            runs = {run.id: run for run in await chunk_runs(token, pool)}
            return bool(runs[orphan.id].state.is_final())

        deadline = asyncio.get_running_loop().time() + 120
        while not await ended() and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0.5)
        async with get_client() as client:  # the orphan's states, oldest first
            states = await client.read_flow_run_states(orphan.id)
        return left_limit, left, [f"{state.type.value}: {state.message}" for state in states][-2:]

    try:
        left_limit, left, ended = on_server(killed_then_run_again)
        pool.stall.unlink()  # the item may finish now, on its chunk sent again
        assert again is not None
        again.wait(timeout=300)
    finally:
        pool.stall.unlink(missing_ok=True)
        for process in (first, again):
            if process is not None and process.poll() is None:
                process.kill()
                process.wait()
        for log in logs:
            log.close()
    assert left == "RUNNING"
    # set Cancelling by the batch run again; its worker then ended its process
    assert ended[0] == f"CANCELLING: {ORPHANED}" and ended[1].startswith("CANCELLED"), ended
    out = (tmp_path / "out2.txt").read_text()
    assert again.returncode == 0, (tmp_path / "err2.txt").read_text()
    assert out.startswith("Finished: 1 done, 0 failed"), out
    state = json.loads((tmp_path / "out.jsonl").read_text().splitlines()[-1])["state"]
    assert state["checked"] == f"<check: Check <draft: Draft about slow {token}.>.>"
    # the draft the killed sender's chunk finished came back from the cache; the orphan's
    # stalled check ended with its process, so every call was paid for once
    assert set(paid(pool, token).values()) == {1} and len(paid(pool, token)) == 2
    # the limit the killed sender made is gone too (each sender deletes its own as it ends)
    assert left_limit not in on_server(lambda: limit_names(tag))


async def limit_names(tag: str | None) -> set[str]:
    """The global concurrency limits on the server made for the batch with ``tag``."""
    from prefect.client.orchestration import get_client

    names: set[str] = set()
    async with get_client() as client:
        while page := await client.read_global_concurrency_limits(limit=200, offset=len(names)):
            names |= {limit.name for limit in page}
    return {name for name in names if name.startswith(f"{tag}-")}
