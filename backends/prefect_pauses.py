"""A flow run paused at a gate and resumed with its answer: one pause at a time per run, and
a resume that waits until the pause is ready for it.

The flow pauses under a key unique to the run key, the gate, its loop/map position and its
message (:func:`pause_key`, :func:`wait_for_answer`); whoever answers resumes it with
:func:`resume_when_paused`, which first waits until the run really is paused at that gate and
ready for input. Prefect pauses in two steps (the run's state becomes Paused, then the flow
saves the schema of the input it waits for), and a resume before either step is refused, so an
answer that is ready early waits for both instead of being lost.

A flow run can be paused at one gate at a time: Prefect refuses a second pause while the run is
paused ("Cannot pause flows that are not currently running"). Gates that wait at once — in
parallel branches, or in the items of a map-over — therefore take turns (:func:`pause_turn`, a
lock per flow run): each pauses, is answered and resumes before the next pauses, in the order
they arrived. Branches without a gate keep running meanwhile. Combining simultaneous gates
into one pause would ask several questions with one answer and break :func:`resume_when_paused`
for whoever answers from outside (one answer per pause); taking turns keeps every gate one
pause, one question and one answer.

This module does not import ``prefect`` at import time; the functions that need it do.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections import Counter
from collections.abc import AsyncIterator, Awaitable
from typing import TYPE_CHECKING, Any
from uuid import UUID

from irgraph.errors import IrgraphError

from .prefect_names import Position, flow_run_uuid, sha256, where

if TYPE_CHECKING:
    from prefect.client.orchestration import PrefectClient

__all__ = [
    "pause_key",
    "current_flow_run_id",
    "pause_turn",
    "wait_for_answer",
    "kept_then_resumed",
    "refuse_on_own_path",
    "resume_when_paused",
]

_POLL_SECONDS = 0.05  # how often an answer checks whether its gate has paused yet


def pause_key(node: str, path: Position, run_key: str, message: str) -> str:
    """The pause key of a gate at a position: unique per run key, node, loop/map position (so
    a gate in a loop pauses every iteration) and rendered message, and made of what Prefect
    allows in run-input keys: lowercase letters, digits and dashes.

    Prefect treats a pause under a key the flow run already used as done, and hands back the
    input that pause got. The items of a batch chunk run in one flow run under their own run
    keys, and a retried flow run keeps its id while its gate may ask something else: with
    only the node and position in the key, the second item (or the retry) would take the
    first one's answer without being asked.

    >>> pause_key("Approve plan", (("review", 1),), "run-1", "Ship it?")
    'gate-approve-plan-1-...'
    """
    at = where(node, path)
    readable = re.sub(r"[^a-z0-9]+", "-", at.lower()).strip("-")[:40].strip("-")
    digest = sha256("\x00".join((at, run_key, message)))[:16]
    return f"gate-{readable}-{digest}" if readable else f"gate-{digest}"


def current_flow_run_id() -> str:
    """The id of the flow run this code runs in."""
    from prefect.context import FlowRunContext

    context = FlowRunContext.get()
    if context is None or context.flow_run is None:
        raise IrgraphError(
            "A gate can only wait for an answer inside a Prefect flow run; run the pipeline "
            "with the Prefect backend or through its generated flow."
        )
    return str(context.flow_run.id)


_turns: dict[str, asyncio.Lock] = {}
_turn_holders: Counter[str] = Counter()  # gates holding or waiting for each run's turn


@contextlib.asynccontextmanager
async def pause_turn() -> AsyncIterator[str]:
    """Wait until no other gate of this flow run is paused, hold the run's pause until the
    block ends, and give the flow run id. Gates take turns in the order they arrive; a
    flow run can only be paused at one gate at a time (see the module docstring)."""
    flow_run_id = current_flow_run_id()
    lock = _turns.setdefault(flow_run_id, asyncio.Lock())
    _turn_holders[flow_run_id] += 1
    try:
        async with lock:
            yield flow_run_id
    finally:
        _turn_holders[flow_run_id] -= 1
        if not _turn_holders[flow_run_id]:
            del _turn_holders[flow_run_id], _turns[flow_run_id]


async def wait_for_answer(
    key: str, *, timeout: int, answering: Awaitable[None] | None = None
) -> str:
    """Pause the current flow run under ``key`` until it is resumed with an answer (a
    string) and return the answer; an IrgraphError saying so after ``timeout`` seconds
    (Prefect's ``FlowPauseTimeout`` chained). Call it
    inside :func:`pause_turn`, so no other gate of the run pauses meanwhile.

    ``answering``, if given, runs meanwhile and is what resumes the run (it ends with
    :func:`resume_when_paused`): if it fails, the pause ends with its error at once instead
    of waiting out the timeout; if the pause ends first, it is cancelled.
    """
    from prefect.exceptions import FlowPauseTimeout
    from prefect.flow_runs import apause_flow_run

    runs_before = await _run_count()
    try:
        answer = await _paused(
            apause_flow_run(wait_for_input=str, timeout=timeout, poll_interval=1, key=key),
            answering,
        )
    except FlowPauseTimeout as late:  # Prefect says only "paused and never resumed"
        raise IrgraphError(
            f"Nobody answered within {timeout} s, the gate's timeout, so the run stopped "
            "there. Answer sooner (on_gate, resume_gate, Prefect's UI), or allow more time: "
            "PrefectBackend(gate_timeout=...), or Gate(...).timeout(seconds) for a generated "
            "flow."
        ) from late
    await _keep_retry_budget(runs_before)
    return answer


async def _run_count() -> tuple[Any, int] | None:
    """The current flow run's id and run count (``None`` outside a flow run)."""
    from prefect.client.orchestration import get_client
    from prefect.context import FlowRunContext

    context = FlowRunContext.get()
    if context is None or context.flow_run is None:
        return None
    async with get_client() as client:
        run = await client.read_flow_run(context.flow_run.id)
    return run.id, run.run_count


async def _keep_retry_budget(before: tuple[Any, int] | None) -> None:
    """Give the flow run back the retries its pause used: Prefect counts a resumed run as
    one more run (3.9, measured), so a gate would leave ``flow_retries`` one short and a
    failure after it would not be retried."""
    from prefect.client.orchestration import get_client

    if before is None:
        return
    run_id, count = before
    async with get_client() as client:
        run = await client.read_flow_run(run_id)
        used = run.run_count - count
        retries = run.empirical_policy.retries
        if used > 0 and retries is not None:
            policy = run.empirical_policy.model_copy(update={"retries": retries + used})
            await client.update_flow_run(run_id, empirical_policy=policy)


async def _paused(pausing: Awaitable[str], answering: Awaitable[None] | None) -> str:
    """The answer ``pausing`` gets, with ``answering`` (what resumes the run) run meanwhile."""
    if answering is None:
        return await pausing
    waiting = asyncio.ensure_future(pausing)
    resuming = asyncio.ensure_future(answering)
    try:
        await asyncio.wait((waiting, resuming), return_when=asyncio.FIRST_COMPLETED)
        if resuming.done() and not resuming.cancelled():
            failure = resuming.exception()
            if failure is not None:
                raise failure
        answer = await waiting
        return answer
    finally:
        for task in (waiting, resuming):
            task.cancel()
        await asyncio.gather(waiting, resuming, return_exceptions=True)


async def kept_then_resumed(flow_run_id: str, answer: str, *, key: str, timeout: float) -> None:
    """Keep ``answer`` as the answer of the gate whose task this runs in, then resume the
    run with it (:func:`resume_when_paused`). The task keeps its answer itself only when it
    ends, once the paused run has noticed the resume (its next poll, up to a second later):
    a process killed in between lost an answer already given, and asked again when run
    again. Kept first, under the key and in the store the task's own result goes to, the
    answer is found by a run resumed after any kill (and one given is never asked again)."""
    from prefect.transactions import get_transaction

    gate = get_transaction()  # the gate task's: its cache key, its result store
    if gate is not None and gate.store is not None and gate.key:
        await gate.store.awrite(answer, key=gate.key)
    await resume_when_paused(flow_run_id, answer, key=key, timeout=timeout)


def refuse_on_own_path(flow_run_id: str, what: str) -> None:
    """Refuse ``what`` (a blocking resume of ``flow_run_id``) called on that flow run's own
    path, e.g. from ``on_paused``: the run cannot pause while it waits (it waited out its
    timeout, then said the run did not pause). A thread of its own may block."""
    from prefect.context import FlowRunContext

    context = FlowRunContext.get()
    run = context.flow_run if context is not None else None
    if run is None or str(run.id) != flow_run_id or not asyncio._get_running_loop():
        return
    raise IrgraphError(
        f"{what} was called on the path of flow run {flow_run_id} itself (from on_paused, "
        "say), where the run cannot pause while it waits for the pause. Call it from another "
        "thread or process, e.g. threading.Thread(target=resume_gate, args=(flow_run_id, "
        "answer)).start(), or answer with on_gate instead."
    )


async def resume_when_paused(
    flow_run_id: str, answer: str, *, key: str | None = None, timeout: float
) -> None:
    """Resume a flow run paused at a gate (the one paused under ``key``, if given) with
    ``answer``, first waiting up to ``timeout`` seconds until it is paused there and ready
    for its input. Raises :class:`IrgraphError` if the run finishes, or does not pause in
    time, and Prefect's error if it refuses the resume."""
    from prefect.client.orchestration import get_client
    from prefect.flow_runs import aresume_flow_run

    run_id = flow_run_uuid(flow_run_id, "resume_gate")
    at = f"gate {key!r}" if key is not None else "a gate"
    async with get_client() as client:
        try:
            async with asyncio.timeout(timeout):
                while not await _ready_for_answer(client, run_id, key):
                    await asyncio.sleep(_POLL_SECONDS)
        except TimeoutError:
            raise IrgraphError(
                f"Flow run {flow_run_id} did not pause at {at} within {timeout:g} s, so the "
                "answer was not given; check that the run reaches the gate, or wait longer."
            ) from None
    await aresume_flow_run(run_id, run_input={"value": answer})


async def _ready_for_answer(client: PrefectClient, run_id: UUID, key: str | None) -> bool:
    """Whether the run is paused (at ``key``) and has saved the schema of the input it
    waits for: the server refuses a resume until both hold."""
    from prefect.exceptions import ObjectNotFound, PrefectHTTPStatusError

    try:
        state = (await client.read_flow_run(run_id)).state
    except ObjectNotFound:
        raise IrgraphError(_no_such_run(run_id)) from None
    if state is None:
        return False
    if state.is_final():
        raise IrgraphError(
            f"Flow run {run_id} is {state.type.value}, so it waits at no gate; an answer "
            "can only resume a run that is paused at a gate."
        )
    details = state.state_details
    if not state.is_paused() or (key is not None and details.pause_key != key):
        return False
    keyset = details.run_input_keyset
    if not keyset:
        return True
    try:
        await client.read_flow_run_input(run_id, keyset["schema"])
    except PrefectHTTPStatusError as exc:
        if exc.response.status_code == 404:
            return False
        raise
    return True


def _no_such_run(run_id: UUID) -> str:
    """What a resume of flow run ``run_id`` says when the server has no such run (Prefect
    raised ``ObjectNotFound`` with the message "None")."""
    from prefect.settings import PREFECT_API_URL

    url = PREFECT_API_URL.value()
    where = (
        f"the Prefect server at {url} (from PREFECT_API_URL)"
        if url
        else "this process's temporary Prefect server (PREFECT_API_URL is not set), which "
        "holds no other process's runs"
    )
    return (
        f"There is no flow run {run_id} on {where}, so the answer was not given. Use the id "
        "on_paused is given (its second argument) or the one Prefect's UI shows, on the "
        "server that runs the flow: set PREFECT_API_URL to it."
    )
