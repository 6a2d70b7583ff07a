"""The IR root of what a function was given, or the error saying what it takes instead.

:func:`irgraph.to_graph`, :func:`irgraph.run` and the rest take a pipeline: a builder (whose
``.to_ir()`` gives the root) or an IR node. The exporters and the analyses take the graph
:func:`irgraph.to_graph` returns too, and a compiled pipeline, whose graph is the one it runs
(:func:`irgraph.graph.as_graph`), so when they are given something else, their message lists
those as well.

>>> from irgraph import Agent
>>> root_of(Agent("a")).name
'a'
"""

from __future__ import annotations

import json
from typing import Any

from irgraph.errors import PipelineError, a_or_an
from irgraph.graph_mistakes import named, run_picture
from irgraph.ir import NODE_KINDS, Node

__all__ = ["root_of", "compiled_runnable", "saved_pipeline", "run_named"]


def root_of(pipeline_or_ir: Any, *, graphs: bool = False) -> Node:
    """Return the IR root of a builder, or the IR node itself; ``graphs``: the caller takes a
    graph from ``to_graph`` too (it has handled a directed one), and its message says so."""
    if isinstance(pipeline_or_ir, NODE_KINDS):
        return pipeline_or_ir
    if isinstance(pipeline_or_ir, type):
        name = pipeline_or_ir.__name__
        raise PipelineError(
            f"Expected a pipeline, but got the class {name} itself, not a pipeline made with it.",
            hint=f"Make one first, e.g. {name}('name') for a builder "
            "(Agent('writer').instruct('Write {topic}.')).",
        )
    to_ir = getattr(pipeline_or_ir, "to_ir", None)
    if callable(to_ir):
        node = to_ir()
        if isinstance(node, NODE_KINDS):
            return node
    expected = (
        "a pipeline builder, an IR node, a graph from to_graph or a compiled pipeline"
        if graphs
        else None
    )
    if hasattr(pipeline_or_ir, "graph") and hasattr(pipeline_or_ir, "adj"):  # a networkx graph
        kind = type(pipeline_or_ir).__name__
        if expected is not None:  # not directed: to_graph never makes one
            raise PipelineError(
                f"Expected {expected}, but got an undirected networkx {kind}.",
                hint="Pass the DiGraph to_graph returns (G = to_graph(pipeline)), or the "
                "pipeline itself.",
            )
        kinds = [data.get("kind") for data in pipeline_or_ir.nodes.values()]
        if kinds and all(isinstance(k, str) and k.startswith('"') for k in kinds):  # GraphML
            raise PipelineError(
                f"Expected a pipeline builder or an IR node, but got a graph (a {kind}) whose "
                "attributes are JSON text, as irgraph.portable(G) writes them for GraphML.",
                hint="Decode it and rebuild its pipeline: run(from_graph(from_portable(G)), "
                "...) (from irgraph import from_graph, from_portable).",
            )
        raise PipelineError(
            f"Expected a pipeline builder or an IR node, but got a graph (a {kind}).",
            hint="A graph from to_graph holds its pipeline: rebuild it with from_graph(G) and "
            "pass that, e.g. run(from_graph(G), ...).",
        )
    runnable = compiled_runnable(pipeline_or_ir)
    if runnable is not None:
        kind = type(runnable).__name__
        held = "" if runnable is pipeline_or_ir else ".runnable"
        if graphs:  # the caller draws or analyses its .graph: this one holds none
            raise PipelineError(
                f"Expected {expected}, but got a compiled {kind} that holds no graph (.graph).",
                hint=f"Pass the pipeline it was compiled from, its {held}.node.",
            )
        raise PipelineError(
            f"Expected a pipeline, but got a compiled {kind}, which runs itself.",
            hint=f"Call its {held}.run(state) or await its {held}.arun(state); to draw or "
            "analyse it, pass it as it is to to_mermaid, to_dot or show, or take its "
            f"{held}.graph; or pass the pipeline it was compiled from (its {held}.node) to "
            "compile and run it anew.",
        )
    ran, kind = run_named(pipeline_or_ir), type(pipeline_or_ir).__name__
    if ran is not None:
        raise PipelineError(
            f"Expected {expected or 'a pipeline builder or an IR node'}, but got the result of "
            f"a run ({a_or_an(kind)} {kind}), not a pipeline.",
            hint=f"{ran}.view() shows what the run did (its diagram, timeline and calls), and "
            f"{ran}.graph is the graph of the pipeline that ran, which to_mermaid, show and the "
            "analyses take.",
        )
    picture = run_picture(pipeline_or_ir)
    if picture is not None:
        raise PipelineError(
            f"Expected {expected or 'a pipeline builder or an IR node'}, but got {picture}.",
            hint="It shows itself: leave it as a notebook cell's value, print() it as text or "
            ".save('run.svg') it; the graph of the pipeline that ran is the run's result.graph "
            "(error.graph of a failed run), which to_mermaid, show and the analyses take.",
        )
    saved = saved_pipeline(pipeline_or_ir)
    if saved is not None:
        got, hint = saved
        raise PipelineError(
            f"Expected {expected or 'a pipeline builder or an IR node'}, but got {got}.",
            hint=hint,
        )
    raise PipelineError(
        f"Expected {expected or 'a pipeline builder or an IR node'} (got {named(pipeline_or_ir)}).",
        hint="Pass e.g. Agent('a') >> Agent('b'), "
        + (
            "the result of .to_ir(), or to_graph(pipeline)."
            if graphs
            else "or the result of .to_ir()."
        ),
    )


