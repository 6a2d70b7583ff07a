"""validate(): every kind of problem, its message and attributes, and the warnings."""

from __future__ import annotations

from functools import reduce

import pytest

from irgraph import (
    Agent,
    FanOut,
    IrgraphError,
    Loop,
    MapOver,
    Pipeline,
    PipelineError,
    Transform,
    to_graph,
    validate,
)
from irgraph.ir import AgentNode, LoopNode
from irgraph.testing.strategies import make_list
from irgraph.validate import is_bound, unbound_reads


def problem(pipeline: object, **kwargs: object) -> PipelineError:
    with pytest.raises(PipelineError) as info:
        validate(to_graph(pipeline, **kwargs))  # type: ignore[arg-type]
    return info.value


def test_a_valid_pipeline_returns_no_warnings():
    p = Agent("r").instruct("Research {topic}.").writes("findings") >> Agent("w").instruct(
        "Write from {findings}."
    )
    assert validate(to_graph(p, inputs={"topic"})) == []


def test_pipeline_error_is_an_irgraph_error_and_a_value_error():
    assert issubclass(PipelineError, IrgraphError)
    assert issubclass(PipelineError, ValueError)


def test_an_unbound_read_suggests_the_closest_key():
    p = Agent("researcher").writes("findings") >> Agent("writer").instruct("From {finding}.")
    error = problem(p)
    assert str(error).startswith(
        "'writer' reads {finding}, but no step before it writes 'finding' and it is not a "
        "pipeline input. Did you mean 'findings'?"
    )
    assert (error.node, error.key, error.suggestion) == ("writer", "finding", ("findings",))
    assert "inputs={'finding'}" in str(error)
    assert "{finding?}" in str(error)


def test_suggestions_include_declared_inputs_and_stop_at_three():
    p = Agent("w").instruct("{topik}")
    error = problem(p, inputs={"topic", "topics", "topic1", "topic2"})
    assert len(error.suggestion) == 3
    assert set(error.suggestion) <= {"topic", "topics", "topic1", "topic2"}
    assert problem(Agent("w").instruct("{zzz}"), inputs={"topic"}).suggestion == ()


def test_a_writer_that_runs_too_late_is_named():
    p = Agent("writer").instruct("From {findings}.") >> Agent("researcher").writes("findings")
    error = problem(p)
    assert "'researcher' writes 'findings' but does not run before 'writer'" in str(error)


def test_a_parallel_sibling_is_not_an_upstream_writer():
    error = problem(Agent("a").writes("x") | Agent("b").instruct("{x}"))
    assert "'b' reads {x}, but no step before it writes 'x'" in str(error)


def test_reads_are_bound_by_inputs_given_to_to_graph_or_to_validate():
    p = Agent("w").instruct("Write {topic}.")
    assert validate(to_graph(p, inputs={"topic"})) == []
    assert validate(to_graph(p), inputs={"topic"}) == []
    assert validate(to_graph(p), allow_unbound=True) == []
    assert problem(p).key == "topic"


def test_optional_reads_never_fail():
    assert validate(to_graph(Agent("w").instruct("Write {topic?}."))) == []


def test_the_item_is_bound_inside_a_map_over_only():
    body = Agent("s").instruct("Sum {paper}.").writes("summary")
    ok = MapOver("each").over("papers", item="paper").step(body).writes("summaries")
    assert validate(to_graph(ok, inputs={"papers"})) == []
    error = problem(ok >> Agent("after").instruct("{paper}"), inputs={"papers"})
    assert (error.node, error.key) == ("after", "paper")


def test_a_loop_until_key_must_be_bound():
    error = problem(Loop("l").step(Agent("a")).max_iterations(2).until("done"))
    assert str(error).startswith("'l' stops on 'done', but no step before it writes 'done'")
    assert "{done?}" not in str(error)
    typed = Agent("a").instruct("Done?").writes("done").output({"type": "boolean"})
    written = Loop("l").step(typed).max_iterations(2).until("done")
    assert validate(to_graph(written)) == []
    text = Loop("l").step(Agent("a").instruct("Done?").writes("done")).max_iterations(2)
    text = text.until("done")
    (warning,) = validate(to_graph(text))
    assert "writes it as free text, so any answer (even 'no') stops it" in warning
    compared = Loop("l").step(Agent("a").instruct("Done?").writes("done")).max_iterations(2)
    assert validate(to_graph(compared.until("done", equals="yes"))) == []


def test_a_loop_stopping_on_a_key_its_body_never_writes_is_a_warning():
    check = Agent("check").instruct("Check {draft}.").writes("verdict")
    stale = Loop("review").step(check).until("draft").max_iterations(3)
    (warning,) = validate(to_graph(stale, inputs={"draft"}))
    assert warning.startswith(
        "Loop 'review' stops on 'draft', but nothing in its body writes 'draft'"
    )
    assert "runs all 3 iterations" in warning
    assert "stop on a key the body writes ('verdict')" in warning
    # written before the loop only: the same value every pass
    before = Agent("draft").instruct("Draft {topic}.").writes("draft").output({"type": "boolean"})
    warnings = validate(to_graph(before >> stale, inputs={"topic"}))
    assert any("nothing in its body writes 'draft'" in w for w in warnings)
    # written in the body, or an unknown key (a problem of its own): no such warning
    assert validate(to_graph(stale.until("verdict", equals="ok"), inputs={"draft"})) == []
    assert "nothing in its body" not in str(problem(stale.until("verdcit")))


