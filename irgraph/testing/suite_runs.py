"""How the conformance suite runs a pipeline on a backend and on the reference interpreter,
and how it reports a failure (the pipeline printed as builder code)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from irgraph.builder import Builder
from irgraph.events import RunResult
from irgraph.graph import root_of
from irgraph.ir.nodes import GateNode, Node
from irgraph.providers import agent_names
from irgraph.run import arun, run_coroutine
from irgraph.testing.fake import FakeProvider
from irgraph.testing.reference import interpret

__all__ = [
    "MakeBackend",
    "gate_answer",
    "known_agent",
    "path_problem",
    "scope_hint",
    "unknown_trace_nodes",
]

MakeBackend = Callable[[Any], Any]


def gate_answer(request: Any) -> str:
    """The deterministic gate handler the suite uses: approve, quoting the message."""
    return f"approved: {request.message}"


def _code(pipeline: Builder) -> str:
    from irgraph.testing.strategies import to_code

    return to_code(pipeline)


def _fail(pipeline: Builder, message: str) -> AssertionError:
    return AssertionError(f"{message}\nPipeline:\n{_code(pipeline)}")


def known_agent(G: Any, agent: str, check: str) -> None:
    """Refuse a property check's ``agent`` that names no agent of the pipeline graph ``G``:
    the check would report a correct backend as broken."""
    agents = sorted(agent_names(G))
    if agent not in agents:
        raise ValueError(
            f"{check}() got agent {agent!r}, which is no agent of this pipeline (its agents: "
            f"{', '.join(map(repr, agents)) or 'none'}); name one of them."
        )


def _run(
    make_backend: MakeBackend,
    pipeline: Any,
    provider: Any,
    state: Mapping[str, Any],
    **options: Any,
) -> RunResult:
    """Run ``pipeline`` (builder or IR) on a backend ``make_backend(provider)`` makes; gates
    get :func:`gate_answer` unless ``options`` give an ``on_gate``. A pipeline with no gate
    gets no ``on_gate`` (nor does a fuzzed one), so a backend without gates need not take it."""
    if not _has_gate(root_of(pipeline)):
        options.pop("on_gate", None)
    elif "on_gate" not in options:
        options["on_gate"] = gate_answer

    async def go() -> RunResult:
        return await arun(pipeline, backend=make_backend(provider), state=dict(state), **options)

    return run_coroutine(go())


def _reference(pipeline: Builder, state: Mapping[str, Any]) -> Any:
    """The reference interpreter's run of ``pipeline`` (the fake model, the suite's gates)."""
    return run_coroutine(
        interpret(pipeline.to_ir(), FakeProvider(), dict(state), on_gate=gate_answer)
    )


def _has_gate(node: Node) -> bool:
    """Whether ``node`` is a gate or holds one."""
    if isinstance(node, GateNode):
        return True
    children = getattr(node, "children", ())
    return any(_has_gate(child) for child in children)


def unknown_trace_nodes(G: Any, result: RunResult) -> str | None:
    """Why the trace of ``result`` cannot be checked against the graph ``G`` when one of its
    events names a node ``G`` does not have (``None`` when every one is ``G``'s)."""
    unknown = sorted({event.node for event in result.trace if event.node not in G}, key=repr)
    if not unknown:
        return None
    some = ", ".join(map(repr, list(G)[:3]))
    return (
        f"The trace names {', '.join(map(repr, unknown[:5]))}, which the pipeline's graph has "
        f"no node of. An Event's node is the node's id in the graph ({some}, ...: the nodes of "
        "runnable.graph, to_graph(pipeline)), as RunError.node and RunResult.outputs use."
    )


#: What a node of each scope kind is called in a message.
_SCOPE_WORDS = {"loop": "loop", "map_over": "map-over", "route": "route"}


def scope_hint(G: Any, nodes: list[str]) -> str:
    """What a backend must emit for the loops, map-overs and routes among ``nodes``, which
    the trace has no event of (empty when there are none): their body may well have run, but
    each has a ``start`` and ``end`` event of its own."""
    scopes = [
        f"{_SCOPE_WORDS[G.nodes[n]['kind']]} {n!r}"
        for n in nodes
        if G.nodes[n]["kind"] in _SCOPE_WORDS
    ]
    if not scopes:
        return ""
    return (
        f' The trace has no event of {", ".join(scopes)}: a loop or map-over has a "start" '
        'and an "end" Event of its own, around its body\'s events, which carry path='
        "((scope id, iteration or item index), ...); a route's pair encloses the branch "
        "it chose (see irgraph.Event)."
    )


def _scopes(G: Any, node: str) -> tuple[str, ...]:
    """The loops and map-overs ``node`` is in, outermost first: the scopes its path names."""
    chain = []
    parent = G.nodes[node]["parent"]
    while parent is not None:
        if G.nodes[parent]["kind"] in ("loop", "map_over"):
            chain.append(parent)
        parent = G.nodes[parent]["parent"]
    return tuple(reversed(chain))


def path_problem(G: Any, result: RunResult) -> str | None:
    """Why the paths of ``result``'s trace do not say where each execution ran (``None`` when
    they do): a start's path must name each loop and map-over its node is in, outermost first,
    each with its iteration or item index, and no node may start twice at one path."""
    seen: set[tuple[str, tuple[Any, ...]]] = set()
    for event in result.trace:
        if event.event != "start" or event.node not in G:
            continue
        want = _scopes(G, event.node)
        if tuple(scope for scope, _ in event.path) != want:
            example = tuple((scope, 0) for scope in want)
            return (
                f"The trace starts {event.node!r} at path={event.path!r}, which does not name "
                f"the loops and map-overs it is in: an Event's path is each enclosing loop or "
                f"map-over, outermost first, with its iteration or item index, here "
                f"path={example!r} for the first (see irgraph.Event)."
            )
        if (event.node, event.path) in seen:
            return (
                f"The trace starts {event.node!r} twice at path={event.path!r}: each iteration "
                "of a loop and each item of a map-over has its own index in the path of the "
                "events inside it."
            )
        seen.add((event.node, event.path))
    return None
