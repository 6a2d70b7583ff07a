"""A saved graph edited so that a node's chain of parents loops (a node its own parent, two
each other's), read by the command line and by ``required_inputs`` (helper K's trial): each
walk up the parents never ended, so ``irgraph batch g.json`` hung; now one clear error."""

from __future__ import annotations

import io
import json
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import networkx as nx
import pytest

from irgraph import Agent, PipelineError, to_graph
from irgraph.cli import main
from irgraph.validate import required_inputs

#: Generous: each call takes milliseconds; only a walk that never ends reaches it.
NEVER = 120.0


def finished(call: Callable[[], Any]) -> Any:
    """What ``call`` returns or raises, run on a thread: a loop that never ends fails the test
    instead of hanging the suite."""
    outcome: list[Any] = []

    def target() -> None:
        try:
            outcome.append(call())
        except BaseException as exc:  # handed to the test
            outcome.append(exc)

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(NEVER)
    assert outcome, "the call never ended: a walk up a looping chain of parents"
    return outcome[0]


def looping(how: str) -> dict[str, Any]:
    pipeline = Agent("a").instruct("A {topic}.").writes("x") >> (
        Agent("b").instruct("B {x}.").writes("y") * 2
    )
    data = nx.node_link_data(to_graph(pipeline), edges="edges")
    nodes = {node["id"]: node for node in data["nodes"]}
    if how == "self":
        nodes["a"]["parent"] = "a"
    else:  # the loop inside its own body
        nodes["b_x2"]["parent"] = "b"
    return data


@pytest.mark.parametrize("how", ["self", "each_other"])
def test_required_inputs_refuses_a_looping_parent_chain(how):
    G = nx.node_link_graph(looping(how), edges="edges")
    if how == "each_other":  # 'a' reads {topic} outside the loop: its walk ends
        G.nodes["b"]["reads"] = ["z"]
    outcome = finished(lambda: required_inputs(G))
    assert isinstance(outcome, PipelineError), outcome
    assert "loops back on itself" in str(outcome) and "to_graph" in str(outcome)


def test_irgraph_batch_refuses_a_saved_graph_whose_parents_loop(
    tmp_path: Path, monkeypatch, capsys
):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "g.json").write_text(json.dumps(looping("self")))
    (tmp_path / "in.jsonl").write_text('{"topic": "owls"}\n')
    argv = ["batch", "g.json", "in.jsonl", "-o", "out.jsonl"]
    assert finished(lambda: main(argv, out=io.StringIO())) == 2
    err = capsys.readouterr().err
    # One problem: the edited parent; not a second one of 'topic' unbound (the inputs give it)
    assert err.startswith("irgraph: error: g.json: Node 'a' says parent='a'")
    assert err.count("\n") == 1 and not (tmp_path / "out.jsonl").exists()
