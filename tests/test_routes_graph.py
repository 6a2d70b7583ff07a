"""Routes, structured outputs and settings in the core: builder, IR, JSON, graph, validate."""

from __future__ import annotations

import json

import networkx as nx
import pytest

from irgraph import (
    Agent,
    Loop,
    MapOver,
    PipelineError,
    Route,
    from_graph,
    to_graph,
    validate,
)
from irgraph.code import to_code
from irgraph.ir import RouteCase, RouteNode, from_json, to_json

CATEGORY = {"type": "string", "enum": ["bug", "feature", "question"]}


def is_urgent(state: object) -> bool:
    return True


def triage(otherwise: bool = True) -> Route:
    route = (
        Route("triage")
        .on("category")
        .when("bug", Agent("fix").instruct("Fix {ticket}.").writes("patch"))
        .when("feature", Agent("spec").instruct("Spec {ticket}.").writes("spec"))
    )
    return (
        route.otherwise(Agent("reply").instruct("Reply to {ticket}.").writes("reply"))
        if otherwise
        else route
    )


def classify() -> Agent:
    return Agent("classify").instruct("Classify {ticket}.").output(CATEGORY).writes("category")


def test_a_route_is_a_scope_whose_branch_nodes_carry_their_case_and_whose_edges_their_condition():
    G = to_graph(
        classify() >> triage() >> Agent("log").instruct("Log {ticket}."), inputs={"ticket"}
    )
    assert G.nodes["triage"]["kind"] == "route"
    assert [G.nodes[n]["branch"] for n in ("fix", "spec", "reply")] == [0, 1, 2]
    assert G.nodes["classify"]["branch"] is None and G.nodes["fix"]["parent"] == "triage"
    assert [G.edges["triage", n]["condition"] for n in ("fix", "spec", "reply")] == [
        '"bug"',
        '"feature"',
        "otherwise",
    ]
    assert G.nodes["triage"]["cases"][0] == {"equals": "bug", "label": '"bug"'}
    assert all(G.has_edge(n, "log") for n in ("fix", "spec", "reply"))
    assert nx.is_directed_acyclic_graph(G)
    assert validate(G) == []


def test_a_key_written_on_some_branches_read_later_names_the_branches_that_do_not_write_it():
    p = classify() >> triage() >> Agent("ship").instruct("Ship {patch}.")
    with pytest.raises(PipelineError) as caught:
        validate(to_graph(p, inputs={"ticket"}))
    text = str(caught.value)
    assert "'ship' reads {patch}, but route 'triage' writes 'patch' only on some branches" in text
    assert '"feature" and otherwise do not' in text
    assert "{patch?}" in text and "every branch" in text
    # Optional reads, a writer before the route, or the key as an input all make it fine.
    assert (
        validate(
            to_graph(classify() >> triage() >> Agent("s").instruct("{patch?}"), inputs={"ticket"})
        )
        == []
    )
    first = Agent("draft").instruct("Draft.").writes("patch")
    assert (
        validate(
            to_graph(
                first >> classify() >> triage() >> Agent("s").instruct("{patch}"), inputs={"ticket"}
            )
        )
        == []
    )
    G = to_graph(p, inputs={"ticket"})
    assert validate(G, inputs={"patch"}) == []


def test_data_edges_join_every_branch_writer_to_the_reader():
    both = (
        Route("r")
        .on("category")
        .when("bug", Agent("a").instruct("Fix it.").writes("out"))
        .otherwise(Agent("b").instruct("Answer it.").writes("out"))
    )
    G = to_graph(classify() >> both >> Agent("use").instruct("{out}"), inputs={"ticket"})
    assert G.edges["a", "use"]["keys"] == ["out"] and G.edges["b", "use"]["keys"] == ["out"]
    assert validate(G) == []


def test_route_values_are_checked_against_the_writers_enum_and_uncovered_values_warn():
    bad = classify() >> Route("r").on("category").when("bugs", Agent("a")).otherwise(Agent("b"))
    with pytest.raises(
        PipelineError, match=r'branch for "bugs", but .category. can only be one of'
    ):
        validate(to_graph(bad, inputs={"ticket"}))
    (warning,) = validate(to_graph(classify() >> triage(otherwise=False), inputs={"ticket"}))
    assert 'no branch for "question"' in warning and "otherwise" in warning


