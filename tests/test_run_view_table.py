"""The run view's node table, read back from a real run's HTML."""

from __future__ import annotations

import json

from irgraph import Agent, Transform, run
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


SCORE = {
    "type": "object",
    "properties": {"score": {"type": "integer"}, "tags": {"type": "array"}, "ok": {}},
}


def test_a_structured_answer_shows_as_json_in_the_table_and_text():
    pipeline = Agent("judge").instruct("Judge it.").output(SCORE).writes("verdict")
    reply = '{"score": 3, "tags": ["café", "owl"], "ok": true}'
    view = run(pipeline, provider=FakeProvider(responses={"judge": [reply]})).view()
    (row,) = view.rows()
    assert row["answer"] == '{"score": 3, "tags": ["café", "owl"], "ok": true}'
    html_text = view.html()
    assert (
        "<code>{&quot;score&quot;: 3, &quot;tags&quot;: [&quot;café&quot;, &quot;owl&quot;], "
        "&quot;ok&quot;: true}</code>" in html_text
    )
    assert "&#x27;score&#x27;" not in html_text and "True" not in html_text
    assert """'{"score": 3, "tags": ["café", "owl"], "ok": true}'""" in view.text()


def test_a_long_structured_answer_is_json_cut_with_an_ellipsis():
    pipeline = Agent("judge").instruct("Judge it.").output(SCORE).writes("verdict")
    tags = [f"tag{i}" for i in range(2000)]
    reply = json.dumps({"score": 3, "tags": tags})
    view = run(pipeline, provider=FakeProvider(responses={"judge": [reply]})).view()
    table = view.table_html()
    preview = "<summary><code>{&quot;score&quot;: 3, &quot;tags&quot;: [&quot;tag0&quot;, "
    assert preview in table
    full = table[table.index("<pre") : table.index("</pre>")]
    assert full.endswith("\u2026") and "&quot;tag300&quot;, &quot;tag301&quot;" in full
    line = next(x for x in view.table_text().splitlines() if "judge" in x)
    assert line.endswith("""'{"score": 3, "tags": ["tag0", "tag1", "tag2", "ta…'""")


def test_a_value_json_cannot_say_keeps_its_repr():
    pipeline = Transform("pair", pair).reads("x").writes("y")
    view = run(pipeline, provider=FakeProvider(), state={"x": 2}).view()
    (row,) = view.rows()
    assert row["answer"] == "{(2, 2): {2}}"


def pair(x: int) -> dict[tuple[int, int], set[int]]:
    return {(x, x): {x}}
