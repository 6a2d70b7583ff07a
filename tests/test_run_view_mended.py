"""What an outside trial of the run view found, each checked against a real run: waits for a
model-call slot are not working time, the prediction costs the run that happened, pictures
stay well-formed for any name, and statuses name exactly what failed and what was not taken."""

from __future__ import annotations

import itertools
import threading
import time
import xml.dom.minidom
from typing import Any

import attrs
import pytest

from irgraph import (
    Agent,
    Event,
    IrgraphError,
    Loop,
    MapOver,
    Route,
    RunError,
    RunResult,
    Transform,
    run,
    to_graph,
)
from irgraph.events import Call
from irgraph.run_progress import RunProgress
from irgraph.testing import FakeProvider

LATENCY = 0.02
EACH = MapOver("each").over("xs", item="x").step(Agent("work").instruct("Do {x}.").writes("y"))


def test_a_wait_for_a_model_call_slot_is_not_working_time():
    """With max_concurrency=1 four 20 ms calls run one after another: the bars must not
    overlap, each lasts its call, and the node's mean is ~20 ms, not the 50 ms average of
    the waits."""
    result = run(
        EACH.writes("ys"),
        provider=FakeProvider(latency=LATENCY),
        state={"xs": ["a", "b", "c", "d"]},
        max_concurrency=1,
    )
    view = result.view(concurrency=1)
    bars = sorted((b for b in view.timeline.bars if b.node == "work"), key=lambda bar: bar.working)
    assert len(bars) == 4
    for before, after in itertools.pairwise(bars):
        assert after.working >= before.end - 1e-6  # one at a time, as the run ran
    calls = {tuple(c.path): c.end - c.start for c in result.calls}
    for bar in bars:  # each holds its call, and (one at a time) none holds another's wait
        assert bar.duration is not None and bar.duration >= calls[bar.path] - 1e-6
    assert sum(bar.waited for bar in bars) >= 2.5 * LATENCY  # 0 + 1 + 2 + 3 calls' waits
    mean = sum(bar.duration or 0.0 for bar in bars) / len(bars)
    assert view.facts.durations()["work"] == pytest.approx(mean)  # the bars', not the waits
    assert "waited" in view.timeline.text() and "class='wait'" in view.timeline.svg


def test_a_bar_that_waited_for_a_slot_works_from_when_its_call_started():
    """The wait a scheduler measures starts after the node's prompt is made: a bar that
    worked from its start plus that wait began before its call did, and overlapped the bar
    whose call held the slot (seen on a busy machine). It works from its call's start."""
    path = (("each", 1),)
    trace = [
        Event("work", "start", 10.0, (("each", 0),)),
        Event("work", "start", 10.0, path),
        Event("work", "end", 10.030, (("each", 0),)),
        Event("work", "end", 10.050, path),
    ]
    calls = [  # the second asked for a slot at 10.002 (its prompt took 2 ms), got it at 10.031
        Call("work", (("each", 0),), "Do a.", "x", None, 1, 10.0, 10.029),
        Call("work", path, "Do b.", "x", None, 1, 10.031, 10.049, waited=0.029),
    ]
    result = RunResult({}, trace, {}, backend="asyncio", calls=calls, graph=to_graph(EACH))
    first, second = sorted(result.view().timeline.bars, key=lambda bar: bar.path)
    assert second.working == pytest.approx(0.031) and second.working >= first.end
    assert second.duration == pytest.approx(0.019) and second.waited == pytest.approx(0.031)


def stop_at_once(state: Any) -> bool:
    return True


def test_the_prediction_costs_the_iterations_and_items_the_run_had():
    loop = Loop("refine").step(Agent("editor").instruct("Polish.").writes("notes"))
    result = run(loop.until(stop_at_once).max_iterations(5), provider=FakeProvider(latency=LATENCY))
    view = result.view()
    timeline = view.timeline
    assert timeline.predicted is not None
    # the one pass the run had, at the editor's mean time (not max_iterations = 5 of them);
    # against its own measure, not the wall clock, which a busy machine stretches elsewhere
    assert timeline.predicted == pytest.approx(view.facts.durations()["editor"], rel=0.1)


