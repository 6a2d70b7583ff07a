"""How a generated flow's run ends when it does not finish, other than by a node's failure.

A node's failure is a RunError (:mod:`.prefect_failures`). A run can also be stopped: by its
flow's ``timeout_seconds`` (Prefect cancels the flow's body, then raises its own
``FlowRunTimeoutError``, a ``TimeoutError``) or by a Ctrl-C. Or its Prefect server fails it:
one ``PREFECT_API_URL`` names that does not answer as the run begins, Prefect's temporary
server too slow to start, a server that stops answering mid-run.

A Python caller of a stopped run gets the record of what it got done as the exception's
``partial`` (a RunError never raised: ``state``, ``completed``, ``trace``, ``calls``,
``view()``), as an in-process run's stop carries it. The flow's body leaves that record on the
CancelledError that stopped it (:func:`~.prefect_failures.run_record`); Prefect raises a new
FlowRunTimeoutError in its place, holding it in its chain, so the generated flow's failure hook
:func:`partial_on_stop` gives that error the partial itself (:func:`partial_of` finds it), as
it gives one to a cancellation that came before the body began (its crash hook too).

``python flow.py run`` ends each in one line and an exit code, where it ended in a traceback
(:func:`run_ends`, inside :func:`~.prefect_flow_command.failure_told`): a timeout 1 and a
Ctrl-C 130, each naming what completed; a server that does not answer as the run begins 2,
as deploying to it is refused; a temporary server too slow, or a server lost mid-run, 1
(:func:`~.prefect_server.server_start_errors` makes those a PrefectUnavailableError).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
from collections.abc import Iterator
from typing import Any

from irgraph.errors import RunError

from .prefect_flow_cli import api_path_hint
from .prefect_server import (
    PrefectUnavailableError,
    server_start_errors,
    settle_services_at_exit,
)

__all__ = [
    "partial_of",
    "partial_on_stop",
    "partial_on_timeout",
    "timed_out",
    "flow_timeout",
    "run_ends",
]

#: How Prefect's client says the API did not answer as a flow run began.
_UNREACHABLE = "Failed to reach API at "

#: What each stop's line ends with: the command again, its finished agents cached.
_AGAIN = (
    "run the command again (with the same --run-key, the agents that finished are taken "
    "from the cache)."
)


def partial_of(error: BaseException) -> RunError | None:
    """The record of the run that ``error`` stopped: its own ``partial``, or that of an
    exception in its chain (its ``__cause__`` and ``__context__``, and theirs); ``None``
    when none holds one."""
    seen: set[int] = set()
    waiting: list[BaseException | None] = [error]
    while waiting:
        found = waiting.pop(0)
        if found is None or id(found) in seen:
            continue
        seen.add(id(found))
        partial = getattr(found, "partial", None)
        if isinstance(partial, RunError):
            return partial
        waiting += [found.__cause__, found.__context__]
    return None


def partial_on_stop(flow: Any, flow_run: Any, state: Any) -> None:
    """A generated flow's ``on_failure`` and ``on_crashed`` hook: a flow run stopped by its
    ``timeout_seconds`` ends in the ``FlowRunTimeoutError`` its failed ``state`` holds, one
    cancelled (or interrupted) in the ``CancelledError`` its crashed ``state`` holds, which its
    caller gets; give it the record of the run (:func:`partial_of`) as ``partial`` (a
    timeout's saying the run timed out), so the caller that catches it has what the run got
    done. Stopped before its body began, the run has no record: the partial then holds the
    state it was given and nothing completed. Other failures carry their own record (a
    RunError) and are left as they are."""
    error = getattr(state, "data", None)
    if not isinstance(error, BaseException) or getattr(error, "partial", None) is not None:
        return
    partial = None
    if isinstance(error, TimeoutError):
        seconds = getattr(flow, "timeout_seconds", None)
        partial = timed_out(partial_of(error) or _nothing_done(flow, flow_run), seconds)
    elif isinstance(error, (asyncio.CancelledError, KeyboardInterrupt)):
        partial = partial_of(error) or _nothing_done(flow, flow_run)
    if partial is not None:
        setattr(error, "partial", partial)  # noqa: B010 (an attribute no exception type has)


#: The hook's name in the modules an older irgraph generated (``on_failure`` only).
partial_on_timeout = partial_on_stop


def _nothing_done(flow: Any, flow_run: Any) -> RunError:
    """The record of a generated flow's run stopped before its body began: the state it was
    given, nothing completed, and the module's pipeline graph when it can be read."""
    from irgraph.run_cancel import nothing_ran

    from .prefect_failures import pipeline_graph

    names = getattr(getattr(flow, "fn", None), "__globals__", {})
    given = (getattr(flow_run, "parameters", None) or {}).get("state")
    graph = None
    try:
        graph = pipeline_graph(names["PIPELINE_JSON"], tuple(names.get("PIPELINE_INPUTS", ())))
    except Exception:  # an older module, or one whose pipeline cannot be read: no picture
        pass
    return nothing_ran(dict(given) if isinstance(given, dict) else {}, graph)


def timed_out(partial: RunError, seconds: float | None) -> RunError:
    """``partial`` (a stopped run's record) saying that the run timed out, after ``seconds``
    (its flow's ``timeout_seconds``), rather than that it was cancelled.

    >>> from irgraph.run_cancel import nothing_ran
    >>> str(timed_out(nothing_ran({}), 3.0)).split(",")[0]
    "The run timed out after 3 s (its flow's timeout_seconds) before its first step"
    """
    after = "" if seconds is None else f" after {seconds:g} s"
    count = len(set(partial.completed))
    if count:
        done = f"with {count} node{'' if count == 1 else 's'} completed; .completed names them"
        rest = (
            ", .state holds what the run wrote to its state (a map-over's items reach it only "
            "when the map-over ends) and .calls every model call made, answered or cut off."
        )
    else:
        done = "before its first step, so nothing ran"
        rest = ": .completed, .trace and .calls are empty and .state is the state it was given."
    partial.args = (f"The run timed out{after} (its flow's timeout_seconds) {done}{rest}",)
    return partial


def _completed(stop: BaseException) -> str | None:
    """The nodes that completed before ``stop`` (``nothing``), each once, from the run's
    record; ``None`` when it holds none."""
    from irgraph.cli_live import shown

    partial = partial_of(stop)
    if partial is None:
        return None
    return ", ".join(dict.fromkeys(map(shown, partial.completed))) or "nothing"


def flow_timeout(error: TimeoutError) -> str:
    """The line a flow run stopped by its ``timeout_seconds`` ends with (what completed
    before it, when the run's record is known), where Prefect's ``FlowRunTimeoutError``
    ended the command in a traceback.

    >>> flow_timeout(TimeoutError("Scope timed out after 3.0 second(s).")).split(": ")[:2]
    ['FlowRunTimeoutError', 'The flow run was stopped by its timeout_seconds']
    """
    return (
        f"FlowRunTimeoutError: The flow run was stopped by its timeout_seconds: {error}"
        f"{_before(_completed(error))} Allow it more time (timeout_seconds in this module's "
        "@flow(...)), or find the agent that held it up in the log above; then " + _AGAIN
    )


def _before(done: str | None) -> str:
    return "" if done is None else f" Completed before it: {done}."


def _api_url() -> str:
    from prefect.settings import PREFECT_API_URL

    return str(PREFECT_API_URL.value() or "")


@contextlib.contextmanager
def run_ends(parser: argparse.ArgumentParser) -> Iterator[None]:
    """A ``python flow.py run`` stopped in the block (a timeout, a Ctrl-C) or failed by its
    Prefect server ends the process in one line on standard error and an exit code."""
    prog = parser.prog
    try:
        with server_start_errors():  # Prefect's bare errors, as one that says what to do
            yield
    except KeyboardInterrupt as stop:
        done = _completed(stop) or "nothing"  # no record: stopped before the flow's body
        # The stopped run's last events are sent before Prefect's exit, quietly: else its
        # events worker warned of the items left after this line (a loaded machine).
        settle_services_at_exit()
        parser.exit(130, f"{prog}: Interrupted; completed: {done}. To go on, {_AGAIN}\n")
    except TimeoutError as error:
        if type(error).__name__ != "FlowRunTimeoutError":  # Prefect's, for timeout_seconds
            raise
        settle_services_at_exit()  # as for a Ctrl-C
        parser.exit(1, f"{prog}: {flow_timeout(error)}\n")
    except PrefectUnavailableError as error:
        parser.exit(1, f"{prog}: PrefectUnavailableError: {error}\n")
    except RuntimeError as error:
        if not str(error).startswith(_UNREACHABLE):
            raise
        url = _api_url()
        cause = error.__cause__ or error
        parser.error(
            f"cannot reach the Prefect API at {url} (from PREFECT_API_URL): "
            f"{str(cause).rstrip('.') or type(cause).__name__}{api_path_hint(url)}; nothing "
            "ran. Start the server (prefect server start), fix the URL, or unset "
            "PREFECT_API_URL to let Prefect run a temporary local server"
        )
