"""A route on a field of an object an agent writes: ``Route("r").on("verdict.category")``.

The route reads the key (``verdict``), its values are checked before the run against the
field's schema in the writer's output schema (a pydantic model's too), a field no writer can
hold is refused naming it, and every backend takes the same branch: asyncio, the reference
interpreter, Prefect in process and generated Prefect flow code.
"""

from __future__ import annotations

import copy
import uuid
from pathlib import Path
from typing import Any, Literal

import pydantic
import pytest

from irgraph import (
    Agent,
    Loop,
    MapOver,
    PipelineError,
    Route,
    Transform,
    from_graph,
    run,
    to_graph,
    validate,
)
from irgraph.backends.asyncio_backend import AsyncioBackend
from irgraph.builder import Builder
from irgraph.code import to_code
from irgraph.errors import RunError
from irgraph.ir.key_paths import field_schema, path_value
from irgraph.testing import FakeProvider
from irgraph.testing.reference import interpret

STATE = {"ticket": "The app crashes."}


class Verdict(pydantic.BaseModel):
    category: Literal["bug", "feature"]
    reason: str


class Nested(pydantic.BaseModel):
    verdict: Verdict
    urgent: bool


class Maybe(pydantic.BaseModel):
    verdict: Verdict | None = None  # an object, or null


class Cat(pydantic.BaseModel):
    kind: Literal["cat"]
    category: Literal["bug", "feature"]  # what only a cat holds


class Dog(pydantic.BaseModel):
    kind: Literal["dog"]
    barks: bool


class Pet(pydantic.BaseModel):
    verdict: Cat | Dog = pydantic.Field(discriminator="kind")  # a union of models


def triage(schema: Any = Verdict, on: str = "verdict.category", **cases: str) -> Builder:
    route = Route("triage").on(on)
    for value in cases.get("values", "bug feature").split():
        route = route.when(value, Agent(f"do_{value}").instruct("{ticket}").writes("answer"))
    if cases.get("otherwise", "yes") == "yes":
        route = route.otherwise(Agent("other").instruct("{ticket}").writes("answer"))
    classify = Agent("classify").instruct("Classify {ticket}.")
    if schema is not None:
        classify = classify.output(schema)
    return classify.writes("verdict") >> route


def problems(pipeline: Builder) -> str:
    with pytest.raises(PipelineError) as caught:
        validate(to_graph(pipeline, inputs={"ticket"}))
    return str(caught.value)


def test_the_route_reads_the_key_and_the_graph_round_trips() -> None:
    G = to_graph(triage(), inputs={"ticket"})
    assert validate(G) == []
    assert G.nodes["triage"]["on"] == "verdict.category"
    assert G.has_edge("classify", "triage") and G.edges["classify", "triage"]["keys"] == ["verdict"]
    assert to_graph(from_graph(G)).nodes["triage"] == G.nodes["triage"]
    assert ".on('verdict.category')" in to_code(triage().to_ir())


@pytest.mark.parametrize(
    ("pipeline", "expected"),
    [
        (triage(values="bug featur"), "branch for \"featur\", but 'verdict.category' can only"),
        (triage(on="verdict.categry"), "declares no field 'categry' in 'verdict'"),
        (triage(on="verdict.categry"), "Did you mean 'verdict.category'?"),
        (triage(schema=None), "writes 'verdict' as free text (it has no output schema)"),
        (triage(schema={"enum": ["bug"]}), "writes 'verdict' as one of its enum values"),
        (triage(schema=Nested, on="verdict.verdict.kind"), "no field 'kind' in 'verdict.verdict'"),
        (
            triage(schema=Nested, on="verdict.urgent", values="bug"),
            "can only be one of true, false",
        ),
        (triage(schema=Maybe, on="verdict.verdict.categry"), "'verdict.verdict.category'?"),
        (triage(schema=Maybe, on="verdict.verdict.category", values="featur"), 'for "featur"'),
        (triage(schema=Pet, on="verdict.verdict.knd"), "(its fields: 'barks', 'category', 'kind')"),
        (triage(schema=Pet, on="verdict.verdict.kind", values="cat dgo"), 'for "dgo"'),
    ],
)
def test_a_field_no_writer_can_hold_or_a_value_it_never_has_is_refused(
    pipeline: Builder, expected: str
) -> None:
    assert expected in problems(pipeline)


