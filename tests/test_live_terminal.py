"""A live line on a terminal is redrawn in place only while it fits on one row of the
terminal: a longer one wrapped, and each redraw left the rows above behind."""

from __future__ import annotations

import io
import sys
import unicodedata

import pytest

from irgraph.live import LiveOutput

CLEAR = "\r\x1b[K"


class Terminal(io.StringIO):
    """What a terminal was sent (a stream that says it is a terminal, with no file behind it:
    its width comes from $COLUMNS)."""

    def isatty(self) -> bool:
        return True


def columns(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def test_a_line_wider_than_the_terminal_is_cut_to_one_row(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("COLUMNS", "40")
    terminal = Terminal()
    lines = iter(["running: each_日本語, " + "x" * 80, "running: 🦉 two\nrows " + "y" * 60])
    live = LiveOutput(lambda: next(lines, "idle"), stream=terminal, jupyter=False, every=3600)
    live.start()  # draws the first line
    live.refresh(force=True)  # and the second
    live.close("done")
    drawn = terminal.getvalue().split(CLEAR)[1:]
    assert drawn[0].startswith("running: each_日本語, xx") and drawn[0].endswith("\u2026")
    assert drawn[1].startswith("running: 🦉 two rows yy")
    assert all(columns(line) < 40 for line in drawn[:2]), drawn
    assert drawn[-1] == "done\n"


def test_a_line_that_fits_is_drawn_whole(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("COLUMNS", "40")
    terminal = Terminal()
    live = LiveOutput(lambda: "2/4 nodes done", stream=terminal, jupyter=False, every=3600)
    live.start()
    live.close("done")
    assert terminal.getvalue() == f"{CLEAR}2/4 nodes done{CLEAR}done\n"


@pytest.mark.skipif(sys.platform == "win32", reason="a pseudo-terminal")
def test_irgraph_batch_progress_line_is_cut_to_a_narrow_terminal():
    """``irgraph batch``'s line (``42/100: 30 done, 2 failed, 8 in flight, ...``, some 75
    columns) was drawn whole: on a terminal narrower than that it wrapped, and each redraw
    left a copy of its first row behind. Drawn to a pseudo-terminal 40 columns wide."""
    import fcntl
    import os
    import pty
    import select
    import struct
    import termios

    from irgraph.cli_progress import Meter

    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 40, 0, 0))
    with os.fdopen(follower, "w", encoding="utf-8") as terminal:
        meter = Meter(1000, terminal)
        meter.done, meter.failed, meter.started, meter.finished = 300, 2, 310, 302
        meter.draw()
        meter.draw()
        drawn = ""
        whole = "\u2026"  # the second line came whole (the unfixed one times out instead)
        while not (drawn.count(CLEAR) == 2 and drawn.endswith(whole)):
            if not select.select([leader], [], [], 5)[0]:
                break
            drawn += os.read(leader, 4096).decode()
    os.close(leader)
    lines = drawn.split(CLEAR)[1:]
    assert len(lines) == 2 and "\n" not in drawn
    for line in lines:  # its rate moves on between the two
        assert line.startswith("302/1000: 300 done, 2 failed") and line.endswith("\u2026")
        assert columns(line) < 40
    wide = os.environ.get("COLUMNS")
    assert wide is None or int(wide) != 40  # the width came from the terminal itself
