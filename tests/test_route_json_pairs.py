"""A route read from IR JSON is told of what is wrong with it, not of a branch count that
only looks wrong because a field beside it was refused: its branches and their cases go in
pairs, so they are checked together. A bad case was told with "Route 'r' has 0 case(s) for
1 branch(es)" before it; a case missing was told twice, with two counts that were both
wrong; a misspelt ``on`` came with a count that was right."""

from __future__ import annotations

import json
from typing import Any

import pytest

from irgraph import PipelineError
from irgraph.ir import from_json


def _read(children: int, cases: list[Any], on: Any = "topic") -> list[str]:
    kids = [{"kind": "AgentNode", "name": f"b{i}", "instruction": "Hi."} for i in range(children)]
    root = {"kind": "RouteNode", "name": "r", "on": on, "children": kids, "cases": cases}
    with pytest.raises(PipelineError) as caught:
        from_json(json.dumps({"format": "irgraph-ir", "version": 1, "root": root}))
    return [problem.message for problem in caught.value.problems]


def test_a_bad_case_is_told_alone():
    (message,) = _read(1, [{"equals": "x", "label": "y"}])
    assert message.startswith("Invalid IR JSON at root.cases[0]: a route case must be one of")


def test_a_missing_case_is_told_once_with_the_right_counts():
    (message,) = _read(2, [{"otherwise": True}])
    assert "Route 'r' has 1 case(s) for 2 branch(es); each branch needs its case." in message


def test_a_bad_on_is_told_without_a_count():
    (message,) = _read(1, [{"otherwise": True}], on="topic..x")
    assert "The on of RouteNode 'r' must be a state key" in message


def test_values_with_no_key_are_told_as_such():
    (message,) = _read(1, [{"equals": 1}], on=None)
    assert "Route 'r' compares values but names no key to compare" in message