def test_a_map_over_a_text_key_is_an_error_that_suggests_an_array_output():
    finder = Agent("finder").instruct("Find papers.").writes("papers")
    each = (
        MapOver("each")
        .over("papers", item="paper")
        .step(Agent("s").instruct("{paper}").writes("x"))
        .writes("xs")
    )
    with pytest.raises(PipelineError, match="agent 'finder' writes it as free text, not a list"):
        validate(to_graph(finder >> each))
    typed = finder.output({"type": "array", "items": {"type": "string"}})
    assert validate(to_graph(typed >> each)) == []


def test_routes_settings_and_outputs_survive_json_the_graph_and_to_code():
    p = (
        classify().system("You triage tickets.").settings(temperature=0.2, max_tokens=50)
        >> triage().when(is_urgent, Agent("page").writes("patch"))
        >> Loop("review")
        .step(Agent("critic").writes("verdict"))
        .until("verdict", equals="approved")
        .max_iterations(3)
    )
    ir = p.to_ir()
    assert from_json(to_json(ir), allow=[__name__]) == ir
    G = to_graph(ir, inputs={"ticket"})
    assert from_graph(json_round_trip(G), allow=[__name__]) == p.inputs("ticket").to_ir()
    namespace: dict[str, object] = {}
    exec(to_code(p), namespace)
    assert namespace["pipeline"].to_ir() == ir  # type: ignore[attr-defined]
    # The predicate case came after otherwise in the builder; the IR puts otherwise last.
    assert [c.kind for c in ir.children[1].cases] == ["equals", "equals", "test", "otherwise"]


def json_round_trip(G: nx.DiGraph) -> nx.DiGraph:
    return nx.node_link_graph(
        json.loads(json.dumps(nx.node_link_data(G, edges="edges"))), edges="edges"
    )


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (
            lambda: Agent("a").settings(temperature=5),
            "temperature of 'a' must be a number from 0 to 2",
        ),
        (lambda: Agent("a").settings(max_tokens=0), "max_tokens of 'a' must be a whole number"),
        (lambda: Agent("a").settings(logit_bias={1, 2}), "must be JSON data"),
        (lambda: Agent("a").output({"type": "strin"}), "not a valid JSON Schema"),
        (lambda: Agent("a").output("string"), "must be a JSON Schema dict or a pydantic model"),
        (lambda: Agent("a").output({"type": "string"}, retries=-1), "retries"),
        (lambda: Route("r").on("k").when(["a"], Agent("a")), "compares with a string, number"),
        (  # the arguments swapped: the error said only what the value must be
            lambda: Route("r").on("k").when(Agent("a"), "bug"),
            r"value comes first and the branch second: write \.when\('bug', Agent\('a'\)\)",
        ),
        (lambda: Loop("l").until(is_urgent, equals=True), "equals= only with a state key"),
        (lambda: Loop("l").until("k", equals={1, 2}), "must be a JSON value"),
        (
            lambda: RouteNode("r", (), cases=(RouteCase("equals", "x"),)).name,
            r"1 case\(s\) for 0 branch",
        ),
        (lambda: Route("r").when("bug", Agent("a")).to_ir(), "compares values but names no key"),
    ],
)
def test_bad_settings_schemas_and_cases_are_refused_where_written(make, message):
    with pytest.raises(PipelineError, match=message):
        make()


def test_two_branches_for_one_value_and_an_empty_route_are_problems():
    twice = Route("r").on("k").when("a", Agent("x")).when("a", Agent("y"))
    with pytest.raises(PipelineError, match='two branches for "a"'):
        validate(to_graph(twice, inputs={"k"}))
    with pytest.raises(PipelineError, match="Route 'r' has no branches"):
        validate(to_graph(Route("r").on("k"), inputs={"k"}))


def test_a_pydantic_model_class_is_its_json_schema():
    pydantic = pytest.importorskip("pydantic")

    class Verdict(pydantic.BaseModel):
        approved: bool
        notes: str

    agent = Agent("critic").output(Verdict).writes("verdict").to_ir()
    assert agent.output is not None and agent.output["required"] == ["approved", "notes"]
    assert from_json(to_json(agent)) == agent


