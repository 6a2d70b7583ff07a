"""A route's values are checked against the writers whose write may be the last before it.

A writer always overwritten before the route is no source of its value; in a loop, a writer
later in the body is one, from the second pass on; a route that writes the key on some
branches keeps what was there before on the others, however deeply it is nested; parallel
branches that both write the key are each a source; a map-over's item comes from every list
that may reach the map-over; and a path on which nothing wrote the key leaves it to the
initial state, which may hold anything. (:func:`irgraph.reaching.reaching` is the analysis.)
"""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings

from irgraph import Agent, Loop, MapOver, PipelineError, Route, run, to_graph, validate
from irgraph.code import to_code
from irgraph.reaching import Narrowed, narrowed, reaching
from irgraph.testing import FakeProvider
from irgraph.testing.strategies import pipelines_with_inputs
from irgraph.walk import INPUT
from tests.support.route_shapes import route_shapes


def cl(name: str, *values: str, key: str = "category") -> Agent:
    enum = {"type": "string", "enum": list(values)}
    return Agent(name).instruct("Classify {t}.").output(enum).writes(key)


def route(*values: Any, otherwise: bool = False, key: str = "category") -> Route:
    made = Route("r").on(key)
    for index, value in enumerate(values):
        made = made.when(value, Agent(f"b{index}").instruct("B.").writes("q"))
    return made.otherwise(Agent("o").instruct("O.").writes("q")) if otherwise else made


def said(pipeline: Any, inputs: Any = ("t",)) -> tuple[list[str], list[str]]:
    G = to_graph(pipeline, inputs=set(inputs))
    return [p["message"] for p in G.graph["problems"]], G.graph["warnings"]


def use() -> Agent:
    return Agent("use").instruct("Use {category}.").writes("used")


def reached(pipeline: Any, wanted: dict[str, str], inputs: Any = ("t",)) -> dict[str, Any]:
    G = to_graph(pipeline, inputs=set(inputs))
    return {node: sorted(found) for node, found in reaching(G, G.graph["tree"], wanted).items()}


# 1. The order of writes -------------------------------------------------------------------


def test_a_writer_overwritten_earlier_in_a_loop_body_is_no_source_of_the_routes_value():
    """In a loop, every writer of the body counted: 'classify''s A and B were said to be
    uncovered, though 'c3' always overwrites them before the route."""
    body = cl("classify", "A", "B") >> use() >> cl("c3", "X", "Y") >> route("X", "Y")
    pipeline = Loop("L").step(body).max_iterations(2)
    assert said(pipeline) == ([], [])
    assert validate(to_graph(pipeline, inputs={"t"})) == []


def test_a_value_only_an_overwritten_writer_allows_is_refused_naming_the_last_writer():
    """'classify' allows "A", which hid that 'c3', the writer the route really sees, never
    writes it."""
    body = cl("classify", "A", "B") >> use() >> cl("c3", "X", "Y")
    pipeline = Loop("L").step(body >> route("X", "Y", "A")).max_iterations(2)
    with pytest.raises(PipelineError) as caught:
        validate(to_graph(pipeline, inputs={"t"}))
    assert str(caught.value) == (
        'Route \'r\' has a branch for "A", but \'category\' can only be one of "X", "Y" (the '
        'enum of agent \'c3\'), so that branch can never run. Use one of "X", "Y", or add '
        "\"A\" to the enum of 'c3'."
    )


def test_a_writer_later_in_the_body_counts_only_when_no_write_comes_between():
    # 'c2' writes after the route, but 'c1' writes again before it on every pass
    body = cl("c1", "A") >> route("A", "X", otherwise=True) >> cl("c2", "X")
    (problem,) = said(Loop("L").step(body).max_iterations(3))[0]
    assert 'branch for "X", but \'category\' can only be "A"' in problem
    # without 'c1' in the body, 'c2''s value reaches the route on the next pass
    body = route("A", "X", otherwise=True) >> cl("c2", "X")
    assert said(cl("c1", "A") >> Loop("L").step(body).max_iterations(3)) == ([], [])


