"""Gates that wait at once — in parallel branches, or in the items of a map-over — on real
Prefect (temporary local server): in process and through generated flow code, each run ends
in the asyncio backend's final state for the same answers."""

from __future__ import annotations

import json
import textwrap
import threading
from typing import Any

import pytest

from irgraph import Agent, FanOut, Gate, IrgraphError, MapOver, PipelineError, compile, run
from irgraph.backends.prefect_backend import PrefectBackend, resume_gate
from irgraph.backends.prefect_runtime import pause_key
from irgraph.testing import FakeProvider
from tests.support.prefect_env import ensure_prefect_test_env
from tests.test_prefect_worker import generated, run_flow_process

pytestmark = pytest.mark.prefect
ensure_prefect_test_env()

# Two gates and an agent side by side, then an agent that needs both answers.
PARALLEL = FanOut("sign_off").branch(Gate("legal", "Legal OK for {topic}?").writes("legal")).branch(
    Gate("brand", "Brand OK for {topic}?").writes("brand")
).branch(Agent("draft").instruct("Draft {topic}.").writes("draft")) >> Agent("publish").instruct(
    "Publish {draft}: {legal}, {brand}."
).writes("post")
PARALLEL_STATE = {"topic": "owls"}
PARALLEL_ANSWERS = {"legal": "legal says yes", "brand": "brand says fine"}

# Every item asks an agent, then waits at a gate: three gates can wait at once, and agents of
# other items start while one of them is paused.
PER_ITEM = MapOver("review").over("items", item="item").step(
    Agent("summarize").instruct("Summarize {item}.").writes("summary")
).step(Gate("check", "Keep {item}: {summary}?").writes("verdict")).writes("verdicts") >> Agent(
    "report"
).instruct("Report {verdicts}.").writes("report")
PER_ITEM_STATE = {"items": ["owls", "larks", "wrens"]}


def per_item_answer(request: Any) -> str:
    return f"keep {request.state['item']}"


def asyncio_state(pipeline: Any, state: dict[str, Any], on_gate: Any) -> dict[str, Any]:
    return run(
        pipeline, backend="asyncio", provider=FakeProvider(), state=state, on_gate=on_gate
    ).state


@pytest.mark.parametrize("pipeline", [PARALLEL, PER_ITEM], ids=["parallel", "per_item"])
def test_compile_does_not_warn_about_gates_that_wait_at_once(pipeline):
    assert compile(pipeline, backend="prefect").warnings == []


def test_parallel_gates_take_turns_and_end_as_on_asyncio():
    asked = []

    def on_gate(request):
        asked.append(request.node)
        return PARALLEL_ANSWERS[request.node]

    result = run(
        PARALLEL,
        backend=PrefectBackend(provider=FakeProvider(), gate_timeout=60),
        state=PARALLEL_STATE,
        on_gate=on_gate,
    )
    expected = asyncio_state(PARALLEL, PARALLEL_STATE, lambda r: PARALLEL_ANSWERS[r.node])
    assert result.state == expected
    assert sorted(asked) == ["brand", "legal"]
    assert (
        expected["post"]
        == "<publish: Publish <draft: Draft owls.>: legal says yes, brand says fine.>"
    )


def test_parallel_gates_resumed_from_outside_one_pause_at_a_time():
    """on_paused hears of each gate when its turn comes, so resume_gate (which resumes
    whatever gate the run is paused at) answers the gate it was told about."""
    told = []

    def on_paused(request, flow_run_id):
        told.append(request.node)
        answer = PARALLEL_ANSWERS[request.node]
        threading.Thread(target=resume_gate, args=(flow_run_id, answer), daemon=True).start()

    result = run(
        PARALLEL,
        backend=PrefectBackend(provider=FakeProvider(), gate_timeout=60),
        state=PARALLEL_STATE,
        on_paused=on_paused,
    )
    assert sorted(told) == ["brand", "legal"]
    assert result.state == asyncio_state(
        PARALLEL, PARALLEL_STATE, lambda r: PARALLEL_ANSWERS[r.node]
    )


def test_a_gate_in_every_item_of_a_map_over_ends_as_on_asyncio():
    result = run(
        PER_ITEM,
        backend=PrefectBackend(provider=FakeProvider(), gate_timeout=60),
        state=PER_ITEM_STATE,
        on_gate=per_item_answer,
    )
    expected = asyncio_state(PER_ITEM, PER_ITEM_STATE, per_item_answer)
    assert result.state == expected
    assert expected["verdicts"] == ["keep owls", "keep larks", "keep wrens"]


# Generated flow code ----------------------------------------------------------------------

