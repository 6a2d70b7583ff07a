"""The options a picture format takes, checked where the user gave them: ``render(p, "svg",
classes=...)`` and ``show(...)`` pass their options on to one exporter (``to_mermaid`` for
mermaid, ``to_dot`` for the others), and an option that exporter does not take is told as the
call the user wrote, naming the format that does take it, instead of as ``to_dot()``'s. The
exporters themselves (``to_svg``, ``to_png``, ``to_dot``, ``to_mermaid``) name themselves the
same way (:func:`exporter_options`): ``to_svg`` hands its options on to ``to_dot``."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, TypeVar

from irgraph import checks
from irgraph.errors import IrgraphError

__all__ = [
    "called_as",
    "check_exporter_options",
    "check_picture_options",
    "drawing_for",
    "exporter_options",
]

F = TypeVar("F", bound=Callable[..., Any])

#: The call the user wrote that is drawing now (``"render()"``, ``"to_svg()"``), for the
#: errors of the exporter it hands its options on to.
_CALLED_AS: ContextVar[str | None] = ContextVar("irgraph_picture_call", default=None)

#: The exporters that run Graphviz's dot, and so take ``timeout=``.
_GRAPHVIZ = ("to_svg", "to_png")

#: What to use instead of an option of the other exporter, by option.
_INSTEAD = {
    "classes": "to colour nodes in dot, svg or png, give node_attrs instead",
    "class_defs": "to colour nodes in dot, svg or png, give node_attrs instead",
    "node_attrs": "to colour nodes in mermaid, give classes and class_defs instead",
}


def _exporter_options() -> dict[str, list[str]]:
    """Each exporter's options by the formats it draws: ``{"mermaid": [...], "dot": [...]}``."""
    # Imported here: the core never imports a backend at import time.
    from irgraph.backends.dot import to_dot
    from irgraph.backends.mermaid import to_mermaid

    found = {}
    for format, exporter in (("mermaid", to_mermaid), ("dot", to_dot)):
        names = checks.keyword_names(exporter) or []
        found[format] = [name for name in names if name != "G_or_pipeline"]
    return found


def check_picture_options(
    format: str, options: Iterable[str], where: str, *, defaulted: bool = False
) -> None:
    """Refuse an option in ``options`` that the exporter drawing ``format`` does not take,
    naming ``where`` (the user's call, ``"render()"`` or ``"show()"``), the format (and, when
    ``defaulted``, that it was picked for want of a ``format=``) and the one that takes it.

    >>> check_picture_options("svg", ["classes"], "render()")
    Traceback (most recent call last):
    ...
    irgraph.errors.IrgraphError: render() got the option 'classes', which the svg format does \
not take: it is an option of the mermaid format. Pass format='mermaid' to draw with it; to \
colour nodes in dot, svg or png, give node_attrs instead.
    """
    exporters = _exporter_options()
    drawn_by = "mermaid" if format == "mermaid" else "dot"
    known = [*exporters[drawn_by], "timeout"]
    picked = (
        " (picked because no format was given: svg when Graphviz is installed, else mermaid)"
        if defaulted
        else ""
    )
    for key in sorted(set(options) - set(known)):
        said = f"{where} got the option {key!r}, which the {format} format{picked} does not take"
        other = "dot" if drawn_by == "mermaid" else "mermaid"
        if key in exporters[other]:
            formats = "dot, svg or png" if other == "dot" else "mermaid"
            example = "svg" if other == "dot" else "mermaid"
            instead = f"; {_INSTEAD[key]}" if key in _INSTEAD else ""
            raise IrgraphError(
                f"{said}: it is an option of the {formats} format. Pass "
                f"format={example!r} to draw with it{instead}."
            )
        raise checks.unknown_option(key, [*known, "format"], f"{said}.")


def check_exporter_options(exporter: str, options: Iterable[str]) -> None:
    """Refuse an option in ``options`` that ``exporter`` (``"to_svg"``, ``"to_png"``,
    ``"to_dot"`` or ``"to_mermaid"``) does not take, naming it, and the exporter that takes it.

    >>> check_exporter_options("to_svg", ["classes"])
    Traceback (most recent call last):
    ...
    irgraph.errors.IrgraphError: to_svg() got the option 'classes', which it does not take: it \
is an option of to_mermaid (mermaid pictures); to colour nodes in dot, svg or png, give \
node_attrs instead.
    """
    exporters = _exporter_options()
    drawn_by = "mermaid" if exporter == "to_mermaid" else "dot"
    known = [*exporters[drawn_by], *(["timeout"] if exporter in _GRAPHVIZ else [])]
    for key in sorted(set(options) - set(known)):
        said = f"{exporter}() got the option {key!r}, which it does not take"
        if key == "timeout":
            raise IrgraphError(
                f"{said}: it bounds how long Graphviz's dot program may take, and only "
                f"to_svg and to_png run it; leave it out of {exporter}()."
            )
        other = "dot" if drawn_by == "mermaid" else "mermaid"
        if key in exporters[other]:
            takers = "to_dot, to_svg and to_png (Graphviz pictures)"
            takers = "to_mermaid (mermaid pictures)" if other == "mermaid" else takers
            instead = f"; {_INSTEAD[key]}" if key in _INSTEAD else ""
            raise IrgraphError(f"{said}: it is an option of {takers}{instead}.")
        raise checks.unknown_option(key, known, f"{said}.")


def exporter_options(fn: F) -> F:
    """Make the exporter ``fn`` refuse an option it does not take with
    :func:`check_exporter_options`, naming ``fn`` (as :func:`irgraph.checks.keyword_options`
    does, with the exporter that takes the option)."""
    names = frozenset(checks.keyword_names(fn) or ())

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
