"""A run option handler that could never work (an async on_event, which nothing awaits; a
handler that cannot take its one argument) is refused by name before the run."""

from __future__ import annotations

import functools

import pytest

from irgraph import Agent, Gate, PipelineError, RunError, run
from irgraph.testing import FakeProvider

AGENT = Agent("a").instruct("hi").writes("x")


async def collect(event, seen):
    seen.append(event)


class AsyncHandler:
    async def __call__(self, event):
        pass


@pytest.mark.parametrize(
    "handler",
    [collect, functools.partial(collect, seen=[]), AsyncHandler()],
    ids=["async def", "partial", "async __call__"],
)
def test_an_async_on_event_handler_is_refused_before_the_run(handler):
    fake = FakeProvider()
    with pytest.raises(PipelineError, match="on_event .* is async") as info:
        run(AGENT, provider=fake, state={}, on_event=handler)
    assert "asyncio.Queue" in str(info.value)
    assert fake.calls == []


def test_a_handler_that_returns_a_coroutine_fails_the_node_that_told_it():
    with pytest.raises(RunError, match="returned an awaitable") as info:
        run(AGENT, provider=FakeProvider(), state={}, on_event=lambda e: collect(e, []))
    assert info.value.node == "a"


def test_a_plain_handler_still_sees_every_event():
    seen = []
    run(AGENT, provider=FakeProvider(), state={}, on_event=seen.append)
    assert [e.event for e in seen] == ["start", "end"]


def two_parameters(request, answer):
    return answer


class Approver:
    def approve(self, request, answer="yes"):
        return answer


@pytest.mark.parametrize(
    ("option", "handler", "told"),
    [
        ("on_event", lambda: None, "too many positional arguments"),
        ("on_gate", two_parameters, "missing a required argument: 'answer'"),
        ("on_gate", lambda *, request: "yes", "too many positional arguments"),
    ],
    ids=["on_event of none", "on_gate of two", "on_gate keyword-only"],
)
def test_a_handler_that_cannot_take_its_one_argument_is_refused_before_the_run(
    option, handler, told
):
    """It failed as a bare TypeError at the first event or gate, after the calls before it."""
    pipeline = AGENT >> Gate("approve", "Publish {x}?").writes("verdict")
    fake = FakeProvider()
    options = {"on_gate": lambda request: "yes", option: handler}
    with pytest.raises(PipelineError) as info:
        run(pipeline, provider=fake, state={}, **options)
    message = str(info.value)
    assert message.startswith(f"The run option {option} (") and told in message
    assert f"def {option}(" in message
    assert fake.calls == []


def test_a_bound_method_or_a_parameter_with_a_default_is_a_handler():
    pipeline = AGENT >> Gate("approve", "Publish {x}?").writes("verdict")
    done = run(pipeline, provider=FakeProvider(), state={}, on_gate=Approver().approve)
    assert done.state["verdict"] == "yes"
