"""tests/support/dot_reader.py reads DOT as Graphviz's grammar defines it, and ``parse_dot``
on top of it reads our exporter's DOT into the very ``DotDiagram`` the pydot-based reader it
replaced gave (that reader is kept here, as the reference, and nowhere else: its pyparsing
grammar took ~0.3 s a pipeline). Hand-written DOT holds each syntax case and each error."""

from __future__ import annotations

from typing import Any

import networkx as nx
import pydot
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from irgraph import Agent, to_graph
from irgraph.backends.dot import to_dot
from irgraph.backends.labels import node_ids
from tests.mermaid_check.samples import hostile_pipeline, seed_pipelines
from tests.support.diagram_parsers import (
    DiagramSyntaxError,
    DotDiagram,
    decode_dot_label,
    parse_dot,
)
from tests.support.dot_reader import DotEdge, DotGraph, read_dot
from tests.support.route_samples import route_showcase, triage
from tests.test_exporter_properties import DIRECTIONS, drawn_graphs, showcase

# pydot's parser calls pyparsing's old camelCase names
pytestmark = pytest.mark.filterwarnings("ignore:.*deprecated - use:DeprecationWarning")


def pydot_parse_dot(text: str) -> DotDiagram:
    """The reader ``parse_dot`` was before: pydot's parser, walked the same way."""

    def decoded(attributes: dict[str, Any]) -> dict[str, Any]:
        out = dict(attributes)
        if "label" in out:
            out["label"] = decode_dot_label(out["label"])
        return out

    (graph,) = pydot.graph_from_dot_data(text)
    diagram = DotDiagram(decoded(graph.get_attributes()))

    def walk(g: Any, cluster: str | None) -> None:
        for node in g.get_nodes():
            name = node.get_name()
            if name in ("node", "edge", "graph"):
                continue
            assert name not in diagram.nodes, f"node {name} is declared twice"
            diagram.nodes[name] = decoded(node.get_attributes())
            diagram.cluster_of[name] = cluster
        for edge in g.get_edges():
            ends = (edge.get_source(), edge.get_destination())
            diagram.edges.append((*ends, decoded(edge.get_attributes())))
        for sub in g.get_subgraphs():
            label = sub.get_attributes().get("label")
            title = "" if label is None else decode_dot_label(label)
            diagram.clusters[sub.get_name()] = (title, cluster)
            walk(sub, sub.get_name())

    walk(graph, None)
    return diagram


def assert_read_as_pydot_read_it(text: str) -> None:
    ours, theirs = parse_dot(text), pydot_parse_dot(text)
    assert ours == theirs
    assert list(ours.nodes) == list(theirs.nodes)  # dicts compare without their order


def _showcases() -> list[nx.DiGraph]:
    pipelines = [hostile_pipeline(), triage(), *seed_pipelines().values()]
    return [showcase(), route_showcase(), *(to_graph(p) for p in pipelines)]


@pytest.mark.parametrize("index", range(len(_showcases())))
def test_the_showcases_read_as_pydot_read_them(index):
    G = _showcases()[index]
    for direction, data_edges in (("TD", True), ("LR", False)):
        assert_read_as_pydot_read_it(
            to_dot(G, direction=direction, data_edges=data_edges).to_string()
        )


def test_node_attrs_with_quotes_backslashes_and_numbers_read_as_pydot_read_them():
    G = to_graph(Agent("writer").instruct("Go.") >> Agent("b").instruct("Go."))
    attrs = {
        "label": 'say "hi"\nto C:\\ & co\\',
        "tooltip": 'a "tip"\\',
        "penwidth": 2,
        "fixedsize": False,
        "width": 1.5,
    }
    text = to_dot(G, node_attrs={"writer": attrs}).to_string()
    assert_read_as_pydot_read_it(text)
    node = parse_dot(text).nodes[node_ids(G)["writer"]]
    assert node["label"] == 'say "hi"\nto C:\\ & co\\'
    assert f"tooltip={node['tooltip']}" in text  # as written, quotes and escapes kept


# pydot takes ~0.3 s a graph; a sample keeps the reference check cheap.
@settings(max_examples=15, suppress_health_check=[HealthCheck.too_slow])
@given(drawn_graphs(max_depth=2), st.sampled_from(DIRECTIONS), st.booleans())
def test_drawn_graphs_read_as_pydot_read_them(G, direction, data_edges):
    assert_read_as_pydot_read_it(to_dot(G, direction=direction, data_edges=data_edges).to_string())


# -- the DOT language, by hand ---------------------------------------------------------------


def edges(graph: DotGraph) -> list[tuple[str, str, dict[str, str]]]:
    return [(e.source, e.target, e.attributes) for e in graph.edges]


