"""A map-over iterates the list in a field of a key, ``.over("plan.topics")``: it reads
``plan`` (its data edge comes from ``plan``'s writer), keeps the path in the graph, its JSON
and the code printed back, and reads ``state["plan"]["topics"]`` when it runs. A writer whose
output schema cannot give the list, and an initial ``plan`` without it, are refused before the
run; a value without the field met at the map-over fails the run naming the keys it had.
Before, ``.over`` took a whole key only, and the list had to be copied to a key of its own
by a Transform first.
"""

from __future__ import annotations

import asyncio
import io
import json
import re
import shlex
from pathlib import Path
from typing import Any

import networkx as nx
import pydantic
import pytest

from irgraph import (
    Agent,
    MapOver,
    PipelineError,
    Route,
    RunError,
    Transform,
    from_graph,
    run,
    to_graph,
    validate,
)
from irgraph.analysis import makespan
from irgraph.backends.asyncio_backend import AsyncioBackend
from irgraph.backends.dot import to_dot
from irgraph.backends.mermaid import to_mermaid
from irgraph.builder import Builder
from irgraph.cli import main
from irgraph.code import to_code
from irgraph.ir import MapOverNode, from_json, to_json
from irgraph.testing import FakeProvider
from irgraph.testing.reference import interpret

SCHEMA = {
    "type": "object",
    "properties": {
        "title": {"type": "string"},
        "topics": {"type": "array", "items": {"type": "string"}},
    },
    "required": ["title", "topics"],
}
PLAN = '{"title": "Owls", "topics": ["hunting", "sleep"]}'
SECTIONS = ["<draft: Draft hunting.>", "<draft: Draft sleep.>"]


def planner(schema: Any = SCHEMA) -> Builder:
    made = Agent("planner").instruct("Plan {subject}.").writes("plan")
    return made.output(schema) if schema is not None else made


def drafts(over: str = "plan.topics") -> Builder:
    return (
        MapOver("drafts")
        .over(over, item="topic")
        .step(Agent("draft").instruct("Draft {topic}.").writes("section"))
        .writes("sections")
    )


def provider() -> FakeProvider:
    return FakeProvider(responses={"planner": PLAN})


def refused(pipeline: Builder) -> PipelineError:
    with pytest.raises(PipelineError) as raised:
        validate(to_graph(pipeline, inputs={"subject"}))
    return raised.value


@pytest.mark.parametrize("schedule", ["topological", "dataflow"])
def test_the_asyncio_backend_iterates_the_list_in_the_field(schedule: str) -> None:
    backend = AsyncioBackend(schedule=schedule)
    state = {"subject": "owls"}
    result = run(planner() >> drafts(), backend=backend, provider=provider(), state=state)
    assert result.state["sections"] == SECTIONS
    assert result.state["plan"] == json.loads(PLAN)


def test_the_reference_interpreter_agrees() -> None:
    pipeline = planner() >> drafts()
    expected = asyncio.run(interpret(pipeline.to_ir(), provider(), {"subject": "owls"}))
    result = run(pipeline, provider=provider(), state={"subject": "owls"})
    assert expected.state == result.state
    assert expected.state["sections"] == SECTIONS


def test_the_graph_reads_the_key_and_keeps_the_path_through_json_and_code() -> None:
    pipeline = planner() >> drafts()
    G = to_graph(pipeline, inputs={"subject"})
    assert G.nodes["drafts"]["over"] == "plan.topics"
    assert G.nodes["drafts"]["reads"] == ["plan"]
    assert G.edges["planner", "drafts"]["keys"] == ["plan"]
    ir = pipeline.to_ir()
    assert from_json(to_json(ir)) == ir
    saved = nx.node_link_graph(json.loads(json.dumps(nx.node_link_data(G))))
    assert from_graph(saved).children[1] == ir.children[1]
    code = to_code(ir)
    assert ".over('plan.topics', item='topic')" in code
    printed: dict[str, Any] = {}
    exec(code, printed)
    assert printed["pipeline"].to_ir() == ir
    for picture in (to_mermaid(G), to_dot(G).to_string()):  # (a long label may be wrapped)
        assert "map over plan.topics as topic" in re.sub(r"(\\n|<br/?>|\s)+", " ", picture)


