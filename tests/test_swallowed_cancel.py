"""A provider that catches the run's CancelledError and returns anyway: its value is not
taken, and the run ends as if the provider had let the cancellation through — cancelled when
the run was cancelled, failed when a sibling's failure cancelled it."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from irgraph import Agent, Gate, MapOver, RunError, Transform
from irgraph.backends.asyncio_backend import AsyncioBackend

#: The run options that send a call through each path of the scheduler to the provider.
PATHS = [{}, {"on_event": lambda event: None}, {"timeout": 30}, {"max_concurrency": 2}]
PATH_IDS = ["plain", "on_event", "timeout", "max_concurrency"]


class Swallowing:
    """Answers at once, except: a prompt with "hold" waits, catches its cancellation and
    returns a stand-in; one with "fail" raises once every holding call has begun."""

    def __init__(self, holding: int) -> None:
        self.holding = holding
        self.held = 0
        self.all_held = asyncio.Event()
        self.asked: list[str] = []

    async def complete(self, request: Any) -> str:
        self.asked.append(request.prompt)
        if "hold" in request.prompt:
            self.held += 1
            if self.held == self.holding:
                self.all_held.set()
            try:
                await asyncio.Event().wait()
            except asyncio.CancelledError:
                return "stand-in"
        if "fail" in request.prompt:
            await self.all_held.wait()
            raise ConnectionError("quota exceeded")
        return f"<{request.node}>"


async def run_until(
    pipeline: Any, provider: Swallowing, options: dict[str, Any], cancel: bool, **state: Any
) -> Any:
    """What a run of ``pipeline`` ends with: cancelled (``cancel``) once every holding call has
    begun, or left to end on its own."""
    runnable = AsyncioBackend(provider=provider).compile(pipeline.to_ir())
    task = asyncio.create_task(runnable.arun(state, **options))
    if cancel:
        await provider.all_held.wait()
        task.cancel()
    try:
        return await task
    except BaseException as error:  # what the run ended with
        return error


@pytest.mark.parametrize("options", PATHS, ids=PATH_IDS)
def test_a_cancelled_run_does_not_take_a_value_its_provider_returned_after_the_cancel(
    options: dict[str, Any],
) -> None:
    pipeline = (
        Agent("a").instruct("Go.").writes("x")
        >> Agent("b").instruct("hold {x}").writes("y")
        >> Agent("c").instruct("{y}").writes("z")
    )
    provider = Swallowing(holding=1)
    ended = asyncio.run(run_until(pipeline, provider, options, cancel=True))
    assert isinstance(ended, asyncio.CancelledError), ended
    partial = ended.partial  # type: ignore[attr-defined]
    assert partial.completed == ["a"] and partial.state == {"x": "<a>"}
    assert [(c.node, c.error) for c in partial.calls] == [("a", None), ("b", "cancelled")]
    assert provider.asked == ["Go.", "hold <a>"]  # c was never asked


@pytest.mark.parametrize("options", PATHS, ids=PATH_IDS)
def test_a_run_a_sibling_failed_does_not_take_a_value_returned_after_the_cancel(
    options: dict[str, Any],
) -> None:
    pipeline = Agent("a").instruct("Go.").writes("x") >> (
        (Agent("b").instruct("hold {x}").writes("y") >> Agent("c").instruct("{y}").writes("z"))
        | Agent("bad").instruct("fail {x}").writes("w")
    )
    provider = Swallowing(holding=1)
    ended = asyncio.run(run_until(pipeline, provider, options, cancel=False))
    assert isinstance(ended, RunError) and ended.node == "bad", ended
    assert isinstance(ended.__cause__, ConnectionError)
    assert ended.completed == ["a"] and ended.state == {"x": "<a>"}
    assert ("b", "cancelled") in [(c.node, c.error) for c in ended.calls]
    assert "<b>" not in provider.asked and "stand-in" not in provider.asked  # c never asked


@pytest.mark.parametrize("options", PATHS, ids=PATH_IDS)
def test_a_map_over_item_that_failed_cancels_a_sibling_item_whose_provider_returns(
    options: dict[str, Any],
) -> None:
    each = (
        MapOver("each")
        .over("items", item="i")
        .step(Agent("ask").instruct("{i}").writes("answer") >> Agent("then").instruct("{answer}"))
    )
    pipeline = Agent("a").instruct("Go.").writes("x") >> each.collect("answer").writes("all")
    provider = Swallowing(holding=1)
    ended = asyncio.run(run_until(pipeline, provider, options, False, items=["hold", "fail"]))
    assert isinstance(ended, RunError) and ended.node == "ask", ended
    assert ended.completed == ["a"] and "all" not in ended.state
    assert provider.asked == ["Go.", "hold", "fail"]  # no 'then' after the stand-in


class Yielding:
    async def complete(self, request: Any) -> str:
        await asyncio.sleep(0)  # suspends, as a real call does
        return f"<{request.node}>"


async def _catch_a_cancel() -> None:
    """Ask the current task to cancel and catch it, never taking the request back."""
    asyncio.current_task().cancel()  # type: ignore[union-attr]
    try:
        await asyncio.sleep(0)
    except asyncio.CancelledError:
        pass


@pytest.mark.parametrize("options", PATHS, ids=PATH_IDS)
def test_a_run_in_a_task_that_caught_an_old_cancel_goes_on(options: dict[str, Any]) -> None:
    """A cancel request the caller's task caught before the run (and never took back with
    uncancel()) is not the run's cancellation."""
    pipeline = Agent("a").instruct("Go.").writes("x") >> Agent("b").instruct("{x}").writes("y")
    runnable = AsyncioBackend(provider=Yielding()).compile(pipeline.to_ir())

    async def after_a_caught_cancel() -> Any:
        await _catch_a_cancel()
        return await runnable.arun({}, **options)

    assert asyncio.run(after_a_caught_cancel()).state == {"x": "<a>", "y": "<b>"}


