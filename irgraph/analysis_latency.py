"""The ``latency`` the analyses take, checked: a number of seconds for every node, a dict of
node id -> seconds (a node left out costs 0), or a function ``latency(node_id, attrs)``.

A dict that gives a loop, map-over or route its own latency costs that scope as one step of
that length, without looking into its body; so a dict that also gives a step inside it is
refused, since that step's latency would be silently ignored (a dict made from every node of
the graph, scopes included, would cost a loop of agents nothing).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from irgraph import checks
from irgraph.errors import PipelineError, did_you_mean
from irgraph.schema import SCOPE_KINDS

if TYPE_CHECKING:
    import networkx as nx

__all__ = ["Latency", "checked_latency"]

Latency = float | int | Mapping[str, float] | Callable[[str, dict[str, Any]], float]

_SECONDS = checks.seconds(allow_zero=True)


def checked_latency(G: nx.DiGraph, latency: Any) -> Latency:
    """``latency`` if it is one of the three forms and its numbers are finite seconds, 0 or
    more; a dict may name only nodes of ``G``."""
    if isinstance(latency, Mapping):
        for node, seconds in latency.items():
            if node not in G:
                raise PipelineError(
                    f"The latency dict names {node!r}, which is not a node of the pipeline."
                    f"{did_you_mean(str(node), [str(n) for n in G])}",
                    node=str(node),
                    hint="Key it by node id (the names in to_graph(pipeline).nodes).",
                )
            _SECONDS.check(seconds, f"the latency of {node!r}", node=str(node))
        _refuse_scopes_and_their_steps(G, latency)
        return latency
    if callable(latency):
        _check_signature(latency)
        return latency  # type: ignore[no-any-return]
    if not _SECONDS.test(latency):
        raise PipelineError(
            "latency must be a finite number of seconds, 0 or more, a dict of node id -> "
            f"seconds, or a function (node_id, attrs) -> seconds (got {latency!r} of type "
            f"{type(latency).__name__}).",
            hint="Pass e.g. latency=1.0 or latency={'writer': 2.5}.",
            expected="seconds, a dict or a function",
            got=latency,
        )
    return latency  # type: ignore[no-any-return]


def _check_signature(latency: Callable[..., Any]) -> None:
    """Refuse a latency function that cannot be called as ``latency(node_id, attrs)``."""
    import inspect

    try:
        signature = inspect.signature(latency)
    except (TypeError, ValueError):
        return  # no signature to read (some builtins): it is called as it is
    try:
        signature.bind("node_id", {})
    except TypeError as exc:
        name = getattr(latency, "__qualname__", None) or repr(latency)
        raise PipelineError(
            f"The latency function {name}{signature} cannot be called as "
            f"latency(node_id, attrs), which is how the analyses call it, once per node, with "
            f"the node's id and its attributes ({exc}).",
            hint="Give it two parameters, e.g. lambda node, attrs: 2.0 if attrs['kind'] == "
            "'agent' else 0.0, or pass a dict of node id -> seconds.",
            expected="a function latency(node_id, attrs) -> seconds",
            got=latency,
        ) from None


def _refuse_scopes_and_their_steps(G: nx.DiGraph, latency: Mapping[str, Any]) -> None:
    """Refuse a dict that gives a scope a latency and a step inside it one too."""
    for scope in (n for n in latency if G.nodes[n]["kind"] in SCOPE_KINDS):
        inside = [n for n in latency if n != scope and _within(G, n, scope)]
        if not inside:
            continue
        kind = G.nodes[scope]["kind"].replace("_", "-")
        steps = ", ".join(repr(n) for n in inside[:3]) + (" ..." if len(inside) > 3 else "")
        raise PipelineError(
            f"The latency dict gives both {kind} {scope!r} and {steps} inside it. A scope's "
            f"latency in the dict is the time of the whole {kind}, whose body is then not "
            "looked into, so the latencies of the steps inside it would be ignored.",
            node=str(scope),
            hint=f"Leave {scope!r} out to cost it from the steps inside it (its iterations, "
            "items or branches), or leave those steps out to cost it as one step; a dict made "
            "from every node should keep only its agents, transforms and gates.",
        )


def _within(G: nx.DiGraph, node: str, scope: str) -> bool:
    parent = G.nodes[node]["parent"]
    while parent is not None:
        if parent == scope:
            return True
        parent = G.nodes[parent]["parent"]
    return False
