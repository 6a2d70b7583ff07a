"""A RunError's trace is the run's events so far, a list of Events like RunResult.trace."""

from __future__ import annotations

import pytest

from irgraph import Agent, RunError, run
from irgraph.events import Event
from irgraph.testing import FakeProvider


def test_a_failed_runs_trace_lists_its_events_in_order():
    pipeline = Agent("a").instruct("a").writes("x") >> Agent("b").instruct("{x}")
    with pytest.raises(RunError) as info:
        run(pipeline, provider=FakeProvider(fail={"b": 1}), state={})
    trace = info.value.trace
    assert all(isinstance(event, Event) for event in trace)
    assert [(e.node, e.event) for e in trace] == [("a", "start"), ("a", "end"), ("b", "start")]
    assert trace[0].time <= trace[-1].time
