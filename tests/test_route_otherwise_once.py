"""A route has one otherwise branch: a second .otherwise() is refused, not a silent swap."""

from __future__ import annotations

import pytest

from irgraph import Agent, PipelineError, Route


def test_a_second_otherwise_is_refused_naming_the_first():
    route = Route("r").on("mode").otherwise(Agent("first").instruct("1").writes("x"))
    with pytest.raises(PipelineError, match="'r' already has an otherwise branch \\('first'\\)"):
        route.otherwise(Agent("second").instruct("2").writes("x"))


def test_one_otherwise_stays_last_wherever_written():
    route = Route("r").on("m").otherwise(Agent("b")).when("x", Agent("a"))
    assert [case.kind for case in route.to_ir().cases] == ["equals", "otherwise"]
