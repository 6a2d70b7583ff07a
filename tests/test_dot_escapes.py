"""Text given in ``node_attrs`` (a tooltip, a label, a link) is drawn by real Graphviz as given:
its ``\\N``, ``\\G``, ``\\E``, ``\\T``, ``\\H``, ``\\L`` (which Graphviz replaces by the node's,
graph's ... names), ``\\n``, ``\\l`` and other backslashes included."""

from __future__ import annotations

import shutil
import xml.etree.ElementTree as ET

import pytest

from irgraph import Agent, IrgraphError
from irgraph.backends.dot import to_dot, to_svg

needs_graphviz = pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz not installed")

SVG = "{http://www.w3.org/2000/svg}"
XLINK = "{http://www.w3.org/1999/xlink}"

#: Every escape Graphviz knows, doubled backslashes, quotes, an entity's & and a line break.
TEXT = 'see \\N \\G \\E \\T \\H \\L \\n \\l \\r \\\\ "q" &amp; <x> C:\\new\\ end'
LINK = "https://example.org/\\N?g=\\G&e=\\E\\T\\H\\L\\\\"

pipeline = Agent("writer").writes("draft") >> Agent("editor").instruct("Edit {draft}.")


def drawn(node_attrs: dict[str, dict[str, str]]) -> ET.Element:
    """The SVG group Graphviz drew for the node 'writer' (drawn first, so the first node)."""
    root = ET.fromstring(to_svg(pipeline, node_attrs={"writer": node_attrs}))
    return next(g for g in root.iter(f"{SVG}g") if g.get("class") == "node")


@needs_graphviz
def test_a_tooltip_is_shown_as_given():
    (link,) = drawn({"tooltip": TEXT, "URL": "https://example.org"}).iter(f"{SVG}a")
    assert link.get(f"{XLINK}title") == TEXT


@needs_graphviz
def test_a_tooltip_line_break_is_kept():
    (link,) = drawn({"tooltip": "two\nlines \\N", "URL": "https://example.org"}).iter(f"{SVG}a")
    assert link.get(f"{XLINK}title") == "two\nlines \\N"


@needs_graphviz
def test_a_label_and_an_xlabel_are_drawn_as_given():
    texts = [t.text for t in drawn({"label": TEXT, "xlabel": TEXT}).iter(f"{SVG}text")]
    assert texts == [TEXT, TEXT]


@pytest.mark.parametrize("name", ["URL", "href"])
@needs_graphviz
def test_a_link_and_its_target_are_written_as_given(name):
    (link,) = drawn({name: LINK, "target": "_\\N&amp;"}).iter(f"{SVG}a")
    assert link.get(f"{XLINK}href") == LINK
    assert link.get("target") == "_\\N&amp;"


@needs_graphviz
def test_a_node_id_is_written_as_given():
    assert drawn({"id": "w\\N&x&amp;"}).get("id") == "w\\N&x&amp;"


@needs_graphviz
def test_a_backslash_in_a_font_or_colour_is_drawn_once_and_text_still_as_given():
    """Graphviz keeps a backslash of a fontname as it is: doubling it drew C:\\\\Fonts."""
    font = "C:\\Fonts\\Deja Vu\\x"
    node = drawn({"fontname": font, "label": TEXT})
    [text] = node.iter(f"{SVG}text")
    assert (text.get("font-family"), text.text) == (font, TEXT)
    # An even run of backslashes at the end is drawn as given; an odd one, which DOT cannot
    # write, is doubled: valid DOT either way.
    for end, font in (("ends even\\\\", "ends even\\\\"), ("odd\\", "odd\\\\")):
        [text] = drawn({"fontname": end}).iter(f"{SVG}text")
        assert text.get("font-family") == font


@pytest.mark.parametrize("bad", ['Times"Bold', "Times<Bold", "Times & Bold"])
def test_a_font_name_graphviz_would_write_into_invalid_svg_is_refused_naming_the_option(bad):
    """Graphviz wrote fontname into font-family="..." as it is: a quote in it gave an SVG
    no XML parser reads."""
    with pytest.raises(IrgraphError) as caught:
        to_dot(pipeline, node_attrs={"writer": {"fontname": bad}})
    assert str(caught.value).startswith(f"node_attrs['writer']['fontname'] is {bad!r}, which")
    assert "not be valid SVG" in str(caught.value)


def test_a_font_name_with_other_marks_still_makes_valid_svg():
    font = "Deja Vu's Sans, Bold > 1"
    text = str(to_dot(pipeline, node_attrs={"writer": {"fontname": font}}))
    assert f'fontname="{font}"' in text
    if shutil.which("dot") is None:  # without Graphviz, the DOT text above is the test
        return
    [drawn_text] = drawn({"fontname": font}).iter(f"{SVG}text")
    assert drawn_text.get("font-family") == font


@pytest.mark.parametrize("name", ["URL", "href"])
def test_a_link_with_a_quote_or_a_bracket_is_written_as_given(name):
    """Graphviz wrote a link's quote and '<' into the SVG as they are: no valid SVG."""
    link = 'https://example.org/?q="owls"&lt=<5>'
    text = str(to_dot(pipeline, node_attrs={"writer": {name: link}}))
    assert f'{name}="https://example.org/?q=&quot;owls&quot;&amp;lt=&lt;5>"' in text
    if shutil.which("dot") is None:  # without Graphviz, the DOT text above is the test
        return
    (drawn_link,) = drawn({name: link, "target": '_"x"'}).iter(f"{SVG}a")
    assert drawn_link.get(f"{XLINK}href") == link
    assert drawn_link.get("target") == '_"x"'
