"""A Ctrl-C while ``irgraph`` exits after a run on Prefect's temporary server ends the process
with status 130 and one line, not a traceback and status 0.

As a process exits, Prefect drains its background services (the threading module's exit
callbacks), then stops its temporary server in an atexit handler that waits up to 5 s for it.
Each test runs a child process holding Prefect's real ``SubprocessASGIServer``, registered as
``start()`` registers it, whose server process is a stand-in: on SIGTERM it sends SIGINT to its
parent, the Ctrl-C arriving exactly while Prefect stops it, and it keeps running (a server slow
to stop). The services phase is a threading exit callback that sends SIGINT to its own process
and waits. The child then runs a real ``irgraph`` command and exits through both phases.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time

import pytest

from tests.support.prefect_env import ensure_prefect_test_env, subprocess_env

pytestmark = pytest.mark.prefect

STAND_IN = textwrap.dedent(
    """
    import os, signal, sys, time
    signal.signal(signal.SIGTERM, lambda *_: os.kill(os.getppid(), signal.SIGINT))
    print("ready", flush=True)
    time.sleep(60)
    """
)

CHILD = textwrap.dedent(
    """
    import atexit, os, signal, subprocess, sys, threading, time

    from prefect.server.api.server import SubprocessASGIServer

    from irgraph.cli import main

    phase, stand_in = sys.argv[1], sys.argv[2]
    process = subprocess.Popen(
        [sys.executable, "-c", stand_in], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
    )
    assert process.stdout.readline() == b"ready\\n"
    server = SubprocessASGIServer()
    server.server_process, server.running = process, True
    atexit.register(server.stop)  # as SubprocessASGIServer.start() does
    if phase == "services":  # Ctrl-C while a service drains, before the server stops

        def drain():
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(10)

        threading._register_atexit(drain)
    print(process.pid, flush=True)
    sys.exit(main(["check", "irgraph.demo:research_pipeline", "--input", "topic"]))
    """
)


def _alive(pid: int) -> bool:
    """Whether process ``pid`` runs (a zombie, killed but not yet reaped, does not)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rpartition(")")[2].split()[0] != "Z"
    except FileNotFoundError:
        return False
    except OSError:  # no /proc: ask the process
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        return True


@pytest.mark.parametrize("phase", ["server", "services"])
def test_ctrl_c_while_prefect_shuts_down_exits_130_without_a_traceback(phase):
    env = subprocess_env(ensure_prefect_test_env())
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [os.getcwd(), env.get("PYTHONPATH")]))
    done = subprocess.run(
        [sys.executable, "-c", CHILD, phase, STAND_IN],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert done.returncode == 130, done.stderr
    assert "Traceback" not in done.stderr and "KeyboardInterrupt" not in done.stderr
    assert done.stderr.splitlines()[-1] == (
        "irgraph: interrupted while Prefect shut down; its temporary server is stopped."
    )
    assert "OK: no problems found." in done.stdout  # the command's output is all there
    pid = int(done.stdout.splitlines()[0])
    deadline = time.monotonic() + 60  # bounds a failure only
    while _alive(pid) and time.monotonic() < deadline:  # killed; init reaps it
        time.sleep(0.05)
    assert not _alive(pid), "the temporary server was left running"
