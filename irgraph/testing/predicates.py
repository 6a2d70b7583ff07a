"""Predicates of the state that generated routes branch on (``Route(...).when(fn, branch)``).

They are top level, so a route holding one survives JSON and the graph. Each reads only keys
whose value at the route is the same under every schedule: the declared inputs, which
parallel branches never write, and a map-over's ``item``. One is async, since a backend must
await an async predicate and run a sync one on a worker thread.

>>> has_sources({"sources": ["a"]}), has_sources({}), short_item({"item": "owl"})
(True, False, True)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["has_sources", "short_item", "asks_a_question", "always", "PREDICATES"]


def has_sources(state: Mapping[str, Any]) -> bool:
    """Whether the input list ``sources`` holds anything."""
    return bool(state.get("sources"))


def short_item(state: Mapping[str, Any]) -> bool:
    """Whether the map-over item ``item`` (if any) is shorter than four characters."""
    return len(str(state.get("item", ""))) < 4


async def asks_a_question(state: Mapping[str, Any]) -> bool:
    """Whether the input ``question`` was given (async, to be awaited)."""
    return "question" in state


def always(state: Mapping[str, Any]) -> bool:
    """True: a route whose last case is this one needs no otherwise."""
    return True


#: The predicates a generated route may test, simplest first (hypothesis shrinks to it).
PREDICATES = (has_sources, short_item, asks_a_question)
