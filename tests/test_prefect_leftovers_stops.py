"""A generated flow past its ``timeout_seconds`` says so in its ``partial``, and always has one.

Before, the partial of a timed-out run said "The run was cancelled ...", as a Ctrl-C's does;
and a run stopped before its body began (no record of it yet) left the error with no
``partial`` at all. Now the partial says the run timed out and after how long, and one that
timed out before its first step holds the state it was given and nothing completed.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from types import SimpleNamespace

import pytest

from irgraph.backends.prefect_flow_ends import partial_on_timeout
from irgraph.errors import RunError
from irgraph.run import run_coroutine
from irgraph.testing import FakeProvider
from tests.support.prefect_env import ensure_prefect_test_env
from tests.support.resume_worker import load_flow_module, with_provider
from tests.test_prefect_logs import STATE, Hangs, flow_module

pytestmark = pytest.mark.prefect
ensure_prefect_test_env()


class PlanThenHang:
    """'plan' answers as the fake model does; 'writer' never answers."""

    def __init__(self) -> None:
        self.fake, self.hangs = FakeProvider(), Hangs()

    async def complete(self, request: object) -> str:
        if getattr(request, "agent", "") == "plan":
            return await self.fake.complete(request)  # type: ignore[arg-type]
        return await self.hangs.complete(request)


def test_a_timed_out_generated_flows_partial_says_it_timed_out_and_after_how_long(
    tmp_path: Path,
) -> None:
    module = load_flow_module(flow_module(tmp_path, "fake"), f"stops_{uuid.uuid4().hex[:8]}")
    flow = with_provider(module, PlanThenHang()).logs_flow.with_options(timeout_seconds=2)
    with pytest.raises(TimeoutError) as raised:
        run_coroutine(flow(dict(STATE)))
    partial = raised.value.partial  # type: ignore[attr-defined]
    assert isinstance(partial, RunError) and partial.completed == ["plan"]
    assert str(partial).startswith(
        "The run timed out after 2 s (its flow's timeout_seconds) with 1 node completed; "
        ".completed names them"
    )
    assert "cancelled" not in str(partial).split(";")[0]


def test_a_generated_flow_timed_out_before_its_body_began_has_an_empty_partial(
    tmp_path: Path,
) -> None:
    """What Prefect hands the flow's failure hook when the timeout came before the body ran:
    the flow, its run (with the parameters it was given) and the failed state holding the
    timeout, with no record of the run in its chain."""
    module = load_flow_module(flow_module(tmp_path, "fake"), f"early_{uuid.uuid4().hex[:8]}")
    flow = module.logs_flow.with_options(timeout_seconds=5)
    late = TimeoutError("Scope timed out after 5.0 second(s).")
    run = SimpleNamespace(parameters={"state": dict(STATE), "run_key": None})
    partial_on_timeout(flow, run, SimpleNamespace(data=late))
    partial = late.partial  # type: ignore[attr-defined]
    assert isinstance(partial, RunError) and partial.cancelled
    assert (partial.state, partial.completed, partial.trace, partial.calls) == (STATE, [], [], [])
    assert partial.graph is not None and set(partial.graph) == {"plan", "writer"}
    assert str(partial).startswith(
        "The run timed out after 5 s (its flow's timeout_seconds) before its first step, so "
        "nothing ran"
    )
    assert set(partial.view().facts.status) == {"plan", "writer"}  # its view draws the pipeline


def test_a_resumed_runs_progress_shows_the_agents_taken_from_the_cache_as_reused() -> None:
    """``irgraph run --backend prefect --run-key K`` again: its lines and its live table said
    each agent answered from the cache was done, as if it had paid again; only the final
    frame said reused."""
    import io

    from irgraph import run
    from irgraph.backends.prefect_backend import PrefectBackend
    from irgraph.cli_live import RunDisplay
    from irgraph.run_progress import live_facts
    from tests.test_prefect_logs import PIPELINE

    key = uuid.uuid4().hex
    said = []
    for _ in range(2):
        display = RunDisplay(PrefectBackend().compile(PIPELINE.to_ir()).graph, io.StringIO())
        options = {"run_key": key, "on_event": display}
        run(PIPELINE, backend=PrefectBackend(), provider=FakeProvider(), state=STATE, **options)
        said.append(display.out.getvalue().splitlines())  # type: ignore[attr-defined]
    first, again = said
    assert [line for line in first if line.startswith("  ok")] == [
        line for line in first if line.startswith("  ok") and "reused" not in line
    ]
    assert [line.split(" (")[0] for line in again if "reused from the cache" in line] == [
        "  ok plan",
        "  ok writer",
    ]
    assert live_facts(display.graph, display.events).status == {
        "plan": "reused",
        "writer": "reused",
    }


def test_a_generated_flow_cancelled_before_its_body_began_carries_an_empty_partial(
    tmp_path: Path,
) -> None:
    """Cancelled while Prefect starts its flow run (held here by an ``on_running`` hook of
    the test's, which Prefect runs before the body), the caller's CancelledError carried no
    ``partial``; now the flow's crash hook gives it the empty record of the run."""
    import asyncio

    module = load_flow_module(flow_module(tmp_path, "fake"), f"cut_{uuid.uuid4().hex[:8]}")

    async def cancelled_early() -> BaseException:
        running = asyncio.Event()

        async def hold(flow: object, flow_run: object, state: object) -> None:
            running.set()
            await asyncio.sleep(600)

        flow = with_provider(module, FakeProvider()).logs_flow.with_options(on_running=[hold])
        task = asyncio.ensure_future(flow(dict(STATE)))
        await running.wait()
        task.cancel()
        try:
            await task
        except asyncio.CancelledError as stop:
            return stop
        raise AssertionError("the flow ran to its end")

    stop = asyncio.run(cancelled_early())
    partial = stop.partial  # type: ignore[attr-defined]
    assert isinstance(partial, RunError) and partial.cancelled
    assert (partial.state, partial.completed, partial.calls) == (STATE, [], [])
    assert str(partial).startswith("The run was cancelled before its first step, so nothing ran")
    assert partial.graph is not None and set(partial.view().facts.status) == {"plan", "writer"}
