"""A map-over with no .collect() whose body ends in parallel branches writing different keys
is refused, naming the keys: the default (the last written key) would gather one branch's
and silently drop the others'."""

from __future__ import annotations

import pytest

from irgraph import Agent, MapOver, PipelineError, run, to_graph
from irgraph.testing import FakeProvider

BRANCHES = Agent("a").instruct("Sum {item}.").writes("summary") | Agent("b").instruct(
    "Tag {item}."
).writes("tags")


def test_parallel_branches_at_the_end_of_a_body_need_a_collect():
    mapper = MapOver("m").over("xs").step(BRANCHES).writes("results")
    with pytest.raises(PipelineError, match=r"'m' has no \.collect\(\).*'summary', 'tags'"):
        to_graph(mapper, inputs={"xs"})


def test_a_named_collect_or_a_joining_step_is_fine():
    named = MapOver("m").over("xs").step(BRANCHES).collect("summary").writes("results")
    state = run(named, provider=FakeProvider(), state={"xs": [1, 2]}).state
    assert state["results"] == ["<a: Sum 1.>", "<a: Sum 2.>"]
    joined = (
        MapOver("m")
        .over("xs")
        .step(BRANCHES)
        .step(Agent("j").instruct("{summary} {tags}").writes("both"))
        .writes("results")
    )
    assert run(joined, provider=FakeProvider(), state={"xs": [1]}).state["results"][0]


def test_a_body_ending_in_one_step_keeps_the_default():
    one = MapOver("m").over("xs").step(BRANCHES).step(Agent("c").instruct("{item}").writes("k"))
    assert to_graph(one.writes("r"), inputs={"xs"}).nodes["m"]["collect"] == "k"
