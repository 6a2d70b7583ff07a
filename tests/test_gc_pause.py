"""The gc pause around graph building: the gc is back on after, errors included, and a
program that turned it off keeps it off; the builder's fast IR path gives the nodes the
class itself would build."""

from __future__ import annotations

import gc

import attrs
import pytest

from irgraph import Agent, Pipeline, PipelineError, to_graph
from irgraph.gc_pause import gc_paused
from irgraph.ir import AgentNode


def test_the_gc_is_off_inside_and_on_after() -> None:
    seen: list[bool] = []
    gc_paused(lambda: seen.append(gc.isenabled()))()
    assert seen == [False]
    assert gc.isenabled()


def test_the_gc_is_back_on_after_an_error() -> None:
    with pytest.raises(PipelineError):
        to_graph("not a pipeline")
    assert gc.isenabled()


def test_a_program_that_turned_the_gc_off_keeps_it_off() -> None:
    gc.disable()
    try:
        to_graph(Agent("a").instruct("Go.") >> Agent("b"))
        Pipeline("p").step(Agent("a")).to_ir()
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_nested_pauses_turn_the_gc_on_once_at_the_end() -> None:
    inner = gc_paused(gc.isenabled)
    outer = gc_paused(lambda: (inner(), gc.isenabled()))
    assert outer() == (False, False)
    assert gc.isenabled()


def everything(agent: Agent) -> Agent:
    return (
        agent.instruct("Write {topic} and {notes?}.")
        .writes("draft")
        .model("m")
        .describe("d")
        .timeout(2)
        .system("s")
        .settings(temperature=0.5, stop=["x"])
        .output({"type": "object"}, retries=2)
        .inputs("topic")
    )


@pytest.mark.parametrize("make", [lambda: Agent("a"), lambda: everything(Agent("a", id="pin"))])
def test_an_agents_ir_equals_the_node_the_class_checks_and_builds(make: object) -> None:
    node = make()  # type: ignore[operator]
    ir = node.to_ir()
    rebuilt = AgentNode(**{f.name: getattr(ir, f.name) for f in attrs.fields(AgentNode) if f.init})
    assert ir == rebuilt and hash(ir) == hash(rebuilt)
    for field in attrs.fields(AgentNode):
        assert type(getattr(ir, field.name)) is type(getattr(rebuilt, field.name)), field.name
    assert (ir.reads, ir.optional_reads) == (rebuilt.reads, rebuilt.optional_reads)
