"""The Prefect server a run talks to: lean settings for the temporary one, a reachability
check with a clear error, a temporary server too slow to start told as one (with how to allow
it more time), and importing Prefect with those settings applied.

Shared by the in-process backend (:mod:`.prefect_backend`) and the batch sender
(:mod:`.prefect_batch`); ``prefect`` is imported only inside these functions.
:func:`quiet_interrupt_at_exit` makes a Ctrl-C while Prefect stops its temporary server, as the
process exits, end the process with status 130 and no traceback; :func:`settle_services_at_exit`
lets Prefect's background services send what they hold before Prefect stops them at exit.
"""

from __future__ import annotations

import asyncio
import atexit
import concurrent.futures
import contextlib
import os
import signal
import sys
import threading
import time
import weakref
from collections.abc import Callable, Iterator
from typing import Any

from irgraph.errors import IrgraphError, MissingExtraError

from .prefect_flow_cli import api_path_hint
from .prefect_lost_server import completed_so_far, naming_completed
from .prefect_runtime import TELEMETRY_OFF
from .prefect_watchdog import watch_temporary_server

__all__ = [
    "lean_prefect_settings",
    "PrefectUnavailableError",
    "check_prefect_api",
    "start_temporary_server",
    "STARTING",
    "server_start_errors",
    "import_prefect",
    "reread_prefect_settings",
    "quiet_interrupt_at_exit",
    "interrupted_at_exit",
    "settle_services_at_exit",
    "services_settled_at_exit",
]

#: Prefect's module of the temporary server (``SubprocessASGIServer``).
SERVER_MODULE = "prefect.server.api.server"

# the server services a local run does not need
_LEAN_SERVICES = """CANCELLATION_CLEANUP DB_VACUUM EVENT_PERSISTER EVENT_LOGGER FOREMAN LATE_RUNS
    SCHEDULER PAUSE_EXPIRATIONS REPOSSESSOR CLEANUP_RECONCILER TASK_RUN_RECORDER TRIGGERS""".split()


def lean_prefect_settings(environ: dict[str, str] | None = None) -> dict[str, str]:
    """Settings that make local runs fast and offline, applied only where the user set none.

    Telemetry is always off by default (:data:`~irgraph.backends.prefect_runtime.TELEMETRY_OFF`).
    With ``PREFECT_API_URL`` set (a real server) nothing else about the server is changed; for
    the temporary local server, API logging and the services a local run does not need are
    turned off. Returns what was set.
    """
    env = os.environ if environ is None else environ
    chosen = {
        **TELEMETRY_OFF,
        "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "90",
        "PREFECT_TELEMETRY_ENABLE_RESOURCE_METRICS": "false",
    }
    if not env.get("PREFECT_API_URL"):
        chosen["PREFECT_LOGGING_TO_API_ENABLED"] = "false"
        for service in _LEAN_SERVICES:
            chosen[f"PREFECT_SERVER_SERVICES_{service}_ENABLED"] = "false"
    applied = {k: v for k, v in chosen.items() if k not in env}
    env.update(applied)
    return applied


class PrefectUnavailableError(IrgraphError, ConnectionError):
    """The Prefect API named by ``PREFECT_API_URL`` does not answer."""


#: What to do about a server that does not answer, for a run that may use a temporary one.
START_OR_UNSET = (
    "Start the server (prefect server start), fix the URL, or unset PREFECT_API_URL to let "
    "Prefect run a temporary local server."
)


async def check_prefect_api(fix: str = START_OR_UNSET) -> None:
    """Raise :class:`PrefectUnavailableError` before a run if ``PREFECT_API_URL`` names a
    server that does not answer (without it, Prefect starts its own temporary server);
    ``fix`` is the error's last sentence, what to do about it."""
    from prefect.client.orchestration import get_client
    from prefect.settings import PREFECT_API_URL

    url = PREFECT_API_URL.value()
    if not url:
        return
    async with get_client() as client:
        problem = await client.api_healthcheck()
    if problem is not None:
        said = str(problem).rstrip(".")  # httpx's own sentences end in one
        raise PrefectUnavailableError(
            f"Cannot reach the Prefect API at {url} (from PREFECT_API_URL): {said}"
            f"{api_path_hint(url)}. {fix}"
        )


#: What a batch tells its user as Prefect's temporary server starts.
STARTING = (
    "Starting Prefect's temporary local server (PREFECT_API_URL is not set); the items begin "
    "once it answers."
)