def test_a_route_rewriting_the_key_on_one_branch_inside_another_route_is_followed():
    """The outer route replaced what the inner one recorded, so 'c1''s value, which the inner
    route's other branch keeps, was lost: "A" was refused though a run routes it."""
    # (the inner route compares another key: in the outer's branch for "y", 't' is "y")
    inner = Route("inner").on("u").when("x", cl("c2", "Z")).otherwise(use())
    outer = Route("outer").on("t").when("y", inner).otherwise(cl("c4", "W"))
    pipeline = cl("c1", "A") >> outer >> route("A", "Z", "W")
    assert said(pipeline, ("t", "u"))[0] == []
    state = {"t": "y", "u": "y"}
    done = run(pipeline, provider=FakeProvider(responses={"c1": '"A"'}), state=state)
    assert done.state["category"] == "A" and done.state["q"].startswith("<b0")
    (problem,) = said(cl("c1", "A") >> outer >> route("A", "Z", "W", "V"), ("t", "u"))[0]
    assert "one of \"A\", \"Z\", \"W\" (what agents 'c1', 'c2' and 'c4' may write there)" in (
        problem
    )


def test_a_path_with_no_write_leaves_the_value_to_the_initial_state():
    # the first pass meets the key unwritten: the initial state may hold anything
    pipeline = Loop("L").step(route("A", "Q", otherwise=True) >> cl("c1", "A"))
    assert said(pipeline.max_iterations(2)) == ([], [])
    assert said(pipeline.max_iterations(2), inputs=("t", "category")) == ([], [])


# 2. Parallel writers, each a source ---------------------------------------------------------


def test_parallel_writers_inside_a_route_branch_are_each_a_source():
    """The outer route kept only the last parallel writer: besides the clash, "A" was
    refused though 'p1' writes it."""
    both = Route("o").on("t").when("z", cl("p1", "A") | cl("p2", "B")).otherwise(cl("p4", "D"))
    problems, _ = said(both >> route("A", "B", "D"))
    assert len(problems) == 1 and "both write 'category'" in problems[0]
    problems, _ = said(both >> route("A", "B", "D", "C"))
    assert len(problems) == 2
    assert problems[1] == (
        'Route \'r\' has a branch for "C", but \'category\' can only be one of "A", "B", "D" '
        "(what agents 'p1', 'p2' and 'p4' may write there), so that branch can never run."
    )


def test_a_branch_that_may_leave_the_key_beside_one_that_writes_it_hides_the_value_before():
    maybe = Route("m").on("t").when("z", cl("p1", "A")).otherwise(use())
    pipeline = cl("c0", "Q") >> (maybe | cl("p2", "B")) >> route("A", "B", "Q")
    (clash, problem) = said(pipeline)[0]
    assert "both write 'category'" in clash
    assert 'branch for "Q", but \'category\' can only be one of "A", "B"' in problem


def picks(name: str, *values: str) -> Route:
    made = Route(name).on("category")
    for value in values:
        made = made.when(value, Agent(f"{name}_{value}").instruct("B.").writes(f"q_{name}"))
    return made


def test_a_branch_that_always_writes_the_key_hides_the_value_a_sibling_route_compared():
    """'p1' writes 'category' whenever its write lands, and 'r1' in the other branch leaves
    it alone: after the block it holds 'p1''s value. 'c0''s value, narrowed by 'r1', was
    said to get past the block too, so a branch for "C" (only 'c0' writes it) was accepted."""
    block = cl("p1", "A", "B") | picks("r1", "A", "C")
    (race, problem) = said(cl("c0", "A", "B", "C") >> block >> route("A", "B", "C"))[0]
    assert "'r1' reads 'category', which its parallel sibling 'p1' writes" in race
    assert problem.startswith(
        'Route \'r\' has a branch for "C", but \'category\' can only be one of "A", "B" (the '
        "enum of agent 'p1')"
    )
    # a branch that may leave the key alone lets the value from before past, as 'r1' took it
    maybe = Route("m").on("t").when("z", cl("p1", "A", "B")).otherwise(use())
    G = to_graph(cl("c0", "A", "B", "C") >> (maybe | picks("r1", "A", "C")) >> route("A"))
    found = narrowed(G, G.graph["tree"], {"r": "category"})["r"]
    assert found == {"p1", Narrowed("c0", "r1", ("A", "C"))}


def test_after_parallel_routes_that_each_narrow_the_key_it_holds_what_all_let_through():
    """Neither branch writes 'category': a run gets past the block only with a value both
    routes take, "C"; the value was told as either route let it through ("A", "B" or "C").
    Both routes narrowed it: 'r1' is kept as the route before, with what it let through."""
    block = picks("r1", "A", "C") | picks("r2", "B", "C")
    G = to_graph(cl("c0", "A", "B", "C") >> block >> route("A", "C", otherwise=True))
    found = narrowed(G, G.graph["tree"], {"r": "category"})["r"]
    assert found == {Narrowed("c0", "r2", ("C",), (), (("r1", ("A", "C")),))}
    (problem,) = [p["message"] for p in G.graph["problems"]]
    assert problem.startswith(
        "Route 'r' has a branch for \"A\", but 'category' can only be \"C\" when 'r' runs"
    )


