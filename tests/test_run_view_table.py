"""The run view's node table, read back from a real run's HTML."""

from __future__ import annotations

from irgraph import Agent, run
from irgraph.testing import FakeProvider


def test_a_prompt_that_ends_in_a_space_is_shown_whole_not_behind_an_expander():
    """An optional key left empty ("Draft. {note?}") leaves a trailing space: the preview
    without it was taken for a shortened one, and offered to expand to the same text."""
    pipeline = Agent("writer").instruct("Draft about owls. {note?}").writes("draft")
    view = run(pipeline, provider=FakeProvider()).view()
    (row,) = view.rows()
    assert row["asked"] == "Draft about owls. "
    assert "<details" not in view.table_html()
    assert "<code>Draft about owls. </code>" in view.table_html()
    long = Agent("writer").instruct("Write " + "very " * 30 + "long.")
    assert "<details" in run(long, provider=FakeProvider()).view().table_html()  # still cut