@pytest.mark.parametrize("name", ["esc\x1bape", "bell\x07", "nul\x00l"])
def test_pictures_stay_well_formed_xml_for_control_characters_in_names(name, tmp_path):
    pipeline = Agent(name).instruct("Hi.").writes("x") >> Agent("b").instruct("Got {x}.")
    result = run(pipeline, provider=FakeProvider())
    for svg in (result.diagram().svg, result.timeline().svg):
        xml.dom.minidom.parseString(svg)
    result.diagram().save(tmp_path / "run.svg")
    xml.dom.minidom.parse(str(tmp_path / "run.svg"))


def test_only_the_failed_item_is_failed_its_siblings_were_stopped():
    released = threading.Event()  # the siblings are still at work when "b" fails

    def fails_on_b(x: str) -> str:
        if x == "b":
            raise ValueError("bad b")
        released.wait(60)
        return x

    pipeline = Agent("pre").instruct("Go.").writes("z") >> MapOver("each").over(
        "xs", item="x"
    ).step(Transform("t", fails_on_b).reads("x").writes("y")).writes("ys")
    try:
        with pytest.raises(RunError) as info:
            run(pipeline, provider=FakeProvider(), state={"xs": ["a", "b", "c"]})
    finally:
        released.set()
    bars = {b.path: b.status for b in info.value.view().timeline.bars if b.node == "t"}
    assert bars == {
        (("each", 0),): "cancelled",
        (("each", 1),): "failed",
        (("each", 2),): "cancelled",
    }


def test_the_branch_a_route_did_not_take_is_not_taken_when_the_taken_one_fails():
    triage = (
        Route("triage")
        .on("category")
        .when("bug", Agent("fix").instruct("Fix."))
        .otherwise(Agent("answer").instruct("Answer."))
    )
    pipeline = Agent("classify").instruct("Go.").writes("category") >> triage
    fake = FakeProvider(responses={"classify": "bug"}, fail={"fix": 1})
    with pytest.raises(RunError) as info:
        run(pipeline, provider=fake)
    status = info.value.view().facts.status
    assert status == {
        "classify": "done",
        "triage": "failed",
        "fix": "failed",
        "answer": "skipped",
    }


@pytest.mark.parametrize("word", ["title", "Title", "click", "section", "dateFormat"])
def test_gantt_task_names_are_never_read_as_gantt_statements(word):
    pipeline = Agent("draft").instruct("Go.").writes("d") >> Agent(word).instruct("For {d}.")
    gantt = run(pipeline, provider=FakeProvider()).timeline().to_mermaid()
    tasks = [line.strip() for line in gantt.splitlines() if " :" in line]
    assert len(tasks) == 2
    assert [task for task in tasks if task.lower().startswith(word.lower())] == []
    assert f"\u200b{word} :crit, done" in gantt


def test_gantt_marks_reused_executions_done_and_an_empty_title_gives_none():
    pipeline = Agent("a").instruct("Hi.").writes("x") >> Agent("b").instruct("Got {x}.")
    result = attrs.evolve(run(pipeline, provider=FakeProvider()), reused=["a"])
    gantt = result.timeline().to_mermaid(title="")
    assert "a :crit, done" in gantt or "a :done" in gantt
    assert "title" not in gantt


def test_a_view_of_another_pipeline_is_refused_naming_the_nodes():
    pipeline = Agent("a").instruct("Hi.").writes("x") >> Agent("b").instruct("Got {x}.")
    result = run(pipeline, provider=FakeProvider())
    with pytest.raises(IrgraphError, match=r"does not have \('a', 'b'\).*pass that pipeline"):
        result.view(Agent("writer").instruct("Hello."))


