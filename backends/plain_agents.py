"""The scheduler's fast path: an agent asked once for text.

Most agents of a long chain are *plain*: no output schema to validate (so one call), no timeout
of their own, in a run with no run timeout, no ``max_concurrency`` slot to wait for, no
``on_event`` handler and no streaming (:attr:`Scheduler.inline
<irgraph.backends.scheduler.Scheduler.inline>`, :attr:`Step.plain
<irgraph.backends.plan.Step.plain>`). The scope's driver runs such an agent itself: it calls
:func:`plain_request`, awaits the provider's own coroutine, and calls :func:`plain_answer`, where
``Scheduler.execute`` would add three coroutines of ours (``execute``, ``agent``, ``ask``) per
agent. What is recorded is the same: start and end events, the call, the state and output;
the call starts and ends when its node does (they share two clock readings where the general
path takes four: a reading of this machine's clock costs about a tenth of a microsecond, some
2% of a chained agent).

Which function makes a plain agent's request is decided when the run is planned
(:attr:`Step.plain_request <irgraph.backends.plan.Step.plain_request>`): most system prompts
read no state and are part of the request fields made once, so :func:`plain_request` never
looks at them; a system prompt that reads the state is filled per call by
:func:`system_plain_request`.
"""

from __future__ import annotations

import time
from collections.abc import MutableMapping
from types import MappingProxyType
from typing import Any, Protocol

from irgraph import providers
from irgraph.empty_prompts import warn_empty_prompt
from irgraph.events import CallLog, TraceLog
from irgraph.providers import ModelRequest, request_from
from irgraph.templates import filled, filled_prompts

__all__ = [
    "PlainRun",
    "PlainStep",
    "latest",
    "plain_answer",
    "plain_request",
    "system_plain_request",
    "agent_prompts",
]

_now = time.monotonic
Path = tuple[tuple[str, int], ...]


class PlainStep(Protocol):
    """What a plain agent's request is made from (a :class:`irgraph.backends.plan.Step`,
    which picks the function that makes it: this module cannot import it back)."""

    id: str
    op: Any
    settings: dict[str, Any]
    request: dict[str, Any]


class PlainRun(Protocol):
    """What a plain agent records in its run (a ``Scheduler``)."""

    provider: Any
    trace: TraceLog
    call_log: CallLog
    outputs: dict[str, Any]
    output_paths: dict[str, Path]
    completed: list[str]
    empty_prompts: set[str]


def plain_request(
    run: PlainRun, step: PlainStep, state: MutableMapping[str, Any], path: Path, begun: float
) -> ModelRequest:
    """Plain agent ``step``'s start event in ``run`` at ``begun``, and the request for its
    prompt."""
    nid = step.id
    trace = run.trace  # Scheduler.emit, inline: there is no on_event handler to tell
    trace.nodes.append(nid)
    trace.starts.append(True)
    trace.times.append(begun)
    trace.paths.append(path)
    template = step.op.template
    simple = template.simple  # filled(template, state) inline, for one {key} of text
    if simple is not None and (key := simple[1]) is not None and type(got := state[key]) is str:
        text, values = simple[0] + got + simple[2], {key: got}
    else:
        text, values = filled(template, state)
    if not text:  # the one check a prompt with text pays
        warn_empty_prompt(run, nid, step.op.name, step.op.template, state)
    settings = providers.fresh_settings(step.settings) if step.settings else {}
    return request_from(step.request, text, MappingProxyType(values), settings)


def system_plain_request(
    run: PlainRun, step: PlainStep, state: MutableMapping[str, Any], path: Path, begun: float
) -> ModelRequest:
    """:func:`plain_request` for an agent whose system prompt reads the state: the request
    carries the system prompt filled from ``state``, and its state view the keys the system
    prompt reads too (after the instruction's)."""
    request = plain_request(run, step, state, path, begun)
    system, values = filled(step.op.system_template, state)
    own = request.__dict__  # a request's fields live there (request_from)
    own["system"] = system
    if values:
        seen = dict(request.state)
        for key, value in values.items():
            seen.setdefault(key, value)
        own["state"] = MappingProxyType(seen)
    return request


def agent_prompts(
    run: PlainRun, step: Any, state: MutableMapping[str, Any]
) -> tuple[str, str, dict[str, Any]]:
    """Agent ``step``'s prompt, system prompt and the values they read (:func:`filled_prompts`)
    for a call the driver does not make itself; a prompt that rendered empty is warned of once
    in ``run``, as :func:`plain_request` warns of it."""
    op = step.op
    prompt, system, values = filled_prompts(op.template, op.system_template, op.system, state)
    if not prompt:
        warn_empty_prompt(run, step.id, op.name, op.template, state)
    return prompt, system, values


def plain_answer(
    run: PlainRun,
    step: PlainStep,
    state: MutableMapping[str, Any],
    path: Path,
    request: ModelRequest,
    begun: float,
    value: Any,
) -> None:
    """Plain agent ``step``'s end in ``run``: ``value``, the provider's answer to ``request``
    (asked at ``begun``), checked and recorded as its call, written to state and outputs;
    then its end event, at the call's end."""
    nid = step.id
    if not isinstance(value, str):
        error = providers.not_text(value, run.provider)
        run.call_log.failed(request, path, begun, error)
        raise error
    end = _now()
    run.call_log.append(  # a Call's fields (CallLog): a first attempt, no feedback, no slot
        (nid, path, request.prompt, value, request.model, 1, begun, end, None, None, 0.0)
    )
    if step.op.writes:
        state[step.op.writes] = value
    if not path or latest(run, nid, path):
        run.outputs[nid] = value
    run.completed.append(nid)
    trace = run.trace
    trace.nodes.append(nid)
    trace.starts.append(False)
    trace.times.append(end)
    trace.paths.append(path)


def latest(run: PlainRun, nid: str, path: Path) -> bool:
    """Whether node ``nid``'s output at ``path`` is the one ``run`` keeps: inside a map-over
    or loop, the last item's and iteration's, in their order (as a sequential run would
    leave it), not whichever finished last."""
    kept = run.output_paths.get(nid)
    if kept is not None and kept > path:
        return False
    run.output_paths[nid] = path
    return True
