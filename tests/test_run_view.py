"""How a run shows itself (irgraph.run_view): real runs on the asyncio backend and the fake
provider, read back from the SVG (as XML), the mermaid text (our parser, and real mermaid in
Chromium when available) and the plain text."""

from __future__ import annotations

import html
import re
import traceback
import xml.etree.ElementTree as ET

import attrs
import pytest

from irgraph import (
    Agent,
    IrgraphError,
    Loop,
    MapOver,
    PipelineError,
    Route,
    RunError,
    Transform,
    run,
    to_graph,
)
from irgraph.testing import FakeProvider
from tests.support.diagram_parsers import parse_mermaid

SVG = "{http://www.w3.org/2000/svg}"


def split(topic):
    return topic.split()


def explode(notes):
    raise ValueError("no notes today")


def pipeline(last=None):
    """A map-over, a parallel pair, a loop and a route (and optionally a step after them)."""
    built = (
        Transform("split", split).reads("topic").writes("words")
        >> MapOver("define_all")
        .over("words", item="word")
        .step(Agent("define").instruct("Define {word}.").writes("definition"))
        .writes("definitions")
        >> (
            Agent("pro").instruct("Argue for {definitions}.").writes("pro")
            | Agent("con").instruct("Argue against {definitions}.").writes("con")
        )
        >> Loop("polish")
        .step(Agent("editor").instruct("Polish {pro} {con}. {notes?}").writes("notes"))
        .max_iterations(2)
        >> Agent("classify").instruct("Classify {notes}.").writes("category")
        >> Route("triage")
        .on("category")
        .when("bug", Agent("fix").instruct("Fix {notes}.").writes("patch"))
        .otherwise(Agent("answer").instruct("Answer {notes}.").writes("reply"))
    )
    return built if last is None else built >> last


PROVIDER = FakeProvider(latency=0.02, responses={"classify": "bug"})
STATE = {"topic": "owls and cats"}


@pytest.fixture(scope="module")
def finished():
    return run(pipeline(), provider=PROVIDER, state=STATE)


def nodes_by_status(svg: str, cls: str = "node") -> dict[str, str]:
    root = ET.fromstring(svg)  # well-formed XML, or this raises
    assert root.tag == SVG + "svg"
    return {
        g.get("data-node"): g.get("data-status") or g.get("class").split()[1][7:]
        for g in root.iter(SVG + "g")
        if (g.get("class") or "").split()[:1] == [cls]
    }


def test_the_diagram_colours_every_node_by_what_happened(finished):
    diagram = finished.diagram(pipeline())
    statuses = nodes_by_status(diagram.svg)
    G = to_graph(pipeline())
    assert set(statuses) == set(G.nodes)
    assert statuses.pop("answer") == "skipped"  # the branch the route did not take
    assert set(statuses.values()) == {"done"}
    assert diagram._repr_svg_() == diagram.svg
    assert "define" in str(diagram) and "3\u00d7" in str(diagram)  # three items ran


def test_the_timeline_has_a_bar_per_execution_items_and_iterations_apart(finished):
    timeline = finished.timeline(pipeline())
    root = ET.fromstring(timeline.svg)
    bars = [g for g in root.iter(SVG + "g") if "bar" in (g.get("class") or "").split()]
    names = [g.get("data-node") for g in bars]
    assert names.count("define") == 3  # one per word
    assert names.count("editor") == 2  # one per iteration
    assert sorted(set(names)) == sorted(set(to_graph(pipeline())) - {"answer"})
    assert len(bars) == len([e for e in finished.trace if e.event == "start"])
    paths = sorted(g.get("data-path") for g in bars if g.get("data-node") == "define")
    assert paths == [f"[('define_all', {i})]" for i in range(3)]
    critical = {g.get("data-node") for g in bars if "critical" in g.get("class").split()}
    assert {"split", "classify", "fix", "editor"} <= critical and "answer" not in critical
    assert timeline.predicted is not None and timeline.measured > 0
    assert "predicted" in str(timeline) and "measured" in str(timeline)


