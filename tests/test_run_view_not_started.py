"""Items that never got a model-call slot (``max_concurrency``) before a failed or stopped run
ended are shown as not started, apart from the work that started and was cancelled, in the
diagram, the timeline and the node table alike; real runs on the asyncio backend."""

from __future__ import annotations

import asyncio
import xml.etree.ElementTree as ET
from typing import Any

import pytest

from irgraph import Agent, Event, MapOver, RunError, arun, run
from irgraph.run_files import text_width
from irgraph.testing import FakeProvider

SVG = "{http://www.w3.org/2000/svg}"
LATENCY = 0.05
EACH = MapOver("each").over("xs", item="x").step(Agent("work").instruct("Do {x}.").writes("y"))


def svg_groups(svg: str, cls: str) -> list[ET.Element]:
    root = ET.fromstring(svg)
    return [g for g in root.iter(SVG + "g") if (g.get("class") or "").split()[:1] == [cls]]


def test_items_that_never_got_a_slot_are_not_started_not_cancelled():
    """Six items, two slots, the first call fails after 50 ms: the two items that were
    called failed or were cancelled; the four still waiting for a slot never started."""
    fake = FakeProvider(latency={"work": LATENCY}, fail={"work": 1})
    with pytest.raises(RunError) as info:
        run(EACH.writes("ys"), provider=fake, state={"xs": list("abcdef")}, max_concurrency=2)
    error = info.value
    view = error.view()
    called = {tuple(call.path) for call in error.calls}
    bars = {bar.path: bar.status for bar in view.timeline.bars if bar.node == "work"}
    assert len(bars) == 6 and len(called) == 2
    for path, status in bars.items():
        assert (status == "not_started") == (path not in called), (path, status)
    assert sorted(bars.values()).count("not_started") == 4
    assert {status for path, status in bars.items() if path in called} == {"failed", "cancelled"}

    # The timeline draws them as such (and its legend names them), its text too.
    drawn = [g.get("class").split()[1] for g in svg_groups(view.timeline.svg, "bar")]
    assert drawn.count("status-not_started") == 4 and drawn.count("status-cancelled") == 1
    assert ">not started</text>" in view.timeline.svg
    root = ET.fromstring(view.timeline.svg)  # each bar's time is inside the picture
    for g in svg_groups(view.timeline.svg, "bar"):
        took = g.findall(SVG + "text")[-1]
        right = float(took.get("x") or 0) + text_width(took.text or "", 10)
        assert right <= float(root.get("width") or 0), (took.text, root.get("width"))
    rows = [line for line in view.timeline.text().splitlines() if "work (each" in line]
    assert sum(line.endswith("not started") for line in rows) == 4
    assert sum("~" in line for line in rows) == 1  # the one cancelled mid-call

    # The diagram counts the node's runs without them, as the table does.
    (node,) = [g for g in svg_groups(view.diagram.svg, "node") if g.get("data-node") == "work"]
    assert "2 of 6" in "".join(node.itertext())
    (row,) = [row for row in view.rows() if row["node"] == "work"]
    assert row["runs"] == 2 and row["not_started"] == 4 and row["attempts"] == 2
    assert "+4 not started" in view.table_html()
    assert view.table_html().count("5px;white-space:nowrap'>") == 2  # a chip stays one line
    assert "in all</td>" in view.table_html()  # the failed item's time, until it failed, counts

    # The prediction is of the run it was: two items in two slots, not six in three rounds.
    timeline = view.timeline
    assert timeline.predicted is not None and timeline.predicted < 1.5 * timeline.measured
    assert all(path in called for node, path in timeline.on_path if node == "work")


def test_a_stopped_run_shows_an_agent_that_only_waited_for_a_slot_as_not_started():
    """One slot, two agents side by side, the run cancelled while the first works: the
    first was cancelled, the second never started, node and bar alike."""
    pipeline = Agent("first").instruct("Go.").writes("a") | Agent("second").instruct("Go.")
    fake = FakeProvider(latency=30)

    async def cancelled_while_working() -> BaseException:
        started = asyncio.Event()

        def told(event: Event) -> None:
            if event.event == "start" and event.node in ("first", "second"):
                started.set()

        task = asyncio.create_task(arun(pipeline, provider=fake, on_event=told, max_concurrency=1))
        await asyncio.wait_for(started.wait(), timeout=30)
        while not fake.calls:  # one of them holds the slot and is asking the model
            await asyncio.sleep(0.005)
        await asyncio.sleep(0.05)
        task.cancel()
        try:
            await task
        except asyncio.CancelledError as error:
            return error
        raise AssertionError("the run should have been cancelled")

    partial: Any = asyncio.run(cancelled_while_working()).partial
    view = partial.view()
    working = fake.calls[0].agent
    waiting = "second" if working == "first" else "first"
    assert view.facts.status == {working: "cancelled", waiting: "not_started"}
    statuses = {
        g.get("data-node"): g.get("data-status") for g in svg_groups(view.diagram.svg, "node")
    }
    assert statuses == view.facts.status
    assert {bar.node: bar.status for bar in view.timeline.bars} == view.facts.status
    assert "1 cancelled, 1 not started" in view.headline()
    rows = {row["node"]: row for row in view.rows()}
    assert (rows[working]["runs"], rows[waiting]["runs"]) == (1, 0)
    assert rows[waiting]["not_started"] == 1 and rows[waiting]["attempts"] == 0
    gantt = [line for line in view.timeline.to_mermaid().splitlines() if waiting in line]
    assert gantt and "active" not in gantt[0] and "done" not in gantt[0]
    assert gantt[0].split(" :")[1].startswith("t")  # its id first: no empty tag list


def test_real_mermaid_draws_a_gantt_with_items_not_started(mermaid_render):
    fake = FakeProvider(latency={"work": LATENCY}, fail={"work": 1})
    with pytest.raises(RunError) as info:
        run(EACH.writes("ys"), provider=fake, state={"xs": list("abcd")}, max_concurrency=2)
    view = info.value.view()
    assert "not_started" in {bar.status for bar in view.timeline.bars}
    report = mermaid_render([view.timeline.to_mermaid(), view.diagram.to_mermaid()])
    assert report["fatal"] is None, report["fatal"]
    assert [r["ok"] for r in report["results"]] == [True, True], report["results"]
