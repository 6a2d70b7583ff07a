"""A run's initial state against the keys its pipeline reads: a given key that is an optional
read misspelled.

A required read that the state lacks stops the run (:func:`irgraph.validate.check_initial_state`),
but an optional one (``{style?}``) is simply empty when unset: a state that gives ``styel`` runs
without a word and renders the prompt without the value. Keys nothing reads are common (a data
set's id or label columns), so only a given key that nothing reads and that looks like an
optional read the state does not give (and no step writes) is told, as a warning.

The warning points at the user's line that started the run. A run on a helper thread
(``run_many``'s items, ``run`` inside Jupyter's running loop) has no such line on its stack, so
the blocking call notes where it was called (:func:`calling_site`) in the context the helper
thread runs in (:func:`pointing_at`), and the warning is told at that line.
"""

from __future__ import annotations

import contextvars
import sys
import warnings
import weakref
from collections.abc import Iterable
from types import FrameType
from typing import TYPE_CHECKING, Any

from irgraph.errors import closest_keys

if TYPE_CHECKING:
    import networkx as nx

__all__ = [
    "calling_site",
    "misspelled_input_warnings",
    "pointing_at",
    "warn_misspelled_optional",
    "warn_user",
]

#: Per graph: (every key its nodes read, optionally read or write; its optional reads).
_KEYS: weakref.WeakKeyDictionary[nx.DiGraph, tuple[frozenset[str], frozenset[str]]] = (
    weakref.WeakKeyDictionary()
)


def _keys(G: nx.DiGraph) -> tuple[frozenset[str], frozenset[str]]:
    known = _KEYS.get(G)
    if known is None:
        mentioned: set[str] = set()
        optional: set[str] = set()
        written: set[str] = set()
        for data in G._node.values():
            mentioned.update(data.get("reads", ()))
            optional.update(data.get("optional_reads", ()))
            written.update(data.get("writes", ()))
            if data.get("kind") == "map_over":
                written.add(data["item"])
        mentioned |= optional | written
        known = _KEYS[G] = (frozenset(mentioned), frozenset(optional - written))
    return known


def warn_misspelled_optional(
    G: nx.DiGraph, given: Iterable[str], *, past: Iterable[str] = ()
) -> None:
    """Warn (``UserWarning``) for each key of ``given`` that nothing in ``G`` reads or writes
    and that looks like an optional read ``given`` lacks: the read is empty in this run. The
    warning points at the user's line: the first outside irgraph, the machinery that runs it
    and the modules named ``past`` (a generated flow module, whose flow checks its state).

    >>> from irgraph import Agent, to_graph
    >>> G = to_graph(Agent("w").instruct("Write {topic}. {style?}"))
    >>> import warnings
    >>> with warnings.catch_warnings(record=True) as told:
    ...     warnings.simplefilter("always")
    ...     warn_misspelled_optional(G, ["topic", "styel", "id"])
    >>> print(told[0].message)  # doctest: +ELLIPSIS
    The initial state gives 'styel', which nothing in the pipeline reads; did you mean 'style'?...
    """
    for key, read in _misspelled(G, given):
        _warn(
            f"The initial state gives {key!r}, which nothing in the pipeline reads; did you "
            f"mean {read!r}? The pipeline reads {{{read}?}}, which is optional, so this run "
            f"goes on with it empty. Give the value as {read!r} (or drop {key!r} if it is "
            "meant for something else).",
            past,
        )


def misspelled_input_warnings(G: nx.DiGraph, inputs: Iterable[str]) -> list[str]:
    """What :func:`irgraph.validate.validate` says of each declared input that is an optional
    read misspelled, as a run with that state warns (``to_graph(p, inputs={'styel'})``).

    >>> from irgraph import Agent, to_graph
    >>> G = to_graph(Agent("w").instruct("Write {topic}. {style?}"), inputs={"topic", "styel"})
    >>> print(misspelled_input_warnings(G, G.graph["inputs"])[0])  # doctest: +ELLIPSIS
    The input 'styel' is declared, but nothing in the pipeline reads it; did you mean 'style'?...
    """
    return [
        f"The input {key!r} is declared, but nothing in the pipeline reads it; did you mean "
        f"{read!r}? The pipeline reads {{{read}?}}, which is optional, so a run given "
        f"{key!r} goes on with {read!r} empty. Declare (and give) {read!r} instead (or drop "
        f"{key!r} if it is meant for something else)."
        for key, read in _misspelled(G, inputs)
    ]


