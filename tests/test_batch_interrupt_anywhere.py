"""A Ctrl-C landing at any line while a blocking batch waits for its loop thread
(``batch_blocking._on_loop``, every step of ``run_many``) never leaves the batch hung.

It waited on a ``threading.Event``, whose ``wait`` runs Python code of its own: an interrupt
landing there could leave the Event's lock held, so the loop thread hung for good setting it,
and ``irgraph batch`` with it (found by two Ctrl-Cs microseconds apart, as ``uv run`` or
``poetry run`` forward the terminal's to a child that got it too). It now waits on a plain
lock, taken or not in C, and a second wait after the interrupt only if the step has not
ended. Here a trace function raises ``KeyboardInterrupt`` at each line event in turn, as a
signal's handler raises it at whatever line runs (Python turns a trace function off once it
raises, so each try has one)."""

from __future__ import annotations

import asyncio
import sys
import threading
from typing import Any

import pytest

from irgraph.batch_blocking import _on_loop

#: The code a wait runs: irgraph's, threading's and the loop's (to hand a step over); not a
#: weakref callback the garbage collector runs meanwhile, where an exception is unraisable.
WAITS_IN = ("batch_blocking.py", "threading.py", "base_events.py", "selector_events.py")


def in_a_wait(frame: Any) -> bool:
    """Whether ``frame`` is ``_on_loop``'s, or of code it called to wait."""
    while frame is not None and frame.f_code.co_filename.endswith(WAITS_IN):
        if frame.f_code.co_name == "_on_loop":
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


def one_try(at: int) -> tuple[bool, int]:
    """Whether ``_on_loop``, and the loop thread it hands a step to, came through an
    interrupt at line event ``at`` (0: none), and how many lines ran."""
    loop = asyncio.new_event_loop()
    runner = threading.Thread(target=loop.run_forever, daemon=True)
    runner.start()

    async def step() -> int:
        await asyncio.sleep(0.005)
        return 1

    interrupt = InterruptAt(at)

    def waiter() -> None:
        sys.settrace(interrupt)
        try:
            _on_loop(loop, step())
        except KeyboardInterrupt:
            pass
        finally:
            sys.settrace(None)

    caller = threading.Thread(target=waiter, daemon=True)  # a hung one does not hang pytest
    caller.start()
    caller.join(10)
    through = not caller.is_alive()
    if through:  # and the loop thread is not stuck either
        try:
            asyncio.run_coroutine_threadsafe(asyncio.sleep(0.05), loop).result(10)
        except TimeoutError:
            through = False
    if through:
        loop.call_soon_threadsafe(loop.stop)
        runner.join(10)
        loop.close()
    return through, interrupt.lines


# An interrupt before _on_loop has handed its step over leaves it never awaited, as any
# coroutine a Ctrl-C kept from being awaited.
@pytest.mark.filterwarnings("ignore:coroutine 'one_try.<locals>.step' was never awaited")
def test_an_interrupt_at_any_line_of_a_wait_leaves_nothing_hung() -> None:
    through, lines = one_try(0)
    assert through and lines > 10
    hung = [at for at in range(1, lines + 3) if not one_try(at)[0]]
    assert not hung, f"hung with an interrupt at line events {hung} of {lines}"
