"""Pipelines with routes in every position, for the exporter and analysis tests.

:func:`triage` is the issue's example (a route on a structured ``category`` with an enum, two
branches writing different keys, a loop until ``verdict == "approved"``);
:func:`route_showcase` puts routes everywhere a picture could get them wrong;
:func:`spam_then_bugs` narrows a key by two routes with an otherwise each.
"""

from __future__ import annotations

from typing import Any

import networkx as nx

from irgraph import Agent, FanOut, Loop, MapOver, Route, Transform, to_graph
from irgraph.testing.strategies import make_list

__all__ = ["triage", "is_long", "route_showcase", "spam_then_bugs"]

CATEGORY = {"type": "string", "enum": ["bug", "feature", "question"]}


def triage() -> Any:
    """Classify a ticket, route on its category, then review the answer until approved."""
    classify = Agent("classify").instruct("Classify: {ticket}").writes("category")
    fix = Agent("fix").instruct("Fix: {ticket}").writes("patch") >> Agent("test").instruct(
        "Test {patch}."
    ).writes("answer")
    spec = Agent("spec").instruct("Specify: {ticket}").writes("answer")
    reply = Agent("reply").instruct("Answer: {ticket}").writes("answer")
    route = Route("triage").on("category").when("bug", fix).when("feature", spec).otherwise(reply)
    review = (
        Loop("review")
        .step(Agent("judge").instruct("Judge {answer}.").writes("verdict"))
        .max_iterations(3)
        .until("verdict", equals="approved")
    )
    return (
        classify.output(CATEGORY)
        >> route
        >> review
        >> Agent("send").instruct("Send {answer} {patch?}.")
    )


def is_long(state: Any) -> bool:
    """A route predicate (drawn, never run here)."""
    return len(str(state.get("text", ""))) > 100


def route_showcase() -> nx.DiGraph:
    """Routes in every position at once: a route in a loop, a loop and a map-over inside
    branches, a route nested in a branch, a predicate case, a branch that is a fan-out, keys
    written on branches and read after the route, hostile names and case values."""
    fix = Agent('fix "it"').instruct("Fix {ticket}.").writes("patch") >> Agent("test #1").instruct(
        "{patch}"
    ).writes("answer")
    polish = Loop("polish <b>").step(Agent("edit").instruct("{ticket}").writes("answer"))
    each = MapOver("each_").over("parts", item="part").step(Agent("p").instruct("{part}"))
    split = Transform("split", make_list).writes("parts") >> each.writes("answer")
    inner = Route("how & why").when(is_long, split).otherwise(polish.max_iterations(2))
    wide = FanOut("both").branch(Agent("l").writes("left")).branch(Agent("r").writes("right"))
    route = (
        Route('triage "#1"')
        .on("category")
        .when("bug", fix)
        .when('fe"ature %%', inner)
        .when(3, wide >> Agent("join").instruct("{left} {right}").writes("answer"))
        .otherwise(Agent("reply").instruct("{ticket}").writes("answer"))
    )
    first = Agent("classify").instruct("{ticket}").writes("category")
    body = first >> route >> Agent("judge").instruct("{answer}").writes("verdict")
    loop = Loop("review").step(body).max_iterations(3).until("verdict")
    return to_graph(loop >> Agent("send").instruct("{answer} {verdict}"), inputs={"ticket"})


def spam_then_bugs() -> Any:
    """'classify' writes 'kind' ("bug", "feature", "question" or "spam"); 'drop' takes "spam"
    to 'junk', which writes 'kind' again ("junk"); 'bugs' takes everything but "bug" (the
    junk too) to 'ask', which writes it again ("asked"): after them 'kind' is "bug" or
    "asked"."""
    kinds = {"type": "string", "enum": ["bug", "feature", "question", "spam"]}
    classify = Agent("classify").instruct("Classify {ticket}.").output(kinds).writes("kind")
    junk = Agent("junk").instruct("Junk.").output({"enum": ["junk"]}).writes("kind")
    ask = Agent("ask").instruct("Ask.").output({"enum": ["asked"]}).writes("kind")
    keep = Agent("keep").instruct("Keep.").writes("kept")
    drop = Route("drop").on("kind").when("spam", junk).otherwise(keep)
    fix = Agent("fix").instruct("Fix.").writes("out_fix")
    return classify >> drop >> Route("bugs").on("kind").when("bug", fix).otherwise(ask)