async def start_temporary_server(say: Callable[[str], Any]) -> None:
    """Before a batch's first item, start Prefect's temporary local server if no
    ``PREFECT_API_URL`` names a server (else check that one answers), telling ``say`` so.
    Prefect starts it inside the first flow run, seconds to a minute the batch's clock
    counted as the items' work. Prefect's start blocks while it waits, so it runs on a thread
    of its own: a Ctrl-C meanwhile stops the batch at once (the server dies with the process),
    and a batch cancelled meanwhile leaves the start going on, for the next batch to wait for
    (Prefect counts the server as running from the start of its start on)."""
    import_prefect()
    await check_prefect_api()
    from prefect.settings import PREFECT_API_URL, PREFECT_SERVER_EPHEMERAL_ENABLED

    if PREFECT_API_URL.value() or not PREFECT_SERVER_EPHEMERAL_ENABLED.value():
        return  # a server of the user's, checked above; or none (Prefect's error, per item)
    from prefect.server.api.server import SubprocessASGIServer

    server = SubprocessASGIServer()  # the one Prefect's clients use: started once
    starting = next((start for start in _STARTS if not start.done()), None)
    if starting is None:  # none under way (one a cancelled batch left is waited for)
        if server.running:
            return
        starting = concurrent.futures.Future()
        starting.set_running_or_notify_cancel()  # so a cancel of whoever waits cannot cancel it
        _STARTS[:] = [starting]
        threading.Thread(
            target=_start, args=(server, starting), name="irgraph-prefect-server", daemon=True
        ).start()
    say(STARTING)
    with server_start_errors():
        await asyncio.wrap_future(starting)


#: The start of Prefect's temporary server under way on its thread, or the last one.
_STARTS: list[concurrent.futures.Future[None]] = []


def _start(server: Any, started: concurrent.futures.Future[None]) -> None:
    """Start ``server`` (Prefect's start: it waits until the server answers) and say how it
    went on ``started``."""
    try:
        server.start()
    except BaseException as exc:  # raised where it is awaited
        started.set_exception(exc)
    else:
        started.set_result(None)


#: How Prefect says its temporary server did not answer within its start-up time.
_STARTUP_TIMED_OUT = "Timed out while attempting to connect to ephemeral Prefect API server"
#: The setting that says how long Prefect waits for its temporary server.
STARTUP_SETTING = "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS"


@contextlib.contextmanager
def server_start_errors() -> Iterator[None]:
    """Prefect's temporary server not answering within its start-up time, raised as one
    :class:`PrefectUnavailableError` saying how to allow more time (Prefect raises a bare
    ``RuntimeError`` from deep in its client, with the server's whole output); and a server
    that stops answering during the run (an HTTP transport error, with its traceback), as
    one saying which server, what completed before it and what to do."""
    with naming_completed():  # a run in the block notes what it completed
        try:
            yield
        except RuntimeError as exc:
            said = str(exc)
            if not said.startswith(_STARTUP_TIMED_OUT):
                raise
            from prefect.settings import PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS as limit

            _stop_unstarted()
            exited = " (its process had exited)" if "process exited with code" in said else ""
            raise PrefectUnavailableError(
                "Prefect's temporary local server did not answer within its start-up time of "
                f"{limit.value()} s{exited}, so the flow could not begin "
                f"and nothing ran. A busy machine starts it slowly: allow more time with "
                f"{STARTUP_SETTING}=300, or start a server once (prefect server start) and set "
                "PREFECT_API_URL to its address."
            ) from exc
        except Exception as exc:
            httpx = sys.modules.get("httpx")
            if httpx is None or not isinstance(exc, httpx.TransportError):
                raise
            raise PrefectUnavailableError(_lost(exc, completed_so_far())) from exc


def _lost(error: Exception, completed: list[str] | None = None) -> str:
    """What a run says of its Prefect server that stopped answering while it ran (Prefect's
    client raised ``error``, an HTTP transport error, from deep in its engine), and of the
    nodes ``completed`` before it (``None``: not known)."""
    from prefect.settings import PREFECT_API_URL

    from irgraph.cli_live import shown

    url = PREFECT_API_URL.value()
    where = f"The Prefect API at {url}" if url else "Prefect's temporary local server"
    done = (
        ""
        if completed is None
        else "; completed before it: " + (", ".join(map(shown, completed)) or "nothing")
    )
    said = str(error).rstrip(".")  # httpx's ReadError may say nothing
    return (
        f"{where} stopped answering during the run ({type(error).__name__}"
        f"{': ' + said if said else ''}){done}. Check that it is up, then run again: with the same "
        "run key (--run-key), the agents that finished are taken from the cache."
    )


def _temporary_servers() -> list[Any]:
    """Prefect's temporary server objects in this process (none before its module loads)."""
    server = sys.modules.get(SERVER_MODULE)
    return list(getattr(getattr(server, "SubprocessASGIServer", None), "_instances", {}).values())


def _stop_unstarted() -> None:
    """Stop the temporary server Prefect gave up waiting for: Prefect leaves its process
    starting, and the next run in this process (a notebook's kernel) launched another beside
    it, the first one left running until the process ended."""
    for instance in _temporary_servers():
        if not getattr(instance, "running", True) and getattr(instance, "server_process", None):
            with contextlib.suppress(Exception):
                instance.stop()


