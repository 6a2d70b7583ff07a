"""Pictures of pipelines: the glue between the exporters and Jupyter or a terminal.

The exporters (:mod:`irgraph.backends.mermaid`, :mod:`irgraph.backends.dot`) are pure
functions of a graph. This module picks one for a format, wraps the result in a
:class:`Diagram` that Jupyter knows how to display, and gives builders and IR nodes their
inline picture (``_repr_mimebundle_``): an SVG when Graphviz and pydot are installed (and
Graphviz draws), otherwise a mermaid block in Markdown, which JupyterLab and GitHub draw
themselves. Nothing here touches
the network.

>>> from irgraph import Agent
>>> diagram = render(Agent("a").writes("x") >> Agent("b").instruct("{x}"), "mermaid")
>>> print(diagram.data.splitlines()[3])  # after the title block
graph TD
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from irgraph.errors import (
    IrgraphError,
    did_you_mean,
    keyword_names,
    keyword_options,
    unexpanded_home,
)
from irgraph.exporter_calls import drawing_for
from irgraph.graph import as_graph
from irgraph.ir import set_display_hook
from irgraph.picture_options import check_picture_options

if TYPE_CHECKING:
    pass

__all__ = [
    "FORMATS",
    "SUFFIXES",
    "Diagram",
    "dot_available",
    "render",
    "show",
    "mimebundle",
]

FORMATS = ("mermaid", "dot", "svg", "png")

#: The file suffixes a picture of each format is saved under, the usual one first. The text
#: formats also go in a ``.txt`` file; a PNG only in a ``.png`` one.
SUFFIXES: dict[str, tuple[str, ...]] = {
    "mermaid": (".mmd", ".mermaid", ".txt"),
    "dot": (".dot", ".gv", ".txt"),
    "svg": (".svg",),
    "png": (".png",),
}


#: The ``dot`` programs (paths) that did not finish a picture drawn without a format in this
#: process: such pictures (Jupyter's inline display too) are drawn as mermaid at once after
#: that, rather than each waiting the whole timeout for a ``dot`` that hangs.
_HUNG_DOTS: set[str] = set()


def dot_available() -> bool:
    """Whether SVG/PNG pictures can be drawn: pydot importable and Graphviz's ``dot`` on PATH."""
    import shutil  # here: it imports the compression modules, a tenth of import irgraph

    if shutil.which("dot") is None:
        return False
    try:
        import pydot  # noqa: F401
    except ImportError:
        return False
    return True


