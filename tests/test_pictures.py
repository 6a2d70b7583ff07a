"""Cleaner pictures (issue 19): each pair of nodes is drawn once, labelled with its keys; the
root is the diagram's title; the seed style still writes the seed pages' text byte for byte;
``collapse`` folds parts so a 200-node pipeline stays readable, keeping every edge into and
out of a folded part once. The texts are read back with tests/support/diagram_parsers.py,
which shares no code with the exporters."""

from __future__ import annotations

import io
import shutil
import xml.etree.ElementTree as ET
from collections import Counter

import networkx as nx
import pytest
from hypothesis import HealthCheck, given, settings

from irgraph import Agent, Loop, MapOver, Pipeline, Transform, to_graph
from irgraph.backends.dot import to_dot, to_svg
from irgraph.backends.folding import fold
from irgraph.backends.labels import node_ids
from irgraph.backends.mermaid import mermaid_ids, to_mermaid
from irgraph.cli import main
from irgraph.errors import IrgraphError
from irgraph.testing.strategies import pipelines
from tests.mermaid_check.samples import seed_pipelines
from tests.support.diagram_parsers import (
    WRAP,
    expected_edges,
    expected_frames,
    expected_root_title,
    parse_dot,
    parse_mermaid,
    title_as_drawn,
    wrapped_as,
)
from tests.support.route_samples import route_showcase, triage
from tests.test_mermaid import _seed_diagrams


def samples() -> list[nx.DiGraph]:
    graphs = [to_graph(p) for p in seed_pipelines().values()]
    return [*graphs, to_graph(triage(), inputs={"ticket"}), route_showcase()]


def mermaid_pairs(text: str) -> list[tuple[str, str]]:
    d = parse_mermaid(text)
    return [*d.control, *((u, v) for u, v, _ in d.data)]


def assert_each_pair_drawn_once(G: nx.DiGraph) -> None:
    ids = mermaid_ids(G)
    d = parse_mermaid(to_mermaid(G))
    pairs = mermaid_pairs(to_mermaid(G))
    assert not [p for p, n in Counter(pairs).items() if n > 1], "a pair is drawn twice"
    for (u, v), (control, keys) in expected_edges(G).items():
        ends = (ids[u], ids[v])
        assert pairs.count(ends) == 1, (u, v)
        if control and keys:  # one solid arrow, labelled with its keys
            assert ends in d.control and d.conditions[ends].endswith(", ".join(keys))
    dot = parse_dot(to_dot(G).to_string())
    dot_pairs = [(u, v) for u, v, _ in dot.edges]
    assert len(dot_pairs) == len(set(dot_pairs)) == len(expected_edges(G))


@pytest.mark.parametrize("G", samples(), ids=lambda G: str(expected_root_title(G) or len(G)))
def test_each_edge_is_drawn_once_with_its_keys(G):
    assert_each_pair_drawn_once(G)


@given(pipelines(with_gates=True))
@settings(max_examples=40, suppress_health_check=[HealthCheck.too_slow], deadline=None)
def test_each_edge_is_drawn_once_in_generated_pipelines(p):
    assert_each_pair_drawn_once(to_graph(p))


def test_the_seed_style_draws_each_data_edge_a_second_time_as_before():
    text = to_mermaid(seed_pipelines()["seed75_research"], style="seed")
    assert Counter(mermaid_pairs(text)) == {("n2", "n3"): 2, ("n3", "n4"): 2}


def test_the_seed_style_still_produces_the_seed_pages_text():
    pages = _seed_diagrams()
    ours = [to_mermaid(p, style="seed") for p in seed_pipelines().values()]
    assert len(pages) == 2 and all(page in ours for page in pages)


@pytest.mark.parametrize("G", samples(), ids=lambda G: str(expected_root_title(G) or len(G)))
def test_the_root_is_the_title_not_a_box(G):
    title = expected_root_title(G)
    text = to_mermaid(G)
    d = parse_mermaid(text)
    assert d.title == title if title is None else title_as_drawn(d.title, title)
    blocks = expected_frames(G)[1]  # named blocks' clusters, which are no graph nodes
    assert len(d.nodes) + len(d.subgraphs) == len(G) + len(blocks)  # no node for the root
    assert set(d.nodes) | set(d.subgraphs) == set(node_ids(G).values()) | set(blocks)
    assert text.startswith("---\n") == (title is not None)
    dot = parse_dot(to_dot(G).to_string())
    assert len(dot.nodes) == len(G)
    if title is None:
        assert dot.graph.get("label") is None
    else:  # a heading, broken into lines of twice a label's width
        assert wrapped_as(dot.graph["label"], title, 2 * WRAP)


