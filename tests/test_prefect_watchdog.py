"""The temporary server's watchdog (``irgraph.backends.prefect_watchdog``) on its own: a
process killed between launching the server and telling the watchdog its pid (the
microseconds a ``kill -9`` can still land in) leaves a watchdog that finds the server by the
port it was told first, and kills it, and only it; and a server Prefect launched again after
a start-up that gave up waiting leaves no process of it running once it is stopped.

A "server" here is a sleeping Python process whose command line is that of Prefect's
temporary server (``... prefect.server.api.server:create_app ... --port N``), so what the
watchdog reads in ``/proc`` is what it reads for the real one; ``test_prefect_interrupts``
runs the real one.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap

import pytest

from tests.support.server_processes import alive, wait_until

pytestmark = pytest.mark.skipif(not os.path.isdir("/proc"), reason="the watchdog reads /proc")


def server_args(port: int) -> list[str]:
    """A process that sleeps with the command line of Prefect's server on ``port``."""
    return [
        sys.executable,
        "-c",
        "import time; time.sleep(600)",
        "--factory",
        "prefect.server.api.server:create_app",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
    ]


# Starts a watchdog, tells it the port, launches the "server", prints the server's pid and
# then hangs without telling the watchdog that pid: killed there, it is killed in the window.
LAUNCHER = textwrap.dedent(
    """
    import subprocess, sys, time
    from irgraph.backends.prefect_watchdog import _say, _watchdog
    from tests.test_prefect_watchdog import server_args

    port = int(sys.argv[1])
    watchdog = _watchdog()
    _say(watchdog, f"port {port}")
    server = subprocess.Popen(server_args(port))
    print(server.pid, watchdog.pid, flush=True)
    time.sleep(600)
    """
)


def test_a_process_killed_before_it_tells_the_server_pid_still_takes_its_server_down():
    port, other_port = 47311, 47312
    # another process's server, on another port, started after the watchdog: left alone
    launcher = subprocess.Popen(
        [sys.executable, "-c", LAUNCHER, str(port)],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": os.getcwd()},
    )
    other = None
    server = watchdog = 0
    try:
        assert launcher.stdout is not None
        server, watchdog = map(int, launcher.stdout.readline().split())
        other = subprocess.Popen(server_args(other_port))
        launcher.kill()
        launcher.wait()
        wait_until(lambda: not alive(server), "the watchdog to kill the server by its port", 60)
        wait_until(lambda: not alive(watchdog), "the watchdog to end", 60)
        assert other.poll() is None, "the watchdog killed a server it was not told of"
    finally:
        if launcher.poll() is None:
            launcher.kill()
            launcher.wait()
        for pid in (server, watchdog):
            if pid and alive(pid):
                os.kill(pid, signal.SIGKILL)
        if other is not None:
            other.kill()
            other.wait()


# A watchdog that no server stop released (the server ran before irgraph was first asked to
# watch it, so Prefect's own stop was the one registered at exit): the process ends in order,
# and its last exit handler (registered first) says whether the watchdog's pipe was closed
# and the watchdog waited for by then.
UNRELEASED = textwrap.dedent(
    """
    import atexit, json
    kept = []
    atexit.register(lambda: print(json.dumps([kept[0].stdin.closed, kept[0].returncode])))
    from irgraph.backends.prefect_watchdog import _watchdog
    kept.append(_watchdog())
    print(kept[0].pid, flush=True)
    """
)


def test_a_watchdog_no_server_stop_released_is_released_as_the_process_exits():
    """It was left to Python's shutdown, its pipe open: "ResourceWarning: subprocess N is
    still running" and "unclosed file <_io.BufferedWriter ...>" at the end of a test run."""
    done = subprocess.run(
        [sys.executable, "-c", UNRELEASED],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": os.getcwd()},
    )
    assert done.returncode == 0, done.stderr
    pid, released = done.stdout.splitlines()
    closed, returncode = json.loads(released)
    assert closed and returncode is not None, done.stdout
    wait_until(lambda: not alive(int(pid)), "the watchdog to end", 60)


# Prefect's own temporary server object, its launches made sleeping stand-ins that never
# answer: start() gives up waiting (its start-up time, 1 s, passes), start() is called again
# (as Prefect's next client does after a failed start-up), which launches another server
# process in place of the first, and stop() stops the server in order. Prints each launched
# process's pid.
RESTARTED = textwrap.dedent(
    """
    import contextlib, subprocess
    from prefect.server.api.server import SubprocessASGIServer
    from irgraph.backends.prefect_watchdog import watch_temporary_server
    from tests.support.prefect_env import free_port
    from tests.test_prefect_watchdog import server_args

    server = SubprocessASGIServer()
    server.port = free_port()  # nothing listens there: the stand-ins never answer
    launched = []

    def launch():
        quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}  # not our pipes
        launched.append(subprocess.Popen(server_args(server.port), **quiet))
        return launched[-1]

    server._run_uvicorn_command = launch
    watch_temporary_server()
    for _ in range(2):
        with contextlib.suppress(RuntimeError):  # "Timed out while attempting to connect"
            server.start(timeout=1)
    server.stop()
    print(*(process.pid for process in launched), flush=True)
    """
)


def test_a_server_launched_again_after_a_failed_start_up_leaves_none_running():
    """Prefect's start() after a failed one puts a new process in ``server_process``; stop()
    stops that one only. The first, still starting, was left running for good: its watchdog
    was told the server was stopped in order."""
    env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
    env["PYTHONPATH"] = os.getcwd()
    done = subprocess.run(
        [sys.executable, "-c", RESTARTED], capture_output=True, text=True, timeout=120, env=env
    )
    pids = [int(pid) for pid in done.stdout.split()]
    try:
        assert done.returncode == 0, done.stderr
        assert len(pids) == 2
        wait_until(lambda: not any(map(alive, pids)), "every launched server to end", 30)
    finally:
        for pid in pids:
            if alive(pid):
                os.kill(pid, signal.SIGKILL)
