"""Mermaid wraps a label only at spaces, so a long ``snake_case`` name drew as a box as wide as
the name. The exporter writes a ``<wbr>`` tag where the DOT picture may break such a word
(after ``_ - / .``): drawn by the real mermaid (tests/mermaid_check), each box stays about
mermaid's 200-pixel width, and its text, as drawn and as copied, is the name exactly. A long
``CamelCase`` or ``camelCase`` name gets its tags where its next word or a number begins."""

from __future__ import annotations

import json
import re

import pytest

from irgraph import Agent, Loop, Pipeline, Route
from irgraph.backends.dot import to_dot
from irgraph.backends.labels import label_text, wrapped
from irgraph.backends.mermaid import mermaid_text, to_mermaid
from tests.mermaid_check.samples import HOSTILE_NAMES
from tests.support.diagram_parsers import decode_dot_label, parse_mermaid, title_as_drawn
from tests.test_exporter_properties import title_shown

pytestmark = pytest.mark.filterwarnings("ignore:.*deprecated - use:DeprecationWarning")

SNAKE = "summarise_customer_feedback_from_all_regional_sales_teams"
KEY = "customer_feedback_summary_by_region_and_quarter"
LOOP = "revise_every_single_draft_until_the_critic_is_happy"
#: Markdown and mermaid syntax in a label that has tags: each must still draw as itself.
HOSTILE = '_lead_ **bold** `tick` back\\slash "q" <b>&amp; #35; 50% a:b then_a_long_snake_tail_'
CAMEL = "SummarizeQuarterlyFinancialReportsAgent"
CAMEL_KEY = "quarterlyFinancialReportSummary"
CAMEL_LOOP = "ReviseEveryDraftUntilTheCriticIsHappy"
VERDICT = {"type": "object", "properties": {"category": {"enum": ["bug"]}}}
#: Wider than mermaid's 200-pixel label and its padding, by a little.
BOUND = 270


def _shown(text: str) -> str:
    """Drawn text compared ignoring whitespace (HTML collapses it), as tests/test_mermaid.py."""
    return "".join(ch for ch in label_text(text) if not ch.isspace() and ch != "\u2060")


def _pipeline():
    judge = Agent(SNAKE).instruct("Go.").output(VERDICT).writes(KEY)
    route = Route("triage_every_incoming_customer_ticket").on(f"{KEY}.category")
    body = Agent(HOSTILE).instruct(f"{{{KEY}}}")
    loop = Loop(LOOP).step(body).max_iterations(2)
    return judge >> route.when("bug", loop).otherwise(Agent("short"))


def test_a_long_snake_case_word_gets_a_break_where_dot_breaks_it():
    assert mermaid_text(SNAKE) == SNAKE.replace("_", "_<wbr>")
    dot = {
        n.get_name(): decode_dot_label(n.get("label"))
        for n in to_dot(Agent(SNAKE)).get_nodes()
        if n.get("label")
    }
    assert dot["n1"] == wrapped(SNAKE)
    lines = dot["n1"].split("\n")
    dot_breaks = {sum(map(len, lines[: i + 1])) for i in range(len(lines) - 1)}
    mermaid_breaks = {
        m.start() - 5 * i for i, m in enumerate(re.finditer("<wbr>", mermaid_text(SNAKE)))
    }
    assert len(lines) > 1 and dot_breaks <= mermaid_breaks


def _breaks(written: str) -> set[int]:
    """Where ``written``'s ``<wbr>`` tags are, as indexes of the text without them."""
    return {m.start() - 5 * i for i, m in enumerate(re.finditer("<wbr>", written))}


