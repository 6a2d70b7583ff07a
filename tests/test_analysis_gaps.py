"""Analyses: a run's makespan without the run's limit (``concurrency=None`` given), and the
keys lineage carries from one loop iteration to the next."""

from __future__ import annotations

import pytest

from irgraph import Agent, MapOver, PipelineError, run
from irgraph.analysis import makespan, parallelizable
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