def _misspelled(G: nx.DiGraph, given: Iterable[str]) -> list[tuple[str, str]]:
    """``(key, read)`` for each key of ``given`` that nothing in ``G`` reads or writes and
    that looks like ``read``, an optional read ``given`` lacks and no step writes."""
    keys = set(given)
    if not keys:  # nothing given (validate of a graph without inputs): no keys to gather
        return []
    mentioned, optional = _keys(G)
    unread = keys - mentioned
    if not unread or not optional:
        return []
    unset = optional - keys
    found = []
    for key in sorted(unread):
        close = closest_keys(key, unset, n=1)
        if close:
            found.append((key, close[0]))
    return found


def warn_user(message: str) -> None:
    """Tell ``message`` (a ``UserWarning``) at the user's line, as this module's warnings are
    told: a warning of a run under way (:mod:`irgraph.empty_prompts`)."""
    _warn(message)


def _warn(message: str, past: Iterable[str] = ()) -> None:
    """Tell ``message`` at the user's line: on this thread's stack (past the modules named
    ``past`` too), else the one the call that runs this thread noted (:func:`pointing_at`),
    else where irgraph checked."""
    level = _callers_level(frozenset(past))
    site = _SITE.get() if level is None else None
    if site is None:
        warnings.warn(message, UserWarning, stacklevel=3 if level is None else level)
        return
    filename, lineno, module = site
    name, registry = str(module.get("__name__", "")), module.setdefault("__warningregistry__", {})
    try:
        warnings.warn_explicit(
            message, UserWarning, filename, lineno, name, registry, module_globals=module
        )
    except ImportError:  # the __main__ of python -c or of a script on standard input: its
        # loader has no source to show, and Python's warn_explicit fails asking it for the line
        warnings.warn_explicit(message, UserWarning, filename, lineno, name, registry)


#: Modules a run passes through between the user's call and this check: the warning points
#: past them, at the user's line (``run(...)``, ``asyncio.run(arun(...))``, ``runnable.run``).
_INTERNAL = ("irgraph", "asyncio", "concurrent", "threading", "contextvars", "prefect", "anyio")


#: The user's line a blocking run was called from, for a check on the helper thread it uses.
_SITE: contextvars.ContextVar[tuple[str, int, dict[str, Any]] | None] = contextvars.ContextVar(
    "irgraph_calling_site", default=None
)


def calling_site() -> tuple[str, int, dict[str, Any]] | None:
    """The file, line and module globals of the first frame on this thread's stack outside
    irgraph and the machinery that runs it (``None`` when there is none, or when the
    ``irgraph`` command made the call: its warnings are its own, said on one line)."""
    frame: FrameType | None = sys._getframe(1)
    while frame is not None:
        name = str(frame.f_globals.get("__name__", ""))
        if name.startswith("irgraph.cli"):
            return None
        if name.partition(".")[0] not in _INTERNAL:
            return frame.f_code.co_filename, frame.f_lineno, frame.f_globals
        frame = frame.f_back
    return _SITE.get()


def pointing_at(
    site: tuple[str, int, dict[str, Any]] | None, base: contextvars.Context | None = None
) -> contextvars.Context:
    """A copy of ``base`` (the current context by default) in which the warnings of this
    module point at ``site`` (from :func:`calling_site`): what a helper thread's run is
    started in."""
    context = (base or contextvars.copy_context()).copy()
    context.run(_SITE.set, site)
    return context


def _callers_level(past: frozenset[str] = frozenset()) -> int | None:
    """The ``stacklevel`` (in :func:`_warn`'s call of ``warnings.warn``) of the first frame
    outside irgraph, the machinery that runs it and the modules ``past``; ``None`` when there
    is none (a run on a helper thread, say, where the user's call is on another thread's
    stack) or the ``irgraph`` command made the call."""
    frame: FrameType | None = sys._getframe(2)  # _warn's caller, stacklevel 2 from _warn
    level = 2
    while frame is not None:
        name = str(frame.f_globals.get("__name__", ""))
        if name.startswith("irgraph.cli"):
            return None  # the irgraph command's run: told as its own, on one line
        if name.partition(".")[0] not in _INTERNAL and name not in past:
            return level
        frame, level = frame.f_back, level + 1
    return None