def test_a_long_camel_case_word_gets_a_break_where_each_word_begins_and_dot_breaks_it():
    assert mermaid_text(CAMEL) == "Summarize<wbr>Quarterly<wbr>Financial<wbr>Reports<wbr>Agent"
    assert mermaid_text("parseHTTPServer2024ResponseHeaders") == (
        "parse<wbr>HTTP<wbr>Server<wbr>2024<wbr>Response<wbr>Headers"
    )
    assert mermaid_text("MyAgent") == "MyAgent"  # short: no tag
    (node,) = [n for n in to_dot(Agent(CAMEL)).get_nodes() if n.get("label")]
    lines = decode_dot_label(node.get("label")).split("\n")
    dot_breaks = {sum(map(len, lines[: i + 1])) for i in range(len(lines) - 1)}
    assert len(lines) > 1 and dot_breaks <= _breaks(mermaid_text(CAMEL))


def test_real_mermaid_draws_long_camel_case_names_in_narrow_boxes_with_their_text(
    mermaid_render,
):
    loop = Loop(CAMEL_LOOP).step(Agent(CAMEL).writes(CAMEL_KEY)).max_iterations(2)
    p = loop >> Agent("ReadTheQuarterlyReportAloud").instruct(f"{{{CAMEL_KEY}}}")
    report = mermaid_render([to_mermaid(p), to_mermaid(p, direction="LR")])
    assert report["fatal"] is None, report["fatal"]
    for result in report["results"]:
        assert result["ok"], result.get("error")
        by_text = {box["text"]: box for box in result["boxes"]}
        for text in (CAMEL, CAMEL_KEY, "ReadTheQuarterlyReportAloud"):
            assert text in by_text, (text, sorted(by_text))  # drawn, and copied, exactly
            assert by_text[text]["width"] <= BOUND, by_text[text]
        assert by_text[f"{CAMEL_LOOP} (loop, max 2)"]["width"] <= BOUND + 100


def test_short_names_and_spaced_words_are_written_as_before():
    assert mermaid_text("write_report") == "write_report"
    assert mermaid_text("research the topic and summarise every source") == (
        "research the topic and summarise every source"
    )
    assert mermaid_text("snake_case _it_") == "snake_case #95;it_"  # no tag: entity codes
    assert "<wbr>" not in to_mermaid(Agent("a").writes("x") >> Agent("b").instruct("{x}"))


def test_a_label_with_a_tag_escapes_markdown_with_backslashes():
    written = mermaid_text("_it_ **b** `c` d\\e then_a_long_snake_tail_of_words")
    assert written.startswith(
        "#92;_it_ #92;#42;#92;#42;b#92;#42;#92;#42; #92;#96;c#92;#96; d#92;#92;e"
    )
    assert '"' not in mermaid_text(HOSTILE) and "%%" not in mermaid_text(HOSTILE)


def test_real_mermaid_draws_long_names_in_narrow_boxes_with_their_exact_text(mermaid_render):
    p = _pipeline()
    report = mermaid_render([to_mermaid(p), to_mermaid(p, collapse=0)])
    assert report["fatal"] is None, report["fatal"]
    for result in report["results"]:
        assert result["ok"], result.get("error")
    boxes = report["results"][0]["boxes"]
    by_text = {box["text"]: box for box in boxes}
    for text in (SNAKE, HOSTILE, KEY):
        assert text in by_text, (text, sorted(by_text))  # drawn, and copied, exactly
        assert by_text[text]["width"] <= BOUND, by_text[text]
        assert "<em>" not in by_text[text]["html"] and "<strong>" not in by_text[text]["html"]
    route = by_text[f"triage_every_incoming_customer_ticket (route on {KEY}.category)"]
    loop = by_text[f"{LOOP} (loop, max 2)"]
    assert loop["width"] <= BOUND + 100  # its title and the node it holds, with padding
    assert route["width"] <= 2 * BOUND  # a diamond is wider than the text it holds
    folded = {box["text"] for box in report["results"][1]["boxes"]}
    assert any(text.startswith(SNAKE) for text in folded)


def test_a_line_break_in_a_long_name_is_drawn_and_the_words_are_all_there(mermaid_render):
    name = "first_line_of_a_rather_long_name\nsecond_line_of_it"
    report = mermaid_render([to_mermaid(Agent(name))])
    (box,) = report["results"][0]["boxes"]
    assert box["text"] == name.replace("\n", "")  # the line break is a <br>, no text
    assert "<br>" in box["html"] and box["width"] <= BOUND


