"""The graph is plain data: networkx's own writers, readers and drawing tools work on it, and
from_graph turns it back into the pipeline."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import textwrap

import networkx as nx
import pytest

from irgraph import (
    Agent,
    Gate,
    Loop,
    MapOver,
    Pipeline,
    PipelineError,
    Route,
    Transform,
    from_graph,
    from_portable,
    portable,
    run,
    to_graph,
)
from irgraph.schema import ir_nodes, lifted_edges, settings
from irgraph.testing import FakeProvider
from irgraph.testing.strategies import make_list, stop_after_first


def pipeline():
    return Agent("planner").instruct("Plan {topic}: go.").writes("plan") >> (
        Loop("revise")
        .step(Agent("writer").instruct('Write "{plan}" {notes?}').writes("draft").timeout(5))
        .step(Agent("critic").instruct("Critique {draft}.").writes("notes"))
        .max_iterations(2)
        .until(stop_after_first)
        >> Transform("split", make_list).reads("draft").writes("parts")
        >> MapOver("each")
        .over("parts", item="part")
        .step(Agent("sum").instruct("Sum {part} of {plan}.").writes("s"))
        .writes("sums")
    )


@pytest.fixture
def G() -> nx.DiGraph:
    return to_graph(pipeline(), inputs={"topic"})


def test_node_link_json_round_trip_gives_the_same_graph_and_pipeline(G):
    text = json.dumps(nx.node_link_data(G))
    back = nx.node_link_graph(json.loads(text))
    assert list(back.nodes(data=True)) == list(G.nodes(data=True))
    assert list(back.edges(data=True)) == list(G.edges(data=True))
    assert from_graph(back) == pipeline().inputs("topic").to_ir()


@pytest.mark.filterwarnings("ignore:.*deprecated - use:DeprecationWarning")  # pydot's parser
def test_pydot_takes_the_graph_itself_and_dot_renders_it(G):
    pydot = pytest.importorskip("pydot")
    P = nx.nx_pydot.to_pydot(G)
    assert {n.get_name().strip('"') for n in P.get_nodes()} >= set(G.nodes)
    if shutil.which("dot") is None:
        pytest.skip("Graphviz's dot is not installed")
    svg = subprocess.run(
        ["dot", "-Tsvg"], input=P.to_string().encode(), capture_output=True, check=True
    ).stdout.decode()
    assert "<svg" in svg and "critic" in svg
    back = nx.nx_pydot.from_pydot(pydot.graph_from_dot_data(P.to_string())[0])
    assert set(back.edges) == set(G.edges)


@pytest.mark.parametrize("writer", ["graphml", "gexf"])
def test_scalar_only_writers_take_the_portable_copy_and_read_it_back(G, tmp_path, writer):
    path = tmp_path / f"pipeline.{writer}"
    getattr(nx, f"write_{writer}")(portable(G), path)
    back = from_portable(getattr(nx, f"read_{writer}")(path))
    assert dict(back.nodes(data=True)) == dict(G.nodes(data=True))
    assert {(u, v): d for u, v, d in back.edges(data=True)} == {
        (u, v): d for u, v, d in G.edges(data=True)
    }
    if writer == "graphml":  # GEXF keeps no graph attributes but the name
        assert back.graph == G.graph
        assert from_graph(back) == pipeline().inputs("topic").to_ir()


def test_a_graphml_file_a_drawing_tool_added_attributes_to_still_reads_back(G, tmp_path):
    """A tool that opens the file to draw it (yEd, Gephi) adds attributes of its own, a colour
    as plain text and a position as a number: from_portable refused the file, since they are
    no JSON text, though the pipeline's own attributes were all there."""
    path = tmp_path / "pipeline.graphml"
    nx.write_graphml(portable(G), path)
    drawn = nx.read_graphml(path)
    for nid in drawn:
        drawn.nodes[nid].update(color="red", x=1.5, note='{"a": 1}')
    nx.write_graphml(drawn, path)
    back = from_portable(nx.read_graphml(path))
    assert from_graph(back) == from_graph(G)
    node = next(iter(back.nodes.values()))
    assert (node["color"], node["x"], node["note"]) == ("red", 1.5, {"a": 1})
    drawn.nodes[next(iter(drawn))]["instruction"] = "Write."  # one of ours: JSON text or nothing
    with pytest.raises(PipelineError, match="attribute 'instruction'"):
        from_portable(drawn)


