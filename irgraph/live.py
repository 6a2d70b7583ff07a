"""One output redrawn in place while something runs: in Jupyter a display updated by its id,
elsewhere a line on standard error.

:class:`LiveOutput` asks a *view* function for what to show now, and shows it: in a Jupyter
kernel (IPython's ``display(..., display_id=True)``, then ``update``: anything IPython can
display, e.g. an object with ``_repr_mimebundle_``; no ipywidgets, no JavaScript), on a
terminal as one line redrawn with ``\\r``, and on any other stream (a log, a pipe) as a plain
line every ``plain_every`` seconds, so a log gets a few lines rather than a stream of them.
Outside Jupyter the view's ``str()`` is the line.

It redraws at most every ``every`` seconds (10 a second by default): when told something
changed (:meth:`LiveOutput.refresh`), and from a helper thread meanwhile, so elapsed time and
rates move on while nothing finishes. :meth:`LiveOutput.close` draws the final view (say a
summary) and, on a stream, ends the line. Batch progress
(:mod:`irgraph.batch_progress`) is drawn with it; anything else that wants one live output
(a run's progress) can be.

>>> import io
>>> log = io.StringIO()
>>> live = LiveOutput(lambda: "working", stream=log, jupyter=False).start()
>>> live.close("done")
>>> log.getvalue()
'done\\n'
"""

from __future__ import annotations

import contextlib
import contextvars
import os
import shutil
import sys
import threading
import time
import unicodedata
from collections.abc import Callable
from typing import Any, TextIO

__all__ = ["LiveOutput", "in_kernel", "text_columns", "terminal_columns", "terminal_line"]

_CLEAR = "\r\x1b[K"  # back to the start of the line, and clear it


def text_columns(text: str) -> int:
    """How many terminal columns ``text`` takes: a wide character (``日``, an emoji) two, a
    combining mark none, anything else one.

    >>> text_columns("owl"), text_columns("日本"), text_columns("e\u0301")
    (3, 4, 1)
    """
    return sum(
        0 if unicodedata.combining(ch) else 2 if unicodedata.east_asian_width(ch) in "WF" else 1
        for ch in text
    )


def _fit(text: str, columns: int) -> str:
    """``text`` as one line cut to fewer than ``columns`` terminal columns (with an
    ellipsis): a line that wrapped would leave its first rows behind at every redraw, as
    ``\r`` goes back to the start of the last row only."""
    line = " ".join(text.split("\n"))
    if text_columns(line) < columns:
        return line
    kept, used = [], 1  # the ellipsis
    for ch in line:
        used += text_columns(ch)
        if used >= columns:
            break
        kept.append(ch)
    return "".join(kept) + "\u2026"


def terminal_columns(stream: Any) -> int:
    """The width of the terminal ``stream`` writes to, asked each time (it may have been
    resized); ``$COLUMNS``, or 80, when it has no terminal of its own behind it."""
    try:
        return os.get_terminal_size(stream.fileno()).columns or 80
    except (AttributeError, OSError, ValueError):
        return shutil.get_terminal_size().columns


def terminal_line(text: str, stream: Any) -> str:
    """``text`` as one line that fits on one row of ``stream``'s terminal (cut with an
    ellipsis): a line redrawn in place with ``\r`` must never wrap."""
    return _fit(text, terminal_columns(stream))


def in_kernel() -> bool:
    """Whether this code runs in a Jupyter kernel (IPython with a kernel), where one output
    can be updated in place. A terminal IPython cannot, so it gets the line on stderr."""
    ipython = sys.modules.get("IPython")  # only ask IPython if it is loaded already
    shell = getattr(ipython, "get_ipython", lambda: None)() if ipython is not None else None
    return shell is not None and getattr(shell, "kernel", None) is not None


class LiveOutput:
    """One output showing ``view()``, redrawn in place (see the module's docs).

    ``jupyter``: ``None`` (the default) shows it in Jupyter when running in a kernel, and on
    ``stream`` (default: standard error) otherwise; ``True`` or ``False`` decides. Use it as a
    context manager, or call :meth:`start` and :meth:`close`.
    """

    def __init__(
        self,
        view: Callable[[], Any],
        *,
        stream: TextIO | None = None,
        jupyter: bool | None = None,
        every: float = 0.1,
        plain_every: float = 10.0,
    ) -> None:
        self.view = view
        self.jupyter = in_kernel() if jupyter is None else jupyter
        self.stream = sys.stderr if stream is None else stream
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.every = every if self.jupyter or self.tty else plain_every
        self._plain_every = plain_every
        self._handle: Any = None
        self._last = float("-inf")
        self._lock = threading.Lock()
        self._stopped = threading.Event()
        self._thread: threading.Thread | None = None
        self._closed = False

    def start(self) -> LiveOutput:
        """Show the first view (in Jupyter and on a terminal) and start redrawing."""
        self._last = time.monotonic()  # a log's first line comes after plain_every seconds
        if self.jupyter:
            from IPython.display import display

            self._handle = display(self.view(), display_id=True)  # type: ignore[no-untyped-call]
            if self._handle is None:  # IPython has no shell to display in: use the stream
                self.jupyter = False
                self.every = self.every if self.tty else self._plain_every
        if not self.jupyter and self.tty:
            self.refresh(force=True)
        # The kernel routes output by the context's parent message: the thread keeps ours.
        context = contextvars.copy_context()
        self._thread = threading.Thread(
            target=context.run, args=(self._tick,), name="irgraph-live", daemon=True
        )
        self._thread.start()
        return self

    def refresh(self, force: bool = False) -> None:
        """Redraw now, unless the last redraw was less than ``every`` seconds ago."""
        with self._lock:
            now = time.monotonic()
            if self._stopped.is_set() or (not force and now - self._last < self.every):
                return
            self._last = now
            self._draw(self.view())

    def close(self, final: Any = None) -> None:
        """Stop redrawing and show ``final`` (default: the view as it is now) for good; once."""
        if self._closed:
            return
        self._closed = True
        self._stopped.set()
        if self._thread is not None:
            self._thread.join()
        with self._lock:
            shown = self.view() if final is None else final
            if self.jupyter and self._handle is not None:
                self._handle.update(shown)
            else:
                self._write((_CLEAR if self.tty else "") + str(shown) + "\n")

    def _tick(self) -> None:
        while not self._stopped.wait(self.every):
            self.refresh()

    def _draw(self, shown: Any) -> None:
        if self.jupyter:
            self._handle.update(shown)
        elif self.tty:
            self._write(_CLEAR + terminal_line(str(shown), self.stream))
        else:
            self._write(str(shown) + "\n")

    def _write(self, text: str) -> None:
        with contextlib.suppress(OSError, ValueError):  # the stream is gone: go on quietly
            self.stream.write(text)
            self.stream.flush()

    def __enter__(self) -> LiveOutput:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.close()
