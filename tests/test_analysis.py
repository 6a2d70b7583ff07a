"""Graph analyses and the data-flow schedule."""

from __future__ import annotations

import asyncio
import io
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, assume, given, note, settings
from hypothesis import strategies as st

from irgraph import (
    Agent,
    FanOut,
    Gate,
    Loop,
    MapOver,
    Pipeline,
    Route,
    Transform,
    run,
    to_graph,
)
from irgraph.analysis import (
    critical_path,
    dataflow_dependencies,
    diff,
    lineage,
    makespan,
    parallelizable,
)
from irgraph.backends.asyncio_backend import AsyncioBackend
from irgraph.backends.mermaid_diff import diff_to_mermaid
from irgraph.cli import main
from irgraph.errors import IrgraphError, PipelineError
from irgraph.ir import AgentNode, RouteNode, SequenceNode
from irgraph.testing import FakeProvider
from irgraph.testing.conformance import gate_answer
from irgraph.testing.held import HeldProvider
from irgraph.testing.strategies import join_values, pipelines, pipelines_with_inputs


def independent_sources(n: int = 10) -> Pipeline:
    """n searches that share no data, then a summary reading them all."""
    p = Pipeline("research")
    for i in range(n):
        p = p.step(Agent(f"s{i}").instruct(f"Search {i} on {{topic}}.").writes(f"r{i}"))
    return p.step(Agent("summary").instruct(" ".join(f"{{r{i}}}" for i in range(n))))


def test_the_critical_path_goes_through_scope_bodies():
    body = Agent("draft").writes("d") >> Agent("check").instruct("{d}").writes("ok")
    G = to_graph(Agent("plan").writes("p") >> Loop("refine").step(body).max_iterations(3))
    assert critical_path(G, 1.0) == (["plan", "refine", "draft", "check"], 7.0)


def test_critical_path_takes_number_dict_or_function_latency():
    G = to_graph(
        Agent("a").instruct("x").writes("k")
        >> (Agent("b").instruct("{k}") | Agent("c").instruct("{k}"))
        >> Agent("d").instruct("d")
    )
    assert critical_path(G, 1) == (["a", "b", "d"], 3.0)
    assert critical_path(G, {"a": 1, "b": 2, "c": 5, "d": 1}) == (["a", "c", "d"], 7.0)
    assert critical_path(G, lambda node, data: 2.0 if node == "b" else 1.0)[1] == 4.0


def test_zero_latency_steps_at_either_end_of_the_critical_path_stay_on_it():
    G = to_graph(Agent("a").writes("x") >> Agent("b").instruct("{x}").writes("y") >> Agent("c"))
    assert critical_path(G, {"a": 0, "b": 1, "c": 0}) == (["a", "b", "c"], 1.0)
    assert critical_path(G, 0.0) == (["a", "b", "c"], 0.0)
    # Of two paths as long, the one with more steps.
    fan = to_graph(Agent("s") >> (Agent("p") | (Agent("q1") >> Agent("q2"))) >> Agent("e"))
    latency = {"s": 1, "p": 2, "q1": 2, "q2": 0, "e": 1}
    assert critical_path(fan, latency) == (["s", "q1", "q2", "e"], 4.0)


def test_loops_cost_their_body_times_iterations_and_concurrency_limits_the_makespan():
    G = to_graph((Agent("w").instruct("w") >> Agent("c").instruct("c")) * 3)
    assert critical_path(G, 1.0)[1] == 6.0
    wide = FanOut("f")
    for i in range(4):
        wide = wide.branch(Agent(f"b{i}").instruct("x"))
    G = to_graph(wide)
    assert makespan(G, 1.0) == 1.0
    assert makespan(G, 1.0, concurrency=2) == 2.0
    assert makespan(G, 1.0, concurrency=1) == 4.0


def test_parallelizable_finds_steps_without_data_dependencies_with_their_saving():
    G = to_graph(independent_sources(4), inputs={"topic"})
    suggestions = parallelizable(G, latency=1.0)
    assert {(s.node, s.after) for s in suggestions} == {("s1", "s0"), ("s2", "s1"), ("s3", "s2")}
    assert all(s.saving == 1.0 for s in suggestions)
    chain = to_graph(Agent("a").instruct("x").writes("k") >> Agent("b").instruct("{k}"))
    assert parallelizable(chain) == []