def run_named(value: Any) -> str | None:
    """How to name the run ``value`` holds: ``result`` (a RunResult), ``error`` (a RunError),
    ``item.result`` (a batch's ItemResult that ran); ``None`` for anything else."""
    kind = type(value).__name__
    if kind in ("RunResult", "RunError", "BatchError") and hasattr(value, "trace"):
        return "error" if kind != "RunResult" else "result"
    if kind == "ItemResult" and getattr(value, "result", None) is not None:
        return "item.result"
    return None


def compiled_runnable(value: Any) -> Any:
    """The runnable of a compiled pipeline: ``value`` is what :func:`irgraph.compile` returns
    or its ``.runnable`` (which holds its IR as ``.node`` and runs with ``.arun``); ``None``
    for anything else."""
    runnable = getattr(value, "runnable", value)
    node = getattr(runnable, "node", None)
    return (
        runnable
        if isinstance(node, NODE_KINDS) and callable(getattr(runnable, "arun", None))
        else None
    )


def saved_pipeline(value: Any) -> tuple[str, str] | None:
    """What ``value`` is, and how to get the pipeline from it, when it is a pipeline saved or
    named rather than the pipeline: IR JSON or a node-link graph (as text or parsed), a file's
    name, or a target as the ``irgraph`` command takes it; ``None`` for anything else."""
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    if isinstance(value, str) and not value.lstrip().startswith("{"):
        return _named_pipeline(value.strip())
    what, ir, graph = "data", "from_json(json.dumps(data))", "nx.node_link_graph(data)"
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except (ValueError, RecursionError):
            return None
        what, ir, graph = "text", "from_json(text)", "nx.node_link_graph(json.loads(text))"
    if not isinstance(value, dict):
        return None
    if value.get("format") == "irgraph-ir":
        got = f"IR JSON {what} (what irgraph.ir.to_json writes), not the pipeline it holds"
        return got, f"Read the pipeline from it first: {ir} (from irgraph.ir import from_json)."
    if "nodes" in value and ("links" in value or "edges" in value):
        got = f"node-link {what} (what nx.node_link_data(G) writes), not the pipeline it holds"
        return got, (
            f"Read the pipeline from it first: from_graph({graph}) (from irgraph import "
            "from_graph)."
        )
    return None


def _named_pipeline(name: str) -> tuple[str, str] | None:
    """The mistake of passing the name of a file or a target (``"pipeline.json"``,
    ``"pipes.py:research"``) where the pipeline itself was wanted."""
    if not name or any(c.isspace() for c in name):
        return None
    command = f"the irgraph command takes the name: irgraph run {name}"
    file = f"the file name {name!r}, not the pipeline it holds"
    if name.lower().endswith(".json"):
        text = f"Path({name!r}).read_text()"
        return file, (
            f"Read the file first: from_json({text}) for IR JSON (from irgraph.ir import "
            f"from_json), from_graph(nx.node_link_graph(json.loads({text}))) for a saved graph "
            f"(from irgraph import from_graph; from pathlib import Path); {command}."
        )
    if name.lower().endswith(".graphml"):
        return file, (
            f"Read the file first: from_graph(from_portable(nx.read_graphml({name!r}))) (from "
            f"irgraph import from_graph, from_portable); {command}."
        )
    module, colon, attr = name.rpartition(":")
    if not name.lower().endswith(".py") and not (module and attr.replace(".", "_").isidentifier()):
        return None
    place = module or name
    stem = place.replace("\\", "/").rsplit("/", 1)[-1].removesuffix(".py")
    shown = f"from {stem} import {attr.split('.')[0] if colon else '<name>'}"
    folder = " (with the file's folder importable)" if place.endswith(".py") else ""
    return f"{name!r}, a target as the irgraph command takes it (irgraph run {name})", (
        f"In Python, import the pipeline and pass it: {shown}{folder}."
    )
