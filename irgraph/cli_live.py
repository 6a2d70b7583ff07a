"""What ``irgraph run`` (and ``irgraph demo``) shows while the pipeline runs.

With ``rich`` installed (the ``cli`` extra) and standard error a terminal, a live table on
standard error: every node (indented inside its loop, map-over or route) with its status
(waiting, running, done, failed, ...), how many times it ran and for how long, under a line
of counts; redrawn up to 10 times a second by rich's own thread, from the run's events
(:mod:`irgraph.run_progress` works the statuses out), and left showing how the run ended.
``--progress`` forces it, ``--no-progress`` turns it off. Otherwise (a pipe, a log, tests,
no rich) a plain line per node as it starts and ends, and as a started agent waits for a
model-call slot (``max_concurrency``, which the table shows as waiting), on standard output.
"""

from __future__ import annotations

import json
import sys
import time
from collections import Counter
from typing import TYPE_CHECKING, Any, TextIO

from irgraph.errors import a_or_an
from irgraph.live import terminal_columns
from irgraph.run_progress import ended_in, final_facts, live_facts
from irgraph.run_status import STATUSES, RunFacts, seconds_text

if TYPE_CHECKING:
    import networkx as nx

    from irgraph.events import Event

__all__ = [
    "RunDisplay",
    "rich_installed",
    "shown",
    "one_line",
    "escaped",
    "value_text",
    "print_state",
    "run_failure",
    "tell_run_failure",
    "failure_text",
]

_STYLE = {
    "done": "green",
    "failed": "bold red",
    "cancelled": "dark_orange",
    "reused": "blue",
    "running": "bold yellow",
    "waiting": "dim",
    "skipped": "dim",
    "no_items": "dim",
    "not_reached": "dim",
}


def shown(name: str) -> str:
    """A node name as the command line prints it: as it is, or, when it holds a character
    that does not print (a line break, a tab, an escape code), as its ``repr``, so that a
    node's line stays one line and shows what the name holds.

    >>> shown("writer"), shown("two\\nlines")
    ('writer', "'two\\\\nlines'")
    """
    return name if name.isprintable() else repr(name)


def one_line(text: str) -> str:
    """``text`` (a warning of the checks) with each character that does not print escaped as in a
    ``repr``, so that a name holding a line break cannot break it into two lines.

    >>> print(one_line("Route 'a\\tb' compares"))
    Route 'a\\tb' compares
    """
    return escaped(text)


def print_state(state: dict[str, Any], out: TextIO, heading: str = "Final state:") -> None:
    """Print a run's final state, a key a line: text as it is, other values as JSON (else
    their ``repr``), each cut at 300 characters (and past 12 lines, to 10) and shown with
    :func:`value_text`. A value's further lines are indented under it, so that none can pass
    for another key's line."""
    print(heading, file=out)
    for key, value in state.items():
        text = _as_text(value)
        if len(text) > 300:
            text = text[:297] + "..."
        lines = value_text(text).split("\n")  # no escape code reaches the terminal
        if len(lines) > 12:  # 300 characters may be 300 line breaks
            lines = [*lines[:10], f"... ({len(lines) - 10} more lines)"]
        shown = "\n    ".join(lines)
        print(f"  {key} = {shown}", file=out)


def _as_text(value: Any) -> str:
    """A state value as text: a string as it is, anything else as JSON (non-ASCII as it is),
    or its ``repr`` when it is no JSON (a tuple key, a cycle, a huge integer)."""
    if isinstance(value, str):
        return value
    try:
        return json.dumps(value, default=str, ensure_ascii=False)
    except Exception:  # a dict with a tuple key, a cycle, or default=str's own str() failing
        pass
    try:
        return repr(value)
    except Exception:  # an int of more than 4300 digits, a repr of the user's that raises
        kind = type(value).__name__
        return f"<{a_or_an(kind)} {kind} that cannot be shown>"


def value_text(text: str) -> str:
    """A state value as ``irgraph run`` prints it: each character that does not print escaped
    as in a ``repr``, but line breaks and tabs, so that an escape code in a model's answer
    cannot reach the terminal.

    >>> value_text("red\\x1b[31m\\tok\\nnext")
    'red\\\\x1b[31m\\tok\\nnext'
    """
    return escaped(text, keep="\n\t")


def escaped(text: str, keep: str = "") -> str:
    """``text`` with each character that does not print, but those in ``keep``, escaped as
    in a ``repr``."""
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() or ch in keep else repr(ch)[1:-1] for ch in text)


def failure_text(error: BaseException) -> str:
    """A run's error as a shell user reads it: the message without the advice that only
    Python can follow (a cause "chained below", the error's ``.completed`` and ``.state``),
    and, when the cause was raised in code of the user's, where."""
    from irgraph.backends.failures import ADVICE

    text = str(error)
    if not text.endswith(ADVICE):
        return text
    return f"{text.removesuffix(ADVICE)}{_raised_at(error.__cause__)}."


