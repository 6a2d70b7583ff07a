"""A live line on a terminal is redrawn in place only while it fits on one row of the
terminal: a longer one wrapped, and each redraw left the rows above behind."""

from __future__ import annotations

import io
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
