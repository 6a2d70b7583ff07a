"""An option that the format's exporter does not take is told as the call the user wrote
(render() or show()), naming the format that takes it, never as to_dot()'s or to_mermaid()'s."""

from __future__ import annotations

import subprocess
import sys

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
    assert "(picked because no format was given: printed outside a notebook as mermaid)" in said
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


@pytest.mark.parametrize(
    ("exporter", "option", "told"),
    [
        ("to_svg", "classes", "it is an option of to_mermaid (mermaid pictures); to colour "),
        ("to_png", "class_defs", "it is an option of to_mermaid (mermaid pictures); to colour "),
        ("to_dot", "style", "it is an option of to_mermaid (mermaid pictures)."),
        ("to_mermaid", "node_attrs", "it is an option of to_dot, to_svg and to_png (Graphviz "),
        ("to_mermaid", "timeout", "it bounds how long Graphviz's dot program may take, and "),
        ("to_dot", "timeout", "only to_svg and to_png run it; leave it out of to_dot()."),
        ("to_svg", "colapse", "Did you mean 'collapse'? Its options: direction, data_edges, "),
        ("to_png", "timout", "Did you mean 'timeout'?"),
        ("to_mermaid", "clases", "Did you mean 'classes'"),
    ],
)
def test_each_exporter_names_itself_and_the_exporter_that_takes_the_option(exporter, option, told):
    from irgraph.backends import dot, mermaid

    draw = getattr(dot if exporter != "to_mermaid" else mermaid, exporter)
    with pytest.raises(IrgraphError) as info:
        draw(pipeline, **{option: 1})
    said = str(info.value)
    assert said.startswith(f"{exporter}() got the option {option!r}, which it does not take")
    assert told in said
    assert exporter == "to_dot" or "to_dot()" not in said


@pytest.mark.parametrize("call", ["to_svg", "to_png", "to_dot", "to_mermaid", "render", "show"])
def test_a_bad_option_value_names_the_call_the_user_wrote(call):
    from irgraph.backends import dot, mermaid

    draw = {
        "to_svg": dot.to_svg,
        "to_png": dot.to_png,
        "to_dot": dot.to_dot,
        "to_mermaid": mermaid.to_mermaid,
        "render": lambda p, **options: render(p, "png", **options),
        "show": lambda p, **options: irgraph.show(p, "svg", **options),
    }[call]
    with pytest.raises(IrgraphError, match=rf"^The data_edges argument of {call}\(\) must be "):
        draw(pipeline, data_edges="yes")
    # and after a refusal, the exporter it was handed to names itself again
    with pytest.raises(IrgraphError, match=r"^The data_edges argument of to_dot\(\) must be "):
        dot.to_dot(pipeline, data_edges="yes")


@pytest.mark.parametrize(
    ("imported", "call", "told"),
    [
        (
            "mermaid",
            "to_mermaid(p, node_attrs={'w': {}})",
            "an option of to_dot, to_svg and to_png",
        ),
        ("dot", "to_dot(p, classes={'w': 'done'})", "an option of to_mermaid (mermaid pictures)"),
    ],
)
def test_the_exporter_that_takes_an_option_is_named_with_only_the_other_one_imported(
    imported, call, told
):
    """In a fresh process only the called exporter's module is imported: to_mermaid's
    refusal of node_attrs listed its own options, as if no exporter took it."""
    code = (
        "import sys\n"
        "from irgraph import Agent\n"
        f"from irgraph.backends.{imported} import *\n"
        "assert {'irgraph.backends.dot', 'irgraph.backends.mermaid'} - set(sys.modules)\n"
        "p = Agent('w')\n"
        f"try:\n    {call}\nexcept Exception as error:\n    print(error)\n"
    )
    said = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert told in said, said
