"""``from_graph``: the pipeline a graph holds, refused when the graph no longer follows from it.

A graph holds its pipeline twice: the nodes' own settings with the ``tree`` (what
:func:`irgraph.schema.from_graph` rebuilds, and what runs), and what :func:`irgraph.to_graph`
derived from them (``reads``, ``writes``, the edges...), which ``validate``, the analyses and
the exporters read. A graph edited by hand (its edges removed, an ``instruction`` changed so
its ``reads`` are stale), reversed or relabelled would otherwise be judged by those on one
side and run as its settings say on the other. So :func:`from_graph` of a graph ``to_graph``
did not make in this process refuses it when the two differ, listing what ``validate(G)``
lists; the very graph ``to_graph`` made here is taken as it is, without a second build.

>>> import networkx as nx
>>> from irgraph import Agent, to_graph
>>> G = to_graph(Agent("a").instruct("Go.").writes("x") >> Agent("b").instruct("Use {x}."))
>>> from_graph(nx.node_link_graph(nx.node_link_data(G))) == from_graph(G)
True
>>> G.remove_edge("a", "b")
>>> from_graph(G.copy())
Traceback (most recent call last):
...
irgraph.errors.PipelineError: The graph has no edge a -> b, which its pipeline has: ...
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from irgraph import checks, schema
from irgraph.graph import to_graph
from irgraph.graph_foreign import rebuilt, unchanged_here
from irgraph.validate import validate

if TYPE_CHECKING:
    import networkx as nx

    from irgraph.ir import Node

__all__ = ["from_graph"]


@checks.keyword_options
def from_graph(G: nx.DiGraph, *, allow: Any = None, check: bool = True) -> Node:
    """The IR a graph from :func:`irgraph.to_graph` was built from, also after the graph went
    through JSON (``nx.node_link_data``) or another process. Its root declares the graph's
    ``inputs`` (also those given as ``to_graph(..., inputs=...)``), so
    ``to_graph(from_graph(G))`` is the same graph. Functions come back as import paths,
    imported only when a backend runs them, and only from the modules in ``allow`` (a graph
    is data: see :mod:`irgraph.ir.trust`).

    A graph ``to_graph`` did not make in this process (read back, copied), or one it made
    that was edited in place since, whose derived attributes or edges no longer follow from
    the pipeline it holds is refused with the :class:`PipelineError` ``validate(G)`` raises,
    so what runs is what was checked.
    ``check=False`` takes the pipeline from the nodes' own settings and the ``tree`` alone,
    whatever was derived from them: ``to_graph(from_graph(G, check=False))`` makes the graph
    anew after a setting was edited by hand.
    """
    checks.flag.check(check, "the check argument of from_graph()")
    if check and not unchanged_here(G):
        stale = rebuilt(G, to_graph)[1]  # a graph that holds no whole pipeline raises here
        if stale:
            validate(G)  # raises: these problems, and every other one validate finds
    return schema.from_graph(G, allow=allow)
