"""Graphviz never breaks a label, so the DOT exporter does: a long name is drawn as lines of
at most 28 characters (broken at spaces, after ``_ - / .`` in a long ``snake_case`` name, or
where a long ``CamelCase`` name's next word or a number begins), not as a box as wide as the
name. Labels the user gives in ``node_attrs`` are drawn as given."""

from __future__ import annotations

import re
import shutil
import xml.etree.ElementTree as ET

import pytest

from irgraph import Agent, FanOut, Loop, Route
from irgraph.backends.dot import to_dot, to_svg
from irgraph.backends.labels import LABEL_WIDTH, wrapped
from tests.support.diagram_parsers import decode_dot_label

pytestmark = pytest.mark.filterwarnings("ignore:.*deprecated - use:DeprecationWarning")

LONG = "research the topic thoroughly and summarise every source with citations"
SNAKE = "summarise_every_source_with_citations_and_quotes"
CAMEL = "SummarizeQuarterlyFinancialReportsAgent"


def labels(dot) -> dict[str, str]:
    return {
        n.get_name(): decode_dot_label(n.get("label")) for n in dot.get_nodes() if n.get("label")
    }


def test_a_long_name_is_drawn_as_lines_within_the_width():
    drawn = labels(to_dot(Agent(LONG) >> Agent(SNAKE) >> Agent("short name")))
    assert drawn["n1"] == (
        "research the topic\nthoroughly and summarise\nevery source with citations"
    )
    assert drawn["n2"] == "summarise_every_source_with_\ncitations_and_quotes"
    assert drawn["n3"] == "short name"
    for label in drawn.values():
        assert all(len(line) <= LABEL_WIDTH for line in label.split("\n"))


def test_a_long_camel_case_name_is_broken_where_its_next_word_or_number_begins():
    p = Agent(CAMEL) >> Agent("parseHTTPServer2024ResponseHeaders") >> Agent("MyAgent")
    drawn = labels(to_dot(p))
    assert drawn == {
        "n1": "SummarizeQuarterlyFinancial\nReportsAgent",
        "n2": "parseHTTPServer2024Response\nHeaders",
        "n3": "MyAgent",
    }
    # a CamelCase word that fits on a line moves to the next one whole, as a snake_case one
    assert wrapped("ask the SummarizeQuarterlyReports agent now") == (
        "ask the\nSummarizeQuarterlyReports\nagent now"
    )
    assert wrapped("a camelCaseName that fits") == "a camelCaseName that fits"


def test_titles_and_keys_are_broken_too_and_a_folded_count_stays_whole():
    loop = (
        Loop("a loop with a long descriptive name")
        .step(Agent("w").writes("first_key"))
        .max_iterations(2)
    )
    checks = FanOut("checks that every claim holds").branch(Agent("b")).branch(Agent("c"))
    words = ("alpha", "beta", "gamma", "delta", "epsilon")
    writing = Loop("writing").max_iterations(1)
    for key in words:  # the loop's one arrow out carries every key its body writes
        writing = writing.step(Agent(f"w_{key}").writes(key))
    dot = to_dot(writing >> Agent("r").instruct(" ".join(f"{{{key}}}" for key in words)))
    (edge,) = [e for e in dot.get_edges() if e.get_source() == "n1"]
    assert decode_dot_label(edge.get("label")) == "alpha, beta, delta, epsilon,\ngamma"  # sorted
    clusters = {decode_dot_label(s.get("label")) for s in to_dot(loop >> checks).get_subgraphs()}
    assert clusters == {
        "a loop with a long\ndescriptive name (loop, max\n2)",
        "checks that every claim\nholds (parallel)",
    }
    folded = labels(to_dot(Agent("a") >> loop, collapse=0))
    assert folded["n2"] == "a loop with a long\ndescriptive name (loop, max\n2) · 1 node"


def test_line_breaks_of_a_name_are_kept_and_a_word_with_nowhere_to_break_stays_whole():
    assert wrapped("two\nlines") == "two\nlines"
    assert wrapped("x" * 40) == "x" * 40
    assert wrapped("a " + "x" * 40) == "a\n" + "x" * 40


def test_a_label_given_in_node_attrs_is_drawn_as_given():
    dot = to_dot(Agent("a"), node_attrs={"a": {"label": LONG}})
    assert labels(dot)["n1"] == LONG


def _width(svg: str) -> float:
    return float(re.sub(r"pt$", "", ET.fromstring(svg).get("width", "")))


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz not installed")
def test_graphviz_draws_a_long_name_in_a_narrow_box():
    p = Agent(LONG)
    as_given = to_svg(p, node_attrs={LONG: {"label": LONG}})  # one line, as before
    assert _width(to_svg(p)) < _width(as_given) / 2
    texts = [t.text for t in ET.fromstring(to_svg(p)).iter("{http://www.w3.org/2000/svg}text")]
    assert texts == [
        "research the topic",
        "thoroughly and summarise",
        "every source with citations",
    ]


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz not installed")
def test_graphviz_draws_a_long_camel_case_name_in_a_narrow_box():
    p = Agent(CAMEL)
    as_given = to_svg(p, node_attrs={CAMEL: {"label": CAMEL}})  # one line, as before
    assert _width(to_svg(p)) < _width(as_given) * 0.8
    texts = [t.text for t in ET.fromstring(to_svg(p)).iter("{http://www.w3.org/2000/svg}text")]
    assert texts == ["SummarizeQuarterlyFinancial", "ReportsAgent"]


VERDICT = {
    "type": "object",
    "properties": {"category": {"enum": ["bug"]}},
    "required": ["category"],
}


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz not installed")
def test_a_routes_dotted_key_path_is_never_broken_at_its_dot_when_it_fits():
    judge = Agent("judge").instruct("{ticket}").output(VERDICT).writes("verdict")
    route = Route("triage").on("verdict.category").when("bug", Agent("fix"))
    p = judge >> route.otherwise(Agent("other"))
    assert labels(to_dot(p))["n2"] == "triage (route on\nverdict.category)"
    texts = [t.text for t in ET.fromstring(to_svg(p)).iter("{http://www.w3.org/2000/svg}text")]
    assert "verdict.category)" in texts and "verdict." not in " ".join(texts).split()
    assert wrapped("r (route on " + "k" * 20 + "." + "f" * 20 + ")") == (
        "r (route on\n" + "k" * 20 + ".\n" + "f" * 20 + ")"  # longer than a line: broken
    )