def test_a_value_of_the_field_with_no_branch_and_no_otherwise_is_warned_of() -> None:
    warnings = validate(to_graph(triage(values="bug", otherwise="no"), inputs={"ticket"}))
    assert any('no branch for "feature"' in w and "'verdict.category'" in w for w in warnings)


class Loose(pydantic.BaseModel):
    category: Literal["bug", "feature"] = "bug"  # a default: not required


@pytest.mark.parametrize(
    ("schema", "on", "said"),
    [
        (Loose, "verdict.category", "('category' is not required in its output schema)"),
        (Maybe, "verdict.verdict.category", "('verdict' is not required in its output schema)"),
        (
            {**Maybe.model_json_schema(), "required": ["verdict"]},
            "verdict.verdict.category",
            "('verdict' may be null in its output schema)",
        ),
        (Pet, "verdict.verdict.category", "('category' is in only some of the objects 'verdict'"),
    ],
)
def test_a_field_the_writer_may_leave_out_with_no_otherwise_is_warned_of(
    schema: Any, on: str, said: str
) -> None:
    warnings = validate(to_graph(triage(schema, on, otherwise="no"), inputs={"ticket"}))
    assert any(f"agent 'classify' may leave it out {said}" in w for w in warnings)
    assert validate(to_graph(triage(schema, on), inputs={"ticket"})) == []  # an otherwise
    reply = '{"verdict": null}' if "null" in said else "{}"  # the field left out
    if schema is Pet:
        reply = '{"verdict": {"kind": "dog", "barks": true}}'
    provider = FakeProvider(responses={"classify": reply})
    with pytest.raises(RunError, match=f"Route 'triage' has no branch for {on} = nothing"):
        run(
            triage(schema, on, otherwise="no"),
            backend=AsyncioBackend(provider=provider),
            state=STATE,
        )


def test_a_nested_models_field_is_checked_through_its_ref() -> None:
    assert validate(to_graph(triage(Nested, "verdict.verdict.category"), inputs={"ticket"})) == []
    schema = field_schema(Nested.model_json_schema(), ("verdict", "category"))
    assert schema["enum"] == ["bug", "feature"]


def test_a_map_over_items_field_is_checked_against_the_items_schema() -> None:
    items = {"type": "array", "items": Verdict.model_json_schema()}
    route = Route("pick").on("v.category").when("bug", Agent("fix").instruct("Fix.").writes("done"))
    body = route.otherwise(Agent("skip").instruct("Skip.").writes("done"))
    pipeline = Agent("list").instruct("{ticket}").output(items).writes("verdicts") >> MapOver(
        "each"
    ).over("verdicts", item="v").step(body).writes("results")
    assert validate(to_graph(pipeline, inputs={"ticket"})) == []
    wrong = Route("pick").on("v.kind").when("bug", Agent("fix").writes("done"))
    pipeline = Agent("list").instruct("{ticket}").output(items).writes("verdicts") >> MapOver(
        "each"
    ).over("verdicts", item="v").step(wrong.otherwise(Agent("skip").writes("done"))).writes("r")
    assert "declares no field 'kind' in 'v'" in problems(pipeline)


REPLY = '{"category": "feature", "reason": "asks for more"}'


async def on_reference(pipeline: Builder, reply: str) -> dict[str, Any]:
    found = await interpret(pipeline.to_ir(), FakeProvider(responses={"classify": reply}), STATE)
    return found.state


@pytest.mark.parametrize(
    ("reply", "branch"), [(REPLY, "do_feature"), (REPLY.replace("feature", "bug"), "do_bug")]
)
def test_asyncio_and_the_reference_take_the_fields_branch(reply: str, branch: str) -> None:
    result = run(triage(), provider=FakeProvider(responses={"classify": reply}), state=STATE)
    assert branch in result.outputs and result.outputs["triage"] == f'"{branch[3:]}"'
    from irgraph.run import run_coroutine

    assert run_coroutine(on_reference(triage(), reply)) == result.state


