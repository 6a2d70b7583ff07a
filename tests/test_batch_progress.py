"""batch_progress: live progress of real run_many/arun_many batches (FakeProvider), on a log,
on a terminal and in Jupyter (IPython's own display machinery, captured)."""

from __future__ import annotations

import asyncio
import contextlib
import io
import re
from collections.abc import Iterator

import pytest

from irgraph import (
    Agent,
    BatchProgress,
    IrgraphError,
    PipelineError,
    abatch_progress,
    arun_many,
    batch_progress,
    run_many,
)
from irgraph.batch import BatchError, ItemResult
from irgraph.batch_progress import ProgressView
from irgraph.cli_progress import progress_line
from irgraph.testing import FakeProvider
from tests.support.terminal import Terminal

WRITER = Agent("w").instruct("Write about {topic}.").writes("text")
TOPICS = [{"topic": f"topic {n}"} for n in range(6)]
SUMMARY = re.compile(
    r"(.+?) (\d+)(?: of (\d+))? items?: (\d+) done, (\d+) failed, (\d+) resumed in "
)


def summary(text: str) -> tuple[str, int, int | None, int, int, int]:
    """(ending, handed, total, done, failed, resumed) of the last line of ``text``."""
    last = text.rstrip("\n").split("\n")[-1].split("\r\x1b[K")[-1]
    found = SUMMARY.match(last)
    assert found, text
    ending, handed, total, done, failed, resumed = found.groups()
    return (
        ending,
        int(handed),
        None if total is None else int(total),
        int(done),
        int(failed),
        int(resumed),
    )


def test_items_pass_through_unchanged_and_a_log_gets_the_summary():
    log = io.StringIO()
    plain = {item.index: item.state for item in run_many(WRITER, TOPICS, provider=FakeProvider())}
    shown = list(batch_progress(run_many(WRITER, TOPICS, provider=FakeProvider()), stream=log))
    assert all(isinstance(item, ItemResult) for item in shown)
    assert {item.index: item.state for item in shown} == plain
    # a log gets a plain line every 10 s at most: a fast batch only its summary
    assert log.getvalue().count("\n") == 1
    assert summary(log.getvalue()) == ("Finished", 6, None, 6, 0, 0)


def test_failed_and_resumed_items_are_counted(tmp_path):
    log = io.StringIO()
    failing = FakeProvider(fail={"w": 1})
    first = list(
        batch_progress(
            run_many(WRITER, TOPICS, provider=failing, batch_key="k", store=tmp_path, max_items=1),
            total=6,
            stream=log,
        )
    )
    assert sum(not item.ok for item in first) == 1
    assert summary(log.getvalue()) == ("Finished", 6, None, 5, 1, 0)
    log = io.StringIO()
    provider = FakeProvider()
    again = run_many(WRITER, TOPICS, provider=provider, batch_key="k", store=tmp_path)
    list(batch_progress(again, total=6, stream=log))
    assert len(provider.calls) == 1  # only the failed item ran again
    assert summary(log.getvalue()) == ("Finished", 6, None, 1, 0, 5)


def test_leaving_the_loop_early_says_so_and_cancels_the_items_in_flight():
    log = io.StringIO()
    provider = FakeProvider(latency=0.05)
    results = run_many(WRITER, TOPICS * 3, provider=provider, max_concurrency=2)
    with contextlib.closing(batch_progress(results, total=18, stream=log)) as shown:
        for handed, _ in enumerate(shown, 1):
            if handed == 2:
                break
    assert results.gi_frame is None  # type: ignore[attr-defined]  # run_many's was closed too
    assert summary(log.getvalue()) == ("Stopped after", 2, 18, 2, 0, 0)
    assert len(provider.calls) < 18  # the rest never started


def test_a_terminal_gets_one_redrawn_line_then_the_summary():
    screen = Terminal()
    list(batch_progress(run_many(WRITER, TOPICS[:3], provider=FakeProvider()), 3, stream=screen))
    text = screen.getvalue()
    assert text.startswith("\r\x1b[K0/3: 0 done, 0 failed, 0.0 items/s")
    assert "\n" not in text.rstrip("\n")  # every redraw overwrites the line
    assert text.endswith("\n") and summary(text) == ("Finished", 3, None, 3, 0, 0)


