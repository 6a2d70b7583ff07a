"""What a Prefect run executes: the code generated flow modules import, shared with the
in-process backend (:mod:`irgraph.backends.prefect_backend`).

A generated module (:func:`~irgraph.backends.prefect_worker.generate_flow_code`) does
``from irgraph.backends.prefect_runtime import ...``, so every flow, generated or in-process,
shares one tested implementation of prompt rendering (:func:`ask`), transforms, loop
predicates (:func:`until_holds`), map-over items (:func:`map_items`, :func:`collected`), the
agent cache key (:func:`agent_cache_key`), routes and gates.

Gates (:func:`pause_key`, :func:`resume_when_paused`, ...) live in
:mod:`irgraph.backends.prefect_gates` and are imported from here, :func:`gate` keeping a dry
run's answers apart (:func:`gate_key`). Routes pick their branch with :func:`choose`; a
structured output is parsed and asked again by :func:`structured_answer`.

Prefect only accepts some names, and irgraph names may be anything: :func:`prefect_name` maps
a pipeline or node name to one Prefect accepts. :data:`TELEMETRY_OFF` are the settings that
keep Prefect from sending usage data, which every run applies unless the user set them.

This module does not import ``prefect`` at import time; the functions that need it do.
"""

from __future__ import annotations

import functools
import inspect
import threading
from collections.abc import Awaitable, Callable, Iterable, Mapping
from types import MappingProxyType
from typing import Any

from irgraph.empty_prompts import warn_empty_prompt
from irgraph.ir import (
    FunctionRef,
    RouteCase,
    RouteNode,
    SequenceNode,
    transform_arguments,
)
from irgraph.ir.outputs import OutputError
from irgraph.ir.values import JsonObject, canonical, kept_value
from irgraph.provider_spec import provider_from_spec
from irgraph.providers import (
    ModelProvider,
    ModelRequest,
    checked_answer,
    fresh_settings,
    makes_answers_up,
)
from irgraph.templates import Template, filled_prompts, parse_template, system_template

from .blocking import call_blocking
from .failures import node_failure
from .outputs import structured_value
from .prefect_failures import as_node, asked, failing, gate_asked, kept, run_record, together
from .prefect_flow_cli import state_from_json  # older generated modules import it here
from .prefect_gates import (  # gates are handed on to generated modules from here
    State,
    answering,
    current_flow_run_id,
    gate_answers,
    pause_key,
    pause_turn,
    resume_when_paused,
    wait_for_answer,
)
from .prefect_gates import gate as _gate
from .prefect_loops import holds, imported, stops, until_holds  # loops, for generated modules
from .prefect_names import Position, is_prefect_name, prefect_name
from .prefect_names import sha256 as _sha256
from .prefect_names import where as _where
from .routes import chosen_branch
from .scheduler import collected, map_items
from .timeouts import late, with_timeout

__all__ = [
    "State",
    "Position",
    "TELEMETRY_OFF",
    "prefect_name",
    "is_prefect_name",
    "model_provider",
    "agent_cache_key",
    "agent_cache_key_fn",
    "agent_cache_key_for",
    "answers_key",
    "agent_run_name",
    "request_cache_key",
    "ask",
    "structured_answer",
    "choose",
    "stops",
    "transform",
    "holds",
    "until_holds",
    "map_items",
    "collected",
    "gate",
    "gate_key",
    "gate_answers",
    "answering",
    "state_from_json",
    "pause_key",
    "current_flow_run_id",
    "pause_turn",
    "wait_for_answer",
    "resume_when_paused",
    "run_record",
    "as_node",
    "together",
]


#: Settings that stop Prefect sending usage data: ``DO_NOT_TRACK`` switches off the client's
#: analytics, the server setting the temporary local server's heartbeat to Prefect. Runs and
#: generated modules apply each one only where the environment does not set it already, so a
#: user opts in by setting it (in the environment: that outranks a Prefect profile).
TELEMETRY_OFF: dict[str, str] = {
    "DO_NOT_TRACK": "1",
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
}


_providers: dict[str, ModelProvider] = {}
_providers_made = threading.Lock()


def model_provider(spec: str) -> ModelProvider:
    """The provider for a spec (``"fake"``, ``"openai:MODEL"``), made once per process.

    Once even when threads ask for it at the same time (``functools.cache`` would make it in
    each of them): making one may build a client, and a test's fake counts its calls. A spec
    that fails is not kept, so every agent call raises its error.
    """
    with _providers_made:
        provider = _providers.get(spec)
        if provider is None:
            provider = _providers[spec] = provider_from_spec(spec)
    return provider


@functools.cache
def _template(text: str) -> Template:
    return parse_template(text)


@functools.cache
def _system_template(text: str) -> Template | None:
    return system_template(text)


# Agents -----------------------------------------------------------------------------------


