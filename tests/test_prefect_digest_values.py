"""A work pool's deployment check treated ``1`` and ``1.0`` in a pipeline as two versions: a
batch of ``.when(1)`` was refused by a deployment generated from ``.when(1.0)``, which a run
treats the same. Digests count numbers by value now, and the digest an earlier irgraph made
(the form as written) still names the pipeline: a deployment carrying it is used, sent the
digest it knows (its worker's module compares that one), and a new module takes an old
sender's digest. (An earlier irgraph's digest is of the pipeline as written: its deployment of
``.when(1.0)`` takes a batch of ``.when(1.0)``, not yet of ``.when(1)``.)

Real parts (the last test): the suite's temporary Prefect server and a deployment on it."""

from __future__ import annotations

import asyncio
import contextlib
import time
from types import SimpleNamespace
from typing import Any

import pytest

from irgraph import Agent, PipelineError, Route, arun_many
from irgraph.backends.prefect_backend import PrefectBackend
from irgraph.backends.prefect_chunks import check_pipeline
from irgraph.backends.prefect_deployments import check_deployed_pipeline
from irgraph.backends.prefect_worker import PrefectWorkerConfig, generate_flow_code
from irgraph.ir.json import pipeline_digest, pipeline_digests
from tests.test_prefect_worker import module_constants


def routed(value: Any) -> Any:
    return Agent("count").instruct("Count {topic}.").writes("n") >> Route("r").on("n").when(
        value, Agent("one").instruct("One {topic}.")
    ).otherwise(Agent("more").instruct("More {topic}."))


ONE, ONE_POINT_O = routed(1).to_ir(), routed(1.0).to_ir()
OLD = pipeline_digest(ONE_POINT_O, by_value=False)  # what an earlier irgraph deployed


def test_one_and_one_point_o_are_one_pipeline_and_the_old_digest_names_it():
    assert pipeline_digest(ONE) == pipeline_digest(ONE_POINT_O)
    assert OLD != pipeline_digest(ONE) and OLD in pipeline_digests(ONE_POINT_O)
    assert pipeline_digest(routed(True).to_ir()) != pipeline_digest(ONE)  # True is never 1


def digests(node: Any) -> tuple[str, str]:
    return pipeline_digest(node), pipeline_digest(node, by_value=False)


def test_the_deployment_check_takes_either_digest_and_gives_the_one_to_send():
    new = pipeline_digest(ONE_POINT_O)
    for deployed in (new, OLD):
        deployment = SimpleNamespace(parameters={"pipeline": deployed})
        assert check_deployed_pipeline(deployment, "f-batch/n", digests(ONE_POINT_O), "p") == (
            deployed
        )
    # An old deployment of .when(1) carries the digest of .when(1.0)'s new form, which is 1's.
    deployment = SimpleNamespace(parameters={"pipeline": new})
    assert check_deployed_pipeline(deployment, "f-batch/n", digests(ONE), "p") == new
    other = SimpleNamespace(parameters={"pipeline": pipeline_digest(routed(2).to_ir())})
    with pytest.raises(PipelineError, match="runs another version of pipeline 'p'"):
        check_deployed_pipeline(other, "f-batch/n", digests(ONE), "p")


def test_a_generated_module_takes_a_chunk_sent_with_either_digest():
    code = generate_flow_code(
        PrefectBackend().compile(ONE_POINT_O), PrefectWorkerConfig("routed", work_pool="p")
    )
    constants = module_constants(code)
    assert constants["PIPELINE_DIGEST"] == pipeline_digest(ONE)
    for sent in (pipeline_digest(ONE), OLD):  # this irgraph's sender, an earlier one's
        check_pipeline(sent, constants["PIPELINE_DIGEST"], "routed", constants["SAME_PIPELINE"])
    with pytest.raises(ValueError, match="another version of pipeline 'routed'"):
        check_pipeline("0123456789abcdef", constants["PIPELINE_DIGEST"], "routed")


@pytest.mark.prefect
@pytest.mark.filterwarnings("ignore:A batch on work pool .* without batch_key:UserWarning")
@pytest.mark.parametrize(
    ("made", "given"),
    [(lambda: pipeline_digest(ONE_POINT_O), 1), (lambda: OLD, 1.0)],
    ids=["when-1.0-deployed-when-1-sent", "an-earlier-irgraphs-deployment"],
)
def test_a_batch_is_sent_to_a_deployment_of_its_pipeline_with_the_digest_it_knows(made, given):
    from tests.support.prefect_env import ensure_prefect_test_env

    ensure_prefect_test_env()
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterId

    from tests.test_prefect_deployments import deployed, on_server

    pool, item = deployed(made())  # a deployment of .when(1.0), with no worker
    flow, _, name = item.partition("/")
    backend = PrefectBackend(work_pool=pool, deployment=item)

    async def sent() -> dict[str, Any]:
        async def batch() -> None:
            async for _ in arun_many(routed(given), [{"topic": "owls"}], backend=backend):
                pass

        running = asyncio.ensure_future(batch())
        try:
            async with get_client() as client:
                chunk = await client.read_deployment_by_name(f"{flow}-batch/{name}")
                only = DeploymentFilter(id=DeploymentFilterId(any_=[chunk.id]))
                deadline = time.monotonic() + 60
                while time.monotonic() < deadline and not running.done():
                    runs = await client.read_flow_runs(deployment_filter=only)
                    if runs:
                        return dict(runs[0].parameters)
                    await asyncio.sleep(0.2)
                running.result()  # raises the refusal, if it was one
                raise AssertionError("no chunk was sent")
        finally:
            running.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await running

    parameters = on_server(sent)
    assert parameters["pipeline"] == made()  # the digest its module compares chunks with
