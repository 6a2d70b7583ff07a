"""What the exporters accept besides the pipeline: mermaid ``classes``/``class_defs``, DOT
``node_attrs`` and ``collapse=<depth>``. A bad argument is an IrgraphError that names the
node, class or option at fault (never a chart mermaid or Graphviz cannot read, a silently
ignored entry or an error from deep inside pydot), and depths count the same parts however
the pipeline was put together (an unnamed ``>>`` or ``|`` block is no level)."""

from __future__ import annotations

import re
import shutil
import subprocess

import pydot
import pytest

from irgraph import Agent, FanOut, Loop, MapOver, Pipeline, Route, compile, to_graph
from irgraph.backends.dot import dot_value, to_dot
from irgraph.backends.folding import parts
from irgraph.backends.labels import node_ids
from irgraph.backends.mermaid import mermaid_ids, to_mermaid
from irgraph.display import render, show
from irgraph.errors import IrgraphError, PipelineError
from tests.support.dot_reader import read_dot

# The words mermaid 11's flowchart lexer reads as keywords where a class name goes (each one
# makes the chart unparseable: see test_real_mermaid_agrees_on_keywords_and_css).
KEYWORDS = [
    "end", "graph", "flowchart", "subgraph", "style", "linkStyle", "classDef", "class",
    "click", "call", "href", "interpolate", "_self", "_blank", "_parent", "_top",
]  # fmt: skip


def two() -> Pipeline:
    return Agent("writer").writes("x") >> Agent("b").instruct("{x}")


# -- what they draw --------------------------------------------------------------------------


@pytest.mark.parametrize("export", [to_mermaid, to_dot])
def test_something_else_than_a_pipeline_or_its_graph_lists_all_three(export):
    import networkx as nx

    G = to_graph(two())
    assert export(G) is not None and export(two().to_ir()) is not None
    with pytest.raises(PipelineError) as info:
        export("writer")
    assert str(info.value) == (
        "Expected a pipeline builder, an IR node, a graph from to_graph or a compiled pipeline "
        "(got 'writer' of type str). Pass e.g. Agent('a') >> Agent('b'), the result of "
        ".to_ir(), or to_graph(pipeline)."
    )
    with pytest.raises(PipelineError, match="but got an undirected networkx Graph"):
        export(nx.Graph(G))


@pytest.mark.parametrize("held", ["result", "runnable"])
def test_a_compiled_pipeline_is_drawn_from_the_graph_it_runs(held, capsys):
    pipeline = Agent("w").instruct("Write about {topic}.").writes("x") >> Agent("b").instruct("{x}")
    compiled = compile(pipeline, inputs={"topic"})
    given = compiled if held == "result" else compiled.runnable
    G = to_graph(pipeline, inputs={"topic"})
    assert to_mermaid(given, direction="LR") == to_mermaid(G, direction="LR")
    assert to_dot(given).to_string() == to_dot(G).to_string()
    assert render(given, "mermaid").data == to_mermaid(G)
    show(given, "mermaid")
    assert capsys.readouterr().out == to_mermaid(G) + "\n"
    with pytest.raises(PipelineError, match=r"pass it as it is to to_mermaid, to_dot or show"):
        to_graph(given)  # to_graph makes a graph of a pipeline: it names what draws this one


class _GraphlessRunnable:
    """A third-party backend's compiled pipeline: its IR and arun, but no graph."""

    def __init__(self, node: object) -> None:
        self.node = node

    async def arun(self, state: object = None) -> None:
        return None


@pytest.mark.parametrize("export", [to_mermaid, to_dot])
def test_a_compiled_pipeline_holding_no_graph_is_told_to_pass_its_node(export):
    with pytest.raises(PipelineError) as info:
        export(_GraphlessRunnable(two().to_ir()))
    assert str(info.value) == (
        "Expected a pipeline builder, an IR node, a graph from to_graph or a compiled pipeline, "
        "but got a compiled _GraphlessRunnable that holds no graph (.graph). Pass the pipeline "
        "it was compiled from, its .node."
    )


# -- mermaid classes -------------------------------------------------------------------------


@pytest.mark.parametrize("word", KEYWORDS)
def test_a_mermaid_keyword_is_no_class_name(word):
    with pytest.raises(IrgraphError, match=rf"class name '{word}'.*keyword.*'{word}_step'"):
        to_mermaid(two(), classes={"writer": word}, class_defs={word: "fill:#f00"})
    with pytest.raises(IrgraphError, match=rf"class name '{word}' \(a key of class_defs\)"):
        to_mermaid(two(), class_defs={word: "fill:#f00"})


