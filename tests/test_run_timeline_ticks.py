"""The timeline's time axis: each tick reads a different time, as precise as the ticks'
spacing needs, however short the run (a FakeProvider run takes well under a millisecond)."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from irgraph import Agent, to_graph
from irgraph.events import Event
from irgraph.run_status import run_facts
from irgraph.run_timeline import Timeline

SVG = "{http://www.w3.org/2000/svg}"


def _ticks(span: float) -> list[str]:
    """The axis labels of a two-agent run whose second agent ends ``span`` seconds in."""
    graph = to_graph(
        Agent("a").instruct("{x}").writes("y") >> Agent("b").instruct("{y}").writes("z"),
        inputs={"x"},
    )
    trace = [
        Event("a", "start", 100.0),
        Event("a", "end", 100.0 + span / 2),
        Event("b", "start", 100.0 + span / 2),
        Event("b", "end", 100.0 + span),
    ]
    facts = run_facts(graph, trace, {"a": "y", "b": "z"}, completed=["a", "b"])
    svg = Timeline(facts).svg
    return [
        text.text or ""
        for text in ET.fromstring(svg).iter(SVG + "text")
        if text.get("font-size") == "10" and text.get("fill") == "#666"
    ]


def test_ticks_under_a_millisecond_apart_read_tenths_of_a_millisecond():
    assert _ticks(0.0004) == ["0", "0.1 ms", "0.2 ms", "0.3 ms", "0.4 ms"]


def test_ticks_two_and_a_half_milliseconds_apart_are_not_rounded_to_whole_ones():
    assert _ticks(0.012) == ["0", "2.5 ms", "5.0 ms", "7.5 ms", "10.0 ms"]


def test_ticks_a_second_or_more_in_read_as_seconds():
    assert _ticks(1.2) == ["0", "250 ms", "500 ms", "750 ms", "1.00 s"]


def _axis_and_bars(items: int) -> tuple[list[tuple[float, str]], float]:
    """The axis labels (their height and text) of a map-over run of ``items`` items, and
    the height of its first bar's name."""
    from irgraph import MapOver, run
    from irgraph.testing import FakeProvider

    pipeline = MapOver("each").over("xs", item="x").step(Agent("a").instruct("{x}").writes("y"))
    result = run(pipeline.writes("ys"), provider=FakeProvider(), state={"xs": list(range(items))})
    # every bar drawn: a summarised chart of a few rows is not taller than a screen
    texts = list(ET.fromstring(result.timeline().all_bars().svg).iter(SVG + "text"))
    axis = [
        (float(t.get("y") or 0), t.text or "") for t in texts if t.get("text-anchor") == "middle"
    ]
    first = min(float(t.get("y") or 0) for t in texts if t.get("font-size") == "11")
    return axis, first


def test_a_chart_taller_than_a_screen_reads_its_times_above_the_bars_as_well():
    axis, first = _axis_and_bars(30)
    above = [text for y, text in axis if y < first]
    below = [text for y, text in axis if y > first]
    assert above and above == below, axis
    axis, first = _axis_and_bars(3)  # a short chart: under its bars only
    assert all(y > first for y, _ in axis), axis
