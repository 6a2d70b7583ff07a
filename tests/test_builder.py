"""The fluent builder: new objects from every method, operators, loops, names, bad arguments."""

from __future__ import annotations

import inspect
from typing import Any

import attrs
import pytest

from irgraph import Agent, FanOut, Gate, Loop, MapOver, Pipeline, PipelineError, Transform
from irgraph.code import to_code
from irgraph.ir import (
    AgentNode,
    FunctionRef,
    GateNode,
    LoopNode,
    MapOverNode,
    ParallelNode,
    SequenceNode,
    TransformNode,
)
from irgraph.routing import Route


def shout(text: str) -> str:
    return text.upper()


def always(state: object) -> bool:
    return True


def names(node: SequenceNode | ParallelNode | LoopNode | MapOverNode) -> list[str]:
    return [child.name for child in node.children]


# every method returns a new builder -------------------------------------------------------

METHOD_CALLS = [
    (lambda: Agent("a"), lambda b: b.instruct("Go {x}.")),
    (lambda: Agent("a"), lambda b: b.writes("x")),
    (lambda: Agent("a"), lambda b: b.model("m")),
    (lambda: Agent("a"), lambda b: b.describe("d")),
    (lambda: Agent("a"), lambda b: b.timeout(2)),
    (lambda: Pipeline("p"), lambda b: b.step(Agent("a"))),
    (lambda: FanOut("f"), lambda b: b.branch(Agent("a"))),
    (lambda: Loop("l"), lambda b: b.step(Agent("a"))),
    (lambda: Loop("l"), lambda b: b.max_iterations(2)),
    (lambda: Loop("l"), lambda b: b.until("done")),
    (lambda: MapOver("m"), lambda b: b.over("xs", item="x")),
    (lambda: MapOver("m"), lambda b: b.step(Agent("a"))),
    (lambda: MapOver("m"), lambda b: b.collect("y")),
    (lambda: MapOver("m"), lambda b: b.writes("ys")),
    (lambda: MapOver("m"), lambda b: b.max_concurrency(2)),
    (lambda: Gate("g"), lambda b: b.message("OK?")),
    (lambda: Gate("g"), lambda b: b.writes("ok")),
    (lambda: Gate("g"), lambda b: b.timeout(5)),
    (lambda: Transform("t", shout), lambda b: b.reads("text")),
    (lambda: Transform("t", shout), lambda b: b.writes("loud")),
    (lambda: Transform("t", shout), lambda b: b.timeout(1)),
    (lambda: Agent("a"), lambda b: b.inputs("topic")),
    (lambda: Pipeline("p"), lambda b: b.inputs("topic")),
    (lambda: Agent("a") >> Agent("b"), lambda b: b.inputs("topic")),
]


@pytest.mark.parametrize(("make", "call"), METHOD_CALLS)
def test_every_method_returns_a_new_builder_and_leaves_the_original_alone(make, call):
    original = make()
    before = original.to_ir()
    changed = call(original)
    assert changed is not original
    assert type(changed) is type(original)
    assert original.to_ir() == before
    assert changed.to_ir() != before


@pytest.mark.parametrize(
    ("make", "example"),
    [
        (lambda: Agent("writer").model(""), "such as 'gpt-4o-mini'"),
        (lambda: Agent("writer").engine(""), "such as 'asyncio' or 'prefect'"),
    ],
)
def test_an_empty_model_or_engine_gets_an_example_of_a_model_or_engine_not_a_node_name(
    make, example
):
    with pytest.raises(PipelineError) as caught:
        make()
    assert example in str(caught.value) and "'researcher'" not in str(caught.value)


def test_engine_is_a_builder_setting_not_part_of_the_ir():
    original = Agent("a")
    changed = original.engine("prefect")
    assert changed is not original
    assert changed._config["_engine"] == "prefect" and "_engine" not in original._config
    assert changed.to_ir() == original.to_ir()


def test_a_sequence_reused_in_two_places_does_not_alias():
    base = Agent("a") >> Agent("b")
    left = base >> Agent("c")
    right = base >> Agent("d")
    assert names(left.to_ir()) == ["a", "b", "c"]
    assert names(right.to_ir()) == ["a", "b", "d"]
    assert names(base.to_ir()) == ["a", "b"]


def test_an_explicit_pipeline_reused_with_step_does_not_alias():
    base = Pipeline("p").step(Agent("a"))
    one = base.step(Agent("b"))
    two = base.step(Agent("c")).step(Agent("d"))
    assert names(base.to_ir()) == ["a"]
    assert names(one.to_ir()) == ["a", "b"]
    assert names(two.to_ir()) == ["a", "c", "d"]


def test_a_fanout_reused_in_two_places_does_not_alias():
    base = Agent("a") | Agent("b")
    assert names((base | Agent("c")).to_ir()) == ["a", "b", "c"]
    assert names((base | Agent("d")).to_ir()) == ["a", "b", "d"]
    assert names(base.to_ir()) == ["a", "b"]


def test_a_configured_agent_reused_keeps_its_settings_in_each_place():
    writer = Agent("w").instruct("Write.").writes("draft")
    loud = writer.model("big")
    assert writer.to_ir().model is None
    assert loud.to_ir() == AgentNode("w", instruction="Write.", writes="draft", model="big")