def test_mermaid_of_a_view_read_from_the_trace_says_to_pass_the_pipeline():
    pipeline = Agent("a").instruct("Hi.").writes("x") >> Agent("b").instruct("{x}")
    bare = attrs.evolve(run(pipeline, provider=FakeProvider()), graph=None)
    with pytest.raises(IrgraphError, match=r"result\.diagram\(pipeline\)\.to_mermaid\(\)"):
        bare.diagram().to_mermaid()
    assert "class n" in bare.diagram(pipeline).to_mermaid()


def test_mermaid_of_a_run_colours_loops_and_map_overs_too():
    result = run(EACH.writes("ys"), provider=FakeProvider(), state={"xs": ["a"]})
    text = result.diagram().to_mermaid()
    classed = {n for line in text.splitlines() if line.startswith("class ") for n in
               line.split()[1].split(",")}  # fmt: skip
    assert len(classed) == 2  # the map-over's subgraph and its agent


def test_data_only_arrows_are_dashed_and_drawn_under_the_nodes():
    pipeline = (
        Agent("a").instruct("Go.").writes("x")
        >> Agent("b").instruct("B.").writes("y")
        >> Agent("c").instruct("{x} {y}")
    )
    svg = run(pipeline, provider=FakeProvider()).diagram().svg
    edges = [part for part in svg.split("<path class='edge'")[1:]]
    assert sum("stroke-dasharray" in e.split("/>")[0] for e in edges) == 1  # a -> c
    assert svg.rindex("class='edge'") < svg.index('data-node="b"')


def test_headlines_count_one_node_in_the_singular_and_errors_take_a_concurrency():
    result = run(Agent("a").instruct("Hi."), provider=FakeProvider())
    assert ": 1 node (" in result.view().headline()
    with pytest.raises(RunError) as info:
        run(Agent("a").instruct("Hi."), provider=FakeProvider(fail={"a": 1}))
    assert info.value.view(concurrency=2).timeline.concurrency == 2


def test_saving_into_a_missing_directory_says_so(tmp_path):
    result = run(Agent("a").instruct("Hi."), provider=FakeProvider())
    missing = tmp_path / "no" / "run.svg"
    with pytest.raises(IrgraphError, match="there is no directory .*create it first"):
        result.diagram().save(missing)


@pytest.mark.parametrize("stream", ["stderr", 2])
def test_a_progress_stream_that_cannot_be_written_is_refused(stream):
    with pytest.raises(IrgraphError, match="stream must be a text stream with write"):
        RunProgress(stream=stream)


def test_the_critical_path_marks_the_map_over_item_the_run_waited_for():
    """Items 0 and 1 end before item 2 (which waits for a slot): only item 2 held up the
    end, so only its bar is on the critical path, in every picture."""
    pipeline = EACH.writes("ys") >> Agent("sum").instruct("{ys}")
    result = run(
        pipeline,
        provider=FakeProvider(latency=0.01),
        state={"xs": ["a", "b", "c"]},
        max_concurrency=2,
    )
    timeline = result.timeline(concurrency=2)
    items = [b for b in timeline.bars if b.node == "work"]
    last = max(items, key=lambda bar: bar.end or 0.0)
    assert {(b.node, b.path) for b in items} & timeline.on_path == {(last.node, last.path)}
    assert ("sum", ()) in timeline.on_path
    gantt_crit = [
        line for line in timeline.to_mermaid().splitlines() if "work" in line and "crit" in line
    ]
    assert len(gantt_crit) == 1


def test_live_progress_never_counts_back_and_leaves_out_branches_not_taken():
    from irgraph import to_graph
    from irgraph.run_progress import ProgressFrame, live_facts

    pipeline = (
        Loop("polish").step(Agent("editor").instruct("Polish.").writes("notes")).max_iterations(3)
        >> Agent("classify").instruct("{notes}").writes("category")
        >> Route("triage")
        .on("category")
        .when("bug", Agent("fix").instruct("Fix."))
        .otherwise(Agent("answer").instruct("Answer."))
    )
    events: list[Any] = []
    run(pipeline, provider=FakeProvider(responses={"classify": "bug"}), on_event=events.append)
    G = to_graph(pipeline)
    counts = []
    for end in range(1, len(events) + 1):
        frame = ProgressFrame(live_facts(G, events[:end]), 0.0, False)
        counts.append(frame.finished)
    assert counts == sorted(counts)  # never back, loop iterations included
    assert str(frame).startswith(f"{len(G) - 1}/{len(G) - 1} nodes done")  # 'answer' not taken


