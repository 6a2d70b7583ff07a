"""The plan the scope scheduler runs: every scope of a graph as index lists.

A scope (the top level, or the body of a loop or map-over) becomes a :class:`ScopePlan`: its
steps, each step's count of predecessors and tuple of successors, and the steps nothing waits
on. :mod:`irgraph.backends.scheduler` keeps a copy of the counts per run of the scope and runs
a step when its count reaches zero, so each completion costs O(successors).

A route's body is planned per branch: its nodes are split by their ``branch`` attribute (the
index of their case) and each branch becomes a plan of its own, ``Step.branches[i]``, since
only the chosen one runs. Edges between branches are dropped (none can hold data: a branch
never sees what another one wrote).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

from irgraph.gc_pause import gc_paused
from irgraph.ir import Node
from irgraph.providers import ModelRequest, request_fields
from irgraph.schema import scope_predecessors, scopes
from irgraph.templates import render

from .plain_agents import plain_request, system_plain_request

if TYPE_CHECKING:
    import networkx as nx

__all__ = ["SCHEDULES", "ScopePlan", "Step", "plan_scopes"]


class Step:
    """One node of a scope, with what running it needs precomputed."""

    __slots__ = (
        "blocking",
        "body",
        "branches",
        "fn",
        "id",
        "kind",
        "op",
        "plain",
        "plain_request",
        "request",
        "settings",
        "timeout",
    )

    def __init__(self, nid: str, kind: str, op: Node) -> None:
        self.id = nid
        self.kind = kind
        self.op: Any = op
        self.timeout: float | None = getattr(op, "timeout", None)
        self.body: ScopePlan | None = None
        #: A route's plan per branch, in the order of its cases.
        self.branches: list[ScopePlan] = []
        self.fn: Callable[..., Any] | None = None
        self.blocking = False  # fn is synchronous: it runs on a worker thread
        #: An agent's model settings as a dict (each request gets a copy).
        self.settings: dict[str, Any] = dict(getattr(op, "settings", None) or {})
        #: An agent asked once for text, with no timeout of its own: the scheduler's fast path.
        self.plain = kind == "agent" and getattr(op, "output", None) is None and not self.timeout
        #: A plain agent's request fields (:func:`irgraph.providers.request_fields`), each
        #: call's request a copy of them with its prompt, state and settings.
        self.request: dict[str, Any] = {}
        #: What makes a plain agent's request per call: :func:`plain_request`, or for a
        #: system prompt that reads the state :func:`system_plain_request`, decided here so
        #: that a system prompt with nothing to fill costs nothing per call.
        self.plain_request: Callable[..., ModelRequest] = plain_request
        if self.plain:
            agent: Any = op
            system = agent.system_template
            text = agent.system
            if system is not None and (system.reads or system.optional_reads):
                self.plain_request = system_plain_request
            elif system is not None:  # only literal braces: the same text on every call
                text = render(system, {})
            self.request = request_fields(nid, agent.name, agent.model, text)


class ScopePlan:
    """The sub-DAG of one scope, as index lists: predecessor counts, successors, entries."""

    __slots__ = ("entries", "indegree", "steps", "successors")

    def __init__(
        self, ids: list[str], steps: dict[str, Step], predecessors: Mapping[str, Iterable[str]]
    ) -> None:
        index = {nid: i for i, nid in enumerate(ids)}
        followers: list[list[int]] = [[] for _ in ids]
        self.indegree = [0] * len(ids)
        for i, nid in enumerate(ids):
            for p in predecessors[nid]:
                followers[index[p]].append(i)
                self.indegree[i] += 1
        self.steps = [steps[nid] for nid in ids]
        self.successors = [tuple(f) for f in followers]
        self.entries = [i for i, n in enumerate(self.indegree) if n == 0]


SCHEDULES = ("topological", "dataflow")


@gc_paused
def plan_scopes(
    G: nx.DiGraph, nodes: Mapping[str, Node], schedule: str = "topological"
) -> ScopePlan:
    """Index every scope of ``G`` for the scheduler; ``nodes`` are the IR nodes behind the
    graph's nodes (:func:`irgraph.schema.ir_nodes`), what each step runs.

    ``"topological"`` waits on the graph's edges as each scope sees them (control order);
    ``"dataflow"`` waits only on what a node really needs
    (:func:`irgraph.analysis.dataflow_dependencies`), so steps of a sequence that share no
    data run at the same time.
    """
    steps = {nid: Step(nid, data["kind"], nodes[nid]) for nid, data in G.nodes(data=True)}
    members = scopes(G)
    before = scope_predecessors(G)

    def predecessors(sid: str | None) -> Mapping[str, Iterable[str]]:
        if schedule == "dataflow":
            from irgraph.analysis import dataflow_dependencies

            return dataflow_dependencies(G, sid)
        return before[sid]

    for sid in members:
        if sid is None:
            continue
        if steps[sid].kind == "route":
            steps[sid].branches = _branch_plans(G, sid, members[sid], steps, predecessors(sid))
        else:
            steps[sid].body = ScopePlan(members[sid], steps, predecessors(sid))
    return ScopePlan(members[None], steps, predecessors(None))


def _branch_plans(
    G: nx.DiGraph,
    sid: str,
    ids: list[str],
    steps: dict[str, Step],
    predecessors: Mapping[str, Iterable[str]],
) -> list[ScopePlan]:
    """One plan per case of route ``sid``: the body nodes of that branch, waiting only on
    nodes of the same branch."""
    count = len(steps[sid].op.cases)
    branch_of = {nid: G.nodes[nid]["branch"] for nid in ids}
    plans = []
    for index in range(count):
        mine = [nid for nid in ids if branch_of[nid] == index]
        before = {nid: [p for p in predecessors[nid] if branch_of.get(p) == index] for nid in mine}
        plans.append(ScopePlan(mine, steps, before))
    return plans
