"""A batch on a Prefect work pool, stopped: its chunks' processes end, nothing completed is lost.

Everything is real: the suite's temporary Prefect server, a process work pool of this module's
own, the generated flow module deployed with ``python flow.py``, and one ``prefect worker
start`` process whose flow runs call the model through :mod:`tests.support.counting_provider`
(every completed call written to one file). The worker's calls of the agent "check" for a
prompt with "slow" in it stall while a file exists, so a chunk holding such an item hangs in a
known place, paying nothing, until the test lets it go.

A stopped batch (``irgraph batch`` sent SIGTERM, as by Ctrl-C; a cancelled ``arun_many``) asks
the server to cancel its chunks' flow runs: the worker must then end the chunk's process (a
process left running would go on calling the model, unseen), a chunk that completed unseen
must be kept rather than cancelled, and running the batch again must pay for no call twice.

A chunk taken as lost (its heartbeat stopped: here its process blocks its own event loop, as
a worker only slow would) is set Cancelling before it is sent again, so that its worker ends
the process rather than let it go on calling the model beside the chunk sent again. A chunk
refused on its worker by a module an older irgraph deployed (no pipeline digest to check
before sending) says what to do once.
"""

from __future__ import annotations

import _thread
import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs
import pytest

from irgraph import Agent, PipelineError, arun_many, run_many
from irgraph.backends.prefect_backend import PrefectBackend
from irgraph.backends.prefect_worker import PrefectWorkerConfig, generate_flow_code
from irgraph.batch_stop import BatchStopped, Tally
from irgraph.batch_store import BatchStore
from tests.support.prefect_children import child_env, shared_api_url
from tests.support.work_pools import create_process_pool
from tests.test_prefect_batch_pool import calls, descendants
from tests.test_prefect_deploy import PREFECT, PROCESS_WORKER, Processes, check

# Batches here have no batch_key on purpose; the warning that says so is tested on its own.
pytestmark = [
    pytest.mark.prefect,
    pytest.mark.slow,
    pytest.mark.filterwarnings("ignore:A batch on work pool .* without batch_key:UserWarning"),
]

#: ``irgraph batch`` in a process of its own (as run from a shell; SIGTERM reaches it alone).
IRGRAPH_BATCH = [
    sys.executable,
    "-c",
    "import sys; from irgraph.cli import main; sys.exit(main())",
    "batch",
]

CHAIN = Agent("draft").instruct("Draft about {topic}.").writes("draft") >> Agent("check").instruct(
    "Check {draft}."
).writes("checked")


@attrs.frozen
class Pool:
    """The module's work pool, its deployed batch flow and its one worker."""

    backend: PrefectBackend
    worker: Any  # the worker's Popen
    log: Path  # the calls the worker's flow runs made
    stall: Path  # while it exists, "check" of a "slow" prompt stalls
    block: Path  # the first call with the text it holds blocks its process's event loop
    processes: Processes


@pytest.fixture(scope="module")
def pool(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pool]:
    here = tmp_path_factory.mktemp("pool-stop")
    source = here / "source"
    source.mkdir()
    name = f"irgraph-stop-{uuid.uuid4().hex[:8]}"  # the server is shared: a pool of our own
    env = child_env(here / "home")
    env["PREFECT_WORKER_QUERY_SECONDS"] = "1"
    env["IRGRAPH_TEST_CALL_LOG"] = str(here / "calls.log")
    env["IRGRAPH_TEST_STALL"] = "check"
    env["IRGRAPH_TEST_STALL_PROMPT"] = "slow"
    env["IRGRAPH_TEST_STALL_WHILE"] = str(here / "stall")
    env["IRGRAPH_TEST_BLOCK_ONCE"] = str(here / "block")
    env["IRGRAPH_TEST_FAIL_WHERE"] = "check:fails"
    backend = PrefectBackend(work_pool=name, deployment="chain/chain", chunk_size=2)
    config = PrefectWorkerConfig(
        "chain",
        work_pool=name,
        provider="tests.support.counting_provider:make",
        result_dir=str(here / "results"),
    )
    (source / "chain_flow.py").write_text(
        generate_flow_code(backend.compile(CHAIN.to_ir()), config), encoding="utf-8"
    )
    create_process_pool(name)
    deployed = check([sys.executable, "chain_flow.py"], env, source, "deploying", timeout=120)
    assert "Deployed chain-batch/chain" in deployed
    processes = Processes(here)
    try:
        worker = processes.start(
            "worker", [*PREFECT, "worker", "start", "--pool", name, *PROCESS_WORKER], env
        )
        yield Pool(backend, worker, here / "calls.log", here / "stall", here / "block", processes)
    finally:
        for pid in descendants(worker.pid):  # each flow run has a session of its own
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        processes.stop_all()


