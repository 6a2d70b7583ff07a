"""Whether a model call that returned was cut off by a request to stop the run.

A provider (or an async transform or ``on_gate`` handler) may catch the ``CancelledError`` that
the run's cancellation (from outside, or by a sibling's failure) throws into its call, and
return a value anyway. That value must not be taken: the run ends as if the provider had let the
cancellation through. The only trace the caught cancellation leaves is the count of cancel
requests of the task that awaited the call (``Task.cancelling()``), so the scheduler compares
it, after the call, with the count that task may carry while the run goes on: what the caller's
task carried when the run began (a request it caught and never took back), none for a task of
the run's own. A node's timeout takes its request back itself
(:mod:`irgraph.backends.timeouts`), and so does a scope's task group for the one it made
(:mod:`irgraph.backends.drivers`) once its drivers have stopped. A request not yet delivered
(Ctrl-C while a provider blocked the loop) reached no one: the answer is work done, kept, and
the cancellation lands at the task's next suspension (:func:`caught_cancel`).

A plain agent (:mod:`irgraph.backends.plain_agents`) checks no more than a flag: in a driver
task of its own, the group's ``aborting`` (only the group cancels its drivers); in the scope's
own task, that task's count, read through a method bound once per scope. Never another task's
count: a provider's own ``asyncio.timeout`` cancels its task for a moment and takes the request
back, and a sibling branch answering in that moment must not be dropped.
"""

from __future__ import annotations

import asyncio
from typing import Any

__all__ = ["cancel_asked", "cancels_allowed", "caught_cancel", "home_task"]

_current_task = asyncio.current_task


def home_task() -> tuple[asyncio.Task[Any] | None, int]:
    """The task a run begins in, and the cancel requests it carries then."""
    task = _current_task()
    return task, 0 if task is None else task.cancelling()


def cancels_allowed(run: Any, task: asyncio.Task[Any]) -> int:
    """How many cancel requests ``task`` may carry while ``run`` (a Scheduler) goes on."""
    home, carried = getattr(run, "home", (None, 0))
    return carried if task is home else 0


def cancel_asked(run: Any) -> bool:
    """Whether the current task was asked to cancel since ``run`` began in it (or, in a task
    of the run's own, at all), and the call that just returned caught it: then what it
    returned must not be taken."""
    task = _current_task()
    return task is not None and task.cancelling() > cancels_allowed(run, task) and caught_cancel()


def caught_cancel() -> bool:
    """Whether the current task's cancel request was delivered (and, as the call returned,
    caught), not still waiting for the task's next suspension: a call that blocked the loop
    while Ctrl-C asked for the cancel never saw it, and its answer is work done. asyncio has
    no public way to tell the two apart; ``Task._must_cancel`` (both of its implementations)
    holds the request still to be delivered."""
    return not getattr(_current_task(), "_must_cancel", False)