def test_gates_are_never_suggested_to_move():
    G = to_graph(Agent("a").instruct("x") >> Gate("ok", "Go?") >> Agent("b").instruct("y"))
    assert parallelizable(G) == []


def test_dataflow_dependencies_keep_write_after_write_and_write_after_read_order():
    G = to_graph(
        Agent("w1").instruct("x").writes("k")
        >> Agent("r").instruct("{k}").writes("seen")
        >> Agent("w2").instruct("y").writes("k")
        >> Agent("other").instruct("z")
    )
    deps = dataflow_dependencies(G)
    assert deps["r"] == ["w1"]
    assert set(deps["w2"]) == {"w1", "r"}
    assert deps["other"] == []


def test_dataflow_schedule_runs_independent_steps_at_once():
    pipeline = independent_sources(10)
    searches = [f"s{i}" for i in range(10)]  # each answers once all ten are asked
    held = HeldProvider(10, agents=searches, latency=0.05)
    backend = AsyncioBackend(provider=held, schedule="dataflow")
    result = run(pipeline, backend=backend, state={"topic": "owls"})
    starts = [e.time for e in result.trace if e.event == "start" and e.node[1:].isdigit()]
    ends = [e.time for e in result.trace if e.event == "end" and e.node[1:].isdigit()]
    assert max(starts) < min(ends)
    summary_start = next(e.time for e in result.trace if e.node == "summary")
    assert summary_start >= max(ends)


def flag_is_on(state):
    """A route or loop predicate: it sees the whole state, so it reads what no node lists."""
    return state.get("flag") == "on"


def _set_flag_then(step):
    return Agent("setter").instruct("Say on.").writes("flag") >> step


PREDICATE_USERS = {
    "route": Route("r")
    .when(flag_is_on, Agent("yes").instruct("y").writes("res"))
    .otherwise(Agent("no").instruct("n").writes("res")),
    "loop": Loop("L")
    .step(Agent("w").instruct("w").writes("d"))
    .until(flag_is_on)
    .max_iterations(3),
    "loop holding the route": Loop("L")
    .step(
        Route("r")
        .when(flag_is_on, Agent("yes").instruct("y").writes("res"))
        .otherwise(Agent("no").instruct("n").writes("res"))
    )
    .max_iterations(1),
}


@pytest.mark.parametrize("shape", PREDICATE_USERS)
def test_a_node_that_hands_user_code_the_whole_state_waits_for_every_earlier_writer(shape):
    pipeline = _set_flag_then(PREDICATE_USERS[shape])
    scope_node = "r" if shape == "route" else "L"
    assert dataflow_dependencies(to_graph(pipeline))[scope_node] == ["setter"]
    seen = []
    for schedule in ("topological", "dataflow"):
        fake = FakeProvider(responses={"setter": "on"}, latency={"setter": 0.05})
        result = run(pipeline, backend=AsyncioBackend(provider=fake, schedule=schedule), state={})
        seen.append((result.state, [call.agent for call in fake.calls]))
    assert seen[0] == seen[1]
    assert "yes" in seen[1][1] or seen[1][1].count("w") == 1


def test_unknown_schedule_is_rejected():
    with pytest.raises(IrgraphError, match="'dataflow'"):
        AsyncioBackend(schedule="fastest")


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pipelines_with_inputs(with_gates=True))
def test_dataflow_schedule_gives_the_same_state_and_calls_as_the_default(case):
    pipeline, state = case
    results = []
    for schedule in ("topological", "dataflow"):
        fake = FakeProvider()
        backend = AsyncioBackend(provider=fake, schedule=schedule)
        result = asyncio.run(
            backend.compile(pipeline.to_ir()).arun(dict(state), on_gate=gate_answer)
        )
        results.append((result.state, sorted((c.agent, c.prompt) for c in fake.calls)))
    assert results[0] == results[1]


def test_lineage_names_writers_readers_and_edges():
    G = to_graph(independent_sources(3), inputs={"topic"})
    found = lineage(G, "r1")
    assert found.writers == ["s1"] and found.readers == ["summary"]
    assert found.edges == [("s1", "summary")]
    assert lineage(G, "topic").is_input