def test_real_mermaid_reads_gantt_tasks_named_like_its_keywords(mermaid_render):
    names = ["title", "click", "section", "dateFormat", "accTitle"]
    pipeline = Agent("start").instruct("Go.").writes("k0")
    for i, name in enumerate(names, 1):
        pipeline = pipeline >> Agent(name).instruct(f"{{k{i - 1}}}").writes(f"k{i}")
    result = run(pipeline, provider=FakeProvider())
    report = mermaid_render([result.timeline().to_mermaid(), result.diagram().to_mermaid()])
    assert report["fatal"] is None, report["fatal"]
    assert [r["ok"] for r in report["results"]] == [True, True], report["results"]


def test_a_stopped_run_is_measured_until_it_stopped_not_its_last_finished_node():
    """Cancelled 0.3 s after the slow agent started (not 0.3 s after arun was called, which
    on a loaded machine includes compiling and validating): measured reaches past the slow
    agent's start by about that, and the agent it stopped is drawn until then, not as a
    sliver at the end of the 50 ms the first agent took."""
    import asyncio

    from irgraph import arun

    pipeline = Agent("a").instruct("Go.").writes("x") >> Agent("slow").instruct("{x}")
    fake = FakeProvider(latency={"a": 0.05, "slow": 30})

    async def cancelled_after_slow_started(seconds: float) -> BaseException:
        started = asyncio.Event()

        def told(event: Event) -> None:
            if event.node == "slow" and event.event == "start":
                started.set()

        task = asyncio.create_task(arun(pipeline, provider=fake, on_event=told))
        await asyncio.wait_for(started.wait(), timeout=30)
        await asyncio.sleep(seconds)
        task.cancel()
        try:
            await task
        except asyncio.CancelledError as error:
            return error
        raise AssertionError("the run should have been cancelled")

    partial = asyncio.run(cancelled_after_slow_started(0.3)).partial  # type: ignore[attr-defined]
    timeline = partial.view().timeline
    (slow,) = [bar for bar in timeline.bars if bar.node == "slow"]
    assert slow.status == "cancelled" and slow.end is None
    assert slow.start >= 0.05
    assert timeline.measured - slow.start > 0.25
    assert "waited" not in timeline.text()  # no slot to wait for without max_concurrency


class SlowText:
    """A state value that takes 20 ms to render into a prompt."""

    def __str__(self) -> str:
        time.sleep(0.02)
        return "slow text"

    __format__ = lambda self, spec: str(self)  # noqa: E731


def test_a_runs_view_predicts_with_the_runs_own_max_concurrency_unless_told():
    """result.view() (what Jupyter shows) predicted as if calls were unbounded: 4 items of
    20 ms at max_concurrency=1 were predicted to take 20 ms where they took 80."""
    state = {"xs": ["a", "b", "c", "d"]}
    result = run(
        EACH.writes("ys"), provider=FakeProvider(latency=LATENCY), state=state, max_concurrency=1
    )
    assert result.max_concurrency == 1
    told, own = result.view(concurrency=1).timeline, result.view().timeline
    assert own.predicted == told.predicted >= 4 * LATENCY * 0.9
    # Four calls at once take one call's time, whatever a loaded machine made that time.
    four = result.view(concurrency=4).timeline.predicted
    assert four is not None and own.predicted is not None
    assert four < own.predicted / 2
    assert run(EACH.writes("ys"), provider=FakeProvider(), state=state).max_concurrency is None

    def fails(x: str) -> str:
        raise ValueError("no")

    failing = EACH.writes("ys") >> Transform("t", fails).reads("ys").writes("z")
    with pytest.raises(RunError) as info:
        run(failing, provider=FakeProvider(latency=LATENCY), state=state, max_concurrency=1)
    assert info.value.max_concurrency == 1
    assert info.value.view().timeline.predicted >= 4 * LATENCY * 0.9


