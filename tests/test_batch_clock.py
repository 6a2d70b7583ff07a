"""A batch's clock begins once its backend is ready (a runnable's ``prepare``: Prefect's
temporary server started), so its progress and summary time the items only; and a slow rate
reads as a number, not "0.0 items/s"."""

from __future__ import annotations

import asyncio
import io
import time
from typing import Any

from irgraph import Agent, BatchProgress, arun_many, batch_progress, run_many
from irgraph.backends.asyncio_backend import AsyncioBackend
from irgraph.batch_clock import clock_of
from irgraph.batch_progress import ProgressView
from irgraph.cli_progress import Meter, progress_line, rate_text
from irgraph.testing import FakeProvider

WRITER = Agent("w").instruct("Write about {topic}.").writes("text")
TOPICS = [{"topic": f"topic {n}"} for n in range(3)]
SAID = "Starting the test server."


class Prepared:
    """The asyncio backend, whose runnables get ready first (as Prefect's start its server),
    recording in ``events`` when they got ready, what ``seen()`` showed then, and each item."""

    name = "prepared"
    capabilities = AsyncioBackend.capabilities

    def __init__(self, seen: Any = None) -> None:
        self.inner = AsyncioBackend(provider=FakeProvider())
        self.events: list[tuple[str, Any]] = []
        self.seen = seen

    def compile(self, ir: Any, *, inputs: Any = None) -> Any:
        inner = self.inner.compile(ir, inputs=inputs)
        events, backend = self.events, self

        class Runnable:
            node, graph = inner.node, inner.graph

            async def prepare(self, say: Any) -> None:
                say(SAID)
                if backend.seen is not None:
                    events.append(("shown", str(backend.seen())))
                events.append(("ready", time.monotonic()))

            async def arun(self, state: Any = None, *, call_limit: Any = None, **options: Any):
                events.append(("item", time.monotonic()))
                return await inner.arun(state, call_limit=call_limit, **options)

        return Runnable()


def test_the_progress_is_timed_from_when_the_backend_was_ready_and_tells_the_wait():
    log = io.StringIO()
    progress = BatchProgress(total=3, stream=log)
    backend = Prepared(seen=progress.view)
    results = run_many(WRITER, TOPICS, backend=backend)
    clock = clock_of(results)
    assert clock is not None and clock.began is None  # nothing ran yet
    items = list(progress.track(results))
    end = time.monotonic()
    assert len(items) == 3
    kinds = [kind for kind, _ in backend.events]
    assert kinds[:2] == ["shown", "ready"] and kinds[2:] == ["item"] * 3  # ready first, once
    assert backend.events[0][1] == SAID  # the view told the wait, not "0/3: ..."
    ready = backend.events[1][1]
    assert ready <= clock.began <= min(at for kind, at in backend.events if kind == "item")
    assert progress.view().elapsed <= end - ready  # the preparation is not the items' time
    assert SAID in log.getvalue().splitlines()  # a log shows it when said
    assert clock.said == [SAID]


def test_the_async_twin_and_a_backend_without_preparation_begin_before_the_first_item():
    async def main() -> list[Any]:
        results = arun_many(WRITER, TOPICS, provider=FakeProvider())
        clock = clock_of(results)
        handed = [item async for item in results]
        assert clock is not None and clock.began is not None and clock.said == []
        return handed

    assert len(asyncio.run(main())) == 3
    assert clock_of(TOPICS) is None and clock_of(iter(TOPICS)) is None  # not a batch's


def test_the_command_meter_tells_the_wait_and_times_from_the_clock():
    err = io.StringIO()
    meter = Meter(3, err)
    backend = Prepared()
    results = run_many(WRITER, TOPICS, backend=backend)
    meter.follow(clock_of(results))
    made = meter.begin
    list(results)
    elapsed = meter.elapsed()
    ready = dict(backend.events)["ready"]
    assert err.getvalue() == f"irgraph: {SAID}\n"  # once, before any item
    assert made < ready and elapsed <= time.monotonic() - ready  # timed from when it was ready


def test_a_batch_stopped_before_its_backend_was_ready_took_no_item_time():
    """Ctrl-C while Prefect's server started said "Interrupted: 0 done ... in 11.48 s", the
    imports and the start counted as the items' time: no item began, so none passed."""
    meter = Meter(3, io.StringIO())
    results = run_many(WRITER, TOPICS, backend=Prepared())
    clock = clock_of(results)
    meter.follow(clock)
    meter.begin -= 60.0  # made a minute ago, and the backend is not ready yet
    assert meter.elapsed() == 0.0
    list(results)
    assert clock is not None and clock.began is not None
    assert 0.0 < meter.elapsed() <= time.monotonic() - clock.began


def test_a_slow_rate_is_per_minute_or_per_hour_not_zero_per_second():
    assert rate_text(3 / 61.98) == "2.9 items/min"  # was "0.0 items/s"
    assert rate_text(0.5) == "30.0 items/min"
    assert rate_text(1.0) == "1.0 items/s"
    assert rate_text(1 / 7200) == "0.5 items/h"
    assert rate_text(1 / 36000) == "0.1 items/h"
    assert rate_text(1 / 720000) == "0.005 items/h"
    assert rate_text(0.0) == "0.0 items/s"
    assert progress_line(1, 0, 2, 0, 3, 60.0) == (
        "1/3: 1 done, 0 failed, 2 in flight, 1.0 items/min, ETA 2:00"
    )
    view = ProgressView(3, 0, 0, None, 3, 61.98, "Finished")
    assert (
        view.summary() == "Finished 3 items: 3 done, 0 failed, 0 resumed in 61.98 s (2.9 items/min)"
    )
    assert str(ProgressView(0, 0, 0, None, 3, 5.0, None, SAID)) == SAID


def test_batch_progress_of_a_plain_list_is_timed_from_its_loop():
    log = io.StringIO()
    items = list(run_many(WRITER, TOPICS, provider=FakeProvider()))
    assert list(batch_progress(items, total=3, stream=log)) == items
    assert "Finished 3 items: 3 done" in log.getvalue()


def test_a_batch_whose_items_were_all_kept_does_not_prepare(tmp_path):
    first, again = Prepared(), Prepared()
    options: dict[str, Any] = {"batch_key": "kept", "store": tmp_path / "store"}
    assert all(item.ok for item in run_many(WRITER, TOPICS, backend=first, **options))
    results = run_many(WRITER, TOPICS, backend=again, **options)
    assert all(item.resumed for item in results)
    clock = clock_of(results)
    assert again.events == [] and clock is not None and clock.began is None  # no server
    assert [kind for kind, _ in first.events] == ["ready"] + ["item"] * 3
