"""Which command-line targets name a saved pipeline file, and what to say about one that
names no target at all: a GEXF or GML file, a file without the ``.json`` suffix, or a
module without ``:attr``. Plain functions returning text; :mod:`irgraph.cli_inputs` raises it
as a :class:`~irgraph.cli_inputs.CliError`.

>>> is_saved_file("p.json"), is_saved_file("P.JSON"), is_saved_file("p.graphml")
(True, True, True)
>>> is_saved_file("p.py:x"), is_graphml("p.GraphML")
(False, True)
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import re
from types import ModuleType

__all__ = ["is_graphml", "is_saved_file", "no_target"]

_SAVED = (
    "a saved pipeline is read from a .json file (IR JSON or a node-link graph) or a .graphml "
    "file written with irgraph.portable"
)


def is_saved_file(spec: str) -> bool:
    """Whether ``spec`` names a saved pipeline: a ``.json`` or ``.graphml`` file, in any case
    (``P.JSON``)."""
    return spec.lower().endswith(".json") or is_graphml(spec)


def is_graphml(spec: str) -> bool:
    """Whether ``spec`` names a GraphML file (``nx.write_graphml(irgraph.portable(G), ...)``)."""
    return spec.lower().endswith(".graphml")


def no_target(spec: str) -> str:
    """The message for ``spec``, which is neither ``module:attr``, ``file.py:attr`` nor a
    ``.json`` file."""
    stem, suffix = os.path.splitext(spec)
    if suffix.lower() == ".gexf":
        return (
            f"{spec!r} is a GEXF file, which cannot hold a pipeline (GEXF drops the graph's "
            f"'tree'), and {_SAVED}; save the pipeline with "
            "json.dumps(nx.node_link_data(to_graph(pipeline))) and name that file."
        )
    if suffix.lower() == ".gml":
        return (
            f"{spec!r} is a GML file, which cannot hold a pipeline (nx.read_gml takes each "
            f"node's 'label' as its id), and {_SAVED}; save the pipeline with "
            "nx.write_graphml(irgraph.portable(to_graph(pipeline)), path) and name that file."
        )
    if os.path.isfile(spec) and suffix.lower() != ".py":
        return (
            f"{spec!r} is a file without the .json suffix, but {_SAVED}; if it holds one, "
            f"rename it to {stem}.json, else name a pipeline as module:attr or file.py:attr."
        )
    plain = (
        f"{spec!r} is not of the form module:attr (e.g. irgraph.demo:research_pipeline), "
        f"file.py:attr or file.py, nor a saved pipeline's .json or .graphml file."
    )
    module = _module(spec)
    if module is not None:  # a module alone: name its pipelines
        from irgraph.cli_classes import listing

        return f"{plain} It names a module: give {spec}:ATTR.{listing(module, spec)}"
    return plain


def _module(spec: str) -> ModuleType | None:
    """The module a dotted name ``spec`` names, when it imports cleanly; else ``None``."""
    if not re.fullmatch(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)*", spec):
        return None
    try:
        if importlib.util.find_spec(spec) is None:
            return None
        return importlib.import_module(spec)
    except Exception:  # not a module, or one that fails: the plain message says enough
        return None
