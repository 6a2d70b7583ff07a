"""Generated flow code refuses an initial state the pipeline cannot use as in-process runs do:
the same PipelineError, in the same words, before any task runs; and ``python flow.py run
--state`` says it in one line, exit code 2, as ``irgraph run`` does for a state given on its
command line. Before, generated code checked only for missing keys, and the run paid for the
steps before the node that failed.

Generated flows run in this process, and once in a child that exits before Prefect loads.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest

from irgraph import Agent, MapOver, Route, run, run_many
from irgraph.backends.prefect_backend import PrefectBackend
from irgraph.backends.prefect_batch import _Sender
from irgraph.backends.prefect_chunks import item_outcome
from irgraph.builder import Builder
from irgraph.errors import PipelineError
from irgraph.ir.json import pipeline_digest
from irgraph.run import run_coroutine
from irgraph.testing import FakeProvider
from tests.support.prefect_env import ensure_prefect_test_env
from tests.support.resume_worker import load_flow_module, with_provider
from tests.test_prefect_generated_failures import generated, run_command

pytestmark = pytest.mark.prefect
ensure_prefect_test_env()


def plan() -> Builder:
    return Agent("plan").instruct("Plan {ticket}.").writes("plan")


CASES: dict[str, tuple[Builder, dict[str, Any]]] = {
    "a template's field read of text": (
        plan() >> Agent("fixer").instruct("Fix: {verdict.reason}.").writes("fixed"),
        {"ticket": "t", "verdict": "x"},
    ),
    "a route on a field of text": (
        plan()
        >> Route("triage")
        .on("verdict.category")
        .when("bug", Agent("fix").instruct("Fix {plan}"))
        .when("question", Agent("answer").instruct("Answer {plan}")),
        {"ticket": "t", "verdict": "bug"},
    ),
    "a map-over over text": (
        plan()
        >> MapOver("each")
        .over("papers")
        .step(Agent("read").instruct("{item}").writes("n"))
        .writes("notes"),
        {"ticket": "t", "papers": "a, b"},
    ),
}


def refusal(call: Any) -> PipelineError:
    with pytest.raises(PipelineError) as raised:
        call()
    return raised.value


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_generated_flow_refuses_the_initial_state_an_in_process_run_refuses(
    case: str, tmp_path: Path
) -> None:
    pipeline, state = CASES[case]
    on_asyncio = refusal(lambda: run(pipeline, provider=FakeProvider(), state=state))
    path, flow = generated(pipeline, tmp_path, "refusing")
    provider = FakeProvider()
    module = with_provider(load_flow_module(path, f"refusing_{uuid.uuid4().hex[:8]}"), provider)
    in_flow = refusal(lambda: run_coroutine(getattr(module, flow)(dict(state))))
    assert (type(in_flow), str(in_flow)) == (type(on_asyncio), str(on_asyncio))
    assert [p.node for p in in_flow.problems] == [p.node for p in on_asyncio.problems]
    assert provider.calls == []  # refused before 'plan' ran


def test_a_generated_flow_still_runs_a_state_it_can_use(tmp_path: Path) -> None:
    pipeline, _ = CASES["a template's field read of text"]
    state = {"ticket": "t", "verdict": {"reason": "r"}}
    path, flow = generated(pipeline, tmp_path, "running")
    module = with_provider(
        load_flow_module(path, f"running_{uuid.uuid4().hex[:8]}"), FakeProvider()
    )
    final = run_coroutine(getattr(module, flow)(dict(state)))
    assert final == run(pipeline, provider=FakeProvider(), state=state).state


def test_a_generated_batch_flow_refuses_the_items_an_in_process_batch_refuses(
    tmp_path: Path,
) -> None:
    """``run_many`` on a work pool sends items to the batch flow: each bad one is its own
    answer, in run_many's words, and the others run."""
    pipeline, bad = CASES["a template's field read of text"]
    good = {"ticket": "t", "verdict": {"reason": "r"}}
    in_process = sorted(
        run_many(pipeline, [bad, good], provider=FakeProvider()), key=lambda r: r.index
    )
    path, flow = generated(pipeline, tmp_path, "batching")
    module = with_provider(
        load_flow_module(path, f"batching_{uuid.uuid4().hex[:8]}"), FakeProvider()
    )
    items = [
        {"index": i, "state": state, "run_key": f"k{i}"} for i, state in enumerate([bad, good])
    ]
    answers = run_coroutine(
        getattr(module, f"{flow}_batch")(items, pipeline_digest(pipeline.to_ir()))
    )
    assert answers == [
        item_outcome(0, error=in_process[0].error),
        item_outcome(1, in_process[1].state),
    ]
    assert isinstance(in_process[0].error, PipelineError)


class Unreachable:
    """A Prefect client that no request may reach: a batch whose items are all refused
    sends nothing."""

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"the batch sent a request to Prefect ({name})")


def test_a_pool_batch_refuses_before_sending_the_items_run_many_refuses_here() -> None:
    """``irgraph batch --work-pool`` / ``run_many`` on a work pool: a bad item is refused by
    the sender in run_many's words, sent to no worker (that might run a module generated
    before the flows checked values)."""
    pipeline, bad = CASES["a template's field read of text"]
    items = [bad, {"ticket": "t"}, {"ticket": "t", "verdict": None}]
    in_process = sorted(run_many(pipeline, items, provider=FakeProvider()), key=lambda r: r.index)
    runnable = PrefectBackend(work_pool="pool").compile(pipeline.to_ir())
    sender = _Sender(runnable.remote_batch(None, 10, False, None), Unreachable(), "d", "x")

    async def results() -> list[Any]:
        return [item async for item in sender.run(items)]

    on_pool = run_coroutine(results())
    assert [(r.index, type(r.error), str(r.error)) for r in on_pool] == [
        (r.index, type(r.error), str(r.error)) for r in in_process
    ]
    assert all(isinstance(r.error, PipelineError) for r in on_pool)


def test_the_generated_command_line_refuses_the_state_with_exit_code_2(tmp_path: Path) -> None:
    pipeline, state = CASES["a template's field read of text"]
    on_asyncio = refusal(lambda: run(pipeline, provider=FakeProvider(), state=state))
    path, _ = generated(pipeline, tmp_path, "refusing")
    done = run_command(path, state, tmp_path, "--state-json")  # as irgraph run's hint says
    assert done.returncode == 2, done.stderr[-3000:]
    assert done.stdout == "" and "Traceback" not in done.stderr
    assert done.stderr == f"refusing.py: error: {on_asyncio} See refusing.py --help.\n"
