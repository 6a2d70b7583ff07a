"""A batch on a work pool tells deployment mistakes before sending anything: a deployment name
the server does not know lists the pool's deployments, and a deployment of another version of
the pipeline is refused (``irgraph batch``: exit 2). The generated module deploys its batch
flow with its pipeline's digest, and prints a run command that works as pasted.

Real parts: the suite's temporary Prefect server (an API server process on 127.0.0.1), a work
pool and deployments of this test's own, ``python flow.py`` and ``prefect deployment run``.
"""

from __future__ import annotations

import asyncio
import io
import json
import shlex
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest

from irgraph import Agent, PipelineError, arun_many
from irgraph.backends.prefect_backend import PrefectBackend
from irgraph.backends.prefect_worker import PrefectWorkerConfig, generate_flow_code
from irgraph.ir.json import pipeline_digest
from tests.support.prefect_children import child_env, shared_api_url
from tests.support.prefect_env import ensure_prefect_test_env

pytestmark = pytest.mark.prefect
ensure_prefect_test_env()

CHAIN = Agent("draft").instruct("Draft about {topic}.").writes("draft") >> Agent("final").instruct(
    "Finish {draft}."
).writes("final")
ITEMS = [{"topic": "owls"}]


def on_server(coroutine_function: Any) -> Any:
    """Run ``coroutine_function()`` with this process's Prefect client on the shared server."""
    from prefect.settings import PREFECT_API_URL, temporary_settings

    async def main() -> Any:
        with temporary_settings({PREFECT_API_URL: shared_api_url()}):
            return await coroutine_function()

    return asyncio.run(main())


def deployed(digest: str) -> tuple[str, str]:
    """A new work pool with an item deployment ``FLOW/nightly`` and its batch deployment, whose
    ``pipeline`` default is ``digest``; gives the pool and the item deployment's name."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import WorkPoolCreate

    flow = f"chain-{uuid.uuid4().hex[:6]}"

    async def deploy() -> None:
        async with get_client() as client:
            await client.create_work_pool(WorkPoolCreate(name=f"{flow}-pool", type="process"))
            for name, parameters in ((flow, {}), (f"{flow}-batch", {"pipeline": digest})):
                flow_id = await client.create_flow_from_name(name)
                await client.create_deployment(
                    flow_id, "nightly", work_pool_name=f"{flow}-pool", parameters=parameters
                )

    on_server(deploy)
    return f"{flow}-pool", f"{flow}/nightly"


def first_item(backend: PrefectBackend) -> Any:
    async def first() -> Any:
        async for item in arun_many(CHAIN, ITEMS, backend=backend):
            return item

    return on_server(first)


def test_a_misspelt_deployment_lists_the_pools_deployments_nearest_first():
    pool, item = deployed(pipeline_digest(CHAIN.to_ir()))
    with pytest.raises(PipelineError) as caught:
        first_item(PrefectBackend(work_pool=pool, deployment=item + "ly"))
    said = str(caught.value)
    assert f"the item deployment '{item}ly'" in said
    assert f"Did you mean '{item}'? The item deployments on work pool '{pool}': {item}." in said


def test_the_batch_deployment_given_for_the_item_one_names_the_item_one():
    """Deploying prints both names; giving the batch flow's one is the likely mistake."""
    pool, item = deployed(pipeline_digest(CHAIN.to_ir()))
    flow, _, name = item.partition("/")
    with pytest.raises(PipelineError) as caught:
        first_item(PrefectBackend(work_pool=pool, deployment=f"{flow}-batch/{name}"))
    said = str(caught.value)
    assert f"'{flow}-batch/{name}' is the batch flow's deployment of the item deployment" in said
    assert f"Give PrefectBackend(deployment='{item}') (irgraph batch: --deployment {item})" in said


def test_a_deployment_on_another_pool_names_the_pool_to_give():
    pool, item = deployed(pipeline_digest(CHAIN.to_ir()))
    with pytest.raises(PipelineError) as caught:
        first_item(PrefectBackend(work_pool="elsewhere", deployment=item))
    said = str(caught.value)
    assert f"runs on work pool '{pool}', not on 'elsewhere' as the backend says" in said
    assert f"Give PrefectBackend(work_pool='{pool}') (irgraph batch: --work-pool {pool})" in said


