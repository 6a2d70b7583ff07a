"""A RunError's trace is the run's events so far, a list of Events like RunResult.trace."""

from __future__ import annotations

import pytest

from irgraph import Agent, Loop, MapOver, RunError, run
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


def _breaks_on_three(request):
    if request.prompt == "3":
        raise RuntimeError("item broke")
    return "ok"


def test_a_failure_inside_a_map_over_or_loop_says_which_item_and_iteration():
    each = MapOver("m").over("items").step(Agent("w").instruct("{item}").writes("y")).writes("ys")
    looped = Loop("L").step(each).max_iterations(2)
    fake = FakeProvider(responses={"w": _breaks_on_three})
    with pytest.raises(RunError) as info:
        run(looped, provider=fake, state={"items": [1, 2, 3, 4]})
    assert info.value.node == "w" and info.value.path == (("L", 0), ("m", 2))
    assert str(info.value).startswith("Node 'w' failed at L[0] > m[2]: RuntimeError: item broke")


def test_a_top_level_failure_has_no_path():
    with pytest.raises(RunError) as info:
        run(Agent("a").instruct("a"), provider=FakeProvider(fail={"a": 1}), state={})
    assert info.value.path == () and str(info.value).startswith("Node 'a' failed: ")