def test_a_map_over_is_the_writer_of_its_item_key():
    each = MapOver("each").over("papers", item="paper").step(Agent("r").instruct("{paper}"))
    G = to_graph(Agent("w").writes("papers") >> each.writes("notes"))
    assert lineage(G, "paper").writers == ["each"] and lineage(G, "paper").readers == ["r"]
    unread = MapOver("each").over("papers").step(Agent("r").instruct("Go.").writes("s"))
    assert lineage(to_graph(Agent("w").writes("papers") >> unread), "item").writers == ["each"]
    collected = lineage(to_graph(Agent("w").writes("papers") >> unread.writes("all")), "s")
    assert collected.writers == ["r"] and collected.readers == ["each"]


def test_diff_reports_a_change_in_any_setting_of_a_node_timeout_included():
    old = to_graph(Agent("a").instruct("Go.") >> Transform("t", join_values).writes("k"))
    new = to_graph(Agent("a").instruct("Go.").timeout(5) >> Transform("t", join_values).timeout(2))
    assert diff(old, new).changed == {"a": ["timeout"], "t": ["writes", "timeout"]}


def test_diff_reports_added_removed_changed_and_draws_it():
    old = to_graph(Agent("a").instruct("x").writes("k") >> Agent("gone").instruct("{k}"))
    new = to_graph(Agent("a").instruct("changed").writes("k") >> Agent("b").instruct("{k}!"))
    change = diff(old, new)
    assert change.added == ["b"] and change.removed == ["gone"]
    assert change.changed == {"a": ["instruction"]}
    assert ("a", "b") in change.edges_added and ("a", "gone") in change.edges_removed
    picture = diff_to_mermaid(change)
    assert "class n2 added" in picture and "class n1 changed" in picture
    assert "gone (removed)" in picture
    assert diff(old, old).empty


def test_diff_pairs_nodes_by_structure_not_by_numbered_ids():
    writer = Agent("writer").instruct("Write {topic}.").writes("draft")
    old = to_graph(writer >> Agent("critic").instruct("{draft}") >> writer, inputs={"topic"})
    new = to_graph(
        writer >> writer >> Agent("critic").instruct("{draft}") >> writer, inputs={"topic"}
    )
    change = diff(old, new)
    # Two identical writers: either may count as the new one; what matters is that the ids
    # that shifted (writer#2 -> writer#3) are not reported as changes.
    assert len(change.added) == 1 and change.removed == [] and change.changed == {}


def test_diff_reports_a_rename_as_one_change_and_tells_lambdas_apart():
    old = to_graph(Agent("a").writes("x") >> Transform("t", lambda x: x).reads("x"))
    new = to_graph(Agent("b").writes("x") >> Transform("t", lambda x: x * 2).reads("x"))
    change = diff(old, new)
    assert change.added == [] and change.removed == []
    assert change.changed == {"b": ["label"], "t": ["function"]}


def test_cli_diff_and_check_hints():
    out = io.StringIO()
    assert (
        main(["diff", "tests.support.pipelines:research", "irgraph.demo:research_pipeline"], out)
        == 1  # they differ, as diff(1) says
    )
    assert "+ node fact_checker" in out.getvalue()
    out = io.StringIO()
    assert main(["check", "tests.test_analysis:SOURCES", "--input", "topic"], out) == 0
    assert "hint: 's1' needs nothing from 's0'" in out.getvalue()


SOURCES = independent_sources(3)


def _agent_paths(node, path=()):
    """Paths (child indexes) to every agent in an IR tree."""
    if isinstance(node, AgentNode):
        yield path
    for i, child in enumerate(getattr(node, "children", ())):
        yield from _agent_paths(child, (*path, i))


def _mutated(node, path, how):
    """``node`` with the agent at ``path`` renamed, changed, removed, or with an agent
    inserted after it. A route's branch is removed with its case (a change of the route
    too); an agent inserted after a branch joins it in a sequence."""
    if len(path) == 1:
        children = list(node.children)
        i = path[0]
        target = children[i]
        routed = isinstance(node, RouteNode)
        if how == "rename":
            children[i] = attrs.evolve(target, name="renamed_one")
        elif how == "change":
            children[i] = attrs.evolve(target, instruction=target.instruction + " Again.")
        elif how == "remove":
            del children[i]
            if routed:
                cases = node.cases[:i] + node.cases[i + 1 :]
                return attrs.evolve(node, children=tuple(children), cases=cases)
        elif routed:
            inserted = AgentNode("inserted_one", instruction="Inserted.")
            children[i] = SequenceNode("branch_then_inserted", (target, inserted))
        else:
            children.insert(i + 1, AgentNode("inserted_one", instruction="Inserted."))
        return attrs.evolve(node, children=tuple(children))
    children = list(node.children)
    children[path[0]] = _mutated(children[path[0]], path[1:], how)
    return attrs.evolve(node, children=tuple(children))


