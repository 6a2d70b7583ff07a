"""A batch on a Prefect work pool: chunks of items as flow runs, picked up by any worker.

``run_many(pipeline, states, backend=PrefectBackend(work_pool="pool"))`` comes here. The pool
runs the generated flow module (:func:`~irgraph.backends.prefect_worker.generate_flow_code`,
deployed with ``python flow.py``): each chunk of ``chunk_size`` items is a flow run of its
batch flow (``FLOW-batch/DEPLOYMENT``), which runs the items as subflows under run keys made
from the batch key and each item, and returns every item's final state or error through
Prefect's result storage (share ``result_dir`` between the machines).

This process only sends and watches (:mod:`irgraph.backends.prefect_sender`): a chunk whose
flow run crashed, was cancelled or went silent is sent again. Finished agents are not paid
twice: an item's agents are cached under its run key. With a ``batch_key`` the completed items
are kept in the batch store here, so running the batch again sends only the rest. A batch
started again after its sender was killed outright (a keyed one, or ``irgraph batch``'s with
the same results file) takes the answers of the chunks that sender left, and waits for those
still running rather than send their items again (:mod:`irgraph.backends.prefect_orphans`).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncGenerator, AsyncIterable, Iterable
from typing import Any

import attrs

from irgraph import checks
from irgraph.batch import BatchError, ItemResult
from irgraph.batch_stop import keep_late
from irgraph.batch_store import BatchStore
from irgraph.errors import IrgraphError, PipelineError
from irgraph.ir.json import pipeline_digest

from .prefect_deployments import check_deployed_pipeline, missing_deployment
from .prefect_orphans import sending_alone
from .prefect_runtime import is_prefect_name
from .prefect_sender import MAX_SENDS, STARTING, _Sender
from .prefect_server import check_prefect_api

__all__ = ["PoolBatch", "MAX_SENDS", "STARTING", "DEPLOYMENT_NAME", "CHUNK_SIZE"]

#: The rule for ``PrefectBackend(deployment=...)``: an item deployment's ``FLOW/DEPLOYMENT``.
DEPLOYMENT_NAME = checks.Check(
    "a deployment name 'FLOW/DEPLOYMENT' of two names Prefect accepts",
    lambda value: (
        isinstance(value, str)
        and value.count("/") == 1
        and all(is_prefect_name(part) for part in value.split("/"))
    ),
    hint="Use the name 'python flow.py' printed when it deployed, e.g. 'research/research'.",
)


#: The rule for ``PrefectBackend(chunk_size=...)``.
CHUNK_SIZE = attrs.evolve(
    checks.count(), hint="It is how many items of a batch one flow run on the pool takes."
)


@attrs.frozen
class PoolBatch:
    """Send a batch to a work pool in chunks and yield each item's result as it arrives."""

    runnable: Any  # a PrefectRunnable (whose module imports this one)
    store: BatchStore | None
    max_items: int
    fail_fast: bool
    max_concurrency: int | None = None
    poll_interval: float = 1.0
    #: Items a poll found completed, not handed over yet: a batch stopped while one of them
    #: is handed over (Ctrl-C) lists the rest in its record (``Tally.waiting``), not lost.
    waiting: list[ItemResult] = attrs.field(factory=list, eq=False, repr=False)

    @property
    def deployment(self) -> str:
        """The batch flow's deployment: ``FLOW-batch/DEPLOYMENT`` of the item deployment."""
        backend = self.runnable.backend
        named = backend.deployment or f"{self.runnable.flow_name}/{self.runnable.flow_name}"
        flow, _, deployment = named.partition("/")
        return f"{flow}-batch/{deployment}"

    async def results(
        self, states: Iterable[Any] | AsyncIterable[Any], clock: Any = None
    ) -> AsyncGenerator[ItemResult, None]:
        from prefect.client.orchestration import get_client

        pool = self.runnable.backend.work_pool
        _need_server(pool)
        await check_prefect_api(  # an unreachable server: one clear error, no traceback
            f"A batch on work pool {pool!r} needs the server its workers use: start it, or "
            "point PREFECT_API_URL at it."
        )
        async with get_client() as client:
            deployment_id, digest = await self._deployment_id(client)
            sender = _Sender(self, client, deployment_id, digest)
            if self.store is None and sender.unkeyed is None:
                _unnamed(pool)
            with sending_alone(self.store) as alone:
                if (alone or sender.unkeyed is not None) and sender.tag is not None:
                    await sender.take_left()  # chunks with the tag: a killed sender's
                if self.max_concurrency is not None:  # (None: the limits left stay for now)
                    await sender.limit_calls(self.max_concurrency)
                if clock is not None and clock.began is None:  # the items begin: timed from now
                    clock.began = time.monotonic()
                try:
                    async for item in sender.run(states):
                        if self.fail_fast and not item.ok:
                            raise BatchError(item) from item.error
                        yield item
                except (asyncio.CancelledError, KeyboardInterrupt) as stop:
                    keep_late(stop, await sender.stop())
                    raise
                finally:
                    await sender.stop()  # stopped already on a cancel: nothing left in flight
                    await sender.limit_calls(None)

    async def _deployment_id(self, client: Any) -> tuple[Any, str]:
        """The batch deployment's id, and the digest its chunks are sent with: the one the
        deployment knows this pipeline by (an older irgraph's, for a module it deployed)."""
        from prefect.exceptions import ObjectNotFound

        name = self.deployment
        pool = self.runnable.backend.work_pool
        try:
            deployment = await client.read_deployment_by_name(name)
        except ObjectNotFound:
            flow = self.runnable.flow_name
            item = self.runnable.backend.deployment or f"{flow}/{flow}"
            raise await missing_deployment(client, name, item, pool) from None
        if deployment.work_pool_name != pool:
            raise PipelineError(
                f"The deployment {name!r} runs on work pool {deployment.work_pool_name!r}, "
                f"not on {pool!r} as the backend says.",
                hint=f"Give PrefectBackend(work_pool={deployment.work_pool_name!r}) (irgraph "
                f"batch: --work-pool {deployment.work_pool_name}), or deploy the flow module "
                f"to {pool!r}.",
            )
        graph, node = self.runnable.graph, self.runnable.node
        digests = (pipeline_digest(node), pipeline_digest(node, by_value=False))
        named = graph.graph.get("name", node.name)
        return deployment.id, check_deployed_pipeline(deployment, name, digests, named) or digests[
            0
        ]


def _need_server(pool: str | None) -> None:
    from prefect.settings import PREFECT_API_URL

    if not PREFECT_API_URL.value():
        raise IrgraphError(
            f"A batch on work pool {pool!r} needs the Prefect server its workers use, but "
            "PREFECT_API_URL is not set (a temporary local server has no workers). Set "
            "PREFECT_API_URL to that server's API, e.g. http://127.0.0.1:4200/api."
        )


def _unnamed(pool: str | None) -> None:
    """Say that a batch on ``pool`` without a ``batch_key`` cannot be taken over after its
    process is killed outright (once per pool: the warning's text names it)."""
    from irgraph.state_keys import warn_user

    warn_user(
        f"A batch on work pool {pool!r} without batch_key has no name that outlives this "
        "process: killed outright (kill -9, its machine lost), it leaves its chunks running "
        "on the workers unseen, and run again it sends every item anew (paying for the model "
        "calls under way twice). Give run_many a batch_key (e.g. batch_key='evals-v1') to "
        "make the batch resumable and its chunks taken over by the next run."
    )