@pytest.mark.parametrize(
    ("state", "said"),
    [
        ({"verdict": {"reason": "x"}}, "nothing ('verdict' has no field 'category')"),
        ({"verdict": "bug"}, "nothing ('verdict' holds str, not an object)"),
    ],
)
def test_a_run_with_no_branch_for_the_field_says_what_the_key_held(
    state: dict[str, Any], said: str
) -> None:
    route = Route("r").on("verdict.category").when("bug", Agent("fix").writes("patch"))
    copied = Transform("copy", copy.deepcopy).reads("raw").writes("verdict") >> route
    with pytest.raises(RunError) as caught:  # a value a step wrote: known only as it runs
        run(
            copied, backend=AsyncioBackend(provider=FakeProvider()), state={"raw": state["verdict"]}
        )
    assert f"Route 'r' has no branch for verdict.category = {said}" in str(caught.value)


@pytest.mark.parametrize(
    ("verdict", "said"),
    [
        ({"reason": "x"}, "the initial state's 'verdict' has no field 'category'"),
        ("bug", "the initial state's 'verdict' holds str, not an object"),
        ('{"category": "bug"}', '--state-json \'{"verdict": {"category": "bug"}}\''),
    ],
)
def test_an_initial_value_without_the_field_is_refused_before_the_run(
    verdict: Any, said: str
) -> None:
    route = Route("r").on("verdict.category").when("bug", Agent("fix").writes("patch"))
    provider = FakeProvider()
    with pytest.raises(PipelineError) as caught:
        run(route, provider=provider, state={"verdict": verdict})
    assert said in str(caught.value) and provider.calls == []
    route = route.otherwise(Agent("other").writes("patch"))
    if isinstance(verdict, str) and verdict.startswith("{"):  # the object's JSON text: the
        with pytest.raises(PipelineError, match="would take its otherwise"):  # otherwise
            run(route, state={"verdict": verdict})  # would hide the mistake
        return
    done = run(route, state={"verdict": verdict})
    assert "other" in done.outputs  # an otherwise takes it: nothing to refuse


def test_an_initial_fields_value_no_branch_takes_is_refused_before_the_run() -> None:
    route = Route("r").on("verdict.category").when("bug", Agent("fix").writes("patch"))
    provider = FakeProvider()
    with pytest.raises(PipelineError) as caught:
        run(route, provider=provider, state={"verdict": {"category": "Bug"}})
    assert "the initial state's 'verdict.category' is \"Bug\"" in str(caught.value)
    assert provider.calls == []
    done = run(route, provider=provider, state={"verdict": {"category": "bug"}})
    assert done.outputs["r"] == '"bug"' and path_value(done.state, "verdict.category")[1] == "bug"


@pytest.mark.prefect
def test_prefect_in_process_and_generated_code_take_the_fields_branch(tmp_path: Path) -> None:
    from irgraph.backends.prefect_backend import PrefectBackend
    from irgraph.backends.prefect_worker import PrefectWorkerConfig, generate_flow_code
    from irgraph.run import run_coroutine
    from tests.support.prefect_env import ensure_prefect_test_env
    from tests.support.resume_worker import load_flow_module, with_provider

    ensure_prefect_test_env()
    replies = {"classify": REPLY}
    expected = run(triage(), provider=FakeProvider(responses=replies), state=STATE).state
    prefect = run(
        triage(), backend=PrefectBackend(provider=FakeProvider(responses=replies)), state=STATE
    )
    assert prefect.state == expected and "do_feature" in prefect.outputs
    compiled = PrefectBackend().compile(triage().to_ir())
    path = tmp_path / "fields_flow.py"
    path.write_text(generate_flow_code(compiled, PrefectWorkerConfig("fields", "local")))
    module = load_flow_module(path, f"fields_flow_{uuid.uuid4().hex[:8]}")
    module = with_provider(module, FakeProvider(responses=replies))
    flow = next(getattr(module, name) for name in dir(module) if name.endswith("_flow"))
    assert run_coroutine(flow(dict(STATE))) == expected


REVIEW = {
    "type": "object",
    "properties": {"verdict": {"enum": ["approved", "rejected"]}, "notes": {"type": "string"}},
    "required": ["verdict", "notes"],
}
REVIEWS = ['{"verdict": "rejected", "notes": "a"}', '{"verdict": "approved", "notes": "b"}']


