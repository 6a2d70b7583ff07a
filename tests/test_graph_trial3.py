"""Findings of the third outside trial of the graph layer: saved graphs edited by hand, graphs
of other networkx classes, renamed and GraphML graphs, and the diff's truth value."""

from __future__ import annotations

import io
import json
from pathlib import Path

import networkx as nx
import pytest

from irgraph import (
    Agent,
    PipelineError,
    from_graph,
    from_portable,
    portable,
    run,
    to_graph,
    validate,
)
from irgraph.analysis import critical_path, diff
from irgraph.backends.mermaid import to_mermaid
from irgraph.cli import main
from irgraph.cli_batch_results import input_words
from irgraph.testing import FakeProvider

PIPELINE = (
    Agent("a").instruct("A {topic}").writes("x")
    >> Agent("b").instruct("B {x}").writes("y")
    >> Agent("c").instruct("C {y}")
)


def built() -> nx.DiGraph:
    return to_graph(PIPELINE, inputs={"topic"})


def saved(G: nx.DiGraph) -> dict:
    return json.loads(json.dumps(nx.node_link_data(G)))


def cli(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    return main(list(argv), out=out), out.getvalue()


# one verdict on a graph edited by hand ----------------------------------------------------


def without_edges(data: dict) -> dict:
    return {**data, "edges": []}


def with_instruction(data: dict) -> dict:
    nodes = [dict(node) for node in data["nodes"]]
    nodes[1]["instruction"] = "B {xx}"  # its reads, derived, still say ['x']
    return {**data, "nodes": nodes}


def problems_of(error: PipelineError) -> list[str]:
    return [str(problem) for problem in error.problems]


@pytest.mark.parametrize("edit", [without_edges, with_instruction])
def test_from_graph_refuses_an_edited_graph_with_what_validate_lists(edit):
    H = nx.node_link_graph(edit(saved(built())))
    with pytest.raises(PipelineError) as validated:
        validate(H)
    with pytest.raises(PipelineError) as read:
        from_graph(H)
    assert problems_of(read.value) == problems_of(validated.value)
    assert "the graph was changed after to_graph built it" in str(read.value)
    with pytest.raises(PipelineError):
        run(from_graph(H), provider=FakeProvider(), state={"topic": "owls"})


@pytest.mark.parametrize("change", [nx.DiGraph.reverse, nx.DiGraph.copy])
def test_a_reversed_graph_is_refused_and_a_plain_copy_is_not(change):
    G = built()
    H = change(G)
    if change is nx.DiGraph.copy:
        assert from_graph(H) == from_graph(G)
        return
    with pytest.raises(PipelineError, match="Every edge of the graph runs backwards"):
        from_graph(H)


def test_a_graph_read_back_unchanged_loads_and_runs():
    H = nx.node_link_graph(saved(built()))
    result = run(from_graph(H), provider=FakeProvider(), state={"topic": "owls"})
    assert result.state["y"] == "<b: B <a: A owls>>"


def test_check_false_makes_the_graph_anew_from_the_settings():
    H = nx.node_link_graph(with_instruction(saved(built())))
    again = to_graph(from_graph(H, check=False))
    assert again.nodes["b"]["reads"] == ["xx"]
    with pytest.raises(PipelineError, match="check argument of from_graph"):
        from_graph(H, check="no")


def test_the_graph_to_graph_made_here_is_taken_as_it_is():
    G = built()
    assert from_graph(G) == PIPELINE.inputs("topic").to_ir()  # trusted, not built again
    G.remove_edge("a", "b")  # edited in place: checked as validate checks it
    with pytest.raises(PipelineError, match="no edge a -> b"):
        from_graph(G)
    assert from_graph(G, check=False) == PIPELINE.inputs("topic").to_ir()


@pytest.mark.parametrize("edit", [without_edges, with_instruction])
def test_the_command_reads_an_edited_file_as_validate_does(tmp_path: Path, capsys, edit):
    data = saved(built())
    ok, bad = tmp_path / "ok.json", tmp_path / "edited.json"
    ok.write_text(json.dumps(data))
    bad.write_text(json.dumps(edit(data)))
    with pytest.raises(PipelineError) as validated:
        validate(nx.node_link_graph(edit(data)))
    # the same problems, with the advice on inputs in the command's options (input_words)
    said = problems_of(validated.value)
    expected = [f"{bad}: {input_words(line, validated.value, 'check')}" for line in said]
    assert cli("check", str(bad)) == (1, "")
    err = capsys.readouterr().err
    assert all(line in err for line in expected), err
    assert cli("diff", str(ok), str(bad)) == (2, "")
    err = capsys.readouterr().err
    assert all(line in err for line in expected), err
    code, out = cli("check", str(ok))
    assert code == 0 and out.endswith("OK: no problems found.\n")
    assert cli("diff", str(ok), str(ok)) == (0, "No differences.\n")


# another networkx class -----------------------------------------------------------------


@pytest.mark.parametrize("use", [validate, critical_path, to_mermaid, from_graph, diff])
def test_a_multidigraph_is_refused_as_no_pipeline_graph(use):
    M = nx.MultiDiGraph(built())
    with pytest.raises(PipelineError, match="is a networkx DiGraph, but this one is a Multi"):
        use(M, built()) if use is diff else use(M)


def test_an_undirected_copy_is_refused_by_from_graph():
    with pytest.raises(PipelineError, match="this one is an undirected Graph"):
        from_graph(built().to_undirected())


def test_a_saved_multigraph_file_is_refused_by_the_command(tmp_path: Path, capsys):
    data = saved(built())
    data["multigraph"] = True
    path = tmp_path / "multi.json"
    path.write_text(json.dumps(data))
    assert cli("check", str(path))[0] == 1
    err = capsys.readouterr().err
    assert "this one is a MultiDiGraph" in err and "nx.DiGraph(G)" in err


# the diff's truth value -----------------------------------------------------------------


def test_a_diff_without_differences_is_false_and_one_with_them_true():
    same = diff(Agent("a").instruct("x"), Agent("a").instruct("x"))
    assert same.empty and not same
    changed = diff(Agent("a").instruct("x"), Agent("a").instruct("y"))
    assert not changed.empty and changed
    assert not diff(built(), built())


# GraphML read back without from_portable ------------------------------------------------


@pytest.mark.parametrize("pipeline", [PIPELINE, Agent("a").instruct("A {topic}")])
@pytest.mark.parametrize("use", [from_graph, validate, to_mermaid])
def test_graphml_read_back_without_from_portable_says_to_decode_it(tmp_path: Path, pipeline, use):
    path = tmp_path / "p.graphml"
    nx.write_graphml(portable(to_graph(pipeline, inputs={"topic"})), path)
    with pytest.raises(PipelineError) as info:
        use(nx.read_graphml(path))
    text = str(info.value)
    assert "attributes are JSON text" in text and '{"kind"' not in text
    assert "from_graph(from_portable(nx.read_graphml(path)))" in text
    G = to_graph(pipeline, inputs={"topic"})
    assert from_graph(from_portable(nx.read_graphml(path))) == from_graph(G)


# renamed nodes --------------------------------------------------------------------------


def test_a_renamed_node_is_named_on_both_sides_with_the_relabelling_back():
    H = nx.relabel_nodes(built(), {"a": "first"})
    with pytest.raises(PipelineError) as info:
        validate(H)
    text = str(info.value)
    assert "node ids were renamed" in text and "'first'" in text and "'a'" in text
    assert "a subgraph" not in text
    assert "nx.relabel_nodes(G, {'first': 'a'})" in text and "to_graph(pipeline)" in text
    assert info.value.node == "first"
    assert validate(nx.relabel_nodes(H, {"first": "a"})) == []  # the advice works


def test_integer_labels_are_renamed_nodes_too():
    with pytest.raises(PipelineError) as info:
        from_graph(nx.convert_node_labels_to_integers(built()))
    assert "it has nodes 0, 1, 2, which its pipeline does not name" in str(info.value)
    assert "{0: 'a', 1: 'b', 2: 'c'}" in str(info.value)


def test_a_cut_out_part_still_says_subgraph():
    with pytest.raises(PipelineError, match=r"has node 'c', which the graph does not \(a subgraph"):
        validate(built().subgraph(["a", "b"]))


# saved pipelines named with another suffix ------------------------------------------------


@pytest.fixture
def saved_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    G = to_graph(Agent("a").instruct("A {topic}").writes("x"), inputs={"topic"})
    text = json.dumps(nx.node_link_data(G))
    for name in ("P.JSON", "pipeline"):
        (tmp_path / name).write_text(text)
    nx.write_graphml(portable(G), tmp_path / "p.graphml")
    return tmp_path


def error_line(capsys, *argv: str) -> str:
    assert cli(*argv)[0] == 2
    err = capsys.readouterr().err
    assert err.startswith("irgraph: error: ") and err.count("\n") == 1, err
    return err


def test_an_upper_case_json_suffix_is_a_saved_pipeline(saved_files):
    code, out = cli("check", "P.JSON")
    assert code == 0 and out.endswith("OK: no problems found.\n")


def test_a_graphml_target_is_read_as_the_pipeline_it_holds(saved_files):
    """The error for a .graphml target used to give a command that converts it to a .json
    beside it, overwriting any .json of that name; the file is read as it is now."""
    code, out = cli("check", "p.graphml")
    assert code == 0 and out.endswith("OK: no problems found.\n")
    assert not (saved_files / "p.json").exists()
    code, out = cli("run", "p.graphml", "--state", "topic=owls")
    assert code == 0 and "x = <a: A owls>" in out


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("<graphml", "is not a GraphML file networkx can read (ParseError"),
        ("<?xml version='1.0'?><root/>", "has no <graphml> element"),
        ("undirected", "holds an undirected GraphML graph"),
        (
            "not json",
            "JSON text; this one's are not: node 'a', attribute 'instruction' (",
        ),
    ],
)
def test_a_broken_graphml_target_says_what_is_wrong_and_how_to_save_it(
    saved_files, capsys, text, said
):
    path = saved_files / "q.graphml"
    G = nx.read_graphml(saved_files / "p.graphml")
    if text == "undirected":
        nx.write_graphml(G.to_undirected(), path)
    elif text == "not json":
        G.nodes["a"]["instruction"] = "{not json"
        nx.write_graphml(G, path)
    else:
        path.write_text(text)
    err = error_line(capsys, "check", "q.graphml")
    assert "'q.graphml'" in err and said in err, err