def agent_cache_key(
    run_key: str | None,
    node: str,
    path: Iterable[tuple[str, int]],
    prompt: str,
    model: str | None,
    *,
    system: str = "",
    settings: Mapping[str, Any] | None = None,
    output_schema: Mapping[str, Any] | None = None,
    attempt: int = 1,
) -> str:
    """The cache key of one agent call (one attempt of it).

    With a run key it is (run key, node id, loop/map position, prompt hash, model, and the
    system prompt, settings, output schema (canonical JSON) and attempt when any is not the
    default): one run never pays twice for the same call, separate runs never share answers,
    and a changed temperature is asked anew. ``run_key=None`` is the opt-in cross-run cache:
    the same request to the same node gets the stored answer.
    """
    where = "/".join(f"{scope}[{index}]" for scope, index in path)
    digest = _sha256(prompt)[:32]
    scope = "shared" if run_key is None else _run_scope(run_key)
    parts = [scope, node, where, digest, model or "-"]
    asked = [system, dict(settings or {}), _plain(output_schema), attempt]
    if asked != ["", {}, None, 1]:  # a plain first call keeps the key it always had
        parts.append(_sha256(canonical(asked)))
    return "irgraph-" + _sha256("\x00".join(parts))


#: What a run key gets when its answers were made up (``FakeProvider``): never a real key's.
MADE_UP = "\x00made-up"


def answers_key(run_key: str | None, provider: Any) -> str | None:
    """The run key a run's agent answers are cached under: ``run_key`` (``None``: shared by
    every run), kept apart when ``provider`` makes its answers up (``FakeProvider``), so a
    later run with a real provider under the same key asks the model rather than getting
    them back."""
    return _apart(run_key) if makes_answers_up(provider) else run_key


def gate_key(run_key: str, provider: Any) -> str:
    """The run key a run's gate answers are kept under (it still pauses under ``run_key``):
    kept apart, as its agents' answers are (:func:`answers_key`), when the run has no provider
    or one that makes answers up. An approval of a try's made-up text approves nothing a real
    run wrote: a real run under the same key asks again, even where the message is the same."""
    return _apart(run_key) if provider is None or makes_answers_up(provider) else run_key


async def gate(
    state: State,
    path: Position,
    run_key: str | None = None,
    *,
    provider: str | None = None,
    **options: Any,
) -> str:
    """A generated module's gate (:func:`.prefect_gates.gate`), its answer kept apart when
    the module's ``provider`` spec makes answers up (:func:`gate_key`; ``None``: an older
    module's call, kept under ``run_key``). It pauses under ``run_key`` all the same."""
    with failing(options["node"], "gate", path):
        if provider is not None and _spec_made_up(provider):
            options["kept_as"] = _apart(current_flow_run_id() if run_key is None else run_key)
        gate_asked(options["node"], path, options["message"], state)
        return kept(options["node"], path, await _gate(state, path, run_key, **options))


def _spec_made_up(spec: str) -> bool:
    """Whether the provider of ``spec`` makes its answers up; a spec that cannot be made
    counts as real here (its agents' calls raise the spec's error, naming it)."""
    try:
        return _spec_makes_answers_up(spec)
    except Exception:
        return False


def _apart(run_key: str | None) -> str:
    """The run key made-up answers are cached under, never a real run key."""
    return MADE_UP if run_key is None else run_key + MADE_UP


@functools.cache
def _spec_makes_answers_up(spec: str) -> bool:
    """Whether the provider of ``spec`` makes its answers up: asked once per process, not at
    every agent call (making a provider may build a client)."""
    return makes_answers_up(model_provider(spec))


@functools.lru_cache(maxsize=256)
def _run_scope(run_key: str) -> str:
    """A run key's part of its calls' cache keys; the same for every call of a run, so it is
    hashed once (a flow run hashed it per agent, #20)."""
    return _sha256(run_key)[:16]


def request_cache_key(run_key: str | None, request: ModelRequest, path: Position) -> str:
    """:func:`agent_cache_key` of a request at a loop/map position."""
    return agent_cache_key(
        run_key,
        request.node,
        path,
        request.prompt,
        request.model,
        system=request.system,
        settings=request.settings,
        output_schema=request.output_schema,
        attempt=request.attempt,
    )