@given(pipelines(with_gates=True), st.data())
@settings(suppress_health_check=[HealthCheck.too_slow])
def test_one_mutation_anywhere_is_exactly_one_change(pipeline, data):
    root = SequenceNode("root", (pipeline.to_ir(),))
    paths = list(_agent_paths(root))
    assume(paths)
    path = data.draw(st.sampled_from(paths))
    how = data.draw(st.sampled_from(["rename", "change", "remove", "insert"]))
    change = diff(to_graph(root), to_graph(_mutated(root, path, how)))
    note(str(change))
    counts = (len(change.added), len(change.removed), len(change.changed))
    expected = {"rename": (0, 0, 1), "change": (0, 0, 1), "remove": (0, 1, 0)}
    if how == "remove" and _parent_is_route(root, path):
        expected["remove"] = (0, 1, 1)  # the branch's node, and the route's cases
    assert counts == expected.get(how, (1, 0, 0))


def _parent_is_route(node, path):
    for i in path[:-1]:
        node = node.children[i]
    return isinstance(node, RouteNode)


def test_analyses_refuse_bad_arguments_naming_them() -> None:
    G = to_graph(Agent("writer").instruct("Write {topic}.").writes("text"))
    with pytest.raises(PipelineError, match="latency must be a finite number"):
        critical_path(G, latency=float("nan"))
    with pytest.raises(PipelineError, match="latency of 'writer'"):
        makespan(G, latency={"writer": float("inf")})
    with pytest.raises(PipelineError, match="'writr', which is not a node.*'writer'"):
        critical_path(G, latency={"writr": 1.0})
    with pytest.raises(PipelineError, match="latency function's answer for 'writer'"):
        critical_path(G, latency=lambda node, data: -1)
    with pytest.raises(PipelineError, match="concurrency argument of makespan"):
        makespan(G, concurrency=0)
    with pytest.raises(PipelineError, match="Did you mean 'text'"):
        lineage(G, "txt")
    with pytest.raises(PipelineError, match="no loop, map-over or route"):
        dataflow_dependencies(G, scope="nope")
    with pytest.raises(PipelineError, match="got 5 of type int"):
        diff(G, 5)


def test_analyses_take_builders_as_well_as_graphs() -> None:
    p = Agent("a").instruct("x").writes("k") >> Agent("b").instruct("{k}")
    assert critical_path(p) == critical_path(to_graph(p))
    assert diff(p, p).changed == {}
    assert lineage(p, "k").readers == ["b"]


def _mapped() -> Any:
    return (
        Agent("plan").instruct("x")
        >> MapOver("each")
        .over("papers")
        .step(Agent("read").instruct("{item}").writes("n"))
        .writes("notes")
        >> Agent("write").instruct("{notes}")
    )


def test_makespan_counts_every_map_over_item_under_a_concurrency_limit():
    p = _mapped()
    latency = {"plan": 1.0, "read": 2.0, "write": 1.0}
    # Unlimited: the items run together. At limit 1 each item is a call of its own.
    assert makespan(p, latency, items={"each": 4}) == 4.0
    assert makespan(p, latency, concurrency=1, items={"each": 4}) == 10.0
    assert makespan(p, latency, concurrency=2, items={"each": 4}) == 6.0
    assert makespan(p, latency, concurrency=3, items={"each": 4}) == 6.0
    # From the initial state (the list no node writes), or one item when nothing says.
    assert makespan(p, latency, concurrency=1, state={"papers": [1, 2, 3]}) == 8.0
    assert makespan(p, latency, concurrency=1) == 4.0
    assert makespan(p, latency, concurrency=1, items={"each": 0}) == 2.0


def test_makespan_reads_items_and_iterations_from_a_finished_run():
    p = _mapped() * 2
    result = run(p, provider=FakeProvider(), state={"papers": ["a", "b", "c"]})
    latency = {"plan": 1.0, "read": 2.0, "write": 1.0}
    assert makespan(p, latency, concurrency=1, run=result) == 2 * (1 + 3 * 2 + 1)
    once = {"plan_then_each_then_write_x2": 1}  # given per node: it overrides the run
    assert makespan(p, latency, concurrency=1, run=result, iterations=once) == 8.0