def test_counted_states_show_the_items_in_flight():
    screen = Terminal()
    progress = BatchProgress(total=6, stream=screen)
    seen = []
    provider = FakeProvider(latency=0.01)
    states = progress.states(iter(TOPICS))
    for item in progress.track(run_many(WRITER, states, provider=provider, max_items=2)):
        seen.append(progress.view().in_flight)
        assert item.ok
    assert all(0 <= count <= 2 for count in seen)  # max_items=2: never more read ahead
    assert progress.pulled == 6 and progress.view().in_flight == 0
    assert "in flight" in str(ProgressView(1, 0, 0, 2, 6, 1.0))
    assert "in flight" not in str(ProgressView(1, 0, 0, None, 6, 1.0))


def test_a_summary_of_resumed_items_only_gives_no_rate_of_zero():
    """A batch whose every item was resumed said "(0.0 items/s)", a rate of the items that
    ran, when none did."""
    ended = ProgressView(0, 0, 5, 0, 5, 0.5, ending="Finished")
    assert str(ended) == "Finished 5 items: 0 done, 0 failed, 5 resumed in 0.50 s"
    ran = ProgressView(2, 0, 3, 0, 5, 0.5, ending="Finished")
    assert str(ran).endswith("3 resumed in 0.50 s (4.0 items/s)")


def test_the_line_is_the_cli_line():
    assert str(ProgressView(30, 2, 10, 8, 100, 4.0)) == progress_line(30, 2, 8, 10, 100, 4.0)
    assert str(ProgressView(30, 2, 10, None, 100, 4.0)) == (
        "42/100: 30 done, 2 failed, 10 resumed, 8.0 items/s, ETA 0:07"
    )
    ended = ProgressView(30, 2, 10, 0, 100, 4.0, ending="Interrupted after")
    assert str(ended) == "Interrupted after 42 of 100 items: 30 done, 2 failed, 10 resumed " + (
        "in 4.00 s (8.0 items/s)"
    )


def test_fail_fast_and_interrupts_end_the_summary_accordingly():
    log = io.StringIO()
    results = run_many(WRITER, TOPICS, provider=FakeProvider(fail={"w": 1}), fail_fast=True)
    with pytest.raises(BatchError):
        list(batch_progress(results, stream=log))
    ending, _, _, _, failed, _ = summary(log.getvalue())
    assert ending == "Stopped at a failed item (fail_fast) after" and failed == 1

    def interrupted() -> Iterator[ItemResult]:
        yield from run_many(WRITER, TOPICS[:1], provider=FakeProvider())
        raise KeyboardInterrupt

    log = io.StringIO()
    with pytest.raises(KeyboardInterrupt):
        list(batch_progress(interrupted(), 6, stream=log))
    assert summary(log.getvalue()) == ("Interrupted after", 1, 6, 1, 0, 0)


def test_the_async_twin():
    async def main() -> tuple[list[int], list[int]]:
        results = arun_many(WRITER, TOPICS, provider=FakeProvider())
        every = [item.index async for item in abatch_progress(results, 6, stream=log)]
        early = []
        slow = arun_many(WRITER, TOPICS, provider=FakeProvider(latency=0.02), max_items=1)
        async with contextlib.aclosing(abatch_progress(slow, 6, stream=stopped)) as shown:
            async for item in shown:
                early.append(item.index)
                break
        return every, early

    log, stopped = io.StringIO(), io.StringIO()
    every, early = asyncio.run(main())
    assert sorted(every) == list(range(6)) and len(early) == 1
    assert summary(log.getvalue()) == ("Finished", 6, None, 6, 0, 0)
    assert summary(stopped.getvalue()) == ("Stopped after", 1, 6, 1, 0, 0)


def test_bad_arguments_are_refused_up_front():
    with pytest.raises(PipelineError, match="total"):
        batch_progress([], total=-1)
    with pytest.raises(PipelineError, match="jupyter"):
        BatchProgress(3, jupyter="yes")  # type: ignore[arg-type]


