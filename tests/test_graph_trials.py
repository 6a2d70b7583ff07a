"""Outside trial of the graph artifact and its analyses: what a saved graph keeps, what
validate and diff see, and the messages the analyses give."""

from __future__ import annotations

import io
import json
from pathlib import Path

import networkx as nx
import pytest

from irgraph import (
    Agent,
    Loop,
    MapOver,
    PipelineError,
    Route,
    Transform,
    compile,
    from_graph,
    from_portable,
    portable,
    run,
    to_graph,
    validate,
)
from irgraph.analysis import (
    critical_path,
    dataflow_dependencies,
    diff,
    lineage,
    makespan,
    parallelizable,
)
from irgraph.backends.mermaid import to_mermaid
from irgraph.backends.mermaid_diff import diff_to_mermaid
from irgraph.cli import main
from irgraph.testing import FakeProvider

PIPELINE = Agent("researcher").instruct("Research {topic}.").writes("findings") >> Agent(
    "writer"
).instruct("Write from {findings}.")


def saved(G: nx.DiGraph) -> nx.DiGraph:
    return nx.node_link_graph(json.loads(json.dumps(nx.node_link_data(G))))


def test_a_saved_graph_keeps_the_inputs_it_was_given_through_the_rebuild():
    loaded = saved(to_graph(PIPELINE, inputs={"topic"}))
    assert validate(loaded) == []
    again = to_graph(from_graph(loaded))  # the rebuild the stale-graph messages give
    assert again.graph["inputs"] == ["topic"]
    assert validate(again) == []
    assert from_graph(loaded).inputs == ("topic",)
    assert run(from_graph(loaded), provider=FakeProvider(), state={"topic": "owls"}).state


def test_a_saved_graph_given_no_inputs_rebuilds_the_very_pipeline():
    declared = PIPELINE.inputs("topic")
    assert from_graph(saved(to_graph(declared))) == declared.to_ir()
    assert from_graph(saved(to_graph(PIPELINE))) == PIPELINE.to_ir()
    # Inputs given explicitly replace the declared ones, in the saved pipeline too.
    assert from_graph(saved(to_graph(declared, inputs=()))).inputs == ()


