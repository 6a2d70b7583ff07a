"""A one-way signal between two threads that a Ctrl-C cannot break: one thread says ``set``
once, the other waits for it, however often.

``threading.Event`` would do, but its ``wait`` and ``set`` run Python code around a lock of
their own: a KeyboardInterrupt landing in that code (two Ctrl-Cs a moment apart, as ``uv run``
or ``poetry run`` forward the terminal's to a child that got it too) could leave that lock
held, and the other thread then hung for good in ``set``, or the waiting thread itself in its
next ``wait``. Here the threads share a plain lock, taken or not in C, and a flag: an interrupt
at any line leaves both as they were, or set. Waits are short, so that a SIGINT landing as one
begins to block (after Python last looked for signals) is noticed within ``LOOK`` seconds.

>>> done = Done()
>>> done.wait(0.01), done.set(), done.wait(), done.wait()
(False, None, True, True)
"""

from __future__ import annotations

import contextlib
import threading
import time

__all__ = ["Done", "LOOK"]

#: How often (seconds) a wait looks for a Ctrl-C that did not wake it.
LOOK = 0.2


class Done:
    """Said once by one thread (``set``), waited for by another (``wait``)."""

    __slots__ = ("_lock", "ended")

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._lock.acquire()  # released by set(): a waiter's acquire then returns
        self.ended = False

    def set(self) -> None:
        """Say it; a second call (after an interrupt cut the first short) does no harm."""
        if self.ended:
            return
        with contextlib.suppress(RuntimeError):  # released already, by a cut-short call
            self._lock.release()
        self.ended = True

    def wait(self, timeout: float | None = None) -> bool:
        """Wait until it is said (at most ``timeout`` seconds); whether it was."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while not self.ended:
            left = LOOK if deadline is None else min(LOOK, deadline - time.monotonic())
            if left <= 0:
                return False
            if self._lock.acquire(timeout=left):
                return True
        return True
