"""The timeline of a run with loops and map-overs inside each other reads as the run was
nested: each pass (a loop's iteration, a map-over's item) a header row with its rows indented
under it, a loop run many times with a fan-out in each pass folded into a few passes of a few
branches, each summary saying how many it stands for, and long names cut to the margin (the
pass they ran in kept, the whole name on hover). Real runs on the asyncio backend, read back
from the SVG, the text and the page headless Chromium lays out."""

from __future__ import annotations

import functools
import operator
import re
import xml.etree.ElementTree as ET

from irgraph import Agent, Loop, MapOver, Transform, run
from irgraph.testing import FakeProvider

SVG = "{http://www.w3.org/2000/svg}"


def rows_of(svg):
    """The timeline's rows in order: ``(kind, group)``, kind ``bar``, ``pass`` or
    ``bars-summary``."""
    found = []
    for g in ET.fromstring(svg).iter(SVG + "g"):
        kinds = {"bar", "pass", "bars-summary"} & set((g.get("class") or "").split())
        if kinds:
            found.append((kinds.pop(), g))
    return found


def label_of(g):
    return g.find(SVG + "text")


def rounds_with_a_fan_out(width, iterations):
    branches = [Agent(f"b{i}").instruct("Go {plan}.").writes(f"x{i}") for i in range(width)]
    body = (
        Agent("plan").instruct("Plan {topic}.").writes("plan")
        >> functools.reduce(operator.or_, branches)
        >> Agent("merge").instruct("Merge {x0}.").writes("merged")
    )
    pre = Agent("pre").instruct("Go.").writes("topic")
    return pre >> Loop("rounds").step(body).max_iterations(iterations)


def test_a_loop_with_a_fan_out_folds_into_a_few_passes_of_a_few_branches():
    """Six iterations of plan, eight branches and merge drew 62 bars in a row, none folded
    (six iterations and eight branches were each too few to fold); now four passes under
    their headers, three branches each and a summary of the rest, one summary of the two
    passes between, each saying how many bars it stands for."""
    result = run(rounds_with_a_fan_out(8, 6), provider=FakeProvider())
    timeline = result.timeline()
    rows = rows_of(timeline.svg)
    # pre, rounds, 4 pass headers, the passes' summary, and in each pass drawn: plan, three
    # branches (four when the critical one, whichever the fake answered last, is not among
    # them), the branches' summary and merge
    assert 31 <= len(rows) <= 35
    headers = [g for kind, g in rows if kind == "pass"]
    assert [(g.get("data-scope"), g.get("data-index")) for g in headers] == [
        ("rounds", "0"),
        ("rounds", "1"),
        ("rounds", "2"),
        ("rounds", "5"),  # the last, on the critical path
    ]
    assert [label_of(g).text for g in headers][:2] == ["rounds iteration 0", "rounds iteration 1"]
    summaries = [g for kind, g in rows if kind == "bars-summary"]
    (passes,) = [g for g in summaries if g.get("data-node") == "rounds"]
    assert passes.get("data-count") == "20"  # iterations 3 and 4, ten bars each
    assert label_of(passes).text == "\u2026 rounds (2 more iterations, 20 bars)"
    branches = [g for g in summaries if g.get("data-node") == "b0"]
    assert len(branches) == 4  # one in each pass drawn
    # every bar is drawn or counted by a summary
    drawn = [g for kind, g in rows if kind == "bar"]
    assert len(drawn) + sum(int(g.get("data-count")) for g in summaries) == 62 == len(timeline.bars)
    # in each pass drawn: plan, three or four branches (the critical one kept), merge
    for header in headers:
        mine = [
            g for g in drawn if g.get("data-path") == f"[('rounds', {header.get('data-index')})]"
        ]
        nodes = [g.get("data-node") for g in mine]
        assert nodes[0] == "plan" and nodes[-1] == "merge" and 3 <= len(nodes) - 2 <= 4
        assert [label_of(g).text for g in mine][:2] == ["plan", "b0"]  # the header says where
    # the text says the same, and the page's heading counts what the summaries hold
    text = str(timeline)
    assert "\n    rounds iteration 5 " in text
    assert any(f"\n      \u2026 {n} more branches beside b0 " in text for n in (4, 5))
    assert len(text.splitlines()) == len(rows) + 2
    hidden = sum(int(g.get("data-count")) for g in summaries)
    assert f"<summary>Timeline ({len(rows)} rows, {hidden} more bars summarised)</summary>" in (
        result.view().html()
    )
    every = timeline.all_bars()
    assert len([1 for kind, _ in rows_of(every.svg) if kind == "bar"]) == 62
    assert not [1 for kind, _ in rows_of(every.svg) if kind == "bars-summary"]


