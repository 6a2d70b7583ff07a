"""A generated flow takes its initial state's keys as in-process runs take them: a key that is
not a state key is refused in the same words, and a key that is an optional read misspelt
(``tonee`` for ``{tone?}``) is warned of in the same words, at the line that called the flow.
``python flow.py run`` refuses such a key as ``irgraph run`` does and says the warning once,
on one line, before Prefect loads; a failed agent's task log line comes without its traceback
(shown with ``PREFECT_LOGGING_LEVEL=DEBUG``). Before, generated flows took any key silently,
and the task log printed the provider's traceback above the run's one-line error.

Generated flows run in this process, and in children on this process's temporary server.
"""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
import warnings
from pathlib import Path
from typing import Any

import pytest

from irgraph import Agent, run
from irgraph.backends import prefect_flow_cli
from irgraph.backends.prefect_backend import PrefectBackend
from irgraph.backends.prefect_flow_cli import initial_state
from irgraph.backends.prefect_flow_command import read_command
from irgraph.backends.prefect_flow_values import value_checks
from irgraph.backends.prefect_worker import PrefectWorkerConfig, generate_flow_code
from irgraph.cli import main as irgraph_main
from irgraph.errors import PipelineError
from irgraph.graph import to_graph
from irgraph.run import run_coroutine
from irgraph.testing import FakeProvider
from tests.support.prefect_children import child_env
from tests.support.prefect_env import ensure_prefect_test_env
from tests.support.resume_worker import load_flow_module, with_provider

pytestmark = pytest.mark.prefect
ensure_prefect_test_env()

PIPELINE = Agent("plan").instruct("Plan {ticket}. {tone?}").writes("plan") >> Agent(
    "writer"
).instruct("Write {plan}.").writes("text")
MISSPELT = {"ticket": "owls", "tonee": "dry"}
TRACEBACK_HINT = " (its traceback: PREFECT_LOGGING_LEVEL=DEBUG)"  # what a task log line ends with


def flow_module(folder: Path, provider: str = "fake") -> tuple[Path, str]:
    """The flow module of PIPELINE, written to ``folder``, and its flow's name."""
    compiled = PrefectBackend().compile(PIPELINE.to_ir())
    path = folder / "keys.py"
    config = PrefectWorkerConfig("keys", "local", provider=provider)
    path.write_text(generate_flow_code(compiled, config), "utf-8")
    return path, "keys_flow"


def loaded(folder: Path) -> Any:
    path, flow = flow_module(folder)
    module = load_flow_module(path, f"keys_{uuid.uuid4().hex[:8]}")
    return getattr(with_provider(module, FakeProvider()), flow)


def test_a_generated_flow_refuses_a_key_that_is_no_state_key_as_in_process(
    tmp_path: Path,
) -> None:
    state = {"ticket": "owls", "my key": 1}
    with pytest.raises(PipelineError) as in_process:
        run(PIPELINE, provider=FakeProvider(), state=state)
    with pytest.raises(PipelineError) as in_flow:
        run_coroutine(loaded(tmp_path)(dict(state)))
    assert str(in_flow.value) == str(in_process.value)
    assert "'my key'" in str(in_flow.value)


def test_a_generated_flow_warns_of_a_misspelt_optional_read_at_the_callers_line(
    tmp_path: Path,
) -> None:
    flow = loaded(tmp_path)
    with warnings.catch_warnings(record=True) as in_process:
        warnings.simplefilter("always")
        run(PIPELINE, provider=FakeProvider(), state=MISSPELT)
    with warnings.catch_warnings(record=True) as in_flow:
        warnings.simplefilter("always")
        final = run_coroutine(flow(dict(MISSPELT)))
    told = [w for w in in_flow if issubclass(w.category, UserWarning)]
    assert [str(w.message) for w in told] == [str(w.message) for w in in_process]
    assert "did you mean 'tone'?" in str(told[0].message)
    assert told[0].filename == __file__  # the line that called the flow, not the module's
    assert final["plan"] == "<plan: Plan owls. >"  # the run goes on, {tone?} empty


