"""The run options every executing backend takes, and the one check of each.

A provider, the ``on_event`` and ``on_gate`` handlers, ``max_concurrency`` (or a
``call_limit`` shared with other runs) and ``timeout`` are refused here before any node starts,
with a message that says what was given and what fits;
backends check their constructor's options with the same rules (``LIMIT``, ``TIMEOUT``).
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Mapping
from typing import Any

from irgraph import checks
from irgraph.errors import IrgraphError, PipelineError
from irgraph.gate_answers import answer_problem
from irgraph.ir.identity import handler_name

__all__ = [
    "ASYNC_ON_EVENT",
    "ASYNC_ON_EVENT_HINT",
    "LIMIT",
    "TIMEOUT",
    "check_call_limit",
    "check_on_event",
    "check_one_argument",
    "check_provider",
    "check_run_options",
    "check_on_gate",
    "gate_answer",
    "handler_name",
    "is_async_callable",
    "refuse_awaitable",
]

_HOOK = checks.optional(checks.function)
#: The rules for run options that backends and their constructors share.
LIMIT = checks.optional(checks.count())
TIMEOUT = checks.optional(checks.seconds())


def check_provider(provider: Any, where: str = "The provider") -> Any:
    """``provider`` if it has a ``complete()`` method, else the error that says what one is."""
    if isinstance(provider, type) and callable(getattr(provider, "complete", None)):
        raise IrgraphError(
            f"{where} is the class {provider.__name__}, not a provider: its complete() needs "
            f"an instance to be called on. Pass {provider.__name__}() (with its arguments)."
        )
    if not callable(getattr(provider, "complete", None)):
        if isinstance(provider, (str, int, float)):
            shown = f"{provider!r} of type {type(provider).__name__}"
        else:  # a repr may hold a memory address: name the thing instead
            named = getattr(provider, "__qualname__", None)
            shown = f"the {type(provider).__name__} {named}" if named else type(provider).__name__
        if isinstance(provider, str):  # a spec, as the command line's --provider takes
            raise IrgraphError(
                f"{where} ({shown}) has no complete() method: a spec string is what the "
                "command line's --provider takes, and a provider in Python is an object. Make "
                f"it from the spec, provider_from_spec({provider!r}) (from irgraph.provider_spec "
                "import provider_from_spec), or pass irgraph.testing.FakeProvider()."
            )
        raise IrgraphError(
            f"{where} ({shown}) has no complete() "
            "method. A provider is any object with: async def complete(self, request) -> str; "
            "irgraph.testing.FakeProvider() answers without a model."
        )
    return provider


def check_run_options(
    provider: Any, on_event: Any, on_gate: Any, max_concurrency: Any, timeout: Any
) -> None:
    """Refuse bad run options before any node starts (they would fail mid-run otherwise)."""
    check_provider(provider)
    check_on_event(on_event)
    check_on_gate(on_gate, "the run option on_gate")
    if on_gate is not None:
        check_one_argument(on_gate, "on_gate", "a GateRequest", "def on_gate(request): ...")
    LIMIT.check(max_concurrency, "the run option max_concurrency")
    TIMEOUT.check(timeout, "the run option timeout")


def check_on_gate(on_gate: Any, where: str) -> None:
    """Refuse an ``on_gate`` that is not a function, a dict of answers told how to give it."""
    if isinstance(on_gate, Mapping):  # the answers by gate name, as --answer gives them
        raise PipelineError(
            f"{where[0].upper()}{where[1:]} must be a function, or None (got the dict "
            f"{on_gate!r:.100}); it is called with each gate's request and returns the answer.",
            hint="To answer from a dict by gate name, pass on_gate=lambda request: "
            "answers[request.name] (request.node is the gate's id, as 'approve#2').",
        )
    _HOOK.check(on_gate, where)


def check_on_event(on_event: Any) -> None:
    """Refuse an ``on_event`` run option that is not a plain function (``None``: none)."""
    _HOOK.check(on_event, "the run option on_event")
    if on_event is not None and is_async_callable(on_event):
        raise PipelineError(
            ASYNC_ON_EVENT.format(
                name=handler_name(on_event), does="is async: a call makes a coroutine"
            ),
            hint=ASYNC_ON_EVENT_HINT,
        )
    if on_event is not None:
        check_one_argument(on_event, "on_event", "an Event", "def on_event(event): ...")


def check_one_argument(handler: Any, option: str, given: str, example: str) -> None:
    """Refuse a handler that cannot be called with one positional argument, ``given``, as
    the run calls it: a mid-run ``TypeError`` would come only when the first event or gate
    does, after the model calls before it. A handler whose signature Python cannot read
    (some builtins) is left to the run."""
    try:
        signature = inspect.signature(handler)
    except (TypeError, ValueError):
        return
    try:
        signature.bind(None)
    except TypeError as exc:
        raise PipelineError(
            f"The run option {option} ({handler_name(handler)}{signature}) is called with one "
            f"argument, {given}, which fails: {exc}.",
            hint=f"Give it one parameter for {given} (e.g. {example}), with a default for "
            "any other.",
        ) from None


#: Why an ``on_event`` handler may not be async, and what to do instead (the scheduler says the
#: same when a plain handler returns an awaitable).
ASYNC_ON_EVENT = (
    "The run option on_event ({name}) {does}, which nothing awaits: the handler's work would "
    "never run and its errors would be lost. on_event is called on the event loop as each "
    "event happens, and must be a plain function that returns quickly."
)
ASYNC_ON_EVENT_HINT = (
    "Define it with def. For async work, put each event on an asyncio.Queue (put_nowait) and "
    "consume the queue in a task of your own."
)


def is_async_callable(fn: Any) -> bool:
    """Whether calling ``fn`` makes a coroutine: an ``async def`` function, a partial of one,
    or an object whose ``__call__`` is one."""
    call = inspect.getattr_static(type(fn), "__call__", None)
    return inspect.iscoroutinefunction(fn) or inspect.iscoroutinefunction(call)


def refuse_awaitable(handler: Any, answer: Any) -> None:
    """Raise when an ``on_event`` handler's ``answer`` is awaitable: nothing will await it."""
    if answer is not None and inspect.isawaitable(answer):
        if inspect.iscoroutine(answer):
            answer.close()  # never awaited: no "never awaited" warning on top
        does = "returned an awaitable"
        raise TypeError(
            f"{ASYNC_ON_EVENT.format(name=handler_name(handler), does=does)} {ASYNC_ON_EVENT_HINT}"
        )


