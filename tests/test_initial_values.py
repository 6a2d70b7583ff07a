"""A run whose initial state gives a map-over something other than a list to iterate is refused
before any node runs, naming the map-over and the key, on every backend's way in; a list, a
tuple, or a key a step writes before the map-over, is left alone."""

from __future__ import annotations

import io

import pytest

from irgraph import Agent, Loop, MapOver, PipelineError, Route, RunError, Transform, run
from irgraph.cli import main
from irgraph.testing import FakeProvider

EACH = MapOver("each").over("papers").step(Agent("read").instruct("Read {item}.").writes("note"))
PIPELINE = Agent("plan").instruct("Plan {topic}.").writes("plan") >> EACH.writes("notes")


@pytest.mark.parametrize("value", ["a, b", None, 3, {"a": 1}])
def test_a_map_over_of_an_initial_value_that_is_no_list_is_refused_before_any_call(
    value: object,
) -> None:
    provider = FakeProvider()
    with pytest.raises(PipelineError) as refused:
        run(PIPELINE, provider=provider, state={"topic": "owls", "papers": value})
    error = refused.value
    assert (error.node, error.key) == ("each", "papers")
    assert "not a list" in str(error) and "state={'papers': ['a', 'b']}" in str(error)
    assert provider.calls == []


def test_every_problem_of_the_initial_state_is_listed_at_once() -> None:
    with pytest.raises(PipelineError) as refused:
        run(PIPELINE, provider=FakeProvider(), state={"topic": None, "papers": "a"})
    assert [(p.node, p.key) for p in refused.value.problems] == [
        ("plan", "topic"),
        ("each", "papers"),
    ]


def test_a_list_or_a_tuple_runs() -> None:
    for papers in (["a", "b"], ("a", "b")):
        result = run(PIPELINE, provider=FakeProvider(), state={"topic": "o", "papers": papers})
        assert len(result.state["notes"]) == 2


def test_a_key_written_before_the_map_over_may_start_as_text() -> None:
    split = Transform("split", str.split).reads("papers").writes("papers")
    result = run(split >> EACH.writes("notes"), provider=FakeProvider(), state={"papers": "a b"})
    assert len(result.state["notes"]) == 2


def test_an_inner_map_over_of_the_outer_item_is_not_the_initial_value() -> None:
    outer = MapOver("outer").over("shelves").step(EACH.over("item").writes("notes"))
    result = run(outer.writes("all"), provider=FakeProvider(), state={"shelves": [["a"], ["b"]]})
    assert len(result.state["all"]) == 2


def test_a_loop_whose_body_writes_the_list_later_still_starts_with_the_initial_value() -> None:
    again = Transform("again", lambda notes: notes).reads("notes").writes("papers")
    loop = Loop("twice").step(EACH.writes("notes") >> again).max_iterations(2)
    with pytest.raises(PipelineError, match="MapOver 'each' iterates over 'papers'"):
        run(loop, provider=FakeProvider(), state={"papers": "a"})


def test_the_command_line_says_so_without_running(capsys: pytest.CaptureFixture[str]) -> None:
    out = io.StringIO()
    code = main(["run", "tests.test_initial_values:PIPELINE", "--state", "topic=owls",
                 "--state", "papers=a"], out=out)  # fmt: skip
    err = capsys.readouterr().err  # the command line's mistake: exit 2, as for a route's value
    assert code == 2 and err.startswith("irgraph: error: MapOver 'each' iterates over 'papers'")
    assert "--state-json" in err and "started" not in out.getvalue()


def test_irgraph_check_refuses_the_values_run_would_refuse(capsys: pytest.CaptureFixture[str]):
    """check --state declared the keys and said 'OK: no problems found.' for values that run
    refuses before any node."""
    target = "tests.test_initial_values:PIPELINE"
    code = main(
        ["check", target, "--state", "topic=owls", "--state", "papers=a"], out=io.StringIO()
    )
    assert code == 1 and "MapOver 'each' iterates over 'papers'" in capsys.readouterr().err
    code = main(
        ["check", target, "--input", "papers", "--state-json", '{"topic": null}'], out=io.StringIO()
    )
    assert code == 1 and "holds None for 'topic'" in capsys.readouterr().err
    out = io.StringIO()
    code = main(["check", target, "--state-json", '{"topic": "owls", "papers": ["a"]}'], out=out)
    assert code == 0 and "OK: no problems found." in out.getvalue()