def test_a_map_over_list_must_be_bound():
    p = MapOver("each").over("papers").step(Agent("s").instruct("{item}").writes("y"))
    p = p.writes("ys")
    error = problem(p)
    assert str(error).startswith("'each' iterates over 'papers', but no step before it writes")
    assert validate(to_graph(Transform("t", make_list).writes("papers") >> p)) == []


def test_a_map_over_item_is_suggested_only_where_it_is_set_inside_the_map_over():
    """``.over("items")`` with nothing writing ``items`` was told "Did you mean 'item'?": the
    map-over's own item key, which exists only inside its body."""
    each = MapOver("m").over("items").step(Agent("x").instruct("{iten}").writes("y"))
    with pytest.raises(PipelineError) as refused:
        validate(to_graph(each.writes("ys")))
    by_node = {p.node: p for p in refused.value.problems}
    assert by_node["m"].suggestion == ()
    assert "Did you mean 'item'" not in by_node["m"].message + (by_node["m"].hint or "")
    assert by_node["x"].suggestion == ("item",)  # inside the body it is set
    summary = Agent("x").instruct("{paper}").writes("summary")
    papers = MapOver("m").over("papers", item="paper").step(summary)
    after = Agent("after").instruct("{papr}")  # after the map-over, only 'papers' is set
    error = problem(papers.writes("ys") >> after, inputs={"papers"})
    assert (error.node, error.suggestion) == ("after", ("papers",))


def test_parallel_branches_writing_one_key_race():
    p = Agent("start") >> (Agent("a").writes("draft") | Agent("b").writes("draft"))
    error = problem(p)
    assert str(error).startswith(
        "Parallel branches of 'a_and_b' both write 'draft': 'a' and 'b'. Branches run at the "
        "same time, so the result would depend on timing."
    )
    assert (error.node, error.key) == ("b", "draft")
    assert "'draft_1', 'draft_2'" in str(error)


def test_a_race_hidden_inside_branches_is_found():
    left = Agent("a") >> Agent("a2").writes("x")
    right = Loop("l").step(Agent("b").writes("x")).max_iterations(2)
    error = problem(FanOut("both").branch(left).branch(right))
    assert "Parallel branches of 'both' both write 'x': 'a2' and 'l'" in str(error)


def test_reading_a_siblings_key_is_an_error():
    p = Agent("w").writes("x") >> (Agent("a").writes("x") | Agent("b").instruct("{x}"))
    error = problem(p)
    assert str(error).startswith(
        "'b' reads 'x', which its parallel sibling 'a' writes in 'a_and_b'; siblings run at "
        "the same time, so 'b' could see either value."
    )
    assert (error.node, error.key) == ("b", "x")
    assert "a >> (b | ...)" in str(error)


def test_sibling_reads_of_keys_written_before_the_block_are_fine():
    p = Agent("w").instruct("W.").writes("x") >> (
        Agent("a").instruct("{x}") | Agent("b").instruct("{x}")
    )
    assert validate(to_graph(p)) == []


@pytest.mark.parametrize(
    ("pipeline", "message"),
    [
        (Pipeline("p"), "Pipeline 'p' has no steps. Add one with .step(...)"),
        (FanOut("f"), "FanOut 'f' has no branches. Add one with .branch(...)"),
        (Loop("l").max_iterations(2), "Loop 'l' has no steps. Add one with .step(...)"),
        (MapOver("m").over("xs").writes("ys"), "MapOver 'm' has no steps."),
    ],
)
def test_empty_composites_are_errors(pipeline, message):
    error = problem(Agent("a") >> pipeline, inputs={"xs"})
    assert message in str(error)


def test_a_loop_needs_max_iterations():
    error = problem(Loop("refine").step(Agent("a")))
    assert str(error).startswith("Loop 'refine' has no max_iterations, so it could run forever.")
    assert ".max_iterations(n)" in str(error)
    zero = problem(LoopNode("l", (AgentNode("a"),), max_iterations=0))
    assert "Loop 'l' has max_iterations=0, but it must be at least 1." in str(zero)


def test_scope_problems_name_the_graph_id_of_a_reused_name():
    p = Loop("l").step(Agent("a")).max_iterations(2) >> Loop("l").step(Agent("b"))
    assert problem(p).node == "l#2"


def test_a_map_over_needs_over_collect_and_writes():
    error = problem(MapOver("m").step(Agent("a").writes("y")).collect("z"))
    text = str(error)
    assert "MapOver 'm' has no list to iterate." in text
    assert "MapOver 'm' collects 'z', which its body never writes." in text
    assert "MapOver 'm' does not say where to store its results." in text
    assert len(error.problems) == 3
    no_collect = problem(MapOver("m").over("xs").step(Agent("a")).writes("ys"), inputs={"xs"})
    assert "MapOver 'm' names no key to collect." in str(no_collect)


