"""The conformance suite, run for every backend (one line each)."""

from __future__ import annotations

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