def test_keywords_are_case_sensitive_and_default_is_refused():
    defs = {"End": "fill:#f00", "END": "fill:#0f0"}
    text = to_mermaid(two(), classes={"writer": "End", "b": "END"}, class_defs=defs)
    assert "class n1 End" in text.splitlines() and "class n2 END" in text.splitlines()
    with pytest.raises(IrgraphError, match="'default'.*every node"):
        to_mermaid(two(), classes={"writer": "default"})


@pytest.mark.parametrize(
    "given, defined, meant",
    [("Done", "done", "done"), ("faild", "failed", "failed"), ("done", "Done", "Done")],
)
def test_a_class_misspelt_against_class_defs_is_refused_naming_the_one_meant(given, defined, meant):
    defs = {defined: "fill:#f00", "other": "fill:#0f0"}
    with pytest.raises(IrgraphError, match=f"class '{given}' of node 'writer'.*mean '{meant}'"):
        to_mermaid(two(), classes={"writer": given}, class_defs=defs)
    # A class nothing like a defined one may come from the page's CSS: it is written as given.
    text = to_mermaid(two(), classes={"writer": "external"}, class_defs=defs)
    assert "class n1 external" in text.splitlines()


@pytest.mark.parametrize("name", ["done\n", "done\nclick n1 call x()", "a b", "", 3, None])
def test_a_class_name_with_a_line_break_or_of_another_type_is_refused(name):
    with pytest.raises(IrgraphError, match="class name .*node 'writer'.*plain identifier"):
        to_mermaid(two(), classes={"writer": name})


def test_css_with_a_line_break_cannot_add_a_mermaid_statement():
    css = 'fill:#f00\nclick n1 href "javascript:alert(1)"'
    with pytest.raises(IrgraphError, match="class 'done'.*line break.*e.g. 'fill:#fdd"):
        to_mermaid(two(), classes={"writer": "done"}, class_defs={"done": css})


@pytest.mark.parametrize(
    "css, problem",
    [
        ("fill:#f00; click n1 call alert(1)", "'click n1 call alert\\(1\\)' is not a"),
        ("fill:url(#x)", "value 'url\\(#x\\)' of 'fill'"),
        ('font-family:"x"', "value '\"x\"' of 'font-family'"),
        ("fill:#f00 %%{init}", "value"),
        ("stroke-dasharray:5,5", "'stroke-dasharray:5 5'"),
        ("stroke_width:2px", "'stroke_width' is not a CSS property name"),
        ("", "it is empty"),
        ("fill:#f00\u200b", "does not print"),
    ],
)
def test_css_must_be_a_list_of_declarations_mermaid_can_read(css, problem):
    with pytest.raises(IrgraphError, match=f"CSS of mermaid class 'done'.*{problem}"):
        to_mermaid(two(), classes={"writer": "done"}, class_defs={"done": css})


def test_css_is_a_string_or_a_dict_written_with_commas():
    text = to_mermaid(
        two(),
        classes={"writer": "done", "b": "todo"},
        class_defs={
            "done": {"fill": "#d4f8d4", "stroke-width": 2, "opacity": 0.5},
            "todo": "fill: #eee; stroke: #999;",
        },
    )
    lines = text.splitlines()
    assert "classDef done fill:#d4f8d4,stroke-width:2,opacity:0.5" in lines
    assert "classDef todo fill:#eee,stroke:#999" in lines
    assert "classDef plain fill:#fdd" in to_mermaid(two(), class_defs={"plain": "fill:#fdd"})


@pytest.mark.parametrize(
    "css",
    [{"fill": "red"}.items(), ["fill:red"], 3, {"fill": None}, {"fill": "red;stroke:blue"}],
)
def test_css_of_another_type_is_a_clear_error(css):
    with pytest.raises(IrgraphError, match="CSS of mermaid class 'done'.*e.g. 'fill:#fdd"):
        to_mermaid(two(), class_defs={"done": css})


def test_classes_must_name_nodes_of_the_graph():
    with pytest.raises(IrgraphError, match="node 'writr'.*Did you mean 'writer'\\?"):
        to_mermaid(two(), classes={"writr": "done"}, class_defs={"done": "fill:#fdd"})
    with pytest.raises(IrgraphError, match="classes must map graph nodes.*list"):
        to_mermaid(two(), classes=["writer"])
    with pytest.raises(IrgraphError, match="class_defs must map mermaid class names.*list"):
        to_mermaid(two(), class_defs=["done"])
    # a node inside a folded part is still a node of the graph (the part takes the class
    # its own id has, else the one all its members share)
    loop = Loop("revise").step(Agent("w").writes("x")).max_iterations(2)
    p = loop >> Agent("r").instruct("{x}")
    assert "class n1 done" in to_mermaid(p, collapse=0, classes={"w": "done"}).splitlines()
    text = to_mermaid(p, collapse=0, classes={"w": "done", "revise": "failed"})
    assert "class n1 failed" in text.splitlines()


