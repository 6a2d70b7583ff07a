"""A run's view, diagram and timeline as a plain Python shell shows them (their text, not an
object's address), and a save() given no path refused in a sentence."""

from __future__ import annotations

import pytest

from irgraph import Agent, IrgraphError, run
from irgraph.testing import FakeProvider


def result():
    pipeline = Agent("a").instruct("Research {topic}.").writes("f") >> Agent("b").instruct("{f}")
    return run(pipeline, provider=FakeProvider(), state={"topic": "owls"})


def test_a_shell_echoes_the_view_its_diagram_and_timeline_as_their_text():
    done = result()
    view = done.view()
    for shown in (view, done.diagram(), done.timeline()):
        assert repr(shown) == str(shown) == shown.text()
        assert "object at 0x" not in repr(shown)
    assert repr(view).startswith("Run finished on asyncio: 2 nodes (2 done)")


@pytest.mark.parametrize("path", [3, None, ["run.html"]])
def test_saving_to_something_that_is_no_path_is_refused_naming_what_to_give(path):
    done = result()
    with pytest.raises(IrgraphError) as info:
        done.view().save(path)
    message = str(info.value)
    assert "Cannot save the run's view: save() takes a file path" in message
    assert "(.html, .txt), such as 'run.html'" in message
    assert f"(got {path!r} of type {type(path).__name__})" in message
    with pytest.raises(IrgraphError, match=r"the run's timeline: .*\(\.svg, \.mmd, \.txt\)"):
        done.timeline().save(path)