def test_a_graphml_target_edited_by_hand_lists_the_problems_led_by_the_file(saved_files, capsys):
    G = nx.read_graphml(saved_files / "p.graphml")
    G.nodes["a"]["instruction"] = json.dumps("A {subject}")
    nx.write_graphml(G, saved_files / "q.graphml")
    code, _ = cli("check", "q.graphml")
    err = capsys.readouterr().err
    assert code != 0 and "q.graphml: Node 'a' says reads=['topic']" in err, err


def test_a_gml_target_says_gml_cannot_hold_a_pipeline(saved_files, capsys):
    nx.write_gml(nx.read_graphml(saved_files / "p.graphml"), saved_files / "p.gml")
    err = error_line(capsys, "check", "p.gml")
    assert "'p.gml' is a GML file, which cannot hold a pipeline" in err
    assert "nx.write_graphml(irgraph.portable(" in err


def test_an_adjacency_json_target_says_which_json_to_save(saved_files, capsys):
    """nx.adjacency_data keeps the graph's attributes as a list of pairs: the command dumped
    that whole list, the pipeline's tree in it, as "not an object holding its pipeline"."""
    G = to_graph(Agent("a").instruct("A {topic}").writes("x"), inputs={"topic"})
    (saved_files / "adj.json").write_text(json.dumps(nx.adjacency_data(G)))
    err = error_line(capsys, "check", "adj.json")
    assert "'adj.json' holds a graph saved as networkx's adjacency JSON" in err
    assert "json.dumps(nx.node_link_data(G))" in err and "tree" not in err


