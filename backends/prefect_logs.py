"""Prefect's log of a failed run: one line per failed agent, without tracebacks.

When an agent fails, Prefect's engines log the task run's exception with its traceback, the
task run's end state, the flow run's exception (the run's :class:`~irgraph.errors.RunError`,
its cause chained: a second traceback) and the flow run's end state, all before the RunError,
which names the node, its cause and what completed, reaches the caller. While a run is quieted
(:func:`quiet_failures` around an in-process run or a generated module's ``run`` command;
:func:`quiet_flow_run` in a generated flow's body, until its flow run ends), a filter on
Prefect's run loggers (``prefect.task_runs``, ``prefect.flow_runs``) takes those tracebacks
off the records, so every handler (a user's own, Prefect's API log) still gets each record,
without it; the first failed task run's line says how to see them (:data:`TRACEBACK_HINT`).
Prefect's console handlers leave out the repeats (a failed task run's end state, the flow run's
RunError and its end state), so the console shows one line per failed agent. They leave out
too the "Crash detected!" of a task run that was cancelled (with its end state): a sibling of a
failed agent, a node past its timeout, or the work a flow's ``timeout_seconds`` stopped, which
the failure's line, the RunError or the flow's timeout line says; a crash of any other kind
stays. A flow run past its ``timeout_seconds`` is one line, naming the run and the timeout,
with how to allow more (:data:`FLOW_TIMEOUT_HINT`); its end state, a repeat, is left out, and so
is what Prefect says of a generated flow's failure hook (it runs as part of the flow). With
``PREFECT_LOGGING_LEVEL=DEBUG`` no record is changed. The filters are removed when the last
quieted run ends: once a run returns, logging is as it was.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
import threading
from collections.abc import Iterator
from typing import Any

from irgraph.errors import RunError

from .prefect_lost_server import hold_api_log_failures, is_lost_server, release_held, told_lost

__all__ = ["TRACEBACK_HINT", "FLOW_TIMEOUT_HINT", "quiet_failures", "quiet_flow_run"]

#: What a failed task run's line ends with: where its traceback went.
TRACEBACK_HINT = " (its traceback: PREFECT_LOGGING_LEVEL=DEBUG)"

#: What a flow run's timeout line ends with: how to allow more time.
FLOW_TIMEOUT_HINT = " (its timeout_seconds: allow more with flow.with_options(timeout_seconds=...))"

#: A task run's crash that is a cancellation: what cancelled it is said elsewhere.
_CANCELLED = "Crash detected! Execution was cancelled by the runtime environment."
_FLOW_TIMEOUT = "Flow run exceeded timeout of "
#: What Prefect says of a generated flow's failure hook (prefect_flow_ends.partial_on_stop).
_OUR_HOOK = tuple(
    f"{said} '{name}' "
    for name in ("partial_on_stop", "partial_on_timeout")
    for said in ("Running hook", "Hook")
)

TASK_RUNS = "prefect.task_runs"
FLOW_RUNS = "prefect.flow_runs"
_ENDED = "Finished in state"


class _Quieted:
    """The runs quieted now: ``None`` for each block that quiets every run record in it, or
    a flow run's id; and what was said of them."""

    def __init__(self) -> None:
        self.scopes: list[str | None] = []
        self.hinted = False
        self.told: set[str] = set()  # task runs whose failure was logged, flow runs' RunError
        self.consoles: list[tuple[logging.Handler, _Unrepeated]] = []


_lock = threading.RLock()
_now = _Quieted()


@contextlib.contextmanager
def quiet_failures() -> Iterator[None]:
    """Within the block, every Prefect run's failure is logged as this module says."""
    _enter(None)
    try:
        yield
    except BaseException as error:
        if is_lost_server(error):  # said in one line by the run (server_start_errors)
            told_lost()
        raise
    finally:
        _leave(None)


@contextlib.contextmanager
def quiet_flow_run() -> Iterator[None]:
    """Within the block, in a flow run, that flow run's failure is logged as this module says,
    up to its last record (its end state, logged after the block): a generated flow's body.
    Outside a flow run, nothing changes."""
    run = _current_flow_run()
    if run is None:
        yield
        return
    _enter(run)
    try:
        yield
    except BaseException:
        if not logging.getLogger(FLOW_RUNS).isEnabledFor(logging.ERROR):
            _leave(run, every=True)  # no end state will be logged: nothing more to quiet
        raise
    else:  # nothing failed (this time: a flow retry runs the body again)
        _leave(run, every=True)


def _current_flow_run() -> str | None:
    context = sys.modules.get("prefect.context")
    made = None if context is None else context.FlowRunContext.get()
    return None if made is None or made.flow_run is None else str(made.flow_run.id)


def _enter(scope: str | None) -> None:
    with _lock:
        if not _now.scopes:
            hold_api_log_failures()  # a lost server's API log noise, till the run says it
            for name in (TASK_RUNS, FLOW_RUNS):
                _add(logging.getLogger(name), _quiet)
            on = {id(console) for console, _ in _now.consoles}  # still there: see _leave
            for console in _consoles():
                if id(console) not in on:
                    _now.consoles.append((console, _Unrepeated()))
                    _add(console, _now.consoles[-1][1])
        _now.scopes.append(scope)