class Diagram:
    """A drawn pipeline in one format; Jupyter displays it, ``str()`` gives its text.

    ``data`` is ``str`` for ``"mermaid"``, ``"dot"`` and ``"svg"``, ``bytes`` for ``"png"``.
    """

    def __init__(self, format: str, data: str | bytes) -> None:
        self.format = format
        self.data = data

    def _repr_mimebundle_(
        self, include: Iterable[str] | None = None, exclude: Iterable[str] | None = None
    ) -> dict[str, Any]:
        if self.format == "svg":
            return {"image/svg+xml": self.data, "text/plain": "<irgraph diagram (svg)>"}
        if self.format == "png":
            return {"image/png": self.data, "text/plain": "<irgraph diagram (png)>"}
        fence = "mermaid" if self.format == "mermaid" else "dot"
        text = str(self.data)
        return {"text/markdown": f"```{fence}\n{text}\n```", "text/plain": text}

    @keyword_options
    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the diagram to ``path`` (bytes for PNG, UTF-8 text otherwise). A suffix
        must be one of its format's (:data:`SUFFIXES`): a PNG is refused as ``x.mmd``, a
        mermaid diagram as ``x.pdf``; a name without a suffix takes any format."""
        name = os.fspath(path)
        stem, suffix = os.path.splitext(name)
        suffixes = SUFFIXES.get(self.format, ())
        problem = _place_problem(name, suffixes[0] if suffixes else "")
        if problem:
            raise IrgraphError(f"Cannot save this {self.format} diagram as {name!r}: {problem}.")
        if suffix and suffixes and suffix.lower() not in suffixes:
            takes = [f for f in FORMATS if suffix.lower() in SUFFIXES[f]]
            if takes:
                why = f"a {suffix} file holds {' or '.join(takes)}"
                instead = f", or draw it with render(x, {takes[0]!r}) for that file"
            else:
                why, instead = f"irgraph writes no {suffix} files", ""
            if os.path.splitext(stem)[1].lower() in suffixes:  # x.mmd.bak: x.mmd
                suffix = ""
            raise IrgraphError(
                f"Cannot save this {self.format} diagram as {name!r}: {why}; save it as "
                f"{stem}{'' if not suffix else suffixes[0]}{instead}."
            )
        if isinstance(self.data, bytes):
            with open(path, "wb") as binary:
                binary.write(self.data)
        else:
            with open(path, "w", encoding="utf-8") as text:
                text.write(self.data)

    def __str__(self) -> str:
        return self.data if isinstance(self.data, str) else f"<{len(self.data)} bytes of PNG>"

    def __repr__(self) -> str:
        return f"Diagram(format={self.format!r}, {len(self.data)} {type(self.data).__name__})"


@keyword_options
def render(G_or_pipeline: Any, format: str | None = None, **options: Any) -> Diagram:
    """Draw a graph, builder or IR node as a :class:`Diagram`.

    ``format`` is ``"mermaid"``, ``"dot"``, ``"svg"`` or ``"png"``, in any case; ``None``
    picks ``"svg"`` when Graphviz is available and ``"mermaid"`` otherwise. ``options`` go to
    the exporter (``direction=`` for both, ``data_edges=`` for both). ``timeout=`` (seconds,
    ``None`` for no limit; default :data:`~irgraph.backends.dot.DOT_TIMEOUT`) bounds
    Graphviz's ``dot``, which only SVG and PNG run: it is checked for every format, so that
    one call fits any.

    A ``dot`` that fails (a broken install, a program of that name that is not Graphviz's, one
    stopped at the timeout) raises :class:`~irgraph.backends.dot.GraphvizError` for an SVG or
    PNG asked for by name; with ``format=None`` the picture is drawn as mermaid instead, with
    a warning that carries the error, as Jupyter's inline display does. A ``dot`` stopped at the
    timeout there is not run again for pictures without a format in this process (they are
    mermaid at once, warned about that first time only), so a hung ``dot`` costs one wait, not
    one per picture; an SVG or PNG asked for by name still runs it.
    """
    with drawing_for("render()"):
        return _drawn(G_or_pipeline, format, options, "render()")


def _drawn(
    G_or_pipeline: Any,
    format: str | None,
    options: dict[str, Any],
    where: str,
    *,
    terminal: bool = False,
) -> Diagram:
    """:func:`render`'s work, an option the format does not take told as ``where``'s; a
    format left to irgraph falls back to mermaid, with a warning, when Graphviz fails, and is
    a text format for a ``terminal``: mermaid, or dot for an option only dot takes."""
    defaulted = format is None
    if format is None and terminal:
        format = "dot" if _dot_only(options) else "mermaid"
    elif format is None:
        format = "svg" if dot_available() else "mermaid"
    if isinstance(format, str) and format.lower() in FORMATS:
        format = format.lower()  # "SVG" is "svg", as irgraph show --format takes it
    if format not in FORMATS:
        close = did_you_mean(format, FORMATS) if isinstance(format, str) else ""
        raise IrgraphError(
            f"Unknown picture format {format!r}.{close} Expected one of "
            f"{', '.join(repr(f) for f in FORMATS)}."
        )
    check_picture_options(format, options, where, defaulted=defaulted, terminal=terminal)
    G = as_graph(G_or_pipeline)
    # Imported here: the core never imports a backend at import time.
    from irgraph.backends.dot import (
        DOT_TIMEOUT,
        GraphvizError,
        check_timeout,
        to_dot,
        to_png,
        to_svg,
    )

    timeout = options.pop("timeout", DOT_TIMEOUT)
    check_timeout(timeout, where if defaulted else f"{where[:-1]}..., {format!r})")
    if defaulted and format == "svg":
        import shutil

        program = shutil.which("dot")
        if program in _HUNG_DOTS:  # warned about when it hung: no wait, no warning again
            format = "mermaid"
        else:
            try:
                return Diagram("svg", to_svg(G, timeout=timeout, **options))
            except GraphvizError as exc:
                import warnings

                later = ""
                if exc.timeout is not None and program is not None:
                    _HUNG_DOTS.add(program)
                    later = (
                        " Pictures drawn without a format later in this process are drawn as "
                        f"mermaid at once, without waiting for {program} again; "
                        "render(x, 'svg') still runs it."
                    )
                warnings.warn(
                    "The picture is drawn as mermaid, because Graphviz failed to draw it as "
                    f"SVG: {exc}{later}",
                    UserWarning,
                    stacklevel=4,  # past render() or show(), and keyword_options: the caller
                )
                format = "mermaid"
    if format == "mermaid":
        from irgraph.backends.mermaid import to_mermaid

        return Diagram(format, to_mermaid(G, **options))
    if format == "dot":
        return Diagram(format, to_dot(G, **options).to_string())
    if format == "svg":
        return _drawn_by_graphviz(Diagram(format, to_svg(G, timeout=timeout, **options)))
    return _drawn_by_graphviz(Diagram(format, to_png(G, timeout=timeout, **options)))


def _drawn_by_graphviz(diagram: Diagram) -> Diagram:
    """``diagram``, drawn by the ``dot`` on PATH when asked for by format: that ``dot``
    finished, so pictures drawn without a format try it again."""
    import shutil

    _HUNG_DOTS.discard(shutil.which("dot") or "")
    return diagram


def _place_problem(name: str, usual: str) -> str | None:
    """Why a picture cannot be written to the file ``name`` (``usual``: its format's usual
    suffix), before it is opened: an empty name, a directory, a folder that is not there or
    is a file, or a name that is only a suffix (``.svg``, which would be a hidden file);
    ``None`` when it can."""
    example = f"pipeline{usual or '.txt'}"
    if not name:
        return f"the file name is empty; name the file, e.g. {example!r}"
    if os.path.isdir(name):
        return f"it is a directory; name a file in it, e.g. {os.path.join(name, example)!r}"
    folder, base = os.path.split(name)
    if folder and os.path.exists(folder) and not os.path.isdir(folder):
        return f"{folder!r} is a file, not a directory; save it elsewhere"
    if folder and not os.path.isdir(folder):
        home = unexpanded_home(name)
        return (home or "").rstrip(".") or (
            f"there is no directory {folder!r}; create it first, or save it elsewhere"
        )
    every = {suffix for suffixes in SUFFIXES.values() for suffix in suffixes}
    if base.lower() in every:
        return (
            f"{base!r} is only a suffix, which would write a hidden file of that name; name "
            f"the file, e.g. {os.path.join(folder, 'pipeline' + (usual or base))!r}"
        )
    return None


def _in_notebook() -> bool:
    """Whether pictures are shown by IPython's display: in Jupyter and its kernels, not in
    the terminal IPython, which shows only an SVG's or PNG's text placeholder."""
    # Only ask IPython if it is already loaded: a plain script never imports it.
    ipython = sys.modules.get("IPython")
    shell = getattr(ipython, "get_ipython", lambda: None)() if ipython is not None else None
    return shell is not None and type(shell).__name__ != "TerminalInteractiveShell"


@keyword_options
def show(G_or_pipeline: Any, format: str | None = None, **options: Any) -> None:
    """Show a pipeline picture: inline in Jupyter, printed in a terminal (the terminal
    IPython's too, which draws no picture).

    ``G_or_pipeline`` is a graph from ``to_graph``, a builder, an IR node or a compiled
    pipeline (what ``compile`` returns: drawn as it runs); ``format`` is as in
    :func:`render`: without one, a Graphviz that fails gives a mermaid picture and a
    warning, with ``"svg"`` or ``"png"`` its :class:`~irgraph.backends.dot.GraphvizError`.
    Outside Jupyter, text formats are printed, and with no ``format`` the picture is printed
    as mermaid, as ``irgraph show`` prints it (an SVG's XML reads as nothing in a terminal),
    or as dot text when an option given is one only dot, SVG and PNG take; a PNG is not
    printable, so use ``render(x, "png").save(path)`` for that.
    """
    notebook = _in_notebook()
    with drawing_for("show()"):
        diagram = _drawn(G_or_pipeline, format, options, "show()", terminal=not notebook)
    if notebook:
        from IPython.display import display

        display(diagram)  # type: ignore[no-untyped-call]
    elif isinstance(diagram.data, bytes):
        raise IrgraphError(
            "A PNG cannot be printed to a terminal; save it with "
            "irgraph.display.render(x, 'png').save('pipeline.png')."
        )
    else:
        print(diagram.data)


def _dot_only(options: dict[str, Any]) -> bool:
    """Whether an option in ``options`` is one the dot exporter takes and mermaid's does not."""
    from irgraph.backends.dot import to_dot  # here: the core never imports a backend at import
    from irgraph.backends.mermaid import to_mermaid

    dot = set(keyword_names(to_dot) or ()) - set(keyword_names(to_mermaid) or ())
    return bool(dot & set(options))


def mimebundle(
    pipeline: Any, include: Iterable[str] | None = None, exclude: Iterable[str] | None = None
) -> dict[str, Any]:
    """The inline picture of a builder or IR node for Jupyter's ``_repr_mimebundle_``.

    What :func:`render` draws by default: an SVG when Graphviz is available, else a mermaid
    block (also when Graphviz fails, with a warning saying why); a pipeline too broken to
    draw falls back to its ``repr`` (with the reason), so displaying never raises.
    """
    try:
        diagram = render(as_graph(pipeline))  # a Graphviz that fails: mermaid, and a warning
    except IrgraphError as exc:
        return {"text/plain": f"{pipeline!r} (no picture: {exc})"}
    bundle = diagram._repr_mimebundle_()
    bundle["text/plain"] = repr(pipeline)
    return bundle


set_display_hook(mimebundle)
