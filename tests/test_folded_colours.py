"""A folded loop, map-over or route takes the colour all the nodes in it share, as a folded
block does: its own id, which it also folds, is not one of the members that must share it."""

from __future__ import annotations

import pytest

from irgraph import Agent, Loop, MapOver, Route, to_graph
from irgraph.backends.dot import to_dot
from irgraph.backends.mermaid import mermaid_ids, to_mermaid

loop = (
    Loop("revise")
    .step(Agent("writer").instruct("{notes}").writes("draft"))
    .step(Agent("critic").instruct("{draft}").writes("verdict"))
)
mapped = MapOver("revise").over("papers").step(Agent("writer").instruct("{item}").writes("x"))
mapped = mapped.step(Agent("critic").instruct("{x}").writes("draft")).writes("reviews")
routed = Route("revise").on("kind").when("a", Agent("writer").writes("draft"))
routed = routed.otherwise(Agent("critic").writes("draft"))
SCOPES = {"loop": loop.max_iterations(2), "map-over": mapped, "route": routed}
HOT = {"hot": "fill:#f00"}


@pytest.mark.parametrize("kind", list(SCOPES))
def test_a_folded_scope_whose_members_all_share_a_class_takes_it(kind):
    pipeline = Agent("researcher").writes("notes") >> SCOPES[kind]
    classes = {"writer": "hot", "critic": "hot"}
    drawn = to_mermaid(pipeline, collapse="revise", classes=classes, class_defs=HOT)
    folded = mermaid_ids(to_graph(pipeline), collapse="revise")["revise"]
    assert f"class {folded} hot" in drawn.splitlines(), drawn


@pytest.mark.parametrize("kind", list(SCOPES))
def test_members_that_differ_leave_the_folded_scope_plain(kind):
    pipeline = Agent("researcher").writes("notes") >> SCOPES[kind]
    classes = {"writer": "hot", "critic": "cold"}
    defs = {**HOT, "cold": "fill:#00f"}
    drawn = to_mermaid(pipeline, collapse="revise", classes=classes, class_defs=defs)
    assert not [line for line in drawn.splitlines() if line.startswith("class ")], drawn


def test_a_folded_loop_in_dot_takes_the_attributes_its_members_share():
    pipeline = Agent("researcher").writes("notes") >> SCOPES["loop"]
    red = {"color": "red"}
    dot = to_dot(pipeline, collapse="revise", node_attrs={"writer": red, "critic": red})
    folded = [n for n in dot.get_nodes() if "2 nodes" in str(n.get("label"))]
    assert len(folded) == 1 and folded[0].get("color") == '"red"', dot.to_string()
