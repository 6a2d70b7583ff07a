"""A member of a plain ``enum.Enum`` (the kind a pydantic model's field is typed with) is
compared as its value, as pydantic writes it in the JSON a structured answer holds:
``.when(Severity.HIGH, ...)`` is ``.when("high", ...)`` and ``.until("verdict",
equals=Verdict.APPROVED)`` stops on ``"approved"``; both refused it as no JSON value."""

from __future__ import annotations

import enum

import pytest

from irgraph import Agent, Loop, PipelineError, Route, run, to_graph, validate
from irgraph.testing import FakeProvider

pydantic = pytest.importorskip("pydantic")


class Severity(enum.Enum):
    LOW = "low"
    HIGH = "high"


class Verdict(enum.Enum):
    APPROVED = "approved"
    REJECTED = "rejected"


class Ticket(pydantic.BaseModel):
    severity: Severity
    summary: str


class Review(pydantic.BaseModel):
    verdict: Verdict


def test_a_route_compares_an_enum_member_as_its_value():
    classify = Agent("classify").instruct("Judge {ticket}.").output(Ticket).writes("t")
    route = (
        Route("by_severity")
        .on("t.severity")
        .when(Severity.HIGH, Agent("page").instruct("Page someone.").writes("paged"))
        .when(Severity.LOW, Agent("queue").instruct("Queue it.").writes("queued"))
    )
    assert route.to_ir().cases[0].value == "high"
    assert type(route.to_ir().cases[0].value) is str
    pipeline = classify >> route
    assert validate(to_graph(pipeline, inputs={"ticket"})) == []
    reply = '{"severity": "high", "summary": "Down."}'
    done = run(
        pipeline, provider=FakeProvider(responses={"classify": reply}), state={"ticket": "x"}
    )
    assert "paged" in done.state and "queued" not in done.state


def test_a_route_value_outside_the_enum_is_still_refused():
    classify = Agent("classify").instruct("Judge {ticket}.").output(Ticket).writes("t")
    other = enum.Enum("Other", {"URGENT": "urgent"})
    route = Route("r").on("t.severity").when(other.URGENT, Agent("page").writes("paged"))
    with pytest.raises(PipelineError, match='has a branch for "urgent"'):
        validate(to_graph(classify >> route.otherwise(Agent("q").writes("q")), inputs={"ticket"}))


def test_a_loop_stops_on_an_enum_member_as_on_its_value():
    review = Agent("review").instruct("Review.").output(Review).writes("review")
    loop = Loop("l").step(review).until("review.verdict", equals=Verdict.APPROVED)
    assert loop.max_iterations(3).to_ir().until_equals == ("approved",)
    answers = ['{"verdict": "rejected"}', '{"verdict": "approved"}', '{"verdict": "rejected"}']
    fake = FakeProvider(responses={"review": answers})
    run(loop.max_iterations(3), provider=fake)
    assert len(fake.calls) == 2


def test_an_enum_member_whose_value_is_no_json_scalar_is_refused():
    Pair = enum.Enum("Pair", {"AB": ("a", "b")})
    with pytest.raises(PipelineError, match="compares with a string, number, boolean or None"):
        Route("r").on("k").when(Pair.AB, Agent("a"))
