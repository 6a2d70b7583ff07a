"""The timeline of one run: a Gantt chart with a bar per execution (each loop iteration and
map-over item of a node its own bar), the critical path outlined, and the makespan
:mod:`irgraph.analysis` predicts (from the durations measured here,
:mod:`irgraph.run_prediction`) beside the measured one.

As SVG drawn by irgraph itself (each bar a ``<g class="bar status-done" data-node="...">``,
each pass header a ``<g class="pass" data-scope="..." data-index="...">``, each summary a
``<g class="bars-summary" data-count="...">``), as mermaid ``gantt`` text (every bar), or as
plain text for a terminal.
"""

from __future__ import annotations

import math
import os
from typing import Any

from irgraph import checks
from irgraph.live import text_columns
from irgraph.run_diagram import legend, svg_open
from irgraph.run_files import save_as, text_width
from irgraph.run_files import xml_attr as quoteattr
from irgraph.run_files import xml_text as escape
from irgraph.run_prediction import critical_executions, prediction
from irgraph.run_status import STATUSES, Execution, RunFacts, seconds_text, shorten
from irgraph.run_timeline_labels import INDENT, MOST_INDENT, fit_pixels, full_label, text_label
from irgraph.run_timeline_labels import parts as label_parts
from irgraph.run_timeline_rows import Many, Pass, hidden_count, nesting, shown_rows

__all__ = ["Timeline"]

LABEL_W, CHART_W, ROW_H, BAR_H = 260.0, 520.0, 20.0, 13.0
_TEXT_BAR = 40
_SHOWN_WAIT = 0.0005  # a wait for a model-call slot is named from half a millisecond up
_MARKS = {"done": "#", "failed": "X", "cancelled": "~", "not_started": "-", "reused": "=",
          "skipped": ".", "no_items": ".", "not_reached": ".", "unknown": "?"}  # fmt: skip

#: How a summary's name and a pass header's are set apart from a bar's.
_LABEL_STYLE = {Many: " font-style='italic'", Pass: " font-weight='600' fill='#444'"}

#: More bars than this (a chart taller than a screen): the time axis above the bars as well.
_AXIS_ABOVE = 20


def _nice_step(span: float) -> float:
    """A round tick interval giving about five ticks over ``span`` seconds."""
    raw = span / 5 or 1.0
    scale = 10.0 ** math.floor(math.log10(raw))
    return float(next(m * scale for m in (1, 2, 2.5, 5, 10) if m * scale >= raw))


def padded(text: str, width: int) -> str:
    """``text`` followed by spaces up to ``width`` terminal columns: a wide character
    (``日``, an emoji) takes two, a combining mark none, so the columns after a name in
    Chinese line up with those after one in Latin letters.

    >>> padded("日本", 6) + "|", padded("ab", 6) + "|"
    ('日本  |', 'ab    |')
    """
    return text + " " * max(width - text_columns(text), 0)


def _tick_text(tick: float, step: float) -> str:
    """A tick's time, with as many decimals of a millisecond as its ``step`` needs: ticks
    0.5 ms apart read ``0.5 ms``, ``1.0 ms``, not ``<1 ms`` twice; 2.5 ms apart, ``7.5 ms``
    rather than ``8 ms``."""
    if not tick:
        return "0"
    if tick >= 0.9995:
        return seconds_text(tick)
    ms = step * 1000
    digits = next((d for d in range(6) if abs(round(ms, d) - ms) <= 1e-6 * ms), 6)
    return f"{tick * 1000:.{digits}f} ms"


