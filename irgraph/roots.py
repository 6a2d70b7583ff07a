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

from typing import Any

from irgraph.errors import PipelineError
from irgraph.ir import NODE_KINDS, Node

__all__ = ["root_of", "compiled_runnable"]


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
    raise PipelineError(
        f"Expected {expected or 'a pipeline builder or an IR node'} (got {pipeline_or_ir!r} of "
        f"type {type(pipeline_or_ir).__name__}).",
        hint="Pass e.g. Agent('a') >> Agent('b'), "
        + (
            "the result of .to_ir(), or to_graph(pipeline)."
            if graphs
            else "or the result of .to_ir()."
        ),
    )


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
