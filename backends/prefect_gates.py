"""Gates on Prefect: pause a flow run until a human answers, and resume it with the answer.

A gate has two sides. The flow pauses under a key unique to the run key, the gate, its loop/map
position and its message (:func:`pause_key`, :func:`wait_for_answer`); whoever answers resumes
it with :func:`resume_when_paused`, which first waits until the run really is paused at that
gate and ready for input. Prefect pauses in two steps (the run's state becomes Paused, then the
flow saves the schema of the input it waits for), and a resume before either step is refused,
so an answer that is ready early waits for both instead of being lost.

A flow run can be paused at one gate at a time: Prefect refuses a second pause while the run is
paused ("Cannot pause flows that are not currently running"). Gates that wait at once — in
parallel branches, or in the items of a map-over — therefore take turns (:func:`pause_turn`, a
lock per flow run): each pauses, is answered and resumes before the next pauses, in the order
they arrived. Branches without a gate keep running meanwhile. Combining simultaneous gates
into one pause would ask several questions with one answer and break :func:`resume_when_paused`
for whoever answers from outside (one answer per pause); taking turns keeps every gate one
pause, one question and one answer.

:mod:`irgraph.backends.prefect_runtime` hands these on to generated flow modules. This module
does not import ``prefect`` at import time; the functions that need it do.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import functools
import re
from collections import Counter
from collections.abc import (
    AsyncIterator,
    Awaitable,
    Callable,
    Iterator,
    Mapping,
    MutableMapping,
    Sequence,
)
from types import MappingProxyType
from typing import TYPE_CHECKING, Any
from uuid import UUID

from irgraph import gate_answers as answer_pairs
from irgraph.errors import IrgraphError
from irgraph.templates import filled, parse_template

from .prefect_failures import cache_hit
from .prefect_names import Position, flow_run_uuid, prefect_name, sha256, where

if TYPE_CHECKING:
    from prefect.client.orchestration import PrefectClient

__all__ = [
    "refuse_unanswerable",
    "refuse_on_own_path",
    "gate",
    "gate_cache_key",
    "gate_answers",
    "answering",
    "answered_once",
    "kept_then_resumed",
    "pause_key",
    "current_flow_run_id",
    "pause_turn",
    "wait_for_answer",
    "resume_when_paused",
]

State = MutableMapping[str, Any]

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


async def gate(
    state: State,
    path: Position,
    run_key: str | None = None,
    *,
    node: str,
    message: str,
    writes: str | None,
    timeout: int,
    storage: Any = None,
    kept_as: str | None = None,
) -> str:
    """Pause the flow run until someone resumes it with an answer (a string), e.g.
    :func:`~irgraph.backends.prefect_backend.resume_gate`. The answer is kept as a cached
    task's result (:func:`answered_once`) under ``run_key`` (default: the flow run id), or
    ``kept_as`` if given (a dry run's answers, kept apart), in ``storage`` (default:
    Prefect's result storage), so a retried or resumed run does not ask again."""
    from prefect.logging import get_run_logger

    template = parse_template(message, field="message")
    text = filled(template, state)[0]

    key = current_flow_run_id() if run_key is None else run_key

    async def asking() -> str:
        paused_as = pause_key(node, path, key, text)
        async with pause_turn() as flow_run_id:
            get_run_logger().info("Gate %r waits for an answer: %s", where(node, path), text)
            given = _given.get().get(node)
            answering = None
            if given is not None:  # from the command line: resume the pause with it
                answering = kept_then_resumed(flow_run_id, given, key=paused_as, timeout=timeout)
            return await wait_for_answer(paused_as, timeout=timeout, answering=answering)

    kept = key if kept_as is None else kept_as  # an older irgraph's module kept it under key
    answer, _ = await answered_once(asking, kept, node, path, text, storage=storage, before=key)
    if writes is not None:
        state[writes] = answer
    return answer


_given: contextvars.ContextVar[Mapping[str, str]] = contextvars.ContextVar(
    "irgraph_gate_answers", default=MappingProxyType({})
)


def gate_answers(gates: Mapping[str, str], pairs: Sequence[str]) -> dict[str, str]:
    """Each gate's answer given as ``GATE=VALUE`` pairs (a generated module's ``run
    --answer``), by gate id, for :func:`answering`; ``gates`` maps each gate's id to its name,
    and a pair may name either. The checks and words are ``irgraph run --answer``'s
    (:mod:`irgraph.gate_answers`), raised as ``ValueError``; a gate without an answer is
    refused too when the run has only a temporary server, where nobody else could answer it;
    with ``PREFECT_API_URL`` set it waits for someone to resume it there."""
    given = answer_pairs.parse_answers(pairs, ValueError)
    answers, unanswered = answer_pairs.answers_by_id(gates, given, ValueError)
    if unanswered and not _api_url():
        raise ValueError(
            answer_pairs.unanswered_message(
                unanswered, "and on a temporary Prefect server nobody else can answer"
            )
            + " (or set PREFECT_API_URL and resume the run there)."
        )
    return answers


def refuse_unanswerable(gates: Sequence[str]) -> None:
    """Refuse a run that would pause at ``gates`` with nobody to answer: no ``on_gate`` and no
    ``on_paused`` handler, on a temporary server only this process reaches (it would wait for
    the gate timeout, an hour by default, and fail). Call it with the gates of such a run."""
    if gates and not _api_url():
        which = ", ".join(map(repr, gates))
        raise IrgraphError(
            f"The pipeline stops at the gate(s) {which} to ask a person, but this run has no "
            "on_gate or on_paused handler and runs on a temporary Prefect server nobody else "
            "can reach, so nobody could answer: it would wait for the gate timeout and fail. "
            "Pass on_gate=handler (it gets the gate's request and returns the answer), or "
            "on_paused=handler to resume it yourself with resume_gate, or set PREFECT_API_URL "
            "to a server where a person can resume it."
        )


def _api_url() -> str | None:
    from prefect.settings import PREFECT_API_URL

    url: str | None = PREFECT_API_URL.value()
    return url


@contextlib.contextmanager
def answering(answers: Mapping[str, str]) -> Iterator[None]:
    """Within the block, the gates of a run started here answer themselves with ``answers``
    (by gate id, from :func:`gate_answers`): each still pauses, and is resumed with its
    answer as soon as it is paused."""
    token = _given.set(dict(answers))
    try:
        yield
    finally:
        _given.reset(token)


def gate_cache_key(run_key: str, node: str, path: Position, message: str) -> str:
    """The key a gate's answer is kept under: the run key, the gate's id, its loop/map
    position and a hash of its rendered message. A retried or resumed run finds the answer
    given before; another run, another iteration, or the same gate asking something else
    (its message changed with the state) asks anew."""
    at = "/".join(f"{scope}[{index}]" for scope, index in path)
    parts = [sha256(run_key)[:16], node, at, sha256(message)[:32]]
    return "irgraph-gate-" + sha256("\x00".join(parts))


async def answered_once(
    asking: Callable[[], Awaitable[str]],
    run_key: str,
    node: str,
    path: Position,
    message: str,
    *,
    storage: Any = None,
    before: str | None = None,
) -> tuple[str, bool]:
    """``asking()``'s answer, run as a Prefect task whose result is persisted under
    :func:`gate_cache_key`, and whether it came from that cache (asked before, by this run
    or one with the same run key) rather than from asking now. A gate asks a person, so
    as an agent's answer its answer is never paid for twice: a flow retry, or a new process
    resuming with the same run key and result storage, does not pause there again.

    ``before`` is the run key an older irgraph kept this answer under (a dry run's gates were
    kept under the run key itself): with nothing kept under ``run_key``, an answer kept under
    ``before`` is taken, so a dry run is not asked again after an upgrade."""
    from prefect.states import get_state_result

    gate_task = _gate_task(node, storage)
    key = gate_cache_key(run_key, node, path, message)
    if before is not None and before != run_key and not await _kept(gate_task, key):
        older = gate_cache_key(before, node, path, message)
        if await _kept(gate_task, older):
            key = older
    state = await gate_task(asking, key, prefect_name(where(node, path)), return_state=True)
    answer: str = await get_state_result(state)
    return answer, cache_hit(node, state.name == "Cached")  # a generated flow's record notes it


async def _kept(gate_task: Any, key: str) -> bool:
    """Whether an answer is kept under ``key`` where ``gate_task`` keeps its results."""
    from prefect.results import get_result_store

    store = await get_result_store().aupdate_for_task(gate_task)
    return bool(await store.aexists(key))


@functools.cache
def _gate_task(node: str, storage: Any) -> Any:
    """The cached Prefect task that waits for gate ``node``'s answer, made once per node."""
    from prefect import task

    return task(
        name=prefect_name(node),
        persist_result=True,
        cache_key_fn=_cache_key_parameter,
        result_storage=storage,
        retries=0,
        task_run_name="{where}",
        log_prints=False,
    )(_wait)


async def _wait(asking: Callable[[], Awaitable[str]], cache_key: str, where: str) -> str:
    """What a gate's task does: wait for the answer. ``cache_key`` is what the task is cached
    under; ``where`` names the task run (gate and loop/map position)."""
    return await asking()


def _cache_key_parameter(context: Any, parameters: dict[str, Any]) -> str:
    return str(parameters["cache_key"])


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
    string) and return the answer; ``FlowPauseTimeout`` after ``timeout`` seconds. Call it
    inside :func:`pause_turn`, so no other gate of the run pauses meanwhile.

    ``answering``, if given, runs meanwhile and is what resumes the run (it ends with
    :func:`resume_when_paused`): if it fails, the pause ends with its error at once instead
    of waiting out the timeout; if the pause ends first, it is cancelled.
    """
    from prefect.flow_runs import apause_flow_run

    runs_before = await _run_count()
    answer = await _paused(
        apause_flow_run(wait_for_input=str, timeout=timeout, poll_interval=1, key=key), answering
    )
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
    from prefect.exceptions import PrefectHTTPStatusError

    state = (await client.read_flow_run(run_id)).state
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
