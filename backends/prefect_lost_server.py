"""A Prefect server lost during a quieted run: what completed, and Prefect's noise held back.

When the server a run talks to stops answering, the run ends in one line of ours naming the
server and what completed before it (:func:`~.prefect_server.server_start_errors`, reading
what the run noted with :func:`note_completed`). Around that line Prefect wrote its noise: its
API log worker (the handler that sends run logs to the server) wrote ``--- Error logging to
API ---`` and the transport error straight to standard error, where no logging filter reaches
it, each time a batch of logs failed to go; its events worker logged each failed item (a whole
event, a line of 1 500 characters) and its pending items, its events client that it could not
connect.

While a run is quieted (:mod:`.prefect_logs`), an API log batch that fails for want of a
server (an HTTP transport error) is held here rather than written, and so are the events
worker's and client's records on Prefect's own consoles (any other handler gets them at once).
Once the run's line says the server was lost (:func:`told_lost`), what was held and all such
noise after it (the logs and events drained as the process exits) is dropped; a run that ends
well writes what was held, as Prefect would have. A failure of any other kind is Prefect's to
write, and outside quieted runs, before any loss, Prefect's worker is as it was. A user's
logging (their handlers, ``logging.raiseExceptions``) is left as it is.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import logging
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from contextvars import ContextVar
from typing import Any

__all__ = [
    "is_lost_server",
    "told_lost",
    "hold_api_log_failures",
    "release_held",
    "naming_completed",
    "note_completed",
    "completed_so_far",
]

_lock = threading.Lock()


class _Held:
    """Whether a lost server was told, how many quieted runs hold failures back, and what
    they held."""

    def __init__(self) -> None:
        self.told = False
        self.holding = 0
        self.failures: list[BaseException] = []
        self.records: list[logging.LogRecord] = []
        self.consoles: list[logging.Handler] = []


_now = _Held()


def is_lost_server(error: BaseException | None) -> bool:
    """Whether ``error`` (or one in its chain) is an HTTP transport error: Prefect's client
    could not reach its server."""
    httpx = sys.modules.get("httpx")
    seen: set[int] = set()
    while httpx is not None and error is not None and id(error) not in seen:
        if isinstance(error, httpx.TransportError):
            return True
        seen.add(id(error))
        error = error.__cause__ or error.__context__
    return False


#: Where the run in this block says what it completed: a list the run's record (the
#: scheduler's, a generated flow's) adds a way to read it to, shared with the copies of the
#: context the flow runs in.
_DONE: ContextVar[list[Callable[[], Sequence[str]]] | None] = ContextVar(
    "irgraph_completed_so_far", default=None
)


@contextlib.contextmanager
def naming_completed() -> Iterator[None]:
    """Within the block, a run notes where its completed nodes are (:func:`note_completed`),
    so a server lost mid-run is said with what completed before it."""
    token = _DONE.set([])
    try:
        yield
    finally:
        _DONE.reset(token)


def note_completed(completed: Callable[[], Sequence[str]]) -> None:
    """The run in this context keeps its completed nodes where ``completed()`` reads them."""
    found = _DONE.get()
    if found is not None:
        found.append(completed)


def completed_so_far() -> list[str] | None:
    """The nodes the last run noted in this block completed, each once (``None``: no run
    noted any)."""
    found = _DONE.get()
    if not found:
        return None
    return list(dict.fromkeys(found[-1]()))


def told_lost() -> None:
    """The run's own line says its server was lost: drop what was held, and from now on drop
    the API log worker's failures to reach it (the logs drained as the process exits)."""
    with _lock:
        _now.told = True
        _now.failures.clear()
        _now.records.clear()


def hold_api_log_failures() -> None:
    """A quieted run begins: hold back the API log worker's failures to reach the server."""
    _wrap_worker()
    with _lock:
        if _now.holding == 0:
            _now.told = False  # a new run: a server lost before is no reason to drop its logs
            for console in _internal_consoles():
                if console not in _now.consoles:
                    console.filters = [*console.filters, _EVENTS_HELD]
                    _now.consoles.append(console)
        _now.holding += 1


