"""A fan-out of hundreds of parallel agents reads in a notebook: its column shows the first
few nodes and the failed ones, and one summary box for the rest (how many, their statuses,
how long they took); ``diagram.all_nodes()`` draws each. Real runs on the asyncio backend,
read back from the SVG."""

from __future__ import annotations

import functools
import operator
import re
import xml.etree.ElementTree as ET

import pytest

from irgraph import Agent, FanOut, RunError, run
from irgraph.testing import FakeProvider
from irgraph.testing.held import HeldProvider

SVG = "{http://www.w3.org/2000/svg}"


def fan_out(count):
    branches = [Agent(f"a{i}").instruct("Go.").writes(f"x{i}") for i in range(count)]
    start = Agent("pre").instruct("Go.").writes("topic")
    return (
        start
        >> functools.reduce(operator.or_, branches)
        >> Agent("join").instruct("Join {x0} and {x1}.").writes("z")
    )


def groups(svg, kind):
    return [g for g in ET.fromstring(svg).iter(SVG + "g") if kind in (g.get("class") or "").split()]


def height(svg):
    return int(re.search(r"height='(\d+)'", svg).group(1))


def edges(svg):
    paths = ET.fromstring(svg).iter(SVG + "path")
    return [(p.get("data-from"), p.get("data-to")) for p in paths if p.get("data-from")]


def test_a_fan_out_of_300_agents_shows_a_few_and_a_summary_box_of_the_rest():
    """It was one column about 17 000 px tall; now six agents and a box for 294 more."""
    result = run(fan_out(300), provider=FakeProvider())
    diagram = result.view().diagram
    svg = diagram.svg
    assert height(svg) < 800
    drawn = [g.get("data-node") for g in groups(svg, "node")]
    assert drawn == ["pre", "a0", "a1", "a2", "a3", "a4", "a5", "join"]
    (box,) = groups(svg, "nodes-summary")
    assert box.get("data-count") == "294"
    said = [t.text for t in box.iter(SVG + "text")]
    assert said[:2] == ["\u2026 and 294 more", "294 done"] and said[2].endswith(" each")
    assert "a6, a7, a8" in box.find(SVG + "title").text
    assert "result.view().diagram.all_nodes() draws each" in box.find(SVG + "title").text
    summary = box.get("data-node")
    arrows = edges(svg)
    assert arrows.count(("pre", summary)) == 1 and arrows.count((summary, "join")) == 1
    assert len(arrows) == 2 * 6 + 2  # each drawn agent's two, and the box's
    # every node stays reachable: in the text, and drawn one by one on asking
    assert all(f"a{i} " in str(diagram) for i in range(300))
    every = diagram.all_nodes().svg
    assert len(groups(every, "node")) == 302 and not groups(every, "nodes-summary")
    assert height(every) > 300 * 44


def test_a_failed_branch_keeps_its_own_box_and_the_summary_counts_the_statuses():
    """Branch 70 fails while the others' calls are held (they never all reach the model):
    the failed one keeps its box past the first six, the box counts those cancelled."""
    branches = FanOut("many")
    for i in range(100):
        branches = branches.branch(Agent(f"t{i}").instruct("Go {topic}.").writes(f"x{i}"))
    pipeline = Agent("pre").instruct("Go.").writes("topic") >> branches
    others = [f"t{i}" for i in range(100) if i != 70]
    held = HeldProvider(100, agents=others, fail={"t70": 1})
    with pytest.raises(RunError) as failed:
        run(pipeline, provider=held)
    svg = failed.value.view().diagram.svg
    drawn = [g.get("data-node") for g in groups(svg, "node")]
    assert "t70" in drawn and len(drawn) <= 10
    (box,) = groups(svg, "nodes-summary")
    status = failed.value.view().facts.status
    hidden = [n for n in status if n.startswith("t") and n not in drawn]
    assert box.get("data-count") == str(len(hidden))
    mix = " ".join(t.text for t in box.iter(SVG + "text"))  # on as many lines as it takes
    assert "\u2026" not in mix.removeprefix("\u2026")  # none of it cut
    for word in {status[n].replace("_", " ") for n in hidden}:
        assert word in mix
    # on hover, which were stopped
    tip = box.find(SVG + "title").text
    stopped = [n for n in hidden if status[n] == "cancelled"]
    assert stopped and f"cancelled: {', '.join(stopped[:40])}" in tip
    assert "error.view().diagram.all_nodes() draws each" in tip


def test_a_fan_out_of_twenty_is_drawn_whole_as_before():
    svg = run(fan_out(20), provider=FakeProvider()).view().diagram.svg
    assert len(groups(svg, "node")) == 22 and "nodes-summary" not in svg
    assert len(edges(svg)) == 40


def test_the_timeline_of_a_fan_out_of_300_summarises_the_branches_past_the_first_few():
    """300 branches drew 300 bars (6 000 px); now the first three, the critical one and a
    summary row, every bar a call away; 20 branches keep a bar each, as before."""
    timeline = run(fan_out(300), provider=FakeProvider()).timeline()
    rows = [g for g in ET.fromstring(timeline.svg).iter(SVG + "g") if g.get("data-node")]
    assert len(rows) <= 8
    (many,) = [g for g in rows if "bars-summary" in g.get("class").split()]
    drawn = [g.get("data-node") for g in rows if "bar" in g.get("class").split()]
    assert len(drawn) + int(many.get("data-count")) == 302
    assert drawn[0] == "pre" and all(node.startswith("a") for node in drawn[1:4])
    text = str(timeline)
    assert f"\u2026 {many.get('data-count')} more branches beside a0" in text
    assert f"{many.get('data-count')} more branches:" in text
    assert len(text.splitlines()) <= 10
    assert len(timeline.all_bars().rows) == 302
    small = run(fan_out(20), provider=FakeProvider()).timeline()
    assert len(small.rows) == 22 and "bars-summary" not in small.svg


def test_a_summary_of_many_loops_is_as_wide_as_their_boxes_so_its_arrows_pass_none():
    """A summary box as narrow as one node, in a column of wider loop boxes, had its
    arrows from and to the nodes beside the column run across the loops above it."""
    from irgraph import Loop

    def loop(i):
        body = Agent(f"d{i}").instruct("Go {t}.").writes(f"y{i}") >> Agent(f"r{i}").instruct(
            f"Check {{y{i}}}."
        ).writes(f"z{i}")
        return Loop(f"l{i}").step(body).max_iterations(2)

    branches = functools.reduce(operator.or_, [loop(i) for i in range(30)])
    pipeline = Agent("pre").instruct("Go.").writes("t") >> branches
    svg = run(pipeline, provider=FakeProvider()).view().diagram.svg
    (box,) = groups(svg, "nodes-summary")
    assert box.get("data-count") == "24"
    loops = [g for g in groups(svg, "node") if g.get("data-node") in {"l0", "l5"}]
    assert len(loops) == 2
    for g in loops:
        assert g.find(SVG + "rect").get("x") == box.find(SVG + "rect").get("x")
        assert g.find(SVG + "rect").get("width") == box.find(SVG + "rect").get("width")
