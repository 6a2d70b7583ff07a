"""A graph saved in a format the command line does not read as a pipeline (DOT, a pickle, GraphML
under another suffix) is told for what it is, with the way to save one it reads: the command
said to rename any such file to ``.json``, which made no pipeline of a DOT file or a pickle.
And GraphML read back without decoding and given to ``run`` is told to be decoded."""

from __future__ import annotations

import io
import json
import pickle
from pathlib import Path

import networkx as nx
import pytest

from irgraph import Agent, PipelineError, from_graph, from_portable, portable, run, to_graph
from irgraph.cli import main
from irgraph.testing import FakeProvider

G = to_graph(Agent("a").instruct("A {topic}").writes("x"), inputs={"topic"})


@pytest.fixture
def here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


def refused(capsys: pytest.CaptureFixture[str], target: str) -> str:
    assert main(["check", target], out=io.StringIO()) == 2
    return capsys.readouterr().err


@pytest.mark.parametrize("name", ["p.dot", "p.gv"])
def test_a_dot_file_is_told_to_be_for_drawing(here, capsys, name):
    nx.nx_pydot.write_dot(portable(G), here / name)
    err = refused(capsys, name)
    assert f"{name!r} is a DOT file, which cannot hold a pipeline" in err
    assert "json.dumps(nx.node_link_data(to_graph(pipeline)))" in err
    assert "rename" not in err


def test_a_pickle_is_not_told_to_be_renamed_to_json(here, capsys):
    (here / "p.pkl").write_bytes(pickle.dumps(G))
    err = refused(capsys, "p.pkl")
    assert "'p.pkl' is not JSON text" in err and "rename" not in err
    assert "json.dumps(nx.node_link_data(to_graph(pipeline)))" in err


def test_graphml_under_another_suffix_is_told_to_be_renamed_to_graphml(here, capsys):
    nx.write_graphml(portable(G), here / "p.xml")
    err = refused(capsys, "p.xml")
    assert "rename it to p.graphml" in err
    (here / "p.xml").rename(here / "p.graphml")
    assert main(["check", "p.graphml"], out=io.StringIO()) == 0


def test_json_without_its_suffix_is_still_told_to_be_renamed_to_json(here, capsys):
    (here / "saved").write_text(json.dumps(nx.node_link_data(G)))
    assert "rename it to saved.json" in refused(capsys, "saved")


def test_run_of_graphml_read_back_undecoded_says_to_decode_it(here):
    nx.write_graphml(portable(G), here / "p.graphml")
    H = nx.read_graphml(here / "p.graphml")
    with pytest.raises(PipelineError) as caught:
        run(H, provider=FakeProvider(), state={"topic": "owls"})
    # it said run(from_graph(G)), which refused the graph in turn: decode it first
    assert "run(from_graph(from_portable(G)), ...)" in caught.value.problems[0].hint
    done = run(from_graph(from_portable(H)), provider=FakeProvider(), state={"topic": "owls"})
    assert done.state["x"] == "<a: A owls>"