# operators ---------------------------------------------------------------------------------


def test_rshift_flattens_operator_sequences_on_both_sides():
    a, b, c, d = (Agent(n) for n in "abcd")
    node = ((a >> b) >> (c >> d)).to_ir()
    assert isinstance(node, SequenceNode)
    assert names(node) == ["a", "b", "c", "d"]
    assert all(isinstance(child, AgentNode) for child in node.children)
    assert (a >> (b >> c)).to_ir() == (a >> b >> c).to_ir()


def test_rshift_keeps_an_explicit_pipeline_as_one_step():
    node = (Pipeline("p").step(Agent("a")).step(Agent("b")) >> Agent("c")).to_ir()
    assert names(node) == ["p", "c"]
    assert isinstance(node.children[0], SequenceNode)
    assert names(node.children[0]) == ["a", "b"]


def test_or_flattens_operator_fanouts_and_keeps_sequences_as_branches():
    a, b, c, d = (Agent(n) for n in "abcd")
    node = ((a | b) | (c | d)).to_ir()
    assert isinstance(node, ParallelNode)
    assert names(node) == ["a", "b", "c", "d"]
    mixed = (a >> b | c).to_ir()
    assert isinstance(mixed, ParallelNode)
    assert isinstance(mixed.children[0], SequenceNode)
    assert names(mixed.children[0]) == ["a", "b"]


def test_a_fanout_inside_a_sequence_stays_a_parallel_node():
    node = (Agent("a") >> (Agent("b") | Agent("c")) >> Agent("d")).to_ir()
    assert [type(c).__name__ for c in node.children] == ["AgentNode", "ParallelNode", "AgentNode"]


def test_rshift_accepts_an_ir_node_on_the_right():
    node = (Agent("a") >> AgentNode("b", writes="x")).to_ir()
    assert node.children[1] == AgentNode("b", writes="x")


def test_times_wraps_in_a_loop_of_that_many_iterations():
    loop = (Agent("a") * 2).to_ir()
    assert loop == LoopNode("a_x2", (AgentNode("a"),), max_iterations=2)
    assert (3 * Agent("a")).to_ir().max_iterations == 3


def test_times_on_a_loop_wraps_it_in_a_new_loop():
    twice_thrice = ((Agent("a") * 2) * 3).to_ir()
    assert twice_thrice.max_iterations == 3
    assert len(twice_thrice.children) == 1
    inner = twice_thrice.children[0]
    assert isinstance(inner, LoopNode)
    assert inner.max_iterations == 2
    assert inner.children == (AgentNode("a"),)


def test_times_on_an_explicit_loop_wraps_it_too():
    explicit = Loop("refine").step(Agent("a")).max_iterations(2)
    outer = (explicit * 3).to_ir()
    assert outer.max_iterations == 3
    assert outer.children == (explicit.to_ir(),)


def test_times_on_a_sequence_loops_its_steps():
    loop = ((Agent("a") >> Agent("b")) * 2).to_ir()
    assert names(loop) == ["a", "b"]
    assert loop.name == "a_then_b_x2"


@pytest.mark.parametrize("times", [0, -1, True, False, 2.0, "3", None])
def test_times_needs_a_whole_number_of_at_least_one(times):
    with pytest.raises(PipelineError, match="'critic'") as info:
        Agent("critic") * times
    assert info.value.node == "critic"


def test_operators_reject_non_builders_and_name_the_left_side():
    with pytest.raises(PipelineError, match="'a'.>>") as info:
        Agent("a") >> "b"
    assert info.value.node == "a"
    with pytest.raises(PipelineError, match=r"'a'\.\|"):
        Agent("a") | 3
    with pytest.raises(PipelineError, match="Transform"):
        Agent("a") >> shout


# names -------------------------------------------------------------------------------------


def test_operator_composites_are_named_after_their_children():
    a, b, c = Agent("a"), Agent("b"), Agent("c")
    assert (a >> b).name == "a_then_b"
    assert (a | b | c).name == "a_and_b_and_c"
    assert (a >> (b | c)).to_ir().name == "a_then_b_and_c"
    assert (a * 2).name == "a_x2"


def test_long_operator_names_are_abbreviated():
    chain = Agent("a") >> Agent("b") >> Agent("c") >> Agent("d") >> Agent("e")
    assert chain.name == "a_then_b_then_..._then_e"
    assert chain.to_ir().name == chain.name


def test_explicit_names_are_kept():
    assert Pipeline("research").step(Agent("a")).to_ir().name == "research"
    assert FanOut("both").branch(Agent("a")).to_ir().name == "both"
    assert Loop("refine").step(Agent("a")).max_iterations(1).to_ir().name == "refine"


@pytest.mark.parametrize("cls", [Agent, Pipeline, FanOut, Loop, MapOver, Gate])
@pytest.mark.parametrize("bad", ["", "   ", None, 3])
def test_a_builder_needs_a_non_empty_name(cls, bad):
    expected = rf"The name given to {cls.__name__}\(\) must be a non-empty string"
    with pytest.raises(PipelineError, match=expected):
        cls(bad)


# settings reach the IR ---------------------------------------------------------------------


