"""The options a picture format takes, checked where the user gave them: ``render(p, "svg",
classes=...)`` and ``show(...)`` pass their options on to one exporter (``to_mermaid`` for
mermaid, ``to_dot`` for the others), and an option that exporter does not take is told as the
call the user wrote, naming the format that does take it, instead of as ``to_dot()``'s (the
exporters called directly name themselves: :mod:`irgraph.exporter_calls`)."""

from __future__ import annotations

from collections.abc import Iterable

from irgraph import checks
from irgraph.errors import IrgraphError
from irgraph.exporter_calls import INSTEAD

__all__ = ["check_picture_options"]


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
    format: str,
    options: Iterable[str],
    where: str,
    *,
    defaulted: bool = False,
    terminal: bool = False,
) -> None:
    """Refuse an option in ``options`` that the exporter drawing ``format`` does not take,
    naming ``where`` (the user's call, ``"render()"`` or ``"show()"``), the format (and, when
    ``defaulted``, that it was picked for want of a ``format=``, for a ``terminal`` as text)
    and the one that takes it.

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
    picked = ""
    if defaulted and terminal:
        picked = " (picked because no format was given: printed outside a notebook as mermaid)"
    elif defaulted:
        picked = (
            " (picked because no format was given: svg when Graphviz is installed, else mermaid)"
        )
    for key in sorted(set(options) - set(known)):
        said = f"{where} got the option {key!r}, which the {format} format{picked} does not take"
        other = "dot" if drawn_by == "mermaid" else "mermaid"
        if key in exporters[other]:
            formats = "dot, svg or png" if other == "dot" else "mermaid"
            example = "svg" if other == "dot" else "mermaid"
            instead = f"; {INSTEAD[key]}" if key in INSTEAD else ""
            raise IrgraphError(
                f"{said}: it is an option of the {formats} format. Pass "
                f"format={example!r} to draw with it{instead}."
            )
        raise checks.unknown_option(key, [*known, "format"], f"{said}.")
