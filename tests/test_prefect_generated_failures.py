"""A node that fails in generated flow code fails the run as it does in process: the same
RunError, in the same words (the node, where it ran, the key or field, the hint), with the
state and what completed kept; and ``python flow.py run`` says it in one line, exit code 1,
as ``irgraph run`` does. Before, generated code raised the node's own exception (a
ValueError, a LookupError) and the command line ended in its traceback.

Generated flows run in this process, and once in a child on this process's temporary server
(tests/support/prefect_children), never on a server of their own.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest

from irgraph import Agent, Gate, Loop, MapOver, Route, Transform, run
from irgraph.backends.failures import ADVICE
from irgraph.backends.prefect_backend import PrefectBackend
from irgraph.backends.prefect_chunks import item_outcome
from irgraph.backends.prefect_worker import PrefectWorkerConfig, generate_flow_code
from irgraph.builder import Builder
from irgraph.errors import RunError
from irgraph.run import run_coroutine
from irgraph.testing import FakeProvider
from tests.support.prefect_children import child_env
from tests.support.prefect_env import ensure_prefect_test_env
from tests.support.resume_worker import load_flow_module, with_provider

pytestmark = pytest.mark.prefect
ensure_prefect_test_env()

STATE = {"ticket": "owls hunt"}


def lacking(ticket: str) -> dict[str, Any]:
    return {"category": "bug"}


def explode(ticket: str) -> str:
    raise ValueError("no notes today")


def split_words(ticket: str) -> list[str]:
    return ticket.split()


def words(ticket: str) -> Any:
    return (word for word in ticket.split())


def feature(ticket: str) -> str:
    return "feature"


class Undecidable:
    """A value whose truth cannot be told."""

    def __bool__(self) -> bool:
        raise ValueError("ambiguous verdict")

    def __repr__(self) -> str:
        return "Undecidable()"


def undecided(ticket: str) -> Undecidable:
    return Undecidable()


def first() -> Builder:
    return Agent("first").instruct("Think of {ticket}.").writes("idea")


def make() -> Builder:
    return Transform("make", lacking).reads("ticket").writes("verdict")


CASES: dict[str, Builder] = {
    "a missing field": make() >> Agent("fixer").instruct("Fix: {verdict.reason}."),
    "a transform raising in a loop": Loop("review")
    .step(first() >> Transform("explode", explode).reads("ticket").writes("x"))
    .max_iterations(2),
    "an iterator": first() >> Transform("split", words).reads("ticket").writes("words"),
    "a route value no branch takes": Transform("classify", feature).reads("ticket").writes("kind")
    >> Route("triage")
    .on("kind")
    .when("bug", Agent("fix").instruct("Fix {ticket}"))
    .when("question", Agent("answer").instruct("Answer {ticket}")),
    "a loop key of no truth": Loop("review")
    .step(Transform("judge", undecided).reads("ticket").writes("verdict"))
    .max_iterations(3)
    .until("verdict"),
    "a map-over over no list": make()
    >> MapOver("each").over("verdict").step(Agent("w").instruct("{item}").writes("o")).writes("os"),
    "a reply off its schema in a loop": first()
    >> Loop("again")
    .step(Agent("classify").instruct("{idea}").output({"enum": ["bug"]}).writes("category"))
    .max_iterations(1),
    "a gate's missing field": make() >> Gate("approve", "Ok {verdict.reason}?").writes("ok"),
}


def provider() -> FakeProvider:
    return FakeProvider(responses={"classify": '"nope"'})


def failure(call: Any) -> RunError:
    with pytest.raises(RunError) as raised:
        call()
    return raised.value


def generated(pipeline: Builder, folder: Path, name: str) -> tuple[Path, str]:
    """The flow module of ``pipeline`` written to ``folder``, and its flow's name."""
    compiled = PrefectBackend().compile(pipeline.to_ir())
    path = folder / f"{name}.py"
    path.write_text(generate_flow_code(compiled, PrefectWorkerConfig(name, "local")), "utf-8")
    return path, f"{name}_flow"


def run_command(path: Path, state: dict[str, Any], folder: Path, option: str = "--state") -> Any:
    """``python PATH run --state STATE`` in a child on this process's temporary server."""
    return subprocess.run(
        [sys.executable, str(path), "run", option, json.dumps(state)],
        capture_output=True,
        text=True,
        cwd=folder,
        env=child_env(folder / "home"),
        timeout=180,
    )


def said(error: RunError) -> tuple[Any, ...]:
    """What a run's failure says and keeps: its type, words, node, where, the type of its
    cause, what completed and the state (as JSON)."""
    cause = type(error.__cause__).__name__
    state = json.loads(json.dumps(error.state, default=str))
    return type(error), str(error), error.node, error.path, cause, error.completed, state


@pytest.mark.parametrize("case", sorted(CASES))
def test_generated_flow_code_fails_with_the_in_process_backends_error(
    case: str, tmp_path: Path
) -> None:
    pipeline = CASES[case]
    on_asyncio = failure(
        lambda: run(pipeline, provider=provider(), state=STATE, on_gate=lambda r: "yes")
    )
    path, flow = generated(pipeline, tmp_path, "failing")
    module = with_provider(load_flow_module(path, f"failing_{uuid.uuid4().hex[:8]}"), provider())
    in_flow = failure(lambda: run_coroutine(getattr(module, flow)(dict(STATE))))
    assert said(in_flow) == said(on_asyncio)
    assert str(in_flow).endswith(ADVICE)