def test_the_wrong_twin_or_the_states_are_told_with_the_call_to_write():
    with pytest.raises(PipelineError, match=r"Use its twin: async for item in abatch_progress"):
        batch_progress(arun_many(WRITER, TOPICS, provider=FakeProvider()))
    with pytest.raises(PipelineError, match=r"Use its twin: for item in batch_progress"):
        abatch_progress(run_many(WRITER, TOPICS, provider=FakeProvider()))
    log = io.StringIO()
    with pytest.raises(PipelineError) as told:
        list(batch_progress(TOPICS, stream=log))  # the states, not run_many's results
    assert str(told.value) == (
        "The batch progress counts the results of run_many(), each an ItemResult, but got "
        "{'topic': 'topic 0'} of type dict. Wrap the results, not the states: "
        "batch_progress(run_many(pipeline, states, ...))."
    )


def test_in_jupyter_one_output_is_updated_in_place(shell):
    from IPython.utils.capture import capture_output

    results = run_many(WRITER, TOPICS[:3], provider=FakeProvider(latency=0.05), max_items=1)
    with capture_output() as captured:
        handed = list(batch_progress(results, total=3, jupyter=True))
    assert len(handed) == 3 and captured.stdout == captured.stderr == ""
    first, *updates = captured.outputs
    assert not first.update and updates and all(output.update for output in updates)
    ids = {output.transient["display_id"] for output in captured.outputs}
    assert len(ids) == 1  # one display, updated by its id
    assert first.data["text/plain"] == "0/3: 0 done, 0 failed, 0.0 items/s"
    final = updates[-1].data
    assert summary(final["text/plain"]) == ("Finished", 3, None, 3, 0, 0)
    assert '<progress value="3" max="3"' in final["text/html"]
    assert final["text/plain"] in final["text/html"]


def test_a_terminal_ipython_gets_the_line_not_a_display(shell):
    from IPython.utils.capture import capture_output

    log = io.StringIO()
    with capture_output() as captured:
        list(batch_progress(run_many(WRITER, TOPICS[:2], provider=FakeProvider()), stream=log))
    assert captured.outputs == [] and summary(log.getvalue())[0] == "Finished"


def test_the_html_shows_a_busy_bar_without_a_total_and_escapes_text():
    running = ProgressView(1, 0, 0, None, None, 1.0)._repr_html_()
    assert "<progress style=" in running  # no value: indeterminate
    assert "<progress" not in ProgressView(1, 0, 0, None, None, 1.0, "Finished")._repr_html_()
    failed = ProgressView(1, 1, 0, None, 2, 1.0, "Stopped <early> after")._repr_html_()
    assert "Stopped &lt;early&gt; after" in failed and "#b3261e" in failed


def test_a_misspelt_option_of_the_progress_says_the_one_meant():
    """batch_progress(..., totl=3) was Python's bare TypeError, where run_many, run and the
    rest name the option meant."""
    pipeline = Agent("a").instruct("Do {topic}.").writes("r")
    for call in (
        lambda: batch_progress(run_many(pipeline, [], provider=FakeProvider()), totl=3),
        lambda: abatch_progress(arun_many(pipeline, [], provider=FakeProvider()), totl=3),
        lambda: BatchProgress(totl=3),
    ):
        with pytest.raises(IrgraphError, match="got the option 'totl'.*Did you mean 'total'"):
            call()


def test_more_items_than_the_total_are_told_once_and_counted_on_without_it():
    """batch_progress(results, total=3) over 5 items said nothing, and its line read 4/3, then
    5/3, with an ETA of 0:00."""
    progress = BatchProgress(total=3, stream=io.StringIO())
    lines = []
    with pytest.warns(UserWarning) as told:
        for _ in progress.track(run_many(WRITER, TOPICS[:5], provider=FakeProvider())):
            lines.append(str(progress.view()))
    assert [str(warning.message) for warning in told] == [
        "The batch progress was given total=3, but 4 items came (and it counts on without the "
        "total: no bar, no ETA). Give the number of states run_many() is given: "
        "total=len(states)."
    ]
    assert told[0].filename == __file__  # the user's loop, not irgraph
    assert [line.split(":")[0] for line in lines[:3]] == ["1/3", "2/3", "3/3"]
    assert lines[3].startswith("4 done, 0 failed") and lines[4].startswith("5 done, 0 failed")
    assert str(progress.view()).startswith("Finished 5 items: 5 done, 0 failed, 0 resumed")
