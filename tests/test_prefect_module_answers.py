"""A generated flow module's ``run`` answers gates from the command line (``--answer``), as
``irgraph run`` does, and refuses an answer for no gate, or a gate nobody could answer, before
anything runs."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path
from uuid import UUID

import pytest

from irgraph import Agent, Gate, run
from irgraph.testing import FakeProvider
from tests.support.prefect_children import child_env
from tests.support.prefect_env import ensure_prefect_test_env
from tests.test_prefect_worker import generated, run_flow_process

pytestmark = pytest.mark.prefect
ensure_prefect_test_env()

GATED = (
    Agent("writer").instruct("Draft {topic}.").writes("draft")
    >> Gate("approve", "Publish {draft}?").writes("verdict")
    >> Agent("pub").instruct("Publish {draft}: {verdict}.").writes("out")
)


#: ``python MODULE ARGS...`` that says on exit whether the module had loaded Prefect.
SAYS_IF_PREFECT_LOADED = (
    "import atexit, runpy, sys; "
    "atexit.register(lambda: print('prefect loaded:', 'prefect' in sys.modules, file=sys.stderr)); "
    "sys.argv = sys.argv[1:]; runpy.run_path(sys.argv[0], run_name='__main__')"
)


def run_module(
    path: Path, *args: str, env: dict[str, str], timeout: float = 120, says_if_loaded: bool = False
) -> subprocess.CompletedProcess[str]:
    """``python MODULE run ARGS...`` in the module's folder, its output as text (and on
    standard error whether Prefect was loaded, ``says_if_loaded``)."""
    python = [sys.executable, "-c", SAYS_IF_PREFECT_LOADED] if says_if_loaded else [sys.executable]
    return subprocess.run(
        [*python, str(path), "run", *args],
        capture_output=True,
        text=True,
        cwd=path.parent,
        env=env,
        timeout=timeout,
    )


def module(tmp_path: Path) -> Path:
    path = tmp_path / "gated_flow.py"
    path.write_text(generated(GATED, flow_name="gated"), encoding="utf-8")
    return path


@pytest.mark.slow
def test_run_answers_a_gate_given_on_the_command_line(tmp_path):
    path = module(tmp_path)
    args = [str(path), "run", "--state", '{"topic": "owls"}', "--answer", "approve=ship it"]
    final = run_flow_process(args, tmp_path)
    expected = run(
        GATED, provider=FakeProvider(), state={"topic": "owls"}, on_gate=lambda r: "ship it"
    ).state
    assert final == expected


@pytest.mark.parametrize(
    ("answers", "api", "message"),
    [
        (
            ["aprove=yes"],
            True,
            "--answer aprove=... names no gate of the pipeline. Did you mean 'approve'? "
            "Its gates: 'approve'.",
        ),
        (
            ["approve=yes", "approve=no"],
            True,
            "--answer approve=... is given twice (approve=yes and approve=no); a gate takes one",
        ),
        (["approve"], True, "is not of the form GATE=VALUE"),
        (
            [],
            False,
            "nobody else can answer it; give the answer on the command line: "
            "--answer approve=VALUE",
        ),
    ],
)
def test_run_refuses_answers_for_no_gate_and_gates_nobody_can_answer(
    tmp_path, answers, api, message
):
    path = module(tmp_path)
    env = child_env(tmp_path / "home")
    if not api:  # a temporary server of the run's own: gone when the run is
        del env["PREFECT_API_URL"]
    options = [arg for answer in answers for arg in ("--answer", answer)]
    out = run_module(path, "--state", '{"topic": "owls"}', *options, env=env, says_if_loaded=True)
    assert out.returncode == 2, out.stderr[-2000:]
    assert message in " ".join(out.stderr.split()), out.stderr[-2000:]
    assert not out.stdout.strip()  # nothing ran
    if api:  # told before Prefect loads (an unanswered gate asks Prefect's settings for a server)
        assert "prefect loaded: False" in out.stderr, out.stderr[-2000:]


@pytest.mark.slow
def test_a_run_again_with_its_run_key_keeps_the_answer_given_before(tmp_path):
    """The first run is answered 'yes' and fails after the gate; the second, with the same
    --run-key, finds that answer (its own --answer 'no' is not asked for) and the writer's
    result: the person's approval is not replaced, no call is paid twice."""
    path = tmp_path / "gated_flow.py"
    code = generated(
        GATED, flow_name="gated", provider="tests.support.flaky_provider:make", result_dir="res"
    )
    path.write_text(code, encoding="utf-8")
    env = child_env(tmp_path / "home")
    env["IRGRAPH_TEST_CALL_LOG"] = str(tmp_path / "calls.log")

    def run_keyed(answer: str, **more: str) -> subprocess.CompletedProcess[str]:
        args = ("--state", '{"topic": "owls"}', "--run-key", "rk", "--answer", f"approve={answer}")
        return run_module(path, *args, env={**env, **more}, timeout=180)

    first = run_keyed("yes", IRGRAPH_TEST_FAIL="pub")
    assert first.returncode != 0 and "pub is down" in first.stderr
    second = run_keyed("no")
    assert second.returncode == 0, second.stderr[-3000:]
    assert json.loads(second.stdout.strip().splitlines()[-1])["verdict"] == "yes"
    calls = (tmp_path / "calls.log").read_text(encoding="utf-8").split()
    assert calls == ["writer", "pub", "pub"]


def test_the_module_lists_its_gates_for_the_command_line(tmp_path):
    text = module(tmp_path).read_text(encoding="utf-8")
    assert "GATES = {'approve': 'approve'}" in text
    compile(text, "gated_flow.py", "exec")


def test_generated_code_keeps_a_gate_answer_across_a_flow_retry():
    """The runtime's gate, as generated modules call it: the flow retry after a failure past
    the gate gets the kept answer, and the flow run paused once, not twice."""
    from prefect import flow
    from prefect.client.orchestration import get_client

    from irgraph.backends.prefect_runtime import answering, current_flow_run_id, gate

    answers: list[str] = []

    @flow(retries=1, retry_delay_seconds=0)
    async def gated() -> str:
        state = {"draft": "d"}
        answer = await gate(
            state, (), None, node="approve", message="Ship {draft}?", writes="v", timeout=60
        )
        answers.append(answer)
        if len(answers) == 1:
            raise RuntimeError("a failure after the gate")
        return current_flow_run_id()

    async def pauses(run_id: str) -> int:
        async with get_client() as client:
            states = await client.read_flow_run_states(UUID(run_id))
        return sum(state.type.value == "PAUSED" for state in states)

    with answering({"approve": "yes"}):
        run_id = asyncio.run(gated())
    assert answers == ["yes", "yes"]
    assert asyncio.run(pauses(run_id)) == 1


@pytest.mark.parametrize(
    ("state", "message"),
    [
        ("{topic: owls}", "--state is not JSON"),
        ("[1]", "--state must be a JSON object of state keys to values, not a list"),
        ("{}", "--state lacks 'topic', which the pipeline reads"),
        ('{"topic": "a", "topic": "b"}', "--state gives the key 'topic' twice in one object"),
    ],
)
def test_run_refuses_a_bad_state_before_prefect_starts(tmp_path, state, message):
    path = module(tmp_path)
    env = child_env(tmp_path / "home")
    out = run_module(
        path, "--state", state, "--answer", "approve=yes", env=env, says_if_loaded=True
    )
    assert out.returncode == 2, out.stderr[-2000:]
    assert message in out.stderr and "Traceback" not in out.stderr
    assert "prefect loaded: False" in out.stderr, out.stderr[-2000:]  # told at once