def test_a_module_generated_before_warns_of_nothing(recwarn: pytest.WarningsRecorder) -> None:
    """An older module's STATE_CHECKS hold no node's writes, without which 'plan' (which a
    step writes) would look like an unread key: such a module warns of nothing."""
    checks = value_checks(to_graph(PIPELINE, inputs={"ticket"}))
    older = {**checks, "nodes": {n: {k: v for k, v in d.items() if k not in ("writes", "item")}
                                 for n, d in checks["nodes"].items()}}  # fmt: skip
    assert initial_state({**MISSPELT, "plan": "p"}, ["ticket"], older)["plan"] == "p"
    assert not [w for w in recwarn if issubclass(w.category, UserWarning)]
    with pytest.warns(UserWarning, match="did you mean 'tone'"):
        initial_state(MISSPELT, ["ticket"], checks)


def test_the_command_line_refuses_a_key_that_is_no_state_key_as_irgraph_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "keys_pipeline.py").write_text(
        "from tests.test_prefect_generated_keys import PIPELINE\n", "utf-8"
    )
    target = f"{tmp_path / 'keys_pipeline.py'}:PIPELINE"
    state = '{"ticket": "owls", "my key": 1}'
    assert irgraph_main(["run", target, "--state-json", state]) == 2
    words = capsys.readouterr().err.strip().removeprefix("irgraph: error: ")
    checks = value_checks(to_graph(PIPELINE, inputs={"ticket"}))
    with pytest.raises(SystemExit) as ended:
        read_command(["run", "--state", state], ["ticket"], {}, None, checks)
    assert ended.value.code == 2
    said = capsys.readouterr().err.strip()
    assert said.endswith(f"error: {words.replace('--state-json', '--state')[:-1]}. See "
                         f"{Path(sys.argv[0]).name} --help.")  # fmt: skip


def test_the_command_line_tells_a_misspelt_optional_read_on_one_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    checks = value_checks(to_graph(PIPELINE, inputs={"ticket"}))
    with warnings.catch_warnings(record=True) as in_process:
        warnings.simplefilter("always")
        run(PIPELINE, provider=FakeProvider(), state=MISSPELT)
    command = read_command(["run", "--state", '{"ticket": "owls", "tonee": "dry"}'],
                           ["ticket"], {}, None, checks)  # fmt: skip
    assert command.state == MISSPELT
    (meant,) = [w.message for w in in_process if issubclass(w.category, UserWarning)]
    said = capsys.readouterr().err.splitlines()
    assert said == [f"{command.parser.prog}: warning: {meant}"]