def _plain(schema: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if schema is None:
        return None
    return schema.to_dict() if isinstance(schema, JsonObject) else dict(schema)


def agent_cache_key_fn(context: Any, parameters: dict[str, Any]) -> str:
    """A task's ``cache_key_fn``: :func:`request_cache_key` of the call's run key, request
    and position."""
    return request_cache_key(parameters["run_key"], parameters["request"], parameters["path"])


def agent_cache_key_for(spec: str) -> Callable[[Any, dict[str, Any]], str]:
    """The ``cache_key_fn`` of a generated module's agent tasks, whose provider is ``spec``:
    :func:`agent_cache_key_fn`, with made-up answers (``"fake"``) kept apart by
    :func:`answers_key`, so a module regenerated for a real provider asks the model under a
    run key a fake run used."""

    def cache_key(context: Any, parameters: dict[str, Any]) -> str:
        run_key = parameters["run_key"]
        return request_cache_key(
            _apart(run_key) if _spec_made_up(spec) else run_key,
            parameters["request"],
            parameters["path"],
        )

    return cache_key


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
    system: str = "",
    settings: Mapping[str, Any] | None = None,
    output: Mapping[str, Any] | None = None,
    retries: int = 0,
) -> Any:
    """Render an agent's prompt and system prompt from state, ask its cached task (each
    attempt a task run of its own, see :func:`structured_answer`), store the answer: the
    text, or with an ``output`` schema the parsed value. What fails is the run's RunError at
    the agent (:func:`~irgraph.backends.prefect_failures.failing`)."""
    with failing(node, "agent", path) as record:
        template = _template(instruction)
        prompt, system, values = filled_prompts(template, _system_template(system), system, state)
        if not prompt:  # warned of once per run (None: a runtime call outside a flow's record)
            warn_empty_prompt(record, node, name, template, state)
        request = ModelRequest(
            *(node, name, prompt, model, MappingProxyType(values)),
            system=system,
            settings=fresh_settings(settings or {}),
            output_schema=output,
        )
        try:
            answer = await _answer(asked(agent_task, path, run_key), request, retries)
        except TimeoutError as error:
            if not _task_timed_out(error):  # the provider's own, told as it is
                raise
            raise late(getattr(agent_task, "timeout_seconds", 0.0)) from error
        if writes is not None:
            state[writes] = answer
        kept(node, path, answer)
        return answer


def _task_timed_out(error: TimeoutError) -> bool:
    """Whether ``error`` is Prefect's timeout of an agent's task (its ``timeout_seconds``), which
    a run says as the scheduler says a node's timeout."""
    return type(error).__name__ == "TaskRunTimeoutError"


async def structured_answer(
    call: Callable[[ModelRequest], Awaitable[Any]], request: ModelRequest, retries: int
) -> Any:
    """``call(request)``'s text; with ``request.output_schema``, the value of the first reply
    that matches it, asked again up to ``retries`` times as the scheduler does
    (:func:`~irgraph.backends.outputs.structured_value`), then the run's :class:`RunError` at
    the node, with the schema error and the raw reply."""
    try:
        return await _answer(call, request, retries)
    except OutputError as error:
        raise node_failure(request.node, error) from error


async def _answer(
    call: Callable[[ModelRequest], Awaitable[Any]], request: ModelRequest, retries: int
) -> Any:
    """:func:`structured_answer`, an answer that matches no schema its ``OutputError``."""

    async def text(asking: ModelRequest) -> str:
        return checked_answer(await call(asking))

    if request.output_schema is None:
        return await text(request)
    return await structured_value(request, retries, text)


# Transforms, loops, map-overs -------------------------------------------------------------


async def transform(
    state: State,
    *,
    node: str,
    function: str,
    reads: tuple[str, ...],
    writes: str | None,
    timeout: float | None = None,
    path: Position = (),
) -> Any:
    """Call a transform's function (an import path) with the keys it reads; store the result.
    A plain function runs off the event loop (as the scheduler runs it), so its timeout fires
    even when it blocks. What fails is the run's RunError at the transform (at ``path``)."""
    with failing(node, "transform", path):
        fn = imported(function)

        async def called() -> Any:
            args, kwargs = transform_arguments(fn, reads, state)
            if inspect.iscoroutinefunction(fn):
                value = await fn(*args, **kwargs)
            else:
                value = await call_blocking(fn, *args, **kwargs)
            return kept_value(await value if inspect.isawaitable(value) else value, node)

        value = await with_timeout(called(), timeout, ("transform", node, fn))
        if writes is not None:
            state[writes] = value
        return kept(node, path, value)


# Routes -----------------------------------------------------------------------------------


async def choose(
    state: State,
    *,
    node: str,
    on: str | None,
    cases: tuple[tuple[str, Any], ...],
    path: Position = (),
) -> int:
    """The index of the branch route ``node`` (at ``path``) runs: its first case that holds,
    each case ``("equals", value)``, ``("test", "module:name")`` or ``("otherwise", None)``,
    chosen as the scheduler chooses (:func:`~irgraph.backends.routes.chosen_branch`). No case
    holding is the run's :class:`RunError` at the route."""
    with failing(node, "route", path, ends=False):
        return await chosen_branch(node, _route(node, on, cases), state)


@functools.cache
def _route(node: str, on: str | None, cases: tuple[tuple[str, Any], ...]) -> RouteNode:
    """A route with these cases (its branches stand-ins: generated code runs the real ones)."""
    made = [RouteCase(k, FunctionRef(v) if k == "test" else v) for k, v in cases]
    stand_ins = tuple(SequenceNode(f"{node}[{index}]") for index in range(len(made)))
    return RouteNode(node, stand_ins, on=on, cases=tuple(made))
