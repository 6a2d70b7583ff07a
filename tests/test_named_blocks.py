"""A block the user named (``Pipeline("stage")``, ``FanOut("checks")``) is drawn as a cluster
titled with its name in mermaid and DOT alike; the blocks ``>>`` and ``|`` make, the root (the
title) and folded blocks are not."""

from __future__ import annotations

import shutil
import xml.etree.ElementTree as ET

import pytest

from irgraph import Agent, FanOut, Loop, Pipeline, Route, to_graph
from irgraph.backends.dot import to_dot, to_svg
from irgraph.backends.mermaid import mermaid_ids, to_mermaid
from tests.support.diagram_parsers import parse_dot, parse_mermaid

SVG = "{http://www.w3.org/2000/svg}"


def checks() -> FanOut:
    return FanOut("checks").branch(Agent("b").instruct("{x}")).branch(Agent("c").instruct("{x}"))


def frames(G_or_pipeline, **options) -> tuple[dict, dict]:
    """Each drawn node's frame and each frame's title and outer frame, in mermaid and in DOT
    (DOT's ``cluster_`` prefix taken off), from the pictures parsed back."""
    m = parse_mermaid(to_mermaid(G_or_pipeline, **options))
    d = parse_dot(to_dot(G_or_pipeline, **options).to_string())
    mermaid = {
        "nodes": {mid: node.scope for mid, node in m.nodes.items()},
        "frames": {sid: (s.label, s.scope) for sid, s in m.subgraphs.items()},
    }

    def bare(name):
        return None if name is None else name.removeprefix("cluster_")

    scopes = {name for name in d.nodes if f"cluster_{name}" in d.clusters}
    dot = {
        "nodes": {n: bare(c) for n, c in d.cluster_of.items() if n not in scopes},
        "frames": {bare(name): (label, bare(outer)) for name, (label, outer) in d.clusters.items()},
    }
    return mermaid, dot


def test_a_named_fan_out_is_a_cluster_titled_with_its_name_in_mermaid_and_dot():
    p = Agent("a").writes("x") >> checks()
    mermaid, dot = frames(p)
    assert mermaid == dot
    ids = mermaid_ids(to_graph(p))
    assert mermaid["frames"] == {"b1": ("checks (parallel)", None)}
    assert mermaid["nodes"] == {ids["a"]: None, ids["b"]: "b1", ids["c"]: "b1"}


def test_blocks_the_operators_make_and_the_root_draw_no_cluster():
    unnamed = Agent("a").writes("x") >> (Agent("b").instruct("{x}") | Agent("c").instruct("{x}"))
    assert frames(unnamed)[0]["frames"] == {}
    root = Pipeline("stage").step(Agent("a").writes("x")).step(Agent("b").instruct("{x}"))
    text = to_mermaid(root)
    assert 'title: "stage (sequence)"' in text and "subgraph" not in text
    assert to_dot(root).get_subgraphs() == []


def test_named_blocks_nest_in_loops_and_beside_routes_as_the_pipeline_holds_them():
    loop = Loop("refine").step(Agent("w").writes("x")).step(checks()).max_iterations(2)
    fixing = Pipeline("fixing").step(Agent("f1")).step(Agent("f2"))
    route = Route("tri").on("cat").when("bug", fixing).otherwise(Agent("o"))
    p = Agent("cls").writes("cat") >> loop >> route
    mermaid, dot = frames(p)
    assert mermaid == dot
    ids = mermaid_ids(to_graph(p))
    assert mermaid["frames"] == {
        ids["refine"]: ("refine (loop, max 2)", None),
        "b1": ("checks (parallel)", ids["refine"]),
        "b2": ("fixing (sequence)", None),  # beside the route, as the route's branches are
    }
    assert mermaid["nodes"][ids["f1"]] == mermaid["nodes"][ids["f2"]] == "b2"
    assert mermaid["nodes"][ids["o"]] is None


def test_a_folded_block_or_one_inside_a_folded_part_draws_no_cluster():
    loop = Loop("refine").step(Agent("w").writes("x")).step(checks()).max_iterations(2)
    p = Agent("a") >> loop
    for collapse in ("checks", "refine", 0):
        mermaid, dot = frames(p, collapse=collapse)
        assert mermaid == dot
        assert not any(title.startswith("checks") for title, _ in mermaid["frames"].values())
    # a named block holding a folded loop still frames it
    stage = Pipeline("stage").step(loop)
    mermaid, dot = frames(Agent("a") >> stage, collapse="refine")
    assert mermaid == dot
    ids = mermaid_ids(to_graph(Agent("a") >> stage), collapse="refine")
    assert mermaid["frames"] == {"b1": ("stage (sequence)", None)}
    assert mermaid["nodes"][ids["refine"]] == "b1"


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz not installed")
def test_graphviz_draws_the_named_block_as_a_cluster_with_its_title():
    svg = ET.fromstring(to_svg(Agent("a").writes("x") >> checks()))
    clusters = {
        g.find(f"{SVG}title").text: [t.text for t in g.iter(f"{SVG}text")]
        for g in svg.iter(f"{SVG}g")
        if g.get("class") == "cluster"
    }
    assert clusters == {"cluster_b1": ["checks (parallel)"]}


def test_mermaid_draws_the_named_blocks_titles(mermaid_render):
    loop = Loop("refine").step(Agent("w").writes("x")).step(checks()).max_iterations(2)
    report = mermaid_render([to_mermaid(Agent("a") >> loop)])
    assert report["fatal"] is None, report["fatal"]
    (result,) = report["results"]
    assert result["ok"], result
    assert "checks (parallel)" in result["labels"]