def test_agent_settings_reach_the_ir():
    node = (
        Agent("w")
        .instruct("Write {topic}.")
        .writes("draft")
        .model("m1")
        .describe("Writes.")
        .timeout(3)
        .to_ir()
    )
    assert node == AgentNode(
        "w",
        instruction="Write {topic}.",
        writes="draft",
        model="m1",
        description="Writes.",
        timeout=3.0,
    )


def test_transform_settings_reach_the_ir():
    node = Transform("t", shout).reads("text", "extra").writes("loud").timeout(2).to_ir()
    assert node == TransformNode(
        "t", FunctionRef(f"{__name__}:shout"), reads=("text", "extra"), writes="loud", timeout=2
    )
    assert node.fn.fn is shout


def test_transform_accepts_an_import_path():
    node = Transform("t", "irgraph.testing.strategies:join_values").to_ir()
    assert node.fn == FunctionRef("irgraph.testing.strategies:join_values")
    assert node.fn.fn is None


def test_gate_message_from_constructor_or_method():
    assert Gate("g", "OK {x}?").to_ir() == Gate("g").message("OK {x}?").to_ir()
    assert Gate("g", "OK {x}?").writes("ok").to_ir() == GateNode("g", "OK {x}?", writes="ok")


def test_loop_until_takes_a_key_or_a_function():
    assert Loop("l").step(Agent("a")).until("done").to_ir().until == "done"
    until = Loop("l").until(always).to_ir().until
    assert until == FunctionRef(f"{__name__}:always")
    assert until.fn is always


def test_map_over_collects_the_last_written_key_by_default():
    body = Agent("a").instruct("{item}").writes("first") >> Agent("b").writes("second")
    node = MapOver("m").over("xs").step(body).writes("out").to_ir()
    assert node.collect == "second"
    assert node.item == "item"
    explicit = MapOver("m").over("xs", item="x").step(body).collect("first").to_ir()
    assert (explicit.collect, explicit.item) == ("first", "x")


def test_map_over_default_collect_ignores_keys_inside_a_nested_map_over():
    inner = MapOver("inner").over("ys").step(Agent("a").writes("y")).writes("ys_out")
    outer = MapOver("outer").over("xs").step(Agent("t").writes("ys")).step(inner).writes("out")
    assert outer.to_ir().collect == "ys_out"


def test_steps_may_be_ir_nodes():
    node = Pipeline("p").step(AgentNode("a")).step(Agent("b")).to_ir()
    assert node.children == (AgentNode("a"), AgentNode("b"))


# declared inputs ----------------------------------------------------------------------------


def test_every_builder_declares_inputs_in_its_ir():
    builders = [
        Agent("a"),
        Pipeline("p"),
        FanOut("f"),
        Loop("l"),
        MapOver("m"),
        Gate("g"),
        Transform("t", shout),
    ]
    for builder in builders:
        assert builder.to_ir().inputs == ()
        assert builder.inputs("topic", "audience").to_ir().inputs == ("topic", "audience")


def test_inputs_given_to_the_constructor_or_the_method_are_the_same():
    step = Agent("w").instruct("Write {topic}.")
    by_constructor = Pipeline("p", inputs=["topic"]).step(step)
    by_method = Pipeline("p").step(step).inputs("topic")
    assert by_constructor.to_ir() == by_method.to_ir()
    assert by_constructor.to_ir().inputs == ("topic",)
    for cls in (Agent, Pipeline, FanOut, Loop, MapOver):
        assert cls("x", inputs=("topic",)).to_ir() == cls("x").inputs("topic").to_ir()


def test_inputs_take_one_list_of_keys_as_the_constructor_does():
    """.inputs(['topic', 'audience']), as Pipeline('p', inputs=[...]) is written, was refused:
    'must be a state key (got ['topic', 'audience'] of type list)'."""
    step = Agent("w").instruct("Write {topic} for {audience}.")
    declared = ("topic", "audience")
    assert step.inputs(["topic", "audience"]).to_ir().inputs == declared
    assert step.inputs({"topic", "audience"}).to_ir().inputs == ("audience", "topic")
    assert Pipeline("p", inputs=list(declared)).step(step).to_ir() == (
        Pipeline("p").step(step).inputs(list(declared)).to_ir()
    )


def test_inputs_replace_the_ones_declared_before():
    assert Agent("a").inputs("x").inputs("y", "z").to_ir().inputs == ("y", "z")
    assert Agent("a").inputs("x").inputs().to_ir().inputs == ()


def test_operator_composites_have_no_inputs_until_asked():
    a, b = Agent("a"), Agent("b")
    assert (a >> b).to_ir().inputs == ()
    assert (a | b).to_ir().inputs == ()
    declared = (a >> b).inputs("topic").to_ir()
    assert declared == SequenceNode("a_then_b", (AgentNode("a"), AgentNode("b")), ("topic",))


def test_a_composite_declaring_inputs_is_not_spliced_by_operators():
    a, b, c = Agent("a"), Agent("b"), Agent("c")
    inner = (a >> b).inputs("topic")
    outer = (inner >> c).to_ir()
    assert outer.inputs == ()
    assert outer.children == (inner.to_ir(), AgentNode("c"))
    looped = (inner * 2).to_ir()
    assert looped.children == (inner.to_ir(),)