def tell_run_failure(error: Any, out: TextIO, advice: str = "") -> None:
    """Say that a run failed: the state it had then on ``out`` when a node completed before
    the failure (what it wrote, a model's answers among it, printed as a finished run's final
    state is, rather than lost with the run), and :func:`run_failure` on standard error,
    followed by ``advice`` (what the next run may take from this one)."""
    if error.completed and isinstance(error.state, dict):
        print_state(error.state, out, heading="State when the run failed:")
    print(f"irgraph: RunError: {run_failure(error)}{advice}", file=sys.stderr)


def run_failure(error: Any) -> str:
    """What ``irgraph run`` says when the run fails: what failed and where, what completed
    before it, and what to do."""
    text = failure_text(error)
    stop = "" if text.endswith((".", "?", "!")) else "."
    done = ", ".join(_counted(error.completed)) or "nothing"
    return (
        f"{text}{stop} Completed before the failure: {done}. Fix the cause and run the "
        "command again."
    )


def _counted(completed: list[str]) -> list[str]:
    """Each node of ``completed`` once, in the order it first finished, with how many times
    when it finished more than once (a map-over's step once per item, a loop's per iteration).

    >>> _counted(["a", "s", "s", "s", "m"])
    ['a', 's (3 times)', 'm']
    """
    times = Counter(completed)  # in the order each node first finished
    return [shown(n) if k == 1 else f"{shown(n)} ({k} times)" for n, k in times.items()]


def _raised_at(cause: BaseException | None) -> str:
    """`` (raised in boom, pipes.py line 5)``: the innermost frame of the cause's traceback
    in the user's own code (not irgraph's, the standard library's or an installed
    package's), or ``""`` when there is none."""
    import os
    import sysconfig
    import traceback

    import irgraph.backends

    if cause is None:
        return ""
    paths = sysconfig.get_paths()
    skipped = tuple(
        os.path.join(os.path.realpath(folder), "")
        for folder in (
            *irgraph.__path__,
            *irgraph.backends.__path__,
            *(paths[name] for name in ("stdlib", "platstdlib", "purelib", "platlib")),
        )
    )
    frames = [
        frame
        for frame in traceback.extract_tb(cause.__traceback__)
        if not frame.filename.startswith("<")
        and not os.path.realpath(frame.filename).startswith(skipped)
    ]
    if not frames:
        return ""
    frame = frames[-1]
    here = os.path.join(os.getcwd(), "")
    where = os.path.relpath(frame.filename) if frame.filename.startswith(here) else frame.filename
    return f" (raised in {frame.name}, {where} line {frame.lineno})"


def rich_installed() -> bool:
    try:
        import rich.live  # noqa: F401
    except ImportError:
        return False
    return True