def test_a_writer_whose_schema_has_no_such_field_is_refused_before_the_run() -> None:
    schema = {"type": "object", "properties": {"title": {}, "topic": {"type": "array"}}}
    error = refused(planner(schema) >> drafts())
    (problem,) = error.problems
    assert problem.node == "drafts" and problem.key == "plan"
    assert problem.message == (
        "MapOver 'drafts' iterates over 'plan.topics', but the output schema of agent "
        "'planner' declares no field 'topics' in 'plan' (its fields: 'title', 'topic')."
    )
    assert problem.hint == "Did you mean 'plan.topic'? Write .over('plan.topic')."
    calls = provider()
    with pytest.raises(PipelineError):
        run(planner(schema) >> drafts(), provider=calls, state={"subject": "owls"})
    assert calls.calls == []


def test_a_field_that_is_no_array_or_free_text_is_refused_before_the_run() -> None:
    schema = {"type": "object", "properties": {"topics": {"type": "string"}}}
    (problem,) = refused(planner(schema) >> drafts()).problems
    assert problem.node == "drafts"
    assert "agent 'planner' writes 'plan.topics' as a JSON string, not a list" in problem.message
    assert "Declare 'topics' as an array in the output schema of 'planner'" in str(problem.hint)
    (text,) = refused(planner(None) >> drafts()).problems
    assert text.message == (
        "MapOver 'drafts' iterates over 'plan.topics', a field of 'plan', but agent 'planner' "
        "writes 'plan' as free text (it has no output schema), which has no fields."
    )
    assert "output schema of an object holding 'topics'" in str(text.hint)


def test_a_list_inside_a_list_is_told_how_to_reach() -> None:
    schema = {"type": "object", "properties": {"parts": {"type": "array"}}}
    (problem,) = refused(planner(schema) >> drafts("plan.parts.topics")).problems
    assert "writes 'plan.parts' as a JSON array, which has no fields" in problem.message
    assert "MapOver(...).over('item.topics')" in str(problem.hint)


def test_a_field_the_schema_lets_out_is_warned_of() -> None:
    schema = {"type": "object", "properties": {"topics": {"type": "array"}}}
    (warning,) = validate(to_graph(planner(schema) >> drafts(), inputs={"subject"}))
    assert warning.startswith(
        "MapOver 'drafts' iterates over 'plan.topics', but agent 'planner' may leave it out "
        "('topics' is not required in its output schema)"
    )
    assert validate(to_graph(planner() >> drafts(), inputs={"subject"})) == []


@pytest.mark.parametrize(
    ("given", "why"),
    [
        ({"title": "t"}, "'plan' has no field 'topics' (its keys: 'title')"),
        ({"topics": "a, b"}, "'plan.topics' holds 'a, b' (a str), not a list"),
        ("a plan", "'plan' holds 'a plan' (a str), not an object with fields"),
        ({"topics": None}, "'plan.topics' holds None (no value), not a list"),
    ],
)
def test_an_initial_value_without_the_list_is_refused_before_the_first_node(
    given: Any, why: str
) -> None:
    pipeline = Agent("first").instruct("Think of {subject}.").writes("idea") >> drafts()
    calls = FakeProvider()
    with pytest.raises(PipelineError) as raised:
        run(pipeline, provider=calls, state={"subject": "owls", "plan": given})
    (problem,) = raised.value.problems
    assert problem.node == "drafts" and problem.key == "plan"
    assert problem.message == (
        f"MapOver 'drafts' iterates over 'plan.topics', but the initial state's {why}, so the "
        "run would fail there."
    )
    assert "state={'plan': {'topics': ['a', 'b']}}" in str(problem.hint)
    assert calls.calls == []
    fine = run(pipeline, provider=FakeProvider(), state={"subject": "o", "plan": {"topics": ["x"]}})
    assert fine.state["sections"] == ["<draft: Draft x.>"]


def titled(subject: str) -> dict[str, Any]:
    return {"title": subject, "summary": "s"}


def test_a_value_without_the_field_fails_the_run_at_the_map_over_naming_its_keys() -> None:
    pipeline = Transform("outline", titled).reads("subject").writes("plan") >> drafts()
    with pytest.raises(RunError) as raised:
        run(pipeline, provider=FakeProvider(), state={"subject": "owls"})
    assert raised.value.node == "drafts"
    assert isinstance(raised.value.__cause__, LookupError)
    assert str(raised.value).startswith(
        "Node 'drafts' failed: LookupError: MapOver 'drafts' iterates over 'plan.topics', but "
        "'plan' has no field 'topics' (its keys: 'title', 'summary'); give 'plan' a 'topics' "
        "field holding a list (in the initial state, or from the step that writes 'plan')"
    )
    assert raised.value.completed == ["outline"]


