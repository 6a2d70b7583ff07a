"""A batch on a work pool started again takes over the chunks its killed sender left.

A batch sent to a work pool (:mod:`.prefect_batch`) is watched by the process that sent it: a
Ctrl-C or ``SIGTERM`` cancels its chunks' flow runs. A sender killed outright (``kill -9``, a
machine gone) cancels nothing: its chunks go on running on the workers, calling the model, and
those that complete are seen by nobody. So the chunks of a batch carry a tag naming it
(:func:`batch_tag`: a keyed batch's store record; for ``irgraph batch`` without a key, its
results file, :func:`sending_for`), and a sender holds a lock while it sends (a file beside the
store's record, :func:`sending_alone`; ``irgraph batch`` holds its ``-o`` file's); the kernel
lets go of it however the process ends. A sender that holds the lock is the batch's only one,
so any chunk with the tag was left by a sender before it (:func:`find_left`):

- a chunk that completed: its items' final states are taken as they are (``resumed``), not
  run again: the model was paid for them once;
- a chunk still Scheduled, Pending, Running or Paused: it is waited for as if this sender had
  sent it, its items not sent again (cancelling it would throw away the model calls under
  way, and pay for them again); an identical item (a copy) waits for the same chunk; an item
  no line of the batch asks for any more leaves such a chunk unclaimed, and it is cancelled
  once every item was read;
- a chunk Cancelling (its sender stopped it, or took it as lost, before it was killed): it is
  waited for too, until its worker ended its process and marked it Cancelled (its items are
  then sent again, as for any cancelled chunk): sent again at once, they would run beside a
  process that may still call the model;
- a chunk that failed, crashed or was cancelled: its items are sent again (their finished
  agents come back from the cache under the item's run key); a going chunk sent for another
  version of the pipeline is cancelled.

The flow runs are read :data:`PAGE` at a time (the server gives at most its default limit, 200,
per request), so a batch with more chunks in flight than that misses none.

The concurrency limit a killed sender made for the batch's ``max_concurrency`` (named after the
tag) is taken over by the chunks sent now, so the chunks waited for and those sent again share
one bound; the limits left are deleted when the batch ends.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from contextvars import ContextVar
from typing import Any

import attrs

from irgraph.batch_store import BatchStore

from .prefect_names import sha256

try:
    import fcntl
except ImportError:  # Windows: no lock, no chunks found (they run to their end)
    fcntl = None  # type: ignore[assignment]

__all__ = [
    "batch_tag",
    "sending_alone",
    "sending_for",
    "SENDING_FOR",
    "Takeover",
    "taking_over",
    "PAGE",
    "read_runs",
    "runs_by_id",
    "Unkeyed",
    "Left",
    "find_left",
    "cancel_runs",
    "call_limit",
    "drop_limits",
    "ORPHANED",
]

#: The state message of a chunk cancelled as an orphan.
ORPHANED = "irgraph: the batch was started again; the process that sent this chunk is gone"

#: How many flow runs one request reads: the server's default limit, its largest page.
PAGE = 200


@attrs.frozen
class Unkeyed:
    """An unkeyed batch with a name that outlives its sender: its chunks' ``tag``, and the
    batch key its items' run keys are made from (``irgraph batch``: of its results file)."""

    tag: str
    key: str


#: The unkeyed batch the caller sends now, while it holds that batch's lock: set by
#: ``irgraph batch`` (:func:`sending_for`) around ``run_many``.
SENDING_FOR: ContextVar[Unkeyed | None] = ContextVar("irgraph_sending_for", default=None)


@contextlib.contextmanager
def sending_for(results_file: str, generation: str) -> Iterator[None]:
    """Name the unkeyed batch sent while the block runs by its results file (its real path)
    and ``generation`` (kept beside that file until a sender of it ends other than killed):
    the caller holds the file's lock, so a chunk with the tag is a killed sender's."""
    named = sha256(f"{results_file}\0{generation}")
    token = SENDING_FOR.set(Unkeyed(f"irgraph-batch-{named[:16]}", f"unkeyed-{named[:32]}"))
    try:
        yield
    finally:
        SENDING_FOR.reset(token)


@attrs.define
class Takeover:
    """Whether the batch sent while :func:`taking_over`'s block runs looked for what killed
    senders of it left (and took it over): until then, the record naming the batch (``irgraph
    batch``'s lock file) is the only way to find those chunks, and must be kept."""

    done: bool = False


#: The takeover the batch sent now reports to (set by :func:`taking_over`).
TAKEOVER: ContextVar[Takeover | None] = ContextVar("irgraph_takeover", default=None)