DRIVER = textwrap.dedent(
    """
    import asyncio, importlib.util, json, sys
    from prefect import get_client
    from prefect.client.schemas.filters import (
        FlowRunFilter, FlowRunFilterState, FlowRunFilterStateType,
    )
    from prefect.client.schemas.sorting import FlowRunSort
    from irgraph.backends.prefect_runtime import resume_when_paused

    PAUSED = FlowRunFilter(state=FlowRunFilterState(type=FlowRunFilterStateType(any_=["PAUSED"])))

    async def answer(answers):
        # Resume each paused gate with the answer for its pause key, until all are given.
        left = dict(answers)
        async with get_client() as client:
            while left:
                # explicit sort and limit: this FastAPI rejects the client's nulls for them
                runs = await client.read_flow_runs(
                    flow_run_filter=PAUSED, sort=FlowRunSort.ID_DESC, limit=5
                )
                for paused in runs:
                    key = paused.state.state_details.pause_key
                    if key in left:
                        await resume_when_paused(str(paused.id), left.pop(key), key=key, timeout=60)
                await asyncio.sleep(0.1)

    async def main(module, state, answers):
        flow = module.rich_flow(state=state, run_key="gates-test")
        final, _ = await asyncio.gather(flow, answer(answers))
        return final

    spec = importlib.util.spec_from_file_location("gates_module", sys.argv[1])
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    state, answers = json.loads(sys.argv[2]), json.loads(sys.argv[3])
    print(json.dumps(asyncio.run(asyncio.wait_for(main(module, state, answers), 300))))
    """
)


@pytest.mark.slow
def test_generated_flows_with_parallel_gates_and_gates_per_item_end_as_on_asyncio(tmp_path):
    pipeline = PARALLEL >> PER_ITEM
    path = tmp_path / "gates_flow.py"
    path.write_text(generated(pipeline), encoding="utf-8")
    state = {**PARALLEL_STATE, **PER_ITEM_STATE}
    answers = {
        pause_key(node, (), "gates-test", f"{node.capitalize()} OK for owls?"): answer
        for node, answer in PARALLEL_ANSWERS.items()
    }
    for index, item in enumerate(PER_ITEM_STATE["items"]):
        message = f"Keep {item}: <summarize: Summarize {item}.>?"
        answers[pause_key("check", (("review", index),), "gates-test", message)] = f"keep {item}"
    args = ["-c", DRIVER, str(path), json.dumps(state), json.dumps(answers)]
    final = run_flow_process(args, tmp_path)

    def on_gate(request):
        return PARALLEL_ANSWERS.get(request.node) or per_item_answer(request)

    assert final == asyncio_state(pipeline, state, on_gate)


def test_a_gated_run_nobody_could_answer_is_refused_before_it_starts(monkeypatch):
    """No on_gate, no on_paused and a temporary server: the run would pause until the gate
    timeout (an hour) with nobody able to resume it, so it is refused at once, naming the
    gates and the three ways out; no model is asked."""
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    fake = FakeProvider()
    with pytest.raises(IrgraphError, match="'legal', 'brand'") as refused:
        run(PARALLEL, backend=PrefectBackend(provider=fake), state=PARALLEL_STATE)
    message = str(refused.value)
    assert "on_gate=" in message and "on_paused=" in message and "PREFECT_API_URL" in message
    assert fake.calls == []


def test_an_empty_run_key_is_refused():
    fake = FakeProvider()
    with pytest.raises(PipelineError, match="run_key is empty"):
        run(
            Agent("a").instruct("Go."),
            backend=PrefectBackend(provider=fake),
            run_key="",
        )
    assert fake.calls == []


def test_resume_gate_called_from_on_paused_itself_is_refused_at_once():
    """``on_paused`` runs on the flow's own path: a ``resume_gate`` there blocks the run
    before it can pause, and waited out its timeout to say the run "did not pause"."""
    reviewed = Agent("writer").instruct("Draft {topic}.").writes("draft") >> Gate(
        "approve", "Publish {draft}?"
    ).writes("verdict")

    def on_paused(request: Any, flow_run_id: str) -> None:
        resume_gate(flow_run_id, "yes", timeout=20)

    backend = PrefectBackend(provider=FakeProvider(), gate_timeout=60)
    with pytest.raises(IrgraphError) as info:
        run(reviewed, backend=backend, state={"topic": "owls"}, on_paused=on_paused)
    said = str(info.value)
    assert "called on the path of flow run" in said and "threading.Thread" in said, said


def test_resume_gate_given_a_flow_runs_name_says_it_needs_the_id():
    """Prefect's log names a run ('meaty-bullfinch'); resume_gate takes its id."""
    with pytest.raises(IrgraphError, match="'meaty-bullfinch', which is not a flow run id"):
        resume_gate("meaty-bullfinch", "yes")