def test_a_map_over_over_a_field_of_each_item_knows_the_items_schema() -> None:
    """An inner map-over over ``plan.topics``, ``plan`` being the outer one's item: its items'
    schema is found through the path, so a template's field read of an item is checked."""
    topic = {"type": "object", "properties": {"name": {"type": "string"}}, "required": ["name"]}
    plans = {
        "type": "array",
        "items": {
            "type": "object",
            "properties": {"topics": {"type": "array", "items": topic}},
            "required": ["topics"],
        },
    }
    lister = Agent("lister").instruct("Plans for {subject}.").output(plans).writes("plans")

    def nested(read: str) -> Builder:
        inner = (
            MapOver("inner")
            .over("plan.topics", item="topic")
            .step(Agent("draft").instruct(f"Draft {{{read}}}.").writes("section"))
            .writes("sections")
        )
        outer = MapOver("outer").over("plans", item="plan").step(inner).writes("all")
        return lister >> outer

    assert validate(to_graph(nested("topic.name"), inputs={"subject"})) == []
    (problem,) = refused(nested("topic.nam")).problems
    assert problem.node == "draft"
    assert "declares no field 'nam'" in problem.message
    answer = json.dumps([{"topics": [{"name": "a"}, {"name": "b"}]}, {"topics": []}])
    result = run(
        nested("topic.name"),
        provider=FakeProvider(responses={"lister": answer}),
        state={"subject": "owls"},
    )
    assert result.state["all"] == [["<draft: Draft a.>", "<draft: Draft b.>"], []]
    wrong = {"type": "array", "items": {"type": "object", "properties": {"topics": {}}}}
    deep = Agent("lister").instruct("{subject}").output({**wrong, "items": {"type": "string"}})
    outer = MapOver("outer").over("plans", item="plan").step(drafts("plan.topics")).writes("all")
    (text,) = refused(deep.writes("plans") >> outer).problems
    assert text.node == "drafts"
    assert text.message == (
        "MapOver 'drafts' iterates over 'plan.topics', but the output schema of agent 'lister' "
        "(whose list's items are 'plan' here) writes 'plan' as a JSON string, which has no "
        "fields."
    )
    assert text.hint == "Use 'plan' itself: .over('plan')."


@pytest.mark.parametrize("bad", ["plan.", ".topics", "plan..topics", "plan.topics?"])
def test_an_ir_node_refuses_a_path_that_names_no_field(bad: str) -> None:
    with pytest.raises(PipelineError) as raised:
        MapOverNode("drafts", over=bad)
    assert raised.value.node == "drafts"
    assert f"{bad!r} " in str(raised.value) and "dotted path ('plan.topics')" in str(raised.value)


def test_the_analysis_counts_the_items_in_the_field_of_the_given_state() -> None:
    G = to_graph(drafts(), inputs={"plan"})
    latency = {"draft": 2.0}
    assert makespan(G, latency=latency, state={"plan": {"topics": [1, 2, 3]}}) == 2.0
    with pytest.raises(PipelineError) as raised:
        makespan(G, latency=latency, state={"plan": {"topics": "x"}})
    assert "Put a list in state['plan']['topics']" in str(raised.value)


def test_a_route_in_the_body_comparing_the_list_is_pointed_to_the_item() -> None:
    topic = {"type": "object", "properties": {"kind": {"enum": ["a", "b"]}}}
    schema = {"type": "object", "properties": {"topics": {"type": "array", "items": topic}}}
    x, y = Agent("x").writes("out"), Agent("y").writes("out")
    route = Route("r").on("plan.topics.kind").when("a", x).otherwise(y)
    body = MapOver("drafts").over("plan.topics", item="topic").step(route).writes("outs")
    (problem,) = refused(planner({**schema, "required": ["topics"]}) >> body).problems
    assert problem.hint == (
        "Did you mean 'topic.kind', of each item of 'plan.topics' (map-over 'drafts' names it "
        "'topic')? Write .on('topic.kind')."
    )
    fixed = (
        MapOver("drafts")
        .over("plan.topics", item="topic")
        .step(Route("r").on("topic.kind").when("a", x).when("c", y))
        .writes("outs")
    )
    (unknown,) = refused(planner({**schema, "required": ["topics"]}) >> fixed).problems
    assert (
        unknown.node == "r"
        and "the items agent 'planner' writes to 'plan.topics'" in unknown.message
    )


def test_a_key_nothing_gives_is_told_with_the_path_read_from_it() -> None:
    (problem,) = refused(drafts()).problems
    assert problem.message == (
        "'drafts' iterates over 'plan.topics', but no step before it writes 'plan' and it is "
        "not a pipeline input."
    )
    assert problem.key == "plan"


class Plan(pydantic.BaseModel):
    topics: list[str]


def as_model(subject: str) -> Plan:
    return Plan(topics=[subject])