def run_flow(path: Path, folder: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """``python keys.py run --state MISSPELT`` in a child on this process's server, its agent
    'writer' failing (tests/support/flaky_provider.py)."""
    environment = child_env(folder / "home", log_level="INFO")
    environment.update(IRGRAPH_TEST_CALL_LOG=str(folder / "calls.log"), IRGRAPH_TEST_FAIL="writer")
    environment.update(env)
    return subprocess.run(
        [sys.executable, str(path), "run", "--state", '{"ticket": "owls", "tonee": "dry"}'],
        capture_output=True,
        text=True,
        cwd=folder,
        env=environment,
        timeout=180,
    )


@pytest.mark.slow
def test_the_command_line_says_a_failed_agent_without_its_traceback_unless_asked(
    tmp_path: Path,
) -> None:
    path, _ = flow_module(tmp_path, "tests.support.flaky_provider:make")
    done = run_flow(path, tmp_path)
    assert done.returncode == 1, done.stderr[-3000:]
    assert "Traceback" not in done.stderr, done.stderr
    lines = done.stderr.splitlines()
    assert [line for line in lines if "warning:" in line] == [lines[0]]  # once, before Prefect
    assert lines[0].startswith("keys.py: warning: The initial state gives 'tonee'")
    failed = [line for line in lines if "Task run failed with exception" in line]
    assert len(failed) == 1 and failed[0].endswith(TRACEBACK_HINT), lines
    assert "RuntimeError('writer is down')" in failed[0]
    assert lines[-1].startswith("keys.py: RunError: Node 'writer' failed: RuntimeError: writer")

    asked = run_flow(path, tmp_path, PREFECT_LOGGING_LEVEL="DEBUG")
    assert asked.returncode == 1, asked.stderr[-3000:]
    assert 'raise RuntimeError(f"{request.agent} is down")' in asked.stderr
    assert TRACEBACK_HINT not in asked.stderr


@pytest.mark.parametrize(
    "given", [{"state": ["ticket"]}, {"state": {"ticket": "owls"}, "run_key": ""}]
)
def test_a_generated_flow_refuses_a_state_or_run_key_as_the_in_process_backend(
    given: dict[str, Any], tmp_path: Path
) -> None:
    """Prefect checked the flow's parameters first, refusing a list for the state with its
    own ParameterTypeError, and took an empty run key: both are refused as in process."""
    backend = PrefectBackend(provider=FakeProvider())
    with pytest.raises(PipelineError) as in_process:
        run(PIPELINE, backend=backend, **given)
    with pytest.raises(PipelineError) as in_flow:
        run_coroutine(loaded(tmp_path)(**given))
    assert str(in_flow.value) == str(in_process.value)


def test_run_batch_tells_each_items_misspelt_optional_read_on_one_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """``flow.py run-batch`` told such a key as a Python warning whose file and line were
    irgraph's own (the module runs as ``__main__``: no line of the user's is on the stack);
    its command line now says it as ``run`` says it, naming the item."""
    checks = value_checks(to_graph(PIPELINE, inputs={"ticket"}))
    with warnings.catch_warnings(record=True) as in_process:
        warnings.simplefilter("always")
        run(PIPELINE, provider=FakeProvider(), state=MISSPELT)
    # An item that is no object is refused first (tests/test_prefect_leftovers_batch.py).
    items = [{"index": 4, "state": {"ticket": "a"}}, {"index": 7, "state": MISSPELT}]
    with warnings.catch_warnings(record=True) as told:
        warnings.simplefilter("always")
        command = read_command(["run-batch", "--items", json.dumps(items)],
                               ["ticket"], {}, None, checks)  # fmt: skip
    assert command.items == items
    assert not [w for w in told if issubclass(w.category, UserWarning)]
    (meant,) = [w.message for w in in_process if issubclass(w.category, UserWarning)]
    said = capsys.readouterr().err.splitlines()
    assert said == [f"{command.parser.prog}: warning: Item 7: {meant}"]


@pytest.mark.slow
def test_python_flow_run_batch_says_the_warning_once_and_never_inside_irgraph(
    tmp_path: Path,
) -> None:
    path, _ = flow_module(tmp_path)
    items = [{"index": 0, "state": MISSPELT, "run_key": "k0"}]
    done = subprocess.run(
        [sys.executable, str(path), "run-batch", "--items", json.dumps(items)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=child_env(tmp_path / "home"),
        timeout=180,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "did you mean 'tone'" not in done.stdout
    told = [line for line in done.stderr.splitlines() if "did you mean 'tone'" in line]
    assert told == ["keys.py: warning: Item 0: The initial state gives 'tonee', which nothing "
                    "in the pipeline reads; did you mean 'tone'? The pipeline reads {tone?}, "
                    "which is optional, so this run goes on with it empty. Give the value as "
                    "'tone' (or drop 'tonee' if it is meant for something else)."]  # fmt: skip
    assert "UserWarning" not in done.stderr
    assert json.loads(done.stdout.splitlines()[-1])[0]["state"]["plan"] == "<plan: Plan owls. >"


def test_an_older_modules_run_batch_says_each_items_warning_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The ``main`` of a module an older irgraph generated runs its batch flow as this test
    does, outside ``state_warnings_told()``: the item's warning, told on one line as its
    command line was read, was then warned of again, at a line inside irgraph."""
    monkeypatch.setattr(prefect_flow_cli, "_TOLD_BY_COMMAND_LINE", False)  # put back after
    items = [{"index": 0, "state": MISSPELT, "run_key": f"k-{uuid.uuid4().hex[:8]}"}]
    monkeypatch.setattr(sys, "argv", ["keys.py", "run-batch", "--items", json.dumps(items)])
    path, flow = flow_module(tmp_path)
    module = with_provider(load_flow_module(path, f"keys_{uuid.uuid4().hex[:8]}"), FakeProvider())
    command = read_command(sys.argv[1:], module.INPUTS, {}, None, module.STATE_CHECKS)
    with warnings.catch_warnings(record=True) as told:
        warnings.simplefilter("always")
        batch = getattr(module, f"{flow}_batch")
        (result,) = run_coroutine(batch(command.items, module.PIPELINE_DIGEST))
    assert result["state"]["plan"] == "<plan: Plan owls. >"
    assert not [w for w in told if issubclass(w.category, UserWarning)]
    said = [line for line in capsys.readouterr().err.splitlines() if "did you mean" in line]
    assert len(said) == 1 and said[0].startswith("keys.py: warning: Item 0: "), said