def test_to_code_prints_declared_inputs_and_rebuilds_them():
    a, b = Agent("a").instruct("{topic}").writes("x"), Agent("b").instruct("{x}")
    for pipeline in [
        (a >> b).inputs("topic"),
        (a >> b).inputs("topic") >> Agent("c"),
        Pipeline("p", inputs=["topic"]).step(a),
        a.inputs("topic"),
        (a | b).inputs("topic") * 2,
    ]:
        code = to_code(pipeline)
        assert ".inputs('topic')" in code
        namespace: dict[str, Any] = {}
        exec(code, namespace)
        assert namespace["pipeline"].to_ir() == pipeline.to_ir(), code


# pinned ids -----------------------------------------------------------------------------------


def test_every_builder_takes_a_pinned_id_and_to_ir_carries_it():
    builders = [
        Agent("a", id="pin"),
        Pipeline("p", id="pin").step(Agent("a")),
        FanOut("f", id="pin").branch(Agent("a")),
        Loop("l", id="pin").step(Agent("a")),
        MapOver("m", id="pin").over("xs").step(Agent("a").writes("y")),
        Gate("g", "OK?", id="pin"),
        Transform("t", shout, id="pin").reads("x"),
    ]
    for builder in builders:
        ir = builder.to_ir()
        assert ir.id == "pin", builder
    assert Agent("a").to_ir().id is None
    assert Gate("g", "OK?", id="pin").to_ir().message == "OK?"
    assert Transform("t", shout, id="pin").to_ir().fn.fn is shout


def test_operator_composites_pin_no_id_and_keep_a_pinned_operand_whole():
    a, b = Agent("a", id="first"), Agent("b")
    assert (a >> b).to_ir().id is None
    assert (a | b).to_ir().id is None
    assert (a >> b).to_ir().children[0].id == "first"
    inner = Pipeline("inner", id="pinned").step(a).step(b)
    assert (inner >> Agent("c")).to_ir().children[0] == inner.to_ir()


@pytest.mark.parametrize("bad", ["", "   ", 3])
def test_a_bad_pinned_id_names_the_builder(bad):
    with pytest.raises(PipelineError) as info:
        Agent("writer", id=bad)
    assert "The id given to Agent('writer') must be a non-empty string" in str(info.value)
    assert info.value.node == "writer"


def test_to_code_prints_a_pinned_id_in_the_constructor_and_rebuilds_it():
    a, b = Agent("w", id="draft_writer").writes("x"), Agent("b").instruct("{x}")
    for pipeline in [
        a,
        a >> b,
        Pipeline("p", id="intro").step(a).step(b),
        FanOut("f", id="both").branch(a).branch(b) * 2,
        Gate("g", "OK?", id="approve") >> Transform("t", shout, id="loud").reads("x"),
    ]:
        code = to_code(pipeline)
        assert "id='" in code and ".id(" not in code
        namespace: dict[str, Any] = {}
        exec(code, namespace)
        assert namespace["pipeline"].to_ir() == pipeline.to_ir(), code
    assert "Agent('w', id='draft_writer')" in to_code(a)


def test_to_code_of_a_graph_says_how_to_get_its_pipeline():
    from irgraph import from_graph, to_graph

    G = to_graph(Agent("w").writes("x"))
    with pytest.raises(TypeError) as refused:
        to_code(G)
    assert "(got a DiGraph); a graph from to_graph holds its pipeline" in str(refused.value)
    assert "to_code(from_graph(G))" in str(refused.value)
    assert "Agent('w')" in to_code(from_graph(G))
    with pytest.raises(TypeError, match=r"got \[1, 1, 1, .{20,50}\.\.\. of type list\)"):
        to_code([1] * 100)


# bad arguments name the node ---------------------------------------------------------------

BAD_CALLS = [
    (lambda: Agent("critic").writes("not a key"), "writes"),
    (lambda: Agent("critic").writes("1st"), "writes"),
    (lambda: Agent("critic").instruct(3), "instruct"),
    (lambda: Agent("critic").instruct("{x:>3}"), "{x:>3}"),
    (lambda: Agent("critic").timeout(0), "timeout"),
    (lambda: Agent("critic").timeout(True), "timeout"),
    (lambda: Agent("critic").model(""), "model"),
    (lambda: Agent("critic").describe(None), "describe"),
    (lambda: Agent("critic").engine(""), "engine"),
    (lambda: Pipeline("critic").step(3), "step"),
    (lambda: FanOut("critic").branch("a"), "branch"),
    (lambda: Loop("critic").max_iterations(0), "max_iterations"),
    (lambda: Loop("critic").max_iterations(1.5), "max_iterations"),
    (lambda: Loop("critic").until("1x"), "until"),
    (lambda: Loop("critic").until(3), "a state key or a predicate"),
    (lambda: MapOver("critic").over("a list"), "over"),
    (lambda: MapOver("critic").over("xs", item="an item"), "over"),
    (lambda: MapOver("critic").max_concurrency(0), "max_concurrency"),
    (lambda: MapOver("critic").collect(""), "collect"),
    (lambda: Gate("critic").message(5), "message"),
    (lambda: Gate("critic", "{"), "template"),
    (lambda: Transform("critic", 3), "callable"),
    (lambda: Transform("critic", "no_colon_here"), "import path"),
    (lambda: Transform("critic", shout).reads("ok", "not ok"), "reads"),
    (lambda: Agent("critic").inputs("topic", "not a key"), "inputs"),
    (lambda: Pipeline("critic", inputs=["not a key"]), "inputs"),
    (lambda: Pipeline("critic", inputs="topic"), "inputs"),
]


