"""Reaching definitions (:func:`irgraph.reaching.reaching`): the writers whose write may be
the last before a node, through sequences, parallel blocks, routes, loops and map-overs."""

from __future__ import annotations

from typing import Any

from irgraph import Agent, Loop, MapOver, Route, to_graph
from irgraph.reaching import reaching
from irgraph.walk import INPUT


def reached(pipeline: Any, wanted: dict[str, str], inputs: Any = ("t",)) -> dict[str, Any]:
    G = to_graph(pipeline, inputs=set(inputs))
    return {node: sorted(found) for node, found in reaching(G, G.graph["tree"], wanted).items()}


# The analysis itself ------------------------------------------------------------------------


def test_reaching_follows_each_kind_of_block():
    x, y = Agent("x").writes("k"), Agent("y").writes("k")
    probe = Route("p").on("k").when(1, Agent("a")).otherwise(Agent("b"))
    assert reached(x >> y >> probe, {"p": "k"}) == {"p": ["y"]}
    assert reached((x | Agent("n")) >> probe, {"p": "k"}) == {"p": ["x"]}
    assert reached(y >> (x | Agent("n")) >> probe, {"p": "k"}) == {"p": ["x"]}
    maybe = Route("m").on("t").when(1, x).otherwise(Agent("n"))
    assert reached(maybe >> probe, {"p": "k"}) == {"p": [INPUT, "x"]}
    assert reached(y >> (maybe | Agent("n2")) >> probe, {"p": "k"}) == {"p": ["x", "y"]}
    looped = Loop("L").step(probe >> x).max_iterations(2)
    assert reached(y >> looped, {"p": "k"}) == {"p": ["x", "y"]}
    body = Agent("z").instruct("{it}").writes("k")
    mapped = MapOver("m2").over("t", item="k").step(probe >> body).writes("k")
    assert reached(
        y >> mapped >> Route("p2").on("k").when(1, Agent("c")), {"p": "k", "p2": "k"}
    ) == {
        "p": ["m2"],
        "p2": ["m2"],
    }
