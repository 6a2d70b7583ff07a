"""Batches on Prefect in this process, and what a batch on a work pool refuses up front.

The two-worker run on a real work pool is :mod:`tests.test_prefect_batch_pool`.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from irgraph import Agent, Gate, IrgraphError, PipelineError, arun_many, run_many
from irgraph.backends.prefect_backend import PrefectBackend
from irgraph.backends.prefect_server import STARTING
from irgraph.backends.prefect_worker import PrefectWorkerConfig, generate_flow_code
from irgraph.ir.json import pipeline_digest
from irgraph.providers import ModelRequest
from irgraph.testing import FakeProvider
from tests.support.prefect_children import shared_api_url
from tests.support.prefect_env import ensure_prefect_test_env
from tests.test_prefect_generated_tasks import load

pytestmark = pytest.mark.prefect
ensure_prefect_test_env()

CHAIN = (
    Agent("draft").instruct("Draft about {topic}.").writes("draft")
    >> (
        Agent("facts").instruct("Facts in {draft}.").writes("facts")
        | Agent("tone").instruct("Tone of {draft}.").writes("tone")
    )
    >> Agent("final").instruct("Finish {facts} {tone}.").writes("final")
)
ITEMS = [{"topic": f"topic {number}"} for number in range(6)]


class Counted(FakeProvider):
    """The fake model, counting completed calls; with ``hang_after`` calls answered, every
    later call hangs (counted in ``hanging``) until cancelled."""

    def __init__(self, hang_after: int | None = None) -> None:
        super().__init__()
        self.answered: Counter[tuple[str, str]] = Counter()
        self.hanging = 0
        self.hang_after = hang_after

    async def complete(self, request: ModelRequest) -> str:
        if self.hang_after is not None and sum(self.answered.values()) >= self.hang_after:
            self.hanging += 1
            await asyncio.Event().wait()
        answer = await super().complete(request)
        self.answered[(request.node, request.prompt)] += 1
        return answer


class RealModel:
    """A provider that does not make its answers up (no ``made_up_answers``)."""

    async def complete(self, request: ModelRequest) -> str:
        return f"real answer to {request.prompt}"


def test_a_real_keyed_prefect_batch_asks_the_gates_a_made_up_one_answered(tmp_path):
    """A FakeProvider batch is tried first, its gates waved through; a real provider's batch
    under the same batch key runs its items again (they were made up) and must ask their gates
    again, not get the dry run's answers back from Prefect's gate cache (the batch's run key
    for made-up items is its own: the gates' cache keys are the run key's)."""
    gated = Agent("draft").instruct("Draft about {topic}.").writes("draft") >> Gate(
        "publish", "Publish about {topic}?"
    ).writes("verdict")
    asked: list[str] = []

    def answering(answer: str) -> Any:
        def on_gate(request: Any) -> str:
            asked.append(answer)
            return answer

        return on_gate

    options: dict[str, Any] = {
        "backend": "prefect",
        "batch_key": f"gates-{uuid.uuid4().hex[:8]}",
        "store": tmp_path,
    }
    items = ITEMS[:2]
    tried = list(
        run_many(gated, items, provider=FakeProvider(), on_gate=answering("yes"), **options)
    )
    assert [item.state["verdict"] for item in tried if item.state] == ["yes", "yes"]
    real = list(run_many(gated, items, provider=RealModel(), on_gate=answering("no"), **options))
    assert not any(item.resumed for item in real)
    assert [item.state["verdict"] for item in real if item.state] == ["no", "no"]
    assert asked == ["yes", "yes", "no", "no"]


def test_a_prefect_batch_gives_what_an_asyncio_batch_gives():
    on_asyncio = {
        item.index: item.state for item in run_many(CHAIN, ITEMS, provider=FakeProvider())
    }
    fake = FakeProvider(latency=0.02)
    on_prefect = list(run_many(CHAIN, ITEMS, backend="prefect", provider=fake, max_concurrency=3))
    assert all(item.ok for item in on_prefect)
    assert {item.index: item.state for item in on_prefect} == on_asyncio
    assert fake.max_in_flight <= 3  # one limit for the model calls of all items together


def test_a_keyed_prefect_batch_resumes_without_asking_a_finished_agent_again(tmp_path):
    """Interrupted when every item in flight waits inside a model call (so each finished
    agent's answer is already stored by Prefect), then run to the end: the calls of both runs
    together are exactly those of one uninterrupted batch."""
    whole = Counted()
    assert all(item.ok for item in run_many(CHAIN, ITEMS, provider=whole, max_items=2))

    key = f"resume-{uuid.uuid4().hex[:8]}"
    options: dict[str, Any] = {"batch_key": key, "store": tmp_path, "max_items": 2}
    first = Counted(hang_after=7)

    async def interrupted() -> list[Any]:
        done: list[Any] = []

        async def consume() -> None:
            async for item in arun_many(CHAIN, ITEMS, backend="prefect", provider=first, **options):
                done.append(item)

        consumer = asyncio.ensure_future(consume())
        while first.hanging < 2:  # both items in flight wait in a call
            await asyncio.sleep(0.05)
        consumer.cancel()  # as Ctrl-C does
        with pytest.raises(asyncio.CancelledError):
            await consumer
        return done

    done = asyncio.run(interrupted())
    assert 0 < sum(first.answered.values()) == 7
    second = Counted()
    rest = list(run_many(CHAIN, ITEMS, backend="prefect", provider=second, **options))
    assert all(item.ok for item in rest) and len(rest) == len(ITEMS)
    assert sorted(item.index for item in rest if item.resumed) == sorted(i.index for i in done)
    assert first.answered + second.answered == whole.answered


# A batch on a work pool: refused before anything is sent ----------------------------------


def pool_backend(**options: Any) -> PrefectBackend:
    return PrefectBackend(work_pool=f"pool-{uuid.uuid4().hex[:6]}", **options)


@pytest.mark.parametrize(
    ("options", "words"),
    [
        ({"provider": FakeProvider()}, "where provider cannot reach"),
        ({"timeout": 5}, "where timeout cannot reach"),
    ],
)
def test_a_pool_batch_refuses_what_cannot_reach_the_workers(options, words):
    with pytest.raises(PipelineError, match=words):
        arun_many(CHAIN, ITEMS, backend=pool_backend(), **options)


@pytest.mark.parametrize(
    ("options", "words"),
    [
        ({"deployment": "chain"}, "a deployment name 'FLOW/DEPLOYMENT'"),
        ({"deployment": "a/b/c"}, "a deployment name 'FLOW/DEPLOYMENT'"),
        ({"chunk_size": 0}, "chunk_size must be a whole number of at least 1"),
        ({"lost_after": -1}, "lost_after must be"),
    ],
)
def test_pool_settings_are_checked_when_the_backend_is_made(options, words):
    with pytest.raises(IrgraphError, match=words):
        pool_backend(**options)


def collect(backend: PrefectBackend, api_url: str | None) -> list[Any]:
    from prefect.settings import PREFECT_API_URL, temporary_settings

    async def main() -> list[Any]:
        with temporary_settings({PREFECT_API_URL: api_url}):
            return [item async for item in arun_many(CHAIN, ITEMS, backend=backend)]

    return asyncio.run(main())


def test_a_pool_batch_needs_the_server_its_workers_use():
    with pytest.raises(IrgraphError, match="PREFECT_API_URL is not set"):
        collect(pool_backend(), None)


def test_a_pool_batch_says_when_its_server_does_not_answer():
    from irgraph.backends.prefect_backend import PrefectUnavailableError

    with pytest.raises(PrefectUnavailableError, match="needs the server its workers use"):
        collect(pool_backend(), "http://127.0.0.1:9/api")  # the discard port: nobody there


def test_a_pool_batch_names_the_deployment_it_cannot_find():
    backend = pool_backend(deployment="nowhere/nightly")
    with pytest.raises(PipelineError, match="no deployment 'nowhere-batch/nightly'") as caught:
        collect(backend, shared_api_url())
    assert "python flow.py" in str(caught.value)


def test_a_pool_batch_refuses_a_deployment_on_another_pool():
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import WorkPoolCreate

    name = f"elsewhere-{uuid.uuid4().hex[:6]}"

    async def deploy() -> None:
        from prefect.settings import PREFECT_API_URL, temporary_settings

        with temporary_settings({PREFECT_API_URL: shared_api_url()}):
            async with get_client() as client:
                flow_id = await client.create_flow_from_name(f"{name}-batch")
                pool = WorkPoolCreate(name=f"{name}-pool", type="process")
                await client.create_work_pool(pool)
                await client.create_deployment(flow_id, name, work_pool_name=f"{name}-pool")

    asyncio.run(deploy())
    with pytest.raises(PipelineError, match=f"runs on work pool '{name}-pool'"):
        collect(pool_backend(deployment=f"{name}/{name}"), shared_api_url())


def test_a_deployment_of_another_pipeline_version_refuses_the_chunk(tmp_path: Path):
    code = generate_flow_code(
        PrefectBackend().compile(CHAIN.to_ir()), PrefectWorkerConfig("chain", "pool")
    )
    module = load(code, tmp_path)
    items = [{"index": 0, "state": ITEMS[0], "run_key": "k"}]
    answers = asyncio.run(module.chain_flow_batch(items, pipeline_digest(CHAIN.to_ir())))
    assert answers == [{"index": 0, "state": run_many_state(ITEMS[0])}]
    other = (Agent("draft").instruct("Another draft of {topic}.").writes("final")).to_ir()
    with pytest.raises(ValueError, match="another version of pipeline") as caught:
        asyncio.run(module.chain_flow_batch(items, pipeline_digest(other)))
    assert "deploy it again" in str(caught.value)


def run_many_state(state: dict[str, Any]) -> dict[str, Any]:
    (item,) = run_many(CHAIN, [state], provider=FakeProvider())
    assert item.state is not None
    return item.state


def test_the_batch_command_runs_on_prefect_and_resumes(tmp_path, monkeypatch):
    import io
    import json

    from irgraph.cli import main

    monkeypatch.chdir(tmp_path)
    Path("in.jsonl").write_text("".join(json.dumps({"topic": t}) + "\n" for t in "abc"))
    target = "irgraph.demo:research_pipeline"

    def batch(*more: str) -> dict[int, Any]:
        assert main(["batch", target, "in.jsonl", "-o", "out.jsonl", *more], io.StringIO()) == 0
        lines = [json.loads(line) for line in Path("out.jsonl").read_text().splitlines()]
        return {line["index"]: line["state"] for line in lines}

    on_asyncio = batch()
    Path("out.jsonl").unlink()
    assert batch("--backend", "prefect", "--batch-key", "cli-prefect") == on_asyncio
    out = io.StringIO()
    argv = ["batch", target, "in.jsonl", "-o", "out.jsonl", "--backend", "prefect"]
    assert main(argv, out) == 0
    assert "3 resumed" in out.getvalue()


def test_a_chunk_holds_its_model_calls_to_the_batch_call_limit(tmp_path, monkeypatch):
    """A pool batch with max_concurrency makes a Prefect global concurrency limit and every
    chunk's model calls hold a slot of it; here, one chunk of six items (up to twelve calls
    at once without the limit) on a limit of two."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import GlobalConcurrencyLimitCreate

    from tests.support import counting_provider

    monkeypatch.setenv("IRGRAPH_TEST_CALL_LOG", str(tmp_path / "calls.log"))
    spec = "tests.support.counting_provider:make"
    code = generate_flow_code(
        PrefectBackend().compile(CHAIN.to_ir()), PrefectWorkerConfig("lim", "pool", provider=spec)
    )
    module = load(code, tmp_path)
    name = f"limit-{uuid.uuid4().hex[:8]}"
    items = [{"index": i, "state": s, "run_key": f"{name}-{i}"} for i, s in enumerate(ITEMS)]

    async def main() -> list[dict[str, Any]]:
        async with get_client() as client:
            await client.create_global_concurrency_limit(
                GlobalConcurrencyLimitCreate(name=name, limit=2)
            )
        return await module.lim_flow_batch(items, None, 5.0, name)

    counting_provider.IN_FLIGHT["most"] = 0
    answers = asyncio.run(main())
    assert [answer["state"] for answer in answers] == [run_many_state(s) for s in ITEMS]
    assert len((tmp_path / "calls.log").read_text().splitlines()) == 4 * len(ITEMS)
    assert 1 <= counting_provider.IN_FLIGHT["most"] <= 2


