"""Faults, load and secrets (issue 9): what the docs promise holds under pressure."""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import sys
import time
import tracemalloc

import pytest

from irgraph import Agent, FanOut, Pipeline, RunError, run
from irgraph.backends.asyncio_backend import AsyncioBackend
from irgraph.testing import FakeProvider
from irgraph.testing.held import HeldProvider
from tests.support.openai_server import OpenAIServer, openai_server
from tests.support.prefect_env import subprocess_env

__all__ = ["openai_server"]  # the fixture, re-exported so pytest finds it here

SECRET = "sk-irgraph-test-9f8e7d6c5b4a-SECRET"


def wide(n: int) -> Pipeline:
    fan = FanOut("wide")
    for i in range(n):
        fan = fan.branch(Agent(f"a{i}").instruct("{seed}").writes(f"k{i}"))
    return Agent("start").instruct("Go.").writes("seed") >> fan


def test_ten_thousand_nodes_never_exceed_the_concurrency_limit():
    branches = [f"a{i}" for i in range(10_000)]  # the first 50 wait for each other
    fake = HeldProvider(50, agents=branches, latency=0.001)
    result = run(wide(10_000), backend=AsyncioBackend(provider=fake, max_concurrency=50))
    assert len(fake.calls) == 10_001
    assert fake.max_in_flight == 50
    assert len(result.state) == 10_001


def chain(n: int) -> Pipeline:
    p = Pipeline("chain").step(Agent("n0").instruct("start").writes("k0"))
    for i in range(1, n):
        p = p.step(Agent(f"n{i}").instruct(f"{{k{i - 1}}}").writes(f"k{i}"))
    return p


def peak_bytes(n: int) -> int:
    pipeline = chain(n)
    runnable = AsyncioBackend(provider=FakeProvider(responses={})).compile(pipeline.to_ir())
    fake = FakeProvider(responses={f"n{i}": "v" for i in range(n)})
    tracemalloc.start()
    try:
        runnable.run(provider=fake)  # the fake keeps every request and its state view
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_heap_grows_linearly_because_nodes_see_only_the_keys_they_read():
    small, large = peak_bytes(1_000), peak_bytes(4_000)
    # Linear growth gives ~4x; a copy of the whole state per node would give ~16x.
    assert large / small < 7, (small, large)


# `irgraph ...` as a terminal starts it. A child inherits an ignored SIGINT (a test runner in
# the background, nohup, some CI runners ignore it), and Python then never raises
# KeyboardInterrupt: the Ctrl-C test passed in a terminal and failed there. So the child puts
# Python's own handler back before the command runs.
IRGRAPH_AS_FROM_A_TERMINAL = (
    sys.executable,
    "-c",
    "import runpy, signal; signal.signal(signal.SIGINT, signal.default_int_handler); "
    "runpy.run_module('irgraph.cli', run_name='__main__', alter_sys=True)",
)


