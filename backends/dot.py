"""Graphviz pictures of pipeline graphs, through pydot (the ``dot`` extra).

:func:`to_dot` turns the graph from ``irgraph.to_graph`` into a ``pydot.Dot`` with exactly one
DOT node per graph node and one DOT edge per graph edge, so the picture is the graph:

- node shapes by kind: agents rounded boxes, transforms parallelograms, gates hexagons,
  parts folded by ``collapse=`` double-bordered boxes;
- a loop or map-over scope is a dashed cluster holding its own node (drawn as a ``box3d`` for
  a loop, a ``folder`` for a map-over) and its body; edges into or out of the scope attach to
  that node;
- a block the user named (``FanOut("checks")``) is a solid grey cluster titled ``"checks
  (parallel)"`` around what it holds (:mod:`~irgraph.backends.clusters`);
- a route is a decision, a ``diamond`` labelled with its title (``"triage (route on
  category)"``), drawn beside its branches (not in a cluster): its edge to each branch entry
  is labelled with the case (``"bug"``, ``otherwise``), and each branch's exits have edges to
  what follows the route;
- each pair of nodes gets one edge: solid for control, labelled with the state keys it
  carries; an edge that carries keys but is not a control edge is dashed;
- a composite root's ``"name (sequence)"`` is the graph's label, at the top;
- labels irgraph writes are broken into lines of at most
  :data:`~irgraph.backends.labels.LABEL_WIDTH` characters
  (:func:`~irgraph.backends.labels.wrapped`), as Graphviz never breaks one.

DOT ids are generated (``n1``, ``n2``, ... in the graph's order, see
:func:`irgraph.backends.labels.node_ids`); labels are quoted with DOT's and Graphviz's escapes
(``\\"``, ``\\\\``, ``\\n``, ``&amp;``), so quotes, backslashes, line breaks and any unicode
in a name survive (:mod:`~irgraph.backends.dot_quoting`). :func:`to_svg` and :func:`to_png` run
Graphviz's ``dot`` program, stopped after :data:`DOT_TIMEOUT` seconds (or their ``timeout=``),
and check that it wrote the format asked for.

>>> from irgraph import Agent
>>> dot = to_dot(Agent("a").writes("x") >> Agent("b").instruct("Use {x}."))
>>> [(n.get_name(), n.get("label")) for n in dot.get_nodes() if n.get("label")]
[('n1', '"a"'), ('n2', '"b"')]
>>> [(e.get_source(), e.get_destination(), e.get("label")) for e in dot.get_edges()]
[('n1', 'n2', '"x"')]
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import attrs as attrs_lib

from irgraph import checks
from irgraph.errors import IrgraphError, MissingExtraError, keyword_options
from irgraph.exporter_calls import called_as, exporter_options
from irgraph.graph import as_graph

from .clusters import Block, Container, drawn_children
from .dot_quoting import LINK_ATTRS, TEXT_ATTRS, checked_node_attrs, dot_text, dot_value
from .folding import fold, folded_value
from .glyphs import warn_unfonted
from .labels import (
    BOXES,
    LABEL_WIDTH,
    drawn_edges,
    label_text,
    node_ids,
    node_label,
    root_title,
    scope_title,
    wrapped,
)

if TYPE_CHECKING:
    import networkx as nx
    import pydot

__all__ = ["to_dot", "to_svg", "to_png", "dot_text", "GraphvizError", "RANKDIRS", "DOT_TIMEOUT"]
__all__ += ["dot_value", "TEXT_ATTRS", "LINK_ATTRS"]  # DOT's quoting (dot_quoting), as before

RANKDIRS = {"TD": "TB", "TB": "TB", "BT": "BT", "LR": "LR", "RL": "RL"}

_SHAPES: dict[str, dict[str, str]] = {
    "agent": {"shape": "box", "style": "rounded"},
    "transform": {"shape": "parallelogram"},
    "gate": {"shape": "hexagon"},
    "loop": {"shape": "box3d"},
    "map_over": {"shape": "folder"},
    "route": {"shape": "diamond"},
    "folded": {"shape": "box", "peripheries": "2"},
}

#: A named block's cluster: a solid rounded frame, where a loop's or map-over's is dashed.
_BLOCK = {"style": "rounded", "color": "gray50"}


class GraphvizError(IrgraphError):
    """Graphviz's ``dot`` program is missing or failed. ``timeout`` is the limit in seconds
    when ``dot`` was stopped for not finishing within it, else ``None``."""

    def __init__(self, message: str, *, timeout: float | None = None) -> None:
        super().__init__(message)
        self.timeout = timeout


def _drawn(text: str, width: int = LABEL_WIDTH) -> str:
    """The DOT string of a label irgraph writes (not one given in ``node_attrs``): broken
    into lines of at most ``width`` characters where it can be, since Graphviz never wraps."""
    return dot_text(wrapped(label_text(text), width))


def _pydot() -> Any:
    try:
        import pydot
    except ImportError:
        raise MissingExtraError("pydot", "dot", "Drawing with Graphviz (to_dot)") from None
    return pydot


def _draw_nodes(
    pd: Any,
    G: nx.DiGraph,
    children: dict[Container, list[str | Block]],
    container: Container,
    holder: Any,
    ids: dict[str, str],
    extra: dict[str, Any],
) -> None:
    """Add what ``container`` holds to ``holder`` (the graph or a cluster): nodes, and the
    clusters of loops, map-overs and named blocks with what they hold."""
    for item in children.get(container, ()):
        if isinstance(item, Block):
            cluster = pd.Cluster(item.id, label=_drawn(item.title), **_BLOCK)
            holder.add_subgraph(cluster)
            _draw_nodes(pd, G, children, item, cluster, ids, extra)
            continue
        data = G.nodes[item]
        kind = data.get("kind", "agent")
        attrs = {"label": _drawn(node_label(item, data)), **_SHAPES.get(kind, _SHAPES["agent"])}
        inside = holder
        if kind in BOXES:
            title = _drawn(scope_title(item, data))
            inside = pd.Cluster(ids[item], label=title, style="dashed")
            holder.add_subgraph(inside)
        attrs.update(extra.get(item, {}))  # the user's attributes win, label too
        dot_node = pd.Node(ids[item])
        for name, value in attrs.items():  # not Node(**attrs): an attribute may be "name"
            dot_node.set(name, value)
        inside.add_node(dot_node)
        if kind in BOXES:
            _draw_nodes(pd, G, children, item, inside, ids, extra)


@exporter_options
@keyword_options
def to_dot(
    G_or_pipeline: Any,
    *,
    direction: str = "TD",
    data_edges: bool = True,
    collapse: Any = None,
    node_attrs: Mapping[str, Mapping[str, str | int | float]] | None = None,
) -> pydot.Dot:
    """Return the ``pydot.Dot`` of a pipeline graph, builder, IR node or compiled pipeline.

    ``direction`` is ``"TD"``/``"TB"``, ``"LR"``, ``"BT"`` or ``"RL"``, in any case;
    ``data_edges=False`` drops key labels and the edges that carry only keys. ``collapse``
    folds parts into one node each, as in :func:`~irgraph.backends.mermaid.to_mermaid`;
    ``node_attrs`` adds DOT attributes to graph nodes by id
    (``{"writer": {"style": "filled", "fillcolor": "#fdd"}}``), over the defaults:
    ``{"writer": {"label": "Writer"}}`` relabels a node. Values are strings, numbers or
    bools, quoted here for DOT; ``label``, ``xlabel`` and ``tooltip`` are drawn as the text
    given (no HTML-like labels or ``\\l`` or ``\\N`` escapes), and ``URL``, ``href``,
    ``target`` and ``id`` are written into an SVG as given. A node not in the graph, a
    value that is not a dict of attributes, or a ``fontname`` holding ``"``, ``<`` or ``&``
    (which Graphviz writes into an SVG as it is) raises :class:`~irgraph.errors.IrgraphError`.
    """
    pd = _pydot()
    if not isinstance(direction, str) or direction.upper() not in RANKDIRS:  # "lr" is LR
        raise IrgraphError(
            f"direction must be one of {', '.join(RANKDIRS)} (got {direction!r}); "
            "e.g. direction='LR' for left to right."
        )
    direction = direction.upper()
    checks.flag.check(data_edges, f"the data_edges argument of {called_as('to_dot()')}")
    graph = as_graph(G_or_pipeline)
    given = checked_node_attrs(graph, node_attrs)
    G, drawn = fold(graph, collapse)
    extra = folded_value(G, drawn, given)
    ids = node_ids(G)
    dot: pydot.Dot = pd.Dot("pipeline", graph_type="digraph", rankdir=RANKDIRS[direction])
    title = root_title(G)
    if title is not None:
        dot.set("label", _drawn(title, 2 * LABEL_WIDTH))  # a heading: twice as wide
        dot.set("labelloc", "t")
    dot.set("fontname", "Helvetica")  # the title's and the clusters' (else Times)
    dot.set_node_defaults(fontname="Helvetica")
    dot.set_edge_defaults(fontname="Helvetica")
    _draw_nodes(pd, G, drawn_children(graph, G), None, dot, ids, extra)
    for u, v, control, keys, condition in drawn_edges(G):  # a scope is one box: edges meet it
        if not control and not (data_edges and keys):
            continue
        attrs = {}
        words = [condition] if condition is not None else []
        if data_edges and keys:
            words.append(", ".join(keys))
        if words:
            attrs["label"] = _drawn("\n".join(words))
        if not control:
            attrs["style"] = "dashed"
        dot.add_edge(pd.Edge(ids[u], ids[v], **attrs))
    return dot


#: How long Graphviz's ``dot`` may take to draw a picture, in seconds, before it is stopped:
#: the default ``timeout=`` of ``to_svg``/``to_png``, and the limit of ``irgraph show``.
DOT_TIMEOUT = 60.0


def check_timeout(timeout: Any, where: str) -> None:
    """Refuse a ``timeout`` (of ``where``, e.g. ``"render()"``) that is not a positive, finite
    number of seconds or ``None`` (no limit)."""
    rule = attrs_lib.evolve(
        checks.optional(checks.seconds()),
        hint=f"Give e.g. timeout=120, or timeout=None for no limit (unset: {DOT_TIMEOUT:g} s).",
    )
    rule.check(timeout, f"the timeout of {where}")


#: The advice for a dot that fails whatever it is given ({} is its path); the last words are
#: the ones ``irgraph show`` replaces with its own option.
_REINSTALL = (
    "reinstall Graphviz (e.g. apt-get install --reinstall graphviz, brew reinstall graphviz or "
    "conda install graphviz) and check that {} -V prints its version, or draw with to_mermaid "
    "instead."
)

#: How each format's output begins: after leading whitespace for SVG, exactly for PNG.
_STARTS = {"svg": (b"<?xml", b"<svg"), "png": (b"\x89PNG\r\n\x1a\n",)}


def _graphviz(
    G_or_pipeline: Any, fmt: str, options: dict[str, Any], timeout: float | None = DOT_TIMEOUT
) -> bytes:
    """Run Graphviz's ``dot`` on the DOT of ``G_or_pipeline`` for format ``fmt``, stopped
    after ``timeout`` seconds (``None``: never); its output, checked to look like ``fmt``."""
    check_timeout(timeout, f"to_{fmt}()")
    dot = to_dot(G_or_pipeline, **options)
    text = dot.to_string()
    program = shutil.which("dot")
    if program is None:
        raise GraphvizError(
            f"Drawing {fmt.upper()} needs Graphviz's 'dot' program, which is not on PATH. "
            "Install Graphviz (e.g. apt-get install graphviz, brew install graphviz or "
            "conda install graphviz), or draw with to_mermaid instead."
        )
    try:
        done = subprocess.run(
            [program, f"-T{fmt}"],
            input=text.encode("utf-8"),
            capture_output=True,
            check=False,
            timeout=timeout,
        )
    except OSError as exc:  # not a program this system runs (no #! line, wrong machine)
        raise GraphvizError(
            f"The program {program}, found as Graphviz's dot, could not be run: {exc.strerror}. "
            "Put Graphviz's dot first on PATH, or draw with to_mermaid instead."
        ) from None
    except subprocess.TimeoutExpired:
        raise GraphvizError(
            f"Graphviz's dot ({program}) did not finish within {timeout:g} s drawing "
            f"{fmt.upper()}, and was stopped; fold parts of a large pipeline with collapse=..., "
            "or draw with to_mermaid instead.",
            timeout=timeout,
        ) from None
    said = done.stderr.decode("utf-8", "replace").strip()
    if done.returncode < 0:  # killed: by the system (out of memory) or by someone
        told = f"; it said: {said[:300]}" if said else ""
        raise GraphvizError(
            f"Graphviz's dot ({program}) was killed by signal {-done.returncode} drawing "
            f"{fmt.upper()}{told}. Draw it again; if it keeps failing, {_REINSTALL.format(program)}"
        )
    if done.returncode != 0:  # dot's own errors (a syntax error it found in our text) or a
        # broken install (a library missing, a wrapper script that fails)
        told = f": {said[:1000].rstrip('.')}" if said else ", and wrote nothing on standard error"
        raise GraphvizError(
            f"Graphviz's dot ({program}) failed drawing {fmt.upper()}, with exit status "
            f"{done.returncode}{told}. If the dot on PATH is broken, "
            f"{_REINSTALL.format(program)}"
        )
    starts = _STARTS.get(fmt)
    out = done.stdout.lstrip() if fmt == "svg" else done.stdout
    if starts is not None and not out.startswith(starts):
        head = done.stdout[:40].decode("utf-8", "replace")
        told = f"; it said: {said[:300]}" if said else ", and nothing on standard error"
        raise GraphvizError(
            f"The program {program}, run as Graphviz's dot, wrote no {fmt.upper()}: its "
            f"output begins {head!r}{told}. Check that it is Graphviz's dot ({program} -V "
            "says so), put Graphviz's dot first on PATH, or draw with to_mermaid instead."
        )
    if fmt == "png":  # drawn with this machine's fonts (an SVG is drawn with the viewer's)
        warn_unfonted(dot)
    return done.stdout


@exporter_options
@keyword_options
def to_svg(G_or_pipeline: Any, *, timeout: float | None = DOT_TIMEOUT, **options: Any) -> str:
    """Draw a pipeline as SVG text with Graphviz, which may take ``timeout`` seconds (``None``:
    no limit); ``options`` are those of :func:`to_dot`."""
    data = _graphviz(G_or_pipeline, "svg", options, timeout)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise GraphvizError(
            f"Graphviz's dot wrote SVG that is not UTF-8 (byte {exc.start} cannot be read); "
            "check that the dot on PATH is Graphviz's, or draw with to_mermaid instead."
        ) from None


@exporter_options
@keyword_options
def to_png(G_or_pipeline: Any, *, timeout: float | None = DOT_TIMEOUT, **options: Any) -> bytes:
    """Draw a pipeline as PNG bytes with Graphviz, which may take ``timeout`` seconds (``None``:
    no limit); ``options`` are those of :func:`to_dot`. A label character no installed font
    has (fontconfig tells) is drawn as a box: a ``UserWarning`` names it and where it is."""
    return _graphviz(G_or_pipeline, "png", options, timeout)
