"""Small defects an outside trial found in what a user reads: a hint listing ways to fix a
route's misspelt key with no "or" before the last way, ..."""

from __future__ import annotations

import pytest

from irgraph import Agent, PipelineError, Route, to_graph, validate


def test_a_misspelt_route_key_lists_its_fixes_with_or_before_the_last():
    classify = Agent("c").instruct("Classify.").writes("category")
    route = Route("r").on("categroy").when("bug", Agent("b").instruct("Fix."))
    with pytest.raises(PipelineError) as caught:
        validate(to_graph(classify >> route))
    message = str(caught.value)
    assert "'r' compares 'categroy'" in message
    assert "on an earlier step, or declare it as an input (" in message
    assert message.rstrip().endswith("state={'categroy': ...}))."), message
