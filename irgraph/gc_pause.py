"""Pause Python's cyclic garbage collector while irgraph builds one large structure.

A 10 000-agent pipeline becomes some 10⁵ container objects (IR nodes, graph dicts, compiled
steps) that all stay alive. The cyclic gc runs every 700 new containers and, each time the
survivors have grown by a quarter, walks *everything* alive: building the graph of a large
pipeline spent a third to a half of its time in those walks, none of which can free anything
(the objects are still being built). :func:`gc_paused` turns the collector off for the
duration of one build and back on after it, so those walks do not happen; the objects made
meanwhile are examined once, by the next collection after the build, as any new objects are.
"""

from __future__ import annotations

import functools
import gc
from collections.abc import Callable
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])


def gc_paused(fn: F) -> F:
    """Run ``fn`` with the cyclic gc off, turning it back on after (even on an error).

    Calls nest: only the outermost one that found the gc on turns it back on, and a program
    that turned the gc off itself keeps it off. The switch is process-wide: another thread
    that turns the gc off while a build runs finds it on again when the build ends.

    >>> import gc
    >>> gc_paused(gc.isenabled)()
    False
    >>> gc.isenabled()
    True
    """

    @functools.wraps(fn)
    def paused(*args: Any, **kwargs: Any) -> Any:
        if not gc.isenabled():
            return fn(*args, **kwargs)
        gc.disable()
        try:
            return fn(*args, **kwargs)
        finally:
            gc.enable()

    return paused  # type: ignore[return-value]