class RunDisplay:
    """The progress of one ``irgraph run``: an ``on_event`` handler and a context manager
    around the run. ``live``: ``None`` decides by whether ``err`` is a terminal (and rich
    is installed); ``True`` forces the live table (when rich is installed), ``False`` the
    plain lines on ``out``."""

    def __init__(
        self, graph: nx.DiGraph, out: TextIO, *, live: bool | None = None, err: TextIO | None = None
    ) -> None:
        self.graph = graph
        self.out = out
        self.err = sys.stderr if err is None else err
        self.events: list[Event] = []
        self.started: dict[str, float] = {}
        self.last: dict[str, str] = dict.fromkeys(graph.nodes, "")  # a node's last event
        self.reused: set[tuple[str, Any]] = set()  # executions told reused (cache hits)
        self.final: RunFacts | None = None
        self.closed = False
        self.live: Any = None
        self.begin = time.monotonic()
        self.stopped: float | None = None  # when the run ended: the last frame's time
        if live is None:
            live = bool(getattr(self.err, "isatty", lambda: False)())
        if live and rich_installed():
            from rich.console import Console
            from rich.live import Live

            console = Console(file=self.err, force_terminal=True)
            self.live = Live(get_renderable=self.table, console=console, refresh_per_second=10)

    def table(self) -> Any:
        """The rich table of the nodes as they are now (or as the run ended)."""
        from rich.text import Text

        elapsed = (self.stopped or time.monotonic()) - self.begin
        if self.live is not None:
            # the width of the terminal the table is drawn on, asked at each frame as run
            # progress asks it: rich reads $COLUMNS first (stale after a resize, or from a
            # wider window), then standard input's terminal, and a table drawn wider than
            # the terminal wrapped, each redraw leaving the wrapped rows behind
            self.live.console.width = terminal_columns(self.err)
        try:
            return self._table(elapsed)
        except Exception:  # drawing never breaks the run (rich draws from its own thread)
            return Text(f"irgraph run: running ({seconds_text(elapsed)})")

    def _table(self, elapsed: float) -> Any:
        from rich.console import Group
        from rich.table import Table
        from rich.text import Text

        facts = self.final or live_facts(self.graph, list(self.events))
        table = Table(box=None)
        for column in ("node", "status", "runs", "time"):
            table.add_column(column, justify="right" if column in ("runs", "time") else "left")
        for node, status in facts.status.items():
            runs = facts.of(node)
            took = [e.duration for e in runs if e.duration is not None]
            if status == "running":
                open_ = [e.start for e in runs if e.end is None]
                took_text = seconds_text(elapsed - min(open_)) + " so far" if open_ else ""
            else:
                took_text = seconds_text(sum(took)) if took else ""
            table.add_row(
                Text("  " * _depth(facts.graph, node) + shown(node)),  # not rich markup
                Text(STATUSES[status][0], style=_STYLE.get(status, "")),
                str(len(runs)) if runs else "",
                took_text,
            )
        return Group(Text(self.headline(facts, elapsed), style="bold"), table)

    def headline(self, facts: RunFacts, elapsed: float) -> str:
        found = facts.counts()
        counts = ", ".join(f"{found[s]} {STATUSES[s][0]}" for s in STATUSES if s in found)
        if self.final is None:
            return f"irgraph run: {counts} ({seconds_text(elapsed)})"
        ending = f"failed at {facts.failed!r}" if facts.failed else "finished"
        if facts.message and not facts.failed:
            ending = "stopped"
        took, extra = ended_in(facts, elapsed)  # measured as run() measures its own
        return f"irgraph run {ending} in {took}: {counts}{extra}"

    def took(self) -> tuple[str, str]:
        """How long the finished run took, as its progress line and run view say (see
        :func:`~irgraph.run_progress.ended_in`): its measured time, and how long the whole
        wait took when start-up and shut-down added 0.1 s or more (else ``""``)."""
        elapsed = (self.stopped or time.monotonic()) - self.begin
        if self.final is None:  # its facts could not be made: the whole wait
            return seconds_text(elapsed), ""
        return ended_in(self.final, elapsed)

    def done(self) -> list[str]:
        """The nodes whose last event was their end, in graph order."""
        return [node for node, last in self.last.items() if last == "end"]

    def __enter__(self) -> RunDisplay:
        self.begin = time.monotonic()
        if self.live is not None:
            self.live.__enter__()
            self.live.refresh()  # the first frame now: every node waiting
        return self

    def __exit__(self, kind: Any, error: BaseException | None, trace: Any) -> None:
        if self.live is None:
            return
        self.stopped = self.stopped or time.monotonic()
        if error is not None:
            try:
                self.final = final_facts(self.graph, list(self.events), None, error)
            except Exception:  # the last frame is the live one then
                self.final = None
        self.live.refresh()
        self.live.__exit__(kind, error, trace)

    def finish(self, result: Any) -> None:
        """Show the finished run's own statuses in the last frame; its measured time in
        :meth:`took`."""
        self.stopped = time.monotonic()
        try:
            self.final = final_facts(self.graph, list(self.events), result)
        except Exception:  # the run finished: a record it cannot be read from does not fail it
            self.final = None

    def __call__(self, event: Event) -> None:
        if event.event not in ("start", "end", "wait", "slot", "reused"):
            return
        self.events.append(event)  # a wait for a model-call slot too: live_facts reads it
        if event.event == "reused":  # from an earlier run's cache: its end line says so
            self.reused.add((event.node, tuple(event.path)))
            return
        if event.event == "slot":  # its slot: it runs on, its end line follows
            return
        if event.event == "wait":  # started, but waits for a model-call slot (max_concurrency)
            line = f"  .. {shown(event.node)} waits for a model-call slot"
        elif event.event == "start":
            self.started[event.node], self.last[event.node] = event.time, "start"
            line = f"  > {shown(event.node)} started"
        else:
            self.last[event.node] = "end"
            took = event.time - self.started.get(event.node, event.time)
            hit = (event.node, tuple(event.path)) in self.reused
            self.reused.discard((event.node, tuple(event.path)))
            cached = ", reused from the cache" if hit else ""
            line = f"  ok {shown(event.node)} ({took:.2f} s{cached})"
        if self.live is None:  # rich redraws the table on its own
            self.write(line)

    def write(self, line: str) -> None:
        if self.closed:
            return
        try:
            print(line, file=self.out, flush=True)
        except BrokenPipeError:  # the reader left (| head -1): finish the run, print nothing
            self.closed = True


def _depth(graph: nx.DiGraph, node: str) -> int:
    depth, parent = 0, graph.nodes[node].get("parent") if node in graph else None
    while parent is not None and parent in graph:
        depth += 1
        parent = graph.nodes[parent].get("parent")
    return depth