@pytest.mark.parametrize(
    ("sent", "code", "said"),
    [(signal.SIGINT, 130, "Interrupted"), (signal.SIGTERM, 143, "Terminated (SIGTERM)")],
    ids=["ctrl-c", "sigterm"],
)
def test_keyboard_interrupt_mid_run_reports_what_completed(sent, code, said):
    proc = subprocess.Popen(
        [*IRGRAPH_AS_FROM_A_TERMINAL, "demo", "--latency", "2"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 120  # bounds a hang: start-up may be slow under load
        seen = ""
        while time.monotonic() < deadline and "ok researcher" not in seen:
            seen += proc.stdout.readline()
        assert "ok researcher" in seen
        proc.send_signal(sent)
        out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == code, err
    assert said in err and "completed: researcher" in err
    # The answers already paid for are printed, as a failed run's are, not lost with the run.
    state = out[out.index("State when the run stopped:") :]
    assert "\n  findings = <researcher: Research " in state
    assert "Traceback" not in err


HOLDS_THE_LOOP = """
import pathlib, time
from irgraph import Agent, Transform

async def spin(findings):
    pathlib.Path("spinning").touch()
    while not pathlib.Path("release").exists():  # no await: the signal lands in this step
        time.sleep(0.001)
    return findings

pipeline = (
    Agent("researcher").instruct("Research owls.").writes("findings")
    >> Transform("spin", spin).reads("findings").writes("spun")
    >> Agent("writer").instruct("Write from {spun}.")
)
"""


def _stopped_while_a_step_holds_the_loop(tmp_path, sent):
    folder = tmp_path / sent.name
    folder.mkdir()
    (folder / "holding.py").write_text(HOLDS_THE_LOOP)
    proc = subprocess.Popen(
        [*IRGRAPH_AS_FROM_A_TERMINAL, "run", "holding.py:pipeline"],
        cwd=folder,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while not (folder / "spinning").exists() and proc.poll() is None:
            assert time.monotonic() < deadline, "the step never started"
            time.sleep(0.01)
        proc.send_signal(sent)
        (folder / "release").touch()
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    return proc.returncode, err


def test_sigterm_while_a_step_holds_the_loop_stops_the_run_as_ctrl_c_does(tmp_path):
    """SIGTERM during a step that does not await (a busy async transform) is what Ctrl-C is
    there: asyncio's cancel of the run, taking effect at its next await; it used to be raised
    inside the step, in the middle of whatever the event loop was doing."""
    interrupted = _stopped_while_a_step_holds_the_loop(tmp_path, signal.SIGINT)
    terminated = _stopped_while_a_step_holds_the_loop(tmp_path, signal.SIGTERM)
    assert interrupted[0] == 130 and terminated[0] == 143, (interrupted, terminated)
    said = interrupted[1].replace("Interrupted", "Terminated (SIGTERM)")
    assert terminated[1] == said
    assert "completed: researcher, spin" in said and "Traceback" not in said


def test_unreachable_prefect_server_is_a_clear_error(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = subprocess_env(str(tmp_path))
    env["PREFECT_API_URL"] = f"http://127.0.0.1:{port}/api"
    code = (
        "from irgraph import Agent, run\n"
        "from irgraph.testing import FakeProvider\n"
        "from irgraph.backends.prefect_backend import PrefectUnavailableError\n"
        "try:\n"
        "    run(Agent('a').instruct('x'), backend='prefect', provider=FakeProvider())\n"
        "except PrefectUnavailableError as e:\n"
        "    print('ERROR:', e)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120
    )
    assert f"Cannot reach the Prefect API at http://127.0.0.1:{port}/api" in done.stdout, (
        done.stdout + done.stderr
    )
    assert "prefect server start" in done.stdout


def test_api_keys_never_appear_in_results_plans_code_errors_or_logs(
    openai_server: OpenAIServer, caplog: pytest.LogCaptureFixture, monkeypatch
):
    from irgraph.backends.prefect_backend import PrefectBackend
    from irgraph.backends.prefect_worker import PrefectWorkerConfig, generate_flow_code
    from irgraph.openai_provider import OpenAIProvider

    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    caplog.set_level(logging.DEBUG)
    provider = OpenAIProvider("test-model", base_url=openai_server.base_url, max_retries=0)
    pipeline = Agent("a").instruct("Hello {topic}").writes("x") >> Agent("b").instruct("{x}")
    seen: list[str] = [repr(provider), str(provider)]
    result = run(
        pipeline,
        provider=provider,
        state={"topic": "owls"},
        on_event=lambda e: seen.append(repr(e)),
    )
    seen += [repr(result), repr(result.state), repr(result.trace), repr(result.outputs)]
    compiled = PrefectBackend(provider=provider).compile(pipeline.to_ir())
    seen.append(repr(compiled.node_plan))
    seen.append(
        generate_flow_code(
            compiled,
            PrefectWorkerConfig(flow_name="f", work_pool="p", provider="openai:test-model"),
        )
    )
    openai_server.fail_next(1, status=401, message=f"bad key {SECRET}")
    with pytest.raises(RunError) as info:
        run(pipeline, provider=provider, state={"topic": "owls"})
    error = info.value
    while error is not None:
        seen += [str(error), repr(error), repr(getattr(error, "state", ""))]
        error = error.__cause__ or error.__context__
    seen += [record.getMessage() for record in caplog.records]
    assert any(
        r.headers.get("authorization") == f"Bearer {SECRET}" for r in openai_server.requests
    )  # the key was used...
    leaks = [text for text in seen if SECRET in text]
    assert leaks == []  # ...and never shown
    assert os.environ["OPENAI_API_KEY"] == SECRET
