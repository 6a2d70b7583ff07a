"""Deep nesting: up to ``MAX_DEPTH`` levels everything works; one more is a PipelineError that
names the limit wherever the pipeline enters (build, IR, JSON, saved graph), never a
RecursionError from somewhere inside."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import networkx as nx
import pytest

from irgraph import (
    Agent,
    FanOut,
    Loop,
    MapOver,
    Pipeline,
    PipelineError,
    from_graph,
    run,
    to_graph,
    validate,
)
from irgraph.backends.mermaid import to_mermaid
from irgraph.checks import MAX_DEPTH
from irgraph.code import to_code
from irgraph.ir import AgentNode, LoopNode, SequenceNode, from_json, to_json
from irgraph.testing import FakeProvider
from irgraph.testing.reference import interpret

LEAF = Agent("writer").instruct("Write about {topic} {text?}.").writes("text")


def wrap(kind: str, inner: Any, i: int) -> Any:
    """One more level around ``inner``."""
    if kind == "loop":
        return Loop(f"l{i}").step(inner).max_iterations(1)
    if kind == "pipeline":
        return Pipeline(f"p{i}").step(inner)
    if kind == "fanout":
        return FanOut(f"f{i}").branch(inner).branch(Agent(f"b{i}").instruct("Hi.").writes(f"b{i}"))
    if kind == "operator":
        return inner * 1
    return MapOver(f"m{i}").over("items").step(inner).collect("text").writes("texts")


def nested(kind: str, depth: int) -> Any:
    pipeline: Any = LEAF
    for i in range(depth):
        pipeline = wrap(kind, pipeline, i)
    return pipeline


KINDS = ["loop", "pipeline", "fanout", "operator"]


@pytest.mark.parametrize("kind", KINDS)
def test_the_deepest_allowed_pipeline_works_everywhere(kind: str) -> None:
    pipeline = nested(kind, MAX_DEPTH)
    ir = pipeline.to_ir()
    assert ir.depth == MAX_DEPTH
    G = to_graph(pipeline, inputs={"topic"})
    assert validate(G) == []
    assert from_json(to_json(ir)) == ir
    assert from_graph(nx.node_link_graph(nx.node_link_data(G))) == pipeline.inputs("topic").to_ir()
    assert "writer" in to_code(ir) and "writer" in to_mermaid(G)
    state = {"topic": "owls"}
    result = run(pipeline, provider=FakeProvider(), state=state)
    assert result.state == asyncio.run(interpret(ir, FakeProvider(), state)).state


def test_nested_map_overs_run_their_items() -> None:
    pipeline: Any = LEAF
    collected = "text"
    for i in range(3):  # each level maps over the same list: 2**3 runs of the writer
        pipeline = MapOver(f"m{i}").over("items").step(pipeline).collect(collected)
        collected = f"t{i}"
        pipeline = pipeline.writes(collected)
    result = run(pipeline, provider=FakeProvider(), state={"topic": "owls", "items": [1, 2]})
    assert len(result.state["t2"]) == 2 and len(result.state["t2"][0][0]) == 2


BUILDS: list[tuple[str, Callable[[Any], Any]]] = [
    ("Loop.step", lambda deep: Loop("outer").step(deep)),
    ("Pipeline.step", lambda deep: Pipeline("outer").step(deep)),
    ("FanOut.branch", lambda deep: FanOut("outer").branch(deep)),
    ("MapOver.step", lambda deep: MapOver("outer").over("items").step(deep)),
    ("times", lambda deep: deep * 2),
    ("then", lambda deep: Agent("first") >> Loop("outer").step(deep)),
    ("or", lambda deep: Loop("outer").step(deep) | Agent("other")),
]


@pytest.mark.parametrize("build", BUILDS, ids=[name for name, _ in BUILDS])
def test_one_level_more_is_refused_where_it_is_written(build: tuple[str, Any]) -> None:
    deep = nested("loop", MAX_DEPTH)
    with pytest.raises(PipelineError) as refused:
        build[1](deep)
    assert f"past {MAX_DEPTH} levels" in str(refused.value)
    assert "Flatten it" in str(refused.value)


def test_a_sequence_of_operators_does_not_nest() -> None:
    pipeline = LEAF
    for i in range(5 * MAX_DEPTH):
        pipeline = pipeline >> Agent(f"a{i}").instruct("{text}").writes("text")
    assert pipeline.to_ir().depth == 1


def test_ir_built_by_hand_is_refused_at_the_node_that_goes_past_the_limit() -> None:
    node: Any = AgentNode("a")
    for i in range(MAX_DEPTH):
        node = LoopNode(f"l{i}", (node,), max_iterations=1)
    with pytest.raises(PipelineError, match=f"SequenceNode 'top' takes .* past {MAX_DEPTH}"):
        SequenceNode("top", (node,))


def deep_json(depth: int) -> str:
    """IR JSON nesting ``depth`` sequences (written as text: json.dumps itself would recurse)."""
    head = "".join(f'{{"kind": "SequenceNode", "name": "s{i}", "children": [' for i in range(depth))
    leaf = '{"kind": "AgentNode", "name": "a", "instruction": "Hi."}'
    return f'{{"format": "irgraph-ir", "version": 1, "root": {head}{leaf}{"]}" * depth}}}'


@pytest.mark.parametrize("depth", [MAX_DEPTH + 1, 300, 5000])
def test_a_deep_json_file_is_refused_on_load(depth: int) -> None:
    text = deep_json(depth)
    with pytest.raises(PipelineError) as refused:
        from_json(text)
    assert f"past {MAX_DEPTH} levels" in str(refused.value) or "nested too deeply" in str(
        refused.value
    )
    from_json(deep_json(MAX_DEPTH))  # the limit itself loads


def test_a_tampered_saved_graph_is_refused_on_load() -> None:
    data = nx.node_link_data(to_graph(LEAF, inputs={"topic"}))
    tree: Any = data["graph"]["tree"]
    for i in range(MAX_DEPTH + 5):
        tree = {"kind": "sequence", "name": f"s{i}", "children": [tree]}
    data["graph"]["tree"] = tree
    with pytest.raises(PipelineError, match=f"past {MAX_DEPTH} levels"):
        from_graph(nx.node_link_graph(data))