def _leave(scope: str | None, *, every: bool = False, last: bool = False) -> None:
    """End quieted ``scope`` (``every`` time it was entered: a flow run's body runs again on
    a flow retry); with none left, remove the filters: those on the consoles only later when
    the ``last`` record of a flow run ends it (they are still to see that record)."""
    with _lock:
        if every:
            _now.scopes[:] = [kept for kept in _now.scopes if kept != scope]
        elif scope in _now.scopes:
            _now.scopes.remove(scope)
        if _now.scopes:
            return
        _now.hinted = False
        _now.told.clear()
        release_held()
        for name in (TASK_RUNS, FLOW_RUNS):
            _drop(logging.getLogger(name), _quiet)
        if not last:
            _retire_consoles()
            return
    try:
        asyncio.get_running_loop().call_soon(_retire_consoles)  # should no console see it
    except RuntimeError:
        _retire_consoles()


def _retire_consoles(console: logging.Handler | None = None) -> None:
    """Take the filters off Prefect's consoles (or off ``console``), unless a run is quieted
    again."""
    with _lock:
        if _now.scopes:
            return
        for handler, check in list(_now.consoles):
            if console is None or handler is console:
                _drop(handler, check)
                _now.consoles.remove((handler, check))


def _add(where: logging.Filterer, check: Any) -> None:
    """Add filter ``check`` to ``where`` (once), as a new list: a record that is being
    filtered meanwhile goes on through the list it began with."""
    if check not in where.filters:
        where.filters = [*where.filters, check]


def _drop(where: logging.Filterer, check: Any) -> None:
    if check in where.filters:
        where.filters = [kept for kept in where.filters if kept is not check]


def _consoles() -> list[logging.Handler]:
    """Prefect's console handlers that run records reach."""
    handlers = sys.modules.get("prefect.logging.handlers")
    if handlers is None:
        return []
    found: list[logging.Handler] = []
    for name in (TASK_RUNS, FLOW_RUNS):
        logger: logging.Logger | None = logging.getLogger(name)
        while logger is not None:
            for handler in logger.handlers:
                if isinstance(handler, handlers.PrefectConsoleHandler) and handler not in found:
                    found.append(handler)
            logger = logger.parent if logger.propagate else None
    return found


def _quiet(record: logging.LogRecord) -> bool:
    """A run logger's filter: keep ``record``, without the traceback of a failed task run's
    exception or of a run's RunError, marking the records a console repeats; the end state
    of a quieted flow run ends its quieting."""
    run = getattr(record, "flow_run_id", None)
    with _lock:
        if None in _now.scopes or run in _now.scopes:
            if not logging.getLogger(record.name).isEnabledFor(logging.DEBUG):
                _mark(record, run)
            if record.name == FLOW_RUNS and run in _now.scopes and _ends(record):
                record.irgraph_last = True
                _leave(run, every=True, last=True)
    return True


def _mark(record: logging.LogRecord, run: str | None) -> None:
    """Take the traceback off a failed task run's line (the first one saying where it went)
    and off a flow run's RunError; give a flow run's timeout line its hint; mark the lines
    that repeat them, and a cancelled task run's crash."""
    error = record.exc_info[1] if record.exc_info else None
    failed = record.levelno >= logging.ERROR
    if record.name == TASK_RUNS and failed:
        task = f"task {getattr(record, 'task_run_id', '')}"
        if not _ends(record):
            _now.told.add(task)
            if record.msg == _CANCELLED:  # said by the failure or timeout that cancelled it
                record.irgraph_repeat = True
            elif error is not None:
                _untraced(record, hint=not _now.hinted)
                _now.hinted = True
        elif task in _now.told:
            record.irgraph_repeat = True
    elif record.name == FLOW_RUNS:
        if str(record.msg).startswith(_OUR_HOOK):  # it runs unseen, as if Prefect's own
            record.irgraph_repeat = True
        elif isinstance(error, RunError) or is_lost_server(error):  # the run's line says it
            if not isinstance(error, RunError):
                told_lost()
            _untraced(record, hint=False)
            record.irgraph_repeat = True
            _now.told.add(f"flow {run}")
        elif failed and str(record.msg).startswith(_FLOW_TIMEOUT):
            record.msg = f"{record.getMessage()}{FLOW_TIMEOUT_HINT}"
            record.args = None
            _now.told.add(f"flow {run}")  # its end state repeats it
        elif failed and _ends(record) and f"flow {run}" in _now.told:
            record.irgraph_repeat = True


def _ends(record: logging.LogRecord) -> bool:
    """Whether ``record`` is a run's end state (a flow run's last record)."""
    return str(record.msg).startswith(_ENDED)


def _untraced(record: logging.LogRecord, *, hint: bool) -> None:
    record.exc_info = None
    record.exc_text = None
    if hint:
        record.msg = f"{record.getMessage()}{TRACEBACK_HINT}"
        record.args = None


class _Unrepeated(logging.Filter):
    """A Prefect console's filter: leave out a record that repeats a failure said before (or
    a task run's cancellation, which the failure or timeout that cancelled it says).
    The record that ended the last quieted flow run takes it off its console once seen."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "irgraph_last", False):
            with _lock:
                for handler, check in _now.consoles:
                    if check is self:
                        _retire_consoles(handler)
                        break
        return not getattr(record, "irgraph_repeat", False)