def test_a_pool_without_deployments_says_so():
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import WorkPoolCreate

    pool = f"empty-{uuid.uuid4().hex[:6]}"

    async def create() -> None:
        async with get_client() as client:
            await client.create_work_pool(WorkPoolCreate(name=pool, type="process"))

    on_server(create)
    with pytest.raises(PipelineError, match=f"Work pool '{pool}' has no deployment of a"):
        first_item(PrefectBackend(work_pool=pool, deployment="chain/nightly"))


def test_a_deployment_of_another_pipeline_version_is_refused_before_sending():
    pool, item = deployed("0123456789abcdef")
    with pytest.raises(PipelineError) as caught:
        first_item(PrefectBackend(work_pool=pool, deployment=item))
    said = str(caught.value)
    assert "(digest 0123456789abcdef) than this one" in said
    assert "the pipeline changed since its flow module was generated and deployed" in said


def test_irgraph_batch_exits_2_for_a_stale_deployment(tmp_path, monkeypatch, capsys):
    from prefect.settings import PREFECT_API_URL, temporary_settings

    from irgraph.cli import main

    pool, item = deployed("0123456789abcdef")
    monkeypatch.chdir(tmp_path)
    Path("in.jsonl").write_text(json.dumps(ITEMS[0]) + "\n")
    module = "tests.test_prefect_deployments:CHAIN"
    args = ["batch", module, "in.jsonl", "-o", "out.jsonl", "--backend", "prefect"]
    with temporary_settings({PREFECT_API_URL: shared_api_url()}):
        code = main([*args, "--work-pool", pool, "--deployment", item], out=io.StringIO())
    assert code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("irgraph: error: The deployment")
    assert "changed since its flow module was generated" in err[-1]


@pytest.mark.slow
def test_the_deployed_batch_flow_carries_its_digest_and_run_it_works_as_pasted(tmp_path):
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import WorkPoolCreate

    name = f"notes-{uuid.uuid4().hex[:6]}"
    pool = f"{name}-pool"

    async def create() -> None:
        async with get_client() as client:
            await client.create_work_pool(WorkPoolCreate(name=pool, type="process"))

    on_server(create)
    config = PrefectWorkerConfig(name, work_pool=pool)
    code = generate_flow_code(PrefectBackend().compile(CHAIN.to_ir()), config)
    (tmp_path / "notes_flow.py").write_text(code, encoding="utf-8")
    env = child_env(tmp_path / "home")
    out = subprocess.run(
        [sys.executable, "notes_flow.py"], capture_output=True, text=True, env=env, cwd=tmp_path
    )
    assert out.returncode == 0, out.stderr[-3000:]
    (run_it,) = [line for line in out.stdout.splitlines() if line.startswith("Run it: ")]
    command = shlex.split(run_it.removeprefix("Run it: "))
    assert command[:2] == ["prefect", "deployment"]
    pasted = subprocess.run(
        [sys.executable, "-m", "prefect", *command[1:]],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
    )
    assert pasted.returncode == 0, pasted.stdout[-2000:] + pasted.stderr[-2000:]

    async def read() -> tuple[Any, list[Any]]:
        from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterId
        from prefect.client.schemas.sorting import FlowRunSort

        async with get_client() as client:
            batch = await client.read_deployment_by_name(f"{name}-batch/{name}")
            item = await client.read_deployment_by_name(f"{name}/{name}")
            runs = await client.read_flow_runs(
                deployment_filter=DeploymentFilter(id=DeploymentFilterId(any_=[item.id])),
                sort=FlowRunSort.ID_DESC,
                limit=5,
            )
            return batch, runs

    batch, runs = on_server(read)
    assert batch.parameters == {"pipeline": pipeline_digest(CHAIN.to_ir())}
    assert [run.parameters for run in runs] == [{"state": {"topic": "..."}}]