def test_makespan_refuses_a_run_of_another_pipeline_that_shares_node_ids():
    """A run of a map-over of 'a' lent its item count and durations to a pipeline whose 'a'
    is a top-level step: the ids matched, so the prediction was silently of nothing real."""
    chain = Agent("a").instruct("x").writes("k") >> Agent("b").instruct("{k}")
    mapped = MapOver("b").over("xs", item="x").step(Agent("a").instruct("{x}").writes("y"))
    other = run(mapped.writes("ys"), provider=FakeProvider(), state={"xs": [1, 2]})
    with pytest.raises(PipelineError, match="is a run of another pipeline") as info:
        makespan(chain, 1.0, run=other)
    assert info.value.node == "a" and "an agent inside 'b' there" in str(info.value)
    same = run(chain, provider=FakeProvider())
    assert makespan(to_graph(chain), 1.0, run=same) == 2.0  # the same pipeline, built again
    assert makespan(chain, 1.0, run=same) == 2.0


def test_a_loop_runs_max_iterations_unless_told_and_a_map_limits_its_items():
    loop = (Agent("a").instruct("x") | Agent("b").instruct("y")) * 3
    assert makespan(loop, 1.0) == 3.0
    assert makespan(loop, 1.0, concurrency=1) == 6.0
    loop_id = next(iter(to_graph(loop)))
    assert makespan(loop, 1.0, concurrency=1, iterations={loop_id: 1}) == 2.0
    slow = MapOver("m").over("xs").step(Agent("r").instruct("{item}")).max_concurrency(2)
    assert makespan(slow, 1.0, items={"m": 5}) == 3.0  # two at a time: 2 + 2 + 1


def test_parallelizable_reports_what_the_dataflow_schedule_saves_all_together():
    G = to_graph(independent_sources(6), inputs={"topic"})
    found = parallelizable(G, latency=1.0)
    assert [s.saving for s in found] == [1.0] * 5  # each wait alone
    assert (found.control, found.dataflow, found.saving) == (7.0, 2.0, 5.0)  # 6 + the writer
    assert found.saving == makespan(G, 1.0) - makespan(G, 1.0, schedule="dataflow")
    assert parallelizable(G, 1.0, concurrency=2).saving == 3.0  # 7 calls: 7 s -> 3 + 1 s


def test_every_analysis_takes_a_builder_an_ir_node_or_a_compiled_pipeline():
    p = Agent("a").instruct("x").writes("k") >> Agent("b").instruct("{k}")
    compiled = AsyncioBackend().compile(p.to_ir())
    for form in (p, p.to_ir(), compiled, to_graph(p)):
        assert critical_path(form) == (["a", "b"], 2.0)
        assert makespan(form, concurrency=1) == 2.0
        assert parallelizable(form) == []
        assert lineage(form, "k").writers == ["a"]
    with pytest.raises(PipelineError, match=r"critical_path\(\) analyses a pipeline.*'a >> b'"):
        critical_path("a >> b")
    with pytest.raises(PipelineError, match="items names 'eahc'.*Did you mean 'each'"):
        makespan(_mapped(), items={"eahc": 2})
    with pytest.raises(PipelineError, match="schedule argument of makespan"):
        makespan(p, schedule="fastest")


def test_a_step_that_ends_at_once_does_not_end_its_scope_early():
    each = (
        MapOver("each")
        .over("sources")
        .step(Agent("early").instruct("{item}").writes("x"))
        .step(MapOver("inner").over("none").step(Agent("i").instruct("{item} {x}").writes("y")))
        .step(Agent("late").instruct("{item}").writes("z"))
    )
    # Three slots: both 'early' calls and item 0's 'late' start; item 1's 'late' waits for
    # item 0's, which ends first, so it runs 2..4. Then item 0's 'early' ends (3) and the
    # empty map-over after it ends at once, last in its item: that item must end once (ended
    # twice, the map-over would think both items done at 3).
    latency = {"early": 3.0, "late": 2.0}
    counts = {"each": 2, "inner": 0}
    assert makespan(each, latency, concurrency=3, schedule="dataflow", items=counts) == 4.0


