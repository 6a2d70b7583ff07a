"""Findings of the seventh outside trial (the asyncio backend's options)."""

from __future__ import annotations

import pytest

from irgraph import Agent, IrgraphError, run
from irgraph.testing import FakeProvider


class Provider:
    async def complete(self, request):
        return "ok"


@pytest.mark.parametrize("cls", [Provider, FakeProvider])
def test_a_provider_class_for_an_instance_is_refused_before_the_run(cls):
    """It failed mid-run: TypeError: complete() missing 1 required positional argument."""
    with pytest.raises(IrgraphError, match=rf"is the class {cls.__name__}, not a provider") as info:
        run(Agent("a").instruct("x"), provider=cls)
    assert f"Pass {cls.__name__}()" in str(info.value)