@pytest.mark.parametrize(("call", "mentions"), BAD_CALLS)
def test_bad_arguments_raise_pipeline_error_naming_the_node(call, mentions):
    with pytest.raises(PipelineError) as info:
        call()
    message = str(info.value)
    assert "'critic'" in message
    assert mentions in message


def test_a_function_passed_as_a_step_points_at_transform():
    with pytest.raises(PipelineError, match=r"Transform\('name', fn\)"):
        Pipeline("p").step(shout)


def test_a_misspelt_method_suggests_the_real_one():
    with pytest.raises(AttributeError, match="Did you mean 'writes'"):
        Agent("a").write("x")
    with pytest.raises(AttributeError, match="Did you mean 'max_iterations'"):
        Loop("l").max_iteration(3)


@pytest.mark.parametrize(
    ("call", "told"),
    [
        (
            lambda: Transform("count", len).output({"type": "integer"}),
            "Transform 'count' has no method 'output'. Agent has .output(), a Transform does "
            "not: a transform's return value is stored as it is. The methods of a Transform: "
            "engine, reads, timeout, writes.",
        ),
        (
            lambda: Route("triage").step(Agent("fix")),
            "Route 'triage' has no method 'step'. Loop, MapOver and Pipeline have .step(), a "
            "Route does not: a route's branches are given by .when(value, step) and "
            ".otherwise(step).",
        ),
        (lambda: Agent("a").reads("x"), "Transform has .reads(), an Agent does not: an agent"),
        (
            lambda: Gate("g", "m").output({"type": "string"}),
            "Gate 'g' has no method 'output'. Agent has .output(), a Gate does not: a gate's "
            "answer is a person's text, not a model's reply, so there is no schema to hold it "
            "to; to check or parse it, add a Transform that reads the answer's key.",
        ),
        (lambda: Gate("g", "m").model("m1"), "a Gate does not: a gate asks a person, shown its"),
        (lambda: Agent("a").frobnicate(), "Agent 'a' has no method 'frobnicate'. The methods"),
    ],
)
def test_a_method_of_another_kind_of_builder_names_the_builder_and_which_kind_has_it(call, told):
    """``Transform("count", len).output(...)`` was "Transform has no method 'output'.": no
    node named, nothing on which builder has the method, or what this one takes."""
    with pytest.raises(AttributeError) as refused:
        call()
    assert told in str(refused.value)


# an agent's IR node, built slot by slot, is the one its class builds ----------------------

_AGENT_CALLS = {
    "instruct": ("instruction", ["Go.", "Use {a} and {b?}.", "{{literal}} {c}"]),
    "writes": ("writes", ["out", "k_2"]),
    "model": ("model", ["m1"]),
    "describe": ("description", ["what it does"]),
    "timeout": ("timeout", [3, 0.5]),
    "system": ("system", ["Be brief."]),
    "inputs": ("inputs", [("a",), ("a", "b")]),
}


@pytest.mark.parametrize("engine", [False, True])
@pytest.mark.parametrize(
    "calls",
    [
        [],
        ["instruct"],
        ["instruct", "writes"],
        ["writes", "model", "describe", "timeout", "system"],
        ["instruct", "writes", "inputs", "settings", "output", "id"],
        ["settings", "output", "inputs", "id", "instruct", "model", "timeout"],
    ],
)
def test_agent_to_ir_matches_the_class(calls: list[str], engine: bool) -> None:
    """``Agent.to_ir`` sets the node's slots itself (checked_agent_node): every field, the
    defaults of those not set, the converters' types and the parsed template must be what
    ``AgentNode(...)`` with the same arguments makes."""
    agent, expected = Agent("a"), {}
    for index, call in enumerate(calls):
        if call == "settings":
            agent = agent.settings(temperature=0.2, stop=["x"])
            expected["settings"] = {"temperature": 0.2, "stop": ["x"]}
        elif call == "output":
            schema = {"type": "object", "properties": {"n": {"type": "integer"}}}
            agent = agent.output(schema, retries=2)
            expected.update(output=schema, output_retries=2)
        elif call == "id":
            agent = Agent("a", id="pinned")._with(**agent._config)
            expected["id"] = "pinned"
        else:
            field, values = _AGENT_CALLS[call]
            value = values[index % len(values)]
            method = getattr(agent, call)
            agent = method(*value) if call == "inputs" else method(value)
            expected[field] = float(value) if call == "timeout" else value
    if engine:
        agent = agent.engine("asyncio")  # an option of the builder, not an IR field
    node, reference = agent.to_ir(), AgentNode("a", **expected)
    for field in attrs.fields(AgentNode):
        mine, theirs = getattr(node, field.name), getattr(reference, field.name)
        assert mine == theirs and type(mine) is type(theirs), field.name
    assert node == reference and hash(node) == hash(reference)
    assert node.reads == reference.reads and node.optional_reads == reference.optional_reads


