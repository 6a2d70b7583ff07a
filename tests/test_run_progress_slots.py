"""Live progress of a run with ``max_concurrency``: an agent that has started but waits for a
model-call slot is shown waiting, not running; and the final line's time is the run's own
measured time, as its run view says. Real asyncio runs; a provider that holds every call
until the run's events say enough agents wait orders them (no timing)."""

from __future__ import annotations

import asyncio
import io
import re
from typing import Any

import pytest

from irgraph import Agent, Event, MapOver, RunError, run
from irgraph.backends.asyncio_backend import AsyncioBackend
from irgraph.run_progress import ProgressFrame, RunProgress
from irgraph.run_status import seconds_text
from irgraph.testing import FakeProvider
from tests.support.terminal import Terminal, line_frames


def running_in(frame: str) -> set[str]:
    found = re.search(r"running: (.*?)(, \d+ waiting.*)? \(", frame)
    return set(found.group(1).split(", ")) if found else set()


class Held:
    """A provider whose calls all wait until ``go`` is set."""

    def __init__(self) -> None:
        self.go: asyncio.Event | None = None

    async def complete(self, request: Any) -> str:
        if self.go is None:
            self.go = asyncio.Event()
        # nobody told to wait (the events missing) must fail the test, not hang it
        await asyncio.wait_for(self.go.wait(), timeout=60)
        return "ok"


def released_after(provider: Held, waits: int, seen: list[Event], then: Any = None) -> Any:
    """An on_event handler keeping the events and letting the calls go once ``waits`` agents
    have been told to wait for a slot (``then()`` is called at that moment)."""

    def told(event: Event) -> None:
        seen.append(event)
        if event.event == "wait" and sum(e.event == "wait" for e in seen) == waits:
            if then is not None:
                then()
            if provider.go is None:
                provider.go = asyncio.Event()
            provider.go.set()

    return told


def test_an_agent_waiting_for_a_slot_shows_waiting_not_running():
    pipeline = Agent("first").instruct("Go.").writes("a") | Agent("second").instruct("Go.")
    screen, seen, held = Terminal(), [], Held()
    run(
        pipeline,
        provider=held,
        progress=RunProgress(stream=screen, every=0),
        on_event=released_after(held, 1, seen),
        max_concurrency=1,
    )
    frames = line_frames(screen.getvalue())
    waiter = next(e.node for e in seen if e.event == "wait")
    worker = "first" if waiter == "second" else "second"
    # the waiter is told to wait after its start and gets its slot when the worker is done
    assert [e.event for e in seen if e.node == waiter] == ["start", "wait", "slot", "end"]
    order = [(e.node, e.event) for e in seen]
    assert order.index((worker, "end")) < order.index((waiter, "slot"))
    # once told to wait (before, it was rendering its prompt), it never shows running
    # beside the worker: it shows waiting until the worker is done, then it runs
    waits = [i for i, f in enumerate(frames) if "1 waiting for a model-call slot" in f]
    assert waits and all(running_in(frames[i]) <= {worker} for i in waits), frames
    shown = [running_in(frame) for frame in frames[waits[0] : -1]]
    assert {worker, waiter} not in shown and {waiter} in shown, frames
    assert frames[-1].startswith("Run finished in ") and "(2 done)" in frames[-1]


def test_map_over_items_waiting_for_a_slot_are_counted_as_not_started_yet():
    work = Agent("work").instruct("Do {x}.").writes("y")
    each = MapOver("each").over("xs", item="x").step(work).writes("ys")
    progress, seen, held = RunProgress(stream=Terminal(), every=0), [], Held()
    frames: list[ProgressFrame | str] = []
    run(
        each,
        provider=held,
        state={"xs": list("abcd")},
        progress=progress,
        on_event=released_after(held, 2, seen, lambda: frames.append(progress.view())),
        max_concurrency=2,
    )
    (frame,) = frames  # two items called, two waiting for a slot
    assert isinstance(frame, ProgressFrame)
    assert frame.facts.status["work"] == "running"
    assert str(frame).startswith("0/2 nodes done, running: each, work, 2 waiting for a model")
    assert "running \u00b7 2 of 4" in frame.html()  # the diagram: 2 of the 4 items started
    done = [int(f.split("/")[0]) for f in line_frames(progress.stream.getvalue())[:-1]]  # type: ignore[union-attr]
    assert done == sorted(done)  # a node waiting for its next item's slot stays counted


def test_an_agent_waiting_alone_is_waiting_and_a_stopped_one_not_started():
    """With every open execution of a node waiting for a slot, the node waits; the run fails
    then, and the final frame calls it not started, as the run view does."""
    pipeline = (
        Agent("first").instruct("Go.").writes("a") | Agent("second").instruct("Go.").writes("b")
    ) >> Agent("after").instruct("{a} {b}")
    held, seen = Held(), []
    progress = RunProgress(stream=Terminal(), every=0)
    frames: list[Any] = []

    def told(event: Event) -> None:
        seen.append(event)
        if event.event == "wait":
            frames.append(progress.view())
            raise RuntimeError("stop here")  # the handler fails the run as the agent waits

    with pytest.raises(RunError) as info:
        run(pipeline, provider=held, progress=progress, on_event=told, max_concurrency=1)
    (frame,) = frames
    waiter = info.value.node
    worker = "first" if waiter == "second" else "second"
    assert frame.facts.status == {worker: "running", waiter: "waiting", "after": "waiting"}
    assert progress.final is not None
    assert progress.final.facts.status[worker] == "cancelled"
    assert progress.final.facts.status[waiter] == "failed"  # the handler failed it
    view = info.value.view()
    assert view.facts.status == progress.final.facts.status