def test_real_mermaid_agrees_on_keywords_and_css(mermaid_render):
    """Each keyword really breaks a chart as a class name, and what to_mermaid accepts draws."""
    raw = 'graph TD\nn1["a"]\nn2["b"]\nn1 --> n2\nclassDef {0} fill:#f00\nclass n1 {0}'
    broken = [raw.format(word) for word in KEYWORDS]
    accepted = [
        to_mermaid(
            two(),
            classes={"writer": "End", "b": "END"},
            class_defs={"End": "fill:#f00", "END": "x:y"},
        ),
        to_mermaid(
            two(),
            classes={"writer": "done", "b": "todo"},
            class_defs={
                "done": {"fill": "#d4f8d4", "stroke-width": "2px", "opacity": 0.5},
                "todo": "fill: #eee; stroke: #999; stroke-dasharray: 5 5; font-weight: bold",
                "loud": "color:#fff !important,font-size:120%,font-family:Comic Sans MS",
            },
        ),
    ]
    report = mermaid_render(broken + accepted)
    assert report["fatal"] is None, report["fatal"]
    results = report["results"]
    assert [r["ok"] for r in results[: len(broken)]] == [False] * len(broken)
    assert all(r["ok"] for r in results[len(broken) :]), results[len(broken) :]


# -- DOT node_attrs --------------------------------------------------------------------------


def _dot_node(dot: pydot.Dot, name: str) -> dict[str, str]:
    """The attributes of the node ``name``, as written, from the DOT text read back."""
    (node,) = [n for n in read_dot(dot.to_string()).nodes if n.name == name]
    return node.attributes


def _render(dot: pydot.Dot) -> None:
    """Graphviz reads the DOT text, when it is installed (the text is checked either way)."""
    program = shutil.which("dot")
    if program is not None:
        done = subprocess.run(
            [program, "-Tsvg"], input=dot.to_string().encode(), capture_output=True, check=False
        )
        assert done.returncode == 0 and b"syntax error" not in done.stderr, done.stderr


def test_a_label_in_node_attrs_overrides_the_default():
    G = to_graph(two())
    dot = to_dot(G, node_attrs={"writer": {"label": "Researcher", "color": "red"}})
    node = _dot_node(dot, node_ids(G)["writer"])
    assert node.get("label") == '"Researcher"' and node.get("color") == '"red"'
    assert node.get("shape") == "box"  # the defaults stay
    _render(dot)


def test_node_attrs_values_with_quotes_line_breaks_and_backslashes_make_valid_dot():
    G = to_graph(two())
    attrs = {
        "label": 'say "hi"\nto C:\\ & co\\',
        "tooltip": 'a "tip"',
        "color": 'not "a" colour\\',
        "penwidth": 2,
        "fixedsize": False,
    }
    dot = to_dot(G, node_attrs={"writer": attrs})
    node = _dot_node(dot, node_ids(G)["writer"])
    assert node.get("label") == '"say \\"hi\\"\\nto C:\\\\ &amp; co\\\\"'
    assert node.get("color") == '"not \\"a\\" colour\\\\"'
    assert node.get("penwidth") == '"2"' and node.get("fixedsize") == '"false"'
    assert dot_value('a"b\nc\\') == '"a\\"b\\nc\\\\"'
    _render(dot)
    # "name" would clash with pydot's Node(name=...); Graphviz ignores it (pydot's own
    # parser cannot read it back, so only Graphviz reads this one)
    named = to_dot(G, node_attrs={"writer": {"name": "x"}})
    assert 'name="x"' in named.to_string()
    _render(named)


@pytest.mark.parametrize(
    "node_attrs, message",
    [
        ({"writer": "red"}, "node_attrs\\['writer'\\] must be a dict of DOT attributes.*str"),
        ({"writer": ["red"]}, "node_attrs\\['writer'\\] must be a dict"),
        ({"writr": {"color": "red"}}, "node 'writr'.*Did you mean 'writer'\\?"),
        ({3: {"color": "red"}}, "node 3, which is not in"),
        (["writer"], "node_attrs must map graph nodes.*list"),
        ({"writer": {"font color": "red"}}, "'font color', which is not a DOT attribute"),
        ({"writer": {"color": None}}, "node_attrs\\['writer'\\]\\['color'\\] is the NoneType"),
        ({"writer": {"color": ["red"]}}, "a DOT attribute value is a string, number or bool"),
    ],
)
def test_bad_node_attrs_are_clear_errors(node_attrs, message):
    with pytest.raises(IrgraphError, match=message):
        to_dot(two(), node_attrs=node_attrs)


