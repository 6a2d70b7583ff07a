"""Progress of ``irgraph batch`` on standard error: counts, rate and ETA, drawn by a helper
thread, on a terminal as one line redrawn up to 10 times a second (``\\r``), elsewhere as a
plain line every 10 seconds (a log gets a few lines, not a stream of them)."""

from __future__ import annotations

import contextlib
import threading
import time
from typing import Any, TextIO

from irgraph.batch_clock import BatchClock
from irgraph.live import terminal_line

__all__ = ["Meter", "progress_line", "rate_text"]

_NOTES = 5  # failures told on standard error; the rest are in the output file only


def _clock(seconds: float) -> str:
    minutes, secs = divmod(int(seconds + 0.5), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def rate_text(per_second: float) -> str:
    """A rate of items, per second from one item a second up, else per minute, else per hour
    (one decimal read as "0.0 items/s" every rate below one item in 20 seconds).

    >>> rate_text(13.46), rate_text(0.048), rate_text(0.0005), rate_text(0.0)
    ('13.5 items/s', '2.9 items/min', '1.8 items/h', '0.0 items/s')
    """
    if per_second >= 1 or per_second <= 0:
        return f"{per_second:.1f} items/s"
    if per_second * 60 >= 1:
        return f"{per_second * 60:.1f} items/min"
    per_hour = per_second * 3600
    return f"{per_hour:.1f} items/h" if per_hour >= 1 else f"{per_hour:.2g} items/h"


def progress_line(
    done: int, failed: int, in_flight: int | None, resumed: int, total: int | None, elapsed: float
) -> str:
    """One line of progress; the ETA only when ``total`` is known, the items in flight only
    when ``in_flight`` is (not ``None``).

    >>> progress_line(30, 2, 8, 10, 100, 4.0)
    '42/100: 30 done, 2 failed, 8 in flight, 10 resumed, 8.0 items/s, ETA 0:07'
    """
    finished = done + failed
    rate = finished / elapsed if elapsed > 0 else 0.0
    parts = [f"{done} done", f"{failed} failed"]
    if in_flight is not None:
        parts.append(f"{in_flight} in flight")
    if resumed:
        parts.append(f"{resumed} resumed")
    parts.append(rate_text(rate))
    head = ""
    if total is not None:
        head = f"{finished + resumed}/{total}: "
        left = max(total - finished - resumed, 0)
        if rate > 0:
            parts.append(f"ETA {_clock(left / rate)}")
    return head + ", ".join(parts)


class Meter:
    """Counts, and a helper thread drawing them on standard error; timed from when the
    batch's items began (:meth:`follow`), not from when the meter was made."""

    def __init__(self, total: int | None, stream: TextIO) -> None:
        self.total = total
        self.stream = stream
        self.tty = bool(getattr(stream, "isatty", lambda: False)())
        self.done = self.failed = self.resumed = self.started = self.finished = 0
        self.notes = 0
        self.begin = time.monotonic()
        self.clock: BatchClock | None = None
        self.lock = threading.Lock()
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._tick, name="irgraph-progress", daemon=True)

    def line(self) -> str:
        in_flight = max(self.started - self.finished, 0)
        if self.clock is not None and self.clock.began is None:  # e.g. Prefect's server starts
            told = self.done + self.failed + self.resumed
            head = "" if self.total is None else f"{told}/{self.total}: "
            parts = [f"{self.done} done", f"{self.failed} failed"]
            parts += [f"{self.resumed} resumed"] if self.resumed else []
            return head + ", ".join([*parts, f"{in_flight} waiting for the backend to start"])
        return progress_line(
            self.done, self.failed, in_flight, self.resumed, self.total, self.elapsed()
        )

    def elapsed(self) -> float:
        """Seconds since the items began; none while the backend got ready (a Ctrl-C as
        Prefect's server started said "0 done ... in 11.48 s", the start counted as items')."""
        if self.clock is None:
            return time.monotonic() - self.begin
        began = self.clock.began
        return 0.0 if began is None else time.monotonic() - began

    def follow(self, clock: BatchClock | None) -> None:
        """Time the batch by ``clock`` (:func:`irgraph.batch_clock.clock_of` the results: it
        begins once the backend is ready, e.g. Prefect's temporary server started) and tell
        what it says meanwhile on a line of its own."""
        self.clock = clock
        if clock is not None:
            clock.watch(self.tell)

    def tell(self, message: str) -> None:
        """Say ``message`` on standard error, above the progress line."""
        with self.lock:
            self._write(("\r\x1b[K" if self.tty else "") + f"irgraph: {message}")

    def _tick(self) -> None:
        while not self.stopped.wait(0.1 if self.tty else 10.0):
            self.draw()

    def draw(self) -> None:
        """Draw the line: on a terminal over the last one, cut to the terminal's width (a
        line that wrapped left its first rows behind at every redraw, as ``\r`` goes back
        to the start of the last row only); elsewhere as a line of its own."""
        with self.lock:
            if self.tty:
                self._write("\r\x1b[K" + terminal_line(self.line(), self.stream), end=False)
            else:
                self._write(self.line())

    def _write(self, text: str, end: bool = True) -> None:
        with contextlib.suppress(OSError, ValueError):  # standard error gone: go on quietly
            self.stream.write(text + ("\n" if end else ""))
            self.stream.flush()

    def note(self, message: str) -> None:
        """Tell a failure on standard error (the first few), above the progress line."""
        self.notes += 1
        if self.notes > _NOTES:
            return
        if self.notes == _NOTES:
            message += " (further failures are in the output file only)"
        self.tell(message)

    def __enter__(self) -> Meter:
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stopped.set()
        self.thread.join()
        if self.tty:
            with self.lock:
                self._write("\r\x1b[K", end=False)