def import_prefect() -> Any:
    """``prefect``, imported after :func:`lean_prefect_settings` (or a clear error). Prefect
    reads its settings from the environment once, when first imported: if it was imported
    before (by the user, or another library), the settings applied now are made to count.
    The temporary server Prefect may start is watched, to die with this process."""
    imported_before = "prefect" in sys.modules
    applied = lean_prefect_settings()
    try:
        import prefect
    except ImportError as exc:
        raise MissingExtraError("prefect", "prefect", "The Prefect backend") from exc
    if imported_before and applied:
        reread_prefect_settings()
    watch_temporary_server()  # so that it dies with this process (prefect_watchdog.py)
    return prefect


def reread_prefect_settings() -> None:
    """Make Prefect read its settings from the environment again (it read them when first
    imported; e.g. a temporary server's start-up timeout set later was otherwise ignored,
    and the server failed to start in 20 s on a loaded machine)."""
    import prefect.context

    refresh = getattr(prefect.context, "refresh_global_settings_context", None)
    if refresh is not None:
        refresh()
    else:  # older Prefect 3 releases have no function for it: the assignment it makes
        prefect.context.GLOBAL_SETTINGS_CONTEXT = prefect.context.root_settings_context()


#: Whether this process will end quietly on a Ctrl-C while it exits.
_QUIET: list[bool] = []


def quiet_interrupt_at_exit() -> None:
    """Make a Ctrl-C while this process exits end it with status 130 and no traceback, the
    temporary server killed. As a process exits, Prefect drains its background services (in
    the threading module's exit callbacks), then stops its temporary server (an atexit handler
    that waits up to 5 s for it); interrupted there, Python printed a traceback and exited 0.
    The SIGINT handler is installed as the process begins to exit, before either."""
    if _QUIET:
        return
    _QUIET.append(True)
    # Run first at exit: the threading module's exit callbacks come before atexit's (and
    # run the last registered first); without them, the atexit handler registered last.
    register = getattr(threading, "_register_atexit", None)
    try:
        (register or atexit.register)(_on_exit)
    except RuntimeError:  # the process is exiting already
        pass


def _on_exit() -> None:
    """From the start of the process's exit on, a Ctrl-C ends it quietly (unless the program
    installed a SIGINT handler of its own)."""
    if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
        signal.signal(signal.SIGINT, interrupted_at_exit)


def interrupted_at_exit(signum: int, frame: Any) -> None:
    """The SIGINT handler while the process exits: kill the temporary server Prefect is
    stopping, say so on standard error and end the process with 130, the status of Ctrl-C."""
    for instance in _temporary_servers():
        process = getattr(instance, "server_process", None)
        if process is not None and process.poll() is None:
            process.kill()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # closed, or its reader gone
            pass
    with contextlib.suppress(OSError):
        os.write(
            2, b"irgraph: interrupted while Prefect shut down; its temporary server is stopped.\n"
        )
    os._exit(128 + signal.SIGINT)


#: How long the process's exit waits for Prefect's services to send what they hold.
SETTLE_SECONDS = 10.0
#: The services a settling exit callback was registered after (see below).
_SETTLED: weakref.WeakSet[Any] = weakref.WeakSet()


def settle_services_at_exit() -> None:
    """Have this process's exit wait until Prefect's background services (the events worker
    sending a flow run's last state changes to the server) have sent what they hold, before
    Prefect stops them. Prefect stops each service first and then lets it work through its
    queue, logging "EventsWorker - Still processing items: 7 items remaining..." at the end of
    every script that ran a flow. Called after each run: a service started during it has
    registered its stop as a threading exit callback, and those run last registered first."""
    services = _services()
    if not services or all(service in _SETTLED for service in services):
        return
    _SETTLED.update(services)
    register = getattr(threading, "_register_atexit", None)
    if register is None:  # a Python without it: Prefect then stops nothing this way either
        return
    try:
        register(_settle_services)
    except RuntimeError:  # the process is exiting already
        pass


@contextlib.contextmanager
def services_settled_at_exit() -> Iterator[None]:
    """:func:`settle_services_at_exit` once the block ends, however it ends (a failed flow
    run leaves events to send too)."""
    try:
        yield
    finally:
        settle_services_at_exit()


def _services() -> list[Any]:
    """Prefect's running queue services in this process (none before their module loads)."""
    module = sys.modules.get("prefect._internal.concurrency.services")
    base = getattr(module, "_QueueServiceBase", None)
    found = list(getattr(base, "_instances", {}).values())
    return [s for s in found if getattr(s, "_started", False) and not getattr(s, "_stopped", 1)]


def _settle_services() -> None:
    """Wait (up to :data:`SETTLE_SECONDS` in all) until every service's queue is worked off."""
    if _QUIET:  # a Ctrl-C while this waits ends the process quietly too
        _on_exit()
    deadline = time.monotonic() + SETTLE_SECONDS
    for service in _services():
        queue = getattr(service, "_queue", None)
        done = getattr(queue, "all_tasks_done", None)
        if queue is None or done is None:
            continue
        with done:
            while queue.unfinished_tasks and (left := deadline - time.monotonic()) > 0:
                done.wait(left)