def test_the_batch_command_on_prefect_tells_a_failure_in_one_line_not_prefects_log(tmp_path):
    """Prefect's console log (a line per flow and task run, a traceback per failure) filled
    standard error; the command tells its progress and failures itself."""
    import json
    import os
    import subprocess
    import sys

    (tmp_path / "prefect_quiet_pipeline.py").write_text(
        "from irgraph import Agent, Transform\n"
        "def check(topic):\n"
        "    if topic == 'b':\n"
        "        raise ValueError('planted')\n"
        "    return topic\n"
        "pipeline = Agent('r').instruct('{topic}').writes('f') >> Transform('c', check)"
        ".reads('topic').writes('ok')\n"
    )
    (tmp_path / "in.jsonl").write_text("".join(json.dumps({"topic": t}) + "\n" for t in "ab"))
    env = {k: v for k, v in os.environ.items() if k != "PREFECT_LOGGING_LEVEL"}
    cli = "import sys; from irgraph.cli import main; sys.exit(main(sys.argv[1:]))"
    argv = ["batch", "prefect_quiet_pipeline:pipeline", "in.jsonl", "-o", "out.jsonl"]
    done = subprocess.run(
        [sys.executable, "-c", cli, *argv, "--backend", "prefect"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 1, done.stdout + done.stderr
    assert "1 done, 1 failed" in done.stdout
    told = [line for line in done.stderr.splitlines() if line.startswith("irgraph: ")]
    assert told == [
        f"irgraph: {STARTING}",  # before any item: the pause it makes is explained
        "irgraph: item 1 (in.jsonl:2) failed: RunError: Node 'c' failed: ValueError: planted "
        "(raised in check, prefect_quiet_pipeline.py line 4).",
        "irgraph: 1 item failed: item 1 (in.jsonl:2), with its error on its line in "
        "'out.jsonl'; fix the cause and run the same command again: only the failed items run "
        "again, the completed ones are kept.",  # the batch's last word
    ]
    assert "Traceback" not in done.stderr and "Flow run" not in done.stderr
    assert " | WARNING " not in done.stderr  # its services' own log, at shutdown too


@pytest.mark.parametrize("why", ["it crashed: worker gone.", "it crashed: worker gone"])
def test_a_failed_chunks_items_say_why_in_one_sentence(why: str) -> None:
    from irgraph.backends.prefect_chunk_errors import did_not_run

    (item,) = did_not_run([(3, {"topic": "owls"}, "k3")], why)
    assert str(item.error).startswith("Item 3 did not run: it crashed: worker gone.")
    assert ".." not in str(item.error)
