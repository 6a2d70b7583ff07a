"""Running a pipeline's own code at a node: a transform's function and a gate's handler.

Both may be synchronous and block (then they run on a worker thread,
:mod:`irgraph.backends.blocking`, so a timeout holds and parallel branches go on) or async; an
awaitable they return is awaited. :class:`~irgraph.backends.scheduler.Scheduler` calls these and
writes what they return to state once the node's timer has not run out.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping, MutableMapping
from types import MappingProxyType
from typing import Any

import attrs

from irgraph.errors import PipelineError
from irgraph.events import GateAsk
from irgraph.ir import resolve_function, transform_arguments
from irgraph.ir.values import kept_value
from irgraph.templates import filled

from .blocking import call_blocking
from .plan import Step
from .run_options import gate_answer

__all__ = ["GateRequest", "transform_value", "gate_value"]


@attrs.frozen
class GateRequest:
    """What an ``on_gate`` handler receives: the gate, its rendered message, a view of state."""

    node: str
    name: str
    message: str
    state: Mapping[str, Any]


async def transform_value(step: Step, state: MutableMapping[str, Any], path: Any = ()) -> Any:
    """What transform ``step``'s function returns for ``state`` (the function is imported on
    the step's first run and kept on it); ``path``, where it runs, as a gate's, is not used."""
    op = step.op
    fn = step.fn
    if fn is None:
        fn = resolve_function(op.fn)
        step.blocking = not inspect.iscoroutinefunction(fn)
        step.fn = fn  # last: a concurrent run that sees fn sees blocking too
    args, kwargs = transform_arguments(fn, op.reads, state)
    if step.blocking:
        value = await call_blocking(fn, *args, **kwargs)
    else:
        value = fn(*args, **kwargs)
    if inspect.isawaitable(value):
        value = await value
    return kept_value(value, step.id)


async def gate_value(
    step: Step,
    state: MutableMapping[str, Any],
    on_gate: Callable[[GateRequest], Any] | None,
    blocking: bool,
    asks: list[GateAsk] | None = None,
    path: tuple[tuple[str, int], ...] = (),
) -> Any:
    """``on_gate``'s answer to gate ``step`` (``blocking``: a synchronous handler, run on a
    worker thread), checked; refused when there is no handler. What the gate asks at
    ``path`` is added to ``asks`` first."""
    op = step.op
    if on_gate is None:
        raise PipelineError(
            f"Gate '{step.id}' was reached but no on_gate handler was given.",
            node=step.id,
            hint="Pass on_gate=handler to run()/arun(): it gets a GateRequest and returns "
            "the answer (it may be async).",
        )
    message, values = filled(op.template, state)
    request = GateRequest(step.id, op.name, message, MappingProxyType(values))
    if asks is not None:
        asks.append(GateAsk(step.id, path, request.message))
    answer = await call_blocking(on_gate, request) if blocking else on_gate(request)
    if inspect.isawaitable(answer):
        answer = await answer
    gate_answer(answer, on_gate, step.id, op.writes)
    return answer
