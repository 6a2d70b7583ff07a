"""A loop (or route, or map-over) reused under one name is told apart in the problems about
it by its graph id ('l' and 'l#2'), as agents are, where both problems said "Loop 'l'"."""

from __future__ import annotations

import pytest

from irgraph import Agent, Loop, PipelineError, Route, to_graph, validate


def problems(pipeline) -> list[str]:
    with pytest.raises(PipelineError) as info:
        validate(to_graph(pipeline))
    return [problem.message for problem in info.value.problems]


def test_two_unbounded_loops_of_one_name_are_named_by_their_ids():
    loop = Loop("l").step(Agent("a").instruct("Go."))
    assert problems(loop >> loop) == [
        "Loop 'l' has no max_iterations, so it could run forever.",
        "Loop 'l#2' has no max_iterations, so it could run forever.",
    ]


def test_two_empty_routes_of_one_name_are_named_by_their_ids():
    route = Route("r").on("k")
    said = problems(Agent("w").instruct("Go.").writes("k") >> route >> route)
    assert "Route 'r' has no branches." in said and "Route 'r#2' has no branches." in said
