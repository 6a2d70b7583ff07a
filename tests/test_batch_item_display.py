"""An item of a batch left as a Jupyter cell's value shows what happened to it: the run view
of its run (completed or failed), or the error that kept it from running."""

from __future__ import annotations

from IPython.core.formatters import DisplayFormatter

from irgraph import Agent, Transform, run_many
from irgraph.testing import FakeProvider


def _explode(report):
    raise ValueError("no report today")


PIPELINE = Agent("writer").instruct("Write about {topic}.").writes("report")


def _shown(item):
    data, _ = DisplayFormatter().format(item)
    return data


def test_a_completed_item_shows_its_run_view_under_its_index():
    (item,) = run_many(PIPELINE, [{"topic": "owls"}], provider=FakeProvider())
    data = _shown(item)
    assert "ItemResult(" not in data["text/plain"]
    assert data["text/plain"].startswith("Item 0: Run finished")
    assert "irgraph-run" in data["text/html"] and "Item 0" in data["text/html"]


def test_an_item_that_failed_running_shows_the_failed_run_and_one_refused_shows_why():
    failing = PIPELINE >> Transform("explode", _explode).reads("report").writes("x")
    items = sorted(
        run_many(failing, [{"topic": "owls"}, {"topc": "bats"}], provider=FakeProvider()),
        key=lambda item: item.index,
    )
    ran = _shown(items[0])
    assert ran["text/plain"].startswith("Item 0: Run failed at 'explode'")
    assert "irgraph-run" in ran["text/html"]
    refused = _shown(items[1])["text/plain"]
    assert refused.startswith("Item 1 failed before it ran: 'writer' reads {topic}")