class TimesOutInside:
    """The branch asked in the scope's own task (the one that asked ``first``) lets an
    ``asyncio.timeout`` of its own expire (which cancels that task for a moment, then takes
    the request back) just before the other branch's answer arrives."""

    def __init__(self) -> None:
        self.home: asyncio.Task[Any] | None = None
        self.waiting = asyncio.Event()
        self.go = asyncio.Event()

    async def complete(self, request: Any) -> str:
        task = asyncio.current_task()
        if request.node == "first":
            self.home = task
        elif task is self.home:
            await self.waiting.wait()
            try:
                async with asyncio.timeout(0):  # expires at once: cancels this task
                    self.go.set()  # the other branch answers while the request stands
                    await asyncio.Event().wait()
            except TimeoutError:
                pass
        else:
            self.waiting.set()
            await self.go.wait()
        return f"<{request.node}>"


@pytest.mark.parametrize("options", PATHS, ids=PATH_IDS)
def test_a_timeout_inside_a_provider_does_not_cancel_a_sibling_branch(
    options: dict[str, Any],
) -> None:
    pipeline = Agent("first").instruct("Go.").writes("x") >> (
        Agent("p").instruct("{x}").writes("p") | Agent("q").instruct("{x}").writes("q")
    )
    runnable = AsyncioBackend(provider=TimesOutInside()).compile(pipeline.to_ir())
    result = asyncio.run(runnable.arun({}, **options))
    assert result.state == {"x": "<first>", "p": "<p>", "q": "<q>"}


@pytest.mark.parametrize("options", PATHS, ids=PATH_IDS)
@pytest.mark.parametrize("kind", ["gate", "transform"])
def test_a_gate_or_transform_that_caught_the_cancel_and_returned_is_not_taken(
    kind: str, options: dict[str, Any]
) -> None:
    """An async ``on_gate`` handler or transform that catches the run's cancellation and
    returns: its value is not written, the node is not completed, no later agent is asked."""
    waiting = asyncio.Event()

    async def swallow(x: Any) -> str:
        waiting.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            return "stand-in"
        return "answered"  # pragma: no cover - only the cancel ends the wait

    held: Any = Gate("held", "ok {x}?") if kind == "gate" else Transform("held", swallow)
    held = held.writes("y") if kind == "gate" else held.reads("x").writes("y")
    pipeline = Agent("a").instruct("Go.").writes("x") >> held >> Agent("c").instruct("{y}")
    provider = Swallowing(holding=0)

    async def cancelled() -> Any:
        runnable = AsyncioBackend(provider=provider, on_gate=swallow).compile(pipeline.to_ir())
        task = asyncio.create_task(runnable.arun({}, **options))
        await waiting.wait()
        task.cancel()
        try:
            return await task
        except BaseException as error:
            return error

    ended = asyncio.run(cancelled())
    assert isinstance(ended, asyncio.CancelledError), ended
    partial = ended.partial  # type: ignore[attr-defined]
    assert partial.completed == ["a"] and partial.state == {"x": "<a>"}
    assert provider.asked == ["Go."]  # c was never asked


class RaisesCancelled:
    """Raises a CancelledError of its own (a library cancelling a call of its own) at 'b'."""

    async def complete(self, request: Any) -> str:
        await asyncio.sleep(0)
        if request.node == "b":
            raise asyncio.CancelledError
        return f"<{request.node}>"


@pytest.mark.parametrize("options", PATHS, ids=PATH_IDS)
def test_a_providers_own_cancelled_error_fails_its_node_in_a_task_that_caught_an_old_cancel(
    options: dict[str, Any],
) -> None:
    """As in a fresh task, the stray CancelledError is a failure naming the node: the old
    request the task caught is not the run's cancellation."""
    pipeline = Agent("a").instruct("Go.").writes("x") >> (
        Agent("b").instruct("{x}").writes("y") | Agent("c").instruct("{x}").writes("z")
    )
    runnable = AsyncioBackend(provider=RaisesCancelled()).compile(pipeline.to_ir())

    async def after_a_caught_cancel() -> Any:
        await _catch_a_cancel()
        try:
            return await runnable.arun({}, **options)
        except BaseException as error:  # what the run ended with
            return error

    ended = asyncio.run(after_a_caught_cancel())
    assert isinstance(ended, RunError) and ended.node == "b", repr(ended)
    assert isinstance(ended.__cause__, asyncio.CancelledError)
    assert "though nothing cancelled the run" in str(ended)
    assert ended.completed[0] == "a" and ended.state["x"] == "<a>"