def test_a_fan_out_in_a_loop_of_two_passes_is_drawn_whole():
    """Two passes of eight branches (16 bars) fold nothing: each branch its own row."""
    rows = rows_of(run(rounds_with_a_fan_out(8, 2), provider=FakeProvider()).timeline().svg)
    assert not [g for kind, g in rows if kind == "bars-summary"]
    assert [g.get("data-index") for kind, g in rows if kind == "pass"] == ["0", "1"]
    assert len(rows) == 2 + 2 * 11


def loop_of_map_overs(items, iterations):
    each = MapOver("each").over("words", item="word")
    each = each.step(Agent("define").instruct("Define {word}.").writes("d")).writes("ds")
    split = Transform("split", lambda count: [f"w{i}" for i in range(count)]).reads("count")
    body = split.writes("words") >> each
    return Loop("rounds").step(body).max_iterations(iterations)


def test_a_map_over_in_a_loop_shows_each_row_under_its_iteration_and_folds_its_items():
    """Ten iterations of a map-over of twelve items drew 141 bars in start order (ten
    iterations and twelve items were each too few to fold). Now each item's row sits under
    its iteration's header and names its item, four iterations drawn, eight items of each
    folded."""
    result = run(loop_of_map_overs(12, 10), provider=FakeProvider(), state={"count": 12})
    timeline = result.timeline()
    rows = rows_of(timeline.svg)
    assert len(rows) <= 40
    header, under = None, {}
    for kind, g in rows:
        if kind == "pass":
            header = g.get("data-index")
        elif kind == "bar" and g.get("data-node") == "define":
            assert g.get("data-path").startswith(f"[('rounds', {header}), ('each', ")
            under.setdefault(header, []).append(label_of(g).text)
    assert sorted(under) == ["0", "1", "2", "9"]
    assert under["0"][:3] == [
        "define (each item 0)",
        "define (each item 1)",
        "define (each item 2)",
    ]
    # the rows indented as nested: the header under the loop, its rows under it
    x = {g.get("data-node"): float(label_of(g).get("x")) for kind, g in rows if kind == "bar"}
    assert x["rounds"] < x["split"] and x["split"] < x["define"]
    (first,) = [g for kind, g in rows if kind == "pass" and g.get("data-index") == "0"]
    assert x["rounds"] < float(label_of(first).get("x")) < x["split"]
    # the items folded in each iteration drawn, the iterations between in one summary
    counts = {g.get("data-node"): g.get("data-count") for kind, g in rows if kind == "bars-summary"}
    assert counts["rounds"] == str(6 * (1 + 1 + 12))  # iterations 3 to 8: split, each, items
    text = str(timeline)
    assert "\u2026 define (each, 8 more items)" in text
    assert "\u2026 rounds (6 more iterations, 84 bars)" in text


def test_a_loop_in_a_map_over_shows_each_iteration_under_its_item():
    loop = Loop("refine").step(Agent("draft").instruct("Draft {word}. {dr?}").writes("dr"))
    each = MapOver("each").over("words", item="word").step(loop.max_iterations(3)).writes("out")
    result = run(each, provider=FakeProvider(), state={"words": ["a", "b", "c", "d"]})
    lines = [line.split("|")[0].rstrip() for line in str(result.timeline()).splitlines()[1:]]
    assert lines[:6] == [
        "  each",
        "    each item 0",
        "      refine",
        "        draft (refine iteration 0)",
        "        draft (refine iteration 1)",
        "        draft (refine iteration 2)",
    ]
    assert [line.strip() for line in lines].count("draft (refine iteration 2)") == 4
    assert [line for line in lines if "item" in line] == [f"    each item {i}" for i in range(4)]


LONG = "summarise_every_finding_of_the_research_step_" * 4 + "end"
WIDE = "調査結果を要約する" * 6  # each character two columns, about 11 px

MEASURE_LABELS = """
<script>
window.addEventListener("load", async () => {
  const svg = document.querySelector("svg[aria-label='run timeline']");
  const ticks = [...svg.querySelectorAll("line")].filter((l) => !l.classList.contains("wait"));
  const rows = [...svg.querySelectorAll("g.bar, g.pass, g.bars-summary")].map((g) => {
    const box = g.querySelector("text").getBBox();
    return { text: g.querySelector("text").textContent, left: box.x, right: box.x + box.width };
  });
  const chart = Math.min(...ticks.map((l) => Number(l.getAttribute("x1"))));
  await fetch("/result", { method: "POST", body: JSON.stringify(
    { page: location.pathname, cells: { rows, chart } }) });
});
</script>
"""


