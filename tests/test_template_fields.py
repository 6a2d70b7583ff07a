"""A template reads a field of a key, ``{verdict.reason}``: the node reads the key, the field
renders as a whole key does, and what the key's writers may write is checked before the run
(the checks of a route on a field, :mod:`irgraph.template_fields`)."""

from __future__ import annotations

import asyncio
import copy
import io
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from pydantic import BaseModel

from irgraph import (
    Agent,
    Gate,
    Loop,
    MapOver,
    PipelineError,
    Route,
    RunError,
    Transform,
    run,
    to_graph,
    validate,
)
from irgraph.backends.dot import to_dot
from irgraph.backends.mermaid import to_mermaid
from irgraph.cli import main
from irgraph.diffs import diff
from irgraph.ir import AgentNode, to_json
from irgraph.testing import FakeProvider
from irgraph.testing.reference import interpret
from irgraph.testing.strategies import pipelines

VERDICT = {
    "type": "object",
    "properties": {
        "category": {"enum": ["bug", "other"]},
        "reason": {"type": "string"},
        "note": {"type": "string"},
        "meta": {
            "type": "object",
            "properties": {"source": {"type": "string"}},
            "required": ["source"],
        },
    },
    "required": ["category", "reason", "meta"],
}
REPLY = '{"category": "bug", "reason": "It crashes.", "meta": {"source": "log", "n": [1]}}'


def judge(schema: Any = VERDICT) -> Agent:
    return Agent("judge").instruct("Judge {ticket}.").output(schema).writes("verdict")


def fixer(text: str = "Fix this: {verdict.reason} (from {verdict.meta.source})") -> Agent:
    return Agent("fixer").instruct(text).writes("fixed")


def problems(pipeline: Any, **inputs: Any) -> list[Any]:
    with pytest.raises(PipelineError) as caught:
        validate(to_graph(pipeline, inputs=inputs.get("inputs", {"ticket"})))
    return list(caught.value.problems)


def warnings(pipeline: Any, inputs: Any = ("ticket",)) -> list[str]:
    G = to_graph(pipeline, inputs=set(inputs))
    assert G.graph["problems"] == [], G.graph["problems"]
    return list(G.graph["warnings"])


def test_a_field_read_reads_the_key_with_the_same_edge_as_a_whole_key() -> None:
    by_field = to_graph(judge() >> fixer(), inputs={"ticket"})
    whole = to_graph(judge() >> fixer("Fix this: {verdict}"), inputs={"ticket"})
    assert by_field.nodes["fixer"]["reads"] == ["verdict"] == whole.nodes["fixer"]["reads"]
    assert list(by_field.edges(data=True)) == list(whole.edges(data=True))
    assert by_field.edges["judge", "fixer"]["keys"] == ["verdict"]
    optional = to_graph(judge() >> fixer("{verdict.note?}"), inputs={"ticket"})
    assert optional.nodes["fixer"]["optional_reads"] == ["verdict"]


def test_pictures_label_the_edge_with_the_key() -> None:
    pipeline = judge() >> fixer()
    dot, mermaid = to_dot(pipeline).to_string(), to_mermaid(pipeline)
    assert "verdict" in dot and "verdict" in mermaid
    assert "verdict.reason" not in dot and "verdict.reason" not in mermaid
    assert dot == to_dot(judge() >> fixer("Fix this: {verdict}")).to_string()


def test_the_field_renders_as_text_on_asyncio_and_the_reference() -> None:
    pipeline = judge() >> fixer("Fix: {verdict.reason} {verdict.meta} {verdict.note?}.")
    provider = FakeProvider(responses={"judge": REPLY})
    result = run(pipeline, provider=provider, state={"ticket": "t"})
    expected = 'Fix: It crashes. {"source": "log", "n": [1]} .'
    assert provider.calls[-1].prompt == expected
    assert dict(provider.calls[-1].state) == {"verdict": result.state["verdict"]}
    reference = FakeProvider(responses={"judge": REPLY})
    asyncio.run(interpret(pipeline.to_ir(), reference, state={"ticket": "t"}))
    assert reference.calls[-1].prompt == expected


