"""Run a synchronous call of user code off the event loop, so it can block without stopping
the run: parallel branches go on, and the node's timeout fires while it blocks.

The calls run on a small pool of worker threads shared by every run in the process (at most
``min(32, cpus + 4)`` busy at once, like asyncio's default executor); an idle worker takes the
next call, so a call costs two thread wake-ups, not a new thread.

A thread cannot be stopped. When the awaiting side gives up on a call (its node timed out, or
the run was cancelled), the call goes on in the background and its result is dropped; its
worker no longer counts against the pool, so calls that never return cannot starve the runs
that follow. A run started inside the call (``irgraph.run`` from a plain transform) learns
that it was given up (:func:`on_give_up`) and is cancelled, so it asks no more of its model.
Workers are daemon threads: the process exits without waiting for them, and
asyncio's own executor is not used, since ``asyncio.run`` waits for it on the way out.
"""

from __future__ import annotations

import asyncio
import contextvars
import os
import threading
from collections import deque
from collections.abc import Callable
from typing import Any

__all__ = ["call_blocking", "on_give_up"]

_PENDING, _RUNNING, _DONE, _ABANDONED = range(4)
#: In a worker thread, the call it runs (set in the call's own copy of the caller's context).
_current: contextvars.ContextVar[_Call | None]
_current = contextvars.ContextVar("irgraph_blocking_call", default=None)
#: Guards each call's ``stops``.
_stops_lock = threading.Lock()


class _Call:
    """One call waiting for, or running on, a worker (``state`` is guarded by the pool's lock)."""

    __slots__ = ("args", "context", "fn", "future", "kwargs", "loop", "state", "stops")

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        fn: Callable[..., Any],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
    ) -> None:
        self.loop = loop
        self.future: asyncio.Future[Any] = loop.create_future()
        self.context = contextvars.copy_context()
        self.fn = fn
        self.args = args
        self.kwargs = kwargs
        self.state = _PENDING
        #: What to call once the awaiting side gives the call up (:func:`on_give_up`).
        self.stops: list[Callable[[], None]] = []

    def run(self) -> None:
        """Call the function in this thread and hand the outcome to the loop."""
        try:
            self.context.run(_current.set, self)
            value = self.context.run(self.fn, *self.args, **self.kwargs)
        except BaseException as exc:  # delivered to the awaiting task, KeyboardInterrupt too
            outcome: tuple[bool, Any] = (False, exc)
        else:
            outcome = (True, value)
        try:
            self.loop.call_soon_threadsafe(_settle, self.future, *outcome)
        except RuntimeError:  # the loop has closed: nobody waits for this call any more
            pass


def _settle(future: asyncio.Future[Any], ok: bool, value: Any) -> None:
    if not future.done():
        if ok:
            future.set_result(value)
        else:
            future.set_exception(value)


class _Workers:
    """Daemon threads taking calls from one queue; ``size`` of them at most, not counting the
    workers whose calls were abandoned."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.ready = threading.Condition()
        self.calls: deque[_Call] = deque()
        self.threads = 0
        self.idle = 0

    def submit(self, call: _Call) -> None:
        with self.ready:
            self.calls.append(call)
            self._staff()

    def _staff(self) -> None:
        """Wake an idle worker for the newest call, or start one if every worker is busy."""
        if len(self.calls) <= self.idle:
            self.ready.notify()
        elif self.threads < self.size:
            self.threads += 1
            name = f"irgraph-blocking-{self.threads}"
            threading.Thread(target=self._work, name=name, daemon=True).start()

    def abandon(self, call: _Call) -> None:
        """The awaiting side gave up on ``call``: drop it if it has not started, else let its
        worker finish it alone and take on another worker in its place."""
        with self.ready:
            if call.state == _PENDING:
                self.calls.remove(call)
                call.state = _ABANDONED
            elif call.state == _RUNNING:
                call.state = _ABANDONED
                self.threads -= 1
                if self.calls:
                    self._staff()
        with _stops_lock:
            stops, call.stops = call.stops, []
        for stop in stops:
            stop()

    def _work(self) -> None:
        while True:
            with self.ready:
                self.idle += 1
                while not self.calls:
                    self.ready.wait()
                self.idle -= 1
                call = self.calls.popleft()
                call.state = _RUNNING
            call.run()
            with self.ready:
                if call.state == _ABANDONED:
                    return  # another worker has taken this one's place
                call.state = _DONE


def _pool() -> _Workers:
    return _Workers(min(32, (os.cpu_count() or 1) + 4))


_workers = _pool()


def _forked() -> None:
    global _workers
    _workers = _pool()  # the child has none of the parent's threads


os.register_at_fork(after_in_child=_forked)


async def call_blocking(fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
    """``fn(*args, **kwargs)`` on a worker thread, in a copy of the caller's context.

    >>> import asyncio, threading
    >>> asyncio.run(call_blocking(threading.current_thread)).name.startswith("irgraph-blocking")
    True
    """
    call = _Call(asyncio.get_running_loop(), fn, args, kwargs)
    _workers.submit(call)
    try:
        return await call.future
    except asyncio.CancelledError:
        _workers.abandon(call)
        raise


def on_give_up(stop: Callable[[], None]) -> Callable[[], None]:
    """In a worker thread's call, have ``stop`` called (on the awaiting side's thread) once
    that side gives the call up, at once if it has; elsewhere, nothing. Returns what takes
    ``stop`` back."""
    call = _current.get()
    if call is None:
        return _nothing
    with _stops_lock:
        if call.state != _ABANDONED:
            call.stops.append(stop)
            return lambda: _forget(call, stop)
    stop()
    return _nothing


def _forget(call: _Call, stop: Callable[[], None]) -> None:
    with _stops_lock:
        if stop in call.stops:
            call.stops.remove(stop)


def _nothing() -> None:
    pass