def test_irgraph_check_passes_a_saved_graph_that_validate_passes(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    text = json.dumps(nx.node_link_data(to_graph(PIPELINE, inputs={"topic"})))
    (tmp_path / "pipeline.json").write_text(text)
    out = io.StringIO()
    assert main(["check", "pipeline.json"], out=out) == 0, out.getvalue()
    assert "Inputs: topic" in out.getvalue()


EACH = (
    MapOver("each")
    .over("papers", item="paper")
    .step(Agent("summarise").instruct("Summarise {paper}.").writes("summary"))
    .writes("summaries")
)


def problem_of(pipeline, **inputs) -> str:
    with pytest.raises(PipelineError) as info:
        validate(to_graph(pipeline, **inputs))
    return str(info.value)


def test_a_map_over_body_key_read_after_it_points_to_the_collected_list():
    text = problem_of(EACH >> Agent("report").instruct("Report on {summary}."), inputs={"papers"})
    assert "move it earlier" not in text and "{summary?}" not in text
    assert (
        "'summarise' writes 'summary' inside map-over 'each', once per item, so 'summary' "
        "exists only inside 'each', not after it: read the list 'each' collects, {summaries}, "
        "or move 'report' into the body of 'each'." in text
    )
    fixed = EACH >> Agent("report").instruct("Report on {summaries}.")
    assert validate(to_graph(fixed, inputs={"papers"})) == []


def test_a_map_over_item_read_after_it_points_to_the_list():
    text = problem_of(EACH >> Agent("report").instruct("Report on {paper}."), inputs={"papers"})
    assert "move it earlier" not in text
    assert "Map-over 'each' sets 'paper' to one item at a time for its body" in text
    assert "read the whole list {papers}" in text


def test_a_body_key_the_map_over_does_not_collect_says_how_to_collect_it():
    body = Agent("a").instruct("{item}").writes("x") >> Agent("b").instruct("{x}").writes("y")
    each = MapOver("m").over("papers").step(body).writes("ys")
    text = problem_of(each >> Agent("r").instruct("{x}"), inputs={"papers"})
    assert "have 'm' collect it with .collect('x').writes('all_x')" in text


def test_a_writer_that_really_runs_later_is_still_told_to_move_earlier():
    text = problem_of(Agent("r").instruct("{summary}") >> EACH, inputs={"papers"})
    assert "'summarise' writes 'summary' but does not run before 'r'; move it earlier" in text


@pytest.mark.parametrize(("first", "second"), [(1, 1.0), (2.0, 2), ("x", "x"), (None, None)])
def test_a_route_refuses_two_cases_for_one_json_value(first, second):
    route = (
        Route("r")
        .on("k")
        .when(first, Agent("one").instruct("One.").writes("o"))
        .when(second, Agent("two").instruct("Two.").writes("o"))
    )
    text = problem_of(route, inputs={"k"})
    assert "Route 'r' has two branches for" in text and "only the first could ever run" in text


def test_a_route_keeps_cases_json_tells_apart():
    route = (
        Route("r")
        .on("k")
        .when(1, Agent("one").instruct("One.").writes("o"))
        .when(True, Agent("yes").instruct("Yes.").writes("o"))
        .when("1", Agent("text").instruct("Text.").writes("o"))
    )
    assert validate(to_graph(route, inputs={"k"})) == []


WRITE_CHECK = Agent("w").instruct("Write {topic}.").writes("report") >> Agent("c").instruct(
    "Check {report}."
)


@pytest.mark.parametrize("held", ["result", "runnable"])
def test_the_analyses_and_diff_take_a_compiled_pipeline(held):
    compiled = compile(WRITE_CHECK, inputs={"topic"})
    given = compiled if held == "result" else compiled.runnable
    G = to_graph(WRITE_CHECK, inputs={"topic"})
    assert critical_path(given, 1.0) == critical_path(G, 1.0)
    assert makespan(given, 1.0, schedule="dataflow") == makespan(G, 1.0, schedule="dataflow")
    assert list(parallelizable(given, 1.0)) == list(parallelizable(G, 1.0))
    assert lineage(given, "report") == lineage(G, "report")
    assert dataflow_dependencies(given) == dataflow_dependencies(G)
    assert diff(given, G).empty and diff(G, given).empty
    assert diff(given, WRITE_CHECK >> Agent("e").instruct("Edit.")).added == ["e"]


def test_what_is_no_pipeline_is_refused_naming_the_compiled_forms():
    with pytest.raises(PipelineError, match=r"what compile\(\) returns, or its \.runnable"):
        diff(5, WRITE_CHECK)


@pytest.mark.parametrize("analysis", [critical_path, makespan, parallelizable])
def test_a_latency_function_with_the_wrong_signature_is_refused_naming_it(analysis):
    def per_node(node):
        return 1.0

    with pytest.raises(PipelineError) as info:
        analysis(WRITE_CHECK, per_node)
    text = str(info.value)
    assert "per_node(node) cannot be called as latency(node_id, attrs)" in text
    assert info.value.expected == "a function latency(node_id, attrs) -> seconds"


def test_a_latency_function_that_takes_the_node_and_its_attributes_is_called():
    def agents_only(node, attrs, scale=2.0):
        return scale if attrs["kind"] == "agent" else 0.0

    assert critical_path(WRITE_CHECK, agents_only).length == 4.0
    assert makespan(WRITE_CHECK, lambda *given: 1.5) == 3.0


TRIAGE = (
    Route("triage")
    .on("category")
    .when("bug", Agent("fix").instruct("Fix {ticket}.").writes("patch"))
    .otherwise(Agent("answer").instruct("Answer {ticket}.").writes("reply"))
)


@pytest.mark.parametrize(
    ("edit", "shown"),
    [
        (
            lambda H: H.edges["triage", "fix"].update(condition='"feature"'),
            "The edge triage -> fix says condition='\"feature\"'; the pipeline gives "
            "condition='\"bug\"'",
        ),
        (
            lambda H: H.edges["triage", "answer"].pop("condition"),
            "The edge triage -> answer says no condition; the pipeline gives condition='otherwise'",
        ),
    ],
)
def test_an_edited_route_condition_in_a_saved_graph_is_caught(edit, shown):
    H = saved(to_graph(TRIAGE, inputs={"ticket", "category"}))
    assert validate(H) == []
    edit(H)
    with pytest.raises(PipelineError) as info:
        validate(H)
    assert shown in str(info.value) and "to_graph(from_graph(G, check=False))" in str(info.value)
    with pytest.raises(PipelineError, match="says"):
        to_mermaid(H)  # the picture would show the wrong case


def test_a_condition_added_to_an_edge_of_no_route_is_caught():
    H = saved(to_graph(PIPELINE, inputs={"topic"}))
    H.edges["researcher", "writer"]["condition"] = "otherwise"
    with pytest.raises(PipelineError, match="says condition='otherwise'; the pipeline gives none"):
        validate(H)


A, B, C = (Agent(n).instruct(n) for n in "abc")


def lines_of(change) -> list[str]:
    text = str(change).splitlines()
    added = {line[2:] for line in text if line.startswith("+ ")}
    removed = {line[2:] for line in text if line.startswith("- ")}
    assert not added & removed, text  # no line is both added and removed
    return text


def test_diff_says_a_step_moved_into_a_loop():
    change = diff(
        to_graph(A >> Loop("l").step(B).max_iterations(2) >> C),
        to_graph(A >> Loop("l").step(B).step(C).max_iterations(2)),
    )
    assert change.changed == {"c": ["parent"]} and change.moves["c"]["parent"] == ("top level", "l")
    assert "~ node c: parent (top level -> l)" in lines_of(change)
    assert (change.added, change.removed) == ([], [])


def test_diff_says_two_steps_swapped_without_adding_and_removing_them():
    change = diff(to_graph(A >> B >> C), to_graph(A >> C >> B))
    assert (change.added, change.removed) == ([], [])
    text = lines_of(change)
    assert "~ node b: order (after a -> after c)" in text
    assert "~ node c: order (after b -> after a)" in text


def test_diff_says_which_route_case_a_node_now_runs_on():
    x = Agent("x").instruct("X").writes("o")
    y = Agent("y").instruct("Y").writes("o")
    change = diff(
        to_graph(Route("r").on("k").when("v", x).otherwise(y), inputs={"k"}),
        to_graph(Route("r").on("k").when("v", y).otherwise(x), inputs={"k"}),
    )
    assert (change.added, change.removed) == ([], [])
    text = lines_of(change)
    assert '~ node x: branch ("v" -> otherwise)' in text
    assert '~ node y: branch (otherwise -> "v")' in text


def test_diff_of_same_named_steps_never_prints_a_line_as_added_and_removed():
    def w(text):
        return Agent("w").instruct(text).writes("d")

    change = diff(to_graph(w("1") >> w("2") >> w("3")), to_graph(w("1") >> w("3")))
    text = lines_of(change)
    assert change.removed == ["w#2"] and change.renumbered == {"w#2": "w#3"}
    assert "~ node w#2: id (w#3 -> w#2)" in text
    assert "- edge w -> w#2 (removed)" in text and "+ edge w -> w#2" in text


def test_diff_says_a_step_moved_between_two_loops_and_keeps_the_loops():
    change = diff(
        to_graph(
            Loop("l1").step(A).step(B).max_iterations(2) >> Loop("l2").step(C).max_iterations(2)
        ),
        to_graph(
            Loop("l1").step(A).max_iterations(2) >> Loop("l2").step(B).step(C).max_iterations(2)
        ),
    )
    assert (change.added, change.removed) == ([], [])
    assert "~ node b: parent (l1 -> l2)" in lines_of(change)


def test_a_moved_node_is_drawn_as_changed():
    change = diff(to_graph(A >> B >> C), to_graph(A >> C >> B))
    picture = diff_to_mermaid(change)
    assert "class n2 changed" in picture and "class n3 changed" in picture


ROOT = Path(__file__).resolve().parent.parent


def test_the_docs_no_longer_make_the_claims_the_graph_contradicts():
    guide = (ROOT / "docs/guides/analysis.md").read_text(encoding="utf-8")
    concepts = (ROOT / "docs/concepts.md").read_text(encoding="utf-8")
    notebook = json.loads(
        (ROOT / "notebooks/01_exploring_a_pipeline_graph.ipynb").read_text(encoding="utf-8")
    )
    text = "".join(
        "".join(cell["source"]) for cell in notebook["cells"] if cell["cell_type"] == "markdown"
    )
    for page in (guide, text, critical_path.__doc__ or ""):
        assert "fastest any scheduler" not in page
    assert "as `op`" not in text and "only have edges inside their scope" not in text
    assert "(`None`: on a truthy `until`)" not in concepts
    assert "`[]` when it stops on a truthy `until`" in concepts


def test_what_the_corrected_docs_say_holds():
    judge = Loop("review").step(Agent("judge").instruct("Judge.").writes("verdict"))
    assert to_graph(judge.until("verdict").max_iterations(3)).nodes["review"]["until_equals"] == []
    # The critical path follows the edges as written; the dataflow schedule beats it.
    searches = [Agent(f"s{i}").instruct("Search {plan}.").writes(f"r{i}") for i in range(3)]
    p = Agent("plan").instruct("Plan.").writes("plan")
    for step in searches:
        p = p >> step
    G = to_graph(p >> Agent("w").instruct("Write {r0} {r1} {r2}."))
    assert critical_path(G, 1.0).length == makespan(G, 1.0) == 5.0
    assert makespan(G, 1.0, schedule="dataflow") == 3.0


CONTROL = (
    Agent("step\x01one").instruct("Go.").writes("out")
    >> Agent("step\\u0001one").instruct("Use {out}.").writes("used")  # its escape, as a name
    >> (Agent("tab\x0bbed\ufffe").instruct("Also {out}.") | Agent("plain").instruct("{used}"))
)


@pytest.mark.parametrize("writer", ["graphml", "gexf"])
def test_names_xml_cannot_hold_round_trip_through_portable(tmp_path, writer):
    G = to_graph(CONTROL)
    path = tmp_path / f"pipeline.{writer}"
    getattr(nx, f"write_{writer}")(portable(G), path)
    back = from_portable(getattr(nx, f"read_{writer}")(path))
    assert list(back.nodes(data=True)) == list(G.nodes(data=True))
    assert {(u, v): d for u, v, d in back.edges(data=True)} == {
        (u, v): d for u, v, d in G.edges(data=True)
    }
    if writer == "graphml":
        assert back.graph == G.graph
        assert from_graph(back) == CONTROL.to_ir() and validate(back) == []


def test_a_gml_file_is_refused_by_from_portable_with_what_to_write_instead(tmp_path):
    """nx.read_gml takes each node's 'label' as its id: the pipeline's own labels were lost
    and from_graph said only "KeyError: 'label'"."""
    from irgraph import PipelineError

    path = tmp_path / "pipeline.gml"
    nx.write_gml(portable(to_graph(Agent("a").instruct("Go.").writes("x"))), path)
    with pytest.raises(PipelineError, match="has no 'label'") as info:
        from_portable(nx.read_gml(path))
    assert "nx.write_graphml(portable(G), path)" in str(info.value)
    assert info.value.node == "a"


def test_portable_escapes_only_the_ids_xml_cannot_hold():
    H = portable(to_graph(CONTROL))
    assert "plain" in H and "plain" == json.loads(H.nodes["plain"]["label"])
    assert "irgraph_id" not in H.nodes["plain"]
    escaped = [n for n, data in H.nodes(data=True) if "irgraph_id" in data]
    assert len(escaped) == 2 and len(set(H)) == 4  # the escape of one is no other's id
    assert all(n.isprintable() for n in H)


def test_a_copy_holding_a_lambda_says_why_it_cannot_run_not_that_it_was_saved():
    p = Agent("w").instruct("Write {topic}.").writes("report") >> Transform(
        "count", lambda report: len(report.split())
    ).reads("report").writes("words")
    G = to_graph(p, inputs={"topic"})
    assert "a saved copy cannot run it" in validate(G)[0]
    with pytest.raises(PipelineError) as info:
        validate(G.copy())
    text = str(info.value)
    assert "was not saved" not in text
    assert "a graph saved, copied or edited" in text and "keeps only that name" in text


def test_a_node_named_like_a_numbered_id_keeps_its_name_and_numbering_skips_it():
    """``writer#2`` was renumbered ``writer#2#2`` when a second ``writer`` came first, so
    ``outputs['writer#2']`` was the other node's."""
    p = (
        Agent("writer").instruct("{t}").writes("a")
        >> Agent("writer").instruct("{a}").writes("b")
        >> Agent("writer#2").instruct("{b}").writes("c")
    )
    G = to_graph(p, inputs={"t"})
    assert list(G.nodes) == ["writer", "writer#3", "writer#2"]
    assert G.nodes["writer#2"]["label"] == "writer#2" and G.nodes["writer#3"]["writes"] == ["b"]


def test_a_graph_whose_name_was_edited_is_refused_as_stale():
    """``G.graph['name'] = ...`` passed validate, and from_graph(G) kept the old name."""
    import copy

    from irgraph import validate

    for made_here in (True, False):
        G = to_graph(Agent("a") >> Agent("b"))
        G = G if made_here else copy.deepcopy(G)
        G.graph["name"] = "renamed"
        with pytest.raises(PipelineError) as caught:
            validate(G)
        assert "The graph says name='renamed', but the pipeline it holds is named" in str(
            caught.value
        )


@pytest.mark.parametrize(
    ("damage", "words"),
    [
        (lambda G: G.graph.__setitem__("tree", "nope"), "G.graph['tree']) names none of its"),
        (lambda G: G.nodes["b"].clear(), "Node 'b' of the graph has no attributes at all"),
        (lambda G: G.nodes["a"].pop("instruction"), "which an agent node needs"),
    ],
)
def test_a_damaged_graph_is_told_for_what_it_is(damage, words):
    import copy

    from irgraph import validate

    G = copy.deepcopy(to_graph(Agent("a") >> Agent("b")))
    damage(G)
    with pytest.raises(PipelineError) as caught:
        validate(G)
    assert words in str(caught.value)


def test_a_gml_file_read_with_label_id_is_told_as_gml_not_as_bad_json(tmp_path):
    """nx.read_gml(path, label="id") numbers the nodes and keeps each one's name as its
    label, in plain text: from_portable said a JSON decode error at "node 0, attribute
    'label'"."""
    from irgraph import PipelineError

    path = tmp_path / "pipeline.gml"
    nx.write_gml(portable(to_graph(Agent("a").instruct("Go.").writes("x"))), path)
    with pytest.raises(PipelineError) as info:
        from_portable(nx.read_gml(path, label="id"))
    message = str(info.value)
    assert "node 0 is labelled 'a'" in message and "a GML file cannot hold" in message
    assert "JSONDecodeError" not in message
    assert "nx.write_graphml(portable(G), path)" in message
    assert info.value.node == "0"
