"""What a Prefect run executes: the code generated flow modules import, shared with the
in-process backend (:mod:`irgraph.backends.prefect_backend`).

A generated module (:func:`~irgraph.backends.prefect_worker.generate_flow_code`) does
``from irgraph.backends.prefect_runtime import ...``, so every flow, generated or in-process,
shares one tested implementation of prompt rendering (:func:`ask`), transforms, loop
predicates (:func:`holds`), map-over items (:func:`map_items`, :func:`collected`), the agent
cache key (:func:`agent_cache_key`) and gates.

A gate has two sides. The flow pauses under a key unique to the gate and its loop/map position
(:func:`pause_key`, :func:`wait_for_answer`); whoever answers resumes it with
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

Prefect only accepts some names, and irgraph names may be anything: :func:`prefect_name` maps
a pipeline or node name to one Prefect accepts. :data:`TELEMETRY_OFF` are the settings that
keep Prefect from sending usage data, which every run applies unless the user set them.

This module does not import ``prefect`` at import time; the functions that need it do.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
import inspect
import re
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, MutableMapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, TypeAlias
from uuid import UUID

from irgraph.errors import IrgraphError
from irgraph.ir import FunctionRef, resolve_function, transform_arguments
from irgraph.provider_spec import provider_from_spec
from irgraph.providers import ModelProvider, ModelRequest
from irgraph.templates import Template, parse_template, render, template_values

from .blocking import call_blocking
from .scheduler import collected, map_items

if TYPE_CHECKING:
    from prefect.client.orchestration import PrefectClient

__all__ = [
    "State",
    "Position",
    "TELEMETRY_OFF",
    "prefect_name",
    "is_prefect_name",
    "model_provider",
    "agent_cache_key",
    "agent_cache_key_fn",
    "agent_run_name",
    "ask",
    "transform",
    "holds",
    "map_items",
    "collected",
    "gate",
    "pause_key",
    "current_flow_run_id",
    "pause_turn",
    "wait_for_answer",
    "resume_when_paused",
]

State: TypeAlias = MutableMapping[str, Any]
Position: TypeAlias = tuple[tuple[str, int], ...]  # (loop or map-over id, index) pairs

_POLL_SECONDS = 0.05  # how often an answer checks whether its gate has paused yet

#: Settings that stop Prefect sending usage data: ``DO_NOT_TRACK`` switches off the client's
#: analytics, the server setting the temporary local server's heartbeat to Prefect. Runs and
#: generated modules apply each one only where the environment does not set it already, so a
#: user opts in by setting it (in the environment: that outranks a Prefect profile).
TELEMETRY_OFF: dict[str, str] = {
    "DO_NOT_TRACK": "1",
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
}


@functools.cache
def model_provider(spec: str) -> ModelProvider:
    """The provider for a spec (``"fake"``, ``"openai:MODEL"``), made once per process."""
    return provider_from_spec(spec)


@functools.cache
def _template(text: str) -> Template:
    return parse_template(text)


@functools.cache
def _imported(ref: str) -> Callable[..., Any]:
    return resolve_function(FunctionRef(ref))


# Names ------------------------------------------------------------------------------------

# Prefect refuses / % & < > in a flow name (prefect.types.names.BANNED_CHARACTERS); its HTTP
# client cannot send control characters (in a header) or lone surrogates (as UTF-8) either.
_REFUSED = re.compile("[/%&<>\x00-\x1f\x7f-\x9f\ud800-\udfff]+")
_NAME_LIMIT = 80  # longer names are shortened: they are labels in Prefect's UI


def is_prefect_name(value: Any) -> bool:
    """Whether Prefect accepts ``value`` as the name of a flow, task, deployment or work pool:
    a string that is not blank or only quotes, without ``/ % & < >`` or control characters.

    >>> is_prefect_name("research v2"), is_prefect_name("research/v2"), is_prefect_name("' '")
    (True, False, False)
    """
    return isinstance(value, str) and bool(value.strip("'\" ")) and _REFUSED.search(value) is None


def prefect_name(name: str) -> str:
    """The name Prefect knows a pipeline or node ``name`` by, for flows, tasks and runs.

    A name Prefect accepts, of at most 80 characters, is kept as it is. Any other is made
    readable — each run of refused characters becomes ``-``, and it is cut to fit — and gets
    8 hex digits of a hash of the original, so the same name always gives the same Prefect
    name and two different names do not share one:

    >>> prefect_name("research"), prefect_name("research/v2")
    ('research', 'research-v2-bca81bb8')
    """
    if is_prefect_name(name) and len(name) <= _NAME_LIMIT:
        return name
    digest = _sha256(name)[:8]
    readable = _REFUSED.sub("-", name)[: _NAME_LIMIT - 9].strip(" -")
    return f"{readable}-{digest}" if readable.strip("'\" -") else f"irgraph-{digest}"


# Agents -----------------------------------------------------------------------------------


def agent_cache_key(
    run_key: str | None, node: str, path: Iterable[tuple[str, int]], prompt: str, model: str | None
) -> str:
    """The cache key of one agent call.

    With a run key it is (run key, node id, loop/map position, prompt hash, model): one run
    never pays twice for the same call, and separate runs never share answers. ``run_key=None``
    is the opt-in cross-run cache: the same prompt to the same node gets the stored answer.
    """
    where = "/".join(f"{scope}[{index}]" for scope, index in path)
    digest = _sha256(prompt)[:32]
    scope = "shared" if run_key is None else _sha256(run_key)[:16]
    parts = [scope, node, where, digest, model or "-"]
    return "irgraph-" + _sha256("\x00".join(parts))


def _sha256(text: str) -> str:
    # surrogatepass: a name or prompt may hold a lone surrogate, which UTF-8 cannot encode
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def agent_cache_key_fn(context: Any, parameters: dict[str, Any]) -> str:
    """A task's ``cache_key_fn``: :func:`agent_cache_key` of the call's run key, node,
    position, prompt and model."""
    request: ModelRequest = parameters["request"]
    return agent_cache_key(
        parameters["run_key"], request.node, parameters["path"], request.prompt, request.model
    )


def _where(node: str, path: Position) -> str:
    """A node at a loop/map position, as task runs are named: ``critic[2]``."""
    return node + "".join(f"[{i}]" for _, i in path)


def agent_run_name(parameters: dict[str, Any]) -> str:
    """A task's ``task_run_name``: the node id and its position, e.g. ``critic[2]`` (as
    :func:`prefect_name` makes it)."""
    return prefect_name(_where(parameters["request"].node, parameters["path"]))


async def ask(
    agent_task: Callable[[ModelRequest, Position, str | None], Awaitable[str]],
    state: State,
    path: Position,
    run_key: str | None,
    *,
    node: str,
    name: str,
    instruction: str,
    model: str | None,
    writes: str | None,
) -> str:
    """Render an agent's prompt from state, await its cached task, store the answer."""
    template = _template(instruction)
    values = template_values(template, state)
    request = ModelRequest(node, name, render(template, values), model, MappingProxyType(values))
    answer = await agent_task(request, path, run_key)
    if not isinstance(answer, str):
        raise TypeError(
            f"the provider answered {type(answer).__name__} {answer!r}; complete() must "
            "return a str"
        )
    if writes is not None:
        state[writes] = answer
    return answer


