"""An outside trial of the analyses: a run's result given in place of its pipeline.

The runs here are made by hand from events with chosen times, so what the analyses measure
is exact and no assertion depends on how fast the machine is.
"""

from __future__ import annotations

import pytest

from irgraph import Agent, Loop, PipelineError, RunError, run_many, to_graph
from irgraph.analysis import critical_path, lineage, makespan, parallelizable
from irgraph.events import Event, RunResult
from irgraph.testing import FakeProvider

PIPELINE = (
    Agent("plan").instruct("Plan {topic}.").writes("plan")
    >> (Agent("a").instruct("A {plan}").writes("x") | Agent("b").instruct("B {plan}").writes("y"))
    >> Agent("w").instruct("W {x} {y}")
)
#: Each node's (start, end), in seconds: 'a' is slow, so the run waited for it.
TIMES = {"plan": (0.0, 1.0), "a": (1.0, 5.0), "b": (1.0, 2.0), "w": (5.0, 6.0)}


def _trace(times: dict[str, tuple[float, float]]) -> list[Event]:
    events = [Event(n, "start", s) for n, (s, _) in times.items()]
    events += [Event(n, "end", e) for n, (_, e) in times.items()]
    return sorted(events, key=lambda e: (e.time, e.event == "start"))


def _result(**options: object) -> RunResult:
    return RunResult({}, _trace(TIMES), backend="asyncio", graph=to_graph(PIPELINE), **options)  # type: ignore[arg-type]


def test_critical_path_of_a_run_is_costed_by_its_measured_durations() -> None:
    """critical_path(result) used to cost every node 1 s, whatever the run measured."""
    result = _result()
    found = critical_path(result)
    assert found == (["plan", "a", "w"], 6.0)
    assert found.path == result.timeline().critical  # the path its timeline outlines
    assert critical_path(result, 1.0) == (["plan", "a", "w"], 3.0)  # a latency given wins


def test_makespan_of_a_run_is_the_prediction_its_timeline_shows() -> None:
    result = _result()
    assert makespan(result) == 6.0 == result.timeline().predicted
    assert makespan(result, concurrency=1) == 1 + 4 + 1 + 1  # another limit, same run


def test_a_run_under_a_limit_is_predicted_under_that_limit() -> None:
    limited = _result(max_concurrency=1)
    assert makespan(limited) == 7.0 == limited.timeline().predicted
    found = parallelizable(limited)
    assert (found.control, found.dataflow) == (7.0, 7.0)


def test_a_failed_run_is_analysed_as_the_run_it_was() -> None:
    error = RunError("Node 'w' failed.", node="w")
    error.graph = to_graph(PIPELINE)
    error.trace = _trace({**TIMES, "w": (5.0, 5.5)})
    assert critical_path(error) == (["plan", "a", "w"], 5.5)


def test_a_loop_its_until_stopped_early_is_costed_by_the_iterations_it_ran() -> None:
    """A loop of max 5 that ran once was costed 5 times over, so the timeline outlined it as
    the critical path where the run waited for the slow step beside it."""
    loop = Loop("L").step(Agent("b").instruct("{k}").writes("k2")).max_iterations(5)
    beside = loop | Agent("slow").instruct("{k}").writes("z")
    G = to_graph(Agent("a").writes("k") >> beside >> Agent("c").instruct("{k2} {z}"))
    times = {"a": (0.0, 1.0), "slow": (1.0, 6.0), "c": (6.0, 7.0)}
    events = [*_trace(times), Event("L", "start", 1.0), Event("L", "end", 3.0)]
    events += [Event("b", "start", 1.0, (("L", 0),)), Event("b", "end", 3.0, (("L", 0),))]
    result = RunResult({}, sorted(events, key=lambda e: e.time), backend="asyncio", graph=G)
    assert critical_path(result) == (["a", "slow", "c"], 7.0)
    assert result.timeline().critical == ["a", "slow", "c"]
    assert critical_path(G, {"b": 2.0, "slow": 5.0}, run=result).length == 5.0
    assert critical_path(G, {"b": 2.0, "slow": 5.0}).length == 10.0  # 5 iterations of 2 s


def test_a_batch_item_is_refused_with_the_run_it_holds_named() -> None:
    item = next(iter(run_many(PIPELINE, [{"topic": "owls"}], provider=FakeProvider())))
    with pytest.raises(
        PipelineError,
        match=r"Pass the run it holds, item\.result, which critical_path\(\) analyses",
    ) as caught:
        critical_path(item)
    assert "item.result.graph" in str(caught.value)
    assert critical_path(item.result).path[0] == "plan"  # the run it holds is analysed


def test_a_run_without_its_graph_is_refused_naming_the_call_with_the_pipeline() -> None:
    """The hint said to pass result.graph, which such a run does not have."""
    bare = RunResult({}, _trace(TIMES), backend="custom")  # a backend that hands on no graph
    with pytest.raises(PipelineError, match="carries no pipeline graph") as caught:
        makespan(bare)
    assert "makespan(pipeline, latency, run=result)" in str(caught.value)
    assert "result.graph" not in str(caught.value)
    assert makespan(PIPELINE, 1.0, run=bare) == 3.0  # the call it names works
    with pytest.raises(PipelineError, match=r"lineage\(pipeline, key\)"):
        lineage(bare, "x")
