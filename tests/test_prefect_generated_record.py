"""A generated flow's RunError carries what the in-process one carries for the run's view: the
events of each node that started (its ``trace``), each model call (answered or failed), the
outputs of the nodes that finished (a loop's, a map-over's and a route's too), when the run
stopped, the pipeline's graph and the nodes answered from an earlier run's cache
(``reused``); so ``error.view()`` draws the failed run as an in-process run's error draws
it. Before, it carried none of them; then no graph, no ``reused`` and no output of a loop,
map-over or route (its view, without the pipeline, was drawn from the trace). A module an
older irgraph generated gives no graph: its error's view is still drawn from the trace.

Generated flows run in this process, on its temporary Prefect server.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import networkx as nx
import pytest

from irgraph import Agent, Gate, Loop, MapOver, Route, Transform, run
from irgraph.backends.asyncio_backend import AsyncioBackend
from irgraph.backends.prefect_backend import PrefectBackend
from irgraph.backends.prefect_failures import failing, run_record
from irgraph.backends.prefect_runtime import answering
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


def flow_of(pipeline: Builder, folder: Path, name: str, older: bool = False) -> Any:
    """The flow of ``pipeline``'s generated module (``older``: as an irgraph before this one
    generated it, whose flow gives its record no pipeline), its agents failing at 'writer'."""
    path, flow = generated(pipeline, folder, name)
    if older:
        code = path.read_text("utf-8")
        path.write_text(code.replace("run_record(state, PIPELINE_JSON, PIPELINE_INPUTS)",
                                     "run_record(state)"), "utf-8")  # fmt: skip
    module = load_flow_module(path, f"{name}_{uuid.uuid4().hex[:8]}")
    with_provider(module, FakeProvider(fail=FAILING))
    return getattr(module, flow)


@pytest.fixture(scope="module")
def errors(tmp_path_factory: pytest.TempPathFactory) -> tuple[RunError, RunError]:
    """The in-process RunError of the pipeline failing at 'writer' (compiled as the generated
    module's is, with no inputs but those it declares), and the generated flow's."""
    compiled = AsyncioBackend().compile(pipeline().to_ir())
    on_asyncio = failure(lambda: compiled.run(STATE, provider=FakeProvider(fail=FAILING)))
    flow = flow_of(pipeline(), tmp_path_factory.mktemp("record"), "recording")
    return on_asyncio, failure(lambda: run_coroutine(flow(dict(STATE))))


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


def test_a_generated_flows_error_keeps_every_output_the_in_process_one_keeps(
    errors: tuple[RunError, RunError],
) -> None:
    on_asyncio, in_flow = errors
    assert list(in_flow.outputs.items()) == list(on_asyncio.outputs.items())  # in graph order
    scopes = {n: in_flow.outputs[n] for n in ("review", "each", "triage")}
    assert scopes == {"review": None, "each": ["<read: owls>", "<read: hunt>"],
                      "triage": '"owls hunt"'}  # fmt: skip


def test_a_generated_flows_error_carries_the_graph_and_shows_the_run_as_in_process(
    errors: tuple[RunError, RunError],
) -> None:
    on_asyncio, in_flow = errors
    assert nx.utils.graphs_equal(in_flow.graph, on_asyncio.graph)
    assert in_flow.graph.graph == on_asyncio.graph.graph
    drawn = in_flow.view()
    assert drawn.facts.traced  # from the pipeline's graph, not the trace
    assert drawn.facts.status == on_asyncio.view().facts.status
    assert drawn.facts.status["writer"] == "failed" and drawn.facts.status["triage"] == "done"
    assert in_flow.view(pipeline()).facts.status == drawn.facts.status
    assert "error.view(pipeline)" not in drawn.html()
    assert "measured <1 ms" not in str(drawn)  # the events' times, not none


def test_an_older_modules_error_is_drawn_from_its_trace(tmp_path: Path) -> None:
    flow = flow_of(pipeline(), tmp_path, "older", older=True)
    in_flow = failure(lambda: run_coroutine(flow(dict(STATE))))
    assert in_flow.graph is None and in_flow.reused == []
    drawn = in_flow.view()  # from the trace: every node that started, none that did not
    assert not drawn.facts.traced
    assert drawn.facts.status["writer"] == "failed"
    assert {n for n, s in drawn.facts.status.items() if s == "done"} >= {"plan", "critic"}
    assert "error.view(pipeline)" in drawn.html()


def test_a_generated_flows_error_names_what_an_earlier_run_answered_as_in_process(
    tmp_path: Path,
) -> None:
    """Run twice under one run key, failing at 'writer' both times: the second run takes
    'plan''s answer and the gate's from the first run's cache, as RunResult.reused names
    them, on the in-process Prefect backend and in a generated flow alike."""
    gated = (
        Agent("plan").instruct("Plan {ticket}.").writes("plan")
        >> Gate("approve", "Ship {plan}?").writes("ok")
        >> Agent("writer").instruct("Write {ok}.")
    )
    key = f"again-{uuid.uuid4().hex[:8]}"
    compiled = PrefectBackend(result_dir=str(tmp_path / "results")).compile(gated.to_ir())

    def in_process() -> Any:
        provider = FakeProvider(fail=FAILING)
        return compiled.run(STATE, provider=provider, run_key=key, on_gate=lambda r: "yes")

    def in_a_flow() -> Any:
        flow = flow_of(gated, tmp_path, "again")
        with answering({"approve": "yes"}):
            return run_coroutine(flow(dict(STATE), f"{key}-flow"))

    in_process_errors = [failure(in_process) for _ in range(2)]
    in_flow = [failure(in_a_flow) for _ in range(2)]
    assert [e.reused for e in in_process_errors] == [[], ["plan", "approve"]]
    assert [e.reused for e in in_flow] == [[], ["plan", "approve"]]
    assert in_flow[1].view().facts.status == in_process_errors[1].view().facts.status
    assert in_flow[1].view().facts.status["plan"] == "reused"


def test_a_generated_flows_error_keeps_what_its_gates_asked(tmp_path: Path) -> None:
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
    with answering({"approve": "yes"}):
        in_flow = failure(lambda: run_coroutine(flow_of(gated, tmp_path, "gated")(dict(STATE))))
    assert in_flow.gates == on_asyncio.gates
    assert [g.message for g in in_flow.gates] == ["Ship <plan: Plan owls hunt.>?"]
    assert in_flow.outputs["approve"] == "yes"


def test_a_pipeline_that_cannot_be_read_leaves_the_runs_error_as_it_is() -> None:
    """The graph is read from the module's JSON only when a run fails: a text that is no
    pipeline leaves the error without its graph, rather than raising in its place."""
    with pytest.raises(RunError) as raised, run_record({}, "not JSON"):
        with failing("a", "transform"):
            raise ValueError("boom")
    assert raised.value.node == "a" and raised.value.graph is None
    assert isinstance(raised.value.__cause__, ValueError)