def _big_pipeline() -> Pipeline:
    """200 nodes: 40 loops of four agents, each loop reading the one before."""
    p = Pipeline("study")
    for i in range(40):
        body = Loop(f"stage{i}").max_iterations(2)
        for j in range(4):
            reads = f" {{out{i - 1}}}" if i and j == 0 else ""
            agent = Agent(f"a{i}_{j}").instruct(f"Work.{reads}")
            body = body.step(agent.writes(f"out{i}") if j == 3 else agent)
        p = p.step(body)
    return p


def test_collapse_folds_a_200_node_pipeline_and_keeps_its_connections():
    G = to_graph(_big_pipeline())
    assert len(G) == 200
    text = to_mermaid(G, collapse=0)
    d = parse_mermaid(text)
    assert len(d.nodes) == 40 and not d.subgraphs  # one node per loop
    assert all(node.shape == "subroutine" for node in d.nodes.values())
    ids = mermaid_ids(G, collapse=0)
    assert len(set(ids.values())) == 40
    # every edge between parts is kept once, and nothing else
    wanted = {(ids[u], ids[v]) for u, v in G.edges if ids[u] != ids[v]}
    pairs = mermaid_pairs(text)
    assert len(pairs) == len(set(pairs)) and set(pairs) == wanted
    drawn = nx.DiGraph(pairs)
    for u, v in [("a0_0", "a39_3"), ("a5_2", "a6_0"), ("a10_1", "a3_3")]:
        assert nx.has_path(drawn, ids[u], ids[v]) == nx.has_path(G, u, v)
    assert d.conditions[ids["a0_0"], ids["a1_0"]] == "out0"
    dot = parse_dot(to_dot(G, collapse=0).to_string())
    assert len(dot.nodes) == 40 and not dot.clusters
    assert {(u, v) for u, v, _ in dot.edges} == {
        (node_ids(fold(G, 0)[0])[a], node_ids(fold(G, 0)[0])[b]) for a, b in fold(G, 0)[0].edges
    }


def test_collapse_by_id_folds_a_scope_or_a_named_block_and_keeps_edges_across():
    G = to_graph(triage(), inputs={"ticket"})
    d = parse_mermaid(to_mermaid(G, collapse="review"))
    ids = mermaid_ids(G, collapse="review")
    assert ids["judge"] == ids["review"] and d.nodes[ids["review"]].label.startswith("review (")
    assert (ids["review"], ids["send"]) in d.control
    d = parse_mermaid(to_mermaid(G, collapse=["fix_then_test"]))
    ids = mermaid_ids(G, collapse=["fix_then_test"])
    assert ids["fix"] == ids["test"]
    assert d.conditions[ids["triage"], ids["fix"]] == '"bug"'  # the case survives folding
    assert d.nodes[ids["triage"]].shape == "rhombus"  # routes are diamonds
    assert d.nodes[ids["fix"]].label == "fix_then_test (sequence) · 2 nodes"
    assert len(d.nodes) + len(d.subgraphs) == len(G) - 1


def test_collapse_by_depth_folds_only_that_level():
    inner = Loop("inner").step(Agent("w").writes("x")).max_iterations(2)
    each = MapOver("each").over("xs", item="it").step(inner >> Agent("r").instruct("{x}"))
    G = to_graph(Agent("make").writes("xs") >> each.writes("ys") >> Agent("end").instruct("{ys}"))
    d = parse_mermaid(to_mermaid(G, collapse=1))
    ids = mermaid_ids(G, collapse=1)
    assert d.subgraphs[ids["each"]].label.startswith("each (")
    assert d.nodes[ids["inner"]].scope == ids["each"] and ids["w"] == ids["inner"]
    assert to_mermaid(G, collapse=[]) == to_mermaid(G)


