"""Every exporter's picture reads back as the graph it was drawn from.

The mermaid and DOT texts are parsed back and compared with what the graph says a picture
should hold, both by ``tests/support/diagram_parsers.py``, which shares no code with the
exporters: every node once, labelled with its id exactly as the renderer will show it (names
are drawn from hostile text: quotes, ``#``, entities, markup, brackets, line breaks, unicode),
each body node inside the box of its own scope, every edge the way round it runs, lifted to
the scope that holds both ends, with exactly its keys, and the direction asked for.
``diff_to_mermaid`` marks exactly the diff's nodes. Explicit examples hold every kind of arrow
and label at once, so a broken exporter fails here every run, whatever hypothesis draws.
"""

from __future__ import annotations

import re
from typing import Any

import attrs
import networkx as nx
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from irgraph import Agent, FanOut, Gate, Loop, MapOver, Transform, to_graph
from irgraph.backends.dot import to_dot
from irgraph.backends.labels import node_ids
from irgraph.backends.mermaid import mermaid_ids, to_mermaid
from irgraph.backends.mermaid_diff import diff_to_mermaid
from irgraph.diffs import diff
from irgraph.ir import AgentNode, SequenceNode
from irgraph.testing.strategies import make_list, pipelines_with_inputs
from tests.mermaid_check.samples import hostile_pipeline
from tests.support.diagram_parsers import (
    WRAP,
    DiagramSyntaxError,
    MermaidDiagram,
    decode_dot_label,
    decode_mermaid_label,
    expected_conditions,
    expected_edges,
    expected_frames,
    expected_root_title,
    expected_scope_title,
    mermaid_shown,
    parse_dot,
    parse_mermaid,
    shown,
    title_as_drawn,
    wrapped_as,
)
from tests.support.route_samples import route_showcase

SCOPES = ("loop", "map_over")
DATA_LINE = re.compile(r"^n\d+ -\. ")
DIRECTIONS = ("TD", "TB", "BT", "LR", "RL")
RANKDIR = {"TD": "TB", "TB": "TB", "BT": "BT", "LR": "LR", "RL": "RL"}
MERMAID_SHAPES = {
    "agent": "box",
    "transform": "parallelogram",
    "gate": "hexagon",
    "route": "rhombus",
}
DOT_SHAPES = {
    "route": "diamond",
    "agent": "box",
    "transform": "parallelogram",
    "gate": "hexagon",
    "loop": "box3d",
    "map_over": "folder",
}
# Pieces of names that diagram syntaxes read as something else.
HOSTILE = (
    '"', "'", "#", "#35;", "#quot;", "&", "&amp;", "&lt;", "<b>", ">", "\\", "\\N", "\\n",
    "\n", "\r\n", "\t", "%%", "%%{init}%%", "`", "*", "**", "_", "__x__", ":", ";", "[", "]",
    "{", "}", "(", ")", "|", "/", "-->", "-.->", "end", "subgraph", "style n1 fill:#f00;",
    "é", "中文", "😀", "\u00a0", "\x00", "\x7f", "\ufb02\u00b0", "\u00b6\u00df", " ", "n1",
)  # fmt: skip
hostile_names = (
    st.lists(st.one_of(st.sampled_from(HOSTILE), st.text(max_size=3)), min_size=1, max_size=4)
    .map("".join)
    .filter(lambda s: bool(s.strip()))
)


def _renamed(draw: st.DrawFn, node: Any) -> Any:
    """``node`` with some names (its own and its descendants') made hostile."""
    changes: dict[str, Any] = {}
    if getattr(node, "children", ()):
        changes["children"] = tuple(_renamed(draw, child) for child in node.children)
    if draw(st.integers(0, 2)) > 0:  # shrinks towards the plain generated name
        changes["name"] = draw(hostile_names)
    return attrs.evolve(node, **changes)


