"""A map-over over an empty list: its body shows "no items", not "not reached", so a reader
does not take it for a run that stopped before it; real asyncio runs."""

from __future__ import annotations

import re

import pytest

from irgraph import Agent, MapOver, RunError, run
from irgraph.testing import FakeProvider

WORK = Agent("work").instruct("Do {x}.").writes("y")
EACH = MapOver("each").over("xs", item="x").step(WORK).writes("ys")
AFTER = Agent("after").instruct("Got {ys}.")


def node_statuses(svg: str) -> dict[str, str]:
    return dict(re.findall(r"data-node=\"([^\"]+)\" data-status='(\w+)'", svg))


def test_the_body_of_a_map_over_an_empty_list_shows_no_items():
    view = run(EACH >> AFTER, provider=FakeProvider(), state={"xs": []}).view()
    assert view.facts.status == {"each": "done", "work": "no_items", "after": "done"}
    assert node_statuses(view.diagram.svg)["work"] == "no_items"
    assert "map-over each \u00b7 done \u00b7 0 items" in view.diagram.svg  # its title says why
    assert ">no items</text>" in view.diagram.svg  # the legend names it
    assert "1 no items" in view.headline() and "not reached" not in view.headline()
    (row,) = [row for row in view.rows() if row["node"] == "work"]
    assert row["status"] == "no_items" and row["runs"] == 0
    assert "no items" in view.table_html() and "not reached" not in str(view)
    assert "classDef no_items" in view.diagram.to_mermaid()


def test_a_map_over_not_reached_keeps_its_body_not_reached():
    """The map-over itself never ran (the node before it failed): nothing says no items."""
    before = Agent("before").instruct("Go.").writes("go")
    with pytest.raises(RunError) as info:
        run(before >> EACH, provider=FakeProvider(fail={"before": 1}), state={"xs": []})
    status = info.value.view().facts.status
    assert status == {"before": "failed", "each": "not_reached", "work": "not_reached"}


def test_inner_map_overs_over_empty_lists_inside_items_that_ran():
    """Two outer items each map over an empty list: the inner body had no items; an outer
    map-over with items shows its body done."""
    inner = MapOver("inner").over("x", item="y").step(Agent("deep").instruct("Do {y}.").writes("z"))
    outer = (
        MapOver("outer")
        .over("xs", item="x")
        .step(Agent("shallow").instruct("Do {x}.").writes("w") >> inner.writes("zs"))
        .writes("out")
    )
    view = run(outer, provider=FakeProvider(), state={"xs": [[], []]}).view()
    assert view.facts.status == {
        "outer": "done",
        "shallow": "done",
        "inner": "done",
        "deep": "no_items",
    }
    assert "map-over inner \u00b7 done \u00b7 0 items" in view.diagram.svg
    assert "map-over outer \u00b7 done \u00b7 0 items" not in view.diagram.svg
    view = run(outer, provider=FakeProvider(), state={"xs": []}).view()
    assert view.facts.status == {
        "outer": "done",
        "shallow": "no_items",
        "inner": "no_items",
        "deep": "no_items",
    }