# 3. A map-over's item from several lists ----------------------------------------------------


def listing(name: str, *values: str) -> Agent:
    items = {"type": "array", "items": {"type": "string", "enum": list(values)}}
    return Agent(name).instruct("List {t}.").output(items).writes("ks")


def each(body: Any) -> Any:
    lists = Route("pick").on("t").when("x", listing("l1", "a")).otherwise(listing("l2", "b"))
    return lists >> MapOver("m").over("ks", item="category").step(body).writes("qs")


def test_a_route_on_an_item_of_a_list_with_several_writers_is_checked_against_each():
    """With two possible writers of the list, the item was compared with anything."""
    (problem,) = said(each(route("a", "b", "c", otherwise=True)))[0]
    assert problem == (
        'Route \'r\' has a branch for "c", but \'category\' can only be one of "a", "b" (what '
        "the items of the lists agents 'l1' and 'l2' write to 'ks' may hold), so that branch "
        "can never run."
    )
    assert said(each(route("a")))[1] == [
        "Route 'r' has no branch for \"b\" (values the items of 'ks' may hold as 'category') "
        "and no otherwise, so the run fails if it gets one; add .when(...) for each, or "
        ".otherwise(step)."
    ]
    assert said(each(route("a", "b"))) == ([], [])
    done = run(each(route("a", "b")), provider=FakeProvider(), state={"t": "y"})
    assert len(done.state["qs"]) == len(done.state["ks"])


def test_a_constraint_of_every_lists_items_refuses_a_value():
    def lister(name: str, pattern: str) -> Agent:
        items = {"type": "array", "items": {"type": "string", "pattern": pattern}}
        return Agent(name).instruct("List {t}.").output(items).writes("ks")

    lists = Route("pick").on("t").when("x", lister("l1", "^a")).otherwise(lister("l2", "^b"))
    body = route("ab", "ba", "cc", otherwise=True)
    pipeline = lists >> MapOver("m").over("ks", item="category").step(body).writes("qs")
    with pytest.raises(PipelineError) as caught:
        validate(to_graph(pipeline, inputs={"t"}))
    assert str(caught.value) == (
        "Route 'r' has a branch for \"cc\", but the item schemas of the lists that agents "
        "'l1' and 'l2' write to 'ks' refuse it (the first: 'cc' does not match '^a'); a "
        "structured answer is checked against its schema before it is written, so that branch "
        "can never run. Compare with a value the schema allows, or change the output schema "
        "of the items of 'l1' or 'l2' to allow it."
    )


def test_a_list_one_writer_may_write_as_anything_lets_the_item_be_anything():
    lists = Route("pick").on("t").when("x", listing("l1", "a"))
    lists = lists.otherwise(Agent("l2").instruct("L.").output({"type": "array"}).writes("ks"))
    body = route("a", "zzz", otherwise=True)
    assert said(lists >> MapOver("m").over("ks", item="category").step(body).writes("qs")) == (
        [],
        [],
    )


def rows(items: Any) -> Agent:
    return Agent("l").instruct("List {t}.").output({"type": "array", "items": items}).writes("rs")


def cells(body: Any) -> Any:
    inner = MapOver("inner").over("row", item="category").step(body).writes("qs")
    return MapOver("outer").over("rs", item="row").step(inner).writes("all")


