"""A run stopped by Ctrl-C in IPython (a notebook's kernel, say) shows the view of what it did
above the KeyboardInterrupt's traceback, as a failed run shows its own."""

from __future__ import annotations

CELL = """
import signal
from irgraph import Agent, Transform, run
from irgraph.testing import FakeProvider


def stop(findings):
    signal.raise_signal(signal.SIGINT)  # Ctrl-C, as the second step runs
    return findings


pipeline = (
    Agent("research").instruct("Research.").writes("findings")
    >> Transform("pause", stop).reads("findings").writes("notes")
    >> Agent("write").instruct("Write from {notes}.")
)
run(pipeline, provider=FakeProvider())
"""


def test_ctrl_c_of_a_run_in_ipython_shows_what_completed_then_the_traceback(shell):
    from IPython.utils.capture import capture_output

    with capture_output() as captured:
        outcome = shell.run_cell(CELL)  # type: ignore[attr-defined]
    interrupt = outcome.error_in_exec
    assert isinstance(interrupt, KeyboardInterrupt)
    assert interrupt.partial.completed == ["research"]
    (shown,) = captured.outputs  # the view, once
    assert shown.data["text/plain"].startswith("Run cancelled"), shown.data["text/plain"]
    assert "research" in shown.data["text/html"] and "<svg" in shown.data["text/html"]
    assert "KeyboardInterrupt" in captured.stdout  # the traceback follows
