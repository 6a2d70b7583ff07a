"""The graphs of two pipelines put together with networkx (nx.compose, nx.union) are refused in
one problem saying so and how to put the pipelines together instead, not in a problem for each
node and edge of the pipeline the graph's 'tree' does not hold (irgraph.graph_foreign)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import networkx as nx
import pytest

from irgraph import Agent, Loop, PipelineError, from_graph, run, to_graph, validate
from irgraph.backends.mermaid import to_mermaid
from irgraph.cli import main
from irgraph.testing import FakeProvider

RESEARCH = (
    Agent("researcher").instruct("Research {topic}.").writes("findings")
    >> (
        Agent("analyst").instruct("Analyse {findings}.").writes("analysis")
        | Agent("checker").instruct("Check {findings}.").writes("checks")
    )
    >> Loop("polish")
    .step(Agent("writer").instruct("Write {analysis} {checks} {draft?}.").writes("draft"))
    .max_iterations(2)
)
SUMMARY = Agent("reader").instruct("Read {topic}.").writes("notes") >> Agent("summer").instruct(
    "Sum up {notes}."
).writes("summary")
FIRST, SECOND = to_graph(RESEARCH, inputs={"topic"}), to_graph(SUMMARY, inputs={"topic"})
CALLS: list[Callable[[nx.DiGraph], Any]] = [validate, from_graph, to_mermaid]


def refused(use: Callable[[nx.DiGraph], Any], G: nx.DiGraph) -> PipelineError:
    with pytest.raises(PipelineError) as error:
        use(G)
    return error.value


@pytest.mark.parametrize("use", CALLS)
@pytest.mark.parametrize("together", [nx.compose, nx.union])
def test_two_pipelines_graphs_put_together_are_one_problem(use, together):
    problems = refused(use, together(FIRST, SECOND)).problems
    assert len(problems) == 1, problems
    text = str(problems[0])
    assert text.startswith(
        "The graph looks like the graphs of two (or more) pipelines put together "
        "(nx.compose(G1, G2), nx.union): it holds the pipeline 'reader_then_summer', which its "
        "'tree' attribute describes, and beside it 5 nodes of another pipeline ('researcher', "
    )
    assert "to_graph(first >> second)" in text and "to_graph(first | second)" in text


def test_the_other_way_round_names_the_other_pipeline_and_its_nodes():
    text = str(refused(validate, nx.compose(SECOND, FIRST)))
    assert "it holds the pipeline 'researcher_then_" in text
    assert "beside it 2 nodes of another pipeline ('reader', 'summer')," in text


def test_pipelines_sharing_a_step_name_are_told_so_too():
    other = Agent("researcher").instruct("Research {topic}.").writes("findings") >> Agent(
        "critic"
    ).instruct("Criticise {findings}.")
    problems = refused(from_graph, nx.compose(FIRST, to_graph(other, inputs={"topic"}))).problems
    assert len(problems) == 1 and "nodes of another pipeline ('analyst', " in str(problems[0])


def test_a_composed_graph_read_back_from_a_file_is_one_problem_for_the_command(tmp_path, capsys):
    path = tmp_path / "both.json"
    path.write_text(json.dumps(nx.node_link_data(nx.compose(FIRST, SECOND))))
    assert main(["check", str(path)]) == 1
    err = capsys.readouterr().err
    assert err.count("pipelines put together") == 1 and "not part of the pipeline" not in err


def test_the_advice_works():
    for together in (RESEARCH >> SUMMARY, RESEARCH | SUMMARY):
        assert validate(to_graph(together, inputs={"topic"})) == []
        result = run(together, provider=FakeProvider(), state={"topic": "owls"})
        assert {"draft", "summary"} <= set(result.state)


@pytest.mark.parametrize("use", CALLS)
@pytest.mark.parametrize(
    ("first", "second", "beside"),
    [
        (FIRST, SECOND, "beside it 5 nodes of another pipeline (0 ('researcher'), 1 ('analyst'), "),
        (to_graph(Agent("a")), to_graph(Agent("b")), "beside it 1 node of another pipeline (0 "),
    ],
)
def test_two_pipelines_graphs_joined_by_disjoint_union_are_told_as_put_together(
    use, first, second, beside
):
    """nx.disjoint_union numbers the nodes: that was told as nodes renamed, or (for a second
    pipeline of one node) as a tree replaced or damaged, never as two pipelines."""
    problems = refused(use, nx.disjoint_union(first, second)).problems
    assert len(problems) == 1, problems
    text = str(problems[0])
    assert text.startswith(
        "The graph looks like the graphs of two (or more) pipelines put together by "
        "nx.disjoint_union(G1, G2), which numbers the nodes: it holds the pipeline "
        f"{second.graph['name']!r}, which its 'tree' attribute describes, and {beside}"
    ), text
    assert "to_graph(first >> second)" in text and "to_graph(first | second)" in text


def test_a_lone_step_numbered_is_told_as_renamed_not_as_a_damaged_tree():
    text = str(refused(validate, nx.convert_node_labels_to_integers(to_graph(Agent("a")))))
    assert "node ids were renamed" in text and "nx.relabel_nodes(G, {0: 'a'})" in text, text