def test_the_header_strict_undirected_and_named():
    graph = read_dot('strict graph "my \\"G\\"" { a -- b }')
    assert (graph.strict, graph.directed, graph.name) == (True, False, 'my "G"')
    assert edges(graph) == [("a", "b", {})]
    plain = read_dot("digraph { }")
    assert (plain.strict, plain.directed, plain.name) == (False, True, None)


def test_keywords_are_case_insensitive():
    graph = read_dot("DiGraph G { NODE [shape=box] Edge [color=red] a -> b }")
    assert graph.defaults == {"node": {"shape": "box"}, "edge": {"color": "red"}}


def test_ids_bare_numeral_quoted_concatenated_and_html():
    text = (
        'digraph { _a1 [w=-1.5, x=.5, y=3., z="q \\"x\\" \\\\ \\n"]\n'
        'é中 [label="a" + "b\\"" + "c"]\n"two words" [label=<<b>x <i>y</i></b>>] }'
    )
    graph = read_dot(text)
    nodes = {n.name: n.attributes for n in graph.nodes}
    assert nodes == {
        "_a1": {"w": "-1.5", "x": ".5", "y": "3.", "z": '"q \\"x\\" \\\\ \\n"'},
        "é中": {"label": '"ab\\"c"'},
        "two words": {"label": "<<b>x <i>y</i></b>>"},
    }


def test_a_quoted_name_is_the_name_graphviz_reads():
    graph = read_dot('digraph { "a\\"b" -> "c\\\\d"; -2 -> "x" }')
    assert edges(graph) == [('a"b', "c\\\\d", {}), ("-2", "x", {})]


def test_a_backslash_before_a_line_break_continues_the_string():
    graph = read_dot('digraph {\na [label="ab\\\ncd\\\r\nef", x="g\\\\\nh"]\nb }')
    a, b = graph.nodes
    assert a.attributes == {"label": '"abcdef"', "x": '"g\\\\\nh"'}  # an escaped one does not
    assert (a.line, b.line) == (2, 6)


def test_statements_attribute_statements_and_lists():
    text = (
        "digraph { graph [label=t] rankdir=LR; n [a=b, c=d; e=f][g=h a=z] node [shape=box]\n"
        '"font" + "name" = "A" + "B" }'
    )
    graph = read_dot(text)
    assert graph.attributes == {"label": "t", "rankdir": "LR", "fontname": '"AB"'}
    assert graph.nodes[0].attributes == {"a": "z", "c": "d", "e": "f", "g": "h"}
    assert graph.defaults == {"node": {"shape": "box"}}


def test_an_edge_chain_gives_each_edge_the_attributes():
    graph = read_dot('digraph { a -> b -> c [label="x"][style=dashed] }')
    both = {"label": '"x"', "style": "dashed"}
    assert edges(graph) == [("a", "b", both), ("b", "c", both)]
    assert graph.nodes == []  # an edge declares nothing


def test_subgraphs_nest_and_an_edge_to_one_reaches_its_nodes():
    text = """digraph {
        subgraph cluster_x { label="X"; subgraph cluster_y { a } b }
        { c } subgraph { d }
        e -> { f g -> h } -> subgraph s { i }
    }"""
    graph = read_dot(text)
    names = [sub.name for sub in graph.subgraphs]
    assert names == ["cluster_x", None, None, None, "s"]
    x = graph.subgraphs[0]
    assert (x.attributes, x.subgraphs[0].name, x.subgraphs[0].nodes[0].name) == (
        {"label": '"X"'},
        "cluster_y",
        "a",
    )
    assert graph.subgraphs[3].edges == [DotEdge("g", "h", {}, 4)]
    assert [(u, v) for u, v, _ in edges(graph)] == [
        ("e", "f"), ("e", "g"), ("e", "h"), ("f", "i"), ("g", "i"), ("h", "i"),
    ]  # fmt: skip


def test_ports_are_the_edges_tailport_and_headport():
    graph = read_dot('digraph { a:p:n -> b:"q 1" [color=red]; c:sw -> d; e:p [shape=box] }')
    assert edges(graph) == [
        ("a", "b", {"color": "red", "tailport": "p:n", "headport": "q 1"}),
        ("c", "d", {"tailport": "sw"}),
    ]
    assert graph.nodes[0].name == "e"


def test_comments_and_optional_semicolons():
    text = (
        "# a preprocessor line\n"
        "digraph { // a comment -> x\n"
        "a /* b -> c\n still a comment */ b;\n"
        "#line 3\n"
        'c [label="// /* # not comments"] }'
    )
    graph = read_dot(text)
    assert [(n.name, n.line) for n in graph.nodes] == [("a", 3), ("b", 4), ("c", 6)]
    assert graph.nodes[2].attributes == {"label": '"// /* # not comments"'}


