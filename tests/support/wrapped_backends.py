"""Backends that wrap the asyncio backend's runnable to plant one bug in ``arun``: what the
conformance suite must catch and explain."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from irgraph.backends.asyncio_backend import AsyncioBackend
from irgraph.run import run_coroutine

#: ``around(inner_runnable, state, options)``: the planted ``arun``.
Around = Callable[[Any, Any, dict[str, Any]], Awaitable[Any]]


def wrapping(backend_name: str, around: Around) -> type:
    """A backend class named ``backend_name`` whose runnables run through ``around``."""

    class Wrapped:
        name = backend_name
        capabilities = AsyncioBackend.capabilities

        def __init__(self, provider: Any = None) -> None:
            self.inner = AsyncioBackend(provider=provider)

        def compile(self, ir: Any, *, inputs: Any = None) -> Any:
            inner = self.inner.compile(ir, inputs=inputs)

            class Runnable:
                node, graph = inner.node, inner.graph

                async def arun(self, state: Any = None, **options: Any) -> Any:
                    return await around(inner, state, options)

                def run(self, state: Any = None, **options: Any) -> Any:
                    return run_coroutine(self.arun(state, **options))

            return Runnable()

    return Wrapped