def test_the_mermaid_texts_parse(finished):
    flow = finished.diagram(pipeline()).to_mermaid()
    parsed = parse_mermaid(flow)
    assert parsed is not None
    assert "classDef skipped" in flow and "classDef done" in flow
    gantt = finished.timeline(pipeline()).to_mermaid().splitlines()
    assert gantt[:4] == ["gantt", "    title Run timeline", "    dateFormat x",
                         "    axisFormat %S.%L s"]  # fmt: skip
    tasks = [line for line in gantt if " :" in line]
    assert len(tasks) == len([e for e in finished.trace if e.event == "start"])
    for line in tasks:
        name, _, rest = line.strip().rpartition(" :")
        tags, start, end = rest.split(", ")[:-3], *map(int, rest.split(", ")[-2:])
        assert name and start < end and set(tags) <= {"crit", "done", "active"}


def test_the_result_displays_itself_as_html_with_a_plain_text_fallback(finished):
    bundle = run(pipeline(), provider=PROVIDER, state=STATE)._repr_mimebundle_()
    assert set(bundle) == {"text/html", "text/plain"}
    assert bundle["text/html"].count("<svg") == 2 and "<details" in bundle["text/html"]
    assert "<script" not in bundle["text/html"]
    assert bundle["text/plain"].startswith("Run finished on asyncio")
    view = finished.view(pipeline())
    rows = {row["node"]: row for row in view.rows()}
    assert rows["define"]["runs"] == 3 and rows["fix"]["asked"] == f"Fix {finished.state['notes']}."
    assert rows["classify"]["answer"] == "bug" and rows["answer"]["runs"] == 0


def test_a_result_carries_its_graph_so_its_diagram_needs_no_pipeline(finished):
    assert nodes_by_status(finished.diagram().svg) == nodes_by_status(
        finished.diagram(pipeline()).svg
    )


def test_without_a_graph_the_diagram_is_read_from_the_trace(finished):
    bare = attrs.evolve(finished, graph=None)
    statuses = nodes_by_status(bare.diagram().svg)
    assert set(statuses) == {e.node for e in finished.trace}
    assert set(statuses.values()) == {"done"}
    assert bare.view().facts.graph.nodes["define"]["parent"] == "define_all"


def failing_run():
    events = []
    with pytest.raises(RunError) as caught:
        run(
            pipeline(Transform("explode", explode).reads("notes").writes("boom"))
            >> Agent("after").instruct("After {boom}."),
            provider=PROVIDER,
            state=STATE,
            on_event=events.append,
        )
    return caught.value, events


def test_a_failed_run_shows_the_failed_node_red_and_the_rest_not_reached():
    error, events = failing_run()
    failed = pipeline(Transform("explode", explode).reads("notes").writes("boom")) >> Agent(
        "after"
    ).instruct("After {boom}.")
    statuses = nodes_by_status(error.view(failed, trace=events).diagram.svg)
    assert statuses["explode"] == "failed" and statuses["after"] == "not_reached"
    assert statuses["fix"] == "done" and statuses["answer"] == "skipped"
    # Without a trace, what completed and the failing node still tell the story.
    statuses = nodes_by_status(error.view(failed).diagram.svg)
    assert statuses["explode"] == "failed" and statuses["after"] == "not_reached"
    assert statuses["split"] == "done"
    timeline = error.view(failed, trace=events).timeline
    assert [b.status for b in timeline.bars if b.node == "explode"] == ["failed"]
    bundle = error._repr_mimebundle_()
    assert "Run failed at 'explode'" in bundle["text/plain"]
    assert "Run failed at 'explode'" in html.unescape(bundle["text/html"])


def test_a_failed_run_gives_its_diagram_as_a_finished_one_does():
    """``error.timeline()`` was there for a failed run, but ``error.diagram()`` raised
    AttributeError where ``result.diagram()`` gives a finished run's."""
    error, _ = failing_run()
    diagram = error.diagram()
    assert nodes_by_status(diagram.svg)["explode"] == "failed"
    assert diagram.to_mermaid() == error.view().diagram.to_mermaid()


