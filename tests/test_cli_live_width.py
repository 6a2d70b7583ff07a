"""``irgraph run``'s live table on a narrow terminal: drawn as wide as the terminal it is on,
whatever ``$COLUMNS`` says, so no line wraps and no redraw leaves rows behind."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
import unicodedata
from pathlib import Path

import pytest

from tests.support.terminal import read_terminal

ROOT = Path(__file__).resolve().parents[1]

PIPELINE = """
from irgraph import Agent
from irgraph.testing import FakeProvider

p = Agent("a_research_agent_with_a_name_longer_than_the_terminal").instruct("Go {topic}.")
p = p.writes("notes") >> Agent("writer").instruct("Write {notes}.")


def slow():
    return FakeProvider(latency=0.1)
"""


def rows_drawn(screen: str) -> list[str]:
    """The rows a terminal was sent: split at line breaks, carriage returns and escape codes
    (cursor moves, clears, colours)."""
    return re.split(r"\x1b\[[0-9;?]*[A-Za-z]|\r|\n", screen)


def columns(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


@pytest.mark.skipif(sys.platform == "win32", reason="a pseudo-terminal")
def test_the_live_table_is_as_wide_as_its_terminal_whatever_columns_says(tmp_path):
    """rich read ``$COLUMNS`` (a stale 200, exported from a wider window) before the terminal:
    its table, 74 columns wide on a terminal of 30, wrapped at every redraw."""
    pytest.importorskip("rich")
    import fcntl
    import pty
    import struct
    import termios

    (tmp_path / "narrow_pipes.py").write_text(textwrap.dedent(PIPELINE))
    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 30, 0, 0))
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(tmp_path), str(ROOT)]),
        "COLUMNS": "200",
    }
    command = [sys.executable, "-m", "irgraph.cli", "run", "narrow_pipes:p"]
    proc = subprocess.Popen(
        [*command, "--state", "topic=owls", "--provider", "narrow_pipes:slow"],
        cwd=tmp_path,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=follower,
    )
    os.close(follower)
    screen = read_terminal(leader).decode()
    proc.communicate(timeout=60)
    assert proc.returncode == 0, screen
    assert "irgraph run" in screen and "writer" in screen
    widest = max(rows_drawn(screen), key=columns)
    assert columns(widest) <= 30, widest
