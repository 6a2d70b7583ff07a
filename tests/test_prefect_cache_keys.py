"""Every agent execution of a Prefect run is cached under a key of its own, observed for real.

A cache key that ignored the loop or map position would hand a loop's second iteration of an
agent whose prompt never changes — or a map-over's second item, when the agent ignores the
item — the first one's stored answer: one model call instead of two, and the same final state,
so only the calls and keys show it. The properties draw pipelines
(:func:`~irgraph.testing.strategies.pipelines_with_inputs`) and place them around exactly
those shapes (:func:`repeating_pipelines`), run them on Prefect and look at what Prefect did:

- in process: the provider reads, inside each call, its task run and the key of Prefect's
  transaction; the result directory holds one file per key;
- generated code: ``python flow.py run`` in a child process, whose Prefect log lists every
  agent task run with its final state (a cache hit ends ``Cached``), and whose result
  directory holds one file per key;
- crash then resume: a child is SIGKILLed at its k-th agent call; a run with the same run key
  and result storage then calls no agent that completed before the crash, and calls every
  other one once.

The number of agent executions is checked against the reference interpreter's model calls.
Child processes use this process's temporary Prefect server (tests/support/prefect_children).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from irgraph import Agent, Loop, MapOver, run
from irgraph.backends.prefect_backend import PrefectBackend
from irgraph.backends.prefect_worker import PrefectWorkerConfig, generate_flow_code
from irgraph.builder import Builder
from irgraph.ir import from_json, to_json
from irgraph.run import run_coroutine
from irgraph.testing import FakeProvider
from irgraph.testing.reference import ReferenceResult, interpret
from irgraph.testing.strategies import pipelines_with_inputs, to_code
from tests.support.prefect_children import child_env, shared_api_url
from tests.support.prefect_env import ensure_prefect_test_env
from tests.support.resume_worker import ALLOW, CallLog, load_flow_module, read_log, with_provider

pytestmark = pytest.mark.prefect
ensure_prefect_test_env()


@pytest.fixture(scope="module", autouse=True)
def _shared_server() -> None:
    """Start the temporary server before hypothesis draws: it picks its port with ``random``,
    which hypothesis reports when it happens inside an example."""
    shared_api_url()


def few(examples: int) -> Any:
    """Hypothesis settings for examples that each cost a Prefect run or a child process: the
    same few examples every time, and no shrinking (a failure prints its pipeline as code)."""
    return settings(
        max_examples=examples,
        derandomize=True,
        deadline=None,
        phases=(Phase.explicit, Phase.generate),
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )


# Pipelines where a key without the position collides ---------------------------------------

STEADY = Agent("steady").instruct("Say the same thing every time.").writes("steady_note")
ECHO = (
    MapOver("each_item")
    .over("repeat_items", item="item")
    .step(Agent("echo").instruct("The same words for every item.").writes("echo_note"))
    .writes("echoes")
)


@st.composite
def repeating_pipelines(draw: st.DrawFn) -> tuple[Builder, dict[str, Any]]:
    """``(pipeline, state)``: a drawn pipeline (loops, map-overs, no gates) placed before, after
    or inside a loop of 2-3 iterations around :data:`STEADY`, whose prompt never changes, and
    the map-over :data:`ECHO` over 2-3 items, whose agent ignores the item, inside that loop
    or next to it."""
    drawn, state = draw(pipelines_with_inputs(with_gates=False, max_depth=2, max_width=3))
    place = draw(st.sampled_from(("inside", "before", "after")))
    body: list[Builder] = [STEADY]
    if place == "inside":
        body.insert(draw(st.integers(0, 1)), drawn)
    map_inside = draw(st.booleans())
    if map_inside:
        body.append(ECHO)
    loop = Loop("repeat_steady")
    for step in body:
        loop = loop.step(step)
    loop = loop.max_iterations(draw(st.integers(2, 3)))
    parts: list[Builder] = [loop] if map_inside else list(draw(st.permutations([loop, ECHO])))
    if place != "inside":
        parts.insert(0 if place == "before" else len(parts), drawn)
    pipeline = parts[0]
    for part in parts[1:]:
        pipeline = pipeline >> part
    items = draw(st.lists(st.sampled_from(("one", "two", "three")), min_size=2, max_size=3))
    return pipeline, {**state, "repeat_items": items}


def reference(pipeline: Builder, state: dict[str, Any]) -> ReferenceResult:
    return run_coroutine(interpret(pipeline.to_ir(), FakeProvider(), dict(state)))


def as_json(value: Any) -> Any:
    return json.loads(json.dumps(value))


def failure(pipeline: Builder, message: str) -> str:
    return f"{message}\nPipeline:\n{to_code(pipeline)}"


def stored_keys(directory: Path) -> set[str]:
    """The keys results are stored under: Prefect names each result file by its cache key."""
    if not directory.exists():
        return set()
    return {path.name for path in directory.iterdir() if path.is_file()}


def check_own_keys(
    pipeline: Builder, runs: list[tuple[str, str]], stored: set[str], calls: int
) -> None:
    """``runs`` (task run name, cache key) of one run: no two share a key, there is one per
    model call of the reference, and the result store holds exactly their keys."""
    names_by_key: dict[str, list[str]] = defaultdict(list)
    for name, key in runs:
        names_by_key[key].append(name)
    shared = sorted(names for names in names_by_key.values() if len(names) > 1)
    assert not shared, failure(pipeline, f"Agent task runs share a cache key: {shared}")
    assert len(runs) == calls, failure(
        pipeline,
        f"{len(runs)} agent task runs called the model; the reference makes {calls} calls.",
    )
    assert stored == set(names_by_key), failure(
        pipeline, f"The result store holds {len(stored)} keys for {len(runs)} task runs."
    )


# 1. In process ------------------------------------------------------------------------------


@few(4)
@given(repeating_pipelines())
def test_no_two_agent_executions_of_a_backend_run_share_a_cache_key(case):
    pipeline, state = case
    expected = reference(pipeline, state)
    calls = CallLog()
    with tempfile.TemporaryDirectory() as results:
        backend = PrefectBackend(provider=calls, result_dir=results)
        result = run(pipeline, backend=backend, state=state)
        stored = stored_keys(Path(results))
    check_own_keys(pipeline, calls.runs, stored, len(expected.calls))
    assert result.state == expected.state, failure(pipeline, "The final state differs.")


# 2. Generated code --------------------------------------------------------------------------

FLOW_NAME = "keys"
TASK_RUN = re.compile(r"Task run '(.*)' - Finished in state (\w+)\(")


def write_flow(pipeline: Builder, folder: Path) -> Path:
    """The generated module of ``pipeline``, its results going to ``folder/results``."""
    compiled = PrefectBackend().compile(pipeline.to_ir())
    config = PrefectWorkerConfig(FLOW_NAME, work_pool="local", result_dir="results")
    path = folder / "keys_flow.py"
    path.write_text(generate_flow_code(compiled, config), encoding="utf-8")
    return path


@pytest.mark.slow
@few(3)
@given(repeating_pipelines())
def test_no_two_agent_executions_of_a_generated_flow_share_a_cache_key(case):
    pipeline, state = case
    expected = reference(pipeline, state)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        path = write_flow(pipeline, folder)
        command = [sys.executable, str(path), "run", "--state", json.dumps(state)]
        out = subprocess.run(
            [*command, "--run-key", "fresh"],
            capture_output=True,
            text=True,
            cwd=folder,
            env=child_env(folder / "home", log_level="INFO"),
            timeout=300,
        )
        assert out.returncode == 0, out.stderr[-3000:]
        stored = stored_keys(folder / "results")
    runs = TASK_RUN.findall(out.stderr + out.stdout)
    cached = [name for name, end in runs if end != "Completed"]
    assert not cached, failure(
        pipeline, f"A fresh run key, yet task runs {cached} took another execution's answer."
    )
    assert len(runs) == len(expected.calls), failure(
        pipeline, f"{len(runs)} agent task runs; the reference makes {len(expected.calls)} calls."
    )
    assert len(stored) == len(runs), failure(
        pipeline, f"{len(runs)} agent task runs stored their results under {len(stored)} keys."
    )
    final = json.loads([line for line in out.stdout.splitlines() if line.startswith("{")][-1])
    assert final == as_json(expected.state), failure(pipeline, "The final state differs.")


# 3. Crash, then resume ----------------------------------------------------------------------


def crash_at(
    pipeline: Builder, command: list[str], folder: Path, log: Path, store: Path, hang_from: int
) -> tuple[list[dict[str, str]], set[str]]:
    """Run ``command`` (a :mod:`tests.support.resume_worker`) until its ``hang_from``-th agent
    call has started and every call done before has its result stored, then SIGKILL it.
    Returns its call log and the keys stored at that moment."""
    with open(folder / "child.err", "wb") as err:
        child = subprocess.Popen(
            command,
            cwd=folder,
            env=child_env(folder / "home"),
            stdout=subprocess.DEVNULL,
            stderr=err,
            start_new_session=True,
        )
        try:
            _wait_for_crash_point(pipeline, child, folder, log, store, hang_from)
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(child.pid, signal.SIGKILL)
            child.wait()
    return read_log(log), stored_keys(store)


def _wait_for_crash_point(
    pipeline: Builder,
    child: subprocess.Popen[bytes],
    folder: Path,
    log: Path,
    store: Path,
    hang_from: int,
) -> None:
    deadline = time.monotonic() + 240  # imports and the first flow, on a loaded machine
    while True:
        entries = read_log(log)
        started = sum(entry["event"] == "start" for entry in entries)
        done = [entry["key"] for entry in entries if entry["event"] == "done"]
        # Prefect writes a result file in two steps (create, then write): wait for its bytes.
        unstored = [key for key in done if not _has_bytes(store / key)]
        if started >= hang_from:
            if not unstored:
                return
            deadline = min(deadline, time.monotonic() + 30)
        if child.poll() is not None:
            tail = (folder / "child.err").read_text(errors="replace")[-3000:]
            message = (
                f"The run ended (exit {child.returncode}) after {started} agent calls, before "
                f"call {hang_from}:\n{tail}"
            )
            raise AssertionError(failure(pipeline, message))
        if time.monotonic() > deadline:
            message = (
                f"{len(unstored)} of the {len(done)} agent calls done have no result in {store}."
                if started >= hang_from
                else f"Agent call {hang_from} never started ({started} did)."
            )
            raise AssertionError(failure(pipeline, message))
        time.sleep(0.05)


def _has_bytes(path: Path) -> bool:
    return path.is_file() and path.stat().st_size > 0


def check_resume(
    pipeline: Builder,
    before: list[dict[str, str]],
    stored: set[str],
    after: list[tuple[str, str]],
    calls: int,
) -> None:
    """No agent done before the crash is called after it, and every other is called once."""
    done = [(entry["run"], entry["key"]) for entry in before if entry["event"] == "done"]
    assert {key for _, key in done} <= stored
    again = sorted({name for name, _ in done} & {name for name, _ in after})
    assert not again, failure(
        pipeline, f"Agents that completed before the crash were called again after it: {again}"
    )
    assert len(done) + len(after) == calls, failure(
        pipeline,
        f"{len(done)} agent calls completed before the crash and {len(after)} after it; "
        f"the run makes {calls}.",
    )


def crash_point(data: st.DataObject, expected: ReferenceResult) -> int:
    """The agent call to crash at: from the second (so some calls have completed) to the last,
    which is what the first example takes (hypothesis starts from the smallest draw)."""
    last = len(expected.calls)
    # A wide draw taken modulo: hypothesis draws small integers often, which would put every
    # example's crash near the same end.
    back = int(data.draw(st.integers(0, 2**20), label="crash point")) % (last - 1)
    return last - back


@pytest.mark.slow
@few(2)
@given(repeating_pipelines(), st.data())
def test_a_backend_run_resumed_after_a_crash_repeats_no_completed_agent(case, data):
    pipeline, state = case
    expected = reference(pipeline, state)
    hang_from = crash_point(data, expected)
    run_key = f"crash_{uuid.uuid4().hex[:8]}"
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        ir_file = folder / "pipeline.json"
        ir_file.write_text(to_json(pipeline.to_ir()), encoding="utf-8")
        results, log = folder / "results", folder / "calls.log"
        worker = [sys.executable, "-m", "tests.support.resume_worker", "backend", str(ir_file)]
        worker += [json.dumps(state), str(log), run_key, str(hang_from), str(results)]
        before, stored = crash_at(pipeline, worker, folder, log, results, hang_from)

        calls = CallLog()
        ir = from_json(ir_file.read_text(encoding="utf-8"), allow=ALLOW)
        backend = PrefectBackend(provider=calls, result_dir=results)
        result = run(ir, backend=backend, state=state, run_key=run_key)
    check_resume(pipeline, before, stored, calls.runs, len(expected.calls))
    assert result.state == expected.state, failure(pipeline, "The final state differs.")


@pytest.mark.slow
@few(2)
@given(repeating_pipelines(), st.data())
def test_a_generated_flow_resumed_after_a_crash_repeats_no_completed_agent(case, data):
    pipeline, state = case
    expected = reference(pipeline, state)
    hang_from = crash_point(data, expected)
    run_key = f"crash_{uuid.uuid4().hex[:8]}"
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        path = write_flow(pipeline, folder)
        results, log = folder / "results", folder / "calls.log"
        worker = [sys.executable, "-m", "tests.support.resume_worker", "generated", str(path)]
        worker += [json.dumps(state), str(log), run_key, str(hang_from)]
        before, stored = crash_at(pipeline, worker, folder, log, results, hang_from)

        calls = CallLog()
        module = with_provider(load_flow_module(path, f"resumed_{run_key}"), calls)
        final = run_coroutine(getattr(module, f"{FLOW_NAME}_flow")(state, run_key))
    check_resume(pipeline, before, stored, calls.runs, len(expected.calls))
    assert as_json(final) == as_json(expected.state), failure(pipeline, "The final state differs.")