def test_settings_merge_and_the_ir_stays_hashable():
    agent = Agent("a").settings(temperature=0.1).settings(max_tokens=5, stop=["\n"]).to_ir()
    assert dict(agent.settings) == {"temperature": 0.1, "max_tokens": 5, "stop": ["\n"]}
    assert hash(agent) == hash(
        Agent("a").settings(max_tokens=5, stop=["\n"], temperature=0.1).to_ir()
    )
    agent.settings["stop"].append("x")  # a copy: the frozen value does not change
    assert agent.settings["stop"] == ["\n"]


def test_a_route_on_an_unwritten_key_says_it_compares_it_and_offers_no_optional_read():
    typo = Route("t").on("categry").when("bug", Agent("x")).otherwise(Agent("y"))
    with pytest.raises(PipelineError) as caught:
        validate(to_graph(typo, inputs={"category"}))
    text = str(caught.value)
    assert text.startswith("'t' compares 'categry', but no step before it writes 'categry'")
    assert "Did you mean 'category'?" in text and "{categry?}" not in text


def test_a_map_over_cannot_collect_a_key_a_route_in_its_body_writes_on_some_branches():
    route = Route("r").on("item").when("a", Agent("x").instruct("X.").writes("out"))
    route = route.otherwise(Agent("y").instruct("Y.").writes("other"))
    each = MapOver("m").over("items").step(route).collect("out").writes("outs")
    message = "MapOver 'm' collects 'out', but its body writes 'out' only on some branches"
    with pytest.raises(PipelineError, match=message):
        validate(to_graph(each, inputs={"items"}))
    # A value from outside the map-over does not count: each item's own value is collected.
    with pytest.raises(PipelineError, match=message):
        validate(to_graph(Agent("pre").writes("out") >> each, inputs={"items"}))
    inside = MapOver("m").over("items").step(Agent("pre").instruct("P.").writes("out") >> route)
    assert validate(to_graph(inside.collect("out").writes("outs"), inputs={"items"})) == []


def test_a_reader_after_two_partial_routes_gets_an_edge_from_every_possible_writer():
    first = Route("A").on("m").when("x", Agent("a1").writes("k")).otherwise(Agent("a2").writes("k"))
    second = Route("B").on("n").when("y", Agent("b1").writes("k")).otherwise(Agent("b2"))
    reader = Agent("r").instruct("{k}").writes("out")
    G = to_graph(first >> second >> reader, inputs={"m", "n"})
    assert sorted(u for u, _, data in G.in_edges("r", data=True) if "k" in data["keys"]) == [
        "a1",
        "a2",
        "b1",
    ]


def _nested(definite_first: bool) -> Route:
    """Route 'outer': one branch writes 'category'; the other holds route 'inner', which
    writes it only on its "x" branch."""
    c2 = Agent("c2").instruct("C {t}.").output(CATEGORY).writes("category")
    inner = Route("inner").on("t").when("x", c2).otherwise(Agent("n").instruct("N.").writes("m"))
    c4 = Agent("c4").instruct("C {t}.").output(CATEGORY).writes("category")
    outer = Route("outer").on("t")
    return (
        outer.when("y", c4).otherwise(inner)
        if definite_first
        else outer.when("x", inner).otherwise(c4)  # (in a branch for "y", 't' is never "x")
    )


@pytest.mark.parametrize("definite_first", [True, False])
def test_a_key_a_nested_route_writes_on_some_branches_is_not_written_on_every_branch(
    definite_first,
):
    """The outer route took a branch holding the inner route as writing the key: a required
    read after it passed when the writing branch came first, the writer before it lost its
    data edge to the reader, and was said to be overwritten before anything read it."""
    reader = Agent("reader").instruct("Use {category}.").writes("z")
    with pytest.raises(PipelineError, match="route 'inner' writes 'category' only on some"):
        validate(to_graph(_nested(definite_first) >> reader, inputs={"t"}))
    c1 = Agent("c1").instruct("C {t}.").output(CATEGORY).writes("category")
    G = to_graph(c1 >> _nested(definite_first) >> reader, inputs={"t"})
    assert validate(G) == []
    writers = {u for u, _, keys in G.in_edges("reader", data="keys") if "category" in keys}
    assert writers == {"c1", "c2", "c4"}