@pytest.mark.parametrize(
    ("make", "fix"),
    [
        (lambda: Agent("writer", instructions="Draft.", model="m"), ".instruct(...).model(...)"),
        (lambda: Loop("review", max_iterations=3), "Loop('review').max_iterations(...)"),
        (lambda: MapOver("each", over="papers"), "MapOver('each').over(...)"),
        (lambda: Pipeline("p", steps=[Agent("a")]), "Pipeline('p').step(...)"),
    ],
)
def test_a_setting_given_to_a_constructor_names_the_method_that_sets_it(make, fix):
    with pytest.raises(PipelineError) as caught:
        make()
    assert "but a builder takes only its name, inputs= and id=" in str(caught.value)
    assert fix in str(caught.value)


def _count(text):
    return len(text)


@pytest.mark.parametrize(
    ("make", "said"),
    [
        (
            lambda: Gate("g", "Ok?", writes="answer"),
            "Gate('g') got writes=... as a keyword, but a Gate takes only its name, its message, "
            "inputs= and id=; its settings are set by its methods. Write Gate('g').writes(...).",
        ),
        (
            lambda: Transform("t", _count, reads=["text"], write="n"),
            "Transform('t') got reads=..., write=... as keywords, but a Transform takes only its "
            "name, its function, inputs= and id=; its settings are set by its methods. Write "
            "Transform('t', fn).reads(...).writes(...).",
        ),
    ],
)
def test_a_setting_given_to_a_gate_or_transform_constructor_names_the_method_too(make, said):
    with pytest.raises(PipelineError) as caught:
        make()
    assert str(caught.value) == said and caught.value.node in ("g", "t")
    with pytest.raises(PipelineError, match=r"foo=\.\.\. as a keyword.*Its methods: .*writes"):
        Gate("g", "Ok?", foo=1)
    # inputs= and id= are taken, as by every builder
    node = Transform("t", _count, inputs=["text"], id="count").reads("text").to_ir()
    assert (node.inputs, node.id) == (("text",), "count")
    assert Gate("g", "Ok?", inputs=["text"]).to_ir().inputs == ("text",)


@pytest.mark.parametrize(
    ("make", "said"),
    [
        (
            lambda: Loop("review").until("verdict", equal="approved"),
            "'review'.until() got equal=..., a keyword it does not take (it takes condition and "
            "equals=). Did you mean equals=?",
        ),
        (
            lambda: Agent("check").output({"type": "string"}, retry=2),
            "'check'.output() got retry=..., a keyword it does not take (it takes schema and "
            "retries=). Did you mean retries=?",
        ),
        (
            lambda: MapOver("each").over("papers", items="paper"),
            "'each'.over() got items=..., a keyword it does not take (it takes key and item=). "
            "Did you mean item=?",
        ),
        (
            lambda: MapOver("each").over("papers", foo="paper", bar=1),
            "'each'.over() got foo=..., bar=..., keywords it does not take (it takes key and "
            "item=). Write 'each'.over(key, item=...).",
        ),
    ],
)
def test_a_misspelt_keyword_of_a_method_names_the_method_and_its_keywords(make, said):
    with pytest.raises(PipelineError) as caught:
        make()
    assert str(caught.value) == said and caught.value.node in ("review", "check", "each")
    # the keywords it takes, by name too, still work
    assert MapOver("m").over(key="papers", item="paper").to_ir().item == "paper"
    assert Agent("a").output(schema={"type": "string"}, retries=2).to_ir().output_retries == 2
    assert Loop("l").until(condition="k", equals="x").to_ir().until_equals == ("x",)


@pytest.mark.parametrize(
    ("make", "said"),
    [
        (
            lambda: Route("triage").on("category").when("bug", then=Agent("fix")),
            "'triage'.when() got then=..., a keyword it does not take (it takes condition and "
            "branch). Write 'triage'.when(condition, branch).",
        ),
        (
            lambda: Route("triage").when(conditon=lambda state: True, branch=Agent("fix")),
            "'triage'.when() got conditon=..., a keyword it does not take (it takes condition "
            "and branch). Did you mean condition=?",
        ),
        (
            lambda: Route("triage").otherwise(step=Agent("reply")),
            "'triage'.otherwise() got step=..., a keyword it does not take (it takes branch). "
            "Write 'triage'.otherwise(branch).",
        ),
        (
            lambda: Route("triage").on(keys="category"),
            "'triage'.on() got keys=..., a keyword it does not take (it takes key). Did you "
            "mean key=?",
        ),
    ],
)
def test_a_misspelt_keyword_of_a_route_method_names_the_route_and_its_keywords(make, said):
    with pytest.raises(PipelineError) as caught:
        make()
    assert str(caught.value) == said and caught.value.node == "triage"
    # the keywords a route's methods take, by name too, still work
    route = Route("r").on(key="c").when(condition="bug", branch=Agent("f"))
    cases = route.otherwise(branch=Agent("g")).to_ir().cases
    assert [case.label for case in cases] == ['"bug"', "otherwise"]


