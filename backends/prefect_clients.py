"""The Prefect API clients a flow run uses: one pair held for a whole batch, and no CA bundle
read again for a server spoken to in plain HTTP.

Left to itself, every Prefect flow run opens two API clients of its own (the engine's async
one, and a sync one to ask the server for its default result storage), and each new client
builds an SSL context from the CA bundle: ~25 ms of CPU, even for ``http://127.0.0.1``, where
no TLS is spoken. So :class:`HeldClients` hands each flow run a pair through Prefect's client
contexts (``get_client`` then returns it):

- inside :meth:`HeldClients.span` (a batch), one pair for all the batch's flow runs, opened by
  the first and closed when the batch ends (``bench/batch.py``: ~40% off a Prefect item);
- outside, for a server reached over plain HTTP (Prefect's temporary server, a local one), a
  pair of the run's own whose SSL context, never used, is built once per process. Over HTTPS
  the run keeps Prefect's own clients.

``prefect`` is imported only inside the functions, never by ``import irgraph``.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import AsyncIterator, Iterator
from typing import Any

__all__ = ["HeldClients"]

#: The SSL context of the clients made for plain-HTTP servers, by the settings it is made from.
_CONTEXTS: dict[tuple[bool, str], ssl.SSLContext] = {}


class HeldClients:
    """Prefect API clients for the flow runs of one compiled pipeline.

    Spans nest (two batches of one runnable at once share the pair); the held pair is opened
    lazily, by the first flow run, so a batch that fails before its first run opens nothing,
    and closed when the outermost span ends. A flow run on another event loop than the held
    pair's (an async client is bound to its loop) is handled as outside a span.
    """

    def __init__(self) -> None:
        self._spans = 0
        self._pair: tuple[Any, Any] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._opening: asyncio.Lock | None = None

    @contextlib.asynccontextmanager
    async def span(self) -> AsyncIterator[None]:
        """Within the block, the flow runs :meth:`entered` share one pair."""
        self._spans += 1
        try:
            yield
        finally:
            self._spans -= 1
            if self._spans == 0:
                pair, self._pair, self._loop, self._opening = self._pair, None, None, None
                if pair is not None:
                    await _close(pair)

    @contextlib.asynccontextmanager
    async def entered(self) -> AsyncIterator[None]:
        """Around one flow run: the clients it uses."""
        loop = asyncio.get_running_loop()
        if self._spans and self._loop in (None, loop):
            with _current(await self._held(loop)):
                yield
            return
        settings = _plain_http_settings()
        if settings is None:  # HTTPS: Prefect's own clients, with its TLS settings
            yield
            return
        pair = await _open(settings)
        try:
            with _current(pair):
                yield
        finally:
            await _close(pair)

    async def _held(self, loop: asyncio.AbstractEventLoop) -> tuple[Any, Any]:
        if self._opening is None:
            self._opening = asyncio.Lock()
        async with self._opening:  # concurrent first runs open one pair
            if self._pair is None:
                self._pair = await _open(_plain_http_settings())
                self._loop = loop
        return self._pair


def _plain_http_settings() -> dict[str, Any] | None:
    """Client settings for the server this process speaks to when it is reached over plain
    HTTP: an SSL context built once (httpx builds one per client though it is never used);
    ``None`` over HTTPS."""
    from prefect.settings import (
        PREFECT_API_SSL_CERT_FILE,
        PREFECT_API_TLS_INSECURE_SKIP_VERIFY,
        PREFECT_API_URL,
    )

    url = PREFECT_API_URL.value()
    if url and not str(url).lower().startswith("http://"):
        return None  # no URL: Prefect's temporary server, on http://127.0.0.1
    skip = bool(PREFECT_API_TLS_INSECURE_SKIP_VERIFY.value())
    cafile = str(PREFECT_API_SSL_CERT_FILE.value() or "")
    made = _CONTEXTS.get((skip, cafile))
    if made is None:  # made as Prefect makes it, should a redirect ever lead to HTTPS
        if skip:
            made = ssl.create_default_context()
            made.check_hostname = False
            made.verify_mode = ssl.CERT_NONE
        else:
            import certifi

            made = ssl.create_default_context(cafile=cafile or certifi.where())
        made = _CONTEXTS[(skip, cafile)] = made
    return {"verify": made}


async def _open(settings: dict[str, Any] | None) -> tuple[Any, Any]:
    """An async and a sync client, open, in client contexts made around them (a context
    made the usual way would open a client of its own)."""
    from prefect.client.orchestration import get_client
    from prefect.context import AsyncClientContext, SettingsContext, SyncClientContext

    async_client = get_client(httpx_settings=settings)
    await async_client.__aenter__()
    try:
        current = SettingsContext.get()
        client_settings = getattr(current.settings, "client", None) if current else None
        if getattr(client_settings, "server_version_check_enabled", True):
            await async_client.raise_for_api_version_mismatch_once()  # as Prefect's contexts do
        sync_client = get_client(sync_client=True, httpx_settings=settings)
        sync_client.__enter__()
    except BaseException:
        await async_client.__aexit__(None, None, None)
        raise
    return (
        AsyncClientContext.model_construct(client=async_client),
        SyncClientContext.model_construct(client=sync_client),
    )


async def _close(pair: tuple[Any, Any]) -> None:
    try:
        pair[1].client.__exit__(None, None, None)
    finally:
        await pair[0].client.__aexit__(None, None, None)


@contextlib.contextmanager
def _current(pair: tuple[Any, Any]) -> Iterator[None]:
    """``pair`` is the clients of this task's flow run: set for this task only, so runs at
    once each set and reset their own."""
    from prefect.context import AsyncClientContext, SyncClientContext

    async_token = AsyncClientContext.__var__.set(pair[0])
    sync_token = SyncClientContext.__var__.set(pair[1])
    try:
        yield
    finally:
        SyncClientContext.__var__.reset(sync_token)
        AsyncClientContext.__var__.reset(async_token)