def test_steps_started_together_queue_for_slots_in_the_schedulers_order():
    # Dataflow: the loop and the two agents after it start together. The scheduler makes a
    # task for each of the two before it drives the loop, so they take both slots and the
    # loop's agent (which needs nothing from the transform beside it) waits for one.
    body = Transform("t", join_values).writes("f") >> Agent("inner").writes("g")
    p = Loop("L").step(body).max_iterations(2) >> Agent("x").writes("h") >> Agent("y").writes("i")
    latency = {"inner": 1.0, "x": 1.0, "y": 1.0}
    assert makespan(p, latency, concurrency=2, schedule="dataflow") == 3.0
    assert makespan(p, latency, concurrency=2) == 4.0  # in order: two iterations, x, y


@pytest.mark.parametrize("count", [0, 4])
def test_a_loop_count_the_loop_cannot_run_is_refused(count):
    loop = Loop("L").step(Agent("w").instruct("w").writes("d")).max_iterations(3)
    assert makespan(loop, 1.0, iterations={"L": 3}) == 3.0
    with pytest.raises(PipelineError, match=f"Loop 'L' runs its body 1 to 3 times .* {count} "):
        makespan(loop, 1.0, iterations={"L": count})


def test_a_map_over_list_missing_from_state_is_refused_not_taken_as_one_item():
    """makespan(state=...) with 'paper' for 'papers' silently counted one item."""
    p = _mapped()
    latency = {"plan": 1.0, "read": 2.0, "write": 1.0}
    with pytest.raises(PipelineError, match="'papers', which state= does not hold.*'paper'"):
        makespan(p, latency, concurrency=1, state={"paper": [1, 2, 3]})
    # items= or a run says how many; an inner map-over over an item's name is no input
    assert makespan(p, latency, concurrency=1, state={}, items={"each": 3}) == 8.0
    inner = MapOver("inner").over("paper", item="part").step(Agent("r").instruct("{part}"))
    outer = MapOver("outer").over("papers", item="paper").step(inner.writes("parts"))
    assert makespan(outer.writes("all"), 1.0, state={"papers": [[1, 2], [3]]}) == 1.0


def test_a_map_over_list_in_state_that_is_no_list_is_refused():
    each = MapOver("m").over("xs").step(Agent("w").instruct("{item}").writes("y")).writes("ys")
    assert makespan(each, 1.0, state={"xs": [1, 2]}) == 1.0
    with pytest.raises(PipelineError, match="'xs', and state= holds a str there"):
        makespan(each, 1.0, state={"xs": "abc"})


def test_parallel_suggestions_left_as_a_notebook_cells_value_read_as_sentences():
    """``parallelizable(G)`` in a notebook showed ``[Suggestion(node='b', after='a',
    saving=1.0), ...]``, not the sentences ``print`` gives, nor the total saving."""
    from IPython.core.formatters import PlainTextFormatter

    from irgraph import Pipeline

    study = Pipeline("s").step(Agent("p").instruct("{topic}").writes("plan"))
    for name in ("a", "b", "c"):
        study = study.step(Agent(name).instruct("{plan}").writes(name))
    hints = parallelizable(to_graph(study, inputs={"topic"}), 1.0)
    lines = PlainTextFormatter()(hints).splitlines()
    assert lines[:-1] == [str(hint) for hint in hints] and "Suggestion(" not in lines[-1]
    assert lines[-1] == (
        "4 s in order, 2 s on data dependencies: running on data dependencies saves 2 s."
    )
    assert PlainTextFormatter()(hints[0]) == str(hints[0])


def test_a_latency_dict_giving_a_scope_and_a_step_inside_it_is_refused():
    """{node: ... for node in G} gave the loop 0 s too, and a scope in the dict is costed as
    one step without its body: the loop of three 2 s agents was predicted to take 0 s."""
    loop = Loop("l").step(Agent("x").instruct("X {t}").writes("y")).max_iterations(3)
    G = to_graph(Route("r").on("t").when("a", loop).otherwise(Agent("z").writes("y")), inputs={"t"})
    every = {node: (2.0 if G.nodes[node]["kind"] == "agent" else 0.0) for node in G}
    for analysis in (makespan, critical_path, parallelizable):
        with pytest.raises(PipelineError) as refused:
            analysis(G, every)
        assert "gives both route 'r' and 'l', 'x', 'z' inside it" in str(refused.value)
        assert "Leave 'r' out to cost it from the steps inside it" in str(refused.value)
    steps = {node: s for node, s in every.items() if G.nodes[node]["kind"] == "agent"}
    assert makespan(G, steps) == 6.0 and makespan(G, {"l": 5.0}) == 5.0
