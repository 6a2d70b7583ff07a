"""Choosing a route's branch at run time: the first case that holds.

A case holds when the route's ``on`` key (or the field it names, ``verdict.category``) equals
its value as JSON values compare
(:func:`irgraph.ir.values.same_value`: ``1 == 1.0``, ``True != 1``), when its predicate of
the state returns True (called as a loop's ``until`` predicate is, by
:func:`~irgraph.backends.predicates.predicate_holds`, which says which predicate raised, and
fails the run at the route when it answers no bool), or
always (``otherwise``). When none holds the run cannot go on: :func:`chosen_branch` raises a
``LookupError`` naming the route, the key and its value, which the scheduler turns into the
run's ``RunError`` at the route node. A field read through a pydantic model instance (a step
returned the model, not its JSON) is a ``TypeError`` saying so, rather than no value (which
would take the ``otherwise`` silently).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from irgraph.ir import FunctionRef, RouteNode, resolve_function
from irgraph.ir.key_paths import model_reason, path_root, path_value, unset_reason
from irgraph.ir.values import canonical, loosely_spells, respells, same_value

from .predicates import predicate_holds

__all__ = ["chosen_branch", "no_branch_message"]


async def chosen_branch(nid: str, op: RouteNode, state: Mapping[str, Any]) -> int:
    """The index of the first case of route ``nid`` that holds in ``state``."""
    on = op.on
    found, value = path_value(state, on) if on is not None else (False, None)
    if not found and on is not None and (model := model_reason(state, on)) is not None:
        raise TypeError(f"Route '{nid}' compares '{on}', but {model}.")  # not "no value"
    for index, case in enumerate(op.cases):
        if case.kind == "otherwise":
            return index
        if case.kind == "equals":
            if found and same_value(value, case.value):
                return index
        elif await _holds(case.value, state):
            return index
    raise LookupError(no_branch_message(nid, op, state))


async def _holds(ref: FunctionRef, state: Mapping[str, Any]) -> bool:
    return await predicate_holds(resolve_function(ref), ref.ref, "route", state)


def no_branch_message(nid: str, op: RouteNode, state: Mapping[str, Any]) -> str:
    """Why route ``nid`` cannot run: the value no case takes, and the two ways to fix it."""
    if op.on is None or not any(case.kind == "equals" for case in op.cases):
        return (
            f"no case of route '{nid}' held for the state (keys: "
            f"{', '.join(sorted(state)) or 'none'}); add .otherwise(step) to run a step when "
            "no predicate holds."
        )
    found, value = path_value(state, op.on)
    if not found:
        shown = unset_reason(state, op.on)
        fix = f"set '{op.on}' before the route, or add .otherwise(step)."
        if "." in op.on:
            root = path_root(op.on)
            fix = f"make sure '{root}' holds an object with that field, or add .otherwise(step)."
    else:
        try:
            shown = canonical(value)
        except (TypeError, ValueError):
            shown = repr(value)
        fix = f"add .when({value!r}, step) for it, or .otherwise(step) for every other value."
        if isinstance(value, (list, tuple, Mapping)):
            fix = (
                "a route compares a string, number, boolean or None, which a list or an "
                "object never equals: look inside it with a predicate, .when(lambda state: "
                "..., step), or add .otherwise(step) for every other value."
            )
        meant = [c.value for c in op.cases if c.kind == "equals" and respells(value, c.value)]
        if meant:  # "1" for .when(1, ...): most likely the value is spelt the other way
            fix = (
                f"{shown} spells the branch for {canonical(meant[0])} the other way, but a "
                f"route compares JSON values, so the two never equal: give '{op.on}' the "
                f"value {meant[0]!r}, or {fix}"
            )
        near = [c.value for c in op.cases if c.kind == "equals" and loosely_spells(value, c.value)]
        if near:  # "Bug." for .when("bug", ...): a model's free-text answer, most likely
            give = f"agent that writes '{op.on}' .output({{'enum': [...]}})"
            tidy = "the text before the route with a Transform (lambda text: text.strip(' .')"
            if "." in op.on:  # a field: its enum is in the schema of the object's writer
                root, field = path_root(op.on), op.on.rpartition(".")[2]
                give = f"field '{field}' an enum in the output schema of the agent writing "
                give += f"'{root}'"
                tidy = f"the field with a Transform that reads '{root}' and writes it again "
                tidy += "(.strip(' .')"
            fix = (
                f"{shown} is the branch for {canonical(near[0])} written another way (case, "
                f"spaces, quotes or a full stop), but a route compares values exactly: give the "
                f"{give} so that it answers one of the branches' values, or tidy {tidy}"
                f".lower()), or {fix}"
            )
    known = ", ".join(case.label for case in op.cases if case.kind == "equals")
    return f"Route '{nid}' has no branch for {op.on} = {shown} (its branches: {known}); {fix}"