def test_a_misspelt_collect_suggests_what_the_body_writes():
    typo = MapOver("m").over("xs").step(Agent("a").instruct("{item}").writes("note"))
    error = problem(typo.collect("notes").writes("all_notes"), inputs={"xs"})
    assert "MapOver 'm' collects 'notes', which its body never writes. Did you mean 'note'?" in (
        str(error)
    )
    assert error.problems[0].suggestion == ("note",) and error.key == "notes"


def test_every_problem_is_collected_into_one_error():
    p = (
        Agent("a").instruct("{missing}")
        >> (Agent("b").writes("x") | Agent("c").writes("x"))
        >> Pipeline("empty")
        >> Loop("forever").step(Agent("d"))
    )
    error = problem(p)
    lines = str(error).splitlines()
    assert lines[0] == "4 problems found in the pipeline:"
    assert [line[:5] for line in lines[1:]] == ["  1. ", "  2. ", "  3. ", "  4. "]
    text = str(error)
    for expected in ("both write 'x'", "Pipeline 'empty' has no steps",
                     "Loop 'forever' has no max_iterations", "'a' reads {missing}"):  # fmt: skip
        assert expected in text
    assert [p.node for p in error.problems] == ["c", "empty", "forever", "a"]
    assert error.node == "c"


def test_a_cycle_added_by_hand_is_reported():
    G = to_graph(Agent("a").writes("x") >> Agent("b").instruct("{x}"))
    G.add_edge("b", "a", control=True, keys=frozenset())
    # an edge added to the graph to_graph made here: checked as the pipeline it holds, the
    # edge is named as one the pipeline does not have
    with pytest.raises(PipelineError, match=r"The edge 'b' -> 'a' is not in the pipeline"):
        validate(G)


def test_a_value_overwritten_before_it_is_read_is_a_warning():
    p = (
        Agent("a").instruct("A.").writes("x")
        >> Agent("b").instruct("B.").writes("x")
        >> Agent("c").instruct("{x}")
    )
    assert validate(to_graph(p)) == [
        "'a' writes 'x', but 'b' overwrites it before anything reads it."
    ]


def test_no_warning_when_the_value_is_read_before_it_is_overwritten():
    p = (
        Agent("a").instruct("A.").writes("x")
        >> Agent("r").instruct("{x?}")
        >> Agent("b").instruct("B.").writes("x")
        >> Agent("c").instruct("{x}")
    )
    assert validate(to_graph(p)) == []


def test_is_bound_follows_edges_scopes_items_and_inputs():
    p = Agent("w").writes("x") >> MapOver("m").over("xs", item="it").step(
        Agent("s").instruct("{x} {it}").writes("y")
    ).writes("ys")
    G = to_graph(p, inputs={"xs"})
    assert is_bound(G, "s", "x")  # through the scope's in-edge
    assert is_bound(G, "s", "it")  # the map-over's item
    assert is_bound(G, "m", "xs")  # a declared input
    assert not is_bound(G, "w", "x")
    assert not is_bound(G, "s", "zzz")
    assert is_bound(G, "s", "zzz", inputs=["zzz"])
    assert unbound_reads(G) == []


@pytest.mark.parametrize("width", [2, 8, 9, 40])
def test_a_join_after_a_fanout_of_any_width_is_bound_but_for_the_key_nobody_writes(width):
    branches = [Agent(f"a{i}").instruct("On {topic}.").writes(f"k{i}") for i in range(width)]
    reads = " ".join(f"{{k{i}}}" for i in range(width))
    join = Agent("join").instruct(reads + " {missing}")
    fan = reduce(lambda f, b: f.branch(b), branches, FanOut("fan"))
    G = to_graph(Agent("start").writes("topic") >> fan >> join)
    problems = unbound_reads(G)
    assert [(p.node, p.key) for p in problems] == [("join", "missing")]


def test_a_close_input_nothing_reads_is_named_as_a_likely_misspelling_both_ways():
    """A batch line's ``tiket`` for a pipeline reading ``{ticket}``: "Did you mean 'tiket'?"
    told the pipeline to read the misspelled key."""
    from irgraph import run
    from irgraph.testing import FakeProvider

    reads = Agent("a").instruct("Answer {ticket}.").writes("x") >> Agent("b").instruct("{x}")
    with pytest.raises(PipelineError) as caught:
        run(reads, provider=FakeProvider(), state={"tiket": "one"})
    text = str(caught.value)
    assert "Did you mean 'tiket'? (The input 'tiket' is given and nothing reads it: if the " in text
    assert "input is what is misspelled, give it as 'ticket'.)" in text
    assert caught.value.suggestion == ("tiket",)
    # A close key some step writes is still suggested to the reader.
    writes = Agent("w").writes("findings") >> Agent("r").instruct("{finding}")
    assert "Did you mean 'findings'?" in str(problem(writes))
