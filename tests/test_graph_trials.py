"""Outside trial of the graph artifact and its analyses: what a saved graph keeps, what
validate and diff see, and the messages the analyses give."""

from __future__ import annotations

import io
import json

import networkx as nx

from irgraph import Agent, from_graph, run, to_graph, validate
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