def test_a_run_picture_given_as_a_pipeline_is_named_as_one_in_one_line(finished):
    """``show(result.diagram())`` (or to_mermaid of a timeline) was refused with the whole
    picture as text pasted into the message, many lines long, and the advice to pass
    ``Agent('a') >> Agent('b')``."""
    from irgraph import show
    from irgraph.backends.mermaid import to_mermaid

    for piece, said in ((finished.diagram(), "diagram"), (finished.timeline(), "timeline")):
        for use in (show, to_mermaid, to_graph):
            with pytest.raises(PipelineError) as refused:
                use(piece)
            message = str(refused.value)
            assert "\n" not in message and f"got a run's {said} (a " in message
            assert "result.graph" in refused.value.problems[0].hint


def test_a_failed_iteration_counts_in_the_diagram_as_in_the_table():
    from irgraph.testing import FunctionProvider

    answered = []

    async def answer(request):
        answered.append(request)
        if len(answered) == 4:
            raise RuntimeError("the fourth call fails")
        return "ok"

    loop = Loop("again").step(Agent("x").instruct("go").writes("v")).max_iterations(5)
    with pytest.raises(RunError) as caught:
        run(loop, provider=FunctionProvider(answer))
    view = caught.value.view()
    (row,) = [r for r in view.rows() if r["node"] == "x"]
    assert row["runs"] == row["attempts"] == 4
    (line,) = [line for line in str(view.diagram).splitlines() if line.split()[1:2] == ["x"]]
    assert "4\u00d7" in line


def test_a_resumed_result_marks_its_nodes_reused(finished):
    from irgraph.events import RunResult

    kept = RunResult(finished.state, [], finished.outputs, backend="asyncio")
    statuses = nodes_by_status(kept.diagram(pipeline()).svg)
    assert statuses["define"] == "reused" and statuses["answer"] == "skipped"
    marked = RunResult(finished.state, finished.trace, finished.outputs, backend="asyncio",
                       reused=["pro"])  # fmt: skip
    assert nodes_by_status(marked.diagram(pipeline()).svg)["pro"] == "reused"
    # its timeline bars too: a reused node's execution was a cache hit, not new work
    bars = nodes_by_status(marked.timeline(pipeline()).svg, "bar")
    assert bars["pro"] == "reused" and set(bars.values()) == {"done", "reused"}
    # its stored call is shown, but counted as no model call
    marked.calls = [c for c in finished.calls if c.node == "pro"]
    (row,) = [r for r in marked.view(pipeline()).rows() if r["node"] == "pro"]
    assert row["attempts"] == 0 and row["asked"] == marked.calls[0].prompt
    assert "  pro              reused" in str(marked.view(pipeline()))


def test_real_mermaid_draws_the_status_flowchart_and_the_gantt(finished, mermaid_render):
    error, events = failing_run()
    texts = [
        finished.diagram(pipeline()).to_mermaid(),
        finished.timeline(pipeline()).to_mermaid(),
        error.view(trace=events).timeline.to_mermaid(),
    ]
    report = mermaid_render(texts)
    assert report["fatal"] is None, report["fatal"]
    assert [r["ok"] for r in report["results"]] == [True, True, True], report["results"]


def test_the_pieces_save_in_the_format_their_suffix_names(finished, tmp_path):
    diagram, timeline = finished.diagram(), finished.timeline()
    for piece, name in ((diagram, "run"), (timeline, "timeline")):
        piece.save(tmp_path / f"{name}.svg")
        piece.save(str(tmp_path / f"{name}.MMD"))
        piece.save(tmp_path / f"{name}.txt")
        ET.fromstring((tmp_path / f"{name}.svg").read_text(encoding="utf-8"))
        assert (tmp_path / f"{name}.MMD").read_text(encoding="utf-8") == piece.to_mermaid()
        assert (tmp_path / f"{name}.txt").read_text(encoding="utf-8") == str(piece)
        with pytest.raises(
            IrgraphError, match=r"as '.*\.png': the suffix .* \.svg, \.mmd or \.txt, not \.png"
        ):
            piece.save(tmp_path / f"{name}.png")
        assert not (tmp_path / f"{name}.png").exists()
        with pytest.raises(IrgraphError) as info:  # a folder, where the file was meant
            piece.save(tmp_path)
        assert f"it is a directory; name a file in it, e.g. '{tmp_path}/run.svg'" in str(info.value)


