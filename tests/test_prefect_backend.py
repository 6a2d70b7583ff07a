"""The Prefect backend against real Prefect 3 (temporary local server, shared per process)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time

import pytest

from irgraph import Agent, FanOut, Gate, MapOver, RunError, Transform, run
from irgraph.backends.asyncio_backend import AsyncioBackend
from irgraph.backends.prefect_backend import PrefectBackend, PrefectRunnable, resume_gate
from irgraph.backends.prefect_runtime import agent_cache_key
from irgraph.errors import IrgraphError
from irgraph.testing import FakeProvider
from irgraph.testing.held import HeldProvider
from tests.support.pipelines import research, split_words
from tests.support.prefect_env import ensure_prefect_test_env

pytestmark = pytest.mark.prefect
ensure_prefect_test_env()

RICH = (
    Agent("researcher").instruct("Research {topic}.").writes("findings")
    >> Transform("split", split_words).reads("topic").writes("words")
    >> (
        Agent("analyst").instruct("Analyze {findings}.").writes("analysis")
        | MapOver("per_word")
        .over("words", item="word")
        .step(Agent("define").instruct("Define {word}.").writes("definition"))
        .writes("definitions")
    )
    >> (
        (
            Agent("writer").instruct("Draft from {analysis} {feedback?}").writes("draft")
            >> Agent("critic").instruct("Critique {draft}").writes("feedback")
        )
        * 2
    )
    >> Agent("editor").instruct("Final: {draft} / {definitions}").writes("report")
)


def test_plan_lists_every_node_with_prefect_types_in_order():
    plan = PrefectBackend(work_pool="gpu-pool").compile(RICH.to_ir()).node_plan
    by_id = {entry["id"]: entry for entry in plan}
    assert by_id["researcher"]["prefect_type"] == "task"
    assert by_id["split"]["prefect_type"] == "inline"
    assert by_id["per_word"]["prefect_type"] == "map"
    assert by_id["writer_then_critic_x2"]["prefect_type"] == "flow"
    assert by_id["writer_then_critic_x2"]["max_iterations"] == 2
    assert by_id["define"]["parent"] == "per_word"
    assert by_id["editor"]["reads"] == ["definitions", "draft"]
    assert by_id["critic"]["depends_on"] == ["writer"]
    assert plan[0]["prefect_type"] == "flow" and plan[0]["node_type"] == "SequenceNode"
    ids = [e["id"] for e in plan]
    assert ids.index("researcher") < ids.index("analyst") < ids.index("editor")
    for entry in plan:
        assert set(entry) >= {
            "id",
            "node_type",
            "name",
            "prefect_type",
            "model",
            "max_iterations",
            "reads",
            "writes",
            "depends_on",
        }


def test_plan_is_deterministic_across_processes():
    code = (
        "import json; from irgraph.backends.prefect_backend import PrefectBackend;"
        "from tests.test_prefect_backend import RICH;"
        "print(json.dumps(PrefectBackend().compile(RICH.to_ir()).node_plan))"
    )
    outs = {
        subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            env={**os.environ, "PYTHONHASHSEED": seed},
            check=True,
        ).stdout
        for seed in ("1", "2")
    }
    assert len(outs) == 1


def test_compile_needs_no_prefect_import():
    code = (
        "import sys; from irgraph.backends.prefect_backend import PrefectBackend;"
        "from tests.support.pipelines import research;"
        "PrefectBackend().compile(research.to_ir()).node_plan;"
        "assert 'prefect' not in sys.modules, 'prefect imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_final_state_equals_the_asyncio_backend():
    state = {"topic": "graph agents"}
    prefect = run(RICH, backend=PrefectBackend(provider=FakeProvider()), state=state)
    local = run(RICH, backend=AsyncioBackend(provider=FakeProvider()), state=state)
    assert prefect.state == local.state
    assert prefect.backend == "prefect" and prefect.run_id
    assert sorted(e[:2] for e in (x[:2] for x in prefect.trace)) == sorted(
        e[:2] for e in (x[:2] for x in local.trace)
    )


def test_parallel_branches_run_concurrently():
    wide = FanOut("wide")
    for i in range(6):
        wide = wide.branch(Agent(f"b{i}").instruct("x").writes(f"k{i}"))
    fake = HeldProvider(6, latency=0.05)  # each call waits until all six are asked
    result = run(wide, backend=PrefectBackend(provider=fake))
    starts = [e.time for e in result.trace if e.event == "start"]
    ends = [e.time for e in result.trace if e.event == "end"]
    assert max(starts) < min(ends)
    assert fake.max_in_flight == 6


def test_flow_retry_does_not_call_completed_agents_again():
    fake = FakeProvider(fail={"writer": 1})
    backend = PrefectBackend(provider=fake, flow_retries=1)
    result = run(research, backend=backend, state={"topic": "owls"})
    assert [c.agent for c in fake.calls] == ["researcher", "analyst", "writer", "writer"]
    assert result.output.startswith("<writer:")


def test_task_retries_retry_only_the_failing_agent():
    fake = FakeProvider(fail={"analyst": 2})
    run(research, backend=PrefectBackend(provider=fake, task_retries=2), state={"topic": "owls"})
    assert [c.agent for c in fake.calls] == ["researcher"] + ["analyst"] * 3 + ["writer"]


def test_a_fresh_run_calls_the_model_again_unless_cross_run_caching_is_on():
    fake = FakeProvider()
    backend = PrefectBackend(provider=fake)
    run(research, backend=backend, state={"topic": "owls"})
    run(research, backend=backend, state={"topic": "owls"})
    assert len(fake.calls) == 6
    shared = FakeProvider()
    cached = PrefectBackend(provider=shared, cache_across_runs=True)
    run(research, backend=cached, state={"topic": "cache me"})
    run(research, backend=cached, state={"topic": "cache me"})
    assert len(shared.calls) == 3


def test_same_run_key_reuses_results_and_loop_iterations_are_not_confused():
    fake = FakeProvider(responses={"a": "same"})
    loop = Agent("a").instruct("Same prompt every time.").writes("x") * 3
    backend = PrefectBackend(provider=fake)
    run(loop, backend=backend, run_key="k-loop")
    assert len(fake.calls) == 3  # one call per iteration even with identical prompts
    run(loop, backend=backend, run_key="k-loop")
    assert len(fake.calls) == 3  # all three iterations cached under the run key


def test_failure_is_a_run_error_naming_the_node_with_completed_state():
    fake = FakeProvider(fail={"analyst": 9})
    with pytest.raises(RunError) as info:
        run(research, backend=PrefectBackend(provider=fake), state={"topic": "owls"})
    assert info.value.node == "analyst"
    assert info.value.completed == ["researcher"]
    assert info.value.state["findings"] == "<researcher: Research owls.>"


def test_gate_pauses_the_flow_and_a_handler_resumes_it():
    seen = []
    result = run(
        APPROVAL,
        backend=PrefectBackend(provider=FakeProvider()),
        on_gate=lambda request: seen.append(request.message) or "approved",
    )
    assert seen == ["Approve <draft: d>?"]
    assert result.state["approval"] == "approved"
    assert result.state["done"] == "<publish: Publish if approved.>"


def test_gate_can_be_resumed_from_another_thread_with_resume_gate():
    pipeline = Gate("ok", "Go?").writes("answer") >> Agent("after").instruct("{answer}")

    def on_paused(request, flow_run_id):
        def later():
            time.sleep(1.0)
            resume_gate(flow_run_id, "yes")

        threading.Thread(target=later, daemon=True).start()

    result = run(pipeline, backend=PrefectBackend(provider=FakeProvider()), on_paused=on_paused)
    assert result.state["answer"] == "yes"


APPROVAL = (
    Agent("draft").instruct("d").writes("draft")
    >> Gate("approve", "Approve {draft}?").writes("approval")
    >> Agent("publish").instruct("Publish if {approval}.").writes("done")
)


@pytest.fixture
def slow_to_pause(monkeypatch):
    """Every gate takes a second to reach its pause, as on a loaded machine: an answer that
    is ready sooner must wait for the pause instead of being lost."""
    import prefect.flow_runs

    real = prefect.flow_runs.apause_flow_run

    async def late(*args, **kwargs):
        await asyncio.sleep(1.0)
        return await real(*args, **kwargs)

    monkeypatch.setattr(prefect.flow_runs, "apause_flow_run", late)


def test_an_answer_ready_before_the_flow_pauses_still_resumes_it(slow_to_pause):
    # gate_timeout bounds a regression: the lost answer used to leave the flow paused.
    backend = PrefectBackend(provider=FakeProvider(), gate_timeout=30)
    result = run(APPROVAL, backend=backend, on_gate=lambda request: "approved")
    assert result.state["done"] == "<publish: Publish if approved.>"


def test_resume_gate_called_before_the_pause_waits_for_it(slow_to_pause):
    pipeline = Gate("ok", "Go?").writes("answer") >> Agent("after").instruct("{answer}")

    def on_paused(request, flow_run_id):
        threading.Thread(target=resume_gate, args=(flow_run_id, "yes"), daemon=True).start()

    backend = PrefectBackend(provider=FakeProvider(), gate_timeout=30)
    result = run(pipeline, backend=backend, on_paused=on_paused)
    assert result.state["answer"] == "yes"


def test_an_on_gate_handler_that_raises_fails_the_run_naming_the_gate():
    def no_reviewer(request):
        raise LookupError("no reviewer on duty")

    backend = PrefectBackend(provider=FakeProvider(), gate_timeout=30)
    with pytest.raises(RunError) as info:
        run(APPROVAL, backend=backend, on_gate=no_reviewer)
    assert info.value.node == "approve"
    assert "no reviewer on duty" in str(info.value)
    assert info.value.completed == ["draft"]


def test_resume_gate_on_a_finished_run_says_there_is_nothing_to_answer():
    result = run(research, backend=PrefectBackend(provider=FakeProvider()), state={"topic": "t"})
    with pytest.raises(IrgraphError, match="COMPLETED"):
        resume_gate(result.run_id, "late", timeout=30)


def test_cache_key_separates_runs_nodes_positions_prompts_and_models():
    base = agent_cache_key("run", "n", (("loop", 0),), "p", "m")
    assert base == agent_cache_key("run", "n", (("loop", 0),), "p", "m")
    others = [
        agent_cache_key("run2", "n", (("loop", 0),), "p", "m"),
        agent_cache_key("run", "n2", (("loop", 0),), "p", "m"),
        agent_cache_key("run", "n", (("loop", 1),), "p", "m"),
        agent_cache_key("run", "n", (("loop", 0),), "p2", "m"),
        agent_cache_key("run", "n", (("loop", 0),), "p", "m2"),
        agent_cache_key(None, "n", (("loop", 0),), "p", "m"),
    ]
    assert base not in others and len(set(others)) == len(others)


def test_runnable_type_and_capabilities():
    backend = PrefectBackend(work_pool="gpu-pool")
    assert isinstance(backend.compile(research.to_ir()), PrefectRunnable)
    caps = backend.capabilities
    assert (
        caps.durable,
        caps.parallel,
        caps.signals,
        caps.distributed,
        caps.streaming,
        caps.replay,
    ) == (True, True, True, True, False, False)


def test_crash_then_same_run_key_in_a_new_process_resumes_without_repeating_calls(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    log = tmp_path / "calls.log"
    results = tmp_path / "results"
    # Both processes run on this process's temporary server (one of their own each would cost
    # 10-30 s to start); what they share is only the result storage and the run key.
    from tests.support.prefect_children import child_env

    env = child_env(home)
    cmd = [sys.executable, "-m", "tests.support.crash_worker", str(log), str(results), "run-42"]
    first = subprocess.Popen(
        [*cmd, "last"],
        env=env,
        start_new_session=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if log.exists() and "last" in log.read_text().split():
                break
            if first.poll() is not None:
                raise AssertionError(first.stderr.read().decode()[-2000:])
            time.sleep(0.1)
        else:
            raise AssertionError("the first run never reached the last agent")
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(first.pid, signal.SIGKILL)
        first.wait()
    assert sorted(log.read_text().split()) == ["first", "last", "left", "right"]
    second = subprocess.run(
        [*cmd, ""], env=env, capture_output=True, text=True, timeout=180, start_new_session=True
    )
    assert second.returncode == 0, second.stderr[-2000:]
    calls = log.read_text().split()
    assert sorted(calls) == ["first", "last", "last", "left", "right"]
    assert "OUT=<last: <left: L <first: Start owls.>> <right: R <first: Start owls.>>>" in (
        second.stdout
    )


def test_irgraph_run_accepts_the_backend_name():
    result = run(
        Agent("a").instruct("{x}").writes("y"),
        backend="prefect",
        state={"x": 1},
        provider=FakeProvider(),
    )
    assert result.state["y"] == "<a: 1>"


def test_async_api_inside_an_event_loop():
    runnable = PrefectBackend(provider=FakeProvider()).compile(research.to_ir())
    result = asyncio.run(runnable.arun({"topic": "t"}))
    assert result.state["analysis"].startswith("<analyst:")


def test_a_run_of_a_backend_with_a_work_pool_warns_that_it_runs_here_and_how_to_use_the_pool():
    backend = PrefectBackend(work_pool="gpu-pool", provider=FakeProvider())
    with pytest.warns(UserWarning, match="runs this pipeline here") as told:
        result = backend.compile(research.to_ir()).run({"topic": "t"})
    assert result.state["analysis"].startswith("<analyst:")  # it still runs, here
    said = str(told[0].message)
    assert "run_many(pipeline, [state], backend=backend)" in said
    assert "--work-pool gpu-pool" in said


def test_a_run_of_a_backend_without_a_work_pool_warns_of_nothing(recwarn):
    PrefectBackend(provider=FakeProvider()).compile(research.to_ir()).run({"topic": "t"})
    assert not [w for w in recwarn if "work_pool" in str(w.message)]


def test_a_gate_inside_a_loop_pauses_every_iteration_even_with_an_odd_name():
    loop = (
        Agent("draft").instruct("Draft {feedback?}").writes("text")
        >> Gate("Review #1_ok", "OK {text}?").writes("feedback")
    ) * 2
    answers = []
    result = run(
        loop,
        backend=PrefectBackend(provider=FakeProvider()),
        on_gate=lambda request: answers.append(request.message) or f"fine {len(answers)}",
    )
    assert len(answers) == 2
    assert result.state["feedback"] == "fine 2"
    # what each iteration's gate asked is on the result; the view's row shows the last, filled in
    assert [(ask.path, ask.message) for ask in result.gates] == [
        ((("draft_then_Review #1_ok_x2", i),), answers[i]) for i in range(2)
    ]
    rows = {row["node"]: row for row in result.view().rows()}
    assert rows[result.gates[-1].node]["asked"] == answers[1] != "OK {text}?"


def test_a_run_again_under_its_run_key_names_the_agents_it_reused():
    fake = FakeProvider()
    runnable = PrefectBackend(provider=fake).compile(RICH.to_ir())
    state = {"topic": "reused owls"}
    first = runnable.run(state, run_key="reused-owls")
    again = runnable.run(state, run_key="reused-owls")
    agents = [n for n, data in runnable.graph.nodes(data=True) if data["kind"] == "agent"]
    assert first.reused == []
    assert again.reused == agents and again.state == first.state
    assert "reused" in again.view().diagram.svg
    # both runs keep every call's prompt and answer, the second's from the cache
    asked = sorted((c.node, c.prompt) for c in fake.calls)
    assert sorted((c.node, c.prompt) for c in first.calls) == asked
    assert sorted((c.node, c.prompt, c.answer) for c in again.calls) == sorted(
        (c.node, c.prompt, c.answer) for c in first.calls
    )


def _prefect_runnable() -> PrefectRunnable:
    return PrefectBackend().compile(Agent("a").instruct("Go {topic}.").to_ir())


@pytest.mark.parametrize(
    ("call", "said", "meant"),
    [
        (lambda: PrefectBackend(task_retry=2), "PrefectBackend()", "task_retries"),
        (lambda: PrefectBackend(result_dirr="r"), "PrefectBackend()", "result_dir"),
        (
            lambda: _prefect_runnable().run({"topic": "owls"}, runkey="k"),
            "PrefectRunnable.run()",
            "run_key",
        ),
        (
            lambda: asyncio.run(_prefect_runnable().arun({"topic": "owls"}, on_gat=print)),
            "PrefectRunnable.arun()",
            "on_gate",
        ),
    ],
)
def test_a_misspelled_prefect_option_says_which_was_meant_before_any_server_starts(
    call, said, meant
):
    """A misspelt keyword was Python's bare TypeError ('unexpected keyword argument')."""
    with pytest.raises(IrgraphError) as info:
        call()
    assert f"{said} got the option" in str(info.value)
    assert f"Did you mean '{meant}'?" in str(info.value)


SETTINGS_AFTER_AN_EARLIER_IMPORT = """
import json
import prefect  # the user's own import, before irgraph's settings are applied
from prefect.settings import (
    PREFECT_SERVER_ANALYTICS_ENABLED,
    PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS,
)
from irgraph.backends.prefect_server import import_prefect

before = PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS.value()
import_prefect()  # what a run (arun, run_many, resume_gate) does first
print(json.dumps([before, PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS.value(),
                  PREFECT_SERVER_ANALYTICS_ENABLED.value()]))
"""


def test_settings_count_when_the_user_imported_prefect_first(tmp_path):
    """Prefect reads its settings when first imported: a user who imported it before irgraph
    got Prefect's 20 s server start-up limit (a loaded machine failed to start the temporary
    server) and its analytics on, whatever irgraph set afterwards."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env.pop("DO_NOT_TRACK", None)
    env["PREFECT_HOME"] = str(tmp_path / "home")
    out = subprocess.run(
        [sys.executable, "-c", SETTINGS_AFTER_AN_EARLIER_IMPORT],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    before, after, analytics = json.loads(out.stdout.strip().splitlines()[-1])
    assert before == 20  # Prefect's own default, read at its import
    assert (after, analytics) == (90, False)