def showcase() -> nx.DiGraph:
    """Every kind of arrow at once, for explicit examples: a parallel root, nested scopes, a
    key read across a nested scope, data-only arrows, an arrow carrying two keys, hostile
    names."""
    inner = Loop('in "#1"').step(Agent("w<b>").instruct("Go.").writes("x")).max_iterations(2)
    outer = Loop("outer %%").step(inner >> Agent("r [1]").instruct("Use {x}.")).max_iterations(2)
    two = Loop("two & more").step(Agent("a\nb").writes("k1")).step(Agent("`c`").writes("k2"))
    left = outer >> two.max_iterations(1).until("k2") >> Agent("_both_").instruct("{k1} {k2}")
    each = MapOver("each_").over("xs", item="it").step(Gate("ok?", "{it}").writes("y"))
    right = (
        Transform("make", make_list).writes("xs")
        >> each.writes("ys")
        >> Agent("#35;").instruct("Go.")
        >> Agent("late &lt; \\N").instruct("{xs} {ys}")
    )
    return to_graph(FanOut('both "sides"').branch(left).branch(right))


@st.composite
def drawn_graphs(draw: st.DrawFn, **options: Any) -> nx.DiGraph:
    """Graphs of valid generated pipelines (every kind) whose names are hostile text."""
    pipeline, inputs = draw(pipelines_with_inputs(with_gates=True, **options))
    return to_graph(_renamed(draw, pipeline.to_ir()), inputs=set(inputs))


# -- mermaid --------------------------------------------------------------------------------


def title_shown(title: str) -> str:
    """What mermaid shows for a front-matter title: its sanitizer would show a raw ``&`` as
    ``&amp;`` and drop tags, so the exporter writes ``&``, ``<``, ``>`` full-width."""
    return mermaid_shown(title).translate(
        {ord("&"): "\uff06", ord("<"): "\uff1c", ord(">"): "\uff1e"}
    )


def assert_mermaid_is_the_graph(
    G: nx.DiGraph, d: MermaidDiagram, *, data_edges: bool, style: str = "default"
) -> None:
    seed = style == "seed"
    ids = mermaid_ids(G, style=style)
    back = {mid: node for node, mid in ids.items()}
    assert len(back) == len(ids), "two nodes share a mermaid id"
    title = expected_root_title(G)
    boxes = {n for n in G if G.nodes[n]["kind"] not in SCOPES}  # drawn as nodes
    assert set(d.nodes) - {"n1"} == {ids[n] for n in boxes} - {"n1"}
    frame_of, blocks = expected_frames(G)
    assert set(d.subgraphs) == {ids[n] for n in G if n not in boxes} | set(blocks)

    def drawn_in(frame: str | None) -> str | None:
        return frame if frame is None or frame in blocks else ids[frame]

    for block, (label, outer) in blocks.items():
        assert d.subgraphs[block].label == mermaid_shown(label)
        assert d.subgraphs[block].scope == drawn_in(outer)
    for node in G:
        drawn = d.nodes.get(ids[node]) or d.subgraphs[ids[node]]
        data = G.nodes[node]
        if node in boxes and data["kind"] != "route":
            assert (drawn.shape, drawn.label) == (MERMAID_SHAPES[data["kind"]], mermaid_shown(node))
        else:
            assert drawn.label == mermaid_shown(expected_scope_title(node, data))
            assert drawn.shape == MERMAID_SHAPES.get(data["kind"], "subgraph")
        assert drawn.scope == drawn_in(frame_of[node]), node
    head = title if seed else None  # the seed style draws the title as node n1
    if head is None:
        assert "n1" not in d.nodes or back.get("n1") is not None
    else:
        shape = "rhombus" if head.endswith("(parallel)") else "subroutine"
        assert (d.nodes["n1"].shape, d.nodes["n1"].label, d.nodes["n1"].scope) == (
            shape,
            mermaid_shown(head),
            None,
        )
    if seed or title is None:
        assert d.title is None
    else:  # on one line: a long title keeps its beginning and end
        assert d.title is not None and title_as_drawn(d.title, title_shown(title)), d.title
    expected = expected_edges(G)
    conditions = expected_conditions(G)
    control = [(u, v) for u, v in d.control if not (head and u == "n1")]
    assert len(control) == len(set(control)), "an arrow is drawn twice"
    assert {(back[u], back[v]) for u, v in control} == {e for e, (c, _) in expected.items() if c}
    labels = {(back[u], back[v]): label for (u, v), label in d.conditions.items()}
    if seed:
        assert labels == {ends: mermaid_shown(c) for ends, c in conditions.items()}
    else:  # one arrow per pair: its case and its keys
        wanted_labels = {}
        for ends, (c, keys) in expected.items():
            words = [conditions[ends]] if ends in conditions else []
            words += [", ".join(keys)] if keys and data_edges else []
            if c and words:
                wanted_labels[ends] = mermaid_shown(" · ".join(words))
        assert labels == wanted_labels
    if head is not None and head.endswith("(parallel)"):
        entered = {v for _, v in expected}
        entries = {ids[n] for n in G if G.nodes[n]["parent"] is None and n not in entered}
        assert {v for u, v in d.control if u == "n1"} == entries
    else:
        assert not any(u == "n1" and "n1" not in back for u, _ in d.control)
    data_arrows = [(back[u], back[v], label) for u, v, label in d.data]
    assert len(data_arrows) == len({(u, v) for u, v, _ in data_arrows})
    wanted = {
        (u, v, ", ".join(k))
        for (u, v), (c, k) in expected.items()
        if k and data_edges and (seed or not c)
    }
    assert set(data_arrows) == wanted
    if not seed:  # each pair of nodes is one arrow
        pairs = [*control, *((u, v) for u, v, _ in d.data)]
        assert len(pairs) == len(set(pairs)), "a pair of nodes has two arrows"


