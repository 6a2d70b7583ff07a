"""Small defects an outside trial found in what a user reads: a hint listing ways to fix a
route's misspelt key with no "or" before the last way; a gate with no message, which asks
whoever answers it nothing, passed without a word."""

from __future__ import annotations

import pytest

from irgraph import Agent, Gate, PipelineError, Route, to_graph, validate


def test_a_misspelt_route_key_lists_its_fixes_with_or_before_the_last():
    classify = Agent("c").instruct("Classify.").writes("category")
    route = Route("r").on("categroy").when("bug", Agent("b").instruct("Fix."))
    with pytest.raises(PipelineError) as caught:
        validate(to_graph(classify >> route))
    message = str(caught.value)
    assert "'r' compares 'categroy'" in message
    assert "on an earlier step, or declare it as an input (" in message
    assert message.rstrip().endswith("state={'categroy': ...}))."), message


def test_a_gate_with_no_message_is_warned_of_naming_it_and_the_method():
    writer = Agent("w").instruct("Draft.").writes("draft")
    said = validate(to_graph(writer >> Gate("approve").writes("ok")))
    assert len(said) == 1 and "Gate 'approve' has no message" in said[0], said
    assert ".message(" in said[0]
    blank = validate(to_graph(writer >> Gate("approve", "  ")))
    assert blank and "Gate 'approve' has no message" in blank[0]
    assert validate(to_graph(writer >> Gate("approve", "Ship {draft}?"))) == []
