"""Whether a loop stops after an iteration: its ``until`` key, key value or predicate.

``until="key"`` stops once ``key`` is truthy (``until="review.verdict"``: the field
``verdict`` of the object in ``review``, which stops nothing while it is missing); with
``until_equals`` once it equals the value as JSON values compare
(:func:`irgraph.ir.values.same_value`); a predicate of the state stops it when it returns
something true, called by :func:`~irgraph.backends.predicates.predicate_holds` (a plain one
on a worker thread with a copy of the state, so it may block and other branches go on),
which says so when it raises.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from irgraph.ir import FunctionRef, LoopNode, resolve_function
from irgraph.ir.key_paths import path_value
from irgraph.ir.values import same_value

from .predicates import predicate_holds

__all__ = ["loop_ends"]


def loop_ends(op: LoopNode) -> Callable[[Mapping[str, Any]], Awaitable[bool]]:
    """The test a loop runs after each iteration (its predicate resolved once, here)."""
    until = op.until
    predicate = resolve_function(until) if isinstance(until, FunctionRef) else None
    ref = until.ref if isinstance(until, FunctionRef) else ""

    async def ends(state: Mapping[str, Any]) -> bool:
        if isinstance(until, str):  # a key, or a field of one (irgraph.ir.key_paths)
            found, value = path_value(state, until)
            if op.until_equals:
                return found and same_value(value, op.until_equals[0])
            return bool(value)
        if predicate is None:
            return False
        return await predicate_holds(predicate, ref, "loop", state)

    return ends