class Timeline:
    """A run's Gantt chart. ``svg``, :meth:`to_mermaid`, ``str()``; ``bars`` are the
    executions, in start order, and ``rows`` what the chart draws of them, nested as the run
    was: each pass of a loop or map-over under a header (a ``Pass``), many passes or
    branches as a few and a summary (a ``Many``; :mod:`irgraph.run_timeline_rows`;
    :meth:`all_bars` draws every bar); ``measured`` and
    ``predicted`` are seconds (``predicted`` is ``None`` when the analysis cannot cost the
    graph); ``critical`` is the critical path's node ids, and ``on_path`` the executions of
    them the run waited for (``(node, path)``: every iteration of a loop, the last item of a
    map-over to end)."""

    def __init__(
        self,
        facts: RunFacts,
        *,
        concurrency: int | None = None,
        schedule: str = "topological",
        every: bool = False,
    ) -> None:
        self.facts = facts
        self.schedule = schedule  # what each node waited for, as the run's backend planned
        self.bars: list[Execution] = sorted(facts.executions, key=lambda e: (e.start, e.node))
        self.measured = facts.measured
        self.concurrency = checks.optional(checks.count()).check(
            concurrency, "The run view's concurrency (the limit its prediction assumes)"
        )
        self.predicted, self.critical = prediction(
            facts, concurrency=self.concurrency, schedule=schedule
        )
        self.on_path = critical_executions(facts, set(self.critical))
        self.rows = shown_rows(self.bars, self.on_path, every, facts.graph)
        self.svg = self._draw()

    def all_bars(self) -> Timeline:
        """This chart with a bar for every execution, none summarised."""
        return Timeline(
            self.facts, concurrency=self.concurrency, schedule=self.schedule, every=True
        )

    def summary(self) -> str:
        """``"measured 1.20 s · predicted 1.15 s (irgraph.analysis.makespan ...)"``."""
        text = f"measured {seconds_text(self.measured)}"
        if self.predicted is not None:
            limit = f", concurrency {self.concurrency}" if self.concurrency else ""
            text += (
                f" \u00b7 predicted {seconds_text(self.predicted)} (irgraph.analysis.makespan "
                f"from the measured node durations{limit})"
            )
        return text

    def _draw(self) -> str:
        facts, bars = self.facts, self.rows
        span = max(self.measured, 1e-6)
        scale = CHART_W / span
        # a chart taller than a screen reads its times above the bars too, not only under
        # the last of them
        above = len(bars) > _AXIS_ABOVE
        top, margin = 58.0 if above else 44.0, 10.0
        height = top + ROW_H * len(bars) + 24
        width = LABEL_W + CHART_W + 2 * margin + 70  # wider if a bar's time reaches past it
        out = [""]  # the opening tag, once the width is known
        out.append(f"<text x='{margin}' y='16' font-weight='600'>{escape(self.summary())}</text>")
        shown = [s for s in STATUSES if any(b.status == s for b in bars)]
        keys, x = legend(shown, margin, 24)
        out.append(keys)
        if self.critical:
            out.append(
                f"<rect x='{x:.1f}' y='24' width='12' height='12' fill='none' stroke='#111' "
                f"stroke-width='2'/><text x='{x + 16:.1f}' y='34'>critical path</text>"
            )
        left = margin + LABEL_W
        step = _nice_step(span)
        tick = 0.0
        while tick <= span + 1e-9:
            tx, mark = left + tick * scale, _tick_text(tick, step)
            out.append(
                f"<line x1='{tx:.1f}' y1='{top:.1f}' x2='{tx:.1f}' y2='{height - 18:.1f}' "
                f"stroke='#e3e3e3'/><text x='{tx:.1f}' y='{height - 6:.1f}' font-size='10' "
                f"text-anchor='middle' fill='#666'>{escape(mark)}</text>"
            )
            if above:
                out.append(
                    f"<text x='{tx:.1f}' y='{top - 4:.1f}' font-size='10' "
                    f"text-anchor='middle' fill='#666'>{escape(mark)}</text>"
                )
            tick += step
        nested = nesting(bars, facts.graph)
        for row, (bar, (depth, named)) in enumerate(zip(bars, nested, strict=True)):
            y = top + row * ROW_H
            indent = min(depth * INDENT, MOST_INDENT)
            name, where = label_parts(bar, facts.graph, named)
            # left-aligned, indented as it is nested; cut to the margin, whole on hover
            said = fit_pixels(name, where, LABEL_W - indent - 10, bold=isinstance(bar, Pass))
            style = _LABEL_STYLE.get(type(bar), "")
            said = (
                f"<text x='{margin + indent:.1f}' y='{y + BAR_H - 2:.1f}' font-size='11'"
                f"{style}>{escape(said)}</text>"
            )
            if not isinstance(bar, Execution):
                if isinstance(bar, Pass):
                    drawn, right = self._pass(bar, y, left, scale, said)
                else:
                    drawn, right = self._many(bar, y, left, scale, said)
                out.append(drawn)
                width = max(width, right + margin)
                continue
            _, fill, line = STATUSES[bar.status]
            end = bar.end if bar.end is not None else self.measured
            bx, bw = left + bar.working * scale, max((end - bar.working) * scale, 1.5)
            on_path = (bar.node, bar.path) in self.on_path
            stroke = "stroke='#111' stroke-width='2'" if on_path else f"stroke='{line}'"
            classes = f"bar status-{bar.status}" + (" critical" if on_path else "")
            label = full_label(bar, facts.graph)
            took = _took(facts, bar)
            if bar.status == "not_started":  # its whole bar was a wait for a slot
                stroke += " stroke-dasharray='3 2'"
                took = f"not started (waited {seconds_text(end - bar.start)} for a slot)"
            elif bar.waited >= _SHOWN_WAIT:
                took += f" (waited {seconds_text(bar.waited)} for a slot)"
                out.append(
                    f"<line class='wait' x1='{left + bar.start * scale:.1f}' "
                    f"y1='{y + BAR_H / 2:.1f}' x2='{bx:.1f}' y2='{y + BAR_H / 2:.1f}' "
                    "stroke='#b0b0b0' stroke-dasharray='2,2'/>"
                )
            out.append(
                f"<g class='{classes}' data-node={quoteattr(bar.node)} "
                f"data-path={quoteattr(repr(list(bar.path)))}>"
                f"<title>{escape(shorten(f'{label}: {bar.status}, {took}', 2000))}</title>{said}"
                f"<rect x='{bx:.1f}' y='{y:.1f}' width='{bw:.1f}' height='{BAR_H}' rx='2' "
                f"fill='{fill}' {stroke}/><text x='{bx + bw + 4:.1f}' y='{y + BAR_H - 2:.1f}' "
                f"font-size='10' fill='#555'>{escape(took)}</text></g>"
            )
            width = max(width, bx + bw + 4 + text_width(took, 10) + margin)
        out[0] = svg_open(width, height, "run timeline")
        out.append("</svg>")
        return "".join(out)

    def _pass(
        self, header: Pass, y: float, left: float, scale: float, said: str
    ) -> tuple[str, float]:
        """A pass's header row (``said``, its name, and a bracket over the time its rows
        ran) and how far right it reaches."""
        start, end = header.start, header.end(self.measured)
        bx, bw = left + start * scale, max((end - start) * scale, 1.5)
        took = header.took(self.measured)
        mid, low = y + BAR_H / 2, y + BAR_H - 2
        line = "#111" if header.critical else STATUSES[header.status][2]
        drawn = (
            f"<g class='pass status-{header.status}{' critical' if header.critical else ''}' "
            f"data-scope={quoteattr(header.scope)} data-index='{header.index}' "
            f"data-path={quoteattr(repr(list(header.path)))} data-count='{len(header.bars)}'>"
            f"<title>{escape(shorten(f'{full_label(header, self.facts.graph)}: {took}', 2000))}"
            f"</title>{said}<path d='M{bx:.1f},{low:.1f} L{bx:.1f},{mid:.1f} "
            f"L{bx + bw:.1f},{mid:.1f} L{bx + bw:.1f},{low:.1f}' fill='none' stroke='{line}' "
            f"stroke-width='{2 if header.critical else 1.2}'/>"
            f"<text x='{bx + bw + 4:.1f}' y='{low:.1f}' font-size='10' "
            f"fill='#555'>{escape(took)}</text></g>"
        )
        return drawn, bx + bw + 4 + text_width(took, 10)

    def _many(
        self, many: Many, y: float, left: float, scale: float, said: str
    ) -> tuple[str, float]:
        """A summary row's SVG (``said``, its name; a light bar over the time its bars ran,
        what they took beside it) and how far right it reaches."""
        _, fill, line = STATUSES[many.status]
        start, end = many.start, many.end(self.measured)
        bx, bw = left + start * scale, max((end - start) * scale, 1.5)
        took = many.took(self.facts.graph)
        tip = f"{full_label(many, self.facts.graph)}: {took}; {_every(self.facts)} draws each"
        drawn = (
            f"<g class='bars-summary status-{many.status}{' critical' if many.critical else ''}' "
            f"data-node={quoteattr(many.node)} "
            f"data-count='{len(many.bars)}'><title>{escape(shorten(tip, 2000))}</title>{said}"
            f"<rect x='{bx:.1f}' y='{y + 2:.1f}' width='{bw:.1f}' height='{BAR_H - 4}' rx='2' "
            f"fill='{fill}' fill-opacity='0.5' stroke='{'#111' if many.critical else line}' "
            f"stroke-width='{2 if many.critical else 1}' stroke-dasharray='3 2'/>"
            f"<text x='{bx + bw + 4:.1f}' y='{y + BAR_H - 2:.1f}' font-size='10' "
            f"fill='#555'>{escape(took)}</text></g>"
        )
        return drawn, bx + bw + 4 + text_width(took, 10)

    def to_mermaid(self, title: str = "Run timeline") -> str:
        """Mermaid ``gantt`` text: a section per top-level scope, a task per execution
        (milliseconds from the run's start), ``crit`` on the critical path, ``done`` when it
        finished (or was reused), ``active`` when it failed or was cancelled; a bar starts
        when the execution started working (after any wait for a model-call slot)."""
        lines = ["gantt", "    dateFormat x", "    axisFormat %S.%L s"]
        if title and title.strip():  # None or "" for no title
            lines.insert(1, f"    title {_gantt_text(title)}")
        section = None
        order: dict[str, int] = {}
        for bar in self.bars:  # sections in the order they start
            order.setdefault(_section(bar), len(order))
        for i, bar in enumerate(sorted(self.bars, key=lambda b: order[_section(b)]), 1):
            if _section(bar) != section:
                section = _section(bar)
                lines.append(f"    section {_gantt_label(section)}")
            tags = ["crit"] if (bar.node, bar.path) in self.on_path else []
            if bar.status != "not_started":  # untagged: drawn grey, as not begun
                tags.append("done" if bar.status in ("done", "reused") else "active")
            start = round(bar.working * 1000)
            end = max(round((bar.end if bar.end is not None else self.measured) * 1000), start + 1)
            label = _gantt_label(bar.label(self.facts.graph))
            lines.append(f"    {label} :{', '.join([*tags, f't{i}', str(start), str(end)])}")
        return "\n".join(lines)

    def text(self) -> str:
        """The chart as text: a row per execution, ``#`` for done, ``X`` failed, ``~``
        cancelled, ``-`` waiting for a model-call slot (all of a row that never started);
        ``*`` marks the critical path; ``:`` spans the time a summary row's bars ran, ``_``
        the time of a pass (a loop's iteration, a map-over's item) whose rows are indented
        under it."""
        span = max(self.measured, 1e-9)
        lines = [f"Timeline: {self.summary()}"]
        labels = [
            text_label(b, self.facts.graph, *nest)
            for b, nest in zip(self.rows, nesting(self.rows, self.facts.graph), strict=True)
        ]
        width = max((text_columns(label) for label in labels), default=0)
        for bar, label in zip(self.rows, labels, strict=True):
            if not isinstance(bar, Execution):  # the span its bars ran in
                w = min(int(bar.start / span * _TEXT_BAR), _TEXT_BAR - 1)
                b = max(min(round(bar.end(self.measured) / span * _TEXT_BAR), _TEXT_BAR), w + 1)
                row = " " * w + ("_" if isinstance(bar, Pass) else ":") * (b - w)
                row += " " * (_TEXT_BAR - b)
                mark = "*" if bar.critical else " "
                took = (
                    bar.took(self.measured) if isinstance(bar, Pass) else bar.took(self.facts.graph)
                )
                lines.append(f"  {padded(label, width)} |{row}| {mark} {took}")
                continue
            end = bar.end if bar.end is not None else self.measured
            w = min(int(bar.start / span * _TEXT_BAR), _TEXT_BAR - 1)
            working = bar.working if bar.waited >= _SHOWN_WAIT else bar.start
            a = max(min(int(working / span * _TEXT_BAR), _TEXT_BAR - 1), w)
            b = max(min(round(end / span * _TEXT_BAR), _TEXT_BAR), a + 1)
            row = " " * w + "-" * (a - w) + _MARKS[bar.status] * (b - a) + " " * (_TEXT_BAR - b)
            mark = "*" if (bar.node, bar.path) in self.on_path else " "
            took = _took(self.facts, bar)
            took = STATUSES[bar.status][0] if bar.status == "not_started" else took
            if bar.waited >= _SHOWN_WAIT:
                took += f" (waited {seconds_text(bar.waited)})"
            lines.append(f"  {padded(label, width)} |{row}| {mark} {took}")
        if hidden := hidden_count(self.rows):
            lines.append(f"  ({hidden} bars summarised: {_every(self.facts)} draws each)")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.text()

    __repr__ = __str__  # what a plain Python shell echoes: the text view, not an address

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(self.text())

    def _repr_svg_(self) -> str:
        return self.svg

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        return {"image/svg+xml": self.svg, "text/plain": self.text()}

    @checks.keyword_options
    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the chart to ``path``, as its suffix says: ``.svg``, ``.mmd`` (mermaid
        ``gantt``) or ``.txt``."""
        save_as(path, "timeline", {".svg": lambda: self.svg, ".mmd": self.to_mermaid,
                                   ".txt": self.text})  # fmt: skip


def _section(bar: Execution) -> str:
    return bar.path[0][0] if bar.path else "run"


#: Words mermaid's gantt reads as a statement at the start of a line (case-insensitively).
_GANTT_WORDS = frozenset(
    "title section dateformat axisformat tickinterval todaymarker includes excludes weekday "
    "weekend click call acctitle accdescr inclusiveenddates topaxis displaymode".split()
)


def _every(facts: RunFacts) -> str:
    """How to see every bar of a summarised chart, named after the object the user holds: a
    failed run's RunError has ``.timeline()`` as a result has, and a cancelled run's record
    is the ``partial`` its ``CancelledError`` (or ``KeyboardInterrupt``) carries."""
    held = {"Run failed": "error", "Run cancelled": "partial"}.get(facts.outcome, "result")
    return f"{held}.timeline().all_bars()"


def _took(facts: RunFacts, bar: Execution) -> str:
    """A bar's time: ``12 ms``, ``failed after 12 ms`` (as the node table and diagram say
    it), or what stopped it unfinished (``cancelled``, as the legend and the text say)."""
    took = facts.took(bar)
    if took is None:
        return STATUSES[bar.status][0]
    return f"failed after {seconds_text(took)}" if bar.end is None else seconds_text(took)


def _gantt_label(text: str) -> str:
    """A task or section name: :func:`_gantt_text`, and one that begins with a gantt keyword
    (an agent named ``title``) led by a zero-width space, so it stays a name."""
    text = _gantt_text(text)
    first = text.split(maxsplit=1)[0].lower() if text.strip() else ""
    return "\u200b" + text if first.rstrip(",") in _GANTT_WORDS else text


def _gantt_text(text: str) -> str:
    """Text safe in a gantt line: no colon, hash, semicolon or line break (mermaid syntax)."""
    for ch, instead in ((":", "\u02d0"), ("#", "\u266f"), (";", ","), ("%", " pct")):
        text = text.replace(ch, instead)
    return shorten(text, 80) or "step"
