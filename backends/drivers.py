"""The task group of one scope's driver tasks: ``asyncio.TaskGroup``'s rules, lighter.

A scope (see :mod:`irgraph.backends.scheduler`) starts a driver task for every node that becomes
ready beside another one, so a 10 000-wide fan-out starts 10 000 of them. ``TaskGroup`` learns
that a task ended from a done callback, which the loop runs as one more step per task; here the
driver says so itself as it returns (:meth:`Drivers.finished`, :meth:`Drivers.failed`), which
saves that step and about a fifth of what a task costs. A map-over's items run in one too
(:meth:`Drivers.gather`).

The rules are ``TaskGroup``'s: the first failure cancels every other driver and the scope's own
task (the one that runs the first ready node inline), and :meth:`Drivers.close` waits for them
all before it raises; a driver that was cancelled is no failure; ``KeyboardInterrupt`` and
``SystemExit`` propagate as they are; a cancellation of the scope's task from outside cancels
the drivers and propagates once they have stopped. Where they differ: ``close`` raises the one
error :func:`~irgraph.backends.failures.first_error` picks, not a group of them, and the scope's
task is not cancelled again when a driver fails while ``close`` already waits (there is nothing
to interrupt then; 3.11's ``TaskGroup`` does cancel it, and never takes the request back).

On Python 3.12 and later, drivers are started eagerly (``Task(..., eager_start=True)``, the
standard library's own mechanism) when the run has no ``max_concurrency`` and the loop has no
task factory of its own: a driver runs at once, up to its first suspension, in a task of its
own, and one that finishes without suspending (a cached or fake model's answer) never goes
through the loop at all. Eager starts nest (a driver's eager start may start others); past
:data:`EAGER_DEPTH` nested starts a driver is scheduled as usual, so a long ladder of fan-outs
cannot exhaust the stack.

Nodes that become ready together start in the order of the plan either way: when drivers wait
for their turn, the first ready node runs inline in the current driver and goes first; when
they start eagerly, the others start first, in order, and the last one runs inline
(:attr:`Drivers.eager`). What eager starts do change is the order across levels: a driver
started eagerly runs its nested scope's nodes (a loop's body, a map-over's items) before its
later siblings start, where scheduled drivers would start those siblings first. Under
``max_concurrency`` that order decides who gets a slot first, and ``irgraph.analysis``
predicts slots and makespans with the scheduled order, so such runs are never eager.
"""

from __future__ import annotations

import asyncio
import functools
import sys
from collections.abc import Callable, Coroutine, Iterable
from typing import Any

from .failures import first_error

__all__ = ["Drivers", "EAGER", "EAGER_DEPTH"]

#: Whether drivers start eagerly: ``Task(..., eager_start=True)`` exists from Python 3.12.
EAGER = sys.version_info >= (3, 12)
#: How many eager starts may nest before a driver is scheduled instead.
EAGER_DEPTH = 24

_current_task = asyncio.current_task
_Task = asyncio.Task


def _retrieved(task: asyncio.Task[Any]) -> None:
    """Mark the exception of ``task`` (a request to stop, raised on) as retrieved."""
    if not task.cancelled():
        task.exception()