def test_system_prompts_and_gate_messages_read_fields_too() -> None:
    writer = Agent("w").instruct("Go.").system("You are {persona.role}.").writes("out")
    gate = Gate("approve", "Ship {persona.role}?").writes("ok")
    asked: list[str] = []
    provider = FakeProvider()
    state = {"persona": {"role": "an editor"}}
    run(
        writer >> gate,
        provider=provider,
        state=state,
        on_gate=lambda r: asked.append(r.message) or "y",
    )
    assert provider.calls[0].system == "You are an editor." and asked == ["Ship an editor?"]
    assert to_graph(writer >> gate, inputs={"persona"}).nodes["approve"]["reads"] == ["persona"]


@pytest.mark.parametrize(
    ("value", "said"),
    [
        ({"category": "bug"}, "'verdict' has no field 'reason' (its keys: 'category')"),
        ({"reason": None}, "the state holds None at 'verdict.reason'"),
        ("It crashes.", "'verdict' holds str 'It crashes.', not an object with fields"),
        ('{"reason": "r"}', "the JSON text of an object, not the object: give the object"),
        (None, "the state holds None for 'verdict', which the instruction requires as"),
    ],
)
def test_a_field_that_is_not_there_fails_the_run_naming_it(value: Any, said: str) -> None:
    pipeline = Transform("make", lambda ticket: value).reads("ticket").writes("verdict")
    pipeline = pipeline >> fixer("Fix: {verdict.reason}.")
    with pytest.raises(RunError) as failed:
        run(pipeline, provider=FakeProvider(), state={"ticket": "t"})
    assert failed.value.node == "fixer"
    assert said in str(failed.value) and "{verdict.reason}" in str(failed.value)
    assert failed.value.completed == ["make"]
    with pytest.raises(ValueError):
        asyncio.run(interpret(pipeline.to_ir(), FakeProvider(), state={"ticket": "t"}))


class Verdict(BaseModel):
    reason: str


def written(step: Any) -> Any:
    """``step`` after a transform that writes ``verdict`` as a copy of the initial ``raw``: a
    value a step wrote, known only as the run goes (the initial state's is checked before)."""
    return Transform("copy", copy.deepcopy).reads("raw").writes("verdict") >> step


def test_a_model_instance_in_the_key_fails_the_run_saying_to_dump_it() -> None:
    state = {"raw": Verdict(reason="r")}
    with pytest.raises(RunError, match=r"holds a Verdict model, not a JSON object.*model_dump"):
        run(written(fixer("{verdict.reason}")), provider=FakeProvider(), state=state)


def test_an_optional_field_that_is_not_there_renders_as_empty_text() -> None:
    provider = FakeProvider()
    for state in ({}, {"verdict": None}, {"verdict": {}}, {"verdict": {"note": None}}):
        run(fixer("[{verdict.note?}]"), provider=provider, state=state)
        assert provider.calls[-1].prompt == "[]"
    with pytest.raises(RunError) as failed:
        run(written(fixer("[{verdict.note?}]")), provider=provider, state={"raw": [1]})
    assert "the instruction reads {verdict.note?}, but 'verdict' holds list" in str(failed.value)


def test_free_text_writer_is_refused_naming_reader_field_key_and_writer() -> None:
    (problem,) = problems(Agent("judge").instruct("{ticket}").writes("verdict") >> fixer())
    # (told once for the two fields the instruction reads)
    assert (problem.node, problem.key) == ("fixer", "verdict")
    assert problem.message.startswith(
        "The instruction of 'fixer' reads {verdict.reason}, the field 'reason' of 'verdict', "
        "but agent 'judge' writes 'verdict' as free text (it has no output schema)"
    )
    assert ".output(Model) with a 'reason' field" in problem.hint


def test_a_misspelt_field_is_refused_with_the_closest_field() -> None:
    (problem,) = problems(judge() >> fixer("{verdict.reasn}"))
    assert "declares no field 'reasn' in 'verdict'" in problem.message
    assert "'category', 'meta', 'note', 'reason'" in problem.message
    assert problem.hint == "Did you mean {verdict.reason}?"
    (deep,) = problems(judge() >> fixer("{verdict.meta.sourc}"))
    assert "no field 'sourc' in 'verdict.meta'" in deep.message
    assert deep.hint == "Did you mean {verdict.meta.source}?"