# -- parse_dot: the diagram, and what it refuses ---------------------------------------------


def test_parse_dot_decodes_labels_and_places_nodes_in_clusters():
    text = """digraph {
        label="root \\"R\\"";
        subgraph cluster_a { label="A\\nbox"; n1 [label="x &amp; y", shape=box]
            subgraph cluster_b { n2 [label="b\\\\c"] } }
        n3
        n1 -> n3 [label="k1, k2", style=dashed]
        n2 -> n1
    }"""
    d = parse_dot(text)
    assert d.graph == {"label": 'root "R"'}
    assert d.nodes == {"n1": {"label": "x & y", "shape": "box"}, "n2": {"label": "b\\c"}, "n3": {}}
    assert d.cluster_of == {"n1": "cluster_a", "n2": "cluster_b", "n3": None}
    assert d.clusters == {"cluster_a": ("A\nbox", None), "cluster_b": ("", "cluster_a")}
    assert d.edges == [("n1", "n3", {"label": "k1, k2", "style": "dashed"}), ("n2", "n1", {})]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("digraph {\na\nsubgraph cluster_x { a }\n}", "line 3: node a is declared twice"),
        ("digraph {\na\na -> b\n}", "line 3: the edge a -> b names b, never declared"),
        ("digraph {\na\n{ a -> b }\n}", "line 3: an anonymous subgraph is not a cluster"),
        ("digraph {\nsubgraph x { a }\n}", "line 2: subgraph x is not a cluster"),
        ('digraph {\n\na [label="\\N"]\n}', "line 3: .*Graphviz substitution"),
        ("digraph {\na [label=<b>]\n}", "line 2: the label '<b>' is not a quoted string"),
    ],
)
def test_parse_dot_refuses_what_our_exporter_never_writes(text, message):
    with pytest.raises(DiagramSyntaxError, match=message):
        parse_dot(text)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{ a }", "line 1: expected 'strict', 'digraph' or 'graph', found '{'"),
        ("strict { a }", "line 1: expected 'digraph' or 'graph', found '{'"),
        ("digraph G a", "line 1: expected '{' opening the graph's body, found 'a'"),
        ("digraph {\na\n", "line 3: expected '}' closing the graph opened on line 1, found the"),
        ("digraph {} digraph {}", "line 1: expected the end of the text after the graph's"),
        ("digraph {\na ->\n}", "line 3: expected a node ID, a subgraph, .* found '}'"),
        ("digraph { a -- b }", "line 1: expected '->' \\(the edges of a digraph\\), found '--'"),
        ("graph {\na -> b }", "line 2: expected '--' \\(the edges of an undirected graph\\)"),
        ("digraph { a [b] }", "line 1: expected '=' after the attribute name b, found ']'"),
        ("digraph { a [b=c }", "line 1: expected an attribute name or ']', found '}'"),
        ("digraph { a [b=] }", "line 1: expected a value for b, found ']'"),
        ("digraph { a = ; }", "line 1: expected a value for a, found ';'"),
        ('digraph { a [b="x" + y] }', "line 1: expected a double-quoted string after '\\+'"),
        ("digraph { node a }", "line 1: expected '\\[' opening the attribute list of 'node'"),
        ("digraph { subgraph x a }", "line 1: expected '{' opening the subgraph's body"),
        ("digraph { a: }", "line 1: expected a port name after ':', found '}'"),
        ("digraph { a:p:up }", "line 1: 'up' is no compass point"),
        ("digraph { strict }", "line 1: expected a node ID, .* found 'strict'"),
        ('digraph {\na [label="open\n}', "line 2: the string opened here is never closed"),
        ("digraph {\n/* open\n}", "line 2: the comment '/\\*' is never closed"),
        ("digraph {\na [label=<<b>x</b>]\n}", "line 2: the HTML string '<' is never closed"),
        ("digraph { 1a }", "line 1: the numeral '1' runs into 'a'"),
        ("digraph { 1.2.3 }", "line 1: the numeral '1.2' runs into '.'"),
        ("digraph {\n a # no\n}", "line 2: '#' starts no DOT token"),
        ("digraph { a @ b }", "line 1: '@' starts no DOT token"),
    ],
)
def test_syntax_errors_name_the_line_and_what_was_expected(text, message):
    with pytest.raises(DiagramSyntaxError, match=message):
        read_dot(text)
    with pytest.raises(DiagramSyntaxError, match=message):
        parse_dot(text)
