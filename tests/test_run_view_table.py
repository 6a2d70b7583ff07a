"""The run view's node table, read back from a real run's HTML."""

from __future__ import annotations

import html
import json

from irgraph import Agent, Gate, Route, RunError, Transform, run
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


def test_a_failed_runs_table_shows_what_its_finished_transforms_and_gates_gave():
    """A failed run's view had no outputs: the rows of a transform and a gate that finished
    before the failure showed no answer (and the text left them out), as a finished run's
    view does not."""

    def explode(draft):
        raise ValueError("no drafts today")

    pipeline = (
        Transform("split", str.split).reads("topic").writes("words")
        >> Agent("writer").instruct("Draft {words}.").writes("draft")
        >> Gate("approve", "Publish {draft}?").writes("verdict")
        >> Transform("explode", explode).reads("draft").writes("boom")
    )
    try:
        run(pipeline, provider=FakeProvider(), state={"topic": "owls bats"},
            on_gate=lambda request: "yes")  # fmt: skip
    except RunError as error:
        failed = error
    assert failed.outputs["split"] == ["owls", "bats"] and "explode" not in failed.outputs
    rows = {row["node"]: row for row in failed.view().rows()}
    assert rows["split"]["answer"] == '["owls", "bats"]'
    assert rows["approve"]["answer"] == "yes"
    # the failed transform's answer is what it raised (its row was empty)
    assert rows["explode"]["answer"] == "(failed: ValueError: no drafts today)"
    assert rows["explode"]["status"] == "failed"
    table = str(failed.view()).partition("Asked and answered:")[2].splitlines()
    assert [line.split()[0] for line in table if line] == ["split", "writer", "approve", "explode"]
    assert table[3].endswith("-> 'yes'") and table[1].endswith("""-> '["owls", "bats"]'""")
    assert table[4].endswith("-> '(failed: ValueError: no drafts today)'")


def test_a_fail_fast_batch_error_shows_the_outputs_of_its_items_run_too():
    from irgraph import BatchError, run_many

    def explode(words):
        raise ValueError("no words today")

    pipeline = Transform("split", str.split).reads("topic").writes("words") >> Transform(
        "explode", explode
    ).reads("words").writes("boom")
    try:
        list(run_many(pipeline, [{"topic": "owls bats"}], fail_fast=True))
    except BatchError as error:
        stopped = error
    rows = {row["node"]: row for row in stopped.view().rows()}
    assert rows["split"]["answer"] == '["owls", "bats"]'


def test_a_route_row_shows_the_field_it_compared_and_the_branch_it_took():
    verdict = {
        "type": "object",
        "properties": {"category": {"enum": ["bug", "feature"]}},
        "required": ["category"],
    }
    pipeline = Agent("judge").instruct("Classify {ticket}").output(verdict).writes(
        "verdict"
    ) >> Route("by_category").on("verdict.category").when(
        "bug", Agent("fix").instruct("Patch {ticket}").writes("patch")
    ).otherwise(Agent("answer").instruct("Answer {ticket}").writes("reply"))
    reply = '{"category": "feature"}'
    result = run(pipeline, provider=FakeProvider(responses={"judge": reply}), state={"ticket": "t"})
    view = result.view()
    row = {row["node"]: row for row in view.rows()}["by_category"]
    assert (row["asked"], row["answer"]) == ("verdict.category", "otherwise")
    assert "<code>verdict.category</code>" in view.table_html()
    assert "'verdict.category' -> 'otherwise'" in view.table_text()


def test_a_pipeline_of_hundreds_of_agents_shows_less_of_each_text_not_megabytes():
    long = "word " * 1000  # every answer 5,000 characters, and every prompt holds one
    pipeline = Agent("a0").instruct("Go {x}").writes("k0")
    for i in range(1, 300):
        pipeline = pipeline >> Agent(f"a{i}").instruct(f"Go {{k{i - 1}}}").writes(f"k{i}")
    responses = {f"a{i}": long for i in range(300)}
    result = run(pipeline, provider=FakeProvider(responses=responses), state={"x": "owls"})
    table = result.view().table_html()
    assert len(table) < 1_000_000
    assert table.count("<details>") == 599  # every prompt but the first, every answer
    # a small pipeline's texts expand to their first 4,000 characters, as before
    small = run(Agent("a0").instruct("Go"), provider=FakeProvider(responses={"a0": long}))
    assert f"<pre style='white-space:pre-wrap;max-width:60em;margin:0'>{long[:4000]}\u2026" in (
        small.view().table_html()
    )