def _keyword_methods() -> list[Any]:
    """Every public method with named parameters (and no ``**values``) of every builder class
    irgraph defines: found by introspection, so a method or builder added later is covered."""
    from irgraph.builder import Builder

    classes, todo = [], [Builder]
    while todo:
        cls = todo.pop()
        todo.extend(cls.__subclasses__())
        if cls.__module__.startswith("irgraph.") and not cls.__name__.startswith("_"):
            classes.append(cls)
    found = []
    for cls in sorted(classes, key=lambda c: c.__name__):
        for name, method in inspect.getmembers(cls, inspect.isfunction):
            params = list(inspect.signature(method).parameters.values())[1:]  # not self
            if name.startswith("_") or not params or any(p.kind is p.VAR_KEYWORD for p in params):
                continue
            found.append(pytest.param(cls, name, params, id=f"{cls.__name__}.{name}"))
    return found


KEYWORD_METHODS = _keyword_methods()


def test_the_methods_checked_for_keywords_are_all_the_builders_methods():
    ids = {param.id for param in KEYWORD_METHODS}
    assert {"Agent.instruct", "Agent.model", "Agent.inputs", "Agent.engine"} <= ids
    assert {"Transform.reads", "Route.when", "MapOver.over", "Builder.inputs"} <= ids
    assert "Agent.settings" not in ids  # **values: any keyword is a model setting


@pytest.mark.parametrize(("cls", "method", "params"), KEYWORD_METHODS)
def test_every_builder_method_refuses_a_keyword_it_does_not_take_naming_what_it_takes(
    cls, method, params
):
    builder = Transform("b", shout) if cls is Transform else cls("b")
    call = getattr(builder, method)
    with pytest.raises(PipelineError) as caught:
        call(zzqq=1)
    said = str(caught.value)
    assert said.startswith(f"'b'.{method}() got zzqq=..., a keyword it does not take (it takes ")
    assert caught.value.node == "b"
    for param in params:
        if param.kind is param.VAR_POSITIONAL:  # .inputs(keys=[...]): they are positional
            assert f"takes {param.name} as positional arguments" in said
            with pytest.raises(PipelineError) as caught:
                call(**{param.name: ["text", "notes"]})
            assert str(caught.value).endswith(f"Write 'b'.{method}('text', 'notes').")
        else:  # a misspelt name is offered the one it is close to
            assert param.name in said
            with pytest.raises(PipelineError) as caught:
                call(**{f"{param.name}x": 1})
            assert str(caught.value).endswith(f"Did you mean {param.name}=?")


def test_settings_keeps_taking_any_keyword():
    assert Agent("a").settings(zzqq=1).to_ir().settings == {"zzqq": 1}


def test_a_method_called_on_its_class_takes_the_builder_as_self_by_name_too():
    agent = Agent("a")
    assert Agent.instruct(self=agent, text="Go.").to_ir().instruction == "Go."
    with pytest.raises(PipelineError, match=r"^'a'\.instruct\(\) got txt=\.\.\."):
        Agent.instruct(self=agent, txt="Go.")


def test_a_pipeline_made_by_operators_shows_its_name_in_its_repr_and_in_messages():
    """``repr(a >> b)`` was ``Pipeline('pipeline')``, a name the pipeline does not have (its
    name is ``a_then_b``), and so messages naming it, such as validate's, misled."""
    from irgraph import PipelineError, validate

    chain = Agent("a") >> Agent("b")
    assert repr(chain) == "Pipeline('a_then_b')" and repr(Agent("a") | Agent("b")) == (
        "FanOut('a_and_b')"
    )
    with pytest.raises(PipelineError, match=r"got Pipeline\('a_then_b'\)"):
        validate(chain)


def test_something_not_a_graph_or_ir_is_named_briefly_with_the_call_that_fixes_it():
    """validate(ir) quoted the whole IR repr (hundreds of characters), and to_json(G) printed
    ``<networkx...DiGraph object at 0x...>`` and told to call .to_ir() on it."""
    from irgraph import PipelineError, to_graph, validate
    from irgraph.ir import to_json

    chain = Agent("researcher").instruct("Research {topic}.").writes("x") >> Agent("writer")
    with pytest.raises(PipelineError) as refused:
        validate(chain.to_ir())
    assert "got the IR node 'researcher_then_writer' (a SequenceNode)" in str(refused.value)
    assert "instruction=" not in str(refused.value)
    with pytest.raises(PipelineError) as refused:
        to_json(to_graph(chain))
    message = str(refused.value)
    assert "0x" not in message and "to_json(from_graph(G))" in message


def test_a_mistake_on_a_pipeline_made_by_operators_names_that_pipeline():
    """``(a >> b).inputs(3)`` was "The argument of 'pipeline'.inputs() ...", and ``(a | b)``
    was 'fanout': default names no pipeline has."""
    from irgraph import PipelineError

    made_by = ((Agent("a") >> Agent("b"), "a_then_b"), (Agent("a") | Agent("b"), "a_and_b"))
    for made, name in made_by:
        with pytest.raises(PipelineError, match=f"The argument of '{name}'.inputs()"):
            made.inputs(3)
        method = "step" if name == "a_then_b" else "branch"
        with pytest.raises(PipelineError, match=f"'{name}'.{method}\\(\\) expects a builder"):
            getattr(made, method)(3)
        with pytest.raises(PipelineError) as refused:
            made >> 3
        assert refused.value.node == name


