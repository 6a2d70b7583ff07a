"""An answer under ``multipleOf`` is checked in the decimals it is written in: jsonschema's
float division refused 19.99 as a multiple of 0.01 (``19.99 / 0.01`` is
``1998.9999999999998``), so a model's right answer failed the run, a route's branch for 0.3
under ``multipleOf: 0.1`` was refused as one that could never run, and the fake model made up
0.30000000000000004, which its own schema refused."""

from __future__ import annotations

import asyncio

import pytest

from irgraph import Agent, Route, RunError, run, to_graph, validate
from irgraph.testing import FakeProvider
from irgraph.testing.reference import interpret

CENTS = {"type": "number", "multipleOf": 0.01}


def _priced(reply: str) -> Agent:
    return Agent("price").instruct("Price {item}.").output(CENTS).writes("price")


@pytest.mark.parametrize("reply", ["19.99", "0.07", "600.03", "4.02", "20", "-0.59", "1e2"])
def test_a_decimal_multiple_of_a_decimal_step_is_accepted(reply):
    answers = FakeProvider(responses={"price": reply})
    done = run(_priced(reply), provider=answers, state={"item": "tea"})
    assert done.state["price"] == float(reply)
    reference = asyncio.run(
        interpret(_priced(reply).to_ir(), FakeProvider(responses={"price": reply}), {"item": "x"})
    )
    assert reference.state["price"] == float(reply)


@pytest.mark.parametrize("reply", ["19.995", "0.001", "1.5e-3"])
def test_a_number_off_the_step_is_still_refused(reply):
    with pytest.raises(RunError) as refused:
        run(_priced(reply), provider=FakeProvider(responses={"price": reply}), state={"item": "x"})
    assert "is not a multiple of 0.01" in str(refused.value)


def test_a_route_value_on_a_decimal_step_is_not_refused():
    step = {"type": "number", "multipleOf": 0.1, "minimum": 0, "maximum": 1}
    score = Agent("score").instruct("Score {item}.").output(step).writes("score")
    low, high = Agent("low").instruct("Low.").writes("o"), Agent("high").instruct("Hi.").writes("o")
    route = Route("r").on("score").when(0.3, low)
    assert validate(to_graph(score >> route.otherwise(high), inputs={"item"})) == []
    refused = Route("r").on("score").when(0.35, Agent("low").writes("o"))
    with pytest.raises(Exception, match="0.35 is not a multiple of 0.1"):
        validate(to_graph(score >> refused.otherwise(Agent("high").writes("o")), inputs={"item"}))


def test_the_fake_model_makes_up_the_decimal_multiple():
    step = {"type": "number", "multipleOf": 0.1, "minimum": 0.25}
    made = run(Agent("a").instruct("Go.").output(step).writes("v"), provider=FakeProvider())
    assert made.state["v"] == 0.3
