"""Reading what a child process drew on a pseudo-terminal."""

from __future__ import annotations

import os


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
