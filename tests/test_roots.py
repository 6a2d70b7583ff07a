"""A pipeline saved or named where the pipeline itself is wanted — IR JSON or a node-link graph,
as text or parsed, a file's name, a target as the irgraph command takes it — is told for what
it is, with the call that reads the pipeline from it, by run, to_graph, the exporters and the
analyses alike; anything else keeps the plain message, its value cut short."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import networkx as nx
import pytest

from irgraph import Agent, PipelineError, compile, from_graph, run, to_graph
from irgraph.analysis import critical_path
from irgraph.backends.mermaid import to_mermaid
from irgraph.ir import from_json, to_json

PIPELINE = Agent("a").instruct("Say {x}.").writes("y") >> Agent("b").instruct("Use {y}.")
IR_TEXT = to_json(PIPELINE.to_ir())
GRAPH_TEXT = json.dumps(nx.node_link_data(to_graph(PIPELINE, inputs={"x"})))
TAKERS: list[Callable[[Any], Any]] = [run, compile, to_graph, to_mermaid, critical_path]


def refusal(taker: Callable[[Any], Any], value: Any) -> str:
    with pytest.raises(PipelineError) as refused:
        taker(value)
    return str(refused.value)


@pytest.mark.parametrize("taker", TAKERS, ids=lambda f: f.__name__)
def test_ir_json_text_is_told_to_go_through_from_json(taker: Callable[[Any], Any]) -> None:
    told = refusal(taker, IR_TEXT)
    assert "but got IR JSON text (what irgraph.ir.to_json writes)" in told
    assert "from_json(text)" in told and '"format"' not in told  # not the whole document
    assert from_json(IR_TEXT) == PIPELINE.to_ir()  # the call it gives works


def test_parsed_ir_json_and_node_link_data_each_get_the_call_that_fits_them() -> None:
    told = refusal(run, json.loads(IR_TEXT))
    assert "IR JSON data" in told and "from_json(json.dumps(data))" in told
    told = refusal(run, GRAPH_TEXT)
    assert "node-link text" in told and "from_graph(nx.node_link_graph(json.loads(text)))" in told
    data = json.loads(GRAPH_TEXT)
    told = refusal(to_graph, data)
    assert "node-link data" in told and "from_graph(nx.node_link_graph(data))" in told
    assert from_graph(nx.node_link_graph(data)) == PIPELINE.inputs("x").to_ir()


def test_a_file_name_is_told_to_be_read_first(tmp_path: Path) -> None:
    told = refusal(run, "pipeline.json")
    assert "but got the file name 'pipeline.json', not the pipeline it holds" in told
    assert "from_json(Path('pipeline.json').read_text())" in told
    assert "irgraph run pipeline.json" in told
    told = refusal(to_mermaid, "pipeline.graphml")
    assert "from_graph(from_portable(nx.read_graphml('pipeline.graphml')))" in told


@pytest.mark.parametrize(
    ("target", "shown"),
    [
        ("irgraph.demo:research_pipeline", "from irgraph.demo import research_pipeline."),
        ("flows/pipes.py:research", "from pipes import research (with the file's folder"),
        ("pipes.py", "from pipes import <name> (with the file's folder"),
    ],
)
def test_a_target_of_the_command_line_is_told_to_be_imported(target: str, shown: str) -> None:
    told = refusal(run, target)
    assert f"but got {target!r}, a target as the irgraph command takes it" in told
    assert f"import the pipeline and pass it: {shown}" in told


@pytest.mark.parametrize("value", ["hello", "{not json", '{"a": 1}', [Agent("a")] * 30, 5])
def test_anything_else_keeps_the_plain_message_cut_short(value: Any) -> None:
    told = refusal(run, value)
    assert told.startswith("Expected a pipeline builder or an IR node (got ")
    assert len(told) < 200


def test_the_result_of_a_run_is_told_for_what_it_is_with_its_view_and_graph() -> None:
    # irgraph.show(result) or to_mermaid(result) in a notebook, after the run: the message
    # said only "Expected a pipeline builder ... (got RunResult(state=...))".
    from irgraph import RunError, run_many, show
    from irgraph.testing import FakeProvider

    done = run(PIPELINE, provider=FakeProvider(), state={"x": "owls"})
    item = next(iter(run_many(PIPELINE, [{"x": "bats"}], provider=FakeProvider())))
    with pytest.raises(RunError) as failed:
        run(PIPELINE, provider=FakeProvider(fail={"b": 1}), state={"x": "moths"})
    takers = [run, compile, to_graph, to_mermaid, show]
    for value, name in [(done, "result"), (failed.value, "error"), (item, "item.result")]:
        kind = type(value).__name__
        for taker in takers:
            told = refusal(taker, value)
            assert f"but got the result of a run ({'an' if kind[0] == 'I' else 'a'} {kind})" in told
            assert f"{name}.view()" in told and f"{name}.graph" in told
    told = refusal(critical_path, item)  # a result or error it analyses: its .graph ran
    assert "the result of a run" in told and "item.result.graph" in told
    assert critical_path(item.result.graph) == critical_path(done.graph)
