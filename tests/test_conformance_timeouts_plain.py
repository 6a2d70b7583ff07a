"""The timeout properties tell a backend that fails a pipeline with no slow agent at all so,
at once, instead of shrinking that failure through runs that each wait for a slow agent."""

from __future__ import annotations

from typing import Any

import pytest

from irgraph.testing.conformance import BackendConformance
from tests.support.wrapped_backends import wrapping


async def _fails_long_pipelines(inner: Any, state: Any, options: dict[str, Any]) -> Any:
    if len(inner.graph) > 2:
        raise KeyError("summary_2")
    return await inner.arun(state, **options)


async def _fails_every_run(inner: Any, state: Any, options: dict[str, Any]) -> Any:
    raise KeyError("summary_2")


class Suite(BackendConformance):
    timeout_examples = 4
    backend: Any = None

    def make_backend(self, provider: Any) -> Any:
        return self.backend(provider)


@pytest.mark.parametrize("around", [_fails_long_pipelines, _fails_every_run])
@pytest.mark.parametrize(
    "prop",
    ["test_a_node_timeout_wins_over_the_run_timeout", "test_a_run_timeout_fails_a_slow_node"],
)
def test_a_backend_failing_plain_runs_is_told_so_by_the_timeout_properties(around, prop) -> None:
    suite = Suite()
    suite.backend = wrapping("fails-plain-runs", around)
    with pytest.raises(AssertionError) as caught:
        getattr(suite, prop)()
    said = str(caught.value)
    assert "pipelines drawn with no slow agent; the smallest, not shrunk" in said
    assert "With no slow agent and no timeout, the run raised KeyError ('summary_2')" in said
    assert "\nPipeline:\n" in said