def check_call_limit(call_limit: Any, max_concurrency: Any) -> None:
    """Refuse a ``call_limit`` that is no semaphore, or one given with ``max_concurrency``."""
    if call_limit is None:
        return
    if not isinstance(call_limit, asyncio.Semaphore):
        raise PipelineError(
            f"The run option call_limit must be an asyncio.Semaphore (got {call_limit!r} of "
            f"type {type(call_limit).__name__}).",
            hint="Pass max_concurrency=N for a limit of this run's own.",
        )
    if max_concurrency is not None:
        raise PipelineError(
            "The run options call_limit and max_concurrency both limit model calls; give one.",
            hint="call_limit is a semaphore shared with other runs (run_many passes one).",
        )


def gate_answer(answer: Any, handler: Any, gate: str, writes: str | None) -> Any:
    """The ``on_gate`` handler's ``answer`` at ``gate``, refused when it is ``None`` (a
    handler that forgot to ``return`` would otherwise store nothing, and the failure would
    surface at the next node that reads the key, with no word of the gate) or not JSON data
    (:func:`irgraph.gate_answers.answer_problem`, the reference interpreter's rule too). Any
    other value is the answer (the asyncio backend stores it as it is; Prefect's takes a str)."""
    problem = answer_problem(answer, gate, writes, f"The on_gate handler ({handler_name(handler)})")
    if problem is not None:
        raise TypeError(problem)
    return answer
