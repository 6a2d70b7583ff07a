"""The conformance suite, run for every backend (one line each)."""

from __future__ import annotations

from typing import Any, ClassVar

import pytest

from irgraph.backends.asyncio_backend import AsyncioBackend
from irgraph.testing.conformance import BackendConformance


class TestAsyncioConformance(BackendConformance):
    max_examples = 60

    def make_backend(self, provider):
        return AsyncioBackend(provider=provider)


class TestAsyncioWithConcurrencyLimitConformance(BackendConformance):
    max_examples = 20
    overlap_width = 2

    def make_backend(self, provider):
        return AsyncioBackend(provider=provider, max_concurrency=2)


class TestAsyncioDataflowConformance(BackendConformance):
    """The dataflow schedule (a step waits only on what it needs) gives the reference's result
    as the default schedule does, under fuzzed schedules too."""

    max_examples = 30
    control_edges = False

    def make_backend(self, provider):
        return AsyncioBackend(provider=provider, schedule="dataflow")


@pytest.mark.prefect
class TestPrefectConformance(BackendConformance):
    """Real Prefect flows: few examples, the shared temporary server. Gates are covered by
    tests/test_prefect_backend.py (each pause polls for at least a second)."""

    max_examples = 6
    timeout_examples = 2
    pipeline_options: ClassVar[dict[str, Any]] = {"with_gates": False, "max_depth": 2}

    def make_backend(self, provider):
        from irgraph.backends.prefect_backend import PrefectBackend
        from tests.support.prefect_env import ensure_prefect_test_env

        ensure_prefect_test_env()
        return PrefectBackend(provider=provider)
