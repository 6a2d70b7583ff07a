"""What make_backend returns is checked to be a backend, in every test of the suite."""

from __future__ import annotations

import pytest

from irgraph import Agent, run
from irgraph.backends.asyncio_backend import AsyncioBackend
from irgraph.compile import BackendNotFoundError
from irgraph.testing import FakeProvider
from irgraph.testing.conformance import BackendConformance


class NotABackend(BackendConformance):
    max_examples = 2

    def make_backend(self, provider):
        return object()


@pytest.mark.parametrize(
    "test", ["test_parallel_branches_overlap", "test_concurrency_bound_is_reached"]
)
def test_a_make_backend_that_returns_no_backend_is_named(test):
    with pytest.raises(BackendNotFoundError, match="is not a backend"):
        getattr(NotABackend(), test)()


def test_a_backend_class_is_not_a_backend():
    with pytest.raises(BackendNotFoundError, match="AsyncioBackend is a backend class"):
        run(Agent("a"), backend=AsyncioBackend, provider=FakeProvider())
