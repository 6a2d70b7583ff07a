"""Terminals for the progress displays' tests: reading what a child process drew on a
pseudo-terminal, and a text buffer that says it is a tty with the frames a one-line display
redrew on it."""

from __future__ import annotations

import io
import os

__all__ = ["Terminal", "line_frames", "read_terminal"]


def read_terminal(leader: int) -> bytes:
    """Everything written to the pseudo-terminal whose leader end is ``leader``, until the
    child closes it; ``leader`` is closed afterwards."""
    shown = b""
    while True:
        try:
            chunk = os.read(leader, 4096)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        shown += chunk
    os.close(leader)
    return shown


class Terminal(io.StringIO):
    """A buffer the displays take for a terminal (they redraw one line on a terminal)."""

    def isatty(self) -> bool:
        return True


def line_frames(text: str) -> list[str]:
    """The frames a one-line display drew: each starts by going back and clearing the line."""
    return [frame for frame in text.split("\r\x1b[K") if frame]
