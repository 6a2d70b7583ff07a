"""Live progress of one run: ``run(pipeline, ..., progress=True)``.

The run's own events (the ``on_event`` stream every backend sends) drive one live output
(:class:`~irgraph.live.LiveOutput`), redrawn at most 10 times a second:

- in a Jupyter kernel, the run's coloured diagram (:mod:`irgraph.run_diagram`) updated in
  place, nodes turning from *waiting* to *running* to *done*; a graph of more than
  ``large`` nodes (40) shows a progress bar, the counts and the nodes running now instead;
- on a terminal, one line on standard error redrawn with ``\\r``: nodes done of all, the
  nodes running now, the time so far;
- on any other stream (a log, a pipe), a plain line every 10 seconds at most.

An agent that has started but waits for a model-call slot (``max_concurrency``: the
``"wait"`` and ``"slot"`` events) shows *waiting*, not *running*; once the run has stopped,
one that never got a slot is *not started*, as in the run view.

When the run ends, the output shows how it ended: the final diagram (or bar) with the
nodes done, failed, cancelled or not reached, and a summary line with the run's measured
time, from its first event to its last as its run view (:mod:`irgraph.run_status`) measures
it, and the whole wait when start-up and shut-down (a flow's, say) took 0.1 s or more.
Drawing never breaks the run: an error while drawing stops the drawing, not the run. A
user's own ``on_event`` handler still gets every event, after the progress has seen it.

>>> import io
>>> from irgraph import Agent, run
>>> from irgraph.testing import FakeProvider
>>> pipeline = Agent("a").instruct("Hi.").writes("x") >> Agent("b").instruct("Got {x}.")
>>> log = io.StringIO()  # standard error by default
>>> result = run(pipeline, provider=FakeProvider(), progress=RunProgress(stream=log))
>>> print(log.getvalue(), end="")  # doctest: +ELLIPSIS
Run finished in ... 2 nodes (2 done)...
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import html
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TextIO

import attrs

from irgraph import checks
from irgraph.errors import IrgraphError, refused_calls
from irgraph.live import LiveOutput
from irgraph.run_diagram import StatusDiagram
from irgraph.run_status import STATUSES, RunFacts, run_facts, seconds_text, shorten

if TYPE_CHECKING:
    import networkx as nx

    from irgraph.events import Event, RunResult

__all__ = [
    "RunProgress",
    "ProgressFrame",
    "live_facts",
    "final_facts",
    "ended_in",
    "progress_of",
]

#: More nodes than this: a progress bar rather than the diagram.
LARGE = 40
_SHOWN = 3  # running nodes named on the line; the rest are counted
#: Start-up and shut-down (a flow's, say) longer than this: the final line says how long
#: the whole wait took besides the run's own measured time.
_OVERHEAD = 0.1


def live_facts(graph: nx.DiGraph | None, events: list[Event]) -> RunFacts:
    """The :class:`~irgraph.run_status.RunFacts` of a run still going: a node with an
    execution that has not ended is ``running``, one that has not started ``waiting``, and
    so is an agent whose every open execution waits for a model-call slot
    (``max_concurrency``: a ``"wait"`` event with no ``"slot"`` after it). Each open
    execution is ``running`` or ``waiting`` (for a slot) likewise. A node told ``"reused"``
    (its result from an earlier run's cache) is ``reused`` once it ends."""
    facts = run_facts(graph, events, {}, reused={e.node for e in events if e.event == "reused"})
    slotless = _waiting_for_slots(events)
    executions = [
        e
        if e.end is not None
        else attrs.evolve(e, status="waiting" if (e.node, e.path) in slotless else "running")
        for e in facts.executions
    ]
    running = {e.node for e in executions if e.status == "running"}
    waiting = {e.node for e in executions if e.status == "waiting"}
    status = {
        node: "running"
        if node in running
        else "waiting"
        if node in waiting or was in _NOT_YET
        else was
        for node, was in facts.status.items()
    }
    return attrs.evolve(facts, executions=executions, status=status)


def _waiting_for_slots(events: list[Event]) -> set[tuple[str, tuple[tuple[str, int], ...]]]:
    """The executions (node, path) waiting for a model-call slot after ``events``."""
    found: set[tuple[str, tuple[tuple[str, int], ...]]] = set()
    for event in events:
        key = (event.node, tuple(event.path))
        if event.event == "wait":
            found.add(key)
        else:  # its slot, its end, or a new execution (a loop's next iteration)
            found.discard(key)
    return found


_NOT_YET = ("not_reached", "unknown")
#: The events the progress reads: an execution's start and end, an agent's wait for a
#: model-call slot and the slot it got (irgraph.backends.slot_events), and a node's result
#: taken from an earlier run's cache (Prefect's, a resumed run: shown reused).
_TOLD = ("start", "end", "wait", "slot", "reused")


def ended_in(facts: RunFacts, elapsed: float) -> tuple[str, str]:
    """How long a run that has ended took, as its run view (:mod:`irgraph.run_status`) says:
    its measured time, from its first event to its last, and ``"; 1.25 s with start-up and
    shut-down"`` when the whole wait, ``elapsed``, was 0.1 s or more longer (else ``""``).
    A run with no execution measured is ``elapsed`` alone.

    >>> from irgraph.run_status import run_facts
    >>> ended_in(run_facts(None, [], {}), 0.5)
    ('500 ms', '')
    """
    if not facts.executions:
        return seconds_text(elapsed), ""
    extra = ""
    if elapsed - facts.measured >= _OVERHEAD:  # say where the rest of the wait went
        extra = f"; {seconds_text(elapsed)} with start-up and shut-down"
    return seconds_text(facts.measured), extra


def _counts(facts: RunFacts) -> str:
    """``"3 done, 1 failed"``, in the order of the statuses."""
    found = facts.counts()
    return ", ".join(f"{found[s]} {STATUSES[s][0]}" for s in STATUSES if s in found)


@attrs.frozen
class ProgressFrame:
    """What the progress shows at one moment: ``str()`` is the line; Jupyter shows the
    diagram (or, for a large graph, a bar). ``ended`` once the run is over."""

    facts: RunFacts
    elapsed: float
    large: bool
    ended: bool = False

    @property
    def running(self) -> list[str]:
        return [n for n, s in self.facts.status.items() if s == "running"]

    @property
    def finished(self) -> int:
        """Nodes that have finished: no longer waiting or running, or running (or waiting for
        a model-call slot) again after an execution ended (a loop's next iteration, a
        map-over's next item), so the count never goes back; a branch a route did not take
        is not counted (see :attr:`total`)."""
        again = {e.node for e in self.facts.executions if e.end is not None}
        return sum(
            (s not in ("running", "waiting", "skipped"))
            or (s in ("running", "waiting") and n in again)
            for n, s in self.facts.status.items()
        )

    @property
    def total(self) -> int:
        """The nodes the run may still finish: all but the branches its routes did not take."""
        return sum(s != "skipped" for s in self.facts.status.values())

    def __str__(self) -> str:
        facts, took = self.facts, seconds_text(self.elapsed)
        total = len(facts.status)
        if self.ended:
            state = facts.outcome
            if facts.failed:
                state += f" at {facts.failed!r}"
            took, extra = ended_in(facts, self.elapsed)
            return f"{state} in {took}: {total} node{'s' * (total != 1)} ({_counts(facts)}){extra}"
        running = self.running
        names = ", ".join(shorten(n, 30) for n in running[:_SHOWN])
        if len(running) > _SHOWN:
            names += f" +{len(running) - _SHOWN} more"
        line = f"{self.finished}/{self.total} nodes done"
        line += f", running: {names}" if names else ""
        slotless = sum(e.status == "waiting" for e in facts.executions)
        if slotless:  # agents that started but wait for a model-call slot (max_concurrency)
            line += f", {slotless} waiting for a model-call slot"
        return line + f" ({took})"

    def html(self) -> str:
        colour = "#b3261e" if self.facts.failed or self.facts.message else "inherit"
        line = f"<div style='font-weight:600;color:{colour}'>{html.escape(str(self))}</div>"
        if not self.large:
            svg = StatusDiagram(self.facts).svg
            return (
                f"<div class='irgraph-run-progress'>{line}"
                f"<div style='overflow-x:auto'>{svg}</div></div>"
            )
        bar = (
            f"<progress value='{self.finished}' max='{max(self.total, 1)}' style='width:16em;"
            "vertical-align:middle;margin-right:0.6em'></progress>"
        )
        return (
            "<div class='irgraph-run-progress' style='font-family:monospace'>"
            f"{bar}<span style='color:{colour}'>{html.escape(str(self))}</span>"
            f"<div style='color:#555'>{html.escape(_counts(self.facts))}</div></div>"
        )

    def _repr_html_(self) -> str:
        return self.html()

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        return {"text/plain": str(self), "text/html": self.html()}


@refused_calls
class RunProgress:
    """The live progress of one run (see the module's docs).

    Pass one as ``run(..., progress=RunProgress(...))`` to choose where it shows: ``stream``
    and ``jupyter`` as for :class:`~irgraph.live.LiveOutput` (default: Jupyter in a kernel,
    else standard error); ``every`` the shortest time between redraws in seconds (0: at every
    event); ``large`` the number of nodes above which Jupyter shows a bar, not the diagram.
    ``progress=True`` is ``RunProgress()``. One ``RunProgress`` watches one run.
    """

    def __init__(
        self,
        *,
        stream: TextIO | None = None,
        jupyter: bool | None = None,
        every: float = 0.1,
        large: int = LARGE,
    ) -> None:
        checks.optional(checks.flag).check(jupyter, "the run progress's jupyter")
        checks.seconds(allow_zero=True).check(every, "the run progress's every")
        checks.count(0).check(large, "the run progress's large")
        if stream is not None and not callable(getattr(stream, "write", None)):
            raise IrgraphError(
                f"The run progress's stream must be a text stream with write() (got "
                f"{stream!r:.60} of type {type(stream).__name__}); pass e.g. sys.stderr, "
                "or leave it unset for standard error (Jupyter in a kernel)."
            )
        self.stream, self.jupyter, self.every, self.large = stream, jupyter, every, large
        self.graph: nx.DiGraph | None = None
        self.events: list[Event] = []
        self.output: LiveOutput | None = None
        self.final: ProgressFrame | None = None
        self._begin = time.monotonic()
        self._started = False
        self._context: contextvars.Context | None = None
        self._thread: int | None = None
        self._lock = threading.Lock()  # the loop's draws enter one copied context in turn

    def start(self, graph: nx.DiGraph | None = None) -> RunProgress:
        """Show the first frame of a run of ``graph`` (``None``: read from the events)."""
        if self._started:
            raise IrgraphError(
                "This RunProgress has watched a run already; pass a new one (or progress=True)."
            )
        self._started = True
        self.graph, self._begin = graph, time.monotonic()
        # Jupyter routes output by the caller's context; a run in a helper thread draws in it.
        self._context, self._thread = contextvars.copy_context(), threading.get_ident()
        try:
            # every=0 draws at each event (below); the helper thread keeps its own pace.
            self.output = LiveOutput(
                self.view, stream=self.stream, jupyter=self.jupyter, every=self.every or 0.1
            ).start()
        except Exception:  # no display: the run goes on without one
            self.output = None
        return self

    def view(self) -> ProgressFrame | str:
        """The frame to show now (the final one once the run has ended)."""
        if self.final is not None:
            return self.final
        elapsed = time.monotonic() - self._begin
        try:
            facts = live_facts(self.graph, list(self.events))
        except Exception:  # never break the drawing thread: show the time at least
            return f"Running ({seconds_text(elapsed)})"
        return ProgressFrame(facts, elapsed, len(facts.status) > self.large)

    def __call__(self, event: Event) -> None:
        """Take one of the run's events (an ``on_event`` handler) and redraw if it is time."""
        if event.event not in _TOLD:
            return
        self.events.append(event)
        output = self.output
        if output is None:
            return
        # A log gets its line every 10 seconds whatever ``every`` says.
        force = self.every == 0 and (output.jupyter or output.tty)
        try:
            if threading.get_ident() == self._thread or self._context is None:
                output.refresh(force)
            else:
                with self._lock:
                    self._context.run(output.refresh, force)
        except Exception:  # drawing never breaks the run: stop drawing instead
            self.output = None
            with contextlib.suppress(Exception):
                output.close("")

    def hook(self, user: Callable[[Event], Any] | None) -> Callable[[Event], Any]:
        """The ``on_event`` handler that feeds this progress, then the user's own ``user``."""
        if user is None:
            return self

        def both(event: Event) -> Any:
            self(event)
            return user(event)

        return both

    def finish(self, result: RunResult | None = None, error: BaseException | None = None) -> None:
        """Show how the run ended: ``result`` when it finished, ``error`` when it did not."""
        elapsed = time.monotonic() - self._begin  # before the final frame's facts are made
        try:
            self.final = ProgressFrame(
                final_facts(self.graph, list(self.events), result, error),
                elapsed,
                len(self.graph or ()) > self.large,
                ended=True,
            )
        except Exception:  # a frame that cannot be drawn: end with the live one
            self.final = None
        output, self.output = self.output, None
        if output is not None:
            with contextlib.suppress(Exception):
                output.close(self.view())


def final_facts(
    graph: nx.DiGraph | None,
    events: list[Event],
    result: RunResult | None = None,
    error: BaseException | None = None,
) -> RunFacts:
    """How a run ended, for its last frame: from its ``result``, or from the ``error`` that
    ended it (a RunError names the failed node; anything else, an interrupt say, leaves the
    nodes running cancelled) and the ``events`` seen."""
    from irgraph.run_view import error_view, run_facts_of

    if result is not None:
        return run_facts_of(result, None if result.graph is not None else graph)
    partial = getattr(error, "partial", None)  # Ctrl-C or a cancel: the run's own record
    if partial is not None and hasattr(partial, "completed"):
        error = partial
    if hasattr(error, "node") and hasattr(error, "completed"):  # a RunError
        # its own trace, measured to when it stopped, as its view is; else the events seen
        own = getattr(error, "trace", None)
        return error_view(error, graph, trace=None if own else events).facts
    facts = live_facts(graph, events)
    ended = {"running": "cancelled", "waiting": "not_reached"}
    status = {
        # an agent that only waited for a model-call slot started, but made no call
        node: "not_started" if was == "waiting" and facts.of(node) else ended.get(was, was)
        for node, was in facts.status.items()
    }
    if isinstance(error, (KeyboardInterrupt, asyncio.CancelledError)):  # stopped, not failed
        return attrs.evolve(facts, status=status, cancelled=True)
    message = f"{type(error).__name__}: {error}" if error is not None else "stopped"
    return attrs.evolve(facts, status=status, message=message)


def progress_of(progress: Any, graph: nx.DiGraph | None) -> RunProgress | None:
    """The started :class:`RunProgress` the ``progress=`` run option asks for, if any."""
    if progress is None or progress is False:
        return None
    if progress is True:
        progress = RunProgress()
    if not isinstance(progress, RunProgress):
        raise IrgraphError(
            f"run() got progress={progress!r}; pass True, False or a RunProgress "
            "(from irgraph.run_progress) to choose where it shows."
        )
    return progress.start(graph)