def test_a_route_on_an_item_of_an_item_is_checked_against_the_inner_item_schema():
    """The inner map-over's list is an item of the outer one's: its items were taken to be
    anything, and "c", which no item holds, was accepted."""
    enum = {"type": "array", "items": {"type": "string", "enum": ["a", "b"]}}
    (problem,) = said(rows(enum) >> cells(route("a", "c", otherwise=True)))[0]
    assert problem == (
        'Route \'r\' has a branch for "c", but \'category\' can only be one of "a", "b" (the '
        "enum of the items agent 'l' writes to 'row', an item of 'rs'), so that branch can "
        "never run."
    )
    G = to_graph(rows(enum) >> cells(route("a", "c", otherwise=True)), inputs={"t"})
    assert G.graph["problems"][0]["hint"] == (
        'Use one of "a", "b", or add "c" to the enum of the items of the items of \'l\'.'
    )
    assert said(rows(enum) >> cells(route("a")))[1] == [
        "Route 'r' has no branch for \"b\" (values the items of 'row', an item of 'rs' may "
        "hold as 'category') and no otherwise, so the run fails if it gets one; add .when(...) "
        "for each, or .otherwise(step)."
    ]
    pipeline = rows(enum) >> cells(route("a", "b"))
    assert said(pipeline) == ([], [])
    done = run(
        pipeline, provider=FakeProvider(responses={"l": '[["a", "b"], ["b"]]'}), state={"t": 1}
    )
    assert [len(row) for row in done.state["all"]] == [2, 1]
    # items of unknown schema: anything
    assert said(rows({"type": "array"}) >> cells(route("a", "c", otherwise=True))) == ([], [])


def test_a_map_over_of_an_item_that_is_no_list_is_refused():
    """The outer list's items are strings: the inner map-over failed at run time."""
    (problem,) = said(rows({"type": "string"}) >> cells(route("a", otherwise=True)))[0]
    assert problem == (
        "MapOver 'inner' iterates over 'row', an item of 'rs', but agent 'l' writes each of "
        "those items as a JSON string, not a list."
    )


# The analysis itself ------------------------------------------------------------------------


def test_reaching_follows_each_kind_of_block():
    x, y = Agent("x").writes("k"), Agent("y").writes("k")
    probe = Route("p").on("k").when(1, Agent("a")).otherwise(Agent("b"))
    assert reached(x >> y >> probe, {"p": "k"}) == {"p": ["y"]}
    assert reached((x | Agent("n")) >> probe, {"p": "k"}) == {"p": ["x"]}
    assert reached(y >> (x | Agent("n")) >> probe, {"p": "k"}) == {"p": ["x"]}
    maybe = Route("m").on("t").when(1, x).otherwise(Agent("n"))
    assert reached(maybe >> probe, {"p": "k"}) == {"p": [INPUT, "x"]}
    assert reached(y >> (maybe | Agent("n2")) >> probe, {"p": "k"}) == {"p": ["x", "y"]}
    looped = Loop("L").step(probe >> x).max_iterations(2)
    assert reached(y >> looped, {"p": "k"}) == {"p": ["x", "y"]}
    once = Loop("L").step(probe >> x).max_iterations(1)  # no next pass
    assert reached(y >> once, {"p": "k"}) == {"p": ["y"]}
    body = Agent("z").instruct("{it}").writes("k")
    mapped = MapOver("m2").over("t", item="k").step(probe >> body).writes("k")
    assert reached(
        y >> mapped >> Route("p2").on("k").when(1, Agent("c")), {"p": "k", "p2": "k"}
    ) == {
        "p": ["m2"],
        "p2": ["m2"],
    }


def test_nested_loops_and_parallel_blocks_stay_quick():
    """Each loop pass re-ran its body, and a parallel block's branches were followed anew for
    each state before it: loops nested in parallel blocks nested in loops took time and
    memory doubling with each level."""
    inner: Any = route("A", otherwise=True) >> cl("w0", "A")
    for level in range(1, 60):
        body = (inner | Agent(f"x{level}").writes(f"y{level}")) if level % 2 else inner
        inner = Loop(f"L{level}").step(body).max_iterations(2)
    G = to_graph(inner, inputs={"t"})
    assert G.graph["problems"] == []
    probe = Route("p").on("category").when(1, Agent("a")).otherwise(Agent("b"))
    assert reached(inner >> probe, {"r": "category", "p": "category"}) == {
        "r": [INPUT, "w0"],
        "p": ["w0"],
    }


# Against every execution, enumerated -----------------------------------------------------

_BEFORE = "<before the parallel block>"


