"""The suite's concurrency property asks of a backend only what its ``pipeline_options`` say it
runs, and catches a backend that ignores ``max_concurrency`` on every run."""

from __future__ import annotations

from typing import Any, ClassVar

import pytest

from irgraph import PipelineError
from irgraph.backends.asyncio_backend import AsyncioBackend
from irgraph.testing.conformance import BackendConformance
from tests.support.wrapped_backends import wrapping


class NoMapOvers(AsyncioBackend):
    """The asyncio backend, refusing map-overs when it compiles, as a small backend would."""

    def compile(self, ir: Any, *, inputs: Any = None) -> Any:
        runnable = super().compile(ir, inputs=inputs)
        if any(kind == "map_over" for _, kind in runnable.graph.nodes(data="kind")):
            raise PipelineError("This backend runs no map-overs.")
        return runnable


class WithoutMapOvers(BackendConformance):
    concurrency_examples = 12
    pipeline_options: ClassVar[dict[str, Any]] = {"kinds": ["agent", "sequence", "parallel"]}

    def make_backend(self, provider: Any) -> Any:
        return NoMapOvers(provider=provider)


def test_a_backend_without_map_overs_is_not_asked_to_bound_one() -> None:
    WithoutMapOvers().test_concurrency_bound_is_reached()


def test_with_map_over_false_says_the_same() -> None:
    class Flagged(WithoutMapOvers):
        pipeline_options: ClassVar[dict[str, Any]] = {"with_map_over": False}

    Flagged().test_concurrency_bound_is_reached()


async def _unbounded(inner: Any, state: Any, options: dict[str, Any]) -> Any:
    options.pop("max_concurrency", None)
    return await inner.arun(state, **options)


#: A backend whose runs drop the run's max_concurrency: every call starts at once.
_IgnoresTheBound = wrapping("ignores-the-bound", _unbounded)


class OneDrawnRun(BackendConformance):
    concurrency_examples = 1

    def make_backend(self, provider: Any) -> Any:
        return _IgnoresTheBound(provider)


def test_a_backend_ignoring_max_concurrency_is_caught_however_few_runs_are_drawn() -> None:
    with pytest.raises(AssertionError, match="3 model calls were in flight at once, past the"):
        OneDrawnRun().test_concurrency_bound_is_reached()