def test_each_writer_that_may_reach_the_read_is_checked() -> None:
    route = (
        Route("r")
        .on("ticket")
        .when("a", judge())
        .otherwise(Agent("guess").instruct("{ticket}").writes("verdict"))
    )
    (problem,) = problems(route >> fixer("{verdict.reason}"))
    assert "agent 'guess' writes 'verdict' as free text" in problem.message
    overwritten = Agent("guess").instruct("{ticket}").writes("verdict") >> judge()
    validate(to_graph(overwritten >> fixer(), inputs={"ticket"}))  # its text never reaches
    # In a loop, a writer later in the body reaches the read on the next pass.
    body = fixer("Fix {ticket} {verdict.reason?}") >> Agent("guess").writes("verdict")
    (looped,) = problems(Loop("l").step(body).max_iterations(2))
    assert "reads {verdict.reason?}" in looped.message and "agent 'guess'" in looped.message


def test_a_map_over_list_is_refused_and_its_items_fields_are_checked() -> None:
    each = Agent("each").instruct("{item}").writes("r")
    listed = MapOver("m").over("tickets").step(each).writes("verdict")
    (problem,) = problems(listed >> fixer("{verdict.reason}"), inputs={"tickets"})
    assert "map-over 'm' writes 'verdict' as a list" in problem.message
    assert "{item.reason}" in problem.hint
    lister = Agent("lister").instruct("{ticket}").output({"type": "array", "items": VERDICT})
    body = MapOver("m").over("tickets")
    body = body.step(Agent("a").instruct("{item.reason} {item.reasn}").writes("r"))
    (item,) = problems(lister.writes("tickets") >> body.writes("out"))
    assert "the items of the list agent 'lister' writes" in item.message
    assert item.hint == "Did you mean {item.reason}?"
    good = MapOver("m").over("tickets").step(Agent("a").instruct("{item.reason}").writes("r"))
    assert warnings(lister.writes("tickets") >> good.writes("out")) == []


def test_a_gate_writer_is_warned_of_and_a_model_returning_transform_refused() -> None:
    gated = Gate("g", "Verdict?").writes("verdict") >> fixer("{verdict.reason}")
    (warning,) = warnings(gated, ())
    assert "gate 'g' writes 'verdict' as a person's answer" in warning

    def make(ticket: str) -> Verdict:
        return Verdict(reason=ticket)

    made = Transform("make", make).reads("ticket").writes("verdict") >> fixer("{verdict.reason}")
    (problem,) = problems(made)
    assert "transform 'make' returns a Verdict model" in problem.message
    assert ".model_dump()" in problem.hint


def made(ticket: str) -> dict[str, Any]:
    return {"reason": ticket}


def test_what_cannot_be_known_is_accepted() -> None:
    either = {"anyOf": [VERDICT, {"type": "object"}]}
    assert warnings(judge({"anyOf": [{"type": "string"}, either]}) >> fixer()) == []
    assert warnings(fixer(), ("verdict",)) == []  # an input: checked at run time
    plain = Transform("make", made).reads("ticket").writes("verdict")
    assert warnings(plain >> fixer("{verdict.reason}")) == []


def test_a_field_the_schema_may_leave_out_is_warned_of_unless_optional() -> None:
    (warning,) = warnings(judge() >> fixer("{verdict.note}"))
    assert "agent 'judge' may leave it out ('note' is not required" in warning
    assert "{verdict.note?}" in warning
    assert warnings(judge() >> fixer("{verdict.note?}")) == []


def test_a_changed_field_shows_in_the_diff_and_irgraph_diff(tmp_path: Path) -> None:
    old, new = judge() >> fixer("{verdict.reason}"), judge() >> fixer("{verdict.category}")
    changed = diff(old, new)
    assert "fixer" in str(changed) and "{verdict.category}" in str(changed)
    assert not diff(old, judge() >> fixer("{verdict.reason}"))
    for name, pipeline in (("old", old), ("new", new)):
        (tmp_path / f"{name}.json").write_text(to_json(pipeline.to_ir()), encoding="utf-8")
    out = io.StringIO()
    assert main(["diff", str(tmp_path / "old.json"), str(tmp_path / "new.json")], out=out) == 1
    assert "{verdict.reason}" in out.getvalue() and "{verdict.category}" in out.getvalue()


def test_an_optional_read_of_an_undeclared_field_is_refused_as_written() -> None:
    (problem,) = problems(judge() >> fixer("{verdict.notes?}"))
    assert problem.message.startswith("The instruction of 'fixer' reads {verdict.notes?}, but")
    assert problem.hint == "Did you mean {verdict.note}?"


