"""A ``SIGTERM`` to the ``irgraph`` command stops it as Ctrl-C does, keeping what is done.

``timeout 60 irgraph batch ...``, a container being stopped, or ``kill PID`` send ``SIGTERM``,
whose default is to end the process at once: a batch then printed no summary and a run's
``.partial`` was lost (the results file itself was safe, being written line by line). While
the command runs, ``SIGTERM`` raises :class:`Terminated`, a ``KeyboardInterrupt``, so every
path that handles Ctrl-C (cancelling the items in flight, closing the results file, the
"Interrupted" summary) handles it too; the exit code is then 143 (128 + 15), as a shell
reports a process ended by ``SIGTERM``.

While an asyncio run is under way in the main thread (``irgraph run``, ``irgraph demo``),
``SIGTERM`` does exactly what Ctrl-C does there: it calls the handler ``asyncio.run`` put on
``SIGINT``, which cancels the run's task (the run stops at its next ``await`` and keeps what
is done) and raises ``KeyboardInterrupt`` once it has stopped. Raised at once instead, the
interrupt could land in the middle of the event loop's own bookkeeping (a task's step, a
task group's callback), which is why ``asyncio.run`` handles Ctrl-C that way too.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import threading
from collections.abc import Iterator
from types import FrameType

__all__ = [
    "Terminated",
    "EXIT_TERMINATED",
    "terminated_as_interrupt",
    "exit_code",
    "terminated",
]

#: The exit code of a command stopped by ``SIGTERM``.
EXIT_TERMINATED = 128 + signal.SIGTERM


class Terminated(KeyboardInterrupt):
    """The command was sent ``SIGTERM``: handled as Ctrl-C, exiting with 143."""


#: Whether ``SIGTERM`` came while :func:`terminated_as_interrupt` was in force (set by its
#: handler, cleared as the block begins): the ``KeyboardInterrupt`` asyncio raises after the
#: cancel it asked for is a plain one.
_SENT = threading.Event()


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    _SENT.set()
    on_sigint = signal.getsignal(signal.SIGINT)
    if _is_asyncio_runners(on_sigint) and callable(on_sigint):
        on_sigint(signal.SIGINT, frame)  # cancels the running task, as Ctrl-C does
        return
    raise Terminated("irgraph was sent SIGTERM")


def _is_asyncio_runners(handler: object) -> bool:
    """Whether ``handler`` is the one an ``asyncio.Runner`` (``asyncio.run``) puts on
    ``SIGINT`` while it runs a task: a ``functools.partial`` of its ``_on_sigint``."""
    owner = getattr(getattr(handler, "func", None), "__self__", None)
    return isinstance(owner, asyncio.Runner)


@contextlib.contextmanager
def terminated_as_interrupt() -> Iterator[None]:
    """Raise :class:`Terminated` on ``SIGTERM`` inside the block (only from the main thread,
    and only when ``SIGTERM`` still has its default action: a program that set its own keeps
    it)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    if signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL:
        yield
        return
    _SENT.clear()
    signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)


def terminated(stop: BaseException) -> bool:
    """Whether the ``KeyboardInterrupt`` ``stop`` came of ``SIGTERM`` (not of Ctrl-C)."""
    return isinstance(stop, Terminated) or _SENT.is_set()


def exit_code(stop: BaseException) -> int:
    """The exit code of a command stopped by ``stop``: 143 for ``SIGTERM``, else 130."""
    return EXIT_TERMINATED if terminated(stop) else 130