def test_the_type_given_takes_the_article_it_is_read_with():
    """A type given reads with its article: "(got 3 that is an int)", not "a int"."""
    from irgraph import PipelineError, Route, run

    with pytest.raises(PipelineError, match="got 3 that is an int"):
        (Agent("a") >> Agent("b")).step(3)
    with pytest.raises(PipelineError, match="got 3 that is an int"):
        Route("r").on("k").when("x", 3)
    with pytest.raises(PipelineError, match=r"got \[\] that is a list"):
        run(Agent("a"), state=[])


@pytest.mark.parametrize(("cls", "method", "params"), KEYWORD_METHODS)
def test_every_builder_method_given_too_many_arguments_says_what_it_takes(cls, method, params):
    if any(param.kind is param.VAR_POSITIONAL for param in params):
        return  # .inputs(*keys), .step(*steps): any number is theirs
    builder = Transform("b", shout) if cls is Transform else cls("b")
    positional = [p for p in params if p.kind is p.POSITIONAL_OR_KEYWORD]
    with pytest.raises(PipelineError) as caught:
        getattr(builder, method)(*(["x"] * (len(positional) + 1)))
    said = str(caught.value)
    assert said.startswith(f"'b'.{method}() got {len(positional) + 1} argument"), said
    assert "too many positional arguments" in said and caught.value.node == "b"


@pytest.mark.parametrize(
    ("make", "said", "hint"),
    [
        (
            lambda: Route("triage").on("kind").when("bug"),
            "'triage'.when() got 1 argument ('bug'), but it takes when(condition, branch): "
            "missing a required argument: 'branch'.",
            "Write 'triage'.when(condition, branch).",
        ),
        (
            lambda: Agent("a").settings({"temperature": 0}),
            "'a'.settings() got 1 argument ({'temperature': 0}), but it takes settings(**values)",
            "Write 'a'.settings(**values).",
        ),
        (
            lambda: Agent("a").writes("x", "y"),
            "'a'.writes() got 2 arguments ('x', 'y'), but it takes writes(key)",
            "Write 'a'.writes(key).",
        ),
        (
            lambda: Pipeline("p", [Agent("a"), Agent("b")]),
            "Pipeline('p') got 1 more argument ([Agent('a'), Agent('b')]), but a builder "
            "takes only its name, inputs= and id=",
            "Write Pipeline(name).step(a).step(b), or a >> b.",
        ),
        (
            lambda: Agent("a", "Summarize {text}."),
            "Agent('a') got 1 more argument ('Summarize {text}.')",
            "Write Agent(name).instruct(text).writes(key).",
        ),
        (
            lambda: FanOut("f", *[Agent(f"a{i}") for i in range(500)]),
            "FanOut('f') got 500 more arguments (Agent('a0'), Agent('a1'), Agent('a2') and 497 "
            "more), but",
            "Write FanOut(name).branch(a).branch(b), or a | b.",
        ),
        (
            lambda: Gate("g", "Approve?", "verdict"),
            "Gate('g') got 1 more argument ('verdict'), but a Gate takes only its name, its "
            "message",
            "Write Gate(name, message).writes(key).",
        ),
    ],
)
def test_a_builder_call_with_arguments_it_does_not_take_says_how_to_write_it(make, said, hint):
    """Python said only "takes 2 positional arguments but 3 were given" or "missing 1
    required positional argument", naming neither the node nor the method meant."""
    with pytest.raises(PipelineError) as caught:
        make()
    assert str(caught.value).startswith(said), str(caught.value)
    assert caught.value.problems[0].hint == hint


def test_builders_given_their_arguments_are_unchanged():
    assert Gate("g", "Approve?").to_ir().message == "Approve?"
    assert Transform("t", shout).reads("text").writes("loud").to_ir().writes == "loud"
    assert Route("r").on("k").when("a", Agent("x")).otherwise(Agent("y")).to_ir().on == "k"


def test_to_code_imports_only_the_names_its_code_calls():
    """The header imported every builder and FunctionRef whatever the code used, so code
    pasted from a failing property into a test module failed a linter's unused imports."""
    import re

    from irgraph import Route
    from irgraph.code import to_code

    cases = [
        Agent("a").writes("x") >> Agent("b").instruct("{x}"),
        Loop("l").step(Agent("a").writes("x")).max_iterations(2),
        (Agent("a").writes("x") >> Route("r").on("x").when("y", Agent("c"))).to_ir(),
    ]
    for pipeline in cases:
        code = to_code(pipeline)
        head, body = code.split("\n\n", 1)
        imported = re.findall(r"\b([A-Z]\w+)\b", head)
        assert imported and all(f"{name}(" in body for name in imported), code
        space: dict[str, object] = {}
        exec(code, space)  # it still runs as written
        made, given = space["pipeline"], pipeline
        assert (made.to_ir() if hasattr(made, "to_ir") else made) == (
            given.to_ir() if hasattr(given, "to_ir") else given
        )