@pytest.mark.parametrize("bad", ["nosuch", -1, 1.5, [3]])
def test_collapse_refuses_what_names_no_part(bad):
    with pytest.raises(IrgraphError, match="collapse"):
        to_mermaid(triage(), collapse=bad)


def test_a_misspelt_part_of_a_big_pipeline_is_told_with_the_closest_not_all_forty():
    with pytest.raises(IrgraphError) as info:
        to_mermaid(_big_pipeline(), collapse="stage_12")
    said = str(info.value)
    assert said.startswith(
        "collapse names 'stage_12', which is no loop, map-over, route or named block of this "
        "pipeline. Did you mean 'stage12'"
    ), said
    assert "It has 40: 'stage0', " in said and " and 32 more." in said, said
    assert said.count("'stage") <= 8 + 3 + 1, said


def test_classes_colour_nodes_and_a_folded_part_takes_its_members_shared_class():
    G = to_graph(triage(), inputs={"ticket"})
    classes = {"classify": "done", "judge": "failed", "review": "failed", "send": "skipped"}
    css = {"done": "fill:#dfd", "failed": "fill:#fdd", "skipped": "fill:#eee"}
    d = parse_mermaid(to_mermaid(G, classes=classes, class_defs=css, collapse="review"))
    ids = mermaid_ids(G, collapse="review")
    assert d.class_defs == css
    assert d.members("failed") == [ids["review"]] and d.members("done") == [ids["classify"]]
    with pytest.raises(IrgraphError, match="class name"):
        to_mermaid(G, classes={"send": "not ok"})
    dot = to_dot(G, node_attrs={"send": {"fillcolor": "#eee", "style": "filled"}})
    (send,) = [n for n in dot.get_nodes() if n.get_name() == node_ids(G)["send"]]
    assert send.get("fillcolor") == '"#eee"' or send.get("fillcolor") == "#eee"


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz not installed")
def test_graphviz_draws_the_title_and_the_folded_parts():
    svg = ET.fromstring(to_svg(_big_pipeline(), collapse=0))
    texts = [t.text or "" for t in svg.iter("{http://www.w3.org/2000/svg}text")]
    assert "study (sequence)" in texts
    assert sum(t.startswith("stage") for t in texts) == 40


def _shout(text: str) -> str:
    return text.upper()


def test_collapse_naming_a_step_says_it_cannot_fold_and_which_parts_can():
    """--collapse shout, a transform, was told as "no loop, map-over, route or named block",
    as if misspelt, not that a single step cannot be folded."""
    shout = Transform("shout", _shout).reads("text").writes("text")
    alone = Agent("a").writes("text") >> shout
    with pytest.raises(IrgraphError) as info:
        to_mermaid(alone, collapse="shout")
    said = str(info.value)
    assert said.startswith(
        "collapse names 'shout', which is a transform: a step of its own, not a part that holds "
        "steps, so it cannot be folded. The parts that fold into one box are loops, map-overs, "
        "routes and named blocks (Pipeline('name', ...)). This pipeline has none."
    ), said
    looped = Agent("a").writes("text") >> Loop("polish").step(shout).max_iterations(2)
    with pytest.raises(IrgraphError, match="It is in the loop 'polish': collapse='polish' folds"):
        to_mermaid(looped, collapse=["shout"])
    with pytest.raises(IrgraphError, match="collapse names 'a', which is an agent: a step of"):
        to_mermaid(looped, collapse="a")
    assert to_mermaid(looped, collapse="polish").count("shout") == 0


def test_the_show_command_says_it_with_its_option(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "looped_shout.py").write_text(
        "from irgraph import Agent, Loop, Transform\ndef shout(text): return text.upper()\n"
        "p = Agent('a').writes('t') >> Loop('polish').step(Transform('shout', shout)"
        ".reads('t').writes('t')).max_iterations(2)\n"
    )
    assert main(["show", "looped_shout:p", "--collapse", "shout"], out=io.StringIO()) == 2
    err = capsys.readouterr().err
    assert err.startswith("irgraph: error: --collapse names 'shout', which is a transform")
    assert err.endswith("It is in the loop 'polish': --collapse 'polish' folds that.\n"), err
