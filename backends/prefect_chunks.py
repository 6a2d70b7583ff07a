"""What a generated module's batch flow runs: one chunk of a batch's items, and a heartbeat.

``run_many`` with ``PrefectBackend(work_pool=...)`` sends a batch to a work pool in chunks
(:mod:`irgraph.backends.prefect_batch`); each chunk is a flow run of the generated module's
batch flow, which runs its items at once, each through the item flow's body under the item's
run key (so an item sent again reuses its finished agents), and answers with every item's
final state or error. A failing item does not fail the chunk.

While a chunk runs, its flow run's label :data:`HEARTBEAT_LABEL` changes every few seconds:
the sender compares it between polls, in its own clock, so a worker that vanished (a machine
gone, a killed process group) is told from a slow one without trusting another machine's time.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Collection, Mapping
from contextvars import ContextVar
from typing import Any

from irgraph.providers import ModelProvider, ModelRequest

__all__ = [
    "HEARTBEAT_LABEL",
    "CALL_LIMIT",
    "check_pipeline",
    "run_chunk",
    "item_outcome",
    "limited",
]

#: The flow-run label a running chunk keeps changing.
HEARTBEAT_LABEL = "irgraph.heartbeat"

#: The Prefect global concurrency limit the model calls of this chunk hold a slot of, when
#: the batch has a ``max_concurrency``: one limit for every chunk on every machine.
CALL_LIMIT: ContextVar[str | None] = ContextVar("irgraph_call_limit", default=None)


async def limited(provider: ModelProvider, request: ModelRequest) -> str:
    """Ask ``provider``; within a chunk of a limited batch, holding a slot of the batch's
    global concurrency limit while the call lasts."""
    limit = CALL_LIMIT.get()
    if limit is None:
        return await provider.complete(request)
    from prefect.concurrency.asyncio import concurrency

    async with concurrency(limit, occupy=1, strict=True):
        return await provider.complete(request)


def check_pipeline(sent: str | None, deployed: str, name: str, same: Collection[str] = ()) -> None:
    """Refuse a chunk sent for another version of the pipeline than this module runs (its
    digest ``deployed``; ``same``: every digest of it, an older irgraph's sender's too)."""
    if sent is not None and sent != deployed and sent not in same:
        raise ValueError(
            f"This deployment runs another version of pipeline {name!r} (digest {deployed}) "
            f"than the batch was sent for (digest {sent}). Regenerate the flow module from the "
            "pipeline you run the batch with, and deploy it again (python FLOW_FILE.py)."
        )


def item_outcome(
    index: Any, state: Any = None, error: BaseException | None = None
) -> dict[str, Any]:
    """One item's answer in a chunk's result: its index and final state, or its error (a
    node's RunError said as ``irgraph run`` says it: its cause, and where in the user's code
    it was raised, travel in the words), with the record of its run for the sender's error
    (:func:`~irgraph.backends.prefect_chunk_errors.run_record`)."""
    from irgraph.cli_live import failure_text

    from .prefect_chunk_errors import run_record

    if error is None:
        return {"index": index, "state": state}
    said = {"type": type(error).__name__, "message": failure_text(error)}
    record = run_record(error)
    return {"index": index, "error": said if record is None else {**said, "record": record}}


async def run_chunk(
    item_flow: Callable[..., Any],
    items: list[Mapping[str, Any]],
    heartbeat_seconds: float,
    call_limit: str | None = None,
) -> list[dict[str, Any]]:
    """Run every item of a chunk at once through the body of ``item_flow``, inside the
    chunk's flow run: its agents are tasks of that run, cached under the item's run key. (A
    subflow per item would show each item as a flow run of its own, but costs seconds each
    and runs them one after another.)"""
    body = getattr(item_flow, "fn", item_flow)

    async def one(item: Mapping[str, Any]) -> dict[str, Any]:
        try:
            final = await body(item.get("state"), item.get("run_key"))
        except Exception as error:  # an item's failure is its answer, not the chunk's
            return item_outcome(item.get("index"), error=error)
        return item_outcome(item.get("index"), final)

    CALL_LIMIT.set(call_limit)  # this flow run's context: its items' tasks copy it
    beating = asyncio.ensure_future(_heartbeat(heartbeat_seconds))
    try:
        return list(await asyncio.gather(*(one(item) for item in items)))
    finally:
        beating.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await beating


async def _heartbeat(every: float) -> None:
    """Change this flow run's heartbeat label every ``every`` seconds until cancelled."""
    from prefect.client.orchestration import get_client
    from prefect.runtime import flow_run

    beat = 0
    async with get_client() as client:
        while True:
            beat += 1
            # A missed beat (the API busy for a moment) is no reason to fail the items.
            with contextlib.suppress(Exception):
                await client.update_flow_run_labels(flow_run.id, {HEARTBEAT_LABEL: str(beat)})
            await asyncio.sleep(every)
