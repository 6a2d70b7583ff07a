"""The conformance suite catches a backend that ignores ``run(..., timeout=...)`` (the async
trial's finding 11): the node-timeout property alone let it pass."""

from __future__ import annotations

import pytest

from irgraph import Agent, MapOver
from irgraph.backends.asyncio_backend import AsyncioBackend
from irgraph.backends.scheduler import Scheduler
from irgraph.testing import conformance
from irgraph.testing.conformance import BackendConformance
from tests.support.wrapped_backends import wrapping


async def _without_the_run_timeout(inner, state, options):
    options.pop("timeout", None)  # the bug
    return await inner.arun(state, **options)


#: A wrapper backend that drops the run's timeout option (the trial's repro).
NoRunTimeout = wrapping("no-run-timeout", _without_the_run_timeout)


class DropsTheRunTimeout(Scheduler):
    """A scheduler that keeps node timeouts but forgets the run's."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **{**kwargs, "timeout": None})


def _scheduler_backend(provider):
    class Broken(AsyncioBackend):
        scheduler_class = DropsTheRunTimeout

    return Broken(provider=provider)


PIPELINES = [
    (Agent("a").instruct("Go.").writes("x") >> Agent("b").instruct("{x}").writes("y"), {}, "b"),
    (
        MapOver("each")
        .over("items", item="i")
        .step(Agent("w").instruct("{i}").writes("o"))
        .writes("os"),
        {"items": ["p", "q"]},
        "w",
    ),
]


@pytest.mark.parametrize("make", [NoRunTimeout, _scheduler_backend])
@pytest.mark.parametrize(("pipeline", "state", "agent"), PIPELINES)
def test_the_run_timeout_property_catches_a_backend_that_ignores_it(make, pipeline, state, agent):
    conformance.check_timeouts(make, pipeline, state, agent)  # the older property misses it
    with pytest.raises(AssertionError, match="no timeout of its own.*did not fail"):
        conformance.check_run_timeout(make, pipeline, state, agent)


@pytest.mark.parametrize(("pipeline", "state", "agent"), PIPELINES)
def test_the_asyncio_backend_passes_it(pipeline, state, agent):
    conformance.check_run_timeout(lambda provider: AsyncioBackend(provider), pipeline, state, agent)


class _Suite(BackendConformance):
    timeout_examples = 3

    def make_backend(self, provider):
        return AsyncioBackend(provider=provider)


class _Broken(_Suite):
    def make_backend(self, provider):
        return NoRunTimeout(provider)


def test_the_suite_fails_the_broken_backend_and_passes_asyncio():
    _Suite().test_a_run_timeout_fails_a_slow_node()
    with pytest.raises(AssertionError, match="did not fail"):
        _Broken().test_a_run_timeout_fails_a_slow_node()