class Drivers:
    """The driver tasks of one run of a scope; made inside the scope's own task."""

    __slots__ = (
        "aborting",
        "base_error",
        "closing",
        "direct",
        "eager",
        "errors",
        "loop",
        "nesting",
        "parent",
        "parent_cancel_requested",
        "tasks",
        "waiter",
    )

    def __init__(self, nesting: list[int], eager: bool = True) -> None:
        self.loop = asyncio.get_running_loop()
        parent = _current_task()
        if parent is None:  # pragma: no cover - a scope always runs in a task
            raise RuntimeError("A scope's drivers need the task that runs the scope.")
        self.parent: asyncio.Task[Any] = parent
        #: The running driver tasks by key, in the order they started (cancelled in order).
        self.tasks: dict[int, asyncio.Task[None]] = {}
        self.errors: list[BaseException] = []
        self.base_error: BaseException | None = None
        #: Set once the first failure (or a cancellation from outside) cancelled the drivers.
        self.aborting = False
        self.closing = False
        self.parent_cancel_requested = False
        self.waiter: asyncio.Future[None] | None = None
        #: Eager starts in progress, shared by every group of a run (a one-item list).
        self.nesting = nesting
        #: Whether a driver's task is made by ``asyncio.Task`` itself, not through the loop's
        #: ``create_task`` (a Python method, about a tenth of a task's cost on 3.11): only when
        #: the loop has no task factory that ``create_task`` would have to call.
        self.direct = self.loop.get_task_factory() is None
        #: Whether drivers start eagerly (so the last of the nodes ready together runs inline):
        #: ``eager`` asks for it, Python 3.12 and a loop with no task factory of its own allow it.
        self.eager = eager and EAGER and self.direct

    def start(self, driver: Coroutine[Any, Any, None], key: int) -> None:
        """Run ``driver`` as a task of this group (nothing, once the group is aborting).
        ``key`` names it among the group's drivers, which it gives :meth:`finished` and
        :meth:`failed` (a driver that looked its task up would pay ``asyncio.current_task``,
        a Python function on 3.11, once per driver)."""
        if self.aborting:
            driver.close()
            return
        nesting = self.nesting
        if self.eager and nesting[0] < EAGER_DEPTH:
            nesting[0] += 1
            try:
                task = asyncio.Task(driver, loop=self.loop, eager_start=True)  # type: ignore[call-arg]
            finally:
                nesting[0] -= 1
            if task.done():  # it finished in its eager start (and said so)
                return
        elif self.direct:
            task = _Task(driver, loop=self.loop)
        else:
            task = self.loop.create_task(driver)
        self.tasks[key] = task

    def starter(self) -> Callable[[Coroutine[Any, Any, None], int], None]:
        """The function that starts this group's drivers: :meth:`start`, or for a group whose
        drivers are neither eager nor made through the loop's task factory (Python 3.11, say),
        :meth:`start_scheduled`, which skips the checks for those cases."""
        return self.start if self.eager or not self.direct else self.start_scheduled

    def start_scheduled(self, driver: Coroutine[Any, Any, None], key: int) -> None:
        """:meth:`start` with no eager start and no task factory: a fan-out starts a driver
        per branch, and the checks for those cases were a tenth of what starting one costs."""
        if self.aborting:
            driver.close()
            return
        self.tasks[key] = _Task(driver, loop=self.loop)

    def wake(self) -> None:
        """Wake :meth:`close`, if it waits, once no driver is left: what :meth:`finished`
        does after taking a driver out of :attr:`tasks`, for a caller that took it out
        itself."""
        waiter = self.waiter
        if waiter is not None and not self.tasks and not waiter.done():
            waiter.set_result(None)

    async def gather(self, works: Iterable[Coroutine[Any, Any, Any]]) -> None:
        """Run each of ``works`` (made one by one, as they start) as a driver of this group,
        then :meth:`close` it: what a ``TaskGroup`` block of ``create_task`` calls does."""
        failure: BaseException | None = None
        started: list[Coroutine[Any, Any, Any]] = []
        try:
            for key, work in enumerate(works):
                started.append(work)
                if self.aborting:  # an eager start failed: start nothing more
                    break
                self.start(self.own(work, key), key)
        except BaseException as error:  # raised on by an eager start (KeyboardInterrupt)
            failure = error
        try:
            await self.close(failure)
        finally:
            for work in started:  # one whose driver was cancelled before it ran never started
                work.close()

    async def own(self, work: Coroutine[Any, Any, Any], key: int) -> None:
        """``work`` as a driver: it says when it ends, and how."""
        try:
            await work
        except BaseException as error:
            if self.failed(error, key):
                raise
        finally:
            self.finished(key)

    def finished(self, key: int) -> None:
        """Driver ``key`` says it ends (whether it failed or not): the last one wakes ``close``.
        Said twice (by the driver and by its done callback, once the group aborts), it counts
        once."""
        self.tasks.pop(key, None)
        self.wake()

    def failed(self, error: BaseException, key: int) -> bool:
        """Driver ``key`` failed with ``error``: cancel the others and the scope's task. True
        when the driver must raise it on (``KeyboardInterrupt``, ``SystemExit``)."""
        if isinstance(error, asyncio.CancelledError):
            return False  # cancelled by this group (or its task's caller): not a failure
        self.errors.append(error)
        base = self.stop_request(error)
        if base:  # it leaves its task unwinding the loop: seen, so never "never retrieved"
            _current_task().add_done_callback(_retrieved)  # type: ignore[union-attr]
        if not self.aborting:
            self.tasks.pop(key, None)  # it is ending
            self.abort()
            if not self.closing and not self.parent.done():
                self.parent_cancel_requested = True
                self.parent.cancel()
        return base

    def abort(self) -> None:
        """Cancel every driver. A task cancelled before its first step never runs its driver,
        so never says it ends: from here on, each task's end is also learnt from its done
        callback."""
        self.aborting = True
        for key, task in self.tasks.items():
            if not task.done():
                task.cancel()
                task.add_done_callback(functools.partial(self.ended, key))

    def stop_request(self, error: BaseException) -> bool:
        """Whether ``error`` asks the program to stop (``KeyboardInterrupt``, ``SystemExit``);
        the first such is what :meth:`close` raises."""
        stop = isinstance(error, (KeyboardInterrupt, SystemExit))
        if stop and self.base_error is None:
            self.base_error = error
        return stop

    def ended(self, key: int, task: asyncio.Task[None]) -> None:
        """``task``, started as ``key``, ended (its done callback, once the group aborts)."""
        self.finished(key)

    async def close(self, error: BaseException | None) -> None:
        """Wait for every driver; then raise what the scope must: a stop request, else a
        driver's or the inline driver's failure (``error``), else a cancellation from outside."""
        self.closing = True
        cancelled = error if isinstance(error, asyncio.CancelledError) else None
        if error is not None:
            self.stop_request(error)
            if not self.aborting:
                self.abort()
        while self.tasks:
            self.waiter = self.loop.create_future()
            try:
                await self.waiter
            except asyncio.CancelledError as exc:
                if not self.aborting:  # the scope's task is cancelled from outside
                    cancelled = exc
                    self.abort()
            self.waiter = None
        if self.parent_cancel_requested:
            # A cancel this group asked for may not have reached the task yet (a driver that
            # failed during an eager start, while the task itself was running): take it here,
            # not at some later await of the caller's.
            try:
                await asyncio.sleep(0)
            except asyncio.CancelledError:
                pass
            if self.parent.uncancel() == 0:
                cancelled = None  # the only cancellation was this group's own
        if self.base_error is not None:
            raise self.base_error
        errors = self.errors
        if error is not None and not isinstance(error, asyncio.CancelledError):
            errors.append(error)
        if errors:
            chosen = first_error(BaseExceptionGroup("drivers", errors))
            self.errors = []
            raise chosen from chosen.__cause__
        if cancelled is not None:
            raise cancelled
