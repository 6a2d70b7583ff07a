"""How a run's diagram is drawn, read back from a real run's SVG: long names stay inside their
boxes (a loop's or map-over's title is cut in its middle, its kind and status kept whole, to
the width of its box, as a node's name is to its box), and an arrow that skips a column does
not lie on the arrows between."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from irgraph import Agent, Loop, MapOver, Route, run
from irgraph.run_files import fitted, text_width
from irgraph.testing import FakeProvider

SVG = "{http://www.w3.org/2000/svg}"
LONG = "summarize_every_section_of_the_quarterly_report_in_parallel_please"
AGENT = "an_agent_with_a_really_long_descriptive_name_WWW"


def boxes(svg: str) -> dict[str, tuple[float, list[str]]]:
    """Each node's box width and the texts drawn in it."""
    found = {}
    for g in ET.fromstring(svg).iter(SVG + "g"):
        if (g.get("class") or "").split()[:1] == ["node"]:
            rect = g.find(SVG + "rect")
            assert rect is not None
            texts = [t.text or "" for t in g.findall(SVG + "text")]
            found[g.get("data-node")] = (float(rect.get("width") or 0), texts)
    return found


def test_long_scope_titles_and_node_names_are_cut_in_the_middle_to_fit_their_boxes():
    inner = Loop(LONG + "_again").step(Agent(AGENT).instruct("Do {x}.").writes("y"))
    pipeline = MapOver(LONG).over("xs", item="x").step(inner.max_iterations(2)).writes(
        "ys"
    ) >> Loop("l").step(Agent("b").instruct("{ys}")).max_iterations(2)
    result = run(pipeline, provider=FakeProvider(), state={"xs": ["a", "b"]})
    drawn = boxes(result.diagram().svg)
    for scope, kind in ((LONG, "map-over"), (LONG + "_again", "loop")):
        width, (title,) = drawn[scope]
        assert text_width(title, bold=True) <= width - 16, (title, width)
        assert title.startswith(f"{kind} {LONG[:8]}") and "\u2026" in title
        assert title.endswith(" \u00b7 done") or " \u00b7 done \u00b7 " in title  # status whole
        assert title.split(" \u00b7 ")[0].endswith(scope[-4:])  # the name's end kept
    width, (title,) = drawn["l"]
    assert title.startswith("loop l \u00b7 done") and "\u2026" not in title  # short: whole
    width, (name, detail) = drawn[AGENT]
    assert text_width(name, bold=True) <= width - 12 and text_width(detail, 11) <= width - 12
    assert name.startswith(AGENT[:6]) and name.endswith(AGENT[-4:]) and "\u2026" in name


def test_a_narrow_box_cuts_a_long_title_at_its_end_keeping_at_least_an_ellipsis():
    title = fitted("map-over x \u00b7 cancelled \u00b7 2 of 6, 50 ms", 60, bold=True, end=True)
    assert title.endswith("\u2026") and text_width(title, bold=True) <= 60
    assert fitted("anything", 0) == "\u2026"
    assert fitted("two\nlines", 500) == "two lines"  # one line, as drawn


def test_an_arrow_that_skips_a_column_arches_off_the_arrows_between():
    """c reads a's answer: the arrow a -> c lay on a -> b and b -> c (the same line), which
    then looked dashed; it arches over b instead, the others stay straight."""
    pipeline = (
        Agent("a").instruct("Go.").writes("x")
        >> Agent("b").instruct("B.").writes("y")
        >> Agent("c").instruct("{x} {y}")
    )
    root = ET.fromstring(run(pipeline, provider=FakeProvider()).diagram().svg)
    paths = {
        (p.get("data-from"), p.get("data-to")): [
            float(n) for n in re.findall(r"-?[\d.]+", p.get("d") or "")
        ]
        for p in root.iter(SVG + "path")
        if p.get("class") == "edge"
    }
    assert set(paths) == {("a", "b"), ("b", "c"), ("a", "c")}
    for edge, (_, y1, _, c1, _, c2, _, y2) in paths.items():
        assert y1 == y2  # one row
        arched = c1 < y1 - 20 and c2 < y2 - 20
        assert arched == (edge == ("a", "c")), edge