@pytest.mark.parametrize("limit", [0, -2, 1.5, "4", True])
def test_a_bad_concurrency_for_the_prediction_is_refused(finished, limit):
    refused = r"concurrency .* must be a whole number of at least 1, or None \(got "
    with pytest.raises(IrgraphError, match=refused):
        finished.timeline(concurrency=limit)
    with pytest.raises(IrgraphError, match="concurrency"):
        finished.view(concurrency=limit)


def test_outside_ipython_the_traceback_hook_gives_the_plain_traceback(capsys):
    error, _ = failing_run()
    lines = error._render_traceback_()  # IPython's hook; the kernel case is notebook 06's
    assert lines == traceback.format_exception(error)
    assert capsys.readouterr().out == ""  # no view printed where nothing displays it


def test_a_dataflow_run_is_predicted_and_its_critical_path_drawn_on_its_own_schedule():
    """The view predicted a schedule="dataflow" run as if each step waited for the one
    before it (three times the measured length here) and marked every step critical."""
    from irgraph.analysis import makespan
    from irgraph.backends.asyncio_backend import AsyncioBackend

    reads = [Agent(n).instruct("About {topic}.").writes(f"{n}_out") for n in ("a", "b", "c")]
    pipeline = reads[0] >> reads[1] >> reads[2]
    backend = AsyncioBackend(provider=FakeProvider(latency=0.02), schedule="dataflow")
    result = run(pipeline, backend=backend, state={"topic": "owls"})
    assert result.schedule == "dataflow"
    timeline = result.view().timeline
    durations = timeline.facts.durations()
    assert timeline.predicted == makespan(result.graph, durations, schedule="dataflow")
    assert timeline.predicted == max(durations.values())
    assert len(timeline.critical) == 1
    # The same run on the default schedule waits step by step.
    topological = run(pipeline, provider=FakeProvider(latency=0.02), state={"topic": "owls"})
    assert topological.view().timeline.critical == ["a", "b", "c"]


def test_the_branch_a_route_on_the_critical_path_took_is_marked_in_every_iteration():
    """The timeline marked the route in both iterations but only the longest branch's step:
    in the iteration that took the other branch, its step was left out."""
    classify = Agent("cls").instruct("Classify {t}.").output({"enum": ["bug", "q"]}).writes("c")
    fix, answer = Agent("fix").instruct("Fix {t}.").writes("n"), Agent("ans").instruct("{t}")
    triage = Route("tri").on("c").when("bug", fix).otherwise(answer.writes("n"))
    provider = FakeProvider(
        latency={"cls": 0.01, "fix": 0.03, "ans": 0.01}, responses={"cls": ['"bug"', '"q"']}
    )
    result = run(Loop("L").step(classify >> triage).max_iterations(2), provider=provider,
                 state={"t": "x"})  # fmt: skip
    timeline = result.view().timeline
    ran = {(bar.node, bar.path) for bar in timeline.bars}
    assert ran == timeline.on_path  # one after another: the run waited for every one
    assert {node for node, _ in ran} == {"L", "cls", "tri", "fix", "ans"}
    assert critical_path_of(result).by_branch["tri"] == {'"bug"': ["fix"], "otherwise": ["ans"]}


def critical_path_of(result):
    from irgraph.analysis import critical_path

    return critical_path(result.graph, result.view().facts.durations())


def test_timeline_rows_of_nested_items_keep_their_item_numbers_apart():
    each = MapOver("each_paper").over("papers", item="paper")
    each = each.step(Agent("define").instruct("Define {paper}.").writes("d")).writes("ds")
    outer = Loop("outer_rounds").step(each).max_iterations(2)
    result = run(outer, provider=FakeProvider(), state={"papers": ["a", "b", "c"]})
    rows = [line.split("|")[0].strip() for line in str(result.timeline()).splitlines()[1:]]
    # each under the header of its loop iteration, which the row need not name again
    defines, header = [], None
    for row in rows:
        header = row if row.startswith("outer_rounds iteration") else header
        if row.startswith("define"):
            defines.append((header, row))
    assert len(defines) == 6 and len(set(defines)) == 6, defines
    assert defines[3] == ("outer_rounds iteration 1", "define (each_paper item 0)")


