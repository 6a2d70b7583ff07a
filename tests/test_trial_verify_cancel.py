"""The cancellation property, tried from outside on a backend that leaves a task of its own
running: the failure names the task by its coroutine and the line it waits at."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from irgraph.backends.asyncio_backend import AsyncioBackend
from irgraph.ir import Node
from irgraph.testing.conformance import check_cancellation_leaves_no_task


async def forgotten_watchdog() -> None:
    await asyncio.sleep(3600)


class LeavesAWatchdog:
    """The asyncio backend, starting a watchdog task it never cancels."""

    name = "leaves-a-watchdog"
    capabilities = AsyncioBackend.capabilities

    def __init__(self, provider: Any = None) -> None:
        self.inner = AsyncioBackend(provider=provider)
        self.watchdog: asyncio.Future[None] | None = None

    def compile(self, ir: Node, *, inputs: Any = None) -> Any:
        runnable = self.inner.compile(ir, inputs=inputs)
        arun = runnable.arun

        async def with_watchdog(state: Any = None, **options: Any) -> Any:
            self.watchdog = asyncio.ensure_future(forgotten_watchdog())  # and never cancelled
            return await arun(state, **options)

        runnable.arun = with_watchdog
        return runnable


def test_a_task_left_running_is_named_by_its_coroutine_and_cancelled_by_the_check():
    with pytest.raises(AssertionError) as caught:
        check_cancellation_leaves_no_task(LeavesAWatchdog)
    message = str(caught.value)
    assert "1 task(s) still running after the run was cancelled" in message
    assert "forgotten_watchdog() waiting at test_trial_verify_cancel.py:" in message
    assert "asyncio.TaskGroup" in message


def test_the_asyncio_backend_passes():
    check_cancellation_leaves_no_task(AsyncioBackend)
