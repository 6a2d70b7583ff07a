"""A batch on a Prefect work pool: chunks of items as flow runs, picked up by any worker.

``run_many(pipeline, states, backend=PrefectBackend(work_pool="pool"))`` comes here. The pool
runs the generated flow module (:func:`~irgraph.backends.prefect_worker.generate_flow_code`,
deployed with ``python flow.py``): each chunk of ``chunk_size`` items is a flow run of its
batch flow (``FLOW-batch/DEPLOYMENT``), which runs the items as subflows under run keys made
from the batch key and each item, and returns every item's final state or error through
Prefect's result storage (share ``result_dir`` between the machines).

This process only sends and watches: it polls the chunks' flow runs. A chunk whose flow run
crashed or was cancelled is sent again; so is one whose worker vanished (a killed process
group, a machine gone), told apart from a slow one by the heartbeat label the batch flow
keeps changing (:mod:`irgraph.backends.prefect_chunks`): when neither the run's state nor its
heartbeat has changed for ``lost_after`` seconds of this process's clock (five times that
while its process is still starting), the run is set Cancelling and its items sent again: a
worker that was only slow (its event loop blocked, say) then ends the run's process, which
would otherwise go on calling the model beside the chunk sent again (no worker acts on a run
forced Crashed); a gone worker's run stays Cancelling until the server's cancellation cleanup
marks it Cancelled. It is not forced to an end when the chunk sent again starts: Cancelling
holds no slot of the pool's or its queues' concurrency limits (Prefect 3 workers' scheduler
counts Pending and Running runs only), and a slow worker that missed the Cancelling event
finds the run by polling for Cancelling runs, so a run forced Cancelled would keep its process
calling the model. Finished agents are not paid twice: an item's agents are cached under its
run key. With a ``batch_key`` the completed items are kept in the batch store here, so
running the batch again sends only the rest. A stopped batch sets its chunks' flow runs
Cancelling too; a chunk that completed unseen is kept, not cancelled. A keyed batch started
again after its sender was killed outright first cancels the chunks that sender left running
(:mod:`irgraph.backends.prefect_orphans`).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncGenerator, AsyncIterable, Iterable
from typing import Any

import attrs

from irgraph import checks
from irgraph.batch import BatchError, ItemResult, pull_states
from irgraph.batch_items import not_a_state
from irgraph.batch_stop import keep_late, states_failed
from irgraph.batch_store import BatchStore
from irgraph.errors import IrgraphError, PipelineError, RunError
from irgraph.events import RunResult
from irgraph.ir.json import pipeline_digest
from irgraph.validate import initial_state, required_inputs

from .prefect_chunks import HEARTBEAT_LABEL
from .prefect_deployments import check_deployed_pipeline, missing_deployment
from .prefect_orphans import batch_tag, cancel_orphans, sending_alone
from .prefect_runtime import is_prefect_name
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


# Without batch_key every item still needs a run key (and must be JSON, to be sent): a fresh
# batch key per process keeps runs of separate batches apart.
_UNKEYED = BatchStore(".", f"unkeyed-{uuid.uuid4().hex}")

#: How many times ``lost_after`` a chunk may take to start running once a worker took it.
STARTING = 5

#: How often one chunk is sent before its items are reported as failed.
MAX_SENDS = 3


@attrs.define
class _Chunk:
    """Items sent together as one flow run, and what this process has seen of it."""

    items: list[tuple[int, Any, str]]  # (index, state, item key)
    sends: int = 0
    seen: tuple[Any, ...] = ()
    changed: float = 0.0


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
        self, states: Iterable[Any] | AsyncIterable[Any]
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
            with sending_alone(self.store) as alone:
                if alone and sender.tag is not None:  # chunks still going: a killed sender's
                    await cancel_orphans(client, deployment_id, sender.tag)
                await sender.limit_calls(self.max_concurrency)
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


class _Sender:
    """The chunks of one batch in flight: sending, polling, sending again, cancelling."""

    def __init__(self, batch: PoolBatch, client: Any, deployment_id: Any, digest: str) -> None:
        self.batch = batch
        self.client = client
        self.deployment_id = deployment_id
        backend = batch.runnable.backend
        self.chunk_size: int = backend.chunk_size
        self.lost_after: float = backend.lost_after
        self.digest = digest  # of the pipeline, as the deployment knows it
        self.in_flight: dict[Any, _Chunk] = {}
        self.call_limit: str | None = None
        self.tag = batch_tag(batch.store)  # on each chunk: the batch's, when it has a key
        self.needs = required_inputs(batch.runnable.graph)  # what each item must give

    async def limit_calls(self, limit: int | None) -> None:
        """Make (``limit``) or drop (``None``) the Prefect global concurrency limit every
        chunk's model calls hold a slot of: one bound for the batch, across machines."""
        from prefect.client.schemas.actions import GlobalConcurrencyLimitCreate

        if limit is not None:
            named = self.tag or "irgraph-batch"  # a keyed batch's: found if it is left
            self.call_limit = f"{named}-{uuid.uuid4().hex[:12]}"
            made = GlobalConcurrencyLimitCreate(name=self.call_limit, limit=limit)
            await self.client.create_global_concurrency_limit(made)
        elif self.call_limit is not None:
            with contextlib.suppress(Exception):  # best effort: the batch is over either way
                await self.client.delete_global_concurrency_limit_by_name(self.call_limit)
            self.call_limit = None

    def items_in_flight(self) -> int:
        return sum(len(chunk.items) for chunk in self.in_flight.values())

    async def run(
        self, states: Iterable[Any] | AsyncIterable[Any]
    ) -> AsyncGenerator[ItemResult, None]:
        pull = pull_states(states)
        index = 0
        exhausted = False
        broken: Exception | None = None  # raised by the states: once the chunks sent end
        while True:
            chunk: list[tuple[int, Any, str]] = []
            room = self.batch.max_items - self.items_in_flight()
            while not exhausted and len(chunk) < min(self.chunk_size, room):
                try:
                    state = await pull()
                except StopAsyncIteration:
                    exhausted = True
                    break
                except Exception as error:
                    exhausted, broken = True, states_failed(error)
                    break
                key, kept = self._kept(index, state)
                if kept is not None:
                    yield kept
                elif isinstance(key, str):
                    chunk.append((index, state, key))
                else:
                    yield ItemResult(index, state, error=key)
                index += 1
            if chunk:
                await self.send(_Chunk(chunk))
                continue
            if not self.in_flight:
                if broken is not None:
                    raise broken
                return
            await asyncio.sleep(self.batch.poll_interval)
            waiting = self.batch.waiting
            waiting[:] = await self.poll()
            while waiting:
                yield waiting.pop(0)

    def _kept(self, index: int, state: Any) -> tuple[str | PipelineError, ItemResult | None]:
        """The item's key, and its result when an earlier run of the batch completed it."""
        store = self.batch.store
        problem = not_a_state(index, state, self.batch.runnable)
        if problem is not None:
            return problem, None
        try:  # a state run_many would refuse here is refused before it is sent, in its words
            initial_state(self.batch.runnable.graph, state, self.needs)
            key = (store or _UNKEYED).item_key(state, index)
        except PipelineError as error:
            return error, None
        kept = store.find(key) if store is not None else None
        if kept is not None:  # resumed: kept by an earlier run, not by this one's twin item
            return key, ItemResult(index, state, kept[0], resumed=kept[1], key=key)
        return key, None

    async def send(self, chunk: _Chunk) -> None:
        chunk.sends += 1
        store = self.batch.store or _UNKEYED
        items = [
            {"index": index, "state": dict(state), "run_key": store.run_key(key)}
            for index, state, key in chunk.items
        ]
        heartbeat = max(1.0, self.lost_after / 6)
        run = await self.client.create_flow_run_from_deployment(
            self.deployment_id,
            parameters={
                "items": items,
                "pipeline": self.digest,
                "heartbeat_seconds": heartbeat,
                "call_limit": self.call_limit,
            },
            tags=["irgraph-batch", *filter(None, [self.tag])],
        )
        chunk.changed = time.monotonic()
        chunk.seen = ()
        self.in_flight[run.id] = chunk

    async def poll(self) -> list[ItemResult]:
        from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

        runs = await self.client.read_flow_runs(
            flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=list(self.in_flight)))
        )
        finished: list[ItemResult] = []
        now = time.monotonic()
        for run in runs:
            chunk = self.in_flight[run.id]
            state = run.state
            if state is None:
                continue
            if state.is_completed():
                del self.in_flight[run.id]
                finished += await self._answers(chunk, state)
            elif state.is_crashed() or state.is_cancelled():
                del self.in_flight[run.id]
                finished += await self._again(chunk, f"its flow run {run.id} {state.name}")
            elif state.is_failed():
                del self.in_flight[run.id]
                _refuse_other_pipeline(state.message or "", self.batch.deployment)
                finished += _failed(chunk, f"its flow run {run.id} failed: {state.message}")
            elif (seen := (state.type, run.labels.get(HEARTBEAT_LABEL))) != chunk.seen:
                chunk.seen, chunk.changed = seen, now
            elif not state.is_scheduled() and now - chunk.changed > self._patience(state):
                finished += await self._lost(run.id, chunk, state, now)
        return finished

    async def _lost(self, run_id: Any, chunk: _Chunk, state: Any, now: float) -> list[ItemResult]:
        """Send again the chunk of a flow run that went silent, once it is set Cancelling
        (so a worker that was only slow ends its process, instead of letting it call the
        model beside the chunk sent again); a run that ended meanwhile refuses Cancelling,
        and the next poll takes it as it ended (a completed chunk's answers are kept). A run
        that was Cancelling already (cancelled from Prefect's UI, say) and no worker ended is
        sent again as it is."""
        silent = f"irgraph: no heartbeat in {self.lost_after} s; its items were sent again"
        with contextlib.suppress(Exception):  # best effort: a gone server fails the next poll
            if not state.is_cancelling() and not await self._cancelling(run_id, silent):
                chunk.changed = now  # ask again only after another spell of silence
                return []
        del self.in_flight[run_id]
        return await self._again(chunk, f"its flow run {run_id} went silent")

    def _patience(self, state: Any) -> float:
        """How long a chunk may stay silent before it is taken as lost: ``lost_after`` once
        its flow runs (it beats from its first moment), :data:`STARTING` times that while
        the worker is still starting its process (importing Prefect alone can take tens of
        seconds on a loaded machine, and a run beats only once it has started)."""
        return self.lost_after * (1 if state.is_running() else STARTING)

    async def _again(self, chunk: _Chunk, why: str) -> list[ItemResult]:
        if chunk.sends >= MAX_SENDS:
            return _failed(chunk, f"{why}, after {chunk.sends} sends")
        await self.send(chunk)
        return []

    async def _answers(self, chunk: _Chunk, state: Any) -> list[ItemResult]:
        from prefect.states import get_state_result

        answers = await get_state_result(state)
        by_index = {answer.get("index"): answer for answer in answers}
        results = []
        for index, initial, key in chunk.items:
            answer = by_index.get(index, {"error": {"message": "the chunk gave no answer"}})
            if "state" in answer:
                result = RunResult(answer["state"], [], {}, backend="prefect")
                try:
                    if self.batch.store is not None:
                        self.batch.store.save(key, index, result)
                except RunError as unkept:  # names the file; the other items go on
                    results.append(ItemResult(index, initial, result, error=unkept, key=key))
                    continue
                results.append(ItemResult(index, initial, result, key=key))
            else:
                error = answer.get("error") or {}
                message = f"Item {index} failed on the work pool: {error.get('message')}"
                results.append(ItemResult(index, initial, error=RunError(message), key=key))
        return results

    async def stop(self) -> list[ItemResult]:
        """Stop the chunks in flight (the batch was stopped, or failed fast): keep the items
        of those that completed since the last poll (what they cost is never lost), and ask
        the server to cancel the rest. Those are set *Cancelling*, as Prefect's own cancel
        does: a worker ends a flow run's process only when it sees the run Cancelling (set
        straight to Cancelled, the process would go on calling the model, unseen), then
        marks it Cancelled; a run no worker has taken yet the server cancels at once."""
        late: list[ItemResult] = []
        for run_id, chunk in list(self.in_flight.items()):
            del self.in_flight[run_id]
            # Best effort: a stop must not fail for a server that went away.
            with contextlib.suppress(Exception):
                stopped = "irgraph: the batch was stopped"
                if not await self._cancelling(run_id, stopped):  # refused: it ended meanwhile
                    run = await self.client.read_flow_run(run_id)
                    if run.state is not None and run.state.is_completed():
                        late += await self._answers(chunk, run.state)
        return late

    async def _cancelling(self, run_id: Any, message: str) -> bool:
        """Propose Cancelling for flow run ``run_id``; whether the server took it (it
        refuses a run that ended, and cancels one not yet taken by a worker outright)."""
        from prefect.client.schemas.responses import SetStateStatus
        from prefect.states import Cancelling

        said = await self.client.set_flow_run_state(run_id, Cancelling(message=message))
        return said.status is SetStateStatus.ACCEPT or (
            said.state is not None and said.state.is_cancelled()
        )


def _failed(chunk: _Chunk, why: str) -> list[ItemResult]:
    """Each item of ``chunk`` failed for ``why`` (a flow run's message may end in a stop)."""
    said = f"{why.rstrip().rstrip('.')}."
    return [
        ItemResult(index, state, error=RunError(f"Item {index} did not run: {said}"), key=key)
        for index, state, key in chunk.items
    ]


def _refuse_other_pipeline(message: str, deployment: str) -> None:
    """Raise the refusal of a chunk by the module of ``deployment`` (a failed flow run's
    ``message``) when it runs another version of the pipeline: a module deployed by an
    older irgraph, whose deployment carries no digest to check before sending. The worker's
    own sentence says what to do; it is told once, without Prefect's prefix."""
    start = message.find("This deployment runs another version of pipeline")
    if start < 0:
        return
    said = message[start:].strip()
    fix = "Regenerate the flow module from this pipeline and deploy it again."
    raise PipelineError(
        f"A worker of deployment {deployment!r} refused a chunk of the batch. {said}",
        hint=None if "deploy it again" in said else fix,
    )
