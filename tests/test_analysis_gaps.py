"""Analyses: a run's makespan without the run's limit (``concurrency=None`` given), and the
keys lineage carries from one loop iteration to the next."""

from __future__ import annotations

import pytest

from irgraph import Agent, Loop, MapOver, PipelineError, Route, run, to_graph
from irgraph.analysis import lineage, makespan, parallelizable
from irgraph.analysis_measured import RUNS_LIMIT
from irgraph.testing import FakeProvider

READING = (
    Agent("plan").instruct("Plan {topic}.").writes("plan")
    >> MapOver("each")
    .over("papers")
    .step(Agent("read").instruct("Read {item} for {plan}.").writes("note"))
    .writes("notes")
    >> Agent("report").instruct("Report on {notes}.")
)
TIMES = {"plan": 1.0, "read": 2.0, "report": 1.0}
STATE = {"topic": "owls", "papers": ["a", "b", "c"]}


@pytest.fixture(scope="module")
def limited():
    return run(READING, provider=FakeProvider(), state=STATE, max_concurrency=1)


def test_makespan_of_a_run_with_concurrency_none_given_is_the_run_without_its_limit(limited):
    assert makespan(limited, TIMES) == 1 + 3 * 2 + 1  # left out: the run's limit
    assert makespan(limited, TIMES, concurrency=RUNS_LIMIT) == 1 + 3 * 2 + 1
    assert makespan(limited, TIMES, concurrency=None) == 1 + 2 + 1
    assert makespan(limited, TIMES, concurrency=2) == 1 + 2 + 2 + 1
    # The run's own measured latencies are kept: only the limit is dropped.
    assert makespan(limited, concurrency=None) < makespan(limited)


def test_parallelizable_takes_no_limit_for_a_run_too(limited):
    assert parallelizable(limited, TIMES, concurrency=None).dataflow == 1 + 2 + 1
    assert parallelizable(limited, TIMES).dataflow == 1 + 3 * 2 + 1


def test_a_graph_left_without_concurrency_has_no_limit_as_before():
    assert makespan(READING, TIMES, state=STATE) == 1 + 2 + 1
    assert makespan(READING, TIMES, state=STATE, concurrency=None) == 1 + 2 + 1


@pytest.mark.parametrize("bad", [0, -1, 1.5, "2"])
def test_a_bad_concurrency_is_still_refused(limited, bad):
    with pytest.raises(PipelineError, match="concurrency argument of makespan"):
        makespan(limited, concurrency=bad)


CRITIC = Agent("critic").instruct("Critique {draft}.").writes("notes")
WRITER = Agent("writer").instruct("Improve {draft} with {notes}.").writes("draft")
FIRST = Agent("first").instruct("Draft {topic}.").writes("draft")


def test_lineage_lists_a_key_a_loop_carries_to_its_next_pass():
    G = to_graph(FIRST >> Loop("edit").step(CRITIC >> WRITER).max_iterations(3), inputs={"topic"})
    found = lineage(G, "draft")
    assert found.edges == [("first", "critic"), ("first", "writer")]
    assert found.carried == [("writer", "critic"), ("writer", "writer")]
    assert lineage(G, "notes").carried == []  # read after it is written, in the same pass


def test_a_loop_of_one_pass_carries_nothing():
    G = to_graph(FIRST >> Loop("edit").step(CRITIC >> WRITER).max_iterations(1), inputs={"topic"})
    assert lineage(G, "draft").carried == []


def test_a_map_over_in_a_loop_iterating_a_key_written_later_is_carried():
    each = MapOver("each").over("topics").step(Agent("r").instruct("{item}").writes("n"))
    plan = Agent("plan").instruct("Plan from {notes?}").writes("topics")
    looped = Loop("l").step(each.writes("notes") >> plan).max_iterations(2)
    G = to_graph(Agent("start").writes("topics") >> looped)
    assert lineage(G, "topics").carried == [("plan", "each")]
    assert lineage(G, "notes").carried == []  # the map-over's list, read after it


def test_an_outer_loop_carries_a_key_into_an_inner_loop():
    inner = Loop("inner").step(Agent("b").instruct("{d?}").writes("e")).max_iterations(2)
    G = to_graph(Loop("outer").step(inner >> Agent("c").writes("d")).max_iterations(2))
    assert lineage(G, "d").carried == [("c", "b")]


def test_a_branch_writer_carries_to_the_other_branch_of_the_next_pass():
    r = Route("r").on("v").when("a", Agent("x").writes("d")).otherwise(Agent("y").instruct("{d?}"))
    body = Agent("rd").instruct("{d?}") >> r
    G = to_graph(Agent("w").writes("v") >> Loop("l").step(body).max_iterations(3))
    found = lineage(G, "d")
    assert found.edges == [] and found.carried == [("x", "rd"), ("x", "y")]
