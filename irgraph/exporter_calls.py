"""The exporters (``to_svg``, ``to_png``, ``to_dot``, ``to_mermaid``) refuse an option they do
not take naming themselves, and the exporter that takes it; ``to_svg`` hands its options on to
``to_dot``, and ``render()``/``show()`` to either, so an error of the exporter they call names
the call the user wrote (:func:`drawing_for`, :func:`called_as`).

Each exporter registers its options when its module is imported (:func:`exporter_options`),
so this core module imports no backend at import time: the other exporter's module only when
an option is refused, to name the exporter that takes it.
"""

from __future__ import annotations

import functools
import importlib
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, TypeVar

from irgraph import checks
from irgraph.errors import IrgraphError

__all__ = ["INSTEAD", "called_as", "check_exporter_options", "drawing_for", "exporter_options"]

F = TypeVar("F", bound=Callable[..., Any])

#: The call the user wrote that is drawing now (``"render()"``, ``"to_svg()"``), for the
#: errors of the exporter it hands its options on to.
_CALLED_AS: ContextVar[str | None] = ContextVar("irgraph_picture_call", default=None)

#: The exporters that run Graphviz's dot, and so take ``timeout=``.
_GRAPHVIZ = ("to_svg", "to_png")

#: What to use instead of an option of the other exporter, by option.
INSTEAD = {
    "classes": "to colour nodes in dot, svg or png, give node_attrs instead",
    "class_defs": "to colour nodes in dot, svg or png, give node_attrs instead",
    "node_attrs": "to colour nodes in mermaid, give classes and class_defs instead",
}

#: Each imported exporter's options, by the kind of picture it draws ("dot" or "mermaid").
_OPTIONS: dict[str, list[str]] = {}


def check_exporter_options(exporter: str, options: Iterable[str]) -> None:
    """Refuse an option in ``options`` that ``exporter`` (``"to_svg"``, ``"to_png"``,
    ``"to_dot"`` or ``"to_mermaid"``) does not take, naming it, and the exporter that takes it.

    >>> import irgraph.backends.dot, irgraph.backends.mermaid
    >>> check_exporter_options("to_svg", ["classes"])
    Traceback (most recent call last):
    ...
    irgraph.errors.IrgraphError: to_svg() got the option 'classes', which it does not take: it \
is an option of to_mermaid (mermaid pictures); to colour nodes in dot, svg or png, give \
node_attrs instead.
    """
    drawn_by = "mermaid" if exporter == "to_mermaid" else "dot"
    known = [*_OPTIONS.get(drawn_by, ()), *(["timeout"] if exporter in _GRAPHVIZ else [])]
    for key in sorted(set(options) - set(known)):
        said = f"{exporter}() got the option {key!r}, which it does not take"
        if key == "timeout":
            raise IrgraphError(
                f"{said}: it bounds how long Graphviz's dot program may take, and only "
                f"to_svg and to_png run it; leave it out of {exporter}()."
            )
        other = "dot" if drawn_by == "mermaid" else "mermaid"
        if key in _options_of(other):
            takers = "to_dot, to_svg and to_png (Graphviz pictures)"
            takers = "to_mermaid (mermaid pictures)" if other == "mermaid" else takers
            instead = f"; {INSTEAD[key]}" if key in INSTEAD else ""
            raise IrgraphError(f"{said}: it is an option of {takers}{instead}.")
        raise checks.unknown_option(key, known, f"{said}.")


def _options_of(kind: str) -> list[str]:
    """The options of the exporter drawing ``kind`` ("dot" or "mermaid") pictures, its module
    imported to learn them (once, and only when an option is refused): which exporter takes
    an option must not depend on which the program happened to import."""
    if kind not in _OPTIONS:
        importlib.import_module(f"irgraph.backends.{kind}")  # registers them (below)
    return _OPTIONS.get(kind, [])


def exporter_options(fn: F) -> F:
    """Make the exporter ``fn`` refuse an option it does not take with
    :func:`check_exporter_options`, naming ``fn`` (as :func:`irgraph.checks.keyword_options`
    does, with the exporter that takes the option)."""
    names = frozenset(checks.keyword_names(fn) or ())
    if fn.__name__ in ("to_dot", "to_mermaid"):
        kind = "dot" if fn.__name__ == "to_dot" else "mermaid"
        _OPTIONS[kind] = [
            name for name in checks.keyword_names(fn) or () if name != "G_or_pipeline"
        ]

    @functools.wraps(fn)
    def checked(*args: Any, **kwargs: Any) -> Any:
        if not names.issuperset(kwargs):
            check_exporter_options(fn.__name__, kwargs)
        with drawing_for(f"{fn.__name__}()"):
            return fn(*args, **kwargs)

    return checked  # type: ignore[return-value]


@contextmanager
def drawing_for(where: str) -> Iterator[None]:
    """Name ``where`` (e.g. ``"render()"``) in the option errors of the exporters called
    inside, unless an outer call already named itself: the user's call is the outermost."""
    token = _CALLED_AS.set(where) if _CALLED_AS.get() is None else None
    try:
        yield
    finally:
        if token is not None:
            _CALLED_AS.reset(token)


def called_as(exporter: str) -> str:
    """The call to name in an option error of ``exporter`` (e.g. ``"to_dot()"``): the user's
    call that handed the option on (``"to_svg()"``, ``"render()"``), else ``exporter``.

    >>> with drawing_for("to_svg()"):
    ...     called_as("to_dot()")
    'to_svg()'
    >>> called_as("to_dot()")
    'to_dot()'
    """
    return _CALLED_AS.get() or exporter