def test_messages_about_the_key_show_the_read_as_the_template_writes_it() -> None:
    (unbound,) = problems(fixer("Fix: {verdict.reason}."), inputs=set())
    assert unbound.message.startswith("'fixer' reads {verdict.reason}, but no step before it")
    assert "read it as {verdict.reason?} if it may be unset" in unbound.hint
    branch = Route("r").on("x").when("a", judge()).otherwise(Agent("k").writes("other"))
    (maybe,) = problems(branch >> fixer("Fix: {verdict.reason}."), inputs={"x", "ticket"})
    assert "read it as {verdict.reason?} in 'fixer'" in maybe.hint
    with pytest.raises(PipelineError) as refused:
        run(fixer("Fix: {verdict.reason}."), provider=FakeProvider(), state={"verdict": None})
    assert "which 'fixer' requires as {verdict.reason}" in str(refused.value)
    assert "write {verdict.reason?} in 'fixer'" in str(refused.value)


def test_a_field_in_double_braces_is_warned_of_with_the_single_braces_to_write() -> None:
    (warning,) = warnings(judge() >> fixer("Fix {{ verdict.reason }}."))
    assert "holds {{ verdict.reason }}: double braces are literal braces" in warning
    assert "not the value of the field 'verdict.reason'" in warning
    assert "Write {verdict.reason} to read the key" in warning


def test_the_pipeline_strategies_draw_field_reads_so_conformance_covers_them() -> None:
    drawn: list[str] = []

    @settings(
        max_examples=150,  # about one pipeline in ten reads a field
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(pipelines(inputs={"topic"}))
    def draw(pipeline: Any) -> None:
        validate(to_graph(pipeline, inputs={"topic"}))
        for node in _agents(pipeline):
            if node.template.fields or (node.system_template and node.system_template.fields):
                drawn.append(node.instruction)

    draw()
    assert drawn


def _agents(pipeline: Any) -> list[AgentNode]:
    found, stack = [], [pipeline.to_ir()]
    while stack:
        node = stack.pop()
        found += [node] if isinstance(node, AgentNode) else []
        stack.extend(getattr(node, "children", ()))
    return found


def test_a_field_of_a_list_or_text_in_the_object_says_how_to_read_it() -> None:
    nested = {
        "type": "object",
        "properties": {"items": {"type": "array", "items": {}}, "name": {"type": "string"}},
    }
    (listed,) = problems(judge(nested) >> fixer("{verdict.items.name}"))
    assert "writes 'verdict.items' as a JSON array, which has no fields" in listed.message
    assert listed.hint.startswith("'verdict.items' holds a list: read it whole as {verdict.items}")
    assert "MapOver(...).over('verdict.items', item='item')" in listed.hint  # a path, as it is
    assert "{item.name}" in listed.hint
    (text,) = problems(judge(nested) >> fixer("{verdict.name.first}"))
    assert text.hint == "Read 'verdict.name' itself as {verdict.name}."


def test_a_route_on_a_field_inside_a_nested_list_suggests_mapping_over_its_path() -> None:
    nested = {"type": "object", "properties": {"items": {"type": "array", "items": {}}}}
    route = Route("r").on("verdict.items.name").when("x", Agent("b")).otherwise(Agent("c"))
    (problem,) = problems(judge(nested) >> route)
    assert "map over it, MapOver(...).over('verdict.items', item='item')" in problem.hint
    assert "Route(...).on('item.name')" in problem.hint
    listed = {"type": "array", "items": {"type": "object", "properties": {"a": {}}}}
    top = Route("r").on("verdict.a").when("x", Agent("b")).otherwise(Agent("c"))
    (whole,) = problems(judge(listed) >> top)
    assert "MapOver(...).over('verdict', item='item')" in whole.hint


def test_a_run_error_names_the_text_that_reads_the_field() -> None:
    text = "Ship {verdict.reason}?"  # the same text as an instruction and a gate's message
    agent = Agent("w").instruct(text).writes("out")
    gate = Gate("approve", text).writes("ok")
    for step, where in ((agent, "instruction"), (gate, "message"), (agent, "instruction")):
        with pytest.raises(RunError) as failed:
            run(written(step), provider=FakeProvider(), state={"raw": {}}, on_gate=lambda r: "y")
        assert f"the {where} reads {{verdict.reason}}" in str(failed.value)
    system = Agent("s").instruct("Go.").system("As {verdict.role}.")
    with pytest.raises(RunError, match=r"the system prompt reads \{verdict.role\}"):
        run(written(system), provider=FakeProvider(), state={"raw": {}})