def test_a_graph_made_portable_twice_is_refused_where_it_is_encoded_again(G):
    """portable(portable(G)) encoded the JSON text again: the file read back held text where
    the pipeline was, and only from_graph, much later, said the graph was not decoded."""
    once = portable(G)
    with pytest.raises(PipelineError, match="portable already"):
        portable(once)
    assert from_graph(from_portable(once)) == from_graph(G)
    alone = to_graph(Agent("a").instruct("Go.").writes("x"))  # its tree is a bare node id
    assert from_graph(from_portable(portable(alone))) == from_graph(alone)


def test_settings_read_back_every_ir_field(G):
    nodes = ir_nodes(G, pipeline().to_ir())
    for nid, data in G.nodes(data=True):
        node = nodes[nid]
        for field, value in settings(data).items():
            assert getattr(node, field) == value, (nid, field)


def test_a_saved_graph_runs_in_another_process(G, tmp_path):
    saved = tmp_path / "graph.json"
    saved.write_text(json.dumps(nx.node_link_data(G)), encoding="utf-8")
    script = textwrap.dedent(
        f"""
        import json, networkx as nx
        from irgraph import from_graph, run
        from irgraph.testing import FakeProvider
        G = nx.node_link_graph(json.loads(open({str(saved)!r}).read()))
        pipeline = from_graph(G, allow=["irgraph.testing.strategies"])
        result = run(pipeline, provider=FakeProvider(), state={{"topic": "owls"}})
        print(json.dumps(result.state))
        """
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    here = run(pipeline(), provider=FakeProvider(), state={"topic": "owls"})
    assert json.loads(done.stdout) == here.state


def test_a_lambda_transform_runs_in_process_and_says_it_cannot_run_from_a_saved_graph():
    p = Agent("a").writes("x") >> Transform("up", lambda x: x.upper()).reads("x").writes("y")
    assert run(p, provider=FakeProvider()).state["y"] == "<A: >"
    G = to_graph(p)
    assert ":" in G.nodes["up"]["function"] and "<lambda>#" in G.nodes["up"]["function"]
    assert any("'up'" in w and "a saved copy cannot run it" in w for w in G.graph["warnings"])
    with pytest.raises(
        PipelineError, match="'up' calls .* no import path, and a pipeline read from data"
    ):
        run(from_graph(G), provider=FakeProvider())


def test_from_graph_refuses_what_is_not_a_pipeline_graph():
    with pytest.raises(PipelineError, match="no 'tree' graph attribute, so it holds no pipeline"):
        from_graph(nx.path_graph(3, create_using=nx.DiGraph))


@pytest.mark.parametrize(
    ("given", "says", "fix"),
    [
        (
            lambda G: nx.node_link_data(G),
            "got a dict of node-link data",
            "from_graph(nx.node_link_graph(data))",
        ),
        (
            lambda G: nx.node_link_data(G, edges="links"),
            "got a dict of node-link data",
            'from_graph(nx.node_link_graph(data, edges="links"))',
        ),
        (lambda G: "pipeline.json", "got the string 'pipeline.json'", "Read the file first"),
        (lambda G: Agent("a"), "got Agent('a'), which is a pipeline already", "to_graph("),
        (lambda G: Agent("a").to_ir(), "got the IR node 'a', which is a pipeline", "to_graph("),
    ],
)
def test_from_graph_of_what_stands_in_for_a_graph_says_how_to_get_the_graph(given, says, fix):
    G = to_graph(Agent("a").instruct("{x}"))
    with pytest.raises(PipelineError) as info:
        from_graph(given(G))
    assert says in str(info.value) and fix in str(info.value)
    assert len(str(info.value)) < 400  # the data given is named, not printed whole


def test_from_graph_rebuilds_pinned_ids_also_through_json_and_graphml(tmp_path):
    p = (
        Agent("w", id="draft_writer").writes("x")
        >> Loop("refine", id="polish")
        .step(Agent("w").instruct("{x}").writes("x"))
        .max_iterations(2)
        >> Pipeline("tail", id="finish").step(Agent("w", id="draft_writer").instruct("{x}"))
    )
    G = to_graph(p)
    assert G.nodes["draft_writer"]["pinned"] == "draft_writer"
    assert G.nodes["polish"]["pinned"] == "polish" and G.nodes["w"]["pinned"] is None
    back = nx.node_link_graph(json.loads(json.dumps(nx.node_link_data(G))))
    assert from_graph(back) == p.to_ir()  # the second pin, numbered 'w#2', keeps its id too
    nx.write_graphml(portable(G), tmp_path / "g.graphml")
    assert from_graph(from_portable(nx.read_graphml(tmp_path / "g.graphml"))) == p.to_ir()


def test_a_method_of_a_builtin_type_saves_by_its_class_and_runs_from_a_saved_graph():
    p = Agent("a").instruct("Go.").writes("x") >> Transform("clean", str.strip).reads("x")
    G = to_graph(p)
    assert G.nodes["clean"]["function"] == "builtins:str.strip"
    saved = nx.node_link_graph(json.loads(json.dumps(nx.node_link_data(G))))
    assert run(from_graph(saved), provider=FakeProvider()).outputs["clean"] == "<a: Go.>"


def test_a_callable_object_has_no_import_path():
    import operator

    G = to_graph(Agent("a").writes("x") >> Transform("first", operator.itemgetter(0)).reads("x"))
    assert G.nodes["first"]["function"].startswith("?:")
    assert any("'first'" in w for w in G.graph["warnings"])


class _Suffix:
    def __init__(self, suffix: str) -> None:
        self.suffix = suffix

    def add(self, text: str) -> str:
        return text + self.suffix

    @classmethod
    def mark(cls, text: str) -> str:
        return text + "?"


def test_a_method_bound_to_an_object_has_no_import_path_but_a_classmethod_has():
    """A bound method was saved as "module:Class.method", the unbound function: reloaded, it
    failed asking for a 'self' key to read."""
    bound = Transform("t", _Suffix("!").add).reads("text").writes("out")
    G = to_graph(bound, inputs={"text"})
    assert G.nodes["t"]["function"] == f"?:{__name__}._Suffix(suffix='!').add"
    assert any("'t'" in w and "no import path" in w for w in G.graph["warnings"])
    assert run(bound, state={"text": "a"}).state["out"] == "a!"
    saved = nx.node_link_graph(json.loads(json.dumps(nx.node_link_data(G))))
    with pytest.raises(PipelineError, match="which has no import path"):
        run(from_graph(saved), state={"text": "a"}, allow=[__name__])
    other = to_graph(Transform("t", _Suffix("?").add).reads("text"), inputs={"text"})
    assert other.nodes["t"]["function"] != G.nodes["t"]["function"]
    marked = Transform("t", _Suffix.mark).reads("text").writes("out")
    assert to_graph(marked, inputs={"text"}).nodes["t"]["function"] == f"{__name__}:_Suffix.mark"


def test_a_graph_missing_an_attribute_or_not_portable_is_a_clear_error(G):
    broken = G.copy()
    del broken.nodes["writer"]["instruction"]
    with pytest.raises(PipelineError, match="Node 'writer' of the graph has no 'instruction'"):
        from_graph(broken)
    with pytest.raises(PipelineError, match="reads graphs written from portable"):
        from_portable(G)


def test_a_lone_string_where_a_saved_graph_holds_a_list_is_named_not_read_as_letters():
    """``until_equals: "ok"`` was read as ``('o', 'k')`` and told as that, ``None`` as a bare
    TypeError, and ``inputs: "topic"`` as the keys t, o, p, i, c (then silently replaced)."""
    loop = Loop("L").step(Agent("j").instruct("{t}").writes("v")).until("v", equals="ok")
    saved = to_graph(loop.max_iterations(2), inputs={"t"})
    for wrong in ("ok", None):
        edited = saved.copy()
        edited.nodes["L"]["until_equals"] = wrong
        with pytest.raises(PipelineError) as caught:
            from_graph(edited)
        assert str(caught.value).startswith(
            "The until_equals of Loop 'L' must be a list of one JSON value, such as "
            f"['approved'], or [] (got {wrong!r} of type {type(wrong).__name__})."
        )
    edited = to_graph(Agent("a").instruct("{topic}"), inputs={"topic"})
    edited.nodes["a"]["inputs"] = "topic"
    with pytest.raises(PipelineError, match="must be a list of state keys .*got 'topic'"):
        from_graph(edited)


def test_a_writes_edited_to_a_lone_string_is_refused_naming_the_node_not_read_as_a_letter():
    """``G.nodes["c"]["writes"] = "review"`` made 'c' write 'r' (check=False), and check=True
    said the pipeline gives writes=['r'], advising from_graph(G, check=False), which did so."""
    critic = Agent("c").instruct("{text}").writes("notes")
    saved = to_graph(Agent("w").instruct("{topic}").writes("text") >> critic, inputs={"topic"})
    for wrong, kind, meant in (("review", "str", ["review"]), (None, "NoneType", [])):
        edited = saved.copy()
        edited.nodes["c"]["writes"] = wrong
        for check in (False, True):
            with pytest.raises(PipelineError) as caught:
                from_graph(edited, check=check)
            assert str(caught.value) == (
                "The writes attribute of agent 'c' must be a list holding its one state key, "
                f"such as ['notes'], or [] (got {wrong!r} of type {kind}). Set it as a list: "
                f"G.nodes['c']['writes'] = {meant} (or give the step .writes(key) in the "
                "builder and build the graph again)."
            )
            assert caught.value.node == "c"
    edited.nodes["c"]["writes"] = ["review"]  # as the hint says
    assert from_graph(edited).children[1].writes == "review"
    each = MapOver("m").over("xs", item="x").step(Agent("s").instruct("{x}").writes("y"))
    edited = to_graph(each.writes("ys"), inputs={"xs"})
    edited.nodes["m"]["writes"] = "ys"
    with pytest.raises(PipelineError, match="The writes attribute of map-over 'm' must be"):
        from_graph(edited, check=False)


def test_a_writes_edited_to_two_keys_is_refused_naming_the_node_not_cut_to_the_first():
    """``G.nodes["c"]["writes"] = ["notes", "extra"]`` made from_graph(G, check=False) build
    'c' writing 'notes' alone: 'extra' was dropped without a word."""
    critic = Agent("c").instruct("{text}").writes("notes")
    saved = to_graph(Agent("w").instruct("{topic}").writes("text") >> critic, inputs={"topic"})
    edited = saved.copy()
    edited.nodes["c"]["writes"] = ["notes", "extra"]
    for check in (False, True):
        with pytest.raises(PipelineError) as caught:
            from_graph(edited, check=check)
        assert str(caught.value).startswith(
            "The writes attribute of agent 'c' holds 2 state keys ['notes', 'extra'], but an "
            "agent writes one state key (or none)"
        )
        assert "G.nodes['c']['writes'] = ['notes']" in str(caught.value)
        assert caught.value.node == "c"
    gate = to_graph(Gate("ok", "Go?").writes("answer"))
    gate.nodes["ok"]["writes"] = ["answer", "again"]
    with pytest.raises(PipelineError, match="of gate 'ok' holds 2 state keys"):
        from_graph(gate, check=False)


def test_an_edge_out_of_a_nested_scope_is_lifted_inside_the_outer_one():
    # The writer sits in an inner loop, the reader beside that loop in the same outer loop:
    # seen from the outer body, the key flows from the inner loop to the reader.
    inner = Loop("inner").step(Agent("w").instruct("W.").writes("x")).max_iterations(2)
    outer = Loop("outer").step(inner).step(Agent("r").instruct("{x}")).max_iterations(1)
    G = to_graph(outer)
    assert ("inner", "r", True, ["x"]) in list(lifted_edges(G))
    assert not [e for e in lifted_edges(G) if "outer" in e[:2]]  # scope to own body: none


@pytest.mark.parametrize("given", [pipeline(), pipeline().to_ir(), "pipeline.json"])
def test_the_scope_helpers_given_no_graph_say_to_make_one(given):
    """A builder given to scopes(G), as the analyses take one, failed with AttributeError:
    _node."""
    from irgraph.schema import scope_predecessors, scopes

    for name, helper in [
        ("scopes", scopes),
        ("lifted_edges", lambda g: list(lifted_edges(g))),
        ("scope_predecessors", scope_predecessors),
    ]:
        with pytest.raises(PipelineError) as refused:
            helper(given)
        assert str(refused.value).startswith(f"{name}() takes the graph of a pipeline (got ")
        assert f"{name}(to_graph(pipeline))" in str(refused.value)


def test_enum_members_given_as_values_are_plain_strings_and_numbers_in_the_graph():
    """A ``str`` or ``int`` enum's member passes as the string or number it is, but it was
    kept as the member: the graph held ``<Kind.bug: 'bug'>`` in a route's cases, a loop's
    ``until_equals``, a schema and settings, which plain-data tools such as
    ``yaml.safe_dump`` refuse (and ``str()`` of it is ``Kind.bug``)."""
    import enum

    class Kind(enum.StrEnum):
        BUG = "bug"
        FEATURE = "feature"

    class Level(enum.IntEnum):
        HIGH = 1

    classify = Agent("classify").instruct("Classify {ticket}.").settings(tag=Kind.BUG)
    classify = classify.output({"enum": [Kind.BUG, Kind.FEATURE, Level.HIGH]}).writes("kind")
    route = Route("r").on("kind").when(Kind.BUG, Agent("fix").writes("fix"))
    route = route.when(Level.HIGH, Agent("rate").writes("fix")).otherwise(Agent("x").writes("fix"))
    loop = Loop("L").step(classify >> route).until("kind", equals=Kind.FEATURE).max_iterations(2)
    G = to_graph(loop, inputs={"ticket"})
    found = [
        G.nodes["r"]["cases"][0]["equals"],
        G.nodes["r"]["cases"][1]["equals"],
        G.nodes["L"]["until_equals"][0],
        G.nodes["classify"]["output"]["enum"][0],
        G.nodes["classify"]["settings"]["tag"],
    ]
    assert [(type(value), value) for value in found] == [
        (str, "bug"),
        (int, 1),
        (str, "feature"),
        (str, "bug"),
        (str, "bug"),
    ]
    answers = FakeProvider(responses={"classify": ['"bug"', '"feature"']})
    assert run(loop, provider=answers, state={"ticket": "t"}).state["kind"] == "feature"


def test_enum_members_given_as_names_and_keys_are_plain_strings_in_graph_ir_and_state():
    """A ``StrEnum`` member as a node name or state key stayed the member: in node ids, the
    IR, every attribute and the final state (``str()`` of it is ``K.TOPIC``, not ``topic``)."""
    import enum

    class K(enum.StrEnum):
        TOPIC = "topic"
        TEXT = "text"
        NOTES = "notes"
        WRITER = "writer"
        EACH = "each"

    each = MapOver(K.EACH).over(K.TEXT, item=K.NOTES).step(Agent("s").instruct("{notes}"))
    tidy = Transform("tidy", str.upper).reads(K.TOPIC).writes(K.TEXT)
    pipeline = tidy >> Agent(K.WRITER, inputs=[K.TOPIC]).instruct("{text}").writes(K.NOTES)
    pipeline = pipeline >> Route("r").on(K.NOTES).otherwise(Agent("x").writes("y"))
    G = to_graph(pipeline, inputs={K.TOPIC})
    names = list(G) + list(G.graph["inputs"])
    for data in G.nodes.values():
        names += [data["label"], *data["reads"], *data["writes"], *data.get("inputs", ())]
        names += [data[f] for f in ("on", "over", "item") if data.get(f) is not None]
    assert names and all(type(name) is str for name in names)
    assert type(each.to_ir().item) is str and type(each.to_ir().over) is str
    result = run(pipeline, provider=FakeProvider(), state={K.TOPIC: "owls"})
    assert all(type(key) is str for key in result.state) and "topic" in result.state
