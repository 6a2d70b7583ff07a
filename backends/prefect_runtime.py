"""What a Prefect run executes: the code generated flow modules import, shared with the
in-process backend (:mod:`irgraph.backends.prefect_backend`).

A generated module (:func:`~irgraph.backends.prefect_worker.generate_flow_code`) does
``from irgraph.backends.prefect_runtime import ...``, so every flow, generated or in-process,
shares one tested implementation of prompt rendering (:func:`ask`), transforms, loop
predicates (:func:`holds`), map-over items (:func:`items_of`, :func:`collected`), the agent
cache key (:func:`agent_cache_key`) and gates (:func:`gate`, :func:`pause_key`).

This module does not import ``prefect`` at import time; the functions that need it do.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import inspect
import re
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from types import MappingProxyType
from typing import Any, TypeAlias

from irgraph.ir import FunctionRef, resolve_function
from irgraph.provider_spec import provider_from_spec
from irgraph.providers import ModelProvider, ModelRequest
from irgraph.templates import Template, parse_template, render, template_values

from .scheduler import collected, map_items

__all__ = [
    "State",
    "Position",
    "model_provider",
    "agent_cache_key",
    "agent_cache_key_fn",
    "agent_run_name",
    "ask",
    "transform",
    "holds",
    "items_of",
    "collected",
    "gate",
    "pause_key",
]

State: TypeAlias = MutableMapping[str, Any]
Position: TypeAlias = tuple[tuple[str, int], ...]  # (loop or map-over id, index) pairs


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
    digest = hashlib.sha256(prompt.encode("utf-8")).hexdigest()[:32]
    scope = "shared" if run_key is None else hashlib.sha256(run_key.encode()).hexdigest()[:16]
    parts = [scope, node, where, digest, model or "-"]
    return "irgraph-" + hashlib.sha256("\x00".join(parts).encode()).hexdigest()


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
    """A task's ``task_run_name``: the node id and its position, e.g. ``critic[2]``."""
    return _where(parameters["request"].node, parameters["path"])


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
    """Call a transform's function (an import path) with the keys it reads; store the result."""
    fn = _imported(function)
    async with asyncio.timeout(timeout):
        value = fn(**{key: state[key] for key in reads})
        if inspect.isawaitable(value):
            value = await value
    if writes is not None:
        state[writes] = value
    return value


def holds(predicate: str, state: State) -> bool:
    """Whether a loop's stop predicate (an import path) holds for the state."""
    return bool(_imported(predicate)(MappingProxyType(state)))


items_of = map_items  # the name generated code uses


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
    digest = hashlib.sha256(where.encode("utf-8", "surrogatepass")).hexdigest()[:12]
    return f"gate-{readable}-{digest}" if readable else f"gate-{digest}"


async def gate(
    state: State, path: Position, *, node: str, message: str, writes: str | None, timeout: int
) -> str:
    """Pause the flow run until someone resumes it with an answer (a string), e.g.
    :func:`~irgraph.backends.prefect_backend.resume_gate`."""
    from prefect.flow_runs import apause_flow_run
    from prefect.logging import get_run_logger

    template = _template(message)
    text = render(template, template_values(template, state))
    get_run_logger().info("Gate %r waits for an answer: %s", _where(node, path), text)
    answer: str = await apause_flow_run(
        wait_for_input=str, timeout=timeout, poll_interval=1, key=pause_key(node, path)
    )
    if writes is not None:
        state[writes] = answer
    return answer