class _Runs:
    """Every state (key -> the writer of its value) each node can start from, by running the
    tree concretely: each branch of a route, one to three passes of a loop (as many as it
    may run; more add no writer of a key), the body of a map-over for an item, and, after a
    parallel block, any one of the branches that wrote a key as its writer."""

    def __init__(self, G: Any, keys: list[str]) -> None:
        self.nodes, self.keys = G.nodes, keys
        self.seen: dict[str, set[tuple[str, ...]]] = {}

    def set(self, state: tuple[str, ...], key: str, writer: str) -> tuple[str, ...]:
        index = self.keys.index(key)
        return (*state[:index], writer, *state[index + 1 :])

    def run(self, tree: Any, states: set[tuple[str, ...]], noting: bool) -> set[Any]:
        if isinstance(tree, list):
            for child in tree:
                states = self.run(child, states, noting)
            return states
        if isinstance(tree, dict) and "node" not in tree:
            if tree["kind"] == "sequence":
                return self.run(tree["children"], states, noting)
            return {end for state in states for end in self.fan_out(tree, state, noting)}
        node = tree if isinstance(tree, str) else tree["node"]
        data = self.nodes[node]
        if noting:
            self.seen.setdefault(node, set()).update(states)
        if isinstance(tree, str):
            for key in set(data["writes"]) & set(self.keys):
                states = {self.set(state, key, node) for state in states}
            return states
        body = tree["children"]
        if data["kind"] == "route":
            return set().union(*(self.run(b, states, noting) for b in body)) if body else states
        if data["kind"] == "loop":
            ends: set[Any] = set()
            for _ in range(min(data["max_iterations"], 3)):
                states = self.run(body, states, noting)
                ends |= states
            return ends
        inner = states
        if data["item"] in self.keys:
            inner = {self.set(state, data["item"], node) for state in states}
        self.run(body, inner, noting)
        for key in set(data["writes"]) & set(self.keys):
            states = {self.set(state, key, node) for state in states}
        return states

    def fan_out(self, tree: Any, state: tuple[str, ...], noting: bool) -> set[Any]:
        for branch in tree["children"]:
            self.run(branch, {state}, noting)  # what nodes in the branch start from
        blank = tuple(_BEFORE for _ in self.keys)
        ends = [self.run(branch, {blank}, False) for branch in tree["children"]]
        merged: set[Any] = set()
        for combo in itertools.product(*ends):
            options = []
            for index, before in enumerate(state):
                wrote = {end[index] for end in combo if end[index] != _BEFORE}
                options.append(sorted(wrote) or [before])
            merged.update(itertools.product(*options))
        return merged or {state}


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pipelines_with_inputs(max_depth=3, max_width=3))
def test_reaching_is_what_every_execution_can_meet(case):
    pipeline, state = case
    G = to_graph(pipeline, inputs=set(state))
    tree = G.graph["tree"]
    keys = sorted(
        {k for _, data in G.nodes(data=True) for k in data["writes"]}
        | {data["item"] for _, data in G.nodes(data=True) if data["kind"] == "map_over"}
    )
    if not keys:
        return
    runs = _Runs(G, keys)
    runs.run(tree, {tuple(INPUT for _ in keys)}, True)
    for index, key in enumerate(keys):
        found = reaching(G, tree, {node: key for node in G.nodes})
        met = {node: {state[index] for state in runs.seen[node]} for node in G.nodes}
        assert found == met, (key, to_code(pipeline))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(route_shapes(route_key="t", values=("v0", "v1", "v2"), probes=True))
def test_reaching_is_what_every_execution_of_a_racing_pipeline_can_meet(pipeline):
    G = to_graph(pipeline, inputs={"t"})
    runs = _Runs(G, ["j", "k"])
    runs.run(G.graph["tree"], {(INPUT, INPUT)}, True)
    for index, key in enumerate(["j", "k"]):
        found = reaching(G, G.graph["tree"], {node: key for node in G.nodes})
        met = {node: {state[index] for state in runs.seen[node]} for node in G.nodes}
        assert found == met, (key, to_code(pipeline))


def test_a_branch_no_value_can_take_leaves_nothing_after_its_route():
    # Inside the outer route's branch for "x", the inner route takes "x" to its own first
    # branch, so its predicate's branch never runs: what that branch writes reaches nothing
    # after it (a loop's pass ends with the first branch's write only).
    from irgraph.reaching import narrowed_ends
    from irgraph.testing.predicates import always

    pipeline = (
        Route("outer")
        .on("k")
        .when(
            "x",
            Loop("again")
            .step(
                Route("inner")
                .on("k")
                .when("x", Agent("taken").instruct("W.").writes("k"))
                .when(always, Agent("never").instruct("W.").writes("k"))
            )
            .max_iterations(1),
        )
    )
    G = to_graph(pipeline, inputs={"k"})
    _, ended = narrowed_ends(G, G.graph["tree"], {}, {"again": "k"})
    assert {getattr(item, "source", item) for item in ended["again"]} == {"taken"}