def _routed(value: object) -> object:
    high = Agent("high").instruct("High {t}.").writes("o")
    return Route("r").on("priority").when(value, high).otherwise(Agent("low").writes("o"))


@pytest.mark.parametrize(
    ("case", "given", "said"),
    [
        (1, "1", "the initial state's 'priority' is \"1\", which never equals its branch for 1"),
        ("1", 1, "the initial state's 'priority' is 1, which never equals its branch for \"1\""),
        ("true", True, 'is true, which never equals its branch for "true"'),
        (None, "null", 'is "null", which never equals its branch for null'),
    ],
)
def test_a_route_value_spelt_the_other_way_in_the_initial_state_is_refused(case, given, said):
    """run(route.when(1, ...), state={'priority': '1'}) silently took the otherwise branch:
    a route compares JSON values, and the text "1" never equals 1."""
    provider = FakeProvider()
    with pytest.raises(PipelineError) as refused:
        run(_routed(case), provider=provider, state={"priority": given, "t": "x"})
    error = refused.value
    assert (error.node, error.key) == ("r", "priority") and provider.calls == []
    assert said in str(error) and "so the run takes its otherwise branch" in str(error)
    assert f"compare with .when({given!r}, ...)" in str(error)


@pytest.mark.parametrize(
    ("case", "given", "branch"),
    [(1, 1.0, "high"), (1, "high", "low"), ("1", "1", "high"), (True, 1, "low")],
)
def test_a_route_value_the_route_compares_as_it_is_runs(case, given, branch):
    done = run(_routed(case), provider=FakeProvider(), state={"priority": given, "t": "x"})
    assert done.state["o"].startswith(f"<{branch}:")


def _strict(case: object) -> object:
    return Route("r").on("priority").when(case, Agent("high").instruct("High {t}.").writes("o"))


@pytest.mark.parametrize(
    ("given", "fix"),
    [(2, "add .when(2, step) for it"), ([1], "look inside it with a predicate")],
)
def test_a_route_value_no_case_takes_is_refused_before_the_steps_before_it_are_paid(given, fix):
    """With no otherwise, run(..., state={'priority': 2}) against .when(1, ...) paid for
    'plan' and then failed at the route; a list (which no case can equal) was told to add
    .when([1], step), which .when refuses."""
    plan = Agent("plan").instruct("Plan {t}.").writes("plan")
    for pipeline in (plan >> _strict(1), Loop("L").step(plan >> _strict(1)).max_iterations(2)):
        provider = FakeProvider()
        with pytest.raises(PipelineError) as refused:
            run(pipeline, provider=provider, state={"priority": given, "t": "x"})
        assert (refused.value.node, refused.value.key) == ("r", "priority")
        assert provider.calls == []
        assert "none of its branches (1) takes, and it has no otherwise" in str(refused.value)
        assert fix in str(refused.value)


def test_a_route_no_run_may_reach_is_not_refused_for_its_value() -> None:
    """In another route's branch or a map-over's body the route may never run: the value is
    left to it, and the run tells it there when it does."""
    inner = _strict(1)
    outer = Route("mode").on("mode").when("a", inner).otherwise(Agent("z").writes("o"))
    done = run(outer, provider=FakeProvider(), state={"mode": "b", "priority": 2, "t": "x"})
    assert done.state["o"] == "<z: >"
    each = MapOver("each").over("xs").step(inner).writes("os")
    assert run(each, provider=FakeProvider(), state={"xs": [], "priority": 2, "t": "x"})
    with pytest.raises(RunError, match="a list or an object never equals: look inside it"):
        run(outer, provider=FakeProvider(), state={"mode": "a", "priority": [1], "t": "x"})