async def until(condition: Any, what: str, pool: Pool, seconds: float = 120) -> None:
    """Wait until ``condition()`` holds; fail naming ``what``, with the worker's log."""
    deadline = asyncio.get_running_loop().time() + seconds
    while not condition():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting until {what}\n{pool.processes.tail()}")
        await asyncio.sleep(0.2)


async def chunk_runs(token: str, pool: Pool) -> list[Any]:
    """The flow runs on ``pool`` of the chunks whose items' topics contain ``token``."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import WorkPoolFilter, WorkPoolFilterName

    named = WorkPoolFilter(name=WorkPoolFilterName(any_=[pool.backend.work_pool]))
    async with get_client() as client:  # the server is shared: only this pool's few runs
        runs = await client.read_flow_runs(work_pool_filter=named)
    return [
        run for run in runs if any(token in str(item) for item in run.parameters.get("items", []))
    ]


async def final_runs(token: str, count: int, pool: Pool) -> list[str]:
    """The final states of the ``count`` chunks with ``token``, once all have one."""
    states: list[str] = []

    async def ended() -> bool:
        runs = await chunk_runs(token, pool)
        states[:] = sorted(run.state.type.value for run in runs if run.state.is_final())
        return len(states) == count

    deadline = asyncio.get_running_loop().time() + 120
    while not await ended():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"{count} chunks did not end: {states}\n{pool.processes.tail()}")
        await asyncio.sleep(0.3)
    return states


def on_server(test: Any) -> Any:
    """Run the coroutine ``test()`` with this process's client on the workers' server."""
    from prefect.settings import PREFECT_API_URL, temporary_settings

    async def main() -> Any:
        with temporary_settings({PREFECT_API_URL: shared_api_url()}):
            return await asyncio.wait_for(test(), 400)

    return asyncio.run(main())


def paid(pool: Pool, token: str) -> Counter[tuple[str, str]]:
    """How often each (agent, prompt) of the items with ``token`` was paid for."""
    return Counter(
        (node, prompt)
        for what, _, node, prompt in calls(pool.log)
        if what == "done" and token in prompt
    )


def test_a_chunk_completed_but_not_yet_seen_when_the_batch_stops_is_kept(
    pool: Pool, tmp_path: Path
) -> None:
    token = uuid.uuid4().hex[:8]
    items = [{"topic": f"fast {number} {token}"} for number in range(2)]  # one chunk
    key = f"unseen-{token}"
    store = BatchStore(tmp_path, key, CHAIN.to_ir())
    runnable = pool.backend.compile(CHAIN.to_ir())
    # a batch that polls its chunks once an hour: its chunk completes unseen
    batch = attrs.evolve(runnable.remote_batch(store, 2, False, None), poll_interval=3600)

    async def stopped() -> tuple[Any, list[Any]]:
        tally = Tally()
        handed: list[Any] = []

        async def consume() -> None:
            async for item in tally.counted(batch.results(items), store):
                handed.append(item)

        consumer = asyncio.ensure_future(consume())
        ended = await final_runs(token, 1, pool)  # the chunk ended; the batch has not looked
        assert not consumer.done()
        consumer.cancel()
        with pytest.raises(asyncio.CancelledError) as info:
            await consumer
        after = await final_runs(token, 1, pool)
        return getattr(info.value, "partial", None), [handed, ended, after]

    partial, (handed, ended, after) = on_server(stopped)
    assert (
        isinstance(partial, BatchStopped) and handed == [] and ended == after == ["COMPLETED"]
    )  # not made Cancelled by the stop
    assert partial.handed == 0 and sorted(item.index for item in partial.results) == [0, 1]
    assert len(list((tmp_path / "items").glob("*.json"))) == 2  # kept, though never handed over

    async def resumed() -> list[Any]:
        return [
            item
            async for item in arun_many(
                CHAIN, items, backend=pool.backend, batch_key=key, store=tmp_path
            )
        ]

    again = on_server(resumed)
    assert all(item.ok and item.resumed for item in again) and len(again) == 2
    assert set(paid(pool, token).values()) == {1} and len(paid(pool, token)) == 2 * len(items)


def test_sigterm_to_irgraph_batch_ends_its_chunks_processes_and_the_same_command_resumes(
    pool: Pool, tmp_path: Path
) -> None:
    token = uuid.uuid4().hex[:8]
    (tmp_path / "chain.py").write_text(
        "from irgraph import Agent\n"
        'chain = Agent("draft").instruct("Draft about {topic}.").writes("draft") >> Agent(\n'
        '    "check").instruct("Check {draft}.").writes("checked")\n',
        encoding="utf-8",
    )
    # chunks: items 0 and 1, which complete; items 2 and 3, hanging in item 3 once 2 is done
    topics = [f"fast {number} {token}" for number in range(3)] + [f"slow 3 {token}"]
    (tmp_path / "in.jsonl").write_text("".join(json.dumps({"topic": t}) + "\n" for t in topics))
    env = child_env(tmp_path / "home")
    command = [
        *IRGRAPH_BATCH,
        "chain.py:chain",
        "in.jsonl",
        "-o",
        "out.jsonl",
        "--backend",
        "prefect",
        "--work-pool",
        pool.backend.work_pool,
        "--deployment",
        "chain/chain",
        "--chunk-size",
        "2",
        "--batch-key",
        f"cli-{token}",
    ]
    pool.stall.touch()
    out_file, err_file = tmp_path / "out.txt", tmp_path / "err.txt"  # files: never full
    with out_file.open("w") as stdout, err_file.open("w") as stderr:
        batch = subprocess.Popen(command, cwd=tmp_path, env=env, stdout=stdout, stderr=stderr)

    def stalled() -> bool:
        seen = paid(pool, token)
        slow = [what for what, _, _, prompt in calls(pool.log) if f"slow 3 {token}" in prompt]
        output = tmp_path / "out.jsonl"
        written = output.exists() and output.read_text(encoding="utf-8").count("\n") == 2
        fast = ("check", f"Check <draft: Draft about fast 2 {token}.>.") in seen
        return written and fast and "stall" in slow

    async def terminated() -> list[str]:
        await until(lambda: stalled() or batch.poll() is not None, "a stall", pool)
        batch.send_signal(signal.SIGTERM)
        await until(lambda: batch.poll() is not None, "irgraph batch ended", pool)
        # Prefect's worker ends a flow run's process when it sees the run Cancelling
        await until(lambda: not descendants(pool.worker.pid), "the chunk's process ended", pool)
        return await final_runs(token, 2, pool)

    try:
        runs = on_server(terminated)
    finally:
        if batch.poll() is None:
            batch.kill()
        batch.wait()
    out, err = out_file.read_text(), err_file.read_text()
    assert batch.returncode == 143, err
    assert out.startswith("Terminated (SIGTERM): 2 done, 0 failed, 0 resumed"), out
    assert "Re-run the same command to resume." in out
    assert runs == ["CANCELLED", "COMPLETED"]

    pool.stall.unlink()  # the slow item may go on now, on its chunk sent again
    again = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True)
    assert again.returncode == 0, again.stderr
    assert again.stdout.startswith("Finished: 2 done, 0 failed, 2 resumed"), again.stdout
    states = results(tmp_path)
    assert sorted(state["topic"] for state in states) == topics
    assert states[-1]["checked"] == f"<check: Check <draft: Draft about slow 3 {token}.>.>"
    # every agent of every item was paid for once: item 2's chunk was cancelled after it
    # completed there, and its answers came back from the cache under its run key
    assert set(paid(pool, token).values()) == {1} and len(paid(pool, token)) == 2 * len(topics)


def results(here: Path) -> list[dict[str, Any]]:
    """The final states in ``irgraph batch``'s results file, in the order of its lines."""
    lines = (here / "out.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line)["state"] for line in lines]


def test_a_lost_chunk_is_set_cancelling_so_its_slow_workers_process_ends_before_it_pays_twice(
    pool: Pool, tmp_path: Path
) -> None:
    token = uuid.uuid4().hex[:8]
    items = [{"topic": f"lost {token}"}]
    pool.block.write_text(f"Check <draft: Draft about lost {token}.>", encoding="utf-8")
    taken = Path(f"{pool.block}.taken")  # what the blocked call leaves: its process id
    # the blocked chunk is lost after 20 s; the one sent again beats every 3.3 s: a loaded
    # machine would have to hold it silent for 20 s, not 8, to have it taken as lost too
    backend = PrefectBackend(
        work_pool=pool.backend.work_pool, deployment="chain/chain", lost_after=20
    )

    async def lost() -> tuple[list[Any], list[str]]:
        results = [
            item
            async for item in arun_many(
                CHAIN, items, backend=backend, batch_key=f"lost-{token}", store=tmp_path
            )
        ]
        await until(lambda: taken.exists() and taken.read_text().isdigit(), "a block", pool)
        blocked = int(taken.read_text())
        # Prefect's worker ends a flow run's process when it sees the run Cancelling
        ended = lambda: blocked not in descendants(pool.worker.pid)  # noqa: E731
        await until(ended, "the lost chunk's blocked process ended", pool, seconds=60)
        return results, await final_runs(token, 2, pool)

    try:
        results, runs = on_server(lost)
    finally:
        taken.unlink(missing_ok=True)  # lets a blocked process go on, should the test fail
    assert [item.ok for item in results] == [True], results[0].error
    assert results[0].state["checked"] == f"<check: Check <draft: Draft about lost {token}.>.>"
    assert runs == ["CANCELLED", "COMPLETED"]
    # the draft the lost chunk finished came from the cache; its blocked check never completed
    assert paid(pool, token) == {
        ("draft", f"Draft about lost {token}."): 1,
        ("check", f"Check <draft: Draft about lost {token}.>."): 1,
    }


def test_a_chunk_refused_by_a_module_deployed_before_pipeline_digests_says_what_to_do_once(
    pool: Pool,
) -> None:
    from prefect.client.orchestration import get_client

    name = f"old-{uuid.uuid4().hex[:8]}"
    other = Agent("draft").instruct("Draft another way about {topic}.").writes("draft")

    async def refused() -> PipelineError:
        async with get_client() as client:
            # the deployment an older irgraph made: no pipeline digest as the default, so the
            # batch is sent, and the worker's module refuses the chunk
            deployed = await client.read_deployment_by_name("chain-batch/chain")
            await client.create_deployment(
                deployed.flow_id,
                name,
                work_pool_name=deployed.work_pool_name,
                path=deployed.path,
                entrypoint=deployed.entrypoint,
                pull_steps=deployed.pull_steps,
                parameter_openapi_schema=deployed.parameter_openapi_schema,
            )
        backend = PrefectBackend(work_pool=pool.backend.work_pool, deployment=f"chain/{name}")
        with pytest.raises(PipelineError) as info:
            async for _ in arun_many(other, [{"topic": "owls"}], backend=backend):
                pass
        return info.value

    said = str(on_server(refused))
    assert said.startswith(f"A worker of deployment 'chain-batch/{name}' refused a chunk"), said
    assert "runs another version of pipeline" in said, said
    assert said.count("deploy it again") == 1 and said.count("Regenerate") == 1, said


def test_ctrl_c_as_an_item_is_handed_over_keeps_the_items_its_chunk_completed_beside_it(
    pool: Pool,
) -> None:
    """Both items of one chunk arrive in one poll; a Ctrl-C as the first is handed over lists
    the second in the interrupt's record (it was dropped with the generator, so ``irgraph
    batch -o`` paid for it again on the next run).

    The Ctrl-C comes in the loop's body, as the first item is handed over: a Ctrl-C that
    comes while run_many waits for an item is noticed within a fifth of a second
    (``irgraph.thread_done``), before the chunk could come back."""
    from prefect.settings import PREFECT_API_URL, temporary_settings

    token = uuid.uuid4().hex[:8]
    items = [{"topic": f"slow {number} {token}"} for number in range(2)]  # one chunk

    def both_stalled() -> bool:
        return (
            sum(what == "stall" and token in prompt for what, _, _, prompt in calls(pool.log)) == 2
        )

    def release() -> None:
        deadline = time.monotonic() + 300
        while not both_stalled() and time.monotonic() < deadline:
            time.sleep(0.1)
        pool.stall.unlink()  # the chunk completes: both items come back in one poll

    pool.stall.touch()
    handed: list[int] = []
    helper = threading.Thread(target=release, daemon=True)
    try:
        with temporary_settings({PREFECT_API_URL: shared_api_url()}):
            with pytest.raises(KeyboardInterrupt) as stop:
                helper.start()
                # closing(): the generator is closed as the interrupt goes by, as irgraph
                # batch closes it, and gives the interrupt what completed beside the item.
                with contextlib.closing(run_many(CHAIN, items, backend=pool.backend)) as results:
                    for item in results:
                        handed.append(item.index)
                        _thread.interrupt_main()  # noticed before the next line
                        handed.append(-1)  # never reached
    finally:
        helper.join(timeout=310)
        pool.stall.unlink(missing_ok=True)
    assert len(handed) == 1, handed
    late = stop.value.partial.results  # type: ignore[attr-defined]
    assert all(item.ok for item in late), late
    assert sorted(handed + [item.index for item in late]) == [0, 1]
