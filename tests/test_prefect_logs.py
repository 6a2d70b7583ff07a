"""A failed Prefect run's log says which agent failed in one line, without tracebacks.

Before, a failed agent made Prefect print its task run's traceback, the task run's end state,
the flow run's RunError with a second traceback and the flow run's end state (repeating the
"cause is chained below" advice) before irgraph's RunError, which says all of it: on the
in-process backend, from a generated flow called from Python, and four lines of it from
``python flow.py run``. Now Prefect's console shows one line per failed agent, saying once
how to see the tracebacks; ``PREFECT_LOGGING_LEVEL=DEBUG`` shows them all; a user's own
handler still gets every record, without the traceback; and once the run returns, logging is
as it was.

Runs are real Prefect runs on this process's temporary server (the child on it too).
"""

from __future__ import annotations

import asyncio
import io
import logging
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from irgraph import Agent, run
from irgraph.backends.prefect_backend import PrefectBackend
from irgraph.backends.prefect_logs import FLOW_TIMEOUT_HINT, TRACEBACK_HINT
from irgraph.backends.prefect_worker import PrefectWorkerConfig, generate_flow_code
from irgraph.errors import RunError
from irgraph.run import run_coroutine
from irgraph.testing import FakeProvider
from tests.support.prefect_children import child_env
from tests.support.prefect_env import ensure_prefect_test_env
from tests.support.resume_worker import load_flow_module, with_provider
from tests.test_prefect_generated_failures import FailsOneHoldsTheRest

pytestmark = pytest.mark.prefect
ensure_prefect_test_env()

PIPELINE = Agent("plan").instruct("Plan {ticket}.").writes("plan") >> Agent("writer").instruct(
    "Write {plan}."
).writes("text")
STATE = {"ticket": "owls"}
RUN_LOGGERS = ("prefect.task_runs", "prefect.flow_runs")


class Seen:
    """What Prefect's console printed while a test ran, and the records a handler of the
    user's own (on the root logger) got."""

    def __init__(self) -> None:
        self.console = io.StringIO()
        self.records: list[logging.LogRecord] = []

    def again(self) -> Seen:
        """Forget what was seen so far."""
        self.console.seek(0)
        self.console.truncate()
        self.records.clear()
        return self

    def lines(self) -> list[str]:
        return self.console.getvalue().splitlines()


def logging_now() -> list[Any]:
    """The handlers of the root and ``prefect`` loggers, and the filters of Prefect's run
    loggers and of those handlers, but the ones Prefect adds itself as its runs make loggers
    (its API key filter)."""
    handlers = [*logging.getLogger().handlers, *logging.getLogger("prefect").handlers]
    places = [*(logging.getLogger(n) for n in RUN_LOGGERS), *handlers]
    filters = [
        [f for f in p.filters if not type(f).__module__.startswith("prefect.")] for p in places
    ]
    return [handlers, filters]


@pytest.fixture
def seen() -> Iterator[Seen]:
    """Prefect's console on the root logger, as Prefect's logging.yml puts it there (pytest's
    handlers keep it off), printing to a buffer; a handler of the user's own there too; and
    Prefect's run log at INFO."""
    from prefect.logging.configuration import (
        DEFAULT_LOGGING_SETTINGS_PATH,
        ensure_logging_setup,
        load_logging_config,
    )
    from prefect.logging.formatters import PrefectFormatter
    from prefect.logging.handlers import PrefectConsoleHandler

    ensure_logging_setup()  # as Prefect's first run sets it up
    seeing = Seen()
    config = load_logging_config(DEFAULT_LOGGING_SETTINGS_PATH)
    console = PrefectConsoleHandler(seeing.console, styles=config["handlers"]["console"]["styles"])
    standard = {k: v for k, v in config["formatters"]["standard"].items() if k != "()"}
    console.setFormatter(PrefectFormatter(**standard))
    own = logging.Handler()
    own.emit = seeing.records.append  # type: ignore[method-assign]
    root = logging.getLogger()
    root.addHandler(console)
    root.addHandler(own)
    logging.getLogger("prefect").setLevel(logging.INFO)  # put back by conftest
    try:
        yield seeing
    finally:
        root.removeHandler(own)
        root.removeHandler(console)


def prefect_errors(lines: list[str]) -> list[str]:
    return [line for line in lines if "| ERROR   |" in line]


def said_once(seen: Seen, failed: Callable[[], Any]) -> None:
    """``failed()`` raises a RunError at 'writer'; Prefect's console says one line of it, the
    user's handler gets each record without its traceback, and logging is as it was."""
    before = logging_now()
    with pytest.raises(RunError) as raised:
        failed()
    assert raised.value.node == "writer"
    assert logging_now() == before
    lines = seen.lines()
    assert "Traceback" not in seen.console.getvalue(), lines
    errors = prefect_errors(lines)
    assert len(errors) == 1, lines
    assert "Task run 'writer' - Task run failed with exception: FakeProviderError(" in errors[0]
    assert errors[0].endswith(TRACEBACK_HINT)
    failures = [r for r in seen.records if r.name in RUN_LOGGERS and r.levelno >= logging.ERROR]
    assert len(failures) == 4, [r.getMessage() for r in failures]  # each, to the user's handler
    assert all(r.exc_info is None for r in failures)
    assert "chained below" in failures[2].getMessage()  # the flow run's RunError


