"""An option that the format's exporter does not take is told as the call the user wrote
(render() or show()), naming the format that takes it, never as to_dot()'s or to_mermaid()'s."""

from __future__ import annotations

import pytest

import irgraph
from irgraph import Agent
from irgraph.display import render
from irgraph.errors import IrgraphError

pipeline = Agent("researcher").writes("findings") >> Agent("writer").instruct("Use {findings}.")


def test_a_mermaid_option_given_for_svg_names_the_mermaid_format_and_node_attrs():
    with pytest.raises(IrgraphError) as info:
        render(pipeline, "svg", classes={"writer": "done"})
    said = str(info.value)
    assert said == (
        "render() got the option 'classes', which the svg format does not take: it is an option "
        "of the mermaid format. Pass format='mermaid' to draw with it; to colour nodes in dot, "
        "svg or png, give node_attrs instead."
    )


def test_a_dot_option_given_to_show_for_mermaid_names_show_and_the_dot_formats():
    with pytest.raises(IrgraphError) as info:
        irgraph.show(pipeline, "mermaid", node_attrs={"writer": {"color": "red"}})
    said = str(info.value)
    assert said.startswith("show() got the option 'node_attrs', which the mermaid format does")
    assert "an option of the dot, svg or png format. Pass format='svg'" in said
    assert "to_mermaid()" not in said


def test_a_misspelt_format_keyword_is_told_as_format_with_the_format_picked_for_want_of_it():
    with pytest.raises(IrgraphError) as info:
        irgraph.show(pipeline, fmt="svg")
    said = str(info.value)
    assert said.startswith("show() got the option 'fmt', which the ")
    assert "(picked because no format was given: svg when Graphviz is installed" in said
    assert "Did you mean 'format'?" in said
    assert "to_dot()" not in said


def test_a_misspelt_timeout_is_told_with_the_timeout_render_takes():
    with pytest.raises(
        IrgraphError,
        match=r"'dot_timeout', which the png format does not take\. "
        r"Did you mean 'timeout'\?",
    ):
        render(pipeline, "png", dot_timeout=5)


@pytest.mark.parametrize("fmt", ["mermaid", "dot", "svg"])
def test_each_format_still_takes_its_own_options_and_the_timeout(fmt):
    own = {"classes": {"writer": "done"}} if fmt == "mermaid" else {"node_attrs": {"writer": {}}}
    drawn = render(pipeline, fmt, direction="LR", timeout=30, **own)
    assert drawn.format == fmt and "writer" in drawn.data
