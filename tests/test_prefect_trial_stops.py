"""A generated flow's run that is stopped, or failed by its Prefect server, ends with what it
got done (Python) or in one line (``python flow.py run``), found by an outside trial.

Before: a Python caller of a generated flow past its ``timeout_seconds`` got Prefect's
``FlowRunTimeoutError`` with none of the run's record; ``python flow.py run`` ended a Ctrl-C,
a ``PREFECT_API_URL`` that does not answer, and a server lost mid-run in a traceback, and a
server URL without its ``/api`` path was told only as "404 Not Found". Now the timeout's
error carries the run's ``partial`` (as an in-process run's stop does), and each of the
others is one line and an exit code.

Flows run in this process, or in a child, on this process's temporary server.
"""

from __future__ import annotations

import argparse
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
import pytest

from irgraph import Agent, run
from irgraph.backends.prefect_backend import PrefectBackend
from irgraph.backends.prefect_flow_ends import run_ends
from irgraph.backends.prefect_server import PrefectUnavailableError, server_start_errors
from irgraph.errors import RunError
from irgraph.run import run_coroutine
from irgraph.testing import FakeProvider
from tests.support.prefect_children import child_env, shared_api_url
from tests.support.prefect_env import ensure_prefect_test_env
from tests.support.resume_worker import load_flow_module, with_provider
from tests.test_prefect_logs import STATE, Hangs, Seen, flow_module, run_command, seen  # noqa: F401

pytestmark = pytest.mark.prefect
ensure_prefect_test_env()


def test_a_python_caller_of_a_timed_out_generated_flow_gets_what_the_run_got_done(
    seen: Seen,  # noqa: F811
    tmp_path: Path,
) -> None:
    module = load_flow_module(flow_module(tmp_path, "fake"), f"stops_{uuid.uuid4().hex[:8]}")
    model = Hangs()  # 'plan' answers from the fake below; 'writer' never does
    fake = FakeProvider()

    class PlanThenHang:
        async def complete(self, request: object) -> str:
            if getattr(request, "agent", "") == "plan":
                return await fake.complete(request)  # type: ignore[arg-type]
            return await model.complete(request)

    flow = with_provider(module, PlanThenHang()).logs_flow.with_options(timeout_seconds=3)
    with pytest.raises(TimeoutError) as raised:
        run_coroutine(flow(dict(STATE)))
    late = raised.value
    assert type(late).__name__ == "FlowRunTimeoutError"
    partial = late.partial  # type: ignore[attr-defined]
    assert isinstance(partial, RunError) and partial.completed == ["plan"]
    assert partial.state == {**STATE, "plan": "<plan: Plan owls.>"}
    assert [call.node for call in partial.calls] == ["plan", "writer"]
    assert partial.calls[-1].error == "cancelled" and partial.graph is not None
    assert "Running hook" not in seen.console.getvalue()  # the hook runs unseen


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def run_module(path: Path, folder: Path, **environ: str) -> subprocess.CompletedProcess[str]:
    """``python logs.py run`` in a child (test_prefect_logs' runner), no agent failing."""
    return run_command(path, folder, "WARNING", IRGRAPH_TEST_FAIL="", **environ)


@pytest.mark.slow
def test_the_command_line_says_a_server_that_does_not_answer_in_one_line(
    tmp_path: Path,
) -> None:
    path = flow_module(tmp_path, "tests.support.flaky_provider:make")
    url = f"http://127.0.0.1:{closed_port()}/api"
    done = run_module(path, tmp_path, PREFECT_API_URL=url)
    assert done.returncode == 2, done.stderr[-3000:]
    assert "Traceback" not in done.stderr, done.stderr[-3000:]
    line = done.stderr.strip()
    assert line.startswith(f"logs.py: error: cannot reach the Prefect API at {url} (from ")
    assert "nothing ran. Start the server (prefect server start)" in line
    assert not (tmp_path / "calls.log").exists()

    root = shared_api_url().removesuffix("/api")  # a server that answers, but not there
    done = run_module(path, tmp_path, PREFECT_API_URL=root)
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr[-3000:]
    assert f"(a Prefect API URL ends in /api: PREFECT_API_URL={root}/api)" in done.stderr


@pytest.mark.slow
def test_ctrl_c_ends_the_command_line_in_one_line_naming_what_completed(tmp_path: Path) -> None:
    path = flow_module(tmp_path, "tests.support.flaky_provider:make")
    environment = child_env(tmp_path / "home", log_level="WARNING")
    calls = tmp_path / "calls.log"
    environment.update(IRGRAPH_TEST_CALL_LOG=str(calls), IRGRAPH_TEST_HANG="writer")
    child = subprocess.Popen(
        [sys.executable, str(path), "run", "--state", '{"ticket": "owls"}'],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
        env=environment,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    try:
        deadline = time.monotonic() + 120
        while "writer" not in (calls.read_text("utf-8") if calls.exists() else ""):
            assert child.poll() is None and time.monotonic() < deadline, child.communicate()
            time.sleep(0.05)
        child.send_signal(signal.SIGINT)
        out, err = child.communicate(timeout=120)
    finally:
        if child.poll() is None:
            child.kill()
            child.communicate()
    assert child.returncode == 130, err[-3000:]
    assert "Traceback" not in err, err[-3000:]
    assert err.splitlines()[-1] == (
        "logs.py: Interrupted; completed: plan. To go on, run the command again (with the "
        "same --run-key, the agents that finished are taken from the cache)."
    )
    assert out == ""


def test_a_server_lost_mid_run_says_which_and_what_to_do(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """What Prefect's client raises from deep in its engine when the server stops answering:
    on the command line one line, exit code 1; in process a PrefectUnavailableError (which
    ``irgraph run`` says in one line), where both ended in httpx's traceback."""
    from prefect.settings import PREFECT_API_URL, temporary_settings

    said = (
        "The Prefect API at http://127.0.0.1:4200/api stopped answering during the run "
        "(ReadError: peer closed connection). Check that it is up, then run again: with the "
        "same run key (--run-key), the agents that finished are taken from the cache."
    )
    parser = argparse.ArgumentParser(prog="flow.py")
    with temporary_settings({PREFECT_API_URL: "http://127.0.0.1:4200/api"}):
        with pytest.raises(SystemExit) as ended, run_ends(parser):
            raise httpx.ReadError("peer closed connection")
        assert ended.value.code == 1
        assert capsys.readouterr().err == f"flow.py: PrefectUnavailableError: {said}\n"
        with pytest.raises(PrefectUnavailableError) as raised, server_start_errors():
            raise httpx.ReadError("peer closed connection")
        assert str(raised.value) == said


@pytest.mark.parametrize(
    ("url", "said"),
    [
        ("not-a-url", "missing an 'http://' or 'https://' protocol. Start the server"),
        ("ROOT", "(a Prefect API URL ends in /api: PREFECT_API_URL=ROOT/api). Start"),
    ],
)
def test_an_in_process_run_says_a_wrong_server_url_once_and_how_to_fix_it(
    url: str, said: str
) -> None:
    from prefect.settings import PREFECT_API_URL, temporary_settings

    root = shared_api_url().removesuffix("/api")
    url, said = url.replace("ROOT", root), said.replace("ROOT", root)
    pipeline = Agent("plan").instruct("Plan {ticket}.").writes("plan")
    with temporary_settings({PREFECT_API_URL: url}):
        with pytest.raises(PrefectUnavailableError) as raised:
            run(pipeline, backend=PrefectBackend(), provider=FakeProvider(), state=STATE)
    assert said in str(raised.value) and ".." not in str(raised.value)