@contextlib.contextmanager
def taking_over() -> Iterator[Takeover]:
    """Learn whether the work-pool batch sent while the block runs took over its killed
    senders' chunks (:attr:`Takeover.done`), or ended before it looked (refused, stopped)."""
    took = Takeover()
    token = TAKEOVER.set(took)
    try:
        yield took
    finally:
        TAKEOVER.reset(token)


def batch_tag(store: BatchStore | None) -> str | None:
    """The flow-run tag of the chunks of the keyed batch of ``store`` (``None`` without one):
    its record's path, hashed, so the same key in another store is another batch."""
    if store is None:
        return None
    return "irgraph-batch-" + sha256(str(store.record.resolve()))[:16]


@contextlib.contextmanager
def sending_alone(store: BatchStore | None) -> Iterator[bool]:
    """Hold the sender lock of the batch of ``store`` while the block runs; whether it was
    taken (no other process sends this batch now). Not taken without a store, on a system
    without ``fcntl``, or where the store's directory cannot hold the lock file."""
    if store is None or fcntl is None:
        yield False
        return
    path = store.record.with_suffix(".sender")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle = path.open("a")
    except OSError:
        yield False
        return
    with handle:  # closing it lets go of the lock
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            yield False
            return
        yield True


@attrs.define
class Left:
    """The chunks killed senders of a batch left: what completed, and what still goes."""

    #: The run key of each item of a completed chunk, and that chunk's flow run.
    done: dict[str, Any] = attrs.field(factory=dict)
    #: The flow runs still going, and the run key of each of their items by its index there.
    going: dict[Any, dict[int, str]] = attrs.field(factory=dict)
    #: The concurrency limits the killed senders made, still on the server.
    limits: list[str] = attrs.field(factory=list)
    #: The answers of the completed chunks read so far: run id -> run key -> answer.
    answers: dict[Any, dict[str, Any]] = attrs.field(factory=dict)

    #: The going chunk and index each run key was claimed at: a copy waits there too.
    claimed: dict[str, tuple[Any, int]] = attrs.field(factory=dict)

    def claim(self, run_key: str) -> tuple[Any, int] | None:
        """The going chunk that holds the item ``run_key`` and its index there, taken by
        this item; for an identical item (a copy) once each index of it is taken, the one
        its twin took, while that chunk goes (sent anew, it would run beside it, under the
        same run key, and pay for the calls neither finished yet); else ``None``."""
        for run_id, items in self.going.items():
            for index, key in items.items():
                if key == run_key:
                    del items[index]
                    self.claimed[run_key] = (run_id, index)
                    return run_id, index
        twin = self.claimed.get(run_key)
        return twin if twin is not None and twin[0] in self.going else None

    def ended(self, run: Any) -> None:
        """Forget the going chunk ``run`` (it ended): once completed, its items no item
        claimed yet are taken from its answers, the others are sent again; so is a copy of
        an item of it read later."""
        items = self.going.pop(run.id, {})
        if run.state is not None and run.state.is_completed():
            self.done.update({key: run for key in items.values()})
            self.done.update({k: run for k, (at, _) in self.claimed.items() if at == run.id})

    async def answer(self, run_key: str) -> dict[str, Any] | None:
        """The answer a completed chunk gave for the item ``run_key``, when it has one with
        a final state; ``None`` otherwise (its error: the item runs again)."""
        run = self.done.get(run_key)
        if run is None:
            return None
        if run.id not in self.answers:
            from prefect.states import get_state_result

            self.answers[run.id] = {}
            with contextlib.suppress(Exception):  # results gone: the items run again
                keys = _keys(run)
                for said in await get_state_result(run.state):
                    if said.get("index") in keys and "state" in said:
                        self.answers[run.id][keys[said["index"]]] = said
        return self.answers[run.id].get(run_key)


def _keys(run: Any) -> dict[int, str]:
    """The run key of each item of chunk ``run`` by its index there, as it was sent."""
    items = (run.parameters or {}).get("items") or []
    return {item["index"]: item["run_key"] for item in items if isinstance(item, dict)}


