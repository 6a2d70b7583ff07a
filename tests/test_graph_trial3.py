"""Findings of the third outside trial of the graph layer: saved graphs edited by hand, graphs
of other networkx classes, renamed and GraphML graphs, and the diff's truth value."""

from __future__ import annotations

from irgraph import Agent, to_graph
from irgraph.analysis import diff

PIPELINE = (
    Agent("a").instruct("A {topic}").writes("x")
    >> Agent("b").instruct("B {x}").writes("y")
    >> Agent("c").instruct("C {y}")
)


def test_a_diff_without_differences_is_false_and_one_with_them_true():
    same = diff(Agent("a").instruct("x"), Agent("a").instruct("x"))
    assert same.empty and not same
    changed = diff(Agent("a").instruct("x"), Agent("a").instruct("y"))
    assert not changed.empty and changed
    assert not diff(to_graph(PIPELINE), to_graph(PIPELINE))