def test_an_agents_timeout_is_said_as_in_process(tmp_path: Path) -> None:
    """Prefect's timeout of the agent's task (its TaskRunTimeoutError) is said as the
    scheduler says a node's timeout, with how to allow more time."""
    slow = make() >> Agent("writer").instruct("Write {ticket}.").writes("text").timeout(0.05)
    on_asyncio = failure(lambda: run(slow, provider=FakeProvider(latency=5), state=STATE))
    path, flow = generated(slow, tmp_path, "slow")
    module = load_flow_module(path, f"slow_{uuid.uuid4().hex[:8]}")
    with_provider(module, FakeProvider(latency=5))
    in_flow = failure(lambda: run_coroutine(getattr(module, flow)(dict(STATE))))
    assert said(in_flow) == said(on_asyncio)
    assert "took longer than its timeout of 0.05 s" in str(in_flow)


def test_the_prefect_backend_says_what_generated_code_says(tmp_path: Path) -> None:
    pipeline = CASES["a transform raising in a loop"]
    backend = PrefectBackend(provider=FakeProvider())
    on_prefect = failure(lambda: run(pipeline, backend=backend, state=STATE))
    path, flow = generated(pipeline, tmp_path, "failing")
    module = with_provider(load_flow_module(path, f"failing_{uuid.uuid4().hex[:8]}"), provider())
    in_flow = failure(lambda: run_coroutine(getattr(module, flow)(dict(STATE))))
    assert said(in_flow) == said(on_prefect)
    assert str(in_flow).startswith("Node 'explode' failed at review[0]: ValueError: no notes")


class FailsOneHoldsTheRest:
    """Fails the agent 'bad' (or the one asked of the item 'hunt') once the others have
    started; the others wait for ever, and say when they are cancelled."""

    def __init__(self, waiting: int) -> None:
        self.events: list[str] = []
        self.waiting = waiting
        self.started = 0
        self.all_started: asyncio.Event | None = None

    async def complete(self, request: Any) -> str:
        if self.all_started is None:
            self.all_started = asyncio.Event()
        if request.node == "bad" or request.prompt == "Wait hunt.":
            await self.all_started.wait()
            raise ValueError("the model is down")
        self.started += 1
        if self.started == self.waiting:
            self.all_started.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            self.events.append(f"{request.node} cancelled")
            raise
        return "never"


@pytest.mark.parametrize("shape", ["parallel", "map-over"])
def test_a_failing_branch_cancels_its_siblings_before_the_run_fails(
    shape: str, tmp_path: Path
) -> None:
    """Generated parallels and map-overs awaited their branches with ``asyncio.gather``,
    which raises the first failure and leaves the others running (paying for their calls);
    the scheduler cancels them, and now generated code does too, before the run fails."""
    slow = [Agent(f"slow{i}").instruct("Wait {ticket}.").writes(f"w{i}") for i in range(2)]
    bad = Agent("bad").instruct("Fail {ticket}.").writes("b")
    if shape == "parallel":
        pipeline: Builder = slow[0] | bad | slow[1]
        waiting = 2
    else:
        split = Transform("split", split_words).reads("ticket").writes("words")
        slow_one = Agent("slow").instruct("Wait {item}.").writes("w")
        each = MapOver("each").over("words").step(slow_one)
        pipeline = split >> each.writes("ws")
        waiting = 1  # 'owls hunt': the item 'owls' waits, 'hunt' fails
    path, flow = generated(pipeline, tmp_path, "siblings")
    provider = FailsOneHoldsTheRest(waiting)
    module = with_provider(load_flow_module(path, f"siblings_{uuid.uuid4().hex[:8]}"), provider)

    async def main() -> list[str]:
        with pytest.raises(RunError) as raised:
            await getattr(module, flow)(dict(STATE))
        assert raised.value.node == ("bad" if shape == "parallel" else "slow")
        assert "the model is down" in str(raised.value)
        return list(provider.events)  # what was cancelled by the time the run failed

    seen = run_coroutine(main())
    assert len(seen) == waiting and all(event.endswith("cancelled") for event in seen), seen


def test_a_batch_chunks_failed_item_says_the_runs_words_without_the_python_advice() -> None:
    """The batch flow sends a failed item's error to the sender as words: the sender's
    RunError has no cause chained below it and no ``.completed`` to point at."""
    pipeline = CASES["a transform raising in a loop"]
    error = failure(lambda: run(pipeline, provider=FakeProvider(), state=STATE))
    sent = item_outcome(3, error=error)["error"]
    assert sent["type"] == "RunError"
    assert sent["message"].startswith(f"{str(error).removesuffix(ADVICE)} (raised in explode, ")
    assert "chained below" not in sent["message"]


@pytest.mark.slow
def test_the_generated_command_line_says_a_failure_in_one_line_with_exit_code_1(
    tmp_path: Path,
) -> None:
    pipeline = CASES["a transform raising in a loop"]
    on_asyncio = failure(lambda: run(pipeline, provider=FakeProvider(), state=STATE))
    path, _ = generated(pipeline, tmp_path, "failing")
    done = run_command(path, STATE, tmp_path)
    assert done.returncode == 1, done.stderr[-3000:]
    assert done.stdout == "" and "Traceback" not in done.stderr
    last = done.stderr.splitlines()[-1]
    words = str(on_asyncio).removesuffix(ADVICE)
    assert last.startswith(f"failing.py: RunError: {words} (raised in explode, "), last
    assert last.endswith(
        "Completed before the failure: first. Fix the cause and run the command again."
    )