async def find_left(client: Any, deployment_id: Any, tag: str, digest: str) -> Left:
    """The chunks of deployment ``deployment_id`` with ``tag`` that completed or still go
    (Cancelling ones too: their processes may still run), sent for the pipeline ``digest``;
    those still going of another pipeline are cancelled."""
    from prefect.client.schemas.filters import (
        DeploymentFilter,
        DeploymentFilterId,
        FlowRunFilter,
        FlowRunFilterState,
        FlowRunFilterStateType,
        FlowRunFilterTags,
    )
    from prefect.client.schemas.objects import StateType

    going = [
        *(StateType.SCHEDULED, StateType.PENDING, StateType.RUNNING, StateType.PAUSED),
        StateType.CANCELLING,
    ]
    wanted = FlowRunFilter(
        tags=FlowRunFilterTags(all_=[tag]),
        state=FlowRunFilterState(type=FlowRunFilterStateType(any_=[*going, StateType.COMPLETED])),
    )
    deployment = DeploymentFilter(id=DeploymentFilterId(any_=[deployment_id]))
    left, other = Left(), []
    for run in await read_runs(client, wanted, deployment_filter=deployment):
        ours = (run.parameters or {}).get("pipeline") == digest
        if run.state is None or not ours:
            if run.state is not None and not run.state.is_final():
                other += [] if run.state.is_cancelling() else [run.id]
        elif run.state.is_completed():
            left.done.update({key: run for key in _keys(run).values()})
        else:
            left.going[run.id] = _keys(run)
    await cancel_runs(client, other)
    left.limits = await _limits(client, tag)
    took = TAKEOVER.get()
    if took is not None:
        took.done = True
    return left


async def read_runs(client: Any, wanted: Any, **filters: Any) -> list[Any]:
    """Every flow run the ``FlowRunFilter`` ``wanted`` (and ``filters``) matches, however
    many: :data:`PAGE` at a time, each page leaving out the runs read before it (an offset
    would skip a run when one before it left the filter between two pages)."""
    from prefect.client.schemas.filters import FlowRunFilterId

    found: dict[Any, Any] = {}
    while True:
        before = None if wanted.id is None else wanted.id.any_
        unread = FlowRunFilterId(any_=before, not_any_=list(found) or None)
        page = await client.read_flow_runs(
            flow_run_filter=wanted.model_copy(update={"id": unread}), limit=PAGE, **filters
        )
        found |= {run.id: run for run in page}
        if len(page) < PAGE:
            return list(found.values())


async def runs_by_id(client: Any, run_ids: list[Any]) -> list[Any]:
    """The flow runs ``run_ids``, however many: :data:`PAGE` ids a request."""
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    runs: list[Any] = []
    for start in range(0, len(run_ids), PAGE):
        some = FlowRunFilterId(any_=run_ids[start : start + PAGE])
        runs += await client.read_flow_runs(flow_run_filter=FlowRunFilter(id=some), limit=PAGE)
    return runs


async def cancel_runs(client: Any, run_ids: list[Any]) -> None:
    """Set Cancelling the flow runs ``run_ids`` left by a killed sender (best effort: one the
    server refuses ended meanwhile), so their workers end their processes."""
    from prefect.states import Cancelling

    for run_id in run_ids:
        with contextlib.suppress(Exception):
            await client.set_flow_run_state(run_id, Cancelling(message=ORPHANED))


async def _limits(client: Any, tag: str) -> list[str]:
    """The global concurrency limits made for the ``max_concurrency`` of the batch ``tag``
    (named after it): a sender deletes its own as it ends, a killed one left it."""
    found: list[str] = []
    with contextlib.suppress(Exception):
        offset = 0
        while page := await client.read_global_concurrency_limits(limit=PAGE, offset=offset):
            found += [limit.name for limit in page if limit.name.startswith(f"{tag}-")]
            offset += len(page)
    return found


async def call_limit(client: Any, tag: str | None, limit: int, left: Left) -> str:
    """The name of the Prefect global concurrency limit of ``limit`` slots that the batch
    ``tag``'s model calls hold: the one a killed sender made (updated to ``limit``) while
    chunks it left still go, so that they and the chunks sent now share one bound; else new."""
    from prefect.client.schemas.actions import (
        GlobalConcurrencyLimitCreate,
        GlobalConcurrencyLimitUpdate,
    )

    if left.limits and left.going:
        with contextlib.suppress(Exception):  # gone meanwhile: a new one
            changed = GlobalConcurrencyLimitUpdate(limit=limit)
            await client.update_global_concurrency_limit(left.limits[0], changed)
            return left.limits.pop(0)
    name = f"{tag or 'irgraph-batch'}-{uuid.uuid4().hex[:12]}"  # a tagged batch's: found if left
    await client.create_global_concurrency_limit(
        GlobalConcurrencyLimitCreate(name=name, limit=limit)
    )
    return name


async def drop_limits(client: Any, names: list[str]) -> None:
    """Delete the concurrency limits ``names`` (best effort, as they are only clutter)."""
    for name in names:
        with contextlib.suppress(Exception):
            await client.delete_global_concurrency_limit_by_name(name)
