"""A generated flow's RunError carries what the in-process one carries for the run's view: the
events of each node that started (its ``trace``), each model call (answered or failed), the
outputs of the nodes that finished and when the run stopped; so ``error.view()`` draws the
failed run without the pipeline (from the trace), and ``error.view(pipeline)`` draws it as an
in-process run's error draws it. Before, it carried none of them, and its view showed the
failed node and the completed ones with no time and no calls.

Generated flows run in this process, on its temporary Prefect server.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest

from irgraph import Agent, Loop, MapOver, Route, Transform, run
from irgraph.builder import Builder
from irgraph.errors import RunError
from irgraph.run import run_coroutine
from irgraph.testing import FakeProvider
from tests.support.prefect_env import ensure_prefect_test_env
from tests.support.resume_worker import load_flow_module, with_provider
from tests.test_prefect_generated_failures import generated

pytestmark = pytest.mark.prefect
ensure_prefect_test_env()


def split_words(ticket: str) -> list[str]:
    return ticket.split()


def pipeline() -> Builder:
    plan = Agent("plan").instruct("Plan {ticket}.").writes("plan")
    both = Agent("pros").instruct("Pros of {plan}").writes("pros") | Agent("cons").instruct(
        "Cons of {plan}"
    ).writes("cons")
    review = Loop("review").step(Agent("critic").instruct("Critique {pros}").writes("c"))
    split = Transform("split", split_words).reads("ticket").writes("words")
    each = MapOver("each").over("words").step(Agent("read").instruct("{item}").writes("r"))
    route = Route("triage").on("ticket").when("owls hunt", Agent("fix").instruct("Fix {plan}"))
    write = Agent("writer").instruct("Write {c}.").writes("text")
    return plan >> both >> review.max_iterations(2) >> split >> each.writes("rs") >> route >> write


STATE = {"ticket": "owls hunt"}
FAILING = {"writer": 1}


def failure(call: Any) -> RunError:
    with pytest.raises(RunError) as raised:
        call()
    return raised.value


def events(error: RunError) -> list[tuple[Any, ...]]:
    """The trace's events without their times, in a fixed order (parallel branches and
    map-over items start in any order)."""
    return sorted((e.node, e.event, e.path) for e in error.trace)


def calls(error: RunError) -> list[tuple[Any, ...]]:
    return sorted((c.node, c.path, c.prompt, c.answer, c.error, c.attempt) for c in error.calls)


@pytest.fixture(scope="module")
def errors(tmp_path_factory: pytest.TempPathFactory) -> tuple[RunError, RunError]:
    """The in-process RunError of the pipeline failing at 'writer', and the generated flow's."""
    on_asyncio = failure(lambda: run(pipeline(), provider=FakeProvider(fail=FAILING), state=STATE))
    path, flow = generated(pipeline(), tmp_path_factory.mktemp("record"), "recording")
    module = load_flow_module(path, f"recording_{uuid.uuid4().hex[:8]}")
    with_provider(module, FakeProvider(fail=FAILING))
    in_flow = failure(lambda: run_coroutine(getattr(module, flow)(dict(STATE))))
    return on_asyncio, in_flow


def test_a_generated_flows_error_carries_the_runs_events_and_calls(
    errors: tuple[RunError, RunError],
) -> None:
    on_asyncio, in_flow = errors
    assert events(in_flow) == events(on_asyncio)
    assert ("writer", "start", ()) in events(in_flow)
    assert ("writer", "end", ()) not in events(in_flow)  # it failed
    assert calls(in_flow) == calls(on_asyncio)
    assert next(c.error for c in in_flow.calls if c.node == "writer").startswith(
        "FakeProviderError("
    )
    assert in_flow.ended is not None and in_flow.ended >= max(e.time for e in in_flow.trace)


def test_a_generated_flows_error_keeps_the_outputs_of_its_agents_and_transforms(
    errors: tuple[RunError, RunError],
) -> None:
    on_asyncio, in_flow = errors
    assert in_flow.outputs  # scopes (a loop, a map-over, a route) keep none of their own
    assert in_flow.outputs == {n: v for n, v in on_asyncio.outputs.items() if n in in_flow.outputs}
    assert set(in_flow.outputs) == {"plan", "pros", "cons", "critic", "split", "read", "fix"}


def test_a_generated_flows_error_shows_the_failed_run_with_and_without_the_pipeline(
    errors: tuple[RunError, RunError],
) -> None:
    on_asyncio, in_flow = errors
    assert in_flow.view(pipeline()).facts.status == on_asyncio.view().facts.status
    drawn = in_flow.view()  # from the trace: every node that started, none that did not
    assert not drawn.facts.traced
    assert drawn.facts.status["writer"] == "failed"
    assert {n for n, s in drawn.facts.status.items() if s == "done"} >= {"plan", "critic"}
    assert "error.view(pipeline)" in drawn.html()
    assert "measured <1 ms" not in str(drawn)  # the events' times, not none


def test_a_generated_flows_error_keeps_what_its_gates_asked(tmp_path: Path) -> None:
    from irgraph import Gate
    from irgraph.backends.prefect_runtime import answering

    gated = (
        Agent("plan").instruct("Plan {ticket}.").writes("plan")
        >> Gate("approve", "Ship {plan}?").writes("ok")
        >> Agent("writer").instruct("Write {ok}.")
    )
    on_asyncio = failure(
        lambda: run(
            gated, provider=FakeProvider(fail=FAILING), state=STATE, on_gate=lambda r: "yes"
        )
    )
    path, flow = generated(gated, tmp_path, "gated")
    module = load_flow_module(path, f"gated_{uuid.uuid4().hex[:8]}")
    with_provider(module, FakeProvider(fail=FAILING))
    with answering({"approve": "yes"}):
        in_flow = failure(lambda: run_coroutine(getattr(module, flow)(dict(STATE))))
    assert in_flow.gates == on_asyncio.gates
    assert [g.message for g in in_flow.gates] == ["Ship <plan: Plan owls hunt.>?"]
    assert in_flow.outputs["approve"] == "yes"