def test_long_and_wide_names_are_cut_to_the_margin_keeping_the_pass_whole_on_hover():
    """A name of 183 letters was cut in its middle to 40 characters, which cut out which
    item of which iteration the row was (``summarise_every_fin…d_items_list item 1)`` in
    every iteration alike); a name of 54 Chinese characters, cut to 40, began 70 px left of
    the picture, its start cut off. Each is cut at its end to the margin, laid out by Chromium, the
    item it ran in kept, the whole name on hover."""
    from tests.test_run_view_long_names import _laid_out

    each = MapOver("each_of_the_very_long_named_items").over("words", item="word")
    each = each.step(Agent(LONG).instruct("Define {word}.").writes("d")).writes("ds")
    body = each >> Agent(WIDE).instruct("Sum up {ds}.")
    pipeline = Loop("outer_loop_with_a_rather_long_name").step(body).max_iterations(2)
    result = run(pipeline, provider=FakeProvider(), state={"words": ["a", "b"]})
    svg = result.timeline().svg
    rows = rows_of(svg)
    long = [g for kind, g in rows if kind == "bar" and g.get("data-node") == LONG]
    assert len(long) == 4
    for g in long:
        said = label_of(g).text
        item = g.get("data-path")[-3]  # [('outer…', 1), ('each…', 0)]
        assert said.startswith("summarise_") and "\u2026 (" in said
        assert said.endswith(f"item {item})"), said
        assert g.find(SVG + "title").text.startswith(f"{LONG} (outer_loop_with_a_rather_long_")
    measured = _laid_out(svg, MEASURE_LABELS)
    chart = measured["chart"]
    assert len(measured["rows"]) == len(rows)
    for row in measured["rows"]:
        assert 0 <= row["left"] and row["right"] <= chart - 4, (row, chart)
    wide = [row["text"] for row in measured["rows"] if row["text"].startswith("調査")]
    assert len(wide) == 2 and all(text.endswith("\u2026") for text in wide)
    # in the text too: every label in 60 columns past its indent, the item kept
    lines = str(result.timeline()).splitlines()[1:]
    assert all("item" in line.split("|")[0] for line in lines if "summarise" in line)


def test_a_routes_branch_is_indented_under_the_route_as_in_the_node_table():
    from irgraph import Route

    fix, answer = Agent("fix").instruct("Fix.").writes("p"), Agent("answer").instruct("A.")
    route = Route("triage").on("category").when("bug", fix).otherwise(answer.writes("r"))
    body = route >> Agent("after").instruct("Go on from {p?}{r?}.").writes("z")
    pipeline = Agent("classify").instruct("Classify.").writes("category") >> Loop("rounds").step(
        body
    ).max_iterations(2)
    result = run(pipeline, provider=FakeProvider(responses={"classify": "bug"}))
    lines = [line.split("|")[0].rstrip() for line in str(result.timeline()).splitlines()[1:]]
    assert lines[:6] == [
        "  classify",
        "  rounds",
        "    rounds iteration 0",
        "      triage",
        "        fix",
        "      after",
    ]
    depth = {row["node"]: row["depth"] for row in result.view().rows()}
    assert depth["fix"] == depth["triage"] + 1 == depth["after"] + 1


def test_a_fan_out_in_a_routes_branch_is_summarised_beside_its_own_first_branch():
    """A route whose branches each fan out put every branch's agents in one side-by-side group
    (they share the route and no predecessor), so the taken branch's summary was named
    after a node of the branch not taken: ``… 22 more branches beside b0`` under z0, z1, z2."""
    from irgraph import Route

    def fan(prefix, width):
        agents = [
            Agent(f"{prefix}{i}").instruct("Go.").writes(f"{prefix}{i}") for i in range(width)
        ]
        return functools.reduce(operator.or_, agents)

    route = Route("triage").on("category").when("bug", fan("b", 5)).otherwise(fan("z", 25))
    pipeline = Agent("classify").instruct("Classify.").writes("category") >> route
    result = run(pipeline, provider=FakeProvider(responses={"classify": "other"}))
    summaries = [
        label_of(g).text for kind, g in rows_of(result.timeline().svg) if kind == "bars-summary"
    ]
    assert len(summaries) == 1 and "beside z0" in summaries[0], summaries


def test_a_summary_of_items_keeps_its_count_when_its_map_over_name_is_long():
    """A long map-over's name in a summary row's tail was cut in its middle, and the count went
    with it: ``… define_the_wo… (define…re items)``; now the name is cut at its end and the
    count stays whole, as an item row keeps its number (``(define_… item 0)``)."""
    step = Agent("define_the_word_carefully").instruct("Define {word}.").writes("d")
    each = MapOver("define_every_single_word_of_the_topic").over("words", item="word")
    pipeline = Loop("rounds").step(each.step(step).writes("defs")).max_iterations(2)
    words = [f"w{i}" for i in range(13)]
    result = run(pipeline, provider=FakeProvider(), state={"words": words})
    rows = rows_of(result.timeline().svg)
    summaries = [label_of(g).text for kind, g in rows if kind == "bars-summary"]
    items = [label_of(g).text for kind, g in rows if kind == "bar" and "item" in label_of(g).text]
    assert summaries and all(re.search(r", \d+ more items\)$", text) for text in summaries)
    assert items and all(re.search(r"\u2026 item \d+\)$", text) for text in items), items
