"""What a batch on a work pool says about the deployment it sends to, before sending anything.

A batch sends its chunks to the batch deployment ``FLOW-batch/NAME`` of the item deployment
``FLOW/NAME`` a generated flow module made (:mod:`irgraph.backends.prefect_batch`). Two
mistakes are told here, before any chunk is sent: a deployment name the server does not know
(:func:`missing_deployment` lists the item deployments on the pool, nearest first), and a
deployment of another version of the pipeline (:func:`check_deployed_pipeline`: the
generated module deploys its batch flow with its pipeline's digest as the default of the
``pipeline`` parameter). A deployment made before that default existed is still refused by
its flow, on the worker, once a chunk reaches it. A single ``run()`` of a backend given a
work pool runs in its own process, and :func:`warn_runs_here` says so, with how to use the pool.
"""

from __future__ import annotations

import warnings
from collections.abc import Collection
from typing import Any

from irgraph.errors import PipelineError, did_you_mean

__all__ = ["BATCH_SUFFIX", "missing_deployment", "check_deployed_pipeline", "warn_runs_here"]

#: What a generated module's batch flow adds to its item flow's name.
BATCH_SUFFIX = "-batch"


async def item_deployments(client: Any, pool: str) -> list[str]:
    """The item deployments (``FLOW/NAME``) on work pool ``pool`` that have their batch
    deployment beside them: what ``PrefectBackend(deployment=...)`` may name."""
    from prefect.client.schemas.filters import WorkPoolFilter, WorkPoolFilterName
    from prefect.client.schemas.sorting import DeploymentSort

    deployments = await client.read_deployments(
        work_pool_filter=WorkPoolFilter(name=WorkPoolFilterName(any_=[pool])),
        sort=DeploymentSort.NAME_ASC,  # explicit: newer FastAPI servers refuse the nulls
        limit=200,
    )
    flows: dict[Any, str] = {}
    names = set()
    for deployment in deployments:
        if deployment.flow_id not in flows:
            flows[deployment.flow_id] = (await client.read_flow(deployment.flow_id)).name
        names.add(f"{flows[deployment.flow_id]}/{deployment.name}")
    return sorted(
        name
        for name in names
        if not name.partition("/")[0].endswith(BATCH_SUFFIX) and _batch_name(name) in names
    )


def _batch_name(item: str) -> str:
    flow, _, name = item.partition("/")
    return f"{flow}{BATCH_SUFFIX}/{name}"


async def missing_deployment(client: Any, batch: str, item: str, pool: str) -> PipelineError:
    """The error for a batch deployment ``batch`` the server does not have: it names the
    item deployment ``item`` the batch was given, and lists those on ``pool``."""
    found = await item_deployments(client, pool)
    flow, _, name = item.partition("/")
    meant = f"{flow.removesuffix(BATCH_SUFFIX)}/{name}"
    if flow.endswith(BATCH_SUFFIX) and meant in found:
        return PipelineError(
            f"{item!r} is the batch flow's deployment of the item deployment {meant!r} on "
            f"work pool {pool!r}; a batch is given the item deployment, and sends its chunks "
            "to that one's batch flow.",
            hint=f"Give PrefectBackend(deployment={meant!r}) (irgraph batch: --deployment "
            f"{meant}).",
        )
    if found:
        listed = (
            f"{did_you_mean(item, found)} The item deployments on work pool {pool!r}: "
            f"{', '.join(found)}."
        )
    else:
        listed = f" Work pool {pool!r} has no deployment of a generated flow module yet."
    return PipelineError(
        f"The Prefect server has no deployment {batch!r}, the batch flow of the item "
        f"deployment {item!r} a batch on work pool {pool!r} sends its chunks to.{listed}",
        hint="Name one of those with PrefectBackend(deployment='FLOW/DEPLOYMENT') (irgraph "
        "batch: --deployment FLOW/DEPLOYMENT), or generate the flow module "
        "(generate_flow_code(compiled, PrefectWorkerConfig(flow_name=..., work_pool=...))) "
        "and deploy it with 'python flow.py'.",
    )


def check_deployed_pipeline(
    deployment: Any, name: str, digests: Collection[str], pipeline: str
) -> str | None:
    """Refuse a batch deployment ``name`` that runs another version of ``pipeline`` than the
    one ``digests`` name (its digest first, then the one an older irgraph made: a module that
    irgraph deployed carries that one); a deployment without a digest is checked by its flow,
    on the worker. Returns the digest the deployment knows the pipeline by, which every chunk
    is sent with (``None``: none, send the digest)."""
    deployed = (deployment.parameters or {}).get("pipeline")
    if not isinstance(deployed, str):
        return None
    if deployed not in digests:
        digest = next(iter(digests))
        raise PipelineError(
            f"The deployment {name!r} runs another version of pipeline {pipeline!r} (digest "
            f"{deployed}) than this one (digest {digest}): the pipeline changed since its "
            "flow module was generated and deployed, so no chunk is sent.",
            hint="Generate the flow module again from this pipeline and deploy it (python "
            "FLOW_FILE.py), then run the batch again.",
        )
    return deployed


def warn_runs_here(work_pool: str) -> None:
    """Warn that ``run()``/``arun()`` of a backend with a work pool run in this process: a
    user who gave the pool expects it to be used, and a run here pays for its model calls."""
    warnings.warn(
        f"PrefectBackend(work_pool={work_pool!r}) runs this pipeline here, in this process, "
        "not on the pool's workers: run() and arun() run where they are called. The pool "
        "takes batches (run_many(pipeline, states, backend=backend), or irgraph batch "
        f"--backend prefect --work-pool {work_pool}) and the deployments generate_flow_code "
        "writes. To run one state on the pool, use run_many(pipeline, [state], "
        "backend=backend); to run here without this warning, leave work_pool out.",
        UserWarning,
        stacklevel=2,
    )