def test_a_scope_box_as_wide_as_its_title_shows_the_title_whole():
    # the box is sized to its whole title; adding up the same character widths in another
    # order came out a hair wider, and 'route by_category' was drawn 'route by_c…gory'
    verdict = {
        "type": "object",
        "properties": {"category": {"enum": ["bug", "feature"]}},
        "required": ["category"],
    }
    routes = [
        Route(name)
        .on("verdict.category")
        .when("bug", Agent(f"fix_{n}").instruct("Patch {ticket}").writes(f"patch_{n}"))
        .otherwise(Agent(f"answer_{n}").instruct("Answer {ticket}").writes(f"reply_{n}"))
        for n, name in enumerate(["by_category", "route_on_verdict", "triage_tickets_now"])
    ]
    pipeline = Agent("judge").instruct("Classify: {ticket}").output(verdict).writes("verdict")
    for route in routes:
        pipeline = pipeline >> route
    reply = '{"category": "feature"}'
    result = run(pipeline, provider=FakeProvider(responses={"judge": reply}), state={"ticket": "t"})
    drawn = boxes(result.diagram().svg)
    for name in ("by_category", "route_on_verdict", "triage_tickets_now"):
        width, (title,) = drawn[name]
        assert title.startswith(f"route {name} \u00b7 done"), (title, width)


def test_a_loop_says_how_many_of_its_iterations_ran_so_an_early_stop_shows():
    early = Loop("early").step(Agent("a").instruct("{x} {y?}").writes("y"))
    early = early.until(lambda state: "y" in state).max_iterations(5)
    full = Loop("full").step(Agent("b").instruct("{y} {z?}").writes("z")).max_iterations(2)
    result = run(early >> full, provider=FakeProvider(), state={"x": "owls"})
    drawn = boxes(result.diagram().svg)
    assert " \u00b7 1 of max 5 iterations, " in drawn["early"][1][0]
    assert " \u00b7 2 of max 2 iterations, " in drawn["full"][1][0]
    lines = result.diagram().text().splitlines()
    assert any(line.split()[1:7] == ["loop", "early", "1", "of", "max", "5"] for line in lines)


def test_each_diagram_has_its_own_arrowhead_so_hiding_one_output_keeps_the_others_heads():
    # an id is page-wide: with one id in every diagram, collapsing the notebook output that
    # held it first drew every later diagram's arrows without heads
    pipeline = Agent("a").instruct("{x}").writes("y") >> Agent("b").instruct("{y}")
    result = run(pipeline, provider=FakeProvider(), state={"x": "owls"})
    page = [result.diagram().svg, result.diagram().svg, result.view().html()]
    ids = []
    for svg in page:
        defined = re.findall(r"<marker id='([^']+)'", svg)
        used = set(re.findall(r"url\(#([^)]+)\)", svg))
        assert len(defined) == 1 and used == set(defined), (defined, used)
        ids += defined
    assert len(set(ids)) == len(ids), ids


def test_the_diagrams_text_names_each_scope_by_its_kind_and_lines_up_the_times():
    """The text said ``done  define_all  11 ms`` with nothing telling a map-over from an
    agent (its box says ``map-over define_all``), and each time came right after its name."""
    from irgraph import MapOver, Route

    pipeline = (
        MapOver("define_all")
        .over("words", item="word")
        .step(Agent("define").instruct("Define {word}.").writes("definition"))
        .writes("definitions")
        >> Loop("polish").step(Agent("editor").instruct("Polish {definitions}.")).max_iterations(1)
        >> Agent("classify").instruct("Classify.").writes("category")
        >> Route("triage").on("category").when("bug", Agent("fix").instruct("Fix."))
    )
    provider = FakeProvider(responses={"classify": "bug"})
    text = run(pipeline, provider=provider, state={"words": ["a"]}).diagram().text()
    lines = text.splitlines()[1:]
    named = {line[15:].strip().split("  ")[0]: line for line in lines}
    assert {"map-over define_all", "loop polish", "route triage", "classify"} <= set(named)
    assert "define" in named and "editor" in named  # the steps keep their bare names
    starts = {len(line) - len(line[15:].lstrip()) for line in lines}  # indented by depth
    assert len(starts) == 2
    times = {line.rindex("  ") for line in lines if "ms" in line}
    assert len(times) == 1, lines  # one column of times
