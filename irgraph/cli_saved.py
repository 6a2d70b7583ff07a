"""A pipeline saved in a file, read for the ``irgraph`` command: IR JSON, a node-link graph
in JSON, or GraphML written through :func:`irgraph.portable`; a file that is none of these,
or damaged, refused with how to save it again.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from typing import Any

import attrs

from irgraph.cli_errors import CliError
from irgraph.cli_files import is_graphml, nearby
from irgraph.errors import PipelineError

__all__ = ["load_saved"]


def load_saved(path: str) -> Any:
    """The pipeline saved in a ``.json`` file: IR JSON (``irgraph.ir.to_json``) or a graph
    (``nx.node_link_data(to_graph(...))``); or in a ``.graphml`` file written with
    ``nx.write_graphml(irgraph.portable(G), path)``. Functions are imported only when they
    run."""
    try:
        with open(path, "rb") as file:
            raw = file.read()
    except OSError as exc:
        advice = (
            "check the path (a relative one starts at the current directory)"
            if isinstance(exc, FileNotFoundError)
            else f"give the path of a {os.path.splitext(path)[1]} file you may read"
        )
        close = nearby(path, (".json", ".graphml")) if isinstance(exc, FileNotFoundError) else ""
        raise CliError(
            f"Cannot read the pipeline file {path!r}: {exc.strerror}; {advice}.{close}"
        ) from None
    if is_graphml(path):
        return _saved_graphml(path, raw)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise CliError(
            f"The pipeline file {path!r} is not UTF-8 text (byte {exc.start} cannot be read); "
            "save it again as UTF-8 JSON."
        ) from None
    save = "irgraph.ir.to_json(ir) or json.dumps(nx.node_link_data(to_graph(pipeline)))"
    if not text.strip():
        raise CliError(f"The pipeline file {path!r} is empty; save a pipeline into it with {save}.")
    try:
        data = json.loads(text)
    except RecursionError:
        raise CliError(
            f"The pipeline file {path!r} nests its JSON too deeply to read; a pipeline saved by "
            "irgraph nests far less, so save it again with irgraph.ir.to_json."
        ) from None
    except ValueError as exc:
        raise CliError(
            f"The pipeline file {path!r} is not valid JSON ({exc}); save it again with {save}."
        ) from None
    if isinstance(data, dict) and data.get("format") == "irgraph-ir":
        from irgraph.ir import from_json

        try:
            return from_json(text)
        except PipelineError as exc:
            raise _led(path, exc.problems) from None
    if isinstance(data, dict) and "nodes" in data and "graph" in data and "adjacency" in data:
        raise CliError(
            f"{path!r} holds a graph saved as networkx's adjacency JSON (nx.adjacency_data), "
            "and a saved pipeline graph is read from node-link JSON; save it with "
            "json.dumps(nx.node_link_data(G)) (G = nx.adjacency_graph(data) reads this one "
            "back)."
        )
    if isinstance(data, dict) and "nodes" in data and "graph" in data:
        return _saved_graph(path, data)
    raise CliError(
        f"{path!r} holds neither IR JSON nor a saved graph; save a pipeline with "
        "irgraph.ir.to_json(ir) or json.dumps(nx.node_link_data(to_graph(pipeline)))."
    )


def _saved_graph(path: str, data: dict[str, Any]) -> Any:
    import networkx as nx

    edges = "links" if "links" in data else "edges"
    if not isinstance(data.get("graph"), dict):
        raise CliError(
            f'{path!r} looks like a saved graph, but its "graph" attributes are '
            f"{json.dumps(data.get('graph'))}, not an object holding its pipeline; save it "
            "again with json.dumps(nx.node_link_data(to_graph(pipeline)))."
        )
    try:
        G = nx.node_link_graph(data, edges=edges)
    except Exception as exc:  # networkx reports a damaged file as KeyError, TypeError, ...
        raise CliError(
            f"{path!r} looks like a saved graph, but networkx cannot read it "
            f"({type(exc).__name__}: {exc}); save it again with "
            "json.dumps(nx.node_link_data(to_graph(pipeline)))."
        ) from None
    return _file_graph(path, G)


def _saved_graphml(path: str, raw: bytes) -> Any:
    """The pipeline in GraphML file ``path`` (its bytes ``raw``), decoded by
    :func:`irgraph.from_portable`."""
    import networkx as nx

    from irgraph.portable import from_portable

    write = "nx.write_graphml(irgraph.portable(to_graph(pipeline)), path)"
    if b"<graphml" not in raw:
        raise CliError(
            f"{path!r} is not a GraphML file (it has no <graphml> element); save the pipeline "
            f"with {write}, or name its .json file."
        )
    try:
        H = nx.parse_graphml(raw)
    except Exception as exc:  # XML errors, and networkx's own for XML that is not GraphML
        raise CliError(
            f"{path!r} is not a GraphML file networkx can read ({type(exc).__name__}: {exc}); "
            f"save the pipeline again with {write}."
        ) from None
    if not isinstance(H, nx.DiGraph):
        raise CliError(
            f"{path!r} holds an undirected GraphML graph, which has lost which way each edge "
            f"goes; save the pipeline again with {write}."
        )
    try:
        G = from_portable(H)
    except PipelineError as exc:
        raise CliError(f"{path!r}: {exc.problems[0]}") from None
    return _file_graph(path, G)


def _file_graph(path: str, G: Any) -> Any:
    """The pipeline of graph ``G`` read from file ``path``: the problems ``validate(G)``
    lists, each led by the file's name."""
    from irgraph.graph_read import from_graph
    from irgraph.validate import unbound_reads

    try:
        return from_graph(G)
    except PipelineError as exc:
        # A key no step writes is the command's to check, against its --state and --input.
        try:  # a parent chain edited into a loop would never end: read it cut
            unbound = unbound_reads(_parents_cut(G))
        except Exception:  # a graph too damaged to tell: every problem stands
            unbound = []
        problems = [p for p in exc.problems if p not in unbound] or exc.problems
        raise _led(path, problems) from None


def _parents_cut(G: Any) -> Any:
    """``G``, or a copy whose chains of ``parent`` attributes each end where ``G``'s loop (a
    graph edited by hand can make a node its own parent, or two each other's): walks up the
    parents, as the unbound-read check does, would never end."""
    ended: set[Any] = set()
    looped: list[Any] = []
    for start in G.nodes:
        chain: list[Any] = []
        current = start
        while current is not None and current not in ended:
            if current in chain:
                looped.append(current)
                break
            chain.append(current)
            current = G.nodes[current].get("parent") if current in G else None
        ended.update(chain)
    if not looped:
        return G
    cut = G.copy()
    for node in looped:
        cut.nodes[node]["parent"] = None
    return cut


def _led(path: str, problems: Sequence[Any]) -> PipelineError:
    """The error listing ``problems`` of the pipeline file ``path``, each led by its name."""
    return PipelineError([attrs.evolve(p, message=f"{path}: {p.message}") for p in problems])