def test_a_file_without_a_suffix_says_to_name_it_json(saved_files, capsys):
    err = error_line(capsys, "check", "pipeline")
    assert "without the .json suffix" in err and "rename it to pipeline.json" in err


def test_a_module_without_attr_mentions_saved_json_files(saved_files, capsys):
    err = error_line(capsys, "check", "irgraph.demo")
    assert "module:attr" in err and "file.py:attr" in err and ".json or .graphml file" in err


def test_validate_of_an_undirected_copy_says_what_it_lost():
    """validate(G.to_undirected()) said 'expects the graph of a pipeline (got <... at 0x...>)'
    and 'Build the graph first', where from_graph said what is wrong."""
    from irgraph import Agent, PipelineError, to_graph, validate

    G = to_graph(Agent("a").instruct("x").writes("k") >> Agent("b").instruct("{k}"))
    with pytest.raises(PipelineError, match="an undirected Graph, which has lost which node"):
        validate(G.to_undirected())


def test_a_graph_made_here_and_edited_in_place_is_checked_as_any_other():
    """An instruction edited in the graph to_graph had just made, or an edge removed from it,
    passed validate(G) (the graph was trusted as made), though the edit changed what runs."""
    chain = (
        Agent("a").instruct("{t}").writes("x")
        >> Agent("b").instruct("{x}").writes("y")
        >> Agent("c").instruct("{t}").writes("z")
    )
    G = to_graph(chain, inputs={"t"})
    G.nodes["b"]["instruction"] = "Edited {zzz}"
    with pytest.raises(PipelineError, match=r"Node 'b' says reads=\['x'\], but its pipeline gives"):
        validate(G)
    G = to_graph(chain, inputs={"t"})
    G.remove_edge("b", "c")
    with pytest.raises(PipelineError, match="The graph has no edge b -> c"):
        validate(G)
    G = to_graph(chain, inputs={"t"})
    G.nodes["b"]["instruction"] = "Again {x}."  # a setting's edit that reads the same keys
    assert validate(G) == []
    done = run(from_graph(G), provider=FakeProvider(), state={"t": "go"})
    assert done.state["y"] == "<b: Again <a: go>.>"


def test_reads_listed_in_another_order_say_so():
    G = to_graph(Agent("a").instruct("{t} then {u}").writes("x"), inputs={"t", "u"})
    H = nx.node_link_graph(json.loads(json.dumps(nx.node_link_data(G))))
    H.nodes["a"]["reads"] = ["u", "t"]
    with pytest.raises(PipelineError) as info:
        validate(H)
    assert "the same keys in another order: the order the text uses them" in str(info.value)
