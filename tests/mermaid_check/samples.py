"""Pipelines for drawing tests: the seed pipelines, hand-picked hostile names, and a
hypothesis strategy of pipelines whose node names are arbitrary text.

Drawing does not need a valid pipeline, so :func:`labelled_pipelines` composes every kind
freely (names repeat, map-overs read unbound lists); what it stresses is the labels.
"""

from __future__ import annotations

from functools import reduce
from typing import Any

from hypothesis import strategies as st

from irgraph import Agent, FanOut, Gate, Loop, MapOver, Pipeline, Transform
from irgraph.builder import Builder


def seed_pipelines() -> dict[str, Builder]:
    """The pipelines of the two seed pages (asyncio 69, prefect 75) and one with every kind."""
    research = (
        Agent("researcher").instruct("Research the topic.").writes("findings")
        >> Agent("analyst").instruct("Analyze the findings: {findings}.").writes("analysis")
        >> Agent("writer").instruct("Write report from {analysis}.")
    )
    search = Agent("web_search").instruct("Search the web.") | Agent("paper_search").instruct(
        "Search academic papers."
    )
    draft_loop = (
        Agent("writer").instruct("Write a draft.")
        >> Agent("critic").instruct("Critique the draft.")
    ) * 3
    refine = (
        Loop("refine")
        .step(Agent("writer").instruct("Write."))
        .step(Agent("critic").instruct("Critique."))
        .max_iterations(3)
    )
    two_steps = Agent("researcher").instruct("Research the topic.").writes("findings") >> Agent(
        "writer"
    ).instruct("Write based on {findings}.")
    every_kind = (
        Transform("split", "tests.support.pipelines:split_words").reads("topic").writes("papers")
        >> (
            MapOver("summaries")
            .over("papers", item="paper")
            .step(Agent("summarizer").instruct("Summarize {paper}.").writes("summary"))
            .writes("summaries")
            | Agent("planner").instruct("Plan a report on {topic}.").writes("plan")
        )
        >> Loop("revise")
        .step(Agent("writer").instruct("Draft from {plan} and {summaries}.").writes("draft"))
        .step(Agent("critic").instruct("Critique {draft}.").writes("verdict"))
        .max_iterations(3)
        .until("verdict")
        >> Gate("approve", "Publish {draft}?").writes("approved")
    )
    return {
        "seed75_research": research,
        "seed75_parallel": search,
        "seed75_loop": draft_loop,
        "seed69_two_steps": two_steps,
        "seed69_refine": refine,
        "every_kind": every_kind,
    }


HOSTILE_NAMES = (
    'say "hi"',
    "#1 #quot; #35;",
    "back\\slash \\N \\n",
    "two\nlines",
    "R&D &amp; <b>bold</b> <script>x</script>",
    "%%{init: {'theme': 'dark'}}%%",
    "`markdown` **not**",
    "style n1 fill:#f00;",
    "click n1 callback",
    "end",
    "subgraph",
    "A --> B -.-> C ==> D",
    "[box] {diamond} (round) |pipe| ;semi",
    "é ü ß 中文 😀 עברית",
    "\ufb02\u00b0\u00b035\u00b6\u00df",
    "tab\there, nbsp\u00a0here",
    "ctrl\x00\x1b\x7f",
)


def hostile_pipeline() -> Builder:
    """Every hostile name as an agent, a transform, a gate and a loop title."""
    agents = [Agent(name).instruct("x") for name in HOSTILE_NAMES]
    chain = reduce(lambda a, b: a >> b, agents[1:], agents[0])
    side = Transform(HOSTILE_NAMES[0] + " t", "tests.support.pipelines:split_words") | Gate(
        HOSTILE_NAMES[4] + " g"
    )
    return (
        Pipeline("all the names")
        .step(chain)
        .step(side)
        .step(Loop(HOSTILE_NAMES[5]).step(Agent(HOSTILE_NAMES[6])).max_iterations(2))
    )


names = st.text(max_size=10).filter(lambda s: bool(s.strip()))


def _leaf(name: str, kind: int) -> Builder:
    if kind == 0:
        return Agent(name).instruct("Go.")
    if kind == 1:
        return Transform(name, "tests.support.pipelines:split_words")
    return Gate(name)


def _scope(pair: tuple[Any, ...]) -> Builder:
    body, name, times, mapped = pair
    if mapped:
        return MapOver(name).over("items", item="item").step(body).writes("mapped")
    return Loop(name).step(body).max_iterations(times)


def labelled_pipelines(max_leaves: int = 8) -> st.SearchStrategy[Builder]:
    """Pipelines of agents, transforms and gates with arbitrary-text names, composed with
    ``>>``, ``|``, explicit ``Pipeline``/``FanOut`` builders (arbitrary names too), loops
    and map-overs."""
    leaves = st.builds(_leaf, names, st.integers(0, 2))

    def extend(children: st.SearchStrategy[Builder]) -> st.SearchStrategy[Builder]:
        several = st.lists(children, min_size=2, max_size=3)
        return st.one_of(
            several.map(lambda xs: reduce(lambda a, b: a >> b, xs)),
            several.map(lambda xs: reduce(lambda a, b: a | b, xs)),
            st.tuples(names, several).map(
                lambda t: reduce(lambda p, x: p.step(x), t[1], Pipeline(t[0]))
            ),
            st.tuples(names, several).map(
                lambda t: reduce(lambda f, x: f.branch(x), t[1], FanOut(t[0]))
            ),
            st.tuples(children, names, st.integers(1, 3), st.booleans()).map(_scope),
        )

    return st.recursive(leaves, extend, max_leaves=max_leaves)
