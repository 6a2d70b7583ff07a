"""A run of hundreds of nodes or items still reads in a notebook: the diagram of a long chain
wraps into rows, a map-over of hundreds of items is summarised in the timeline (every bar a
call away). Real runs on the asyncio backend, read back from the SVG."""

from __future__ import annotations

import itertools
import re
import xml.etree.ElementTree as ET

import pytest

from irgraph import Agent, run
from irgraph.testing import FakeProvider

SVG = "{http://www.w3.org/2000/svg}"


def chain(count):
    built = Agent("a0").instruct("Go.").writes("x0")
    for i in range(1, count):
        built = built >> Agent(f"a{i}").instruct(f"Go on from {{x{i - 1}}}.").writes(f"x{i}")
    return built


def size(svg):
    width, height = re.search(r"width='(\d+)' height='(\d+)'", svg).groups()
    return int(width), int(height)


def boxes(svg):
    """Each node's rectangle (x, y) in the diagram, by node."""
    found = {}
    for g in ET.fromstring(svg).iter(SVG + "g"):
        if "node" in (g.get("class") or "").split():
            rect = g.find(SVG + "rect")
            found[g.get("data-node")] = (float(rect.get("x")), float(rect.get("y")))
    return found


def test_a_long_chain_wraps_into_rows_that_fit_a_notebook():
    """A 300-agent chain was one row about 64 000 px wide; it reads left to right in rows no
    wider than a notebook, then down, every node drawn and every arrow kept."""
    view = run(chain(300), provider=FakeProvider()).view()
    svg = view.diagram.svg
    width, height = size(svg)
    assert width <= 1100 + 2 * 12  # a notebook's width, and the margins
    assert height > 40 * 44  # the rows stack down the page
    drawn = boxes(svg)
    assert len(drawn) == 300
    rows = sorted({y for _, y in drawn.values()})
    assert len(rows) >= 40
    # read in order: along a row, then the next row down from its left
    order = sorted(drawn, key=lambda n: (drawn[n][1], drawn[n][0]))
    assert order == [f"a{i}" for i in range(300)]
    edges = re.findall(r"class='edge( wrapped)?' data-from=.(a\d+). data-to=.(a\d+).", svg)
    assert len(edges) == 299
    wrapped = [(u, v) for kind, u, v in edges if kind]
    assert len(wrapped) == len(rows) - 1  # one arrow back to the left per new row
    for u, v in wrapped:
        assert drawn[v][1] > drawn[u][1] and drawn[v][0] < drawn[u][0]


def test_a_short_chain_is_still_drawn_in_one_row():
    """Nine agents (1 874 px) stay in one row, as before: a notebook scrolls across them."""
    svg = run(chain(9), provider=FakeProvider()).view().diagram.svg
    drawn = boxes(svg)
    assert len({y for _, y in drawn.values()}) == 1
    assert size(svg)[0] == 9 * 170 + 8 * 44 + 24  # as wide as before rows came in
    assert "wrapped" not in svg


def words(count):
    return [f"w{i}" for i in range(count)]


def define_each(step=None):
    from irgraph import MapOver, Transform

    step = step or Agent("define").instruct("Define {word}.").writes("definition")
    return Transform("split", words).reads("count").writes("words") >> MapOver("define_all").over(
        "words", item="word"
    ).step(step).writes("definitions")


def drawn_bars(svg):
    """The timeline's rows: ``("bar", node, path)`` for a bar, ``("many", node, count)``
    for a summary of many."""
    rows = []
    for g in ET.fromstring(svg).iter(SVG + "g"):
        classes = (g.get("class") or "").split()
        if "bar" in classes:
            rows.append(("bar", g.get("data-node"), g.get("data-path")))
        elif "bars-summary" in classes:
            rows.append(("many", g.get("data-node"), int(g.get("data-count"))))
    return rows


