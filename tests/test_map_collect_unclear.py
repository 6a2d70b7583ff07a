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


def test_a_route_at_the_end_of_a_body_whose_branches_write_different_keys_needs_one_key():
    """The default took the otherwise branch's 'reply', and the error said "MapOver 'm'
    collects 'reply'", a .collect() the pipeline never wrote; a route whose branches all write
    the default key somewhere keeps it."""
    from irgraph import Route

    fix = Agent("fix").instruct("Fix {item}.").writes("patch")
    route = Route("r").on("item").when("bug", fix).otherwise(Agent("ans").writes("reply"))
    with pytest.raises(PipelineError) as caught:
        to_graph(MapOver("m").over("xs").step(route).writes("results"), inputs={"xs"})
    assert str(caught.value).startswith(
        "Map-over 'm' has no .collect(), and its body ends with route 'r', whose branches write "
        "'patch', 'reply' last: an item gives the key of the branch it takes, so 'reply', which "
        "it would collect (the key written last in reading order), is missing for an item that "
        "takes another."
    )
    fixed = Route("r").on("item").when("bug", fix).otherwise(Agent("ans").writes("patch"))
    done = run(
        MapOver("m").over("xs").step(fixed).writes("results"),
        state={"xs": ["bug", "q"]},
        provider=FakeProvider(),
    )
    assert done.state["results"] == ["<fix: Fix bug.>", "<ans: >"]
    both = fix >> Agent("note").instruct("{patch}").writes("reply")
    kept = Route("r").on("item").when("bug", both).otherwise(Agent("ans").writes("patch"))
    assert (
        to_graph(MapOver("m").over("xs").step(kept).writes("rs"), inputs={"xs"}).nodes["m"][
            "collect"
        ]
        == "patch"
    )
