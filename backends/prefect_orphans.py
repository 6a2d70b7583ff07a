"""A keyed batch on a work pool started again cancels the chunks its killed sender left running.

A batch sent to a work pool (:mod:`.prefect_batch`) is watched by the process that sent it: a
Ctrl-C or ``SIGTERM`` cancels its chunks' flow runs. A sender killed outright (``kill -9``, a
machine gone) cancels nothing, and its chunks go on running on the workers, calling the model
and holding the pool's slots, while the same batch started again sends their items once more.
So the chunks of a keyed batch carry a tag naming the batch (its store's record,
:func:`batch_tag`), and a sender holds a lock on a file beside that record while it sends
(:func:`sending_alone`); the kernel lets go of it however the process ends. A sender that
takes the lock is the batch's only one: any chunk of the batch still Scheduled, Pending,
Running or Paused is an orphan, and is set Cancelling (:func:`cancel_orphans`), as a stop does,
so its worker ends its process, and the concurrency limit the killed sender made for the
batch's ``max_concurrency`` is deleted. Its items are sent again; their finished agents come
back from the cache. A batch without a ``batch_key`` cannot be told from another: its chunks
run to their end.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from irgraph.batch_store import BatchStore

from .prefect_names import sha256

try:
    import fcntl
except ImportError:  # Windows: no lock, no orphans found (their chunks run to their end)
    fcntl = None  # type: ignore[assignment]

__all__ = ["batch_tag", "sending_alone", "cancel_orphans", "ORPHANED"]

#: The state message of a chunk cancelled as an orphan.
ORPHANED = "irgraph: the batch was started again; the process that sent this chunk is gone"


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


async def cancel_orphans(client: Any, deployment_id: Any, tag: str) -> list[Any]:
    """Set Cancelling every chunk of deployment ``deployment_id`` with ``tag`` that has not
    ended; the ids of those the server took it for (best effort: one it refuses ended
    meanwhile, and a server that fails here fails the batch's first send)."""
    from prefect.client.schemas.filters import (
        DeploymentFilter,
        DeploymentFilterId,
        FlowRunFilter,
        FlowRunFilterState,
        FlowRunFilterStateType,
        FlowRunFilterTags,
    )
    from prefect.client.schemas.objects import StateType
    from prefect.client.schemas.responses import SetStateStatus
    from prefect.states import Cancelling

    going = [StateType.SCHEDULED, StateType.PENDING, StateType.RUNNING, StateType.PAUSED]
    runs = await client.read_flow_runs(
        flow_run_filter=FlowRunFilter(
            tags=FlowRunFilterTags(all_=[tag]),
            state=FlowRunFilterState(type=FlowRunFilterStateType(any_=going)),
        ),
        deployment_filter=DeploymentFilter(id=DeploymentFilterId(any_=[deployment_id])),
    )
    cancelled = []
    for run in runs:
        with contextlib.suppress(Exception):
            said = await client.set_flow_run_state(run.id, Cancelling(message=ORPHANED))
            if said.status is SetStateStatus.ACCEPT:
                cancelled.append(run.id)
    await _drop_limits(client, tag)
    return cancelled


async def _drop_limits(client: Any, tag: str) -> None:
    """Delete the global concurrency limits a killed sender of the batch ``tag`` made for its
    ``max_concurrency`` (named after the tag): a sender deletes its own as it ends, and a
    killed one left it on the server for good (best effort, as it is only clutter)."""
    with contextlib.suppress(Exception):
        found, offset = [], 0
        while page := await client.read_global_concurrency_limits(limit=200, offset=offset):
            found += [limit.name for limit in page if limit.name.startswith(f"{tag}-")]
            offset += len(page)
        for name in found:
            await client.delete_global_concurrency_limit_by_name(name)
