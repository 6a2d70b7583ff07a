"""A template's ``{verdict.reason}`` on Prefect: in process and in generated flow code the
prompt is the one asyncio sends, and a field that is not there fails the run with asyncio's
words (tests/test_template_fields.py has the rest, on asyncio and the reference)."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest

from irgraph import Agent, PipelineError, Transform, run
from irgraph.backends.prefect_backend import PrefectBackend
from irgraph.backends.prefect_worker import PrefectWorkerConfig, generate_flow_code
from irgraph.errors import RunError
from irgraph.run import run_coroutine
from irgraph.testing import FakeProvider
from tests.support.prefect_env import ensure_prefect_test_env
from tests.support.resume_worker import load_flow_module, with_provider

pytestmark = pytest.mark.prefect
ensure_prefect_test_env()

VERDICT = {
    "type": "object",
    "properties": {"reason": {}, "note": {}, "meta": {"type": "object"}},
    "required": ["reason", "meta"],
}
REPLY = '{"reason": "It crashes.", "meta": {"source": "log"}}'
PIPELINE = Agent("judge").instruct("Judge {ticket}.").output(VERDICT).writes("verdict") >> Agent(
    "fixer"
).instruct("Fix: {verdict.reason} {verdict.meta} [{verdict.note?}]").system(
    "Cite {verdict.meta.source}."
).writes("fixed")


def lacking(ticket: str) -> dict[str, Any]:
    return {"category": "bug"}


MISSING = Transform("make", lacking).reads("ticket").writes("verdict") >> Agent("fixer").instruct(
    "Fix: {verdict.reason}."
)


def flow_module(pipeline: Any, folder: Path, name: str) -> Any:
    compiled = PrefectBackend().compile(pipeline.to_ir())
    code = generate_flow_code(compiled, PrefectWorkerConfig("fields", "local"))
    path = folder / f"{name}.py"
    path.write_text(code, encoding="utf-8")
    return load_flow_module(path, f"{name}_{uuid.uuid4().hex[:8]}")


def test_fields_render_alike_on_asyncio_prefect_and_generated_code(tmp_path: Path) -> None:
    state = {"ticket": "t"}
    prompts = []
    for backend in ("asyncio", "prefect", "generated"):
        provider = FakeProvider(responses={"judge": REPLY})
        if backend == "generated":
            module = with_provider(flow_module(PIPELINE, tmp_path, "fields_flow"), provider)
            run_coroutine(module.fields_flow(dict(state)))
        else:
            on_prefect = backend == "prefect"
            chosen = PrefectBackend(provider=provider) if on_prefect else "asyncio"
            run(PIPELINE, provider=None if on_prefect else provider, backend=chosen, state=state)
        prompts.append((provider.calls[-1].prompt, provider.calls[-1].system))
    expected = ('Fix: It crashes. {"source": "log"} []', "Cite log.")
    assert prompts == [expected] * 3


def test_a_missing_field_fails_with_the_same_words_everywhere(tmp_path: Path) -> None:
    said = []
    for backend in ("asyncio", "prefect"):
        with pytest.raises(RunError) as failed:
            if backend == "prefect":
                run(MISSING, backend=PrefectBackend(provider=FakeProvider()), state={"ticket": "t"})
            else:
                run(MISSING, provider=FakeProvider(), state={"ticket": "t"})
        assert failed.value.node == "fixer"
        said.append(str(failed.value))
    assert "'verdict' has no field 'reason' (its keys: 'category')" in said[0]
    assert said[0] == said[1]
    # A generated flow fails with the same RunError, what completed kept.
    module = with_provider(flow_module(MISSING, tmp_path, "missing_flow"), FakeProvider())
    with pytest.raises(RunError) as raised:
        run_coroutine(module.fields_flow({"ticket": "t"}))
    assert str(raised.value) == said[0] and raised.value.node == "fixer"
    assert raised.value.completed == ["make"] and "verdict" in raised.value.state


def test_an_initial_value_without_the_field_is_refused_alike_before_any_call() -> None:
    """A key only the initial state gives is checked before the flow starts, as asyncio does
    (tests/test_template_initial_values.py has the rest)."""
    fixer = Agent("fixer").instruct("Fix: {verdict.reason}.").writes("fixed")
    pipeline = Agent("plan").instruct("Plan {ticket}.").writes("plan") >> fixer
    said = []
    for backend in ("asyncio", "prefect"):
        provider = FakeProvider()
        chosen = PrefectBackend(provider=provider) if backend == "prefect" else "asyncio"
        with pytest.raises(PipelineError) as refused:
            run(
                pipeline,
                backend=chosen,
                provider=None if backend == "prefect" else provider,
                state={"ticket": "t", "verdict": {"category": "bug"}},
            )
        assert (refused.value.node, refused.value.key) == ("fixer", "verdict")
        assert provider.calls == []
        said.append(str(refused.value))
    assert "the initial state's 'verdict' has no field 'reason' (its keys: 'category')" in said[0]
    assert said[0] == said[1]
