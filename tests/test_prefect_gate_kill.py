"""A keyed Prefect batch (or a generated flow run with a run key) killed right after a gate
was answered does not ask that gate again.

The paused flow run notices that it was resumed only at its next poll (about a second later),
and the gate's task kept its answer only when the task ended; a process killed outright in
between lost the answer, and the batch run again asked the person a second time. The child
here is killed (SIGKILL, by itself) at the worst moment: the instant the Prefect server has
accepted the resume with the answer, before the flow could see it. Prefect's
``aresume_flow_run`` is wrapped in the child to do that; irgraph's code runs unchanged.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import uuid

import pytest

from irgraph import Agent, Gate, run_many
from irgraph.backends.prefect_backend import PrefectBackend
from irgraph.testing import FakeProvider
from tests.support.prefect_children import child_env, shared_api_url

pytestmark = [pytest.mark.prefect, pytest.mark.slow]

KILLED = textwrap.dedent(
    """
    import os, signal, sys
    import prefect.flow_runs
    from irgraph import Agent, Gate, run_many
    from irgraph.backends.prefect_backend import PrefectBackend
    from irgraph.testing import FakeProvider

    resume = prefect.flow_runs.aresume_flow_run

    async def resume_then_die(*args, **kwargs):
        await resume(*args, **kwargs)
        os.kill(os.getpid(), signal.SIGKILL)  # the answer given, the flow not yet told

    prefect.flow_runs.aresume_flow_run = resume_then_die
    key, store, results = sys.argv[1:4]
    gated = Gate("approve", "Publish {topic}?").writes("verdict") >> Agent("pub").instruct(
        "Publish {topic}: {verdict}."
    ).writes("out")

    def answer(request):
        print("asked", request.node, flush=True)
        return "ship it"

    for item in run_many(gated, [{"topic": "owls"}], backend=PrefectBackend(result_dir=results),
                         provider=FakeProvider(), batch_key=key, store=store, on_gate=answer):
        print("finished", item.ok, flush=True)
    """
)

GATED = Gate("approve", "Publish {topic}?").writes("verdict") >> Agent("pub").instruct(
    "Publish {topic}: {verdict}."
).writes("out")


def test_a_batch_killed_right_after_a_gate_was_answered_does_not_ask_it_again(tmp_path):
    key = f"gate-{uuid.uuid4().hex[:8]}"
    store, results = tmp_path / "store", tmp_path / "results"
    killed = subprocess.run(
        [sys.executable, "-c", KILLED, key, str(store), str(results)],
        capture_output=True,
        text=True,
        timeout=180,
        env=child_env(tmp_path / "home"),
    )
    assert killed.returncode == -9, killed.stderr  # killed by itself, as planned
    assert killed.stdout.splitlines() == ["asked approve"]

    shared_api_url()  # this process's own server (the child used it too)
    asked = []

    def answer(request):
        asked.append(request.node)
        return "no"

    items = list(
        run_many(
            GATED,
            [{"topic": "owls"}],
            backend=PrefectBackend(result_dir=results),
            provider=FakeProvider(),
            batch_key=key,
            store=store,
            on_gate=answer,
        )
    )
    assert asked == []  # answered before the kill: not asked again
    assert [item.ok for item in items] == [True]
    assert items[0].state["verdict"] == "ship it"


# A generated flow module's `run --answer`, killed the same way: run as `python -c`, Prefect's
# resume wrapped first, then the module's own command line.
KILLED_MODULE = textwrap.dedent(
    """
    import os, runpy, signal, sys
    import prefect.flow_runs

    resume = prefect.flow_runs.aresume_flow_run

    async def resume_then_die(*args, **kwargs):
        await resume(*args, **kwargs)
        os.kill(os.getpid(), signal.SIGKILL)

    prefect.flow_runs.aresume_flow_run = resume_then_die
    sys.argv = sys.argv[1:]
    runpy.run_path(sys.argv[0], run_name="__main__")
    """
)


def test_a_generated_flow_killed_right_after_its_answer_does_not_ask_again(tmp_path):
    from tests.test_prefect_worker import generated

    path = tmp_path / "gated_flow.py"
    path.write_text(generated(GATED, flow_name="gated"), encoding="utf-8")
    env = child_env(tmp_path / "home")
    key = f"gate-{uuid.uuid4().hex[:8]}"
    args = [str(path), "run", "--state", '{"topic": "owls"}', "--run-key", key]
    killed = subprocess.run(
        [sys.executable, "-c", KILLED_MODULE, *args, "--answer", "approve=ship it"],
        capture_output=True,
        text=True,
        timeout=180,
        env=env,
        cwd=tmp_path,
    )
    assert killed.returncode == -9, killed.stderr
    again = subprocess.run(
        [sys.executable, *args, "--answer", "approve=asked again"],
        capture_output=True,
        text=True,
        timeout=180,
        env=env,
        cwd=tmp_path,
    )
    assert again.returncode == 0, again.stderr[-3000:]
    assert json.loads(again.stdout.strip().splitlines()[-1])["verdict"] == "ship it"