class SlowStart:
    """A backend whose runs take 0.2 s to start and to end around the asyncio one's, as a
    flow on a server does."""

    name = "slow-start"
    capabilities = AsyncioBackend.capabilities

    def compile(self, ir: Any, *, inputs: Any = None) -> Any:
        return _SlowRunnable(AsyncioBackend().compile(ir, inputs=inputs))


class _SlowRunnable:
    def __init__(self, inner: Any) -> None:
        self.inner, self.graph = inner, inner.graph

    async def arun(self, state: Any = None, *, provider: Any = None, **options: Any) -> Any:
        await asyncio.sleep(0.1)
        try:
            result = await self.inner.arun(state, provider=provider, **options)
            FINISHED.append(result)
            return result
        finally:
            await asyncio.sleep(0.1)


FINISHED: list[Any] = []  # the runs SlowStart finished, last last


@pytest.mark.parametrize("fails", [False, True], ids=["finished", "failed"])
def test_the_final_line_says_the_runs_measured_time_as_its_view_does(fails):
    pipeline = Agent("a").instruct("Hi.").writes("x") >> Agent("b").instruct("Got {x}.")
    log = io.StringIO()
    fake = FakeProvider(latency=0.01, fail={"b": 1} if fails else None)
    try:
        viewed = run(pipeline, backend=SlowStart(), provider=fake, progress=RunProgress(stream=log))
    except RunError as error:
        assert fails
        viewed = error  # type: ignore[assignment]
    measured = viewed.view().facts.measured
    line = log.getvalue()
    took, wall = re.fullmatch(
        r"Run (?:finished|failed at 'b') in (.+?): 2 nodes \(.+\); (.+) with start-up and "
        r"shut-down\n",
        line,
    ).groups()  # type: ignore[union-attr]
    assert took == seconds_text(measured), (line, measured)
    assert f"measured {took}" in viewed.view().headline()
    assert (wall.endswith(" ms") and int(wall.removesuffix(" ms")) >= 200) or wall.endswith(" s")


@pytest.mark.parametrize("live", [True, False], ids=["table", "lines"])
def test_irgraph_runs_display_shows_an_agent_waiting_for_a_slot_waiting(live):
    """``irgraph run``'s display (irgraph.cli_live): its live table has the agent that waits
    for a model-call slot waiting, not running; its plain lines say it waits."""
    if live:
        pytest.importorskip("rich")
    from irgraph.cli_live import RunDisplay
    from irgraph.graph import to_graph

    pipeline = Agent("first").instruct("Go.").writes("a") | Agent("second").instruct("Go.")
    out, seen, held = io.StringIO(), [], Held()
    display = RunDisplay(to_graph(pipeline), out, live=live, err=io.StringIO())
    drawn: list[str] = []

    def draw() -> None:
        if live:
            from rich.console import Console

            console = Console(file=io.StringIO(), width=120, color_system=None)
            console.print(display.table())
            drawn.append(console.file.getvalue())  # type: ignore[attr-defined]
        else:
            drawn.append(out.getvalue())

    told = released_after(held, 1, seen, draw)

    def both(event: Event) -> None:
        display(event)
        told(event)

    with display:
        display.finish(run(pipeline, provider=held, on_event=both, max_concurrency=1))
    waiter = next(e.node for e in seen if e.event == "wait")
    worker = "first" if waiter == "second" else "second"
    (frame,) = drawn
    if live:
        rows = dict(re.findall(r"^ *(\w+) +(waiting|running|done)\b", frame, re.M))
        assert rows == {worker: "running", waiter: "waiting"}, frame
        assert "1 waiting" in frame.splitlines()[0], frame  # the headline's counts
    else:
        assert frame.splitlines()[-1] == f"  .. {waiter} waits for a model-call slot", frame
        assert f"  > {waiter} started" in frame.splitlines()


def test_irgraph_runs_finished_line_says_the_runs_measured_time(monkeypatch):
    """``irgraph run``'s own "Finished in" line says the run's measured time, as its progress
    line and run view do, and the whole wait when start-up and shut-down took long."""
    import sys

    from irgraph.cli import main
    from irgraph.compile import register_backend

    registry = sys.modules["irgraph.compile"]  # a registry of this test's own
    monkeypatch.setattr(registry, "_REGISTRY", dict(registry._REGISTRY))
    register_backend("slow-start", SlowStart)
    out = io.StringIO()
    argv = ["run", "irgraph.demo:research_pipeline", "--state", "topic=owls"]
    assert main([*argv, "--backend", "slow-start", "--no-progress"], out=out) == 0
    measured = seconds_text(FINISHED[-1].view().facts.measured)
    line = next(x for x in out.getvalue().splitlines() if x.startswith("Finished in "))
    took, wall = re.fullmatch(
        r"Finished in (.+?) on backend 'slow-start'; (.+) with start-up and shut-down\.", line
    ).groups()  # type: ignore[union-attr]
    assert took == measured, (line, measured)
    assert (wall.endswith(" ms") and int(wall.removesuffix(" ms")) >= 200) or wall.endswith(" s")
