"""Prefect API clients held for a batch: its flow runs share one async and one sync client.

Left to itself, every Prefect flow run opens two API clients of its own (the engine's async
one, and a sync one to ask the server for its default result storage), and each new client
builds an SSL context from the CA bundle, ~25 ms of CPU even for ``http://127.0.0.1``.
``bench/batch.py`` measured that holding one pair for a whole batch cuts a Prefect item's
wall time by ~40%. :class:`HeldClients` opens the pair on a batch's first flow run, hands it
to every flow run of the batch through Prefect's client contexts (``get_client`` then
returns it), and closes it when the batch ends.

``prefect`` is imported only inside the methods, never by ``import irgraph``.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

__all__ = ["HeldClients"]


class HeldClients:
    """One async and one sync Prefect client, shared by the flow runs inside :meth:`span`.

    Spans nest (two batches of one runnable at once share the pair); the pair is opened
    lazily, by the first flow run, so a batch that fails before its first run opens
    nothing, and closed when the outermost span ends. A flow run on another event loop than
    the pair's (the async client is bound to its loop) opens its own, as outside a span.
    """

    def __init__(self) -> None:
        self._spans = 0
        self._pair: tuple[Any, Any] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._opening: asyncio.Lock | None = None

    @contextlib.asynccontextmanager
    async def span(self) -> AsyncIterator[None]:
        """Within the block, :meth:`entered` hands flow runs the held pair."""
        self._spans += 1
        try:
            yield
        finally:
            self._spans -= 1
            if self._spans == 0:
                await self._close()

    @contextlib.asynccontextmanager
    async def entered(self) -> AsyncIterator[None]:
        """Around one flow run: inside a span, the held pair is the run's clients."""
        loop = asyncio.get_running_loop()
        if self._spans == 0 or (self._loop is not None and self._loop is not loop):
            yield
            return
        pair = await self._open(loop)
        from prefect.context import AsyncClientContext, SyncClientContext

        # Set for this run's task only: concurrent runs each set and reset their own.
        async_token = AsyncClientContext.__var__.set(pair[0])
        sync_token = SyncClientContext.__var__.set(pair[1])
        try:
            yield
        finally:
            SyncClientContext.__var__.reset(sync_token)
            AsyncClientContext.__var__.reset(async_token)

    async def _open(self, loop: asyncio.AbstractEventLoop) -> tuple[Any, Any]:
        if self._pair is not None:
            return self._pair
        if self._opening is None:
            self._opening = asyncio.Lock()
        async with self._opening:
            if self._pair is None:
                from prefect.client.orchestration import get_client
                from prefect.context import AsyncClientContext, SyncClientContext

                async_client = get_client()
                await async_client.__aenter__()
                sync_client = get_client(sync_client=True)
                try:
                    sync_client.__enter__()
                except BaseException:
                    await async_client.__aexit__(None, None, None)
                    raise
                # Contexts made around clients already open: entering a context made the
                # usual way would open a client of its own.
                self._pair = (
                    AsyncClientContext.model_construct(client=async_client),
                    SyncClientContext.model_construct(client=sync_client),
                )
                self._loop = loop
        return self._pair

    async def _close(self) -> None:
        pair, self._pair, self._loop, self._opening = self._pair, None, None, None
        if pair is None:
            return
        try:
            pair[1].client.__exit__(None, None, None)
        finally:
            await pair[0].client.__aexit__(None, None, None)
