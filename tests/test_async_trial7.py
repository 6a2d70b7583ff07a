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


def test_a_runnable_returning_no_run_result_is_told_as_the_backends_bug():
    from irgraph.backends.asyncio_backend import AsyncioBackend

    class Runnable:
        def __init__(self, ir):
            self.node, self.graph = ir, None

        async def arun(self, state=None, **options):
            return {"x": 1}

    class Backend:
        name = "dicts"
        capabilities = AsyncioBackend.capabilities

        def compile(self, ir, *, inputs=None):
            return Runnable(ir)

    with pytest.raises(IrgraphError, match=r"Runnable.arun\(\) returned dict, not a RunResult"):
        run(Agent("a").instruct("hi"), backend=Backend())