def test_the_table_names_each_kind_as_the_diagram_does():
    """The table said ``map_over`` (the graph's word) where the diagram's box and tooltip
    said ``map-over``: every kind the table prints is one the diagram prints too."""
    import re

    from irgraph import Loop, MapOver

    pipeline = (
        Transform("split", str.split).reads("topic").writes("words")
        >> MapOver("define_all")
        .over("words", item="word")
        .step(Agent("define").instruct("Define {word}.").writes("definition"))
        .writes("definitions")
        >> Loop("polish").step(Agent("editor").instruct("Polish {definitions}.")).max_iterations(1)
        >> Gate("ok").message("Fine?")
        >> Agent("classify").instruct("Classify.").writes("category")
        >> Route("triage").on("category").when("bug", Agent("fix").instruct("Fix."))
    )
    provider = FakeProvider(responses={"classify": "bug"})
    ran = run(pipeline, provider=provider, state={"topic": "a b"}, on_gate=lambda r: "yes")
    view = ran.view()
    html_text = view.html()
    table = re.findall(r"</td><td>([a-z_-]+)</td><td", view.table_html())
    assert sorted(set(table)) == ["agent", "gate", "loop", "map-over", "route", "transform"]
    tips = set(re.findall(r"<title>[^<(]* \(([a-z_-]+)\):", view.diagram.svg))
    assert set(table) == tips
    assert "map_over" not in html_text


def test_a_node_that_ran_many_times_says_its_time_is_in_all():
    """Sixty items side by side under max_concurrency=8 showed '73 ms' in a run that took
    11 ms: the time of a node that ran more than once is its total, said as such, and the
    mean of a run is on hover."""
    import re

    from irgraph import MapOver
    from irgraph.run_status import seconds_text

    pipeline = (
        MapOver("each")
        .over("words", item="word")
        .step(Agent("define").instruct("Define {word}.").writes("definition"))
    )
    words = [f"w{i}" for i in range(6)]
    view = run(pipeline.writes("ds"), provider=FakeProvider(), state={"words": words}).view()
    (row,) = [row for row in view.rows() if row["node"] == "define"]
    cells = re.findall(
        r"<td( title='[^']*')?(?: style='white-space:nowrap')?>([^<]*)</td>", view.table_html()
    )
    total = next(text for title, text in cells if title.startswith(" title='6 runs, "))
    assert html.unescape(total) == f"{seconds_text(row['seconds'])} in all"
    assert "each on average' style='white-space:nowrap'>" in view.table_html()  # not wrapped
    assert "in all" not in view.table_html().partition("data-node='define'")[0]  # each: once
    # cells are padded as their headings are: '151 ms in all' ran into the prompt beside it
    assert view.table_html().startswith("<table cellpadding='3' ")
    assert "<th style='text-align:left;padding:3px'>time</th>" in view.table_html()


def test_a_node_inside_a_scope_is_indented_under_it_as_in_the_diagrams_text():
    """The table listed a map-over's step and a loop's body flush with the top-level nodes,
    so which node ran inside which scope showed only in the diagram."""
    import re

    from irgraph import Loop, MapOver

    step = Agent("define").instruct("Define {word}.").writes("d")
    each = MapOver("each").over("words", item="word").step(step).writes("ds")
    inner = Loop("polish").step(Agent("edit").instruct("Edit {ds}. {e?}").writes("e"))
    pipeline = Agent("pick").instruct("Pick.").writes("x") >> Loop("outer").step(
        each >> inner.max_iterations(1)
    ).max_iterations(1)
    view = run(pipeline, provider=FakeProvider(), state={"words": ["a", "b"]}).view()
    depths = {row["node"]: row["depth"] for row in view.rows()}
    assert depths == {"pick": 0, "outer": 0, "each": 1, "define": 2, "polish": 1, "edit": 2}
    cells = dict(
        re.findall(r"<td title='(\w+)'( style='padding-left:\d+px')?><b", view.table_html())
    )
    assert cells["pick"] == cells["outer"] == ""
    assert cells["each"] == cells["polish"] == " style='padding-left:17px'"
    assert cells["define"] == cells["edit"] == " style='padding-left:31px'"
