"""A batch on a Prefect work pool: two real process workers, one killed mid-batch.

Everything is real: the suite's temporary Prefect server (an API server process on
127.0.0.1), a process work pool of this test's own, the generated flow module deployed with
``python flow.py``, and two ``prefect worker start`` processes whose flow runs call the model
through :mod:`tests.support.counting_provider`, which writes every completed call to one file.

Worker A starts alone and gets stuck in a known place: its flow runs finish the first agent of
each item, then hang in the second. Once all of A's items hang there, A's whole process group
is SIGKILLed (a machine gone: no crash report reaches the server) and worker B starts. The
batch notices A's chunks went silent, sends them again, and B completes them, reusing the
first agents A finished (cached under each item's run key in the shared result directory).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from irgraph import Agent, arun_many
from irgraph.backends.prefect_backend import PrefectBackend
from irgraph.backends.prefect_worker import PrefectWorkerConfig, generate_flow_code
from tests.support.prefect_children import child_env, shared_api_url
from tests.support.work_pools import create_process_pool
from tests.test_prefect_deploy import PREFECT, PROCESS_WORKER, Processes, check
from tests.test_prefect_worker import asyncio_state

pytestmark = [pytest.mark.prefect, pytest.mark.slow]

CHAIN = (
    Agent("draft").instruct("Draft about {topic}.").writes("draft")
    >> Agent("check").instruct("Check {draft}.").writes("checked")
    >> Agent("final").instruct("Finish {checked}.").writes("final")
)
ITEMS = [{"topic": f"topic {number}"} for number in range(24)]  # A hangs in 16, B runs all
CHUNK = 8
IN_FLIGHT = 16  # two chunks: worker A takes both and hangs in them


def calls(log: Path) -> list[tuple[str, str, str, str]]:
    if not log.exists():
        return []
    lines = log.read_text(encoding="utf-8").splitlines()
    return [tuple(line.split("\t", 3)) for line in lines]  # type: ignore[misc]


@pytest.fixture
def workers(tmp_path: Path) -> Iterator[Processes]:
    """Background processes, stopped with every flow run they started (each flow run of a
    process worker has a session of its own, so stopping the worker's group misses them)."""
    running = Processes(tmp_path)
    try:
        yield running
    finally:
        for process, _, _ in running.running:
            for pid in descendants(process.pid):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
        running.stop_all()


def descendants(pid: int) -> list[int]:
    """The processes below ``pid`` (from /proc), children first."""
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, ValueError, IndexError):
                stat = (entry / "stat").read_text()
                parent = int(stat.rsplit(")", 1)[1].split()[1])
                parents.setdefault(parent, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        children = parents.get(todo.pop(), [])
        found += children
        todo += children
    return found


def wait_for(condition, seconds: float, what: str, processes: Processes) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting until {what}\n{processes.tail()}")
        time.sleep(0.2)


def test_a_batch_spreads_over_two_workers_and_survives_one_killed(tmp_path, workers):
    home = tmp_path / "home"
    source = tmp_path / "source"
    source.mkdir()
    log = tmp_path / "calls.log"
    pool = f"irgraph-batch-{uuid.uuid4().hex[:8]}"  # the server is shared: a pool of our own
    env = child_env(home)
    env["PREFECT_WORKER_QUERY_SECONDS"] = "1"
    env["IRGRAPH_TEST_CALL_LOG"] = str(log)
    backend = PrefectBackend(
        work_pool=pool, deployment="chain/chain", chunk_size=CHUNK, lost_after=15
    )
    config = PrefectWorkerConfig(
        "chain",
        work_pool=pool,
        provider="tests.support.counting_provider:make",
        result_dir=str(tmp_path / "results"),  # shared by both workers, as on a shared disk
    )
    (source / "chain_flow.py").write_text(
        generate_flow_code(backend.compile(CHAIN.to_ir()), config), encoding="utf-8"
    )
    # Two chunks at a time, the two A takes: B gets the ones sent again while A's are still
    # Cancelling, which holds no slot of a pool or its queues (a worker's scheduler counts
    # only Pending and Running runs), so irgraph need not force them to an end.
    create_process_pool(pool, limit=IN_FLIGHT // CHUNK)
    deployed = check([sys.executable, "chain_flow.py"], env, source, "deploying", timeout=120)
    assert "Deployed chain-batch/chain" in deployed

    worker = [*PREFECT, "worker", "start", "--pool", pool, *PROCESS_WORKER]
    worker_a = workers.start(
        "worker-a", worker, {**env, "IRGRAPH_TEST_WORKER": "A", "IRGRAPH_TEST_STALL": "check"}
    )

    def a_hangs_in_all_its_items() -> bool:
        seen = Counter((what, who, node) for what, who, node, _ in calls(log))
        started = seen[("done", "A", "draft")]
        return started == IN_FLIGHT and seen[("stall", "A", "check")] == started

    def kill_a_then_start_b() -> None:
        wait_for(a_hangs_in_all_its_items, 150, "worker A hangs in all its items", workers)
        # the worker and its flow runs at once (each flow run has a session of its own)
        for pid in [worker_a.pid, *descendants(worker_a.pid)]:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        workers.start("worker-b", worker, {**env, "IRGRAPH_TEST_WORKER": "B"})

    async def batch() -> list:
        from prefect.settings import PREFECT_API_URL, temporary_settings

        with temporary_settings({PREFECT_API_URL: shared_api_url()}):
            killer = asyncio.get_running_loop().run_in_executor(None, kill_a_then_start_b)
            results = [
                item
                async for item in arun_many(
                    CHAIN,
                    ITEMS,
                    backend=backend,
                    batch_key=f"pool-{pool}",
                    store=tmp_path / "store",
                    max_items=IN_FLIGHT,
                )
            ]
            await killer
            return results, await cancelling()

    async def cancelling() -> int:
        """How many flow runs of the pool are still Cancelling (A's, sent again)."""
        from prefect import get_client
        from prefect.client.schemas.filters import (
            FlowRunFilter,
            FlowRunFilterState,
            FlowRunFilterStateType,
            WorkPoolFilter,
            WorkPoolFilterName,
        )

        state = FlowRunFilterState(type=FlowRunFilterStateType(any_=["CANCELLING"]))
        async with get_client() as client:
            runs = await client.read_flow_runs(
                flow_run_filter=FlowRunFilter(state=state),
                work_pool_filter=WorkPoolFilter(name=WorkPoolFilterName(any_=[pool])),
            )
        return len(runs)

    try:
        results, still_cancelling = asyncio.run(asyncio.wait_for(batch(), 400))
    except (AssertionError, TimeoutError) as error:
        raise AssertionError(f"{error}\n{workers.tail()}") from None

    failed = [item for item in results if not item.ok]
    assert not failed, failed[0].error
    assert sorted(item.index for item in results) == list(range(len(ITEMS)))
    for item in results:
        assert json.loads(json.dumps(item.state)) == asyncio_state(CHAIN, ITEMS[item.index])

    done = [(who, node, prompt) for what, who, node, prompt in calls(log) if what == "done"]
    # every agent of every item completed exactly once, on one worker or the other
    assert Counter((node, prompt) for _, node, prompt in done).most_common(1)[0][1] == 1
    assert len(done) == 3 * len(ITEMS)
    by_worker = Counter(who for who, _, _ in done)
    # A finished the drafts of its items and nothing else; B finished those items from there
    # (their drafts came from the cache) and did every other item whole
    assert by_worker["A"] == IN_FLIGHT and by_worker["B"] == 3 * len(ITEMS) - IN_FLIGHT
    assert {node for who, node, _ in done if who == "A"} == {"draft"}
    assert still_cancelling == IN_FLIGHT // CHUNK  # A's, all along: they held no pool slot
