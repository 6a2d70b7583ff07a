"""Analyses of pipelines with routes: the longest branch for timing (and saying so), branches
never offered as parallel, every branch's writer in a lineage, one change for one case."""

from __future__ import annotations

import copy
import pickle

import pytest

from irgraph import Agent, Loop, PipelineError, Route, to_graph
from irgraph.analysis import (
    critical_path,
    dataflow_dependencies,
    diff,
    lineage,
    makespan,
    match_nodes,
    parallelizable,
)
from tests.support.route_samples import route_showcase, triage


def _routed(first: str = "bug") -> Route:
    slow = Agent("fix").instruct("{ticket}").writes("patch") >> Agent("test").instruct(
        "{patch}"
    ).writes("answer")
    return (
        Route("triage")
        .on("category")
        .when(first, slow)
        .when("feature", Agent("spec").instruct("{ticket}").writes("answer"))
        .otherwise(Agent("reply").instruct("{ticket}").writes("answer"))
    )


def _graph(route: Route) -> object:
    classify = Agent("classify").instruct("{ticket}").writes("category")
    return to_graph(classify >> route >> Agent("send").instruct("{answer}"), inputs={"ticket"})


def test_the_critical_path_takes_the_longest_branch_and_says_which():
    G = _graph(_routed())
    found = critical_path(G, 1.0)
    assert found == (["classify", "triage", "fix", "test", "send"], 4.0)
    assert found.branches == {"triage": '"bug"'}
    assert (found.path, found.length) == (found[0], found[1])
    slow_reply = critical_path(G, {"classify": 1, "reply": 9, "send": 1})
    assert slow_reply == (["classify", "triage", "reply", "send"], 11.0)
    assert slow_reply.branches == {"triage": "otherwise"}
    for again in (copy.deepcopy(found), pickle.loads(pickle.dumps(found))):
        assert (again, again.branches) == (found, found.branches)


def test_nested_routes_and_routes_in_loops_report_each_branch_taken():
    found = critical_path(route_showcase(), 1.0)
    assert found.path[:3] == ["review", "classify", 'triage "#1"']
    assert found.branches == {'triage "#1"': '"bug"'}
    latency = {"split": 5, "p": 1}
    deep = critical_path(route_showcase(), latency)
    assert deep.branches == {'triage "#1"': '"fe\\"ature %%"', "how & why": "is_long"}
    assert deep.length == 6.0 * 3  # the loop around it runs three times


def test_makespan_counts_a_route_as_its_longest_branch():
    G = _graph(_routed())
    assert makespan(G, 1.0) == 4.0  # classify, the two-step branch, send
    assert makespan(G, 1.0, concurrency=1) == 4.0  # branches never add up
    assert makespan(G, {"classify": 1, "spec": 7, "send": 1}) == 9.0


def test_branches_of_a_route_are_never_offered_as_parallel():
    G = _graph(_routed())
    named = {(s.node, s.after) for s in parallelizable(G, 1.0)}
    branch_nodes = {"fix", "test", "spec", "reply"}
    assert not {n for pair in named for n in pair} & branch_nodes
    deps = dataflow_dependencies(G, "triage")
    assert deps == {"fix": [], "test": ["fix"], "spec": [], "reply": []}
    # a write after a write of "answer" on another branch is no dependency: one branch runs


def test_lineage_shows_every_branchs_writer_and_not_the_route():
    found = lineage(triage(), "answer")
    assert found.writers == ["test", "spec", "reply"]
    assert found.branches == {
        "test": ("triage", '"bug"'),
        "spec": ("triage", '"feature"'),
        "reply": ("triage", "otherwise"),
    }
    assert {u for u, _ in found.edges} == {"test", "spec", "reply"}
    assert lineage(triage(), "verdict").branches == {}


def test_a_changed_case_value_is_one_change_of_the_route():
    old, new = _graph(_routed("bug")), _graph(_routed("defect"))
    change = diff(old, new)
    assert change.changed == {"triage": ["cases"]}
    assert not (change.added or change.removed or change.edges_added or change.edges_removed)
    assert match_nodes(old, new) == {n: n for n in old}


def test_routes_pair_by_structure_when_a_node_is_inserted_before_them():
    old = _graph(_routed())
    new = to_graph(
        Agent("first").instruct("Go.")
        >> Agent("classify").instruct("{ticket}").writes("category")
        >> _routed()
        >> Agent("send").instruct("{answer}"),
        inputs={"ticket"},
    )
    change = diff(old, new)
    assert (change.added, change.removed, change.changed) == (["first"], [], {})


def test_a_route_inside_a_loop_keeps_its_depth_in_the_diff():
    inner = to_graph(Loop("again").step(_routed()).max_iterations(2))
    top = to_graph(_routed())
    change = diff(top, inner)
    assert "again" in change.added
    assert set(match_nodes(top, inner)) <= set(top)


def test_branches_names_a_case_by_its_value_label_or_index_as_the_guide_writes_it():
    G = _graph(_routed())
    times = {"classify": 1.0, "fix": 5.0, "test": 5.0, "spec": 2.0, "reply": 1.0, "send": 1.0}
    by_value = makespan(G, times, branches={"triage": "feature"})
    assert by_value == makespan(G, times, branches={"triage": '"feature"'}) == 4.0
    assert makespan(G, times, branches={"triage": 1}) == by_value
    assert makespan(G, times, branches={"triage": "bug"}) == 12.0
    with pytest.raises(PipelineError, match="its value or its index"):
        makespan(G, times, branches={"triage": "feature request"})


def test_state_picks_the_branch_of_a_route_on_an_initial_key_or_its_field():
    for on, state in (
        ("category", {"category": "feature"}),
        ("t.kind", {"t": {"kind": "feature"}}),
    ):
        slow = Agent("fix").instruct("{ticket}").writes("answer")
        route = (
            Route("triage")
            .on(on)
            .when("bug", slow)
            .when("feature", Agent("spec").instruct("{ticket}").writes("answer"))
        )
        G = to_graph(
            route >> Agent("send").instruct("{answer}"), inputs={"ticket", on.split(".")[0]}
        )
        times = {"fix": 9.0, "spec": 2.0, "send": 1.0}
        assert makespan(G, times) == 10.0  # the longest branch, when nothing says
        assert makespan(G, times, state={"ticket": "x", **state}) == 3.0
        bug = {on.split(".")[0]: "bug" if on == "category" else {"kind": "bug"}}
        assert makespan(G, times, state={"ticket": "x", **bug}) == 10.0
