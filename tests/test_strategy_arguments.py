"""The pipeline strategies refuse arguments they would otherwise misread, naming them."""

from __future__ import annotations

import pytest
from hypothesis.errors import InvalidArgument

from irgraph.errors import IrgraphError
from irgraph.testing import strategies as S


@pytest.mark.parametrize(
    ("options", "says"),
    [
        ({"inputs": "topic"}, "inputs must be a collection of names"),
        ({"list_inputs": "papers"}, "list_inputs must be a collection of names"),
        ({"kinds": "agent"}, "kinds must be a collection of names, e.g. kinds=['agent'"),
        ({"inputs": 5}, "inputs must be a collection of names"),
        ({"max_width": 1}, "max_width must be a whole number of at least 2"),
        ({"max_width": 0}, "max_width must be a whole number of at least 2"),
        ({"max_depth": True}, "max_depth must be a whole number of at least 0"),
        ({"with_loops": "no"}, "with_loops must be True or False"),
        ({"with_map_over": None}, "with_map_over must be True or False"),
        ({"with_structured_outputs": "x"}, "with_structured_outputs must be True or False"),
        ({"kinds": ["agents"]}, "Unknown kinds 'agents'. Did you mean 'agent'?"),
    ],
)
def test_a_misread_argument_is_refused(options, says):
    with pytest.raises(InvalidArgument, match=says.replace("[", r"\[").replace("?", r"\?")):
        S.pipelines(**options)


def test_pipelines_with_inputs_says_it_draws_the_inputs_itself():
    with pytest.raises(InvalidArgument, match="draws the inputs itself"):
        S.pipelines_with_inputs(inputs=["topic"]).example()


def test_pipelines_with_inputs_names_itself_for_a_misspelt_option_when_called():
    """Not at the first draw, inside hypothesis, as 'pipelines() got the option'."""
    with pytest.raises(IrgraphError) as refused:
        S.pipelines_with_inputs(with_loop=False)
    told = str(refused.value)
    assert told.startswith("pipelines_with_inputs() got the option 'with_loop'")
    assert "Did you mean 'with_loops'" in told and "inputs" not in told.split("options:")[1]
    with pytest.raises(InvalidArgument, match="Unknown kinds 'agents'"):
        S.pipelines_with_inputs(kinds=["agents"])


@pytest.mark.parametrize(
    ("kinds", "says"),
    [
        (["unbound"], "Unknown kinds 'unbound'. Did you mean 'unbound_read'? Choose from"),
        ("unbound_read", "kinds must be a collection of names, e.g. kinds=['empty_composite'"),
        ([], "kinds must name one mistake or more of"),
    ],
)
def test_a_misread_mistake_kind_is_refused_by_name(kinds, says):
    with pytest.raises(InvalidArgument, match=says.replace("[", r"\[").replace("?", r"\?")):
        S.invalid_pipelines(kinds=kinds)