@given(drawn_graphs(), st.sampled_from(DIRECTIONS))
@example(showcase(), "LR")
@example(route_showcase(), "TD")
@example(to_graph(hostile_pipeline()), "TD")
@settings(suppress_health_check=[HealthCheck.too_slow])
def test_mermaid_reads_back_as_the_graph_it_was_drawn_from(G, direction):
    for style in ("default", "seed"):
        text = to_mermaid(G, direction=direction, style=style)
        d = parse_mermaid(text)
        assert d.direction == direction
        assert_mermaid_is_the_graph(G, d, data_edges=True, style=style)
        without = to_mermaid(G, direction=direction, data_edges=False, style=style)
        assert_mermaid_is_the_graph(G, parse_mermaid(without), data_edges=False, style=style)
    # in the seed style data_edges=False drops the dashed arrows and nothing else
    seed_lines = [line for line in text.splitlines() if not DATA_LINE.match(line)]
    assert without.splitlines() == seed_lines


# -- DOT ------------------------------------------------------------------------------------


def assert_dot_is_the_graph(G: nx.DiGraph, direction: str, data_edges: bool) -> None:
    d = parse_dot(to_dot(G, direction=direction, data_edges=data_edges).to_string())
    ids = node_ids(G)
    back = {did: node for node, did in ids.items()}
    assert d.graph["rankdir"] == RANKDIR[direction]
    title = expected_root_title(G)
    if title is None:
        assert d.graph.get("label") is None
    else:
        assert wrapped_as(d.graph["label"], shown(title), 2 * WRAP)
    assert set(d.nodes) == set(back)
    clusters = {f"cluster_{ids[n]}": n for n in G if G.nodes[n]["kind"] in SCOPES}
    frame_of, blocks = expected_frames(G)

    def cluster(frame: str | None) -> str | None:
        return None if frame is None else f"cluster_{frame if frame in blocks else ids[frame]}"

    assert set(d.clusters) == set(clusters) | {f"cluster_{block}" for block in blocks}
    for block, (label, outer) in blocks.items():
        drawn_label, outer_drawn = d.clusters[f"cluster_{block}"]
        assert wrapped_as(drawn_label, shown(label)) and outer_drawn == cluster(outer)
    for name, (label, outer) in d.clusters.items():
        if name not in clusters:
            continue
        data = G.nodes[clusters[name]]
        assert wrapped_as(label, shown(expected_scope_title(clusters[name], data)))
        assert outer == cluster(frame_of[clusters[name]])
    for did, attributes in d.nodes.items():
        node = back[did]
        data = G.nodes[node]
        title = expected_scope_title(node, data) if data["kind"] == "route" else node
        assert wrapped_as(attributes["label"], shown(title))
        assert attributes["shape"] == DOT_SHAPES[data["kind"]]
        frame = node if data["kind"] in SCOPES else frame_of[node]
        assert d.cluster_of[did] == cluster(frame), node
    expected = {
        ends: (control, keys if data_edges else [])
        for ends, (control, keys) in expected_edges(G).items()
        if control or (data_edges and keys)
    }
    drawn = {(back[u], back[v]): attributes for u, v, attributes in d.edges}
    assert len(drawn) == len(d.edges), "an arrow is drawn twice"
    assert set(drawn) == set(expected)
    conditions = expected_conditions(G)
    for ends, attributes in drawn.items():
        control, keys = expected[ends]
        words = [conditions[ends]] if ends in conditions else []
        words += [", ".join(keys)] if keys else []
        assert wrapped_as(attributes.get("label", ""), shown("\n".join(words))), ends
        assert (attributes.get("style") == "dashed") == (not control), ends


