"""The run view as text (``print(result.view())``, and what Jupyter's plain-text output
holds) keeps one line per node, whatever its name holds."""

from __future__ import annotations

from irgraph import Agent, Loop, run
from irgraph.testing import FakeProvider

LONG = "x" * 200


def _view_text():
    pipeline = (
        Agent("two\nlines").instruct("Draft {topic}.").writes("draft")
        >> Loop("re\tvise").step(Agent(LONG).instruct("{draft}").writes("notes")).max_iterations(2)
        >> Agent("writer").instruct("Write from {notes}.").writes("report")
    )
    result = run(pipeline, provider=FakeProvider(), state={"topic": "owls"})
    return result.view().text()


def test_a_name_with_a_line_break_or_tab_stays_on_its_line_in_every_part_of_the_text_view():
    text = _view_text()
    lines = text.splitlines()
    assert not any(line == "lines" or line.startswith("lines ") for line in lines)
    assert "\t" not in text
    # the diagram's list, the timeline and the asked-and-answered table each name the node
    assert sum("two\\nlines" in line for line in lines) == 3
    assert any("re\\tvise" in line for line in lines)


def test_a_long_name_is_cut_in_the_middle_so_the_columns_stay_readable():
    lines = _view_text().splitlines()
    named = [line for line in lines if "xxxxxxxxxx" in line]
    assert named and all(LONG not in line for line in named)
    assert all("\u2026" in line for line in named)
    assert all(len(line) < 160 for line in named)


def _columns(text: str) -> int:
    """Terminal columns: two for a wide (East Asian, emoji) character, as a terminal draws."""
    import unicodedata

    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def test_the_text_timeline_lines_up_its_bars_after_names_in_wide_characters():
    pipeline = (
        Agent("日本語の要約").instruct("{topic}").writes("a")
        >> Agent("owl 🦉").instruct("{a}").writes("b")
        >> Agent("plain_name").instruct("{b}").writes("c")
    )
    text = run(pipeline, provider=FakeProvider(), state={"topic": "owls"}).timeline().text()
    rows = text.splitlines()[1:]
    assert len(rows) == 3
    # where each row's bar begins, in the columns a terminal shows
    starts = {_columns(row[: row.index("|")]) for row in rows}
    assert len(starts) == 1, rows