def test_a_writer_whose_value_never_has_fields_is_refused_before_the_run() -> None:
    model = Transform("outline", as_model).reads("subject").writes("plan")
    (problem,) = refused(model >> drafts()).problems
    assert problem.node == "drafts"
    assert "transform 'outline' returns a Plan model (its return annotation)" in problem.message
    results = (
        MapOver("first")
        .over("subjects", item="s")
        .step(Agent("a").instruct("{s}").writes("x"))
        .writes("plan")
    )
    with pytest.raises(PipelineError) as raised:
        validate(to_graph(results >> drafts(), inputs={"subjects"}))
    (listed,) = raised.value.problems
    assert listed.message == (
        "MapOver 'drafts' iterates over 'plan.topics', a field of 'plan', but map-over 'first' "
        "writes 'plan' as a list of its items' results, which has no fields."
    )
    assert "MapOver(...).over('item.topics')" in str(listed.hint)


def test_the_command_line_names_the_json_a_missing_list_is_given_with(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``--state plan=VALUE`` gives text, which the run refuses: the missing key is named
    with the ``--state-json`` that gives a list where the map-over reads it."""
    path = tmp_path / "drafting.py"
    path.write_text(
        "from irgraph import Agent, MapOver\n"
        "pipeline = MapOver('drafts').over('plan.topics', item='topic')"
        ".step(Agent('draft').instruct('Draft {topic}.').writes('s')).writes('ss')\n",
        encoding="utf-8",
    )
    assert main(["run", str(path)], out=io.StringIO()) == 2
    said = capsys.readouterr().err
    option = """--state-json '{"plan": {"topics": ["...", "..."]}}'"""
    assert f"does not give; add {option} ('plan': JSON, as a map-over iterates" in said
    given = ["run", str(path), "--no-progress", *shlex.split(option)]
    assert main(given, out=io.StringIO()) == 0


@pytest.mark.parametrize("over", ["plan", "plan.topics"])
def test_check_names_the_json_that_gives_the_list_a_map_over_iterates(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], over: str
) -> None:
    """``irgraph check`` told to give the key ``--state plan=...``, text the run refuses; it
    names the ``--state-json`` that gives the list where the map-over reads it, and that
    option checks clean."""
    path = tmp_path / f"checking_{over.replace('.', '_')}.py"
    path.write_text(
        "from irgraph import Agent, MapOver\n"
        f"pipeline = MapOver('drafts').over({over!r}, item='topic')"
        ".step(Agent('draft').instruct('Draft {topic}.').writes('s')).writes('ss')\n",
        encoding="utf-8",
    )
    assert main(["check", str(path)], out=io.StringIO()) == 1
    said = capsys.readouterr().err
    assert "--state plan=" not in said
    (option,) = re.findall(r"--state-json '[^']*'", said)
    value: object = ["...", "..."]
    for name in reversed(over.split(".")):
        value = {name: value}
    assert option == f"--state-json '{json.dumps(value)}'"
    assert main(["check", str(path), *shlex.split(option)], out=io.StringIO()) == 0


def test_a_batch_told_of_a_changed_over_says_the_list_changed() -> None:
    """A keyed batch resumed with a pipeline whose map-over now iterates a field of the key
    says it maps over another list (a key and a path are both where a list is), with both."""
    from irgraph.batch_pipeline import difference, pipeline_description

    def drafts(over: str) -> MapOver:
        body = Agent("draft").instruct("Draft {t}.").writes("s")
        return MapOver("drafts").over(over, item="t").step(body).writes("ss")

    told = difference(
        pipeline_description(drafts("plan")), pipeline_description(drafts("plan.topics"))
    )
    assert told.startswith("its node 'drafts' maps over another list")
    assert "'plan'" in told and "'plan.topics'" in told


def test_a_gate_writing_the_key_of_a_path_is_warned_of_before_the_run() -> None:
    """A gate's answer is a person's text, with no fields: the map-over over a field of it
    would fail at run time, so the check warns before the run, naming the gate and the path,
    as a template's field read of a gate's answer is warned of."""
    from irgraph import Gate

    asked = Gate("ask").message("Which topics?").writes("plan")
    body = Agent("draft").instruct("Draft {t}.").writes("s")
    drafts = MapOver("drafts").over("plan.topics", item="t").step(body).writes("ss")
    (warning,) = validate(to_graph(asked >> drafts))
    assert "MapOver 'drafts' iterates over 'plan.topics'" in warning
    assert "gate 'ask' writes 'plan' as a person's answer" in warning
    assert "Transform that reads 'plan'" in warning