@given(drawn_graphs(max_depth=2), st.sampled_from(DIRECTIONS), st.booleans())
@example(showcase(), "RL", True)
@example(showcase(), "BT", False)
@example(route_showcase(), "LR", True)
@example(route_showcase(), "TD", False)
@example(to_graph(hostile_pipeline()), "TD", True)
@settings(suppress_health_check=[HealthCheck.too_slow])
def test_dot_reads_back_as_the_graph_it_was_drawn_from(G, direction, data_edges):
    assert_dot_is_the_graph(G, direction, data_edges)


# -- diff_to_mermaid ------------------------------------------------------------------------


def _edited(draw: st.DrawFn, node: Any) -> Any:
    """``node`` with a few leaves renamed, re-instructed or left out."""
    children = getattr(node, "children", ())
    if children:
        kept = [_edited(draw, child) for child in children]
        cases = list(getattr(node, "cases", ()))
        if len(kept) > 1 and draw(st.integers(0, 4)) == 4:
            gone = draw(st.integers(0, len(kept) - 1))
            del kept[gone]
            if cases:  # a route's branch goes with its case
                del cases[gone]
        if cases:
            return attrs.evolve(node, children=tuple(kept), cases=tuple(cases))
        return attrs.evolve(node, children=tuple(kept))
    change = draw(st.integers(0, 5))
    if change == 4:
        return attrs.evolve(node, name=draw(hostile_names))
    if change == 5 and isinstance(node, AgentNode):
        return attrs.evolve(node, instruction=node.instruction + " Again.")
    return node


@st.composite
def graph_pairs(draw: st.DrawFn) -> tuple[nx.DiGraph, nx.DiGraph]:
    pipeline, inputs = draw(pipelines_with_inputs(with_gates=True, max_depth=2))
    old = _renamed(draw, pipeline.to_ir())
    new = _edited(draw, old)
    if draw(st.booleans()):
        added = AgentNode(draw(hostile_names), instruction="Go.")
        new = SequenceNode(draw(hostile_names), children=(new, added))
    return to_graph(old, inputs=set(inputs)), to_graph(new, inputs=set(inputs))