# Transforms, loops, map-overs -------------------------------------------------------------


async def transform(
    state: State,
    *,
    node: str,
    function: str,
    reads: tuple[str, ...],
    writes: str | None,
    timeout: float | None = None,
) -> Any:
    """Call a transform's function (an import path) with the keys it reads; store the result.
    A plain function runs off the event loop (as the scheduler runs it), so its timeout fires
    even when it blocks."""
    fn = _imported(function)
    async with asyncio.timeout(timeout):
        args, kwargs = transform_arguments(fn, reads, state)
        if inspect.iscoroutinefunction(fn):
            value = await fn(*args, **kwargs)
        else:
            value = await call_blocking(fn, *args, **kwargs)
        if inspect.isawaitable(value):
            value = await value
    if writes is not None:
        state[writes] = value
    return value


def holds(predicate: str, state: State) -> bool:
    """Whether a loop's stop predicate (an import path) holds for the state."""
    return bool(_imported(predicate)(MappingProxyType(state)))


# Gates ------------------------------------------------------------------------------------


def pause_key(node: str, path: Position) -> str:
    """The pause key of a gate at a position: unique per node and loop/map position (so a
    gate in a loop pauses every iteration) and made of what Prefect allows in run-input
    keys: lowercase letters, digits and dashes.

    >>> pause_key("Approve plan", (("review", 1),))
    'gate-approve-plan-1-...'
    """
    where = _where(node, path)
    readable = re.sub(r"[^a-z0-9]+", "-", where.lower()).strip("-")[:40].strip("-")
    digest = _sha256(where)[:12]
    return f"gate-{readable}-{digest}" if readable else f"gate-{digest}"


async def gate(
    state: State, path: Position, *, node: str, message: str, writes: str | None, timeout: int
) -> str:
    """Pause the flow run until someone resumes it with an answer (a string), e.g.
    :func:`~irgraph.backends.prefect_backend.resume_gate`."""
    from prefect.logging import get_run_logger

    template = _template(message)
    text = render(template, template_values(template, state))
    async with pause_turn():
        get_run_logger().info("Gate %r waits for an answer: %s", _where(node, path), text)
        answer = await wait_for_answer(pause_key(node, path), timeout=timeout)
    if writes is not None:
        state[writes] = answer
    return answer


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

    pausing = apause_flow_run(wait_for_input=str, timeout=timeout, poll_interval=1, key=key)
    if answering is None:
        answer: str = await pausing
        return answer
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


async def resume_when_paused(
    flow_run_id: str, answer: str, *, key: str | None = None, timeout: float
) -> None:
    """Resume a flow run paused at a gate (the one paused under ``key``, if given) with
    ``answer``, first waiting up to ``timeout`` seconds until it is paused there and ready
    for its input. Raises :class:`IrgraphError` if the run finishes, or does not pause in
    time, and Prefect's error if it refuses the resume."""
    from prefect.client.orchestration import get_client
    from prefect.flow_runs import aresume_flow_run

    run_id = UUID(flow_run_id)
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