def _long(name: str) -> list[str]:
    """Long words holding a hostile name: at the start, inside, and spaced before a tail."""
    glued = name.replace(" ", "_").replace("\n", "_")
    return [f"{glued}_then_a_long_snake_case_tail", f"a_long_prefix_{glued}_in_the_middle_x"]


def test_real_mermaid_draws_hostile_names_in_long_words_as_themselves(mermaid_render):
    names = [long for name in HOSTILE_NAMES for long in _long(name)]
    texts = []
    for i, name in enumerate(names):
        route = Route(f"r{i}").on("k").when(name, Agent(f"w{i}")).otherwise(Agent(f"o{i}"))
        loop = Loop(name + " loop").step(Agent(name).writes("k")).max_iterations(2)
        texts.append(to_mermaid(loop >> route))
    report = mermaid_render(texts)
    assert report["fatal"] is None, report["fatal"]
    for name, text, result in zip(names, texts, report["results"], strict=True):
        assert result["ok"], (text, result.get("error"))
        drawn = {_shown(box["text"]): box for box in result["boxes"]}
        for shown in (name, name + " loop (loop, max 2)", json.dumps(name, ensure_ascii=False)):
            assert _shown(shown) in drawn, (shown, text, sorted(drawn))
            assert "<em>" not in drawn[_shown(shown)]["html"], text
            assert "<strong>" not in drawn[_shown(shown)]["html"], text


#: Agents whose sequence's generated name (their names joined by ``_then_``) is a long title.
STEPS = ("research_the_topic", "CheckEveryClaimAgainstSources", "write_the_report", "Publish")
#: The title's width when drawn, in pixels: its 72 columns, and some room.
TITLE_BOUND = 720


def _title(text: str) -> str:
    """The title a mermaid text's front matter gives, as the YAML (JSON) string reads."""
    (line,) = [line for line in text.splitlines() if line.startswith("title: ")]
    return json.loads(line.removeprefix("title: "))


def test_a_long_title_is_one_line_of_its_width_with_its_beginning_and_end():
    p = Agent(STEPS[0]) >> Agent(STEPS[1]) >> Agent(STEPS[2]) >> Agent(STEPS[3])
    title = _title(to_mermaid(p))
    assert title == "research_the_topic_then_Check…write_the_report_then_Publish (sequence)"
    assert _title(to_mermaid(Agent("a") >> Agent("b"))) == "a_then_b (sequence)"
    name = "quarterly financial reporting for the sales teams of every region"
    spaced = Pipeline(name).step(Agent("a").writes("x")).step(Agent("b").instruct("{x}"))
    assert _title(to_mermaid(spaced)) == (
        "quarterly financial reporting for … teams of every region (sequence)"
    )


def test_real_mermaid_draws_a_long_title_no_wider_than_its_line(mermaid_render):
    p = Agent(STEPS[0]) >> Agent(STEPS[1]) >> Agent(STEPS[2]) >> Agent(STEPS[3])
    text = to_mermaid(p)
    report = mermaid_render([text])
    assert report["fatal"] is None, report["fatal"]
    (result,) = report["results"]
    assert result["ok"], result.get("error")
    assert result["title"]["text"] == _title(text)
    assert result["title"]["width"] <= TITLE_BOUND and result["width"] <= TITLE_BOUND + 50


@pytest.mark.parametrize(
    "name",
    [
        "y" * 100,
        "研究" * 40,
        "z" * 90 + "_then_b",
        " ".join(['R&D "plan" <b> for every region'] * 3),
    ],
)
def test_any_long_title_is_its_beginning_and_end_on_one_line(name):
    drawn = parse_mermaid(to_mermaid(Pipeline(name).step(Agent("a")).step(Agent("b"))))
    assert drawn.title is not None and "…" in drawn.title
    assert title_as_drawn(drawn.title, title_shown(f"{name} (sequence)"))
