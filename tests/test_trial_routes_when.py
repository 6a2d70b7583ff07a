"""An outside trial of route cases: ``.when()`` of an infinity is refused with a predicate
that tests for that infinity on the route's own key, where the hint offered ``math.isnan`` on
a key ``'n'`` for every value that is no finite number (an infinity is no NaN)."""

from __future__ import annotations

import math

import pytest

from irgraph import Agent, PipelineError, Route

FIX = Agent("fix").instruct("Fix it.").writes("patch")


@pytest.mark.parametrize(
    ("route", "value", "test"),
    [
        (Route("r").on("score"), math.inf, "state['score'] == math.inf"),
        (Route("r").on("score"), -math.inf, "state['score'] == -math.inf"),
        (Route("r").on("score"), math.nan, "math.isnan(state['score'])"),
        (Route("r").on("verdict.score"), math.inf, "state['verdict']['score'] == math.inf"),
        (Route("r"), -math.inf, "state['n'] == -math.inf"),
    ],
)
def test_a_value_that_is_no_json_number_is_refused_with_the_predicate_that_tests_for_it(
    route: Route, value: float, test: str
) -> None:
    with pytest.raises(PipelineError) as caught:
        route.when(value, FIX)
    assert f".when(lambda state: {test}, branch)" in str(caught.value)
    assert caught.value.node == "r"
