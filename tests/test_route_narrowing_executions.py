"""What :func:`irgraph.reaching.narrowed_ends` says a key may hold is never less than what an
execution can bring there, with the values routes compare.

Every execution of small pipelines whose agents write any of a few values to 'k', whose routes
compare 'k' with some of them (with a predicate, which may hold or not, and an otherwise, or
neither): a route takes its branch for the value 'k' holds, a predicate's branch or the
otherwise when no earlier branch took it, and a run that no branch takes ends there. Each
value that meets a node (or the end of a loop's pass) with its writer must be one the
analysis lets that writer's value be there, and (where no parallel branches race on 'k' and
no loop runs more than one pass) the analysis lets no other writer's value, nor any other
value of it, be there.
"""

from __future__ import annotations

import itertools
from typing import Any

from hypothesis import HealthCheck, example, given, settings

from irgraph import Agent, Route, to_graph
from irgraph.code import to_code
from irgraph.ir.values import same_value
from irgraph.reaching import Narrowed, narrowed_ends
from irgraph.walk import INPUT
from tests.support.route_shapes import route_shapes

VALUES = ("x", "y", "z")  # what routes compare 'k' with
#: What a writer (or the input, or a map-over's item) may hold: any text, so one value no
#: route compares stands for every other (with only VALUES, routes for all three would close
#: the set, and a predicate's branch after them would look unreachable when it is not).
WRITTEN = (*VALUES, "other")
UNSET = object()  # the initial state may leave 'k' unset: no branch for a value takes it
State = tuple[Any, Any, bool]  # the writer of 'k', its value, and whether a write was seen


class _Runs:
    """Every (writer, value) of 'k' each node and each loop's pass end meets."""

    def __init__(self, G: Any) -> None:
        self.nodes = G.nodes
        self.seen: dict[str, set[tuple[Any, Any]]] = {}
        self.ends: dict[str, set[tuple[Any, Any]]] = {}

    def written(self, states: set[State], writer: str) -> set[State]:
        return {(writer, value, True) for value in WRITTEN} if states else set()

    def run(self, tree: Any, states: set[State]) -> set[State]:
        if isinstance(tree, list):
            for child in tree:
                states = self.run(child, states)
            return states
        if isinstance(tree, dict) and "node" not in tree:
            if tree["kind"] == "sequence":
                return self.run(tree["children"], states)
            return {end for state in states for end in self.fan_out(tree["children"], state)}
        node = tree if isinstance(tree, str) else tree["node"]
        data = self.nodes[node]
        self.seen.setdefault(node, set()).update((w, v) for w, v, _ in states)
        if isinstance(tree, str):
            return self.written(states, node) if "k" in data["writes"] else states
        body = tree["children"]
        if data["kind"] == "route":
            return set().union(*(self.branches(node, body, state) for state in states))
        if data["kind"] == "loop":
            ends: set[State] = set()
            for _ in range(min(data["max_iterations"], 3)):
                states = self.run(body, states)
                ends |= states
            self.ends.setdefault(node, set()).update((w, v) for w, v, _ in ends)
            return ends
        self.run(body, self.written(states, node) if data["item"] == "k" else states)
        return self.written(states, node) if "k" in data["writes"] else states

    def branches(self, route: str, body: list[Any], state: State) -> set[State]:
        """The ends of each branch of ``route`` a run with ``state`` may take."""
        data, value = self.nodes[route], state[1]
        ends: set[State] = set()
        for index, case in enumerate(data["cases"]):
            if "equals" in case and data["on"] == "k":
                if value is not UNSET and same_value(value, case["equals"]):
                    return ends | self.run(body[index], {state})
                continue
            ends |= self.run(body[index], {state})  # a predicate, another key, the otherwise
            if "otherwise" in case:
                break
        return ends

    def fan_out(self, branches: list[Any], state: State) -> set[State]:
        """Each branch from ``state``; after the block, 'k' holds what any branch that wrote
        it left (they race), or what it held before when none did."""
        ends = [self.run(branch, {(state[0], state[1], False)}) for branch in branches]
        merged: set[State] = set()
        for combo in itertools.product(*ends):
            wrote = [(w, v, True) for w, v, flag in combo if flag]
            merged.update(wrote or [state])
        return merged


def _told(found: frozenset[Any]) -> set[tuple[Any, Any]]:
    """Each (writer, value) the analysis lets meet the node: every value a writer may write
    (the input may also leave 'k' unset) that the routes on its way let through."""
    told = set()
    for item in found:
        source = item.source if isinstance(item, Narrowed) else item
        for value in (*WRITTEN, UNSET) if source == INPUT else WRITTEN:
            if not isinstance(item, Narrowed) or item.admits(value):
                told.add((source, value))
    return told


def _left_out_then_let_through() -> Any:
    """'w0' is anything but "x" past 'r1', then only "y" past 'r2' (it was told as 'r1' left
    it: anything but "x")."""
    w0, w1, w2 = (Agent(f"w{n}").instruct("W.").writes("k") for n in range(3))
    r1 = Route("r1").on("k").when("x", w1).otherwise(Agent("n1").instruct("N.").writes("j"))
    r2 = Route("r2").on("k").when("y", Agent("n2").instruct("N.").writes("j")).otherwise(w2)
    return w0 >> r1 >> r2 >> Agent("n3").instruct("N.").writes("j")


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@example(_left_out_then_let_through())
@given(route_shapes(route_key="k", values=VALUES, rewrite_item=True))
def test_what_a_route_lets_through_covers_every_execution(pipeline):
    G = to_graph(pipeline, inputs={"t"})
    runs = _Runs(G)
    start = {(INPUT, value, False) for value in (*WRITTEN, UNSET)}
    runs.run(G.graph["tree"], start)
    loops = {n: "k" for n in G.nodes if G.nodes[n]["kind"] == "loop"}
    found, ended = narrowed_ends(G, G.graph["tree"], {n: "k" for n in G.nodes}, loops)
    exact = not G.graph["problems"] and all(G.nodes[n]["max_iterations"] == 1 for n in loops)
    for where, met, said in [(runs.seen, n, found[n]) for n in G.nodes] + [
        (runs.ends, n, ended[n]) for n in loops
    ]:
        told = _told(said)
        assert where.get(met, set()) <= told, (met, where.get(met), said, to_code(pipeline))
        # Exact where some execution gets there, no branches race and no loop repeats (else
        # it says more: a node no execution reaches may still be told what its writers would
        # bring, and a loop's later passes count as many, where a write in the last of two
        # reaches no third).
        if exact and where.get(met):
            assert told == where[met], (met, told - where[met], to_code(pipeline))