def review_loop(until: str = "review.verdict", schema: Any = REVIEW, **equals: Any) -> Builder:
    critic = Agent("critic").instruct("Review {draft}.")
    critic = critic.output(schema) if schema is not None else critic
    body = Agent("writer").instruct("Write on {topic}. {review?}").writes("draft") >> (
        critic.writes("review")
    )
    return Loop("polish").step(body).until(until, **equals).max_iterations(4)


@pytest.mark.parametrize(
    ("loop", "expected"),
    [
        (
            review_loop(equals="aproved"),
            'only writes \'review.verdict\' as one of "approved", "rej',
        ),
        (
            review_loop(equals="aproved"),
            "Did you mean .until('review.verdict', equals='approved')?",
        ),
        (review_loop("review.verdit", equals="approved"), "Did you mean 'review.verdict'?"),
        (review_loop(schema=None, equals="approved"), "writes 'review' as free text"),
        (review_loop(schema={"enum": ["ok"]}), "writes 'review' as one of its enum values"),
    ],
)
def test_a_loop_stopping_on_a_field_no_pass_can_hold_is_warned_of(
    loop: Builder, expected: str
) -> None:
    warnings = validate(to_graph(loop, inputs={"topic"}))
    assert any(expected in warning and "never stops early" in warning for warning in warnings)


@pytest.mark.parametrize("equals", [{"equals": "approved"}, {}])
def test_a_loop_stops_on_a_field_on_asyncio_the_reference_and_generated_prefect_code(
    tmp_path: Path, equals: dict[str, Any]
) -> None:
    loop = review_loop(**equals)
    assert validate(to_graph(loop, inputs={"topic"})) == []
    state = {"topic": "owls"}
    replies = REVIEWS if equals else ['{"verdict": "", "notes": "a"}', *REVIEWS]
    schema = REVIEW if equals else {**REVIEW, "properties": {"verdict": {"type": "string"}}}
    loop = review_loop(schema=schema, **equals)
    result = run(loop, provider=FakeProvider(responses={"critic": replies}), state=state)
    assert [call.node for call in result.calls].count("critic") == 2
    from irgraph.run import run_coroutine

    reference = run_coroutine(
        interpret(loop.to_ir(), FakeProvider(responses={"critic": replies}), state)
    )
    assert reference.state == result.state
    from irgraph.backends.prefect_backend import PrefectBackend
    from irgraph.backends.prefect_worker import PrefectWorkerConfig, generate_flow_code
    from tests.support.resume_worker import load_flow_module, with_provider

    path = tmp_path / "polish_flow.py"
    compiled = PrefectBackend().compile(loop.to_ir())
    path.write_text(generate_flow_code(compiled, PrefectWorkerConfig("polish", "local")))
    assert "stops(state, 'review.verdict'" in path.read_text()
    provider = FakeProvider(responses={"critic": replies})
    module = with_provider(load_flow_module(path, f"polish_{uuid.uuid4().hex[:8]}"), provider)
    assert run_coroutine(module.polish_flow(dict(state))) == result.state
    assert [call.agent for call in provider.calls].count("critic") == 2


def as_model(ticket: str) -> Any:
    """A step that returns the model itself, not its JSON (not said in its annotation, which
    validate reads: tests/test_field_models.py)."""
    return Verdict(category="bug", reason=ticket)


def test_a_model_where_its_json_belongs_is_named_with_the_fix() -> None:
    route = Route("r").on("verdict.category").when("bug", Agent("fix").writes("patch"))
    said = "'verdict' holds a Verdict model, not a JSON object: a step that writes a model"
    modelled = Transform("model", as_model).reads("ticket").writes("verdict") >> route
    with pytest.raises(RunError, match=said):
        run(modelled, backend=AsyncioBackend(provider=FakeProvider()), state=STATE)
    with pytest.raises(PipelineError, match=said):
        run(route, provider=FakeProvider(), state={"verdict": as_model("t")})


def test_a_loop_on_a_field_its_body_never_writes_names_the_key_to_write() -> None:
    body = Agent("writer").instruct("Draft {topic}.").writes("draft")
    loop = Loop("polish").step(body).until("review.verdict", equals="approved").max_iterations(3)
    warnings = validate(to_graph(loop, inputs={"topic", "review"}))
    said = "nothing in its body writes 'review', so every pass"
    assert any(said in w and "(.writes('review') on a body step)" in w for w in warnings)
