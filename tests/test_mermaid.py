"""to_mermaid: the seeds' style, golden files, escaping, data edges, determinism, and the
output (diff pictures too) rendered by the real mermaid (headless Chromium, offline). The
structural properties of every exporter are in test_exporter_properties.py."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import networkx as nx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from irgraph import Agent, Gate, Loop, MapOver, Pipeline, Route, Transform, to_graph
from irgraph.backends.labels import label_text
from irgraph.backends.mermaid import mermaid_ids, mermaid_text, to_mermaid
from irgraph.backends.mermaid_diff import diff_to_mermaid
from irgraph.diffs import diff
from irgraph.errors import IrgraphError
from irgraph.testing.strategies import pipelines
from tests.mermaid_check.samples import (
    HOSTILE_NAMES,
    hostile_pipeline,
    labelled_pipelines,
    seed_pipelines,
)
from tests.support.diagram_parsers import expected_edges, parse_mermaid
from tests.support.route_samples import route_showcase, triage
from tests.test_exporter_properties import drawn_graphs, graph_pairs

GOLDEN = Path(__file__).parent / "golden"
SEED_PAGES = Path(__file__).parent / "seed_pages"  # the two seed pages that draw diagrams
DATA_EDGE = re.compile(r'^(n\d+) -\. "([^"]*)" \.-> (n\d+)$')
CONTROL_EDGE = re.compile(r'^(n\d+) -->(?:\|"[^"]*"\|)? (n\d+)$')


SUFFIX = {"default": ".mmd", "seed": ".seed.mmd"}


@pytest.mark.parametrize("style", sorted(SUFFIX))
@pytest.mark.parametrize("name", sorted(seed_pipelines()))
def test_seed_pipelines_match_their_golden_files(name, style):
    text = to_mermaid(seed_pipelines()[name], style=style) + "\n"
    path = GOLDEN / f"{name}{SUFFIX[style]}"
    if os.environ.get("IRGRAPH_UPDATE_GOLDEN"):
        path.write_text(text, encoding="utf-8")
    assert text == path.read_text(encoding="utf-8")


@pytest.mark.parametrize("style", sorted(SUFFIX))
def test_the_triage_pipeline_matches_its_golden_file(style):
    text = to_mermaid(to_graph(triage(), inputs={"ticket"}), style=style) + "\n"
    path = GOLDEN / f"triage{SUFFIX[style]}"
    if os.environ.get("IRGRAPH_UPDATE_GOLDEN"):
        path.write_text(text, encoding="utf-8")
    assert text == path.read_text(encoding="utf-8")


def test_a_route_is_a_diamond_beside_its_branches_with_an_arrow_per_case():
    G = to_graph(triage(), inputs={"ticket"})
    ids = mermaid_ids(G)
    lines = to_mermaid(G).splitlines()
    assert f'{ids["triage"]}{{"triage (route on category)"}}' in lines
    assert not any(line.startswith(f"subgraph {ids['triage']}") for line in lines)
    cases = [line for line in lines if line.startswith(f"{ids['triage']} -->")]
    assert cases == [
        f'{ids["triage"]} -->|"#quot;bug#quot;"| {ids["fix"]}',
        f'{ids["triage"]} -->|"#quot;feature#quot;"| {ids["spec"]}',
        f'{ids["triage"]} -->|"otherwise"| {ids["reply"]}',
    ]  # and no arrow from the route straight to what follows it
    for exit_ in ("test", "spec", "reply"):  # every branch leads on, with its keys
        assert f'{ids[exit_]} -->|"answer"| {ids["review"]}' in lines
    assert 'subgraph n7["review (loop, max 3, until verdict = #quot;approved#quot;)"]' in lines


def test_a_route_inside_a_loop_and_scopes_inside_branches_draw_in_their_boxes():
    G = route_showcase()
    ids = mermaid_ids(G)
    d = parse_mermaid(to_mermaid(G))
    assert d.nodes[ids['triage "#1"']].scope == ids["review"]
    assert d.nodes[ids['triage "#1"']].shape == "rhombus"
    assert d.nodes[ids['fix "it"']].scope == ids["review"]  # beside the route, in the loop
    assert d.subgraphs[ids["each_"]].scope == ids["review"]
    assert d.nodes[ids["p"]].scope == ids["each_"]
    assert d.conditions[ids["how & why"], ids["split"]] == "is_long"
    assert d.conditions[ids["how & why"], ids["polish <b>"]] == "otherwise"
    assert d.conditions[ids['triage "#1"'], ids["l"]] == "3"
    assert d.conditions[ids['triage "#1"'], ids["r"]] == "3"  # a fan-out branch: both entries
    assert (ids["review"], ids["send"]) in d.control


def test_a_route_with_an_empty_branch_draws_the_arrow_that_skips_it():
    r = Route("r").on("k").when("a", Pipeline("none")).otherwise(Agent("b").writes("z"))
    G = to_graph(Agent("w").writes("k") >> r >> Agent("after").instruct("{z?}"))
    lines = to_mermaid(G).splitlines()
    ids = mermaid_ids(G)
    assert f'{ids["r"]} -->|"#quot;a#quot;"| {ids["after"]}' in lines
    assert f'{ids["r"]} -->|"otherwise"| {ids["b"]}' in lines


def test_a_changed_case_is_marked_on_the_route_in_a_diff_picture():
    old = to_graph(triage(), inputs={"ticket"})
    new_route = Route("triage").on("category").when("bug", Agent("fix").writes("answer"))
    new = to_graph(
        Agent("classify").writes("category") >> new_route.otherwise(Agent("reply").writes("answer"))
    )
    text = diff_to_mermaid(diff(old, new))
    ids = mermaid_ids(new)
    assert f"class {ids['triage']} changed" in text.splitlines()
    assert parse_mermaid(text).conditions[ids["triage"], ids["fix"]] == '"bug"'


def _seed_diagrams() -> list[str]:
    diagrams = []
    for page in sorted(SEED_PAGES.glob("*.txt")):
        lines = page.read_text(encoding="utf-8").splitlines()
        start = lines.index("graph TD")
        block = [lines[start]]
        for line in lines[start + 1 :]:
            if not re.match(r"^(n\d+|\s)", line):
                break
            block.append(line)
        diagrams.append("\n".join(block))
    return diagrams


def test_the_seed_style_draws_the_seed_pages_text_byte_for_byte():
    ours = {
        "researcher_then_analyst_then_writer": seed_pipelines()["seed75_research"],
        "web_search_and_paper_search": seed_pipelines()["seed75_parallel"],
    }
    seen = 0
    for diagram in _seed_diagrams():
        for title, pipeline in ours.items():
            if title in diagram:
                assert to_mermaid(pipeline, style="seed") == diagram
                assert to_mermaid(pipeline) != diagram  # the default style is not the seeds'
                seen += 1
    assert seen == 2


def test_shapes_by_kind_and_root_titles():
    p = (
        Agent("a").writes("x")
        >> Transform("t", str.strip).reads("x").writes("y")
        >> Gate("g", "ok {y}?")
    )
    assert to_mermaid(p).splitlines()[:8] == [
        "---",
        'title: "a_then_t_then_g (sequence)"',
        "---",
        "graph TD",
        'n1["a"]',
        'n2[/"t"/]',
        'n3{{"g"}}',
        'n1 -->|"x"| n2',
    ]
    lines = to_mermaid(p, style="seed").splitlines()
    assert lines[:5] == [
        "graph TD",
        'n1[["a_then_t_then_g (sequence)"]]',
        'n2["a"]',
        'n3[/"t"/]',
        'n4{{"g"}}',
    ]
    assert to_mermaid(Agent("solo")).splitlines() == ["graph TD", 'n1["solo"]']
    assert to_mermaid(Agent("solo"), style="seed") == to_mermaid(Agent("solo"))


def test_a_parallel_root_is_the_title_or_in_the_seed_style_points_at_each_branch_entry():
    p = (Agent("a") >> Agent("b")) | Agent("c")
    assert to_mermaid(p).splitlines() == [
        "---",
        'title: "a_then_b_and_c (parallel)"',
        "---",
        "graph TD",
        'n1["a"]',
        'n2["b"]',
        'n3["c"]',
        "n1 --> n2",
    ]
    lines = to_mermaid(p, style="seed").splitlines()
    assert lines[1].startswith('n1{"') and lines[1].endswith(' (parallel)"}')
    assert "n1 --> n2" in lines and "n1 --> n4" in lines and "n1 --> n3" not in lines


def test_scopes_are_subgraphs_holding_their_bodies_and_edges_attach_to_them():
    p = (
        Agent("make").writes("papers")
        >> MapOver("each")
        .over("papers", item="paper")
        .step(Loop("inner").step(Agent("s").instruct("{paper}").writes("sum")).max_iterations(2))
        .writes("sums")
        >> Agent("end").instruct("{sums}")
    )
    text = to_mermaid(p)
    assert (
        'subgraph n2["each (map over papers as paper)"]\n'
        '    subgraph n3["inner (loop, max 2)"]\n'
        '        n4["s"]\n'
        "    end\n"
        "end"
    ) in text
    assert 'n1 -->|"papers"| n2' in text and 'n2 -->|"sums"| n5' in text
    seed = to_mermaid(p, style="seed")
    assert "n2 --> n3" in seed and "n3 --> n6" in seed
    assert 'n2 -. "papers" .-> n3' in seed and 'n3 -. "sums" .-> n6' in seed


def test_loop_titles_name_the_stop_condition():
    loop = Loop("refine").step(Agent("w").writes("ok")).max_iterations(3).until("ok")
    assert '"refine (loop, max 3, until ok)"' in to_mermaid(loop)


def test_data_edges_go_from_the_writer_to_its_actual_readers_only():
    p = (
        Agent("w").writes("x")
        >> Agent("mid").instruct("nothing")
        >> Agent("r").instruct("{x}").writes("x")
        >> Agent("r2").instruct("{x}")
    )
    ids = mermaid_ids(to_graph(p), style="seed")
    lines = to_mermaid(p, style="seed").splitlines()
    data = [m.groups() for m in map(DATA_EDGE.match, lines) if m]
    assert data == [(ids["w"], "x", ids["r"]), (ids["r"], "x", ids["r2"])]
    ids = mermaid_ids(to_graph(p))
    lines = to_mermaid(p).splitlines()  # a read that skips a step is the dashed arrow
    assert f'{ids["w"]} -. "x" .-> {ids["r"]}' in lines
    assert f'{ids["r"]} -->|"x"| {ids["r2"]}' in lines
    assert f"{ids['mid']} --> {ids['r']}" in lines


def test_several_keys_on_one_edge_share_one_sorted_label():
    p = (
        Agent("a").writes("b_key")
        >> Transform("t", str.strip).reads("b_key")
        >> Agent("z").instruct("{b_key}")
    )
    assert 'n1 -->|"b_key"| n2' in to_mermaid(p)
    assert 'n2 -. "b_key" .-> n3' in to_mermaid(p, style="seed")
    two = Loop("l").step(Agent("a").writes("k2")).step(Agent("b").writes("k1")).max_iterations(1)
    assert '-->|"k1, k2"|' in to_mermaid(two >> Agent("r").instruct("{k1} {k2}"))
    two_late = two >> Agent("m") >> Agent("r").instruct("{k1} {k2}")
    assert '-. "k1, k2" .->' in to_mermaid(two_late)


def test_data_edges_can_be_left_out_and_direction_chosen():
    p = seed_pipelines()["seed75_research"]
    text = to_mermaid(p, direction="LR", data_edges=False)
    assert "\ngraph LR\n" in text and ".->" not in text and '"findings"' not in text
    with pytest.raises(IrgraphError, match="direction must be one of"):
        to_mermaid(p, direction="sideways")
    with pytest.raises(IrgraphError, match=r"\(got 'LeftRight'\)"):  # as given, not 'LEFTRIGHT'
        to_mermaid(p, direction="LeftRight")


def test_builder_ir_and_graph_give_the_same_text():
    p = seed_pipelines()["every_kind"]
    assert to_mermaid(p) == to_mermaid(p.to_ir()) == to_mermaid(to_graph(p))


def test_drawing_does_not_change_the_graph():
    G = to_graph(seed_pipelines()["every_kind"])
    before = (list(G.nodes(data=True)), list(G.edges(data=True)), dict(G.graph))
    to_mermaid(G)
    assert (list(G.nodes(data=True)), list(G.edges(data=True)), dict(G.graph)) == before


def test_the_text_is_the_same_in_every_process():
    code = (
        "from tests.mermaid_check.samples import seed_pipelines\n"
        "from irgraph.backends.mermaid import to_mermaid\n"
        "print(to_mermaid(seed_pipelines()['every_kind']))\n"
    )
    outputs = set()
    for seed in ("1", "2", "3"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        root = Path(__file__).resolve().parents[1]
        done = subprocess.run(
            [sys.executable, "-c", code], env=env, cwd=root, capture_output=True, text=True
        )
        assert done.returncode == 0, done.stderr
        outputs.add(done.stdout)
    assert outputs == {to_mermaid(seed_pipelines()["every_kind"]) + "\n"}


@pytest.mark.parametrize(
    ("text", "written"),
    [
        ('say "hi"', "say #quot;hi#quot;"),
        ("#quot;", "#35;quot;"),
        ("a<b>&c", "a#lt;b#gt;#amp;c"),
        ("two\nlines\r\nthree", "two#10;lines#10;three"),
        ("%%{init}%%", "#37;#37;{init}#37;#37;"),
        ("`md`", "#96;md#96;"),
        ("x:y", "x#58;y"),
        ("tab\t", "tab#9;"),
        ("nul\x00", "nul\ufffd"),
        ("é 😀", "é 😀"),
        ("**bold** *it*", "#42;#42;bold#42;#42; #42;it#42;"),
        ("snake_case _it_ __d__", "snake_case #95;it_ #95;#95;d__"),
        ("a_then_..._then_b (x)", "a_then_..._then_b (x)"),
        ("(_x_)", "(#95;x_)"),
        ("_lead", "_lead"),
    ],
)
def test_labels_are_written_with_entity_codes(text, written):
    assert mermaid_text(text) == written


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_no_written_label_holds_a_quote_a_newline_or_a_directive(name):
    written = mermaid_text(name)
    assert '"' not in written and "\n" not in written and "%%" not in written


@given(labelled_pipelines())
@settings(suppress_health_check=[HealthCheck.too_slow], deadline=None)
def test_every_label_line_is_one_quoted_string(p):
    lines = to_mermaid(p).splitlines()
    for line in lines[lines.index(next(x for x in lines if x.startswith("graph "))) + 1 :]:
        # one statement per line; quotes only where the exporter puts them
        assert line.count('"') in (0, 2), line
        assert "\n" not in line and "%%" not in line


@given(pipelines(with_gates=True))
def test_control_and_data_edges_are_exactly_the_graphs(p):
    G = to_graph(p)
    ids = mermaid_ids(G, style="seed")
    lines = to_mermaid(G, style="seed").splitlines()
    control = {m.groups() for m in map(CONTROL_EDGE.match, lines) if m}
    header = {(u, v) for u, v in control if u == "n1" and "n1" not in ids.values()}
    # a scope is one box: edges as their scope sees them
    lifted = [(u, v, c, k) for (u, v), (c, k) in expected_edges(G).items()]
    expected = {(ids[u], ids[v]) for u, v, c, _ in lifted if c}
    assert control - header == expected
    data = {m.groups() for m in map(DATA_EDGE.match, lines) if m}
    assert data == {(ids[u], ", ".join(k), ids[v]) for u, v, _, k in lifted if k}
    order = {node: i for i, node in enumerate(nx.topological_sort(G))}
    back = {v: k for k, v in ids.items()}
    assert all(order[back[u]] < order[back[v]] for u, _, v in data)  # never backwards


# -- the real mermaid -----------------------------------------------------------------------


def _shown(text: str) -> str:
    """Compare drawn labels ignoring whitespace (HTML collapses it)."""
    return "".join(ch for ch in label_text(text) if not ch.isspace() and ch != "\u2060")


def _hypothesis_sample(strategy: st.SearchStrategy[object], count: int) -> list[object]:
    drawn: list[object] = []

    @given(strategy)
    @settings(
        max_examples=count,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    def collect(p: object) -> None:
        drawn.append(p)

    collect()
    return drawn


def test_mermaid_renders_the_seeds_hostile_names_and_a_hypothesis_sample(mermaid_render):
    samples = [*seed_pipelines().values(), hostile_pipeline(), triage()]
    samples += _hypothesis_sample(pipelines(with_gates=True), 25)
    samples += _hypothesis_sample(labelled_pipelines(), 25)
    graphs = [to_graph(p) for p in samples]
    graphs += _hypothesis_sample(drawn_graphs(), 20)  # names built from hostile pieces
    graphs += [route_showcase()]
    texts = [to_mermaid(G) for G in graphs]
    texts += [to_mermaid(G, style="seed") for G in graphs[:8]]
    texts += [to_mermaid(G, collapse=0) for G in graphs[:8]]
    texts += [to_mermaid(graphs[0], direction="LR", data_edges=False)]
    # diff pictures: removed nodes are written by diff_to_mermaid itself
    changes = [diff(to_graph(hostile_pipeline()), to_graph(Agent("kept").instruct("Go.")))]
    changes += [diff(to_graph(triage()), route_showcase())]
    changes += [diff(old, new) for old, new in _hypothesis_sample(graph_pairs(), 12)]
    diffs = [diff_to_mermaid(change) for change in changes]
    report = mermaid_render(texts + diffs)
    assert report["fatal"] is None, report["fatal"]
    assert len(report["results"]) == len(texts) + len(diffs)
    failures = [
        (text, result["error"])
        for text, result in zip(texts + diffs, report["results"], strict=True)
        if not result["ok"]
    ]
    assert not failures, failures[:3]
    for G, text, result in zip(graphs, texts, report["results"], strict=False):
        drawn = {_shown(label) for label in result["labels"]}
        for node in G.nodes:
            assert any(_shown(node) in label for label in drawn), (node, text)
    for change, text, result in zip(changes, diffs, report["results"][len(texts) :], strict=True):
        drawn = {_shown(label) for label in result["labels"]}
        for node in [*change.new.nodes, *(f"{n} (removed)" for n in change.removed)]:
            assert any(_shown(node) in label for label in drawn), (node, text)


def test_the_check_fails_on_a_broken_diagram(mermaid_render):
    report = mermaid_render(['graph TD\nn1["a"] -->', 'graph TD\nn1["fine"]'])
    assert [r["ok"] for r in report["results"]] == [False, True]
    assert "Parse error" in report["results"][0]["error"]
