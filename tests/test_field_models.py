"""A field read through a pydantic model instance (a Transform returned the model, not its
JSON) fails the run at the route or loop, naming it, the key and ``.model_dump()``.

Routes and loops compare JSON values. A model is no JSON object, so a route on a field of it
would take its otherwise and a loop stopping on a field of it would never stop, silently;
every backend that evaluates them refuses it instead: asyncio (and Prefect in process, which
shares its scheduler), the reference interpreter and generated Prefect flow code.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pydantic
import pytest

from irgraph import Agent, Loop, Route, RunError, Transform, run
from irgraph.builder import Builder
from irgraph.run import run_coroutine
from irgraph.testing import FakeProvider
from irgraph.testing.reference import ReferenceFailure, interpret

SAID = (
    "'review' holds a Review model, not a JSON object: a step that writes a model should "
    "return its .model_dump()"
)


class Review(pydantic.BaseModel):
    verdict: str
    notes: str = ""


def as_model(draft: str) -> Any:
    """A step that returns the model itself (not said: found only at run time)."""
    return Review(verdict="approved", notes=draft)


def as_typed_model(draft: str) -> Review:
    """A step that returns the model itself, and says so."""
    return Review(verdict="approved", notes=draft)


def as_json(draft: str) -> dict[str, Any]:
    """A step that returns the model's JSON, as it should."""
    return as_model(draft).model_dump()


def polish(review: Any = as_model, **equals: Any) -> Builder:
    body = Agent("writer").instruct("Write on {topic}.").writes("draft") >> (
        Transform("critic", review).reads("draft").writes("review")
    )
    return Loop("polish").step(body).until("review.verdict", **equals).max_iterations(3)


def triage(review: Any = as_model) -> Builder:
    ship = Agent("ship").instruct("Ship.").writes("out")
    route = Route("triage").on("review.verdict").when("approved", ship)
    made = Transform("critic", review).reads("topic").writes("review")
    return made >> route.otherwise(Agent("redo").instruct("Redo.").writes("out"))


STATE = {"topic": "owls"}


@pytest.mark.parametrize("equals", [{"equals": "approved"}, {}])
def test_a_loop_stopping_on_a_field_of_a_model_fails_naming_the_loop(equals: Any) -> None:
    with pytest.raises(RunError) as caught:
        run(polish(**equals), provider=FakeProvider(), state=STATE)
    assert caught.value.node == "polish"
    assert f"Loop 'polish' stops on 'review.verdict', but {SAID}" in str(caught.value)
    writer_calls = [c for c in caught.value.completed if c == "writer"]
    assert writer_calls == ["writer"]  # refused after the first pass, not run three times
    done = run(polish(as_json, **equals), provider=FakeProvider(), state=STATE)
    assert [e.node for e in done.trace if e.event == "start"].count("writer") == 1


def test_a_route_on_a_field_of_a_model_fails_rather_than_take_its_otherwise() -> None:
    with pytest.raises(RunError) as caught:
        run(triage(), provider=FakeProvider(), state=STATE)
    assert caught.value.node == "triage"
    assert f"Route 'triage' compares 'review.verdict', but {SAID}" in str(caught.value)
    assert "ship" in run(triage(as_json), provider=FakeProvider(), state=STATE).state["out"]


@pytest.mark.parametrize("pipeline", [polish(equals="approved"), polish(), triage()])
def test_the_reference_interpreter_fails_there_too(pipeline: Builder) -> None:
    with pytest.raises(ReferenceFailure) as caught:
        run_coroutine(interpret(pipeline.to_ir(), FakeProvider(), STATE))
    assert caught.value.node in ("polish", "triage")


@pytest.mark.parametrize(
    ("pipeline", "node"), [(polish(equals="a"), "polish"), (triage(), "triage")]
)
def test_generated_prefect_code_fails_at_the_loop_or_route(
    tmp_path: Path, pipeline: Builder, node: str
) -> None:
    from irgraph.backends.prefect_backend import PrefectBackend
    from irgraph.backends.prefect_worker import PrefectWorkerConfig, generate_flow_code
    from tests.support.resume_worker import load_flow_module, with_provider

    path = tmp_path / "models_flow.py"
    compiled = PrefectBackend().compile(pipeline.to_ir())
    path.write_text(generate_flow_code(compiled, PrefectWorkerConfig("models", "local")))
    module = load_flow_module(path, f"models_{uuid.uuid4().hex[:8]}")
    module = with_provider(module, FakeProvider())
    flow = next(getattr(module, name) for name in dir(module) if name.endswith("_flow"))
    with pytest.raises(RunError) as caught:
        run_coroutine(flow(dict(STATE)))
    assert caught.value.node == node and SAID in str(caught.value)


@pytest.mark.prefect
def test_prefect_in_process_fails_at_the_loop() -> None:
    from irgraph.backends.prefect_backend import PrefectBackend
    from tests.support.prefect_env import ensure_prefect_test_env

    ensure_prefect_test_env()
    with pytest.raises(RunError) as caught:
        run(polish(equals="approved"), backend=PrefectBackend(provider=FakeProvider()), state=STATE)
    assert caught.value.node == "polish" and SAID in str(caught.value)


def test_a_transform_annotated_to_return_a_model_is_caught_before_the_run() -> None:
    from irgraph import PipelineError, to_graph, validate

    with pytest.raises(PipelineError) as caught:
        validate(to_graph(triage(as_typed_model), inputs={"topic"}))
    assert str(caught.value).startswith(
        "Route 'triage' compares 'review.verdict', a field of 'review', but transform 'critic' "
        "returns a Review model (its return annotation), not its JSON"
    )
    assert "Return the model's .model_dump() from 'critic'" in str(caught.value)
    (warning,) = validate(to_graph(polish(as_typed_model, equals="a"), inputs={"topic"}))
    assert warning.startswith(
        "Loop 'polish' stops on 'review.verdict', a field of 'review', but transform 'critic' "
        "returns a Review model (its return annotation), not its JSON"
    )
    assert validate(to_graph(triage(as_json), inputs={"topic"})) == []
    assert validate(to_graph(polish(as_json, equals="approved"), inputs={"topic"})) == []


def test_an_initial_model_or_json_text_is_refused_before_the_run_even_with_an_otherwise() -> None:
    from irgraph import PipelineError

    ship = Agent("ship").instruct("Ship.").writes("out")
    route = Route("triage").on("review.verdict").when("approved", ship)
    route = route.otherwise(Agent("redo").instruct("Redo.").writes("out"))
    fake = FakeProvider()
    with pytest.raises(PipelineError) as caught:
        run(Agent("first").writes("x") >> route, provider=fake, state={"review": as_model("t")})
    assert f"but the initial state's {SAID}, so it holds no value there, and a route " in str(
        caught.value
    )
    text = '{"verdict": "approved"}'
    with pytest.raises(PipelineError) as caught:
        run(Agent("first").writes("x") >> route, provider=fake, state={"review": text})
    assert "and the route would take its otherwise" in str(caught.value)
    assert "Give 'review' the object itself, not its JSON text" in str(caught.value)
    assert fake.calls == []
    done = run(route, provider=fake, state={"review": "no object"})  # not a mistake we can tell
    assert done.outputs["triage"] == "otherwise"
