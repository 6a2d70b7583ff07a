"""A provider for Prefect workers in tests: the fake model's answers, each call written down.

Named by the provider spec ``tests.support.counting_provider:make`` in generated flow code.
Every completed call appends ``done WORKER NODE PROMPT`` to the file ``$IRGRAPH_TEST_CALL_LOG``
(one short write with O_APPEND, so lines from many processes never interleave). With
``IRGRAPH_TEST_STALL`` set, the worker's calls to that node first append ``stall WORKER NODE
PROMPT`` and then never return: a worker that gets stuck in a known place, to be killed there.
``IRGRAPH_TEST_STALL_PROMPT`` narrows the stall to the prompts that contain it, and with
``IRGRAPH_TEST_STALL_WHILE`` (a file's path) a stalled call goes on once that file is gone.

``IRGRAPH_TEST_FAIL_WHERE`` (``NODE:TEXT``) makes the calls of that node whose prompt contains
TEXT fail, each appending ``fail WORKER NODE PROMPT`` first: an item that fails in a known place.

``IRGRAPH_TEST_BLOCK_ONCE`` names a file holding part of a prompt: the first call (of any
process) whose prompt contains it renames the file to ``FILE.taken``, writes its process id
there, and blocks its process's event loop (a worker only slow: a blocking call, CPU-bound
work) until ``FILE.taken`` is gone; the chunk's heartbeat stops meanwhile.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time

from irgraph.providers import ModelRequest
from irgraph.testing import FakeProvider

#: Calls under way in this process now, and the most there ever were at once.
IN_FLIGHT = {"now": 0, "most": 0}


class CountingProvider:
    """The fake model, with every completed call appended to the call log."""

    def __init__(self) -> None:
        self.fake = FakeProvider()
        self.log = os.environ["IRGRAPH_TEST_CALL_LOG"]
        self.worker = os.environ.get("IRGRAPH_TEST_WORKER", "-")
        self.stall = os.environ.get("IRGRAPH_TEST_STALL")
        self.stall_prompt = os.environ.get("IRGRAPH_TEST_STALL_PROMPT", "")
        self.stall_while = os.environ.get("IRGRAPH_TEST_STALL_WHILE")
        self.block_once = os.environ.get("IRGRAPH_TEST_BLOCK_ONCE")
        self.fail_node, _, self.fail_text = os.environ.get("IRGRAPH_TEST_FAIL_WHERE", "").partition(
            ":"
        )

    def _write(self, what: str, request: ModelRequest) -> None:
        line = f"{what}\t{self.worker}\t{request.node}\t{request.prompt}\n".encode()
        handle = os.open(self.log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(handle, line)
        finally:
            os.close(handle)

    def _block_once(self, request: ModelRequest) -> None:
        if self.block_once is None:
            return
        with contextlib.suppress(OSError):  # no such file, or another call took it first
            with open(self.block_once, encoding="utf-8") as marker:
                if marker.read() not in request.prompt:
                    return
            taken = f"{self.block_once}.taken"
            os.rename(self.block_once, taken)
            with open(taken, "w", encoding="utf-8") as mine:
                mine.write(str(os.getpid()))
            while os.path.exists(taken):
                time.sleep(0.1)  # blocks the event loop, on purpose

    async def complete(self, request: ModelRequest) -> str:
        self._block_once(request)
        if self.fail_text and request.node == self.fail_node and self.fail_text in request.prompt:
            self._write("fail", request)
            raise RuntimeError(f"the model refused {request.node!r}")
        if request.node == self.stall and self.stall_prompt in request.prompt:
            self._write("stall", request)
            if self.stall_while is None:
                await asyncio.sleep(3600)
            while self.stall_while is not None and os.path.exists(self.stall_while):
                await asyncio.sleep(0.1)
        IN_FLIGHT["now"] += 1
        IN_FLIGHT["most"] = max(IN_FLIGHT["most"], IN_FLIGHT["now"])
        try:
            await asyncio.sleep(0.05)
        finally:
            IN_FLIGHT["now"] -= 1
        answer = await self.fake.complete(request)
        self._write("done", request)
        return answer


def make() -> CountingProvider:
    """The provider a generated flow module's worker makes."""
    return CountingProvider()
