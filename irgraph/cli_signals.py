"""A ``SIGTERM`` to the ``irgraph`` command stops it as Ctrl-C does, keeping what is done.

``timeout 60 irgraph batch ...``, a container being stopped, or ``kill PID`` send ``SIGTERM``,
whose default is to end the process at once: a batch then printed no summary and a run's
``.partial`` was lost (the results file itself was safe, being written line by line). While
the command runs, ``SIGTERM`` raises :class:`Terminated`, a ``KeyboardInterrupt``, so every
path that handles Ctrl-C (cancelling the items in flight, closing the results file, the
"Interrupted" summary) handles it too; the exit code is then 143 (128 + 15), as a shell
reports a process ended by ``SIGTERM``.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from types import FrameType

__all__ = ["Terminated", "EXIT_TERMINATED", "terminated_as_interrupt", "exit_code"]

#: The exit code of a command stopped by ``SIGTERM``.
EXIT_TERMINATED = 128 + signal.SIGTERM


class Terminated(KeyboardInterrupt):
    """The command was sent ``SIGTERM``: handled as Ctrl-C, exiting with 143."""


def _raise(signum: int, frame: FrameType | None) -> None:
    raise Terminated("irgraph was sent SIGTERM")


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
    signal.signal(signal.SIGTERM, _raise)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)


def exit_code(stop: BaseException) -> int:
    """The exit code of a command stopped by ``stop``: 143 for ``SIGTERM``, else 130."""
    return EXIT_TERMINATED if isinstance(stop, Terminated) else 130