def told_in_full(seen: Seen, failed: Callable[[], Any]) -> None:
    """With Prefect's log at DEBUG, its console prints each failure with its traceback."""
    logging.getLogger("prefect").setLevel(logging.DEBUG)  # PREFECT_LOGGING_LEVEL=DEBUG's
    before = logging_now()
    with pytest.raises(RunError):
        failed()
    assert logging_now() == before
    text = seen.console.getvalue()
    assert text.count("Traceback (most recent call last)") >= 2, text
    assert len(prefect_errors(seen.lines())) == 4 and TRACEBACK_HINT not in text


def in_process() -> None:
    provider = FakeProvider(fail={"writer": 1})
    run(PIPELINE, backend=PrefectBackend(), provider=provider, state=dict(STATE))


def flow_module(folder: Path, provider: str, flow_retries: int = 0, name: str = "logs") -> Path:
    """The generated flow module of PIPELINE, with provider ``provider``."""
    compiled = PrefectBackend().compile(PIPELINE.to_ir())
    path = folder / f"{name}.py"
    config = PrefectWorkerConfig("logs", "local", provider=provider, flow_retries=flow_retries)
    path.write_text(generate_flow_code(compiled, config), "utf-8")
    return path


def test_an_in_process_run_says_a_failed_agent_in_one_line_and_in_full_at_debug(
    seen: Seen,
) -> None:
    said_once(seen, in_process)
    told_in_full(seen.again(), in_process)


def test_a_generated_flow_called_from_python_says_a_failed_agent_in_one_line(
    seen: Seen, tmp_path: Path
) -> None:
    module = load_flow_module(flow_module(tmp_path, "fake"), f"logs_{uuid.uuid4().hex[:8]}")
    flow = with_provider(module, FakeProvider(fail={"writer": 2})).logs_flow
    said_once(seen, lambda: run_coroutine(flow(dict(STATE))))
    told_in_full(seen.again(), lambda: run_coroutine(flow(dict(STATE))))
    logging.getLogger("prefect").setLevel(logging.INFO)
    before = logging_now()
    final = run_coroutine(flow(dict(STATE)))  # the fake fails 'writer' twice only
    assert final["text"].startswith("<writer: ")
    assert logging_now() == before and not prefect_errors(seen.again().lines())

    logging.getLogger("prefect").setLevel(logging.WARNING)  # no end state logged, if it ends well
    retried = flow_module(tmp_path, "fake", flow_retries=1, name="retried")
    module = load_flow_module(retried, f"logs_{uuid.uuid4().hex[:8]}")
    flow = with_provider(module, FakeProvider(fail={"writer": 1})).logs_flow
    assert run_coroutine(flow(dict(STATE)))["text"].startswith("<writer: ")  # on its retry
    assert logging_now() == before
    errors = prefect_errors(seen.lines())  # its first try's agent, in one line
    assert len(errors) == 1 and "Task run 'writer'" in errors[0], seen.lines()
    assert "Traceback" not in seen.console.getvalue()


def run_command(
    path: Path, folder: Path, level: str, **model: str
) -> subprocess.CompletedProcess[str]:
    """``python logs.py run`` in a child on this process's server, agent 'writer' failing
    (tests/support/flaky_provider.py) unless ``model`` says otherwise."""
    environment = child_env(folder / "home", log_level=level)
    environment.update(IRGRAPH_TEST_CALL_LOG=str(folder / "calls.log"), IRGRAPH_TEST_FAIL="writer")
    environment.update(model)
    return subprocess.run(
        [sys.executable, str(path), "run", "--state", '{"ticket": "owls"}'],
        capture_output=True,
        text=True,
        cwd=folder,
        env=environment,
        timeout=180,
    )


@pytest.mark.slow
def test_the_command_line_says_the_failed_agent_then_the_run_error(tmp_path: Path) -> None:
    path = flow_module(tmp_path, "tests.support.flaky_provider:make")
    done = run_command(path, tmp_path, "INFO")
    assert done.returncode == 1, done.stderr[-3000:]
    errors = prefect_errors(done.stderr.splitlines())
    assert len(errors) == 1, done.stderr
    assert (
        "Task run 'writer' - Task run failed with exception: RuntimeError('writer is d" in errors[0]
    )
    assert errors[0].endswith(TRACEBACK_HINT)
    assert done.stderr.count("chained below") == 0 and "Traceback" not in done.stderr
    assert done.stderr.splitlines()[-1].startswith("logs.py: RunError: Node 'writer' failed: ")

    asked = run_command(path, tmp_path, "DEBUG")
    assert asked.returncode == 1, asked.stderr[-3000:]
    assert len(prefect_errors(asked.stderr.splitlines())) == 4
    assert asked.stderr.count("Traceback (most recent call last)") >= 2