@given(graph_pairs(), st.sampled_from(DIRECTIONS))
@example((to_graph(Agent("gone <b>\n").instruct("Go.") >> Agent("a")), showcase()), "TB")
@example((showcase(), route_showcase()), "LR")
@settings(suppress_health_check=[HealthCheck.too_slow])
def test_diff_pictures_mark_exactly_the_diffs_nodes(pair, direction):
    old, new = pair
    change = diff(old, new)
    text = diff_to_mermaid(change, direction=direction)
    d = parse_mermaid(text)
    assert d.direction == direction
    ids = mermaid_ids(new)
    assert sorted(d.members("added")) == sorted(ids[n] for n in change.added)
    assert sorted(d.members("changed")) == sorted(ids[n] for n in change.changed)
    removed = [d.nodes[i] for i in d.members("removed")]
    assert sorted(n.label for n in removed) == sorted(
        mermaid_shown(f"{n} (removed)") for n in change.removed
    )
    assert all(n.scope is None for n in removed)
    # the rest is the new graph's own picture
    d.nodes = {k: v for k, v in d.nodes.items() if v.css != "removed"}
    assert_mermaid_is_the_graph(new, d, data_edges=True)


# -- the parsers themselves, and bugs the properties found ----------------------------------


@pytest.mark.parametrize(
    "text",
    [
        'graph TD\nn1["a"]\nn1 --> n2',  # an undeclared node
        'graph TD\nn1["a"]\nn1["b"]',  # declared twice
        'graph TD\nsubgraph n1["s"]\nn2["a"]',  # never closed
        'graph TD\nn1["say "hi""]',  # a quote ends the label
        'graph TD\nn1["<b>x</b>"]',  # raw HTML
        'graph TD\nn1["a\\#35;"]',  # a backslash
        'graph TD\nn1["%%{init}%%"]',  # a directive
        'graph TD\nn1["_it_"]',  # markdown emphasis
        'graph TD\nn1["#nosuch;"]',  # no such entity
        'graph TD\nn1["a"]\nclass n1 added',  # a class never defined
        'graph XY\nn1["a"]',
        'graph TD\nn1("round")',  # a shape we never write
    ],
)
def test_the_mermaid_parser_refuses_what_we_never_write(text):
    with pytest.raises(DiagramSyntaxError):
        parse_mermaid(text)


def test_labels_decode_as_the_renderers_show_them():
    assert decode_mermaid_label("#quot;a#35;1 #amp; #10;") == '"a#1 & \n'
    assert decode_dot_label('"\\"a\\" \\\\N &amp;lt; \\n"') == '"a" \\N &lt; \n'
    with pytest.raises(DiagramSyntaxError):
        decode_dot_label('"\\N"')  # Graphviz would draw the node's name


def _nested_read() -> Any:
    inner = Loop("inner").step(Agent("w").instruct("Go.").writes("x")).max_iterations(2)
    body = inner >> Agent("r").instruct("Use {x}.")
    return Loop("outer").step(body).max_iterations(2)


def test_a_key_read_across_a_nested_scope_inside_a_scope_is_drawn():
    G = to_graph(_nested_read())
    assert expected_edges(G) == {("inner", "r"): (True, ["x"])}
    assert_mermaid_is_the_graph(G, parse_mermaid(to_mermaid(G)), data_edges=True)
    assert_dot_is_the_graph(G, "TD", True)


def test_a_removed_node_with_markup_in_its_name_is_drawn_as_its_name():
    old = to_graph(Agent("a").instruct("Go.") >> Agent("<b>\nR&D</b> %%").instruct("Go."))
    d = parse_mermaid(diff_to_mermaid(diff(old, to_graph(Agent("a").instruct("Go.")))))
    assert [d.nodes[i].label for i in d.members("removed")] == ["<b>\nR&D</b> %% (removed)"]


def test_a_map_over_title_names_its_list_and_item():
    p = Agent("m").writes("xs") >> MapOver("each").over("xs", item="x").step(
        Agent("a").instruct("{x}").writes("y")
    ).writes("ys")
    d = parse_mermaid(to_mermaid(p))
    assert [s.label for s in d.subgraphs.values()] == ["each (map over xs as x)"]
