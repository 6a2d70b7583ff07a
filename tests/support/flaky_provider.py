"""A provider for generated flow modules in tests: the fake model's answers, each call's agent
written to ``$IRGRAPH_TEST_CALL_LOG``, and every call of the agent named by
``$IRGRAPH_TEST_FAIL`` (if set) failing, of the one named by ``$IRGRAPH_TEST_HANG`` never
answering. Named by the spec ``tests.support.flaky_provider:make``."""

from __future__ import annotations

import asyncio
import os

from irgraph.providers import ModelRequest
from irgraph.testing import FakeProvider


class FlakyProvider:
    def __init__(self) -> None:
        self.fake = FakeProvider()

    async def complete(self, request: ModelRequest) -> str:
        with open(os.environ["IRGRAPH_TEST_CALL_LOG"], "a", encoding="utf-8") as log:
            log.write(request.agent + "\n")
        if request.agent == os.environ.get("IRGRAPH_TEST_FAIL"):
            raise RuntimeError(f"{request.agent} is down")
        if request.agent == os.environ.get("IRGRAPH_TEST_HANG"):
            await asyncio.Event().wait()
        return await self.fake.complete(request)


def make() -> FlakyProvider:
    return FlakyProvider()