def test_a_loop_whose_body_may_leave_a_key_does_not_overwrite_the_writer_before_it():
    c1 = Agent("c1").instruct("C {t}.").output(CATEGORY).writes("category")
    c2 = Agent("c2").instruct("C {t}.").output(CATEGORY).writes("category")
    some = Route("some").on("t").when("x", c2).otherwise(Agent("n").instruct("N.").writes("m"))
    reader = Agent("reader").instruct("Use {category}.").writes("z")
    G = to_graph(c1 >> Loop("L").step(some).max_iterations(2) >> reader, inputs={"t"})
    assert validate(G) == []  # was: "'c1' writes 'category', but 'L' overwrites it ..."
    every = Loop("L").step(c2).max_iterations(2)
    assert validate(to_graph(c1 >> every >> reader, inputs={"t"})) == [
        "'c1' writes 'category', but 'L' overwrites it before anything reads it."
    ]


def test_a_loops_stop_value_counts_writers_behind_several_routes():
    """Only the nearest writer's own alternatives counted: 'c0''s "approved", kept when both
    routes take their otherwise branch, was missed and the loop said never to stop early."""

    def verdict(name: str, value: str) -> Agent:
        schema = {"type": "string", "enum": [value]}
        return Agent(name).instruct("Judge {t}.").output(schema).writes("verdict")

    def some(name: str) -> Route:
        other = Agent(f"{name}_n").instruct("N.").writes(f"{name}_x")
        return Route(name).on("t").when(name, verdict(f"{name}_v", "no")).otherwise(other)

    body = verdict("c0", "approved") >> some("r1") >> some("r2")
    loop = Loop("L").step(body).until("verdict", equals="approved").max_iterations(2)
    assert validate(to_graph(loop, inputs={"t"})) == []
    never = Loop("L").step(verdict("c0", "maybe") >> some("r1") >> some("r2"))
    never = never.until("verdict", equals="approved").max_iterations(2)
    assert validate(to_graph(never, inputs={"t"})) == [
        "Loop 'L' stops when 'verdict' equals \"approved\", but none of its writers can write "
        "it ('r2_v', 'r1_v' or 'c0'), so it never stops early. Stop on a value they write, "
        "or let their output schemas allow it."
    ]


@pytest.mark.parametrize(
    ("schema", "equals", "meant"),
    [
        ({"type": "boolean"}, "true", "True"),
        ({"enum": [1, 2]}, "1", "1"),
        ({"enum": ["1"]}, 1, "'1'"),
    ],
)
def test_a_loop_stop_value_spelt_the_other_way_is_told_how_to_write_it(schema, equals, meant):
    """until('ok', equals='true') on a boolean answer warned that the loop never stops early,
    and, unlike a route's .when('true', ...), not that True is the value to write."""
    judge = Agent("judge").instruct("Judge {t}.").output(schema).writes("ok")
    loop = Loop("l").step(judge).until("ok", equals=equals).max_iterations(3)
    (warning,) = validate(to_graph(loop, inputs={"t"}))
    assert warning.endswith(
        f"so it never stops early. Write .until('ok', equals={meant}): a loop compares JSON "
        f"values, so {equals!r} never equals {meant}."
    )


def test_a_route_comparing_a_list_a_map_over_writes_is_refused():
    """A route's .when('a', ...) on the key a map-over collects (always a list, which never
    equals a value a route compares with) passed validate: that branch could never run."""
    each = MapOver("each").over("t", item="i").step(Agent("d").instruct("D {i}").writes("o"))
    route = Route("r").on("ds").when("a", Agent("x").writes("y")).otherwise(Agent("z").writes("y"))
    with pytest.raises(PipelineError) as refused:
        validate(to_graph(each.writes("ds") >> route, inputs={"t"}))
    assert (refused.value.node, refused.value.key) == ("r", "ds")
    assert str(refused.value).startswith(
        "Route 'r' compares 'ds' with \"a\", but map-over 'each' writes 'ds' as the list of what "
        "its items give"
    )
    assert ".when(lambda state: 'a' in state['ds'], ...)" in str(refused.value)