def test_time_before_a_call_is_a_wait_only_when_a_slot_was_waited_for():
    """The CI flake of the test above: 4 ms between an agent's start and its call (a busy
    machine) was drawn as "waited 4 ms" in a run with no max_concurrency. Rendering a prompt
    that takes 20 ms is the agent's own work, not a wait; a wait is what the scheduler
    measured at the slot, which the second call here (max_concurrency=1) really made."""
    pipeline = Transform("make", lambda: SlowText()).writes("x") >> Agent("a").instruct("{x}")
    result = run(pipeline, provider=FakeProvider(), on_event=lambda event: None)
    (bar,) = [bar for bar in result.view().timeline.bars if bar.node == "a"]
    assert bar.duration is not None and bar.duration >= 0.015  # the rendering is work
    assert bar.waited == 0.0 and "waited" not in result.view().timeline.text()

    limited = run(
        EACH.writes("ys"),
        provider=FakeProvider(latency=LATENCY),
        state={"xs": ["a", "b"]},
        max_concurrency=1,
    )
    first, second = sorted(limited.calls, key=lambda call: call.start)
    assert first.waited == 0.0  # it found its slot free
    # The second asked while the first held the slot, and started once the first had ended:
    # its wait is that stretch, however long a loaded machine made it.
    assert second.start - second.waited < first.end <= second.start
    assert second.waited > 0.0


def fails_after_a_while(x: str) -> str:
    time.sleep(0.15)
    raise ValueError("no")


def test_a_failed_run_is_measured_until_it_failed():
    step = Transform("t", fails_after_a_while).reads("x").writes("y")
    with pytest.raises(RunError) as info:
        run(Agent("a").instruct("Go.").writes("x") >> step, provider=FakeProvider())
    assert info.value.view().timeline.measured >= 0.14


def test_a_run_view_saves_as_a_page_or_text_and_refuses_other_suffixes(tmp_path):
    pipeline = Agent("a").instruct("Go.").writes("x") >> Agent("b").instruct("{x}")
    view = run(pipeline, provider=FakeProvider()).view()
    view.save(tmp_path / "run.html")
    page = (tmp_path / "run.html").read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and view.html() in page and "<svg" in page
    view.save(tmp_path / "run.txt")
    assert (tmp_path / "run.txt").read_text(encoding="utf-8") == view.text() + "\n"
    with pytest.raises(IrgraphError, match=r"not \.svg; save it as '.*run\.html' or '.*run\.txt'"):
        view.save(tmp_path / "run.svg")
    assert not (tmp_path / "run.svg").exists()


def test_a_gate_row_shows_what_the_gate_asked_filled_in_not_its_template():
    """The row showed "Approve {draft}?": what the human was really asked was not kept."""
    from irgraph import Gate

    review = (
        Agent("w").instruct("Draft {note?}").writes("draft")
        >> Gate("approve").message("Approve {draft}?").writes("note")
    ) * 2
    asked: list[str] = []
    result = run(review, provider=FakeProvider(), on_gate=lambda r: asked.append(r.message) or "ok")
    assert [ask.message for ask in result.gates] == asked and len(asked) == 2
    assert [ask.path[0][1] for ask in result.gates] == [0, 1]
    rows = {row["node"]: row for row in result.view().rows()}
    assert rows["approve"]["asked"] == asked[1] and "{draft}" not in asked[1]

    def refuses(request: Any) -> str:
        raise ValueError("no one is here")

    with pytest.raises(RunError) as info:
        run(review, provider=FakeProvider(), on_gate=refuses)
    (ask,) = info.value.gates  # asked, never answered: still on record
    rows = {row["node"]: row for row in info.value.view().rows()}
    assert rows["approve"]["asked"] == ask.message and ask.message.startswith("Approve <w:")
