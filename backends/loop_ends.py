"""Whether a loop stops after an iteration: its ``until`` key, key value or predicate.

``until="key"`` stops once ``key`` is truthy (``until="review.verdict"``: the field
``verdict`` of the object in ``review``, which stops nothing while it is missing, and fails
the run at the loop when ``review`` holds a pydantic model instead of its JSON); with
``until_equals`` once it equals the value as JSON values compare
(:func:`irgraph.ir.values.same_value`); a predicate of the state stops it when it returns
True, called by :func:`~irgraph.backends.predicates.predicate_holds` (a plain one on a worker
thread with a copy of the state, so it may block and other branches go on), which says so
when it raises or answers no bool (``"no"`` is no False: the run fails at the loop).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from irgraph.ir import FunctionRef, LoopNode, resolve_function
from irgraph.ir.key_paths import model_reason, path_value, stop_unreadable
from irgraph.ir.values import same_value

from .predicates import predicate_holds

__all__ = ["loop_ends", "stop_holds"]


def loop_ends(
    op: LoopNode, nid: str | None = None
) -> Callable[[Mapping[str, Any]], Awaitable[bool]]:
    """The test loop ``nid`` (its graph id; its name by default) runs after each iteration
    (its predicate resolved once, here)."""
    name = op.name if nid is None else nid
    until = op.until
    predicate = resolve_function(until) if isinstance(until, FunctionRef) else None
    ref = until.ref if isinstance(until, FunctionRef) else ""

    async def ends(state: Mapping[str, Any]) -> bool:
        if isinstance(until, str):  # a key, or a field of one (irgraph.ir.key_paths)
            return stop_holds(state, until, op.until_equals, name)
        if predicate is None:
            return False
        return await predicate_holds(predicate, ref, "loop", state)

    return ends


def stop_holds(state: Mapping[str, Any], until: str, equals: tuple[Any, ...], loop: str) -> bool:
    """Whether loop ``loop``, stopping on the key ``until`` (or a field of it) equal to
    ``equals[0]`` (JSON equality: ``1 == 1.0``, ``True != 1``), or given no value on its being
    truthy, stops; a field read through a pydantic model (not its JSON) is a TypeError."""
    found, value = path_value(state, until)
    if not found and (model := model_reason(state, until)) is not None:
        raise TypeError(stop_unreadable(loop, until, model))
    if equals:
        return found and same_value(value, equals[0])
    return bool(value)