CANCELLED = "Crash detected! Execution was cancelled by the runtime environment."


def test_the_siblings_a_failed_agent_cancelled_are_no_crash_on_the_console(seen: Seen) -> None:
    """A failed agent cancels its running siblings, whose task runs Prefect logged as
    "Crash detected!", as if they had crashed; the console now says only the failed agent,
    and the user's handler still gets every record (the cancelled ones too)."""
    slow = [Agent(f"slow{i}").instruct("Wait {ticket}.").writes(f"w{i}") for i in range(2)]
    pipeline = slow[0] | Agent("bad").instruct("Fail {ticket}.").writes("b") | slow[1]
    before = logging_now()
    with pytest.raises(RunError) as raised:
        run(pipeline, backend=PrefectBackend(), provider=FailsOneHoldsTheRest(2), state=STATE)
    assert raised.value.node == "bad" and logging_now() == before
    errors = prefect_errors(seen.lines())
    assert len(errors) == 1 and "Task run 'bad'" in errors[0], seen.lines()
    crashes = [r for r in seen.records if r.getMessage() == CANCELLED]
    assert len(crashes) == 2, [r.getMessage() for r in seen.records]


class Hangs:
    """A model that never answers; it counts the calls it got."""

    def __init__(self) -> None:
        self.asked = 0

    async def complete(self, request: Any) -> str:
        self.asked += 1
        await asyncio.Event().wait()
        return "never"


def test_a_flow_past_its_timeout_is_one_line_naming_the_run_and_the_timeout(
    seen: Seen, tmp_path: Path
) -> None:
    """A generated flow run with ``timeout_seconds`` that runs out: Prefect's console said the
    agent it stopped had crashed, then the timeout, then the timeout again as the end state;
    now one line names the flow run and the timeout, with how to allow more. Prefect's
    exception is raised, as Prefect raises it; at DEBUG the console says everything."""
    module = load_flow_module(flow_module(tmp_path, "fake"), f"logs_{uuid.uuid4().hex[:8]}")
    model = Hangs()
    flow = with_provider(module, model).logs_flow.with_options(timeout_seconds=5)
    before = logging_now()
    with pytest.raises(TimeoutError) as raised:
        run_coroutine(flow(dict(STATE)))
    assert type(raised.value).__name__ == "FlowRunTimeoutError"
    # 'plan' was stopped by the timeout, if it had started: on a machine slow enough that
    # it had not in 5 s, there is no cancelled task run to say nothing of.
    started = model.asked
    assert logging_now() == before and started in (0, 1)
    errors = prefect_errors(seen.lines())
    assert len(errors) == 1, seen.lines()
    assert errors[0].endswith(f" - Flow run exceeded timeout of 5.0 second(s){FLOW_TIMEOUT_HINT}")
    assert "Flow run '" in errors[0] and "Traceback" not in seen.console.getvalue()
    said = [r.getMessage() for r in seen.records]
    assert any(m.startswith("Finished in state TimedOut(") for m in said)
    assert (CANCELLED in said) == bool(started), said

    logging.getLogger("prefect").setLevel(logging.DEBUG)  # PREFECT_LOGGING_LEVEL=DEBUG's
    seen.again()
    with pytest.raises(TimeoutError):
        run_coroutine(flow(dict(STATE)))
    text = seen.console.getvalue()
    assert "Finished in state TimedOut(" in text
    assert (CANCELLED in text) == (model.asked > started), text
    assert "Traceback (most recent call last)" in text and FLOW_TIMEOUT_HINT not in text
    assert logging_now() == before


@pytest.mark.slow
def test_the_command_line_ends_a_flow_timeout_in_one_line(tmp_path: Path) -> None:
    """A module edited to give its flow ``timeout_seconds``, whose agent never answers: the
    command ended in Prefect's FlowRunTimeoutError traceback; now in one line saying what
    stopped the run and what to do, exit code 1, as a failed run ends."""
    path = flow_module(tmp_path, "tests.support.flaky_provider:make")
    code = path.read_text("utf-8")
    assert code.count("@flow(\n    name=FLOW_NAME,") == 1
    path.write_text(code.replace("@flow(\n", "@flow(\n    timeout_seconds=3,\n", 1), "utf-8")
    done = run_command(path, tmp_path, "INFO", IRGRAPH_TEST_FAIL="", IRGRAPH_TEST_HANG="plan")
    assert done.returncode == 1, done.stderr[-3000:]
    assert "Traceback" not in done.stderr, done.stderr[-3000:]
    last = done.stderr.splitlines()[-1]
    assert last.startswith("logs.py: FlowRunTimeoutError: The flow run was stopped by its ")
    assert "timed out after 3" in last and "run the command again" in last
