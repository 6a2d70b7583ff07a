"""The reference interpreter awaits an async loop predicate, as the backends do."""

from __future__ import annotations

import pytest

from irgraph import Agent, Loop
from irgraph.backends.asyncio_backend import AsyncioBackend
from irgraph.ir import FunctionRef
from irgraph.testing.conformance import check_matches_reference

ASYNC_TEST = FunctionRef("irgraph.testing.predicates:asks_a_question")


@pytest.mark.parametrize("writes", ["question", "other"])
def test_an_async_until_is_awaited_by_the_reference_too(writes):
    body = Agent("w").instruct("Go {topic}.").writes(writes)
    loop = Loop("l").step(body).until(ASYNC_TEST).max_iterations(3)
    check_matches_reference(
        lambda provider: AsyncioBackend(provider=provider), loop, {"topic": "t"}
    )
