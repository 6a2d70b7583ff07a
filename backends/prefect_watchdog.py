"""Prefect's temporary server dies with the process that started it, even by ``kill -9``.

Without ``PREFECT_API_URL`` Prefect's client starts a temporary server itself
(``SubprocessASGIServer.start()``, a ``uvicorn`` child process launched with a plain
``subprocess.Popen``) and stops it in an atexit handler. A process killed outright runs no
handler, so its server went on running, holding its port and database, until someone killed it
by hand. Prefect gives no hook for it, and Linux's ``PR_SET_PDEATHSIG`` would fire when the
*thread* that started the server ends (a ``run()`` in Jupyter starts it from a helper thread
that ends with the run), so each server gets a watchdog instead: a small Python process that
blocks reading a pipe whose only writer is this process. The kernel closes the pipe when this
process ends, however it ends; the watchdog then reads end-of-file and kills the server, unless
the server was stopped in order (Prefect's ``stop()``, which tells the watchdog so) or is no
longer the process it was given (Linux: its start time in ``/proc``). The watchdog is started
before the server's process and told its pid the moment it is launched, before Prefect waits
seconds for the server to answer, so a kill while the server starts is covered too (started
after it, the watchdog took milliseconds to start, and a kill then left the server running).
It ignores Ctrl-C (a terminal's Ctrl-C reaches the whole process group) and costs one idle
process per temporary server. A child this process
forks (``os.fork``, multiprocessing's "fork" start method) inherits the pipe's writing end, and
would keep the server alive as long as it runs after this process was killed; so the child's
copies are closed as it is forked (``os.register_at_fork``).
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from typing import Any

__all__ = ["watch_temporary_server", "WATCHDOG"]

#: The watchdog's program: ``python -c WATCHDOG``, told the server's pid as the first line of
#: its standard input.
WATCHDOG = """
import os, signal, sys

def started(pid):
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rpartition(")")[2].split()[19]
    except (OSError, IndexError):
        return None

signal.signal(signal.SIGINT, signal.SIG_IGN)
told = sys.stdin.buffer.readline().strip()  # the server's pid, once it is launched
if not told.isdigit():
    sys.exit()  # the parent ended, or was done with it, before launching a server
pid = int(told)
first = started(pid)
said = sys.stdin.buffer.read()  # until this process's parent stops it in order, or ends
if not said and started(pid) == first:
    try:
        os.kill(pid, signal.SIGKILL if hasattr(signal, "SIGKILL") else signal.SIGTERM)
    except OSError:
        pass
"""


def watch_temporary_server() -> None:
    """Give the temporary server Prefect's client will start (or has started) in this
    process a watchdog, unless ``PREFECT_API_URL`` names a server or Prefect may not start
    one. Called before each run; a server already watched is left as it is."""
    from prefect.settings import PREFECT_API_URL, PREFECT_SERVER_EPHEMERAL_ENABLED

    if PREFECT_API_URL.value() or not PREFECT_SERVER_EPHEMERAL_ENABLED.value():
        return
    try:  # Prefect's own, not public: a Prefect that moved it runs unwatched, as before
        from prefect.server.api.server import SubprocessASGIServer
    except ImportError:
        return
    server: Any = SubprocessASGIServer()  # the one Prefect's clients start: one per process
    launch = getattr(server, "_run_uvicorn_command", None)
    stop = getattr(server, "stop", None)
    if getattr(server, "_irgraph_watched", False) or launch is None or stop is None:
        return
    watchdogs: list[subprocess.Popen[bytes]] = []

    def launched() -> Any:
        # The watchdog first, told the pid once there is one: started after the server, a
        # kill while it was being started (milliseconds) left the server unwatched.
        watchdog = _watchdog()
        try:
            process = launch()
        except BaseException:
            _release(watchdog)
            raise
        _tell(watchdog, process.pid)
        watchdogs.append(watchdog)
        return process

    def stopped() -> None:
        try:
            stop()
        finally:
            for watchdog in watchdogs:  # stopped in order: the watchdogs may go
                _release(watchdog)
            watchdogs.clear()

    server._run_uvicorn_command, server.stop = launched, stopped
    server._irgraph_watched = True
    process = getattr(server, "server_process", None)
    if process is not None and process.poll() is None:  # started before irgraph was asked
        watchdog = _watchdog()
        _tell(watchdog, process.pid)
        watchdogs.append(watchdog)


#: The watchdogs this process started and has not released: their pipes' writing ends.
_WATCHING: list[subprocess.Popen[bytes]] = []


def _watchdog() -> subprocess.Popen[bytes]:
    """Start a watchdog, to be told its server's pid (:func:`_tell`); this process holds the
    only writing end of its standard input (``close_fds``: no other child inherits it; a
    forked child's copy is closed by :func:`_forked`)."""
    watchdog = subprocess.Popen(
        [sys.executable, "-I", "-S", "-c", WATCHDOG],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # out of the terminal's process group: Ctrl-C stays away
    )
    _WATCHING.append(watchdog)
    return watchdog


def _tell(watchdog: subprocess.Popen[bytes], pid: int) -> None:
    """Tell ``watchdog`` the pid of the server it watches (a line on its standard input)."""
    assert watchdog.stdin is not None
    with contextlib.suppress(OSError, ValueError):  # it has ended: nothing to tell
        watchdog.stdin.write(f"{pid}\n".encode())
        watchdog.stdin.flush()


def _forked() -> None:
    """In a child just forked: close its copies of the watchdogs' pipes, which are the
    parent's to hold (the child's own end of them says nothing; it neither started nor
    stops those servers)."""
    for watchdog in _WATCHING:
        if watchdog.stdin is not None:
            with contextlib.suppress(OSError, ValueError):
                watchdog.stdin.close()  # the file, not only its descriptor: never written again
    _WATCHING.clear()


if hasattr(os, "register_at_fork"):  # not on Windows, which cannot fork
    os.register_at_fork(after_in_child=_forked)


def _release(watchdog: subprocess.Popen[bytes]) -> None:
    """Tell ``watchdog`` its server was stopped in order, and let it end."""
    with contextlib.suppress(ValueError):
        _WATCHING.remove(watchdog)
    try:
        assert watchdog.stdin is not None
        watchdog.stdin.write(b"stopped")
        watchdog.stdin.close()
    except (OSError, ValueError):  # it has ended already
        pass
    try:
        watchdog.wait(timeout=5)
    except subprocess.TimeoutExpired:
        watchdog.kill()
        watchdog.wait()
