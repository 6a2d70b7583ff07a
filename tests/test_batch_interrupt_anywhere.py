"""A Ctrl-C landing at any line while a blocking batch waits for its loop thread
(``batch_blocking._on_loop``, every step of ``run_many``), or ``run()`` in a notebook for its
helper thread (``run.run_coroutine``), never leaves either hung.

Both waited on ``threading.Event``s, whose ``wait`` and ``set`` run Python code of their own:
an interrupt landing there could leave the Event's lock held, so the other thread hung for
good setting it, and ``irgraph batch`` with it (found by two Ctrl-Cs microseconds apart, as
``uv run`` or ``poetry run`` forward the terminal's to a child that got it too). They now wait
on ``irgraph.thread_done.Done``: a plain lock, taken or not in C, and a flag. Here a trace
function raises ``KeyboardInterrupt`` at each line event of the wait in turn, as a signal's
handler raises it at whatever line runs (Python turns a trace function off once it raises,
so each try has one)."""

from __future__ import annotations

import asyncio
import gc
import sys
import threading
import warnings
from typing import Any

import pytest

from irgraph.batch_blocking import _on_loop
from irgraph.run import run_coroutine

#: The code a wait runs: irgraph's, the loop's (to hand a step over) and threading's Events
#: (what irgraph waited on); not a weakref callback the garbage collector runs meanwhile,
#: where an exception is unraisable, nor threading's start of a thread (an interrupt there
#: can wedge every later start, in a with-block of threading's, which no code of ours mends).
WAITS_IN = (
    *("batch_blocking.py", "run.py", "thread_done.py"),
    *("base_events.py", "selector_events.py", "contextlib.py"),
)
EVENTS = ("Event.", "Condition.")


def waits(code: Any) -> bool:
    """Whether ``code`` is of a wait."""
    if code.co_filename == threading.__file__:
        return str(code.co_qualname).startswith(EVENTS)
    return str(code.co_filename).endswith(WAITS_IN)


def in_a_wait(frame: Any) -> bool:
    """Whether ``frame`` is ``_on_loop``'s or ``run_coroutine``'s, or of code they called to
    wait."""
    while frame is not None and waits(frame.f_code):
        if frame.f_code.co_name in ("_on_loop", "run_coroutine"):
            return True
        frame = frame.f_back
    return False


class InterruptAt:
    """A trace function raising KeyboardInterrupt at line event ``at`` of a wait, counting
    them."""

    def __init__(self, at: int) -> None:
        self.at, self.lines = at, 0

    def __call__(self, frame: Any, event: str, arg: Any) -> Any:
        if event == "line" and in_a_wait(frame):
            self.lines += 1
            if self.lines == self.at:
                raise KeyboardInterrupt
        return self


async def step() -> int:
    await asyncio.sleep(0.005)
    return 1


def came_through(wait: Any, at: int) -> tuple[bool, int]:
    """Whether ``wait()`` returned or raised KeyboardInterrupt, in a thread of its own, with
    an interrupt at line event ``at`` of the wait (0: none); how many lines ran."""
    interrupt = InterruptAt(at)

    def waiter() -> None:
        sys.settrace(interrupt)
        try:
            wait()
        except KeyboardInterrupt:
            pass
        finally:
            sys.settrace(None)

    caller = threading.Thread(target=waiter, daemon=True)  # a hung one does not hang pytest
    caller.start()
    caller.join(10)
    return not caller.is_alive(), interrupt.lines


def one_try(at: int) -> tuple[bool, int]:
    """Whether ``_on_loop``, and the loop thread it hands a step to, came through an
    interrupt at line event ``at`` (0: none), and how many lines ran."""
    loop = asyncio.new_event_loop()
    runner = threading.Thread(target=loop.run_forever, daemon=True)
    runner.start()
    through, lines = came_through(lambda: _on_loop(loop, step()), at)
    if through:  # and the loop thread is not stuck either
        try:
            asyncio.run_coroutine_threadsafe(asyncio.sleep(0.05), loop).result(10)
        except TimeoutError:
            through = False
    if through:
        loop.call_soon_threadsafe(loop.stop)
        runner.join(10)
        loop.close()
    return through, lines


def one_run(at: int) -> tuple[bool, int]:
    """Whether ``run_coroutine`` called with a loop running (a notebook's), which runs the
    step on a helper thread, came through an interrupt at line event ``at`` of its wait."""

    async def notebook_cell() -> None:
        run_coroutine(step())

    return came_through(lambda: asyncio.run(notebook_cell()), at)


# An interrupt before a wait has handed its step over leaves it never awaited, as any
# coroutine a Ctrl-C kept from being awaited. (One between run_coroutine making its helper
# loop and starting the thread that runs it left that loop unclosed: found by this test, a
# ResourceWarning the suite's filters make an error.)
@pytest.mark.filterwarnings("ignore:coroutine 'step' was never awaited")
@pytest.mark.parametrize("wait", [one_try, one_run], ids=["batch", "notebook run"])
def test_an_interrupt_at_any_line_of_a_wait_leaves_nothing_hung(wait: Any) -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ResourceWarning)
        through, lines = wait(0)
        assert through and lines > 10
        hung = [at for at in range(1, lines + 3) if not wait(at)[0]]
        gc.collect()  # what the interrupts left is told here
    assert not hung, f"hung with an interrupt at line events {hung} of {lines}"
    left = {str(w.message) for w in caught if issubclass(w.category, ResourceWarning)}
    assert not left, f"an interrupt left these unclosed: {sorted(left)}"