def test_a_failed_map_over_rows_preview_the_call_that_failed_not_a_stopped_sibling():
    def answer(request):
        if request.prompt == "a":
            raise RuntimeError("model refused item a")
        return "ok"

    each = MapOver("each").over("xs").step(Agent("w").instruct("{item}").writes("o")).writes("os")
    with pytest.raises(RunError) as caught:
        run(
            each,
            provider=FakeProvider(latency=0.05, responses={"w": answer}),
            state={"xs": ["a", "b"]},
        )
    (row,) = [r for r in caught.value.view().rows() if r["node"] == "w"]
    assert row["answer"] == "(no answer: RuntimeError('model refused item a'))"
    assert row["asked"] == "a"


def test_odd_names_and_long_labels_draw_well_formed_and_apart():
    noncharacter = Agent("a").instruct("x").writes("y") >> Agent("\ufffe").instruct("{y}")
    result = run(noncharacter, provider=FakeProvider())
    ET.fromstring(result.diagram().svg)
    ET.fromstring(result.timeline().svg)
    assert result.timeline().to_mermaid(title=None).startswith("gantt\n    dateFormat")
    long = MapOver("define_every_single_word").over("words")
    long = long.step(Agent("definer").instruct("{item}").writes("d")).writes("ds")
    svg = run(long, provider=FakeProvider(), state={"words": ["a", "b", "c"]}).timeline().svg
    labels = [
        t.text for t in ET.fromstring(svg).iter(f"{SVG}text") if t.text and "definer" in t.text
    ]
    assert len(labels) == 3 and len(set(labels)) == 3, labels


def test_seconds_read_as_they_round():
    from irgraph.run_status import seconds_text

    shown = [seconds_text(s) for s in (0.0005, 0.001, 0.9996, 59.996, float("nan"))]
    assert shown == ["<1 ms", "1 ms", "1.00 s", "1:00", "\u2014"]


def test_a_result_whose_graph_is_not_a_pipelines_still_displays():
    import networkx as nx

    result = run(Agent("a").instruct("x"), provider=FakeProvider())
    result.graph = nx.DiGraph([(1, 2)])
    assert "no run view" in result._repr_mimebundle_()["text/plain"]


def test_a_failed_run_is_predicted_with_what_its_unfinished_nodes_ran_for():
    """A node that never finished counted as 0 s: measured 312 ms, predicted 10 ms."""
    slow = Agent("slow").instruct("{x}").timeout(0.2).writes("s")
    pipeline = Agent("quick").instruct("q").writes("x") >> (slow | Agent("other").instruct("{x}"))
    latency = {"quick": 0.01, "slow": 5, "other": 5}
    with pytest.raises(RunError) as caught:
        run(pipeline, provider=FakeProvider(latency=latency))
    timeline = caught.value.view().timeline
    # "slow" ran its 0.2 s before it timed out, and the prediction is made of the run's own
    # node times, so it lies between them and the run's length (whatever the machine's speed)
    assert timeline.predicted is not None
    assert 0.2 * 0.99 <= timeline.predicted <= timeline.measured


def test_a_misspelt_option_to_save_is_named_with_the_option_meant(finished, tmp_path):
    """``result.timeline().save("t.svg", formt="svg")`` gave Python's bare TypeError."""
    for piece, who in (
        (finished.timeline(), "Timeline.save()"),
        (finished.diagram(), "StatusDiagram.save()"),
        (finished.view(), "RunView.save()"),
    ):
        said = f"{re.escape(who)} got the option 'formt', which it does not take. Its options: path"
        with pytest.raises(IrgraphError, match=said):
            piece.save(tmp_path / "t.svg", formt="svg")
        piece.save(path=tmp_path / "t.txt")  # the option it takes, given as a keyword
    assert not (tmp_path / "t.svg").exists()