def test_a_map_over_of_200_items_draws_a_few_bars_and_a_summary_of_the_rest():
    """200 items drew 200 bars (a chart 4 000 px tall); now the first few, the one on the
    critical path and one summary row, and every bar is a call away."""
    result = run(define_each(), provider=FakeProvider(), state={"count": 200})
    timeline = result.timeline()
    rows = drawn_bars(timeline.svg)
    assert len(rows) <= 10
    items = [row for row in rows if row[:2] == ("bar", "define")]
    (many,) = [row for row in rows if row[0] == "many"]
    assert many[1] == "define" and len(items) + many[2] == 200
    assert len(timeline.bars) == 202  # the executions are all still there
    text = str(timeline)
    assert len(text.splitlines()) <= 12
    assert f"{many[2]} more items" in text and "all_bars()" in text
    every = timeline.all_bars()
    assert len([r for r in drawn_bars(every.svg) if r[0] == "bar"]) == 202
    assert not [r for r in drawn_bars(every.svg) if r[0] == "many"]
    assert len(str(every).splitlines()) == 203


def test_a_failed_item_among_many_keeps_its_own_bar():
    from irgraph import RunError, Transform

    def define(word):
        if word == "w150":
            raise ValueError("no definition")
        return word

    pipeline = define_each(Transform("define", define).reads("word").writes("definition"))
    with pytest.raises(RunError) as failed:
        run(pipeline, provider=FakeProvider(), state={"count": 200})
    view = failed.value.view(pipeline)
    rows = drawn_bars(view.timeline.svg)
    assert ("bar", "define", "[('define_all', 150)]") in rows
    assert len(rows) <= 12
    assert "define (define_all item 150)" in str(view.timeline)
    # the way to every bar names the failed run's error, which has .timeline() as a result has
    assert "(1 bars summarised" not in str(view.timeline)
    assert "summarised: error.timeline().all_bars() draws each)" in str(view.timeline)
    every = failed.value.timeline(pipeline).all_bars()
    assert len([r for r in drawn_bars(every.svg) if r[0] == "bar"]) == 202


def test_a_map_over_of_a_few_items_draws_every_bar():
    timeline = run(define_each(), provider=FakeProvider(), state={"count": 12}).timeline()
    rows = drawn_bars(timeline.svg)
    assert len(rows) == 14 and all(row[0] == "bar" for row in rows)
    assert "all_bars" not in str(timeline)


def test_a_loop_of_30_iterations_keeps_its_last_and_outlines_its_summary_as_critical():
    """Every iteration of a loop is on the critical path: keeping each critical bar kept all
    30; the last stays, and the summary of the middle ones is marked critical."""
    from irgraph import Loop

    loop = Loop("refine").step(Agent("draft").instruct("Draft. {draft?}").writes("draft"))
    result = run(loop.max_iterations(30), provider=FakeProvider())
    timeline = result.timeline()
    rows = drawn_bars(timeline.svg)
    assert [r for r in rows if r[0] == "many"] == [("many", "draft", 26)]
    assert ("bar", "draft", "[('refine', 29)]") in rows
    (summary,) = [
        g for g in ET.fromstring(timeline.svg).iter(SVG + "g") if g.get("data-count") == "26"
    ]
    assert "critical" in summary.get("class").split()
    assert "draft (refine, 26 more iterations) |" in str(timeline)


def test_a_summary_says_how_long_its_items_waited_for_a_model_call_slot():
    result = run(
        define_each(), provider=FakeProvider(latency=0.005), state={"count": 40}, max_concurrency=2
    )
    text = str(result.timeline())
    assert "more items:" in text and "waited up to" in text


def test_a_summary_inside_a_loop_names_the_loops_iteration():
    from irgraph import Loop, MapOver

    each = MapOver("each").over("words", item="word")
    each = each.step(Agent("define").instruct("Define {word}.").writes("d")).writes("ds")
    rounds = Loop("rounds").step(each).max_iterations(2)
    timeline = run(rounds, provider=FakeProvider(), state={"words": words(20)}).timeline()
    text = str(timeline)
    lines = [line.split("|")[0].rstrip() for line in text.splitlines()]
    # under the header of the loop's iteration, indented past it
    header = lines.index("    rounds iteration 1")
    summary = lines.index("        \u2026 define (each, 16 more items)", header)
    assert header < summary and not any(
        "rounds iteration" in x for x in lines[header + 1 : summary]
    )
    assert "rounds item" not in text
    (many,) = [row for row in timeline.rows if getattr(row, "within", None) == (("rounds", 1),)]
    assert (
        many.label(timeline.facts.graph)
        == "\u2026 define (rounds iteration 1, each, 16 more items)"
    )