# -- collapse=<depth> --------------------------------------------------------------------------


def _inner() -> Loop:
    return Loop("inner").step(Agent("a").writes("x")).max_iterations(2)


def test_an_unnamed_sequence_is_no_level():
    b = Agent("b").instruct("{x}")
    chained = Loop("outer").step(_inner() >> b).max_iterations(2)
    stepped = Loop("outer").step(_inner()).step(b).max_iterations(2)
    assert to_graph(chained).edges == to_graph(stepped).edges
    text = to_mermaid(chained, collapse=0)  # the root loop is the picture: no level
    assert '[["inner (loop, max 2) · 1 node"]]' in text and "inner_then_b" not in text
    assert text == to_mermaid(stepped, collapse=0)
    assert mermaid_ids(to_graph(chained), collapse=0)["a"] == "n2"
    assert to_dot(chained, collapse=0).to_string() == to_dot(stepped, collapse=0).to_string()


def test_an_unnamed_parallel_block_is_no_level():
    p = Agent("a") >> (Agent("b") | Agent("c")) >> Agent("d")
    assert to_mermaid(p, collapse=0) == to_mermaid(p)
    assert to_dot(p, collapse=0).to_string() == to_dot(p).to_string()
    # it still folds by its name
    assert '[["b_and_c (parallel) · 2 nodes"]]' in to_mermaid(p, collapse="b_and_c")


def test_named_blocks_loops_map_overs_and_routes_are_levels():
    stage = Pipeline("stage").step(_inner()).step(Agent("b").instruct("{x}"))
    checks = FanOut("checks").branch(Agent("c1")).branch(Agent("c2"))
    p = Agent("start") >> stage >> checks
    text = to_mermaid(p, collapse=0)
    assert '[["stage (sequence) · 3 nodes"]]' in text
    assert '[["checks (parallel) · 2 nodes"]]' in text
    assert '[["inner (loop, max 2) · 1 node"]]' in to_mermaid(p, collapse=1)
    each = MapOver("each").over("xs", item="it").step(_inner() >> Agent("r").instruct("{x}"))
    route = Route("pick").on("kind").when("x", _inner() >> Agent("q")).otherwise(Agent("z"))
    p = Agent("make").writes("xs") >> each >> Agent("k").writes("kind") >> route
    depths = {part.name: (part.depth, part.named) for part in parts(to_graph(p))}
    assert depths == {
        "each": (0, True),
        "inner_then_r": (1, False),
        "inner": (1, True),
        "pick": (0, True),
        "inner_then_q": (1, False),
        "inner#2": (1, True),
    }
    text = to_mermaid(p, collapse=1)
    assert text.count("(loop, max 2) · 1 node") == 2 and "(sequence) · " not in text


def test_folding_by_name_takes_the_outermost_part():
    p = Agent("a") >> (_inner() | Agent("c")) >> Agent("d").instruct("{x}")
    ids = mermaid_ids(to_graph(p), collapse=["inner", "inner_and_c"])
    assert ids["inner"] == ids["a#2"] == ids["c"] != ids["a"]
    text = to_mermaid(p, collapse=["inner", "inner_and_c"])
    assert '[["inner_and_c (parallel) · 3 nodes"]]' in text and "inner (loop" not in text
    assert re.search(r"n1 --> n2\b", text)


def test_a_loop_at_the_root_is_the_picture_and_depth_0_folds_what_it_holds():
    """collapse=0 of a pipeline whose root is a loop folded the whole picture into one box,
    where depth 0 is the parts the root holds."""
    inner = Loop("inner").step(Agent("b").instruct("{x}")).max_iterations(2)
    pipeline = Loop("outer").step(Agent("a").writes("x") >> inner).max_iterations(3)
    text = to_mermaid(pipeline, collapse=0)
    assert 'subgraph n1["outer (loop, max 3)"]' in text
    assert '[["inner (loop, max 2) · 1 node"]]' in text
    with pytest.raises(IrgraphError, match="'outer', which is the loop the whole pipeline is"):
        to_mermaid(pipeline, collapse="outer")
