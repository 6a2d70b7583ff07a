"""A terminal's Ctrl-C while ``irgraph batch --backend prefect`` starts Prefect's temporary
server: the command says its one line and exits 130, and the server is stopped.

A terminal sends Ctrl-C's SIGINT to its whole foreground process group, and the server's
``uvicorn`` process was in it: interrupted as it started, it printed "Aborted!" (or a
``KeyboardInterrupt`` traceback) on the command's standard error after the command's own
message. The server now runs in a session of its own, stopped by the command as it exits.
The command runs in a process group of its own here, signalled as a terminal does: once its
server's Python handles Ctrl-C (before, the signal ends a process silently), or as soon as it
says the server starts, which is mostly before Prefect's start (on a thread of its own)
launches it. The command then ended while the server was launched, and released its
watchdog: the server, no longer reached by the Ctrl-C, ran on for good.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import uuid

import pytest

from irgraph.backends.prefect_server import STARTING
from tests.support.prefect_env import subprocess_env
from tests.support.server_processes import alive, servers_of, wait_until

pytestmark = [pytest.mark.prefect, pytest.mark.slow]

#: The plain progress line a log gets every 10 seconds (a loaded machine may reach one),
#: with its rate, or while the server starts, saying the items wait for it.
PROGRESS = re.compile(
    r"^(\d+/\d+: )?\d+ done, \d+ failed, (.*items/|.*waiting for the backend to start$)"
)


def catches_ctrl_c(pid: int) -> bool:
    """Whether process ``pid`` has a handler of SIGINT (Linux: ``SigCgt`` in its status)."""
    try:
        with open(f"/proc/{pid}/status") as status:
            caught = next(line for line in status if line.startswith("SigCgt:"))
    except (OSError, StopIteration):
        return False
    return bool(int(caught.split()[1], 16) & (1 << (signal.SIGINT - 1)))


def started(tmp_path, env: dict[str, str]) -> subprocess.Popen[str]:
    """``irgraph batch --backend prefect`` over three items, in a process group of its own."""
    (tmp_path / "in.jsonl").write_text("".join(json.dumps({"topic": t}) + "\n" for t in "abc"))
    argv = ["batch", "irgraph.demo:research_pipeline", "in.jsonl", "-o", "out.jsonl"]
    return subprocess.Popen(
        [sys.executable, "-m", "irgraph.cli", *argv, "--backend", "prefect"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group, as a terminal's foreground job
    )


def marked(mark: str) -> list[int]:
    """The running processes whose environment holds ``mark`` (the command's children too)."""
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/environ", "rb") as environ:
                if mark.encode() in environ.read().split(b"\0") and alive(int(name)):
                    found.append(int(name))
        except OSError:
            continue
    return found


def test_ctrl_c_as_the_server_is_said_to_start_leaves_no_server_running(tmp_path):
    mark = f"IRGRAPH_TEST_MARK={uuid.uuid4().hex}"
    env = {**subprocess_env(os.fspath(tmp_path / "home")), mark.split("=")[0]: mark.split("=")[1]}
    child = started(tmp_path, env)
    try:
        said_to_start(child, mark)
    finally:  # a server left running (the failure this test looks for) is stopped here
        for pid in marked(mark):
            os.kill(pid, signal.SIGKILL)


def said_to_start(child: subprocess.Popen[str], mark: str) -> None:
    """Ctrl-C to ``child`` as it says the server starts; check what it said and left."""
    try:
        assert child.stderr is not None
        err = ""
        while STARTING not in err:  # said before Prefect's thread launches the server
            line = child.stderr.readline()
            assert line, f"the command ended first: {err}"
            err += line
        os.killpg(child.pid, signal.SIGINT)
        out, rest = child.communicate(timeout=180)
    finally:
        if child.poll() is None:
            os.killpg(child.pid, signal.SIGKILL)
            child.wait()
    said = [line for line in (err + rest).splitlines() if not PROGRESS.match(line)]
    assert said == [f"irgraph: {STARTING}"], err + rest
    assert child.returncode == 130 and out.startswith("Interrupted: "), out
    wait_until(lambda: not marked(mark), "every process the command started to end")


def test_ctrl_c_to_the_terminal_while_the_server_starts_says_one_line_and_exits_130(tmp_path):
    child = started(tmp_path, subprocess_env(os.fspath(tmp_path / "home")))
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
    try:
        wait_until(lambda: not alive(server), "the temporary server to stop as the command exited")
    finally:
        if alive(server):  # left running: stopped here, the test failed
            os.kill(server, signal.SIGKILL)