def test_a_long_loop_body_wraps_inside_its_box_and_its_arrows_stay_in_it():
    from irgraph import Loop

    body = chain(14)
    pipeline = Agent("pre").instruct("Go.").writes("topic") >> Loop("l").step(body).max_iterations(
        1
    )
    svg = run(pipeline, provider=FakeProvider()).diagram().svg
    root = ET.fromstring(svg)
    (box,) = [g for g in root.iter(SVG + "g") if g.get("data-node") == "l"]
    rect = box.find(SVG + "rect")
    left, right = float(rect.get("x")), float(rect.get("x")) + float(rect.get("width"))
    drawn = boxes(svg)
    assert len({y for n, (_, y) in drawn.items() if n.startswith("a")}) >= 2  # rows in the box
    wrapped = [p for p in root.iter(SVG + "path") if "wrapped" in (p.get("class") or "")]
    assert wrapped
    for path in wrapped:
        xs = [float(x) for x in re.findall(r"[ML](-?[\d.]+),", path.get("d"))]
        assert all(left < x < right for x in xs), (left, right, xs)


def test_a_long_timeline_and_node_table_start_folded_with_their_size_in_the_heading():
    """Under the diagram of a 300-agent chain, the timeline (300 bars) and the node table
    (300 rows) were open: thousands of pixels of output. They start folded, saying so."""
    page = run(chain(300), provider=FakeProvider()).view().html()
    assert "<details><summary>Timeline (300 rows, folded: click to open)</summary>" in page
    assert "<details><summary>Nodes (300, folded: click to open)</summary>" in page
    small = run(chain(3), provider=FakeProvider()).view().html()
    assert "<details open><summary>Timeline</summary>" in small
    assert "<details open><summary>Nodes (3)</summary>" in small


def test_an_arrow_to_a_row_past_the_next_runs_around_the_rows_between():
    """An arrow from the first row to the third ran straight down through the second row
    (across its arrows, and its nodes where columns do not line up); it runs along the
    left margin instead, left of every node of the rows between."""
    built = chain(29) >> Agent("last").instruct("Sum up {x0} and {x28}.").writes("end")
    svg = run(built, provider=FakeProvider()).view().diagram.svg
    drawn = boxes(svg)
    root = ET.fromstring(svg)
    (path,) = [
        p
        for p in root.iter(SVG + "path")
        if (p.get("data-from"), p.get("data-to")) == ("a0", "last")
    ]
    assert "wrapped" in path.get("class")
    points = [
        tuple(map(float, xy)) for xy in re.findall(r"[ML](-?[\d.]+),(-?[\d.]+)", path.get("d"))
    ]
    top, bottom = drawn["a0"][1], drawn["last"][1]
    between = [(x, y) for x, y in drawn.values() if top + 44 < y < bottom]
    assert between  # there is a row between them
    left = min(x for x, _ in between)
    high, low = min(y for _, y in between), max(y for _, y in between) + 44
    downs = [(xa, ya, yb) for (xa, ya), (xb, yb) in itertools.pairwise(points) if xa == xb]
    for x, ya, yb in downs:
        if min(ya, yb) < low and max(ya, yb) > high:  # down past a row between
            assert x < left, (x, left)
    assert any(min(ya, yb) < high and max(ya, yb) > low for _, ya, yb in downs)


def test_a_cancelled_runs_summarised_timeline_names_the_partial_it_carries():
    """A cancelled run's record is the ``partial`` its CancelledError carries: the way to every
    bar names it, not a ``result`` the user never got."""
    import asyncio

    from irgraph import arun

    async def cancelled_at_slow():
        started = asyncio.Event()

        def seen(event):
            if event.node == "slow" and event.event == "start":
                started.set()

        pipeline = define_each() >> Agent("slow").instruct("Go.").writes("z")
        slow = FakeProvider(latency={"slow": 30})
        task = asyncio.create_task(
            arun(pipeline, provider=slow, state={"count": 200}, on_event=seen)
        )
        await started.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError) as stopped:
            await task
        return stopped.value.partial

    partial = asyncio.run(cancelled_at_slow())
    text = str(partial.timeline())
    assert "summarised: partial.timeline().all_bars() draws each)" in text
    assert len([r for r in drawn_bars(partial.timeline().all_bars().svg) if r[0] == "bar"]) >= 202
