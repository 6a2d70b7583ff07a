"""``irgraph batch --backend prefect`` without ``PREFECT_API_URL``: Prefect's temporary server
starts before the first item, told on standard error, and the batch's time is the items'
only. It started lazily inside the first item's flow run, so a minute of start-up on a loaded
machine counted as the items' work ("3 done ... in 61.98 s (0.0 items/s)") and the ETA said
two minutes for a batch seconds from its end."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap

import pytest

from irgraph.backends.prefect_server import STARTING
from tests.support.prefect_env import subprocess_env

pytestmark = [pytest.mark.prefect, pytest.mark.slow]

# The command in a process of its own (its own temporary server, started once), Prefect's
# start wrapped to record when the server answered.
COMMAND = textwrap.dedent(
    """
    import io, json, sys, time
    from prefect.server.api import server

    answered = []
    original = server.SubprocessASGIServer.start

    def start(self, timeout=None):
        starting = not self.running
        original(self, timeout)
        if starting:
            answered.append(time.monotonic())

    server.SubprocessASGIServer.start = start
    from irgraph.cli import main

    out = io.StringIO()
    code = main(sys.argv[1:], out)
    end = time.monotonic()
    print(json.dumps({"code": code, "out": out.getvalue(), "answered": answered, "end": end}))
    """
)


def test_the_temporary_server_starts_before_the_clock_and_is_told(tmp_path):
    (tmp_path / "chain.py").write_text(
        "from irgraph import Agent\n"
        "pipeline = Agent('a').instruct('Say {topic}.').writes('x') >> "
        "Agent('b').instruct('Echo {x}.').writes('y')\n"
    )
    (tmp_path / "in.jsonl").write_text("".join(json.dumps({"topic": t}) + "\n" for t in "abc"))
    env = subprocess_env(os.fspath(tmp_path / "home"))
    argv = ["batch", "chain:pipeline", "in.jsonl", "-o", "out.jsonl", "--backend", "prefect"]
    done = subprocess.run(
        [sys.executable, "-c", COMMAND, *argv, "--provider", "fake"],
        cwd=tmp_path,
        env={**env, "PYTHONPATH": os.fspath(tmp_path)},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    ran = json.loads(done.stdout.splitlines()[-1])
    assert ran["code"] == 0 and "Finished: 3 done, 0 failed" in ran["out"], ran["out"]
    assert len(ran["answered"]) == 1  # started once, by the batch, before its first item
    told = [line for line in done.stderr.splitlines() if line.startswith("irgraph: ")]
    assert told == [f"irgraph: {STARTING}"]
    # The batch's time runs from after the server answered to the end: none of the start-up.
    found = re.search(r" in (\d+\.\d\d) s \(", ran["out"])
    assert found is not None, ran["out"]
    assert float(found.group(1)) <= ran["end"] - ran["answered"][0] + 0.005  # shown rounded
