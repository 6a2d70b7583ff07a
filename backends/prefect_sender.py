"""A pool batch's chunks in flight: sent as flow runs, polled, sent again, cancelled.

This process only sends and watches (:class:`~irgraph.backends.prefect_batch.PoolBatch` starts
it): it polls the chunks' flow runs. A chunk whose flow run crashed or was cancelled is sent
again; so is one whose worker vanished (a killed process group, a machine gone), told from a
slow one by the heartbeat label the batch flow keeps changing
(:mod:`irgraph.backends.prefect_chunks`): silent for ``lost_after`` seconds of this process's
clock (:data:`STARTING` times that while its process starts), the run is set Cancelling and
its items sent again (:meth:`_Sender._lost` says why), at most :data:`MAX_SENDS` times. A
stopped batch sets its chunks' flow runs Cancelling too; a chunk that completed unseen is kept.
The chunks a killed sender of the batch left are taken over: their answers taken, the running
ones waited for (:mod:`irgraph.backends.prefect_orphans`).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncGenerator, AsyncIterable, Iterable
from typing import Any

import attrs

from irgraph.batch_items import ItemResult, not_a_state
from irgraph.batch_stop import states_failed
from irgraph.batch_store import BatchStore
from irgraph.batch_window import pull_states
from irgraph.errors import PipelineError, RunError
from irgraph.events import RunResult
from irgraph.validate import initial_state, required_inputs

from .prefect_chunk_errors import did_not_run, failed_on_pool, refuse_other_pipeline
from .prefect_chunks import HEARTBEAT_LABEL
from .prefect_orphans import (
    SENDING_FOR,
    Left,
    batch_tag,
    call_limit,
    cancel_runs,
    drop_limits,
    find_left,
    runs_by_id,
)

__all__ = ["MAX_SENDS", "STARTING"]

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
    #: A killed sender's chunk waited for: each item's index as that sender sent it.
    sent_as: dict[int, int] | None = None


class _Sender:
    """The chunks of one batch in flight: sending, polling, sending again, cancelling."""

    def __init__(self, batch: Any, client: Any, deployment_id: Any, digest: str) -> None:
        # batch: the PoolBatch sending (whose module imports this one)
        self.batch = batch
        self.client = client
        self.deployment_id = deployment_id
        backend = batch.runnable.backend
        self.chunk_size: int = backend.chunk_size
        self.lost_after: float = backend.lost_after
        self.digest = digest  # of the pipeline, as the deployment knows it
        self.in_flight: dict[Any, _Chunk] = {}
        self.call_limit: str | None = None
        # ``irgraph batch`` names an unkeyed batch by its results file, holding its lock
        self.unkeyed = SENDING_FOR.get() if batch.store is None else None
        named = None if self.unkeyed is None else BatchStore(".", self.unkeyed.key)
        self.keys = batch.store or named or _UNKEYED  # makes each item's key and run key
        self.tag = batch_tag(batch.store) if self.unkeyed is None else self.unkeyed.tag  # chunks'
        self.needs = required_inputs(batch.runnable.graph)  # what each item must give
        self.left = Left()  # what killed senders of the batch left

    async def take_left(self) -> None:
        """Take over the chunks a killed sender of the batch left (we hold its lock)."""
        assert self.tag is not None
        self.left = await find_left(self.client, self.deployment_id, self.tag, self.digest)
        now = time.monotonic()
        for run_id in self.left.going:
            self.in_flight[run_id] = _Chunk([], sends=1, changed=now, sent_as={})

    async def limit_calls(self, limit: int | None) -> None:
        """Make (``limit``) or drop (``None``) the Prefect global concurrency limit every
        chunk's model calls hold a slot of: one bound for the batch, across machines."""
        if limit is not None:
            self.call_limit = await call_limit(self.client, self.tag, limit, self.left)
        else:  # the batch is over: its limit and those left go (best effort)
            await drop_limits(self.client, [*filter(None, [self.call_limit]), *self.left.limits])
            self.call_limit, self.left.limits = None, []

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
            while not exhausted and len(chunk) < min(
                self.chunk_size, self.batch.max_items - self.items_in_flight()
            ):
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
                elif not isinstance(key, str):
                    yield ItemResult(index, state, error=key)
                elif (answer := await self.left.answer(self.keys.run_key(key))) is not None:
                    yield self._result(index, state, key, answer, resumed=True)  # a left chunk's
                elif not self._wait_for((index, state, key)):
                    chunk.append((index, state, key))
                index += 1
            if chunk:
                await self.send(_Chunk(chunk))
                continue
            if exhausted:  # a left chunk no item claimed runs for nothing: cancelled
                await self._drop_unclaimed()
            if not self.in_flight:
                if broken is not None:
                    raise broken
                return
            await asyncio.sleep(self.batch.poll_interval)
            waiting = self.batch.waiting
            waiting[:] = await self.poll()
            while waiting:
                yield waiting.pop(0)

    def _wait_for(self, item: tuple[int, Any, str]) -> bool:
        """Whether ``item`` is waited for in a chunk a killed sender left going."""
        claimed = self.left.claim(self.keys.run_key(item[2]))
        chunk = None if claimed is None else self.in_flight.get(claimed[0])
        if claimed is None or chunk is None or chunk.sent_as is None:
            return False
        chunk.items.append(item)
        chunk.sent_as[item[0]] = claimed[1]
        return True

    async def _drop_unclaimed(self) -> None:
        """Cancel the chunks a killed sender left going that no item of the batch claimed."""
        unclaimed = [run for run, chunk in self.in_flight.items() if not chunk.items]
        for run_id in unclaimed:
            del self.in_flight[run_id], self.left.going[run_id]
        await cancel_runs(self.client, unclaimed)

    def _kept(self, index: int, state: Any) -> tuple[str | PipelineError, ItemResult | None]:
        """The item's key, and its result when an earlier run of the batch completed it."""
        store = self.batch.store
        problem = not_a_state(index, state, self.batch.runnable)
        if problem is not None:
            return problem, None
        try:  # a state run_many would refuse here is refused before it is sent, in its words
            initial_state(self.batch.runnable.graph, state, self.needs)
            key = self.keys.item_key(state, index)
        except PipelineError as error:
            return error, None
        kept = store.find(key) if store is not None else None
        if kept is not None:  # resumed: kept by an earlier run, not by this one's twin item
            return key, ItemResult(index, state, kept[0], resumed=kept[1], key=key)
        return key, None

    async def send(self, chunk: _Chunk) -> None:
        chunk.sends += 1
        chunk.sent_as = None  # sent by this sender now
        items = [
            {"index": index, "state": dict(state), "run_key": self.keys.run_key(key)}
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
        runs = await runs_by_id(self.client, list(self.in_flight))  # all: more than a page too
        finished: list[ItemResult] = []
        now = time.monotonic()
        for run in runs:
            chunk = self.in_flight[run.id]
            state = run.state
            if state is None:
                continue
            if state.is_final():
                del self.in_flight[run.id]
                self.left.ended(run)  # a left chunk's unclaimed items: taken, or sent anew
            if state.is_completed():
                finished += await self._answers(chunk, state)
            elif state.is_crashed() or state.is_cancelled():
                finished += await self._again(chunk, f"its flow run {run.id} {state.name}")
            elif state.is_failed():
                refuse_other_pipeline(state.message or "", self.batch.deployment)
                finished += did_not_run(
                    chunk.items, f"its flow run {run.id} failed: {state.message}"
                )
            elif (seen := (state.type, run.labels.get(HEARTBEAT_LABEL))) != chunk.seen:
                chunk.seen, chunk.changed = seen, now
            elif not state.is_scheduled() and now - chunk.changed > self._patience(state):
                finished += await self._lost(run.id, chunk, state, now)
        return finished

    async def _lost(self, run_id: Any, chunk: _Chunk, state: Any, now: float) -> list[ItemResult]:
        """Send again the chunk of a flow run that went silent, once it is set Cancelling (a
        worker only slow then ends its process, which would call the model beside the chunk
        sent again; no worker acts on a run forced Crashed); a run that ended meanwhile
        refuses Cancelling, and the next poll takes it as it ended. A run Cancelling already
        (from Prefect's UI, say) is sent again as it is. A gone worker's run stays Cancelling
        until the server's cleanup marks it Cancelled: it holds no slot of the pool's limits
        (Prefect 3 workers count Pending and Running runs), and forced Cancelled, a slow
        worker that missed the event (it polls for Cancelling runs) would go on."""
        silent = f"irgraph: no heartbeat in {self.lost_after} s; its items were sent again"
        with contextlib.suppress(Exception):  # best effort: a gone server fails the next poll
            if not state.is_cancelling() and not await self._cancelling(run_id, silent):
                chunk.changed = now  # ask again only after another spell of silence
                return []
        del self.in_flight[run_id]
        self.left.going.pop(run_id, None)  # its unclaimed items are sent anew
        return await self._again(chunk, f"its flow run {run_id} went silent")

    def _patience(self, state: Any) -> float:
        """How long a chunk may stay silent before it is taken as lost: ``lost_after`` once
        its flow runs (it beats from its first moment) or is Cancelling (a killed sender's,
        whose worker ends its process, or is gone), :data:`STARTING` times that while the
        worker is still starting its process (importing Prefect alone can take tens of
        seconds on a loaded machine, and a run beats only once it has started)."""
        return self.lost_after * (1 if state.is_running() or state.is_cancelling() else STARTING)

    async def _again(self, chunk: _Chunk, why: str) -> list[ItemResult]:
        if not chunk.items:  # a left chunk no item claimed
            return []
        if chunk.sends >= MAX_SENDS:
            return did_not_run(chunk.items, f"{why}, after {chunk.sends} sends")
        await self.send(chunk)
        return []

    async def _answers(self, chunk: _Chunk, state: Any) -> list[ItemResult]:
        from prefect.states import get_state_result

        answers = await get_state_result(state)
        by_index = {answer.get("index"): answer for answer in answers}
        sent_as = chunk.sent_as or {}  # a left chunk's items: by their index as it was sent
        unanswered = {"error": {"message": "the chunk gave no answer"}}
        return [
            self._result(index, initial, key, by_index.get(sent_as.get(index, index), unanswered))
            for index, initial, key in chunk.items
        ]

    def _result(
        self, index: int, initial: Any, key: str, answer: Any, resumed: bool = False
    ) -> ItemResult:
        """Item ``index``'s result from its chunk's ``answer``: its final state (kept in the
        batch's store), or its error with the run's record (:func:`failed_on_pool`)."""
        if "state" not in answer:
            error = failed_on_pool(index, answer.get("error") or {}, self.batch.runnable.graph)
            return ItemResult(index, initial, error=error, key=key)
        result = RunResult(answer["state"], [], {}, backend="prefect")
        try:
            if self.batch.store is not None:
                self.batch.store.save(key, index, result)
        except RunError as unkept:  # names the file; the other items go on
            return ItemResult(index, initial, result, error=unkept, key=key)
        return ItemResult(index, initial, result, resumed=resumed, key=key)

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
