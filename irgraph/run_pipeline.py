"""Which pipeline graph a run's view draws: the one given for it, checked against the graph
the run carries (:mod:`irgraph.run_view`). A view against another pipeline would show the
nodes that pipeline adds as never reached, and lose those it lacks, so it is refused.

>>> from irgraph import Agent, run
>>> from irgraph.testing import FakeProvider
>>> result = run(Agent("a").instruct("Hi."), provider=FakeProvider())
>>> result.view(Agent("a").instruct("Hi.") >> Agent("b").instruct("More."))
Traceback (most recent call last):
...
irgraph.errors.IrgraphError: The pipeline given for the run's view is not the one that ran: it has nodes the run's has not ('b'); pass that pipeline, or none (the run carries its graph).
"""  # noqa: E501

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from irgraph.errors import IrgraphError
from irgraph.run_status import checked_graph

if TYPE_CHECKING:
    import networkx as nx

__all__ = ["viewed_graph", "named"]


def named(nodes: Iterable[str], most: int = 5) -> str:
    """Node ids for a message: ``'a', 'b', ...`` (``most`` of them, in order)."""
    nodes = list(nodes)
    shown = ", ".join(repr(n) for n in nodes[:most])
    return shown + (", ..." if len(nodes) > most else "")


def _place(graph: nx.DiGraph, node: str) -> tuple[Any, Any, Any]:
    """What a node is and where: its kind, its scope and its branch of a route."""
    data = graph.nodes[node]
    return data.get("kind"), data.get("parent"), data.get("branch")


def viewed_graph(pipeline: Any, carried: Any) -> nx.DiGraph | None:
    """The graph a run's view draws: ``pipeline``'s, when one is given (refused if the run
    carries a graph with other nodes, or nodes elsewhere), else the one the run ``carried``
    (``None``: the view reads one from the trace)."""
    ran = carried if carried is not None and hasattr(carried, "nodes") else None
    if pipeline is None:
        return ran
    graph = checked_graph(pipeline)
    if ran is None or ran is graph:
        return graph
    extra = [n for n in graph.nodes if n not in ran]
    missing = [n for n in ran.nodes if n not in graph]
    moved = [n for n in graph.nodes if n in ran and _place(graph, n) != _place(ran, n)]
    why = []
    if extra:
        why.append(f"it has nodes the run's has not ({named(extra)})")
    if missing:
        why.append(f"it does not have ({named(missing)})")
    if moved:
        why.append(f"({named(moved)}) {'is' if len(moved) == 1 else 'are'} of another kind or "
                   "in another scope there")  # fmt: skip
    if why:
        raise IrgraphError(
            f"The pipeline given for the run's view is not the one that ran: "
            f"{' and '.join(why)}; pass that pipeline, or none (the run carries its graph)."
        )
    return graph
