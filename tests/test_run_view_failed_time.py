"""A failed run's view says how long the failed node ran before it failed, the same in its
diagram, node table and timeline, and a RunError has ``.timeline()`` as a RunResult has.
Real runs on the asyncio backend."""

from __future__ import annotations

import re
from html import escape

import pytest

from irgraph import Agent, MapOver, RunError, Transform, run
from irgraph.run_status import seconds_text
from irgraph.testing import FakeProvider


def explode(notes):
    raise ValueError("no notes today")


def failed_run():
    pipeline = Agent("notes").instruct("Take notes.").writes("notes") >> Transform(
        "explode", explode
    ).reads("notes").writes("boom")
    with pytest.raises(RunError) as failed:
        run(pipeline, provider=FakeProvider(latency=0.002))
    return failed.value


def test_the_failed_node_says_how_long_it_ran_in_the_diagram_table_and_timeline():
    """The table showed no time (an em dash) and the diagram just 'failed' while the
    timeline drew the bar to the run's end; all three say that time now."""
    error = failed_run()
    view = error.view()
    facts = view.facts
    (execution,) = facts.of("explode")
    ran = seconds_text(facts.measured - execution.working)
    assert f"failed · {escape(ran)}</text>" in view.diagram.svg
    assert re.search(rf"failed +explode +{re.escape(ran)}$", str(view.diagram), re.M)
    (row,) = [row for row in view.rows() if row["node"] == "explode"]
    assert row["seconds"] == pytest.approx(facts.measured - execution.working)
    assert f"<td>{escape(ran)}</td>" in view.table_html()
    assert f"explode: failed, failed after {escape(ran)}</title>" in view.timeline.svg
    assert f"* failed after {ran}" in str(view.timeline)


def test_a_failed_map_over_says_how_long_it_and_its_failed_item_ran():
    def define(word):
        if word == "b":
            raise ValueError("no definition")
        return word

    each = MapOver("each").over("words", item="word")
    pipeline = each.step(Transform("define", define).reads("word").writes("d")).writes("ds")
    with pytest.raises(RunError) as failed:
        run(pipeline, provider=FakeProvider(), state={"words": ["a", "b", "c"]})
    rows = {row["node"]: row for row in failed.value.view().rows()}
    assert rows["each"]["seconds"] is not None and rows["define"]["seconds"] is not None
    assert "failed after" in str(failed.value.timeline())


def test_a_run_error_has_a_timeline_as_a_result_has():
    error = failed_run()
    timeline = error.timeline()
    assert [bar.node for bar in timeline.bars] == ["notes", "explode"]
    assert str(timeline) == str(error.view().timeline)
    assert error.timeline(concurrency=1).summary() == error.view(concurrency=1).timeline.summary()


def test_a_cancelled_bar_says_cancelled_as_the_legend_and_the_text_do():
    """The picture said 'unfinished' beside an orange bar its legend calls cancelled."""
    from irgraph import Agent as A

    each = MapOver("each").over("words", item="word")
    pipeline = each.step(A("work").instruct("Work on {word}.").writes("w")).writes("ws")
    fake = FakeProvider(latency={"work": 0.01}, fail={"work": 1})
    with pytest.raises(RunError) as failed:
        run(pipeline, provider=fake, state={"words": list("abc")})
    timeline = failed.value.timeline()
    cancelled = [bar for bar in timeline.bars if bar.status == "cancelled"]
    assert cancelled and "unfinished" not in timeline.svg
    assert timeline.svg.count(": cancelled, cancelled</title>") == len(cancelled)
    rows = [line for line in str(timeline).splitlines() if line.endswith(" cancelled")]
    assert len(rows) == len(cancelled)
