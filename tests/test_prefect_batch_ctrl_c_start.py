"""A terminal's Ctrl-C while ``irgraph batch --backend prefect`` starts Prefect's temporary
server: the command says its one line and exits 130, and the server is stopped.

A terminal sends Ctrl-C's SIGINT to its whole foreground process group, and the server's
``uvicorn`` process was in it: interrupted as it started, it printed "Aborted!" (or a
``KeyboardInterrupt`` traceback) on the command's standard error after the command's own
message. The server now runs in a session of its own, stopped by the command as it exits.
The command runs in a process group of its own here, signalled as a terminal does, once its
server's Python handles Ctrl-C (before, the signal ends a process silently).
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys

import pytest

from irgraph.backends.prefect_server import STARTING
from tests.support.prefect_env import subprocess_env
from tests.support.server_processes import alive, servers_of, wait_until

pytestmark = [pytest.mark.prefect, pytest.mark.slow]

#: The plain progress line a log gets every 10 seconds (a loaded machine may reach one).
PROGRESS = re.compile(r"^(\d+/\d+: )?\d+ done, \d+ failed, .*items/")


def catches_ctrl_c(pid: int) -> bool:
    """Whether process ``pid`` has a handler of SIGINT (Linux: ``SigCgt`` in its status)."""
    try:
        with open(f"/proc/{pid}/status") as status:
            caught = next(line for line in status if line.startswith("SigCgt:"))
    except (OSError, StopIteration):
        return False
    return bool(int(caught.split()[1], 16) & (1 << (signal.SIGINT - 1)))


def test_ctrl_c_to_the_terminal_while_the_server_starts_says_one_line_and_exits_130(tmp_path):
    (tmp_path / "in.jsonl").write_text("".join(json.dumps({"topic": t}) + "\n" for t in "abc"))
    env = subprocess_env(os.fspath(tmp_path / "home"))
    argv = ["batch", "irgraph.demo:research_pipeline", "in.jsonl", "-o", "out.jsonl"]
    child = subprocess.Popen(
        [sys.executable, "-m", "irgraph.cli", *argv, "--backend", "prefect"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group, as a terminal's foreground job
    )
    try:

        def launched() -> int | None:
            if child.poll() is not None:
                raise AssertionError(f"the command ended first: {child.communicate()}")
            servers = [pid for pid in servers_of(child.pid) if catches_ctrl_c(pid)]
            return servers[0] if servers else None

        server = wait_until(launched, "the command's temporary Prefect server to handle Ctrl-C")
        os.killpg(child.pid, signal.SIGINT)  # Ctrl-C: the whole foreground process group
        out, err = child.communicate(timeout=180)
    finally:
        if child.poll() is None:
            os.killpg(child.pid, signal.SIGKILL)
            child.wait()
    said = [line for line in err.splitlines() if not PROGRESS.match(line)]
    assert said == [f"irgraph: {STARTING}"], err
    assert child.returncode == 130, err
    assert out.startswith("Interrupted: ") and len(out.splitlines()) == 1, out
    assert out.rstrip().endswith("Re-run the same command to resume."), out
    wait_until(lambda: not alive(server), "the temporary server to stop as the command exited")
