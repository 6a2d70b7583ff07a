"""The initial values a generated flow refuses, and the keys it warns of, as in-process runs do.

In process, a run's starting state goes through :func:`irgraph.validate.initial_state`, which
refuses a value the pipeline cannot use (:func:`irgraph.initial_values.refuse_values`): text
for a map-over's list, None for a required read, a route value no branch takes, a template's
field read (``{verdict.reason}``) of a value without the field. A generated module holds no
graph, so it embeds what that check looks at (:func:`value_checks`, its ``STATE_CHECKS``
setting), and its flow and its ``run --state`` refuse the same states in the same words
(:func:`refuse_given_values`), where they used to fail at the node, after the tasks before it.
A given key that looks like an optional read misspelt (``tonee`` for ``{tone?}``) is warned of
in the in-process run's words (:func:`warn_given_keys`).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

import networkx as nx

from irgraph.initial_values import refuse_values
from irgraph.ir.key_paths import path_root
from irgraph.state_keys import warn_misspelled_optional
from irgraph.validate import written_before

__all__ = ["value_checks", "refuse_given_values", "warn_given_keys"]

#: The graph attributes of a node that the check of initial values reads, and the warning
#: for a misspelt optional read (``writes``, ``item``: keys a step writes, which no given key
#: is a misspelling of).
_KEPT = "kind parent reads optional_reads instruction system message over on cases".split()
_KEPT += ["writes", "item"]


def value_checks(G: nx.DiGraph) -> dict[str, Any]:
    """What :func:`refuse_given_values` needs of ``G``, as JSON values: each node's attributes
    the check reads (in node order, which orders its problems), and each ``[node, key]`` that
    a step before the node writes, so that its read never sees the initial value."""
    nodes = {
        nid: {name: data[name] for name in _KEPT if name in data}
        for nid, data in G.nodes(data=True)
    }
    bound = []
    for nid, data in G.nodes(data=True):
        keys = [*data.get("reads", ()), *data.get("optional_reads", ())]
        keys += [data["over"]] if data.get("over") else []
        keys += [path_root(data["on"])] if data.get("on") else []
        bound += [[nid, key] for key in dict.fromkeys(keys) if written_before(G, nid, key)]
    return {"nodes": nodes, "bound": bound}


def refuse_given_values(
    state: Mapping[str, Any], inputs: Collection[str], checks: Mapping[str, Any]
) -> None:
    """Raise the :class:`~irgraph.errors.PipelineError` an in-process run of the pipeline
    ``checks`` describes (:func:`value_checks`) raises for ``state``, which holds every key of
    ``inputs`` (the keys the run takes from it)."""
    bound = {(nid, key) for nid, key in checks["bound"]}
    G = _graph(checks)
    refuse_values(G, state, frozenset(inputs), lambda node, key: (node, key) in bound)


def warn_given_keys(
    state: Mapping[str, Any], checks: Mapping[str, Any], past: Collection[str] = ()
) -> None:
    """Warn, as an in-process run of the pipeline ``checks`` describes warns, of each key of
    ``state`` that is an optional read misspelt (``tonee`` for ``{tone?}``), at the first
    line on the stack outside irgraph, Prefect and the modules ``past`` (the generated one).
    The ``checks`` of a module an older irgraph generated hold no node's writes, without
    which a key a step writes would look unread: they warn of nothing."""
    nodes = checks["nodes"].values()
    if all("writes" in data for data in nodes):
        warn_misspelled_optional(_graph(checks), state, past=past)


def _graph(checks: Mapping[str, Any]) -> nx.DiGraph:
    """The graph of nodes ``checks`` describes (their attributes that the checks read)."""
    G = nx.DiGraph()
    G.add_nodes_from(checks["nodes"].items())
    return G
