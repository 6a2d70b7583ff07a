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
It is told the server's port before the launch as well: a process killed between launching
the server and saying its pid leaves a watchdog that finds the server by its port (Linux:
its command line in ``/proc``, started after the watchdog).
A server process Prefect launches in place of another takes its place in ``server_process``,
the only one Prefect's ``stop()`` stops. After exit code 3 ("port in use") the one replaced has
ended; but a launch while the first still runs (``start()`` called again after a start-up
that gave up waiting, by a caller irgraph does not wrap such as Prefect's events worker, or by
two threads at once) left the first running for good after an orderly stop, its watchdog told
the server was stopped. So each launch first ends the process it replaces; a stop, every one.
It ignores Ctrl-C (a terminal's Ctrl-C reaches the whole process group) and costs one idle
process per temporary server. A child this process
forks (``os.fork``, multiprocessing's "fork" start method) inherits the pipe's writing end, and
would keep the server alive as long as it runs after this process was killed; so the child's
copies are closed as it is forked (``os.register_at_fork``).

Prefect's stop logs "INFO | prefect - Stopping temporary server on http://..." at the end of
every script that had the server, after the script's own output; the server is irgraph's to
manage here, so that one line is dropped (:func:`quiet_server_stop`).
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import subprocess
import sys
import threading
from typing import Any

__all__ = ["watch_temporary_server", "quiet_server_stop", "own_session", "WATCHDOG"]

#: The watchdog's program: ``python -c WATCHDOG``, told on its standard input the server's
#: port (``port N``, before the launch) and then its pid, a line each.
WATCHDOG = """
import os, signal, sys, time

def started(pid):
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rpartition(")")[2].split()[19]
    except (OSError, IndexError):
        return None

def launched_on(port, since):
    # Prefect's server processes listening on ``port`` started since ``since`` (Linux).
    found = []
    try:
        names = [name for name in os.listdir("/proc") if name.isdigit()]
    except OSError:
        return found
    for name in names:
        try:
            with open(f"/proc/{name}/cmdline", "rb") as cmdline:
                args = cmdline.read().split(b"\\0")
        except OSError:
            continue
        if APP not in args or b"--port" not in args:
            continue
        at = args.index(b"--port") + 1
        if at < len(args) and args[at] == port and int(started(name) or 0) >= since:
            found.append(int(name))
    return found

def kill(pid):
    try:
        os.kill(pid, signal.SIGKILL if hasattr(signal, "SIGKILL") else signal.SIGTERM)
    except OSError:
        pass

APP = b"prefect.server.api.server:create_app"
signal.signal(signal.SIGINT, signal.SIG_IGN)
told = sys.stdin.buffer.readline().strip()
port = None
if told.startswith(b"port "):  # the server's port, told before it is launched
    port, told = told[5:], sys.stdin.buffer.readline().strip()
if not told.isdigit():  # not told the server's pid
    if port is not None and not told:
        # The parent ended while it launched the server, before it could say its pid: look
        # for it by its port a while (a process forked, not yet running the server's program,
        # shows its parent's command line).
        since = int(started(os.getpid()) or 0)
        for _ in range(40):
            pids = launched_on(port, since)
            if pids:
                for pid in pids:
                    kill(pid)
                break
            time.sleep(0.05)
    sys.exit()
pid = int(told)
first = started(pid)
said = sys.stdin.buffer.read()  # until this process's parent stops it in order, or ends
if not said and started(pid) == first:
    kill(pid)
"""


#: How Prefect says, at the exit of a process that had its temporary server, that it stops it.
SERVER_STOPPING = "Stopping temporary server on "


def _not_server_stopping(record: logging.LogRecord) -> bool:
    """A log filter passing every record but Prefect's INFO line about stopping its temporary
    server (that one too when the user asked for Prefect's DEBUG output)."""
    if record.levelno != logging.INFO or not str(record.msg).startswith(SERVER_STOPPING):
        return True
    return logging.getLogger("prefect").isEnabledFor(logging.DEBUG)


def quiet_server_stop() -> None:
    """Drop Prefect's "Stopping temporary server" INFO line from its ``prefect`` logger: it
    ended the output of every script that ran a flow, whatever else was turned down. A
    warning or error, and the line saying the server starts, still show;
    ``PREFECT_LOGGING_LEVEL=DEBUG`` shows this one too."""
    logger = logging.getLogger("prefect")
    if _not_server_stopping not in logger.filters:
        logger.addFilter(_not_server_stopping)


def watch_temporary_server() -> None:
    """Give the temporary server Prefect's client will start (or has started) in this
    process a watchdog, unless ``PREFECT_API_URL`` names a server or Prefect may not start
    one. Called before each run; a server already watched is left as it is."""
    from prefect.settings import PREFECT_API_URL, PREFECT_SERVER_EPHEMERAL_ENABLED

    if PREFECT_API_URL.value() or not PREFECT_SERVER_EPHEMERAL_ENABLED.value():
        return
    quiet_server_stop()
    try:  # Prefect's own, not public: a Prefect that moved it runs unwatched, as before
        from prefect.server.api.server import SubprocessASGIServer
    except ImportError:
        return
    own_session(sys.modules[SubprocessASGIServer.__module__])
    server: Any = SubprocessASGIServer()  # the one Prefect's clients start: one per process
    launch = getattr(server, "_run_uvicorn_command", None)
    stop = getattr(server, "stop", None)
    if getattr(server, "_irgraph_watched", False) or launch is None or stop is None:
        return
    launches: list[tuple[Any, subprocess.Popen[bytes]]] = []  # each process, its watchdog

    def ended() -> None:
        # Every process launched ends, not only the one Prefect holds now (see the docstring).
        for process, watchdog in launches:
            _end(process)
            _release(watchdog)
        launches.clear()

    def launched() -> Any:
        with _LAUNCHING:  # held by this process's exit: no launch begins after it
            return launching()

    def launching() -> Any:
        ended()  # the server Prefect is about to forget, if it still runs
        # The watchdog first, told the pid once there is one: started after the server, a
        # kill while it was being started (milliseconds) left the server unwatched.
        watchdog = _watchdog()
        port = getattr(server, "port", None)
        if isinstance(port, int):  # should this process end before it can say the pid
            _say(watchdog, f"port {port}")
        try:
            process = launch()
        except BaseException:
            _release(watchdog)
            raise
        _tell(watchdog, process.pid)
        _SERVERS[watchdog] = process
        launches.append((process, watchdog))
        return process

    def stopped() -> None:
        try:
            stop()
        finally:
            ended()  # stopped in order: the watchdogs may go

    server._run_uvicorn_command, server.stop = launched, stopped
    server._irgraph_watched = True
    process = getattr(server, "server_process", None)
    if process is not None and process.poll() is None:  # started before irgraph was asked
        watchdog = _watchdog()
        _tell(watchdog, process.pid)
        _SERVERS[watchdog] = process
        launches.append((process, watchdog))


class _OwnSession:
    """The ``subprocess`` module as Prefect's server module sees it, but for ``Popen``, which
    launches the temporary server in a session of its own: out of the terminal's process
    group, so a Ctrl-C reaches this process only. Reached by it too, the server's ``uvicorn``
    said "Aborted!" or a traceback after irgraph's own message when it came as the server
    started. This process stops the server as it ends (Prefect's stop at exit,
    :func:`~.prefect_server.interrupted_at_exit`, else the watchdog)."""

    def __getattr__(self, name: str) -> Any:
        return getattr(subprocess, name)

    @staticmethod
    def Popen(*args: Any, **kwargs: Any) -> subprocess.Popen[Any]:
        kwargs.setdefault("start_new_session", True)
        return subprocess.Popen(*args, **kwargs)


def own_session(module: Any) -> None:
    """Make Prefect's server ``module`` launch its server in a session of its own
    (:class:`_OwnSession`); a module that no longer uses ``subprocess`` is left as it is."""
    if getattr(module, "subprocess", None) is subprocess:
        module.subprocess = _OwnSession()


#: The watchdogs this process started and has not released: their pipes' writing ends.
_WATCHING: list[subprocess.Popen[bytes]] = []
#: The server process each watchdog was told of (none yet: its server is being launched).
_SERVERS: dict[subprocess.Popen[bytes], Any] = {}
#: Held while a server is launched (on Prefect's thread), and by this process's exit.
_LAUNCHING = threading.RLock()
#: How long this process's exit waits for a launch under way to end.
LAUNCH_SECONDS = 30.0


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
    _say(watchdog, str(pid))


def _say(watchdog: subprocess.Popen[bytes], line: str) -> None:
    """Write ``line`` to ``watchdog``'s standard input at once."""
    assert watchdog.stdin is not None
    with contextlib.suppress(OSError, ValueError):  # it has ended: nothing to tell
        watchdog.stdin.write(f"{line}\n".encode())
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
    _SERVERS.clear()
    global _LAUNCHING
    _LAUNCHING = threading.RLock()  # another thread may have held it as this one forked


if hasattr(os, "register_at_fork"):  # not on Windows, which cannot fork
    os.register_at_fork(after_in_child=_forked)


def _release_at_exit() -> None:
    """At an orderly exit, release the watchdogs no server stop released: a server that was
    running before irgraph was first asked to watch it had Prefect's own ``stop`` registered
    at exit, which tells its watchdog nothing, so the watchdog and its pipe were left to
    Python's shutdown ("ResourceWarning: subprocess ... is still running").

    A launch under way ends first, and none begins after (a Ctrl-C as the server started ends
    this process while Prefect's start, on a thread of its own, launches it: the launch then
    raced the interpreter's end, and once in a while the process died of SIGABRT); then a
    server no stop ended is killed. The server runs in a session of its own
    (:class:`_OwnSession`), which the Ctrl-C never reaches, so released here it ran on for
    good. A watchdog whose server is still being launched (the wait gave up) is kept: its pipe
    closes as this process ends, and it finds the server by its port."""
    idle = _LAUNCHING.acquire(timeout=LAUNCH_SECONDS)  # never let go: the process is ending
    for watchdog in list(_WATCHING):
        if watchdog in _SERVERS:
            _end(_SERVERS[watchdog])
        elif not idle:
            continue  # being launched: its watchdog kills it once this process has ended
        _release(watchdog)


atexit.register(_release_at_exit)


def _end(process: Any) -> None:
    """Kill a server process Prefect has lost track of, unless it has ended."""
    if process.poll() is None:
        with contextlib.suppress(OSError):
            process.kill()
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=5)


def _release(watchdog: subprocess.Popen[bytes]) -> None:
    """Tell ``watchdog`` its server was stopped in order, and let it end."""
    with contextlib.suppress(ValueError):
        _WATCHING.remove(watchdog)
    _SERVERS.pop(watchdog, None)
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
