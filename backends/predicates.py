"""A route's or loop's predicate called on the state, and what it raises said as its own.

A predicate is the user's function of the whole state. When it raises, the run's
:class:`~irgraph.errors.RunError` at the route or loop must say so: that the predicate raised
(not the route), which one, and what the state held, or ``KeyError: 'k'`` reads as a bug of
the route. :func:`predicate_holds` calls it (a plain function on a worker thread with a copy
of the state, so it may block while other branches go on; a coroutine function awaited with a
read-only view) and raises :class:`PredicateRaised` in place of its error;
:func:`~irgraph.backends.failures.node_failure` takes the words from it and chains the
original error as the RunError's cause.

A predicate answers ``True`` or ``False`` (``numpy.bool_`` too). Any other value, ``"no"``,
``None``, ``0`` or a list, is a ``TypeError`` at the route or loop naming the predicate, the
value and its type, rather than a truth value: ``lambda s: s["verdict"]`` returning ``"no"``
would take the branch (every non-empty string is true), and the run would go on as if the
answer were yes.
"""

from __future__ import annotations

import inspect
import os
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any

from irgraph.errors import did_you_mean

from .blocking import call_blocking

__all__ = ["PredicateRaised", "predicate_holds", "truth", "not_a_bool"]

#: How many of the state's keys a message lists before it counts the rest.
_SHOWN_KEYS = 12


class PredicateRaised(Exception):
    """What a predicate raised (``error``), with ``source`` ("its predicate 'pick'") and
    ``advice`` (the keys the state held, and the fix), for the RunError at its node."""

    def __init__(self, error: Exception, source: str, advice: str) -> None:
        super().__init__(f"{source} raised {type(error).__name__}: {error}; {advice}")
        self.error = error
        self.source = source
        self.advice = advice


async def predicate_holds(
    predicate: Callable[..., Any], ref: str, whose: str, state: Mapping[str, Any]
) -> bool:
    """Whether ``predicate`` (named by the import path ``ref``, the predicate of a ``whose``:
    "route" or "loop") holds for ``state``; what it raises comes out as
    :class:`PredicateRaised`."""
    try:
        if inspect.iscoroutinefunction(predicate):
            holds = predicate(MappingProxyType(state))
        else:  # on a thread, so it gets a copy other branches cannot change
            holds = await call_blocking(predicate, MappingProxyType(dict(state)))
        if inspect.isawaitable(holds):
            holds = await holds
    except Exception as error:
        advice = _advice(error, whose, state)
        raise PredicateRaised(error, _source(predicate, ref, whose), advice) from error
    return truth(holds, predicate, ref, whose)


def truth(value: Any, predicate: Callable[..., Any], ref: str, whose: str) -> bool:
    """What ``predicate`` (named by ``ref``, of a ``whose``) answered, ``value``, as a bool:
    ``True`` or ``False`` (a ``numpy.bool_`` too), else the ``TypeError`` of
    :func:`not_a_bool`."""
    if value is True or value is False:
        return value
    if _numpy_bool(value):
        return bool(value)
    raise TypeError(not_a_bool(value, _source(predicate, ref, whose), whose))


def not_a_bool(value: Any, source: str, whose: str) -> str:
    """Why a predicate's ``value`` (not a bool) is refused, ``source`` naming the predicate
    ("its predicate 'pick'") of a ``whose``: "route" or "loop".

    >>> not_a_bool("no", "its predicate 'pick'", "route")[:57]
    "its predicate 'pick' returned 'no' (a str), not True or F"
    """
    shown = repr(value)
    if len(shown) > 60:
        shown = shown[:57] + "..."
    kind = type(value).__name__
    does = (
        "a route takes a branch only when its predicate returns True"
        if whose == "route"
        else "a loop stops only when its until predicate returns True"
    )
    example = "state['verdict'] == 'yes'"
    if value is None:
        example = "state.get('verdict') is not None"
    elif isinstance(value, (int, float)):
        example = "state['score'] > 0"
    elif isinstance(value, (list, tuple, dict, set, frozenset)):
        example = "len(state['items']) > 0"
    return (
        f"{source} returned {shown} (a {kind}), not True or False; {does}. Return a bool: "
        f"compare the value, e.g. lambda state: {example}"
    )


def _numpy_bool(value: Any) -> bool:
    """Whether ``value`` is a ``numpy.bool_`` (told by its type, numpy not imported)."""
    kind = type(value)
    return kind.__name__ in ("bool_", "bool") and kind.__module__ == "numpy"


def _source(predicate: Callable[..., Any], ref: str, whose: str) -> str:
    """A predicate as a message names it: "its predicate 'pick'" (a loop's: "its until
    predicate 'done'")."""
    kind = "until predicate" if whose == "loop" else "predicate"
    return f"its {kind} {_shown(predicate, ref)}"


def _shown(predicate: Callable[..., Any], ref: str) -> str:
    """A predicate as a message names it: its qualified name (no module, no code hash, no
    enclosing function), and
    for a lambda, which has no name to find, where it was written."""
    name = ref.rpartition(":")[2].partition("#")[0].rpartition("<locals>.")[2]
    code = getattr(predicate, "__code__", None)
    if "<lambda>" not in name or code is None:
        return repr(name)
    return f"'{name}' (written at {os.path.basename(code.co_filename)}:{code.co_firstlineno})"


def _advice(error: Exception, whose: str, state: Mapping[str, Any]) -> str:
    """The keys ``state`` held and how to fix the predicate: for a KeyError of a key that is
    not set, reading it with ``state.get``."""
    keys = sorted(state)
    shown = [repr(key) for key in keys[:_SHOWN_KEYS]]
    if len(keys) > _SHOWN_KEYS:
        shown.append(f"{len(keys) - _SHOWN_KEYS} more")
    if not shown:
        held = "the state held no keys"
    elif len(shown) == 1:
        held = f"the state held the key {shown[0]}"
    else:
        held = f"the state held the keys {', '.join(shown[:-1])} and {shown[-1]}"
    missing = error.args[0] if isinstance(error, KeyError) and error.args else None
    if isinstance(missing, str) and missing not in state:
        where = "before the route" if whose == "route" else "in the loop's body"
        held = f"{held}, not {missing!r}" if keys else f"the state was empty, so no {missing!r}"
        return (
            f"{held}.{did_you_mean(missing, keys)} Read a key that may be unset with "
            f"state.get({missing!r}), or set it {where}"
        )
    return f"{held}. Fix the predicate: it gets the state as a read-only mapping"
