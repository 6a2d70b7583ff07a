"""Whether a loop stops after an iteration: its ``until`` key, key value or predicate.

``until="key"`` stops once ``key`` is truthy; with ``until_equals`` once it equals the value as
JSON values compare (:func:`irgraph.ir.values.same_value`); a predicate of the state stops it
when it returns something true. A plain predicate runs on a worker thread with a copy of the
state, so it may block and other branches go on; a coroutine function is awaited with a
read-only view.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Mapping
from types import MappingProxyType
from typing import Any

from irgraph.ir import FunctionRef, LoopNode, resolve_function
from irgraph.ir.values import same_value

from .blocking import call_blocking

__all__ = ["loop_ends"]


def loop_ends(op: LoopNode) -> Callable[[Mapping[str, Any]], Awaitable[bool]]:
    """The test a loop runs after each iteration (its predicate resolved once, here)."""
    until = op.until
    predicate = resolve_function(until) if isinstance(until, FunctionRef) else None
    blocking = not inspect.iscoroutinefunction(predicate)

    async def ends(state: Mapping[str, Any]) -> bool:
        if isinstance(until, str):
            if op.until_equals:
                return until in state and same_value(state[until], op.until_equals[0])
            return bool(state.get(until))
        if predicate is None:
            return False
        if blocking:  # on a thread, so it gets a copy other branches cannot change
            holds = await call_blocking(predicate, MappingProxyType(dict(state)))
        else:
            holds = predicate(MappingProxyType(state))
        if inspect.isawaitable(holds):
            holds = await holds
        return bool(holds)

    return ends