def release_held() -> None:
    """A quieted run ends: with none left, write what was held unless a loss was told."""
    with _lock:
        _now.holding = max(_now.holding - 1, 0)
        if _now.holding:
            return
        consoles = list(_now.consoles)
        if not _now.told:  # a lost server's consoles stay filtered: its noise goes on at exit
            _now.consoles.clear()
            for console in consoles:
                console.filters = [kept for kept in console.filters if kept is not _EVENTS_HELD]
        held, _now.failures[:] = list(_now.failures), []
        records, _now.records[:] = list(_now.records), []
        if _now.told:
            return
    for error in held:
        _write(error)
    for record in records:
        for console in consoles:
            if record.levelno >= console.level:
                console.handle(record)


def _write(error: BaseException) -> None:
    """Say ``error`` as Prefect's API log worker says a failed batch."""
    stream = sys.stderr
    if stream:
        stream.write(f"--- Error logging to API ---\n{error}")


#: Where Prefect's events worker and client say they cannot reach the server: its failed
#: items and pending ones (``prefect._internal.concurrency``), its client's "Unable to connect"
#: and its queue at exit ("EventsWorker").
_SERVICES = "prefect._internal.concurrency"
_EVENTS = ("prefect.events.clients", "EventsWorker")


def _internal_consoles() -> list[logging.Handler]:
    """Prefect's own handlers that the events worker's and client's records reach, or none
    before Prefect's logging is set up."""
    if "prefect.logging.handlers" not in sys.modules:
        return []
    found: list[logging.Handler] = []
    for name in (_SERVICES, *_EVENTS):
        logger: logging.Logger | None = logging.getLogger(name)
        while logger is not None:
            found += [handler for handler in logger.handlers if handler not in found]
            logger = logger.parent if logger.propagate else None
    return [handler for handler in found if type(handler).__module__.startswith("prefect.")]


def _about_events(record: logging.LogRecord) -> bool:
    """Whether ``record`` is the events worker or client failing to reach the server."""
    if record.name in _EVENTS:
        return record.levelno >= logging.WARNING
    said = record.args if isinstance(record.args, tuple) else ()
    return record.name == _SERVICES and said[:1] == ("EventsWorker",)


class _EventsHeld(logging.Filter):
    """A filter on Prefect's own consoles: the events worker's and client's failures to
    reach the server, held while a run is quieted, dropped once a loss is told."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not _about_events(record):
            return True
        with _lock:
            if _now.told:
                return False
            if _now.holding:
                if all(held is not record for held in _now.records):  # once, not per console
                    _now.records.append(record)
                return False
        return True


_EVENTS_HELD = _EventsHeld()


class _Unreached(BaseException):
    """Raised through Prefect's ``except Exception`` in its worker: a transport error."""

    def __init__(self, error: BaseException) -> None:
        super().__init__(error)
        self.error = error


class _Watched:
    """The API log worker's client, whose requests that reach no server raise
    :class:`_Unreached` (any other error goes on as it was)."""

    def __init__(self, client: Any) -> None:
        self._client = client

    def __getattr__(self, name: str) -> Any:
        found = getattr(self._client, name)
        if not inspect.iscoroutinefunction(found):
            return found

        @functools.wraps(found)
        async def call(*args: Any, **kwargs: Any) -> Any:
            try:
                return await found(*args, **kwargs)
            except Exception as error:
                if is_lost_server(error):
                    raise _Unreached(error) from error
                raise

        return call


def _wrap_worker() -> None:
    """Wrap ``APILogWorker._handle_batch`` (once per process) to hold or drop its failures to
    reach the server while a run is quieted or a loss was told."""
    handlers = sys.modules.get("prefect.logging.handlers")
    worker = getattr(handlers, "APILogWorker", None)
    original = getattr(worker, "_handle_batch", None)
    if worker is None or original is None or getattr(original, "irgraph_held", False):
        return

    @functools.wraps(original)
    async def handle_batch(self: Any, items: Any) -> Any:
        with _lock:
            watching = bool(_now.holding or _now.told)
        client = getattr(self, "_client", None)
        if not watching or client is None:
            return await original(self, items)
        self._client = _Watched(client)
        try:
            return await original(self, items)
        except _Unreached as lost:
            with _lock:
                if not _now.told:
                    _now.failures.append(lost.error)
            return None
        finally:
            self._client = client

    handle_batch.irgraph_held = True  # type: ignore[attr-defined]
    worker._handle_batch = handle_batch
