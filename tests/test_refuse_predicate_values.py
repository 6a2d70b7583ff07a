"""A route's or loop's predicate must answer True or False (issue #17): text, None, a number or
a list is refused at run time, at the route or loop, naming the predicate, the value and its
type, where it counted as true (``lambda s: s["verdict"]`` answering ``"no"`` took the
branch). The reference interpreter refuses it too, at the same node."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import pytest

from irgraph import Agent, Loop, Route, RunError, run
from irgraph.testing import FakeProvider
from irgraph.testing.reference import ReferenceFailure, interpret

STATE = {"verdict": "no", "score": 0}


def verdict(state: Any) -> Any:
    return state["verdict"]


def approved(state: Any) -> bool:
    return bool(state["verdict"] == "yes")


def route(predicate: Any) -> Route:
    return (
        Route("triage")
        .when(predicate, Agent("fixer").instruct("Fix.").writes("patch"))
        .otherwise(Agent("replier").instruct("Reply.").writes("reply"))
    )


def test_a_route_predicate_answering_text_fails_the_run_where_it_took_the_branch():
    fake = FakeProvider()
    with pytest.raises(RunError) as info:
        run(route(verdict), provider=fake, state=STATE)
    message = str(info.value)
    assert message.startswith(
        "Node 'triage' failed: TypeError: its predicate 'verdict' returned 'no' (a str), not "
        "True or False; a route takes a branch only when its predicate returns True. Return a "
        "bool: compare the value, e.g. lambda state: state['verdict'] == 'yes'"
    )
    assert info.value.node == "triage"
    assert isinstance(info.value.__cause__, TypeError)
    assert fake.calls == []  # neither branch ran


@pytest.mark.parametrize(
    ("answer", "kind", "example"),
    [
        (None, "NoneType", "state.get('verdict') is not None"),
        (1, "int", "state['score'] > 0"),
        (0.0, "float", "state['score'] > 0"),
        (["a"], "list", "len(state['items']) > 0"),
    ],
)
def test_every_answer_that_is_no_bool_is_refused_with_its_type(answer, kind, example):
    with pytest.raises(RunError, match=re.escape(f"returned {answer!r} (a {kind}), not True")):
        run(route(lambda state: answer), provider=FakeProvider(), state=STATE)
    with pytest.raises(RunError, match=re.escape(f"e.g. lambda state: {example}")):
        run(route(lambda state: answer), provider=FakeProvider(), state=STATE)


def test_an_async_predicate_answering_text_is_refused_too():
    async def pick(state: Any) -> Any:
        return state["verdict"]

    with pytest.raises(RunError, match=r"its predicate 'pick' returned 'no' \(a str\)"):
        run(route(pick), provider=FakeProvider(), state=STATE)


def test_a_loop_until_predicate_answering_text_fails_at_the_loop():
    review = Loop("review").step(Agent("critic").writes("notes")).until(verdict).max_iterations(3)
    fake = FakeProvider()
    with pytest.raises(RunError) as info:
        run(review, provider=fake, state=STATE)
    assert str(info.value).startswith(
        "Node 'review' failed: TypeError: its until predicate 'verdict' returned 'no' (a str), "
        "not True or False; a loop stops only when its until predicate returns True."
    )
    assert [call.agent for call in fake.calls] == ["critic"]  # refused after the first round


def test_bool_answers_still_route_and_stop():
    fake = FakeProvider()
    assert "patch" in run(route(lambda s: True), provider=fake, state=STATE).state
    assert "reply" in run(route(approved), provider=fake, state=STATE).state
    review = Loop("review").step(Agent("critic").writes("notes")).until(lambda s: True)
    run(review.max_iterations(3), provider=fake, state=STATE)
    assert [call.agent for call in fake.calls] == ["fixer", "replier", "critic"]


def test_the_reference_interpreter_refuses_the_same_answers_at_the_same_nodes():
    loop = Loop("review").step(Agent("critic").writes("notes")).until(verdict).max_iterations(2)
    for pipeline, node in ((route(verdict), "triage"), (loop, "review")):
        with pytest.raises(ReferenceFailure) as info:
            asyncio.run(interpret(pipeline.to_ir(), FakeProvider(), dict(STATE)))
        assert info.value.node == node
        assert "'no'" in str(info.value)
